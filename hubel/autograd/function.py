"""Function: one differentiable primitive, forward and backward side by side.

A subclass implements

    forward(self, *arrays, **options) -> array      (arrays in, array out)
    backward(self, gy) -> tuple of arrays or None   (one gradient per input)

and keeps on `self` exactly what backward needs. `self.needs_grad[i]` tells whether input i
wants a gradient, so backward (and forward, when deciding what to keep) can skip work:
backward returns None for inputs that need none. Gradients whose shape differs from the
input's because of broadcasting are summed back by the engine, not by each op.
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
        from hubel.tensor import Tensor

        fn = cls()
        arrays = []
        needs = []
        for t in inputs:
            if isinstance(t, Tensor):
                arrays.append(t.data)
                needs.append(t.requires_grad)
            else:
                arrays.append(t)
                needs.append(False)
        track = grad_mode.enabled and any(needs)
        fn.needs_grad = tuple(needs)
        y = fn.forward(*arrays, **options)
        if not track:
            return Tensor._from_op(y, None)
        fn.inputs = inputs
        return Tensor._from_op(y, fn)

    def release(self) -> None:
        """Drop the inputs and everything kept for backward (the graph is freed)."""
        self.__dict__.clear()
        self.inputs = None
