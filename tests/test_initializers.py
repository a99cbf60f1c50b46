"""Initializers: the variances of the lecture's formulas, fans of dense and conv kernels,
seeding."""

import numpy as np
import pytest

import hubel
from hubel import initializers as I


def test_glorot_uniform_bound_and_variance():
    hubel.seed(0)
    w = I.get("glorot_uniform")((400, 600))
    r = np.sqrt(6 / (400 + 600))
    assert np.abs(w).max() <= r
    assert w.var() == pytest.approx(2 / (400 + 600), rel=0.02)


@pytest.mark.parametrize("name, var", [
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo)), ("he_normal", lambda fi, fo: 2 / fi),
    ("he_uniform", lambda fi, fo: 2 / fi), ("lecun_normal", lambda fi, fo: 1 / fi),
    ("lecun_uniform", lambda fi, fo: 1 / fi)])
def test_variance_of_conv_kernels(name, var):
    hubel.seed(1)
    shape = (5, 5, 32, 64)  # fan_in 800, fan_out 1600
    w = I.get(name)(shape)
    assert I.fans(shape) == (800, 1600)
    assert w.var() == pytest.approx(var(800, 1600), rel=0.03)


def test_truncated_normal_stays_within_two_sigma():
    hubel.seed(2)
    w = I.TruncatedNormal(0.0, 0.5)((10_000,))
    assert np.abs(w).max() <= 1.0


def test_caffe_fillers_and_constants():
    hubel.seed(3)
    w = I.RandomNormal(stddev=0.01)((200, 200))
    assert w.std() == pytest.approx(0.01, rel=0.02)
    assert (I.Constant(0.1)((3,)) == np.float32(0.1)).all()
    assert (I.get("zeros")((2, 2)) == 0).all() and (I.get("ones")((2,)) == 1).all()
    u = I.RandomUniform(-1, 1)((10_000,))
    assert u.min() >= -1 and u.max() <= 1


def test_seed_reproduces_and_config_dicts():
    hubel.seed(7)
    a = I.get("he_normal")((4, 4))
    hubel.seed(7)
    b = I.get("he_normal")((4, 4))
    np.testing.assert_array_equal(a, b)
    init = I.get({"class_name": "Constant", "config": {"value": 2.0}})
    assert init((1,))[0] == 2.0
    with pytest.raises(ValueError, match="unknown initializer"):
        I.get("glorot_uniformm")
