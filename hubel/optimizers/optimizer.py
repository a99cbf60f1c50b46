"""Optimizer: θ ← θ − η·update(∇J), applied in place to each trainable weight."""

from __future__ import annotations

import numpy as np


class Optimizer:
    """Base class. Subclasses implement `update(w, g, state)` in place on arrays.

    Args:
        learning_rate: η, a float or a schedule `step -> float`.
        clipnorm / clipvalue: clip each gradient by its L2 norm / elementwise.
        weight_decay: decoupled decay θ ← θ − η·wd·θ (AdamW-style) applied before update.
    """

    def __init__(self, learning_rate=0.01, clipnorm: float | None = None,
                 clipvalue: float | None = None, weight_decay: float | None = None):
        self.learning_rate = learning_rate
        self.clipnorm, self.clipvalue, self.weight_decay = clipnorm, clipvalue, weight_decay
        self.iterations = 0
        self.slots: dict[str, dict[str, np.ndarray]] = {}

    @property
    def lr(self) -> float:
        """The learning rate at the current step."""
        lr = self.learning_rate
        return float(lr(self.iterations) if callable(lr) else lr)

    def step(self, params) -> None:
        """Update every parameter that has a `.grad` (PyTorch style)."""
        self.apply_gradients([(p.grad, p) for p in params if p.grad is not None])

    def apply_gradients(self, grads_and_vars) -> None:
        """Apply (gradient, weight) pairs (Keras style)."""
        lr = self.lr
        for g, w in grads_and_vars:
            if g is None:
                continue
            if type(g) is not np.ndarray:  # (a Tensor; an ndarray's .data is a memoryview)
                g = np.asarray(getattr(g, "data", g))
            if self.clipvalue is not None:
                g = np.clip(g, -self.clipvalue, self.clipvalue)
            if self.clipnorm is not None:
                norm = float(np.sqrt((g * g).sum()))
                if norm > self.clipnorm:
                    g = g * (self.clipnorm / norm)
            if self.weight_decay:
                w.data -= lr * self.weight_decay * w.data
            self.update(w.data, g, self.state_of(w), lr)
        self.iterations += 1

    def state_of(self, w) -> dict:
        """The slots of weight w (SGD's velocity, Adam's moments), made empty if new."""
        return self.slots.setdefault(w.name or str(id(w)), {})

    def in_backward(self, w, lr: float) -> InBackward | None:
        """How to update weight w inside the backward pass, as soon as its gradient is
        made (the traced step: hubel/training/traced.py), or None: after the backward
        pass, by apply_gradients. An optimizer that opts in must give the same update
        either way; the base class does not."""
        return None

    def update(self, w: np.ndarray, g: np.ndarray, state: dict, lr: float) -> None:
        raise NotImplementedError

    def _plain(self) -> bool:
        """Whether apply_gradients would pass each gradient to update unchanged."""
        return (not self.clipvalue and not self.clipnorm and not self.weight_decay
                and type(self).apply_gradients is Optimizer.apply_gradients)

    def get_config(self) -> dict:
        lr = self.learning_rate
        return {"learning_rate": lr if not callable(lr) else self.lr, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict:
        """{'config', 'iterations', 'slots': {weight: {slot: array}}} for checkpoints."""
        return {"class_name": type(self).__name__, "config": self.get_config(),
                "iterations": self.iterations,
                "slots": {k: {s: np.array(v) for s, v in d.items()}
                          for k, d in self.slots.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        self.slots = {k: {s: np.array(v) for s, v in d.items()}
                      for k, d in state["slots"].items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


class InBackward:
    """One weight's update of one step, made inside the backward pass: `apply(g)` with its
    whole gradient, or `product(a, b)` with the gradient given as aᵀ @ b (a fully
    connected layer's), which an optimizer may compute and apply in one pass."""

    def __init__(self, optimizer: Optimizer, w, lr: float):
        self.optimizer, self.w, self.lr = optimizer, w, lr
        self.state = optimizer.state_of(w)

    def apply(self, g: np.ndarray) -> None:
        w = self.w.data
        self.optimizer.update(w, g if g.dtype == w.dtype else g.astype(w.dtype), self.state,
                              self.lr)

    def product(self, a: np.ndarray, b: np.ndarray, bias: InBackward | None = None,
                gb: np.ndarray | None = None) -> bool:
        """apply(aᵀ @ b); bias and gb, the update of the layer's bias and its gradient,
        may be made in the same pass (SGD's): returns whether it was (if not, the caller
        applies it)."""
        from hubel.backends import blas

        self.apply(blas.matmul(a.T, b))
        return False
