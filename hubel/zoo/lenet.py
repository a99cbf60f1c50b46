"""LeCun's digit CNNs: the 1990 network and LeNet-5 (LeCun et al. 1998)."""

from __future__ import annotations

from hubel.layers import AveragePooling2D, Conv2D, Dense, Flatten, MaxPooling2D
from hubel.models import Sequential


def lecun1990(input_shape=(28, 28, 1), num_classes: int = 10, softmax: bool = True,
              name: str = "lecun1990") -> Sequential:
    """The lecture's 1990 digit CNN: 5x5 convolutions with 8 then 16 feature maps, each
    followed by max-pooling, one fully connected layer, softmax."""
    model = Sequential([
        Conv2D(8, 5, padding="same", activation="relu", name="conv1"),
        MaxPooling2D(2, name="pool1"),
        Conv2D(16, 5, activation="relu", name="conv2"),
        MaxPooling2D(2, name="pool2"),
        Flatten(name="flatten"),
        Dense(num_classes, activation="softmax" if softmax else None, name="output"),
    ], name=name)
    model.build((None, *input_shape))
    return model


def lenet5(input_shape=(28, 28, 1), num_classes: int = 10, classic: bool = False,
           softmax: bool = True, name: str = "lenet5") -> Sequential:
    """LeNet-5: C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5, C5 120, F6 84, output.

    The paper's input is 32x32; for 28x28 digits C1 pads by 2 ('same') so that C1 is
    still 6@28x28. Default: the modern form (ReLU, max-pooling). classic=True: the 1998
    form (tanh, average pooling; C3 fully connected to S2 rather than the paper's sparse
    table). 61,706 parameters for 10 classes (modern and classic alike).
    """
    act = "tanh" if classic else "relu"
    pool = AveragePooling2D if classic else MaxPooling2D
    pad = "same" if input_shape[0] < 32 else "valid"
    model = Sequential([
        Conv2D(6, 5, padding=pad, activation=act, name="c1"),
        pool(2, name="s2"),
        Conv2D(16, 5, activation=act, name="c3"),
        pool(2, name="s4"),
        Flatten(name="flatten"),
        Dense(120, activation=act, name="c5"),
        Dense(84, activation=act, name="f6"),
        Dense(num_classes, activation="softmax" if softmax else None, name="output"),
    ], name=name)
    model.build((None, *input_shape))
    return model
