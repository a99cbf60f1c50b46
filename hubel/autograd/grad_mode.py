"""Whether operations record the graph: `no_grad()` turns recording off (inference mode)."""

from __future__ import annotations

import contextlib

enabled = True


@contextlib.contextmanager
def no_grad():
    """Context in which no graph is recorded and no gradient can flow (inference)."""
    global enabled
    previous, enabled = enabled, False
    try:
        yield
    finally:
        enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Context that turns recording back on inside `no_grad()`."""
    global enabled
    previous, enabled = enabled, True
    try:
        yield
    finally:
        enabled = previous


def is_grad_enabled() -> bool:
    return enabled
