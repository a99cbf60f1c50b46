"""hubel: a deep-learning framework for convolutional neural networks, written from scratch.

The table of contents: public names only.
"""

from hubel import (
    activations,
    callbacks,
    data,
    datasets,
    functional,
    initializers,
    io,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    zoo,
)
from hubel import functional as F
from hubel.autograd import enable_grad, is_grad_enabled, no_grad
from hubel.autograd.gradcheck import GradcheckError, gradcheck
from hubel.backends.threads import get_num_threads, set_num_threads
from hubel.random import seed
from hubel.tensor import Tensor, as_tensor, float32, float64, tensor
from hubel.version import __version__

__all__ = [
    "activations", "callbacks", "data", "datasets", "initializers", "io", "layers", "losses",
    "metrics", "models", "optimizers", "regularizers", "zoo",
    "F", "functional", "Tensor", "tensor", "as_tensor", "float32", "float64", "no_grad",
    "enable_grad", "is_grad_enabled", "gradcheck", "GradcheckError", "seed", "__version__",
    "set_num_threads", "get_num_threads",
]
