"""The array interface (`xp`): ops ask here for the array module instead of importing numpy.

`get_array_module(*arrays)` returns the module that owns the arrays (NumPy today; CuPy can
be added by registering it here), so a GPU backend needs no change in the ops.
"""

from __future__ import annotations

import numpy

from hubel.backends import memory, threads  # noqa: F401  (threading layer, malloc reuse)

_array_modules: list = []  # extra modules (e.g. cupy), consulted before numpy


def register_array_module(module, array_type) -> None:
    """Register another array module; arrays of `array_type` are then computed with it."""
    _array_modules.append((module, array_type))


def get_array_module(*arrays):
    """The array module (numpy-compatible namespace) that owns `arrays`."""
    for module, array_type in _array_modules:
        if any(isinstance(a, array_type) for a in arrays):
            return module
    return numpy


xp = numpy  # the default module, for code that creates arrays from nothing
