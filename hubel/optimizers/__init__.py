"""Optimizers by object and by name ('sgd', 'rmsprop', 'adam', 'adagrad', 'adamw'), and
learning-rate schedules."""

from hubel.optimizers.adagrad import Adagrad
from hubel.optimizers.adam import Adam
from hubel.optimizers.adamw import AdamW
from hubel.optimizers.optimizer import Optimizer
from hubel.optimizers.rmsprop import RMSprop
from hubel.optimizers.schedules import CosineDecay, ExponentialDecay, ReduceOnPlateau, StepDecay
from hubel.optimizers.sgd import SGD

_NAMES = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad, "adamw": AdamW}


def get(identifier) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', ...) or an Optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; known: {', '.join(sorted(_NAMES))}")


__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "Adagrad", "AdamW", "StepDecay",
           "ExponentialDecay", "CosineDecay", "ReduceOnPlateau", "get"]
