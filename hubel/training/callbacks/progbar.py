"""ProgbarLogger: a tqdm bar per epoch with loss, metrics, throughput and ETA
(verbose=1), or one line per epoch (verbose=2)."""

from __future__ import annotations

import sys
import time

from hubel.training.callbacks.base import Callback


class ProgbarLogger(Callback):
    def __init__(self, verbose: int = 1):
        self.verbose = verbose
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.seen, self.sums = time.perf_counter(), 0, {}
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.params.get("steps"), unit="batch", leave=True,
                            desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
                            file=sys.stderr, dynamic_ncols=True)

    def on_train_batch_end(self, step, logs=None):
        n = logs.get("size", 0)
        self.seen += n
        for k, v in logs.items():
            if k != "size":
                self.sums[k] = self.sums.get(k, 0.0) + v * n
        if self.bar is not None:
            rate = self.seen / max(time.perf_counter() - self.start, 1e-9)
            post = {k: f"{v / self.seen:.4f}" for k, v in self.sums.items()}
            post["img/s"] = f"{rate:,.0f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.start
        text = " - ".join(f"{k}: {v:.4f}" for k, v in (logs or {}).items())
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        else:
            print(f"Epoch {epoch + 1}/{self.params['epochs']} - {elapsed:.1f}s - {text}",
                  file=sys.stderr)
