"""Weight initializers (SPEC P2), by object or by name: `get(name | object | config)`
returns a callable (shape, dtype) -> array drawing from hubel.random.rng().

Fans: a Dense kernel (in, out) has fan_in = in, fan_out = out; a conv kernel
(k..., C_in, C_out) has fan_in = ∏k·C_in and fan_out = ∏k·C_out.
    glorot (Xavier):  Var(W) = 2/(fan_in + fan_out); uniform U(−r, r), r = √(6/(in + out))
    he (Kaiming):     Var(W) = 2/fan_in
    lecun:            Var(W) = 1/fan_in
Normal variants draw from a normal truncated at two standard deviations (as Keras does),
rescaled so the variance is exact.
"""

from __future__ import annotations

import numpy as np

from hubel.random import rng


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated(shape, stddev: float, mean: float = 0.0) -> np.ndarray:
    """Normal(mean, stddev) truncated to ±2 stddev (redrawing what falls outside)."""
    out = rng().standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng().standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


class Initializer:
    """Base: `init(shape, dtype)` returns an array."""

    def __call__(self, shape, dtype=np.float32) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros (with every weight equal the units of a layer never differ: symmetry)."""

    def __call__(self, shape, dtype=np.float32):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype=np.float32):
        return np.ones(shape, dtype)


class Constant(Initializer):
    """Every element = value (Caffe's bias filler `constant 0.1`)."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=np.float32):
        return np.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """N(mean, stddev²) (Caffe's `gaussian std=0.01` filler)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=np.float32):
        return rng().normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=np.float32):
        return rng().uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


class TruncatedNormal(Initializer):
    """N(mean, stddev²) with draws beyond 2 stddev redrawn."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=np.float32):
        return _truncated(shape, self.stddev, self.mean).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Var(W) = scale / n, n = fan_in, fan_out or their mean; uniform or (truncated)
    normal. Glorot, He and LeCun are special cases."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, "
                             f"got {mode!r}")
        if distribution not in ("truncated_normal", "normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=np.float32):
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(n, 1)
        if self.distribution == "uniform":
            r = np.sqrt(3 * var)
            return rng().uniform(-r, r, shape).astype(dtype)
        if self.distribution == "normal":
            return rng().normal(0.0, np.sqrt(var), shape).astype(dtype)
        # the standard deviation of N(0, 1) truncated to ±2 is 0.8796...
        return _truncated(shape, np.sqrt(var) / 0.87962566103423978).astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


def glorot_uniform() -> VarianceScaling:
    """U(−r, r), r = √(6/(fan_in + fan_out)) (Glorot & Bengio 2010)."""
    return VarianceScaling(1.0, "fan_avg", "uniform")


def glorot_normal() -> VarianceScaling:
    return VarianceScaling(1.0, "fan_avg", "truncated_normal")


def he_uniform() -> VarianceScaling:
    return VarianceScaling(2.0, "fan_in", "uniform")


def he_normal() -> VarianceScaling:
    """Var(W) = 2/fan_in (He et al. 2015), for ReLU networks."""
    return VarianceScaling(2.0, "fan_in", "truncated_normal")


def lecun_uniform() -> VarianceScaling:
    return VarianceScaling(1.0, "fan_in", "uniform")


def lecun_normal() -> VarianceScaling:
    """Var(W) = 1/fan_in (LeCun et al. 1998)."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal")


_NAMES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
    "kaiming_uniform": he_uniform, "kaiming_normal": he_normal, "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
}
_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform,
                                    TruncatedNormal, VarianceScaling)}


def get(identifier):
    """An initializer from a name ('he_normal'), an object/callable, or a config dict
    {'class_name': ..., 'config': {...}}."""
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown initializer config {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown initializer {identifier!r}; known: {', '.join(sorted(_NAMES))}")
