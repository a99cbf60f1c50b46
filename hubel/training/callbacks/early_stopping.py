"""EarlyStopping: stop when a monitored value stops improving (the lecture's cure for
over-fitting: stop where validation loss is lowest); optionally restore the best weights."""

from __future__ import annotations

import numpy as np

from hubel.training.callbacks.base import Callback


def improved(mode: str, monitor: str, value: float, best: float, min_delta: float) -> bool:
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return value > best + min_delta if mode == "max" else value < best - min_delta


class EarlyStopping(Callback):
    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode, self.restore_best_weights = mode, restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights = 0, None, None
        maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -np.inf if maximize else np.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not in the epoch logs "
                           f"{sorted(logs or {})}; pass validation data or another monitor")
        if improved(self.mode, self.monitor, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.trainer.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
