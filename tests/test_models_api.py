"""Models and training (issue 5): the lecture snippets on real data, save -> load ->
predict for the three kinds of model, bit-identical resume, bad input, summary figures."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import hubel
from hubel.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, TerminateOnNaN
from hubel.layers import Concatenate, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from hubel.models import Model, Sequential, load_model

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402

DIGITS = load_digits()
_order = np.random.default_rng(0).permutation(len(DIGITS.target))  # writers mixed
X = (DIGITS.data[_order] / 16).astype(np.float32)
Y = DIGITS.target[_order]
ONEHOT = np.eye(10, dtype=np.float32)[Y]


def test_lecture_snippet_m1_sequential_on_digits():
    hubel.seed(0)
    model = Sequential()
    model.add(Dense(units=64, activation='relu', input_dim=64))
    model.add(Dense(units=10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    model.fit(X[:1400], ONEHOT[:1400], epochs=100, batch_size=32, verbose=0)
    loss, acc = model.evaluate(X[1400:], ONEHOT[1400:], batch_size=128)
    assert acc >= 0.90, acc


def test_lecture_snippet_m2_functional_on_digits():
    hubel.seed(0)
    inputs = Input(shape=(64,))
    x = Dense(64, activation='relu')(inputs)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(10, activation='softmax')(x)
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(X[:1400], ONEHOT[:1400], epochs=15, verbose=0)
    assert model.evaluate(X[1400:], ONEHOT[1400:])[1] >= 0.93


class TwoTower(Model):
    """A subclassed (define-by-run) model."""

    def __init__(self):
        super().__init__()
        self.a = Dense(16, activation="tanh")
        self.b = Dense(16, activation="relu")
        self.out = Dense(10)

    def call(self, x, training=False):
        return self.out(self.a(x) + self.b(x))


def _models():
    seq = Sequential([Dense(32, activation="relu"), Dropout(0.2), Dense(10)])
    seq(X[:2])
    a, b = Input(shape=(64,), name="pixels"), Input(shape=(3,), name="extra")
    h = Concatenate()([Dense(16, activation="relu")(a), b])
    func = Model(inputs=[a, b], outputs=[Dense(10)(h), Dense(1, activation="sigmoid")(h)])
    sub = TwoTower()
    sub(X[:2])
    cnn = Sequential([Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(2),
                      Flatten(), Dense(10)])
    cnn(X[:2].reshape(2, 8, 8, 1))
    return seq, func, sub, cnn


def test_save_load_predict_identical(tmp_path):
    seq, func, sub, cnn = _models()
    extra = np.random.default_rng(0).random((len(X), 3), dtype=np.float32)
    for model, x in [(seq, X), (cnn, X.reshape(-1, 8, 8, 1))]:
        model.save(tmp_path / "m.safetensors")
        again = load_model(tmp_path / "m.safetensors")
        np.testing.assert_array_equal(again.predict(x), model.predict(x))
    func.save(tmp_path / "f.safetensors")
    again = load_model(tmp_path / "f.safetensors")
    for u, v in zip(again.predict([X, extra]), func.predict([X, extra])):
        np.testing.assert_array_equal(u, v)
    sub.save(tmp_path / "s.safetensors")
    with pytest.raises(ValueError, match="subclassed model"):
        load_model(tmp_path / "s.safetensors")
    fresh = TwoTower()
    fresh(X[:1])
    fresh.load_weights(tmp_path / "s.safetensors")
    np.testing.assert_array_equal(fresh.predict(X), sub.predict(X))


def _train(epochs, resume_from=None, callbacks=()):
    hubel.seed(42)
    model = Sequential([Dense(32, activation="relu"), Dropout(0.3), Dense(10)])
    model.compile(optimizer=hubel.optimizers.Adam(0.01),
                  loss=hubel.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(X[:1])
    model.fit(X[:600], Y[:600], epochs=epochs, batch_size=50, verbose=0,
              resume_from=resume_from, callbacks=list(callbacks))
    return model


def test_resume_after_interrupt_is_bit_identical(tmp_path):
    straight = _train(3)
    # interrupted at an epoch boundary: a checkpoint after every epoch, the run stops after 1
    ckpt = tmp_path / "ckpt.safetensors"
    _train(1, callbacks=[ModelCheckpoint(ckpt, save_freq="epoch")])
    resumed = _train(3, resume_from=ckpt)
    for u, v in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(u, v)
    # interrupted mid-epoch: checkpoints every 5 steps (12 steps per epoch), stop after 17
    mid = tmp_path / "mid.safetensors"

    class Crash(hubel.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if self.model.trainer.epoch == 1 and step == 4:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(3, callbacks=[ModelCheckpoint(mid, save_freq=17), Crash()])
    resumed = _train(3, resume_from=mid)
    for u, v in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_bad_files_give_clear_errors(tmp_path):
    seq, *_ = _models()
    good = tmp_path / "good.safetensors"
    seq.save(good)
    data = good.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    corrupted = bytearray(data)
    corrupted[10:30] = b"\xff" * 20
    (tmp_path / "bad.safetensors").write_bytes(bytes(corrupted))
    (tmp_path / "text.safetensors").write_text("hello")
    for name in ["trunc", "bad", "text"]:
        with pytest.raises(ValueError, match=f"{name}.safetensors: not a readable"):
            load_model(tmp_path / f"{name}.safetensors")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "none.safetensors")


def test_unknown_layer_and_wrong_shapes(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    seq, *_ = _models()
    path = tmp_path / "m.safetensors"
    seq.save(path)
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    save_file(tensors, str(tmp_path / "u.safetensors"),
              metadata={**meta, "config": meta["config"].replace('"Dense"', '"Densse"')})
    with pytest.raises(ValueError, match="unknown layer class 'Densse'"):
        load_model(tmp_path / "u.safetensors")
    kernel = next(k for k in tensors if k.endswith("kernel"))
    tensors[kernel] = np.zeros((3, 3), np.float32)
    save_file(tensors, str(tmp_path / "w.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match=re.escape(f"weight '{kernel}' has shape (3, 3)")):
        load_model(tmp_path / "w.safetensors")


def test_bad_training_input_is_named():
    seq, *_ = _models()
    seq.compile(optimizer="sgd", loss=hubel.losses.SparseCategoricalCrossentropy(True))
    with pytest.raises(ValueError, match="x has 10 examples but y has 9"):
        seq.fit(X[:10], Y[:9], verbose=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        seq.fit(X[:10], np.full(10, 12), verbose=0)
    with pytest.raises(ValueError, match=r"Dense '.*': expected axis -1 of the input to have "
                                         r"size 64 .*got shape \(4, 5\)"):
        seq.predict(np.zeros((4, 5), np.float32))


def test_atomic_save_leaves_no_partial_file(tmp_path):
    seq, *_ = _models()
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(OSError):
            seq.save(locked / "m.safetensors")
        assert list(locked.iterdir()) == []
    finally:
        os.chmod(locked, 0o700)
    # a failing write (a tensor that cannot be saved) leaves nothing behind either
    target = tmp_path / "m.safetensors"
    seq.layers[0].kernel.data = seq.layers[0].kernel.data.astype(object)
    with pytest.raises(ValueError, match="only numeric"):
        seq.save(target)
    assert list(tmp_path.glob("*m.safetensors*")) == []


def test_no_pickle_in_hubel_io():
    root = Path(hubel.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
        for line in re.findall(r"torch\.load\(.*", text):
            assert "weights_only=True" in line, (path, line)


def test_callbacks_early_stopping_csv_and_nan(tmp_path):
    hubel.seed(0)
    model = Sequential([Dense(10)])
    model.compile(optimizer=hubel.optimizers.SGD(0.5),
                  loss=hubel.losses.SparseCategoricalCrossentropy(True), metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    hist = model.fit(X[:300], Y[:300], epochs=50, verbose=0, callbacks=[
        stop, CSVLogger(tmp_path / "log.csv")], validation_data=(X[1500:], Y[1500:]))
    assert len(hist.epoch) < 50 and stop.stopped_epoch is not None
    best = int(np.argmin(hist.history["val_loss"]))
    assert model.evaluate(X[1500:], Y[1500:])[0] == pytest.approx(
        hist.history["val_loss"][best], rel=1e-5)
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy,val_loss") and len(rows) == len(hist.epoch) + 1
    nan = TerminateOnNaN()
    bad = Sequential([Dense(10)])
    bad.compile(optimizer=hubel.optimizers.SGD(1e30),
                loss=hubel.losses.SparseCategoricalCrossentropy(True))
    hist = bad.fit(X[:300] * 1e20, Y[:300], epochs=5, verbose=0, callbacks=[nan])
    assert "loss became" in nan.message and "epoch 1, step" in nan.message


def test_metrics_match_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    p = rng.random((200, 4))
    pred = p.argmax(1)
    assert hubel.metrics.accuracy(y, p) == pytest.approx(skm.accuracy_score(y, pred))
    assert hubel.metrics.top_k_accuracy(y, p, 2) == pytest.approx(
        skm.top_k_accuracy_score(y, p, k=2))
    np.testing.assert_array_equal(hubel.metrics.confusion_matrix(y, p),
                                  skm.confusion_matrix(y, pred))
    s = hubel.metrics.precision_recall_f1(y, p)
    np.testing.assert_allclose(s["precision"], skm.precision_score(y, pred, average=None))
    np.testing.assert_allclose(s["recall"], skm.recall_score(y, pred, average=None))
    np.testing.assert_allclose(s["f1"], skm.f1_score(y, pred, average=None))


# The lecture's "VGGNet in detail" table (cs231n): the memory column per layer.
LECTURE_VGG16_MEMORY = [224 * 224 * 64] * 2 + [112 * 112 * 64] + [112 * 112 * 128] * 2 + [
    56 * 56 * 128] + [56 * 56 * 256] * 3 + [28 * 28 * 256] + [28 * 28 * 512] * 3 + [
    14 * 14 * 512] * 4 + [7 * 7 * 512, 7 * 7 * 512, 4096, 4096, 1000]


def test_vgg16_summary_matches_the_lecture_table():
    rows = hubel.zoo.vgg16().summary(as_data=True)
    weighted = [r for r in rows if r["type"] not in ("Dropout",)]
    assert sum(r["params"] for r in rows) == 138_357_544
    assert sum(r["macs"] for r in rows) == 15_470_264_320  # ≈ 15.5 G multiply-adds
    # every row's activations equal the lecture's memory column (Flatten repeats the
    # last pooling output, which the lecture does not list as a row)
    assert [r["activations"] for r in weighted] == LECTURE_VGG16_MEMORY
    total = sum(LECTURE_VGG16_MEMORY) - 7 * 7 * 512 + 224 * 224 * 3  # rows + input
    # The rows sum to 15.2 M values (≈ 61 MB in float32); the lecture's "TOTAL memory:
    # 24M * 4 bytes ~= 93MB" does not follow from its own rows (docs/models.md).
    assert round(total / 1e6, 1) == 15.2
