"""BatchNormalization against torch's BatchNorm1d/2d: outputs, gradients and running
statistics in training; outputs in inference (Keras momentum m = 1 − torch momentum)."""

import numpy as np
import pytest

import hubel
from hubel.layers import BatchNormalization

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape, torch_cls", [((8, 5), "BatchNorm1d"),
                                              ((4, 6, 5, 3), "BatchNorm2d")])
def test_matches_torch_over_steps(shape, torch_cls):
    rng = np.random.default_rng(0)
    c = shape[-1]
    bn = BatchNormalization(momentum=0.8, epsilon=1e-3)
    tbn = getattr(torch.nn, torch_cls)(c, eps=1e-3, momentum=0.2)
    perm = (0, len(shape) - 1, *range(1, len(shape) - 1))
    back = (0, *range(2, len(shape)), 1)
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        hx = hubel.Tensor(x, requires_grad=True)
        y = bn(hx, training=True)
        tx = torch.tensor(x.transpose(perm), requires_grad=True)
        ty = tbn.train()(tx)
        gy = rng.standard_normal(shape).astype(np.float32)
        y.backward(gy)
        ty.backward(torch.tensor(gy.transpose(perm)))
        np.testing.assert_allclose(y.data, ty.detach().numpy().transpose(back), atol=2e-5)
        np.testing.assert_allclose(hx.grad, tx.grad.numpy().transpose(back), atol=2e-5)
        np.testing.assert_allclose(bn.gamma.grad, tbn.weight.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
        np.testing.assert_allclose(bn.beta.grad, tbn.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
        bn.gamma.grad = bn.beta.grad = None
        tbn.zero_grad()
    np.testing.assert_allclose(bn.moving_mean.data, tbn.running_mean.numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.data, tbn.running_var.numpy(), rtol=1e-5)
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(bn(x).data, tbn.eval()(torch.tensor(x.transpose(perm)))
                               .detach().numpy().transpose(back), atol=2e-5)


def test_gradcheck_training_and_inference():
    rng = np.random.default_rng(1)
    x = hubel.Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    g = hubel.Tensor(rng.standard_normal(4), requires_grad=True)
    b = hubel.Tensor(rng.standard_normal(4), requires_grad=True)
    hubel.gradcheck(lambda x, g, b: hubel.F.batch_norm(x, g, b, training=True), x, g, b)
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    hubel.gradcheck(lambda x, g, b: hubel.F.batch_norm(x, g, b, mean, var), x, g, b)


def test_frozen_statistics_are_not_trainable():
    bn = BatchNormalization()
    bn(np.zeros((2, 3), np.float32))
    assert [w.name.split("/")[1] for w in bn.trainable_weights] == ["gamma", "beta"]
    assert len(bn.non_trainable_weights) == 2 and bn.count_params() == 12


@pytest.mark.parametrize("shape", [(6, 4), (16, 64, 64, 4)], ids=["numpy path", "numba path"])
def test_inference_gradients_match_torch(shape):
    # Inference batch norm (one scale-and-shift node): gradients of x, gamma and beta
    # against torch's batch_norm with training=False.
    from op_harness import check_op

    rng = np.random.default_rng(2)
    c = shape[-1]
    mean = rng.standard_normal(c).astype(np.float32)
    var = rng.uniform(0.5, 2, c).astype(np.float32)

    def torch_bn(x, g, b):
        xt = x.reshape(-1, c)
        y = torch.nn.functional.batch_norm(xt, torch.tensor(mean), torch.tensor(var), g, b,
                                           training=False, eps=1e-3)
        return y.reshape(x.shape)

    check_op(lambda x, g, b: hubel.F.batch_norm(x, g, b, mean, var), torch_bn, shape, (c,),
             (c,), rtol=1e-5, atol=1e-5, grad_rtol=1e-3, grad_atol=1e-3,
             gradcheck=len(shape) == 2)
