"""LearningRateScheduler (lr = schedule(epoch, lr) at each epoch start) and
ReduceLROnPlateau (multiply lr by `factor` after `patience` epochs without improvement)."""

from __future__ import annotations

import numpy as np

from hubel.training.callbacks.base import Callback
from hubel.training.callbacks.early_stopping import improved


class LearningRateScheduler(Callback):
    def __init__(self, schedule, verbose: int = 0):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.trainer.optimizer
        opt.learning_rate = float(self.schedule(epoch, opt.lr))


class ReduceLROnPlateau(Callback):
    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor must be < 1")
        self.monitor, self.factor, self.patience, self.mode = monitor, factor, patience, mode
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr

    def on_train_begin(self, logs=None):
        maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -np.inf if maximize else np.inf
        self.wait = self.cooldown_left = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.cooldown_left:
            self.cooldown_left -= 1
            self.wait = 0
        if improved(self.mode, self.monitor, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
        elif not self.cooldown_left:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.trainer.optimizer
                opt.learning_rate = max(opt.lr * self.factor, self.min_lr)
                self.cooldown_left, self.wait = self.cooldown, 0
