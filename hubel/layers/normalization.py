"""BatchNormalization over the last axis (dense features or channels-last maps)."""

from __future__ import annotations

from hubel.layers.layer import Layer
from hubel.ops.norm import batch_norm


class BatchNormalization(Layer):
    """y = γ·(x − μ)/√(σ² + ε) + β with batch statistics in training and running ones in
    inference.

    Args (Keras's): axis=-1 (only the last axis is supported: channels-last), momentum
        (moving = momentum·moving + (1 − momentum)·batch; PyTorch's momentum is
        1 − this), epsilon, center (β), scale (γ). The running variance uses the unbiased
        batch variance, as PyTorch does.

    Shape: any (..., C); weights gamma, beta (trainable), moving_mean, moving_variance.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            raise ValueError(f"{self._label()}: only axis=-1 (channels-last) is supported, "
                             f"got axis={axis}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape) -> None:
        c = input_shape[-1]
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer) if self.scale \
            else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer) if self.center \
            else None
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,),
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.input_spec = {"min_ndim": 2, "axes": {-1: c}}
        self.built = True

    def call(self, x, training: bool = False, relu: bool = False):
        """relu=True: max(BN(x), 0) in the normalization's own passes (hubel.models.fusion
        runs a BatchNormalization -> ReLU pair this way)."""
        return batch_norm(x, self.gamma, self.beta, self.moving_mean.data,
                          self.moving_variance.data, training, self.momentum, self.epsilon,
                          relu=relu)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
