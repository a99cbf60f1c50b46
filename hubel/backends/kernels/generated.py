"""Kernels whose source is written by hubel for one shape, loaded from a file.

Some loops are fast only when their inner body is written out: LLVM vectorizes a loop
over a row whose body lists every tap of a 5x5 kernel for four output rows, but it does
not unroll the nested tap loops that would say the same (hubel/backends/kernels/
direct_numba.py). The module that holds such a body is generated as text, written once
to the per-user cache (``~/.cache/hubel/kernels``, or ``$HUBEL_KERNEL_DIR``) under a name
that is the hash of its text, and imported from there. A file, because Numba caches a
compiled function (cache=True) only when its source is a file; the first process
compiles it (seconds), later ones load the machine code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType


def kernel_dir() -> Path:
    """Where generated kernel modules are written: $HUBEL_KERNEL_DIR, else
    ``$XDG_CACHE_HOME/hubel/kernels`` (``~/.cache/hubel/kernels``)."""
    if os.environ.get("HUBEL_KERNEL_DIR"):
        return Path(os.environ["HUBEL_KERNEL_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hubel" / "kernels"  # (beside the data sets' hubel.data.cache_dir)


def _writable(directory: Path) -> Path:
    """directory, created; a per-user temporary directory if it cannot be written."""
    for candidate in (directory, Path(tempfile.gettempdir()) / f"hubel-kernels-{os.getuid()}"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
        except OSError:
            continue
    raise OSError(f"hubel: no writable directory for generated kernels ({directory}); "
                  f"set HUBEL_KERNEL_DIR")


def load(stem: str, source: str) -> ModuleType:
    """The module of `source`, from ``<kernel_dir>/<stem>_<hash>.py`` (written atomically
    the first time: a temporary file renamed into place, so processes that race write the
    same text and none reads half a file)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"hubel_generated_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    directory = _writable(kernel_dir())
    path = directory / f"{stem}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        tmp = directory / f".{path.name}.{os.getpid()}.tmp"
        tmp.write_text(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
