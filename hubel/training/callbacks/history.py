"""History: the per-epoch logs of `fit` (returned by it): history.history['loss'], ..."""

from __future__ import annotations

from hubel.training.callbacks.base import Callback


class History(Callback):
    def on_train_begin(self, logs=None):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
