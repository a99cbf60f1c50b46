"""CSVLogger: one row of epoch logs per epoch in a CSV file (append=True continues it)."""

from __future__ import annotations

import csv

from hubel.training.callbacks.base import Callback


class CSVLogger(Callback):
    def __init__(self, filename: str, append: bool = False):
        self.filename, self.append = str(filename), append

    def on_train_begin(self, logs=None):
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        import os

        if self.keys is None:
            self.keys = ["epoch", *logs]
            exists = self.append and os.path.exists(self.filename)
            with open(self.filename, "a" if exists else "w", newline="") as f:
                if not exists:
                    csv.writer(f).writerow(self.keys)
        with open(self.filename, "a", newline="") as f:
            csv.writer(f).writerow([epoch, *(logs.get(k, "") for k in self.keys[1:])])
