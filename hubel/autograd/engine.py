"""Reverse-mode automatic differentiation: topological sort, then the chain rule backwards.

backward(y): order the graph that produced y so every node comes after its inputs, walk it
in reverse, call each Function's backward with the gradient of its output, sum gradients
that meet at a node, reduce broadcast gradients to the input's shape, and accumulate into
`.grad` of the leaves. The graph is freed as it is consumed unless `retain_graph=True`.
"""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module
from hubel.backends.channels import add as _sum
from hubel.backends.reduce import leading_sum


def unbroadcast(g, shape: tuple, fn=None):
    """Sum `g` over the axes that broadcasting added or stretched to reach `shape`.

    A gradient that does not broadcast to `shape` is a bug in `fn`'s backward: raise.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = leading_sum(g, extra)
    if g.ndim == len(shape):
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if stretched:
            g = g.sum(axis=stretched, keepdims=True)
    if g.shape != shape:
        name = type(fn).__name__ if fn is not None else "an op"
        raise RuntimeError(f"{name}.backward returned a gradient of shape {g.shape} for an "
                           f"input of shape {shape}")
    return g


def topological_order(root) -> list:
    """Nodes reachable from `root` that need a gradient, each after all of its inputs.

    A node is a Function (an op's record) or a leaf Tensor; `root` is the tensor whose
    gradient is taken (its Function is the first node)."""
    start = root._ctx if root._ctx is not None else root
    order, seen = [], set()
    stack = [(start, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if not isinstance(node, Function):
            continue
        if node.inputs is None:
            raise RuntimeError(
                "backward through a graph that was already freed: call "
                "backward(retain_graph=True) the first time to go through it twice"
            )
        for p in node.inputs:
            if p is not None and id(p) not in seen:
                stack.append((p, False))
    return order


def _readers(order) -> dict:
    """{id(node): how many inputs of the graph's Functions are that node}."""
    readers: dict = {}
    for node in order:
        if isinstance(node, Function):
            for p in node.inputs:
                if p is not None:
                    readers[id(p)] = readers.get(id(p), 0) + 1
    return readers


def _relu_handover(fn, readers):
    """The op whose fused ReLU fn's backward can apply to fn's input gradient (both
    classes set `relu_handover`, hubel.ops.linalg.Affine: fn's first input is that op's
    ReLU output y, and fn alone reads it, so the gradient fn makes is all that reaches
    it); None if there is none."""
    if not getattr(fn, "relu_handover", False) or not fn.needs_grad[0]:
        return None
    p = fn.inputs[0]
    if getattr(p, "relu_handover", False) and readers.get(id(p)) == 1 and \
            p.__dict__.get("y") is not None:
        return p
    return None


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into `leaf.grad` for every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() needs a gradient argument for a non-scalar output of shape "
                f"{root.shape}"
            )
        grad = root.data.dtype.type(1) + 0 * root.data
    else:
        if isinstance(grad, type(root)):
            grad = grad.data
        grad = get_array_module(grad).asarray(grad, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise ValueError(f"backward(): gradient of shape {grad.shape} given for an "
                             f"output of shape {root.data.shape}")
    grads = {id(root._ctx if root._ctx is not None else root): grad}
    given = {id(grad)}  # arrays handed out as .grad or owned by the caller: copy them
    order = topological_order(root)
    readers = _readers(order)
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if not isinstance(node, Function):  # a leaf tensor
            t = node
            if g is not None:
                xp = get_array_module(g)
                if g.dtype != t.data.dtype:
                    g = xp.asarray(g, dtype=t.data.dtype)
                if t.grad is not None:
                    t.grad = t.grad + g
                else:
                    # `.grad` must be a private writable array (optimizers update it in
                    # place): ops may pass on views, broadcasts or one array to two inputs.
                    private = (isinstance(g, xp.ndarray) and g.flags.writeable
                               and g.base is None and id(g) not in given)
                    t.grad = g if private else xp.array(g)
                    given.add(id(t.grad))
            continue
        fn = node
        if g is not None:
            producer = _relu_handover(fn, readers)
            if producer is not None:
                fn.input_relu = producer.y
            in_grads = fn.backward(g)
            if producer is not None and fn.input_relu_gb is not None:
                producer.masked = fn.input_relu_gb
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for p, shape, gp in zip(fn.inputs, fn.shapes, in_grads):
                if p is None or gp is None:
                    continue
                if gp.shape != shape:
                    gp = unbroadcast(gp, shape, fn)
                key = id(p)
                grads[key] = gp if key not in grads else _sum(grads[key], gp)
        if not retain_graph:
            fn.release()
