"""Winograd's minimal filtering F(4x4, 3x3): a 3x3 stride-1 convolution with 2.25
multiplications per output instead of 9 (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016).

Each 4x4 block of outputs is computed from the 6x6 input tile d under it as

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        (g: the 3x3 kernel of one input/output pair)

and over channels the elementwise product becomes 36 matrix products, one per position
(a, b) of the 6x6 transformed tile:

    M[ab] (tiles, F) = V[ab] (tiles, C) @ U[ab] (C, F),   V = Bᵀ d B,  U = G g Gᵀ

So a layer is three passes: input tiles -> V (hubel/backends/kernels/winograd_numba.py),
36 GEMMs, M -> output tiles with bias and ReLU; its backward pass runs the adjoint of the
same three passes (`conv3x3_backward`: one transform of gy serves both gradients).
Against im2col + one GEMM it multiplies 4x less and never writes the 9x larger columns;
the price is float32 rounding about 10x im2col's (relative error ~5e-6 of the output's
scale, measured against PyTorch), as in cuDNN's and oneDNN's Winograd kernels. ConvND
takes it for 2-D 3x3 layers with stride 1, no dilation, no groups, at least 8 input and
output channels and outputs of at least about 4x4 (`applies`).
"""

from __future__ import annotations

import numpy as np

from hubel.backends import blas

try:
    from hubel.backends.kernels import winograd_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None

# F(4x4, 3x3) with interpolation points 0, ±1, ±2 and ∞.
BT = np.array([[4, 0, -5, 0, 1, 0],
               [0, -4, -4, 1, 1, 0],
               [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0],
               [0, 2, -1, -2, 1, 0],
               [0, 4, 0, -5, 0, 1]], np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], np.float64)
AT = np.array([[1, 1, 1, 1, 1, 0],
               [0, 1, -1, 2, -2, 0],
               [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]], np.float64)

MIN_CHANNELS = 8  # fewer input or output channels: im2col's K = 9·C is the better GEMM
_BLOCK_BYTES = 2 << 20  # V of one block of images: about 2 MiB, so it stays in cache
_BLOCK_TILES = 512


def _tiles(out) -> tuple:
    """(th, tw): 4x4 output tiles along each axis, the last ones partly outside."""
    return -(-out[0] // 4), -(-out[1] // 4)


def applies(x_shape, out, kernel, strides, dilation, groups: int, filters: int) -> bool:
    """Whether a convolution of this geometry takes the Winograd path: 2-D, 3x3, stride 1,
    no dilation, no groups, >= MIN_CHANNELS channels in and out, and at least 1.5x fewer
    multiplications than direct once the tiles' waste is counted,
    9·Ho·Wo >= 1.5 · 36·th·tw (a 2x2 output would pay for a whole 4x4 tile)."""
    if len(kernel) != 2 or tuple(kernel) != (3, 3) or groups != 1:
        return False
    if any(s != 1 for s in strides) or any(d != 1 for d in dilation):
        return False
    th, tw = _tiles(out)
    return (x_shape[-1] >= MIN_CHANNELS and filters >= MIN_CHANNELS
            and out[0] * out[1] >= 6 * th * tw)


def kernel_transform(w):
    """U (36, C, F) = G g Gᵀ for every (c, f) of a kernel (3, 3, C, F), in w's dtype."""
    c, f = w.shape[2:]
    g = G.astype(w.dtype)
    t = (g @ w.reshape(3, -1)).reshape(6, 3, c * f)  # G along the kernel's rows
    return np.matmul(g, t).reshape(36, c, f)         # G along its columns


def conv3x3(x, w, b=None, pads=((1, 1), (1, 1)), relu: bool = False, keep: bool = False):
    """y = conv(x, w) + b (then max(·, 0)) for x (N, H, W, C), w (3, 3, C, F), with zero
    padding pads = ((top, bottom), (left, right)) -> (N, H + top + bottom − 2,
    W + left + right − 2, F). Numba kernels when available, else `reference`.

    keep=True returns (y, saved) for `conv3x3_backward`: U, and V for the kernel gradient
    (2.25x the input's size: the input itself need not be kept). The batch runs in blocks
    of images whose V takes about _BLOCK_BYTES, so that V and M are still in cache when
    the next pass reads them."""
    if _fast is None or not isinstance(x, np.ndarray):  # pragma: no cover
        y = reference(x, w, b, pads, relu)
        return (y, (x, w, pads)) if keep else y
    x = np.ascontiguousarray(x)
    dtype = np.result_type(x, w)
    n, h, wd, c = x.shape
    f = w.shape[-1]
    ho, wo, th, tw = _output_geometry(x.shape, pads)
    u = kernel_transform(np.asarray(w, dtype))
    bias = np.zeros(f, dtype) if b is None else np.asarray(b, dtype)
    y = np.empty((n, ho, wo, f), dtype)
    step = _block_images(th * tw, max(c, f), dtype)
    kept = []
    for i in range(0, n, step):
        xb = x[i:i + step].astype(dtype, copy=False)
        v = np.empty((36, xb.shape[0] * th * tw, c), dtype)
        _fast.input_tiles(xb, pads[0][0], pads[1][0], th, tw, v)
        _fast.output_tiles(blas.matmul(v, u), th, tw, bias, bool(relu), y[i:i + step])
        if keep:
            kept.append(v)
    return (y, (kept, u, x.shape, pads, step)) if keep else y


def _output_geometry(x_shape, pads) -> tuple:
    """(Ho, Wo, tile rows, tile columns) of a 3x3 convolution of x (N, H, W, C) with pads."""
    ho, wo = x_shape[1] + sum(pads[0]) - 2, x_shape[2] + sum(pads[1]) - 2
    return (ho, wo, *_tiles((ho, wo)))


def _block_images(tiles_per_image: int, channels: int, dtype) -> int:
    """Images per block: V within _BLOCK_BYTES, but at least _BLOCK_TILES tiles (the rows
    of each GEMM: fewer and a wide layer's products lose more than the cache gains)."""
    fit = _BLOCK_BYTES // (36 * tiles_per_image * channels * np.dtype(dtype).itemsize)
    return max(1, fit, -(-_BLOCK_TILES // tiles_per_image))


def conv3x3_backward(gy, saved, want_gx: bool = True, want_gw: bool = True):
    """(gx, gW) of conv3x3 from gy (N, Ho, Wo, F), by the adjoint of its three passes:

        Z = A gy_tile Aᵀ  (per tile, 36 x F),   gU[ab] = V[ab]ᵀ @ Z[ab],  gW = Gᵀ gU G,
        gV[ab] = Z[ab] @ U[ab]ᵀ,  gx = the tiles B gV Bᵀ added up where they overlap

    so gy is transformed once for both gradients; block by block of images, as forward.
    Each equals the exact gradient up to float32 rounding (Winograd's forward pass is exact
    in exact arithmetic). saved: from conv3x3(..., keep=True), V (its list of blocks) may
    be None when no kernel gradient is wanted."""
    if len(saved) == 3:  # pragma: no cover - saved by the NumPy reference (no Numba)
        return _backward_reference(gy, saved, want_gx, want_gw)
    vs, u, x_shape, pads, step = saved
    gy = np.ascontiguousarray(gy, dtype=u.dtype)
    n, ho, wo, f = gy.shape
    c = x_shape[-1]
    th, tw = _tiles((ho, wo))
    gx = np.empty(x_shape, u.dtype) if want_gx else None
    gu = np.zeros((36, c, f), u.dtype) if want_gw else None
    for k, i in enumerate(range(0, n, step)):
        gyb = gy[i:i + step]
        z = np.empty((36, gyb.shape[0] * th * tw, f), u.dtype)
        _fast.gradient_tiles(gyb, th, tw, z)
        if want_gw:
            blas.matmul(vs[k].transpose(0, 2, 1), z, out=gu, accumulate=True)  # (36, C, F)
        if want_gx:
            gv = blas.matmul(z, u.transpose(0, 2, 1))  # (36, tiles, C)
            _fast.input_gradient_tiles(gv, th, tw, pads[0][0], pads[1][0], gx[i:i + step])
    gw = None
    if want_gw:
        g = G.astype(u.dtype)
        t = (g.T @ gu.reshape(6, -1)).reshape(3, 6, c * f)  # Gᵀ along the tile's rows
        gw = np.matmul(g.T, t).reshape(3, 3, c, f)          # and G along its columns
    return gx, gw


def _backward_reference(gy, saved, want_gx, want_gw):
    """Without the kernels: both gradients as direct convolutions in NumPy."""
    x, w, pads = saved
    xp = np.pad(x, ((0, 0), *pads, (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
    gw = np.einsum("nhwcij,nhwf->ijcf", win, gy) if want_gw else None
    gx = None
    if want_gx:
        full = tuple((2 - b, 2 - a) for b, a in pads)
        turned = np.swapaxes(np.asarray(w)[::-1, ::-1], -1, -2)
        gx = reference(gy, turned, None, full)
    return gx, gw


def reference(x, w, b=None, pads=((1, 1), (1, 1)), relu: bool = False):
    """The same in plain NumPy (the kernels' test reference): pad, cut 6x6 tiles every 4
    positions, transform, multiply, transform back, crop."""
    x = np.asarray(x)
    dtype = np.result_type(x, w)
    n, h, wd, c = x.shape
    f = w.shape[-1]
    ho, wo, th, tw = _output_geometry(x.shape, pads)
    xp = np.zeros((n, 4 * th + 2, 4 * tw + 2, c), dtype)
    (top, _), (left, _) = pads
    rows, cols = min(h, 4 * th + 2 - top), min(wd, 4 * tw + 2 - left)
    xp[:, top:top + rows, left:left + cols] = x[:, :rows, :cols]
    s = xp.strides
    d = np.lib.stride_tricks.as_strided(xp, (n, th, tw, 6, 6, c),
                                        (s[0], 4 * s[1], 4 * s[2], s[1], s[2], s[3]))
    bt, at = BT.astype(dtype), AT.astype(dtype)
    v = np.einsum("ai,ntwijc,bj->abntwc", bt, d, bt)
    u = kernel_transform(np.asarray(w, dtype)).reshape(6, 6, c, f)
    m = np.einsum("abntwc,abcf->abntwf", v, u)
    yt = np.einsum("ra,abntwf,sb->ntrwsf", at, m, at)  # (N, th, 4, tw, 4, F)
    y = yt.reshape(n, 4 * th, 4 * tw, f)[:, :ho, :wo]
    if b is not None:
        y = y + np.asarray(b, dtype)
    return np.maximum(y, 0) if relu else np.ascontiguousarray(y)
