"""Depthwise convolution (groups = input channels: every channel filtered on its own, as in
MobileNet), by shift-and-multiply: one pass over the output per kernel offset, no im2col;
2-D layers with depth multiplier 1 take the Numba kernels (hubel/backends/kernels/
depthwise_numba.py), for which this NumPy code is the reference.

    y[n, o..., c·m + q] = b[c·m + q] + Σ_k x[n, o·S + k·D − P, c] · W[k..., 0, c·m + q]

Shapes (2-D): x (N, H, W, C), W (kh, kw, 1, C·m) (m: the depth multiplier) -> y (N, Ho, Wo,
C·m). With one input channel per group, im2col + GEMM degenerates to C products of width 1;
here each kernel offset is one broadcast multiply-add over the whole output.

    gx[shifted by k] += Σ_q gy[..., c, q]·W[k, c, q]     gW[k, c, q] = Σ gy[..., c, q]·x_k[..., c]
"""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends.reduce import leading_sum
from hubel.ops.conv import _crop, _pad, offset_slices, output_sizes

try:  # the Numba kernels (2-D, depth multiplier 1); the NumPy code below is the reference
    from hubel.backends.kernels import depthwise_numba as _fast
except ImportError:  # pragma: no cover
    _fast = None


def _fast_ok(x, nd: int, m: int) -> bool:
    return (_fast is not None and isinstance(x, np.ndarray) and x.dtype.kind == "f"
            and nd == 2 and m == 1)


class DepthwiseConvND(Function):
    """Depthwise convolution with bias (see module doc); kernel (k..., 1, C·m)."""

    def forward(self, x, w, b, strides, dilation, pads):
        nd = x.ndim - 2
        kernel = w.shape[:nd]
        c, f = x.shape[-1], w.shape[-1]
        m = f // c
        padded = tuple(n + b_ + a for n, (b_, a) in zip(x.shape[1:-1], pads))
        out = output_sizes(padded, kernel, strides, dilation)
        wk = w.reshape(-1, c, m)  # (K, C, m)
        self.fast = _fast_ok(x, nd, m)
        self.geom = (kernel, strides, dilation, pads, out, m)
        self.wk = wk if self.needs_grad[0] else None
        self.x_shape = x.shape
        if self.fast:  # (bias and padding inside)
            self.x = x if self.needs_grad[1] else None  # (unpadded: the kernels pad)
            return _fast.forward(x, w.reshape(*kernel, c), b, strides, dilation, pads, out)
        x_pad = _pad(x, pads)
        self.x_pad = x_pad if self.needs_grad[1] else None
        y = np.zeros((x.shape[0], *out, c, m), np.result_type(x, w))
        tmp = np.empty_like(y)
        # with m = 1 drop the unit axis: NumPy's loops are slow over an innermost size 1
        y_, tmp_, wk_ = (y[..., 0], tmp[..., 0], wk[..., 0]) if m == 1 else (y, tmp, wk)
        for i, (_, idx) in enumerate(offset_slices(kernel, strides, dilation, out)):
            xs = x_pad[idx] if m == 1 else x_pad[idx][..., None]
            np.multiply(xs, wk_[i], out=tmp_)
            y_ += tmp_
        y = y.reshape((x.shape[0], *out, f))
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        kernel, strides, dilation, pads, out, m = self.geom
        c = self.x_shape[-1]
        g3 = gy.reshape(*gy.shape[:-1], c, m)
        gx = gw = gb = None
        if self.needs_grad[2]:
            gb = leading_sum(gy, gy.ndim - 1)
        if self.fast:
            if self.needs_grad[1]:
                gw = _fast.kernel_gradient(self.x, gy, kernel, strides, dilation, pads)
                gw = gw.reshape(*kernel, 1, c)
            if self.needs_grad[0]:
                gx = _fast.input_gradient(gy, self.wk.reshape(*kernel, c), strides, dilation,
                                          pads, self.x_shape)
            return gx, gw, gb, None, None, None
        shifts = list(offset_slices(kernel, strides, dilation, out))
        if self.needs_grad[1]:
            gw = np.empty((len(shifts), c, m), gy.dtype)
            # Σ over batch and positions of gy·x_k, read straight from the strided view of
            # the padded input (no copy, no product array: 3x faster than multiply + sum)
            axes = "nabc"[:gy.ndim - 1]
            for i, (_, idx) in enumerate(shifts):
                if m == 1:
                    gw[i, :, 0] = np.einsum(f"{axes}z,{axes}z->z", g3[..., 0], self.x_pad[idx])
                else:
                    gw[i] = np.einsum(f"{axes}zq,{axes}z->zq", g3, self.x_pad[idx])
            gw = gw.reshape(*kernel, 1, c * m)
        if self.needs_grad[0]:
            padded = tuple(n + b + a for n, (b, a) in zip(self.x_shape[1:-1], pads))
            gx_pad = np.zeros((self.x_shape[0], *padded, c), gy.dtype)
            for i, (_, idx) in enumerate(shifts):
                contrib = g3[..., 0] * self.wk[i, :, 0] if m == 1 else \
                    (g3 * self.wk[i]).sum(axis=-1)
                gx_pad[idx] += contrib
            gx = np.ascontiguousarray(_crop(gx_pad, pads))
        return gx, gw, gb, None, None, None
