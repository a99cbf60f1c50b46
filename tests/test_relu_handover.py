"""A layer's input gradient masked by the ReLU that made its input, in its own product's
epilogue (blas.matmul_relu_backward), and the handover between two fused Dense ops in the
autograd engine and the traced step: against float64 NumPy and PyTorch."""

import numpy as np
import pytest

import hubel
from hubel.backends import blas, threads
from hubel.layers import Dense
from hubel.models import Sequential
from hubel.ops import linalg
from hubel.ops.linalg import affine

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(7)


def _relu_output(shape, dtype=np.float32):
    return np.maximum(RNG.standard_normal(shape), 0).astype(dtype)


def _reference(a, b, y):
    g = (a.astype(np.float64) @ b.astype(np.float64)) * (y > 0)
    return g, g.sum(axis=0)


@pytest.mark.parametrize("m, k, n", [
    (128, 10, 256),   # split by rows (mlp's last layer)
    (128, 256, 256),  # split by rows, deeper
    (24, 64, 300),    # split by columns
    (7, 5, 3),        # serial
    (64, 2000, 48),   # split along k: the product, then relu_backward
], ids=str)
def test_matmul_relu_backward_matches_float64(m, k, n):
    a = RNG.standard_normal((m, k)).astype(np.float32)
    b = RNG.standard_normal((n, k)).astype(np.float32).T  # (a weight's transpose)
    y = _relu_output((m, n))
    for _ in range(2):  # (the second call takes the cached plan)
        g, gb = blas.matmul_relu_backward(a, b, y)
        ref, ref_b = _reference(a, b, y)
        assert g.dtype == gb.dtype == np.float32 and g.shape == (m, n) and gb.shape == (n,)
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-4 * np.sqrt(k))
        np.testing.assert_allclose(gb, ref_b, rtol=1e-4, atol=1e-3 * np.sqrt(k * m))
        assert np.all(g[y <= 0] == 0)


@pytest.mark.skipif(not threads.one_pool(), reason="products go to NumPy's matmul")
def test_the_epilogue_runs_in_the_product_except_along_a_split_k():
    y = _relu_output((128, 256))
    a = RNG.standard_normal((128, 64)).astype(np.float32)
    b = RNG.standard_normal((64, 256)).astype(np.float32)
    assert blas._product(a, b, None, False, None, False, y)[1] is not None
    deep = RNG.standard_normal((128, 4096)).astype(np.float32)
    deep_b = RNG.standard_normal((4096, 256)).astype(np.float32)
    if threads.pool_size() > 1:
        assert blas._product(deep, deep_b, None, False, None, False, y)[1] is None
    g, gb = blas.matmul_relu_backward(deep, deep_b, y)
    ref, ref_b = _reference(deep, deep_b, y)
    np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(gb, ref_b, rtol=1e-4, atol=1e-1)


def test_float64_and_nan_follow_relu_backward():
    a = RNG.standard_normal((128, 32))
    b = RNG.standard_normal((32, 96))
    y = _relu_output((128, 96), np.float64)
    g, gb = blas.matmul_relu_backward(a, b, y)
    ref, ref_b = _reference(a, b, y)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, ref_b, rtol=1e-12, atol=1e-11)
    a32 = RNG.standard_normal((128, 32)).astype(np.float32)
    a32[3, 0] = np.nan  # row 3 of the product is NaN: kept where y > 0, and NaN·0 = NaN
    g, gb = blas.matmul_relu_backward(a32, b.astype(np.float32), y.astype(np.float32))
    assert np.isnan(g[3]).all() and np.isnan(gb).all()
    assert np.isfinite(np.delete(g, 3, axis=0)).all()


def test_matmul_relu_backward_checks_the_shapes():
    with pytest.raises(ValueError, match=r"matmul_relu_backward.*\(4, 6\)"):
        blas.matmul_relu_backward(np.ones((4, 3), np.float32), np.ones((3, 5), np.float32),
                                  np.ones((4, 6), np.float32))


def _torch_chain(x, weights, shared=False):
    """PyTorch's relu(x W1 + b1) -> relu(· W2 + b2) -> · W3 + b3 (shared: the second
    hidden layer's output feeds the last layer and, summed, the loss too)."""
    ts = [torch.tensor(w, requires_grad=True) for w in weights]
    h = torch.tensor(x)
    for i in range(0, 4, 2):
        h = torch.relu(h @ ts[i] + ts[i + 1])
    out = h @ ts[4] + ts[5]
    loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum()
    if shared:
        loss = loss + (h * 0.5).sum()
    loss.backward()
    return [t.grad.numpy() for t in ts]


def _hubel_chain(x, weights, shared=False, twice=False):
    ts = [hubel.Tensor(w, requires_grad=True) for w in weights]
    h = hubel.Tensor(x)
    for i in range(0, 4, 2):
        h = affine(h, ts[i], ts[i + 1], relu=True)
    out = affine(h, ts[4], ts[5])
    loss = (out * hubel.Tensor(np.linspace(-1, 1, out.shape[-1]).astype(np.float32))).sum()
    if shared:
        loss = loss + (h * 0.5).sum()
    loss.backward(retain_graph=twice)
    if twice:
        loss.backward()
    return [t.grad for t in ts]


def _weights(sizes):
    out = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        out += [(RNG.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32),
                (RNG.standard_normal(n_out) * 0.1).astype(np.float32)]
    return out


class _Spy:
    """Counts the mask passes Affine.backward makes itself."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = linalg.relu_backward

        def counting(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(linalg, "relu_backward", counting)


@pytest.mark.parametrize("x_shape", [(128, 64), (4, 32, 64)], ids=str)
def test_the_engine_hands_each_relu_to_the_next_product(x_shape, monkeypatch):
    spy = _Spy(monkeypatch)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    weights = _weights([64, 256, 96, 10])
    for got, want in zip(_hubel_chain(x, weights), _torch_chain(x, weights)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert spy.calls == 0  # both masks made in the next layer's input-gradient product


def test_a_relu_output_read_twice_masks_itself(monkeypatch):
    spy = _Spy(monkeypatch)
    x = RNG.standard_normal((64, 32)).astype(np.float32)
    weights = _weights([32, 48, 40, 5])
    for got, want in zip(_hubel_chain(x, weights, shared=True),
                         _torch_chain(x, weights, shared=True)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert spy.calls == 1  # the second hidden layer's output has two readers


def test_a_graph_run_twice_hands_over_each_time():
    x = RNG.standard_normal((64, 32)).astype(np.float32)
    weights = _weights([32, 48, 40, 5])
    for got, want in zip(_hubel_chain(x, weights, twice=True), _torch_chain(x, weights)):
        np.testing.assert_allclose(got, 2 * want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit_compile"])
def test_training_a_relu_mlp_matches_torch(jit, monkeypatch):
    spy = _Spy(monkeypatch)
    sizes = [20, 48, 40, 4]
    weights = _weights(sizes)
    model = Sequential([Dense(48, activation="relu"), Dense(40, activation="relu"),
                        Dense(4, activation="softmax")])
    model.build((None, 20))
    model.set_weights(weights)
    model.compile(optimizer=hubel.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", jit_compile=jit)
    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.weight.copy_(torch.tensor(weights[2 * i].T))
            layer.bias.copy_(torch.tensor(weights[2 * i + 1]))
    net = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(),
                              layers[2])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        x = RNG.standard_normal((32, 20)).astype(np.float32)
        y = RNG.integers(0, 4, 32)
        model.train_on_batch(x, y)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
    for i, layer in enumerate(layers):
        got = model.get_weights()
        np.testing.assert_allclose(got[2 * i], layer.weight.detach().numpy().T,
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got[2 * i + 1], layer.bias.detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    # the traced step records two eager steps, then replays; neither masks by itself
    assert spy.calls == 0
