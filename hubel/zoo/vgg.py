"""VGG (Simonyan & Zisserman 2015): stacks of 3x3 convolutions, configurations A–E."""

from __future__ import annotations

from hubel.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNormalization,
    MaxPooling2D,
)
from hubel.models import Sequential

# Table 1 of the paper: filters per conv layer, "M" max-pool, "L" LRN, (n, 1) a 1x1 conv.
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "L", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def vgg(config: str = "D", input_shape=(224, 224, 3), num_classes: int = 1000,
        batch_norm: bool = False, softmax: bool = True, dropout: float = 0.5,
        fc_units: int = 4096, name: str | None = None) -> Sequential:
    """VGG configuration A, A-LRN, B, C (with 1x1 convs), D (VGG16) or E (VGG19).

    Parameters at 224x224x3 and 1000 classes (paper's Table 2 gives 133, 133, 133, 134,
    138, 144 million): A 132,863,336; D 138,357,544; E 143,667,240 (as torchvision).
    """
    if config not in CONFIGS:
        raise ValueError(f"unknown VGG configuration {config!r}; known: {sorted(CONFIGS)}")
    layers, block, idx = [], 1, 1
    for v in CONFIGS[config]:
        if v == "M":
            layers.append(MaxPooling2D(2, name=f"block{block}_pool"))
            block, idx = block + 1, 1
        elif v == "L":
            layers.append(LocalResponseNormalization(5, 1e-4, 0.75, 2.0,
                                                     name=f"block{block}_lrn"))
        else:
            filters, k = (v, 3) if isinstance(v, int) else v
            conv_name = f"block{block}_conv{idx}"
            if batch_norm:
                layers += [Conv2D(filters, k, padding=k // 2, name=conv_name),
                           BatchNormalization(epsilon=1e-5, momentum=0.9,
                                              name=f"{conv_name}_bn"),
                           _relu(f"{conv_name}_relu")]
            else:
                layers.append(Conv2D(filters, k, padding=k // 2, activation="relu",
                                     name=conv_name))
            idx += 1
    layers += [Flatten(name="flatten"),
               Dense(fc_units, activation="relu", name="fc1"), Dropout(dropout, name="drop1"),
               Dense(fc_units, activation="relu", name="fc2"), Dropout(dropout, name="drop2"),
               Dense(num_classes, activation="softmax" if softmax else None,
                     name="predictions")]
    default = {"A": "vgg11", "B": "vgg13", "D": "vgg16", "E": "vgg19"}.get(config,
                                                                        f"vgg_{config}")
    model = Sequential(layers, name=name or default + ("_bn" if batch_norm else ""))
    model.build((None, *input_shape))
    return model


def _relu(name: str) -> Activation:
    return Activation("relu", name=name)


def vgg11(**kwargs) -> Sequential:
    """VGG configuration A (11 weight layers)."""
    return vgg("A", **kwargs)


def vgg13(**kwargs) -> Sequential:
    """VGG configuration B (13 weight layers)."""
    return vgg("B", **kwargs)


def vgg16(**kwargs) -> Sequential:
    """VGG configuration D (16 weight layers), 138,357,544 parameters."""
    return vgg("D", **kwargs)


def vgg19(**kwargs) -> Sequential:
    """VGG configuration E (19 weight layers), 143,667,240 parameters."""
    return vgg("E", **kwargs)


