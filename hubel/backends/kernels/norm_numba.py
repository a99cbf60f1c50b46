"""Batch normalization kernels in Numba: the fast path of hubel/ops/norm.py (training mode).

x is viewed as (M, C), channels last and contiguous. Each pass splits the M rows into
chunks, one per task; per-channel sums go to a (tasks, C) array of partial sums (float64),
added up afterwards, so no two threads write the same number.

    stats:     one pass of shifted sums, d = x − k with k = the first row:
               mean = k + Σd/M,  var = (Σd² − (Σd)²/M)/M      (float64 sums)
    normalize: x̂ = (x − mean)·inv, y = γ·x̂ + β            (inv = 1/√(var + ε))
    backward:  Σgy, Σgy·x̂, then gx = γ·inv/M · (M·gy − Σgy − x̂·Σgy·x̂)

With relu=True the ReLU that follows the normalization runs in the same passes:
y = max(γ·x̂ + β, 0), and backward first masks gy by [γ·x̂ + β > 0], recomputed from the
stored x̂ with the same float operations as the forward pass (so y itself need not be
kept): a batch norm -> ReLU pair of ResNet's blocks in one node, no separate ReLU pass
forward or backward.
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
def _normalize(x, mean, inv, gamma, beta, relu, xhat, y):  # pragma: no cover - compiled
    """xhat = (x − mean)·inv, y = γ·x̂ + β, or max(γ·x̂ + β, 0) with relu (NaN stays NaN)."""
    m, c_ = x.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                h = (x[i, c] - mean[c]) * inv[c]
                xhat[i, c] = h
                v = h * gamma[c] + beta[c]
                y[i, c] = 0 if relu and v < 0 else v


@njit(parallel=True, cache=True)
def _grad_sums(gy, xhat, gamma, beta, relu, part):  # pragma: no cover - compiled
    """part[t] = (Σg, Σg·x̂) per channel over task t's rows, in float64; g = gy, or
    gy·[γ·x̂ + β > 0] with relu (a mask multiply: NaN·0 = NaN as in NumPy)."""
    m, c_ = gy.shape
    for t in prange(_TASKS):
        s = np.zeros(c_)
        q = np.zeros(c_)
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                g = np.float64(gy[i, c])
                if relu:
                    g *= 1.0 if xhat[i, c] * gamma[c] + beta[c] > 0 else 0.0
                s[c] += g
                q[c] += g * xhat[i, c]
        for c in range(c_):
            part[t, 0, c] = s[c]
            part[t, 1, c] = q[c]


@njit(parallel=True, cache=True)
def _grad_input(gy, xhat, gamma, beta, relu, scale, sum_gy, sum_gy_xhat,
                gx):  # pragma: no cover - compiled
    m, c_ = gy.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                g = gy[i, c]
                if relu:
                    g *= 1.0 if xhat[i, c] * gamma[c] + beta[c] > 0 else 0.0
                gx[i, c] = scale[c] * (m * g - sum_gy[c] - xhat[i, c] * sum_gy_xhat[c])


def forward(x2, gamma, beta, epsilon: float, relu: bool = False):
    """(y, xhat, mean, var, inv) for x2 (M, C); gamma/beta may be None; relu: y ≥ 0."""
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
    _normalize(x2, mean.astype(x2.dtype), inv.astype(x2.dtype), g, b, bool(relu), xhat,
               y)
    return y, xhat, mean.astype(x2.dtype), var.astype(x2.dtype), inv.astype(x2.dtype)


def backward(gy2, xhat2, scale, want_gx: bool, relu: bool = False, gamma=None, beta=None):
    """(gx or None, Σg·x̂, Σg); scale = γ·inv/M per channel; g = gy, or with relu
    gy·[γ·x̂ + β > 0] (the mask of the fused ReLU's output)."""
    c = gy2.shape[1]
    g = np.ones(c, xhat2.dtype) if gamma is None else gamma  # (as in forward: same mask)
    b = np.zeros(c, xhat2.dtype) if beta is None else beta
    part = np.empty((_TASKS, 2, c))
    _grad_sums(gy2, xhat2, g, b, bool(relu), part)
    sums = part.sum(axis=0)
    sum_gy, sum_gy_xhat = sums[0].astype(gy2.dtype), sums[1].astype(gy2.dtype)
    gx = None
    if want_gx:
        gx = np.empty_like(gy2)
        _grad_input(gy2, xhat2, g, b, bool(relu), scale.astype(gy2.dtype), sum_gy,
                    sum_gy_xhat, gx)
    return gx, sum_gy_xhat, sum_gy
