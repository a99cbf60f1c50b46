"""The IDX file format of MNIST and Fashion-MNIST: read (gzip or raw) and write.

An IDX file is a big-endian header, then raw data:
``0x00 0x00 <type code> <ndim>`` then ``ndim`` uint32 sizes, then ``prod(sizes)`` items.
Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from hubel.data.errors import DataError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path) -> bytes:
    """The content of a file, decompressed if it is gzip (detected by its magic bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip file ({e})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into an array (native byte order, read-only copy).

    Raises DataError naming `name` when the header is invalid or the data is truncated.
    """
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file (only {len(data)} bytes)")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _DTYPES or not 1 <= ndim <= 8:
        raise DataError(f"{name}: not an IDX file (bad magic number 0x{data[:4].hex()})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = np.dtype(_DTYPES[code])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "too long"
        raise DataError(f"{name}: {what} IDX file: header says shape {shape} "
                        f"({expected} bytes), file has {len(data)} bytes")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw); check the sha256 of its decompressed content.

    Example: ``read_idx("mnist/t10k-labels-idx1-ubyte.gz").shape == (10000,)``.
    """
    data = read_bytes(path)
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise DataError(f"{path}: checksum mismatch (sha256 of the decompressed content "
                            f"is {got[:16]}..., expected {sha256[:16]}...): the file is "
                            f"corrupt or not the original; delete it and load again")
    return parse_idx(data, str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of an array (the inverse of `parse_idx`)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(_DTYPES[code]).tobytes()


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write an array as an IDX file, gzip-compressed if `compress` (default: name ends .gz)."""
    path = Path(path)
    data = idx_bytes(array)
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
