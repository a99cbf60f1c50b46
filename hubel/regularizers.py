"""Weight penalties added to the training loss (SPEC O2): Loss + λ·Penalty.

(Foundation stub; the building-blocks issue completes it.)
"""

from __future__ import annotations


def get(identifier):
    if callable(identifier):
        return identifier
    raise ValueError(f"unknown regularizer {identifier!r}")
