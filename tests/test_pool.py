"""Pooling (hubel/ops/pool.py, hubel/layers/pooling.py) against PyTorch, finite
differences and the NumPy reference kernels.

PyTorch works channels-first and has no TensorFlow 'same' padding, so the reference pads
explicitly: with −∞ for max pooling, with zeros for average pooling, where the count that
leaves padding out is avg_pool(pad(x)) / avg_pool(pad(ones)). The 'same' amounts are
computed here from TensorFlow's rule, independently of hubel.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest

import hubel
from hubel import layers
from hubel.backends.kernels import pool_numba, pool_reference

torch = pytest.importorskip("torch")
tF = torch.nn.functional

# Spatial input sizes per dimensionality: odd and even, not square.
SIZES = {1: [(9,), (12,)], 2: [(7, 8), (10, 9)], 3: [(5, 6, 7)]}
CHANNELS = 3


def tf_same(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (before, after), the odd pixel after."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def torch_pool(kind, x, k, s, pads, count_include_pad=False):
    """Pooling of a channels-first torch tensor with explicit (before, after) pads."""
    nd = len(k)
    flat = [v for b, a in reversed(pads) for v in (b, a)]  # F.pad wants last axis first
    fn = {("max", 1): tF.max_pool1d, ("max", 2): tF.max_pool2d, ("max", 3): tF.max_pool3d,
          ("avg", 1): tF.avg_pool1d, ("avg", 2): tF.avg_pool2d, ("avg", 3): tF.avg_pool3d}
    pool_fn = fn[(kind, nd)]
    if kind == "max":
        return pool_fn(tF.pad(x, flat, value=-math.inf), k, s)
    total = pool_fn(tF.pad(x, flat), k, s)
    if count_include_pad:
        return total
    ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
    return total / pool_fn(tF.pad(ones, flat), k, s)


def to_first(a: np.ndarray) -> np.ndarray:
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return np.moveaxis(a, -1, 1)


def compare_with_torch(kind, x, k, s, padding, count_include_pad=False, tol=1e-5):
    nd = len(k)
    pads = [(0, 0)] * nd if padding == "valid" else [
        tf_same(n, kk, ss) for n, kk, ss in zip(x.shape[1:-1], k, s)]
    fn = getattr(hubel.F, f"{kind}_pool{nd}d")
    opts = {"count_include_pad": count_include_pad} if kind == "avg" else {}
    xt = hubel.Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # windows that miss rows: tested separately
        y = fn(xt, k, s, padding, **opts)
    tx = torch.tensor(to_first(x), requires_grad=True)
    ty = torch_pool(kind, tx, k, s, pads, count_include_pad)
    np.testing.assert_allclose(y.data, np.moveaxis(ty.detach().numpy(), 1, -1), rtol=tol,
                               atol=tol)
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    (y * hubel.Tensor(gy)).sum().backward()
    ty.backward(torch.tensor(to_first(gy)))
    np.testing.assert_allclose(xt.grad, np.moveaxis(tx.grad.numpy(), 1, -1), rtol=tol,
                               atol=tol)


GRID = [(nd, size, k, s, padding)
        for nd in (1, 2, 3) for size in SIZES[nd] for k in (2, 3, 4) for s in (1, 2, 3)
        for padding in ("valid", "same")
        if nd < 3 or (k, s) in ((2, 2), (3, 2), (2, 1), (4, 3), (3, 3))]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("nd, size, k, s, padding", GRID)
def test_pool_matches_torch(kind, nd, size, k, s, padding):
    rng = np.random.default_rng(nd * 100 + k * 10 + s)
    x = rng.standard_normal((2, *size, CHANNELS)).astype(np.float32)
    compare_with_torch(kind, x, (k,) * nd, (s,) * nd, padding)


@pytest.mark.parametrize("nd, size, k, s, padding", [
    (2, (7, 8), (3, 2), (2, 1), "same"), (2, (6, 6), (3, 3), (1, 1), "same"),
    (1, (9,), (4,), (3,), "same"), (3, (5, 6, 7), (3, 2, 3), (2, 1, 3), "same")])
def test_avg_pool_count_include_pad_matches_torch(nd, size, k, s, padding):
    x = np.random.default_rng(3).standard_normal((2, *size, 2)).astype(np.float32)
    compare_with_torch("avg", x, k, s, padding, count_include_pad=True)


@pytest.mark.parametrize("nd, size, k, s", [
    (2, (7, 9), (3, 2), (2, 3)), (3, (4, 5, 6), (2, 3, 1), (1, 2, 1)), (1, (11,), (3,), (1,))])
def test_pool_rectangular_windows_match_torch(nd, size, k, s):
    x = np.random.default_rng(4).standard_normal((3, *size, 4)).astype(np.float32)
    for kind, padding in itertools.product(("max", "avg"), ("valid", "same")):
        compare_with_torch(kind, x, k, s, padding)


def test_max_pool_ties_give_the_gradient_to_the_first_maximum_like_torch():
    # Small integers: most windows hold ties; torch routes the gradient to the first max.
    x = np.random.default_rng(5).integers(0, 3, size=(2, 9, 9, 3)).astype(np.float32)
    for k, s in ((2, 2), (3, 2), (3, 1)):
        compare_with_torch("max", x, (k, k), (s, s), "valid")
        compare_with_torch("max", x, (k, k), (s, s), "same")
    # All-equal window: the whole gradient goes to its first element (row-major).
    xt = hubel.Tensor(np.ones((1, 2, 2, 1), np.float32), requires_grad=True)
    hubel.F.max_pool2d(xt, 2).sum().backward()
    assert xt.grad[0, :, :, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_max_pool_propagates_nan_like_torch():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 1, 0, 0] = np.nan
    y = hubel.F.max_pool2d(hubel.Tensor(x), 2).data[0, :, :, 0]
    ty = tF.max_pool2d(torch.tensor(to_first(x)), 2).numpy()[0, 0]
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ty))
    assert np.isnan(y[0, 0]) and y[1, 1] == 15


def _distinct(shape, seed):
    """float64 values at least 0.05 apart (no ties, so max pooling is differentiable)."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))) * 0.05 + rng.uniform(0, 0.01)).reshape(
        shape) - 1.0


@pytest.mark.parametrize("fn, shape, args", [
    (hubel.F.max_pool1d, (2, 7, 2), (3, 2, "same")),
    (hubel.F.max_pool2d, (2, 5, 6, 2), (3, 2, "same")),
    (hubel.F.max_pool2d, (1, 6, 5, 3), (2, 1, "valid")),
    (hubel.F.max_pool3d, (1, 4, 5, 3, 2), (2, 2, "same")),
    (hubel.F.avg_pool1d, (2, 7, 2), (3, 2, "same")),
    (hubel.F.avg_pool2d, (2, 5, 6, 2), (3, 2, "same")),
    (hubel.F.avg_pool2d, (1, 5, 5, 2), (2, 1, "valid")),
    (hubel.F.avg_pool3d, (1, 4, 5, 3, 2), (2, 2, "same")),
    (hubel.F.global_max_pool2d, (2, 3, 4, 3), ()),
    (hubel.F.global_avg_pool2d, (2, 3, 4, 3), ()),
    (hubel.F.global_max_pool1d, (2, 5, 3), ()),
    (hubel.F.global_avg_pool3d, (1, 2, 3, 2, 3), ()),
])
def test_pool_gradcheck_float64(fn, shape, args):
    x = hubel.Tensor(_distinct(shape, len(shape)), requires_grad=True)
    assert hubel.gradcheck(lambda t: fn(t, *args), x, max_elements=40)


def test_avg_pool_count_include_pad_gradcheck_float64():
    x = hubel.Tensor(_distinct((1, 5, 4, 2), 9), requires_grad=True)
    assert hubel.gradcheck(lambda t: hubel.F.avg_pool2d(t, 3, 2, "same",
                                                        count_include_pad=True), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_global_pooling_matches_torch(kind, nd):
    size = {1: (7,), 2: (5, 6), 3: (3, 4, 5)}[nd]
    x = np.random.default_rng(nd).standard_normal((3, *size, 4)).astype(np.float32)
    xt = hubel.Tensor(x, requires_grad=True)
    y = getattr(hubel.F, f"global_{kind}_pool{nd}d")(xt)
    tx = torch.tensor(x, requires_grad=True)
    dims = tuple(range(1, nd + 1))
    ty = tx.amax(dim=dims) if kind == "max" else tx.mean(dim=dims)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    gy = np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    (y * hubel.Tensor(gy)).sum().backward()
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    keep = getattr(hubel.F, f"global_{kind}_pool{nd}d")(hubel.Tensor(x), keepdims=True)
    assert keep.shape == (3,) + (1,) * nd + (4,)


def test_global_max_pool_ties_first_maximum_like_torch():
    x = np.random.default_rng(2).integers(0, 2, size=(2, 3, 3, 4)).astype(np.float32)
    xt = hubel.Tensor(x, requires_grad=True)
    hubel.F.global_max_pool2d(xt).sum().backward()
    tx = torch.tensor(to_first(x), requires_grad=True)
    tF.adaptive_max_pool2d(tx, 1).sum().backward()
    np.testing.assert_array_equal(xt.grad, np.moveaxis(tx.grad.numpy(), 1, -1))


# --- the fast kernels equal the NumPy reference -----------------------------------------
KERNEL_CASES = [((3, 1, 7, 9, 5), (1, 3, 3), (1, 2, 2), (0, 1, 1)),
                ((2, 4, 5, 6, 3), (2, 2, 3), (1, 2, 1), (1, 0, 1)),
                ((2, 1, 1, 11, 1), (1, 1, 4), (1, 1, 3), (0, 0, 2)),
                ((2, 1, 8, 8, 16), (1, 2, 2), (1, 2, 2), (0, 0, 0)),
                # large enough for the multi-threaded drivers (small arrays run serially)
                ((5, 1, 27, 27, 16), (1, 3, 3), (1, 2, 2), (0, 1, 1)),
                ((3, 6, 10, 10, 12), (2, 3, 3), (2, 1, 2), (1, 1, 0)),
                # few channels, 2x2 stride 2: the unrolled narrow kernel (serial, parallel;
                # odd sizes leave a row and a column no window sees)
                ((2, 1, 8, 9, 6), (1, 2, 2), (1, 2, 2), (0, 0, 0)),
                ((40, 1, 28, 27, 6), (1, 2, 2), (1, 2, 2), (0, 0, 0))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, k, s, p", KERNEL_CASES)
def test_numba_kernels_equal_numpy_reference(dtype, shape, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, 0, :2, 0] = 7.0  # a tie
    out = tuple((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(shape[1:4], k, s, p))
    y1, a1 = pool_numba.max_pool_forward(x, out, k, s, p)
    y2, a2 = pool_reference.max_pool_forward(x, out, k, s, p)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(a1, a2)
    assert y1.dtype == dtype
    y3, a3 = pool_numba.max_pool_forward(x, out, k, s, p, False)  # inference: no argmax
    np.testing.assert_array_equal(y3, y2)
    assert a3.size == 0
    gy = rng.standard_normal(y1.shape).astype(dtype)
    gx1, gx2 = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
    pool_numba.max_pool_backward(gy, a1, gx1)
    pool_reference.max_pool_backward(gy, a2, gx2)
    np.testing.assert_allclose(gx1, gx2, rtol=1e-6, atol=1e-6)
    for include in (False, True):
        y1 = pool_numba.avg_pool_forward(x, out, k, s, p, include)
        assert y1.dtype == dtype
        np.testing.assert_allclose(y1, pool_reference.avg_pool_forward(x, out, k, s, p,
                                                                       include),
                                   rtol=1e-6, atol=1e-6)
        gx1, gx2 = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
        pool_numba.avg_pool_backward(gy, gx1, k, s, p, include)
        pool_reference.avg_pool_backward(gy, gx2, k, s, p, include)
        np.testing.assert_allclose(gx1, gx2, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("batch", [2, 40])  # serial and multi-threaded
def test_narrow_2x2_kernel_nan_and_inf_follow_the_reference(batch):
    # The unrolled kernel finds NaN through the window sum; inf - inf also sums to NaN
    # and must still give inf, not NaN.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 1, 8, 8, 3)).astype(np.float32)
    x[0, 0, 0, 1, 0] = np.nan                 # NaN second in its window
    x[0, 0, 2, 2, 1], x[0, 0, 3, 3, 1] = np.nan, np.nan  # two NaNs: the last wins (torch)
    x[1, 0, 0, 0, 2], x[1, 0, 1, 1, 2] = np.inf, -np.inf  # sum NaN, max inf
    x[1, 0, 4, 5, 0] = -np.inf
    args = (x, (1, 4, 4), (1, 2, 2), (1, 2, 2), (0, 0, 0))
    y1, a1 = pool_numba.max_pool_forward(*args)
    y2, a2 = pool_reference.max_pool_forward(*args)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(a1, a2)
    assert np.isnan(y1[0, 0, 0, 0, 0]) and y1[1, 0, 0, 0, 2] == np.inf


# --- errors, warnings, shapes -----------------------------------------------------------
def test_non_whole_output_warns_naming_the_layer():
    # The lecture's example: 7x7 input, 3x3 window, stride 3 -> (7 - 3)/3 + 1 = 2.33.
    layer = layers.MaxPooling2D(3, 3, name="pool1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = layer(hubel.Tensor(np.zeros((1, 7, 7, 1), np.float32)))
    messages = " | ".join(str(w.message) for w in caught)
    assert "MaxPooling2D 'pool1'" in messages and "2.33" in messages
    assert "rows [6]" in messages and "columns [6]" in messages
    assert y.shape == (1, 2, 2, 1)  # floor, as Keras and PyTorch


def test_pool_errors_name_the_layer():
    x = hubel.Tensor(np.zeros((1, 3, 3, 2), np.float32))
    with pytest.raises(ValueError, match="MaxPooling2D 'big'.*larger than"):
        layers.MaxPooling2D(4, name="big")(x)
    with pytest.raises(ValueError, match=r"AveragePooling2D 'p2'.*expected 4-D"):
        layers.AveragePooling2D(2, name="p2")(hubel.Tensor(np.zeros((3, 3, 2))))
    with pytest.raises(ValueError, match="padding"):
        hubel.F.max_pool2d(x, 2, 1, padding=[(2, 0), (0, 0)])
    with pytest.raises(ValueError, match="padding"):
        hubel.F.max_pool2d(x, 2, padding="full")
    with pytest.raises(TypeError, match="count_include_pad"):
        layers.MaxPooling2D(2, count_include_pad=True)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_multithreaded_path_matches_torch(kind):
    # 2x27x27x64 = 93,312 elements: above the size where the kernels go multi-threaded.
    x = np.random.default_rng(11).standard_normal((2, 27, 27, 64)).astype(np.float32)
    compare_with_torch(kind, x, (3, 3), (2, 2), "same")
    compare_with_torch(kind, x, (2, 2), (2, 2), "valid")


def test_explicit_padding_matches_torch():
    x = np.random.default_rng(8).standard_normal((2, 7, 9, 3)).astype(np.float32)
    xt = hubel.Tensor(x)
    tx = torch.tensor(to_first(x))
    y = hubel.F.max_pool2d(xt, 3, 2, padding=1).data
    np.testing.assert_allclose(y, np.moveaxis(tF.max_pool2d(tx, 3, 2, 1).numpy(), 1, -1))
    y = hubel.F.avg_pool2d(xt, 3, 2, padding=1, count_include_pad=True).data
    np.testing.assert_allclose(y, np.moveaxis(tF.avg_pool2d(tx, 3, 2, 1).numpy(), 1, -1),
                               rtol=1e-6, atol=1e-6)
    y = hubel.F.avg_pool2d(xt, 3, 2, padding=[(1, 1), (1, 1)]).data
    ty = tF.avg_pool2d(tx, 3, 2, 1, count_include_pad=False).numpy()
    np.testing.assert_allclose(y, np.moveaxis(ty, 1, -1), rtol=1e-6, atol=1e-6)


POOL_LAYERS = [
    (layers.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (None, 9, 4)),
    (layers.MaxPooling2D, {"pool_size": 3, "strides": 2}, (None, 55, 55, 96)),
    (layers.MaxPooling3D, {"pool_size": (1, 2, 2)}, (None, 4, 8, 8, 2)),
    (layers.AveragePooling1D, {"pool_size": 2}, (None, 10, 4)),
    (layers.AveragePooling2D, {"pool_size": 5, "strides": 3, "count_include_pad": True},
     (None, 14, 14, 8)),
    (layers.AveragePooling3D, {"pool_size": 2, "padding": "same"}, (None, 5, 5, 5, 1)),
    (layers.GlobalAveragePooling1D, {}, (None, 9, 4)),
    (layers.GlobalAveragePooling2D, {"keepdims": True}, (None, 7, 7, 8)),
    (layers.GlobalAveragePooling3D, {}, (None, 2, 3, 4, 5)),
    (layers.GlobalMaxPooling1D, {}, (None, 9, 4)),
    (layers.GlobalMaxPooling2D, {}, (None, 7, 7, 8)),
    (layers.GlobalMaxPooling3D, {"keepdims": True}, (None, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("cls, kwargs, input_shape", POOL_LAYERS)
def test_pool_layer_shape_and_config_round_trip(cls, kwargs, input_shape):
    layer = cls(**kwargs)
    x = hubel.Tensor(np.random.default_rng(0).standard_normal((2, *input_shape[1:]))
                     .astype(np.float32))
    y = layer(x)
    assert (None, *y.shape[1:]) == layer.compute_output_shape(input_shape)
    config = layer.get_config()
    clone = cls.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    np.testing.assert_array_equal(clone(x).data, y.data)
    assert layer.count_params() == 0


def test_pool_layer_in_functional_graph_and_default_strides():
    inputs = hubel.layers.Input(shape=(28, 28, 6))
    out = layers.MaxPooling2D()(inputs)
    assert out.shape == (None, 14, 14, 6)
    assert layers.AveragePooling2D(pool_size=(2, 3)).strides == (2, 3)
    y = layers.MaxPooling2D(3, 2, padding="same")(hubel.Tensor(np.zeros((1, 28, 28, 1))))
    assert y.shape == (1, 14, 14, 1)  # ceil(28 / 2), which PyTorch cannot express
