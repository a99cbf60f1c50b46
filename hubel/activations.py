"""Activation functions by name: `get('relu')` gives the function used by
`Dense(..., activation='relu')` and every other layer's `activation=` argument."""

from __future__ import annotations

from collections.abc import Callable

from hubel.ops import activation as A

_TABLE: dict[str, Callable] = {
    "linear": A.linear,
    "identity": A.linear,
    "relu": A.relu,
    "sigmoid": A.sigmoid,
    "logistic": A.sigmoid,
    "tanh": A.tanh,
    "softmax": A.softmax,
    "log_softmax": A.log_softmax,
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
