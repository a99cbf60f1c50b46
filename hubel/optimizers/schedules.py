"""Learning-rate schedules: callables step -> learning rate, usable as
`SGD(learning_rate=StepDecay(...))` (the optimizer calls them with its iteration count)."""

from __future__ import annotations

import math


class StepDecay:
    """η = η₀ · factor^⌊step / step_size⌋ (step decay, e.g. ÷10 every 30 epochs' worth)."""

    def __init__(self, initial_learning_rate: float, step_size: int, factor: float = 0.1):
        self.initial_learning_rate, self.step_size, self.factor = (
            float(initial_learning_rate), int(step_size), float(factor))

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.factor ** (step // self.step_size)


class ExponentialDecay:
    """η = η₀ · rate^(step / decay_steps) (staircase: integer exponent)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        self.initial_learning_rate, self.decay_steps = float(initial_learning_rate), decay_steps
        self.decay_rate, self.staircase = float(decay_rate), staircase

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase
                                                                else p)


class CosineDecay:
    """η = α·η₀ + (1 − α)·η₀·½(1 + cos(π·min(step, T)/T)) (Loshchilov & Hutter 2017)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0):
        self.initial_learning_rate, self.decay_steps, self.alpha = (
            float(initial_learning_rate), int(decay_steps), float(alpha))

    def __call__(self, step: int) -> float:
        t = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * t))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)


class ReduceOnPlateau:
    """A learning rate you lower by hand from a monitored value: `update(value)` multiplies
    it by `factor` after `patience` calls without improvement (the ReduceLROnPlateau
    callback does this per epoch)."""

    def __init__(self, initial_learning_rate: float, factor: float = 0.1, patience: int = 10,
                 min_lr: float = 0.0, min_delta: float = 1e-4):
        self.lr, self.factor, self.patience = float(initial_learning_rate), factor, patience
        self.min_lr, self.min_delta = min_lr, min_delta
        self.best, self.wait = math.inf, 0

    def update(self, value: float) -> float:
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.lr, self.wait = max(self.lr * self.factor, self.min_lr), 0
        return self.lr

    def __call__(self, step: int) -> float:
        return self.lr
