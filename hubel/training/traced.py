"""The traced training step (`model.compile(..., jit_compile=True)`): record, then replay.

An eager step builds its graph anew every batch: each layer call checks its input, each
op makes a Function and a Tensor, backward sorts the graph, the trainer walks the layers
for their weights. None of that changes from one batch of a given shape to the next, so
the traced step records the ops of one eager step (every `Function.apply` between the
model call and the loss) and from then on replays them as a flat list:

    forward:   v_k = op_k.forward(inputs of k)             k = 0, 1, …, n−1
    backward:  g(inputs of k) += op_k.backward(g(v_k))     k = n−1, …, 0

Each input of an op is one of: the output of an earlier op, the batch (x or y), a weight
(read from its Tensor at every step, so loaded weights are seen), or a constant. A
recording is used only after two consecutive eager steps recorded the same ops with the
same constants (the same objects: BatchNormalization's running statistics, updated in
place), so anything made anew each step outside an op (a mask built by hand, a label
array converted by the loss) keeps the model on the eager step rather than freezing it.
The ops' own forward and backward run as in eager mode (dropout draws new masks, batch
norm updates its statistics), so the replay computes what the eager step computes, up to
the order in which gradients meeting at one array are summed. One recording per batch
shape and dtype (a smaller last batch gets its own). As in Keras, changing a layer's
`trainable` takes effect at the next `compile`.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from hubel.autograd import function as _function
from hubel.autograd.engine import unbroadcast
from hubel.backends.channels import add as _sum
from hubel.tensor import Tensor

_SLOT, _X, _Y, _WEIGHT, _DATA, _CONST, _VALUE = range(7)
_MAX_TRIES = 4  # eager steps recorded before a model is declared untraceable
_MAX_RECORDINGS = 4  # batch shapes kept


class Untraceable(Exception):
    """The step holds something the replay could not reproduce (said in the message)."""


class _Node:
    __slots__ = ("fn", "cls", "needs", "args", "options", "shapes", "free")

    def __init__(self, fn, needs, args, options, shapes):
        self.fn, self.cls, self.needs = fn, type(fn), needs
        self.args, self.options, self.shapes = args, options, shapes
        self.free = ()  # outputs of earlier ops no later op reads: dropped after this one


class Recording:
    """The ops of one eager step, resolved into the roles above."""

    def __init__(self, recorder, outs, loss, params):
        if recorder.error is not None:
            raise Untraceable(recorder.error)
        self.nodes = recorder.nodes
        self.outs = [recorder.result(t) for t in outs]
        self.loss = recorder.result(loss)
        last_read = {}
        for j, node in enumerate(self.nodes):
            for kind, ref in node.args:
                if kind == _SLOT:
                    last_read[ref] = j
        kept = {self.loss, *self.outs}
        for k, j in last_read.items():
            if k not in kept:
                self.nodes[j].free += (k,)
        self.params = list(params)
        self.in_backward = _updates_in_backward(self.nodes, self.params)
        self.relu_inputs = _relu_handovers(self.nodes, kept)

    def same_as(self, other: Recording) -> bool:
        """Whether two recordings hold the same ops on the same inputs."""
        if len(self.nodes) != len(other.nodes) or self.outs != other.outs or \
                self.loss != other.loss or len(self.params) != len(other.params) or \
                any(a is not b for a, b in zip(self.params, other.params)):
            return False
        for a, b in zip(self.nodes, other.nodes):
            if a.cls is not b.cls or a.needs != b.needs or a.shapes != b.shapes or \
                    len(a.args) != len(b.args) or a.options.keys() != b.options.keys():
                return False
            if not all(_same_role(p, q) for p, q in zip(a.args, b.args)):
                return False
            if not all(_same_value(a.options[key], b.options[key]) for key in a.options):
                return False
        return True

    def run(self, xs, ys, updates=None):
        """One training step's forward and backward: (loss array, output arrays, the
        gradients of params in order). updates: {op index: {input index: InBackward}},
        handed to those ops' backward, which apply them (their gradients come back None)."""
        nodes, relu_inputs = self.nodes, self.relu_inputs
        values = [None] * len(nodes)
        for k, node in enumerate(nodes):
            fn = node.fn
            fn.needs_grad = node.needs
            values[k] = fn.forward(*[_value(role, values, xs, ys) for role in node.args],
                                   **node.options)
            for j in node.free:
                values[j] = None
        loss = values[self.loss]
        outs = [values[k] for k in self.outs]
        grads = [None] * len(nodes)
        grads[self.loss] = loss.dtype.type(1) + 0 * loss
        leaf = {}
        for k in range(len(nodes) - 1, -1, -1):
            node, g = nodes[k], grads[k]
            grads[k] = None
            fn = node.fn
            if g is not None and True in node.needs:
                if updates and k in updates:
                    fn.updates = updates[k]
                p = relu_inputs.get(k)
                if p is not None:  # (None if that op kept no y: it needs no gradient)
                    fn.input_relu = nodes[p].fn.__dict__.get("y")
                in_grads = fn.backward(g)
                if p is not None and fn.input_relu_gb is not None:
                    nodes[p].fn.masked = fn.input_relu_gb
                if not isinstance(in_grads, tuple):
                    in_grads = (in_grads,)
                for (kind, ref), need, shape, gp in zip(node.args, node.needs, node.shapes,
                                                        in_grads):
                    if not need or gp is None:
                        continue
                    if gp.shape != shape:
                        gp = unbroadcast(gp, shape, fn)
                    if kind == _SLOT:
                        grads[ref] = gp if grads[ref] is None else _sum(grads[ref], gp)
                    elif kind == _WEIGHT:
                        key = id(ref)
                        leaf[key] = gp if key not in leaf else leaf[key] + gp
            fn.__dict__.clear()  # (what forward kept for backward)
        given = set()
        result = []
        for w in self.params:  # private, writable arrays, as the engine hands out
            g = leaf.get(id(w))
            if g is not None:
                if g.dtype != w.data.dtype:
                    g = g.astype(w.data.dtype)
                if not (g.flags.writeable and g.base is None and id(g) not in given):
                    g = np.array(g)
                given.add(id(g))
            result.append(g)
        return loss, outs, result


def _updates_in_backward(nodes, params) -> list:
    """(op index, input index, weight) of the weights whose update that op's backward can
    make (its class lists the input in `update_inputs`): trainable weights that op alone
    reads, so no later op of the backward pass sees them updated."""
    readers: dict = {}
    for node in nodes:
        for kind, ref in node.args:
            if kind == _WEIGHT or kind == _DATA:
                readers[id(ref)] = readers.get(id(ref), 0) + 1
    trainable = {id(w) for w in params}
    found = []
    for k, node in enumerate(nodes):
        for i in getattr(node.cls, "update_inputs", ()):
            if i >= len(node.args) or not node.needs[i]:
                continue
            kind, w = node.args[i]
            if kind == _WEIGHT and id(w) in trainable and readers[id(w)] == 1 and \
                    node.shapes[i] == w.data.shape:
                found.append((k, i, w))
    return found


def _relu_handovers(nodes, kept) -> dict:
    """{op j: op p} where op j's backward can mask its input gradient by the fused ReLU of
    op p, whose output is j's first input (both classes set `relu_handover`, hubel.ops.
    linalg.Affine): j alone reads that output, which is no output of the step, so the
    gradient j makes is all that reaches p."""
    readers: dict = {}
    for node in nodes:
        for kind, ref in node.args:
            if kind == _SLOT:
                readers[ref] = readers.get(ref, 0) + 1
    found = {}
    for j, node in enumerate(nodes):
        if not (getattr(node.cls, "relu_handover", False) and node.args and node.needs[0]):
            continue
        kind, p = node.args[0]
        if kind == _SLOT and readers[p] == 1 and p not in kept and \
                getattr(nodes[p].cls, "relu_handover", False) and \
                nodes[p].options.get("relu"):
            found[j] = p
    return found


def _value(role, values, xs, ys):
    kind, ref = role
    if kind == _SLOT:
        return values[ref]
    if kind == _WEIGHT or kind == _DATA:
        return ref.data
    if kind == _X:
        return xs[ref]
    if kind == _Y:
        return ys[ref]
    return ref


def _same_role(p, q) -> bool:
    if p[0] != q[0]:
        return False
    if p[0] in (_SLOT, _X, _Y):
        return p[1] == q[1]
    if p[0] == _VALUE:
        return _same_value(p[1], q[1])
    return p[1] is q[1]  # weights and constants: the same objects


def _same_value(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and \
            all(_same_value(p, q) for p, q in zip(a, b))
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # (an object without a usable ==)
        return a is b


class Recorder:
    """While active, Function.apply hands it every op it runs (record), and it resolves
    the op's inputs at once, keeping only weak references to the ops' outputs (the
    eager step frees them as usual)."""

    def __init__(self, xs, ys, weights):
        self.xs, self.ys = xs, ys
        self.nodes = []
        self.fn_index, self.array_index = {}, {}
        self.data_of = {id(w.data): w for w in weights}
        self.error = None  # why the step cannot be replayed, once known

    def __enter__(self):
        if _function._recorder is not None:
            raise RuntimeError("a traced step is already being recorded")
        _function._recorder = self
        return self

    def __exit__(self, *exc):
        _function._recorder = None
        return False

    def record(self, fn, inputs, needs, options, y) -> None:
        if self.error is not None:
            return
        try:
            args = tuple(self._role(t) for t in inputs)
        except Untraceable as e:
            self.error = str(e)
            return
        if not isinstance(y, (np.ndarray, np.generic)):
            self.error = f"{type(fn).__name__} returned {type(y).__name__}, not an array"
            return
        k = len(self.nodes)
        shapes = tuple(getattr(getattr(t, "data", t), "shape", None) for t in inputs)
        self.nodes.append(_Node(fn, tuple(needs), args, dict(options), shapes))
        self.fn_index[id(fn)] = k
        if type(y) is np.ndarray:  # (a NumPy scalar is found through its Tensor only)
            self.array_index[id(y)] = (k, weakref.ref(y))

    def _slot_of_array(self, a):
        found = self.array_index.get(id(a))
        return found[0] if found is not None and found[1]() is a else None

    def _role(self, t):
        """(kind, reference) of one input of a recorded op."""
        if isinstance(t, Tensor):
            if t._ctx is not None and id(t._ctx) in self.fn_index:
                return _SLOT, self.fn_index[id(t._ctx)]
            if t._ctx is None and t.requires_grad:  # a weight (a leaf: .grad is set)
                return _WEIGHT, t
            a = t.data
        else:
            a = t
        if type(a) is not np.ndarray:
            if isinstance(a, Tensor) or (hasattr(a, "__array__") and not np.isscalar(a)):
                raise Untraceable(f"an input of type {type(a).__name__}")
            return _VALUE, a
        k = self._slot_of_array(a)
        if k is not None:
            return _SLOT, k
        for i, x in enumerate(self.xs):
            if a is x:
                return _X, i
        for i, y in enumerate(self.ys):
            if a is y:
                return _Y, i
        if id(a) in self.data_of and self.data_of[id(a)].data is a:
            return _DATA, self.data_of[id(a)]
        if isinstance(t, Tensor) and t.requires_grad:
            raise Untraceable("a tensor that needs a gradient but was made outside the "
                              "step's ops")
        return _CONST, a

    def result(self, t) -> int:
        """The op that computed tensor t (an output or the loss)."""
        if t._ctx is not None and id(t._ctx) in self.fn_index:
            return self.fn_index[id(t._ctx)]
        k = self._slot_of_array(t.data)
        if k is None:
            raise Untraceable("an output that no op of the step computed")
        return k


class TracedStep:
    """Train steps of one trainer: eager and recorded until a recording is confirmed by
    the next step, then replayed."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.recordings: dict = {}  # batch key -> Recording (confirmed)
        self.pending: dict = {}  # batch key -> the last unconfirmed Recording
        self.tries: dict = {}
        self.given_up = False

    def __call__(self, xs: list, ys: list) -> dict:
        key = tuple((a.shape, a.dtype.str) for a in (*xs, *ys))
        rec = self.recordings.get(key)
        if rec is not None:
            return self._replay(rec, xs, ys)
        if self.given_up:
            return self.trainer._eager_step(xs, ys)
        return self._record(key, xs, ys)

    def _record(self, key, xs, ys) -> dict:
        tr = self.trainer
        with Recorder(xs, ys, tr.model.weights) as recorder:
            out = tr.model(*xs, training=True)
            params, penalties = tr.model._training_lists()
            loss = tr.compute_loss(ys, out, penalties)
        outs = out if isinstance(out, (list, tuple)) else [out]
        try:
            rec = Recording(recorder, outs, loss, params)
        except Untraceable as e:
            self._give_up(str(e))
            rec = None
        logs = tr._finish_step(params, loss, ys, out)
        if rec is None:
            return logs
        before = self.pending.pop(key, None)
        if before is not None and before.same_as(rec):
            if len(self.recordings) >= _MAX_RECORDINGS:
                self.recordings.pop(next(iter(self.recordings)))
            self.recordings[key] = rec
            return logs
        self.tries[key] = self.tries.get(key, 0) + 1
        if self.tries[key] > _MAX_TRIES:
            self._give_up("the ops or their constant inputs changed from step to step")
        else:
            self.pending[key] = rec
        return logs

    def _replay(self, rec: Recording, xs, ys) -> dict:
        tr = self.trainer
        for w in rec.params:  # (as eager: last step's gradients are not held through this
            w.grad = None     # one; VGG-11's 38 MB raised the step's peak by as much)
        # weights read by one op only are updated by that op's backward, as their gradient
        # is made, when the optimizer can (SGD; their .grad stays None)
        opt, updates = tr.optimizer, {}
        if rec.in_backward:
            lr = opt.lr
            for k, i, w in rec.in_backward:
                update = opt.in_backward(w, lr)
                if update is not None:
                    updates.setdefault(k, {})[i] = update
        loss, outs, grads = rec.run(xs, ys, updates)
        for w, g in zip(rec.params, grads):
            w.grad = g
        opt.apply_gradients(list(zip(grads, rec.params)))
        return tr._logs_of(loss, ys, outs[0])

    def _give_up(self, why: str) -> None:
        self.given_up = True
        self.pending.clear()
        warnings.warn(f"model '{self.trainer.model.name}': jit_compile=True cannot trace "
                      f"its training step ({why}); training runs eagerly", stacklevel=4)
