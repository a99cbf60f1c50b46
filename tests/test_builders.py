"""hubel.models.builders: the lecture's Caffe-style helpers and the architecture grammar."""

import numpy as np
import pytest

import hubel
from hubel.layers import Activation, Conv2D, Dense, Flatten, Input, MaxPooling2D
from hubel.models import Model
from hubel.models.builders import build_convnet, conv_relu, filler, max_pool


def test_conv_relu_is_the_lectures_alexnet_first_layer():
    hubel.seed(0)
    data = Input((227, 227, 3))
    conv1, relu1 = conv_relu(data, 11, 96, stride=4, name="conv1")
    pool1 = max_pool(relu1, 3, stride=2)
    model = Model(data, [conv1, relu1, pool1])
    assert conv1.shape == relu1.shape == (None, 55, 55, 96)
    assert pool1.shape == (None, 27, 27, 96)
    layer = model.get_layer("conv1")
    # the lecture's fillers: weights gaussian σ 0.01, biases constant 0.1
    assert abs(layer.kernel.data.std() - 0.01) < 5e-4 and abs(layer.kernel.data.mean()) < 5e-4
    np.testing.assert_array_equal(layer.bias.data, np.float32(0.1))
    x = np.random.default_rng(0).standard_normal((1, 227, 227, 3)).astype(np.float32)
    c, r, _ = model.predict(x)
    np.testing.assert_array_equal(r, np.maximum(c, 0))


def test_caffe_fillers():
    rng_shape = (3, 3, 64, 64)  # fan_in 576
    hubel.seed(1)
    xavier = filler({"type": "xavier"})(rng_shape)
    msra = filler({"type": "msra"})(rng_shape)
    assert abs(np.var(xavier) - 1 / 576) < 0.1 / 576
    assert abs(np.var(msra) - 2 / 576) < 0.1 * 2 / 576
    u = filler({"type": "uniform", "min": -2, "max": 3})((10000,))
    assert u.min() >= -2 and u.max() <= 3 and abs(u.mean() - 0.5) < 0.05
    with pytest.raises(ValueError, match="unknown Caffe filler type 'bilinearx'"):
        filler({"type": "bilinearx"})


@pytest.mark.parametrize("size, ks, stride", [(6, 3, 2), (7, 3, 2), (13, 3, 2), (8, 2, 2),
                                              (10, 3, 3)])
def test_max_pool_rounds_up_like_caffe(size, ks, stride):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, size, size, 4)).astype(np.float32)
    inp = Input((size, size, 4))
    model = Model(inp, max_pool(inp, ks, stride))
    want = torch.nn.functional.max_pool2d(torch.tensor(x.transpose(0, 3, 1, 2)), ks, stride,
                                          ceil_mode=True).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(model.predict(x), want)


def test_build_convnet_follows_the_grammar():
    model = build_convnet((32, 32, 3), 10, N=2, M=3, K=2, filters=16, fc_units=(64, 32))
    kinds = [type(layer) for layer in model.layers]
    block = [Conv2D, Conv2D, MaxPooling2D]
    assert kinds == block * 3 + [Flatten, Dense, Dense, Dense]
    assert [layer.filters for layer in model.layers if isinstance(layer, Conv2D)] == [
        16, 16, 32, 32, 64, 64]
    assert model.predict(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 10)
    # parameters by hand: convs, then FC 4·4·64 -> 64 -> 32 -> 10
    convs = (27 * 16 + 16) + (144 * 16 + 16) + (144 * 32 + 32) + (288 * 32 + 32) + (
        288 * 64 + 64) + (576 * 64 + 64)
    fcs = (1024 * 64 + 64) + (64 * 32 + 32) + (32 * 10 + 10)
    assert sum(w.data.size for w in model.trainable_weights) == convs + fcs
    bn = build_convnet((8, 8, 1), 3, N=1, M=1, K=0, batch_norm=True, pool=False)
    assert [type(layer).__name__ for layer in bn.layers] == [
        "Conv2D", "BatchNormalization", "Activation", "Flatten", "Dense"]
    assert isinstance(bn.layers[2], Activation)
    with pytest.raises(ValueError, match="need M=2 conv counts"):
        build_convnet((8, 8, 1), 3, N=[1, 2, 3], M=2)


def test_a_built_convnet_learns_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target
    hubel.seed(0)
    model = build_convnet((8, 8, 1), 10, N=1, M=2, K=1, filters=16, fc_units=64)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=8, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x[1400:], y[1400:], verbose=0)
    assert accuracy > 0.9, accuracy
