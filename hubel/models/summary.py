"""model.summary(): per layer the output shape, parameters, activation values per example
and multiply-adds, found by running one example through the model and recording every
layer call (so Sequential, functional and subclassed models are summarized alike).

Activations: the number of output values of each layer for one example; × 4 bytes gives
the forward memory (the lecture's VGG16 table: ~24M values ≈ 93 MB per image, input
included). Multiply-adds (MACs): Dense in·out; convolution ∏out·F·∏kernel·C/groups.
"""

from __future__ import annotations

import numpy as np

from hubel.layers.layer import Layer


def _shape(t) -> tuple:
    if isinstance(t, (list, tuple)):
        return [_shape(v) for v in t]
    return tuple(t.shape)


def _macs(layer, in_shape, out_shape) -> int:
    if hasattr(layer, "count_macs"):
        return int(layer.count_macs(in_shape, out_shape))
    units = getattr(layer, "units", None)
    if units is not None and hasattr(layer, "kernel"):
        return int(np.prod(out_shape[1:])) * int(layer.kernel.shape[0])
    return 0


def trace(model, input_shape) -> list[dict]:
    """Run one zero example; record (layer, depth, parent, input/output shapes) per call."""
    from hubel.autograd.grad_mode import no_grad
    from hubel.models.fusion import no_fusion
    from hubel.tensor import Tensor

    records: list[dict] = []
    stack: list[int] = []
    original = Layer.__call__

    def recording_call(self, *args, **kwargs):
        rec = {"layer": self, "depth": len(stack), "parent": stack[-1] if stack else None,
               "in": _shape(args[0] if len(args) == 1 else list(args))}
        records.append(rec)
        stack.append(len(records) - 1)
        try:
            out = original(self, *args, **kwargs)
        finally:
            stack.pop()
        rec["out"] = _shape(out)
        return out

    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    xs = [Tensor(np.zeros((1, *s), np.float32)) for s in shapes]
    Layer.__call__ = recording_call
    try:
        with no_grad(), no_fusion():  # every layer's own call, none folded into another
            model(*xs, training=False)
    finally:
        Layer.__call__ = original
    return records


def _input_shapes(model, input_shape):
    if input_shape is not None:
        return input_shape
    if getattr(model, "graph", None) is not None:
        shapes = [tuple(t.shape[1:]) for t in model.graph.inputs]
        return shapes if len(shapes) > 1 else shapes[0]
    if getattr(model, "input_shape", None) is not None:
        return tuple(model.input_shape)
    raise ValueError(f"summary of model '{model.name}' needs input_shape=(...) (it has not "
                     "seen data yet)")


def summary_rows(model, input_shape=None) -> list[dict]:
    """One dict per layer called directly by the model: name, type, output_shape, params,
    trainable_params, non_trainable_params, activations, macs."""
    records = trace(model, _input_shapes(model, input_shape))
    macs = [0] * len(records)
    for i in range(len(records) - 1, -1, -1):
        r = records[i]
        children = [j for j in range(len(records)) if records[j]["parent"] == i]
        own = _macs(r["layer"], r["in"], r["out"]) if not children else 0
        macs[i] = own + sum(macs[j] for j in children)
    rows = []
    for i, r in enumerate(records):
        if r["depth"] != 1:
            continue
        lay = r["layer"]
        trainable = sum(w.data.size for w in lay.trainable_weights)
        total = sum(w.data.size for w in lay.weights)
        out = r["out"] if not isinstance(r["out"], list) else r["out"][0]
        rows.append({"name": lay.name, "type": type(lay).__name__,
                     "output_shape": (None, *out[1:]), "params": total,
                     "trainable_params": trainable, "non_trainable_params": total - trainable,
                     "activations": int(np.prod(out[1:])), "macs": macs[i]})
    return rows


def format_summary(model, rows: list[dict]) -> str:
    """The printed table with totals."""
    head = f"{'Layer (type)':34}{'Output shape':22}{'Param #':>13}{'Activations':>13}" \
           f"{'Mult-adds':>16}"
    lines = [f'Model: "{model.name}"', "─" * len(head), head, "─" * len(head)]
    for r in rows:
        lines.append(f"{r['name'] + ' (' + r['type'] + ')':34}{str(r['output_shape']):22}"
                     f"{r['params']:>13,}{r['activations']:>13,}{r['macs']:>16,}")
    total = sum(w.data.size for w in model.weights)
    trainable = sum(w.data.size for w in model.trainable_weights)
    acts = sum(r["activations"] for r in rows)
    macs = sum(r["macs"] for r in rows)
    lines += ["─" * len(head),
              f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Activations per example: {acts:,} (≈ {acts * 4 / 2**20:.1f} MiB in float32, "
              "forward only, input not counted)",
              f"Multiply-adds per example: {macs:,} (≈ {macs / 1e9:.2f} G)"]
    return "\n".join(lines)



