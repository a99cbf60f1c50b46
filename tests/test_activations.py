"""Every activation of SPEC A: against PyTorch (float32) and finite differences (float64),
and finite at ±1e4."""

import numpy as np
import pytest
from op_harness import check_op

import hubel

torch = pytest.importorskip("torch")
F = hubel.F
TF = torch.nn.functional

CASES = {
    "identity": (F.identity, lambda t: t * 1),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "arctan": (F.arctan, torch.atan),
    "relu": (F.relu, TF.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.01), lambda t: TF.leaky_relu(t, 0.01)),
    "very_leaky_relu": (lambda x: F.very_leaky_relu(x, 0.3), lambda t: TF.leaky_relu(t, 0.3)),
    "elu": (lambda x: F.elu(x, 1.5), lambda t: TF.elu(t, 1.5)),
    "softplus": (F.softplus, TF.softplus),
    "centered_softplus": (F.centered_softplus, lambda t: TF.softplus(t) - np.log(2.0)),
    "gaussian": (F.gaussian, lambda t: torch.exp(-t * t)),
    "rrelu_inference": (lambda x: F.rrelu(x, 0.1, 0.3), lambda t: TF.rrelu(t, 0.1, 0.3)),
    "noisy_relu_inference": (F.noisy_relu, TF.relu),
    "softmax": (F.softmax, lambda t: TF.softmax(t, -1)),
    "log_softmax": (F.log_softmax, lambda t: TF.log_softmax(t, -1)),
}


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (0, 3)], ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
def test_activation_matches_torch(name, shape):
    hf, tf = CASES[name]
    check_op(hf, tf, shape)


def test_binary_step_values_and_zero_gradient():
    x = hubel.Tensor(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
    y = F.binary_step(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 1.0, 1.0]
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "gaussian", "arctan",
                                  "relu", "leaky_relu", "centered_softplus", "softmax"])
def test_finite_at_large_inputs(name):
    x = hubel.Tensor(np.array([[-1e4, -30.0, 0.0, 30.0, 1e4]], np.float32), requires_grad=True)
    y = hubel.activations.get(name)(x)
    y.backward(np.ones(y.shape, np.float32))
    assert np.isfinite(y.data).all() and np.isfinite(x.grad).all()


def test_prelu_apl_maxout_gradcheck_and_torch():
    rng = np.random.default_rng(0)
    check_op(F.prelu, lambda x, a: TF.prelu(x, a), (4, 3), rng.uniform(0.1, 0.4, 3))
    # maxout == max over groups of pieces, written in torch
    check_op(lambda x: F.maxout(x, 3), lambda t: t.reshape(4, 2, 3).amax(-1), (4, 6))
    x = hubel.Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    a = hubel.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    b = hubel.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    hubel.gradcheck(F.apl, x, a, b)
    # APL by its definition, computed directly
    want = np.maximum(0, x.data) + sum(a.data[s] * np.maximum(0, -x.data + b.data[s])
                                       for s in range(2))
    np.testing.assert_allclose(F.apl(x, a, b).data, want, rtol=1e-12)


def test_rrelu_training_slopes_drawn_between_bounds():
    hubel.seed(3)
    x = -np.ones(10_000, np.float32)
    y = F.rrelu(hubel.Tensor(x), 0.1, 0.5, training=True).data
    slopes = -y
    assert slopes.min() >= 0.1 and slopes.max() <= 0.5
    assert abs(slopes.mean() - 0.3) < 0.01
    assert F.rrelu(hubel.Tensor(x), 0.1, 0.5).data[0] == pytest.approx(-0.3)


def test_noisy_relu_adds_gaussian_noise_in_training():
    hubel.seed(0)
    y = F.noisy_relu(hubel.Tensor(np.full(20_000, 5.0, np.float32)), 0.5, training=True).data
    assert abs(y.mean() - 5.0) < 0.02 and abs(y.std() - 0.5) < 0.02


def test_string_names_and_derivatives():
    x = np.linspace(-3, 3, 13)
    d = hubel.activations.derivative
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(d("sigmoid")(x), s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(d("tanh")(x), 1 - np.tanh(x) ** 2, rtol=1e-12)
    np.testing.assert_allclose(d("arctan")(x), 1 / (1 + x * x), rtol=1e-12)
    np.testing.assert_allclose(d("gaussian")(x), -2 * x * np.exp(-x * x), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        hubel.activations.get("swishy")


def test_activation_layers_train_and_round_trip():
    from hubel import layers as L

    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    for layer in [L.PReLU(), L.RReLU(), L.LeakyReLU(0.2), L.ELU(), L.APL(2), L.Maxout(3),
                  L.NoisyReLU(0.1), L.GaussianNoise(0.1), L.Softmax(), L.ReLU()]:
        y = layer(x, training=True)
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
        assert y.shape[0] == 4
    prelu = L.PReLU(shared_axes=[1, 2])
    prelu(np.zeros((2, 5, 5, 3), np.float32))
    assert prelu.alpha.shape == (1, 1, 3)
