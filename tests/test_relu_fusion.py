"""A ReLU run inside the layer before it: batch norm -> ReLU and Add -> ReLU as one node
(hubel.ops.norm.batch_norm(relu=True), hubel.ops.activation.add_relu) and the models
that use them (hubel.models.fusion), against PyTorch, finite differences and the
layer-by-layer path."""

import numpy as np
import pytest
from op_harness import check_op

import hubel
from hubel.layers import Activation, Add, BatchNormalization, Conv2D, Dense, Flatten, Input
from hubel.layers import ReLU as ReLULayer
from hubel.models import Model, Sequential, fusion
from hubel.ops import norm
from hubel.ops.activation import add_relu
from hubel.tensor import Tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_bn_relu(x, g, b):
    """channels-last x: torch's training-mode batch norm over dim 1, then ReLU."""
    xt = x.movedim(-1, 1)
    y = F.batch_norm(xt, None, None, g, b, training=True, eps=1e-3)
    return torch.relu(y).movedim(1, -1)


@pytest.mark.parametrize("shape", [(50, 7), (4, 6, 5, 3)])
def test_batch_norm_relu_matches_torch_and_finite_differences(shape):
    check_op(lambda x, g, b: norm.batch_norm(x, g, b, training=True, epsilon=1e-3, relu=True),
             _torch_bn_relu, shape, shape[-1:], shape[-1:], rtol=1e-4, atol=1e-5)


def _bn_step(x, fast: bool, relu: bool):
    saved = norm._fast
    norm._fast = saved if fast else None
    try:
        rng = np.random.default_rng(2)
        c = x.shape[-1]
        tx = Tensor(x, requires_grad=True)
        tg = Tensor(rng.uniform(0.5, 1.5, c).astype(x.dtype), requires_grad=True)
        tb = Tensor(rng.standard_normal(c).astype(x.dtype), requires_grad=True)
        rm, rv = np.zeros(c, x.dtype), np.ones(c, x.dtype)
        y = norm.batch_norm(tx, tg, tb, rm, rv, training=True, relu=relu)
        if not relu:
            y = hubel.ops.activation.relu(y)
        gy = rng.standard_normal(x.shape).astype(x.dtype)
        (y * Tensor(gy)).sum().backward()
        return y.data, tx.grad, tg.grad, tb.grad, rm, rv
    finally:
        norm._fast = saved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernel_equals_reference_and_separate_relu(dtype):
    x = (np.random.default_rng(0).standard_normal((32, 12, 12, 16)) * 2 + 0.5).astype(dtype)
    want = _bn_step(x, fast=False, relu=False)  # NumPy batch norm, then a ReLU node
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for fast in (True, False):
        for got, ref in zip(_bn_step(x, fast=fast, relu=True), want):
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1, np.abs(ref).max()))


@pytest.mark.parametrize("shapes", [((40, 50, 40), (40, 50, 40)),  # the one-pass kernel
                                    ((6, 5), (6, 5)), ((6, 5), (5,))])  # NumPy, broadcast
def test_add_relu_matches_torch(shapes):
    check_op(add_relu, lambda a, b: torch.relu(a + b), *shapes,
             gradcheck=np.prod(shapes[0]) < 1000)


def test_add_relu_keeps_nan_like_numpy():
    a = np.array([np.nan, -1.0, 2.0] * 30000, np.float32)
    y = add_relu(Tensor(a), Tensor(np.zeros_like(a))).data
    np.testing.assert_array_equal(y, np.maximum(a, 0))


def _count_pairs(monkeypatch):
    calls = []
    real = fusion.call_with_relu

    def counted(layer, inputs, training):
        calls.append(type(layer).__name__)
        return real(layer, inputs, training)

    monkeypatch.setattr(fusion, "call_with_relu", counted)
    return calls


def _loss_and_grads(model, x, labels):
    for w in model.weights:
        w.grad = None
    y = model(x, training=True)
    loss = hubel.losses.SparseCategoricalCrossentropy(True)(labels, y)
    loss.backward()
    return float(loss.data), [None if w.grad is None else np.array(w.grad)
                              for w in model.weights]


def test_resnet20_training_fuses_every_relu_and_matches_the_layer_by_layer_path(monkeypatch):
    model = hubel.zoo.resnet20(input_shape=(16, 16, 3), num_classes=4, softmax=False)
    x = np.random.default_rng(3).standard_normal((4, 16, 16, 3))
    labels = np.array([0, 1, 2, 3])
    model(x, training=True)  # build
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    with fusion.no_fusion():
        want_loss, want = _loss_and_grads(model, x, labels)
    calls = _count_pairs(monkeypatch)
    got_loss, got = _loss_and_grads(model, x, labels)
    # stem + the first conv of each of the 9 blocks: BN -> ReLU; each block ends Add -> ReLU
    assert calls.count("BatchNormalization") == 10 and calls.count("Add") == 9
    assert got_loss == pytest.approx(want_loss, rel=1e-12)
    assert sum(g is not None for g in got) == 59  # 19 x (kernel, γ, β) + dense kernel, bias
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_sequential_bn_relu_fuses_in_training_and_trains(monkeypatch):
    model = Sequential([Conv2D(4, 3, name="conv"), BatchNormalization(name="bn"),
                        ReLULayer(), Flatten(), Dense(3), BatchNormalization(),
                        Activation("relu"), Dense(2)])
    model.build((None, 6, 6, 2))
    calls = _count_pairs(monkeypatch)
    x = np.random.default_rng(4).standard_normal((5, 6, 6, 2)).astype(np.float32)
    y = model(x, training=True)
    assert calls == ["BatchNormalization"] * 2
    with fusion.no_fusion():
        want = model(x, training=True)
    np.testing.assert_allclose(y.data, want.data, rtol=1e-5, atol=1e-6)


def test_a_bn_output_used_elsewhere_keeps_its_relu_apart(monkeypatch):
    inp = Input((5, 5, 3))
    bn = BatchNormalization(name="bn")(Conv2D(3, 3, padding="same")(inp))
    act = Activation("relu", name="act")(bn)
    out = Add(name="add")([act, bn])                 # bn feeds the ReLU and the Add
    model = Model(inp, [Activation("relu")(out), bn])
    calls = _count_pairs(monkeypatch)
    x = np.random.default_rng(5).standard_normal((2, 5, 5, 3)).astype(np.float32)
    got = model(x, training=True)
    assert calls == ["Add"]
    with fusion.no_fusion():
        want = model(x, training=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.data, w.data, rtol=1e-6)
