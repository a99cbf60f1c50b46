"""Reductions (sum, mean, max, min, var, logsumexp) over axes, with and without keepdims."""

import numpy as np
import pytest
from op_harness import check_op

import hubel

torch = pytest.importorskip("torch")
F = hubel.F

# (shape, axis): all axes, one axis, negative axis, several axes, size-1 axis, empty batch
CASES = [((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 1, 3), 1),
         ((5,), 0), ((0, 4), 1), ((2, 3, 4), (1,))]


def _torch_axes(t, axis):
    return tuple(range(t.ndim)) if axis is None else axis


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_and_mean(name, shape, axis, keepdims):
    if name == "mean" and 0 in shape and axis != 1:
        pytest.skip("the mean of nothing")
    f, tf = getattr(F, name), getattr(torch, name)
    check_op(lambda x: f(x, axis=axis, keepdims=keepdims),
             lambda t: tf(t, dim=_torch_axes(t, axis), keepdim=keepdims), shape)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_max_and_min(shape, axis, keepdims):
    # amax/amin: like hubel, they share the gradient between tied maxima
    check_op(lambda x: F.max(x, axis=axis, keepdims=keepdims),
             lambda t: torch.amax(t, dim=_torch_axes(t, axis), keepdim=keepdims), shape)
    check_op(lambda x: F.min(x, axis=axis, keepdims=keepdims),
             lambda t: torch.amin(t, dim=_torch_axes(t, axis), keepdim=keepdims), shape)


def test_max_splits_the_gradient_between_ties():
    check_op(lambda x: F.max(x, axis=1), lambda t: torch.amax(t, dim=1),
             np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), gradcheck=False)


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", [c for c in CASES if 0 not in c[0]], ids=str)
def test_var(shape, axis, keepdims, ddof):
    if ddof and np.prod(shape) == np.prod(np.sum(np.zeros(shape), axis=axis).shape):
        pytest.skip("the unbiased variance of one number is undefined")
    check_op(lambda x: F.var(x, axis=axis, keepdims=keepdims, ddof=ddof),
             lambda t: torch.var(t, dim=_torch_axes(t, axis), keepdim=keepdims,
                                 correction=ddof), shape)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES[:6], ids=str)
def test_logsumexp(shape, axis, keepdims):
    check_op(lambda x: F.logsumexp(x, axis=axis, keepdims=keepdims),
             lambda t: torch.logsumexp(t, dim=_torch_axes(t, axis), keepdim=keepdims), shape)


def test_logsumexp_of_huge_logits_is_finite():
    check_op(lambda x: F.logsumexp(x, axis=-1), lambda t: torch.logsumexp(t, dim=-1),
             np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]), rtol=1e-6, gradcheck=False)


def test_tensor_methods_match_functions():
    x = hubel.Tensor(np.arange(12.0).reshape(3, 4))
    assert x.sum(axis=0).shape == (4,)
    assert x.mean(axis=1, keepdims=True).shape == (3, 1)
    assert float(x.max()) == 11.0 and float(x.min()) == 0.0
    np.testing.assert_allclose(x.var(axis=1).data, np.var(x.data, axis=1))
    np.testing.assert_allclose(x.logsumexp().data, np.log(np.exp(x.data).sum()), rtol=1e-6)


# --- the BLAS column sum behind every bias gradient ---------------------------------------
@pytest.mark.parametrize("shape, k", [((100352, 6), 1), ((4, 5, 7, 3), 3), ((6, 2, 3), 1),
                                      ((5, 4), 2), ((3, 4), 0), ((0, 4), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leading_sum_equals_numpy_sum(shape, k, dtype):
    from hubel.backends.reduce import leading_sum

    g = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    want = g.astype(np.float64).sum(axis=tuple(range(k)))
    got = leading_sum(g, k)
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-3 if dtype == np.float32 else 1e-10)


def test_leading_sum_of_a_strided_or_integer_array_falls_back_to_numpy():
    from hubel.backends.reduce import leading_sum

    g = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]  # not contiguous
    np.testing.assert_array_equal(leading_sum(g), g.sum(axis=0))
    i = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(leading_sum(i), i.sum(axis=0))
