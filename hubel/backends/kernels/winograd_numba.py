"""Winograd F(4x4, 3x3) tile transforms in Numba (multi-core): the fast path of
hubel/ops/winograd.py, whose NumPy `reference` these are tested against.

    input:  v[6a + b, t, c] = (Bᵀ d B)[a, b],   d = the 6x6 input tile t of channel c
    output: y[4i + r, 4j + s, f] = (Aᵀ m A)[r, s] + bias[f] (then max(·, 0) if relu),
            m[a, b] = M[6a + b, t, f],  t = (n·th + i)·tw + j

Arrays are channels-last, tiles numbered row by row over the batch. Each task is one row
of tiles of one image: its transforms run along whole rows of tw·C numbers (contiguous,
so the loops vectorize over tiles and channels at once). The constants are typed as the
data (a Python int would promote float32 to float64 and the loops would not vectorize:
2.8x slower). The input is padded inside the kernel, through a zeroed row buffer.

The loops over the C (or F) channels of one tile index with unsigned offsets: a signed
index such as `w + c` makes Numba check for a negative index on every element, and LLVM
then turns the loop into gathers and scatters (3x slower at C = 16, where the loop is one
vector long).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64


@njit(inline="always")
def _multiples(n):  # pragma: no cover - compiled
    """0, n, 2n, ..., 5n as unsigned offsets."""
    u = uint64(n)
    return uint64(0), u, uint64(2) * u, uint64(3) * u, uint64(4) * u, uint64(5) * u


@njit(parallel=True, cache=True, fastmath=True)
def input_tiles(x, pad_top, pad_left, th, tw, v):  # pragma: no cover - compiled
    """v (36, N·th·tw, C) from x (N, H, W, C) seen with pad_top zero rows and pad_left zero
    columns before it (and zeros after it, as far as the tiles reach)."""
    n_img, h_in, w_in, c_ = x.shape
    vr = v.reshape(36, -1)
    length = tw * c_
    width = (4 * tw + 2) * c_
    k = np.array([2, 4, 5], x.dtype)
    two, four, five = k[0], k[1], k[2]
    lo = min(pad_left * c_, width)
    hi = min(lo + w_in * c_, width)
    _, cu, c2, c3, c4, c5 = _multiples(c_)
    _, l1, l2, l3, l4, l5 = _multiples(length)
    for task in prange(n_img * th):
        n = task // th
        i = task % th
        row = np.zeros(width, x.dtype)  # one padded input row
        tmp = np.empty((6, 6, length), x.dtype)  # (a, b, j·C + c): rows transformed
        for a in range(6):
            r = 4 * i + a - pad_top
            inner = row[lo:hi]
            if 0 <= r < h_in:
                src = x[n, r].reshape(-1)
                for q in range(hi - lo):
                    inner[q] = src[q]
            else:
                for q in range(hi - lo):
                    inner[q] = 0
            t = tmp[a].reshape(-1)  # the tile row's 6 transformed columns, each tw·C
            for j in range(tw):  # (unsigned offsets: see the module doc)
                o = uint64(j) * cu
                w = uint64(4 * j) * cu
                for c in range(cu):
                    d0 = row[w + c]
                    d1 = row[w + cu + c]
                    d2 = row[w + c2 + c]
                    d3 = row[w + c3 + c]
                    d4 = row[w + c4 + c]
                    d5 = row[w + c5 + c]
                    t[o + c] = four * d0 - five * d2 + d4
                    t[l1 + o + c] = d3 + d4 - four * (d1 + d2)
                    t[l2 + o + c] = four * (d1 - d2) - d3 + d4
                    t[l3 + o + c] = two * (d3 - d1) - d2 + d4
                    t[l4 + o + c] = two * (d1 - d3) - d2 + d4
                    t[l5 + o + c] = four * d1 - five * d3 + d5
        base = task * length
        for b in range(6):  # columns: Bᵀ along a, written to v's six rows 6a + b
            d0 = tmp[0, b]
            d1 = tmp[1, b]
            d2 = tmp[2, b]
            d3 = tmp[3, b]
            d4 = tmp[4, b]
            d5 = tmp[5, b]
            v0 = vr[b, base:base + length]
            v1 = vr[6 + b, base:base + length]
            v2 = vr[12 + b, base:base + length]
            v3 = vr[18 + b, base:base + length]
            v4 = vr[24 + b, base:base + length]
            v5 = vr[30 + b, base:base + length]
            for q in range(length):
                v0[q] = four * d0[q] - five * d2[q] + d4[q]
                v1[q] = d3[q] + d4[q] - four * (d1[q] + d2[q])
                v2[q] = four * (d1[q] - d2[q]) - d3[q] + d4[q]
                v3[q] = two * (d3[q] - d1[q]) - d2[q] + d4[q]
                v4[q] = two * (d1[q] - d3[q]) - d2[q] + d4[q]
                v5[q] = four * d1[q] - five * d3[q] + d5[q]


@njit(parallel=True, cache=True, fastmath=True)
def output_tiles(m, th, tw, bias, relu, y):  # pragma: no cover - compiled
    """y (N, Ho, Wo, F) from m (36, N·th·tw, F): Aᵀ m A per tile, cropped to Ho x Wo,
    + bias (length F), max(·, 0) if relu."""
    n_img, h_out, w_out, f_ = y.shape
    mr = m.reshape(36, -1)
    length = tw * f_
    k = np.array([2, 4, 8, 0], m.dtype)
    two, four, eight, zero = k[0], k[1], k[2], k[3]
    _, fu, f2, f3, _, _ = _multiples(f_)
    _, l1, l2, l3, l4, l5 = _multiples(length)
    for task in prange(n_img * th):
        n = task // th
        i = task % th
        base = task * length
        tmp = np.empty((4, 6, length), m.dtype)  # (r, b, j·F + f): columns transformed
        for b in range(6):
            m0 = mr[b, base:base + length]
            m1 = mr[6 + b, base:base + length]
            m2 = mr[12 + b, base:base + length]
            m3 = mr[18 + b, base:base + length]
            m4 = mr[24 + b, base:base + length]
            m5 = mr[30 + b, base:base + length]
            t0 = tmp[0, b]
            t1 = tmp[1, b]
            t2 = tmp[2, b]
            t3 = tmp[3, b]
            for q in range(length):
                s12 = m1[q] + m2[q]
                d12 = m1[q] - m2[q]
                s34 = m3[q] + m4[q]
                d34 = m3[q] - m4[q]
                t0[q] = m0[q] + s12 + s34
                t1[q] = d12 + two * d34
                t2[q] = s12 + four * s34
                t3[q] = d12 + eight * d34 + m5[q]
        for r in range(4):
            h = 4 * i + r
            if h >= h_out:
                break
            out = y[n, h].reshape(-1)
            tr = tmp[r].reshape(-1)
            for j in range(tw):  # (unsigned offsets: see the module doc)
                o = uint64(j) * fu
                w = uint64(4 * j) * fu
                cols = min(4, w_out - 4 * j)
                for f in range(fu):
                    e0 = tr[o + f]
                    e1 = tr[l1 + o + f]
                    e2 = tr[l2 + o + f]
                    e3 = tr[l3 + o + f]
                    e4 = tr[l4 + o + f]
                    e5 = tr[l5 + o + f]
                    s12 = e1 + e2
                    d12 = e1 - e2
                    s34 = e3 + e4
                    d34 = e3 - e4
                    bf = bias[f]
                    y0 = e0 + s12 + s34 + bf
                    y1 = d12 + two * d34 + bf
                    y2 = s12 + four * s34 + bf
                    y3 = d12 + eight * d34 + e5 + bf
                    if relu:
                        y0 = max(y0, zero)
                        y1 = max(y1, zero)
                        y2 = max(y2, zero)
                        y3 = max(y3, zero)
                    if cols == 4:
                        out[w + f] = y0
                        out[w + fu + f] = y1
                        out[w + f2 + f] = y2
                        out[w + f3 + f] = y3
                    else:
                        out[w + f] = y0
                        if cols > 1:
                            out[w + fu + f] = y1
                        if cols > 2:
                            out[w + f2 + f] = y2


@njit(parallel=True, cache=True, fastmath=True)
def gradient_tiles(gy, th, tw, z):  # pragma: no cover - compiled
    """z (36, N·th·tw, F) = A g Aᵀ per 4x4 tile g of gy (N, Ho, Wo, F), zeros past Ho x Wo:
    the adjoint of output_tiles, for the kernel gradient (A = Aᵀ transposed, 6x4)."""
    n_img, h_out, w_out, f_ = gy.shape
    zr = z.reshape(36, -1)
    length = tw * f_
    width = 4 * tw * f_
    k = np.array([2, 4, 8], gy.dtype)
    two, four, eight = k[0], k[1], k[2]
    hi = w_out * f_
    _, fu, f2, f3, _, _ = _multiples(f_)
    _, l1, l2, l3, l4, l5 = _multiples(length)
    for task in prange(n_img * th):
        n = task // th
        i = task % th
        row = np.zeros(width, gy.dtype)  # one gy row, zeros past Wo
        tmp = np.zeros((4, 6, length), gy.dtype)  # (r, b, j·F + f): rows transformed
        for r in range(4):
            h = 4 * i + r
            if h >= h_out:
                break  # (tmp's remaining rows stay zero)
            src = gy[n, h].reshape(-1)
            for q in range(hi):
                row[q] = src[q]
            t = tmp[r].reshape(-1)
            for j in range(tw):  # (unsigned offsets: see the module doc)
                o = uint64(j) * fu
                w = uint64(4 * j) * fu
                for f in range(fu):
                    g0 = row[w + f]
                    g1 = row[w + fu + f]
                    g2 = row[w + f2 + f]
                    g3 = row[w + f3 + f]
                    s02 = g0 + g2
                    s13 = g1 + g3
                    u02 = g0 + four * g2
                    u13 = two * g1 + eight * g3
                    t[o + f] = g0
                    t[l1 + o + f] = s02 + s13
                    t[l2 + o + f] = s02 - s13
                    t[l3 + o + f] = u02 + u13
                    t[l4 + o + f] = u02 - u13
                    t[l5 + o + f] = g3
        base = task * length
        for b in range(6):  # columns: A along r, written to z's six rows 6a + b
            g0 = tmp[0, b]
            g1 = tmp[1, b]
            g2 = tmp[2, b]
            g3 = tmp[3, b]
            z0 = zr[b, base:base + length]
            z1 = zr[6 + b, base:base + length]
            z2 = zr[12 + b, base:base + length]
            z3 = zr[18 + b, base:base + length]
            z4 = zr[24 + b, base:base + length]
            z5 = zr[30 + b, base:base + length]
            for q in range(length):
                s02 = g0[q] + g2[q]
                s13 = g1[q] + g3[q]
                u02 = g0[q] + four * g2[q]
                u13 = two * g1[q] + eight * g3[q]
                z0[q] = g0[q]
                z1[q] = s02 + s13
                z2[q] = s02 - s13
                z3[q] = u02 + u13
                z4[q] = u02 - u13
                z5[q] = g3[q]


@njit(parallel=True, cache=True, fastmath=True)
def input_gradient_tiles(gv, th, tw, pad_top, pad_left, gx):  # pragma: no cover - compiled
    """gx (N, H, W, C) from gv (36, N·th·tw, C): B gv B^T per tile (the adjoint of
    input_tiles, B = Bᵀ transposed), the overlapping 6x6 tiles added up in the padded
    frame, then cropped by the padding. Parallel over images: within one image the tiles
    that overlap are added one after the other."""
    n_img, h_in, w_in, c_ = gx.shape
    gvr = gv.reshape(36, -1)
    length = tw * c_
    width = (4 * tw + 2) * c_
    k = np.array([2, 4, 5], gv.dtype)
    two, four, five = k[0], k[1], k[2]
    _, cu, c2, c3, c4, c5 = _multiples(c_)
    _, l1, l2, l3, l4, l5 = _multiples(length)
    lo = min(pad_left * c_, width)
    hi = min(lo + w_in * c_, width)
    for n in prange(n_img):
        acc = np.zeros((4 * th + 2, width), gv.dtype)  # the image's gradient, padded frame
        tmp = np.empty((6, 6, length), gv.dtype)  # (r, b, j·C + c): columns transformed
        for i in range(th):
            base = (n * th + i) * length
            for b in range(6):  # along a: r = Σ_a Bᵀ[a, r] g[a]
                g0 = gvr[b, base:base + length]
                g1 = gvr[6 + b, base:base + length]
                g2 = gvr[12 + b, base:base + length]
                g3 = gvr[18 + b, base:base + length]
                g4 = gvr[24 + b, base:base + length]
                g5 = gvr[30 + b, base:base + length]
                t0 = tmp[0, b]
                t1 = tmp[1, b]
                t2 = tmp[2, b]
                t3 = tmp[3, b]
                t4 = tmp[4, b]
                t5 = tmp[5, b]
                for q in range(length):
                    t0[q] = four * g0[q]
                    t1[q] = four * (g2[q] - g1[q] + g5[q]) + two * (g4[q] - g3[q])
                    t2[q] = -five * g0[q] - four * (g1[q] + g2[q]) - g3[q] - g4[q]
                    t3[q] = g1[q] - g2[q] + two * (g3[q] - g4[q]) - five * g5[q]
                    t4[q] = g0[q] + g1[q] + g2[q] + g3[q] + g4[q]
                    t5[q] = g5[q]
            for r in range(6):  # along b, added into rows 4i + r (unsigned offsets)
                row = acc[4 * i + r]
                t = tmp[r].reshape(-1)
                for j in range(tw):
                    o = uint64(j) * cu
                    w = uint64(4 * j) * cu
                    for c in range(cu):
                        e0 = t[o + c]
                        e1 = t[l1 + o + c]
                        e2 = t[l2 + o + c]
                        e3 = t[l3 + o + c]
                        e4 = t[l4 + o + c]
                        e5 = t[l5 + o + c]
                        row[w + c] += four * e0
                        row[w + cu + c] += four * (e2 - e1 + e5) + two * (e4 - e3)
                        row[w + c2 + c] += -five * e0 - four * (e1 + e2) - e3 - e4
                        row[w + c3 + c] += e1 - e2 + two * (e3 - e4) - five * e5
                        row[w + c4 + c] += e0 + e1 + e2 + e3 + e4
                        row[w + c5 + c] += e5
        for h in range(h_in):  # crop the padding away
            dst = gx[n, h].reshape(-1)
            src = acc[pad_top + h, lo:hi]
            for q in range(hi - lo):
                dst[q] = src[q]
