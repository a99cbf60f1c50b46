"""Per-channel arithmetic on channels-last arrays: a bias added to every row (with the
ReLU that follows it fused in), and the per-channel scale and shift of inference-mode
batch normalization.

    add_bias(y, b):                y[..., c] += b[c]                      (in place)
    add_bias_relu(y, b):           y[..., c] = max(y[..., c] + b[c], 0)   (in place)
    relu_backward(gy, y):          g = gy·[y > 0],  gb[c] = Σ_rows g[..., c]
                                   (y: the ReLU's output, or its mask [y > 0])
    add_relu(a, b):                y = max(a + b, 0) and its mask [y > 0]
    channel_affine(x, scale, t):   y[..., c] = x[..., c]·scale[c] + t[c]

Contiguous floating NumPy arrays of 4,096 numbers or more (65,536 when Numba's workers
sleep between kernels, hubel.backends.threads) take the Numba kernels
(hubel/backends/kernels/channel_numba.py); anything else the NumPy expression, which is
also the reference the tests compare with. On hubel's OpenMP pool a kernel starts in
about 2 µs: mlp's bias + ReLU on (128, 256) takes 2.6 µs there against 19 µs in NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from hubel.backends import get_array_module, threads
from hubel.backends.reduce import leading_sum

try:
    from hubel.backends.kernels import channel_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


# below this many numbers NumPy is done before the thread pool has started
_SMALL = 1 << 12 if threads.one_pool() else 1 << 16
_LARGE = 1 << 16  # a sum of two arrays runs on the pool from this many numbers on


def _fast_ok(x) -> bool:
    return (_fast is not None and isinstance(x, np.ndarray) and x.dtype.kind == "f"
            and x.flags.c_contiguous and x.ndim >= 1 and x.size >= _SMALL)


def add_bias(y, b):
    """y += b over the last axis, in place; returns y."""
    if _fast_ok(y) and isinstance(b, np.ndarray) and b.shape == y.shape[-1:]:
        _fast.add_rows(y.reshape(-1, y.shape[-1]), b.astype(y.dtype, copy=False))
    else:
        y += b
    return y


def add_bias_relu(y, b=None):
    """y = max(y + b, 0) over the last axis, in place (b None: max(y, 0)); returns y.

    The epilogue of a convolution or Dense layer with activation='relu': one pass over
    the product's own buffer instead of a bias pass and a ReLU that writes a new array."""
    if _fast_ok(y) and (b is None or isinstance(b, np.ndarray) and b.shape == y.shape[-1:]):
        c = y.shape[-1]
        b = np.zeros(c, y.dtype) if b is None else b.astype(y.dtype, copy=False)
        _fast.add_rows_relu(y.reshape(-1, c), b)
        return y
    if b is not None:
        y += b
    return get_array_module(y).maximum(y, 0, out=y)


def relu_backward(gy, y, bias_sum: bool = True):
    """(g, gb): the gradient through a fused ReLU, g = gy·[y > 0], and the bias gradient
    gb = Σ g over all but the last axis (None unless bias_sum), in one pass. y: the ReLU's
    output, or a uint8 / bool mask of where it is positive."""
    y_ok = _fast_ok(y) and gy.dtype == y.dtype or (
        isinstance(y, np.ndarray) and y.dtype == np.uint8 and y.flags.c_contiguous)
    if y_ok and _fast_ok(gy) and gy.shape == y.shape:
        c = y.shape[-1]
        g = np.empty_like(gy)
        sums = np.zeros((_fast._TASKS, c), np.float64)
        _fast.relu_backward_rows(gy.reshape(-1, c), y.reshape(-1, c), g.reshape(-1, c), sums,
                                 c * 8 // math.gcd(c, 8))
        return g, (sums.sum(axis=0).astype(gy.dtype) if bias_sum else None)
    g = gy * (y > 0)
    return g, (leading_sum(g, g.ndim - 1) if bias_sum else None)


def add_relu(a, b):
    """(y, mask): y = max(a + b, 0) as a new array and mask = [y > 0] (uint8, or bool on
    the NumPy path), for the backward pass to keep instead of y (a quarter of its size).
    One pass for two contiguous floating arrays of the same shape and dtype; otherwise
    NumPy's broadcasting add and an in-place maximum."""
    if (_fast_ok(a) and _fast_ok(b) and a.shape == b.shape and a.dtype == b.dtype):
        y = np.empty_like(a)
        mask = np.empty(a.shape, np.uint8)
        _fast.add_relu_flat(a.reshape(-1), b.reshape(-1), y.reshape(-1), mask.reshape(-1))
        return y, mask
    y = a + b
    y = get_array_module(y).maximum(y, 0, out=y)
    return y, y > 0


def add(a, b):
    """a + b as a new array. Two large contiguous arrays of one shape and dtype (gradients
    meeting at a residual connection) are added on the pool: inside a backward pass they
    come from memory, and two cores draw twice the bandwidth."""
    if (_fast_ok(a) and _fast_ok(b) and a.shape == b.shape and a.dtype == b.dtype
            and a.size >= _LARGE):
        y = np.empty_like(a)
        _fast.add_flat(a.reshape(-1), b.reshape(-1), y.reshape(-1))
        return y
    return a + b


def relu_mask(y):
    """[y > 0] as one byte per number (uint8; bool on the NumPy path): what a fused
    ReLU's backward pass needs of its output, a quarter of a float32 output's size."""
    if _fast_ok(y):
        mask = np.empty(y.shape, np.uint8)
        _fast.positive_mask_flat(y.reshape(-1), mask.reshape(-1))
        return mask
    return y > 0


def channel_affine(x, scale, shift):
    """x·scale + shift over the last axis (a new array of x's shape; a floating x keeps its
    dtype whichever path runs)."""
    if _fast_ok(x):
        c = x.shape[-1]
        y = np.empty_like(x)
        _fast.affine(x.reshape(-1, c), np.broadcast_to(scale, (c,)).astype(x.dtype),
                     np.broadcast_to(shift, (c,)).astype(x.dtype), y.reshape(-1, c))
        return y
    y = x * scale + shift
    if getattr(x, "dtype", None) is not None and x.dtype.kind == "f":
        y = y.astype(x.dtype, copy=False)
    return y
