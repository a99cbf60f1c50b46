"""Builders: the Caffe-style helpers of the lecture and the architecture grammar.

    conv, relu = conv_relu(bottom, 11, 96, stride=4)       # Caffe's L.Convolution + L.ReLU
    pool = max_pool(relu, 3, stride=2)                       # Caffe's L.Pooling(MAX)

`bottom` is a symbolic tensor of the functional API (`Input(...)` or a layer's output);
finish with `Model(inputs, outputs)`. Caffe's fillers are given as dicts:
{'type': 'gaussian', 'std': σ, 'mean': μ}, {'type': 'constant', 'value': v},
{'type': 'uniform', 'min': a, 'max': b}, {'type': 'xavier'} (uniform, variance 1/fan_in),
{'type': 'msra'} (normal, variance 2/fan_in).

    build_convnet(...)   INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC
"""

from __future__ import annotations

import math

from hubel import initializers
from hubel.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
)
from hubel.models.sequential import Sequential


def filler(spec: dict | None, what: str = "filler") -> initializers.Initializer:
    """A Caffe filler dict as a hubel initializer."""
    spec = dict(spec or {"type": "constant", "value": 0.0})
    kind = spec.pop("type", "constant")
    if kind == "gaussian":
        return initializers.RandomNormal(spec.get("mean", 0.0), spec.get("std", 1.0))
    if kind == "constant":
        return initializers.Constant(spec.get("value", 0.0))
    if kind == "uniform":
        return initializers.RandomUniform(spec.get("min", 0.0), spec.get("max", 1.0))
    if kind == "xavier":
        return initializers.VarianceScaling(1.0, "fan_in", "uniform")
    if kind == "msra":
        return initializers.VarianceScaling(2.0, "fan_in", "normal")
    raise ValueError(f"{what}: unknown Caffe filler type {kind!r}; expected gaussian, "
                     "constant, uniform, xavier or msra")


def conv_relu(bottom, ks: int, nout: int, stride: int = 1, pad: int = 0, group: int = 1,
              weight_filler: dict | None = None, bias_filler: dict | None = None,
              name: str | None = None):
    """(conv, relu): a ks x ks convolution with nout filters and its ReLU, as in Caffe.

    Defaults are the lecture's: weights gaussian σ 0.01, biases constant 0.1."""
    weight_filler = weight_filler or {"type": "gaussian", "std": 0.01}
    bias_filler = bias_filler or {"type": "constant", "value": 0.1}
    conv = Conv2D(nout, ks, strides=stride, padding=pad, groups=group,
                  kernel_initializer=filler(weight_filler, f"conv_relu {name or ''}".strip()),
                  bias_initializer=filler(bias_filler, f"conv_relu {name or ''}".strip()),
                  name=name)(bottom)
    relu = Activation("relu", name=f"{name}_relu" if name else None)(conv)
    return conv, relu


def max_pool(bottom, ks: int, stride: int = 1, name: str | None = None):
    """Caffe's max pooling: its output size rounds UP, ⌈(H − ks)/stride⌉ + 1, so a last
    partial window is pooled too (here by padding after, which never wins a max)."""
    spatial = tuple(bottom.shape[1:-1])
    extra = []
    for n in spatial:
        out = math.ceil(max(n - ks, 0) / stride) + 1
        if (out - 1) * stride >= n:  # Caffe drops a window that starts past the input
            out -= 1
        extra.append(max((out - 1) * stride + ks - n, 0))
    padding = tuple((0, e) for e in extra) if any(extra) else 0
    return MaxPooling2D(ks, stride, padding=padding, name=name)(bottom)


def build_convnet(input_shape, num_classes: int, N: int = 1, M: int = 2, K: int = 1,  # noqa: N803
                  filters=32, fc_units=128, kernel_size: int = 3, pool: bool = True,
                  batch_norm: bool = False, dropout: float = 0.0, softmax: bool = True,
                  name: str = "convnet") -> Sequential:
    """INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC, as a Sequential.

    N: one int or M ints (convolutions per block); filters: one int (doubled after every
    pool, the usual pattern) or M ints; fc_units: one int or K ints. 'same' convolutions,
    2x2 max-pooling; batch_norm puts BN between each CONV and its RELU; dropout (if > 0)
    goes before every FC layer.
    """
    counts = [int(N)] * M if isinstance(N, int) else [int(n) for n in N]
    widths = ([int(filters) * 2 ** i for i in range(M)] if isinstance(filters, int)
              else [int(f) for f in filters])
    units = [int(fc_units)] * K if isinstance(fc_units, int) else [int(u) for u in fc_units]
    if M < 0 or K < 0 or min(counts, default=0) < 0:
        raise ValueError(f"build_convnet: N, M and K must be ≥ 0, got {N}, {M}, {K}")
    if len(counts) != M or len(widths) != M or len(units) != K:
        raise ValueError(f"build_convnet: need M={M} conv counts and filter counts and K={K} "
                         f"FC widths, got {len(counts)}, {len(widths)} and {len(units)}")
    layers = []
    for b, (n, width) in enumerate(zip(counts, widths), start=1):
        for i in range(1, n + 1):
            conv = f"block{b}_conv{i}"
            if batch_norm:
                layers += [Conv2D(width, kernel_size, padding="same", use_bias=False,
                                  kernel_initializer="he_normal", name=conv),
                           BatchNormalization(name=f"{conv}_bn"),
                           Activation("relu", name=f"{conv}_relu")]
            else:
                layers.append(Conv2D(width, kernel_size, padding="same", activation="relu",
                                     kernel_initializer="he_normal", name=conv))
        if pool:
            layers.append(MaxPooling2D(2, name=f"block{b}_pool"))
    layers.append(Flatten(name="flatten"))
    for k, width in enumerate(units, start=1):
        if dropout:
            layers.append(Dropout(dropout, name=f"fc{k}_dropout"))
        layers.append(Dense(width, activation="relu", kernel_initializer="he_normal",
                            name=f"fc{k}"))
    if dropout:
        layers.append(Dropout(dropout, name="output_dropout"))
    layers.append(Dense(num_classes, activation="softmax" if softmax else None,
                        name="output"))
    model = Sequential(layers, name=name)
    model.build((None, *input_shape))
    return model
