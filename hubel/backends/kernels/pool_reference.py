"""Pooling in plain NumPy: the reference the fast kernels (pool_numba.py) are tested against.

Every function works on 5-D channels-last arrays (N, D, H, W, C): 1-D and 2-D pooling are
3-D pooling with size-1 axes. Windows start at `o·s − p` (p = padding before) and are
clipped to the input: padded positions are never read (max pooling treats them as −∞;
average pooling leaves them out of the count unless `count_include_pad`).

Arguments shared by all functions:
    out: output size (od, oh, ow);  k: window (kd, kh, kw);  s: strides;  p: padding before.
The max-pool argmax is the flat index a·H·W + b·W + e of the winning input position inside
one (D, H, W) volume; ties go to the first maximum in window order (d, then h, then w), as
in PyTorch, and a NaN wins over any number.
"""

from __future__ import annotations

import itertools

import numpy as np


def _window_offsets(k):
    return itertools.product(range(k[0]), range(k[1]), range(k[2]))


def _shifted(x, offset, out, s, p, fill):
    """x at positions o·s − p + offset for every output o (fill where that is padding),
    and the flat spatial index of those positions (−1 in padding)."""
    n, size_d, size_h, size_w, c = x.shape
    idx = [np.arange(o_n) * st - pb + off for off, o_n, st, pb in zip(offset, out, s, p)]
    valid = ((idx[0] >= 0) & (idx[0] < size_d))[:, None, None] \
        & ((idx[1] >= 0) & (idx[1] < size_h))[None, :, None] \
        & ((idx[2] >= 0) & (idx[2] < size_w))[None, None, :]
    a = np.clip(idx[0], 0, size_d - 1)
    b = np.clip(idx[1], 0, size_h - 1)
    e = np.clip(idx[2], 0, size_w - 1)
    vals = x[:, a[:, None, None], b[None, :, None], e[None, None, :], :]
    vals = np.where(valid[None, :, :, :, None], vals, fill)
    flat = (a[:, None, None] * size_h + b[None, :, None]) * size_w + e[None, None, :]
    return vals, np.where(valid, flat, -1), valid


def max_pool_forward(x, out, k, s, p, keep_arg=True):
    """y = max over each window, and the flat index of the first maximum (int32; an empty
    array when not keep_arg)."""
    y = np.full(x.shape[:1] + tuple(out) + x.shape[-1:], -np.inf, dtype=x.dtype)
    arg = np.full(y.shape, -1, dtype=np.int32)
    for offset in _window_offsets(k):
        vals, flat, valid = _shifted(x, offset, out, s, p, -np.inf)
        flat = np.broadcast_to(flat[None, :, :, :, None], y.shape)
        first = (arg < 0) & np.broadcast_to(valid[None, :, :, :, None], y.shape)
        take = (vals > y) | np.isnan(vals) | first
        y = np.where(take, vals, y)
        arg = np.where(take, flat, arg).astype(np.int32)
    return y, (arg if keep_arg else np.empty((0,) * 5, np.int32))


def max_pool_backward(gy, arg, gx):
    """Fill gx (N, D, H, W, C): each output gradient added where its window's max was."""
    n, c = gy.shape[0], gy.shape[-1]
    flat = np.zeros((n, int(np.prod(gx.shape[1:4])), c), dtype=gy.dtype)
    rows = np.broadcast_to(np.arange(n)[:, None, None, None, None], gy.shape)
    chans = np.broadcast_to(np.arange(c), gy.shape)
    np.add.at(flat, (rows, arg, chans), gy)
    gx[...] = flat.reshape(gx.shape)
    return gx


def _counts(in_spatial, out, k, s, p, count_include_pad):
    """Number of positions averaged in each window, shape (od, oh, ow)."""
    if count_include_pad:
        return np.full(tuple(out), float(np.prod(k)))
    per_axis = []
    for size, o_n, kk, st, pb in zip(in_spatial, out, k, s, p):
        start = np.arange(o_n) * st - pb
        per_axis.append(np.minimum(start + kk, size) - np.maximum(start, 0))
    return per_axis[0][:, None, None] * per_axis[1][None, :, None] * per_axis[2][None, None, :]


def avg_pool_forward(x, out, k, s, p, count_include_pad=False):
    """y = Σ over each window / count (count of real positions, or kd·kh·kw)."""
    y = np.zeros(x.shape[:1] + tuple(out) + x.shape[-1:], dtype=x.dtype)
    for offset in _window_offsets(k):
        vals, _, _ = _shifted(x, offset, out, s, p, 0)
        y += vals
    counts = _counts(x.shape[1:4], out, k, s, p, count_include_pad)
    return (y / counts[None, :, :, :, None]).astype(x.dtype)


def avg_pool_backward(gy, gx, k, s, p, count_include_pad=False):
    """Fill gx (N, D, H, W, C): each output gradient / count spread over its window."""
    in_spatial = gx.shape[1:4]
    out = gy.shape[1:4]
    counts = _counts(in_spatial, out, k, s, p, count_include_pad)
    g = gy / counts[None, :, :, :, None]
    n, c = gy.shape[0], gy.shape[-1]
    total = np.zeros((n, int(np.prod(in_spatial)), c), dtype=gy.dtype)
    x_like = np.zeros((1, *in_spatial, 1), dtype=gy.dtype)
    for offset in _window_offsets(k):
        _, flat, valid = _shifted(x_like, offset, out, s, p, 0)
        np.add.at(total, (slice(None), flat[valid], slice(None)), g[:, valid, :])
    gx[...] = total.reshape(gx.shape)
    return gx
