"""Automatic differentiation: Function, the backward engine, no_grad and gradcheck."""

from hubel.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]
