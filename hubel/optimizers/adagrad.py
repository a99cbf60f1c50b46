"""Adagrad (Duchi et al. 2011)."""

from __future__ import annotations

import numpy as np

from hubel.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """s ← s + g²;  θ ← θ − η·g / (√s + ε)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def update(self, w, g, state, lr):
        if "accumulator" not in state:
            state["accumulator"] = np.full_like(w, self.initial_accumulator_value)
        s = state["accumulator"]
        s += g * g
        w -= lr * g / (np.sqrt(s) + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
