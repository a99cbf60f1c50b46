"""The Numba batch-norm kernels equal the NumPy reference path (forward, running averages,
and every gradient), serial-sized and large inputs, float32 and float64."""

import numpy as np
import pytest

from hubel.ops import norm
from hubel.tensor import Tensor

pytest.importorskip("numba")


def _run(x, gamma, beta, fast: bool):
    saved = norm._fast
    norm._fast = saved if fast else None
    try:
        rm, rv = np.zeros(x.shape[-1], x.dtype), np.ones(x.shape[-1], x.dtype)
        tx, tg, tb = (Tensor(a, requires_grad=True) for a in (x, gamma, beta))
        y = norm.batch_norm(tx, tg, tb, rm, rv, training=True, momentum=0.9, epsilon=1e-3)
        gy = np.random.default_rng(7).standard_normal(x.shape).astype(x.dtype)
        (y * Tensor(gy)).sum().backward()
        return y.data, tx.grad, tg.grad, tb.grad, rm, rv
    finally:
        norm._fast = saved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3), (16, 9, 9, 5), (64, 16, 16, 32)])
def test_fast_batch_norm_equals_the_reference(shape, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gamma = rng.standard_normal(shape[-1]).astype(dtype)
    beta = rng.standard_normal(shape[-1]).astype(dtype)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for got, want in zip(_run(x, gamma, beta, True), _run(x, gamma, beta, False)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, np.abs(want).max()))


def test_one_pass_statistics_survive_a_large_mean():
    # |mean|/std = 1e5: Σx² − (Σx)²/M would lose every digit of the variance in float32 and
    # most in float64; the sums shifted by a sample of the data keep it (float64 reference).
    from hubel.backends.kernels import norm_numba

    rng = np.random.default_rng(3)
    x = (1000 + 0.01 * rng.standard_normal((5000, 4))).astype(np.float32)
    _, _, mean, var, _ = norm_numba.forward(x, None, None, 0.0)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(var, x64.var(axis=0), rtol=1e-4)


def test_an_empty_batch_gives_no_error_from_the_kernels():
    from hubel.backends.kernels import norm_numba

    y, *_ = norm_numba.forward(np.zeros((0, 3), np.float32), None, None, 1e-3)
    assert y.shape == (0, 3)
