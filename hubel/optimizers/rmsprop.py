"""RMSprop (Hinton's lecture 6e)."""

from __future__ import annotations

import numpy as np

from hubel.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """v ← ρv + (1−ρ)g²;  θ ← θ − η·g / (√v + ε)  (optionally with momentum).

    ε is added after the square root, as in PyTorch (Keras 3 does the same)."""

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon

    def update(self, w, g, state, lr):
        if "v" not in state:
            state["v"] = np.zeros_like(w)
        v = state["v"]
        v *= self.rho
        v += (1 - self.rho) * (g * g)
        step = g / (np.sqrt(v) + self.epsilon)
        if self.momentum:
            buf = state.setdefault("momentum", np.zeros_like(w))
            buf *= self.momentum
            buf += step
            step = buf
        w -= lr * step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon}
