"""Stochastic gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

import numpy as np

from hubel.backends.sgd_product import bias_usable, sgd_product_update
from hubel.optimizers.optimizer import InBackward, Optimizer

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
        v = _velocity(state, w, g.dtype)
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

    def in_backward(self, w, lr: float) -> InBackward | None:
        """The update made as soon as w's gradient is (SGD's is element by element, so
        the same whenever it is made); a fully connected layer's gradient aᵀ @ b is
        applied block by block as BLAS makes it (hubel/backends/sgd_product.py)."""
        if not self._plain() or type(self).update is not SGD.update:
            return None
        return _SGDInBackward(self, w, lr)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _SGDInBackward(InBackward):
    def product(self, a, b, bias=None, gb=None) -> bool:
        sgd, w = self.optimizer, self.w.data
        momentum = bool(sgd.momentum)
        v = _velocity(self.state, w, a.dtype) if momentum else None
        with_bias = None
        if gb is not None and type(bias) is _SGDInBackward and bias.optimizer is sgd and \
                bias.lr == self.lr:
            wb = bias.w.data
            with_bias = (wb, gb, _velocity(bias.state, wb, gb.dtype) if momentum else None)
            if not bias_usable(with_bias, w.shape[-1], momentum):
                with_bias = None
        if not sgd_product_update(a, b, w, v, self.lr, sgd.momentum, sgd.nesterov,
                                  with_bias):
            super().product(a, b)
            return False
        return with_bias is not None


def _velocity(state: dict, w, g_dtype):
    """v of weight w, zeros at first (so the first step takes the same path:
    v = μ·0 + g = g)."""
    v = state.get("velocity")
    if v is None:
        v = state["velocity"] = np.zeros_like(w, dtype=np.result_type(w, g_dtype))
    return v


def _fused(w, g, v) -> bool:
    """The Numba kernel applies: same-dtype contiguous float arrays of one shape."""
    return (_fast is not None and w.dtype.kind == "f" and g.dtype == w.dtype == v.dtype
            and w.shape == g.shape == v.shape and w.flags.c_contiguous
            and g.flags.c_contiguous and v.flags.c_contiguous)
