"""The lecture's architecture grammar as a model:

    INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC

with optional batch normalization after each convolution and dropout before each fully
connected layer. The default (two blocks of one 3x3 convolution, 32 then 64 filters, one
FC layer of 128; 421,930 parameters, 4.2 M multiply-adds per 28x28 image) is the zoo's
small CNN for 28x28 images.
"""

from __future__ import annotations

from hubel.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
)
from hubel.models import Sequential


def convnet(input_shape=(28, 28, 1), num_classes: int = 10, blocks=((1, 32), (1, 64)),
            fc=(128,), batch_norm: bool = True, dropout: float = 0.3, pool: bool = True,
            softmax: bool = True, name: str = "convnet") -> Sequential:
    """`blocks`: (N convolutions, filters) per block, each block ending in 2x2 max-pooling
    (pool=True); `fc`: the hidden fully connected widths (K = len(fc))."""
    layers = []
    for b, (n, filters) in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            conv = f"block{b}_conv{i}"
            if batch_norm:
                layers += [Conv2D(filters, 3, padding="same", use_bias=False,
                                  kernel_initializer="he_normal", name=conv),
                           BatchNormalization(name=f"{conv}_bn"),
                           Activation("relu", name=f"{conv}_relu")]
            else:
                layers.append(Conv2D(filters, 3, padding="same", activation="relu",
                                     kernel_initializer="he_normal", name=conv))
        if pool:
            layers.append(MaxPooling2D(2, name=f"block{b}_pool"))
    layers.append(Flatten(name="flatten"))
    for k, units in enumerate(fc, start=1):
        if dropout:
            layers.append(Dropout(dropout, name=f"fc{k}_dropout"))
        layers.append(Dense(units, activation="relu", kernel_initializer="he_normal",
                            name=f"fc{k}"))
    if dropout:
        layers.append(Dropout(dropout, name="output_dropout"))
    layers.append(Dense(num_classes, activation="softmax" if softmax else None,
                        name="output"))
    model = Sequential(layers, name=name)
    model.build((None, *input_shape))
    return model
