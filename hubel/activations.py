"""Activation functions by name: `get('relu')` gives the function used by
`Dense(..., activation='relu')` and every other layer's `activation=` argument.

The lecture's table (SPEC A), each with its derivative (computed by its Function's
backward, so `derivative(name)(x)` needs no formula of its own): identity, binary step,
logistic (sigmoid), tanh, arctan, ReLU, leaky ReLU (α 0.01), very leaky ReLU (α 0.3),
randomized ReLU (α ~ U(l, u) in training), ELU, softplus, centered softplus, noisy ReLU,
Gaussian; the learnable ones (PReLU, APL, maxout) are layers in hubel.layers.
"""

from __future__ import annotations

from collections.abc import Callable

from hubel.ops import activation as A

relu = A.relu  # hubel.activations.relu, as in Keras; the layers fuse it into their bias pass

_TABLE: dict[str, Callable] = {
    "linear": A.linear,
    "identity": A.linear,
    "relu": A.relu,
    "sigmoid": A.sigmoid,
    "logistic": A.sigmoid,
    "tanh": A.tanh,
    "softmax": A.softmax,
    "log_softmax": A.log_softmax,
    "leaky_relu": A.leaky_relu,
    "very_leaky_relu": A.very_leaky_relu,
    "elu": A.elu,
    "softplus": A.softplus,
    "centered_softplus": A.centered_softplus,
    "arctan": A.arctan,
    "binary_step": A.binary_step,
    "gaussian": A.gaussian,
    "rrelu": A.rrelu,
    "noisy_relu": A.noisy_relu,
}


def get(identifier) -> Callable:
    """The activation function for a name, a callable, or None (identity)."""
    if identifier is None:
        return A.linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _TABLE:
        return _TABLE[identifier.lower()]
    raise ValueError(f"unknown activation {identifier!r}; known: {', '.join(sorted(_TABLE))}")


def serialize(fn) -> str | None:
    """The registered name of an activation function (for get_config), else its __name__."""
    if fn is None:
        return None
    for name, f in _TABLE.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", str(fn))


def derivative(identifier):
    """f'(x) of an activation, elementwise, by backpropagating ones through it."""
    import numpy as np

    from hubel.tensor import Tensor

    f = get(identifier)

    def df(x):
        t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
        y = f(t)
        if y is t:
            return np.ones_like(t.data)
        y.backward(np.ones_like(y.data))
        return t.grad

    return df
