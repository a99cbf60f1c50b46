"""Elementwise ops against PyTorch (float32) and finite differences (float64)."""

import numpy as np
import pytest
from op_harness import BROADCAST_PAIRS, UNARY_SHAPES, check_op, random_broadcast_pair

import hubel

torch = pytest.importorskip("torch")
F = hubel.F

PAIRS = BROADCAST_PAIRS + [random_broadcast_pair(seed) for seed in range(4)]


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum", "minimum"])
def test_binary(name, shapes):
    check_op(getattr(F, name), getattr(torch, name), *shapes)


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
def test_div(shapes):
    # the divisor kept away from 0: finite differences are meaningless near a pole
    r = np.random.default_rng(1)
    b = r.uniform(0.5, 2.0, shapes[1]) * r.choice([-1, 1], shapes[1])
    check_op(F.div, torch.div, shapes[0], b)


@pytest.mark.parametrize("shapes", PAIRS[:6], ids=str)
def test_pow_tensor_exponent(shapes):
    check_op(F.pow, torch.pow, *shapes, positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5])
def test_pow_number_exponent(shape, exponent):
    check_op(lambda x: x**exponent, lambda x: x**exponent, shape, positive=True)


def test_operators_with_numbers_on_either_side():
    check_op(lambda x: 2 ** x - 1 / (3 + x) * 2, lambda x: 2 ** x - 1 / (3 + x) * 2, (3, 4),
             positive=True)


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name, positive", [("neg", False), ("exp", False), ("log", True),
                                            ("sqrt", True), ("abs", False)])
def test_unary(name, positive, shape):
    check_op(getattr(F, name), getattr(torch, name), shape, positive=positive)


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("low, high", [(-0.5, 0.7), (None, 0.3), (-0.2, None)])
def test_clip(shape, low, high):
    check_op(F.clip, torch.clamp, shape, args=(low, high))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (3, 4)),
                                    ((2, 3, 4), (1, 4), (3, 1)), ((0, 4), (4,), (0, 4))],
                         ids=str)
def test_where(shapes):
    r = np.random.default_rng(2)
    cond = r.random(shapes[0]) < 0.5
    check_op(F.where, torch.where, cond, shapes[1], shapes[2])


def test_where_accepts_a_boolean_tensor_and_numbers():
    x = hubel.Tensor([-1.0, 2.0, -3.0], requires_grad=True)
    y = F.where(x > 0, x, 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_maximum_splits_the_gradient_on_ties_like_torch():
    check_op(F.maximum, torch.maximum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]),
             gradcheck=False)


def test_cast_float64_and_back():
    check_op(lambda x: F.cast(x, np.float64).exp().astype(x.dtype),
             lambda x: x.double().exp().float(), (3, 4))


def test_cast_to_integers_carries_no_gradient():
    x = hubel.Tensor([1.5, 2.5], requires_grad=True)
    y = F.cast(x, np.int64)
    assert y.dtype == np.int64 and not y.requires_grad
