"""Pooling layers (SPEC L4): max and average pooling 1-D/2-D/3-D, and global pooling.

Keras's names and defaults: `pool_size`, `strides` (default: `pool_size`, so windows tile
the input), `padding` ('valid', 'same' — TensorFlow's rule for every stride — or explicit
ints per side). Channels-last input. The math lives in hubel/ops/pool.py.

    >>> from hubel.layers import MaxPooling2D
    >>> MaxPooling2D(pool_size=3, strides=2).compute_output_shape((None, 55, 55, 96))
    (None, 27, 27, 96)
"""

from __future__ import annotations

from hubel.layers.layer import Layer
from hubel.ops import pool

_LAYOUTS = {1: "(N, W, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


def _config_value(value):
    """A tuple (or nested tuples) as JSON-friendly lists; strings and ints unchanged."""
    if isinstance(value, (list, tuple)):
        return [_config_value(v) for v in value]
    return value


class _Pooling(Layer):
    """Windowed max/average pooling; subclasses set `kind` ('max'|'avg') and `nd`.

    Average pooling leaves padding out of the count (Keras) unless count_include_pad=True
    (PyTorch's default); max pooling has no such option.
    """

    kind = "max"
    nd = 2

    def __init__(self, pool_size=2, strides=None, padding="valid",
                 count_include_pad: bool = False, **kwargs):
        super().__init__(**kwargs)
        if count_include_pad and self.kind == "max":
            raise TypeError(f"{self._label()}: count_include_pad applies to average "
                            "pooling only")
        self.count_include_pad = bool(count_include_pad)
        nd = self.nd
        self.pool_size = pool.as_tuple(pool_size, nd, "pool_size", self._label())
        self.strides = self.pool_size if strides is None else pool.as_tuple(
            strides, nd, "strides", self._label())
        self.padding = padding.lower() if isinstance(padding, str) else _config_value(padding)
        self.input_spec = {"ndim": nd + 2, "layout": _LAYOUTS[nd]}

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)  # errors and warnings at build time
        self.built = True

    def call(self, x):
        return pool.pool_nd(self.kind, x, self.nd, self.pool_size, self.strides,
                            self.padding, self.count_include_pad, label=self._label())

    def compute_output_shape(self, input_shape):
        _, _, _, out = pool.pool_geometry(tuple(input_shape), self.nd, self.pool_size,
                                          self.strides, self.padding, self._label())
        return (input_shape[0], *out, input_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides),
                      padding=self.padding)
        if self.kind == "avg":
            config["count_include_pad"] = self.count_include_pad
        return config


class MaxPooling1D(_Pooling):
    """Max over windows of `pool_size` steps: (N, W, C) -> (N, W', C)."""

    kind, nd = "max", 1


class MaxPooling2D(_Pooling):
    """Max over pool_size windows of each feature map: (N, H, W, C) -> (N, H', W', C).

    H' = ⌊(H + P − F)/S⌋ + 1 (P the total padding). On ties the first maximum (row-major
    in the window) receives the gradient, as in PyTorch.
    """

    kind, nd = "max", 2


class MaxPooling3D(_Pooling):
    """Max over pool_size volumes: (N, D, H, W, C) -> (N, D', H', W', C)."""

    kind, nd = "max", 3


class AveragePooling1D(_Pooling):
    """Mean over windows of `pool_size` steps: (N, W, C) -> (N, W', C)."""

    kind, nd = "avg", 1


class AveragePooling2D(_Pooling):
    """Mean over pool_size windows of each feature map: (N, H, W, C) -> (N, H', W', C).

    With padding='same' the edge windows average only the real pixels (Keras/TensorFlow);
    count_include_pad=True divides by the full window instead (PyTorch's default).
    """

    kind, nd = "avg", 2


class AveragePooling3D(_Pooling):
    """Mean over pool_size volumes: (N, D, H, W, C) -> (N, D', H', W', C)."""

    kind, nd = "avg", 3


class _GlobalPooling(Layer):
    """Pool each channel over all positions; subclasses set `kind` and `nd`."""

    kind = "avg"
    nd = 2

    def __init__(self, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)
        self.input_spec = {"ndim": self.nd + 2, "layout": _LAYOUTS[self.nd]}

    def call(self, x):
        return pool.global_pool(self.kind, x, self.nd, self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.nd + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config["keepdims"] = self.keepdims
        return config


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (N, W, C) -> (N, C) ((N, 1, C) with keepdims)."""

    kind, nd = "avg", 1


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean of each feature map (GoogLeNet, ResNet heads): (N, H, W, C) -> (N, C)."""

    kind, nd = "avg", 2


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean of each volume: (N, D, H, W, C) -> (N, C)."""

    kind, nd = "avg", 3


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (N, W, C) -> (N, C)."""

    kind, nd = "max", 1


class GlobalMaxPooling2D(_GlobalPooling):
    """Max of each feature map: (N, H, W, C) -> (N, C); first maximum gets the gradient."""

    kind, nd = "max", 2


class GlobalMaxPooling3D(_GlobalPooling):
    """Max of each volume: (N, D, H, W, C) -> (N, C)."""

    kind, nd = "max", 3
