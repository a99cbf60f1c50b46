"""A fully connected layer's weight gradient, applied by SGD block by block as it is made.

    gW = aᵀ @ b        a (B, M): the layer's input rows, b (B, N): the gradient at its output
    v ← μ·v + gW;  W ← W − η·v      (Nesterov: W ← W − η·(gW + μ·v);  no momentum: W ← W − η·gW)

The separate path writes the whole gW (mlp's first layer: 784 × 256, 0.8 MB) and then reads
it back with W and v for the update; in a training step those arrays have left the core's
cache by then, and the update cost 0.33 ms where it takes 0.03 ms on warm arrays (Intel
Xeon, 2 cores). Here each thread takes a band of W's rows and, a block of rows at a time,
has BLAS write the block's gradient into a small scratch array (64 KB, stays in cache)
and applies the update to those rows at once: gW never exists whole, and the update reads
it from cache. The arithmetic is the SGD kernel's (hubel/backends/kernels/optim_numba.py),
element by element, so the weights equal the separate path's up to the product's own
float32 rounding (BLAS may sum a block's dot products in another order).

Used by the traced training step (hubel/training/traced.py) through SGD.in_backward; the
eager step keeps the plain product and update.
"""

from __future__ import annotations

import math

import numpy as np

from hubel.backends import blas
from hubel.backends.blas import _NO_TRANS, _ROW_MAJOR, _SERIAL_WORK, _TRANS
from hubel.backends.threads import pool_size

_BLOCK_NUMBERS = 1 << 14  # numbers of one block's gradient (64 KB of float32)

_kernels = None  # (parallel, serial) once compiled; False: no BLAS to call


def _compile(sgemm):
    """The parallel and the serial driver, calling `sgemm` (a ctypes function)."""
    from numba import njit, prange

    from hubel.backends.kernels.optim_numba import _sgd_momentum, _sgd_plain

    def make(loop):
        def run(a, b, w, v, scratch, lr, mu, nesterov, momentum, parts, block, wb, gb,
                vb):  # pragma: no cover - compiled
            batch, m = a.shape
            n = b.shape[1]
            pa, pb, lda, ldb = a.ctypes.data, b.ctypes.data, a.strides[0] // 4, \
                b.strides[0] // 4
            wf, vf = w.reshape(-1), v.reshape(-1)
            for t in loop(parts):
                s = scratch[t].reshape(-1)
                lo, hi = t * m // parts, (t + 1) * m // parts
                for r0 in range(lo, hi, block):
                    r1 = min(r0 + block, hi)
                    # rows r0..r1 of aᵀ @ b: columns r0..r1 of a, all of b
                    sgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, r1 - r0, n, batch, np.float32(1.0),
                          pa + r0 * 4, lda, pb, ldb, np.float32(0.0), s.ctypes.data, n)
                    g = s[:(r1 - r0) * n]
                    if momentum:
                        _sgd_momentum(wf[r0 * n:r1 * n], g, vf[r0 * n:r1 * n], lr, mu,
                                      nesterov)
                    else:
                        _sgd_plain(wf[r0 * n:r1 * n], g, lr)
            if wb.shape[0] > 0:  # the bias's update, with its gradient gb
                if momentum:
                    _sgd_momentum(wb, gb, vb, lr, mu, nesterov)
                else:
                    _sgd_plain(wb, gb, lr)

        return run

    return (njit(parallel=True, nogil=True)(make(prange)), njit(nogil=True)(make(range)))


def _get_kernels():
    global _kernels
    if _kernels is None:
        sgemm = blas.sgemm_function()
        _kernels = _compile(sgemm) if sgemm is not None else False
    return _kernels


def _usable(a, b, w, v) -> bool:
    f32 = np.float32
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.dtype == b.dtype == w.dtype == f32 and a.shape[0] == b.shape[0]
            and w.shape == (a.shape[1], b.shape[1]) and a.shape[0] > 0
            and a.strides[1] == 4 and a.strides[0] % 4 == 0 and a.strides[0] >= 4 * a.shape[1]
            and b.strides[1] == 4 and b.strides[0] % 4 == 0 and b.strides[0] >= 4 * b.shape[1]
            and w.flags.c_contiguous and (v is None or (v.dtype == f32 and v.shape == w.shape
                                                       and v.flags.c_contiguous)))


def sgd_product_update(a: np.ndarray, b: np.ndarray, w: np.ndarray, v: np.ndarray | None,
                       lr: float, mu: float, nesterov: bool, bias=None) -> bool:
    """W (and v) updated in place by SGD with the gradient aᵀ @ b (module doc); v=None:
    no momentum. bias (b, gb, vb): the layer's bias (N,), its gradient and its velocity
    (None without momentum), updated the same way in the same call (a bias's own update
    costs a few microseconds of calls for a few hundred numbers): contiguous float32
    arrays of N numbers (bias_usable), or a ValueError. Returns False, having changed
    nothing, when the kernel does not apply (not float32, strides BLAS cannot take, no
    compiled BLAS driver): the caller then computes the gradient itself."""
    if not _usable(a, b, w, v):
        return False
    kernels = _kernels if _kernels is not None else _get_kernels()
    if not kernels:
        return False
    m, n = w.shape
    threads = pool_size()
    parts = max(1, min(threads, m // 8))
    serial = parts == 1 or a.shape[0] * m * n < _SERIAL_WORK
    if serial:
        parts = 1
    block = max(1, min(math.ceil(m / parts), _BLOCK_NUMBERS // max(n, 1)))
    scratch = np.empty((parts, block, n), np.float32)
    t = np.float32
    vv = v if v is not None else np.empty((0, n), np.float32)
    wb = gb = vb = _NO_BIAS
    if bias is not None:
        if not bias_usable(bias, n, v is not None):
            raise ValueError(f"sgd_product_update: the bias, its gradient and velocity must "
                             f"be contiguous float32 arrays of shape ({n},)")
        wb, gb, vb = bias[0], bias[1], bias[2] if v is not None else _NO_BIAS
    (kernels[1] if serial else kernels[0])(a, b, w, vv, scratch, t(lr), t(mu), nesterov,
                                           v is not None, parts, block, wb, gb, vb)
    return True


_NO_BIAS = np.empty(0, np.float32)


def bias_usable(bias, n: int, momentum: bool) -> bool:
    """Whether sgd_product_update takes the bias (b, gb, vb) of a layer of n outputs."""
    for x in bias if momentum else bias[:2]:
        if type(x) is not np.ndarray or x.dtype != np.float32 or x.shape != (n,) or \
                not x.flags.c_contiguous:
            return False
    return True
