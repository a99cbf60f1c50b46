"""Download a file atomically and verify its checksum: the cache never holds a partial file.

The bytes go to a temporary file next to the destination; only when the transfer is
complete and the sha256 of the (decompressed) content matches is it renamed into place
with `os.replace`, which is atomic on POSIX and Windows.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from hubel.data.errors import DataError
from hubel.data.idx import read_bytes


def download(url: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0,
             progress: bool = True) -> Path:
    """Fetch `url` into `dest` atomically; verify the sha256 of its decompressed content.

    Raises DataError (naming the URL) on an HTTP error, a truncated transfer or a checksum
    mismatch; `dest` is then untouched and no temporary file is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, timeout, progress, dest.name)
        if sha256 is not None:
            data = read_bytes(tmp)  # a truncated gzip stream fails here
            got = hashlib.sha256(data).hexdigest()
            if got != sha256:
                raise DataError(f"{url}: checksum mismatch (sha256 {got[:16]}..., expected "
                                f"{sha256[:16]}...); the download was discarded")
        os.replace(tmp, dest)
    except DataError as e:
        raise DataError(str(e).replace(tmp, url)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _fetch(url: str, out, timeout: float, progress: bool, label: str) -> None:
    """Stream the response body into `out`; fail if it is shorter than Content-Length."""
    request = urllib.request.Request(url, headers={"User-Agent": "hubel"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            bar = _progress_bar(total, label) if progress else None
            received = 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
    except urllib.error.HTTPError as e:
        raise DataError(f"{url}: HTTP error {e.code} ({e.reason})") from None
    except http.client.IncompleteRead as e:
        raise DataError(f"{url}: truncated transfer ({len(e.partial)} bytes of the last "
                        f"chunk, more expected)") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", None) or e
        raise DataError(f"{url}: download failed ({reason})") from None
    if total is not None and received != total:
        raise DataError(f"{url}: truncated transfer ({received} of {total} bytes)")


def _progress_bar(total, label):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a runtime dependency
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=f"download {label}", leave=False)

