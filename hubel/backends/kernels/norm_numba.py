"""Batch normalization kernels in Numba: the fast path of hubel/ops/norm.py (training mode).

x is viewed as (M, C), channels last and contiguous. Each pass splits the M rows into
chunks, one per task; per-channel sums go to a (tasks, C) array of partial sums (float64),
added up afterwards, so no two threads write the same number.

    stats:     mean = Σx/M, var = Σ(x − mean)²/M          (two passes, as in the reference)
    normalize: x̂ = (x − mean)·inv, y = γ·x̂ + β            (inv = 1/√(var + ε))
    backward:  Σgy, Σgy·x̂, then gx = γ·inv/M · (M·gy − Σgy − x̂·Σgy·x̂)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_TASKS = 8


@njit(parallel=True, cache=True)
def _sums(x, center, squares):  # pragma: no cover - compiled
    """Per-channel Σ(x − center) (squares=False) or Σ(x − center)² (squares=True)."""
    m, c_ = x.shape
    part = np.zeros((_TASKS, c_))
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            row = x[i]
            for c in range(c_):
                v = row[c] - center[c]
                part[t, c] += v * v if squares else v
    return part.sum(axis=0)


@njit(parallel=True, cache=True)
def _normalize(x, mean, inv, gamma, beta, xhat, y):  # pragma: no cover - compiled
    m, c_ = x.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                h = (x[i, c] - mean[c]) * inv[c]
                xhat[i, c] = h
                y[i, c] = h * gamma[c] + beta[c]


@njit(parallel=True, cache=True)
def _grad_sums(gy, xhat):  # pragma: no cover - compiled
    m, c_ = gy.shape
    part = np.zeros((2, _TASKS, c_))
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                g = gy[i, c]
                part[0, t, c] += g
                part[1, t, c] += g * xhat[i, c]
    return part.sum(axis=1)


@njit(parallel=True, cache=True)
def _grad_input(gy, xhat, scale, sum_gy, sum_gy_xhat, gx):  # pragma: no cover - compiled
    m, c_ = gy.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                gx[i, c] = scale[c] * (m * gy[i, c] - sum_gy[c] - xhat[i, c] * sum_gy_xhat[c])


def forward(x2, gamma, beta, epsilon: float):
    """(y, xhat, mean, var, inv) for x2 (M, C); gamma/beta may be None."""
    c = x2.shape[1]
    zeros = np.zeros(c, np.float64)
    mean = _sums(x2, zeros, False) / x2.shape[0]
    var = _sums(x2, mean.astype(x2.dtype), True) / x2.shape[0]
    inv = 1.0 / np.sqrt(var + epsilon)
    xhat, y = np.empty_like(x2), np.empty_like(x2)
    g = np.ones(c, x2.dtype) if gamma is None else gamma
    b = np.zeros(c, x2.dtype) if beta is None else beta
    _normalize(x2, mean.astype(x2.dtype), inv.astype(x2.dtype), g, b, xhat, y)
    return y, xhat, mean.astype(x2.dtype), var.astype(x2.dtype), inv.astype(x2.dtype)


def backward(gy2, xhat2, scale, want_gx: bool):
    """(gx or None, Σgy·x̂, Σgy); scale = γ·inv/M per channel."""
    sums = _grad_sums(gy2, xhat2)
    sum_gy, sum_gy_xhat = sums[0].astype(gy2.dtype), sums[1].astype(gy2.dtype)
    gx = None
    if want_gx:
        gx = np.empty_like(gy2)
        _grad_input(gy2, xhat2, scale.astype(gy2.dtype), sum_gy, sum_gy_xhat, gx)
    return gx, sum_gy_xhat, sum_gy
