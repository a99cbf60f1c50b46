"""Batch normalization kernels in Numba: the fast path of hubel/ops/norm.py (training mode).

x is viewed as (M, C), channels last and contiguous. Each pass splits the M rows into
chunks, one per task; per-channel sums go to a (tasks, C) array of partial sums (float64),
added up afterwards, so no two threads write the same number.

    stats:     one pass of shifted sums, d = x − k with k = the first row:
               mean = k + Σd/M,  var = (Σd² − (Σd)²/M)/M      (float64 sums)
    normalize: x̂ = (x − mean)·inv, y = γ·x̂ + β            (inv = 1/√(var + ε))
    backward:  Σgy, Σgy·x̂, then gx = γ·inv/M · (M·gy − Σgy − x̂·Σgy·x̂)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_TASKS = 8


@njit(parallel=True, cache=True)
def _shifted_sums(x, k, part):  # pragma: no cover - compiled
    """part[t] = (Σ(x − k), Σ(x − k)²) per channel over task t's rows, in float64.

    Shifting by a sample of the data (k: the first row) keeps Σd² − (Σd)²/M free of the
    cancellation that Σx² − (Σx)²/M suffers when |mean| ≫ std. Each task sums into its own
    local rows (accumulating into the shared array ran several times slower)."""
    m, c_ = x.shape
    for t in prange(_TASKS):
        s = np.zeros(c_)
        q = np.zeros(c_)
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                d = np.float64(x[i, c]) - k[c]
                s[c] += d
                q[c] += d * d
        for c in range(c_):
            part[t, 0, c] = s[c]
            part[t, 1, c] = q[c]


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
def _grad_sums(gy, xhat, part):  # pragma: no cover - compiled
    """part[t] = (Σgy, Σgy·x̂) per channel over task t's rows, in float64."""
    m, c_ = gy.shape
    for t in prange(_TASKS):
        s = np.zeros(c_)
        q = np.zeros(c_)
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                g = np.float64(gy[i, c])
                s[c] += g
                q[c] += g * xhat[i, c]
        for c in range(c_):
            part[t, 0, c] = s[c]
            part[t, 1, c] = q[c]


@njit(parallel=True, cache=True)
def _grad_input(gy, xhat, scale, sum_gy, sum_gy_xhat, gx):  # pragma: no cover - compiled
    m, c_ = gy.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                gx[i, c] = scale[c] * (m * gy[i, c] - sum_gy[c] - xhat[i, c] * sum_gy_xhat[c])


def forward(x2, gamma, beta, epsilon: float):
    """(y, xhat, mean, var, inv) for x2 (M, C); gamma/beta may be None."""
    m, c = x2.shape
    k = x2[0].astype(np.float64) if m else np.zeros(c)
    part = np.empty((_TASKS, 2, c))
    _shifted_sums(x2, k, part)
    s, q = part.sum(axis=0)
    mean = k + s / m
    var = np.maximum(q - s * s / m, 0.0) / m
    inv = 1.0 / np.sqrt(var + epsilon)
    xhat, y = np.empty_like(x2), np.empty_like(x2)
    g = np.ones(c, x2.dtype) if gamma is None else gamma
    b = np.zeros(c, x2.dtype) if beta is None else beta
    _normalize(x2, mean.astype(x2.dtype), inv.astype(x2.dtype), g, b, xhat, y)
    return y, xhat, mean.astype(x2.dtype), var.astype(x2.dtype), inv.astype(x2.dtype)


def backward(gy2, xhat2, scale, want_gx: bool):
    """(gx or None, Σgy·x̂, Σgy); scale = γ·inv/M per channel."""
    part = np.empty((_TASKS, 2, gy2.shape[1]))
    _grad_sums(gy2, xhat2, part)
    sums = part.sum(axis=0)
    sum_gy, sum_gy_xhat = sums[0].astype(gy2.dtype), sums[1].astype(gy2.dtype)
    gx = None
    if want_gx:
        gx = np.empty_like(gy2)
        _grad_input(gy2, xhat2, scale.astype(gy2.dtype), sum_gy, sum_gy_xhat, gx)
    return gx, sum_gy_xhat, sum_gy
