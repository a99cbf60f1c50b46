"""Convolution (cross-correlation, as every CNN layer computes it) over 1, 2 or 3 spatial
axes, channels-last, by im2col + one matrix product (GEMM).

    y[n, o..., f] = b[f] + Σ_{k..., c} x[n, o·S + k·D − P_before, c] · W[k..., c, f]

Shapes (2-D): x (N, H, W, C), W (kh, kw, C/groups, F) -> y (N, Ho, Wo, F) with
Ho = ⌊(H + P_before + P_after − ((kh − 1)·D + 1)) / S⌋ + 1 (hubel.ops.padding_rule).

im2col gathers every receptive field into a row of `cols` (N·Ho·Wo, kh·kw·C); then
y = cols @ W, gW = colsᵀ @ gy, and gx = col2im(gy @ Wᵀ) scatter-adds each row back to its
field. Groups split C and F into `groups` independent convolutions (AlexNet's two towers;
groups = C is depthwise).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from hubel.autograd.function import Function
from hubel.backends import blas, get_array_module
from hubel.backends.channels import add_bias, add_bias_relu, relu_backward, relu_mask
from hubel.backends.reduce import leading_sum
from hubel.ops import padding_rule, winograd
from hubel.ops.activation import relu as _relu

try:  # the Numba kernels; the NumPy functions below are the reference and the fallback
    from hubel.backends.kernels import conv_numba as _fast
    from hubel.backends.kernels import direct_numba as _direct
except ImportError:  # pragma: no cover
    _fast = _direct = None


def windows(xp_pad, out: tuple, kernel: tuple, strides: tuple, dilation: tuple):
    """A strided view (N, *out, *kernel, C) of every receptive field of a padded input."""
    n, c = xp_pad.shape[0], xp_pad.shape[-1]
    st = xp_pad.strides
    spatial = st[1:-1]
    shape = (n, *out, *kernel, c)
    strides = (st[0], *(s * k for s, k in zip(spatial, strides)),
               *(s * d for s, d in zip(spatial, dilation)), st[-1])
    return np.lib.stride_tricks.as_strided(xp_pad, shape, strides, writeable=False)


def output_sizes(padded_spatial, kernel, strides, dilation) -> tuple:
    """⌊(N_padded − ((k − 1)·D + 1)) / S⌋ + 1 per spatial axis."""
    return tuple((n - padding_rule.effective_kernel(k, d)) // s + 1
                 for n, k, s, d in zip(padded_spatial, kernel, strides, dilation))


def offset_slices(kernel, strides, dilation, out):
    """For each kernel offset k: (k, index of the padded-input positions that offset reads
    for every output position), i.e. slices k·D : k·D + S·(out − 1) + 1 : S per axis."""
    for offs in itertools.product(*(range(k) for k in kernel)):
        yield offs, (slice(None),) + tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offs, dilation, strides, out))


def im2col(x_pad, out, kernel, strides, dilation):
    """cols (N·∏out, ∏kernel·C): one row per output position (a contiguous copy)."""
    w = windows(x_pad, out, kernel, strides, dilation)
    return w.reshape(-1, math.prod(kernel) * x_pad.shape[-1])


def im2col_t(x_pad, out, kernel, strides, dilation):
    """colsᵀ (∏kernel·C, N·∏out), built by one block copy per kernel offset.

    Used for single-channel inputs (MNIST's first layer): there a row of cols holds only
    kw contiguous numbers, and gathering rows costs 4x more than copying whole shifted
    images (measured on LeNet-5's C1); BLAS takes the transposed operand without a copy."""
    n, c = x_pad.shape[0], x_pad.shape[-1]
    cols_t = np.empty((*kernel, c, n, *out), x_pad.dtype)
    for offs, idx in offset_slices(kernel, strides, dilation, out):
        if c == 1:  # (moveaxis costs more than the copy for LeNet's small blocks)
            cols_t[offs][0] = x_pad[idx][..., 0]
        else:
            cols_t[offs] = np.moveaxis(x_pad[idx], -1, 0)
    return cols_t.reshape(math.prod(kernel) * c, n * math.prod(out))


def col2im(cols, padded_shape, out, kernel, strides, dilation):
    """Scatter-add rows of cols (N, *out, *kernel, C) back into a padded input array."""
    xp = get_array_module(cols)
    g = xp.zeros(padded_shape, dtype=cols.dtype)
    for offs, idx in offset_slices(kernel, strides, dilation, out):
        g[idx] += cols[(slice(None),) * (1 + len(out)) + offs]
    return g


def _fast_ok(x, nd: int) -> bool:
    return _fast is not None and isinstance(x, np.ndarray) and nd <= 3


def _to3(values, fill: int) -> tuple:
    """Per-axis values for 1 or 2 spatial axes -> 3 (leading axes of size 1)."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _shape5(shape) -> tuple:
    """(N, *spatial, C) -> (N, D, H, W, C) with missing spatial axes of size 1."""
    return (shape[0], *_to3(shape[1:-1], 1), shape[-1])


def fast_im2col(x, out, kernel, strides, dilation, pads):
    """im2col of an UNPADDED x by the Numba kernel (pads: (before, after) per axis)."""
    x5 = np.ascontiguousarray(x).reshape(_shape5(x.shape))
    return _fast.im2col(x5, _to3(out, 1), _to3(kernel, 1), _to3(strides, 1),
                        _to3(dilation, 1), _to3([b for b, _ in pads], 0))


def fast_col2im(cols, x_shape, out, kernel, strides, dilation, pads, into=None):
    """col2im into an UNPADDED array of x_shape by the Numba kernel (cols 2-D); `into`: a
    contiguous array of x_shape to write to (overwritten) instead of a new one."""
    g = _fast.col2im(cols.reshape(cols.shape[0], -1), _shape5(x_shape), _to3(out, 1),
                     _to3(kernel, 1), _to3(strides, 1), _to3(dilation, 1),
                     _to3([b for b, _ in pads], 0),
                     None if into is None else into.reshape(_shape5(x_shape)))
    return g.reshape(x_shape)


def _pad(x, pads):
    """x with zeros added before/after each spatial axis (a zeroed buffer, interior copied:
    cheaper than np.pad)."""
    if not any(b or a for b, a in pads):
        return x
    xp = get_array_module(x)
    shape = (x.shape[0], *(n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)), x.shape[-1])
    out = xp.empty(shape, x.dtype)
    for axis, (n, (b, _)) in enumerate(zip(x.shape[1:-1], pads), start=1):
        lead = (slice(None),) * axis  # zero only the borders, then copy the interior
        out[lead + (slice(0, b),)] = 0
        out[lead + (slice(b + n, None),)] = 0
    out[(slice(None), *(slice(b, b + n) for n, (b, _) in zip(x.shape[1:-1], pads)))] = x
    return out


def _crop(g, pads):
    if not any(b or a for b, a in pads):
        return g
    idx = (slice(None),) + tuple(slice(b, g.shape[i + 1] - a) for i, (b, a) in enumerate(pads))
    return g[idx]


def _group_cols(cols, k: int, groups: int, g: int):
    """The columns of group g: (M, K·C/groups), gathered from cols (M, K·C)."""
    cg = cols.shape[1] // k // groups
    return cols.reshape(cols.shape[0], k, groups, cg)[:, :, g, :].reshape(cols.shape[0], -1)


def _gemm_grouped(cols, w2, groups: int, into=None, epilogue=(None, False)):
    """cols (M, K·C) @ W (K, C/g, F) per group -> (M, F), written into `into` if given.
    K: kernel positions. epilogue (bias, relu), one group only: blas.matmul's epilogue.

    Groups (AlexNet's two towers) run one GEMM each on their own columns; output channel
    g·F/groups + q belongs to group g."""
    if groups == 1:
        return blas.matmul(cols, w2.reshape(-1, w2.shape[-1]), out=into, bias=epilogue[0],
                           relu=epilogue[1])
    k, cg, f = w2.shape
    fg = f // groups
    w4 = w2.reshape(k, cg, groups, fg)
    y = np.empty((cols.shape[0], f), np.result_type(cols, w2)) if into is None else into
    for g in range(groups):
        y[:, g * fg:(g + 1) * fg] = blas.matmul(_group_cols(cols, k, groups, g),
                                                w4[:, :, g, :].reshape(k * cg, fg))
    return y


_BLOCK_BYTES = 5 << 19  # cols of one block of images: 2.5 MiB, so they stay in cache
_KEEP_COLS_BYTES = 16 << 20  # a layer's cols up to 16 MiB are kept for the kernel gradient
_MASK_BYTES = 1 << 22  # a fused ReLU's output from 4 MiB on is kept as a 1-byte mask
_BLOCK_MAX_KERNEL = 1 << 18  # kernels above 256 KiB (wide layers): the whole batch at once


def column_blocks(x, pads, out, kernel, strides, dilation, filters: int):
    """(images, cols) for consecutive blocks of whole images of an unpadded input.

    Gathering the columns of a few images at a time and multiplying them at once keeps
    each block of cols in cache between the copy and the GEMM, instead of writing k² times
    the input to memory and reading it back (ResNet-20's 16-channel layers: 10.0 -> 7.7 ms
    forward), and the whole cols array never exists (less memory)."""
    for images in image_blocks(x.shape, out, kernel, strides, filters):
        yield images, _columns(x[images], pads, out, kernel, strides, dilation)


def image_blocks(x_shape, out, kernel, strides, filters: int):
    """Slices of whole images whose columns take about _BLOCK_BYTES (float32).

    One slice of the whole batch when the columns are the input itself (1x1 kernel,
    stride 1) or the kernel is large: a wide layer's GEMM is bound by arithmetic, not by
    memory, and per block BLAS would pack the kernel again and the kernel gradient would
    be summed again (VGG-11 training measured 0.95x instead of 1.07x with blocks)."""
    n = x_shape[0]
    k = math.prod(kernel) * x_shape[-1]
    if (all(i == 1 for i in kernel) and all(s == 1 for s in strides)) or \
            k * filters * 4 > _BLOCK_MAX_KERNEL:
        step = n
    else:
        step = max(1, _BLOCK_BYTES // (k * math.prod(out) * 4))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _columns(x, pads, out, kernel, strides, dilation):
    """cols of x for the forward GEMM (and again for the kernel gradient).

    The Numba kernel pads as it gathers (no padded copy) and is 1.3-2.3x faster than
    NumPy's strided copy of a padded input (measured on LeNet-5's C3 and ResNet-20's
    layers). A single-channel input gets the transposed layout (a transposed view is
    returned)."""
    if x.shape[-1] == 1 and isinstance(x, np.ndarray):
        return im2col_t(_pad(x, pads), out, kernel, strides, dilation).T
    if _fast_ok(x, len(out)):
        return fast_im2col(x, out, kernel, strides, dilation, pads)
    return im2col(_pad(x, pads), out, kernel, strides, dilation)


def single_channel_direct(x_shape, strides, dilation, groups: int) -> bool:
    """Whether ConvND takes the direct single-channel kernel (2-D, one input channel,
    stride 1, no dilation; hubel/backends/kernels/direct_numba.py) instead of im2col +
    GEMM: LeNet-5's C1 forward 3.7 -> 1.5 ms, its kernel gradient 3.5 -> 1.8 ms."""
    return (len(x_shape) == 4 and x_shape[-1] == 1 and groups == 1
            and all(s == 1 for s in strides) and all(d == 1 for d in dilation))


def gradient_as_convolution(in_spatial, out, kernel, strides, dilation, pads) -> bool:
    """Whether ConvND computes the input gradient as a convolution of gy (stride 1, no
    dilation, padding smaller than the kernel, output about the input's size) rather than
    by col2im; see ConvND._input_gradient."""
    return (all(s == 1 for s in strides) and all(d == 1 for d in dilation)
            and all(b < k and a < k for k, (b, a) in zip(kernel, pads))
            and math.prod(in_spatial) <= 1.25 * math.prod(out))


class ConvND(Function):
    """N-d convolution with bias; forward and backward by im2col + GEMM (see module doc).

    With the Numba kernels (NumPy arrays, up to 3 spatial axes) both passes run over
    blocks of whole images (column_blocks): per block, gather its columns, multiply, and in
    the backward pass add its share of gW and compute its gx (_input_gradient). A layer's
    columns are kept for gW only while they take at most _KEEP_COLS_BYTES (LeNet-5's C3:
    7.7 MB); larger ones are gathered again from the input (ResNet-20 training: 830 -> 500
    MB peak when whole-batch cols were kept, 414 MB with blocks). A single-channel 2-D
    input with stride 1 takes the direct kernel instead (single_channel_direct).
    relu=True fuses the layer's ReLU into the bias pass, y = max(conv + b, 0), and
    backward masks gy by [y > 0] before the products."""

    def forward(self, x, w, b, strides, dilation, pads, groups, relu=False):
        nd = x.ndim - 2
        kernel = w.shape[:nd]
        padded_shape = (x.shape[0], *(n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)),
                        x.shape[-1])
        out = output_sizes(padded_shape[1:-1], kernel, strides, dilation)
        self.fast, self.x_shape = _fast_ok(x, nd), x.shape
        w2 = w.reshape(math.prod(kernel), w.shape[-2], w.shape[-1])
        self.direct = self.fast and single_channel_direct(x.shape, strides, dilation, groups)
        self.winograd = self.fast and not self.direct and winograd.applies(
            x.shape, out, kernel, strides, dilation, groups, w.shape[-1])
        kept = None  # (images, cols) blocks kept for the kernel gradient
        if self.direct:  # (bias, ReLU and the zero padding inside)
            y = _direct.forward(x[..., 0], w[..., 0, :], b, relu, pads)
        elif self.winograd:  # (bias and ReLU inside)
            if any(self.needs_grad[:2]):  # its backward pass needs U, and V for gW
                y, saved = winograd.conv3x3(x, w, b, pads, relu, keep=True)
                self.saved = (saved[0] if self.needs_grad[1] else None, *saved[1:])  # (V)
            else:
                y = winograd.conv3x3(x, w, b, pads, relu)
            y = y.reshape(-1, w.shape[-1])
        elif self.fast:
            per_image = math.prod(out)
            y = np.empty((x.shape[0] * per_image, w.shape[-1]), np.result_type(x, w))
            cols_bytes = x.shape[0] * per_image * w2.shape[0] * w2.shape[1] * x.itemsize
            if self.needs_grad[1] and groups == 1 and cols_bytes <= _KEEP_COLS_BYTES:
                kept = []
            # one image block's product with its bias and ReLU, while it is in cache
            epilogue = (b, relu) if groups == 1 else (None, False)
            for images, cols in column_blocks(x, pads, out, kernel, strides, dilation,
                                               w.shape[-1]):
                _gemm_grouped(cols, w2, groups,
                              into=y[images.start * per_image:images.stop * per_image],
                              epilogue=epilogue)
                if kept is not None:
                    kept.append((images, cols))
        else:
            y = _gemm_grouped(_columns(x, pads, out, kernel, strides, dilation), w2, groups)
        # (the direct and Winograd kernels, and the blocks' products, added bias and ReLU)
        inside = self.direct or self.winograd or (self.fast and groups == 1)
        if relu and not inside:
            add_bias_relu(y, b)
        elif b is not None and not inside:
            add_bias(y, b)
        self.y = None  # (what the fused ReLU's backward pass reads: y, or its mask)
        if relu and any(self.needs_grad):
            y2 = y.reshape(-1, y.shape[-1])
            self.y = relu_mask(y2) if y2.nbytes >= _MASK_BYTES else y2
        self.geom = (padded_shape, out, kernel, strides, dilation, pads, groups)
        self.blocks = self.fast and groups == 1  # backward block by block (else whole)
        # a small layer's columns are kept for gW rather than gathered again (LeNet-5's C3:
        # 7.7 MB, 1.1 ms a step); then the input is not needed
        self.cols = kept
        self.x = x if self.needs_grad[1] and not self.winograd and self.cols is None else None
        self.w2 = w2 if self.needs_grad[0] else None
        return y.reshape((x.shape[0], *out, w.shape[-1]))

    def backward(self, gy):
        padded_shape, out, kernel, strides, dilation, pads, groups = self.geom
        g2 = gy.reshape(-1, gy.shape[-1])
        if self.y is not None:  # through the fused ReLU first
            g2, gb = relu_backward(g2, self.y, self.needs_grad[2])
        else:
            gb = leading_sum(g2) if self.needs_grad[2] else None
        if self.winograd:
            gx, gw = winograd.conv3x3_backward(g2.reshape(self.x_shape[0], *out, g2.shape[-1]),
                                               self.saved, *self.needs_grad[:2])
        elif self.blocks:
            gx, gw = self._backward_blocks(g2)
        else:
            gx, gw = self._backward_whole(g2)
        return gx, gw, gb, None, None, None, None

    def _backward_blocks(self, g2):
        """gW = Σ_blocks colsᵀ @ gy, block by block of images; gx by _input_gradient."""
        _, out, kernel, strides, dilation, pads, _ = self.geom
        per_image, f = math.prod(out), g2.shape[-1]
        gw = None
        if self.needs_grad[1] and self.direct:  # (self.x: the input, padded inside)
            gw = _direct.kernel_gradient(self.x[..., 0],
                                         g2.reshape(self.x_shape[0], *out, f), kernel, pads)
            gw = gw.reshape(*kernel, 1, f)
        elif self.needs_grad[1]:
            blocks = self.cols if self.cols is not None else \
                column_blocks(self.x, pads, out, kernel, strides, dilation, f)
            for images, cols in blocks:
                rows = g2[images.start * per_image:images.stop * per_image]
                gw = blas.matmul(cols.T, rows) if gw is None else \
                    blas.matmul(cols.T, rows, out=gw, accumulate=True)
            gw = gw.reshape(*kernel, -1, f)
        gx = self._input_gradient(g2) if self.needs_grad[0] else None
        return gx, gw

    def _input_gradient(self, g2):
        """gx, block by block of images.

        Stride 1, no dilation, padding smaller than the kernel and an output about the
        input's size ('same' padding: ResNet's and VGG's layers): gx is itself a
        convolution, of gy padded by k − 1 − pad with the kernel turned 180° and its
        channel axes swapped,
            gx[i] = Σ_k gy_pad[i + k] · W[K − 1 − k]ᵀ,
        so it takes the forward pass's im2col + GEMM and needs no scatter (ResNet-20's
        16-channel layer: 12.5 -> 7.5 ms). Otherwise col2im(gy @ Wᵀ): the GEMM writes each
        block's columns and the Numba kernel adds them into their receptive fields (a
        'valid' 5x5 layer such as LeNet-5's C3 would multiply twice as many padded
        positions as it has outputs: slower)."""
        _, out, kernel, strides, dilation, pads, _ = self.geom
        per_image, f = math.prod(out), g2.shape[-1]
        n, c = self.x_shape[0], self.x_shape[-1]
        nd = len(kernel)
        spatial = self.x_shape[1:-1]
        if gradient_as_convolution(spatial, out, kernel, strides, dilation, pads):
            w_turned = np.swapaxes(self.w2.reshape(*kernel, c, f)[(slice(None, None, -1),) * nd],
                                   -1, -2).reshape(-1, c)  # (∏K·F, C)
            full = tuple((k - 1 - b, k - 1 - a) for k, (b, a) in zip(kernel, pads))
            gx = np.empty((n * math.prod(spatial), c), g2.dtype)
            rows = math.prod(spatial)
            for images, cols in column_blocks(g2.reshape(n, *out, f), full, spatial, kernel,
                                               strides, dilation, c):
                blas.matmul(cols, w_turned, out=gx[images.start * rows:images.stop * rows])
            return gx.reshape(self.x_shape)
        gx = np.empty(self.x_shape, g2.dtype)
        w_t = self.w2.reshape(-1, f).T
        for images in image_blocks(self.x_shape, out, kernel, strides, f):
            fast_col2im(blas.matmul(g2[images.start * per_image:images.stop * per_image], w_t),
                        (images.stop - images.start, *self.x_shape[1:]), out, kernel,
                        strides, dilation, pads, into=gx[images])
        return gx

    def _backward_whole(self, g2):
        """The same for the whole batch at once (groups, other array modules)."""
        padded_shape, out, kernel, strides, dilation, pads, groups = self.geom
        f = g2.shape[-1]
        gx = gw = None
        if self.needs_grad[1]:
            cols = _columns(self.x, pads, out, kernel, strides, dilation)
            kc = cols.shape[1]
            if groups == 1:  # (for single-channel input cols.T is the contiguous one)
                gw = blas.matmul(cols.T, g2).reshape(*kernel, kc // math.prod(kernel), f)
            else:
                k = math.prod(kernel)
                cg, fg = kc // k // groups, f // groups
                gw = np.empty((k, cg, groups, fg), np.result_type(cols, g2))
                for g in range(groups):
                    gw[:, :, g, :] = blas.matmul(_group_cols(cols, k, groups, g).T,
                                                 g2[:, g * fg:(g + 1) * fg]).reshape(k, cg, fg)
                gw = gw.reshape(*kernel, cg, f)
        if self.needs_grad[0]:
            w2 = self.w2
            k, cg, _ = w2.shape
            if groups == 1:
                gcols = blas.matmul(g2, w2.reshape(-1, f).T)
            else:
                fg = f // groups
                w4 = w2.reshape(k, cg, groups, fg)
                gcols = np.empty((g2.shape[0], k, groups, cg), np.result_type(g2, w2))
                for g in range(groups):
                    w_g = w4[:, :, g, :].reshape(k * cg, fg)
                    gcols[:, :, g, :] = blas.matmul(g2[:, g * fg:(g + 1) * fg],
                                                    w_g.T).reshape(-1, k, cg)
            if self.fast:
                gx = fast_col2im(gcols, self.x_shape, out, kernel, strides, dilation, pads)
            else:
                gcols = gcols.reshape(padded_shape[0], *out, *kernel, cg * groups)
                gx = _crop(col2im(gcols, padded_shape, out, kernel, strides, dilation),
                           pads)
        return gx, gw


class ConvTransposeND(Function):
    """Transposed convolution: the input-gradient of a convolution, used as a layer
    (upsampling). Kernel (k..., F, C) as in Keras: C input channels, F output channels.

    y = col2im(x @ W2ᵀ) cropped by the padding;  gx = im2col(gy_pad) @ W2,
    gW = im2col(gy_pad)ᵀ @ x.
    """

    def forward(self, x, w, b, strides, dilation, pads, out_spatial):
        nd = x.ndim - 2
        kernel = w.shape[:nd]
        f, c = w.shape[-2], w.shape[-1]
        padded = (x.shape[0], *(o + pb + pa for o, (pb, pa) in zip(out_spatial, pads)), f)
        w2 = w.reshape(-1, c)  # (K·F, C)
        cols = blas.matmul(x.reshape(-1, c), w2.T)
        self.fast = _fast_ok(x, nd)
        if self.fast:
            y = fast_col2im(cols, (x.shape[0], *out_spatial, f), x.shape[1:-1], kernel,
                            strides, dilation, pads)
        else:
            cols = cols.reshape((x.shape[0], *x.shape[1:-1], *kernel, f))
            y = _crop(col2im(cols, padded, x.shape[1:-1], kernel, strides, dilation), pads)
        if b is not None:
            y = y + b
        self.geom = (padded, x.shape[1:-1], kernel, strides, dilation, pads)
        self.x, self.w2 = x, w2
        return np.ascontiguousarray(y)

    def backward(self, gy):
        padded, in_sp, kernel, strides, dilation, pads = self.geom
        if self.fast:
            cols = fast_im2col(gy, in_sp, kernel, strides, dilation, pads)  # (N·∏in, K·F)
        else:
            cols = im2col(_pad(gy, pads), in_sp, kernel, strides, dilation)
        c = self.x.shape[-1]
        gx = blas.matmul(cols, self.w2).reshape(self.x.shape) if self.needs_grad[0] else None
        gw = None
        if self.needs_grad[1]:
            gw = blas.matmul(cols.T, self.x.reshape(-1, c)).reshape(*kernel, -1, c)
        gb = leading_sum(gy, gy.ndim - 1) if self.needs_grad[2] else None
        return gx, gw, gb, None, None, None, None


def _tuple(v, nd: int, what: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(i) for i in v)
    if len(v) != nd:
        raise ValueError(f"{what} needs {nd} values, got {v}")
    return v


def conv_geometry(x_shape, kernel, strides, padding, dilation, label: str, warn: bool = True):
    """Resolve per-axis padding and output sizes; warn / raise naming `label` (a layer)."""
    nd = len(kernel)
    spatial = x_shape[1:-1]
    if isinstance(padding, str):
        pads = tuple(padding_rule.resolve_padding(padding, n, k, s, d)
                     for n, k, s, d in zip(spatial, kernel, strides, dilation))
    elif isinstance(padding, (int, np.integer)):
        pads = ((int(padding), int(padding)),) * nd
    else:
        padding = list(padding)
        if len(padding) != nd:
            raise ValueError(f"{label}: padding needs one int or (before, after) per spatial "
                             f"axis ({nd}), got {padding}")
        pads = tuple((int(p), int(p)) if isinstance(p, (int, np.integer)) else
                     (int(p[0]), int(p[1])) for p in padding)
    out = []
    for axis, (n, k, s, d, (pb, pa)) in enumerate(zip(spatial, kernel, strides, dilation,
                                                      pads)):
        span = padding_rule.effective_kernel(k, d)
        if n + pb + pa < span:
            raise ValueError(
                f"{label}: kernel {k} (dilation {d}: span {span}) is larger than the padded "
                f"input {n} + {pb} + {pa} = {n + pb + pa} on spatial axis {axis}")
        if warn:
            padding_rule.warn_if_not_whole(label, axis, n, k, s, d, (pb, pa), nd)
        out.append((n + pb + pa - span) // s + 1)
    return pads, tuple(out)


def conv(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups: int = 1,
         label: str | None = None, warn: bool = True, relu: bool = False):
    """Convolution over the spatial axes of channels-last x with kernel (k..., C/g, F);
    relu=True: max(conv + b, 0), the ReLU fused into the bias pass.

        >>> import hubel, numpy as np
        >>> x = hubel.Tensor(np.ones((1, 5, 5, 1), np.float32))
        >>> hubel.F.conv2d(x, np.ones((3, 3, 1, 1), np.float32)).shape
        (1, 3, 3, 1)
    """
    nd = len(x.shape) - 2
    label = label or f"conv{nd}d"
    w_shape = getattr(w, "shape", None)
    if len(w_shape) != nd + 2:
        raise ValueError(f"{label}: kernel must have {nd + 2} dimensions (k..., C/groups, F), "
                         f"got shape {w_shape}")
    c = x.shape[-1]
    if c % groups or w_shape[-1] % groups:
        raise ValueError(f"{label}: groups={groups} must divide the input channels ({c}) and "
                         f"the filters ({w_shape[-1]})")
    if c // groups != w_shape[-2]:
        raise ValueError(f"{label}: input has {c} channels, {c} / groups {groups} = "
                         f"{c // groups} per group, but the kernel expects {w_shape[-2]}")
    strides = _tuple(strides, nd, f"{label}: strides")
    dilation = _tuple(dilation_rate, nd, f"{label}: dilation_rate")
    pads, _ = conv_geometry(x.shape, w_shape[:nd], strides, padding, dilation, label, warn)
    if groups == c > 1:  # depthwise: per-channel taps beat C GEMMs of width 1
        from hubel.ops.depthwise import DepthwiseConvND

        y = DepthwiseConvND.apply(x, w, b, strides, dilation, pads)
        return _relu(y) if relu else y
    return ConvND.apply(x, w, b, strides, dilation, pads, int(groups), relu=relu)


def conv1d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """1-D convolution: x (N, W, C), kernel (kw, C/g, F) -> (N, Wo, F)."""
    return conv(x, w, b, strides, padding, dilation_rate, groups, "conv1d")


def conv2d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """2-D convolution: x (N, H, W, C), kernel (kh, kw, C/g, F) -> (N, Ho, Wo, F)."""
    return conv(x, w, b, strides, padding, dilation_rate, groups, "conv2d")


def conv3d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """3-D convolution: x (N, D, H, W, C), kernel (kd, kh, kw, C/g, F)."""
    return conv(x, w, b, strides, padding, dilation_rate, groups, "conv3d")


def conv_transpose(x, w, b=None, strides=1, padding="valid", dilation_rate=1,
                   output_padding=None, label: str | None = None):
    """Transposed convolution: x (N, *in, C), kernel (k..., F, C) -> (N, *out, F) with
    out = (in − 1)·S + F_eff − P_total (+ output_padding), the inverse of conv's size rule.
    'same' gives out = in·S."""
    nd = len(x.shape) - 2
    label = label or f"conv{nd}d_transpose"
    kernel = tuple(w.shape[:nd])
    if w.shape[-1] != x.shape[-1]:
        raise ValueError(f"{label}: input has {x.shape[-1]} channels, the kernel expects "
                         f"{w.shape[-1]}")
    strides = _tuple(strides, nd, f"{label}: strides")
    dilation = _tuple(dilation_rate, nd, f"{label}: dilation_rate")
    extra = _tuple(output_padding or 0, nd, f"{label}: output_padding")
    pads, out = [], []
    for n, k, s, d, e in zip(x.shape[1:-1], kernel, strides, dilation, extra):
        span = padding_rule.effective_kernel(k, d)
        full = (n - 1) * s + span
        if padding == "same":
            size = n * s
            total = full - size
            pb = max(total // 2, 0)
            pads.append((pb, full + e - size - pb if total >= 0 else 0))
            out.append(size + (e if total >= 0 else 0))
        elif padding == "valid":
            pads.append((0, 0))
            out.append(full + e)
        else:
            p = int(padding)
            pads.append((p, p))
            out.append(full - 2 * p + e)
    pads = [(pb, pa) for pb, pa in pads]
    return ConvTransposeND.apply(x, w, b, strides, dilation, tuple(pads), tuple(out))


def correlate2d(image, kernel, padding="valid"):
    """Cross-correlation of a 2-D image (H, W) — or each channel of (H, W, C) — with a
    2-D kernel (kh, kw): what CNN layers compute.  y[i, j] = Σ x[i + a, j + b]·k[a, b]."""
    from hubel.ops.shape import reshape, transpose

    x = image
    if len(x.shape) == 2:
        x4 = reshape(x, (1, *x.shape, 1))
    else:  # channels become the batch: the same kernel on each
        x4 = reshape(transpose(x, (2, 0, 1)), (x.shape[2], x.shape[0], x.shape[1], 1))
    k4 = reshape(kernel, (*kernel.shape, 1, 1))
    y = conv(x4, k4, None, 1, padding, 1, 1, "correlate2d")
    if len(x.shape) == 2:
        return reshape(y, y.shape[1:3])
    return transpose(reshape(y, y.shape[:3]), (1, 2, 0))


def convolve2d(image, kernel, padding="valid"):
    """True convolution: correlation with the kernel flipped in both axes,
    y[i, j] = Σ x[i − a, j − b]·k[a, b] (the lecture's image-kernel table)."""
    from hubel.ops.shape import getitem

    return correlate2d(image, getitem(kernel, (slice(None, None, -1), slice(None, None, -1))),
                       padding)
