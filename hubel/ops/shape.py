"""Shape ops: reshape, transpose, broadcast, squeeze/unsqueeze, concatenate, stack,
split, pad and indexing. They move data; their gradients move it back."""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import get_array_module


class Reshape(Function):
    """y = x viewed with a new shape;  gx = gy reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.shape), None


class Transpose(Function):
    """y = x with axes permuted (reversed if axes is None);  gx = gy with the inverse."""

    def forward(self, x, axes):
        self.axes = None if axes is None else tuple(a % x.ndim for a in axes)
        return get_array_module(x).transpose(x, self.axes)

    def backward(self, gy):
        xp = get_array_module(gy)
        if self.axes is None:
            return xp.transpose(gy), None
        return xp.transpose(gy, xp.argsort(self.axes)), None


class BroadcastTo(Function):
    """y = x broadcast to shape;  gx = gy summed over the stretched axes (by the engine)."""

    def forward(self, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy):
        return gy, None


class Concatenate(Function):
    """y = [x₁, x₂, …] joined along axis;  gxᵢ = the slice of gy that came from xᵢ."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        bounds = list(xp.cumsum(self.sizes)[:-1])
        parts = xp.split(gy, bounds, axis=self.axis)
        return tuple(p if need else None for p, need in zip(parts, self.needs_grad))


class Pad(Function):
    """y = x padded with a constant;  gx = the centre of gy.

    pad_width: one (before, after) pair per axis, as in `numpy.pad`.
    """

    def forward(self, x, pad_width, value=0.0):
        self.slices = tuple(slice(b, b + n) for (b, _), n in zip(pad_width, x.shape))
        return get_array_module(x).pad(x, pad_width, constant_values=value)

    def backward(self, gy):
        return gy[self.slices], None, None


class GetItem(Function):
    """y = x[index] (basic and advanced indexing);  gx = gy scattered back (added on repeats)."""

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy  # basic indexing never repeats an element
        else:
            xp.add.at(gx, self.index, gy)
        return gx, None


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, slice)
               or (isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)))
               for i in items)


def _normalize_index(index):
    from hubel.tensor import Tensor

    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def reshape(x, shape):
    """x with a new shape (one entry may be −1)."""
    return Reshape.apply(x, tuple(shape) if not isinstance(shape, int) else (shape,))


def flatten(x, start_axis: int = 1):
    """Join the axes from `start_axis` on: (N, d₁, …, d_k) -> (N, d₁·…·d_k) by default
    (the batch axis kept, as Keras's Flatten and torch.nn.Flatten)."""
    start = start_axis % x.ndim if x.ndim else 0
    rest = 1
    for n in x.shape[start:]:
        rest *= n
    return reshape(x, tuple(x.shape[:start]) + (rest,))


def transpose(x, axes=None):
    """Permute axes (reverse them when axes is None)."""
    return Transpose.apply(x, None if axes is None else tuple(axes))


def permute(x, axes):
    """Permute axes, as `torch.permute`."""
    return transpose(x, axes)


def broadcast_to(x, shape):
    """Broadcast x to `shape` (NumPy rules)."""
    return BroadcastTo.apply(x, tuple(shape))


def expand(x, shape):
    """Broadcast x to `shape`, where −1 keeps the size of that axis (as `torch.expand`)."""
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return BroadcastTo.apply(x, shape)


def squeeze(x, axis=None):
    """Drop axes of size 1 (all of them when axis is None)."""
    shape = x.shape
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = {a % len(shape) for a in axes}
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return reshape(x, new)


def unsqueeze(x, axis: int):
    """Insert an axis of size 1 at position `axis`."""
    shape = list(x.shape)
    axis = axis % (len(shape) + 1)
    shape.insert(axis, 1)
    return reshape(x, shape)


def concatenate(xs, axis: int = 0):
    """Join tensors along an existing axis."""
    return Concatenate.apply(*xs, axis=axis)


concat = concatenate


def stack(xs, axis: int = 0):
    """Join tensors along a new axis."""
    return concatenate([unsqueeze(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis: int = 0) -> list:
    """Split x into pieces along axis (NumPy's `split` rule: a count or cut indices)."""
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis of size {n} does not divide into "
                             f"{indices_or_sections} equal parts")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))
    else:
        cuts = list(indices_or_sections)
    bounds = [0, *cuts, n]
    axis = axis % x.ndim
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, value: float = 0.0):
    """Pad with a constant; pad_width is an int, a (before, after) pair, or one pair per axis."""
    ndim = x.ndim
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * ndim
    elif len(pad_width) == 2 and all(isinstance(p, (int, np.integer)) for p in pad_width):
        pad_width = [tuple(pad_width)] * ndim
    pad_width = tuple((int(b), int(a)) for b, a in pad_width)
    return Pad.apply(x, pad_width, value)


def getitem(x, index):
    """x[index] with gradient (slices, integers, arrays of indices, boolean masks)."""
    return GetItem.apply(x, _normalize_index(index))
