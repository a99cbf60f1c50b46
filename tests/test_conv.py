"""Convolution against PyTorch (after NHWC <-> NCHW conversion) over a grid of kernel
sizes, strides, paddings, dilations and groups, 1D/2D/3D and transposed; float64
gradient checks; the output-size rule's warnings and errors."""

import itertools
import warnings

import numpy as np
import pytest
from op_harness import check_op

import hubel
from hubel.layers import Conv1D, Conv2D, Conv2DTranspose, Conv3D
from hubel.ops import padding_rule

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def torch_conv(nd: int, pads, strides, dilation, groups):
    """torch's conv on channels-last tensors, with our per-side padding applied first."""
    conv = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[nd]
    to_first = (0, nd + 1, *range(1, nd + 1))
    to_last = (0, *range(2, nd + 2), 1)
    w_first = (nd + 1, nd, *range(nd))

    def f(x, w, b):
        xt = x.permute(to_first)
        flat = [p for pair in reversed(pads) for p in pair]
        xt = TF.pad(xt, flat)
        return conv(xt, w.permute(w_first), b, strides, 0, dilation, groups).permute(to_last)

    return f


def resolve(shape, kernel, strides, padding, dilation):
    spatial = shape[1:-1]
    if isinstance(padding, str):
        return [padding_rule.resolve_padding(padding, n, k, s, d)
                for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    return [(p, p) if isinstance(p, int) else tuple(p) for p in padding]


GRID = [  # (size, channels, filters, kernel, stride, padding, dilation, groups)
    (9, 3, 4, 1, 1, "valid", 1, 1), (9, 3, 4, 3, 1, "same", 1, 1),
    (10, 4, 6, 3, 2, "same", 1, 2), (11, 4, 4, 5, 3, "same", 1, 4),
    (12, 2, 4, 5, 1, "valid", 2, 1), (13, 3, 6, 7, 2, "valid", 1, 3),
    (23, 3, 4, 11, 4, "valid", 1, 1), (8, 4, 8, 3, 1, [(0, 1), (2, 1)], 3, 2),
    (10, 2, 3, 3, 4, "same", 2, 1), (7, 6, 6, 3, 2, [1, 2], 1, 6),
    # single-channel input (MNIST's first layer) takes the transposed im2col
    (12, 1, 6, 5, 1, "same", 1, 1), (11, 1, 4, 3, 2, [(0, 1), (2, 1)], 2, 1),
    # depthwise with a depth multiplier of 2 (shift-and-multiply path), and 3 groups of 2
    (9, 3, 6, 3, 1, "same", 2, 3), (10, 6, 9, 3, 2, "valid", 1, 3),
]


@pytest.mark.parametrize("case", GRID, ids=str)
def test_conv2d_matches_torch(case):
    size, c, f, k, s, padding, d, g = case
    shape = (2, size, size + 1, c)
    pads = resolve(shape, (k, k), (s, s), padding, (d, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda x, w, b: hubel.F.conv2d(x, w, b, s, padding, d, g),
                 torch_conv(2, pads, (s, s), (d, d), g), shape, (k, k, c // g, f), (f,),
                 rtol=1e-4, atol=1e-4, grad_rtol=1e-3, grad_atol=1e-3)


@pytest.mark.parametrize("keep_cols", [True, False])
@pytest.mark.parametrize("per_block", [1, 2])
@pytest.mark.parametrize("case", [GRID[1], GRID[2], GRID[4], GRID[7], GRID[10], GRID[11],
                                  (9, 3, 4, 1, 2, "valid", 1, 1),
                                  # stride 1: the input gradient as a convolution, with
                                  # asymmetric padding; padding >= kernel: by col2im
                                  (9, 3, 4, 3, 1, [(0, 2), (2, 1)], 1, 1),
                                  (8, 2, 3, 3, 1, [(3, 0), (0, 4)], 1, 1)], ids=str)
def test_conv_in_blocks_of_images_matches_torch(case, per_block, keep_cols, monkeypatch):
    # Force blocks of 1 or 2 images (a batch of 5 leaves a partial last block), so the
    # blockwise forward, kernel-gradient sum and col2im of every block are compared; the
    # kernel gradient from the forward pass's kept columns and from columns gathered again.
    from hubel.ops import conv as conv_op

    if not keep_cols:
        monkeypatch.setattr(conv_op, "_KEEP_COLS_BYTES", 0)
    size, c, f, k, s, padding, d, g = case
    shape = (5, size, size + 1, c)
    pads = resolve(shape, (k, k), (s, s), padding, (d, d))
    out = [(n + a + b - (k - 1) * d - 1) // s + 1 for n, (a, b) in zip(shape[1:3], pads)]
    monkeypatch.setattr(conv_op, "_BLOCK_BYTES", per_block * k * k * c * out[0] * out[1] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda x, w, b: hubel.F.conv2d(x, w, b, s, padding, d, g),
                 torch_conv(2, pads, (s, s), (d, d), g), shape, (k, k, c // g, f), (f,),
                 rtol=1e-4, atol=1e-4, grad_rtol=1e-3, grad_atol=1e-3)


@pytest.mark.parametrize("case", [GRID[1], GRID[2], GRID[4], GRID[10], GRID[12],
                                  (64, 2, 8, 3, 1, "same", 1, 1)], ids=str)
@pytest.mark.parametrize("mask_bytes", [0, 1 << 40], ids=["mask", "output"])
def test_conv_with_fused_relu_is_torch_relu_of_conv(case, mask_bytes, monkeypatch):
    # blocks, groups, a single-channel (direct kernel) and a depthwise layer; the last
    # case's 66,560 outputs take the Numba epilogue; the backward pass reads a one-byte
    # mask of the output (large outputs) or the output itself
    from hubel.ops import conv as conv_op
    from hubel.ops.conv import conv

    monkeypatch.setattr(conv_op, "_MASK_BYTES", mask_bytes)

    size, c, f, k, s, padding, d, g = case
    shape = (2, size, size + 1, c)
    pads = resolve(shape, (k, k), (s, s), padding, (d, d))
    ref = torch_conv(2, pads, (s, s), (d, d), g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda x, w, b: conv(x, w, b, s, padding, d, g, relu=True),
                 lambda x, w, b: torch.relu(ref(x, w, b)), shape, (k, k, c // g, f), (f,),
                 rtol=1e-4, atol=1e-4, grad_rtol=1e-3, grad_atol=1e-3, gradcheck=size < 64)


def test_image_blocks_split_narrow_layers_only():
    from hubel.ops.conv import image_blocks

    def count(x_shape, out, kernel, strides, filters):
        return len(list(image_blocks(x_shape, out, kernel, strides, filters)))

    # ResNet-20's first stage (3x3, 16 -> 16, 32x32, batch 64): 590 KB of cols per image
    assert count((64, 34, 34, 16), (32, 32), (3, 3), (1, 1), 16) == 16
    # a wide VGG layer (3x3, 256 -> 256): its 2.4 MB kernel makes one block
    assert count((64, 10, 10, 256), (8, 8), (3, 3), (1, 1), 256) == 1
    # a 1x1 stride-1 layer's columns are its input: one block
    assert count((64, 8, 8, 64), (8, 8), (1, 1), (1, 1), 16) == 1


@pytest.mark.parametrize("case", [(12, 2, 3, 3, 2, "same", 1, 1), (9, 4, 4, 5, 1, 2, 2, 2),
                                  (10, 1, 3, 3, 2, "valid", 1, 1),
                                  (9, 4, 8, 3, 1, "same", 1, 4),
                                  (8, 3, 3, 3, 2, "valid", 1, 3)], ids=str)
def test_conv1d_and_conv3d_match_torch(case):
    size, c, f, k, s, padding, d, g = case
    for nd, fn in [(1, hubel.F.conv1d), (3, hubel.F.conv3d)]:
        shape = (2, *([size] * nd), c) if nd == 1 else (1, 6, 7, 5, c)
        kernel = (k,) * nd if nd == 1 else (3,) * 3
        pad = padding if nd == 1 else "same"
        pads = resolve(shape, kernel, (s,) * nd, pad if isinstance(pad, str) else [pad] * nd,
                       (d,) * nd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_op(lambda x, w, b, fn=fn, pad=pad: fn(x, w, b, s, pad, d, g),
                     torch_conv(nd, pads, (s,) * nd, (d,) * nd, g), shape,
                     (*kernel, c // g, f), (f,), rtol=1e-4, atol=1e-4, grad_rtol=1e-3,
                     grad_atol=1e-3)


@pytest.mark.parametrize("stride, padding, k", [(2, "valid", 3), (1, 1, 3), (3, 0, 5),
                                                (2, 2, 4)])
def test_conv_transpose_matches_torch(stride, padding, k):
    def tconv(x, w, b):
        p = 0 if padding == "valid" else padding
        out = TF.conv_transpose2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, stride, p)
        return out.permute(0, 2, 3, 1)

    check_op(lambda x, w, b: hubel.F.conv_transpose(x, w, b, stride, padding), tconv,
             (2, 5, 6, 3), (k, k, 4, 3), (4,), rtol=1e-4, atol=1e-4, grad_rtol=1e-3,
             grad_atol=1e-3)


def test_conv_transpose_same_upsamples_by_stride():
    y = Conv2DTranspose(3, 3, strides=2, padding="same")(np.zeros((1, 5, 7, 2), np.float32))
    assert y.shape == (1, 10, 14, 3)


def test_no_input_gradient_for_a_first_layer():
    x = hubel.Tensor(np.ones((1, 5, 5, 1), np.float32))  # data: requires no gradient
    w = hubel.Tensor(np.ones((3, 3, 1, 2), np.float32), requires_grad=True)
    node = hubel.F.conv2d(x, w)._ctx
    assert node.w2 is None  # the kernel kept for the input gradient is not kept
    assert node.x is x.data  # the input is, for the kernel gradient
    gx, gw, _, *_ = node.backward(np.ones((1, 3, 3, 2), np.float32))
    assert gx is None and gw.shape == (3, 3, 1, 2)


def test_true_convolution_flips_the_kernel():
    rng = np.random.default_rng(0)
    img, k = rng.standard_normal((6, 7)), rng.standard_normal((3, 3))
    corr = hubel.F.correlate2d(hubel.Tensor(img), hubel.Tensor(k)).data
    conv = hubel.F.convolve2d(hubel.Tensor(img), hubel.Tensor(k)).data
    want_corr = np.array([[(img[i:i + 3, j:j + 3] * k).sum() for j in range(5)]
                          for i in range(4)])
    np.testing.assert_allclose(corr, want_corr, rtol=1e-12)
    np.testing.assert_allclose(conv, np.array(
        [[(img[i:i + 3, j:j + 3] * k[::-1, ::-1]).sum() for j in range(5)]
         for i in range(4)]), rtol=1e-12)
    hubel.gradcheck(lambda a, b: hubel.F.convolve2d(a, b, "same"),
                    hubel.Tensor(img, requires_grad=True), hubel.Tensor(k, requires_grad=True))
    rgb = hubel.F.correlate2d(hubel.Tensor(rng.standard_normal((6, 7, 3))), hubel.Tensor(k))
    assert rgb.shape == (4, 5, 3)


def test_lecture_example_warns_naming_layer_and_unseen_rows():
    layer = Conv2D(1, 3, strides=3, name="c1")
    with pytest.warns(UserWarning, match=r"Conv2D 'c1'.*2\.33.*rows \[6\]"):
        y = layer(np.zeros((1, 7, 7, 1), np.float32))
    assert y.shape == (1, 2, 2, 1)


@pytest.mark.parametrize("make, shape, message", [
    (lambda: Conv2D(4, 9, name="big"), (1, 7, 7, 1),
     r"Conv2D 'big': kernel 9 .*larger than the padded input 7 \+ 0 \+ 0 = 7"),
    (lambda: Conv2D(4, 3, groups=2, name="g"), (1, 7, 7, 3),
     r"Conv2D 'g': the input's 3 channels are not divisible by groups=2"),
    (lambda: Conv2D(4, 3, name="rank"), (7, 7), r"Conv2D 'rank': expected 4-D input"),
])
def test_bad_configurations_raise_naming_the_layer(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.zeros(shape, np.float32))


def test_layers_config_params_and_output_shapes():
    rng = np.random.default_rng(0)
    for layer, shape, out, params in [
        (Conv2D(32, 3, activation="relu"), (2, 28, 28, 1), (2, 26, 26, 32), 320),
        (Conv2D(8, (3, 5), strides=(1, 2), padding="same", use_bias=False), (1, 9, 9, 4),
         (1, 9, 5, 8), 3 * 5 * 4 * 8),
        (Conv1D(4, 3, dilation_rate=2), (2, 10, 3), (2, 6, 4), 40),
        (Conv3D(2, 3, padding="same"), (1, 4, 4, 4, 2), (1, 4, 4, 4, 2), 110),
        (Conv2D(96, 11, strides=4), (1, 227, 227, 3), (1, 55, 55, 96), 34944),
        (Conv2D(256, 5, padding=2, groups=2), (1, 27, 27, 96), (1, 27, 27, 256), 307456),
    ]:
        y = layer(rng.standard_normal(shape).astype(np.float32))
        assert y.shape == out and layer.count_params() == params
        assert layer.compute_output_shape((None, *shape[1:])) == (None, *out[1:])
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()


def test_same_padding_for_every_stride_and_dilation():
    for n, k, s, d in itertools.product([7, 8, 11], [1, 3, 5], [1, 2, 3], [1, 2]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = hubel.F.conv1d(hubel.Tensor(np.zeros((1, n, 1), np.float32)),
                               np.zeros((k, 1, 1), np.float32), None, s, "same", d)
        assert y.shape[1] == -(-n // s)
