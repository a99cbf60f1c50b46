"""Save and load models as ONE .safetensors file: the weights as tensors, and in the
file's metadata the JSON architecture, the hubel version, and (for checkpoints) the
optimizer state and the training state. Nothing is ever unpickled: a model file cannot
run code. Writes are atomic: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

_OPT = "__optimizer__/"
_serializable: dict[str, type] = {}


def register_serializable(cls: type) -> type:
    """Make a custom Layer class loadable by name (a decorator); hubel.layers' classes are
    known already."""
    _serializable[cls.__name__] = cls
    return cls


def _layer_classes(custom_objects: dict | None) -> dict:
    from hubel import layers as L
    from hubel.models.model import Model
    from hubel.models.sequential import Sequential

    table = {n: getattr(L, n) for n in L.__all__}
    table.update(_serializable)
    table.update({"Model": Model, "Sequential": Sequential})
    table.update(custom_objects or {})
    return table


def deserialize_layer(spec: dict, custom_objects: dict | None = None):
    """A layer from {'class_name', 'config'}; unknown names raise a clear error."""
    table = _layer_classes(custom_objects)
    name = spec.get("class_name")
    if name not in table:
        raise ValueError(f"unknown layer class {name!r} in the model config; pass it in "
                         f"custom_objects={{'{name}': cls}} or decorate it with "
                         "hubel.models.register_serializable")
    cls = table[name]
    if hasattr(cls, "graph") or name in ("Model", "Sequential"):
        return cls.from_config(spec["config"], custom_objects)
    return cls.from_config(spec["config"])


def save_model(model, path, include_optimizer: bool = False, training_state: dict | None = None,
               metadata: dict | None = None) -> None:
    """Write the model to `path` (.safetensors) atomically."""
    from safetensors.numpy import save_file

    from hubel.version import __version__

    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built: call it on data (or build it) "
                         "before saving")
    weights = model.weights
    tensors = {}
    for w in weights:
        if w.name in tensors:
            raise ValueError(f"Model '{model.name}': two weights are named {w.name!r}; give "
                             "the layers unique names before saving")
        if w.data.dtype.kind not in "biuf":
            raise ValueError(f"Model '{model.name}': weight {w.name!r} has dtype "
                             f"{w.data.dtype}; only numeric arrays can be saved")
        tensors[w.name] = np.ascontiguousarray(w.data)
    meta = {"format": "hubel", "hubel_version": __version__,
            "class_name": type(model).__name__,
            "config": json.dumps(model.get_config()),
            "weights": json.dumps([w.name for w in weights])}
    trainer = getattr(model, "trainer", None)
    if include_optimizer and trainer is not None:
        opt = trainer.optimizer.state_dict()
        index = {w.name: i for i, w in enumerate(weights)}  # slots by weight position, so
        for key, slots in opt["slots"].items():             # a model rebuilt with other
            for slot, arr in slots.items():                 # layer names gets them back
                tensors[f"{_OPT}{index.get(key, key)}/{slot}"] = np.ascontiguousarray(arr)
        meta["optimizer"] = json.dumps({"class_name": opt["class_name"],
                                        "config": opt["config"],
                                        "iterations": opt["iterations"]})
    if training_state is not None:
        meta["training_state"] = json.dumps(training_state)
    metadata = metadata if metadata is not None else getattr(model, "metadata", None)
    if metadata:
        meta["user"] = json.dumps(metadata)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_file(path):
    """(tensors, metadata) of a hubel .safetensors file, with clear errors."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable .safetensors model file (truncated, "
                         f"corrupted or another format): {e}") from None
    if meta.get("format") != "hubel":
        raise ValueError(f"{path}: a .safetensors file, but not a hubel model (no hubel "
                         "metadata); load foreign weights with hubel.io")
    return tensors, meta


def read_metadata(path) -> dict:
    """The user metadata stored with `model.save(path, metadata=...)` ({} if none)."""
    _, meta = read_file(path)
    return json.loads(meta.get("user", "{}"))


def _assign(model, tensors: dict, path) -> None:
    weights = model.weights
    names = {w.name for w in weights}
    stored = {k for k in tensors if not k.startswith(_OPT)}
    missing, unexpected = sorted(names - stored), sorted(stored - names)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match model '{model.name}': missing "
                         f"{missing}, unexpected {unexpected}")
    for w in weights:
        a = tensors[w.name]
        if a.shape != w.data.shape:
            raise ValueError(f"{path}: weight {w.name!r} has shape {a.shape} in the file, "
                             f"the model expects {w.data.shape}")
    for w in weights:
        w.data = np.array(tensors[w.name], dtype=w.data.dtype)


def load_model(path, custom_objects: dict | None = None, compile: bool = True):
    """Rebuild a Sequential, functional or zoo model from its file (no pickle); with a
    stored optimizer the model comes back compiled with it."""
    from hubel.models.model import Model
    from hubel.models.sequential import Sequential

    tensors, meta = read_file(path)
    try:
        config = json.loads(meta["config"])
    except (KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the architecture metadata is missing or corrupted ({e})") \
            from None
    cls = {"Sequential": Sequential, "Model": Model}.get(meta.get("class_name"))
    if cls is None:
        cls = _layer_classes(custom_objects).get(meta.get("class_name"))
    if cls is None or "layers" not in config:
        raise ValueError(f"{path}: holds a subclassed model ({meta.get('class_name')}); "
                         "create it in Python and call model.load_weights(path)")
    model = cls.from_config(config, custom_objects)
    if not model.built:
        raise ValueError(f"{path}: the stored architecture has no input shape")
    _assign(model, tensors, path)
    if compile and "optimizer" in meta:
        _restore_optimizer_only(model, tensors, meta)
    return model


def _restore_optimizer_only(model, tensors, meta) -> None:
    from hubel import optimizers

    spec = json.loads(meta["optimizer"])
    cls = getattr(optimizers, spec["class_name"], None)
    if cls is None:
        return
    model.optimizer_state = (cls, spec, tensors)


def load_weights_into(model, path) -> None:
    """Weights by name when the names match, else by the order stored in the file."""
    tensors, meta = read_file(path)
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built: call it on data before "
                         "load_weights")
    names = {w.name for w in model.weights}
    if names == {k for k in tensors if not k.startswith(_OPT)}:
        _assign(model, tensors, path)
        return
    order = json.loads(meta.get("weights", "[]"))
    weights = model.weights
    if len(order) != len(weights):
        raise ValueError(f"{path}: holds {len(order)} weights, model '{model.name}' has "
                         f"{len(weights)}")
    for w, key in zip(weights, order):
        if tensors[key].shape != w.data.shape:
            raise ValueError(f"{path}: weight {key!r} has shape {tensors[key].shape}, the "
                             f"model's {w.name!r} expects {w.data.shape}")
    for w, key in zip(weights, order):
        w.data = np.array(tensors[key], dtype=w.data.dtype)


def load_into(model, path, optimizer=None) -> dict:
    """Load weights (and optimizer state if given) from `path` into an existing model;
    returns the stored training state ({} if none)."""
    load_weights_into(model, path)
    tensors, meta = read_file(path)
    if optimizer is not None and "optimizer" in meta:
        spec = json.loads(meta["optimizer"])
        slots: dict = {}
        names = [w.name for w in model.weights]
        for k, arr in tensors.items():
            if k.startswith(_OPT):
                key, slot = k[len(_OPT):].rsplit("/", 1)
                key = names[int(key)] if key.isdigit() and int(key) < len(names) else key
                slots.setdefault(key, {})[slot] = arr
        optimizer.load_state_dict({"iterations": spec["iterations"], "slots": slots})
    return json.loads(meta.get("training_state", "{}"))
