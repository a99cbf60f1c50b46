"""Direct convolution of a single-channel input (MNIST's first layer) in Numba.

Stride 1, no dilation, 2-D. For one output row (n, oh) the channels-last output is Wo·F
contiguous numbers, j = ow·F + f, and

    y[n, oh, j] = b[f] + Σ_{kh, kw} xe[oh + kh, kw·F + j] · wt[kh, kw, j]

where xe repeats every pixel of the padded image F times (xe[h, w·F + f] = x[h, w]) and wt
tiles the kernel along the row (wt[kh, kw, ow·F + f] = W[kh, kw, f]). The loop over j is
the vectorized one; inside it the KH·KW taps are unrolled, because the forward kernel is
compiled for each kernel size (`_forward_kernel`), so every sum stays in a register. Two output
rows are computed together: they read the same tiled weights and 6 of their 10 input
rows (5x5) are shared, 1.1 loads per multiply-add instead of 2 (LeNet-5's C1: 1.1 ->
0.6 ms; three rows or more no longer unroll and run 4x slower). The kernel gradient is
the same loop with gy in the place of wt,

    gwt[kh, kw, j] = Σ_{n, oh} xe[n, oh + kh, kw·F + j] · gy[n, oh, j],   gW = Σ_ow gwt,

two rows of gy per pass over the KH·KW accumulator rows, summed per thread. Indices are
unsigned offsets from 0 (a signed `base + k` makes LLVM emit gathers). The reference is
im2col + GEMM in hubel/ops/conv.py.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import njit, prange, uint64

_SERIAL = 1 << 16  # fewer output numbers than this: one thread
_MATH = {"contract"}  # fused multiply-adds; no reassociation or NaN assumptions


@njit(cache=True)
def _expand(image, f, xe):  # pragma: no cover - compiled
    """xe[h, w·f + q] = image[h, w] for q < f."""
    hp, wp = image.shape
    for h in range(hp):
        for w in range(wp):
            v = image[h, w]
            for q in range(f):
                xe[h, w * f + q] = v


@functools.cache
def _forward_kernel(kh: int, kw: int, parallel: bool):
    """The forward kernel compiled for a KH x KW kernel (the tap counts are constants of
    the closure, so its loops unroll), over a thread per block of images if parallel
    (the closure's `parallel` also keys Numba's cache apart)."""

    @njit(parallel=parallel, cache=True, fastmath=_MATH)
    def forward(xp, wt, bt, relu, zero, y):  # pragma: no cover - compiled
        """y (N, Ho, L) of xp (N, Hp, Wp), wt (KH, KW, L), bt (L,); relu: max(·, 0)."""
        n, hp, wp = xp.shape
        ho, row_len = y.shape[1], y.shape[2]
        f = row_len // (wp - kw + 1)
        width, fu, length = uint64(wp * f), uint64(f), uint64(row_len)
        wf = wt.reshape(-1)
        tasks = min(n, 64) if parallel else 1
        for task in prange(tasks):
            xe = np.empty((hp, wp * f), xp.dtype)
            xf = xe.reshape(-1)
            for image in range(task * n // tasks, (task + 1) * n // tasks):
                _expand(xp[image], f, xe)
                yn = y[image].reshape(-1)
                for oh in range(0, ho - 1, 2):  # two rows at a time
                    top, out = uint64(oh) * width, uint64(oh) * length
                    for q in range(length):
                        s0 = bt[q]
                        s1 = s0
                        for i in range(kh):
                            for j in range(kw):
                                w = wf[uint64(i * kw + j) * length + q]
                                o = top + uint64(j) * fu + q
                                s0 += xf[o + uint64(i) * width] * w
                                s1 += xf[o + uint64(i + 1) * width] * w
                        yn[out + q] = max(s0, zero) if relu else s0
                        yn[out + length + q] = max(s1, zero) if relu else s1
                if ho % 2:  # the last row of an odd count
                    top, out = uint64(ho - 1) * width, uint64(ho - 1) * length
                    for q in range(length):
                        s0 = bt[q]
                        for i in range(kh):
                            for j in range(kw):
                                s0 += xf[top + uint64(i) * width + uint64(j) * fu + q] * \
                                    wf[uint64(i * kw + j) * length + q]
                        yn[out + q] = max(s0, zero) if relu else s0

    return forward


@njit(cache=True, fastmath=_MATH)
def _kernel_gradient_images(xp, gy, g, start, stop):  # pragma: no cover - compiled
    """g (KH, KW, L) += the taps' products of images start…stop−1; gy (N, Ho, L)."""
    _, hp, wp = xp.shape
    kh, kw, row_len = g.shape
    ho = gy.shape[1]
    f = row_len // (wp - kw + 1)
    xe = np.empty((hp, wp * f), xp.dtype)
    for n in range(start, stop):
        _expand(xp[n], f, xe)
        for oh in range(0, ho - 1, 2):  # two rows of gy per pass over g
            g0, g1 = gy[n, oh], gy[n, oh + 1]
            for i in range(kh):
                r0, r1 = xe[oh + i], xe[oh + i + 1]
                for j in range(kw):
                    s0, s1 = r0[j * f:j * f + row_len], r1[j * f:j * f + row_len]
                    acc = g[i, j]
                    for q in range(row_len):
                        acc[q] += s0[q] * g0[q] + s1[q] * g1[q]
        if ho % 2:
            g0 = gy[n, ho - 1]
            for i in range(kh):
                r0 = xe[ho - 1 + i]
                for j in range(kw):
                    s0 = r0[j * f:j * f + row_len]
                    acc = g[i, j]
                    for q in range(row_len):
                        acc[q] += s0[q] * g0[q]


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
    kernel = _forward_kernel(int(kh), int(kw), y.size >= _SERIAL)
    kernel(np.ascontiguousarray(xp, dtype), wt, bt, bool(relu), dtype.type(0), y)
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
