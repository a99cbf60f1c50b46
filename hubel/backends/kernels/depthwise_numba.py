"""Depthwise 2-D convolution (depth multiplier 1) in Numba: the fast path of
hubel/ops/depthwise.py, whose shift-and-multiply NumPy code is the reference.

x is padded (N, Hp, Wp, C), the kernel (KH, KW, C), channels last, so every output pixel's
C sums run as one vectorized loop over contiguous channels:

    y[n, i, j, c]       = b[c] + Σ_{a, e} xp[n, i·S₀ + a·D₀, j·S₁ + e·D₁, c] · W[a, e, c]
    gxp[n, ·, ·, c]    += gy[n, i, j, c] · W[a, e, c]        (at the same positions)
    gW[a, e, c]         = Σ_{n, i, j} gy[n, i, j, c] · xp[n, i·S₀ + a·D₀, j·S₁ + e·D₁, c]

Forward and input gradient are parallel over images (no two threads touch one image); the
kernel gradient sums per task in its own float64 rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True)
def _forward_image(xp, w, b, s, d, y, n):  # pragma: no cover - compiled
    kh, kw, c_ = w.shape
    acc = np.empty(c_, y.dtype)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            for c in range(c_):
                acc[c] = b[c]
            for a in range(kh):
                row = xp[n, i * s[0] + a * d[0]]
                for e in range(kw):
                    px = row[j * s[1] + e * d[1]]
                    wr = w[a, e]
                    for c in range(c_):
                        acc[c] += px[c] * wr[c]
            out = y[n, i, j]
            for c in range(c_):
                out[c] = acc[c]


@njit(parallel=True, cache=True)
def _forward(xp, w, b, s, d, y):  # pragma: no cover - compiled
    for n in prange(xp.shape[0]):
        _forward_image(xp, w, b, s, d, y, n)


@njit(parallel=True, cache=True)
def _input_gradient(gy, w, s, d, gxp):  # pragma: no cover - compiled
    """gxp (zeroed, padded shape) += every output's gradient times its kernel taps."""
    kh, kw, c_ = w.shape
    for n in prange(gy.shape[0]):
        for i in range(gy.shape[1]):
            for j in range(gy.shape[2]):
                g = gy[n, i, j]
                for a in range(kh):
                    row = gxp[n, i * s[0] + a * d[0]]
                    for e in range(kw):
                        px = row[j * s[1] + e * d[1]]
                        wr = w[a, e]
                        for c in range(c_):
                            px[c] += g[c] * wr[c]


@njit(parallel=True, cache=True)
def _kernel_gradient(xp, gy, s, d, part):  # pragma: no cover - compiled
    """part[t] = task t's share of gW (float64), images split evenly over the tasks."""
    tasks, kh, kw, c_ = part.shape
    n_ = gy.shape[0]
    for t in prange(tasks):
        acc = np.zeros((kh, kw, c_))
        for n in range(t * n_ // tasks, (t + 1) * n_ // tasks):
            for i in range(gy.shape[1]):
                for j in range(gy.shape[2]):
                    g = gy[n, i, j]
                    for a in range(kh):
                        row = xp[n, i * s[0] + a * d[0]]
                        for e in range(kw):
                            px = row[j * s[1] + e * d[1]]
                            ar = acc[a, e]
                            for c in range(c_):
                                ar[c] += g[c] * px[c]
        part[t] = acc


def forward(xp: np.ndarray, w: np.ndarray, b, strides, dilation, out) -> np.ndarray:
    """y (N, *out, C) of padded xp (N, Hp, Wp, C) and kernel w (KH, KW, C), plus b."""
    dtype = np.result_type(xp, w)
    c = xp.shape[-1]
    y = np.empty((xp.shape[0], *out, c), dtype)
    bias = np.zeros(c, dtype) if b is None else np.asarray(b, dtype)
    _forward(np.ascontiguousarray(xp, dtype), np.ascontiguousarray(w, dtype), bias,
             tuple(strides), tuple(dilation), y)
    return y


def input_gradient(gy: np.ndarray, w: np.ndarray, strides, dilation, padded) -> np.ndarray:
    """The gradient (N, *padded, C) of the padded input."""
    dtype = np.result_type(gy, w)
    gxp = np.zeros((gy.shape[0], *padded, gy.shape[-1]), dtype)
    _input_gradient(np.ascontiguousarray(gy, dtype), np.ascontiguousarray(w, dtype),
                    tuple(strides), tuple(dilation), gxp)
    return gxp


def kernel_gradient(xp: np.ndarray, gy: np.ndarray, kernel, strides, dilation) -> np.ndarray:
    """gW (KH, KW, C) in gy's dtype."""
    tasks = max(1, min(gy.shape[0], numba.get_num_threads()))
    part = np.empty((tasks, *kernel, gy.shape[-1]))
    _kernel_gradient(np.ascontiguousarray(xp), np.ascontiguousarray(gy), tuple(strides),
                     tuple(dilation), part)
    return part.sum(axis=0).astype(gy.dtype)
