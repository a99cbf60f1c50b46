"""The perceptron (Rosenblatt 1957) and multilayer perceptrons (the XOR network)."""

from __future__ import annotations

from hubel.layers import Dense, Flatten
from hubel.models import Sequential


def perceptron(input_shape=(2,), num_classes: int = 1, activation: str = "sigmoid",
               name: str = "perceptron") -> Sequential:
    """One layer of units f = σ(Wx + b): a linear classifier (it cannot learn XOR)."""
    layers = [Flatten()] if len(input_shape) > 1 else []
    model = Sequential(layers + [Dense(num_classes, activation=activation)], name=name)
    model.build((None, *input_shape))
    return model


def mlp(input_shape=(784,), num_classes: int = 10, hidden=(256, 256), activation="relu",
        softmax: bool = True, name: str = "mlp") -> Sequential:
    """Fully connected layers f = W₃ max(0, W₂ max(0, W₁x)) (the lecture's 2- and 3-layer
    networks); inputs of rank > 1 are flattened first."""
    layers = [Flatten()] if len(input_shape) > 1 else []
    layers += [Dense(units, activation=activation) for units in hidden]
    out = "softmax" if softmax and num_classes > 1 else (
        "sigmoid" if softmax else None)
    layers.append(Dense(num_classes, activation=out))
    model = Sequential(layers, name=name)
    model.build((None, *input_shape))
    return model


def xor_mlp(hidden: int = 4, name: str = "xor_mlp") -> Sequential:
    """The XOR network: 2 inputs, one hidden layer of tanh units, one sigmoid output."""
    return mlp((2,), 1, (hidden,), activation="tanh", name=name)
