"""Local response normalization across channels (SPEC L8; AlexNet §3.3, GoogLeNet, VGG A-LRN).

Each activation is divided by the energy of its `size` neighbouring channels at the same
position (channels-last, so the last axis):

    s_c = k + (alpha / size) · Σ_{j = c − ⌊size/2⌋}^{c + ⌊(size−1)/2⌋} x_j²     (j clipped
    y_c = x_c · s_c^(−beta)                                                    to 0…C−1)

alpha is DIVIDED BY size, exactly as in Caffe's LRN layer (ACROSS_CHANNELS) and PyTorch's
`torch.nn.LocalResponseNorm`, so weights and hyper-parameters from either behave the same.
The AlexNet paper writes k + α·Σ x_j² (α not divided); to reproduce that formula pass
alpha = α_paper · size.

Backward (hand-written; t_c = gy_c · y_c / s_c):

    gx_i = gy_i · s_i^(−beta) − (2·alpha·beta / size) · x_i · Σ_{c : i ∈ window(c)} t_c
"""

from __future__ import annotations

import numpy as np

from hubel.autograd.function import Function
from hubel.backends.kernels import lrn_reference

try:  # the Numba kernels; the NumPy reference does the same work where Numba is missing
    from hubel.backends.kernels import lrn_numba as _fast
except ImportError:  # pragma: no cover
    _fast = lrn_reference


class LocalResponseNorm(Function):
    """y = x · (k + alpha/size · Σ_window x²)^(−beta) across the last axis."""

    def forward(self, x, size, alpha, beta, k):
        kern = _fast if isinstance(x, np.ndarray) else lrn_reference
        channels = x.shape[-1]
        rows = np.ascontiguousarray(x).reshape(x.size // channels if channels else 0, channels)
        y, s = kern.lrn_forward(rows, int(size), float(alpha), float(beta), float(k))
        if self.needs_grad[0]:
            self.kern, self.x, self.y, self.s = kern, rows, y, s
            self.size, self.alpha, self.beta = int(size), float(alpha), float(beta)
        return y.reshape(x.shape)

    def backward(self, gy):
        g = np.ascontiguousarray(gy).reshape(self.y.shape)
        gx = np.empty(gy.shape, gy.dtype)  # a plain array: autograd need not copy it
        self.kern.lrn_backward(g, self.x, self.y, self.s, gx.reshape(self.y.shape),
                               self.size, self.alpha, self.beta)
        return gx, None, None, None, None


def local_response_norm(x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 2.0):
    """Local response normalization across channels (the last axis).

    b_c = a_c / (k + (alpha/size)·Σ a_j²)^beta over the `size` channels around c; alpha is
    divided by size as in Caffe and PyTorch (pass alpha·size for the AlexNet paper's α).
    Defaults are AlexNet's (n = 5, α = 1e-4, β = 0.75, k = 2). Shape: unchanged.

        >>> import hubel, numpy as np
        >>> x = hubel.Tensor(np.ones((1, 1, 1, 3)))
        >>> y = hubel.F.local_response_norm(x, size=3, alpha=3.0, beta=1.0, k=1.0)
        >>> y.data.ravel().tolist()   # edges see 2 channels, the middle one 3
        [0.3333333333333333, 0.25, 0.3333333333333333]
    """
    if x.ndim < 2:
        raise ValueError(f"local_response_norm: expected input with a channel axis last, "
                         f"got shape {tuple(x.shape)}")
    if int(size) < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size}")
    return LocalResponseNorm.apply(x, size, alpha, beta, k)
