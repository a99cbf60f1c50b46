"""Model: a Layer that can be compiled, trained, evaluated, summarized and saved.

Three ways to make one, all trained the same way:
- functional: `Model(inputs=Input(...), outputs=...)`, any DAG, several inputs/outputs;
- Sequential (hubel.models.Sequential): a stack of layers;
- subclassing: define layers in `__init__` and the forward pass in `call()` (PyTorch style).

`fit`, `evaluate` and `predict` live in hubel.training.Trainer, which the model uses.
"""

from __future__ import annotations

from hubel.layers.layer import Layer
from hubel.models.functional import Graph, _flat


class Model(Layer):
    """A trainable network. `Model(inputs, outputs)` builds a functional model; subclasses
    define `call()` instead."""

    def __init__(self, inputs=None, outputs=None, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.graph = None
        self.trainer = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model(inputs=..., outputs=...) needs both")
            self.graph = Graph(inputs, outputs)
            self._graph_layers = self.graph.layers()
            self.built = True

    # --- running -----------------------------------------------------------------------
    def call(self, *xs, training: bool = False):
        if self.graph is None:
            raise NotImplementedError(f"{type(self).__name__} must define call() or be built "
                                      "as Model(inputs=..., outputs=...)")
        if len(xs) == 1 and isinstance(xs[0], (list, tuple)) and len(self.graph.inputs) > 1:
            xs = tuple(xs[0])
        if len(xs) != len(self.graph.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.graph.inputs)} inputs, "
                             f"got {len(xs)}")
        return self.graph.run(list(xs), training)

    def build_from(self, inputs) -> None:
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        """The model's layers (functional: in graph order, without Input layers)."""
        from hubel.layers.input_layer import InputLayer

        if self.graph is not None:
            return [lay for lay in self._graph_layers if not isinstance(lay, InputLayer)]
        return self.sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name (searched in nested models too) or by index."""
        if index is not None:
            return self.layers[index]
        for layer in self._walk():
            if layer.name == name and layer is not self:
                return layer
        raise ValueError(f"Model '{self.name}' has no layer named {name!r}; layers: "
                         f"{[lay.name for lay in self.layers]}")

    def sublayers(self) -> list[Layer]:
        if self.graph is not None:
            return list(self._graph_layers)
        return super().sublayers()

    # --- training (delegated to hubel.training.Trainer) ---------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                jit_compile: bool = False) -> None:
        """Choose optimizer, loss(es) and metrics, by object or by name. jit_compile=True
        records the training step once and replays it without building the graph again
        (hubel/training/traced.py); its results equal the eager step's."""
        from hubel.training.trainer import Trainer

        self.trainer = Trainer(self, optimizer, loss, metrics, loss_weights,
                               jit_compile=jit_compile)

    def _trainer(self):
        if self.trainer is None:
            raise RuntimeError(f"Model '{self.name}' must be compiled before training or "
                               "evaluation: call model.compile(optimizer=..., loss=...)")
        return self.trainer

    @property
    def optimizer(self):
        return self._trainer().optimizer

    def fit(self, x=None, y=None, **kwargs):
        """Train; see hubel.training.Trainer.fit. Returns a History."""
        return self._trainer().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Loss and metrics on data; see hubel.training.Trainer.evaluate."""
        return self._trainer().evaluate(x, y, **kwargs)

    def predict(self, x, batch_size: int = 32, verbose: int = 0):
        """Outputs for x as arrays, in batches, without recording a graph."""
        from hubel.training.trainer import predict

        return predict(self, x, batch_size, verbose)

    def train_on_batch(self, x, y) -> dict:
        """One optimizer step on one batch; returns the batch's loss and metrics."""
        return self._trainer().train_step(x, y)

    def test_on_batch(self, x, y) -> dict:
        return self._trainer().test_step(x, y)

    # --- inspection and saving ---------------------------------------------------------
    def summary(self, input_shape=None, print_fn=print, as_data: bool = False):
        """Per layer: name, type, output shape, parameters, activations, multiply-adds."""
        from hubel.models.summary import format_summary, summary_rows

        rows = summary_rows(self, input_shape)
        if as_data:
            return rows
        print_fn(format_summary(self, rows))
        return None

    def save(self, path, include_optimizer: bool = False, metadata: dict | None = None) -> None:
        """Write ONE .safetensors file: weights + JSON architecture (+ training state)."""
        from hubel.models.saving import save_model

        save_model(self, path, include_optimizer=include_optimizer, metadata=metadata)

    def load_weights(self, path) -> None:
        """Load the weights of a model file into this (already built) model: by weight
        name, or — for a new instance of a subclassed model, whose automatic layer names
        differ — by the stored order, every shape checked."""
        from hubel.models.saving import load_weights_into

        load_weights_into(self, path)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        if self.graph is not None:
            config["layers"] = [{"class_name": type(lay).__name__, "config": lay.get_config()}
                                for lay in self._graph_layers]
            config["graph"] = self.graph.get_config()
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        from hubel.models.functional import rebuild
        from hubel.models.saving import deserialize_layer

        if "graph" not in config:
            raise ValueError(f"cannot rebuild a subclassed model {cls.__name__} from config; "
                             "create it in Python and load its weights")
        layers = {}
        for spec in config["layers"]:
            layer = deserialize_layer(spec, custom_objects)
            layers[layer.name] = layer
        inputs, outputs = rebuild(config["graph"], layers)
        return cls(inputs=inputs if len(inputs) > 1 else inputs[0], outputs=outputs,
                   name=config.get("name"))

    @property
    def inputs(self):
        return None if self.graph is None else self.graph.inputs

    @property
    def outputs(self):
        return None if self.graph is None else _flat(self.graph.outputs)
