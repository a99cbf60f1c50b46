"""Tensor semantics: dtypes, NumPy interop, operators, comparisons."""

import numpy as np
import pytest

import hubel
from hubel import Tensor


@pytest.mark.parametrize("data", [3, 2.5, [1, 2], [[1.0, 2.0]], (0.5,)])
def test_python_numbers_and_lists_default_to_float32(data):
    assert Tensor(data).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8, np.bool_])
def test_numpy_arrays_keep_their_dtype(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    assert Tensor(a).dtype == dtype
    assert Tensor([True, False]).dtype == np.bool_


def test_explicit_dtype():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2), dtype="float32").dtype == np.float32


def test_only_floating_tensors_require_grad():
    with pytest.raises(TypeError, match="only floating"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_numpy_interop_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(a)
    assert np.asarray(t) is a and t.numpy() is a
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t) is not a and np.array(t).tolist() == a.tolist()  # np.array copies
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert np.sum(np.asarray(t)) == 15.0 and t.tolist() == a.tolist()
    assert float(Tensor(2.0)) == 2.0 and int(Tensor(3.0)) == 3 and Tensor(4.0).item() == 4.0


def test_numpy_array_on_the_left_gives_a_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for y in (np.ones(2) + x, np.ones(2) * x, np.ones(2) - x, np.ones(2) / x, np.ones(2) ** x):
        assert isinstance(y, Tensor) and y.requires_grad


def test_operators():
    a, b = Tensor([1.0, 4.0]), Tensor([2.0, 2.0])
    np.testing.assert_array_equal((a + b).data, [3, 6])
    np.testing.assert_array_equal((a - b).data, [-1, 2])
    np.testing.assert_array_equal((a * b).data, [2, 8])
    np.testing.assert_array_equal((a / b).data, [0.5, 2])
    np.testing.assert_array_equal((a**b).data, [1, 16])
    np.testing.assert_array_equal((-a).data, [-1, -4])
    np.testing.assert_array_equal((+a).data, [1, 4])
    np.testing.assert_array_equal(abs(-a).data, [1, 4])
    np.testing.assert_array_equal((1 - a).data, [0, -3])
    np.testing.assert_array_equal((8 / a).data, [8, 2])
    np.testing.assert_array_equal((2**a).data, [2, 16])
    assert float(a @ b) == 10.0
    assert (a + 1).dtype == np.float32  # Python numbers do not promote float32
    for y in (a * np.float64(2), np.float64(2) * a, a / np.sqrt(2.0), a ** np.float64(2),
              a - np.mean([1.0, 2.0]), hubel.F.maximum(a, np.float64(0))):
        assert y.dtype == np.float32  # nor do NumPy scalars, as in PyTorch


def test_comparisons_give_boolean_tensors_without_gradient():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(a < 2, [1, 0, 0]), (a <= 2, [1, 1, 0]), (a > 2, [0, 0, 1]),
                             (a >= 2, [0, 1, 1]), (a == 2, [0, 1, 0]), (a != 2, [1, 0, 1]),
                             (a == Tensor([1.0, 0.0, 3.0]), [1, 0, 1])]:
        assert isinstance(result, Tensor) and result.dtype == np.bool_
        assert not result.requires_grad
        np.testing.assert_array_equal(result.data, np.array(expected, bool))
    assert bool(Tensor(1.0) == 1.0)
    assert len({a, Tensor(1.0)}) == 2  # tensors stay hashable (by identity)


def test_repr_names_dtype_and_grad():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert "requires_grad=True" in repr(Tensor(1.0, requires_grad=True))
    assert "dtype=float64" in repr(Tensor(np.ones(1)))


def test_methods():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.T.shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.permute(1, 0).shape == (3, 2) and x.flatten().shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(0).squeeze(0).shape == (2, 3)
    assert x.expand(4, 2, 3).shape == (4, 2, 3)
    assert x.argmax(axis=1).tolist() == [2, 2]
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    np.testing.assert_array_equal(x.clip(1, 4).data, np.clip(x.data, 1, 4))
    np.testing.assert_allclose(x.exp().log().data, x.data, atol=1e-12)
    np.testing.assert_allclose(x.sqrt().data, np.sqrt(x.data))
    assert x.abs().shape == (2, 3) and x[0, 1].item() == 1.0


def test_tensor_and_as_tensor():
    t = hubel.tensor([1, 2], requires_grad=True)
    assert t.dtype == np.float32 and t.requires_grad
    assert hubel.as_tensor(t) is t
    assert isinstance(hubel.as_tensor(np.ones(2)), Tensor)


def test_iteration_yields_rows():
    rows = list(Tensor(np.arange(6.0).reshape(3, 2)))
    assert len(rows) == 3 and rows[2].tolist() == [4.0, 5.0]
