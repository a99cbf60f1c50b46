"""Foreign weights: load a PyTorch state dict into a hubel model.

PyTorch modules list their tensors in the order their layers are created, and each layer's
tensors in the same order as hubel's (conv/linear: weight, bias; batch norm: weight, bias,
running_mean, running_var), so the two lists are matched by position — for the zoo's
architectures, written in the layer order of the reference implementations (torchvision's
ResNet and VGG among them), and for any model built the same way. Layouts are converted at
this boundary:

    conv kernel      (out, in/groups, *k)  ->  (*k, in/groups, out)
    transposed conv  (in, out, *k)         ->  (*k, out, in)
    linear           (out, in)             ->  (in, out), and for the first Dense after a
                     Flatten of an (H, W, C) map the rows go from C·H·W to H·W·C order
    batch norm       weight, bias, running_mean, running_var -> gamma, beta, moving_*
(`num_batches_tracked` is skipped). Every shape is checked; a mismatch raises one error
listing each pair that does not fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_state_dict(path) -> dict[str, np.ndarray]:
    """A PyTorch state dict as NumPy arrays: .safetensors (no torch needed) or .pt/.pth
    (needs torch; loaded with weights_only=True, which never runs pickled code)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            state = load_file(str(path))
        except Exception as e:  # noqa: BLE001 - safetensors raises several types
            raise ValueError(f"{path}: not a readable .safetensors file: {e}") from None
        return {k: state[k] for k in sorted(state, key=_module_order)}
    if path.suffix in (".pt", ".pth", ".bin"):
        try:
            import torch
        except ImportError:
            raise ValueError(f"{path}: reading .pt/.pth files needs PyTorch; convert it to "
                             ".safetensors or install torch") from None
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        return {k: v.detach().cpu().numpy() for k, v in state.items()}
    raise ValueError(f"{path}: unknown weights format (expected .safetensors, .pt or .pth)")


_PARAM_ORDER = {"weight": 0, "bias": 1, "running_mean": 2, "running_var": 3,
                "num_batches_tracked": 4}


def _module_order(key: str) -> tuple:
    """Sort key that restores creation order for numbered modules (nn.Sequential, ModuleList).

    A .safetensors file stores its keys sorted by name, so "10.weight" comes before
    "2.weight" and "bias" before "weight". Numbers compare as numbers and each module's
    tensors go back to PyTorch's order. Named modules ("conv1", "bn1") cannot be restored
    this way; for those pass the state dict itself or a .pt file.
    """
    prefix, _, leaf = key.rpartition(".")
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prefix.split("."))
    return parts, _PARAM_ORDER.get(leaf, 5), leaf


def _flatten_inputs(model, input_shape) -> dict[int, tuple]:
    """{id(Dense layer): (H, W, C)} for each Dense fed directly by a Flatten of a map."""
    from hubel.layers import Dense, Flatten
    from hubel.models.summary import _input_shapes, trace

    records = trace(model, input_shape or _input_shapes(model, None))
    found, last_flatten = {}, None
    for r in records:
        layer = r["layer"]
        if isinstance(layer, Flatten):
            last_flatten = tuple(r["in"][1:]) if len(r["in"]) > 2 else None
        elif isinstance(layer, Dense):
            if last_flatten is not None:
                found[id(layer)] = last_flatten
            last_flatten = None
        elif layer._weights:  # a layer with weights between them: no direct feed
            last_flatten = None
    return found


def _convert(w, array: np.ndarray, flatten_shape) -> np.ndarray:
    shape = tuple(w.data.shape)
    a = np.asarray(array)
    if a.ndim >= 3:  # convolution kernels: (o, i, *k) or transposed (i, o, *k)
        n = a.ndim
        a = a.transpose(list(range(2, n)) + [1, 0])  # also (i, o, *k) -> (*k, o, i)
    elif a.ndim == 2:
        a = a.T
        if flatten_shape is not None and a.shape[0] == int(np.prod(flatten_shape)):
            *spatial, c = flatten_shape
            # torch's flattened index is (c, h, w); hubel's is (h, w, c)
            a = a.reshape(c, *spatial, -1).transpose(*range(1, len(spatial) + 1), 0,
                                                     len(spatial) + 1).reshape(a.shape)
    if a.shape != shape:
        raise _Mismatch(shape, a.shape)
    return np.ascontiguousarray(a, dtype=w.data.dtype)


class _Mismatch(Exception):
    def __init__(self, want, got):
        self.want, self.got = want, got


def load_torch_weights(model, source, input_shape=None) -> None:
    """Copy a PyTorch state dict (a dict of arrays/tensors or a file path) into `model`.

    The model must be built (zoo models are). `input_shape` (without the batch axis) is
    needed only for a subclassed model that has not seen data.
    """
    state = read_state_dict(source) if isinstance(source, (str, Path)) else {
        k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
        for k, v in source.items()}
    items = [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]
    owners = []
    for layer in model._walk():
        owners += [(w, layer) for w in layer._weights]
    flat = _flatten_inputs(model, input_shape)
    problems = []
    if len(items) != len(owners):
        problems.append(f"the state dict has {len(items)} tensors, model '{model.name}' has "
                        f"{len(owners)} weights")
    converted = []
    for (key, array), (w, layer) in zip(items, owners):
        try:
            converted.append((w, _convert(w, array, flat.get(id(layer)))))
        except _Mismatch as m:
            problems.append(f"{key} {tuple(np.shape(array))} -> {w.name} {m.want}: shapes "
                            "do not fit")
    if len(items) > len(owners):
        problems.append("unexpected: " + ", ".join(k for k, _ in items[len(owners):]))
    if len(owners) > len(items):
        problems.append("missing: " + ", ".join(w.name for w, _ in owners[len(items):]))
    if problems:
        raise ValueError(f"cannot load the PyTorch weights into '{model.name}':\n  "
                         + "\n  ".join(problems))
    for w, a in converted:
        w.data = a
