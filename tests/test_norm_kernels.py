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
