"""Layers that only move data (SPEC L5): Flatten, Reshape, ZeroPadding1D/2D/3D,
Cropping1D/2D/3D. Channels-last; the batch axis is never touched.

    >>> from hubel.layers import Flatten, ZeroPadding2D
    >>> Flatten().compute_output_shape((None, 5, 5, 16))
    (None, 400)
    >>> ZeroPadding2D(((1, 2), (3, 4))).compute_output_shape((None, 8, 8, 3))
    (None, 11, 15, 3)
"""

from __future__ import annotations

import math

from hubel.layers.layer import Layer
from hubel.ops import shape as sh

_LAYOUTS = {1: "(N, W, C)", 2: "(N, H, W, C)", 3: "(N, D, H, W, C)"}


class Flatten(Layer):
    """Everything but the batch axis in one row: (N, d₁, …, d_k) -> (N, d₁·…·d_k)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = {"min_ndim": 1}

    def call(self, x):
        return sh.reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))


class Reshape(Layer):
    """Each example to `target_shape` (batch axis kept); one entry may be −1 (inferred).

        >>> Reshape((4, -1)).compute_output_shape((None, 2, 6))
        (None, 4, 3)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(n) for n in target_shape)
        unknown = [n for n in self.target_shape if n == -1]
        if len(unknown) > 1 or any(n < -1 or n == 0 for n in self.target_shape):
            raise ValueError(f"{self._label()}: target_shape {self.target_shape} may hold "
                             "positive sizes and at most one -1")

    def _resolve(self, input_shape) -> tuple:
        rest = input_shape[1:]
        if None in rest:
            return self.target_shape if -1 not in self.target_shape else tuple(
                None if n == -1 else n for n in self.target_shape)
        size = math.prod(rest)
        known = math.prod(n for n in self.target_shape if n != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"{self._label()}: cannot reshape an input of shape "
                                 f"{tuple(input_shape)} ({size} values per example) to "
                                 f"target_shape {self.target_shape}: {size} is not a "
                                 f"multiple of {known}")
            return tuple(size // known if n == -1 else n for n in self.target_shape)
        if size != known:
            raise ValueError(f"{self._label()}: cannot reshape an input of shape "
                             f"{tuple(input_shape)} ({size} values per example) to "
                             f"target_shape {self.target_shape} ({known} values)")
        return self.target_shape

    def call(self, x):
        return sh.reshape(x, (x.shape[0],) + self._resolve(x.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self) -> dict:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


def _pairs(value, nd: int, what: str, label: str) -> tuple:
    """Keras's forms: an int (all sides), nd ints (symmetric per axis), or nd pairs."""
    if isinstance(value, int):
        return ((value, value),) * nd
    value = list(value)
    if nd == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return ((int(value[0]), int(value[1])),)
    if len(value) == nd and all(isinstance(v, int) for v in value):
        return tuple((int(v), int(v)) for v in value)
    if len(value) == nd and all(len(v) == 2 for v in value):
        return tuple((int(a), int(b)) for a, b in value)
    raise ValueError(f"{label}: {what} must be an int, {nd} ints or {nd} (before, after) "
                     f"pairs, got {value}")


def _init_spatial(layer: Layer, amounts, what: str) -> None:
    """Store per-side amounts (padding or cropping) and the input spec on a layer."""
    layer.amounts = _pairs(amounts, layer.nd, what, layer._label())
    if min(min(p) for p in layer.amounts) < 0:
        raise ValueError(f"{layer._label()}: {what} must not be negative, got "
                         f"{layer.amounts}")
    layer.input_spec = {"ndim": layer.nd + 2, "layout": _LAYOUTS[layer.nd]}


class _ZeroPadding(Layer):
    """Zeros around the spatial axes; subclasses set `nd`."""

    nd = 2

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        _init_spatial(self, padding, "padding")

    def get_config(self) -> dict:
        config = super().get_config()
        config["padding"] = [list(p) for p in self.amounts]
        return config

    def call(self, x):
        return sh.pad(x, ((0, 0), *self.amounts, (0, 0)))

    def compute_output_shape(self, input_shape):
        mid = tuple(None if n is None else n + a + b
                    for n, (a, b) in zip(input_shape[1:-1], self.amounts))
        return (input_shape[0], *mid, input_shape[-1])


class ZeroPadding1D(_ZeroPadding):
    """Zeros before/after the steps: padding = int or (left, right). (N, W, C)."""

    nd = 1


class ZeroPadding2D(_ZeroPadding):
    """Zero rows and columns around each feature map: padding = int, (h, w) or
    ((top, bottom), (left, right)). (N, H, W, C) -> (N, H + t + b, W + l + r, C)."""

    nd = 2


class ZeroPadding3D(_ZeroPadding):
    """Zeros around each volume: int, (d, h, w) or three (before, after) pairs."""

    nd = 3


class _Cropping(Layer):
    """Positions dropped at the edges of the spatial axes; subclasses set `nd`."""

    nd = 2

    def __init__(self, cropping=0, **kwargs):
        super().__init__(**kwargs)
        _init_spatial(self, cropping, "cropping")

    def get_config(self) -> dict:
        config = super().get_config()
        config["cropping"] = [list(p) for p in self.amounts]
        return config

    def _check(self, input_shape):
        for axis, (n, (a, b)) in enumerate(zip(input_shape[1:-1], self.amounts)):
            if n is not None and a + b >= n:
                raise ValueError(f"{self._label()}: cropping {(a, b)} removes all {n} "
                                 f"positions of spatial axis {axis} (input shape "
                                 f"{tuple(input_shape)})")

    def call(self, x):
        self._check(x.shape)
        index = tuple(slice(a, n - b) for n, (a, b) in zip(x.shape[1:-1], self.amounts))
        return sh.getitem(x, (slice(None), *index, slice(None)))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        mid = tuple(None if n is None else n - a - b
                    for n, (a, b) in zip(input_shape[1:-1], self.amounts))
        return (input_shape[0], *mid, input_shape[-1])


class Cropping1D(_Cropping):
    """Drop steps at the start/end: cropping = int or (start, end). (N, W, C)."""

    nd = 1


class Cropping2D(_Cropping):
    """Drop rows/columns at the edges: int, (h, w) or ((top, bottom), (left, right))."""

    nd = 2


class Cropping3D(_Cropping):
    """Drop positions at the edges of each volume: int, (d, h, w) or three pairs."""

    nd = 3
