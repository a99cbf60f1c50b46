"""Weight initializers (SPEC P2). `get(name | object)` gives a callable (shape, dtype) -> array.

(Foundation stub set: zeros, ones, glorot_uniform; the building-blocks issue completes it.)
"""

from __future__ import annotations

import numpy as np

from hubel.random import rng


def zeros(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def ones(shape, dtype=np.float32):
    return np.ones(shape, dtype)


def _fans(shape) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape, dtype=np.float32):
    fan_in, fan_out = _fans(shape)
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng().uniform(-r, r, shape).astype(dtype)


def get(identifier):
    if callable(identifier):
        return identifier
    table = {"zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform}
    if identifier not in table:
        raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(table)}")
    return table[identifier]
