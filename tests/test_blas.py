"""hubel.backends.blas.matmul (products split over hubel's thread pool, one BLAS call
per block) against float64 products summed by NumPy's einsum without BLAS (optimize=False):
every layout BLAS can take without a copy, batches, accumulation, output views, the
serial and the parallel paths, and the inputs that must fall back to np.matmul."""

import numpy as np
import pytest

import hubel
from hubel.backends import blas, threads

pytest.importorskip("numba")


def _reference(a, b):
    return np.einsum("...ik,...kj->...ij", a.astype(np.float64), b.astype(np.float64),
                     optimize=False)


def _views(x):
    """x itself and the same values as a transposed view of a column-major copy."""
    return x, np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)


requires_pool = pytest.mark.skipif(not threads.one_pool() or not blas._get_drivers(),
                                   reason="products run on NumPy's own BLAS threads here")


@requires_pool
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_shape, b_shape", [
    ((300, 70), (70, 50)),        # 2-D, parallel (work above the serial threshold)
    ((5, 3), (3, 2)),             # tiny: serial
    ((36, 100, 16), (36, 16, 24)),  # a batch, split by matrices (Winograd's products)
    ((3, 1000, 40), (3, 40, 8)),  # a batch smaller than the threads: rows split too
    ((36, 90, 16), (16, 24)),     # a batch times one matrix
    ((1, 100), (100, 30)),        # one row
    ((100, 1), (1, 1)),           # one column
    ((12800, 150), (150, 16)),    # LeNet-5's C3 product
    ((160, 90), (90, 200)),       # wider than tall, rows enough per thread: split by rows
    ((128, 784), (784, 256)),     # deep: split along k (mlp's first layer)
    ((20, 2001), (2001, 9)),      # deep, shares of k that differ by one
])
def test_matmul_matches_the_reference_in_every_layout(a_shape, b_shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    want = _reference(a, b)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for av in _views(a):
        for bv in _views(b):
            blas._plans.clear()
            for _ in range(2):  # (the second product of a layout reuses the first's plan)
                y = blas.matmul(av, bv)
                assert y.dtype == dtype and y.shape == want.shape
                np.testing.assert_allclose(y, want, rtol=tol, atol=tol * 10)
            acc = np.full(want.shape, 2.0, dtype)
            assert blas.matmul(av, bv, out=acc, accumulate=True) is acc
            np.testing.assert_allclose(acc, want + 2, rtol=tol, atol=tol * 10)


@requires_pool
@pytest.mark.parametrize("a_shape, b_shape, parts", [
    ((160, 90), (90, 200), (2, 1)),   # wider than tall, 80 rows per thread: by rows
    ((40, 90), (90, 200), (1, 2)),    # too few rows per thread: along the longer side
    ((300, 70), (70, 50), (2, 1)),    # taller than wide: by rows
    ((128, 784), (784, 256), (1, 1)),  # deep: along k instead (depth 2, below)
])
def test_a_plain_product_is_split_by_rows_when_each_thread_gets_enough(a_shape, b_shape,
                                                                       parts):
    rng = np.random.default_rng(2)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    threads_before = threads.pool_size()
    try:
        hubel.set_num_threads(2)
        args = blas._arguments(a, b, None, False)
        assert tuple(args[19:21]) == parts  # (row_parts, col_parts)
        assert args[22] == (2 if parts == (1, 1) else 1)  # depth: shares of k
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-4, atol=1e-3)
    finally:
        hubel.set_num_threads(threads_before)


@requires_pool
def test_a_plan_is_not_reused_for_another_layout_or_thread_count():
    """Plans are keyed by shapes, strides, dtypes and threads: a transposed view of the
    same shape, or a smaller pool, gets its own."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 70)).astype(np.float32)
    b = rng.standard_normal((70, 70)).astype(np.float32)
    bt = np.ascontiguousarray(b.T)
    blas.matmul(a, b)
    np.testing.assert_allclose(blas.matmul(a, bt.T), a @ b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(blas.matmul(a, bt), a @ bt, rtol=1e-4, atol=1e-4)
    threads_before = threads.pool_size()
    try:
        hubel.set_num_threads(1)
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-4, atol=1e-4)
        assert any(key[-1] == 1 for key in blas._plans)
    finally:
        hubel.set_num_threads(threads_before)


@requires_pool
def test_matmul_writes_into_a_row_block_of_a_larger_array_and_one_thread_works():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((400, 64)).astype(np.float32)
    b = rng.standard_normal((64, 48)).astype(np.float32)
    big = np.zeros((400, 60), np.float32)
    out = big[:, 5:53]  # rows 60 apart: a leading dimension BLAS takes
    assert blas.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, _reference(a, b), rtol=1e-4, atol=1e-4)
    assert not big[:, :5].any() and not big[:, 53:].any()
    deep_a = rng.standard_normal((40, 600)).astype(np.float32)  # split along k
    deep_b = rng.standard_normal((600, 48)).astype(np.float32)
    out[:40] = 1.0
    blas.matmul(deep_a, deep_b, out=out[:40], accumulate=True)
    np.testing.assert_allclose(out[:40], _reference(deep_a, deep_b) + 1, rtol=1e-4, atol=1e-3)
    assert not big[:, :5].any() and not big[:, 53:].any()
    hubel.set_num_threads(1)
    try:
        np.testing.assert_allclose(blas.matmul(a, b), _reference(a, b), rtol=1e-4, atol=1e-4)
        assert hubel.get_num_threads()["products"] == 1
    finally:
        hubel.set_num_threads(2)


@pytest.mark.parametrize("a, b", [
    (np.arange(6).reshape(2, 3), np.arange(6).reshape(3, 2)),                  # integers
    (np.ones((2, 3), np.float32), np.ones((3, 4), np.float64)),                # mixed
    (np.ones((4, 2, 3), np.float32), np.ones((1, 3, 5), np.float32)),          # broadcast
    (np.ones((6, 8), np.float32)[::2, ::2], np.ones((4, 3), np.float32)),      # strided
    (np.ones(3, np.float32), np.ones((3, 2), np.float32)),                     # 1-D
    (np.ones((0, 3), np.float32), np.ones((3, 2), np.float32)),                # empty
])
def test_anything_else_falls_back_to_numpy(a, b):
    np.testing.assert_array_equal(blas.matmul(a, b), np.matmul(a, b))


def test_mismatched_shapes_raise_numpys_error_and_accumulate_needs_out():
    with pytest.raises(ValueError):
        blas.matmul(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="accumulate"):
        blas.matmul(np.ones((2, 3)), np.ones((3, 2)), accumulate=True)


def test_an_output_overlapping_an_input_is_computed_from_the_inputs_first():
    a = np.arange(16, dtype=np.float64).reshape(4, 4) / 10
    want = a @ a
    blas.matmul(a, a, out=a)
    np.testing.assert_allclose(a, want)


@requires_pool
def test_the_parallel_driver_keeps_its_parallel_loop_after_a_serial_product_ran_first():
    """A fresh process runs a tiny (serial) product first, then one split over the pool.
    The parallel driver must have compiled its own parallel task loop: when both drivers
    were made from one function with Numba's disk cache on, the serial code compiled
    first served the parallel driver too, and every split product ran on one thread."""
    import subprocess
    import sys

    code = (
        "import numpy as np, hubel\n"
        "from hubel.backends import blas\n"
        "blas._get_drivers()\n"
        "a = np.ones((4, 4), np.float32)\n"
        "assert blas._arguments(a, a, None, False)[-3]  # serial\n"
        "blas.matmul(a, a)\n"
        "b = np.ones((512, 512), np.float32)\n"
        "assert not blas._arguments(b, b, None, False)[-3]  # split\n"
        "assert np.array_equal(blas.matmul(b, b), np.full((512, 512), 512, np.float32))\n"
        "parallel, serial = blas._drivers[:2]\n"
        "loops = [[bool((c.metadata or {}).get('parfors')) for c in d.overloads.values()]\n"
        "         for d in (parallel, serial)]\n"
        "print(loops)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[[True], [False]]"


_BOTH_LIBRARIES = (
    "import numpy as np, hubel\n"
    "from hubel.backends import blas\n"
    "rng = np.random.default_rng(0)\n"
    "for dtype in (np.float32, np.float64):\n"
    "    for sa, sb in (((300, 70), (70, 50)), ((36, 90, 16), (36, 16, 24)),\n"
    "                   ((128, 784), (784, 256)), ((5, 3), (3, 2))):\n"
    "        a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)\n"
    "        want = np.einsum('...ik,...kj->...ij', a.astype(np.float64), b.astype(np.float64),\n"
    "                         optimize=False)\n"
    "        tol = 1e-4 if dtype == np.float32 else 1e-12\n"
    "        for av in (a, np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)):\n"
    "            np.testing.assert_allclose(blas.matmul(av, b), want, rtol=tol, atol=tol * 10)\n"
    "print(blas.library())\n")


@requires_pool
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_shape, b_shape", [
    ((300, 70), (70, 50)),        # split by rows
    ((5, 3), (3, 2)),             # serial
    ((40, 300), (300, 400)),      # wider than tall, few rows: split by columns
    ((128, 784), (784, 256)),     # split along k: the epilogue after the partial sums
    ((36, 90, 16), (16, 24)),     # a batch: one pass after the product
])
@pytest.mark.parametrize("with_bias, relu", [(True, True), (True, False), (False, True)])
def test_the_epilogue_adds_the_bias_and_clips_as_each_block_is_made(
        a_shape, b_shape, dtype, with_bias, relu, monkeypatch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    bias = rng.standard_normal(b_shape[-1]).astype(dtype) if with_bias else None
    a[0, 0] = np.nan  # (the NaN carries through as in np.maximum)
    want = _reference(a, b) + (0 if bias is None else bias)
    want = np.maximum(want, 0) if relu else want
    passes = []  # the separate pass runs only where the drivers cannot fuse the epilogue
    real = blas._epilogue
    monkeypatch.setattr(blas, "_epilogue", lambda *args: passes.append(1) or real(*args))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    blas._plans.clear()
    for _ in range(2):  # (first through _arguments, then through the plan)
        y = blas.matmul(a, b, bias=bias, relu=relu)
        np.testing.assert_allclose(y, want, rtol=tol, atol=tol * 10)
    fused = dtype == np.float32 and len(a_shape) == 2
    assert len(passes) == (0 if fused else 2)
    out = np.empty((2, *want.shape), dtype)[1]  # (into a view, as a conv's image block)
    assert blas.matmul(a, b, out=out, bias=bias, relu=relu) is out
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol * 10)


@requires_pool
def test_the_epilogue_checks_the_bias_shape():
    a = np.ones((64, 64), np.float32)
    with pytest.raises(ValueError, match=r"bias must have shape \(64,\)"):
        blas.matmul(a, a, bias=np.ones(3, np.float32))


@requires_pool
@pytest.mark.parametrize("choice", ["openblas", "mkl"])
def test_each_blas_library_gives_the_reference_products(choice):
    """HUBEL_BLAS picks the library in a fresh process; both give the same products."""
    import os
    import subprocess
    import sys

    if choice == "mkl" and blas._mkl() is None:
        pytest.skip("MKL is not installed (pip install 'hubel[mkl]')")
    run = subprocess.run([sys.executable, "-c", _BOTH_LIBRARIES], capture_output=True,
                         text=True, env={**os.environ, "HUBEL_BLAS": choice})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith({"openblas": "OpenBLAS", "mkl": "MKL"}[choice])


def test_hubel_blas_names_its_choices_and_a_missing_mkl(monkeypatch):
    monkeypatch.setenv("HUBEL_BLAS", "atlas")
    with pytest.raises(ValueError, match="HUBEL_BLAS='atlas'.*auto, mkl, openblas"):
        blas._choose_blas()
    if threads.one_pool():  # a product raises it too, each time (not once, then NumPy)
        monkeypatch.setattr(blas, "_drivers", None)
        monkeypatch.setattr(blas, "_plans", {})
        a = np.ones((64, 64), np.float32)
        for _ in range(2):
            with pytest.raises(ValueError, match="HUBEL_BLAS='atlas'"):
                blas.matmul(a, a)
    monkeypatch.setattr(blas, "_mkl", lambda: None)
    monkeypatch.setenv("HUBEL_BLAS", "mkl")
    with pytest.raises(RuntimeError, match=r"HUBEL_BLAS=mkl.*pip install 'hubel\[mkl\]'"):
        blas._choose_blas()
    monkeypatch.setenv("HUBEL_BLAS", "auto")  # no MKL: OpenBLAS, on any CPU
    for intel in (True, False):
        monkeypatch.setattr(blas, "_intel_cpu", lambda intel=intel: intel)
        found = blas._choose_blas()
        assert found is None or found[4].startswith("OpenBLAS")


def test_auto_takes_mkl_on_intel_cpus_only(monkeypatch):
    monkeypatch.setattr(blas, "_mkl", lambda: ("lib", "s", "d", False, "MKL x (sequential)"))
    monkeypatch.setenv("HUBEL_BLAS", "auto")
    monkeypatch.setattr(blas, "_intel_cpu", lambda: True)
    assert blas._choose_blas()[4] == "MKL x (sequential)"
    monkeypatch.setattr(blas, "_intel_cpu", lambda: False)
    found = blas._choose_blas()
    assert found is None or found[4].startswith("OpenBLAS")
