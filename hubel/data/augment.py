"""Data augmentation by deforming examples (SPEC D2), vectorized over the batch.

Every transform takes a batch (N, H, W) or (N, H, W, C), returns the same shape and dtype,
and draws its randomness from the `rng` argument or else ``hubel.random.rng()``.
Deterministic building blocks (`translate`, `flip_horizontal`, `rotate`, `warp`) are public
so each random transform is one line of sampling over one of them.

Elastic distortion follows Simard, Steinkraus & Platt (2003), "Best practices for
convolutional neural networks applied to visual document analysis": a random displacement
field, uniform in [-1, 1] per pixel, smoothed by a Gaussian of std σ and scaled by α.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from hubel.random import rng as global_rng


def _nhwc(x: np.ndarray) -> tuple[np.ndarray, bool]:
    x = np.asarray(x)
    if x.ndim == 3:
        return x[..., None], True
    if x.ndim != 4:
        raise ValueError(f"augment: expected a batch (N, H, W) or (N, H, W, C), got {x.shape}")
    return x, False


def _restore(y: np.ndarray, squeeze: bool) -> np.ndarray:
    return y[..., 0] if squeeze else y


def _gather(xp: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """out[n, i, j] = xp[n, rows[n, i(, j)], cols[n, (i,) j]] for a padded batch xp."""
    n = np.arange(len(xp)).reshape(-1, 1, 1)
    if rows.ndim == 2:
        rows, cols = rows[:, :, None], cols[:, None, :]
    return xp[n, rows, cols]


def translate(x: np.ndarray, dy, dx, fill: float = 0) -> np.ndarray:
    """Shift each image by integer (dy[n], dx[n]) pixels (down, right); vacated pixels are
    `fill`. out[n, i, j] = x[n, i − dy[n], j − dx[n]]."""
    x, squeeze = _nhwc(x)
    n, h, w, _ = x.shape
    dy = np.broadcast_to(np.asarray(dy, np.int64), (n,))
    dx = np.broadcast_to(np.asarray(dx, np.int64), (n,))
    p = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=fill)
    rows = np.arange(h)[None, :] - dy[:, None] + p
    cols = np.arange(w)[None, :] - dx[:, None] + p
    return _restore(_gather(xp, rows, cols), squeeze)


def crop(x: np.ndarray, top, left, size: tuple[int, int], padding: int = 0,
         fill: float = 0) -> np.ndarray:
    """Cut a `size` window at (top[n], left[n]) from each image padded by `padding`."""
    x, squeeze = _nhwc(x)
    n = len(x)
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)),
                constant_values=fill)
    top = np.broadcast_to(np.asarray(top, np.int64), (n,))
    left = np.broadcast_to(np.asarray(left, np.int64), (n,))
    rows = top[:, None] + np.arange(size[0])[None, :]
    cols = left[:, None] + np.arange(size[1])[None, :]
    return _restore(_gather(xp, rows, cols), squeeze)


def flip_horizontal(x: np.ndarray, mask=None) -> np.ndarray:
    """Mirror left-right the images where `mask` is True (all when None)."""
    x, squeeze = _nhwc(x)
    out = x[:, :, ::-1] if mask is None else np.where(
        np.asarray(mask, bool)[:, None, None, None], x[:, :, ::-1], x)
    return _restore(np.ascontiguousarray(out), squeeze)


def warp(x: np.ndarray, src_y: np.ndarray, src_x: np.ndarray, fill: float = 0) -> np.ndarray:
    """Bilinear resampling: out[n, i, j] = x[n] at the real coordinates (src_y, src_x)[n, i, j];
    points outside the image blend with `fill`. Shape: src_* (N, H', W')."""
    x, squeeze = _nhwc(x)
    xp = np.pad(x.astype(np.float32), ((0, 0), (1, 1), (1, 1), (0, 0)),
                constant_values=fill)
    h, w = x.shape[1:3]
    y0 = np.floor(src_y)
    x0 = np.floor(src_x)
    wy = (src_y - y0).astype(np.float32)[..., None]
    wx = (src_x - x0).astype(np.float32)[..., None]
    r0 = np.clip(y0.astype(np.int64), -1, h) + 1
    c0 = np.clip(x0.astype(np.int64), -1, w) + 1
    r1 = np.clip(y0.astype(np.int64) + 1, -1, h) + 1
    c1 = np.clip(x0.astype(np.int64) + 1, -1, w) + 1
    out = ((1 - wy) * ((1 - wx) * _gather(xp, r0, c0) + wx * _gather(xp, r0, c1))
           + wy * ((1 - wx) * _gather(xp, r1, c0) + wx * _gather(xp, r1, c1)))
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return _restore(out.astype(x.dtype), squeeze)


def _grid(n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    return np.broadcast_to(gy, (n, h, w)), np.broadcast_to(gx, (n, h, w))


def rotate(x: np.ndarray, degrees, fill: float = 0) -> np.ndarray:
    """Rotate each image by degrees[n] counter-clockwise (as displayed, like ``np.rot90``)
    about its centre, bilinear."""
    xs, _ = _nhwc(x)
    n, h, w, _ = xs.shape
    theta = np.deg2rad(np.broadcast_to(np.asarray(degrees, np.float32), (n,)))
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    gy, gx = _grid(n, h, w)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    # the inverse map: where each output pixel comes from (y axis points down)
    src_y = cy + cos * (gy - cy) + sin * (gx - cx)
    src_x = cx - sin * (gy - cy) + cos * (gx - cx)
    return warp(x, src_y, src_x, fill)


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) matrix G with (G @ f) = f convolved with a normalized Gaussian of std
    `sigma`, truncated at 4σ, zero outside the image (scipy's mode="constant")."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    offset = np.arange(size)[None, :] - np.arange(size)[:, None]
    inside = np.abs(offset) <= radius
    return np.where(inside, taps[np.clip(offset + radius, 0, 2 * radius)], 0.0).astype(
        np.float32)


def elastic_fields(shape: tuple[int, int, int], alpha: float, sigma: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Simard's displacement fields (dy, dx), each (N, H, W): α · G_σ * U(−1, 1)."""
    n, h, w = shape
    gh, gw = gaussian_matrix(h, sigma), gaussian_matrix(w, sigma)
    fields = rng.uniform(-1.0, 1.0, size=(2, n, h, w)).astype(np.float32)
    smooth = gh @ fields @ gw.T  # separable Gaussian, batched by matmul
    return alpha * smooth[0], alpha * smooth[1]


# ---------------------------------------------------------------------------------------
# Random transforms: sample parameters per example, call one of the functions above
# ---------------------------------------------------------------------------------------

class RandomShift:
    """Shift each image by integers in [−max_shift, max_shift] pixels along each axis."""

    def __init__(self, max_shift: int = 2, fill: float = 0):
        self.max_shift, self.fill = int(max_shift), fill

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        d = g.integers(-self.max_shift, self.max_shift + 1, size=(2, len(x)))
        return translate(x, d[0], d[1], self.fill)


class RandomCrop:
    """Pad by `padding` then cut a random `size` window (default: the input size); the
    CIFAR recipe is ``RandomCrop(padding=4)``."""

    def __init__(self, size: tuple[int, int] | None = None, padding: int = 4, fill: float = 0):
        self.size, self.padding, self.fill = size, int(padding), fill

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        h, w = np.shape(x)[1:3]
        size = tuple(self.size) if self.size is not None else (h, w)
        top = g.integers(0, h + 2 * self.padding - size[0] + 1, size=len(x))
        left = g.integers(0, w + 2 * self.padding - size[1] + 1, size=len(x))
        return crop(x, top, left, size, self.padding, self.fill)


class RandomFlip:
    """Mirror left-right each image with probability `p`."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        return flip_horizontal(x, g.random(len(x)) < self.p)


class RandomRotation:
    """Rotate each image by an angle uniform in [−degrees, degrees]."""

    def __init__(self, degrees: float = 10.0, fill: float = 0):
        self.degrees, self.fill = float(degrees), fill

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        return rotate(x, g.uniform(-self.degrees, self.degrees, size=len(x)), self.fill)


class ElasticDistortion:
    """Simard et al. 2003 elastic distortion: α = 34, σ = 4 are their MNIST values."""

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, fill: float = 0):
        self.alpha, self.sigma, self.fill = float(alpha), float(sigma), fill

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        n, h, w = np.shape(x)[:3]
        dy, dx = elastic_fields((n, h, w), self.alpha, self.sigma, g)
        gy, gx = _grid(n, h, w)
        return warp(x, gy + dy, gx + dx, self.fill)


class Compose:
    """Apply transforms in order; each gets the same `rng` (if it accepts one)."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        g = rng if rng is not None else global_rng()
        for t in self.transforms:
            x = t(x, rng=g) if _accepts_rng(t) else t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def _accepts_rng(f: Callable) -> bool:
    try:
        return "rng" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False
