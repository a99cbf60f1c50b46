"""The traced training step (compile(jit_compile=True)) against the eager step, the
reference path: same losses and same weights after training, step by step."""

import warnings

import numpy as np
import pytest

import hubel
from hubel import random as hrandom
from hubel.layers import (
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    Layer,
    MaxPooling2D,
)
from hubel.models import Model, Sequential

RNG = np.random.default_rng(0)


def _twins(build, jit_kwargs=None, optimizer=lambda: hubel.optimizers.SGD(0.05, momentum=0.9),
           loss="sparse_categorical_crossentropy", metrics=None):
    """An eager model and a jit_compile=True copy of it with the same weights."""
    eager, jit = build(), build()
    jit.set_weights(eager.get_weights())
    eager.compile(optimizer=optimizer(), loss=loss, metrics=metrics)
    jit.compile(optimizer=optimizer(), loss=loss, metrics=metrics, jit_compile=True)
    return eager, jit


def _train_both(eager, jit, batches, seed=3):
    logs = []
    for model in (eager, jit):
        hrandom.seed(seed)
        logs.append([model.train_on_batch(x, y) for x, y in batches])
    return logs


def _assert_same(eager, jit, logs, rtol=1e-5, atol=1e-6):
    for a, b in zip(*logs):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol)
    for a, b in zip(eager.get_weights(), jit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _lenet_like():
    model = Sequential([Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(2),
                        Conv2D(6, 3, activation="relu", kernel_regularizer="l2"),
                        BatchNormalization(), Flatten(), Dropout(0.3), Dense(16, activation="relu"),
                        Dense(5)])
    model.build((None, 10, 10, 1))
    return model


def test_replay_equals_the_eager_step_with_norm_dropout_and_penalty():
    eager, jit = _twins(_lenet_like, loss=hubel.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    batches = [(RNG.standard_normal((8, 10, 10, 1)).astype(np.float32),
                RNG.integers(0, 5, 8)) for _ in range(6)]
    logs = _train_both(eager, jit, batches)
    assert jit.trainer.traced.recordings, "the step was never replayed"
    assert not jit.trainer.traced.given_up
    _assert_same(eager, jit, logs)
    # the running statistics of batch norm moved in the replayed steps too
    bn = [la for la in jit.layers if isinstance(la, BatchNormalization)][0]
    assert not np.allclose(bn.moving_mean.data, 0)


def test_the_replay_computes_new_gradients_every_step():
    # the same batch, replayed: the loss keeps falling, so the update is not frozen
    # (softmax probabilities and the loss's default: −log p[y])
    eager, jit = _twins(lambda: Sequential([Dense(32, activation="relu"),
                                            Dense(3, activation="softmax")]))
    x, y = RNG.standard_normal((16, 6)).astype(np.float32), RNG.integers(0, 3, 16)
    logs = _train_both(eager, jit, [(x, y)] * 12)
    assert jit.trainer.traced.recordings and not jit.trainer.traced.given_up
    assert logs[1][-1]["loss"] < logs[1][3]["loss"] < logs[1][0]["loss"]
    _assert_same(eager, jit, logs)
    # SGD updated the weights inside the backward pass, as their gradients were made
    rec = next(iter(jit.trainer.traced.recordings.values()))
    assert len(rec.in_backward) == 4  # both layers' kernels and biases
    assert all(w.grad is None for w in jit.trainable_weights)


@pytest.mark.parametrize("optimizer", [
    lambda: hubel.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: hubel.optimizers.SGD(0.1),
    lambda: hubel.optimizers.SGD(0.05, momentum=0.9, clipnorm=0.5),  # (after backward)
    lambda: hubel.optimizers.Adam(0.01),  # (after backward: Adam does not opt in)
])
def test_updates_in_the_backward_pass_equal_the_updates_after_it(optimizer):
    def build():
        model = Sequential([Dense(48, activation="relu"), Dense(40, activation="relu"),
                            Dense(4)])
        model.build((None, 300))  # (the first layer's gradient on the threads, in blocks)
        return model

    eager, jit = _twins(build, optimizer=optimizer)
    batches = [(RNG.standard_normal((64, 300)).astype(np.float32), RNG.integers(0, 4, 64))
               for _ in range(6)]
    logs = _train_both(eager, jit, batches)
    _assert_same(eager, jit, logs)
    opt = jit.trainer.optimizer
    in_backward = opt.in_backward(jit.trainable_weights[0], 0.1) is not None
    assert in_backward == (isinstance(opt, hubel.optimizers.SGD) and not opt.clipnorm)
    assert all((w.grad is None) == in_backward for w in jit.trainable_weights)
    for a, b in zip(eager.trainer.optimizer.state_dict()["slots"].values(),
                    opt.state_dict()["slots"].values()):
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_a_weight_two_ops_read_is_updated_after_the_backward_pass():
    """A layer called twice, and a kernel with a penalty: its weight is read by more than
    one op, so no backward may update it early (the other op would read the new value)."""
    def build():
        x = Input(shape=(6,))
        shared = Dense(6, activation="relu")
        h = shared(shared(x))
        return Model(x, Dense(3, kernel_regularizer="l2")(h))

    eager, jit = _twins(build)
    batches = [(RNG.standard_normal((8, 6)).astype(np.float32), RNG.integers(0, 3, 8))
               for _ in range(5)]
    logs = _train_both(eager, jit, batches)
    _assert_same(eager, jit, logs)
    rec = next(iter(jit.trainer.traced.recordings.values()))
    assert [w.shape for _, _, w in rec.in_backward] == [(3,)]  # only the last bias
    assert sum(w.grad is None for w in jit.trainable_weights) == 1


def test_fit_with_a_smaller_last_batch_and_other_losses():
    x, y = RNG.standard_normal((50, 6)).astype(np.float32), RNG.standard_normal((50, 2))
    eager, jit = _twins(lambda: Sequential([Dense(8, activation="tanh"), Dense(2)]),
                        optimizer=lambda: hubel.optimizers.Adam(0.01), loss="mse")
    for model in (eager, jit):
        hrandom.seed(5)
        model.fit(x, y.astype(np.float32), batch_size=16, epochs=3, verbose=0)
    assert len(jit.trainer.traced.recordings) == 2  # batches of 16 and the last of 2
    for a, b in zip(eager.get_weights(), jit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_loaded_weights_are_used_by_the_replay():
    eager, jit = _twins(lambda: Sequential([Dense(8, activation="relu"), Dense(3)]))
    x, y = RNG.standard_normal((8, 4)).astype(np.float32), RNG.integers(0, 3, 8)
    _train_both(eager, jit, [(x, y)] * 4)
    fresh = [RNG.standard_normal(w.shape).astype(np.float32) for w in eager.get_weights()]
    eager.set_weights(fresh)
    jit.set_weights(fresh)
    logs = _train_both(eager, jit, [(x, y)] * 3)
    _assert_same(eager, jit, logs)


def test_a_functional_model_with_two_inputs():
    def build():
        a, b = Input(shape=(5,)), Input(shape=(5,))
        h = Add()([Dense(7, activation="relu")(a), Dense(7)(b)])
        return Model([a, b], Dense(3)(h))

    eager, jit = _twins(build)
    batches = [([RNG.standard_normal((6, 5)).astype(np.float32) for _ in range(2)],
                RNG.integers(0, 3, 6)) for _ in range(5)]
    logs = _train_both(eager, jit, batches)
    assert jit.trainer.traced.recordings
    _assert_same(eager, jit, logs)


class _HandMadeNoise(Layer):
    """Adds noise drawn in Python outside any op: a constant that changes every step."""

    def call(self, x):
        return x + hubel.tensor(hrandom.rng().standard_normal(x.shape).astype(np.float32))


def test_a_step_it_cannot_replay_stays_eager_and_says_so():
    eager, jit = _twins(lambda: Sequential([Dense(8), _HandMadeNoise(), Dense(3)]))
    batches = [(RNG.standard_normal((4, 3)).astype(np.float32), RNG.integers(0, 3, 4))
               for _ in range(8)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logs = _train_both(eager, jit, batches)
    assert jit.trainer.traced.given_up and not jit.trainer.traced.recordings
    assert any("jit_compile=True cannot trace" in str(w.message) for w in caught)
    _assert_same(eager, jit, logs)


def test_compile_rejects_unknown_options():
    model = Sequential([Dense(2)])
    with pytest.raises(TypeError):
        model.compile(optimizer="sgd", loss="mse", jit_compiled=True)


def test_the_replay_does_not_hold_last_steps_gradients_through_the_next():
    """Peak memory of a replayed step (tracemalloc: NumPy reports its arrays) is the eager
    step's: the previous step's weight gradients are dropped before the step, as eager
    drops them, instead of living on until the new ones replace them."""
    import tracemalloc

    def build():
        hubel.seed(0)
        return Sequential([Dense(1024, activation="relu"), Dense(1024, activation="relu"),
                           Dense(10)])

    eager, jit = _twins(build)
    x = RNG.standard_normal((8, 1024)).astype(np.float32)
    y = RNG.integers(0, 10, 8)
    peaks = {}
    for name, model in (("eager", eager), ("jit", jit)):
        for _ in range(4):  # (jit: two recorded eager steps, then replays)
            model.train_on_batch(x, y)
        tracemalloc.start()  # (from a step before: its gradients are traced)
        try:
            base = tracemalloc.get_traced_memory()[0]
            model.train_on_batch(x, y)
            tracemalloc.reset_peak()
            model.train_on_batch(x, y)
            peaks[name] = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert jit.trainer.traced.recordings
    grads = sum(w.size * 4 for w in jit.get_weights())  # 8.4 MB of float32 gradients
    assert peaks["jit"] < peaks["eager"] + grads / 4, peaks
