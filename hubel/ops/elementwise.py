"""Elementwise ops: arithmetic, exp/log/sqrt/abs, clip, maximum/minimum, where, cast.

Broadcasting follows NumPy; the engine sums each gradient back to its input's shape.
"""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import get_array_module
from hubel.tensor import Tensor


class Add(Function):
    """y = a + b;  ga = gy, gb = gy."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a − b;  ga = gy, gb = −gy."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_grad[1] else None)


class Mul(Function):
    """y = a·b;  ga = gy·b, gb = gy·a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = gy * self.b if self.needs_grad[0] else None
        gb = gy * self.a if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b;  ga = gy / b, gb = −gy·a / b²."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b if self.needs_grad[0] else None
        gb = -gy * self.a / (self.b * self.b) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = −x;  gx = −gy."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = a^b;  ga = gy·b·a^(b−1), gb = gy·y·ln a (a > 0)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        ga = gb = None
        if self.needs_grad[0]:
            ga = gy * self.b * self.a ** (self.b - 1)
        if self.needs_grad[1]:
            a = xp.asarray(self.a)
            safe = xp.where(a > 0, a, 1)
            gb = gy * self.y * xp.log(safe).astype(gy.dtype, copy=False)
        return ga, gb


class Exp(Function):
    """y = eˣ;  gx = gy·y."""

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """y = ln x;  gx = gy / x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """y = √x;  gx = gy / (2y)."""

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """y = |x|;  gx = gy·sign(x) (0 at 0)."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, gy):
        return gy * get_array_module(gy).sign(self.x)


class Clip(Function):
    """y = min(max(x, low), high);  gx = gy where low ≤ x ≤ high, else 0."""

    def forward(self, x, low, high):
        xp = get_array_module(x)
        self.x, self.low, self.high = x, low, high
        return xp.clip(x, low, high)

    def backward(self, gy):
        inside = True
        if self.low is not None:
            inside = inside & (self.x >= self.low)
        if self.high is not None:
            inside = inside & (self.x <= self.high)
        return gy * inside, None, None


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to the larger (split evenly on ties)."""

    def forward(self, a, b):
        xp = get_array_module(a, b)
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, gy):
        xp = get_array_module(gy)
        wa = (self.a > self.b) + 0.5 * (self.a == self.b)
        wa = xp.asarray(wa, dtype=gy.dtype)
        ga = gy * wa if self.needs_grad[0] else None
        gb = gy * (1 - wa) if self.needs_grad[1] else None
        return ga, gb


class Where(Function):
    """y = cond ? a : b;  ga = gy where cond, gb = gy elsewhere."""

    def forward(self, cond, a, b):
        self.cond = get_array_module(a, b).asarray(cond, dtype=bool)
        return get_array_module(a, b).where(self.cond, a, b)

    def backward(self, gy):
        zero = gy.dtype.type(0)
        ga = gy * self.cond if self.needs_grad[1] else None
        gb = get_array_module(gy).where(self.cond, zero, gy) if self.needs_grad[2] else None
        return None, ga, gb


class Cast(Function):
    """y = x as another dtype;  gx = gy cast back."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy):
        return gy.astype(self.dtype), None


def _weak(v):
    """A NumPy scalar acts like a Python number: float32 tensors stay float32 (NumPy would
    promote `float32 array * np.float64(2)` to float64; PyTorch does not)."""
    return v.item() if isinstance(v, np.generic) else v


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(_weak(a), _weak(b))


def sub(a, b):
    """a − b with broadcasting."""
    return Sub.apply(_weak(a), _weak(b))


def mul(a, b):
    """a · b elementwise with broadcasting."""
    return Mul.apply(_weak(a), _weak(b))


def div(a, b):
    """a / b elementwise with broadcasting."""
    return Div.apply(_weak(a), _weak(b))


def neg(x):
    """−x."""
    return Neg.apply(x)


def pow(a, b):  # noqa: A001 - the lecture's name
    """a ** b elementwise."""
    return Pow.apply(_weak(a), _weak(b))


def exp(x):
    """eˣ elementwise."""
    return Exp.apply(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log.apply(x)


def sqrt(x):
    """Square root elementwise."""
    return Sqrt.apply(x)


def abs(x):  # noqa: A001
    """|x| elementwise."""
    return Abs.apply(x)


def clip(x, low=None, high=None):
    """Clamp x into [low, high] (either bound may be None)."""
    return Clip.apply(x, low, high)


def maximum(a, b):
    """Elementwise maximum of a and b."""
    return Maximum.apply(_weak(a), _weak(b))


def minimum(a, b):
    """Elementwise minimum of a and b: −max(−a, −b)."""
    return neg(maximum(neg(a), neg(b)))


def where(cond, a, b):
    """Elements of a where cond holds, else of b."""
    if isinstance(cond, Tensor):
        cond = cond.data
    return Where.apply(cond, a, b)


def cast(x, dtype):
    """x converted to dtype; the gradient is converted back (none for non-float dtypes)."""
    y = Cast.apply(x, dtype)
    if y.data.dtype.kind != "f" and y.requires_grad:
        return y.detach()
    return y
