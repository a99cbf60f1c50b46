"""Residual networks (He et al. 2016): H(x) = F(x) + x, with batch normalization and
global average pooling instead of a stack of fully connected layers.

ImageNet forms: resnet18/34 (basic blocks: two 3x3 convs) and resnet50/101/152
(bottleneck blocks: 1x1 reduce, 3x3, 1x1 expand ×4), projection shortcuts (1x1 conv + BN)
where the shape changes. CIFAR forms (section 4.2): resnet20/32/56, 6n + 2 layers on
32x32 inputs, 16/32/64 filters, identity shortcuts zero-padded where the shape changes
(option A). Padding is explicit and symmetric (as in the reference implementations), so
weights from PyTorch give the same outputs.
"""

from __future__ import annotations

import warnings

from hubel.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    Input,
    Layer,
    MaxPooling2D,
)
from hubel.models import Model
from hubel.models.saving import register_serializable
from hubel.ops.shape import getitem, pad


@register_serializable
class ZeroPadShortcut(Layer):
    """Option-A shortcut: take every `stride`-th pixel and zero-pad the channels to
    `filters` (no parameters)."""

    def __init__(self, filters: int, stride: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.stride = int(filters), int(stride)

    def call(self, x):
        s = self.stride
        x = getitem(x, (slice(None), slice(None, None, s), slice(None, None, s)))
        extra = self.filters - x.shape[-1]
        return pad(x, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        s = self.stride
        return (n, -(-h // s), -(-w // s), self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


def _bn(name: str) -> BatchNormalization:
    return BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _conv_bn(x, filters: int, k: int, stride: int, name: str, relu: bool = True):
    x = Conv2D(filters, k, strides=stride, padding=k // 2, use_bias=False,
               kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = _bn(f"{name}_bn")(x)
    return Activation("relu", name=f"{name}_relu")(x) if relu else x


def basic_block(x, filters: int, stride: int, name: str, shortcut: str = "B"):
    """Two 3x3 convolutions; y = relu(F(x) + shortcut(x))."""
    cin = x.shape[-1]
    y = _conv_bn(x, filters, 3, stride, f"{name}_1")
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", relu=False)
    if stride != 1 or cin != filters:
        if shortcut == "A":
            x = ZeroPadShortcut(filters, stride, name=f"{name}_shortcut")(x)
        else:
            x = _conv_bn(x, filters, 1, stride, f"{name}_down", relu=False)
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")([y, x]))


def bottleneck_block(x, filters: int, stride: int, name: str):
    """1x1 reduce to `filters`, 3x3 (with the stride), 1x1 expand to 4·filters."""
    cin = x.shape[-1]
    y = _conv_bn(x, filters, 1, 1, f"{name}_1")
    y = _conv_bn(y, filters, 3, stride, f"{name}_2")
    y = _conv_bn(y, 4 * filters, 1, 1, f"{name}_3", relu=False)
    if stride != 1 or cin != 4 * filters:
        x = _conv_bn(x, 4 * filters, 1, stride, f"{name}_down", relu=False)
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")([y, x]))


def resnet(depths, bottleneck: bool, input_shape=(224, 224, 3), num_classes: int = 1000,
           softmax: bool = True, name: str = "resnet") -> Model:
    """An ImageNet ResNet with `depths` blocks in each of the four stages."""
    inputs = Input(shape=input_shape, name="input")
    x = _conv_bn(inputs, 64, 7, 2, "conv1")
    x = MaxPooling2D(3, 2, padding=1, name="pool1")(x)
    for stage, (n, filters) in enumerate(zip(depths, (64, 128, 256, 512))):
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            block_name = f"stage{stage + 1}_block{b + 1}"
            with warnings.catch_warnings():  # the stride-2 1x1 projection skips the last
                warnings.filterwarnings("ignore", "Conv2D .*down_conv")  # row: by design
                x = (bottleneck_block(x, filters, stride, block_name) if bottleneck
                     else basic_block(x, filters, stride, block_name))
    x = GlobalAveragePooling2D(name="avg_pool")(x)
    x = Dense(num_classes, activation="softmax" if softmax else None, name="fc")(x)
    return Model(inputs, x, name=name)


def resnet18(**kwargs) -> Model:
    """ResNet-18: 11,689,512 parameters (224x224x3, 1000 classes; torchvision)."""
    return resnet((2, 2, 2, 2), False, name="resnet18", **kwargs)


def resnet34(**kwargs) -> Model:
    """ResNet-34: 21,797,672 parameters (torchvision)."""
    return resnet((3, 4, 6, 3), False, name="resnet34", **kwargs)


def resnet50(**kwargs) -> Model:
    """ResNet-50: 25,557,032 parameters (torchvision)."""
    return resnet((3, 4, 6, 3), True, name="resnet50", **kwargs)


def resnet101(**kwargs) -> Model:
    """ResNet-101: 44,549,160 parameters (torchvision)."""
    return resnet((3, 4, 23, 3), True, name="resnet101", **kwargs)


def resnet152(**kwargs) -> Model:
    """ResNet-152: 60,192,808 parameters (torchvision)."""
    return resnet((3, 8, 36, 3), True, name="resnet152", **kwargs)


def cifar_resnet(n: int, input_shape=(32, 32, 3), num_classes: int = 10,
                 softmax: bool = True, name: str | None = None) -> Model:
    """The CIFAR-10 ResNet of section 4.2: 6n + 2 layers, option-A shortcuts."""
    inputs = Input(shape=input_shape, name="input")
    x = _conv_bn(inputs, 16, 3, 1, "conv1")
    for stage, filters in enumerate((16, 32, 64)):
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            x = basic_block(x, filters, stride, f"stage{stage + 1}_block{b + 1}", "A")
    x = GlobalAveragePooling2D(name="avg_pool")(x)
    x = Dense(num_classes, activation="softmax" if softmax else None, name="fc")(x)
    return Model(inputs, x, name=name or f"resnet{6 * n + 2}")


def resnet20(**kwargs) -> Model:
    """ResNet-20 for CIFAR (n = 3): 269,722 parameters at 10 classes (0.27M, Table 6)."""
    return cifar_resnet(3, **kwargs)


def resnet32(**kwargs) -> Model:
    """ResNet-32 for CIFAR (n = 5): 0.46M parameters (Table 6)."""
    return cifar_resnet(5, **kwargs)


def resnet56(**kwargs) -> Model:
    """ResNet-56 for CIFAR (n = 9): 0.85M parameters (Table 6)."""
    return cifar_resnet(9, **kwargs)
