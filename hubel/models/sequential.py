"""Sequential: a plain stack of layers, each feeding the next.

    >>> from hubel.models import Sequential
    >>> from hubel.layers import Dense
    >>> model = Sequential()
    >>> model.add(Dense(units=64, activation='relu', input_dim=100))
    >>> model.add(Dense(units=10, activation='softmax'))
    >>> model.count_params()
    7114
"""

from __future__ import annotations

from hubel.layers.input_layer import InputLayer, SymbolicTensor
from hubel.layers.layer import Layer
from hubel.models import fusion
from hubel.models.model import Model

_LAYER, _FOLDED, _WITH_RELU = range(3)  # how Sequential.call runs a layer (or a chain)


class Sequential(Model):
    """A linear stack of layers; the input size is optional (layers build on first data)."""

    def __init__(self, layers=None, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.stack: list[Layer] = []
        self.input_shape = None
        self._plans: dict = {}  # (fusion mode, layers) -> the steps of call (_steps)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (or an `Input(shape=...)`, which fixes the input size)."""
        if isinstance(layer, SymbolicTensor):
            self.input_shape = tuple(layer.shape[1:])
            return
        if isinstance(layer, InputLayer):
            self.input_shape = tuple(layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a Layer, got "
                            f"{type(layer).__name__}")
        if any(lay.name == layer.name for lay in self.stack):
            raise ValueError(f"Sequential '{self.name}': a layer named {layer.name!r} is "
                             "already in the model")
        if not self.stack and self.input_shape is None and layer.input_shape_arg is not None:
            self.input_shape = tuple(layer.input_shape_arg)
        self.stack.append(layer)
        if self.input_shape is None:
            self.built = False
        elif self.built:  # extend the built stack by one layer
            self._output_shape = _build_layer(layer, self._output_shape)
        else:
            self.build((None, *self.input_shape))

    def pop(self) -> Layer:
        layer = self.stack.pop()
        self.built = False
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self.stack)

    def sublayers(self) -> list[Layer]:
        return list(self.stack)

    def build(self, input_shape=None) -> None:
        """Build every layer from the input shape (batch axis first)."""
        shape = tuple(input_shape) if input_shape is not None else (None, *self.input_shape)
        self.input_shape = shape[1:]
        for layer in self.stack:
            shape = _build_layer(layer, shape)
        self._output_shape = shape
        self.built = True

    def build_from(self, inputs) -> None:
        if self.input_shape is None:
            self.input_shape = tuple(inputs[0].shape[1:])
        self.build((None, *self.input_shape))

    def call(self, x, training: bool = False):
        layers = self.stack
        for kind, i, with_relu in self._steps(fusion.fusing(training),
                                              fusion.relu_pairs_enabled()):
            if kind == _LAYER:
                x = layers[i](x, training=training)
            elif kind == _FOLDED:  # Conv -> BN (-> ReLU) as one convolution
                x = fusion.folded_conv(layers[i], layers[i + 1], x, with_relu)
            else:  # BN -> ReLU or Add -> ReLU as one node
                x = fusion.call_with_relu(layers[i], (x,), training)
        return x

    def _steps(self, fuse: bool, pairs: bool) -> list:
        """[(kind, index of the first layer, with a ReLU)]: how call runs the stack, found
        once per fusion mode for the layers in it (a dozen type checks per layer that a
        call of mlp's three Dense layers spent 30 µs on)."""
        key = (fuse, pairs, tuple(map(id, self.stack)))
        found = self._plans.get(key)
        if found is not None:
            return found
        layers, i, steps = self.stack, 0, []
        while i < len(layers):
            if fuse and fusion.chain_starts(layers[i:i + 2]):
                with_relu = i + 2 < len(layers) and fusion.is_relu(layers[i + 2])
                steps.append((_FOLDED, i, with_relu))
                i += 3 if with_relu else 2
            elif (pairs and i + 1 < len(layers) and fusion.is_relu(layers[i + 1])
                    and fusion.absorbs_relu(layers[i])):
                steps.append((_WITH_RELU, i, True))
                i += 2
            else:
                steps.append((_LAYER, i, False))
                i += 1
        if all(layer.built for layer in layers):  # (folding needs built layers)
            if len(self._plans) >= 4:
                self._plans.clear()
            self._plans[key] = steps
        return steps

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [{"class_name": type(lay).__name__, "config": lay.get_config()}
                           for lay in self.stack]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Sequential:
        from hubel.models.saving import deserialize_layer

        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model.input_shape = tuple(config["input_shape"])
        for spec in config["layers"]:
            model.add(deserialize_layer(spec, custom_objects))
        return model


def _build_layer(layer: Layer, shape: tuple) -> tuple:
    """Build `layer` for inputs of `shape`; returns its output shape."""
    if not layer.built:
        layer.build(shape)
        layer.built = True
    return tuple(layer.compute_output_shape(shape))
