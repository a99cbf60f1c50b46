"""Metrics: running ones for compile(metrics=[...]) and functions over whole predictions
(accuracy, top-k, precision/recall/F1, confusion matrix, per-class report)."""

from __future__ import annotations

import numpy as np

from hubel.tensor import array_of


def _labels_of(y_true, n_classes: int | None = None) -> np.ndarray:
    y = array_of(y_true)
    if y.ndim >= 2 and y.shape[-1] > 1:  # one-hot or soft targets
        return y.argmax(axis=-1)
    return y.reshape(len(y)).astype(np.int64) if y.ndim else y


def accuracy(y_true, y_pred) -> float:
    """Fraction of examples whose arg-max prediction equals the label (ints or one-hot);
    a single sigmoid output is thresholded at 0.5."""
    p = np.asarray(getattr(y_pred, "data", y_pred))
    if p.ndim == 2 and p.shape[1] == 1 or p.ndim == 1:
        t = array_of(y_true).reshape(-1)
        return float(np.mean((p.reshape(-1) > 0.5) == (t > 0.5))) if len(t) else 0.0
    t = _labels_of(y_true)
    return float(np.mean(p.argmax(axis=-1) == t)) if len(t) else 0.0


def top_k_accuracy(y_true, y_pred, k: int = 5) -> float:
    """Fraction of examples whose label is among the k highest scores (ILSVRC top-5 error
    is 1 − top_k_accuracy(k=5))."""
    p = np.asarray(getattr(y_pred, "data", y_pred))
    t = _labels_of(y_true)
    top = np.argpartition(-p, min(k, p.shape[1] - 1), axis=1)[:, :k]
    return float(np.mean((top == t[:, None]).any(axis=1))) if len(t) else 0.0


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of examples of true class i predicted as class j."""
    t = _labels_of(y_true)
    p = np.asarray(getattr(y_pred, "data", y_pred))
    p = p.argmax(axis=-1) if p.ndim > 1 else p.astype(np.int64)
    n = num_classes or int(max(t.max(initial=0), p.max(initial=0)) + 1)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def precision_recall_f1(y_true, y_pred, num_classes: int | None = None) -> dict:
    """Per-class precision TP/(TP+FP), recall TP/(TP+FN), F1 = 2PR/(P+R) and support."""
    c = confusion_matrix(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / c.sum(axis=0))
        recall = np.nan_to_num(tp / c.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return {"precision": precision, "recall": recall, "f1": f1,
            "support": c.sum(axis=1).astype(np.int64)}


def precision(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged precision."""
    return float(precision_recall_f1(y_true, y_pred, num_classes)["precision"].mean())


def recall(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged recall."""
    return float(precision_recall_f1(y_true, y_pred, num_classes)["recall"].mean())


def f1_score(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged F1."""
    return float(precision_recall_f1(y_true, y_pred, num_classes)["f1"].mean())


def classification_report(y_true, y_pred, class_names=None) -> str:
    """A per-class table of precision, recall, F1 and support, with macro averages."""
    s = precision_recall_f1(y_true, y_pred, len(class_names) if class_names else None)
    names = class_names or [str(i) for i in range(len(s["support"]))]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'':{width}} precision    recall        f1   support"]
    for i, n in enumerate(names):
        lines.append(f"{n:{width}} {s['precision'][i]:9.3f} {s['recall'][i]:9.3f} "
                     f"{s['f1'][i]:9.3f} {s['support'][i]:9d}")
    lines.append(f"{'macro avg':{width}} {s['precision'].mean():9.3f} "
                 f"{s['recall'].mean():9.3f} {s['f1'].mean():9.3f} {s['support'].sum():9d}")
    return "\n".join(lines)


class Metric:
    """A running metric averaged over batches, weighted by batch size."""

    def __init__(self, name: str, fn):
        self.name, self.fn = name, fn
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, y_true, y_pred) -> None:
        n = len(y_pred)
        self.total += self.fn(y_true, y_pred) * n
        self.count += n

    def result(self) -> float:
        return self.total / max(self.count, 1)


_NAMES = {
    "accuracy": accuracy, "acc": accuracy, "sparse_categorical_accuracy": accuracy,
    "categorical_accuracy": accuracy,
    "top_5_accuracy": lambda t, p: top_k_accuracy(t, p, 5),
    "top_k_accuracy": lambda t, p: top_k_accuracy(t, p, 5),
}


def get(identifier) -> Metric:
    """A running Metric from a name ('accuracy', 'top_5_accuracy', ...) or a function
    f(y_true, y_pred) -> float."""
    if isinstance(identifier, Metric):
        return identifier
    if callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier)
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        name = "accuracy" if identifier.lower() == "acc" else identifier.lower()
        return Metric(name, _NAMES[identifier.lower()])
    raise ValueError(f"unknown metric {identifier!r}; known: {', '.join(sorted(_NAMES))}")
