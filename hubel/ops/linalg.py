"""Matrix product (batched, NumPy `matmul` semantics)."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module


class MatMul(Function):
    """y = a @ b;  ga = gy @ bᵀ, gb = aᵀ @ gy (last two axes; batch axes broadcast).

    Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands as in NumPy.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        xp = get_array_module(gy)
        a, b = self.a, self.b
        # 1-D operands act as a row (a) or a column (b), as in NumPy; the engine sums the
        # broadcast batch axes back to each operand's shape.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = xp.asarray(gy)
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if self.needs_grad[0]:
            ga = g @ xp.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if self.needs_grad[1]:
            gb = xp.swapaxes(a2, -1, -2) @ g
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


def matmul(a, b):
    """Matrix product a @ b, batched over leading axes."""
    return MatMul.apply(a, b)
