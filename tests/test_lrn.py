"""Local response normalization against torch.nn.functional.local_response_norm (which,
like Caffe, divides alpha by size), finite differences and the NumPy reference kernel."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hubel
from hubel import layers
from hubel.backends.kernels import lrn_numba, lrn_reference

torch = pytest.importorskip("torch")


def torch_lrn(x: np.ndarray, size, alpha, beta, k, requires_grad=False):
    """LRN of a channels-last array through PyTorch (channels-first)."""
    tx = torch.tensor(np.moveaxis(x, -1, 1), requires_grad=requires_grad)
    return tx, torch.nn.functional.local_response_norm(tx, size, alpha, beta, k)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 3, 7, 13])
@pytest.mark.parametrize("alpha, beta, k", [(1e-4, 0.75, 2.0), (0.5, 0.6, 1.0)])
def test_lrn_matches_torch_forward_and_backward(size, channels, alpha, beta, k):
    rng = np.random.default_rng(size * 100 + channels)
    x = (3 * rng.standard_normal((2, 4, 5, channels))).astype(np.float32)
    xt = hubel.Tensor(x, requires_grad=True)
    y = hubel.F.local_response_norm(xt, size, alpha, beta, k)
    tx, ty = torch_lrn(x, size, alpha, beta, k, requires_grad=True)
    np.testing.assert_allclose(y.data, np.moveaxis(ty.detach().numpy(), 1, -1),
                               rtol=1e-5, atol=1e-6)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    (y * hubel.Tensor(gy)).sum().backward()
    ty.backward(torch.tensor(np.moveaxis(gy, -1, 1)))
    np.testing.assert_allclose(xt.grad, np.moveaxis(tx.grad.numpy(), 1, -1),
                               rtol=1e-4, atol=1e-5)


def test_lrn_multithreaded_path_matches_torch():
    x = np.random.default_rng(3).standard_normal((4, 13, 13, 96)).astype(np.float32)
    xt = hubel.Tensor(x, requires_grad=True)
    y = hubel.F.local_response_norm(xt, 5, 1e-2, 0.75, 1.0)
    tx, ty = torch_lrn(x, 5, 1e-2, 0.75, 1.0, requires_grad=True)
    np.testing.assert_allclose(y.data, np.moveaxis(ty.detach().numpy(), 1, -1), rtol=1e-5,
                               atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(xt.grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=1e-4,
                               atol=1e-5)


def test_lrn_channel_edges_use_clipped_windows():
    # All-ones input, size 3, alpha=3 (so alpha/size = 1), beta=1, k=1: s = 1 + (#window).
    y = hubel.F.local_response_norm(hubel.Tensor(np.ones((1, 5))), 3, 3.0, 1.0, 1.0)
    np.testing.assert_allclose(y.data[0], [1 / 3, 1 / 4, 1 / 4, 1 / 4, 1 / 3])


@pytest.mark.parametrize("size, beta", [(3, 0.75), (5, 0.75), (4, 0.5), (2, 1.3)])
def test_lrn_gradcheck_float64(size, beta):
    x = np.random.default_rng(size).standard_normal((2, 3, 7))
    xt = hubel.Tensor(x, requires_grad=True)
    assert hubel.gradcheck(lambda t: hubel.F.local_response_norm(t, size, 0.3, beta, 1.5), xt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 3, 4, 5])
@pytest.mark.parametrize("beta", [0.75, 0.6])
def test_lrn_numba_kernel_equals_numpy_reference(dtype, size, beta):
    rng = np.random.default_rng(size)
    # 3,001 rows: the multi-threaded driver (small arrays run on one thread), odd blocks
    x = rng.standard_normal((3001, 11)).astype(dtype)
    y1, s1 = lrn_numba.lrn_forward(x, size, 0.2, beta, 2.0)
    y2, s2 = lrn_reference.lrn_forward(x, size, 0.2, beta, 2.0)
    assert y1.dtype == dtype and s1.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y1, y2, rtol=tol, atol=tol)
    np.testing.assert_allclose(s1, s2, rtol=tol, atol=tol)
    gy = rng.standard_normal(x.shape).astype(dtype)
    gx1, gx2 = np.full_like(x, np.nan), np.full_like(x, np.nan)
    lrn_numba.lrn_backward(gy, x, y1, s1, gx1, size, 0.2, beta)
    lrn_reference.lrn_backward(gy, x, y2, s2, gx2, size, 0.2, beta)
    np.testing.assert_allclose(gx1, gx2, rtol=tol * 10, atol=tol * 10)


def test_lrn_layer_matches_torch_module_and_round_trips_config():
    x = (10 * np.random.default_rng(0).standard_normal((2, 6, 6, 96))).astype(np.float32)
    layer = layers.LocalResponseNormalization(name="norm1")  # AlexNet: 5, 1e-4, 0.75, 2
    y = layer(hubel.Tensor(x))
    ref = torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)(torch.tensor(np.moveaxis(x, -1, 1)))
    np.testing.assert_allclose(y.data, np.moveaxis(ref.numpy(), 1, -1), rtol=1e-5,
                               atol=1e-6)
    config = layer.get_config()
    assert config["size"] == 5 and config["k"] == 2.0
    clone = layers.LocalResponseNormalization.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert layer.compute_output_shape((None, 6, 6, 96)) == (None, 6, 6, 96)
    assert layer.count_params() == 0


def test_lrn_errors():
    with pytest.raises(ValueError, match="LocalResponseNormalization 'n'.*size"):
        layers.LocalResponseNormalization(size=0, name="n")
    with pytest.raises(ValueError, match="expected input of at least 2"):
        layers.LocalResponseNormalization()(hubel.Tensor(np.ones(3)))


def test_lrn_empty_inputs():
    x = np.zeros((0, 3, 5), np.float32)
    assert hubel.F.local_response_norm(hubel.Tensor(x), 3).shape == (0, 3, 5)
    assert hubel.F.local_response_norm(hubel.Tensor(np.zeros((2, 0))), 3).shape == (2, 0)
