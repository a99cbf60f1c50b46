"""Matrix products on hubel's own thread pool.

    C = op(A) @ op(B)  (or C += …),  op(X) = X or Xᵀ (a transposed view, no copy)

Two thread pools on the same cores slow each other: OpenBLAS's idle workers spin after a
product while the next Numba kernel wants the cores, and Numba's workers, when they spin
(OpenMP), slow the next product (measured on 2 cores: ResNet-20 training 2-3x slower). So
hubel keeps one pool (hubel.backends.threads): NumPy's OpenBLAS runs each call on the
calling thread only, and `matmul` splits a product over Numba's workers, by blocks of
output rows (of columns, when the output is wider than tall) or by matrices of a batch,
each block one single-threaded GEMM of the same OpenBLAS, called by its C symbol from the
compiled loop. Measured against np.matmul with OpenBLAS's own two threads: the same speed
on large products (mlp's within 5%), 1.2x on LeNet-5's (12800, 150) @ (150, 16), 1.8x on
Winograd's 36 products (910, 16) @ (16, 16); and whole ResNet-20 inference steps 63-78 ->
36-50 ms, because its other kernels stop losing a core to spinning BLAS threads.

`matmul` falls back to np.matmul (same result) for anything else: other dtypes, other
shapes, strides no BLAS call can describe, no Numba, or a BLAS without the cblas symbols.
"""

from __future__ import annotations

import ctypes
import math
import os

import numpy as np

from hubel.backends.threads import one_pool, pool_size

_SERIAL_WORK = 1 << 18  # multiply-adds below which a product runs on the calling thread
_ROW_BLOCK = 8  # output rows per thread at least, when the rows are split
_COL_BLOCK = 16  # output columns per thread at least, when the columns are split
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enum values


def _numpy_openblas():
    """(path, symbol name of sgemm, symbol name of dgemm, 64-bit ints) of the OpenBLAS
    NumPy uses, or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency
        return None
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for info in threadpool_info():
        path = info.get("filepath", "")
        if info.get("internal_api") != "openblas" or not path.startswith(numpy_dir) \
                or os.sep + "numpy" not in path:
            continue
        lib = ctypes.CDLL(path)
        for prefix, suffix, wide in (("scipy_", "64_", True), ("", "64_", True),
                                     ("scipy_", "", False), ("", "", False)):
            s, d = f"{prefix}cblas_sgemm{suffix}", f"{prefix}cblas_dgemm{suffix}"
            if hasattr(lib, s) and hasattr(lib, d):
                return path, s, d, wide
    return None  # pragma: no cover - NumPy built against another BLAS


def _compile(path: str, sgemm_name: str, dgemm_name: str, wide: bool):
    """The two compiled drivers (parallel, serial) calling the cblas symbols.

    Compiled in each process (0.9 s for the first), not cached on disk: Numba's cache
    keys a closure by its pickled contents, and the external-function types pickle
    differently in every process, so each process missed and added a file to the cache;
    and within a process the parallel and the serial driver, made from one function,
    shared one entry, so whichever ran first served both (a parallel=True driver ran its
    tasks on one thread, every split product at half speed)."""
    from numba import njit, prange

    return (njit(parallel=True, nogil=True)(_driver(path, sgemm_name, dgemm_name, wide,
                                                    prange)),
            njit(nogil=True)(_driver(path, sgemm_name, dgemm_name, wide, range)),
            _addresses())


def _driver(path: str, sgemm_name: str, dgemm_name: str, wide: bool, loop):
    """The driver's Python function: a closure over the cblas symbols and over its task
    loop (prange for the parallel driver, range for the serial one)."""
    import llvmlite.binding as llvm
    from numba import types

    llvm.load_library_permanently(path)
    i = types.int64 if wide else types.int32
    e, p = types.int32, types.intp
    sgemm = types.ExternalFunction(sgemm_name, types.void(
        e, e, e, i, i, i, types.float32, p, i, p, i, types.float32, p, i))
    dgemm = types.ExternalFunction(dgemm_name, types.void(
        e, e, e, i, i, i, types.float64, p, i, p, i, types.float64, p, i))

    def run(double, ta, tb, m, n, k, a, lda, a_row, a_mat, b, ldb, b_col, b_mat, c, ldc,
            c_mat, beta, batch, row_parts, col_parts, size):  # pragma: no cover - compiled
        """Task t: matrix t // (row_parts·col_parts) of the batch, one block of its output
        rows and columns. Pointers and steps in bytes (a_row: from one row of op(A) to
        the next; b_col: from one column of op(B) to the next)."""
        parts = row_parts * col_parts
        for t in loop(batch * parts):
            mat, r, q = t // parts, (t % parts) // col_parts, t % col_parts
            lo, hi = r * m // row_parts, (r + 1) * m // row_parts
            left, right = q * n // col_parts, (q + 1) * n // col_parts
            pa = a + mat * a_mat + lo * a_row
            pb = b + mat * b_mat + left * b_col
            pc = c + mat * c_mat + lo * ldc * size + left * size
            if double:
                dgemm(_ROW_MAJOR, ta, tb, hi - lo, right - left, k, 1.0, pa, lda, pb, ldb,
                      beta, pc, ldc)
            else:
                sgemm(_ROW_MAJOR, ta, tb, hi - lo, right - left, k, np.float32(1.0), pa, lda,
                      pb, ldb, np.float32(beta), pc, ldc)

    return run


def _addresses():
    """The data pointers of three arrays, compiled: 0.8 µs against 8.5 µs for three
    `x.ctypes.data` (each builds a ctypes helper object), most of the Python cost of a
    product (mlp's layers: three products per step in inference)."""
    from numba import njit

    @njit(cache=True)
    def addresses(a, b, c):  # pragma: no cover - compiled
        return a.ctypes.data, b.ctypes.data, c.ctypes.data

    return addresses


_drivers = None  # (parallel, serial, addresses) once compiled; False: not available


def _get_drivers():
    global _drivers
    if _drivers is None:
        _drivers = False
        try:
            import numba  # noqa: F401
        except ImportError:  # pragma: no cover - NumPy reference kernels only
            return _drivers
        found = _numpy_openblas()
        if found is not None:
            _drivers = _compile(*found)
    return _drivers


def _layout(x, rows: int, cols: int, size: int):
    """(transposed, leading dimension) of a (rows, cols) matrix with strides x.strides[-2:]
    as BLAS sees it, or None if no BLAS call can describe it."""
    s0, s1 = x.strides[-2:]
    if s1 == size and s0 % size == 0 and s0 // size >= max(1, cols):
        return False, s0 // size
    if s0 == size and s1 % size == 0 and s1 // size >= max(1, rows):
        return True, s1 // size
    if cols == 1 and s0 % size == 0 and s0 > 0:  # a column: any row step
        return False, s0 // size
    if rows == 1 and s1 % size == 0 and s1 > 0:  # a row: any column step
        return True, s1 // size
    return None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
           accumulate: bool = False) -> np.ndarray:
    """a @ b (np.matmul's result) for (M, K) or (B, M, K) @ (K, N) or (B, K, N); with
    accumulate=True, out += a @ b. On hubel's thread pool (see the module doc)."""
    if accumulate and out is None:
        raise ValueError("matmul: accumulate=True needs the array to add to (out)")
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        y = a @ b  # (another array module)
        if out is None:
            return y
        out[...] = out + y if accumulate else y
        return out
    if out is None:  # a product seen before: its arguments but the pointers are known
        key = (a.shape, a.strides, b.shape, b.strides, a.dtype, b.dtype, pool_size())
        plan = _plans.get(key)
        if plan is not None:
            driver, shape, dtype, head, after_a, after_b, after_c = plan
            out = np.empty(shape, dtype)
            pa, pb, pc = _drivers[2](a, b, out)
            driver(*head, pa, *after_a, pb, *after_b, pc, *after_c)
            return out
    drivers = _drivers if _drivers is not None else _get_drivers()
    args = _arguments(a, b, out, accumulate) if drivers and one_pool() else None
    if args is None:
        if accumulate:
            out += np.matmul(a, b)
            return out
        return np.matmul(a, b, out=out)
    serial, y = args[-2:]
    driver = drivers[1] if serial else drivers[0]
    driver(*args[:-2])
    if out is None:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[key] = (driver, y.shape, y.dtype, args[:6], args[7:10], args[11:14],
                       args[15:22])
    return y


_plans: dict = {}  # (shapes, strides, dtypes, threads) of a product -> its driver arguments
_MAX_PLANS = 256


def _arguments(a, b, out, accumulate):
    """The drivers' arguments, whether to run serially, and the output, when the product
    can go to the drivers; else None (Python work kept small: mlp's products are ~0.1 ms)."""
    dtype = a.dtype
    if dtype != b.dtype or (dtype != np.float32 and dtype != np.float64):
        return None
    nd_a, nd_b = a.ndim, b.ndim
    if nd_b == 2 and nd_a in (2, 3):
        batch = a.shape[0] if nd_a == 3 else 1
    elif nd_b == 3 and nd_a == 3 and a.shape[0] == b.shape[0]:
        batch = a.shape[0]
    else:
        return None
    m, k = a.shape[-2:]
    kb, n = b.shape[-2:]
    if kb != k or not (batch and m and n and k):
        return None  # (np.matmul raises its error, or has nothing to multiply)
    size = a.itemsize
    la, lb = _layout(a, m, k, size), _layout(b, k, n, size)
    if la is None or lb is None:
        return None
    shape = (batch, m, n) if nd_a == 3 else (m, n)
    if out is None:
        out = np.empty(shape, dtype)
    elif (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype
          or out.strides[-1] != size or out.strides[-2] % size
          or out.strides[-2] // size < n or (nd_a == 3 and not out.flags.c_contiguous)
          or np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        return None
    (ta, lda), (tb, ldb) = la, lb
    pa, pb, pc = _drivers[2](a, b, out)
    threads = pool_size()
    # Matrices that do not share out evenly over the threads (a batch of one: a plain
    # product) are split too, along the longer side of the output: each thread then packs
    # the whole of the other operand, the smaller one (mlp's (128, 784) @ (784, 256) by
    # columns, an im2col product (12800, 150) @ (150, 16) by rows).
    split = threads // math.gcd(batch, threads)
    row_parts = col_parts = 1
    if m >= n:
        row_parts = max(1, min(split, m // _ROW_BLOCK))
    else:
        col_parts = max(1, min(split, n // _COL_BLOCK))
    serial = batch * m * n * k < _SERIAL_WORK or batch * row_parts * col_parts == 1
    return (size == 8, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, m, n, k,
            pa, lda, size if ta else lda * size, a.strides[0] if nd_a == 3 else 0,
            pb, ldb, ldb * size if tb else size, b.strides[0] if nd_b == 3 else 0,
            pc, out.strides[-2] // size, out.strides[0] if nd_a == 3 else 0,
            1.0 if accumulate else 0.0, batch, row_parts, col_parts, size, serial, out)
