"""Direct convolution of a single-channel input (MNIST's first layer) in Numba.

Stride 1, no dilation, 2-D; zero padding is applied inside the kernels, while the input is
expanded, so no padded copy of the batch is made. For one output row (n, oh) the
channels-last output is Wo·F contiguous numbers, j = ow·F + f, and

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


@functools.cache
def _expander(f: int):
    """xe[top + h, (left + w)·f + q] = image[h, w] for q < f, compiled for f (a constant of
    the closure: the q loop unrolls; 2x faster than a loop over a variable f). The border
    of xe, the zero padding, is not written: a task zeroes its xe once for all its images
    (the padded copy of the input this replaced took 0.25 ms of LeNet-5's step)."""

    @njit(cache=True)
    def expand(image, top, left, xe):  # pragma: no cover - compiled
        h_in, w_in = image.shape
        for h in range(h_in):
            row = xe[top + h]
            for w in range(w_in):
                v = image[h, w]
                at = (left + w) * f
                for q in range(f):
                    row[at + q] = v

    return expand


@functools.cache
def _forward_kernel(kh: int, kw: int, f: int, parallel: bool):
    """The forward kernel compiled for a KH x KW kernel of F filters (constants of the
    closure, so its loops unroll), over a thread per block of images if parallel (the
    closure's `parallel` also keys Numba's cache apart)."""
    expand = _expander(f)

    @njit(parallel=parallel, cache=True, fastmath=_MATH)
    def forward(x, top, left, wt, bt, relu, zero, y):  # pragma: no cover - compiled
        """y (N, Ho, L) of x (N, H, W) padded by top/left (and up to Ho + KH − 1, Wo + KW
        − 1 after), wt (KH, KW, L), bt (L,); relu: max(·, 0)."""
        n = x.shape[0]
        ho, row_len = y.shape[1], y.shape[2]
        hp, wp = ho + kh - 1, row_len // f + kw - 1
        width, fu, length = uint64(wp * f), uint64(f), uint64(row_len)
        wf = wt.reshape(-1)
        tasks = min(n, 64) if parallel else 1
        for task in prange(tasks):
            xe = np.zeros((hp, wp * f), x.dtype)
            xf = xe.reshape(-1)
            for image in range(task * n // tasks, (task + 1) * n // tasks):
                expand(x[image], top, left, xe)
                yn = y[image].reshape(-1)
                for oh in range(0, ho - 1, 2):  # two rows at a time
                    base, out = uint64(oh) * width, uint64(oh) * length
                    for q in range(length):
                        s0 = bt[q]
                        s1 = s0
                        for i in range(kh):
                            for j in range(kw):
                                w = wf[uint64(i * kw + j) * length + q]
                                o = base + uint64(j) * fu + q
                                s0 += xf[o + uint64(i) * width] * w
                                s1 += xf[o + uint64(i + 1) * width] * w
                        yn[out + q] = max(s0, zero) if relu else s0
                        yn[out + length + q] = max(s1, zero) if relu else s1
                if ho % 2:  # the last row of an odd count
                    base, out = uint64(ho - 1) * width, uint64(ho - 1) * length
                    for q in range(length):
                        s0 = bt[q]
                        for i in range(kh):
                            for j in range(kw):
                                s0 += xf[base + uint64(i) * width + uint64(j) * fu + q] * \
                                    wf[uint64(i * kw + j) * length + q]
                        yn[out + q] = max(s0, zero) if relu else s0

    return forward


@functools.cache
def _gradient_kernel(kh: int, kw: int, f: int, parallel: bool):
    """The kernel gradient compiled like _forward_kernel; task t sums its block of images
    into parts[t]."""
    expand = _expander(f)

    @njit(cache=True, fastmath=_MATH)
    def images(x, top, left, gy, g, start, stop):  # pragma: no cover - compiled
        """g (KH, KW, L) += the taps' products of images start…stop−1; gy (N, Ho, L)."""
        ho, row_len = gy.shape[1], gy.shape[2]
        hp, wp = ho + kh - 1, row_len // f + kw - 1
        xe = np.zeros((hp, wp * f), x.dtype)
        for n in range(start, stop):
            expand(x[n], top, left, xe)
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

    if not parallel:
        return images

    @njit(parallel=True, cache=True)
    def blocks(x, top, left, gy, parts):  # pragma: no cover - compiled
        n, tasks = x.shape[0], parts.shape[0]
        for t in prange(tasks):
            images(x, top, left, gy, parts[t], t * n // tasks, (t + 1) * n // tasks)

    return blocks


def _geometry(x_shape, kernel, pads):
    """(Ho, Wo, top, left) of an (N, H, W) input padded by ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pads
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"direct convolution: pads must be >= 0, got {pads}")
    ho = x_shape[1] + top + bottom - kernel[0] + 1
    wo = x_shape[2] + left + right - kernel[1] + 1
    return ho, wo, int(top), int(left)


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, relu: bool = False,
            pads=((0, 0), (0, 0))) -> np.ndarray:
    """y (N, Ho, Wo, F) of a single-channel input x (N, H, W) with zeros `pads` =
    ((top, bottom), (left, right)) around it and a kernel w (KH, KW, F), plus the bias
    b (F,) if given, through max(·, 0) if relu."""
    n = x.shape[0]
    kh, kw, f = w.shape
    ho, wo, top, left = _geometry(x.shape, (kh, kw), pads)
    dtype = np.result_type(x, w)
    wt = np.ascontiguousarray(np.tile(w.astype(dtype, copy=False), (1, 1, wo)))
    bt = np.zeros(wo * f, dtype) if b is None else np.tile(b.astype(dtype, copy=False), wo)
    y = np.empty((n, ho, wo * f), dtype)
    kernel = _forward_kernel(int(kh), int(kw), int(f), y.size >= _SERIAL)
    kernel(np.ascontiguousarray(x, dtype), top, left, wt, bt, bool(relu), dtype.type(0), y)
    return y.reshape(n, ho, wo, f)


def kernel_gradient(x: np.ndarray, gy: np.ndarray, kernel: tuple,
                    pads=((0, 0), (0, 0))) -> np.ndarray:
    """gW (KH, KW, F) = Σ_{n, oh, ow} xp[n, oh + kh, ow + kw] · gy[n, oh, ow, f], xp: x
    (N, H, W) with zeros `pads` around it, as in forward."""
    n, ho, wo, f = gy.shape
    kh, kw = kernel
    ho_x, wo_x, top, left = _geometry(x.shape, kernel, pads)
    if (ho_x, wo_x) != (ho, wo):
        raise ValueError(f"direct convolution: gy of shape {gy.shape} does not fit an "
                         f"input of shape {x.shape} with pads {pads}")
    dtype = np.result_type(x, gy)
    tasks = 1 if gy.size < _SERIAL else max(1, min(n, numba.get_num_threads()))
    parts = np.zeros((tasks, kh, kw, wo * f), dtype)
    args = (np.ascontiguousarray(x, dtype), top, left,
            np.ascontiguousarray(gy, dtype).reshape(n, ho, wo * f))
    if tasks == 1:
        _gradient_kernel(int(kh), int(kw), int(f), False)(*args, parts[0], 0, n)
    else:
        _gradient_kernel(int(kh), int(kw), int(f), True)(*args, parts)
    return parts.sum(axis=0).reshape(kh, kw, wo, f).sum(axis=2)
