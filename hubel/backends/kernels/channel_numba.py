"""Per-channel kernels in Numba on channels-last arrays viewed as (M, C), C contiguous.

NumPy broadcasts x * scale[C] or y += b[C] with an inner loop of C numbers per row, which
for ResNet's 16 or LeNet's 6 channels spends its time starting short loops; these loops
run each row in one compiled pass, the rows split over the threads (measured 4-6x faster
on (65536, 16), (100352, 6) and (65536, 64)).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_TASKS = 8


@njit(parallel=True, cache=True)
def add_rows(y, b):  # pragma: no cover - compiled
    """y[i, c] += b[c] in place."""
    m, c_ = y.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                y[i, c] += b[c]


@njit(parallel=True, cache=True)
def affine(x, scale, shift, y):  # pragma: no cover - compiled
    """y[i, c] = x[i, c]·scale[c] + shift[c]."""
    m, c_ = x.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                y[i, c] = x[i, c] * scale[c] + shift[c]


@njit(parallel=True, cache=True)
def add_rows_relu(y, b):  # pragma: no cover - compiled
    """y[i, c] = max(y[i, c] + b[c], 0) in place (NaN stays NaN, as np.maximum)."""
    m, c_ = y.shape
    for t in prange(_TASKS):
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                v = y[i, c] + b[c]
                y[i, c] = 0 if v < 0 else v


@njit(parallel=True, cache=True)
def relu_backward_rows(gy, y, g, sums):  # pragma: no cover - compiled
    """g[i, c] = gy[i, c]·[y[i, c] > 0]; sums[t, c] = Σ g over task t's rows (float64).

    The mask multiplies (NaN·0 = NaN, as NumPy's gy·(y > 0)); a branch that picks gy or
    0 ran 5x slower (measured on (100352, 6))."""
    m, c_ = y.shape
    for t in prange(_TASKS):
        s = np.zeros(c_, np.float64)
        for i in range(t * m // _TASKS, (t + 1) * m // _TASKS):
            for c in range(c_):
                v = gy[i, c] * np.float32(1.0 if y[i, c] > 0 else 0.0)  # (exact)
                g[i, c] = v
                s[c] += v
        for c in range(c_):
            sums[t, c] = s[c]


@njit(parallel=True, cache=True)
def add_relu_flat(a, b, y, mask):  # pragma: no cover - compiled
    """y[i] = max(a[i] + b[i], 0) and mask[i] = [y[i] > 0] (uint8) over flat arrays (NaN
    stays NaN, as np.maximum).

    Each task loops over its own slices from index 0: with `range(lo, hi)` on the whole
    arrays Numba cannot rule out negative indices, keeps a wraparound check per element
    and the loop does not vectorize (1.0 ms against 0.12 ms on 1M numbers)."""
    m = y.shape[0]
    for t in prange(_TASKS):
        lo, hi = t * m // _TASKS, (t + 1) * m // _TASKS
        a_t, b_t, y_t, mask_t = a[lo:hi], b[lo:hi], y[lo:hi], mask[lo:hi]
        for i in range(hi - lo):
            v = a_t[i] + b_t[i]
            y_t[i] = 0 if v < 0 else v
            mask_t[i] = np.uint8(v > 0)
