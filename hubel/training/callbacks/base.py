"""Callback: hooks called around training, epochs and batches."""

from __future__ import annotations


class Callback:
    """Override any hook; `self.model` is the model being trained, `self.params` holds
    epochs, steps, batch_size and verbose."""

    model = None
    params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_train_batch_begin(self, step, logs=None): ...

    def on_train_batch_end(self, step, logs=None): ...


class CallbackList:
    """Calls each hook on every callback in order."""

    def __init__(self, callbacks, model, params: dict):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.params = params

    def __getattr__(self, hook):
        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call
