"""hubel.gradcheck catches wrong backward passes and checks whole models."""

import numpy as np
import pytest

import hubel
from hubel import Tensor
from hubel.autograd.function import Function
from hubel.layers.layer import Layer


class _WrongSquare(Function):
    """y = x², with a backward that is wrong at one element only (index 2)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        g = 2 * self.x * gy
        g.reshape(-1)[2] *= 1.5
        return g


class _Square(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return 2 * self.x * gy


def test_a_correct_function_passes():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert hubel.gradcheck(_Square.apply, x) is True


def test_a_wrong_backward_is_caught_and_the_worst_element_named():
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (2, 3)), requires_grad=True)
    with pytest.raises(hubel.GradcheckError, match=r"input 0 at index \(0, 2\)") as err:
        hubel.gradcheck(_WrongSquare.apply, x)
    assert "backprop" in str(err.value) and "finite difference" in str(err.value)


def test_a_nan_gradient_fails():
    class NaNGrad(_Square):
        def backward(self, gy):
            return gy * np.nan

    with pytest.raises(hubel.GradcheckError):
        hubel.gradcheck(NaNGrad.apply, Tensor(np.ones(2), requires_grad=True))


def test_only_inputs_that_require_grad_are_checked_and_options_pass_through():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    c = Tensor(np.full((2, 3), 2.0))
    assert hubel.gradcheck(lambda a, b, axis: (a * b).sum(axis=axis), x, c, 1)
    with pytest.raises(ValueError, match="no input requires grad"):
        hubel.gradcheck(lambda a: a * 2, c)


def test_float32_inputs_are_checked_in_float64():
    seen = []
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    hubel.gradcheck(lambda a: seen.append(a.dtype) or a.exp(), x)
    assert seen and all(d == np.float64 for d in seen)


def test_max_elements_samples_a_large_tensor():
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (50, 50)), requires_grad=True)
    assert hubel.gradcheck(lambda a: a.log(), x, max_elements=20)


class _TwoWeights(Layer):
    """A tiny model with two weights: y = (x @ W + b)²."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], 3), "glorot_uniform")
        self.b = self.add_weight("b", (3,), "ones")

    def call(self, x):
        h = x @ self.w + self.b
        return h * h


class _Broken(_TwoWeights):
    def call(self, x):
        return _WrongSquare.apply(x @ self.w + self.b)


def test_model_form_reports_the_relative_error_of_every_parameter():
    model = _TwoWeights(name="tiny")
    x = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    model(x)
    before = [w.data for w in model.weights]
    report = hubel.gradcheck(model, x)
    assert set(report) == {"tiny/w", "tiny/b"}
    assert all(0 <= err < 1e-6 for err in report.values())
    # the model is left as it was: float32 weights, gradients untouched
    assert all(w.data is d and w.grad is None for w, d in zip(model.weights, before))
    model.weights[1].grad = np.ones(3, np.float32)
    hubel.gradcheck(model, x)
    np.testing.assert_array_equal(model.weights[1].grad, np.ones(3))
    assert model.weights[0].dtype == np.float32


def test_model_form_with_a_loss():
    model = _TwoWeights(name="tiny_loss")
    x = np.random.default_rng(1).standard_normal((4, 2))
    y = Tensor(np.zeros((4, 3)))
    report = hubel.gradcheck(model, x, loss=lambda y, out: ((out - y) ** 2).mean(), y=y)
    assert set(report) == {"tiny_loss/w", "tiny_loss/b"}


def test_model_form_names_the_broken_parameter():
    model = _Broken(name="broken")
    x = np.random.default_rng(1).standard_normal((4, 2))
    with pytest.raises(hubel.GradcheckError, match="parameter 'broken/w'"):
        hubel.gradcheck(model, x)
