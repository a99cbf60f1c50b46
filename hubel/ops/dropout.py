"""Dropout (Srivastava et al. 2014), inverted: in training each element is kept with
probability 1 − rate and scaled by 1/(1 − rate), so inference needs no change.

    y = x · m / (1 − rate),  m ~ Bernoulli(1 − rate);   gx = gy · m / (1 − rate)
"""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.random import rng


class Dropout(Function):
    def forward(self, x, rate, noise_shape):
        keep = 1.0 - rate
        shape = noise_shape or x.shape
        self.mask = (rng().random(shape, dtype=x.dtype) < keep) * x.dtype.type(1 / keep)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask, None, None


def dropout(x, rate: float = 0.5, training: bool = False, noise_shape=None):
    """Zero elements with probability `rate` in training (scaling the rest); identity in
    inference."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not training or rate == 0.0:
        return x
    return Dropout.apply(x, float(rate), noise_shape)
