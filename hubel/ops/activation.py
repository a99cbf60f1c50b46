"""Activation functions and softmax (SPEC A, L9). Each has its derivative beside it."""

from __future__ import annotations

from hubel.autograd.function import Function
from hubel.backends import channels, get_array_module


class Softmax(Function):
    """yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m), m = max x (stable);  gx = y·(gy − Σ gy·y)."""

    def forward(self, x, axis):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)), None


class LogSoftmax(Function):
    """yᵢ = xᵢ − m − log Σⱼ e^(xⱼ − m) (stable);  gx = gy − softmax(x)·Σ gy."""

    def forward(self, x, axis):
        xp = get_array_module(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.y, self.axis = y, axis
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True), None


def softmax(x, axis: int = -1):
    """Softmax along `axis`: probabilities that sum to 1 (finite for logits of ±1e4)."""
    return Softmax.apply(x, axis)


def log_softmax(x, axis: int = -1):
    """log(softmax(x)) computed without overflow."""
    return LogSoftmax.apply(x, axis)


class ReLU(Function):
    """y = max(0, x);  gx = gy·[y > 0] (one Numba pass for large arrays)."""

    def forward(self, x):
        self.y = get_array_module(x).maximum(x, 0)
        return self.y

    def backward(self, gy):
        return channels.relu_backward(gy, self.y, bias_sum=False)[0]


class AddReLU(Function):
    """y = max(0, a + b) (a residual block's sum and its ReLU in one node);
    ga = gb = gy·[y > 0], summed back to each input's shape by the engine. Keeps the mask
    [y > 0], not y."""

    def forward(self, a, b):
        y, self.mask = channels.add_relu(a, b)
        return y

    def backward(self, gy):
        g = channels.relu_backward(gy, self.mask, bias_sum=False)[0]
        return g, g


class Sigmoid(Function):
    """y = 1 / (1 + e^(−x));  gx = gy·y·(1 − y)."""

    def forward(self, x):
        xp = get_array_module(x)
        # e^(−|x|) never overflows; the two branches give the same value.
        e = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh x;  gx = gy·(1 − y²)."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


def relu(x):
    """Rectified linear unit max(0, x)."""
    return ReLU.apply(x)


def add_relu(a, b):
    """max(0, a + b) in one pass (hubel.models.fusion runs an Add layer followed by a ReLU
    this way)."""
    return AddReLU.apply(a, b)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^(−x)), stable for large |x|."""
    return Sigmoid.apply(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def linear(x):
    """Identity activation f(x) = x."""
    return x


class LeakyReLU(Function):
    """y = x if x > 0 else α·x;  gx = gy·(1 if x > 0 else α). α ≈ 0.01 (leaky), 0.1–0.5
    ("very leaky")."""

    def forward(self, x, alpha):
        self.pos, self.alpha = x > 0, alpha
        return get_array_module(x).where(self.pos, x, x * x.dtype.type(alpha))

    def backward(self, gy):
        return get_array_module(gy).where(self.pos, gy, gy * gy.dtype.type(self.alpha)), None


class ELU(Function):
    """y = x if x > 0 else α(eˣ − 1);  gx = gy·(1 if x > 0 else y + α)."""

    def forward(self, x, alpha):
        xp = get_array_module(x)
        self.pos, self.alpha = x > 0, alpha
        self.y = xp.where(self.pos, x, x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0)))
        return self.y

    def backward(self, gy):
        xp = get_array_module(gy)
        return xp.where(self.pos, gy, gy * (self.y + gy.dtype.type(self.alpha))), None


class Softplus(Function):
    """y = ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^(−|x|));  gx = gy·σ(x)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        xp = get_array_module(gy)
        e = xp.exp(-xp.abs(self.x))
        s = xp.where(self.x >= 0, 1 / (1 + e), e / (1 + e))
        return gy * s.astype(gy.dtype, copy=False)


class Arctan(Function):
    """y = arctan x;  gx = gy / (1 + x²)."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).arctan(x)

    def backward(self, gy):
        return gy / (1 + self.x * self.x)


class BinaryStep(Function):
    """y = 1 if x ≥ 0 else 0;  gx = 0 (the derivative is 0 wherever it exists)."""

    def forward(self, x):
        return (x >= 0).astype(x.dtype)

    def backward(self, gy):
        return gy * 0


class Gaussian(Function):
    """y = e^(−x²);  gx = −2x·y·gy."""

    def forward(self, x):
        self.x = x
        self.y = get_array_module(x).exp(-x * x)
        return self.y

    def backward(self, gy):
        return -2 * self.x * self.y * gy


def leaky_relu(x, alpha: float = 0.01):
    """max(x, αx): leaky ReLU (α ≈ 0.01) or very leaky ReLU (α = 0.1 … 0.5)."""
    return LeakyReLU.apply(x, float(alpha))


def very_leaky_relu(x, alpha: float = 0.3):
    """Leaky ReLU with a large slope α ∈ [0.1, 0.5] (the lecture's "very leaky")."""
    return leaky_relu(x, alpha)


def elu(x, alpha: float = 1.0):
    """Exponential linear unit: x for x > 0, α(eˣ − 1) otherwise."""
    return ELU.apply(x, float(alpha))


def softplus(x):
    """ln(1 + eˣ), a smooth ReLU (stable for large |x|)."""
    return Softplus.apply(x)


def centered_softplus(x):
    """ln(1 + eˣ) − ln 2: softplus through the origin."""
    return Softplus.apply(x) - 0.6931471805599453


def arctan(x):
    """arctan x (values in (−π/2, π/2))."""
    return Arctan.apply(x)


def binary_step(x):
    """The threshold unit: 1 for x ≥ 0, else 0 (gradient 0)."""
    return BinaryStep.apply(x)


def gaussian(x):
    """e^(−x²)."""
    return Gaussian.apply(x)


def identity(x):
    """f(x) = x."""
    return x


def rrelu(x, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False):
    """Randomized leaky ReLU: in training a slope α ~ U(lower, upper) per element (drawn
    from hubel's generator); in inference the mean slope (lower + upper)/2."""
    from hubel.ops.elementwise import mul, where
    from hubel.random import rng

    data = getattr(x, "data", x)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    alpha = rng().uniform(lower, upper, data.shape).astype(data.dtype)
    return where(data > 0, x, mul(x, alpha))


def noisy_relu(x, stddev: float = 1.0, training: bool = False):
    """max(0, x + ε), ε ~ N(0, σ²) in training (Nair & Hinton 2010); plain ReLU in
    inference."""
    from hubel.ops.elementwise import add
    from hubel.random import rng

    if not training:
        return relu(x)
    data = getattr(x, "data", x)
    return relu(add(x, rng().normal(0.0, stddev, data.shape).astype(data.dtype)))


def prelu(x, alpha):
    """Parametric ReLU: max(0, x) + α·min(0, x) with a learnable α (broadcast over x)."""
    from hubel.ops.elementwise import add, minimum, mul

    return add(relu(x), mul(alpha, minimum(x, 0.0)))


def apl(x, a, b):
    """Adaptive piecewise linear unit (Agostinelli et al. 2015):
    y = max(0, x) + Σₛ aₛ·max(0, −x + bₛ), with learnable hinges a, b of shape
    (S, *features) for x of shape (N, *features)."""
    from hubel.ops.elementwise import add, mul, sub
    from hubel.ops.reduce import sum as rsum
    from hubel.ops.shape import unsqueeze

    # a, b: (S, *features); x: (N, *features) -> hinges (S, N, *features)
    hinges = relu(sub(unsqueeze(b, 1), unsqueeze(x, 0)))
    return add(relu(x), rsum(mul(unsqueeze(a, 1), hinges), axis=0))


def maxout(x, num_pieces: int, axis: int = -1):
    """Maxout (Goodfellow et al. 2013): the maximum over groups of `num_pieces` features:
    (..., k·p) -> (..., k)."""
    from hubel.ops.reduce import max as rmax
    from hubel.ops.shape import reshape

    shape = tuple(x.shape)
    axis = axis % len(shape)
    if shape[axis] % num_pieces:
        raise ValueError(f"maxout: {shape[axis]} features do not split into pieces of "
                         f"{num_pieces}")
    new = shape[:axis] + (shape[axis] // num_pieces, num_pieces) + shape[axis + 1:]
    return rmax(reshape(x, new), axis=axis + 1)
