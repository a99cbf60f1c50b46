"""Direct convolution of a single-channel input (MNIST's first layer) in Numba.

Stride 1, no dilation, 2-D. For one output row (n, oh) the channels-last output is Wo·F
contiguous numbers, j = ow·F + f, and

    y[n, oh, j] = b[f] + Σ_{kh, kw} xe[oh + kh, kw·F + j] · wt[kh, kw, j]

where xe repeats every pixel of the padded image F times (xe[h, w·F + f] = x[h, w]) and wt
tiles the kernel along the row (wt[kh, kw, ow·F + f] = W[kh, kw, f]). Each kernel tap is
then one contiguous multiply-add over the whole row, which the compiler vectorizes; as
im2col + GEMM the same layer (K = 25 rows, 6 output columns) ran at ~20 GFLOP/s. The
kernel gradient is the same loop with gy in the place of wt,

    gwt[kh, kw, j] = Σ_{n, oh} xe[n, oh + kh, kw·F + j] · gy[n, oh, j],   gW = Σ_ow gwt,

summed per thread. The reference is im2col + GEMM in hubel/ops/conv.py.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

_SERIAL = 1 << 16  # fewer output numbers than this: one thread


@njit(cache=True)
def _expand(image, f, xe):  # pragma: no cover - compiled
    """xe[h, w·f + q] = image[h, w] for q < f."""
    hp, wp = image.shape
    for h in range(hp):
        for w in range(wp):
            v = image[h, w]
            for q in range(f):
                xe[h, w * f + q] = v


@njit(cache=True)
def _forward_images(xp, wt, bt, relu, y, start, stop):  # pragma: no cover - compiled
    """y[n] for images start…stop−1; xp (N, Hp, Wp), wt (KH, KW, L), bt (L,), y (N, Ho, L);
    relu: y = max(y, 0) as it is written (NaN stays NaN)."""
    _, hp, wp = xp.shape
    kh, kw, row_len = wt.shape
    f = row_len // (wp - kw + 1)
    xe = np.empty((hp, wp * f), xp.dtype)
    acc = np.empty(row_len, y.dtype)
    for n in range(start, stop):
        _expand(xp[n], f, xe)
        for oh in range(y.shape[1]):
            for q in range(row_len):
                acc[q] = bt[q]
            for i in range(kh):
                row = xe[oh + i]
                for j in range(kw):
                    seg = row[j * f:j * f + row_len]
                    w_row = wt[i, j]
                    for q in range(row_len):
                        acc[q] += seg[q] * w_row[q]
            out_row = y[n, oh]
            for q in range(row_len):
                out_row[q] = 0 if relu and acc[q] < 0 else acc[q]


@njit(parallel=True, cache=True)
def _forward_parallel(xp, wt, bt, relu, y):  # pragma: no cover - compiled
    n = xp.shape[0]
    tasks = min(n, 64)
    for t in prange(tasks):
        _forward_images(xp, wt, bt, relu, y, t * n // tasks, (t + 1) * n // tasks)


@njit(cache=True)
def _kernel_gradient_images(xp, gy, g, start, stop):  # pragma: no cover - compiled
    """g (KH, KW, L) += the taps' products of images start…stop−1; gy (N, Ho, L)."""
    _, hp, wp = xp.shape
    kh, kw, row_len = g.shape
    f = row_len // (wp - kw + 1)
    xe = np.empty((hp, wp * f), xp.dtype)
    for n in range(start, stop):
        _expand(xp[n], f, xe)
        for oh in range(gy.shape[1]):
            g_row = gy[n, oh]
            for i in range(kh):
                row = xe[oh + i]
                for j in range(kw):
                    seg = row[j * f:j * f + row_len]
                    acc = g[i, j]
                    for q in range(row_len):
                        acc[q] += seg[q] * g_row[q]


@njit(parallel=True, cache=True)
def _kernel_gradient_parallel(xp, gy, parts):  # pragma: no cover - compiled
    n, tasks = xp.shape[0], parts.shape[0]
    for t in prange(tasks):
        _kernel_gradient_images(xp, gy, parts[t], t * n // tasks, (t + 1) * n // tasks)


def forward(xp: np.ndarray, w: np.ndarray, b: np.ndarray | None,
            relu: bool = False) -> np.ndarray:
    """y (N, Ho, Wo, F) of a padded single-channel input xp (N, Hp, Wp) and a kernel
    w (KH, KW, F), plus the bias b (F,) if given, through max(·, 0) if relu."""
    n, hp, wp = xp.shape
    kh, kw, f = w.shape
    ho, wo = hp - kh + 1, wp - kw + 1
    dtype = np.result_type(xp, w)
    wt = np.ascontiguousarray(np.tile(w.astype(dtype, copy=False), (1, 1, wo)))
    bt = np.zeros(wo * f, dtype) if b is None else np.tile(b.astype(dtype, copy=False), wo)
    y = np.empty((n, ho, wo * f), dtype)
    args = (np.ascontiguousarray(xp, dtype), wt, bt, bool(relu), y)
    if y.size < _SERIAL:
        _forward_images(*args, 0, n)
    else:
        _forward_parallel(*args)
    return y.reshape(n, ho, wo, f)


def kernel_gradient(xp: np.ndarray, gy: np.ndarray, kernel: tuple) -> np.ndarray:
    """gW (KH, KW, F) = Σ_{n, oh, ow} xp[n, oh + kh, ow + kw] · gy[n, oh, ow, f]."""
    n, ho, wo, f = gy.shape
    kh, kw = kernel
    dtype = np.result_type(xp, gy)
    tasks = 1 if gy.size < _SERIAL else max(1, min(n, numba.get_num_threads()))
    parts = np.zeros((tasks, kh, kw, wo * f), dtype)
    args = (np.ascontiguousarray(xp, dtype),
            np.ascontiguousarray(gy, dtype).reshape(n, ho, wo * f), parts)
    if tasks == 1:
        _kernel_gradient_images(args[0], args[1], parts[0], 0, n)
    else:
        _kernel_gradient_parallel(*args)
    return parts.sum(axis=0).reshape(kh, kw, wo, f).sum(axis=2)
