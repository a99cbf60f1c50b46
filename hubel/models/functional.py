"""The functional graph: the Nodes recorded by calling layers on `Input`s, ordered so that
every node runs after the nodes that feed it."""

from __future__ import annotations

from hubel.layers.input_layer import InputLayer, Node, SymbolicTensor
from hubel.models import fusion


def _flat(x) -> list:
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in _flat(item)]
    return [x]


def _map(x, fn):
    if isinstance(x, (list, tuple)):
        return [_map(v, fn) for v in x]
    return fn(x)


class Graph:
    """Nodes from `inputs` to `outputs` in topological order, runnable on real tensors."""

    def __init__(self, inputs, outputs):
        self.inputs = _flat(inputs)
        self.outputs = outputs
        for t in self.inputs:
            if not isinstance(t, SymbolicTensor) or not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model inputs must come from hubel.layers.Input, got {t!r}")
        self.nodes = self._order(_flat(outputs))
        known = {id(t.node) for t in self.inputs}
        for node in self.nodes:
            if isinstance(node.layer, InputLayer) and id(node) not in known:
                raise ValueError(f"the outputs depend on Input {node.layer.name!r}, which is "
                                 "not among the model's inputs")

    @staticmethod
    def _order(outputs) -> list[Node]:
        order, seen = [], set()
        stack = [(t.node, False) for t in reversed(outputs)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for t in reversed(node.input_tensors()):
                if id(t.node) not in seen:
                    stack.append((t.node, False))
        return order

    def layers(self) -> list:
        found, seen = [], set()
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                found.append(node.layer)
        return found

    def run(self, xs: list, training: bool):
        """Evaluate the graph: xs are the real inputs, in the order of `inputs`.

        Each node's output is dropped after its last consumer has run (the model's outputs
        are kept), so a training step holds only what the ops keep for backward."""
        values: dict[int, object] = {}
        for t, x in zip(self.inputs, xs):
            values[id(t.node)] = [x]
        chains = self.chains() if fusion.fusing(training) else {}
        pairs = self.relu_pairs() if fusion.relu_pairs_enabled() else {}
        last_reads = self.last_reads()
        for i, node in enumerate(self.nodes):
            if id(node) not in values:
                self._run_node(node, values, chains, pairs, training)
            for done in last_reads.get(i, ()):
                del values[done]
        return _map(self.outputs, lambda s: values[id(s.node)][s.index])

    @staticmethod
    def _run_node(node, values: dict, chains: dict, pairs: dict, training: bool) -> None:
        """node's layer on its inputs' values (or a fused chain starting at node)."""
        args = [_map(a, lambda s: values[id(s.node)][s.index]) for a in node.inputs]
        act = pairs.get(id(node))
        if act is not None:  # BN -> ReLU or Add -> ReLU as one node
            out = fusion.call_with_relu(node.layer, args, training)
            values[id(node)] = values[id(act)] = [out]
            return
        chain = chains.get(id(node))
        if chain is not None:  # Conv -> BN (-> ReLU) as one convolution
            bn, act = chain
            out = fusion.folded_conv(node.layer, bn.layer, args[0], act is not None)
            for member in (node, bn, act):  # (the members' outputs feed nothing else)
                if member is not None:
                    values[id(member)] = [out]
            return
        out = node.layer(*args, training=training, **node.kwargs)
        values[id(node)] = out if isinstance(out, list) else [out]

    def last_reads(self) -> dict:
        """{position i: ids of the nodes whose outputs node i is the last to read}, the
        model's outputs excepted; found once."""
        if getattr(self, "_last_reads", None) is None:
            last: dict[int, int] = {}
            for i, node in enumerate(self.nodes):
                for t in node.input_tensors():
                    last[id(t.node)] = i
            for t in _flat(self.outputs):
                last.pop(id(t.node), None)
            by_position: dict[int, list] = {}
            for key, i in last.items():
                by_position.setdefault(i, []).append(key)
            self._last_reads = by_position
        return self._last_reads

    def chains(self) -> dict:
        """The graph's foldable Conv -> BN (-> ReLU) chains (hubel.models.fusion), found
        once."""
        if getattr(self, "_chains", None) is None:
            self._chains = fusion.graph_chains(self.nodes, _flat(self.outputs))
        return self._chains

    def relu_pairs(self) -> dict:
        """The graph's BN -> ReLU and Add -> ReLU pairs (hubel.models.fusion), found once."""
        if getattr(self, "_relu_pairs", None) is None:
            self._relu_pairs = fusion.graph_relu_pairs(self.nodes, _flat(self.outputs))
        return self._relu_pairs

    def __getstate__(self) -> dict:
        """Copies and pickles find their own chains (the caches are keyed by node ids)."""
        state = dict(self.__dict__)
        for cache in ("_chains", "_relu_pairs", "_last_reads"):
            state.pop(cache, None)
        return state

    def get_config(self) -> dict:
        """Nodes as JSON: each names its layer and its inputs as {node, index} references."""
        index = {id(n): i for i, n in enumerate(self.nodes)}

        def ref(s: SymbolicTensor):
            return {"node": index[id(s.node)], "index": s.index}

        nodes = [{"layer": n.layer.name, "inputs": [_map(a, ref) for a in n.inputs],
                  "kwargs": n.kwargs} for n in self.nodes]
        return {"nodes": nodes, "inputs": [ref(t) for t in self.inputs],
                "outputs": _map(self.outputs, ref)}


def rebuild(config: dict, layers: dict):
    """Replay a graph config: returns (inputs, outputs) as symbolic tensors."""
    produced: list[list[SymbolicTensor]] = []
    for spec in config["nodes"]:
        layer = layers[spec["layer"]]
        if isinstance(layer, InputLayer):
            t = SymbolicTensor((layer.batch_size,) + layer.shape, layer.dtype,
                               Node(layer, (), {}), name=layer.name)
            produced.append([t])
            continue
        args = [_map(a, lambda r: produced[r["node"]][r["index"]]) for a in spec["inputs"]]
        out = layer(*args, **spec.get("kwargs", {}))
        produced.append(out if isinstance(out, list) else [out])

    def get(r):
        return produced[r["node"]][r["index"]]

    inputs = [get(r) for r in config["inputs"]]
    outputs = _map(config["outputs"], get)
    return inputs, outputs
