"""Downloads against a local HTTP server on 127.0.0.1: success, checksum mismatch,
truncated transfer, server error. The cache never holds a partial file."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

import hubel
from hubel.data import DataError, datasets
from hubel.data.download import download
from hubel.data.idx import idx_bytes

IMAGES = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
LABELS = np.array([4, 0, 9], np.uint8)
RAW = {"train-images-idx3-ubyte": idx_bytes(IMAGES), "train-labels-idx1-ubyte":
       idx_bytes(LABELS), "t10k-images-idx3-ubyte": idx_bytes(IMAGES[:2]),
       "t10k-labels-idx1-ubyte": idx_bytes(LABELS[:2])}
SHA = {k: hashlib.sha256(v).hexdigest() for k, v in RAW.items()}


class Handler(http.server.BaseHTTPRequestHandler):
    mode = "ok"  # ok | truncate | error | corrupt
    requests: list = []

    def do_GET(self):
        Handler.requests.append(self.path)
        stem = self.path.rsplit("/", 1)[-1].removesuffix(".gz")
        if stem not in RAW or Handler.mode == "error":
            self.send_error(404 if stem not in RAW else 500)
            return
        data = gzip.compress(RAW[stem], mtime=0)
        if Handler.mode == "corrupt":
            data = gzip.compress(RAW[stem][:-1] + b"\x01", mtime=0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if Handler.mode == "truncate":
            data = data[: len(data) // 2]  # then the connection closes early
        self.wfile.write(data)
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def local_mnist(monkeypatch, tmp_path, server):
    """MNIST's known files and URL replaced by the small local ones; an empty cache."""
    Handler.mode, Handler.requests = "ok", []
    source = datasets.SOURCES["mnist"]
    monkeypatch.setitem(datasets.SOURCES, "mnist", datasets.IdxSource(
        **{**source.__dict__, "files": SHA, "urls": (server + "mnist/",)}))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HUBEL_DATA", raising=False)
    monkeypatch.setattr(datasets, "search_path", lambda name: [tmp_path / "cache" / "hubel"
                                                               / name])
    return tmp_path / "cache" / "hubel" / "mnist"


def _files(d):
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_download_success_then_cached(local_mnist):
    ds = hubel.datasets.mnist()
    assert np.array_equal(ds.x_train, IMAGES) and ds.y_test.tolist() == [4, 0]
    assert _files(local_mnist) == sorted(f"{k}.gz" for k in RAW)
    n = len(Handler.requests)
    assert n == 4
    hubel.datasets.mnist()  # the second load reads the cache
    assert len(Handler.requests) == n


@pytest.mark.parametrize("mode, message", [
    ("corrupt", "checksum mismatch"),
    ("truncate", "truncated transfer"),
    ("error", "HTTP error 500"),
])
def test_failed_download_leaves_no_file(local_mnist, mode, message):
    Handler.mode = mode
    with pytest.raises(DataError, match=message) as info:
        hubel.datasets.mnist()
    assert "127.0.0.1" in str(info.value) and "MNIST not found" in str(info.value)
    assert _files(local_mnist) == []  # not even a .part file
    Handler.mode = "ok"
    assert hubel.datasets.mnist().x_train.shape == (3, 28, 28)


def test_download_function_keeps_an_existing_file_on_failure(tmp_path, server):
    dest = tmp_path / "labels.gz"
    dest.write_bytes(b"old")
    Handler.mode = "truncate"
    with pytest.raises(DataError, match="truncated"):
        download(server + "train-labels-idx1-ubyte.gz", dest, SHA["train-labels-idx1-ubyte"],
                 progress=False)
    assert dest.read_bytes() == b"old" and _files(tmp_path) == ["labels.gz"]
    Handler.mode = "ok"
    download(server + "train-labels-idx1-ubyte.gz", dest, SHA["train-labels-idx1-ubyte"],
             progress=False)
    assert gzip.decompress(dest.read_bytes()) == RAW["train-labels-idx1-ubyte"]


def test_unreachable_server(tmp_path):
    with pytest.raises(DataError, match="download failed"):
        download("http://127.0.0.1:9/x.gz", tmp_path / "x.gz", progress=False, timeout=5)
    assert _files(tmp_path) == []


def test_no_download_when_disabled(local_mnist):
    with pytest.raises(DataError, match="MNIST not found in"):
        hubel.datasets.mnist(download=False)
    assert Handler.requests == []
