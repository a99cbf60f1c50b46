"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay."""

from __future__ import annotations

from hubel.optimizers.adam import Adam


class AdamW(Adam):
    """θ ← θ − η·wd·θ, then the Adam step (the decay does not pass through m and v)."""

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
