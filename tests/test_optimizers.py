"""Optimizers: 20 steps on the same problem equal torch.optim's; schedules; state dicts."""

import numpy as np
import pytest

import hubel
from hubel import optimizers as O

torch = pytest.importorskip("torch")

CASES = {
    "sgd": (lambda: O.SGD(0.05), lambda p: torch.optim.SGD(p, 0.05)),
    "momentum": (lambda: O.SGD(0.05, momentum=0.9), lambda p: torch.optim.SGD(p, 0.05, 0.9)),
    "nesterov": (lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, 0.05, 0.9, nesterov=True)),
    "rmsprop": (lambda: O.RMSprop(0.01, rho=0.9, epsilon=1e-7),
                lambda p: torch.optim.RMSprop(p, 0.01, alpha=0.9, eps=1e-7)),
    "rmsprop_momentum": (lambda: O.RMSprop(0.01, momentum=0.5),
                         lambda p: torch.optim.RMSprop(p, 0.01, alpha=0.9, eps=1e-7,
                                                       momentum=0.5)),
    "adam": (lambda: O.Adam(0.01), lambda p: torch.optim.Adam(p, 0.01, eps=1e-7)),
    "adagrad": (lambda: O.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=1e-10),
                lambda p: torch.optim.Adagrad(p, 0.1, initial_accumulator_value=0.1,
                                              eps=1e-10)),
    "adamw": (lambda: O.AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, 0.01, eps=1e-7, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_twenty_steps_equal_torch(name):
    make, make_torch = CASES[name]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    a = rng.standard_normal((3, 5)).astype(np.float32)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    w = hubel.Tensor(w0.copy(), requires_grad=True, name="w")
    opt = make()
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = make_torch([tw])
    for _ in range(20):
        w.grad = None
        r = w @ hubel.Tensor(a) - x
        hubel.F.log(r * r + 1).sum().backward()
        opt.step([w])
        topt.zero_grad()
        torch.log1p((tw @ torch.tensor(a) - torch.tensor(x)) ** 2).sum().backward()
        topt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_clipping_and_apply_gradients():
    w = hubel.Tensor(np.zeros(2, np.float32), name="w")
    O.SGD(1.0, clipnorm=1.0).apply_gradients([(np.array([3.0, 4.0], np.float32), w)])
    np.testing.assert_allclose(w.data, [-0.6, -0.8], rtol=1e-6)
    w2 = hubel.Tensor(np.zeros(2, np.float32), name="w2")
    O.SGD(1.0, clipvalue=0.5).apply_gradients([(np.array([3.0, -0.2], np.float32), w2)])
    np.testing.assert_allclose(w2.data, [-0.5, 0.2], rtol=1e-6)


def test_schedules():
    assert O.StepDecay(0.1, 10, 0.5)(25) == pytest.approx(0.025)
    assert O.ExponentialDecay(1.0, 10, 0.5)(20) == pytest.approx(0.25)
    assert O.ExponentialDecay(1.0, 10, 0.5, staircase=True)(19) == pytest.approx(0.5)
    cos = O.CosineDecay(1.0, 100)
    assert cos(0) == pytest.approx(1.0) and cos(50) == pytest.approx(0.5) and cos(200) == 0
    plateau = O.ReduceOnPlateau(1.0, factor=0.5, patience=2)
    for v in [3, 2, 2, 2]:
        plateau.update(v)
    assert plateau.lr == 0.5
    opt = O.SGD(O.StepDecay(0.1, 2, 0.1))
    w = hubel.Tensor(np.ones(1, np.float32), name="w")
    for _ in range(3):
        opt.apply_gradients([(np.ones(1, np.float32), w)])
    np.testing.assert_allclose(w.data, [1 - 0.1 - 0.1 - 0.01], rtol=1e-6)


def test_state_dict_round_trip_continues_identically():
    def run(split: bool):
        w = hubel.Tensor(np.array([1.0, -2.0], np.float32), name="w")
        opt = O.Adam(0.1)
        for i in range(6):
            if split and i == 3:
                state = opt.state_dict()
                opt = O.Adam(0.1)
                opt.load_state_dict(state)
            opt.apply_gradients([(w.data * 2 + 1, w)])
        return w.data

    np.testing.assert_array_equal(run(False), run(True))


def test_names():
    for name in ["sgd", "rmsprop", "adam", "adagrad", "adamw"]:
        assert isinstance(O.get(name), O.Optimizer)
    with pytest.raises(ValueError, match="unknown optimizer"):
        O.get("adamax2")


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sgd_momentum_kernel_equals_the_numpy_steps(nesterov, dtype):
    # The one-pass Numba update must give bit for bit what the three NumPy lines give.
    from hubel.optimizers import sgd

    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((37, 11)).astype(dtype)
    grads = [rng.standard_normal(w0.shape).astype(dtype) for _ in range(4)]
    results = []
    for fused in (True, False):
        saved = sgd._fast
        sgd._fast = saved if fused else None
        try:
            opt, w, state = O.SGD(0.03, momentum=0.9, nesterov=nesterov), w0.copy(), {}
            for g in grads:
                opt.update(w, g, state, 0.03)
            results.append((w, state["velocity"]))
        finally:
            sgd._fast = saved
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
