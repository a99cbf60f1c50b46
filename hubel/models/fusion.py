"""Fusion of layer chains: Conv -> BatchNormalization (-> ReLU) in inference, and
BatchNormalization -> ReLU and Add -> ReLU in any mode.

In inference, batch normalization is a fixed per-channel scale and shift,
s = γ / √(σ²_running + ε) and t = β − μ_running·s, so it folds into the convolution before it:

    BN(conv(x, W) + b) = conv(x, W·s) + (b·s + t)          (s scales W's output axis)

and a ReLU after it runs in the convolution's own bias pass (ConvND's relu epilogue). One
convolution then replaces three layers and two passes over their output. Models use it
when they run in inference mode without recording gradients (`model.predict`, or
`model(x, training=False)` under `hubel.no_grad()`); the folded kernel is computed on every
call from the current weights, so it never goes stale, and the chain's intermediate outputs
must feed nothing else. Training and gradient recording keep these layers separate.

In every mode, a BatchNormalization or an Add whose output feeds only a ReLU runs that
ReLU in its own passes (the layer called with `relu=True`: ResNet's BN -> ReLU and the Add -> ReLU
that ends a residual block): max(·, 0) as it writes its output, and in backward the mask
[y > 0] applied as it reads gy, so neither the separate ReLU pass nor its gradient pass
runs (a 16-channel BN -> ReLU at batch 64, forward + backward: about 5 -> 2.4 ms).
Inside `no_fusion()` every layer runs on its own.
"""

from __future__ import annotations

import contextlib

import numpy as np

from hubel.autograd import grad_mode
from hubel.ops.activation import linear, relu

_enabled = [True]


@contextlib.contextmanager
def no_fusion():
    """Run every layer on its own inside this block (to observe each layer's call)."""
    _enabled.append(False)
    try:
        yield
    finally:
        _enabled.pop()


def fusing(training: bool) -> bool:
    """Whether a model call may run fused chains: inference, no gradient recording, not
    inside no_fusion()."""
    return not training and not grad_mode.enabled and _enabled[-1]


def chain_starts(layers: list) -> bool:
    """Whether layers [conv, bn, ...] start a foldable chain (see module doc)."""
    from hubel.layers.convolutional import Conv
    from hubel.layers.normalization import BatchNormalization

    if len(layers) < 2:
        return False
    conv, bn = layers[0], layers[1]
    return (isinstance(conv, Conv) and type(conv).call is Conv.call
            and conv.activation is linear and conv.built
            and type(bn) is BatchNormalization and bn.built and bn.axis in (-1, conv.rank + 1))


def is_relu(layer) -> bool:
    """An Activation('relu') or ReLU() layer (the ReLU a chain may absorb)."""
    from hubel.layers.activation import ReLU
    from hubel.layers.core import Activation

    return (type(layer) is Activation and layer.activation is relu) or type(layer) is ReLU


def relu_pairs_enabled() -> bool:
    """Whether layers may absorb the ReLU after them (not inside no_fusion())."""
    return _enabled[-1]


def absorbs_relu(layer) -> bool:
    """Whether `layer` can run a following ReLU in its own passes (`relu=True`): a
    BatchNormalization or an Add."""
    from hubel.layers.merging import Add
    from hubel.layers.normalization import BatchNormalization

    return type(layer) in (BatchNormalization, Add)


def call_with_relu(layer, inputs: tuple, training: bool):
    """relu(layer(*inputs)) as one node (the layer's own call, with relu=True)."""
    return layer(*inputs, training=training, relu=True)


def folded_conv(conv, bn, x, with_relu: bool):
    """conv -> bn (-> ReLU) on x as one convolution with the folded kernel and bias."""
    from hubel.layers.layer import _to_tensor

    x = _to_tensor(x)
    if conv.input_spec is not None:
        conv.check_input(x)
    var = bn.moving_variance.data
    s = 1.0 / np.sqrt(var + bn.epsilon)
    if bn.gamma is not None:
        s = bn.gamma.data * s
    t = -bn.moving_mean.data * s
    if bn.beta is not None:
        t = t + bn.beta.data
    kernel = conv.kernel.data
    bias = t if conv.bias is None else conv.bias.data * s + t
    return conv.convolve(x, (kernel * s).astype(kernel.dtype, copy=False),
                         bias.astype(kernel.dtype, copy=False), with_relu)


def graph_chains(nodes: list, outputs: list) -> dict:
    """{id(conv node): (bn node, relu node or None)} for the foldable chains of a graph: the
    conv's output feeds only the BN node, and the BN's output only the ReLU."""
    uses, consumer = _consumers(nodes, outputs)
    chains = {}
    for node in nodes:
        bn = consumer.get(id(node))
        if (bn is None or uses.get(id(node)) != 1 or node.kwargs or bn.kwargs
                or len(bn.input_tensors()) != 1 or not chain_starts([node.layer, bn.layer])):
            continue
        act = consumer.get(id(bn))
        if (act is None or uses.get(id(bn)) != 1 or act.kwargs or not is_relu(act.layer)):
            act = None
        chains[id(node)] = (bn, act)
    return chains


def _consumers(nodes: list, outputs: list) -> tuple:
    """({id(node): times its outputs are used}, {id(node): its last consumer})."""
    uses: dict[int, int] = {}
    consumer: dict[int, object] = {}
    for node in nodes:
        for t in node.input_tensors():
            uses[id(t.node)] = uses.get(id(t.node), 0) + 1
            consumer[id(t.node)] = node
    for t in outputs:
        uses[id(t.node)] = uses.get(id(t.node), 0) + 1
    return uses, consumer


def graph_relu_pairs(nodes: list, outputs: list) -> dict:
    """{id(node): relu node} for the graph's BatchNormalization / Add nodes whose output
    feeds only a ReLU node (see module doc)."""
    uses, consumer = _consumers(nodes, outputs)
    pairs = {}
    for node in nodes:
        act = consumer.get(id(node))
        if (act is not None and uses.get(id(node)) == 1 and not node.kwargs
                and not act.kwargs and absorbs_relu(node.layer) and is_relu(act.layer)):
            pairs[id(node)] = act
    return pairs
