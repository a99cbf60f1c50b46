"""Convolution layers (channels-last): Conv1D, Conv2D, Conv3D and the transposed forms.

    >>> import numpy as np
    >>> Conv2D(32, 3, activation="relu")(np.zeros((1, 28, 28, 1), np.float32)).shape
    (1, 26, 26, 32)
"""

from __future__ import annotations

import numpy as np

from hubel import activations
from hubel.layers.core import _name
from hubel.layers.layer import Layer
from hubel.ops import conv as C


class Conv(Layer):
    """Convolution over `rank` spatial axes: y = activation(conv(x, W) + b).

    Args:
        filters: number of output channels F.
        kernel_size: int or one int per spatial axis.
        strides: int or tuple (default 1).
        padding: 'valid', 'same' (TensorFlow's rule for every stride and dilation), an int,
            or one int / (before, after) pair per spatial axis.
        dilation_rate: spacing D between kernel taps.
        groups: split channels into independent convolutions (C and F divisible by it).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer: as in Dense.

    Shape: (N, *spatial, C) -> (N, *out, F), out = ⌊(N + P − ((F − 1)·D + 1)) / S⌋ + 1 per
    axis; kernel (*kernel_size, C / groups, F).
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid",
                 dilation_rate=1, groups: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        nd = self.rank
        self.filters = int(filters)
        self.kernel_size = C._tuple(kernel_size, nd, f"{self._label()}: kernel_size")
        self.strides = C._tuple(strides, nd, f"{self._label()}: strides")
        self.dilation_rate = C._tuple(dilation_rate, nd, f"{self._label()}: dilation_rate")
        self.padding = padding.lower() if isinstance(padding, str) else padding
        self.groups = int(groups)
        if self.filters <= 0 or self.filters % self.groups:
            raise ValueError(f"{self._label()}: filters ({filters}) must be positive and "
                             f"divisible by groups ({groups})")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape) -> None:
        nd = self.rank
        if len(input_shape) != nd + 2:
            raise ValueError(f"{self._label()}: expected {nd + 2}-D input {self._layout()}, "
                             f"got shape {tuple(input_shape)}")
        c = input_shape[-1]
        if c % self.groups:
            raise ValueError(f"{self._label()}: the input's {c} channels are not divisible by "
                             f"groups={self.groups} ({c} / {self.groups} = "
                             f"{c / self.groups:.2f})")
        self.kernel = self.add_weight("kernel", (*self.kernel_size, c // self.groups,
                                                 self.filters),
                                      self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)
        self.input_spec = {"ndim": nd + 2, "axes": {-1: c}, "layout": self._layout()}
        self.checked_sizes: set = set()  # spatial sizes whose geometry was checked (warned)
        self.built = True

    def _layout(self) -> str:
        return {1: "(N, W, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}[self.rank]

    def call(self, x):
        fused = self.activation is activations.relu  # ReLU runs in the bias pass
        y = self.convolve(x, self.kernel, self.bias, relu=fused)
        return y if fused else self.activation(y)

    def convolve(self, x, kernel, bias, relu: bool = False):
        """conv(x, kernel) + bias with this layer's strides, padding, dilation and groups,
        through max(·, 0) if relu (also used with a batch norm folded into kernel and bias:
        hubel.models.fusion)."""
        sizes = tuple(x.shape[1:-1])
        warn = sizes not in self.checked_sizes  # warn once per input size, not every step
        self.checked_sizes.add(sizes)
        return C.conv(x, kernel, bias, self.strides, self.padding, self.dilation_rate,
                      self.groups, self._label(), warn, relu=relu)

    def compute_output_shape(self, input_shape):
        shape = tuple(1 if n is None else n for n in input_shape)
        if self.built:
            self.checked_sizes.add(tuple(shape[1:-1]))
        _, out = C.conv_geometry(shape, self.kernel_size, self.strides, self.padding,
                                 self.dilation_rate, self._label())
        return (input_shape[0], *out, self.filters)

    def count_macs(self, input_shape, output_shape) -> int:
        """Multiply-adds per example: ∏out · F · ∏kernel · C / groups."""
        k = int(np.prod(self.kernel_size))
        return int(np.prod(output_shape[1:])) * k * (input_shape[-1] // self.groups)

    def get_config(self) -> dict:
        padding = self.padding if isinstance(self.padding, (str, int)) else [
            list(p) if isinstance(p, (tuple, list)) else p for p in self.padding]
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": padding, "dilation_rate": list(self.dilation_rate),
                "groups": self.groups, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _name(self.kernel_initializer),
                "bias_initializer": _name(self.bias_initializer),
                "kernel_regularizer": _name(self.kernel_regularizer),
                "bias_regularizer": _name(self.bias_regularizer)}


class Conv1D(Conv):
    """1-D convolution over (N, W, C)."""

    rank = 1


class Conv2D(Conv):
    """2-D convolution over (N, H, W, C) (the CNN layer of the lectures)."""

    rank = 2


class Conv3D(Conv):
    """3-D convolution over (N, D, H, W, C)."""

    rank = 3


class ConvTranspose(Layer):
    """Transposed convolution (learned upsampling, convolutional autoencoders).

    Shape: (N, *in, C) -> (N, *out, F) with out = (in − 1)·S + (K − 1)·D + 1 − P
    ('same': out = in·S); kernel (*kernel_size, F, C) as in Keras.
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid",
                 output_padding=None, dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        nd = self.rank
        self.filters = int(filters)
        self.kernel_size = C._tuple(kernel_size, nd, f"{self._label()}: kernel_size")
        self.strides = C._tuple(strides, nd, f"{self._label()}: strides")
        self.dilation_rate = C._tuple(dilation_rate, nd, f"{self._label()}: dilation_rate")
        self.padding = padding
        self.output_padding = output_padding
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape) -> None:
        c = input_shape[-1]
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, c),
                                      self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)
        self.input_spec = {"ndim": self.rank + 2, "axes": {-1: c}}
        self.built = True

    def call(self, x):
        y = C.conv_transpose(x, self.kernel, self.bias, self.strides, self.padding,
                             self.dilation_rate, self.output_padding, self._label())
        return self.activation(y)

    def count_macs(self, input_shape, output_shape) -> int:
        return int(np.prod(input_shape[1:])) * int(np.prod(self.kernel_size)) * self.filters

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "output_padding": self.output_padding,
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": _name(self.kernel_initializer),
                "bias_initializer": _name(self.bias_initializer),
                "kernel_regularizer": _name(self.kernel_regularizer),
                "bias_regularizer": _name(self.bias_regularizer)}


class Conv1DTranspose(ConvTranspose):
    rank = 1


class Conv2DTranspose(ConvTranspose):
    rank = 2


class Conv3DTranspose(ConvTranspose):
    rank = 3
