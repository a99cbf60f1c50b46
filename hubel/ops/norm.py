"""Batch normalization (Ioffe & Szegedy 2015) over every axis but the last (features /
channels-last), with its backward written out.

    μ = mean(x), σ² = var(x) over the batch (and spatial) axes, x̂ = (x − μ)/√(σ² + ε),
    y = γ·x̂ + β
    gx = γ/(M·√(σ² + ε)) · (M·gy − Σgy − x̂·Σ(gy·x̂)),  gγ = Σ gy·x̂,  gβ = Σ gy

Shapes: x (..., C), γ and β (C,), M = number of elements per channel.

relu=True applies the ReLU that follows (ResNet's BN -> ReLU) in the same node:
z = max(y, 0) and gy is masked by [z > 0] before the formulas above.
"""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import get_array_module
from hubel.backends.channels import channel_affine
from hubel.backends.reduce import leading_sum
from hubel.ops.activation import relu as _relu

try:  # Numba kernels for NumPy arrays; the array expressions below are the reference
    from hubel.backends.kernels import norm_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


class BatchNorm(Function):
    """Training-mode batch normalization; updates the running averages (arrays, in place)
    when they are given; relu=True: max(y, 0) in the same passes."""

    def forward(self, x, gamma, beta, epsilon, running_mean=None, running_var=None,
                momentum=0.99, relu=False):
        xp = get_array_module(x)
        axes = tuple(range(x.ndim - 1))
        self.fast = _fast is not None and isinstance(x, np.ndarray) and x.dtype.kind == "f"
        if self.fast:
            x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
            y, xhat, mean, var, inv = _fast.forward(x2, gamma, beta, epsilon, relu)
            if running_mean is not None:
                _update(running_mean, running_var, mean, var, x2.shape[0], momentum)
            self.xhat, self.inv, self.gamma, self.axes = xhat, inv, gamma, axes
            self.shape, self.beta, self.relu = x.shape, beta, relu  # (y is not kept)
            return y.reshape(x.shape)
        mean = x.mean(axis=axes)
        xc = x - mean
        var = (xc * xc).mean(axis=axes)
        inv = 1.0 / xp.sqrt(var + epsilon)
        xhat = xc * inv
        if running_mean is not None:
            _update(running_mean, running_var, mean, var, x.size // x.shape[-1], momentum)
        y = xhat * gamma if gamma is not None else xhat.copy()  # (y += β must not touch x̂)
        if beta is not None:
            y += beta
        if relu:
            y = xp.maximum(y, 0, out=y)
        self.xhat, self.inv, self.gamma, self.axes = xhat, inv, gamma, axes
        self.y = y if relu else None
        return y

    def backward(self, gy):
        axes, xhat = self.axes, self.xhat
        m = xhat.size // xhat.shape[-1]
        if self.fast:
            scale = self.inv / m if self.gamma is None else self.gamma * self.inv / m
            gy2 = np.ascontiguousarray(gy).reshape(xhat.shape)
            gx, ggamma, gbeta = _fast.backward(gy2, xhat, scale, bool(self.needs_grad[0]),
                                               self.relu, self.gamma, self.beta)
            return (None if gx is None else gx.reshape(self.shape),
                    ggamma if self.needs_grad[1] else None,
                    gbeta if self.needs_grad[2] else None, None, None, None, None, None)
        if self.y is not None:  # through the ReLU first
            gy = gy * (self.y > 0)
        sum_gy = gy.sum(axis=axes)
        sum_gy_xhat = (gy * xhat).sum(axis=axes)
        gx = None
        if self.needs_grad[0]:
            scale = self.inv / m if self.gamma is None else self.gamma * self.inv / m
            gx = scale * (m * gy - sum_gy - xhat * sum_gy_xhat)
        ggamma = sum_gy_xhat if self.needs_grad[1] else None
        gbeta = sum_gy if self.needs_grad[2] else None
        return gx, ggamma, gbeta, None, None, None, None, None


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None,
               training: bool = False, momentum: float = 0.99, epsilon: float = 1e-3,
               relu: bool = False):
    """Batch normalization over all axes but the last.

    training=True normalizes with the batch statistics and updates running_mean /
    running_var (arrays, in place) as moving = momentum·moving + (1 − momentum)·batch, the
    variance unbiased (× M/(M − 1)) as in PyTorch; training=False uses the running ones.
    relu=True returns max(BN(x), 0), in training computed in the normalization's own
    passes (hubel.models.fusion uses it for a BatchNormalization -> ReLU pair).
    """
    from hubel.ops import elementwise as ew

    if training:
        return BatchNorm.apply(x, gamma, beta, epsilon, running_mean, running_var, momentum,
                               relu)
    if relu:
        return _relu(batch_norm(x, gamma, beta, running_mean, running_var, False, momentum,
                                epsilon))
    xp = get_array_module(running_var)
    inv = 1.0 / xp.sqrt(running_var + epsilon)
    scale = inv if gamma is None else ew.mul(gamma, inv)
    shift = ew.mul(scale, -running_mean) if gamma is not None else -running_mean * inv
    if beta is not None:  # fold β into the per-channel shift: one pass over x, not two
        shift = ew.add(shift, beta)
    return ChannelAffine.apply(x, scale, shift)


class ChannelAffine(Function):
    """y = x·s + t per channel (last axis): inference batch norm in one pass.
    gx = gy·s,  gs = Σ gy·x,  gt = Σ gy (sums over all axes but the last)."""

    def forward(self, x, scale, shift):
        self.x = x if self.needs_grad[1] else None
        self.scale = scale
        return channel_affine(x, scale, shift)

    def backward(self, gy):
        lead = gy.ndim - 1
        gx = gy * self.scale if self.needs_grad[0] else None
        gs = leading_sum(gy * self.x, lead) if self.needs_grad[1] else None
        gt = leading_sum(gy, lead) if self.needs_grad[2] else None
        return gx, gs, gt


def _update(running_mean, running_var, mean, var, m: int, momentum: float) -> None:
    unbiased = var * (m / max(m - 1, 1))
    running_mean *= momentum
    running_mean += (1 - momentum) * mean
    running_var *= momentum
    running_var += (1 - momentum) * unbiased

