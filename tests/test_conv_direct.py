"""The direct single-channel convolution kernel (MNIST's first layer) against PyTorch:
forward with and without bias, the kernel gradient, serial and parallel sizes, float32 and
float64; and ConvND's use of it (forward, all three gradients) inside a layer."""

import numpy as np
import pytest

import hubel
from hubel.ops import conv

pytest.importorskip("numba")
torch = pytest.importorskip("torch")
direct = pytest.importorskip("hubel.backends.kernels.direct_numba")


def _torch_conv(xp, w, b):
    """torch's valid convolution of padded (N, Hp, Wp) with (KH, KW, F) -> (N, Ho, Wo, F)."""
    xt = torch.tensor(xp, dtype=torch.float64)[:, None]
    wt = torch.tensor(w, dtype=torch.float64).permute(2, 0, 1)[:, None]
    bt = None if b is None else torch.tensor(b, dtype=torch.float64)
    return xt, wt, bt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, filters, bias", [
    ((2, 9, 8), (3, 3), 4, True),       # serial (few outputs)
    ((64, 32, 32), (5, 5), 6, True),    # LeNet-5's C1 on padded MNIST: parallel
    ((40, 31, 30), (5, 5), 6, True),    # parallel, an odd number of output rows
    ((16, 30, 30), (3, 3), 32, True),   # 3x3: 8 rows a pass, 28 rows = 3 passes + 4
    ((33, 20, 17), (5, 2), 7, False),   # odd sizes, no bias, a non-square kernel
    ((3, 6, 6), (1, 1), 3, True),       # 1x1
])
def test_direct_forward_and_kernel_gradient_match_torch(shape, kernel, filters, bias, dtype):
    rng = np.random.default_rng(1)
    xp = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((*kernel, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype) if bias else None
    xt, wt, bt = _torch_conv(xp, w, b)
    wt.requires_grad_(True)
    yt = torch.nn.functional.conv2d(xt, wt, bt).permute(0, 2, 3, 1)

    y = direct.forward(xp, w, b)
    assert y.dtype == dtype and y.shape == tuple(yt.shape)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=tol, atol=tol * 10)

    gy = rng.standard_normal(y.shape).astype(dtype)
    (yt * torch.tensor(gy, dtype=torch.float64)).sum().backward()
    want = wt.grad.permute(2, 3, 0, 1)[..., 0].numpy()  # (KH, KW, F)
    gw = direct.kernel_gradient(xp, gy, kernel)
    assert gw.dtype == dtype
    np.testing.assert_allclose(gw, want, rtol=tol * 10, atol=tol * 100)


@pytest.mark.parametrize("padding", ["same", "valid", [(0, 2), (3, 1)]])
def test_single_channel_layer_takes_the_direct_kernel_and_matches_torch(padding, monkeypatch):
    # Counting calls proves the path is taken; torch checks forward, gx, gW and gb (gx of
    # a single-channel layer comes from the im2col path, as for a second layer).
    calls = {"forward": 0, "kernel_gradient": 0}
    for name in calls:
        real = getattr(direct, name)

        def counted(*a, _real=real, _name=name):
            calls[_name] += 1
            return _real(*a)

        monkeypatch.setattr(direct, name, counted)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 14, 13, 1)).astype(np.float32)
    w = rng.standard_normal((5, 5, 1, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xh, wh, bh = (hubel.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = hubel.F.conv2d(xh, wh, bh, 1, padding)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    (y * gy).sum().backward()
    assert calls == {"forward": 1, "kernel_gradient": 1}

    pads = [conv.padding_rule.resolve_padding(padding, n, 5, 1, 1) for n in (14, 13)] \
        if isinstance(padding, str) else padding
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    flat = [p for pair in reversed(pads) for p in pair]
    yt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt.permute(0, 3, 1, 2), flat),
                                    wt.permute(3, 2, 0, 1), bt).permute(0, 2, 3, 1)
    (yt * torch.tensor(gy)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    for mine, theirs in ((xh, xt), (wh, wt), (bh, bt)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-3, atol=1e-3)


def test_strided_or_multichannel_layers_keep_im2col():
    assert conv.single_channel_direct((8, 28, 28, 1), (1, 1), (1, 1), 1)
    assert not conv.single_channel_direct((8, 28, 28, 1), (2, 2), (1, 1), 1)
    assert not conv.single_channel_direct((8, 28, 28, 1), (1, 1), (2, 2), 1)
    assert not conv.single_channel_direct((8, 28, 28, 3), (1, 1), (1, 1), 1)
    assert not conv.single_channel_direct((8, 28, 1), (1,), (1,), 1)  # Conv1D


@pytest.mark.parametrize("shape, kernel, pads", [
    ((64, 28, 28), (5, 5), ((2, 2), (2, 2))),   # LeNet-5's C1 on MNIST, 'same': parallel
    ((3, 9, 7), (3, 2), ((0, 2), (3, 1))),      # serial, uneven pads on every side
])
def test_direct_kernels_pad_inside_as_torch_pads(shape, kernel, pads):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((*kernel, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    xt, wt, bt = _torch_conv(np.pad(x, ((0, 0), *pads)), w, b)
    wt.requires_grad_(True)
    yt = torch.nn.functional.conv2d(xt, wt, bt).permute(0, 2, 3, 1)
    y = direct.forward(x, w, b, relu=True, pads=pads)
    np.testing.assert_allclose(y, yt.clamp(min=0).detach().numpy(), rtol=1e-5, atol=1e-4)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    (yt * torch.tensor(gy, dtype=torch.float64)).sum().backward()
    gw = direct.kernel_gradient(x, gy, kernel, pads)
    np.testing.assert_allclose(gw, wt.grad.permute(2, 3, 0, 1)[..., 0].numpy(), rtol=1e-4,
                               atol=1e-3)
    with pytest.raises(ValueError, match="does not fit"):
        direct.kernel_gradient(x, gy[:, 1:], kernel, pads)
