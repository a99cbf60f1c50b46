"""hubel.zoo: every architecture of the lectures, one function each, returning an
ordinary hubel model (summarize, train, save, load, fine-tune it like any other).

    >>> import hubel
    >>> hubel.zoo.lenet5().count_params()
    61706
"""

from hubel.zoo.alexnet import alexnet, zfnet
from hubel.zoo.convnet import convnet
from hubel.zoo.googlenet import googlenet
from hubel.zoo.lenet import lecun1990, lenet5
from hubel.zoo.perceptron import mlp, perceptron, xor_mlp
from hubel.zoo.resnet import (
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet50,
    resnet56,
    resnet101,
    resnet152,
)
from hubel.zoo.vgg import vgg, vgg11, vgg13, vgg16, vgg19

_MODELS = {
    "convnet": convnet, "perceptron": perceptron, "mlp": mlp, "xor_mlp": xor_mlp,
    "lecun1990": lecun1990,
    "lenet5": lenet5, "alexnet": alexnet, "zfnet": zfnet, "vgg11": vgg11, "vgg13": vgg13,
    "vgg16": vgg16, "vgg19": vgg19, "googlenet": googlenet, "resnet18": resnet18,
    "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101,
    "resnet152": resnet152, "resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56,
}


def names() -> list[str]:
    """The names `get` knows."""
    return sorted(_MODELS)


def get(name: str, **kwargs):
    """Build a zoo model by name, e.g. get('lenet5', input_shape=(28, 28, 1))."""
    key = name.lower().replace("-", "")
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; the zoo has: {', '.join(names())}")
    return _MODELS[key](**kwargs)


__all__ = ["convnet", "alexnet", "zfnet", "googlenet", "lecun1990", "lenet5", "mlp", "perceptron",
           "xor_mlp", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnet20", "resnet32", "resnet56", "vgg", "vgg11", "vgg13", "vgg16", "vgg19",
           "names", "get"]
