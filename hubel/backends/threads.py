"""Threads: one pool for all of hubel's parallel work.

Two pools on the same cores slow each other down: idle OpenBLAS workers spin after a
matrix product while the next Numba kernel wants the cores, and spinning OpenMP workers
slow the next product (PERF-NOTES.md, docs/performance.md: 2-4x on 2 cores). So hubel
runs everything on Numba's pool: its kernels, and its matrix products too
(hubel.backends.blas splits each product over the pool, one single-threaded OpenBLAS call
per block of rows). NumPy's OpenBLAS is therefore limited to one thread when hubel is
imported (a product you call with NumPy yourself runs on one core; hubel's run on all).

The pool is Numba's OpenMP layer (workers spin briefly after a kernel, so the next
kernel starts in microseconds instead of the ~0.1 ms it takes to wake a sleeping worker
on this VM). Without OpenMP, or when you choose a layer yourself (NUMBA_THREADING_LAYER),
products go back to NumPy with OpenBLAS's own threads, and the layer is 'workqueue' by
default (its workers sleep when idle and never fight OpenBLAS's). Both are chosen when
hubel is imported, before any kernel runs. `set_num_threads(n)` sizes the pool.
"""

from __future__ import annotations

import os


def _openmp_available() -> bool:
    try:
        import numba.np.ufunc.omppool  # noqa: F401  (loads libgomp)
    except (ImportError, OSError):  # pragma: no cover - no Numba or no OpenMP runtime
        return False
    return True


if "NUMBA_THREADING_LAYER" not in os.environ:
    os.environ["NUMBA_THREADING_LAYER"] = "omp" if _openmp_available() else "workqueue"
    try:  # (if Numba was imported first, its config already read the environment)
        import numba

        numba.config.THREADING_LAYER = os.environ["NUMBA_THREADING_LAYER"]
    except ImportError:  # pragma: no cover - NumPy reference kernels only
        pass

_blas_limit = None
_pool_size = None  # threads of Numba's pool as set_num_threads left it (None: not yet read)


_one_pool = os.environ.get("NUMBA_THREADING_LAYER") == "omp"  # (fixed from import on)


def one_pool() -> bool:
    """Whether hubel's matrix products run on Numba's pool (OpenMP layer), with OpenBLAS
    on one thread, rather than on OpenBLAS's own threads (decided when hubel is
    imported: Numba reads its threading layer once)."""
    return _one_pool


def pool_size() -> int:
    """Threads of hubel's pool (what set_num_threads set; read once from Numba before)."""
    global _pool_size
    if _pool_size is None:
        try:
            import numba

            _pool_size = numba.get_num_threads()
        except ImportError:  # pragma: no cover - NumPy reference kernels only
            _pool_size = 1
    return _pool_size


def _limit_blas(n: int) -> None:
    global _blas_limit
    from threadpoolctl import threadpool_limits

    _blas_limit = threadpool_limits(limits=n, user_api="blas")


def set_num_threads(n: int) -> None:
    """Use `n` threads for hubel's kernels and matrix products."""
    global _pool_size
    n = max(1, int(n))
    _limit_blas(1 if one_pool() else n)
    try:
        import numba

        _pool_size = min(n, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(_pool_size)
    except ImportError:  # NumPy reference kernels only
        _pool_size = 1


def get_num_threads() -> dict:
    """{'blas': n, 'numba': n, 'products': n}: the threads of OpenBLAS's and Numba's pools
    now, and how many a hubel matrix product uses."""
    from threadpoolctl import threadpool_info

    blas = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    try:
        import numba

        nb = numba.get_num_threads()
    except ImportError:
        nb = 0
    blas_n = blas[0] if blas else 1
    return {"blas": blas_n, "numba": nb, "products": nb if one_pool() and nb else blas_n}


if one_pool():
    _limit_blas(1)
