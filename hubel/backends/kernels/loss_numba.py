"""The softmax cross-entropy of integer labels in Numba: one pass per row.

    ℓ_i = log Σ_k exp(z_ik − m_i) − (z_i,y_i − m_i),  m_i = max_k z_ik;  p_i = softmax(z_i)

NumPy takes about ten calls (max, subtract, exp, sum, log, a fancy index, divide, and
the labels' range check), each a few microseconds on mlp's and LeNet-5's (128, 10)
logits; this loop takes one. The NumPy lines in hubel/ops/loss.py are the reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def softmax_xent_rows(z, y, loss, p, keep_p):  # pragma: no cover - compiled
    """loss (N,) and, if keep_p, p (N, K) = softmax(z) − onehot(y) (the gradient of the
    loss with respect to z) of z (N, K) and labels y (N,). Returns -1, or the first row
    whose label is outside [0, K) (nothing after it is computed). A row with a NaN gets
    a NaN loss (and a NaN gradient), as in NumPy."""
    n, k = z.shape
    for i in range(n):
        label = y[i]
        if label < 0 or label >= k:
            return i
        m = z[i, 0]
        nan = m != m
        for j in range(1, k):
            v = z[i, j]
            nan |= v != v
            m = v if v > m else m
        if nan:
            loss[i] = np.nan
            if keep_p:
                for j in range(k):
                    p[i, j] = np.nan
            continue
        s = z.dtype.type(0)
        for j in range(k):
            e = np.exp(z[i, j] - m)
            s += e
            if keep_p:
                p[i, j] = e
        loss[i] = np.log(s) - (z[i, label] - m)
        if keep_p:
            for j in range(k):
                p[i, j] /= s
            p[i, label] -= 1
    return -1
