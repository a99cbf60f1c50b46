"""Activation layers: the ones with parameters (PReLU, APL, Maxout) or randomness (RReLU,
NoisyReLU, GaussianNoise), and layer forms of ReLU, LeakyReLU, ELU and Softmax."""

from __future__ import annotations

import numpy as np

from hubel.layers.layer import Layer
from hubel.ops import activation as A
from hubel.ops.elementwise import add
from hubel.random import rng


class _Elementwise(Layer):
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise):
    """max(0, x)."""

    def call(self, x):
        return A.relu(x)


class LeakyReLU(_Elementwise):
    """max(x, αx); α = 0.01 is "leaky", 0.1–0.5 "very leaky"."""

    def __init__(self, alpha: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, x):
        return A.leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ELU(_Elementwise):
    """x for x > 0, α(eˣ − 1) otherwise."""

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, x):
        return A.elu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """Softmax along `axis` (numerically stable)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, x):
        return A.softmax(x, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(_Elementwise):
    """max(0, x) + α·min(0, x) with α learned per feature (He et al. 2015).

    shared_axes: axes sharing one α (e.g. (1, 2) for one α per channel of (N, H, W, C)).
    """

    def __init__(self, alpha_initializer="zeros", shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.shared_axes = None if shared_axes is None else [int(a) for a in (
            shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes])]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            shape[a - 1 if a > 0 else a] = 1
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer)
        self.built = True

    def call(self, x):
        return A.prelu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "shared_axes": self.shared_axes}


class RReLU(_Elementwise):
    """Randomized leaky ReLU: slope α ~ U(lower, upper) per element in training, the mean
    slope in inference (Xu et al. 2015)."""

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = float(lower), float(upper)

    def call(self, x, training: bool = False):
        return A.rrelu(x, self.lower, self.upper, training)

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


class NoisyReLU(_Elementwise):
    """max(0, x + ε), ε ~ N(0, σ²) in training; ReLU in inference."""

    def __init__(self, stddev: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)

    def call(self, x, training: bool = False):
        return A.noisy_relu(x, self.stddev, training)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class GaussianNoise(_Elementwise):
    """Adds N(0, σ²) noise in training (a regularizer); identity in inference."""

    def __init__(self, stddev: float, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)

    def call(self, x, training: bool = False):
        if not training or self.stddev == 0:
            return x
        data = x.data
        return add(x, rng().normal(0.0, self.stddev, data.shape).astype(data.dtype))

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class APL(_Elementwise):
    """Adaptive piecewise linear unit: y = max(0, x) + Σₛ aₛ·max(0, −x + bₛ) with S hinges
    learned per feature (Agostinelli et al. 2015)."""

    def __init__(self, pieces: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pieces = int(pieces)

    def build(self, input_shape):
        shape = (self.pieces, *input_shape[1:])
        self.a = self.add_weight("a", shape, _small_uniform)
        self.b = self.add_weight("b", shape, _small_uniform)
        self.built = True

    def call(self, x):
        return A.apl(x, self.a, self.b)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}


class Maxout(Layer):
    """Maxout: the maximum of `num_pieces` linear pieces per unit, over the last axis
    (..., k·p) -> (..., k) (Goodfellow et al. 2013). Put it after a Dense/Conv with
    units·num_pieces outputs."""

    def __init__(self, num_pieces: int, **kwargs):
        super().__init__(**kwargs)
        self.num_pieces = int(num_pieces)

    def build(self, input_shape):
        if input_shape[-1] % self.num_pieces:
            raise ValueError(f"{self._label()}: {input_shape[-1]} features do not split into "
                             f"groups of num_pieces={self.num_pieces}")
        self.built = True

    def call(self, x):
        return A.maxout(x, self.num_pieces)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.num_pieces)

    def get_config(self):
        return {**super().get_config(), "num_pieces": self.num_pieces}


def _small_uniform(shape, dtype=np.float32):
    return rng().uniform(-0.1, 0.1, shape).astype(dtype)
