"""The Numba im2col/col2im kernels equal the NumPy reference (explicit padding, strided
views, a Python loop over kernel offsets) on random geometries, serial and parallel."""

import numpy as np
import pytest

from hubel.ops import conv

pytest.importorskip("numba")

GEOMETRIES = [  # spatial, kernel, strides, dilation, pads
    ((9,), (3,), (1,), (1,), ((1, 1),)),
    ((28, 28), (5, 5), (1, 1), (1, 1), ((2, 2), (2, 2))),
    ((14, 13), (3, 2), (2, 1), (1, 2), ((0, 1), (2, 0))),
    ((7, 7), (1, 1), (2, 2), (1, 1), ((0, 0), (0, 0))),
    ((6, 5, 7), (3, 2, 3), (1, 2, 2), (1, 1, 2), ((1, 1), (0, 1), (2, 1))),
]


def _out(spatial, kernel, strides, dilation, pads):
    return tuple((n + b + a - (k - 1) * d - 1) // s + 1
                 for n, k, s, d, (b, a) in zip(spatial, kernel, strides, dilation, pads))


@pytest.mark.parametrize("batch", [2, 40])  # 40: large enough for the parallel drivers
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_fast_im2col_and_col2im_equal_the_reference(geometry, dtype, batch):
    spatial, kernel, strides, dilation, pads = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *spatial, 3)).astype(dtype)
    out = _out(spatial, kernel, strides, dilation, pads)
    want = conv.im2col(conv._pad(x, pads), out, kernel, strides, dilation)
    got = conv.fast_im2col(x, out, kernel, strides, dilation, pads)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)

    cols = rng.standard_normal(want.shape).astype(dtype)
    padded = (batch, *(n + b + a for n, (b, a) in zip(spatial, pads)), 3)
    ref = conv._crop(conv.col2im(cols.reshape(batch, *out, *kernel, 3), padded, out, kernel,
                                 strides, dilation), pads)
    back = conv.fast_col2im(cols, x.shape, out, kernel, strides, dilation, pads)
    np.testing.assert_allclose(back, ref, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), c> == <x, col2im(c)> for any x and c
    rng = np.random.default_rng(1)
    geom = ((11, 10), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 0)))
    x = rng.standard_normal((3, 11, 10, 4))
    out = _out(*geom)
    cols = conv.fast_im2col(x, out, *geom[1:])
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose((cols * c).sum(),
                               (x * conv.fast_col2im(c, x.shape, out, *geom[1:])).sum(),
                               rtol=1e-10)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_transposed_im2col_of_single_channel_input_equals_the_reference(geometry):
    spatial, kernel, strides, dilation, pads = geometry
    x = np.random.default_rng(2).standard_normal((3, *spatial, 1)).astype(np.float32)
    out = _out(spatial, kernel, strides, dilation, pads)
    x_pad = conv._pad(x, pads)
    np.testing.assert_array_equal(conv.im2col_t(x_pad, out, kernel, strides, dilation).T,
                                  conv.im2col(x_pad, out, kernel, strides, dilation))
