"""hubel.layers: every layer, by family. The table of contents."""

from hubel.layers.activation import (
    APL,
    ELU,
    GaussianNoise,
    LeakyReLU,
    Maxout,
    NoisyReLU,
    PReLU,
    ReLU,
    RReLU,
    Softmax,
)
from hubel.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
)
from hubel.layers.core import Activation, Dense, Dropout
from hubel.layers.input_layer import Input, InputLayer, SymbolicTensor
from hubel.layers.layer import Layer
from hubel.layers.lrn import LocalResponseNormalization
from hubel.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from hubel.layers.normalization import BatchNormalization
from hubel.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from hubel.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Flatten,
    Reshape,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)

__all__ = [
    "Dense", "Layer", "Input", "InputLayer", "SymbolicTensor"]
__all__ += [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "LocalResponseNormalization", "Flatten", "Reshape", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "Concatenate", "Add",
    "Subtract", "Multiply", "Average", "Maximum", "Minimum",
]
__all__ += ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
            "Conv3DTranspose"]
__all__ += ["Activation", "Dropout", "BatchNormalization"]
__all__ += ["APL", "ELU", "GaussianNoise", "LeakyReLU", "Maxout", "NoisyReLU", "PReLU",
            "ReLU", "RReLU", "Softmax"]
