"""GoogLeNet / Inception v1 (Szegedy et al. 2015): Inception modules run 1x1, 3x3, 5x5
convolutions and 3x3 max-pooling side by side and concatenate their filters; 1x1
"reduction" convolutions before the 3x3 and 5x5 keep the cost down; global average
pooling replaces the fully connected stack."""

from __future__ import annotations

from hubel.layers import (
    AveragePooling2D,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    LocalResponseNormalization,
    MaxPooling2D,
)
from hubel.models import Model

# Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x, filters: int, k: int, name: str, strides: int = 1):
    return Conv2D(filters, k, strides=strides, padding=k // 2, activation="relu",
                  name=name)(x)


def inception(x, spec, name: str):
    """One Inception module: four branches concatenated along the channels."""
    c1, r3, c3, r5, c5, pp = spec
    b1 = _conv(x, c1, 1, f"{name}_1x1")
    b3 = _conv(_conv(x, r3, 1, f"{name}_3x3_reduce"), c3, 3, f"{name}_3x3")
    b5 = _conv(_conv(x, r5, 1, f"{name}_5x5_reduce"), c5, 5, f"{name}_5x5")
    bp = MaxPooling2D(3, 1, padding=1, name=f"{name}_pool")(x)
    bp = _conv(bp, pp, 1, f"{name}_pool_proj")
    return Concatenate(name=f"{name}_output")([b1, b3, b5, bp])


def _aux(x, num_classes: int, name: str, softmax: bool):
    """Auxiliary classifier: 5x5/3 average pool, 1x1 conv 128, FC 1024, dropout 0.7."""
    x = AveragePooling2D(5, 3, name=f"{name}_pool")(x)
    x = _conv(x, 128, 1, f"{name}_conv")
    x = Flatten(name=f"{name}_flatten")(x)
    x = Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = Dropout(0.7, name=f"{name}_drop")(x)
    return Dense(num_classes, activation="softmax" if softmax else None,
                 name=f"{name}_classifier")(x)


def googlenet(input_shape=(224, 224, 3), num_classes: int = 1000, aux_classifiers=False,
              softmax: bool = True, dropout: float = 0.4, name: str = "googlenet") -> Model:
    """GoogLeNet as in the paper (ReLU convs with biases, LRN after the first pool and
    after conv2, no batch normalization). With aux_classifiers=True the model has three
    outputs [main, aux1 (after 4a), aux2 (after 4d)]; the paper weights the auxiliary
    losses by 0.3 (compile(loss_weights=[1, 0.3, 0.3]))."""
    inputs = Input(shape=input_shape, name="input")
    x = _conv(inputs, 64, 7, "conv1_7x7", strides=2)
    x = MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool1")(x)
    x = LocalResponseNormalization(5, 1e-4, 0.75, 1.0, name="norm1")(x)
    x = _conv(x, 64, 1, "conv2_3x3_reduce")
    x = _conv(x, 192, 3, "conv2_3x3")
    x = LocalResponseNormalization(5, 1e-4, 0.75, 1.0, name="norm2")(x)
    x = MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool2")(x)
    x = inception(x, INCEPTION["3a"], "inception_3a")
    x = inception(x, INCEPTION["3b"], "inception_3b")
    x = MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool3")(x)
    aux = []
    for key in ("4a", "4b", "4c", "4d", "4e"):
        x = inception(x, INCEPTION[key], f"inception_{key}")
        if aux_classifiers and key in ("4a", "4d"):
            aux.append(_aux(x, num_classes, f"aux_{key}", softmax))
    x = MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool4")(x)
    x = inception(x, INCEPTION["5a"], "inception_5a")
    x = inception(x, INCEPTION["5b"], "inception_5b")
    x = GlobalAveragePooling2D(name="avg_pool")(x)
    x = Dropout(dropout, name="dropout")(x)
    out = Dense(num_classes, activation="softmax" if softmax else None, name="classifier")(x)
    return Model(inputs, [out, *aux] if aux else out, name=name)
