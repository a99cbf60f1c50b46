"""One random generator for the whole framework: `hubel.seed(n)` makes a run reproducible.

Initializers, dropout, noise, data shuffling and augmentation all draw from `rng()`.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def seed(n: int) -> None:
    """Seed every random draw in hubel (initialization, dropout, noise, shuffling).

    The generator is reseeded in place, so a reference kept from `rng()` stays valid.
    """
    _generator.bit_generator.state = np.random.default_rng(n).bit_generator.state


def rng() -> np.random.Generator:
    """The framework's random generator."""
    return _generator


def get_state() -> dict:
    """The generator state as a JSON-serializable dict (for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    """Restore a state returned by `get_state`."""
    _generator.bit_generator.state = state
