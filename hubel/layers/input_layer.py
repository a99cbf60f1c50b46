"""Input and symbolic tensors: the functional API's graph is recorded by calling layers on
`Input(shape=...)`.

    >>> from hubel.layers import Input, Dense
    >>> inputs = Input(shape=(784,))
    >>> Dense(64, activation="relu")(inputs).shape
    (None, 64)

A SymbolicTensor holds a shape (batch axis None) and the Node that made it: the layer, the
symbolic inputs it was called on, and the call's keyword arguments. `hubel.models.Model`
walks these nodes to run the graph on real data.
"""

from __future__ import annotations

import numpy as np

from hubel.layers.layer import Layer


class Node:
    """One call of a layer in a functional graph."""

    def __init__(self, layer: Layer, inputs: tuple, kwargs: dict):
        self.layer, self.inputs, self.kwargs = layer, inputs, kwargs

    def input_tensors(self) -> list[SymbolicTensor]:
        return _flatten(list(self.inputs))


class SymbolicTensor:
    """A placeholder with a shape, produced by `Input` or by a layer called on one."""

    def __init__(self, shape: tuple, dtype: str, node: Node, index: int = 0,
                 name: str | None = None):
        self.shape, self.dtype, self.node, self.index = tuple(shape), dtype, node, index
        self.name = name or node.layer.name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} from {self.node.layer.name!r}>"


class InputLayer(Layer):
    """The layer behind `Input`: it passes data through and records the expected shape."""

    def __init__(self, shape: tuple, name: str | None = None, dtype: str = "float32",
                 batch_size: int | None = None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.shape = tuple(shape)
        self.batch_size = batch_size
        self.built = True

    def call(self, x):
        return x

    def get_config(self) -> dict:
        return {"shape": list(self.shape), "name": self.name, "dtype": self.dtype,
                "batch_size": self.batch_size}


def Input(shape, name: str | None = None, dtype: str = "float32",  # noqa: N802 - Keras name
          batch_size: int | None = None) -> SymbolicTensor:
    """A symbolic model input of `shape` (without the batch axis)."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    layer = InputLayer(shape, name=name, dtype=dtype, batch_size=batch_size)
    return SymbolicTensor((batch_size,) + shape, dtype, Node(layer, (), {}), name=layer.name)


def _flatten(x) -> list:
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flatten(item)]
    return [x]


def _shape_structure(x):
    if isinstance(x, (list, tuple)):
        return [_shape_structure(v) for v in x]
    return x.shape


def call_symbolic(layer: Layer, inputs: tuple, kwargs: dict):
    """Record `layer(*inputs)` on symbolic tensors; returns symbolic output(s)."""
    shapes = _shape_structure(inputs[0] if len(inputs) == 1 else list(inputs))
    if not layer.built:
        layer.build(shapes)
        layer.built = True
    out_shape = layer.compute_output_shape(shapes)
    node = Node(layer, inputs, kwargs)
    dtype = layer.dtype
    if isinstance(out_shape, list):
        return [SymbolicTensor(s, dtype, node, i) for i, s in enumerate(out_shape)]
    return SymbolicTensor(out_shape, dtype, node)
