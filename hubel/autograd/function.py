"""Function: one differentiable primitive, forward and backward side by side.

The graph is made of Functions: `fn.inputs[i]` is the Function that produced input i, or
the leaf Tensor itself (a weight, or a tensor created with requires_grad=True), or None
when input i needs no gradient; `fn.shapes[i]` is its shape.

A subclass implements

    forward(self, *arrays, **options) -> array      (arrays in, array out)
    backward(self, gy) -> tuple of arrays or None   (one gradient per input)

and keeps on `self` exactly what backward needs. `self.needs_grad[i]` tells whether input i
wants a gradient, so backward (and forward, when deciding what to keep) can skip work:
backward returns None for inputs that need none. Under `no_grad()` every entry is False,
so forward can keep nothing for a backward that will never run. Gradients whose shape
differs from the input's because of broadcasting are summed back by the engine, not by
each op.
"""

from __future__ import annotations

from hubel.autograd import grad_mode


class Function:
    """Base class of differentiable primitives; use `MyOp.apply(*inputs, **options)`."""

    inputs: tuple = ()
    needs_grad: tuple = ()

    def forward(self, *xs, **options):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays; record the node if any input needs a gradient."""
        Tensor = _Tensor or _tensor_class()
        enabled = grad_mode.enabled
        fn = cls()
        arrays = []
        needs = []
        for t in inputs:
            if isinstance(t, Tensor):
                arrays.append(t.data)
                needs.append(enabled and t.requires_grad)
            else:
                arrays.append(t)
                needs.append(False)
        fn.needs_grad = needs
        y = fn.forward(*arrays, **options)
        if _recorder is not None:  # (a traced step is being recorded: hubel/training/traced.py)
            _recorder.record(fn, inputs, needs, options, y)
        if True not in needs:
            return Tensor._from_op(y, None)
        # the graph links Functions, not tensors: an input made by an op is recorded as that
        # op, so an intermediate tensor's array is freed as soon as no Function keeps it
        # for its backward (as in PyTorch), not held until backward by the graph
        fn.inputs = tuple(t._ctx if need and t._ctx is not None else (t if need else None)
                          for t, need in zip(inputs, needs))
        fn.shapes = tuple(getattr(a, "shape", None) for a in arrays)
        return Tensor._from_op(y, fn)

    def release(self) -> None:
        """Drop the inputs and everything kept for backward (the graph is freed)."""
        self.__dict__.clear()
        self.inputs = None


_Tensor = None
_recorder = None  # the Recorder of hubel/training/traced.py while it records a step


def _tensor_class():
    """hubel.tensor.Tensor, imported on first use: tensor.py imports the ops, which import
    this module, so a top-level import would be circular (a documented lazy import)."""
    global _Tensor
    from hubel.tensor import Tensor

    _Tensor = Tensor
    return Tensor
