"""hubel.layers: every layer, by family. The table of contents."""

from hubel.layers.input_layer import Input, InputLayer, SymbolicTensor
from hubel.layers.layer import Layer

__all__ = ["Layer", "Input", "InputLayer", "SymbolicTensor"]
