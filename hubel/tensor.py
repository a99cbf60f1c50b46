"""Tensor: an n-d array, its gradient, and the Function that made it (the graph edge).

    >>> x = Tensor(-2.0, requires_grad=True)
    >>> y = Tensor(5.0, requires_grad=True)
    >>> z = Tensor(-4.0, requires_grad=True)
    >>> f = (x + y) * z
    >>> f.backward()
    >>> float(f), float(x.grad), float(y.grad), float(z.grad)
    (-12.0, -4.0, -4.0, 3.0)

Floating data defaults to float32 (Python numbers and lists become float32; NumPy arrays
keep their dtype, so float64 arrays give float64 tensors for gradient checks). `.grad` is an
array of the tensor's shape, accumulated by every `backward()` until it is reset to None.
"""

from __future__ import annotations

import numpy as np

from hubel.autograd import engine, grad_mode
from hubel.backends import get_array_module

float32 = np.float32
float64 = np.float64


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    xp = get_array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)) or hasattr(data, "__cuda_array_interface__"):
        return xp.asarray(data)
    arr = xp.asarray(data)
    if arr.dtype.kind in "fiu":
        # Python numbers and lists (int or float): float32 by default, as in Keras.
        return arr.astype(np.float32)
    return arr


class Tensor:
    """An array with an optional gradient; operations on Tensors build the graph."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "name", "__weakref__")
    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__ (and so on)

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _as_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name
        if self.requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.dtype}")

    @classmethod
    def _from_op(cls, data, fn) -> Tensor:
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = fn is not None
        t._ctx = fn
        t.name = None
        return t

    # --- array facts -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self.data), separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != np.float32:
            extra = f", dtype={self.data.dtype}" + extra
        return f"Tensor({body}{extra})"

    __hash__ = object.__hash__

    # --- autograd ----------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into `.grad` of every leaf below it."""
        engine.backward(self, grad, retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor._from_op(self.data, None)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def astype(self, dtype) -> Tensor:
        """A copy in another dtype; differentiable for floating dtypes."""
        return _ew.cast(self, dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    # --- operators (each is an op of hubel.F) -------------------------------------------
    def __add__(self, other):
        return _ew.add(self, other)

    def __radd__(self, other):
        return _ew.add(other, self)

    def __sub__(self, other):
        return _ew.sub(self, other)

    def __rsub__(self, other):
        return _ew.sub(other, self)

    def __mul__(self, other):
        return _ew.mul(self, other)

    def __rmul__(self, other):
        return _ew.mul(other, self)

    def __truediv__(self, other):
        return _ew.div(self, other)

    def __rtruediv__(self, other):
        return _ew.div(other, self)

    def __pow__(self, other):
        return _ew.pow(self, other)

    def __rpow__(self, other):
        return _ew.pow(other, self)

    def __matmul__(self, other):
        return _la.matmul(self, other)

    def __rmatmul__(self, other):
        return _la.matmul(other, self)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __getitem__(self, index):
        return _sh.getitem(self, index)

    # Comparisons give boolean tensors and carry no gradient.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._from_op(op(self.data, other), None)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    # --- methods mirroring hubel.F -------------------------------------------------------
    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def abs(self):
        return _ew.abs(self)

    def clip(self, low=None, high=None):
        return _ew.clip(self, low, high)

    def sum(self, axis=None, keepdims: bool = False):
        return _red.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        return _red.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False):
        return _red.max(self, axis, keepdims)

    def min(self, axis=None, keepdims: bool = False):
        return _red.min(self, axis, keepdims)

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        return _red.var(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims: bool = False):
        return _red.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None):
        return Tensor._from_op(self.data.argmax(axis=axis), None)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _sh.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _sh.transpose(self, axes or None)

    def permute(self, *axes):
        return self.transpose(*axes)

    @property
    def T(self):
        return _sh.transpose(self, None)

    def flatten(self):
        return _sh.reshape(self, (-1,))

    def squeeze(self, axis=None):
        return _sh.squeeze(self, axis)

    def unsqueeze(self, axis: int):
        return _sh.unsqueeze(self, axis)

    def expand(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _sh.expand(self, shape)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor (float32 for Python numbers and lists)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def array_of(x):
    """The array behind x: a Tensor's data, an array itself (not `ndarray.data`, which is
    a memoryview: np.asarray of it is a new array object each time), else np.asarray(x)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def as_tensor(x) -> Tensor:
    """`x` itself if it is a Tensor, else a new Tensor without gradient."""
    return x if isinstance(x, Tensor) else Tensor(x)


_ = grad_mode  # re-exported through hubel.autograd

# Operators are ops and ops are built on Tensor, so they are imported last: the one
# upward reference in the package (tests/test_architecture.py allows exactly this).
from hubel.ops import elementwise as _ew  # noqa: E402
from hubel.ops import linalg as _la  # noqa: E402
from hubel.ops import reduce as _red  # noqa: E402
from hubel.ops import shape as _sh  # noqa: E402
