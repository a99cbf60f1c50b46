"""Per-channel arithmetic on channels-last arrays: a bias added to every row, and the
per-channel scale and shift of inference-mode batch normalization.

    add_bias(y, b):                y[..., c] += b[c]            (in place)
    channel_affine(x, scale, t):   y[..., c] = x[..., c]·scale[c] + t[c]

Contiguous floating NumPy arrays of 65,536 numbers or more take the Numba kernels
(hubel/backends/kernels/channel_numba.py); anything else the NumPy expression, which is
also the reference the tests compare with.
"""

from __future__ import annotations

import numpy as np

try:
    from hubel.backends.kernels import channel_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


_SMALL = 1 << 16  # below this many numbers NumPy is done before a thread pool wakes up


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
