"""Inference-time folding of Conv -> BatchNormalization (-> ReLU) chains (hubel.models.fusion):
the folded path gives the layer-by-layer outputs (the reference path) and PyTorch's
conv -> eval-mode batch norm -> ReLU; it runs only in inference without gradient
recording, and only on chains whose intermediate outputs feed nothing else."""

import numpy as np
import pytest

import hubel
from hubel.layers import Activation, Add, BatchNormalization, Conv2D, Dense, Flatten, Input
from hubel.models import Model, Sequential, fusion

torch = pytest.importorskip("torch")


def _randomize_batch_norms(model, seed=0):
    """Non-trivial running statistics, γ and β (fresh ones would make BN almost the identity)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            c = layer.moving_mean.data.shape
            layer.moving_mean.data[...] = rng.standard_normal(c) * 0.5
            layer.moving_variance.data[...] = rng.uniform(0.3, 3.0, c)
            if layer.gamma is not None:
                layer.gamma.data[...] = rng.uniform(0.5, 1.5, c)
            if layer.beta is not None:
                layer.beta.data[...] = rng.standard_normal(c) * 0.3


def _count_folds(monkeypatch):
    calls = []
    real = fusion.folded_conv

    def counted(conv, bn, x, with_relu):
        calls.append((conv.name, bn.name, with_relu))
        return real(conv, bn, x, with_relu)

    monkeypatch.setattr(fusion, "folded_conv", counted)
    return calls


def _reference(model, x):
    """The layer-by-layer path: inference with gradient recording on (nothing folds)."""
    return model(x, training=False).numpy()


def test_resnet20_folds_every_conv_and_matches_the_layer_by_layer_path(monkeypatch):
    model = hubel.zoo.resnet20(input_shape=(32, 32, 3), num_classes=10)
    _randomize_batch_norms(model)
    x = np.random.default_rng(1).standard_normal((3, 32, 32, 3)).astype(np.float32)
    want = _reference(model, x)
    calls = _count_folds(monkeypatch)
    got = model.predict(x, verbose=0)
    assert len(calls) == 19  # every convolution is followed by its batch norm
    assert sum(relu for *_, relu in calls) == 10  # stem + the first conv of each block
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("use_bias, relu", [(True, True), (False, False)])
def test_sequential_conv_bn_relu_matches_torch(use_bias, relu, monkeypatch):
    layers = [Conv2D(5, 3, padding="same", use_bias=use_bias, name="conv"),
              BatchNormalization(epsilon=1e-3, name="bn")]
    if relu:
        layers.append(Activation("relu", name="act"))
    model = Sequential(layers)
    model.build((None, 9, 8, 2))
    _randomize_batch_norms(model, seed=3)
    conv, bn = model.layers[0], model.layers[1]
    x = np.random.default_rng(4).standard_normal((4, 9, 8, 2)).astype(np.float32)
    calls = _count_folds(monkeypatch)
    with hubel.no_grad():
        got = model(x, training=False).numpy()
    assert calls == [("conv", "bn", relu)]

    tconv = torch.nn.Conv2d(2, 5, 3, padding=1, bias=use_bias)
    tbn = torch.nn.BatchNorm2d(5, eps=1e-3).eval()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.kernel.data).permute(3, 2, 0, 1))
        if use_bias:
            tconv.bias.copy_(torch.tensor(conv.bias.data))
        tbn.weight.copy_(torch.tensor(bn.gamma.data))
        tbn.bias.copy_(torch.tensor(bn.beta.data))
        tbn.running_mean.copy_(torch.tensor(bn.moving_mean.data))
        tbn.running_var.copy_(torch.tensor(bn.moving_variance.data))
        want = tbn(tconv(torch.tensor(x).permute(0, 3, 1, 2)))
        if relu:
            want = torch.relu(want)
    np.testing.assert_allclose(got, want.permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-5)


def test_training_and_gradient_recording_never_fold(monkeypatch):
    model = Sequential([Conv2D(4, 3, name="conv"), BatchNormalization(name="bn"),
                        Activation("relu"), Flatten(), Dense(2)])
    model.build((None, 6, 6, 1))
    x = np.ones((2, 6, 6, 1), np.float32)
    calls = _count_folds(monkeypatch)
    model(x, training=True)            # batch statistics: nothing to fold
    model(x, training=False)           # a graph is recorded: gradients reach γ and β
    with hubel.no_grad():
        model(x, training=True)
    assert calls == []
    with hubel.no_grad():
        model(x, training=False)
    assert calls == [("conv", "bn", True)]


def test_chains_whose_outputs_feed_other_layers_stay_unfolded(monkeypatch):
    inp = Input((8, 8, 3))
    a = Conv2D(4, 3, padding="same", name="a")(inp)
    a_bn = BatchNormalization(name="a_bn")(a)
    branch = Conv2D(4, 1, name="branch")(a)           # a's output feeds two layers
    b = Conv2D(4, 3, padding="same", name="b")(inp)
    b_bn = BatchNormalization(name="b_bn")(b)
    b_relu = Activation("relu", name="b_relu")(b_bn)
    c = Conv2D(4, 3, padding="same", name="c")(inp)
    c_bn = BatchNormalization(name="c_bn")(c)         # a model output: its ReLU stays apart
    c_relu = Activation("relu", name="c_relu")(c_bn)
    d = Conv2D(4, 3, padding="same", activation="relu", name="d")(inp)  # activation first
    d_bn = BatchNormalization(name="d_bn")(d)
    out = Add()([a_bn, branch, b_relu, c_relu, d_bn])
    model = Model(inp, [out, c_bn])
    _randomize_batch_norms(model, seed=5)
    x = np.random.default_rng(6).standard_normal((2, 8, 8, 3)).astype(np.float32)
    want = [y.numpy() for y in model(x, training=False)]
    calls = _count_folds(monkeypatch)
    with hubel.no_grad():
        got = [y.numpy() for y in model(x, training=False)]
    assert sorted(calls) == [("b", "b_bn", True), ("c", "c_bn", False)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_a_copied_model_finds_its_own_chains(monkeypatch):
    import copy

    inp = Input((6, 6, 2))
    y = Activation("relu")(BatchNormalization(name="bn")(Conv2D(3, 3, name="conv")(inp)))
    model = Model(inp, Flatten()(y))
    x = np.ones((1, 6, 6, 2), np.float32)
    model.predict(x, verbose=0)  # the original's chains are cached
    twin = copy.deepcopy(model)
    calls = _count_folds(monkeypatch)
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0))
    assert calls == [("conv", "bn", True)] * 2


def test_no_fusion_runs_every_layer_and_summary_counts_them(monkeypatch):
    model = Sequential([Conv2D(4, 3, name="conv"), BatchNormalization(name="bn"),
                        Activation("relu")])
    model.build((None, 6, 6, 1))
    calls = _count_folds(monkeypatch)
    with hubel.no_grad(), fusion.no_fusion():
        model(np.ones((1, 6, 6, 1), np.float32), training=False)
    assert calls == []
    rows = model.summary(as_data=True)
    assert [r["macs"] for r in rows][:1] == [4 * 4 * 4 * 9]  # conv: out positions·F·k²·C


def test_a_sequential_finds_its_chains_again_when_its_layers_change(monkeypatch):
    # Sequential keeps how it runs its stack per fusion mode; popping the ReLU off a
    # folded chain, or adding one back, must change what runs (and what comes out).
    model = Sequential([Input((6, 6, 2)), Conv2D(3, 3, padding="same"), BatchNormalization(),
                        Activation("relu")])
    _randomize_batch_norms(model)
    x = np.random.default_rng(4).standard_normal((2, 6, 6, 2)).astype(np.float32)
    calls = _count_folds(monkeypatch)
    np.testing.assert_allclose(model.predict(x, verbose=0), _reference(model, x), rtol=1e-4,
                               atol=1e-5)
    relu = model.pop()
    without = model.predict(x, verbose=0)
    assert (without < 0).any()  # (the ReLU no longer runs)
    np.testing.assert_allclose(without, _reference(model, x), rtol=1e-4, atol=1e-5)
    model.add(relu)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(without, 0), rtol=1e-4,
                               atol=1e-5)
    assert [with_relu for *_, with_relu in calls] == [True, False, True]
