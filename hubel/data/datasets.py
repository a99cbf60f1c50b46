"""Real data sets: MNIST, Fashion-MNIST, folders of images, ``.npz`` files, toy problems.

`mnist()` and `fashion_mnist()` read the original IDX files (gzip or raw) from the first
of these places that holds all four files:

1. the explicit ``path=`` (a directory; nothing else is searched then);
2. ``$HUBEL_DATA/<name>`` (``<name>`` is ``mnist`` or ``fashion-mnist``);
3. the per-user cache ``$XDG_CACHE_HOME/hubel/<name>`` (default ``~/.cache/hubel/<name>``);
4. the Debian package location ``/usr/share/datasets/<name>``
   (``apt-get install dataset-fashion-mnist``);
5. ``../shared/data/<name>`` and ``shared/data/<name>``, relative to the current directory
   and to the hubel source tree;

otherwise they download the files from the data set's official location into the cache.
Every file is checked against the sha256 of its decompressed content, so a re-gzipped
copy of the original is accepted and a corrupt or truncated one is named in the error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hubel.data.download import download
from hubel.data.errors import DataError
from hubel.data.idx import read_idx
from hubel.random import rng


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus class names; unpacks like Keras.

    ``(x_train, y_train), (x_test, y_test) = hubel.datasets.mnist()``. Images are uint8
    ``(N, H, W)`` or ``(N, H, W, C)``, labels int64. `source` says where it was read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str = ""
    source: str = ""

    def __iter__(self):
        yield (self.x_train, self.y_train)
        yield (self.x_test, self.y_test)

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        return ((self.x_train, self.y_train), (self.x_test, self.y_test))[i]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.num_classes} classes, from {self.source!r})")


# ---------------------------------------------------------------------------------------
# IDX data sets and where to find them
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdxSource:
    """What an IDX data set consists of: file names with the sha256 of their decompressed
    content, download locations (tried in order) and class names."""

    name: str
    title: str
    files: dict[str, str]
    urls: tuple[str, ...]
    class_names: tuple[str, ...]
    debian_package: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)


FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# sha256 of the decompressed files (see ../shared/data/README.md); the MD5s of the same
# bytes are the ones published by the data sets' authors.
SOURCES: dict[str, IdxSource] = {
    "mnist": IdxSource(
        name="mnist", title="MNIST",
        files=dict(zip(FILES, (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))),
        urls=("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": IdxSource(
        name="fashion-mnist", title="Fashion-MNIST",
        files=dict(zip(FILES, (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"))),
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                     "Shirt", "Sneaker", "Bag", "Ankle boot"),
        debian_package="dataset-fashion-mnist",
        aliases=("fashion_mnist",),
    ),
}

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/hubel`` or ``~/.cache/hubel``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hubel"


def search_path(name: str) -> list[Path]:
    """The directories searched for data set `name`, in order (path= excluded)."""
    source = SOURCES[name]
    names = (name, *source.aliases)
    dirs = []
    if os.environ.get("HUBEL_DATA"):
        dirs += [Path(os.environ["HUBEL_DATA"]) / n for n in names]
    dirs.append(cache_dir() / name)
    dirs.append(Path("/usr/share/datasets") / name)
    for base in (Path.cwd(), REPO_ROOT):
        for layout in ("../shared/data", "shared/data"):
            dirs += [(base / layout / n) for n in names]
    unique = []
    for d in dirs:
        d = Path(os.path.normpath(d))
        if d not in unique:
            unique.append(d)
    return unique


def _file_in(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def find(name: str) -> Path | None:
    """The first directory of `search_path(name)` holding all files of the data set."""
    for d in search_path(name):
        if all(_file_in(d, stem) for stem in SOURCES[name].files):
            return d
    return None


def fetch(name: str, directory: Path | None = None) -> Path:
    """Download the files of data set `name` into `directory` (default: the cache)."""
    source = SOURCES[name]
    directory = Path(directory) if directory is not None else cache_dir() / name
    for stem, sha256 in source.files.items():
        if _file_in(directory, stem):
            continue
        errors = []
        for base in source.urls:
            try:
                download(base + stem + ".gz", directory / f"{stem}.gz", sha256)
                break
            except DataError as e:
                errors.append(str(e))
        else:
            raise DataError(f"{source.title}: could not download {stem}.gz: "
                            + "; ".join(errors))
    return directory


def load_idx_dataset(name: str, path: str | Path | None = None,
                     download_missing: bool = True) -> Dataset:
    """Load an IDX data set by name from `path`, the search path, or a download."""
    name = name.lower().replace("_", "-")
    if name not in SOURCES:
        raise DataError(f"unknown data set {name!r} (known: {', '.join(SOURCES)})")
    source = SOURCES[name]
    if path is not None:
        directory = Path(path)
        missing = [s for s in source.files if not _file_in(directory, s)]
        if missing:
            raise DataError(f"{directory}: no {source.title} files there "
                            f"(missing {', '.join(m + '[.gz]' for m in missing)})")
    else:
        directory = find(name)
        if directory is None:
            if not download_missing:
                raise DataError(_not_found(source))
            try:
                directory = fetch(name)
            except DataError as e:
                raise DataError(f"{_not_found(source)}; {e}") from None
    arrays = [read_idx(_file_in(directory, stem), sha256)
              for stem, sha256 in source.files.items()]
    x_train, y_train, x_test, y_test = arrays
    return Dataset(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64),
                   source.class_names, name=name, source=str(directory))


def _not_found(source: IdxSource) -> str:
    hint = (f" (install it with: apt-get install {source.debian_package})"
            if source.debian_package else "")
    return (f"{source.title} not found in {', '.join(map(str, search_path(source.name)))}"
            f"{hint}")


def mnist(path: str | Path | None = None, download: bool = True) -> Dataset:
    """MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 uint8.

    ``(x_train, y_train), (x_test, y_test) = mnist()``; see the module docstring for
    where the files are looked for.
    """
    return load_idx_dataset("mnist", path, download)


def fashion_mnist(path: str | Path | None = None, download: bool = True) -> Dataset:
    """Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 60k/10k 28x28 uint8, 10 clothing classes."""
    return load_idx_dataset("fashion-mnist", path, download)


# ---------------------------------------------------------------------------------------
# Other sources: .npz files, folders of images, scikit-learn digits
# ---------------------------------------------------------------------------------------

def from_npz(path: str | Path) -> Dataset:
    """Image/label arrays from an ``.npz`` file (never unpickled).

    Keys: ``images``, ``labels`` (and optionally ``class_names``): all in the training
    part, the test part is empty; or ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if {"x_train", "y_train"} <= arrays.keys():
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        x_test = arrays.get("x_test", x_train[:0])
        y_test = arrays.get("y_test", y_train[:0])
    elif {"images", "labels"} <= arrays.keys():
        x_train, y_train = arrays["images"], arrays["labels"]
        x_test, y_test = x_train[:0], y_train[:0]
    else:
        raise DataError(f"{path}: expected keys images/labels or x_train/y_train, "
                        f"found {sorted(arrays)}")
    if "class_names" in arrays:
        names = tuple(str(c) for c in arrays["class_names"])
    else:
        names = tuple(str(c) for c in range(int(max(y_train.max(initial=-1),
                                                    y_test.max(initial=-1))) + 1))
    return Dataset(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64),
                   names, name=path.stem, source=str(path))


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def load_image(path: str | Path, image_size: tuple[int, int] | None = None,
               color_mode: str = "rgb") -> np.ndarray:
    """One image file as a uint8 array (H, W, C), converted to `color_mode` and resized
    (bilinear) to `image_size` = (height, width) if given."""
    from PIL import Image, UnidentifiedImageError

    if color_mode not in COLOR_MODES:
        raise DataError(f"color_mode must be one of {list(COLOR_MODES)}, got {color_mode!r}")
    path = Path(path)
    try:
        with Image.open(path) as img:
            img = img.convert(COLOR_MODES[color_mode])
            if image_size is not None and img.size != (image_size[1], image_size[0]):
                img = img.resize((image_size[1], image_size[0]), Image.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None
    return array.reshape(array.shape[0], array.shape[1], -1)


def image_folder(root: str | Path, image_size: tuple[int, int] | None = (256, 256),
                 validation_split: float = 0.0, color_mode: str = "rgb",
                 seed: int | None = None) -> Dataset:
    """Images in ``root/<class>/*.{png,jpg,jpeg,bmp}``, one folder per class (Keras'
    ``image_dataset_from_directory``), as uint8 (N, H, W, C).

    Classes are the sorted folder names. A shuffled `validation_split` fraction goes to
    ``x_test``/``y_test``; the shuffle uses ``np.random.default_rng(seed)`` when `seed` is
    given (the same split whatever the global seed), else ``hubel.random.rng()``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    if not 0.0 <= validation_split < 1.0:
        raise DataError(f"validation_split must be in [0, 1), got {validation_split}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*")
                       if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        files += found
        labels += [label] * len(found)
    if not files:
        raise DataError(f"{root}: no images found (expected {root}/<class>/*.png|jpg|jpeg|bmp)")
    images = [load_image(p, image_size, color_mode) for p in files]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise DataError(f"{root}: images have different sizes {sorted(shapes)[:3]}...; "
                        f"pass image_size=(height, width)")
    x, y = np.stack(images), np.asarray(labels, np.int64)
    generator = np.random.default_rng(seed) if seed is not None else rng()
    order = generator.permutation(len(x))
    n_val = int(round(validation_split * len(x)))
    val, train = order[:n_val], order[n_val:]
    return Dataset(x[train], y[train], x[val], y[val], tuple(classes),
                   name=root.name, source=str(root))


def digits(test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's 8x8 digits (UCI optical recognition, 1,797 images), scaled to uint8
    0..255 (from 0..16); the last `test_fraction` of the examples is the test part."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("digits() needs scikit-learn: pip install scikit-learn") from None
    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    y = d.target.astype(np.int64)
    n_test = int(round(test_fraction * len(x)))
    cut = len(x) - n_test
    return Dataset(x[:cut], y[:cut], x[cut:], y[cut:], tuple(str(i) for i in range(10)),
                   name="digits", source="sklearn.datasets.load_digits")


# ---------------------------------------------------------------------------------------
# The lectures' toy problems
# ---------------------------------------------------------------------------------------

def xor(n: int | None = None, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the four points (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0; with `n`, n
    points drawn around the corners with Gaussian `noise` (from ``hubel.random.rng()``).

    Shape: x (N, 2) float32, y (N,) int64.
    """
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    labels = np.array([0, 1, 1, 0], np.int64)
    if n is None:
        return corners, labels
    pick = rng().integers(0, 4, size=n)
    x = corners[pick] + rng().normal(0.0, noise, size=(n, 2))
    return x.astype(np.float32), labels[pick]


def spirals(n_per_class: int = 100, classes: int = 2, turns: float = 1.5,
            noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The two-spiral problem (Lang & Witbrock 1988), or `classes` interleaved spirals.

    Point i of class k: radius r = t, angle θ = 2π·turns·t + 2πk/classes, t ∈ (0, 1];
    plus Gaussian `noise`. Shape: x (classes·n_per_class, 2) float32, y int64.
    """
    t = np.linspace(0.0, 1.0, n_per_class + 1)[1:]
    xs, ys = [], []
    for k in range(classes):
        theta = 2 * np.pi * turns * t + 2 * np.pi * k / classes
        xs.append(np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1))
        ys.append(np.full(n_per_class, k, np.int64))
    x = np.concatenate(xs)
    if noise:
        x = x + rng().normal(0.0, noise, size=x.shape)
    return x.astype(np.float32), np.concatenate(ys)


def load(name: str, path: str | Path | None = None, download: bool = True) -> Dataset:
    """A data set by name: ``mnist``, ``fashion-mnist``, ``digits``, a ``.npz`` file or a
    folder of images (``root/<class>/*``)."""
    key = name.lower().replace("_", "-")
    if key in SOURCES:
        return load_idx_dataset(key, path, download)
    if key == "digits":
        return digits()
    p = Path(name)
    if p.suffix == ".npz":
        return from_npz(p)
    if p.is_dir():
        return image_folder(p, image_size=None)
    raise DataError(f"unknown data set {name!r} (known: {', '.join(SOURCES)}, digits, "
                    f"a .npz file or a folder of class folders)")
