"""Optimizers by object and by name ('sgd', 'adam')."""

from hubel.optimizers.adam import Adam
from hubel.optimizers.optimizer import Optimizer
from hubel.optimizers.sgd import SGD

_NAMES = {"sgd": SGD, "adam": Adam}


def get(identifier) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', ...) or an Optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; known: {', '.join(sorted(_NAMES))}")


__all__ = ["Optimizer", "SGD", "Adam", "get"]
