"""Input normalization: uint8 images to float32, per-channel mean/std, and the
`Preprocessing` record that a saved model carries so prediction matches training."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hubel.data.errors import DataError


def as_images(x: np.ndarray) -> np.ndarray:
    """Images as channels-last (N, H, W, C): a grayscale batch (N, H, W) gets C = 1."""
    x = np.asarray(x)
    if x.ndim == 3:
        return x[..., None]
    if x.ndim != 4:
        raise DataError(f"expected images (N, H, W) or (N, H, W, C), got shape {x.shape}")
    return x


def to_float(x: np.ndarray, scale: float | None = None) -> np.ndarray:
    """float32 images in [0, 1]: uint8 are divided by 255 (or multiplied by `scale`)."""
    x = np.asarray(x)
    if scale is None:
        scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
    return x.astype(np.float32) * np.float32(scale)


def channel_stats(x: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std over (N, H, W) of `to_float(as_images(x))`, in float64
    accumulators. Shape: (C,) and (C,)."""
    x = as_images(x)
    c = x.shape[-1]
    mean = np.zeros(c)
    sq = np.zeros(c)
    n = 0
    for start in range(0, len(x), 4096):  # chunks keep the float copy small
        chunk = to_float(x[start:start + 4096], scale).reshape(-1, c).astype(np.float64)
        mean += chunk.sum(0)
        sq += (chunk * chunk).sum(0)
        n += len(chunk)
    mean /= n
    std = np.sqrt(np.maximum(sq / n - mean * mean, 0.0))
    return mean.astype(np.float32), std.astype(np.float32)


class Normalize:
    """x ↦ (x − mean) / std per channel (the last axis). Shape: any, channels last."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        if np.any(self.std <= 0):
            raise DataError(f"Normalize: std must be positive, got {self.std}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mean) / self.std).astype(np.float32)

    def get_config(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


@dataclass
class Preprocessing:
    """How raw uint8 images become model inputs: x ↦ (x·scale − mean) / std, channels last.

    Stored in a saved model's metadata so that ``hubel predict`` converts an image file
    exactly as the training data was converted (size, channels, scale, mean/std, names).
    """

    input_shape: tuple[int, int, int]
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    class_names: tuple[str, ...] = ()
    dataset: str = ""

    @property
    def color_mode(self) -> str:
        return {1: "grayscale", 3: "rgb", 4: "rgba"}[self.input_shape[-1]]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W[, C]) → normalized float32 (N, H, W, C)."""
        x = to_float(as_images(x), self.scale)
        mean = np.asarray(self.mean, np.float32)
        std = np.asarray(self.std, np.float32)
        return ((x - mean) / std).astype(np.float32)

    @classmethod
    def fit(cls, x: np.ndarray, class_names=(), dataset: str = "",
            normalize: bool = True) -> Preprocessing:
        """Scale to [0, 1], and with `normalize` the training set's per-channel mean/std."""
        x = as_images(x)
        if normalize:
            mean, std = channel_stats(x)
            mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        else:
            mean, std = (0.0,) * x.shape[-1], (1.0,) * x.shape[-1]
        return cls(tuple(int(s) for s in x.shape[1:]), 1.0 / 255.0, mean, std,
                   tuple(str(c) for c in class_names), dataset)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        try:
            return cls(tuple(d["input_shape"]), float(d["scale"]), tuple(d["mean"]),
                       tuple(d["std"]), tuple(d.get("class_names", ())), d.get("dataset", ""))
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"invalid preprocessing record {d!r} ({e})") from None
