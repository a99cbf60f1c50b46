"""Data sets: real MNIST and Fashion-MNIST (numbers from ../shared/data/README.md), the
search order, image folders, npz files, digits, toy problems."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hubel
from hubel.data import DataError, datasets, write_idx

MNIST_DIR = Path("/work/shared/data/mnist")
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
CIFAR_DIR = Path("/work/shared/data/cifar10")

needs_mnist = pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="no ../shared/data/mnist")
needs_fashion = pytest.mark.skipif(not FASHION_DIR.is_dir(),
                                   reason="apt-get install dataset-fashion-mnist")


@needs_mnist
def test_mnist_shapes_and_label_counts():
    (x_train, y_train), (x_test, y_test) = hubel.datasets.mnist(MNIST_DIR)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]
    assert abs(x_train.mean() - 33.318) < 1e-3 and abs(x_test.mean() - 33.791) < 1e-3


@needs_fashion
def test_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.delenv("HUBEL_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache
    ds = hubel.datasets.fashion_mnist(download=False)
    assert ds.source == str(FASHION_DIR)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def _fake_idx_dir(d: Path, n: int = 5, value: int = 0):
    d.mkdir(parents=True, exist_ok=True)
    write_idx(d / "train-images-idx3-ubyte.gz", np.full((n, 28, 28), value, np.uint8))
    write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    write_idx(d / "t10k-images-idx3-ubyte", np.full((2, 28, 28), value, np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte", np.arange(2, dtype=np.uint8))
    return d


def _no_checksums(monkeypatch, name="mnist"):
    source = datasets.SOURCES[name]
    free = {k: None for k in source.files}
    monkeypatch.setitem(datasets.SOURCES, name,
                        datasets.IdxSource(**{**source.__dict__, "files": free}))


def test_search_order_hubel_data_before_cache(monkeypatch, tmp_path):
    _no_checksums(monkeypatch)
    _fake_idx_dir(tmp_path / "env" / "mnist", value=1)
    _fake_idx_dir(tmp_path / "cache" / "hubel" / "mnist", value=2)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HUBEL_DATA", str(tmp_path / "env"))
    assert hubel.datasets.mnist(download=False).x_train[0, 0, 0] == 1
    monkeypatch.delenv("HUBEL_DATA")
    ds = hubel.datasets.mnist(download=False)
    assert ds.x_train[0, 0, 0] == 2 and "cache" in ds.source


def test_search_path_lists_the_documented_places(monkeypatch, tmp_path):
    monkeypatch.setenv("HUBEL_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths = [str(p) for p in datasets.search_path("fashion-mnist")]
    assert paths[0] == str(tmp_path / "env" / "fashion-mnist")
    assert str(tmp_path / "cache" / "hubel" / "fashion-mnist") in paths
    assert "/usr/share/datasets/fashion-mnist" in paths
    assert any(p.endswith("shared/data/fashion-mnist") for p in paths)
    assert paths.index(str(tmp_path / "cache" / "hubel" / "fashion-mnist")) < paths.index(
        "/usr/share/datasets/fashion-mnist")


def test_explicit_path_with_missing_files_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"no MNIST files there \(missing train-images"):
        hubel.datasets.mnist(tmp_path)


@needs_mnist
def test_corrupt_copy_is_named(tmp_path):
    for f in MNIST_DIR.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    labels = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    bad = labels[:100] + bytes([(labels[100] + 1) % 10]) + labels[101:]
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bad))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        hubel.datasets.mnist(tmp_path)


def test_unknown_data_set():
    with pytest.raises(DataError, match="unknown data set 'cifar100'"):
        hubel.datasets.load("cifar100")


@pytest.mark.skipif(not CIFAR_DIR.is_dir(), reason="no ../shared/data/cifar10")
def test_from_npz_cifar10_train200():
    ds = hubel.datasets.from_npz(CIFAR_DIR / "cifar10_train200.npz")
    assert ds.x_train.shape == (200, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert np.bincount(ds.y_train).tolist() == [14, 28, 22, 21, 19, 19, 18, 21, 15, 23]
    assert ds.y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert ds.x_train[0, 0, :10, 0].tolist() == [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]
    assert ds.class_names[6] == "frog" and len(ds.x_test) == 0


def test_from_npz_refuses_pickled_objects(tmp_path):
    np.savez(tmp_path / "evil.npz", images=np.array([{"a": 1}], dtype=object),
             labels=np.zeros(1))
    with pytest.raises(DataError, match="evil.npz: not a readable .npz"):
        hubel.datasets.from_npz(tmp_path / "evil.npz")


def test_from_npz_keras_layout(tmp_path):
    np.savez(tmp_path / "k.npz", x_train=np.zeros((3, 4, 4), np.uint8), y_train=[0, 1, 2],
             x_test=np.zeros((1, 4, 4), np.uint8), y_test=[2])
    (x, y), (xt, yt) = hubel.datasets.from_npz(tmp_path / "k.npz")
    assert x.shape == (3, 4, 4) and yt.tolist() == [2] and y.dtype == np.int64


def _write_folder(root: Path):
    colors = {"cats": (200, 30, 30), "dogs": (30, 30, 200)}
    for k, (name, color) in enumerate(colors.items()):
        (root / name).mkdir(parents=True)
        for i in range(5):
            size = (20 + i, 10 + 3 * i)  # any size: image_size resizes
            ext = ["png", "jpg", "jpeg", "bmp", "PNG"][i]
            Image.new("RGB", size, color).save(root / name / f"{k}{i}.{ext}")
    (root / "dogs" / "notes.txt").write_text("not an image")


def test_image_folder(tmp_path):
    _write_folder(tmp_path / "pets")
    ds = hubel.datasets.image_folder(tmp_path / "pets", image_size=(8, 6),
                                     validation_split=0.2, seed=1)
    assert ds.class_names == ("cats", "dogs")
    assert ds.x_train.shape == (8, 8, 6, 3) and ds.x_test.shape == (2, 8, 6, 3)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert np.bincount(y).tolist() == [5, 5]
    red = x[..., 0].mean(axis=(1, 2)) > 100  # every image is its class colour
    assert (red == (y == 0)).all()
    again = hubel.datasets.image_folder(tmp_path / "pets", image_size=(8, 6),
                                        validation_split=0.2, seed=1)
    assert np.array_equal(again.y_test, ds.y_test)
    gray = hubel.datasets.image_folder(tmp_path / "pets", (8, 6), color_mode="grayscale")
    assert gray.x_train.shape == (10, 8, 6, 1)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        hubel.datasets.image_folder(tmp_path / "missing")
    (tmp_path / "a").mkdir()
    with pytest.raises(DataError, match="no images found"):
        hubel.datasets.image_folder(tmp_path)
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken.png: cannot read image"):
        hubel.datasets.image_folder(tmp_path)


def test_digits_counts():
    pytest.importorskip("sklearn")
    ds = hubel.datasets.digits()
    y = np.concatenate([ds.y_train, ds.y_test])
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.x_train.dtype == np.uint8 and ds.x_train.max() == 255
    assert ds.x_train.shape[1:] == (8, 8)


def test_xor_and_spirals():
    x, y = hubel.datasets.xor()
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    x, y = hubel.datasets.xor(200, noise=0.05)
    assert x.shape == (200, 2) and np.all(np.abs(x - np.round(x)) < 0.3)
    assert np.array_equal(y, np.logical_xor(*np.round(x).T.astype(bool)).astype(int))
    x, y = hubel.datasets.spirals(50, classes=2)
    assert x.shape == (100, 2) and np.bincount(y).tolist() == [50, 50]
    # the two spirals are point reflections of each other (angle + π)
    assert np.allclose(x[:50], -x[50:], atol=1e-6)
    r = np.hypot(*x[:50].T)
    assert np.all(np.diff(r) > 0) and r[-1] == pytest.approx(1.0)


def test_seeded_generators_repeat():
    hubel.seed(3)
    a = hubel.datasets.spirals(20, noise=0.1)[0]
    hubel.seed(3)
    assert np.array_equal(a, hubel.datasets.spirals(20, noise=0.1)[0])

