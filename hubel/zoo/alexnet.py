"""AlexNet (Krizhevsky, Sutskever & Hinton 2012) and ZFNet (Zeiler & Fergus 2013)."""

from __future__ import annotations

from hubel.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LocalResponseNormalization,
    MaxPooling2D,
)
from hubel.models import Sequential


def alexnet(input_shape=(227, 227, 3), num_classes: int = 1000, two_tower: bool = True,
            softmax: bool = True, dropout: float = 0.5, name: str = "alexnet") -> Sequential:
    """AlexNet. two_tower=True: the original network split over two GPUs — conv2, conv4
    and conv5 see only their own tower's half of the channels (groups=2), LRN (size 5,
    α 1e-4, β 0.75, k 2) after conv1 and conv2, overlapping 3x3 stride-2 max-pooling,
    dropout in the two 4096-unit layers; 60,965,224 parameters at 1000 classes (the
    grouped count; the paper's "60 million"). Input 227x227 makes (227 − 11)/4 + 1 = 55
    whole (the paper's 224 does not).

    two_tower=False: the common single-tower form (64, 192, 384, 256, 256 filters, no LRN,
    as in torchvision), 61,100,840 parameters at 224x224 and 1000 classes.
    """
    if two_tower:
        layers = [
            Conv2D(96, 11, strides=4, activation="relu", name="conv1"),
            LocalResponseNormalization(5, 1e-4, 0.75, 2.0, name="norm1"),
            MaxPooling2D(3, 2, name="pool1"),
            Conv2D(256, 5, padding=2, groups=2, activation="relu", name="conv2"),
            LocalResponseNormalization(5, 1e-4, 0.75, 2.0, name="norm2"),
            MaxPooling2D(3, 2, name="pool2"),
            Conv2D(384, 3, padding=1, activation="relu", name="conv3"),
            Conv2D(384, 3, padding=1, groups=2, activation="relu", name="conv4"),
            Conv2D(256, 3, padding=1, groups=2, activation="relu", name="conv5"),
            MaxPooling2D(3, 2, name="pool5"),
        ]
    else:
        layers = [
            Conv2D(64, 11, strides=4, padding=2, activation="relu", name="conv1"),
            MaxPooling2D(3, 2, name="pool1"),
            Conv2D(192, 5, padding=2, activation="relu", name="conv2"),
            MaxPooling2D(3, 2, name="pool2"),
            Conv2D(384, 3, padding=1, activation="relu", name="conv3"),
            Conv2D(256, 3, padding=1, activation="relu", name="conv4"),
            Conv2D(256, 3, padding=1, activation="relu", name="conv5"),
            MaxPooling2D(3, 2, name="pool5"),
        ]
    layers += [Flatten(name="flatten"),
               Dropout(dropout, name="drop6"), Dense(4096, activation="relu", name="fc6"),
               Dropout(dropout, name="drop7"), Dense(4096, activation="relu", name="fc7"),
               Dense(num_classes, activation="softmax" if softmax else None, name="fc8")]
    model = Sequential(layers, name=name)
    model.build((None, *input_shape))
    return model


def zfnet(input_shape=(224, 224, 3), num_classes: int = 1000, softmax: bool = True,
          dropout: float = 0.5, name: str = "zfnet") -> Sequential:
    """ZFNet: AlexNet with a 7x7 stride-2 first layer (fewer dead and aliased filters,
    found by visualizing them) and dense conv3–5 (no tower split): 224 → 110 → 55 → 26
    → 13 → 6."""
    layers = [
        Conv2D(96, 7, strides=2, padding=1, activation="relu", name="conv1"),
        LocalResponseNormalization(5, 1e-4, 0.75, 2.0, name="norm1"),
        MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool1"),
        Conv2D(256, 5, strides=2, activation="relu", name="conv2"),
        LocalResponseNormalization(5, 1e-4, 0.75, 2.0, name="norm2"),
        MaxPooling2D(3, 2, padding=((0, 1), (0, 1)), name="pool2"),
        Conv2D(384, 3, padding=1, activation="relu", name="conv3"),
        Conv2D(384, 3, padding=1, activation="relu", name="conv4"),
        Conv2D(256, 3, padding=1, activation="relu", name="conv5"),
        MaxPooling2D(3, 2, name="pool5"),
        Flatten(name="flatten"),
        Dropout(dropout, name="drop6"), Dense(4096, activation="relu", name="fc6"),
        Dropout(dropout, name="drop7"), Dense(4096, activation="relu", name="fc7"),
        Dense(num_classes, activation="softmax" if softmax else None, name="fc8"),
    ]
    model = Sequential(layers, name=name)
    model.build((None, *input_shape))
    return model
