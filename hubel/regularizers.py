"""Weight penalties added to the training loss (SPEC O2): J = Loss + λ·Penalty(W).

    l1(λ):      λ·Σ|w|        (sparse weights)
    l2(λ):      λ·Σw²         (weight decay: its gradient is 2λw)
    l1_l2(a, b) a·Σ|w| + b·Σw²
"""

from __future__ import annotations


class Regularizer:
    """Callable on a weight Tensor, returning the scalar penalty (differentiable)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w):
        penalty = None
        if self.l1:
            penalty = w.abs().sum() * self.l1
        if self.l2:
            term = (w * w).sum() * self.l2
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else (w * 0).sum()

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def l1(l1: float = 0.01) -> Regularizer:  # noqa: E741
    return Regularizer(l1=l1)


def l2(l2: float = 0.01) -> Regularizer:
    return Regularizer(l2=l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> Regularizer:  # noqa: E741
    return Regularizer(l1=l1, l2=l2)


def get(identifier):
    """A regularizer from 'l1' / 'l2' / 'l1_l2', a config dict or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return Regularizer(**identifier.get("config", identifier))
    if callable(identifier):
        return identifier
    table = {"l1": l1, "l2": l2, "l1_l2": l1_l2}
    if isinstance(identifier, str) and identifier.lower() in table:
        return table[identifier.lower()]()
    raise ValueError(f"unknown regularizer {identifier!r}; known: l1, l2, l1_l2")
