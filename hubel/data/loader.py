"""Mini-batches: `DataLoader` shuffles with the global seed, applies a transform
(augmentation) and prepares the next batches in a background thread.

Reproducibility with a background thread: the main thread draws one seed per epoch from
``hubel.random.rng()``; batch i of that epoch is transformed with its own generator
``np.random.default_rng([seed, i])``. The batches are therefore the same whatever the
thread timing, and the worker never touches the global generator.
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from hubel.data.errors import DataError
from hubel.random import rng


class DataLoader:
    """Iterate over (x, y) in mini-batches.

    Args: x, y (arrays with the same first axis; y may be None), batch_size, shuffle
    (a new permutation each epoch from ``hubel.random.rng()``), drop_last (skip a last
    partial batch), transform (``f(xb)`` or ``f(xb, rng=...)``, applied to each x batch),
    prefetch (batches prepared ahead in a background thread; 0 = none).
    Yields (xb, yb), or xb when y is None. ``len(loader)`` is the number of batches.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
                 shuffle: bool = False, drop_last: bool = False,
                 transform: Callable | None = None, prefetch: int = 2):
        if y is not None and len(x) != len(y):
            raise DataError(f"DataLoader: x has {len(x)} examples, y has {len(y)}")
        if batch_size < 1:
            raise DataError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.transform = transform
        self.prefetch = int(prefetch)
        self._takes_rng = transform is not None and _accepts_rng(transform)

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _batches(self, order: np.ndarray | None, seed: int) -> Iterator:
        for i in range(len(self)):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            idx = order[sl] if order is not None else sl
            xb = self.x[idx]
            if self.transform is not None:
                if self._takes_rng:
                    xb = self.transform(xb, rng=np.random.default_rng([seed, i]))
                else:
                    xb = self.transform(xb)
            yield xb if self.y is None else (xb, self.y[idx])

    def __iter__(self) -> Iterator:
        order = rng().permutation(len(self.x)) if self.shuffle else None
        seed = int(rng().integers(2**63)) if self._takes_rng else 0
        batches = self._batches(order, seed)
        if self.prefetch <= 0:
            yield from batches
        else:
            yield from _prefetched(batches, self.prefetch)


def _accepts_rng(f: Callable) -> bool:
    try:
        return "rng" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False


_DONE = object()


def _prefetched(batches: Iterator, size: int) -> Iterator:
    """Run the `batches` generator in a daemon thread, `size` items ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def work():
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            q.put(e)

    thread = threading.Thread(target=work, name="hubel-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # also when the consumer stops early (break, exception)
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
