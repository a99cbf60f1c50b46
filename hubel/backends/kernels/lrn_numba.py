"""Local response normalization in Numba (multi-core): the fast path of hubel/ops/lrn.py.

Same formulas and window as lrn_reference.py (backward fills a gx given by the caller, so
autograd gets a plain array); arrays are (P, C) (every pixel a row of
channels, channels-last). Each thread takes a block of rows; per row the squares are laid
into a zero-padded buffer and summed with a fixed-length loop over the window, so the loop
over channels vectorizes and no running sum accumulates rounding error.
beta = 0.75 (AlexNet, GoogLeNet, Caffe's default) is computed as 1/(√s·⁴√s), much cheaper
than a general power.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_BLOCK = 64  # rows per parallel task


@njit(cache=True, inline="always")
def _scale_pow(s, beta, nbeta):  # pragma: no cover - compiled
    """s^(−beta) in the dtype of s (nbeta = −beta in that dtype): no float64 promotion."""
    if beta == 0.75:
        r = np.sqrt(s)
        return (r * np.sqrt(r)) ** -1
    return s ** nbeta


@njit(parallel=True, cache=True)
def lrn_forward(x, size, alpha, beta, k):  # pragma: no cover - compiled
    rows, c_ = x.shape
    y = np.empty_like(x)
    s = np.empty_like(x)
    before = size // 2
    n_blocks = (rows + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        buf = np.zeros(c_ + size - 1, x.dtype)
        acc = np.empty(c_, x.dtype)
        coef = np.empty(3, x.dtype)  # constants in the data's dtype (float32 stays float32)
        coef[0] = alpha / size
        coef[1] = k
        coef[2] = -beta
        scale, kk, nbeta = coef[0], coef[1], coef[2]
        for r in range(blk * _BLOCK, min(rows, (blk + 1) * _BLOCK)):
            xr = x[r]
            for c in range(c_):
                buf[before + c] = xr[c] * xr[c]
            for c in range(c_):
                acc[c] = 0
            for j in range(size):
                for c in range(c_):
                    acc[c] += buf[c + j]
            sr = s[r]
            for c in range(c_):
                sr[c] = kk + scale * acc[c]
            yr = y[r]
            for c in range(c_):
                yr[c] = xr[c] * _scale_pow(sr[c], beta, nbeta)
    return y, s


@njit(parallel=True, cache=True)
def lrn_backward(gy, x, y, s, gx, size, alpha, beta):  # pragma: no cover - compiled
    rows, c_ = x.shape
    before = (size - 1) // 2
    n_blocks = (rows + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        buf = np.zeros(c_ + size - 1, x.dtype)
        acc = np.empty(c_, x.dtype)
        coef = np.empty(2, x.dtype)
        coef[0] = 2.0 * alpha * beta / size
        coef[1] = -beta
        two_ab, nbeta = coef[0], coef[1]
        for r in range(blk * _BLOCK, min(rows, (blk + 1) * _BLOCK)):
            gr = gy[r]
            yr = y[r]
            sr = s[r]
            for c in range(c_):
                buf[before + c] = gr[c] * yr[c] / sr[c]
            for c in range(c_):
                acc[c] = 0
            for j in range(size):
                for c in range(c_):
                    acc[c] += buf[c + j]
            xr = x[r]
            gxr = gx[r]
            for c in range(c_):
                gxr[c] = gr[c] * _scale_pow(sr[c], beta, nbeta) - two_ab * xr[c] * acc[c]
    return gx
