"""Facts the lectures state, checked: a perceptron cannot learn XOR, one hidden layer can;
with all-zero initial weights the hidden units never differ (symmetry), Glorot learns."""

import numpy as np

import hubel
from hubel.layers import Dense
from hubel.models import Sequential

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y = np.array([[0], [1], [1], [0]], np.float32)


def train(model, steps=2000, lr=0.5):
    model.compile(optimizer=hubel.optimizers.SGD(lr, momentum=0.9),
                  loss="binary_crossentropy")
    for _ in range(steps):
        model.train_on_batch(X, Y)
    return model.predict(X)


def test_perceptron_cannot_learn_xor_but_an_mlp_can():
    hubel.seed(0)
    p = train(hubel.zoo.perceptron((2,)))
    assert ((p > 0.5) == Y).mean() <= 0.75  # a line separates at most 3 of the 4 points
    hubel.seed(0)
    m = train(hubel.zoo.xor_mlp(hidden=4))
    assert ((m > 0.5) == Y).all()


def test_zero_initialization_keeps_hidden_units_identical():
    hubel.seed(1)
    zero = Sequential([Dense(4, activation="tanh", kernel_initializer="zeros"),
                       Dense(1, activation="sigmoid", kernel_initializer="zeros")])
    train(zero, steps=300)
    w = zero.layers[0].kernel.data
    assert np.allclose(w, w[:, :1])  # every hidden unit has the same weights
    hubel.seed(1)
    glorot = Sequential([Dense(4, activation="tanh"), Dense(1, activation="sigmoid")])
    p = train(glorot, steps=1500)
    assert not np.allclose(glorot.layers[0].kernel.data[:, 0], glorot.layers[0].kernel.data[:, 1])
    assert ((p > 0.5) == Y).all()
