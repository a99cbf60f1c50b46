"""Losses by object and by name, called Keras-style as `loss(y_true, y_pred)`.

Each reduces the per-example losses by `reduction`: 'mean' (default), 'sum' or 'none'.
"""

from __future__ import annotations

import numpy as np

from hubel import functional as F
from hubel.ops.loss import pick_labels, sparse_softmax_cross_entropy
from hubel.tensor import Tensor, array_of, as_tensor

_EPS = 1e-7


class Loss:
    """Base: subclasses compute per-example losses in `per_example(y_true, y_pred)`."""

    name = "loss"

    def __init__(self, reduction: str = "mean"):
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def per_example(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true, y_pred) -> Tensor:
        losses = self.per_example(y_true, as_tensor(y_pred))
        if self.reduction == "mean":
            return losses.mean()
        if self.reduction == "sum":
            return losses.sum()
        return losses

    def get_config(self) -> dict:
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _labels(y_true, n_classes: int, name: str) -> np.ndarray:
    y = array_of(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError(f"{name}: labels must be integer class indices, got floats")
    y = y.astype(np.int64, copy=False)  # (the same array when it is one already)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}), got values in "
                         f"[{y.min()}, {y.max()}]")
    return y


class SparseCategoricalCrossentropy(Loss):
    """−log p[y] for integer labels y; from_logits=True fuses softmax (stable and fast).

    Shapes: y_true (N,) ints, y_pred (N, K) -> (N,) before reduction.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "mean"):
        super().__init__(reduction)
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred) -> Tensor:
        if self.from_logits and self.reduction == "mean":  # the mean inside the fused op
            y_pred = as_tensor(y_pred)
            return sparse_softmax_cross_entropy(y_pred, self._checked(y_true, y_pred),
                                                mean=True, label=type(self).__name__)
        return super().__call__(y_true, y_pred)

    def per_example(self, y_true, y_pred):
        y = self._checked(y_true, y_pred)
        if self.from_logits:
            return sparse_softmax_cross_entropy(y_pred, y, label=type(self).__name__)
        return -F.log(pick_labels(F.clip(y_pred, _EPS, 1 - _EPS), y))

    def _checked(self, y_true, y_pred) -> np.ndarray:
        """Integer labels (N,) for predictions (N, K). With logits, integer labels are
        passed on as they are and the fused op checks their range in its pass."""
        if y_pred.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected predictions of shape (N, K), "
                             f"got {y_pred.shape}")
        y = array_of(y_true)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if not (self.from_logits and y.ndim == 1 and y.dtype.kind in "iu"):
            y = _labels(y, y_pred.shape[-1], type(self).__name__)
        if len(y) != y_pred.shape[0]:
            raise ValueError(f"{type(self).__name__}: {len(y)} labels for {y_pred.shape[0]} "
                             "predictions")
        return y

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    """−Σ y·log p over classes for one-hot (or soft) targets y.  Shapes: (N, K) -> (N,)."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "mean"):
        super().__init__(reduction)
        self.from_logits = from_logits

    def per_example(self, y_true, y_pred):
        y = as_tensor(np.asarray(array_of(y_true), dtype=y_pred.dtype))
        if y.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: targets of shape {y.shape} for "
                             f"predictions of shape {y_pred.shape}")
        logp = F.log_softmax(y_pred) if self.from_logits else F.log(F.clip(y_pred, _EPS, 1))
        return -(y * logp).sum(axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


class MeanSquaredError(Loss):
    """mean over features of (y − f)².  Shapes: (N, ...) -> (N,)."""

    name = "mean_squared_error"

    def per_example(self, y_true, y_pred):
        d = y_pred - as_tensor(np.asarray(array_of(y_true), y_pred.dtype))
        sq = d * d
        return sq.reshape(sq.shape[0], -1).mean(axis=1) if sq.ndim > 1 else sq


class BinaryCrossentropy(Loss):
    """−[y log p + (1 − y) log(1 − p)], mean over features; from_logits uses the stable
    form max(z, 0) − z·y + log(1 + e^(−|z|))."""

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "mean"):
        super().__init__(reduction)
        self.from_logits = from_logits

    def per_example(self, y_true, y_pred):
        y = as_tensor(np.asarray(array_of(y_true), y_pred.dtype))
        if self.from_logits:
            z = y_pred
            e = F.relu(z) - z * y + F.log(1 + F.exp(-F.abs(z)))
        else:
            p = F.clip(y_pred, _EPS, 1 - _EPS)
            e = -(y * F.log(p) + (1 - y) * F.log(1 - p))
        return e.reshape(e.shape[0], -1).mean(axis=1) if e.ndim > 1 else e

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


class SquaredError(Loss):
    """The lecture's ½Σ(y − f)² per example (sum over features, halved)."""

    name = "squared_error"

    def per_example(self, y_true, y_pred):
        d = y_pred - as_tensor(np.asarray(array_of(y_true), y_pred.dtype))
        sq = d * d * 0.5
        return sq.reshape(sq.shape[0], -1).sum(axis=1) if sq.ndim > 1 else sq


def _signed(y_true, dtype):
    """Labels as ±1 (0/1 labels are mapped to −1/+1)."""
    y = np.asarray(array_of(y_true), dtype)
    if y.size and y.min() >= 0:
        y = 2 * y - 1
    return as_tensor(y)


def _margin_mean(e):
    return e.reshape(e.shape[0], -1).mean(axis=1) if e.ndim > 1 else e


class Hinge(Loss):
    """max(0, 1 − y·f) for labels y ∈ {−1, +1} (0/1 labels are mapped), the SVM loss."""

    name = "hinge"

    def per_example(self, y_true, y_pred):
        return _margin_mean(F.relu(1 - _signed(y_true, y_pred.dtype) * y_pred))


class Logistic(Loss):
    """log₂(1 + e^(−y·f)) for labels y ∈ {−1, +1} (stable softplus form)."""

    name = "logistic"

    def per_example(self, y_true, y_pred):
        m = _signed(y_true, y_pred.dtype) * y_pred
        return _margin_mean(F.softplus(-m) * (1 / np.log(2)))


class Exponential(Loss):
    """e^(−y·f) for labels y ∈ {−1, +1} (AdaBoost's loss)."""

    name = "exponential"

    def per_example(self, y_true, y_pred):
        return _margin_mean(F.exp(-(_signed(y_true, y_pred.dtype) * y_pred)))


class MulticlassHinge(Loss):
    """Multiclass SVM loss for integer labels y and scores f (N, K):
    'weston_watkins' (cs231n's SVM): Σ_{j≠y} max(0, f_j − f_y + margin);
    'crammer_singer': max(0, margin + max_{j≠y} f_j − f_y)."""

    name = "multiclass_hinge"

    def __init__(self, kind: str = "weston_watkins", margin: float = 1.0,
                 reduction: str = "mean"):
        super().__init__(reduction)
        if kind not in ("weston_watkins", "crammer_singer"):
            raise ValueError(f"MulticlassHinge: kind must be 'weston_watkins' or "
                             f"'crammer_singer', got {kind!r}")
        self.kind, self.margin = kind, float(margin)

    def per_example(self, y_true, y_pred):
        y = _labels(y_true, y_pred.shape[-1], type(self).__name__)
        rows = np.arange(len(y))
        correct = y_pred[rows, y].reshape(-1, 1)
        others = np.ones(y_pred.shape, dtype=bool)
        others[rows, y] = False
        if self.kind == "weston_watkins":
            m = F.relu(y_pred - correct + self.margin)
            return (m * others.astype(y_pred.dtype)).sum(axis=1)
        masked = F.where(others, y_pred, np.asarray(-np.inf, y_pred.dtype))
        return F.relu(masked.max(axis=1) - correct.reshape(-1) + self.margin)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "margin": self.margin}


class KLDivergence(Loss):
    """Σ y·log(y / p) over classes for target distributions y and predictions p."""

    name = "kl_divergence"

    def per_example(self, y_true, y_pred):
        y = np.clip(np.asarray(array_of(y_true), y_pred.dtype), _EPS, 1)
        p = F.clip(y_pred, _EPS, 1)
        return (as_tensor(y) * (as_tensor(np.log(y)) - F.log(p))).sum(axis=-1)


_NAMES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "squared_error": SquaredError,
    "hinge": Hinge,
    "logistic": Logistic,
    "exponential": Exponential,
    "multiclass_hinge": MulticlassHinge,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
}


def get(identifier) -> Loss:
    """A loss object from a name ('categorical_crossentropy', 'mse', ...) or an object."""
    if isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier,
                                                                               (str, type))):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown loss {identifier!r}; known: {', '.join(sorted(_NAMES))}")
