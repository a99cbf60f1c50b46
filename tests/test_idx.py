"""The IDX reader: header validation, gzip or raw, clear errors naming the file."""

import gzip

import numpy as np
import pytest

from hubel.data import DataError, read_idx, write_idx
from hubel.data.idx import idx_bytes, parse_idx

MNIST_LABELS = "/work/shared/data/mnist/t10k-labels-idx1-ubyte.gz"


def test_header_bytes_follow_the_published_format():
    # LeCun's page: magic 0x00000803 for images, sizes as big-endian uint32
    data = idx_bytes(np.zeros((2, 3, 4), np.uint8))
    assert data[:4] == bytes([0, 0, 8, 3])
    assert data[4:16] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big")
    assert len(data) == 16 + 24


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip_gzip_and_raw(tmp_path, dtype, name):
    x = (np.arange(60).reshape(3, 4, 5) - 20).astype(dtype)
    write_idx(tmp_path / name, x)
    y = read_idx(tmp_path / name)
    assert y.dtype == np.dtype(dtype) and np.array_equal(x, y)


def test_real_mnist_labels_and_checksum():
    y = read_idx(MNIST_LABELS,
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")
    assert y.shape == (10000,) and y.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_checksum_mismatch_names_the_file():
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        read_idx(MNIST_LABELS, "0" * 64)


def test_truncated_raw_file(tmp_path):
    p = tmp_path / "short-idx3-ubyte"
    p.write_bytes(idx_bytes(np.zeros((10, 4, 4), np.uint8))[:-5])
    with pytest.raises(DataError, match=r"short-idx3-ubyte: truncated IDX file.*\(10, 4, 4\)"):
        read_idx(p)


def test_truncated_gzip_file(tmp_path):
    p = tmp_path / "cut.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))[:-30])
    with pytest.raises(DataError, match=r"cut.gz: corrupt or truncated gzip"):
        read_idx(p)


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "only 2 bytes"),
    (b"\x12\x34\x08\x01\x00\x00\x00\x01\x00", "bad magic number 0x12340801"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "bad magic number"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00", "too long IDX file"),
])
def test_invalid_headers(data, message):
    with pytest.raises(DataError, match=message):
        parse_idx(data, "x.idx")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DataError, match=r"nope.gz: cannot read"):
        read_idx(tmp_path / "nope.gz")
