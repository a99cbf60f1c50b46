"""Trainer: the fit / evaluate / predict loop that a compiled model uses.

The loop is the lecture's four steps, repeated: sample a mini-batch, forward → loss,
backpropagate, update (θ ← θ − η∇J); callbacks are called around each batch and epoch.
An iteration is one batch; an epoch is one pass over the training set.
"""

from __future__ import annotations

import math

import numpy as np

from hubel import losses as losses_module
from hubel import metrics as metrics_module
from hubel import optimizers
from hubel import random as hrandom
from hubel.autograd.grad_mode import no_grad
from hubel.tensor import Tensor, array_of
from hubel.training.callbacks.base import CallbackList
from hubel.training.callbacks.history import History
from hubel.training.callbacks.progbar import ProgbarLogger


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _float_array(x):
    """One contiguous float32 copy of the data (integers are converted as they are)."""
    if isinstance(x, (list, tuple)):
        return [_float_array(v) for v in x]
    x = np.asarray(getattr(x, "data", x))
    if x.dtype != np.float32 and x.dtype != np.float64:
        x = x.astype(np.float32)
    return np.ascontiguousarray(x)


def _length(x) -> int:
    return len(x[0]) if isinstance(x, list) else len(x)


def _take(x, idx):
    return [v[idx] for v in x] if isinstance(x, list) else x[idx]


class Trainer:
    """Holds the optimizer, loss(es) and metrics of a compiled model and runs its loops."""

    def __init__(self, model, optimizer, loss, metrics=None, loss_weights=None,
                 jit_compile: bool = False):
        if loss is None:
            raise ValueError(f"compile: model '{model.name}' needs a loss (e.g. "
                             "loss='sparse_categorical_crossentropy')")
        self.model = model
        self.optimizer = optimizers.get(optimizer)
        self.losses = [losses_module.get(lo) for lo in _as_list(loss)]
        self.loss_weights = list(loss_weights) if loss_weights is not None else None
        self.metrics = [metrics_module.get(m) for m in (metrics or [])]
        self.stop_training = False
        self.epoch = 0
        self.step_in_epoch = 0
        self.epoch_rng_state = None
        if jit_compile:
            from hubel.training.traced import TracedStep

            self.traced = TracedStep(self)
        else:
            self.traced = None

    # --- one batch ---------------------------------------------------------------------
    def compute_loss(self, y, out, penalties=None) -> Tensor:
        """The weighted sum of the losses of each output plus the regularization
        penalties (the model's `losses`, unless given)."""
        outs, ys = _as_list(out), _as_list(y)
        if len(outs) != len(ys):
            raise ValueError(f"model '{self.model.name}' has {len(outs)} outputs but "
                             f"{len(ys)} targets were given")
        fns = self.losses if len(self.losses) == len(outs) else self.losses * len(outs)
        weights = self.loss_weights or [1.0] * len(outs)
        total = None
        for fn, w, yi, oi in zip(fns, weights, ys, outs):
            term = fn(yi, oi)
            term = term if w == 1.0 else term * w
            total = term if total is None else total + term
        for penalty in self.model.losses if penalties is None else penalties:
            total = total + penalty
        return total

    def train_step(self, x, y) -> dict:
        """Forward, loss, backward, update on one batch; returns {'loss', metrics...}.
        With jit_compile=True the step is traced once and replayed (traced.py)."""
        x = _float_array(x)
        if self.traced is not None:
            return self.traced(_as_list(x), [array_of(v)
                                             for v in _as_list(y)])
        return self._eager_step(x, y)

    def _eager_step(self, x, y) -> dict:
        out = self.model(*_as_list(x), training=True)
        params, penalties = self.model._training_lists()
        loss = self.compute_loss(y, out, penalties)
        return self._finish_step(params, loss, y, out)

    def _finish_step(self, params, loss, y, out) -> dict:
        """Backward from the loss, update, and the logs of an eager step."""
        for w in params:
            w.grad = None
        loss.backward()
        self.optimizer.apply_gradients([(w.grad, w) for w in params])
        return self._logs(loss, y, out)

    def test_step(self, x, y) -> dict:
        with no_grad():
            out = self.model(*_as_list(_float_array(x)), training=False)
            loss = self.compute_loss(y, out)
        return self._logs(loss, y, out)

    def _logs(self, loss, y, out) -> dict:
        return self._logs_of(loss.data, y, _as_list(out)[0].data)

    def _logs_of(self, loss, y, first_out) -> dict:
        """{'loss', metric names...} of a loss array and the first output's array."""
        logs = {"loss": float(loss)}
        first_y = _as_list(y)[0]
        for m in self.metrics:
            logs[m.name] = m.fn(first_y, first_out)
        return logs

    # --- loops -------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size: int = 32, epochs: int = 1, verbose: int = 1,
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            resume_from=None) -> History:
        """Train for `epochs` passes over (x, y) or over an iterable of (x, y) batches.

        validation_data=(x_val, y_val) or validation_split (the last fraction of x, y, taken
        before shuffling, as Keras does) are evaluated at every epoch end. resume_from=path
        continues from a checkpoint written by ModelCheckpoint or `save_checkpoint`, so
        that the interrupted-then-resumed run equals the uninterrupted one.
        """
        arrays = y is not None or isinstance(x, np.ndarray)
        if arrays:
            x, y = _float_array(x), array_of(y) if not isinstance(
                y, (list, tuple)) else [np.asarray(v) for v in y]
            n = _length(x)
            ny = _length(y) if isinstance(y, list) else len(y)
            if n != ny:
                raise ValueError(f"fit: x has {n} examples but y has {ny}")
            if validation_split and validation_data is None:
                cut = int(n * (1 - validation_split))
                validation_data = (_take(x, slice(cut, None)), _take(y, slice(cut, None)))
                x, y = _take(x, slice(0, cut)), _take(y, slice(0, cut))
                n = cut
            steps = math.ceil(n / batch_size)
        else:
            steps = steps_per_epoch or (len(x) if hasattr(x, "__len__") else None)
        skip = 0
        if resume_from is not None:
            state = self.load_checkpoint(resume_from)
            initial_epoch, skip = state["epoch"], state["step_in_epoch"]
            if steps is not None and skip >= steps:  # saved at the end of an epoch
                initial_epoch, skip = initial_epoch + 1, 0
                hrandom.set_state(state["rng_state"])
        history = History()
        cbs = [history] + list(callbacks or [])
        if verbose:
            cbs.insert(1, ProgbarLogger(verbose))
        cbl = CallbackList(cbs, self.model, {"epochs": epochs, "steps": steps,
                                             "batch_size": batch_size, "verbose": verbose})
        self.stop_training = False
        cbl.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.epoch = epoch
            cbl.on_epoch_begin(epoch)
            resumed = skip and epoch == initial_epoch
            if resumed:
                hrandom.set_state(state["epoch_rng_state"])
            self.epoch_rng_state = hrandom.get_state()
            if arrays:
                order = hrandom.rng().permutation(n) if shuffle else np.arange(n)
                batches = ((_take(x, order[i:i + batch_size]), _take(y, order[i:i + batch_size]))
                           for i in range(0, n, batch_size))
            else:
                batches = iter(x)
            if resumed:
                hrandom.set_state(state["rng_state"])
                for _ in range(skip):
                    next(batches)
            for m in self.metrics:
                m.reset()
            totals, seen = {}, 0
            start = skip if resumed else 0
            for step, (xb, yb) in enumerate(batches, start=start):
                if steps_per_epoch and step >= steps_per_epoch:
                    break
                self.step_in_epoch = step
                cbl.on_train_batch_begin(step)
                logs = self.train_step(xb, yb)
                self.step_in_epoch = step + 1
                nb = _length(xb) if isinstance(xb, list) else len(xb)
                seen += nb
                for k, v in logs.items():
                    totals[k] = totals.get(k, 0.0) + v * nb
                cbl.on_train_batch_end(step, {**logs, "size": nb})
                if self.stop_training:
                    break
            epoch_logs = {k: v / max(seen, 1) for k, v in totals.items()}
            if validation_data is not None and not self.stop_training:
                val = self.evaluate(*validation_data, batch_size=batch_size, verbose=0,
                                    return_dict=True)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            epoch_logs["lr"] = self.optimizer.lr
            cbl.on_epoch_end(epoch, epoch_logs)
            skip = 0
            if self.stop_training:
                break
        cbl.on_train_end()
        return history

    def evaluate(self, x=None, y=None, batch_size: int = 32, verbose: int = 0,
                 return_dict: bool = False):
        """Mean loss and metrics over the data (weighted by batch size).

        Returns the loss alone when there are no metrics, else [loss, *metrics] (Keras), or
        a dict with return_dict=True.
        """
        if y is not None or isinstance(x, np.ndarray):
            x = _float_array(x)
            y = array_of(y) if not isinstance(y, (list, tuple)) else y
            n = _length(x)
            if n != (len(y) if not isinstance(y, list) else _length(y)):
                raise ValueError(f"evaluate: x has {n} examples but y has "
                                 f"{len(y) if not isinstance(y, list) else _length(y)}")
            batches = ((_take(x, slice(i, i + batch_size)), _take(y, slice(i, i + batch_size)))
                       for i in range(0, n, batch_size))
        else:
            batches = iter(x)
        totals, seen = {}, 0
        for xb, yb in batches:
            logs = self.test_step(xb, yb)
            nb = _length(xb) if isinstance(xb, list) else len(xb)
            seen += nb
            for k, v in logs.items():
                totals[k] = totals.get(k, 0.0) + v * nb
        result = {k: v / max(seen, 1) for k, v in totals.items()}
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    # --- checkpoints -------------------------------------------------------------------
    def save_checkpoint(self, path) -> None:
        """Weights, architecture, optimizer state, epoch, step and RNG states, atomically."""
        from hubel.models.saving import save_model

        state = {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
                 "epoch_rng_state": self.epoch_rng_state, "rng_state": hrandom.get_state()}
        save_model(self.model, path, include_optimizer=True, training_state=state)

    def load_checkpoint(self, path) -> dict:
        """Load weights and optimizer state from a checkpoint; returns its training state."""
        from hubel.models.saving import load_into

        state = load_into(self.model, path, optimizer=self.optimizer)
        if not state:
            raise ValueError(f"{path}: not a training checkpoint (no training state in it); "
                             "write one with ModelCheckpoint or Trainer.save_checkpoint")
        return state


def predict(model, x, batch_size: int = 32, verbose: int = 0):
    """Outputs for x in batches, without recording a graph; arrays (a list for several
    outputs)."""
    x = _float_array(x)
    n = _length(x)
    parts = []
    with no_grad():
        for i in range(0, n, batch_size):
            out = model(*_as_list(_take(x, slice(i, i + batch_size))), training=False)
            parts.append([o.data for o in _as_list(out)])
    if not parts:
        return np.zeros((0,))
    outs = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
    return outs[0] if len(outs) == 1 else outs

