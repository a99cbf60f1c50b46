"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite, saying
where."""

from __future__ import annotations

import math
import sys

from hubel.training.callbacks.base import Callback


class TerminateOnNaN(Callback):
    def on_train_batch_end(self, step, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            trainer = self.model.trainer
            self.message = (f"TerminateOnNaN: loss became {loss} at epoch {trainer.epoch + 1}, "
                            f"step {step + 1}; training stopped")
            print(self.message, file=sys.stderr)
            trainer.stop_training = True
