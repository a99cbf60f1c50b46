"""Core layers: Dense (fully connected, f = xW + b), Activation, Dropout."""

from __future__ import annotations

from hubel import activations
from hubel.layers.layer import Layer
from hubel.ops.dropout import dropout
from hubel.ops.linalg import affine


class Dense(Layer):
    """Fully connected layer: y = activation(x @ W + b).

    Args:
        units: number of output features.
        activation: name or function (None: linear).
        use_bias: add the bias b.
        kernel_initializer, bias_initializer: names or callables (glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer: penalties added to the training loss.

    Shape: (..., in) -> (..., units); kernel W (in, units), bias b (units,).

        >>> import numpy as np
        >>> Dense(3)(np.ones((2, 4), np.float32)).shape
        (2, 3)
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"{self._label()}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer

    def build(self, input_shape) -> None:
        fan_in = input_shape[-1]
        self.kernel = self.add_weight("kernel", (fan_in, self.units), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)
        self.input_spec = {"min_ndim": 2, "axes": {-1: fan_in}, "layout": "(N, ..., features)"}
        self.built = True

    def call(self, x):
        if self.activation is activations.relu:  # ReLU runs in the bias pass
            return affine(x, self.kernel, self.bias, relu=True)
        return self.activation(affine(x, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _name(self.kernel_initializer),
                "bias_initializer": _name(self.bias_initializer),
                "kernel_regularizer": _name(self.kernel_regularizer),
                "bias_regularizer": _name(self.bias_regularizer)}


class Activation(Layer):
    """Applies an activation function by name or callable: Activation('relu')."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x):
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: zeroes each input with probability `rate` in training and scales
    the rest by 1/(1 − rate); identity in inference."""

    def __init__(self, rate: float, noise_shape=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{self._label()}: rate must be in [0, 1), got {rate}")
        self.rate, self.noise_shape = float(rate), noise_shape

    def call(self, x, training: bool = False):
        return dropout(x, self.rate, training, self.noise_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape}


def _name(x):
    """A JSON-able description of an initializer/regularizer argument."""
    if x is None or isinstance(x, (str, int, float)):
        return x
    if hasattr(x, "get_config"):
        return {"class_name": type(x).__name__, "config": x.get_config()}
    return getattr(x, "__name__", repr(x))
