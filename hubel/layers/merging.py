"""Layers that merge several inputs (SPEC L5): Concatenate (Inception's filter
concatenation), Add (the residual H(x) = F(x) + x), Subtract, Multiply, Average, Maximum,
Minimum. Called on a list, as in Keras: `Add()([x, shortcut])`.

    >>> from hubel.layers import Concatenate
    >>> Concatenate().compute_output_shape([(None, 28, 28, 64), (None, 28, 28, 32)])
    (None, 28, 28, 96)
"""

from __future__ import annotations

from hubel.layers.layer import Layer
from hubel.ops import elementwise as ew
from hubel.ops import shape as sh
from hubel.ops.activation import add_relu


def _inputs(layer: Layer, inputs: tuple) -> list:
    """The tensors of `layer([a, b])` or `layer(a, b)`, at least two of them."""
    xs = list(inputs[0]) if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) \
        else list(inputs)
    if len(xs) < 2:
        raise ValueError(f"{layer._label()}: expects a list of at least 2 inputs, got "
                         f"{len(xs)}")
    return xs


class Concatenate(Layer):
    """Join inputs along `axis` (default: channels); all other axes must agree."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check(self, shapes) -> int:
        ndim = len(shapes[0])
        axis = self.axis % ndim if -ndim <= self.axis < ndim else None
        if axis is None or axis == 0 or any(len(s) != ndim for s in shapes):
            raise ValueError(f"{self._label()}: cannot concatenate inputs of shapes "
                             f"{[tuple(s) for s in shapes]} along axis {self.axis}")
        for i in range(ndim):
            sizes = {s[i] for s in shapes if s[i] is not None}
            if i != axis and len(sizes) > 1:
                raise ValueError(f"{self._label()}: inputs of shapes "
                                 f"{[tuple(s) for s in shapes]} differ on axis {i}; only "
                                 f"axis {self.axis} may differ")
        return axis

    def call(self, *inputs):
        xs = _inputs(self, inputs)
        axis = self._check([x.shape for x in xs])
        return sh.concatenate(xs, axis=axis)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        axis = self._check(shapes)
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        return config


class _Elementwise(Layer):
    """Merge equally shaped inputs elementwise; subclasses define `merge(xs)`."""

    def _check(self, shapes) -> tuple:
        first = tuple(shapes[0])
        for s in shapes[1:]:
            same = len(s) == len(first) and all(
                a is None or b is None or a == b for a, b in zip(s, first))
            if not same:
                raise ValueError(f"{self._label()}: all inputs must have the same shape, "
                                 f"got {[tuple(t) for t in shapes]}")
        return first

    def call(self, *inputs):
        xs = _inputs(self, inputs)
        self._check([x.shape for x in xs])
        return self.merge(xs)

    def compute_output_shape(self, input_shape):
        return self._check([tuple(s) for s in input_shape])

    def merge(self, xs):
        raise NotImplementedError


class Add(_Elementwise):
    """y = x₁ + x₂ + … (the residual connection H(x) = F(x) + x)."""

    def merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = ew.add(y, x)
        return y

    def call(self, *inputs, relu: bool = False):
        """relu=True: max(x₁ + x₂ + …, 0), the last sum and the ReLU in one pass
        (hubel.models.fusion: Add -> ReLU, the end of a residual block)."""
        if not relu:
            return super().call(*inputs)
        xs = _inputs(self, inputs)
        self._check([x.shape for x in xs])
        return add_relu(self.merge(xs[:-1]), xs[-1])


class Subtract(_Elementwise):
    """y = x₁ − x₂ (exactly two inputs)."""

    def merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"{self._label()}: expects exactly 2 inputs, got {len(xs)}")
        return ew.sub(xs[0], xs[1])


class Multiply(_Elementwise):
    """y = x₁ · x₂ · … elementwise (gating)."""

    def merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = ew.mul(y, x)
        return y


class Average(_Elementwise):
    """y = (x₁ + … + x_m) / m."""

    def merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = ew.add(y, x)
        return ew.div(y, float(len(xs)))


class Maximum(_Elementwise):
    """y = max(x₁, x₂, …) elementwise."""

    def merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = ew.maximum(y, x)
        return y


class Minimum(_Elementwise):
    """y = min(x₁, x₂, …) elementwise."""

    def merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = ew.minimum(y, x)
        return y
