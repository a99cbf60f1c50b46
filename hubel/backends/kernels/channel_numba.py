"""Per-channel kernels in Numba on channels-last arrays viewed as (M, C), C contiguous.

NumPy broadcasts x * scale[C] or y += b[C] with an inner loop of C numbers per row, which
for ResNet's 16 or LeNet's 6 channels spends its time starting short loops; these loops
run each row in one compiled pass, the rows split over the threads (measured 4-6x faster
on (65536, 16), (100352, 6) and (65536, 64)).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

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


@njit(cache=True)
def bias_relu_block(y, b, relu, lo, hi, left, right):  # pragma: no cover - compiled
    """y[i, j] += b[j], then max(y[i, j], 0) if relu (NaN stays NaN, as np.maximum), on
    rows lo…hi−1, columns left…right−1 of a C-contiguous y; b of size 0: no bias.
    The epilogue a matrix product's task runs on the block it has just written, while it
    is in that core's cache (hubel/backends/blas.py)."""
    n = uint64(y.shape[1])
    yf = y.reshape(-1)
    biased = b.shape[0] > 0
    for i in range(uint64(lo), uint64(hi)):
        row = i * n
        if biased and relu:
            for j in range(uint64(left), uint64(right)):
                v = yf[row + j] + b[j]
                yf[row + j] = 0 if v < 0 else v
        elif biased:
            for j in range(uint64(left), uint64(right)):
                yf[row + j] += b[j]
        elif relu:
            for j in range(uint64(left), uint64(right)):
                v = yf[row + j]
                yf[row + j] = 0 if v < 0 else v


@njit(cache=True)
def mask_sum_block(y, mask, sums, t, lo, hi, left, right):  # pragma: no cover - compiled
    """y[i, j] ·= [mask[i, j] > 0], then sums[t, j] += y[i, j] (float64), on rows lo…hi−1,
    columns left…right−1 of C-contiguous y and mask of one shape: a ReLU's backward
    (mask: its output) applied by a matrix product's task to the block of the input
    gradient it has just written, with that block's share of the bias gradient
    (hubel/backends/blas.py). The mask multiplies, as in relu_backward_rows."""
    n, width = uint64(y.shape[1]), uint64(right - left)
    yf, mf = y.reshape(-1), mask.reshape(-1)
    s = np.zeros(right - left, np.float64)  # (its own array: the loop vectorizes)
    for i in range(uint64(lo), uint64(hi)):
        row = i * n + uint64(left)
        for j in range(width):
            v = yf[row + j] * np.float32(1.0 if mf[row + j] > 0 else 0.0)  # (exact)
            yf[row + j] = v
            s[j] += v
    for j in range(right - left):
        sums[t, left + j] += s[j]


@njit(parallel=True, cache=True)
def relu_backward_rows(gy, y, g, sums, width):  # pragma: no cover - compiled
    """g[i, c] = gy[i, c]·[y[i, c] > 0]; sums[t, c] = Σ g over task t's rows (float64).

    The rows are run through in flat blocks of `width` numbers, a multiple of C (and of
    8, lcm(C, 8)), each summed into its own position of a float64 accumulator that is
    folded into the C channels at the end: the loop vectorizes for any C (LeNet-5's C1,
    C = 6: 175 -> 62 us on (100352, 6); a loop over C inside a loop over rows does not).
    The mask multiplies (NaN·0 = NaN, as NumPy's gy·(y > 0)); a branch that picks gy or
    0 ran 5x slower (measured on (100352, 6))."""
    m, c_ = y.shape
    cu, wu = uint64(c_), uint64(width)
    per = uint64(width // c_)  # rows per block
    gyf, yf, gf = gy.reshape(-1), y.reshape(-1), g.reshape(-1)
    for t in prange(_TASKS):
        s = np.zeros(width, np.float64)
        lo, hi = uint64(t * m // _TASKS), uint64((t + 1) * m // _TASKS)
        blocks = (hi - lo) // per
        o = lo * cu
        for _ in range(blocks):
            for q in range(wu):
                v = gyf[o + q] * np.float32(1.0 if yf[o + q] > 0 else 0.0)  # (exact)
                gf[o + q] = v
                s[q] += v
            o += wu
        for q in range((hi - lo - blocks * per) * cu):  # the rows after the last block
            v = gyf[o + q] * np.float32(1.0 if yf[o + q] > 0 else 0.0)
            gf[o + q] = v
            s[q] += v
        for c in range(c_):
            total = 0.0
            for j in range(width // c_):
                total += s[j * c_ + c]
            sums[t, c] = total


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


@njit(parallel=True, cache=True)
def positive_mask_flat(y, mask):  # pragma: no cover - compiled
    """mask[i] = [y[i] > 0] (uint8) over flat arrays; per-task slices from index 0, as in
    add_relu_flat."""
    m = y.shape[0]
    for t in prange(_TASKS):
        lo, hi = t * m // _TASKS, (t + 1) * m // _TASKS
        y_t, mask_t = y[lo:hi], mask[lo:hi]
        for i in range(hi - lo):
            mask_t[i] = np.uint8(y_t[i] > 0)


@njit(parallel=True, cache=True)
def add_flat(a, b, y):  # pragma: no cover - compiled
    """y[i] = a[i] + b[i] over flat arrays; per-task slices from index 0."""
    m = y.shape[0]
    for t in prange(_TASKS):
        lo, hi = t * m // _TASKS, (t + 1) * m // _TASKS
        a_t, b_t, y_t = a[lo:hi], b[lo:hi], y[lo:hi]
        for i in range(hi - lo):
            y_t[i] = a_t[i] + b_t[i]
