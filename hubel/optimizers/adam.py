"""Adam (Kingma & Ba 2015)."""

from __future__ import annotations

import numpy as np

from hubel.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂ / (√v̂ + ε), with bias
    corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update(self, w, g, state, lr):
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
        m, v = state["m"], state["v"]
        t = self.iterations + 1
        m *= self.beta_1
        m += (1 - self.beta_1) * g
        v *= self.beta_2
        v += (1 - self.beta_2) * (g * g)
        step = lr * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        w -= step * m / (np.sqrt(v) + self.epsilon * np.sqrt(1 - self.beta_2**t))

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
