"""Stochastic gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

import numpy as np

from hubel.optimizers.optimizer import Optimizer

try:  # one fused pass per weight; the NumPy lines below are the reference and the fallback
    from hubel.backends.kernels import optim_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


class SGD(Optimizer):
    """v ← μ·v + g;  θ ← θ − η·v  (Nesterov: θ ← θ − η·(g + μ·v)).

    This is PyTorch's form; with a constant η it equals Keras's v ← μv − ηg, θ ← θ + v.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = float(momentum), nesterov

    def update(self, w, g, state, lr):
        if not self.momentum:
            w -= lr * g
            return
        v = state.get("velocity")
        if v is None:  # (zeros, so the first step takes the same path: v = μ·0 + g = g)
            v = state["velocity"] = np.zeros_like(g, dtype=np.result_type(w, g))
        if _fused(w, g, v):
            t = w.dtype.type
            _fast.sgd_momentum(w.reshape(-1), g.reshape(-1), v.reshape(-1), t(lr),
                               t(self.momentum), self.nesterov)
            return
        v *= self.momentum
        v += g
        if self.nesterov:
            w -= lr * (g + self.momentum * v)
        else:
            w -= lr * v

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


def _fused(w, g, v) -> bool:
    """The Numba kernel applies: same-dtype contiguous float arrays of one shape."""
    return (_fast is not None and w.dtype.kind == "f" and g.dtype == w.dtype == v.dtype
            and w.shape == g.shape == v.shape and w.flags.c_contiguous
            and g.flags.c_contiguous and v.flags.c_contiguous)
