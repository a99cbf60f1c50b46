"""The `hubel` command as a shell user meets it: a small real training run, predict on PNG
and JPEG files agreeing with model.predict, evaluate, summary, and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hubel.data import datasets
from hubel.data.errors import DataError

PY = [sys.executable, "-m", "hubel.cli.main"]


def run(*args, check=True, cwd=None):
    out = subprocess.run([*PY, *map(str, args)], capture_output=True, text=True, timeout=600,
                         cwd=cwd)
    if check and out.returncode != 0:
        raise AssertionError(f"exit {out.returncode}: {out.stderr[-2000:]}")
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    try:
        datasets.mnist()
    except DataError:
        pytest.skip("MNIST is not available here")
    out = tmp_path_factory.mktemp("run")
    run("train", "--model", "lenet5", "--data", "mnist", "--epochs", "2", "--limit", "3000",
        "--out", out, "--verbose", "0", "--threads", "1")
    return out


def test_train_writes_models_metrics_and_result(trained):
    for name in ["best.safetensors", "last.safetensors", "metrics.csv", "result.json"]:
        assert (trained / name).exists(), name
    result = json.loads((trained / "result.json").read_text())
    assert result["test_accuracy"] > 0.8  # 2 epochs on 2,700 MNIST digits
    rows = (trained / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy") and len(rows) == 3
    # cosine decay over 2 epochs from Adam's 1e-3: ½(1 + cos(π·e/2))·1e-3 = 1e-3, 5e-4
    lrs = [float(r.split(",")[rows[0].split(",").index("lr")]) for r in rows[1:]]
    assert lrs == pytest.approx([1e-3, 5e-4])
    assert not list(trained.glob(".*tmp*")), "a temporary file was left behind"


def test_predict_on_png_and_jpeg_matches_model_predict(trained, tmp_path):
    from PIL import Image

    from hubel.cli.main import prepare
    from hubel.models import load_model, read_metadata

    ds = datasets.mnist()
    images = ds.x_test[:6]
    paths = []
    for i, img in enumerate(images):
        # JPEG at quality 100 (almost lossless), PNG exact; a larger RGB file is resized
        if i % 3 == 0:
            p = tmp_path / f"digit{i}.png"
            Image.fromarray(img).save(p)
        elif i % 3 == 1:
            p = tmp_path / f"digit{i}.jpg"
            Image.fromarray(img).save(p, quality=100)
        else:
            p = tmp_path / f"digit{i}_big.png"
            Image.fromarray(img).resize((56, 56), Image.NEAREST).convert("RGB").save(p)
        paths.append(p)
    out = run("predict", trained / "best.safetensors", *paths, "--top-k", "1").stdout
    model = load_model(trained / "best.safetensors")
    pre = read_metadata(trained / "best.safetensors")["preprocessing"]
    want = model.predict(prepare(images, pre)).argmax(axis=1)
    names = pre["class_names"]
    got = [line.split(": ", 1)[1].split()[0] for line in out.strip().splitlines()]
    assert got == [names[k] for k in want]


def test_evaluate_and_summary(trained):
    out = run("evaluate", trained / "best.safetensors", "--data", "mnist", "--limit",
              "500").stdout
    assert "accuracy" in out and "top-5 accuracy" in out and "confusion matrix" in out
    assert "61,706" in run("summary", "lenet5").stdout
    assert "61,706" in run("summary", trained / "best.safetensors").stdout


def test_resume_continues_the_run(trained):
    run("train", "--model", "lenet5", "--data", "mnist", "--epochs", "3", "--limit", "3000",
        "--out", trained, "--verbose", "0", "--threads", "1", "--resume")
    rows = (trained / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]


@pytest.mark.parametrize("args, message", [
    (["predict", "missing.safetensors", "x.png"], "missing.safetensors: no such model file"),
    (["summary", "nosuchnet"], "unknown model 'nosuchnet'"),
    (["train", "--data", "nosuchdata", "--out", "OUT"], "unknown data set 'nosuchdata'"),
    (["summary", "README.md"], "README.md: not a readable .safetensors model file"),
    (["train", "--data", "digits", "--augment", "shift,zoom", "--out", "OUT"],
     "--augment: unknown kind zoom"),
])
def test_errors_are_one_line_without_traceback(args, message, tmp_path):
    args = [str(tmp_path / "o") if a == "OUT" else a for a in args]
    out = run(*args, check=False, cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_unreadable_image(trained, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    out = run("predict", trained / "best.safetensors", bad, check=False)
    assert out.returncode == 1 and "bad.png: cannot read image" in out.stderr
    assert "Traceback" not in out.stderr
    np.testing.assert_equal(len(out.stderr.strip().splitlines()), 1)


def test_augmentation_brings_in_black_not_the_mean():
    """--augment deforms raw pixels and then normalizes: a shifted-in border is the
    normalized value of black, as in the test images (normalizing first would fill with 0,
    the data set's mean)."""
    from hubel.cli.main import augmented_batches
    from hubel.data.normalize import Preprocessing

    x = np.zeros((16, 12, 12), np.uint8)
    x[:, 4:8, 4:8] = 255
    pre = Preprocessing.fit(x)
    (xb, yb), = list(augmented_batches(x, np.arange(16), pre, "shift,rotate", 16))
    black, white = pre(np.array([[[0, 255]]], np.uint8))[0, 0, :, 0]
    assert black < -0.1  # the mean is well above black here
    border = np.concatenate([xb[:, 0, :, 0], xb[:, -1, :, 0], xb[:, :, 0, 0], xb[:, :, -1, 0]])
    np.testing.assert_allclose(border, black, atol=1e-6)
    assert xb.shape == (16, 12, 12, 1) and xb.max() > 0.5 * white
    assert sorted(yb.tolist()) == list(range(16))
