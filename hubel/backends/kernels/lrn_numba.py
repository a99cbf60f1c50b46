"""Local response normalization in Numba (multi-core): the fast path of hubel/ops/lrn.py.

Same formulas and window as lrn_reference.py (backward fills a gx given by the caller, so
autograd gets a plain array); arrays are (P, C) (every pixel a row of
channels, channels-last). Each thread takes a block of rows; per row the squares are laid
into a zero-padded buffer and summed with a fixed-length loop over the window, so the loop
over channels vectorizes and no running sum accumulates rounding error.
beta = 0.75 (AlexNet, GoogLeNet, Caffe's default) is computed as 1/(√s·⁴√s), much cheaper
than a general power; constants are cast to the data's dtype first, so float32 data is
never promoted to float64 math (that alone made the kernel 2.5x slower). Small arrays run
on one thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_BLOCK = 64  # rows per parallel task
_SERIAL = 1 << 15  # arrays smaller than this (elements) run on one thread


@njit(cache=True, inline="always")
def _scale_pow(s, beta, nbeta):  # pragma: no cover - compiled
    """s^(−beta) in the dtype of s (nbeta = −beta in that dtype): no float64 promotion."""
    if beta == 0.75:
        r = np.sqrt(s)
        return (r * np.sqrt(r)) ** -1
    return s ** nbeta


@njit(cache=True)
def _forward_rows(x, size, alpha, beta, k, y, s, start, stop):  # pragma: no cover
    """y and s for rows start…stop−1."""
    c_ = x.shape[1]
    before = size // 2
    buf = np.zeros(c_ + size - 1, x.dtype)
    acc = np.empty(c_, x.dtype)
    coef = np.empty(3, x.dtype)  # constants in the data's dtype (float32 stays float32)
    coef[0] = alpha / size
    coef[1] = k
    coef[2] = -beta
    scale, kk, nbeta = coef[0], coef[1], coef[2]
    for r in range(start, stop):
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


@njit(parallel=True, cache=True)
def _forward_parallel(x, size, alpha, beta, k, y, s):  # pragma: no cover - compiled
    rows = x.shape[0]
    for blk in prange((rows + _BLOCK - 1) // _BLOCK):
        _forward_rows(x, size, alpha, beta, k, y, s, blk * _BLOCK,
                      min(rows, (blk + 1) * _BLOCK))


def lrn_forward(x, size, alpha, beta, k):
    """y and the scale s (kept for backward), both (P, C) like x."""
    y = np.empty_like(x)
    s = np.empty_like(x)
    args = (x, int(size), float(alpha), float(beta), float(k), y, s)
    if x.size < _SERIAL:
        _forward_rows(*args, 0, x.shape[0])
    else:
        _forward_parallel(*args)
    return y, s


@njit(cache=True)
def _backward_rows(gy, x, y, s, gx, size, alpha, beta, start, stop):  # pragma: no cover
    """gx for rows start…stop−1."""
    c_ = x.shape[1]
    before = (size - 1) // 2
    buf = np.zeros(c_ + size - 1, x.dtype)
    acc = np.empty(c_, x.dtype)
    coef = np.empty(2, x.dtype)
    coef[0] = 2.0 * alpha * beta / size
    coef[1] = -beta
    two_ab, nbeta = coef[0], coef[1]
    for r in range(start, stop):
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


@njit(parallel=True, cache=True)
def _backward_parallel(gy, x, y, s, gx, size, alpha, beta):  # pragma: no cover - compiled
    rows = x.shape[0]
    for blk in prange((rows + _BLOCK - 1) // _BLOCK):
        _backward_rows(gy, x, y, s, gx, size, alpha, beta, blk * _BLOCK,
                       min(rows, (blk + 1) * _BLOCK))


def lrn_backward(gy, x, y, s, gx, size, alpha, beta):
    """Fill gx (P, C) from the output gradient and what forward kept."""
    args = (gy, x, y, s, gx, int(size), float(alpha), float(beta))
    if x.size < _SERIAL:
        _backward_rows(*args, 0, x.shape[0])
    else:
        _backward_parallel(*args)
    return gx
