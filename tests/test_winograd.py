"""Winograd F(4x4, 3x3) convolution: the NumPy reference against PyTorch, the Numba kernels
against the reference (odd sizes, asymmetric padding, blocks of images, float32/float64),
and Conv2D layers that take the path against PyTorch and finite differences, forward and
backward (its input gradient is a Winograd convolution too)."""

import numpy as np
import pytest
from op_harness import check_op

import hubel
from hubel.ops import winograd

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # (shape (N, H, W, C), filters, ((top, bottom), (left, right)))
    ((2, 8, 8, 8), 8, ((1, 1), (1, 1))),
    ((3, 9, 11, 16), 12, ((1, 1), (1, 1))),      # partial tiles on both axes
    ((2, 7, 10, 9), 8, ((2, 0), (0, 2))),        # asymmetric padding
    ((2, 13, 6, 8), 16, ((0, 0), (0, 0))),       # 'valid'
    ((1, 4, 5, 10), 11, ((2, 2), (2, 2))),       # 'full': padding of k − 1
]


def torch_reference(x, w, b, pads):
    xt = TF.pad(torch.from_numpy(x).permute(0, 3, 1, 2),
                (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    bt = None if b is None else torch.from_numpy(b)
    y = TF.conv2d(xt, torch.from_numpy(w).permute(3, 2, 0, 1), bt)
    return y.permute(0, 2, 3, 1).numpy()


def draw(shape, f, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((3, 3, shape[-1], f)) / np.sqrt(9 * shape[-1])).astype(dtype)
    return x, w, rng.standard_normal(f).astype(dtype)


@pytest.mark.parametrize("shape, f, pads", CASES, ids=str)
def test_reference_equals_torch_in_float64(shape, f, pads):
    x, w, b = draw(shape, f, np.float64)
    want = torch_reference(x, w, b, pads)
    got = winograd.reference(x, w, b, pads)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(winograd.reference(x, w, None, pads, relu=True),
                               np.maximum(torch_reference(x, w, None, pads), 0), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, f, pads", CASES, ids=str)
def test_kernels_equal_reference(shape, f, pads, dtype):
    x, w, b = draw(shape, f, dtype, seed=1)
    tol = 1e-5 if dtype == np.float32 else 1e-13  # (both round in float32: ~5e-6 each)
    for bias, relu in ((b, False), (None, True), (b, True)):
        want = winograd.reference(x, w, bias, pads, relu)
        got = winograd.conv3x3(x, w, bias, pads, relu)
        assert got.dtype == dtype and got.shape == want.shape
        scale = max(1.0, np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def torch_gradients(x, w, gy, pads):
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    y = TF.conv2d(TF.pad(xt.permute(0, 3, 1, 2), (pads[1][0], pads[1][1], pads[0][0],
                                                  pads[0][1])), wt.permute(3, 2, 0, 1))
    y.backward(torch.from_numpy(gy).permute(0, 3, 1, 2))
    return xt.grad.numpy(), wt.grad.numpy()


def out_shape(shape, f, pads):
    return (shape[0], shape[1] + sum(pads[0]) - 2, shape[2] + sum(pads[1]) - 2, f)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, f, pads", CASES, ids=str)
def test_backward_equals_torch(shape, f, pads, dtype):
    """gx (tiles B gV Bᵀ overlap-added, cropped) and gW (Gᵀ gU G) by the adjoint of the
    Winograd passes against PyTorch's exact gradients, and the NumPy fallback too."""
    x, w, _ = draw(shape, f, np.float64, seed=6)
    gy = np.random.default_rng(7).standard_normal(out_shape(shape, f, pads))
    want_gx, want_gw = torch_gradients(x, w, gy, pads)
    _, saved = winograd.conv3x3(x.astype(dtype), w.astype(dtype), None, pads, keep=True)
    gx, gw = winograd.conv3x3_backward(gy.astype(dtype), saved)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for got, want in ((gx, want_gx), (gw, want_gw)):
        assert got.shape == want.shape and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    assert winograd.conv3x3_backward(gy.astype(dtype), saved, want_gx=False)[0] is None
    assert winograd.conv3x3_backward(gy.astype(dtype), saved, want_gw=False)[1] is None
    if dtype == np.float64:  # the fallback without Numba: direct convolutions in NumPy
        gx, gw = winograd._backward_reference(gy, (x, w, pads), True, True)
        np.testing.assert_allclose(gx, want_gx, atol=1e-12)
        np.testing.assert_allclose(gw, want_gw, atol=1e-12)


def test_blocks_of_images_give_the_same_result(monkeypatch):
    x, w, b = draw((5, 9, 9, 8), 8, np.float32, seed=2)  # one block: 5 x 9 tiles < 512
    whole = winograd.conv3x3(x, w, b, ((1, 1), (1, 1)), True)
    gy = np.random.default_rng(8).standard_normal(whole.shape).astype(np.float32)
    gx, gw = winograd.conv3x3_backward(gy, winograd.conv3x3(x, w, b, keep=True)[1])
    monkeypatch.setattr(winograd, "_BLOCK_BYTES", 1)  # one image per block ...
    monkeypatch.setattr(winograd, "_BLOCK_TILES", 1)
    # (not bit-equal: OpenBLAS may take another kernel, summing in another order, for the
    # products of a small block than for the whole batch's; Zen 3 does, SkylakeX did not)
    np.testing.assert_allclose(winograd.conv3x3(x, w, b, ((1, 1), (1, 1)), True), whole,
                               rtol=1e-5, atol=1e-5 * np.abs(whole).max())
    kept, saved = winograd.conv3x3(x, w, b, keep=True)
    assert len(saved[0]) == 5  # ... so five blocks of V
    gx_blocks, gw_blocks = winograd.conv3x3_backward(gy, saved)
    np.testing.assert_allclose(gx_blocks, gx, rtol=1e-5, atol=1e-5 * np.abs(gx).max())
    np.testing.assert_allclose(gw_blocks, gw, rtol=1e-5, atol=1e-5 * np.abs(gw).max())
    monkeypatch.setattr(winograd, "_BLOCK_TILES", 4 * 9)  # at least 4 images of 9 tiles
    assert len(winograd.conv3x3(x, w, b, keep=True)[1][0]) == 2


def test_float32_error_stays_near_rounding():
    """ResNet-20's 16-channel layer at batch 8: error relative to the output's scale is
    a few 1e-6 (im2col: ~1e-7), far inside the 1e-4 every conv test allows."""
    x, w, b = draw((8, 32, 32, 16), 16, np.float32, seed=3)
    want = torch_reference(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                           ((1, 1), (1, 1)))
    err = np.abs(winograd.conv3x3(x, w, b) - want).max() / np.abs(want).max()
    assert err < 2e-5, err


@pytest.mark.parametrize("geometry, expected", [
    (((2, 8, 8, 16), (8, 8), (3, 3), (1, 1), (1, 1), 1, 16), True),
    (((2, 8, 8, 3), (8, 8), (3, 3), (1, 1), (1, 1), 1, 16), False),    # 3 input channels
    (((2, 8, 8, 16), (8, 8), (3, 3), (1, 1), (1, 1), 1, 4), False),    # 4 filters
    (((2, 8, 8, 16), (4, 4), (3, 3), (2, 2), (1, 1), 1, 16), False),   # stride 2
    (((2, 8, 8, 16), (4, 4), (3, 3), (1, 1), (2, 2), 1, 16), False),   # dilation 2
    (((2, 8, 8, 16), (8, 8), (3, 3), (1, 1), (1, 1), 2, 16), False),   # groups
    (((2, 8, 8, 16), (6, 6), (5, 5), (1, 1), (1, 1), 1, 16), False),   # 5x5
    (((2, 2, 2, 16), (2, 2), (3, 3), (1, 1), (1, 1), 1, 16), False),   # 2x2 output
    (((2, 4, 4, 16), (4, 4), (3, 3), (1, 1), (1, 1), 1, 16), True),    # one whole tile
])
def test_applies_only_where_it_pays(geometry, expected):
    assert winograd.applies(*geometry) is expected


@pytest.mark.parametrize("size, c, f, padding", [
    (8, 8, 8, "same"), (9, 8, 12, "same"), (10, 9, 8, "valid"), (7, 8, 8, [(2, 0), (0, 1)]),
])
def test_conv2d_layers_on_the_winograd_path_match_torch(size, c, f, padding, monkeypatch):
    shape = (2, size, size + 2, c)
    kernel = (3, 3)
    pads = [(1, 1), (1, 1)] if padding == "same" else \
        [(0, 0), (0, 0)] if padding == "valid" else padding
    calls = []
    real = winograd.conv3x3
    monkeypatch.setattr(winograd, "conv3x3", lambda *a, **k: calls.append(1) or real(*a, **k))

    def torch_fn(x, w, b):
        xt = TF.pad(x.permute(0, 3, 1, 2), (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        return TF.conv2d(xt, w.permute(3, 2, 0, 1), b).permute(0, 2, 3, 1)

    check_op(lambda x, w, b: hubel.F.conv2d(x, w, b, 1, padding), torch_fn,
             shape, (*kernel, c, f), (f,), rtol=1e-4, atol=1e-4, grad_rtol=1e-3,
             grad_atol=1e-3)
    assert calls, "the Winograd path was not taken"


def test_conv2d_relu_layer_and_input_gradient_take_winograd(monkeypatch):
    """A Conv2D(activation='relu') with the ReLU fused: forward, gx (by the
    adjoint of the Winograd passes) and gW equal PyTorch's; the layer took Winograd."""
    calls = []
    real = winograd.conv3x3
    monkeypatch.setattr(winograd, "conv3x3", lambda *a, **k: calls.append(a[1].shape) or
                        real(*a, **k))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 12, 12, 16)).astype(np.float32)
    layer = hubel.layers.Conv2D(24, 3, padding="same", activation="relu")
    xt = hubel.Tensor(x, requires_grad=True)
    y = layer(xt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * hubel.Tensor(g)).sum().backward()

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.kernel.data, requires_grad=True)
    tb = torch.tensor(layer.bias.data, requires_grad=True)
    ty = torch.relu(TF.conv2d(tx.permute(0, 3, 1, 2), tw.permute(3, 2, 0, 1), tb,
                              padding=1)).permute(0, 2, 3, 1)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.grad, tw.grad.numpy(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(layer.bias.grad, tb.grad.numpy(), rtol=1e-3, atol=1e-3)
    assert calls == [(3, 3, 16, 24)]


def test_winograd_and_im2col_paths_agree_on_a_resnet(monkeypatch):
    """ResNet-20 (CIFAR) forward and every weight gradient, Winograd against im2col."""
    hubel.seed(0)
    model = hubel.zoo.resnet20(input_shape=(16, 16, 3), num_classes=10, softmax=False)
    x = np.random.default_rng(5).standard_normal((2, 16, 16, 3)).astype(np.float32)

    def run():
        for w in model.trainable_weights:
            w.grad = None
        y = model(hubel.Tensor(x), training=True)
        y.sum().backward()
        return y.data.copy(), [w.grad.copy() for w in model.trainable_weights]

    calls = []
    real = winograd.conv3x3
    monkeypatch.setattr(winograd, "conv3x3", lambda *a, **k: calls.append(1) or real(*a, **k))
    y1, g1 = run()
    assert len(calls) == 16  # the 3x3 stride-1 layers; not the first nor the strided ones
    monkeypatch.setattr(winograd, "applies", lambda *a: False)
    y2, g2 = run()
    assert len(calls) == 16
    np.testing.assert_allclose(y1, y2, rtol=1e-4, atol=1e-4)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * max(1, np.abs(b).max()))
