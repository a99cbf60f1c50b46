"""hubel.backends.memory: with reuse on, a freed large array stays in the process (the next
step reuses its pages); with glibc's defaults it goes back to the OS on free."""

import os
import sys

import numpy as np
import pytest

from hubel.backends import memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
MB = 1 << 20


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _rss_drop_after_free(size: int) -> int:
    a = np.ones(size // 8)  # touched: resident
    held = _rss()
    del a
    return held - _rss()


def test_freed_arrays_stay_with_reuse_on_and_go_back_without():
    if not memory.keep_freed_memory(True):
        pytest.skip("not glibc")
    try:
        memory.keep_freed_memory(False)
        assert _rss_drop_after_free(64 * MB) > 48 * MB  # glibc default: mmap, unmapped
        memory.keep_freed_memory(True)
        _rss_drop_after_free(64 * MB)  # the heap grows once...
        assert _rss_drop_after_free(64 * MB) < 8 * MB  # ...and keeps the pages afterwards
    finally:
        memory.keep_freed_memory(True)
