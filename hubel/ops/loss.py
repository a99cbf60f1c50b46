"""Loss primitives with hand-written backward where speed and stability demand it."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module


class SparseSoftmaxCrossEntropy(Function):
    """Per-example −log softmax(z)[y], fused and stable;  gz = (softmax(z) − onehot(y))·gℓ.

    Shapes: logits z (N, K), labels y (N,) integers in [0, K) -> losses (N,).
    """

    def forward(self, z, y):
        xp = get_array_module(z)
        shifted = z - z.max(axis=-1, keepdims=True)
        e = xp.exp(shifted)
        s = e.sum(axis=-1, keepdims=True)
        rows = xp.arange(z.shape[0])
        loss = xp.log(s[:, 0]) - shifted[rows, y]
        if self.needs_grad[0]:
            e /= s
            self.p, self.y, self.rows = e, y, rows
        return loss

    def backward(self, gy):
        g = self.p
        g[self.rows, self.y] -= 1
        g *= gy[:, None]
        return g, None


def sparse_softmax_cross_entropy(logits, labels):
    """Cross-entropy of integer labels against softmax(logits), per example (N,)."""
    labels = getattr(labels, "data", labels)
    return SparseSoftmaxCrossEntropy.apply(logits, labels)
