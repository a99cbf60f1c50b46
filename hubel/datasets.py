"""``hubel.datasets``: the data sets of ``hubel.data`` under the Keras-style name.

``(x_train, y_train), (x_test, y_test) = hubel.datasets.fashion_mnist()``
"""

from hubel.data.datasets import (
    Dataset,
    cache_dir,
    digits,
    fashion_mnist,
    from_npz,
    image_folder,
    load,
    mnist,
    search_path,
    spirals,
    xor,
)
from hubel.data.errors import DataError

__all__ = ["Dataset", "DataError", "cache_dir", "digits", "fashion_mnist", "from_npz",
           "image_folder", "load", "mnist", "search_path", "spirals", "xor"]
