"""Layer: the one lifecycle every layer follows (Keras's, without its inheritance tower).

    __init__(config) -> build(input_shape) -> call(x, training) -> get_config()

`build` runs once, on the first call, from the input's shape (batch axis first, given as
None), and creates weights through `add_weight`. Users never pass input channels.
Parameters are found by walking the layer's attributes: a Layer, or a list/tuple/dict of
Layers, held in an attribute is a sublayer; nothing needs registering.

Training mode: `layer(x, training=True)`; when `training` is not given, the caller's mode
is inherited (a model called with training=True runs its dropout in training mode), else
the layer's own flag set by `train()` / `eval()` (False by default, as in Keras).
"""

from __future__ import annotations

import contextlib
import inspect
import re

import numpy as np

from hubel.tensor import Tensor

_name_counts: dict[str, int] = {}
_current_training: list[bool] = []  # the training mode of the enclosing layer calls
_takes_training: dict[type, bool] = {}
_LEAVES = frozenset((type(None), bool, int, float, str, Tensor, np.ndarray, np.dtype,
                     type(len), type(lambda: 0)))  # attribute types that hold no Layer


def unique_name(base: str) -> str:
    """`base`, then `base_1`, `base_2`, ... (Keras naming)."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Restart automatic layer naming (as `keras.backend.clear_session`)."""
    _name_counts.clear()


def snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


@contextlib.contextmanager
def training_mode(flag: bool):
    """Run the enclosed layer calls in training (True) or inference (False) mode."""
    _current_training.append(bool(flag))
    try:
        yield
    finally:
        _current_training.pop()


class Layer:
    """Base class of all layers: weights, lazy build, training mode, config.

    Args:
        name: unique name (default: the class name in snake_case, numbered).
        trainable: False freezes every weight of the layer (no gradient is computed).
        input_shape / input_dim: optional explicit input size without the batch axis, so
            that a Sequential model can be built before it sees data.
        dtype: weight dtype (float32).
    """

    def __init__(self, name: str | None = None, trainable: bool = True,
                 input_shape: tuple | None = None, input_dim: int | None = None,
                 dtype: str = "float32", batch_input_shape: tuple | None = None):
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = np.dtype(dtype).name
        self.built = False
        self.training = False
        self.input_spec: dict | None = None  # {"ndim": n | "min_ndim": n, "axes": {a: size}}
        self._weights: list[Tensor] = []
        self._weight_trainable: list[bool] = []
        self._regularizers: list[tuple] = []
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_dim is not None:
            input_shape = (int(input_dim),)
        self.input_shape_arg = None if input_shape is None else tuple(input_shape)

    # --- lifecycle ---------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of `input_shape` (batch axis first, may be None)."""
        self.built = True

    def call(self, x, training: bool = False):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def __call__(self, *inputs, training: bool | None = None, **kwargs):
        for x in inputs:  # (Tensors only, the common case, skip the checks below)
            if type(x) is not Tensor:
                if type(x) is np.ndarray and len(inputs) == 1:  # (one array: a batch)
                    inputs = (_to_tensor(x),)
                    break
                from hubel.layers.input_layer import SymbolicTensor, call_symbolic

                if any(isinstance(x, (SymbolicTensor, list, tuple)) and _has_symbolic(x)
                       for x in inputs):
                    return call_symbolic(self, inputs, kwargs)
                inputs = tuple(_to_tensor(x) for x in inputs)
                break
        if not self.built:
            self.build_from(inputs)
        if self.input_spec is not None:
            self.check_input(inputs[0])
        if training is None:
            training = _current_training[-1] if _current_training else self.training
        _current_training.append(bool(training))  # (training_mode, inlined: every call)
        try:
            if _call_takes_training(type(self)):
                return self.call(*inputs, training=training, **kwargs)
            return self.call(*inputs, **kwargs)
        finally:
            _current_training.pop()

    def build_from(self, inputs) -> None:
        """Build from example inputs (Tensors or nested lists of them)."""
        shapes = _shapes_of(inputs[0] if len(inputs) == 1 else list(inputs))
        self.build(shapes)
        self.built = True

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape` (batch axis first, may be None).

        The default runs the layer on a zero batch of one example without recording the
        graph; layers override it when the arithmetic is cheap to state.
        """
        from hubel.autograd.grad_mode import no_grad

        def example(shape):
            if isinstance(shape, list):
                return [example(s) for s in shape]
            return Tensor(np.zeros((1,) + tuple(shape[1:]), dtype=self.dtype))

        with no_grad():
            x = example(input_shape)
            y = self(*x, training=False) if isinstance(x, list) else self(x, training=False)
        first = input_shape
        while isinstance(first, list):
            first = first[0]
        return _rebatch(_shapes_of(y), first[0])

    def check_input(self, x) -> None:
        """Raise a ValueError naming the layer when `x` does not fit `input_spec`."""
        spec, shape = self.input_spec, tuple(x.shape)
        layout = spec.get("layout", "")
        ndim = spec.get("ndim")
        if ndim is not None and len(shape) != ndim:
            raise ValueError(f"{self._label()}: expected {ndim}-D input {layout}".rstrip()
                             + f", got shape {shape}")
        min_ndim = spec.get("min_ndim")
        if min_ndim is not None and len(shape) < min_ndim:
            raise ValueError(f"{self._label()}: expected input of at least {min_ndim} "
                             f"dimensions {layout}".rstrip() + f", got shape {shape}")
        for axis, size in spec.get("axes", {}).items():
            if shape[axis] != size:
                raise ValueError(
                    f"{self._label()}: expected axis {axis} of the input to have size {size}"
                    f" (the layer was built for it), got shape {shape}"
                )

    def _label(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    # --- weights -----------------------------------------------------------------------
    def add_weight(self, name: str, shape, initializer="glorot_uniform", regularizer=None,
                   trainable: bool = True, dtype=None) -> Tensor:
        """Create, initialize and track a weight; returns it (a Tensor)."""
        from hubel import initializers, regularizers

        shape = tuple(int(n) for n in shape)
        dtype = np.dtype(dtype or self.dtype)
        value = np.asarray(initializers.get(initializer)(shape, dtype=dtype), dtype=dtype)
        w = Tensor(value, requires_grad=trainable and self._trainable,
                   name=f"{self.name}/{name}")
        self._weights.append(w)
        self._weight_trainable.append(bool(trainable))
        if regularizer is not None:
            self._regularizers.append((w, regularizers.get(regularizer)))
        return w

    def sublayers(self) -> list[Layer]:
        """Direct sublayers, found in the attributes (Layers and lists/dicts of Layers)."""
        found, seen = [], set()
        for value in vars(self).values():
            kind = type(value)
            if kind in _LEAVES:  # (most attributes: a walk runs twice per training step)
                continue
            items = value.values() if isinstance(value, dict) else (
                value if isinstance(value, (list, tuple)) else (value,))
            for item in items:
                if isinstance(item, Layer) and id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
        return found

    def _walk(self) -> list[Layer]:
        """This layer and every layer below it, each once, depth first."""
        order, seen, stack = [], set(), [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            order.append(layer)
            stack.extend(reversed(layer.sublayers()))
        return order

    def _weight_flags(self, layers=None) -> list[tuple[Tensor, bool]]:
        """(weight, trainable) of `layers` (default: this layer's walk), each weight once."""
        pairs, seen = [], set()
        for layer in self._walk() if layers is None else layers:
            for w, t in zip(layer._weights, layer._weight_trainable):
                if id(w) not in seen:
                    seen.add(id(w))
                    pairs.append((w, t and layer.trainable))
        return pairs

    @property
    def weights(self) -> list[Tensor]:
        """All weights of this layer and its sublayers, in creation order (Keras order)."""
        return [w for w, _ in self._weight_flags()]

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [w for w, t in self._weight_flags() if t]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [w for w, t in self._weight_flags() if not t]

    def parameters(self) -> list[Tensor]:
        """The trainable weights (PyTorch's name)."""
        return self.trainable_weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        """Freeze (False) or unfreeze this layer and all its sublayers."""
        for layer in self._walk():
            layer._trainable = bool(flag)
            for w, t in zip(layer._weights, layer._weight_trainable):
                w.requires_grad = t and bool(flag)

    @property
    def losses(self) -> list[Tensor]:
        """Regularization penalties λ·Penalty(w) of this layer and its sublayers."""
        return [reg(w) for layer in self._walk() for w, reg in layer._regularizers]

    def _training_lists(self) -> tuple[list[Tensor], list[Tensor]]:
        """(trainable_weights, losses) from one walk over the layers: a training step
        needs both (the walk costs 7-150 us per model, mlp to ResNet-20)."""
        cls = type(self)
        if cls.trainable_weights is not Layer.trainable_weights or \
                cls.losses is not Layer.losses:  # (a subclass decides them itself)
            return self.trainable_weights, self.losses
        layers = self._walk()
        return ([w for w, t in self._weight_flags(layers) if t],
                [reg(w) for layer in layers for w, reg in layer._regularizers])

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as arrays, in Keras order and layout."""
        return [np.array(w.data) for w in self.weights]

    def set_weights(self, arrays) -> None:
        """Load arrays (Keras order and layout) into the weights, checking every shape."""
        weights = self.weights
        arrays = list(arrays)
        if len(arrays) != len(weights):
            raise ValueError(f"{self._label()}: set_weights got {len(arrays)} arrays, the "
                             f"layer has {len(weights)} weights")
        for w, a in zip(weights, arrays):
            a = np.asarray(a)
            if a.shape != w.data.shape:
                raise ValueError(f"{self._label()}: weight {w.name!r} has shape "
                                 f"{w.data.shape}, got an array of shape {a.shape}")
        for w, a in zip(weights, arrays):
            w.data = np.array(a, dtype=w.data.dtype)

    def count_params(self) -> int:
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"{self._label()} is not built yet: call it on data or build() "
                             "it before count_params()")
        return int(sum(w.data.size for w in self.weights))

    def state_dict(self) -> dict[str, np.ndarray]:
        """{weight name: array} (PyTorch-style access to the same weights)."""
        return {w.name: w.data for w in self.weights}

    def load_state_dict(self, state: dict) -> None:
        """Load arrays by weight name; every weight must be present with its shape."""
        weights = {w.name: w for w in self.weights}
        missing = sorted(set(weights) - set(state))
        unexpected = sorted(set(state) - set(weights))
        if missing or unexpected:
            raise KeyError(f"{self._label()}: missing weights {missing}, unexpected {unexpected}")
        self.set_weights([state[w.name] for w in self.weights])

    def zero_grad(self) -> None:
        for w in self.weights:
            w.grad = None

    def train(self, mode: bool = True) -> Layer:
        """Put this layer and its sublayers in training mode (PyTorch style)."""
        for layer in self._walk():
            layer.training = mode
        return self

    def eval(self) -> Layer:
        return self.train(False)

    # --- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments as a JSON-serializable dict."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def extra_repr(self) -> str:
        config = self.get_config()
        for key in ("name", "trainable", "dtype", "input_shape"):
            config.pop(key, None)
        return ", ".join(f"{k}={v!r}" for k, v in config.items())

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}({extra + ', ' if extra else ''}name={self.name!r})"


def _to_tensor(x):
    if type(x) is np.ndarray and x.dtype in _KEPT_DTYPES:  # (a batch: no copy, no checks)
        return Tensor._from_op(x, None)
    if isinstance(x, Tensor) or isinstance(x, (list, tuple)):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and arr.dtype != np.float32 and arr.dtype != np.float64:
        arr = arr.astype(np.float32)
    return Tensor(arr)


_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # taken as they are by layers


def _shapes_of(x):
    if isinstance(x, (list, tuple)):
        return [_shapes_of(v) for v in x]
    return tuple(x.shape)


def _rebatch(shapes, batch):
    if isinstance(shapes, list):
        return [_rebatch(s, batch) for s in shapes]
    return (batch,) + tuple(shapes[1:])


def _has_symbolic(x) -> bool:
    from hubel.layers.input_layer import SymbolicTensor

    if isinstance(x, (list, tuple)):
        return any(_has_symbolic(v) for v in x)
    return isinstance(x, SymbolicTensor)


def _call_takes_training(cls: type) -> bool:
    takes = _takes_training.get(cls)
    if takes is None:
        takes = "training" in inspect.signature(cls.call).parameters
        _takes_training[cls] = takes
    return takes
