"""hubel.F: every stateless differentiable function, in one table of contents.

    >>> import hubel
    >>> x = hubel.Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> hubel.F.softmax(x).sum().item()
    1.0
"""

# --- elementwise -------------------------------------------------------------------------
from hubel.ops.activation import (
    apl,
    arctan,
    binary_step,
    centered_softplus,
    elu,
    gaussian,
    identity,
    leaky_relu,
    linear,
    log_softmax,
    maxout,
    noisy_relu,
    prelu,
    relu,
    rrelu,
    sigmoid,
    softmax,
    softplus,
    tanh,
    very_leaky_relu,
)
from hubel.ops.conv import (
    conv,
    conv1d,
    conv2d,
    conv3d,
    conv_transpose,
    convolve2d,
    correlate2d,
)
from hubel.ops.dropout import dropout
from hubel.ops.elementwise import (
    abs,
    add,
    cast,
    clip,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    sqrt,
    sub,
    where,
)

# --- linear algebra ----------------------------------------------------------------------
from hubel.ops.linalg import matmul

# --- pooling and local response normalization ----------------------------------------
from hubel.ops.lrn import local_response_norm

# --- reductions --------------------------------------------------------------------------
from hubel.ops.norm import batch_norm
from hubel.ops.pool import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    global_avg_pool1d,
    global_avg_pool2d,
    global_avg_pool3d,
    global_max_pool1d,
    global_max_pool2d,
    global_max_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from hubel.ops.reduce import logsumexp, max, mean, min, sum, var

# --- shape -------------------------------------------------------------------------------
from hubel.ops.shape import (
    broadcast_to,
    concat,
    concatenate,
    expand,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "add", "cast", "clip", "div", "exp", "log", "maximum", "minimum", "mul", "neg",
    "pow", "sqrt", "sub", "where", "matmul", "logsumexp", "max", "mean", "min", "sum", "var",
    "broadcast_to", "concat", "concatenate", "expand", "getitem", "pad", "permute",
    "reshape", "split", "squeeze", "stack", "transpose", "unsqueeze", "softmax",
    "log_softmax", "relu", "sigmoid", "tanh", "linear",
    "flatten", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "global_avg_pool1d", "global_avg_pool2d", "global_avg_pool3d",
    "global_max_pool1d", "global_max_pool2d", "global_max_pool3d", "local_response_norm",
]
__all__ += ["conv", "conv1d", "conv2d", "conv3d", "conv_transpose", "convolve2d",
            "correlate2d"]
__all__ += ["dropout", "batch_norm"]
__all__ += ["apl", "arctan", "binary_step", "centered_softplus", "elu", "gaussian",
            "identity", "leaky_relu", "maxout", "noisy_relu", "prelu", "rrelu", "softplus",
            "very_leaky_relu"]
