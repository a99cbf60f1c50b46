"""im2col and col2im in Numba (multi-core): the fast path of hubel/ops/conv.py.

Arrays are 5-D channels-last (N, D, H, W, C); Conv1D and Conv2D inputs get axes of size 1.
Padding is done inside the kernels (positions outside the input read as zero and their
gradients are dropped), so neither a padded copy of the input nor a crop of the gradient is
made. The NumPy versions in conv.py (`im2col`, `col2im` with explicit padding) are the
reference these are tested against.

    cols[(n, a, b, e), (i, j, l, c)] = x[n, a·s₀ + i·d₀ − p₀, b·s₁ + j·d₁ − p₁, e·s₂ + l·d₂ − p₂, c]

col2im is the adjoint: every entry of cols is added back to the input position it was read
from. It is parallel over the batch, so two threads never add into the same element.

Runs are read and written by unsigned offsets into the flat arrays: with signed indices
Numba checks every index for being negative and LLVM vectorizes the loop with gathers,
and a slice per run (r[col:col + run]) costs 2-4x more than the copy itself (LeNet-5's
C3 col2im block: 425 us with slices, 111 us with offsets, one thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

_SERIAL = 1 << 16  # fewer elements than this: one thread (waking the pool costs more)
_PARALLEL = 1 << 18  # a block of images with fewer elements than this: one thread


@njit(cache=True)
def _im2col_rows(x, out, k, s, d, p, cols, start, stop):  # pragma: no cover - compiled
    """Rows of cols for the flattened (n, od, oh) output rows start…stop−1.

    With dilation 1 along W, the kw·C numbers a kernel row reads are contiguous in x and
    in cols, and are copied as one run."""
    _, size_d, size_h, size_w, c_ = x.shape
    xf, cf = x.reshape(-1), cols.reshape(-1)
    width, cu = uint64(cols.shape[1]), uint64(c_)
    od, oh, ow = out
    kd, kh, kw = k
    run = uint64(kw * c_)
    for job in range(start, stop):
        n = job // (od * oh)
        a = (job // oh) % od
        b = job % oh
        for e in range(ow):
            dst = uint64(job * ow + e) * width
            x0 = e * s[2] - p[2]
            whole = d[2] == 1 and x0 >= 0 and x0 + kw <= size_w
            for i in range(kd):
                z = a * s[0] + i * d[0] - p[0]
                for j in range(kh):
                    y = b * s[1] + j * d[1] - p[1]
                    if not (0 <= z < size_d and 0 <= y < size_h):
                        for q in range(run):
                            cf[dst + q] = 0
                    else:
                        line = uint64(((n * size_d + z) * size_h + y) * size_w) * cu
                        if whole:
                            src = line + uint64(x0) * cu
                            for q in range(run):
                                cf[dst + q] = xf[src + q]
                        else:
                            for l in range(kw):
                                x_ = x0 + l * d[2]
                                part = dst + uint64(l) * cu
                                if 0 <= x_ < size_w:
                                    src = line + uint64(x_) * cu
                                    for c in range(cu):
                                        cf[part + c] = xf[src + c]
                                else:
                                    for c in range(cu):
                                        cf[part + c] = 0
                    dst += run


@njit(parallel=True, cache=True)
def _im2col_parallel(x, out, k, s, d, p, cols):  # pragma: no cover - compiled
    jobs = x.shape[0] * out[0] * out[1]
    tasks = min(jobs, 64)
    for t in prange(tasks):
        _im2col_rows(x, out, k, s, d, p, cols, t * jobs // tasks, (t + 1) * jobs // tasks)


def im2col(x5: np.ndarray, out, k, s, d, p) -> np.ndarray:
    """cols (N·od·oh·ow, kd·kh·kw·C) of a (N, D, H, W, C) input; p: padding before."""
    n, c = x5.shape[0], x5.shape[-1]
    rows = n * out[0] * out[1] * out[2]
    cols = np.empty((rows, k[0] * k[1] * k[2] * c), x5.dtype)
    args = (np.ascontiguousarray(x5), tuple(out), tuple(k), tuple(s), tuple(d), tuple(p), cols)
    if cols.size < _SERIAL:
        _im2col_rows(*args, 0, n * out[0] * out[1])
    else:
        _im2col_parallel(*args)
    return cols


@njit(cache=True)
def _col2im_images(cols, out, k, s, d, p, g, start, stop):  # pragma: no cover - compiled
    """g[n] += the columns of images start…stop−1 (g zeroed by the caller); contiguous
    runs of kw·C as in _im2col_rows."""
    _, size_d, size_h, size_w, c_ = g.shape
    gf, cf = g.reshape(-1), cols.reshape(-1)
    width, cu = uint64(cols.shape[1]), uint64(c_)
    od, oh, ow = out
    kd, kh, kw = k
    run = uint64(kw * c_)
    for n in range(start, stop):
        for a in range(od):
            for b in range(oh):
                row0 = ((n * od + a) * oh + b) * ow
                for e in range(ow):
                    src = uint64(row0 + e) * width
                    x0 = e * s[2] - p[2]
                    whole = d[2] == 1 and x0 >= 0 and x0 + kw <= size_w
                    for i in range(kd):
                        z = a * s[0] + i * d[0] - p[0]
                        for j in range(kh):
                            y = b * s[1] + j * d[1] - p[1]
                            if 0 <= z < size_d and 0 <= y < size_h:
                                line = uint64(((n * size_d + z) * size_h + y) * size_w) * cu
                                if whole:
                                    dst = line + uint64(x0) * cu
                                    for q in range(run):
                                        gf[dst + q] += cf[src + q]
                                else:
                                    for l in range(kw):
                                        x_ = x0 + l * d[2]
                                        if 0 <= x_ < size_w:
                                            dst = line + uint64(x_) * cu
                                            part = src + uint64(l) * cu
                                            for c in range(cu):
                                                gf[dst + c] += cf[part + c]
                            src += run


@njit(parallel=True, cache=True)
def _col2im_parallel(cols, out, k, s, d, p, g):  # pragma: no cover - compiled
    n = g.shape[0]
    for t in prange(n):
        _col2im_images(cols, out, k, s, d, p, g, t, t + 1)


def col2im(cols: np.ndarray, shape5, out, k, s, d, p, into=None) -> np.ndarray:
    """The (N, D, H, W, C) array whose im2col-adjoint is cols (N·od·oh·ow, kd·kh·kw·C),
    written into `into` (contiguous, of shape5) when given: one block of images between
    two BLAS calls. A block is scattered on one thread unless its cols hold _PARALLEL
    numbers or more (LeNet-5's C3: 645,000 per block, 2.8x faster on 2 threads)."""
    if into is None:
        g = np.zeros(shape5, cols.dtype)
    else:
        g = into
        g[...] = 0
    args = (np.ascontiguousarray(cols), tuple(out), tuple(k), tuple(s), tuple(d), tuple(p), g)
    if cols.size < (_SERIAL if into is None else _PARALLEL) or shape5[0] == 1:
        _col2im_images(*args, 0, shape5[0])
    else:
        _col2im_parallel(*args)
    return g
