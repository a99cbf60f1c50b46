"""hubel.F: every stateless differentiable function, in one table of contents.

    >>> import hubel
    >>> x = hubel.Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> hubel.F.softmax(x).sum().item()
    1.0
"""

# --- elementwise -------------------------------------------------------------------------
from hubel.ops.activation import log_softmax, softmax
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

# --- reductions --------------------------------------------------------------------------
from hubel.ops.reduce import logsumexp, max, mean, min, sum, var

# --- shape -------------------------------------------------------------------------------
from hubel.ops.shape import (
    broadcast_to,
    concat,
    concatenate,
    expand,
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
    "log_softmax",
]
