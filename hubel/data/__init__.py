"""Data: real data sets, mini-batching, normalization and augmentation (SPEC D1, D2).

The table of contents of ``hubel.data``; the data sets are also at ``hubel.datasets``.
"""

from hubel.data import augment
from hubel.data.augment import (
    Compose,
    ElasticDistortion,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomShift,
)
from hubel.data.datasets import (
    Dataset,
    cache_dir,
    digits,
    fashion_mnist,
    from_npz,
    image_folder,
    load,
    load_image,
    mnist,
    spirals,
    xor,
)
from hubel.data.download import download
from hubel.data.errors import DataError
from hubel.data.idx import read_idx, write_idx
from hubel.data.loader import DataLoader
from hubel.data.normalize import Normalize, Preprocessing, as_images, channel_stats, to_float

__all__ = [
    "augment", "Compose", "ElasticDistortion", "RandomCrop", "RandomFlip", "RandomRotation",
    "RandomShift", "Dataset", "cache_dir", "digits", "fashion_mnist", "from_npz",
    "image_folder", "load", "load_image", "mnist", "spirals", "xor", "download", "DataError",
    "read_idx", "write_idx", "DataLoader", "Normalize", "Preprocessing", "as_images",
    "channel_stats", "to_float",
]
