"""ModelCheckpoint: save the model (optionally only when a monitored value improves) as one
.safetensors file, atomically; with save_freq=N steps it writes resumable mid-epoch
checkpoints (weights + optimizer + epoch/step + RNG) for `fit(resume_from=...)`."""

from __future__ import annotations

import numpy as np

from hubel.training.callbacks.base import Callback
from hubel.training.callbacks.early_stopping import improved


class ModelCheckpoint(Callback):
    def __init__(self, filepath: str, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", save_freq="epoch", include_optimizer: bool = True):
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.mode, self.save_freq, self.include_optimizer = mode, save_freq, include_optimizer

    def on_train_begin(self, logs=None):
        maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -np.inf if maximize else np.inf
        self.steps_done = 0

    def _write(self, epoch: int, logs: dict) -> None:
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.include_optimizer:
            self.model.trainer.save_checkpoint(path)
        else:
            self.model.save(path)

    def on_train_batch_end(self, step, logs=None):
        self.steps_done += 1
        if isinstance(self.save_freq, int) and self.steps_done % self.save_freq == 0:
            self._write(self.model.trainer.epoch, {})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_freq != "epoch":
            return
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"ModelCheckpoint: '{self.monitor}' is not in the epoch logs "
                               f"{sorted(logs)}")
            if not improved(self.mode, self.monitor, value, self.best, 0.0):
                return
            self.best = value
        self._write(epoch, logs)
