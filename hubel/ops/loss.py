"""Loss primitives with hand-written backward where speed and stability demand it."""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import get_array_module

try:  # the fused row loop; the NumPy lines below are the reference and the fallback
    from hubel.backends.kernels import loss_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


class SparseSoftmaxCrossEntropy(Function):
    """Per-example −log softmax(z)[y], fused and stable;  gz = (softmax(z) − onehot(y))·gℓ.
    mean=True returns the mean over the examples instead (a scalar), gz divided by N.

    Shapes: logits z (N, K), labels y (N,) integers in [0, K) -> losses (N,) or ().
    Labels outside [0, K) raise a ValueError naming `label` (the loss).
    """

    def forward(self, z, y, mean=False, label="sparse_softmax_cross_entropy"):
        keep = self.needs_grad[0]
        xp = get_array_module(z)
        if _fast_ok(z, y):  # (g = p − onehot(y) made in the same row loop)
            loss = np.empty(z.shape[0], z.dtype)
            g = np.empty(z.shape if keep else (0, 0), z.dtype)
            if _fast.softmax_xent_rows(z, y, loss, g, keep) >= 0:
                raise _label_error(label, y, z.shape[1])
        else:
            if y.size and (y.min() < 0 or y.max() >= z.shape[-1]):
                raise _label_error(label, y, z.shape[-1])
            shifted = z - z.max(axis=-1, keepdims=True)
            e = xp.exp(shifted)
            s = e.sum(axis=-1, keepdims=True)
            loss = xp.log(s[:, 0]) - shifted[xp.arange(z.shape[0]), y]
            g = None
            if keep:
                g = e / s
                g[xp.arange(g.shape[0]), y] -= 1
        if keep:
            self.g, self.mean = g, mean
        if mean:  # (sum / N is NumPy's mean, without its 10 µs of overhead; 0 for N = 0)
            total = loss.sum()
            return xp.asarray(total / loss.shape[0] if loss.shape[0] else total)
        return loss

    def backward(self, gy):
        g = self.g  # softmax(z) − onehot(y)
        if self.mean:
            g *= gy / max(g.shape[0], 1)
        else:
            g *= gy[:, None]
        return g, None


class PickLabels(Function):
    """ℓ_i = p[i, y_i], each row's entry at its label;  gp = g at those entries, 0 elsewhere.

    Shapes: p (N, K), labels y (N,) integers in [0, K) -> (N,). The labels are an input
    of the op (not an index fixed in its options), so a traced step reads each batch's.
    """

    def forward(self, p, y):
        self.shape, self.y = p.shape, y
        return p[np.arange(p.shape[0]), y]

    def backward(self, g):
        gp = np.zeros(self.shape, g.dtype)
        gp[np.arange(g.shape[0]), self.y] = g
        return gp, None


def pick_labels(p, labels):
    """p[i, labels[i]] for every row i: (N, K), (N,) -> (N,)."""
    return PickLabels.apply(p, labels)


def _fast_ok(z, y) -> bool:
    return (_fast is not None and type(z) is np.ndarray and z.ndim == 2 and z.shape[1] > 0
            and z.dtype.kind == "f" and z.flags.c_contiguous and type(y) is np.ndarray
            and y.ndim == 1 and y.dtype.kind in "iu" and y.shape[0] == z.shape[0])


def _label_error(label: str, y, k: int) -> ValueError:
    return ValueError(f"{label}: labels must lie in [0, {k}), got values in "
                      f"[{y.min()}, {y.max()}]")


def sparse_softmax_cross_entropy(logits, labels, mean: bool = False,
                                 label: str = "sparse_softmax_cross_entropy"):
    """Cross-entropy of integer labels against softmax(logits), per example (N,), or
    their mean if mean=True."""
    if not isinstance(labels, np.ndarray):  # (a Tensor's array; an ndarray's .data is
        labels = getattr(labels, "data", labels)  # a memoryview)
    return SparseSoftmaxCrossEntropy.apply(logits, labels, mean=mean, label=label)
