"""Pooling kernels in Numba (multi-core): the fast path of hubel/ops/pool.py.

Same contract as the NumPy reference in pool_reference.py (5-D channels-last arrays
(N, D, H, W, C), windows starting at o·s − p, clipped to the input; the max-pool argmax is
the flat index of the winner inside one (D, H, W) volume, first maximum on ties, NaN wins).
The channel axis is innermost and contiguous, so the inner loop over channels vectorizes.

Forward passes split the (n, od, oh) output rows over the threads; backward passes split the
batch, so that overlapping windows (AlexNet's 3x3 stride 2) never add into the same input
element from two threads. Backward kernels fill a gx array given by the caller (so that
the gradient handed to autograd is a plain array, not a view needing a copy).
(A gather formulation of the backward passes, one write per input element and no
zeroing, measured 1.2-5x slower than this scatter.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_ROWS = 16  # output rows per parallel task (amortizes the per-task buffers)


@njit(parallel=True, cache=True)
def max_pool_forward(x, out, k, s, p, keep_arg=True):  # pragma: no cover - compiled
    n_, size_d, size_h, size_w, c_ = x.shape
    od, oh, ow = out
    y = np.empty((n_, od, oh, ow, c_), x.dtype)
    # Without a backward pass to come (inference, frozen input) the argmax is not stored.
    arg = np.empty((n_, od, oh, ow, c_) if keep_arg else (0, 0, 0, 0, 0), np.int32)
    rows = od * oh
    total = n_ * rows
    for blk in prange((total + _ROWS - 1) // _ROWS):
        # Per-task buffers, and branch-free selects: the channel loop vectorizes (3-4x
        # faster than updating y and arg in place, which the compiler must assume alias x).
        best = np.empty(c_, x.dtype)
        best_at = np.empty(c_, np.int32)
        for job in range(blk * _ROWS, min(total, (blk + 1) * _ROWS)):
            n = job // rows
            i = (job % rows) // oh
            j = job % oh
            d0 = i * s[0] - p[0]
            h0 = j * s[1] - p[1]
            a_lo, a_hi = max(d0, 0), min(d0 + k[0], size_d)
            b_lo, b_hi = max(h0, 0), min(h0 + k[1], size_h)
            for m in range(ow):
                w0 = m * s[2] - p[2]
                e_lo, e_hi = max(w0, 0), min(w0 + k[2], size_w)
                first = (a_lo * size_h + b_lo) * size_w + e_lo
                for c in range(c_):
                    best[c] = -np.inf
                    best_at[c] = first
                for a in range(a_lo, a_hi):
                    for b in range(b_lo, b_hi):
                        for e in range(e_lo, e_hi):
                            xv = x[n, a, b, e]
                            flat = (a * size_h + b) * size_w + e
                            for c in range(c_):
                                v = xv[c]
                                take = v > best[c] or v != v  # first maximum; NaN wins
                                best[c] = v if take else best[c]
                                best_at[c] = flat if take else best_at[c]
                y[n, i, j, m, :] = best
                if keep_arg:
                    arg[n, i, j, m, :] = best_at
    return y, arg


@njit(parallel=True, cache=True)
def max_pool_backward(gy, arg, gx):  # pragma: no cover - compiled
    n_, od, oh, ow, c_ = gy.shape
    volume = gx.shape[1] * gx.shape[2] * gx.shape[3]
    for n in prange(n_):
        gxn = gx[n].reshape((volume, c_))
        for q in range(volume):
            for c in range(c_):
                gxn[q, c] = 0
        for i in range(od):
            for j in range(oh):
                for m in range(ow):
                    gv = gy[n, i, j, m]
                    av = arg[n, i, j, m]
                    for c in range(c_):
                        gxn[av[c], c] += gv[c]
    return gx


@njit(parallel=True, cache=True)
def avg_pool_forward(x, out, k, s, p, count_include_pad):  # pragma: no cover - compiled
    n_, size_d, size_h, size_w, c_ = x.shape
    od, oh, ow = out
    y = np.empty((n_, od, oh, ow, c_), x.dtype)
    rows = od * oh
    full = k[0] * k[1] * k[2]
    for job in prange(n_ * rows):
        n = job // rows
        i = (job % rows) // oh
        j = job % oh
        d0 = i * s[0] - p[0]
        h0 = j * s[1] - p[1]
        a_lo, a_hi = max(d0, 0), min(d0 + k[0], size_d)
        b_lo, b_hi = max(h0, 0), min(h0 + k[1], size_h)
        acc = np.empty(c_, x.dtype)
        scale = np.empty(1, x.dtype)  # 1/count in the data's dtype (no float64 math)
        for m in range(ow):
            w0 = m * s[2] - p[2]
            e_lo, e_hi = max(w0, 0), min(w0 + k[2], size_w)
            for c in range(c_):
                acc[c] = 0
            for a in range(a_lo, a_hi):
                for b in range(b_lo, b_hi):
                    for e in range(e_lo, e_hi):
                        xv = x[n, a, b, e]
                        for c in range(c_):
                            acc[c] += xv[c]
            count = full if count_include_pad else (
                (a_hi - a_lo) * (b_hi - b_lo) * (e_hi - e_lo))
            scale[0] = 1.0 / count
            inv = scale[0]
            yv = y[n, i, j, m]
            for c in range(c_):
                yv[c] = acc[c] * inv
    return y


@njit(parallel=True, cache=True)
def avg_pool_backward(gy, gx, k, s, p, count_include_pad):  # pragma: no cover - compiled
    n_, od, oh, ow, c_ = gy.shape
    size_d, size_h, size_w = gx.shape[1], gx.shape[2], gx.shape[3]
    full = k[0] * k[1] * k[2]
    for n in prange(n_):
        gxn = gx[n]
        scale = np.empty(1, gy.dtype)
        for a in range(size_d):
            for b in range(size_h):
                for e in range(size_w):
                    for c in range(c_):
                        gxn[a, b, e, c] = 0
        for i in range(od):
            d0 = i * s[0] - p[0]
            a_lo, a_hi = max(d0, 0), min(d0 + k[0], size_d)
            for j in range(oh):
                h0 = j * s[1] - p[1]
                b_lo, b_hi = max(h0, 0), min(h0 + k[1], size_h)
                for m in range(ow):
                    w0 = m * s[2] - p[2]
                    e_lo, e_hi = max(w0, 0), min(w0 + k[2], size_w)
                    count = full if count_include_pad else (
                        (a_hi - a_lo) * (b_hi - b_lo) * (e_hi - e_lo))
                    scale[0] = 1.0 / count
                    inv = scale[0]
                    gv = gy[n, i, j, m]
                    for a in range(a_lo, a_hi):
                        for b in range(b_lo, b_hi):
                            for e in range(e_lo, e_hi):
                                dst = gxn[a, b, e]
                                for c in range(c_):
                                    dst[c] += gv[c] * inv
    return gx
