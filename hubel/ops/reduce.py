"""Reductions over axes: sum, mean, max, min, var, logsumexp (with keepdims)."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module
from hubel.ops import elementwise as ew


def _axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis) if ndim else ()


def _restore(g, axes: tuple, keepdims: bool):
    """Put back the reduced axes (size 1) so `g` broadcasts against the input."""
    if keepdims or not axes:
        return g
    xp = get_array_module(g)
    return xp.expand_dims(g, axes)


class Sum(Function):
    """y = Σ x over axes;  gx = gy broadcast back to x's shape."""

    def forward(self, x, axis, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        return get_array_module(x).sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, gy):
        g = _restore(gy, self.axes, self.keepdims)
        return get_array_module(g).broadcast_to(g, self.shape), None, None


class Max(Function):
    """y = max x over axes;  gx = gy at the arg-max (split evenly between ties)."""

    def forward(self, x, axis, keepdims, smallest=False):
        xp = get_array_module(x)
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        reduce = xp.min if smallest else xp.max
        y = reduce(x, axis=self.axes, keepdims=True)
        self.mask = x == y
        return y if keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        g = _restore(gy, self.axes, self.keepdims)
        count = self.mask.sum(axis=self.axes, keepdims=True)
        return g * self.mask / count.astype(g.dtype), None, None, None


def sum(x, axis=None, keepdims: bool = False):  # noqa: A001
    """Sum over `axis` (int, tuple or None for all)."""
    return Sum.apply(x, axis, keepdims)


def mean(x, axis=None, keepdims: bool = False):
    """Mean over `axis`: sum / count (the mean of no elements is 0, not NaN)."""
    shape = x.shape
    count = 1
    for a in _axes(axis, len(shape)):
        count *= shape[a]
    return ew.div(sum(x, axis, keepdims), count if count else 1)


def max(x, axis=None, keepdims: bool = False):  # noqa: A001
    """Maximum over `axis`; the gradient flows to the maximal elements."""
    return Max.apply(x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False):  # noqa: A001
    """Minimum over `axis`."""
    return Max.apply(x, axis, keepdims, True)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Variance over `axis`: mean((x − mean x)²) (÷ (n − ddof))."""
    shape = x.shape
    count = 1
    for a in _axes(axis, len(shape)):
        count *= shape[a]
    centered = ew.sub(x, mean(x, axis, keepdims=True))
    return ew.div(sum(ew.mul(centered, centered), axis, keepdims), count - ddof)


def logsumexp(x, axis=None, keepdims: bool = False):
    """log Σ eˣ over `axis`, computed as m + log Σ e^(x−m) with m = max x (stable)."""
    from hubel.tensor import Tensor

    data = x.data if isinstance(x, Tensor) else x
    xp = get_array_module(data)
    m = xp.max(data, axis=_axes(axis, data.ndim), keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    s = sum(ew.exp(ew.sub(x, m)), axis, keepdims=True)
    out = ew.add(ew.log(s), m)
    if not keepdims:
        from hubel.ops.shape import squeeze

        out = squeeze(out, _axes(axis, data.ndim))
    return out
