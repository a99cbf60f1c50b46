"""Per-channel kernels in Numba on channels-last arrays viewed as (M, C), C contiguous.

NumPy broadcasts x * scale[C] or y += b[C] with an inner loop of C numbers per row, which
for ResNet's 16 or LeNet's 6 channels spends its time starting short loops; these loops
run each row in one compiled pass, the rows split over the threads (measured 4-6x faster
on (65536, 16), (100352, 6) and (65536, 64)).
"""

from __future__ import annotations

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
