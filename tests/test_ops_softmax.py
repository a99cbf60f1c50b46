"""softmax and log_softmax: PyTorch, finite differences, and logits of ±1e4."""

import numpy as np
import pytest
from op_harness import check_op

import hubel

torch = pytest.importorskip("torch")
F = hubel.F


@pytest.mark.parametrize("shape, axis", [((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1),
                                         ((4, 1), -1), ((0, 10), -1), ((7,), 0)], ids=str)
def test_softmax_and_log_softmax(shape, axis):
    check_op(F.softmax, torch.softmax, shape, args=(axis,))
    check_op(F.log_softmax, torch.log_softmax, shape, args=(axis,))


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_huge_logits_stay_finite(scale):
    logits = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, -1.0]]) * scale
    for f, tf in [(F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)]:
        x = hubel.Tensor(logits.astype(np.float32), requires_grad=True)
        y = f(x, -1)
        (y * hubel.Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))).sum().backward()
        assert np.isfinite(y.data).all() and np.isfinite(x.grad).all()
        check_op(f, tf, logits, args=(-1,), gradcheck=False)
