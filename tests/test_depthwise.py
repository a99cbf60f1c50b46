"""Depthwise convolution (groups = channels, depth multiplier 1) on the Numba kernels against
PyTorch (forward, gx, gW, gb; float64 finite differences on small cases), and the kernels
against the NumPy shift-and-multiply reference on a parallel-sized batch."""

import warnings

import numpy as np
import pytest
from op_harness import check_op

import hubel
from hubel.ops import depthwise

pytest.importorskip("numba")
torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # (size, channels, kernel, stride, padding, dilation)
    (9, 4, 3, 1, "same", 1), (10, 3, 3, 2, "same", 1), (11, 5, 5, 1, "valid", 1),
    (12, 4, 3, 1, "same", 2), (9, 2, 3, 2, [(0, 1), (2, 0)], 1), (7, 3, 1, 1, "valid", 1),
]


def _pads(shape, k, s, padding, d):
    if isinstance(padding, str):
        return [hubel.ops.padding_rule.resolve_padding(padding, n, k, s, d)
                for n in shape[1:3]]
    return padding


@pytest.mark.parametrize("case", CASES, ids=str)
def test_depthwise_kernels_match_torch(case, monkeypatch):
    size, c, k, s, padding, d = case
    calls = []
    real = depthwise._fast.forward
    monkeypatch.setattr(depthwise._fast, "forward",
                        lambda *a: calls.append(1) or real(*a))
    shape = (2, size, size + 1, c)
    pads = _pads(shape, k, s, padding, d)

    def ref(x, w, b):
        flat = [p for pair in reversed(pads) for p in pair]
        xt = TF.pad(x.permute(0, 3, 1, 2), flat)
        return TF.conv2d(xt, w.permute(3, 2, 0, 1), b, s, 0, d, c).permute(0, 2, 3, 1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda x, w, b: hubel.F.conv2d(x, w, b, s, padding, d, c), ref, shape,
                 (k, k, 1, c), (c,), rtol=1e-4, atol=1e-4, grad_rtol=1e-3, grad_atol=1e-3)
    assert calls  # the Numba path ran


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depthwise_kernels_equal_the_numpy_reference(dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 14, 14, 32)).astype(dtype)
    w = rng.standard_normal((3, 3, 1, 32)).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    gy = rng.standard_normal((16, 7, 7, 32)).astype(dtype)

    def run():
        xt, wt, bt = (hubel.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = hubel.F.conv2d(xt, wt, bt, 2, "same", 1, 32)
        (y * gy).sum().backward()
        return y.numpy(), xt.grad, wt.grad, bt.grad

    fast = run()
    monkeypatch.setattr(depthwise, "_fast", None)
    reference = run()
    tol = 1e-4 if dtype == np.float32 else 1e-12  # (sums in another order: float32 rounding)
    for got, want in zip(fast, reference):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
