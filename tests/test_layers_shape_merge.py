"""Flatten, Reshape, ZeroPadding, Cropping and the merge layers: values and gradients
against PyTorch, shape inference, errors that name the layer, config round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hubel
from hubel import layers

torch = pytest.importorskip("torch")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check_against_torch(layer, arrays, torch_fn):
    """Forward and input gradients of `layer(list or one array)` equal torch_fn's."""
    xs = [hubel.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = layer(xs) if len(xs) > 1 else layer(xs[0])
    ty = torch_fn(*ts)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    gy = rand(*y.shape, seed=7)
    (y * hubel.Tensor(gy)).sum().backward()
    ty.backward(torch.tensor(gy))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)
    return y


def round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    return clone


def test_flatten():
    layer = layers.Flatten()
    y = check_against_torch(layer, [rand(3, 5, 5, 16)], lambda t: t.reshape(3, -1))
    assert y.shape == (3, 400)
    assert layer.compute_output_shape((None, 5, 5, 16)) == (None, 400)
    round_trip(layer)


def test_reshape_with_inferred_axis_and_mismatch_error():
    layer = layers.Reshape((4, -1), name="r1")
    check_against_torch(layer, [rand(2, 2, 6)], lambda t: t.reshape(2, 4, 3))
    assert layer.compute_output_shape((None, 2, 6)) == (None, 4, 3)
    assert round_trip(layer).target_shape == (4, -1)
    with pytest.raises(ValueError, match=r"Reshape 'r2'.*\(None, 4, 5\).*20 values.*21"):
        layers.Reshape((3, 7), name="r2").compute_output_shape((None, 4, 5))
    with pytest.raises(ValueError, match=r"Reshape 'r3'.*21 is not a multiple of 2"):
        layers.Reshape((2, -1), name="r3")(hubel.Tensor(rand(1, 3, 7)))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))


@pytest.mark.parametrize("cls, padding, shape, torch_pad", [
    (layers.ZeroPadding2D, 1, (2, 4, 5, 3), (0, 0, 1, 1, 1, 1)),
    (layers.ZeroPadding2D, (1, 2), (2, 4, 5, 3), (0, 0, 2, 2, 1, 1)),
    (layers.ZeroPadding2D, ((1, 2), (3, 0)), (2, 4, 5, 3), (0, 0, 3, 0, 1, 2)),
    (layers.ZeroPadding1D, (2, 1), (2, 6, 3), (0, 0, 2, 1)),
    (layers.ZeroPadding3D, 1, (1, 2, 3, 4, 2), (0, 0, 1, 1, 1, 1, 1, 1)),
])
def test_zero_padding_matches_torch(cls, padding, shape, torch_pad):
    layer = cls(padding)
    y = check_against_torch(layer, [rand(*shape)],
                            lambda t: torch.nn.functional.pad(t, torch_pad))
    assert (None, *y.shape[1:]) == layer.compute_output_shape((None, *shape[1:]))
    round_trip(layer)


@pytest.mark.parametrize("cls, cropping, shape, index", [
    (layers.Cropping2D, ((1, 2), (0, 1)), (2, 6, 5, 3), np.s_[:, 1:4, 0:4, :]),
    (layers.Cropping1D, (2, 1), (2, 6, 3), np.s_[:, 2:5, :]),
    (layers.Cropping3D, 1, (1, 4, 3, 5, 2), np.s_[:, 1:3, 1:2, 1:4, :]),
])
def test_cropping_matches_torch(cls, cropping, shape, index):
    layer = cls(cropping)
    y = check_against_torch(layer, [rand(*shape)], lambda t: t[index])
    assert (None, *y.shape[1:]) == layer.compute_output_shape((None, *shape[1:]))
    round_trip(layer)
    with pytest.raises(ValueError, match="removes all"):
        cls(9)(hubel.Tensor(rand(*shape)))


def test_concatenate_inception_style():
    a, b, c = rand(2, 7, 7, 64, seed=1), rand(2, 7, 7, 32, seed=2), rand(2, 7, 7, 16, seed=3)
    layer = layers.Concatenate()
    y = check_against_torch(layer, [a, b, c], lambda *t: torch.cat(t, dim=-1))
    assert y.shape == (2, 7, 7, 112)
    shapes = [(None, 7, 7, 64), (None, 7, 7, 32), (None, 7, 7, 16)]
    assert layer.compute_output_shape(shapes) == (None, 7, 7, 112)
    check_against_torch(layers.Concatenate(axis=1), [a, rand(2, 3, 7, 64)],
                        lambda *t: torch.cat(t, dim=1))
    assert round_trip(layers.Concatenate(axis=2)).axis == 2
    with pytest.raises(ValueError, match=r"Concatenate 'cat'.*\(2, 7, 7, 64\).*\(2, 6, 7, 32\)"
                                         r".*differ on axis 1"):
        layers.Concatenate(name="cat")([hubel.Tensor(a), hubel.Tensor(rand(2, 6, 7, 32))])


@pytest.mark.parametrize("cls, torch_fn", [
    (layers.Add, lambda *t: t[0] + t[1] + t[2]),
    (layers.Multiply, lambda *t: t[0] * t[1] * t[2]),
    (layers.Average, lambda *t: (t[0] + t[1] + t[2]) / 3),
    (layers.Maximum, lambda *t: torch.maximum(torch.maximum(t[0], t[1]), t[2])),
    (layers.Minimum, lambda *t: torch.minimum(torch.minimum(t[0], t[1]), t[2])),
])
def test_elementwise_merges_match_torch(cls, torch_fn):
    arrays = [rand(2, 4, 4, 3, seed=s) for s in range(3)]
    layer = cls()
    check_against_torch(layer, arrays, torch_fn)
    assert layer.compute_output_shape([(None, 4, 4, 3)] * 3) == (None, 4, 4, 3)
    round_trip(layer)


def test_subtract_and_merge_errors():
    a, b = rand(2, 3, seed=1), rand(2, 3, seed=2)
    check_against_torch(layers.Subtract(), [a, b], lambda x, y: x - y)
    with pytest.raises(ValueError, match=r"Add 'res'.*same shape.*\(2, 3\).*\(2, 4\)"):
        layers.Add(name="res")([hubel.Tensor(a), hubel.Tensor(rand(2, 4))])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()([hubel.Tensor(a)])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([hubel.Tensor(a)] * 3)


def test_residual_block_in_functional_api():
    inputs = hubel.layers.Input(shape=(8, 8, 4))
    padded = layers.ZeroPadding2D(1)(inputs)
    cropped = layers.Cropping2D(1)(padded)
    summed = layers.Add()([inputs, cropped])
    joined = layers.Concatenate()([summed, inputs])
    assert joined.shape == (None, 8, 8, 8)
    assert layers.Flatten()(joined).shape == (None, 512)
    assert layers.Reshape((64, -1))(joined).shape == (None, 64, 8)


def test_functional_flatten_keeps_the_batch_axis_like_torch():
    a = rand(2, 3, 4, 5)
    x = hubel.Tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, ty = hubel.F.flatten(x), torch.flatten(t, 1)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    assert hubel.F.flatten(x, 2).shape == tuple(torch.flatten(t, 2).shape)
    gy = rand(*y.shape, seed=3)
    (y * hubel.Tensor(gy)).sum().backward()
    ty.backward(torch.tensor(gy))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
