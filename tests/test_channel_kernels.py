"""The per-channel Numba kernels (bias add, the fused bias + ReLU and its backward,
inference batch-norm scale and shift) equal NumPy's broadcast expressions, for
kernel-sized, odd-sized and non-contiguous inputs."""

import numpy as np
import pytest

from hubel.backends.channels import add_bias, add_bias_relu, channel_affine, relu_backward

pytest.importorskip("numba")

SHAPES = [(5, 3), (2, 7, 9, 6), (64, 32, 32, 16), (3, 1), (0, 4), (4097, 17), (9, 28, 28, 6)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_add_bias_is_numpy_broadcast_add(shape, dtype):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[-1]).astype(dtype)
    want = y + b
    got = add_bias(y, b)
    assert got is y  # in place
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_channel_affine_is_numpy_scale_and_shift(shape, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    s, t = (rng.standard_normal(shape[-1]).astype(dtype) for _ in range(2))
    got = channel_affine(x, s, t)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_allclose(got, x * s + t, rtol=1e-6, atol=1e-6)


def test_strided_arrays_and_other_dtypes_take_the_numpy_path():
    y = np.zeros((4, 6), np.float32)[:, ::2]  # not contiguous
    add_bias(y, np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(y, np.tile(np.arange(3, dtype=np.float32), (4, 1)))
    # a float64 bias on a float32 array stays float32, as with y += b
    y32 = np.ones((2, 3), np.float32)
    add_bias(y32, np.array([0.5, 1.5, 2.5]))
    assert y32.dtype == np.float32 and y32[1].tolist() == [1.5, 2.5, 3.5]
    i = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(channel_affine(i, 2, 1), i * 2 + 1)


@pytest.mark.parametrize("shape", [(4, 3), (300, 300, 3)], ids=["numpy path", "numba path"])
def test_channel_affine_keeps_a_float32_input_float32_on_both_paths(shape):
    x = np.ones(shape, np.float32)
    y = channel_affine(x, np.full(3, 2.0), np.full(3, 0.5))  # float64 scale and shift
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.full(shape, 2.5, np.float32))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_add_bias_relu_and_its_backward_equal_numpy(shape, dtype, bias):
    rng = np.random.default_rng(2)
    y = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[-1]).astype(dtype) if bias else None
    if y.size:
        y.flat[::7] = np.nan  # NaN passes through the forward, as with np.maximum
    want = np.maximum(y + b if bias else y, 0)
    got = add_bias_relu(y, b)
    assert got is y and got.dtype == dtype  # in place
    np.testing.assert_array_equal(got, want)

    gy = rng.standard_normal(shape).astype(dtype)
    if y.size:
        gy.flat[::11] = np.nan  # NaN·0 = NaN where the unit is off, as gy·[y > 0]
    g, gb = relu_backward(gy, got)
    ref = gy * (want > 0)
    np.testing.assert_array_equal(g, ref)
    np.testing.assert_allclose(gb, ref.reshape(-1, shape[-1]).sum(axis=0, dtype=np.float64),
                               rtol=1e-5, atol=1e-4)
    assert gb.dtype == dtype
    assert relu_backward(gy, got, bias_sum=False)[1] is None


@pytest.mark.parametrize("shape", [(64, 32, 32, 16), (3, 5), (70000,)], ids=str)
def test_add_is_numpy_add_and_makes_a_new_array(shape):
    """channels.add (the engine's sum of gradients that meet): large arrays on the pool,
    small ones by NumPy; a new array either way, the inputs untouched."""
    from hubel.backends.channels import add

    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    a0, b0 = a.copy(), b.copy()
    y = add(a, b)
    np.testing.assert_array_equal(y, a0 + b0)
    assert y is not a and y is not b and y.dtype == np.float32
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
