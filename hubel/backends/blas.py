"""Matrix products on hubel's own thread pool.

    C = op(A) @ op(B)  (or C += …),  op(X) = X or Xᵀ (a transposed view, no copy)

Two thread pools on the same cores slow each other: OpenBLAS's idle workers spin after a
product while the next Numba kernel wants the cores, and Numba's workers, when they spin
(OpenMP), slow the next product (measured on 2 cores: ResNet-20 training 2-3x slower). So
hubel keeps one pool (hubel.backends.threads): NumPy's OpenBLAS runs each call on the
calling thread only, and `matmul` splits a product over Numba's workers, by blocks of
output rows (or by matrices of a batch), each block one single-threaded GEMM of the same
OpenBLAS, called by its C symbol from the compiled loop. Measured against np.matmul with
OpenBLAS's own two threads: the same speed on large products, 1.2x on LeNet-5's (12800,
150) @ (150, 16), 1.8x on Winograd's 36 products (910, 16) @ (16, 16); and a whole
ResNet-20 inference step 72-76 -> 41-46 ms, because its other kernels stop losing a core
to spinning BLAS threads.

`matmul` falls back to np.matmul (same result) for anything else: other dtypes, other
shapes, strides no BLAS call can describe, no Numba, or a BLAS without the cblas symbols.
"""

from __future__ import annotations

import ctypes
import math
import os

import numpy as np

from hubel.backends.threads import one_pool

_SERIAL_WORK = 1 << 18  # multiply-adds below which a product runs on the calling thread
_ROW_BLOCK = 8  # output rows per thread at least, when the rows are split
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
    """The two compiled drivers (parallel, serial) calling the cblas symbols. Built in a
    closure over the symbol names, so Numba's cache keeps each library's code apart."""
    import llvmlite.binding as llvm
    from numba import njit, prange, types

    llvm.load_library_permanently(path)
    i = types.int64 if wide else types.int32
    e, p = types.int32, types.intp
    sgemm = types.ExternalFunction(sgemm_name, types.void(
        e, e, e, i, i, i, types.float32, p, i, p, i, types.float32, p, i))
    dgemm = types.ExternalFunction(dgemm_name, types.void(
        e, e, e, i, i, i, types.float64, p, i, p, i, types.float64, p, i))

    def run(double, ta, tb, m, n, k, a, lda, a_row, a_mat, b, ldb, b_mat, c, ldc, c_mat,
            beta, batch, chunks, size):  # pragma: no cover - compiled
        """Task t: matrix t // chunks of the batch, its block t % chunks of output rows.
        Pointers and steps in bytes (a_row: from one row of op(A) to the next)."""
        for t in prange(batch * chunks):
            mat, part = t // chunks, t % chunks
            lo, hi = part * m // chunks, (part + 1) * m // chunks
            pa = a + mat * a_mat + lo * a_row
            pb = b + mat * b_mat
            pc = c + mat * c_mat + lo * ldc * size
            if double:
                dgemm(_ROW_MAJOR, ta, tb, hi - lo, n, k, 1.0, pa, lda, pb, ldb, beta, pc, ldc)
            else:
                sgemm(_ROW_MAJOR, ta, tb, hi - lo, n, k, np.float32(1.0), pa, lda, pb, ldb,
                      np.float32(beta), pc, ldc)

    return (njit(parallel=True, cache=True, nogil=True)(run),
            njit(cache=True, nogil=True)(run))


_drivers = None  # (parallel, serial) once compiled; False: not available


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
    drivers = _get_drivers() if one_pool() else False
    plan = _plan(a, b, out) if drivers else None
    if plan is None:
        if accumulate:
            out += np.matmul(a, b)
            return out
        return np.matmul(a, b, out=out)
    batch, m, n, k, out = plan
    size = a.itemsize
    ta, lda = _layout(a, m, k, size)
    tb, ldb = _layout(b, k, n, size)
    ldc = out.strides[-2] // size
    a_row = size if ta else lda * size
    a_mat = a.strides[0] if a.ndim == 3 else 0
    b_mat = b.strides[0] if b.ndim == 3 else 0
    c_mat = out.strides[0] if out.ndim == 3 else 0
    work = batch * m * n * k
    threads = _threads()
    # rows are split too when the matrices do not share out evenly (a batch of one: a
    # plain product split by rows)
    chunks = max(1, min(threads // math.gcd(batch, threads), m // _ROW_BLOCK))
    run = drivers[1] if work < _SERIAL_WORK or threads == 1 or batch * chunks == 1 \
        else drivers[0]
    run(size == 8, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, m, n, k,
        a.ctypes.data, lda, a_row, a_mat, b.ctypes.data, ldb, b_mat,
        out.ctypes.data, ldc, c_mat, 1.0 if accumulate else 0.0, batch, chunks, size)
    return out


def _plan(a, b, out):
    """(batch, M, N, K, out) when the product can go to the drivers, else None."""
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        return None
    if a.ndim not in (2, 3) or b.ndim not in (2, 3) or (b.ndim == 3 and a.ndim == 2):
        return None
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        return None
    m, k = a.shape[-2:]
    if b.shape[-2] != k:
        return None  # (np.matmul raises its error)
    n = b.shape[-1]
    batch = a.shape[0] if a.ndim == 3 else 1
    if 0 in (batch, m, n, k):
        return None
    size = a.itemsize
    if _layout(a, m, k, size) is None or _layout(b, k, n, size) is None:
        return None
    shape = (batch, m, n) if a.ndim == 3 else (m, n)
    if out is None:
        out = np.empty(shape, a.dtype)
    elif (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != a.dtype
          or out.strides[-1] != size or out.strides[-2] % size
          or out.strides[-2] // size < n or (out.ndim == 3 and not out.flags.c_contiguous)
          or np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        return None
    return batch, m, n, k, out


def _threads() -> int:
    import numba

    return numba.get_num_threads()
