"""hubel.backends.sgd_product (a fully connected layer's weight gradient aᵀ @ b applied
by SGD block by block as BLAS makes it) against the separate path written in NumPy:
the float64 product, then SGD's own update (v ← μv + g; W ← W − ηv, Nesterov, none)."""

import numpy as np
import pytest

from hubel import optimizers as O
from hubel.backends import blas, sgd_product, threads

pytest.importorskip("numba")
requires_pool = pytest.mark.skipif(not threads.one_pool() or not blas._get_drivers(),
                                   reason="products run on NumPy's own BLAS threads here")


def _separate(a, b, w, v, lr, mu, nesterov):
    """The reference: the whole gradient, then the optimizer's NumPy update."""
    g = (a.astype(np.float64).T @ b.astype(np.float64)).astype(np.float32)
    opt, state = O.SGD(lr, momentum=mu, nesterov=nesterov), {}
    if mu:
        state["velocity"] = v
    from hubel.optimizers import sgd

    saved, sgd._fast = sgd._fast, None  # (NumPy's three lines, not the Numba kernel)
    try:
        opt.update(w, g, state, lr)
    finally:
        sgd._fast = saved
    return w, state.get("velocity")


@requires_pool
@pytest.mark.parametrize("shape", [
    (128, 784, 256),  # mlp's first layer: split over the threads, blocks of 64 rows
    (128, 256, 10),   # narrow: blocks of many rows
    (7, 33, 5),       # small: one thread
    (64, 301, 19),    # rows that do not fall into whole blocks
])
@pytest.mark.parametrize("mu, nesterov", [(0.9, False), (0.9, True), (0.0, False)])
def test_the_update_equals_the_gradient_then_sgd(shape, mu, nesterov):
    rng = np.random.default_rng(1)
    batch, m, n = shape
    a = rng.standard_normal((batch, m)).astype(np.float32)
    b = rng.standard_normal((batch, n)).astype(np.float32)
    w = rng.standard_normal((m, n)).astype(np.float32)
    v = rng.standard_normal((m, n)).astype(np.float32) if mu else None
    want_w, want_v = _separate(a, b, w.copy(), None if v is None else v.copy(), 0.01, mu,
                               nesterov)
    assert sgd_product.sgd_product_update(a, b, w, v, 0.01, mu, nesterov)
    np.testing.assert_allclose(w, want_w, rtol=1e-5, atol=1e-5)
    if mu:
        np.testing.assert_allclose(v, want_v, rtol=1e-5, atol=1e-4)


@requires_pool
def test_rows_of_a_wider_array_are_taken_as_they_are():
    # a: the first 50 columns of a (16, 80) array (rows 80 apart), b: every other row
    rng = np.random.default_rng(2)
    a = rng.standard_normal((16, 80)).astype(np.float32)[:, :50]
    b = rng.standard_normal((16, 24)).astype(np.float32)
    w = rng.standard_normal((50, 24)).astype(np.float32)
    v = np.zeros_like(w)
    want_w, want_v = _separate(a, b, w.copy(), v.copy(), 0.1, 0.5, False)
    assert sgd_product.sgd_product_update(a, b, w, v, 0.1, 0.5, False)
    np.testing.assert_allclose(w, want_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v, want_v, rtol=1e-5, atol=1e-5)


def test_what_the_kernel_cannot_take_is_left_unchanged():
    rng = np.random.default_rng(3)
    a64, b64 = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    w64 = rng.standard_normal((5, 3))
    before = w64.copy()
    assert not sgd_product.sgd_product_update(a64, b64, w64, None, 0.1, 0.0, False)
    a, b = a64.astype(np.float32), b64.astype(np.float32)
    w = np.asfortranarray(rng.standard_normal((5, 3)).astype(np.float32))
    assert not sgd_product.sgd_product_update(a, b, w, None, 0.1, 0.0, False)
    cols = np.asfortranarray(a)  # columns contiguous: no row stride BLAS takes here
    w32 = rng.standard_normal((5, 3)).astype(np.float32)
    assert not sgd_product.sgd_product_update(cols, b, w32, None, 0.1, 0.0, False)
    np.testing.assert_array_equal(w64, before)


@requires_pool
@pytest.mark.parametrize("mu, nesterov", [(0.9, False), (0.9, True), (0.0, False)])
def test_the_bias_updated_in_the_same_call_equals_sgd_on_its_own(mu, nesterov):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((128, 256)).astype(np.float32)
    b = rng.standard_normal((128, 10)).astype(np.float32)
    w = rng.standard_normal((256, 10)).astype(np.float32)
    v = rng.standard_normal((256, 10)).astype(np.float32) if mu else None
    bias = rng.standard_normal(10).astype(np.float32)
    gb = b.astype(np.float64).sum(axis=0).astype(np.float32)
    vb = rng.standard_normal(10).astype(np.float32) if mu else None
    want_w, _ = _separate(a, b, w.copy(), None if v is None else v.copy(), 0.01, mu, nesterov)
    want_b = bias.copy()
    opt, state = O.SGD(0.01, momentum=mu, nesterov=nesterov), {}
    if mu:
        state["velocity"] = vb.copy()
    opt.update(want_b, gb, state, 0.01)
    assert sgd_product.sgd_product_update(a, b, w, v, 0.01, mu, nesterov, (bias, gb, vb))
    np.testing.assert_allclose(w, want_w, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bias, want_b)  # (the same arithmetic, element by element)
    if mu:
        np.testing.assert_array_equal(vb, state["velocity"])


@requires_pool
def test_a_bias_the_kernel_cannot_take_is_refused_by_name():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((8, 5)).astype(np.float32)
    b = rng.standard_normal((8, 3)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    bias, gb = np.zeros(4, np.float32), np.zeros(4, np.float32)  # 4 numbers for 3 outputs
    assert not sgd_product.bias_usable((bias, gb, None), 3, False)
    with pytest.raises(ValueError, match=r"sgd_product_update.*\(3,\)"):
        sgd_product.sgd_product_update(a, b, w, None, 0.1, 0.0, False, (bias, gb, None))
