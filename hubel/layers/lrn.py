"""LocalResponseNormalization (SPEC L8): AlexNet's and GoogLeNet's normalization across
channels, as in Caffe's LRN layer (ACROSS_CHANNELS) and `torch.nn.LocalResponseNorm`.

    b_c = a_c / (k + (alpha/size) · Σ_{j near c} a_j²)^beta

over the `size` channels centred on c (clipped at the first and last channel). Caffe and
PyTorch both DIVIDE alpha BY size, and so does hubel, so their weights and settings carry
over unchanged; the AlexNet paper's formula (α not divided) is alpha = α_paper · size.
"""

from __future__ import annotations

from hubel.layers.layer import Layer
from hubel.ops import lrn


class LocalResponseNormalization(Layer):
    """Normalize each activation by its neighbouring channels (channels-last, any rank ≥ 2).

    Args:
        size: number of channels in the window (n; AlexNet 5).
        alpha: scale, divided by size (Caffe/PyTorch convention).
        beta: exponent (0.75).
        k: additive constant (AlexNet 2; Caffe's default 1).
    Shape: unchanged.

        >>> LocalResponseNormalization().compute_output_shape((None, 55, 55, 96))
        (None, 55, 55, 96)
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        if int(size) < 1:
            raise ValueError(f"{self._label()}: size must be a positive int, got {size}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), \
            float(k)
        self.input_spec = {"min_ndim": 2}

    def call(self, x):
        return lrn.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(size=self.size, alpha=self.alpha, beta=self.beta, k=self.k)
        return config
