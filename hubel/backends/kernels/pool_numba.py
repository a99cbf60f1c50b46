"""Pooling kernels in Numba (multi-core): the fast path of hubel/ops/pool.py.

Same contract as the NumPy reference in pool_reference.py (5-D channels-last arrays
(N, D, H, W, C), windows starting at o·s − p, clipped to the input; the max-pool argmax is
the flat index of the winner inside one (D, H, W) volume, first maximum on ties, NaN wins).
The channel axis is innermost and contiguous, so the inner loop over channels vectorizes.

Each kernel is a compiled loop over a range of work (`_max_rows`, ...) plus a parallel
driver that splits the range over the threads: forward passes split the (n, od, oh) output
rows; backward passes split the batch, so that overlapping windows (AlexNet's 3x3 stride 2)
never add into the same input element from two threads. Small arrays run the loop on one
thread: waking a thread pool costs more than pooling a few thousand numbers.
The public functions allocate the outputs in Python, so a gradient handed to autograd is a
plain array (not a Numba-owned one that the engine would copy).
A gather formulation of the backward passes (one write per input element, no zeroing)
measured 1.2-5x slower than this scatter.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

_ROWS = 16  # output rows per parallel task (amortizes the per-task buffers)
_SERIAL = 1 << 15  # arrays smaller than this (elements) are pooled on one thread
_WIDE = 16  # from this many channels on, the vectorized channel loop of _max_rows wins


# --- max pooling -------------------------------------------------------------------------
@njit(cache=True)
def _max_rows(x, k, s, p, y, arg, keep_arg, start, stop):  # pragma: no cover - compiled
    """y (and arg) for the output rows start…stop−1 of the flattened (n, od, oh) rows."""
    _, size_d, size_h, size_w, c_ = x.shape
    _, od, oh, ow, _ = y.shape
    rows = od * oh
    cu = uint64(c_)
    xf, yf, af = x.reshape(-1), y.reshape(-1), arg.reshape(-1)
    # Per-task buffers and branch-free selects: the channel loop vectorizes (3-4x faster
    # than updating y and arg in place, which the compiler must assume may alias x).
    best = np.empty(c_, x.dtype)
    best_at = np.empty(c_, np.int32)
    for job in range(start, stop):
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
                        flat = (a * size_h + b) * size_w + e
                        src = uint64(n * size_d * size_h * size_w + flat) * cu
                        for c in range(cu):
                            v = xf[src + c]
                            take = v > best[c] or v != v  # first maximum wins; NaN wins
                            best[c] = v if take else best[c]
                            best_at[c] = flat if take else best_at[c]
            dst = uint64(job * ow + m) * cu  # (flat slices: a slice per window cost more)
            for c in range(cu):
                yf[dst + c] = best[c]
            if keep_arg:
                for c in range(cu):
                    af[dst + c] = best_at[c]


@njit(parallel=True, cache=True)
def _max_rows_parallel(x, k, s, p, y, arg, keep_arg):  # pragma: no cover - compiled
    total = y.shape[0] * y.shape[1] * y.shape[2]
    for blk in prange((total + _ROWS - 1) // _ROWS):
        _max_rows(x, k, s, p, y, arg, keep_arg, blk * _ROWS, min(total, (blk + 1) * _ROWS))


@njit(cache=True)
def _max2x2_rows(x, y, arg, keep_arg, start, stop):  # pragma: no cover - compiled
    """_max_rows for the common 2x2 window with stride 2, unpadded, 2-D (x, y: (N, H, W, C)).

    With the window size fixed at compile time the loops unroll and the compiler keeps the
    running max in registers for any channel count (LeNet-5's 6-channel S2: 9x faster than
    the general kernel). NaN: a plain `v > best` never picks a NaN, so the window's sum
    rides along and, if it is NaN, the window is rescanned with the NaN rule."""
    _, _, size_w, c_ = x.shape
    _, oh, ow, _ = y.shape
    for job in range(start, stop):
        n = job // oh
        h0 = (job % oh) * 2
        for m in range(ow):
            w0 = m * 2
            for c in range(c_):
                best = x[n, h0, w0, c]
                best_at = h0 * size_w + w0
                total = best - best
                for a in range(2):
                    for b in range(2):
                        v = x[n, h0 + a, w0 + b, c]
                        take = v > best
                        best = v if take else best
                        best_at = (h0 + a) * size_w + w0 + b if take else best_at
                        total += v
                if total != total:  # a NaN or an inf − inf: the general rule decides
                    for a in range(2):
                        for b in range(2):
                            v = x[n, h0 + a, w0 + b, c]
                            if v != v:  # (the last NaN, as in _max_rows and PyTorch)
                                best = v
                                best_at = (h0 + a) * size_w + w0 + b
                y[n, job % oh, m, c] = best
                if keep_arg:
                    arg[n, job % oh, m, c] = best_at


@njit(parallel=True, cache=True)
def _max2x2_rows_parallel(x, y, arg, keep_arg):  # pragma: no cover - compiled
    total = y.shape[0] * y.shape[1]
    for blk in prange((total + _ROWS - 1) // _ROWS):
        _max2x2_rows(x, y, arg, keep_arg, blk * _ROWS, min(total, (blk + 1) * _ROWS))


def max_pool_forward(x, out, k, s, p, keep_arg=True):
    """y = max over each window, and (if keep_arg) the flat index of its first maximum."""
    n, c = x.shape[0], x.shape[-1]
    y = np.empty((n, *out, c), x.dtype)
    # Without a backward pass to come (inference, frozen input) the argmax is not stored.
    arg = np.empty(y.shape if keep_arg else (0,) * 5, np.int32)
    inside = not any(p) and 2 * out[1] <= x.shape[2] and 2 * out[2] <= x.shape[3]
    if c < _WIDE and tuple(k) == tuple(s) == (1, 2, 2) and x.shape[1] == 1 and inside:
        x4, y4 = x.reshape(x.shape[:1] + x.shape[2:]), y.reshape(y.shape[:1] + y.shape[2:])
        arg4 = arg.reshape(y4.shape) if keep_arg else arg.reshape((0,) * 4)
        if x.size < _SERIAL:
            _max2x2_rows(x4, y4, arg4, keep_arg, 0, n * out[1])
        else:
            _max2x2_rows_parallel(x4, y4, arg4, keep_arg)
        return y, arg
    if x.size < _SERIAL:
        _max_rows(x, k, s, p, y, arg, keep_arg, 0, n * out[0] * out[1])
    else:
        _max_rows_parallel(x, k, s, p, y, arg, keep_arg)
    return y, arg


@njit(cache=True)
def _max_back(gy, arg, gx, start, stop):  # pragma: no cover - compiled
    """gx for the examples start…stop−1: zero, then add each gy at its window's argmax.
    Flat unsigned offsets: slicing gy[n, i, j, m] per window cost 1.4-1.6x more."""
    volume = uint64(gx.shape[1] * gx.shape[2] * gx.shape[3])
    cu = uint64(gy.shape[-1])
    per = uint64(gy.size // gy.shape[0])  # gradients (and argmaxes) of one example
    gyf, af, gxf = gy.reshape(-1), arg.reshape(-1), gx.reshape(-1)
    for n in range(start, stop):
        base = uint64(n) * volume * cu
        for q in range(volume * cu):
            gxf[base + q] = 0
        o = uint64(n) * per
        for _ in range(per // cu):
            for c in range(cu):
                gxf[base + uint64(af[o + c]) * cu + c] += gyf[o + c]
            o += cu


@njit(parallel=True, cache=True)
def _max_back_parallel(gy, arg, gx):  # pragma: no cover - compiled
    for n in prange(gy.shape[0]):
        _max_back(gy, arg, gx, n, n + 1)


def max_pool_backward(gy, arg, gx):
    """Fill gx (N, D, H, W, C): each output gradient added where its window's max was."""
    if gx.size < _SERIAL:
        _max_back(gy, arg, gx, 0, gy.shape[0])
    else:
        _max_back_parallel(gy, arg, gx)
    return gx


# --- average pooling ---------------------------------------------------------------------
@njit(cache=True)
def _avg_rows(x, k, s, p, include, y, start, stop):  # pragma: no cover - compiled
    """y for the output rows start…stop−1: window sums times 1/count."""
    _, size_d, size_h, size_w, c_ = x.shape
    _, od, oh, ow, _ = y.shape
    rows = od * oh
    full = k[0] * k[1] * k[2]
    acc = np.empty(c_, x.dtype)
    scale = np.empty(1, x.dtype)  # 1/count in the data's dtype (no float64 math)
    for job in range(start, stop):
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
            for c in range(c_):
                acc[c] = 0
            for a in range(a_lo, a_hi):
                for b in range(b_lo, b_hi):
                    for e in range(e_lo, e_hi):
                        xv = x[n, a, b, e]
                        for c in range(c_):
                            acc[c] += xv[c]
            count = full if include else (a_hi - a_lo) * (b_hi - b_lo) * (e_hi - e_lo)
            scale[0] = 1.0 / count
            inv = scale[0]
            yv = y[n, i, j, m]
            for c in range(c_):
                yv[c] = acc[c] * inv


@njit(parallel=True, cache=True)
def _avg_rows_parallel(x, k, s, p, include, y):  # pragma: no cover - compiled
    total = y.shape[0] * y.shape[1] * y.shape[2]
    for blk in prange((total + _ROWS - 1) // _ROWS):
        _avg_rows(x, k, s, p, include, y, blk * _ROWS, min(total, (blk + 1) * _ROWS))


def avg_pool_forward(x, out, k, s, p, count_include_pad=False):
    """y = Σ over each window / count (count of real positions, or kd·kh·kw)."""
    n, c = x.shape[0], x.shape[-1]
    y = np.empty((n, *out, c), x.dtype)
    include = bool(count_include_pad)
    if x.size < _SERIAL:
        _avg_rows(x, k, s, p, include, y, 0, n * out[0] * out[1])
    else:
        _avg_rows_parallel(x, k, s, p, include, y)
    return y


@njit(cache=True)
def _avg_back(gy, gx, k, s, p, include, start, stop):  # pragma: no cover - compiled
    """gx for the examples start…stop−1: zero, then spread gy/count over each window."""
    _, od, oh, ow, c_ = gy.shape
    size_d, size_h, size_w = gx.shape[1], gx.shape[2], gx.shape[3]
    full = k[0] * k[1] * k[2]
    scale = np.empty(1, gy.dtype)
    for n in range(start, stop):
        gxn = gx[n]
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
                    count = full if include else (a_hi - a_lo) * (b_hi - b_lo) * (e_hi - e_lo)
                    scale[0] = 1.0 / count
                    inv = scale[0]
                    gv = gy[n, i, j, m]
                    for a in range(a_lo, a_hi):
                        for b in range(b_lo, b_hi):
                            for e in range(e_lo, e_hi):
                                dst = gxn[a, b, e]
                                for c in range(c_):
                                    dst[c] += gv[c] * inv


@njit(parallel=True, cache=True)
def _avg_back_parallel(gy, gx, k, s, p, include):  # pragma: no cover - compiled
    for n in prange(gy.shape[0]):
        _avg_back(gy, gx, k, s, p, include, n, n + 1)


def avg_pool_backward(gy, gx, k, s, p, count_include_pad=False):
    """Fill gx (N, D, H, W, C): each output gradient / count spread over its window."""
    include = bool(count_include_pad)
    if gx.size < _SERIAL:
        _avg_back(gy, gx, k, s, p, include, 0, gy.shape[0])
    else:
        _avg_back_parallel(gy, gx, k, s, p, include)
    return gx
