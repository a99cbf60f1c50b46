"""Optimizer kernels in Numba: one pass over a weight instead of NumPy's three or four.

SGD with momentum in NumPy reads and writes the velocity twice and the weight once more,
through a temporary (v *= μ; v += g; w -= η·v); the loop below does the same arithmetic,
in the weight's own precision, element by element (μ and η are cast to it by the caller).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def sgd_momentum(w, g, v, lr, mu, nesterov):  # pragma: no cover - compiled
    """v ← μ·v + g;  w ← w − η·v  (Nesterov: w ← w − η·(g + μ·v)), flat arrays in place."""
    for i in range(w.size):
        vi = mu * v[i] + g[i]
        v[i] = vi
        w[i] -= lr * (g[i] + mu * vi) if nesterov else lr * vi
