"""Depthwise 2-D convolution (depth multiplier 1) in Numba: the fast path of
hubel/ops/depthwise.py, whose shift-and-multiply NumPy code is the reference.

x is (N, H, W, C), the kernel (KH, KW, C), channels last, so every output pixel's C sums
run as one vectorized loop over contiguous channels. The padding (P₀, P₁ before) is done
in the loops: taps that fall outside the input are skipped, so no padded copy of x and no
cropped copy of gx is made.

    y[n, i, j, c]       = b[c] + Σ_{a, e} x[n, i·S₀ + a·D₀ − P₀, j·S₁ + e·D₁ − P₁, c] · W[a, e, c]
    gx[n, ·, ·, c]     += gy[n, i, j, c] · W[a, e, c]        (at the same positions)
    gW[a, e, c]         = Σ_{n, i, j} gy[n, i, j, c] · x[n, (same position), c]

Forward and input gradient are parallel over images (no two threads touch one image); the
kernel gradient sums per task in its own float64 rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True)
def _forward_image(x, w, b, s, d, p, y, n):  # pragma: no cover - compiled
    kh, kw, c_ = w.shape
    h, w_ = x.shape[1], x.shape[2]
    acc = np.empty(c_, y.dtype)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            for c in range(c_):
                acc[c] = b[c]
            for a in range(kh):
                r = i * s[0] + a * d[0] - p[0]
                if r < 0 or r >= h:
                    continue
                row = x[n, r]
                for e in range(kw):
                    q = j * s[1] + e * d[1] - p[1]
                    if q < 0 or q >= w_:
                        continue
                    px = row[q]
                    wr = w[a, e]
                    for c in range(c_):
                        acc[c] += px[c] * wr[c]
            out = y[n, i, j]
            for c in range(c_):
                out[c] = acc[c]


@njit(parallel=True, cache=True)
def _forward(x, w, b, s, d, p, y):  # pragma: no cover - compiled
    for n in prange(x.shape[0]):
        _forward_image(x, w, b, s, d, p, y, n)


@njit(parallel=True, cache=True)
def _input_gradient(gy, w, s, d, p, gx):  # pragma: no cover - compiled
    """gx (zeroed) += every output's gradient times its kernel taps."""
    kh, kw, c_ = w.shape
    h, w_ = gx.shape[1], gx.shape[2]
    for n in prange(gy.shape[0]):
        for i in range(gy.shape[1]):
            for j in range(gy.shape[2]):
                g = gy[n, i, j]
                for a in range(kh):
                    r = i * s[0] + a * d[0] - p[0]
                    if r < 0 or r >= h:
                        continue
                    row = gx[n, r]
                    for e in range(kw):
                        q = j * s[1] + e * d[1] - p[1]
                        if q < 0 or q >= w_:
                            continue
                        px = row[q]
                        wr = w[a, e]
                        for c in range(c_):
                            px[c] += g[c] * wr[c]


@njit(parallel=True, cache=True)
def _kernel_gradient(x, gy, s, d, p, part):  # pragma: no cover - compiled
    """part[t] = task t's share of gW (float64), images split evenly over the tasks."""
    tasks, kh, kw, c_ = part.shape
    n_ = gy.shape[0]
    h, w_ = x.shape[1], x.shape[2]
    for t in prange(tasks):
        acc = np.zeros((kh, kw, c_))
        for n in range(t * n_ // tasks, (t + 1) * n_ // tasks):
            for i in range(gy.shape[1]):
                for j in range(gy.shape[2]):
                    g = gy[n, i, j]
                    for a in range(kh):
                        r = i * s[0] + a * d[0] - p[0]
                        if r < 0 or r >= h:
                            continue
                        row = x[n, r]
                        for e in range(kw):
                            q = j * s[1] + e * d[1] - p[1]
                            if q < 0 or q >= w_:
                                continue
                            px = row[q]
                            ar = acc[a, e]
                            for c in range(c_):
                                ar[c] += g[c] * px[c]
        part[t] = acc


def forward(x: np.ndarray, w: np.ndarray, b, strides, dilation, pads, out) -> np.ndarray:
    """y (N, *out, C) of x (N, H, W, C) and kernel w (KH, KW, C), plus b; pads: (before,
    after) per axis (only `before` is needed: `out` fixes the rest)."""
    dtype = np.result_type(x, w)
    c = x.shape[-1]
    y = np.empty((x.shape[0], *out, c), dtype)
    bias = np.zeros(c, dtype) if b is None else np.asarray(b, dtype)
    _forward(np.ascontiguousarray(x, dtype), np.ascontiguousarray(w, dtype), bias,
             tuple(strides), tuple(dilation), tuple(p for p, _ in pads), y)
    return y


def input_gradient(gy: np.ndarray, w: np.ndarray, strides, dilation, pads,
                   x_shape) -> np.ndarray:
    """gx (x_shape) of the unpadded input."""
    dtype = np.result_type(gy, w)
    gx = np.zeros(x_shape, dtype)
    _input_gradient(np.ascontiguousarray(gy, dtype), np.ascontiguousarray(w, dtype),
                    tuple(strides), tuple(dilation), tuple(p for p, _ in pads), gx)
    return gx


def kernel_gradient(x: np.ndarray, gy: np.ndarray, kernel, strides, dilation,
                    pads) -> np.ndarray:
    """gW (KH, KW, C) in gy's dtype."""
    tasks = max(1, min(gy.shape[0], numba.get_num_threads()))
    part = np.empty((tasks, *kernel, gy.shape[-1]))
    _kernel_gradient(np.ascontiguousarray(x), np.ascontiguousarray(gy), tuple(strides),
                     tuple(dilation), tuple(p for p, _ in pads), part)
    return part.sum(axis=0).astype(gy.dtype)
