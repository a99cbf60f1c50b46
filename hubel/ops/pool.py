"""Pooling (SPEC L4): max and average over windows, 1-D/2-D/3-D, channels-last; global pooling.

Each output position o (per spatial axis) looks at the window of `pool_size` inputs that
starts at o·stride − pad_before:

    max pooling      y[n, o, c] = max_{i ∈ window(o)} x[n, i, c]
    average pooling  y[n, o, c] = Σ_{i ∈ window(o)} x[n, i, c] / count(o)

Output size per axis: ⌊(N + pad_before + pad_after − F) / S⌋ + 1 (the lecture's
(N − F + 2P)/S + 1, floored; a warning names the rows/columns no window sees when it is not
a whole number). `padding` is 'valid' (no padding), 'same' (TensorFlow's rule for every
stride: out = ⌈N/S⌉, pad total max((out−1)·S + F − N, 0), the odd pixel after), or
explicit ints per side. Windows may overlap (AlexNet: 3x3, stride 2).

Padding is never a value: max pooling skips it (as −∞); average pooling divides by the
number of real inputs in the window (Keras/TensorFlow 'same'; PyTorch's
`count_include_pad=False`). `count_include_pad=True` divides by the full window size
instead (PyTorch's default, Caffe's AVE pooling), padding counted as zeros.

Gradients: average pooling spreads gy/count over the window; max pooling sends gy to the
position of the maximum. On ties the FIRST maximum in window order (depth, then row, then
column) takes the whole gradient — PyTorch's rule — and a NaN counts as the maximum.
"""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import get_array_module
from hubel.backends.kernels import pool_reference
from hubel.ops import padding_rule
from hubel.ops import shape as sh

try:  # the Numba kernels; the NumPy reference does the same work where Numba is missing
    from hubel.backends.kernels import pool_numba as _fast
except ImportError:  # pragma: no cover
    _fast = pool_reference


def _kernels(x):
    """The kernel module for arrays like x: Numba for NumPy arrays, else the reference."""
    return _fast if isinstance(x, np.ndarray) else pool_reference


def _as_5d(x):
    """(N, *spatial, C) -> a contiguous (N, D, H, W, C) view (missing axes of size 1)."""
    lead = (1,) * (5 - x.ndim)
    return np.ascontiguousarray(x).reshape(x.shape[:1] + lead + x.shape[1:])


def _as_3(values, fill: int) -> tuple:
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


class MaxPool(Function):
    """y = max over each window;  gx = gy routed to each window's first maximum."""

    def forward(self, x, pool_size, strides, pads):
        x5 = _as_5d(x)
        k, s = _as_3(pool_size, 1), _as_3(strides, 1)
        p = _as_3([b for b, _ in pads], 0)
        out = _as_3(_output_sizes(x.shape[1:-1], pool_size, strides, pads), 1)
        keep = bool(self.needs_grad[0])
        y, arg = _kernels(x5).max_pool_forward(x5, out, k, s, p, keep)
        if keep:
            self.arg, self.x_shape, self.shape5 = arg, x.shape, x5.shape
        return y.reshape(x.shape[:1] + y.shape[5 - x.ndim + 1:])

    def backward(self, gy):
        gy5 = _as_5d(gy)
        gx = get_array_module(gy).empty(self.x_shape, gy.dtype)
        _kernels(gy5).max_pool_backward(gy5, self.arg, gx.reshape(self.shape5))
        return gx, None, None, None


class AvgPool(Function):
    """y = window sum / count;  gx = gy/count added over each window."""

    def forward(self, x, pool_size, strides, pads, count_include_pad=False):
        x5 = _as_5d(x)
        self.k, self.s = _as_3(pool_size, 1), _as_3(strides, 1)
        self.p = _as_3([b for b, _ in pads], 0)
        self.include = bool(count_include_pad)
        out = _as_3(_output_sizes(x.shape[1:-1], pool_size, strides, pads), 1)
        y = _kernels(x5).avg_pool_forward(x5, out, self.k, self.s, self.p, self.include)
        self.x_shape, self.shape5 = x.shape, x5.shape
        return y.reshape(x.shape[:1] + y.shape[5 - x.ndim + 1:])

    def backward(self, gy):
        gy5 = _as_5d(gy)
        gx = get_array_module(gy).empty(self.x_shape, gy.dtype)
        _kernels(gy5).avg_pool_backward(gy5, gx.reshape(self.shape5), self.k, self.s,
                                        self.p, self.include)
        return gx, None, None, None, None


def _output_sizes(spatial, pool_size, strides, pads) -> tuple:
    return tuple((n + b + a - f) // st + 1
                 for n, f, st, (b, a) in zip(spatial, pool_size, strides, pads))


def as_tuple(value, nd: int, what: str, label: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) != nd:
        raise ValueError(f"{label}: {what} needs {nd} values, got {value}")
    return value


def pool_geometry(input_shape, nd: int, pool_size, strides=None, padding="valid",
                  label: str = "pooling") -> tuple:
    """Resolve (pool_size, strides, pads, output spatial size) for a channels-last input.

    Raises ValueError naming `label` when the input has the wrong rank, a window is larger
    than the padded input, or a padding is so large that some window sees only padding;
    warns (through the shared padding rule) when (N − F + P)/S + 1 is not a whole number.
    """
    if len(input_shape) != nd + 2:
        layout = {1: "(N, W, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}[nd]
        raise ValueError(f"{label}: expected {nd + 2}-D input {layout}, got shape "
                         f"{tuple(input_shape)}")
    k = as_tuple(pool_size, nd, "pool_size", label)
    s = k if strides is None else as_tuple(strides, nd, "strides", label)
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{label}: pool_size and strides must be positive, got "
                         f"pool_size={k}, strides={s}")
    spatial = tuple(input_shape[1:-1])
    pads = _resolve_pads(padding, spatial, k, s, label)
    out = []
    for axis, (n, f, st, (b, a)) in enumerate(zip(spatial, k, s, pads)):
        if b >= f or a >= f:
            raise ValueError(f"{label}: padding {(b, a)} on spatial axis {axis} is not "
                             f"smaller than the window {f}: some windows would see only "
                             "padding")
        if n is not None and n + b + a < f:
            raise ValueError(f"{label}: pool window {f} is larger than the padded input "
                             f"{n} + {b} + {a} = {n + b + a} on spatial axis {axis}")
        out.append(None if n is None else (n + b + a - f) // st + 1)
    _warn_unseen(spatial, k, s, pads, label)
    return k, s, pads, tuple(out)


def _resolve_pads(padding, spatial, k, s, label) -> tuple:
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError(f"{label}: padding must be 'valid', 'same' or ints, got "
                             f"{padding!r}")
        if mode == "valid":
            return ((0, 0),) * len(spatial)
        return tuple((0, 0) if n is None else  # unknown size: output size unknown too
                     tuple(int(v) for v in padding_rule.resolve_padding("same", n, f, st, 1))
                     for n, f, st in zip(spatial, k, s))
    nd = len(spatial)
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * nd
    padding = list(padding)
    if len(padding) != nd:
        raise ValueError(f"{label}: padding needs one int or (before, after) per spatial "
                         f"axis ({nd}), got {padding}")
    return tuple((int(p), int(p)) if isinstance(p, (int, np.integer)) else
                 (int(p[0]), int(p[1])) for p in padding)


def _warn_unseen(spatial, k, s, pads, label) -> None:
    for axis, (n, f, st, (b, a)) in enumerate(zip(spatial, k, s, pads)):
        if n is not None:
            padding_rule.warn_if_not_whole(label, axis, n, f, st, 1, (b, a), len(spatial))


def pool_nd(kind: str, x, nd: int, pool_size, strides=None, padding="valid",
            count_include_pad: bool = False, label: str | None = None):
    """Max (kind='max') or average ('avg') pooling over nd spatial axes; `label` names the
    caller (a layer) in errors and warnings."""
    label = label or f"{kind}_pool{nd}d"
    k, s, pads, _ = pool_geometry(x.shape, nd, pool_size, strides, padding, label)
    if kind == "max":
        return MaxPool.apply(x, k, s, pads)
    return AvgPool.apply(x, k, s, pads, count_include_pad)


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over (N, W, C) windows of `pool_size`; strides default to pool_size."""
    return pool_nd("max", x, 1, pool_size, strides, padding)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over (N, H, W, C);  e.g. AlexNet's overlapping max_pool2d(x, 3, 2).

    Shape: (N, H, W, C) -> (N, ⌊(H + P − F)/S⌋ + 1, ⌊(W + P − F)/S⌋ + 1, C).

        >>> import hubel, numpy as np
        >>> x = hubel.Tensor(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> hubel.F.max_pool2d(x, 2).data[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    return pool_nd("max", x, 2, pool_size, strides, padding)


def max_pool3d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over (N, D, H, W, C)."""
    return pool_nd("max", x, 3, pool_size, strides, padding)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid", count_include_pad=False):
    """Average pooling over (N, W, C); padding left out of the count unless told."""
    return pool_nd("avg", x, 1, pool_size, strides, padding, count_include_pad)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", count_include_pad=False):
    """Average pooling over (N, H, W, C); padding left out of the count unless told.

        >>> import hubel, numpy as np
        >>> x = hubel.Tensor(np.arange(16.0).reshape(1, 4, 4, 1))
        >>> hubel.F.avg_pool2d(x, 2).data[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    return pool_nd("avg", x, 2, pool_size, strides, padding, count_include_pad)


def avg_pool3d(x, pool_size=2, strides=None, padding="valid", count_include_pad=False):
    """Average pooling over (N, D, H, W, C)."""
    return pool_nd("avg", x, 3, pool_size, strides, padding, count_include_pad)


def global_pool(kind: str, x, nd: int, keepdims: bool = False):
    """Mean (kind='avg') or max ('max') over all nd spatial axes of a channels-last x."""
    if x.ndim != nd + 2:
        raise ValueError(f"global_{kind}_pool{nd}d: expected {nd + 2}-D channels-last "
                         f"input, got shape {tuple(x.shape)}")
    spatial = tuple(x.shape[1:-1])
    pads = ((0, 0),) * nd
    if kind == "avg":
        y = AvgPool.apply(x, spatial, spatial, pads)  # one window over everything
    else:
        y = MaxPool.apply(x, spatial, spatial, pads)  # one window: first max on ties
    return y if keepdims else sh.reshape(y, (x.shape[0], x.shape[-1]))


def global_avg_pool1d(x, keepdims: bool = False):
    """Mean over the steps: (N, W, C) -> (N, C) (or (N, 1, C) with keepdims)."""
    return global_pool("avg", x, 1, keepdims)


def global_avg_pool2d(x, keepdims: bool = False):
    """Mean over each feature map (GoogLeNet, ResNet): (N, H, W, C) -> (N, C)."""
    return global_pool("avg", x, 2, keepdims)


def global_avg_pool3d(x, keepdims: bool = False):
    """Mean over each volume: (N, D, H, W, C) -> (N, C)."""
    return global_pool("avg", x, 3, keepdims)


def global_max_pool1d(x, keepdims: bool = False):
    """Max over the steps: (N, W, C) -> (N, C); the gradient goes to the first maximum."""
    return global_pool("max", x, 1, keepdims)


def global_max_pool2d(x, keepdims: bool = False):
    """Max over each feature map: (N, H, W, C) -> (N, C)."""
    return global_pool("max", x, 2, keepdims)


def global_max_pool3d(x, keepdims: bool = False):
    """Max over each volume: (N, D, H, W, C) -> (N, C)."""
    return global_pool("max", x, 3, keepdims)
