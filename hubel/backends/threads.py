"""Threads: one knob for the two thread pools hubel uses, BLAS (matrix products) and Numba
(the parallel kernels).

Default: Numba's 'workqueue' threading layer, whose workers do not spin while idle, so
they never fight OpenBLAS's threads for the cores (measured in PERF-NOTES.md and
docs/performance.md: with OpenMP's spinning workers beside OpenBLAS a LeNet-5 training
step was 3-4x slower on 2 cores). The layer is chosen when hubel is imported, before any
kernel runs; set NUMBA_THREADING_LAYER yourself to choose another. Both pools start with
as many threads as cores; `set_num_threads(n)` sizes both.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

_blas_limit = None


def set_num_threads(n: int) -> None:
    """Use `n` threads for BLAS and for hubel's Numba kernels."""
    global _blas_limit
    n = max(1, int(n))
    from threadpoolctl import threadpool_limits

    _blas_limit = threadpool_limits(limits=n, user_api="blas")
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:  # NumPy reference kernels only
        pass


def get_num_threads() -> dict:
    """{'blas': n, 'numba': n}: the threads each pool uses now."""
    from threadpoolctl import threadpool_info

    blas = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    try:
        import numba

        nb = numba.get_num_threads()
    except ImportError:
        nb = 0
    return {"blas": blas[0] if blas else 1, "numba": nb}
