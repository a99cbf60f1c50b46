"""Dense, Dropout, Activation and the Layer lifecycle: lazy build, explicit sizes,
weights in Keras order, freezing, regularization, config round trips, errors."""

import numpy as np
import pytest

import hubel
from hubel.layers import Activation, Dense, Dropout

torch = pytest.importorskip("torch")


def test_dense_matches_torch_linear():
    rng = np.random.default_rng(0)
    d = Dense(5, activation="tanh")
    x = rng.standard_normal((4, 3)).astype(np.float32)
    hx = hubel.Tensor(x, requires_grad=True)
    y = d(hx)
    lin = torch.nn.Linear(3, 5)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(d.kernel.data.T))
        lin.bias.copy_(torch.tensor(d.bias.data))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tanh(lin(tx))
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(hx.grad, tx.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(d.kernel.grad, lin.weight.grad.numpy().T, atol=1e-5)


def test_lifecycle_weights_config_and_freezing():
    d = Dense(4, input_dim=3, name="fc")
    assert not d.built
    d.build((None, 3))
    assert [w.name for w in d.weights] == ["fc/kernel", "fc/bias"]
    assert d.count_params() == 16 and d.get_weights()[0].shape == (3, 4)
    d.set_weights([np.ones((3, 4)), np.zeros(4)])
    assert d(np.ones((1, 3), np.float32)).tolist() == [[3.0, 3.0, 3.0, 3.0]]
    with pytest.raises(ValueError, match=r"weight 'fc/kernel' has shape \(3, 4\), got"):
        d.set_weights([np.ones((2, 4)), np.zeros(4)])
    again = Dense.from_config(d.get_config())
    assert again.get_config() == d.get_config()
    d.trainable = False
    assert d.trainable_weights == [] and not d.kernel.requires_grad
    assert "Dense(units=4" in repr(d)


def test_wrong_input_shape_names_the_layer():
    d = Dense(2, name="head")
    d(np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError, match=r"Dense 'head': expected axis -1 of the input to "
                                         r"have size 5.*got shape \(1, 4\)"):
        d(np.zeros((1, 4), np.float32))


def test_regularizers_add_their_penalty():
    d = Dense(2, kernel_regularizer=hubel.regularizers.l2(0.5),
              bias_regularizer=hubel.regularizers.l1(0.25), bias_initializer="ones")
    d(np.zeros((1, 3), np.float32))
    want = 0.5 * (d.kernel.data ** 2).sum() + 0.25 * 2
    assert sum(p.item() for p in d.losses) == pytest.approx(want, rel=1e-6)


def test_dropout_inverted_scaling_only_in_training():
    hubel.seed(0)
    x = np.ones((200, 100), np.float32)
    drop = Dropout(0.25)
    y = drop(x, training=True).data
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert np.array_equal(drop(x).data, x)
    assert Activation("relu")(np.array([-1.0, 2.0], np.float32)).tolist() == [0.0, 2.0]
