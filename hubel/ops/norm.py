"""Batch normalization (Ioffe & Szegedy 2015) over every axis but the last (features /
channels-last), with its backward written out.

    μ = mean(x), σ² = var(x) over the batch (and spatial) axes, x̂ = (x − μ)/√(σ² + ε),
    y = γ·x̂ + β
    gx = γ/(M·√(σ² + ε)) · (M·gy − Σgy − x̂·Σ(gy·x̂)),  gγ = Σ gy·x̂,  gβ = Σ gy

Shapes: x (..., C), γ and β (C,), M = number of elements per channel.
"""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import get_array_module


class BatchNorm(Function):
    """Training-mode batch normalization; updates the running averages (arrays, in place)
    when they are given."""

    def forward(self, x, gamma, beta, epsilon, running_mean=None, running_var=None,
                momentum=0.99):
        xp = get_array_module(x)
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        xc = x - mean
        var = (xc * xc).mean(axis=axes)
        inv = 1.0 / xp.sqrt(var + epsilon)
        xhat = xc * inv
        if running_mean is not None:
            _update(running_mean, running_var, mean, var, x.size // x.shape[-1], momentum)
        y = xhat * gamma if gamma is not None else xhat
        if beta is not None:
            y += beta
        self.xhat, self.inv, self.gamma, self.axes = xhat, inv, gamma, axes
        return y

    def backward(self, gy):
        axes, xhat = self.axes, self.xhat
        m = xhat.size // xhat.shape[-1]
        sum_gy = gy.sum(axis=axes)
        sum_gy_xhat = (gy * xhat).sum(axis=axes)
        gx = None
        if self.needs_grad[0]:
            scale = self.inv / m if self.gamma is None else self.gamma * self.inv / m
            gx = scale * (m * gy - sum_gy - xhat * sum_gy_xhat)
        ggamma = sum_gy_xhat if self.needs_grad[1] else None
        gbeta = sum_gy if self.needs_grad[2] else None
        return gx, ggamma, gbeta, None, None, None, None


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None,
               training: bool = False, momentum: float = 0.99, epsilon: float = 1e-3):
    """Batch normalization over all axes but the last.

    training=True normalizes with the batch statistics and updates running_mean /
    running_var (arrays, in place) as moving = momentum·moving + (1 − momentum)·batch, the
    variance unbiased (× M/(M − 1)) as in PyTorch; training=False uses the running ones.
    """
    from hubel.ops import elementwise as ew

    if training:
        return BatchNorm.apply(x, gamma, beta, epsilon, running_mean, running_var, momentum)
    xp = get_array_module(running_var)
    inv = 1.0 / xp.sqrt(running_var + epsilon)
    scale = inv if gamma is None else ew.mul(gamma, inv)
    shift = ew.mul(scale, -running_mean) if gamma is not None else -running_mean * inv
    y = ew.add(ew.mul(x, scale), shift)
    return y if beta is None else ew.add(y, beta)


def _update(running_mean, running_var, mean, var, m: int, momentum: float) -> None:
    unbiased = var * (m / max(m - 1, 1))
    running_mean *= momentum
    running_mean += (1 - momentum) * mean
    running_var *= momentum
    running_var += (1 - momentum) * unbiased

