"""Activation functions and softmax (SPEC A, L9). Each has its derivative beside it."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module


class Softmax(Function):
    """yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m), m = max x (stable);  gx = y·(gy − Σ gy·y)."""

    def forward(self, x, axis):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)), None


class LogSoftmax(Function):
    """yᵢ = xᵢ − m − log Σⱼ e^(xⱼ − m) (stable);  gx = gy − softmax(x)·Σ gy."""

    def forward(self, x, axis):
        xp = get_array_module(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.y, self.axis = y, axis
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True), None


def softmax(x, axis: int = -1):
    """Softmax along `axis`: probabilities that sum to 1 (finite for logits of ±1e4)."""
    return Softmax.apply(x, axis)


def log_softmax(x, axis: int = -1):
    """log(softmax(x)) computed without overflow."""
    return LogSoftmax.apply(x, axis)


class ReLU(Function):
    """y = max(0, x);  gx = gy·[y > 0]."""

    def forward(self, x):
        self.y = get_array_module(x).maximum(x, 0)
        return self.y

    def backward(self, gy):
        return gy * (self.y > 0)


class Sigmoid(Function):
    """y = 1 / (1 + e^(−x));  gx = gy·y·(1 − y)."""

    def forward(self, x):
        xp = get_array_module(x)
        # e^(−|x|) never overflows; the two branches give the same value.
        e = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh x;  gx = gy·(1 − y²)."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


def relu(x):
    """Rectified linear unit max(0, x)."""
    return ReLU.apply(x)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^(−x)), stable for large |x|."""
    return Sigmoid.apply(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def linear(x):
    """Identity activation f(x) = x."""
    return x
