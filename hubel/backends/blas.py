"""Matrix products on hubel's own thread pool.

    C = op(A) @ op(B)  (or C += …),  op(X) = X or Xᵀ (a transposed view, no copy)

Two thread pools on the same cores slow each other: OpenBLAS's idle workers spin after a
product while the next Numba kernel wants the cores, and Numba's workers, when they spin
(OpenMP), slow the next product (measured on 2 cores: ResNet-20 training 2-3x slower). So
hubel keeps one pool (hubel.backends.threads): NumPy's OpenBLAS runs each call on the
calling thread only, and `matmul` splits a product over Numba's workers, by blocks of
output rows (of columns, when the output is wider than tall), by matrices of a batch, or
along k for a product much deeper than it is tall or wide (partial products summed),
each block one single-threaded GEMM (of the BLAS chosen below), called through its
address from the compiled loop. Measured against np.matmul with OpenBLAS's own two
threads: the same speed on large products (mlp's within 5%), 1.2x on LeNet-5's
(12800, 150) @ (150, 16), 1.8x on Winograd's 36 products (910, 16) @ (16, 16); and whole
ResNet-20 inference steps 63-78 -> 36-50 ms, because its other kernels stop losing a core
to spinning BLAS threads.

Which BLAS: NumPy's OpenBLAS, or Intel's MKL when it is installed (`pip install
'hubel[mkl]'`) and the CPU is Intel's, in its sequential layer, one call per block the
same way; HUBEL_BLAS=mkl / openblas / auto (the default) chooses, `library()` tells. On
an Intel Xeon (Ice Lake, AVX-512) MKL's single-threaded sgemm was 10-20% faster than
OpenBLAS's on mlp's and LeNet-5's shapes, and whole training steps 5-20% faster.

`matmul` falls back to np.matmul (same result) for anything else: other dtypes, other
shapes, strides no BLAS call can describe, no Numba, or a BLAS without the cblas symbols.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import platform
import re
import sys

import numpy as np

from hubel.backends.threads import one_pool, pool_size

_SERIAL_WORK = 1 << 18  # multiply-adds below which a product runs on the calling thread
_ROW_BLOCK = 8  # output rows per thread at least, when the rows are split
_COL_BLOCK = 16  # output columns per thread at least, when the columns are split
_SPLIT_ROWS = 64  # output rows per thread from which the rows are split, however wide
_DEPTH_RATIO = 2  # a plain product is split along k when k >= this times max(m, n)
_DEPTH_BLOCK = 64  # k per thread at least, when k is split
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enum values
_MKL_SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL
_BLAS_CHOICES = ("auto", "mkl", "openblas")  # HUBEL_BLAS


def _numpy_openblas():
    """(library, symbol name of sgemm, symbol name of dgemm, 64-bit ints, description) of
    the OpenBLAS NumPy uses, or None."""
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
                return lib, s, d, wide, f"OpenBLAS {info.get('version', '')} (NumPy's)"
    return None  # pragma: no cover - NumPy built against another BLAS


def _mkl():
    """(library, sgemm, dgemm, 64-bit ints, description) of Intel's MKL as the `mkl` wheel
    installs it (`pip install 'hubel[mkl]'`: libmkl_rt in the environment's lib/), set to
    its sequential layer (hubel's pool runs the threads), or None if it is not there or
    cannot be made sequential (another library already chose its threads)."""
    names = ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so", "libmkl_rt.dylib")
    dirs = dict.fromkeys(os.path.join(p, "lib") for p in (sys.prefix, sys.base_prefix))
    paths = [os.path.join(d, n) for d in dirs for n in names]
    found = ctypes.util.find_library("mkl_rt")
    for path in [p for p in paths if os.path.exists(p)] + ([found] if found else []):
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover - a broken install
            continue
        if lib.MKL_Set_Threading_Layer(_MKL_SEQUENTIAL) != _MKL_SEQUENTIAL:
            return None  # pragma: no cover - MKL threaded by someone else in this process
        version = ctypes.create_string_buffer(256)
        lib.MKL_Get_Version_String(version, len(version))
        number = re.search(r"Version ([\d.]+)", version.value.decode(errors="replace"))
        text = f"MKL {number.group(1)}" if number else "MKL"
        return lib, "cblas_sgemm", "cblas_dgemm", False, f"{text} (sequential)"
    return None


def _intel_cpu() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return "GenuineIntel" in f.read(4096)
    except OSError:  # pragma: no cover - not Linux
        return "intel" in platform.processor().lower()


def _choose_blas():
    """The library hubel's products call, by HUBEL_BLAS: 'mkl', 'openblas', or 'auto'
    (the default: MKL on an Intel CPU when it is installed, where it ran hubel's steps
    5-20% faster than NumPy's OpenBLAS; else OpenBLAS)."""
    choice = os.environ.get("HUBEL_BLAS", "auto").strip().lower() or "auto"
    if choice not in _BLAS_CHOICES:
        raise ValueError(f"HUBEL_BLAS={choice!r}: expected one of {', '.join(_BLAS_CHOICES)}")
    if choice == "mkl" or (choice == "auto" and _intel_cpu()):
        found = _mkl()
        if found is not None:
            return found
        if choice == "mkl":
            raise RuntimeError("HUBEL_BLAS=mkl, but MKL's runtime (libmkl_rt) was not found "
                               "in this environment, or another library in this process "
                               "already runs it threaded: pip install 'hubel[mkl]'")
    return _numpy_openblas()


def _compile(lib, sgemm_name: str, dgemm_name: str, wide: bool):
    """The two compiled drivers (parallel, serial) calling the cblas functions of `lib`.

    The functions are called through their addresses (ctypes function objects), so the
    compiled code calls exactly that library's symbol, whatever else is loaded. Compiled
    in each process (0.9 s for the first), not cached on disk: Numba's cache keys a
    closure by its pickled contents, which differ in every process, so each process
    missed and added a file to the cache; and within a process the parallel and the
    serial driver, made from one function, shared one entry, so whichever ran first
    served both (a parallel=True driver ran its tasks on one thread, every split product
    at half speed)."""
    from numba import njit, prange

    sgemm, dgemm = _cblas(lib, sgemm_name, np.float32, wide), \
        _cblas(lib, dgemm_name, np.float64, wide)
    saxpy, daxpy = _cblas_axpy(lib, sgemm_name.replace("gemm", "axpy"), np.float32, wide), \
        _cblas_axpy(lib, dgemm_name.replace("gemm", "axpy"), np.float64, wide)
    return (njit(parallel=True, nogil=True)(_driver(sgemm, dgemm, saxpy, daxpy, prange)),
            njit(nogil=True)(_driver(sgemm, dgemm, saxpy, daxpy, range)),
            *_addresses())


def _cblas(lib, name: str, dtype, wide: bool):
    """cblas_?gemm of `lib` as a ctypes function (pointers passed as integers)."""
    i = ctypes.c_int64 if wide else ctypes.c_int32
    e, p = ctypes.c_int, ctypes.c_ssize_t
    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(lib, name)
    fn.argtypes = [e, e, e, i, i, i, real, p, i, p, i, real, p, i]
    fn.restype = None
    return fn


def _cblas_axpy(lib, name: str, dtype, wide: bool):
    """cblas_?axpy of `lib` (y += α·x) as a ctypes function."""
    i = ctypes.c_int64 if wide else ctypes.c_int32
    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    fn = getattr(lib, name)
    fn.argtypes = [i, real, ctypes.c_ssize_t, i, ctypes.c_ssize_t, i]
    fn.restype = None
    return fn


def _driver(sgemm, dgemm, saxpy, daxpy, loop):
    """The driver's Python function: a closure over the cblas functions and over its task
    loop (prange for the parallel driver, range for the serial one)."""
    from hubel.backends.kernels.channel_numba import bias_relu_block, mask_sum_block

    def run(double, ta, tb, m, n, k, a, lda, a_row, a_mat, b, ldb, b_col, b_mat, c, ldc,
            c_mat, beta, batch, row_parts, col_parts, size, depth, s, ey, eb,
            relu, em, es):  # pragma: no cover - compiled
        """Task t: matrix t // (row_parts·col_parts) of the batch, one block of its output
        rows and columns. Pointers and steps in bytes (a_row: from one row of op(A) to
        the next; b_col: from one column of op(B) to the next). depth > 1 (one matrix,
        one block): task t multiplies the t-th share of k, into C for the first and into
        the scratch s ((depth − 1) · m · n numbers) for the others, then C += s.
        ey (m, n), C itself as an array, or (0, 0): the epilogue, ey += eb (a bias of n,
        or none: (0,)) and then max(ey, 0) if relu, made by each task on the rows and
        columns it has just written (one matrix only). em (m, n), or (0, 0): the
        epilogue is instead a ReLU's backward, ey ·= [em > 0], with each task t summing
        its block's columns into es[t] (depth 1 only)."""
        epilogue = ey.shape[0] > 0
        masked = em.shape[0] > 0
        if depth > 1:
            a_k = lda * size if ta == _TRANS else size  # from one column of op(A) to the next
            b_k = size if tb == _TRANS else ldb * size  # from one row of op(B) to the next
            for t in loop(depth):
                lo, hi = t * k // depth, (t + 1) * k // depth
                pc, ld, bt = (c, ldc, beta) if t == 0 else \
                    (s + (t - 1) * m * n * size, n, 0.0)
                if double:
                    dgemm(_ROW_MAJOR, ta, tb, m, n, hi - lo, 1.0, a + lo * a_k, lda,
                          b + lo * b_k, ldb, bt, pc, ld)
                else:
                    sgemm(_ROW_MAJOR, ta, tb, m, n, hi - lo, np.float32(1.0), a + lo * a_k,
                          lda, b + lo * b_k, ldb, np.float32(bt), pc, ld)
            for i in loop(m):
                for t in range(1, depth):
                    ps = s + ((t - 1) * m + i) * n * size
                    if double:
                        daxpy(n, 1.0, ps, 1, c + i * ldc * size, 1)
                    else:
                        saxpy(n, np.float32(1.0), ps, 1, c + i * ldc * size, 1)
                if epilogue:
                    bias_relu_block(ey, eb, relu, i, i + 1, 0, n)
            return
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
            if masked:
                mask_sum_block(ey, em, es, t, lo, hi, left, right)
            elif epilogue:
                bias_relu_block(ey, eb, relu, lo, hi, left, right)

    return run


def _addresses():
    """The data pointers of three arrays, compiled: 0.8 µs against 8.5 µs for three
    `x.ctypes.data` (each builds a ctypes helper object), most of the Python cost of a
    product (mlp's layers: three products per step in inference)."""
    from numba import njit

    @njit(cache=True)
    def addresses(a, b, c):  # pragma: no cover - compiled
        return a.ctypes.data, b.ctypes.data, c.ctypes.data

    @njit(cache=True)
    def address(a):  # pragma: no cover - compiled
        return a.ctypes.data

    return addresses, address


_drivers = None  # (parallel, serial, addresses, address) once compiled; False: none
_library = None  # what the drivers call, described (library())
_found = None  # (library, sgemm name, dgemm name, 64-bit ints) behind the drivers


def _get_drivers():
    global _drivers, _library, _found
    if _drivers is None:
        try:
            import numba  # noqa: F401
        except ImportError:  # pragma: no cover - NumPy reference kernels only
            _drivers = False
            return _drivers
        found = _choose_blas()  # (a bad HUBEL_BLAS raises here, at every product)
        _drivers = False
        if found is not None:
            _drivers, _library, _found = _compile(*found[:4]), found[4], found[:4]
    return _drivers


def sgemm_function():
    """cblas_sgemm of the library behind hubel's products, as a ctypes function that
    compiled code can call (pointers as integers), or None when products go to NumPy."""
    if not (one_pool() and _get_drivers()):
        return None
    lib, sgemm_name, _, wide = _found
    return _cblas(lib, sgemm_name, np.float32, wide)


def library() -> str:
    """The BLAS behind hubel's matrix products, e.g. 'MKL 2026.2 (sequential)' or
    'OpenBLAS 0.3.31 (NumPy's)'; "NumPy's matmul" when products go to np.matmul (no
    Numba, no usable BLAS symbols, or no OpenMP pool)."""
    if not (one_pool() and _get_drivers()):
        return "NumPy's matmul"
    return _library


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
           accumulate: bool = False, bias: np.ndarray | None = None,
           relu: bool = False) -> np.ndarray:
    """a @ b (np.matmul's result) for (M, K) or (B, M, K) @ (K, N) or (B, K, N); with
    accumulate=True, out += a @ b. On hubel's thread pool (see the module doc).

    bias (N,) and relu: the epilogue of a layer, y = a @ b + bias, then max(y, 0) if relu
    (NaN stays NaN). For a float32 (M, N) product each thread applies it to the block of
    rows it has just multiplied, while the block is in its core's cache; otherwise one
    pass over y after the product (hubel/backends/channels.py)."""
    return _product(a, b, out, accumulate, bias, relu, None)[0]


def matmul_relu_backward(a: np.ndarray, b: np.ndarray,
                         y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(g, gb): g = (a @ b)·[y > 0] and gb = Σ_rows g, for 2-D a (M, K), b (K, N) and y
    (M, N). A layer's input gradient gy @ Wᵀ, with the backward pass of the ReLU that
    made the layer's input y (its output) applied as each thread makes its block of rows,
    and that ReLU's layer's bias gradient summed in the same pass: what
    channels.relu_backward(a @ b, y) returns, without a pass of its own. Where the
    product cannot take this epilogue (not float32, a split k, no BLAS driver), it is
    that: the product, then relu_backward."""
    if a.ndim != 2 or b.ndim != 2 or y.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"matmul_relu_backward: expected 2-D a (M, K), b (K, N) and the "
                         f"ReLU's output y (M, N), got {a.shape}, {b.shape} and {y.shape}")
    g, sums = _product(a, b, None, False, None, False, y)
    if sums is None:
        from hubel.backends.channels import relu_backward

        return relu_backward(g, y)
    return g, sums.sum(axis=0).astype(g.dtype)


def _product(a, b, out, accumulate, bias, relu, mask):
    """(y, sums): matmul's y, with the epilogue of bias and relu, or (mask not None) of a
    ReLU's backward, sums then each task's column sums of y ((tasks, N) float64), or None
    if that epilogue did not run (y is then the plain product)."""
    if accumulate and out is None:
        raise ValueError("matmul: accumulate=True needs the array to add to (out)")
    fuse = bias is not None or relu
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        y = a @ b  # (another array module)
        if out is None:
            return (_epilogue(y, bias, relu) if fuse else y), None
        out[...] = out + y if accumulate else y
        return (_epilogue(out, bias, relu) if fuse else out), None
    if out is None:  # a product seen before: its arguments but the pointers are known
        key = (a.shape, a.strides, b.shape, b.strides, a.dtype, b.dtype, pool_size())
        plan = _plans.get(key)
        if plan is not None:
            driver, shape, dtype, head, after_a, after_b, after_c, scratch, fusable = plan
            out = np.empty(shape, dtype)
            pa, pb, pc = _drivers[2](a, b, out)
            ey, eb, em, es = _epilogue_arguments(out, fusable, bias, relu, mask, after_c[-1],
                                                 after_c[4] * after_c[5])
            if scratch:  # (kept referenced until the driver returns)
                scratch = np.empty(scratch, dtype)
                driver(*head, pa, *after_a, pb, *after_b, pc, *after_c, _drivers[3](scratch),
                       ey, eb, relu and ey is out, em, es)
            else:
                driver(*head, pa, *after_a, pb, *after_b, pc, *after_c, 0, ey, eb,
                       relu and ey is out, em, es)
            if fuse and ey is not out:
                _epilogue(out, bias, relu)
            return out, (es if em is mask else None)
    drivers = _drivers if _drivers is not None else _get_drivers()
    args = _arguments(a, b, out, accumulate) if drivers and one_pool() else None
    if args is None:
        if accumulate:
            out += np.matmul(a, b)
        else:
            out = np.matmul(a, b, out=out)
        return (_epilogue(out, bias, relu) if fuse else out), None
    serial, y, scratch = args[-3:]
    driver = drivers[1] if serial else drivers[0]
    fusable = y.dtype == np.float32 and y.ndim == 2 and y.flags.c_contiguous and \
        not accumulate
    ey, eb, em, es = _epilogue_arguments(y, fusable, bias, relu, mask, args[22],
                                         args[19] * args[20])
    driver(*args[:-3], ey, eb, relu and ey is y, em, es)
    if fuse and ey is not y:
        _epilogue(y, bias, relu)
    if out is None:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[key] = (driver, y.shape, y.dtype, args[:6], args[7:10], args[11:14],
                       args[15:23], scratch.size if scratch is not None else 0, fusable)
    return y, (es if em is mask else None)


def _epilogue_arguments(y, fusable: bool, bias, relu: bool, mask, depth: int, tasks: int):
    """(ey, eb, em, es), the drivers' epilogue arguments for the product y: the bias and
    ReLU's (ey is y, eb the bias), or the ReLU backward's (em the mask, es the tasks'
    column sums, zeros); the empty arrays where the drivers cannot apply them (y not a
    float32 C-contiguous matrix written anew, or a mask along a split k)."""
    if mask is not None:
        if fusable and depth == 1 and type(mask) is np.ndarray and \
                mask.dtype == np.float32 and mask.shape == y.shape and mask.flags.c_contiguous:
            return y, _NO_B, mask, np.zeros((tasks, y.shape[-1]), np.float64)
    elif fusable and (bias is not None or relu):
        return y, _bias_of(bias, y.shape[-1]), _NO_Y, _NO_S
    return _NO_Y, _NO_B, _NO_Y, _NO_S


_NO_Y = np.empty((0, 0), np.float32)  # the drivers' epilogue arguments when there is none
_NO_B = np.empty(0, np.float32)
_NO_S = np.empty((0, 0), np.float64)


def _bias_of(bias, n: int) -> np.ndarray:
    """The epilogue's bias as the drivers take it: float32 (n,), or (0,) for none."""
    if bias is None:
        return _NO_B
    if type(bias) is not np.ndarray or bias.dtype != np.float32 or not bias.flags.c_contiguous:
        bias = np.ascontiguousarray(bias, np.float32)
    if bias.shape != (n,):
        raise ValueError(f"matmul: the bias must have shape ({n},) (the product's columns), "
                         f"got {bias.shape}")
    return bias


def _epilogue(y, bias, relu: bool):
    """y + bias (then max(·, 0) if relu) in one pass after the product, in place."""
    from hubel.backends.channels import add_bias, add_bias_relu

    if relu:
        return add_bias_relu(y, bias)
    return add_bias(y, bias)


_plans: dict = {}  # (shapes, strides, dtypes, threads) of a product -> its driver arguments
_MAX_PLANS = 256


def _arguments(a, b, out, accumulate):
    """The drivers' arguments, whether to run serially, the output and the scratch of a
    split k (or None), when the product can go to the drivers; else None (Python work
    kept small: mlp's products are ~0.1 ms)."""
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
    # product) are split too: by rows when each thread gets _SPLIT_ROWS of them, else
    # along the longer side of the output. Rows, though each thread then packs all of B:
    # mlp's (128, 784) @ (784, 256) and (128, 256) @ (256, 256) by rows rather than
    # columns made its training step 6% and inference 14% faster (Intel Xeon, MKL); an
    # im2col product (12800, 150) @ (150, 16) goes by rows either way.
    #
    # A plain product much deeper than it is tall or wide, mlp's first layer
    # (128, 784) @ (784, 256), is split along k instead: each thread multiplies a share of
    # the columns of A by the same rows of B, and the partial products are summed. Each
    # thread reads half of B rather than all of it, and the same half the weight update
    # and the weight gradient's rows (split by rows) give that thread, so the weight stays
    # in its core's cache from step to step: mlp's forward product 365 -> 310 us, and its
    # weight gradient and update after it 650 -> 450 us (Intel Xeon, MKL).
    split = threads // math.gcd(batch, threads)
    row_parts = col_parts = depth = 1
    if batch == 1 and threads > 1 and k >= _DEPTH_RATIO * max(m, n) and \
            k >= _DEPTH_BLOCK * threads:
        depth = threads
    elif m >= n or m >= _SPLIT_ROWS * split:
        row_parts = max(1, min(split, m // _ROW_BLOCK))
    else:
        col_parts = max(1, min(split, n // _COL_BLOCK))
    serial = batch * m * n * k < _SERIAL_WORK or batch * row_parts * col_parts * depth == 1
    if serial:
        depth = 1
    scratch = np.empty((depth - 1) * m * n, dtype) if depth > 1 else None
    return (size == 8, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, m, n, k,
            pa, lda, size if ta else lda * size, a.strides[0] if nd_a == 3 else 0,
            pb, ldb, ldb * size if tb else size, b.strides[0] if nd_b == 3 else 0,
            pc, out.strides[-2] // size, out.strides[0] if nd_a == 3 else 0,
            1.0 if accumulate else 0.0, batch, row_parts, col_parts, size, depth,
            _drivers[3](scratch) if scratch is not None else 0, serial, out, scratch)
