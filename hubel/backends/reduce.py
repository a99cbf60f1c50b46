"""Sums over the leading axes of an array, the reduction every bias gradient needs.

    leading_sum(g, k)[j...] = Σ_{i_1..i_k} g[i_1, ..., i_k, j...]

NumPy's g.sum(axis=0) on a tall, narrow array (ResNet's (65536, 16) conv gradient) walks
the rows one short vector at a time; the same sum as a matrix-vector product, ones(M) @ g,
runs in BLAS 5-15x faster (measured: 2.0 ms -> 0.13 ms for LeNet-5 C1's (100352, 6)).
"""

from __future__ import annotations

import math

import numpy as np


def leading_sum(g, k: int = 1):
    """Σ of g over its first k axes: shape g.shape[k:]."""
    if k == 0:
        return g
    if not (isinstance(g, np.ndarray) and g.dtype.kind == "f" and g.flags.c_contiguous):
        return g.sum(axis=tuple(range(k)))
    rows, cols = math.prod(g.shape[:k]), math.prod(g.shape[k:])
    return (np.ones(rows, g.dtype) @ g.reshape(rows, cols)).reshape(g.shape[k:])
