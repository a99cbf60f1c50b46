"""Direct convolution of a single-channel input (MNIST's first layer) in Numba.

Stride 1, no dilation, 2-D; zero padding is applied inside the kernels, while the input is
expanded, so no padded copy of the batch is made. For one output row (n, oh) the
channels-last output is Wo·F contiguous numbers, j = ow·F + f, and

    y[n, oh, j] = b[f] + Σ_{kh, kw} xe[oh + kh, kw·F + j] · wt[kh, kw, j]

where xe repeats every pixel of the padded image F times (xe[h, w·F + f] = x[h, w]) and wt
tiles the kernel along the row (wt[kh, kw, ow·F + f] = W[kh, kw, f]). The kernel gradient
is the same loop with gy in the place of wt,

    gwt[kh, kw, j] = Σ_{n, oh} xe[n, oh + kh, kw·F + j] · gy[n, oh, j],   gW = Σ_ow gwt,

summed per thread over its block of images. The loop over j is the vectorized one. Its
body is written out tap by tap for `rows_per_pass` output rows at once (4 for 5x5): the
rows read the same tiled weights and share most of their input rows, so each value is
loaded once for every multiply-add that uses it (forward: 0.65 loads per multiply-add,
2 for one row), and the gradient adds into each accumulator once per 4 rows, not once
per row. LLVM neither unrolls such nested tap loops nor vectorizes them rolled, so the
module holding the kernels is generated for each kernel size, filter count and row
length (`kernel_source`) and loaded from a file (hubel/backends/kernels/generated.py)
so that Numba caches it. LeNet-5's C1 (batch 128, 2 threads): forward 0.54-0.9 ->
0.4-0.5 ms, kernel gradient 1.1-1.5 -> 0.6-0.8 ms. Indices are unsigned offsets from 0
(a signed `base + k` makes LLVM emit gathers; in the pixel expansion it halved the
speed). The reference is im2col + GEMM in hubel/ops/conv.py.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from hubel.backends.kernels import generated

_SERIAL = 1 << 16  # fewer output numbers than this: one thread


_ROW_BLOCK_TAPS = 100  # output rows per pass: as many as keep rows·KH·KW at most this


def rows_per_pass(kh: int, kw: int) -> int:
    """Output rows computed together: 4 for a 5x5 kernel, 8 for 3x3, 2 for 7x7."""
    return max(1, min(8, _ROW_BLOCK_TAPS // (kh * kw)))


def _u(value: int) -> str:
    return f"uint64({value})"


def _forward_body(kh: int, kw: int, f: int, length: int, width: int, rows: int) -> str:
    """Per lane q: s_r = b + Σ_taps xe[row r + i, j·F + q] · wt[i, j, q] for `rows` rows."""
    pad = " " * 8
    lines = [f"{pad}s{r} = bt[q]" for r in range(rows)]
    for i in range(kh):
        for j in range(kw):
            lines.append(f"{pad}w = wf[{_u((i * kw + j) * length)} + q]")
            lines += [f"{pad}s{r} += xf[base + {_u((i + r) * width + j * f)} + q] * w"
                      for r in range(rows)]
    lines += [f"{pad}yf[out + {_u(r * length)} + q] = max(s{r}, zero) if relu else s{r}"
              for r in range(rows)]
    return "\n".join(lines)


def _gradient_body(kh: int, kw: int, f: int, length: int, width: int, rows: int) -> str:
    """Per lane q: g[i, j, q] += Σ_r xe[row r + i, j·F + q] · gy[row r, q]; each input
    value is loaded once for all the taps and rows that read it."""
    pad = " " * 8
    lines = [f"{pad}g{r} = gf[row + {_u(r * length)} + q]" for r in range(rows)]
    for r in range(rows + kh - 1):
        lines += [f"{pad}x{r}_{j} = xf[base + {_u(r * width + j * f)} + q]"
                  for j in range(kw)]
    for i in range(kh):
        for j in range(kw):
            terms = " + ".join(f"x{i + r}_{j} * g{r}" for r in range(rows))
            lines.append(f"{pad}af[{_u((i * kw + j) * length)} + q] += {terms}")
    return "\n".join(lines)


_TEMPLATE = '''"""Direct single-channel convolution, {kh}x{kw} kernel, {f} filters, output rows of
{wo}: written by hubel/backends/kernels/direct_numba.py (see its doc); do not edit."""
import numpy as np
from numba import njit, prange, uint64

F, KH, KW, ROWS = {f}, {kh}, {kw}, {rows}
L, W = {length}, {width}  # numbers in a row of y (Wo·F) and of xe ((Wo + KW − 1)·F)
MATH = {{"contract"}}


@njit(cache=True)
def expand(image, top, left, xf):
    """xe[top + h, (left + w)·F + q] = image[h, w] for q < F (the border stays zero)."""
    h_in, w_in = image.shape
    for h in range(h_in):
        start = uint64(top + h) * uint64(W) + uint64(left * F)
        source = image[h]
        for w in range(w_in):
            v = source[w]
            at = start + uint64(w) * uint64(F)
            for q in range(F):
                xf[at + uint64(q)] = v


@njit(cache=True, fastmath=MATH)
def forward_rows(xf, wf, bt, yf, base, out, relu, zero):
    for lane in range(L):
        q = uint64(lane)
{forward_rows}


@njit(cache=True, fastmath=MATH)
def forward_row(xf, wf, bt, yf, base, out, relu, zero):
    for lane in range(L):
        q = uint64(lane)
{forward_row}


@njit(cache=True)
def forward_images(x, top, left, wt, bt, relu, zero, y, start, stop):
    """y[start:stop] (N, Ho, L) of x (N, H, W) padded by top/left."""
    ho = y.shape[1]
    full = ho - ho % ROWS
    xe = np.zeros((ho + KH - 1) * W, x.dtype)
    wf = wt.reshape(-1)
    for image in range(start, stop):
        expand(x[image], top, left, xe)
        yf = y[image].reshape(-1)
        for oh in range(0, full, ROWS):
            forward_rows(xe, wf, bt, yf, uint64(oh * W), uint64(oh * L), relu, zero)
        for oh in range(full, ho):
            forward_row(xe, wf, bt, yf, uint64(oh * W), uint64(oh * L), relu, zero)


@njit(parallel=True, cache=True)
def forward(x, top, left, wt, bt, relu, zero, y):
    n = x.shape[0]
    tasks = min(n, 64)
    for task in prange(tasks):
        forward_images(x, top, left, wt, bt, relu, zero, y,
                       task * n // tasks, (task + 1) * n // tasks)


@njit(cache=True, fastmath=MATH)
def gradient_rows(xf, gf, af, base, row):
    for lane in range(L):
        q = uint64(lane)
{gradient_rows}


@njit(cache=True, fastmath=MATH)
def gradient_row(xf, gf, af, base, row):
    for lane in range(L):
        q = uint64(lane)
{gradient_row}


@njit(cache=True)
def gradient_images(x, top, left, gy, g, start, stop):
    """g (KH, KW, L) += the taps' products of images start…stop−1; gy (N, Ho, L)."""
    ho = gy.shape[1]
    full = ho - ho % ROWS
    xe = np.zeros((ho + KH - 1) * W, x.dtype)
    af = g.reshape(-1)
    for image in range(start, stop):
        expand(x[image], top, left, xe)
        gf = gy[image].reshape(-1)
        for oh in range(0, full, ROWS):
            gradient_rows(xe, gf, af, uint64(oh * W), uint64(oh * L))
        for oh in range(full, ho):
            gradient_row(xe, gf, af, uint64(oh * W), uint64(oh * L))


@njit(parallel=True, cache=True)
def gradient(x, top, left, gy, parts):
    """parts[t] (KH, KW, L): task t's sum over its block of images."""
    n, tasks = x.shape[0], parts.shape[0]
    for t in prange(tasks):
        gradient_images(x, top, left, gy, parts[t], t * n // tasks, (t + 1) * n // tasks)
'''


def kernel_source(kh: int, kw: int, f: int, wo: int) -> str:
    """The generated module of the kernels for a KH x KW kernel of F filters and output
    rows of Wo positions."""
    rows = rows_per_pass(kh, kw)
    length, width = wo * f, (wo + kw - 1) * f
    shape = (kh, kw, f, length, width)
    return _TEMPLATE.format(
        kh=kh, kw=kw, f=f, wo=wo, rows=rows, length=length, width=width,
        forward_rows=_forward_body(*shape, rows), forward_row=_forward_body(*shape, 1),
        gradient_rows=_gradient_body(*shape, rows), gradient_row=_gradient_body(*shape, 1))


@functools.cache
def kernels(kh: int, kw: int, f: int, wo: int):
    """The compiled kernels (a module: forward, forward_images, gradient,
    gradient_images) for that shape."""
    return generated.load(f"direct_{kh}x{kw}x{f}_{wo}", kernel_source(kh, kw, f, wo))


def _geometry(x_shape, kernel, pads):
    """(Ho, Wo, top, left) of an (N, H, W) input padded by ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pads
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"direct convolution: pads must be >= 0, got {pads}")
    ho = x_shape[1] + top + bottom - kernel[0] + 1
    wo = x_shape[2] + left + right - kernel[1] + 1
    return ho, wo, int(top), int(left)


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, relu: bool = False,
            pads=((0, 0), (0, 0))) -> np.ndarray:
    """y (N, Ho, Wo, F) of a single-channel input x (N, H, W) with zeros `pads` =
    ((top, bottom), (left, right)) around it and a kernel w (KH, KW, F), plus the bias
    b (F,) if given, through max(·, 0) if relu."""
    n = x.shape[0]
    kh, kw, f = w.shape
    ho, wo, top, left = _geometry(x.shape, (kh, kw), pads)
    dtype = np.result_type(x, w)
    wt = np.ascontiguousarray(np.tile(w.astype(dtype, copy=False), (1, 1, wo)))
    bt = np.zeros(wo * f, dtype) if b is None else np.tile(b.astype(dtype, copy=False), wo)
    y = np.empty((n, ho, wo * f), dtype)
    k = kernels(int(kh), int(kw), int(f), int(wo))
    args = (np.ascontiguousarray(x, dtype), top, left, wt, bt, bool(relu), dtype.type(0), y)
    if y.size >= _SERIAL:
        k.forward(*args)
    else:
        k.forward_images(*args, 0, n)
    return y.reshape(n, ho, wo, f)


def kernel_gradient(x: np.ndarray, gy: np.ndarray, kernel: tuple,
                    pads=((0, 0), (0, 0))) -> np.ndarray:
    """gW (KH, KW, F) = Σ_{n, oh, ow} xp[n, oh + kh, ow + kw] · gy[n, oh, ow, f], xp: x
    (N, H, W) with zeros `pads` around it, as in forward."""
    n, ho, wo, f = gy.shape
    kh, kw = kernel
    ho_x, wo_x, top, left = _geometry(x.shape, kernel, pads)
    if (ho_x, wo_x) != (ho, wo):
        raise ValueError(f"direct convolution: gy of shape {gy.shape} does not fit an "
                         f"input of shape {x.shape} with pads {pads}")
    dtype = np.result_type(x, gy)
    tasks = 1 if gy.size < _SERIAL else max(1, min(n, numba.get_num_threads()))
    parts = np.zeros((tasks, kh, kw, wo * f), dtype)
    args = (np.ascontiguousarray(x, dtype), top, left,
            np.ascontiguousarray(gy, dtype).reshape(n, ho, wo * f))
    k = kernels(int(kh), int(kw), int(f), int(wo))
    if tasks == 1:
        k.gradient_images(*args, parts[0], 0, n)
    else:
        k.gradient(*args, parts)
    return parts.sum(axis=0).reshape(kh, kw, wo, f).sum(axis=2)
