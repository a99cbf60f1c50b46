"""Local response normalization in plain NumPy: the reference for lrn_numba.py.

Channels are the last axis. For channel c the window is c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋,
clipped at the channel edges (PyTorch's and Caffe's window):

    s_c = k + (alpha/size)·Σ_window x_j²        y_c = x_c · s_c^(−beta)

Backward, with t_c = gy_c·y_c / s_c:

    gx_i = gy_i·s_i^(−beta) − (2·alpha·beta/size)·x_i·Σ_{c: i ∈ window(c)} t_c

(the channels c whose window holds i are i − ⌊(size−1)/2⌋ … i + ⌊size/2⌋).
"""

from __future__ import annotations

import numpy as np


def _window_sum(v, before: int, after: int, size: int):
    """Σ_{j=0}^{size−1} v_padded[c + j] along the last axis, v padded by (before, after)."""
    pad = [(0, 0)] * (v.ndim - 1) + [(before, after)]
    vp = np.pad(v, pad)
    c = v.shape[-1]
    total = np.zeros_like(v)
    for j in range(size):
        total += vp[..., j:j + c]
    return total


def lrn_forward(x, size: int, alpha: float, beta: float, k: float):
    """y and the scale s (kept for backward)."""
    s = k + (alpha / size) * _window_sum(x * x, size // 2, (size - 1) // 2, size)
    s = s.astype(x.dtype)
    return (x * s ** -beta).astype(x.dtype), s


def lrn_backward(gy, x, y, s, gx, size: int, alpha: float, beta: float):
    """Fill gx from the output gradient and what forward kept."""
    t = gy * y / s
    back = _window_sum(t, (size - 1) // 2, size // 2, size)
    gx[...] = gy * s ** -beta - (2.0 * alpha * beta / size) * x * back
    return gx
