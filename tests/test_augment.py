"""Augmentation: properties (identities, inverses, agreement with numpy's exact
operations), seeding, and vectorized shapes."""

import numpy as np
import pytest

import hubel
from hubel.data import augment as A

X = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
RGB = np.random.default_rng(1).random((8, 32, 32, 3), dtype=np.float32)


def test_flip_twice_is_identity_and_matches_numpy():
    assert np.array_equal(A.flip_horizontal(A.flip_horizontal(RGB)), RGB)
    assert np.array_equal(A.flip_horizontal(X), X[:, :, ::-1])
    mask = np.arange(16) % 2 == 0
    out = A.flip_horizontal(X, mask)
    assert np.array_equal(out[mask], X[mask, :, ::-1]) and np.array_equal(out[~mask], X[~mask])


def test_shift_by_zero_is_identity_and_shift_matches_roll():
    assert np.array_equal(A.translate(X, 0, 0), X)
    dy, dx = np.arange(16) % 5 - 2, 2 - np.arange(16) % 5
    out = A.translate(X, dy, dx)
    for n in range(16):
        rolled = np.roll(X[n], (dy[n], dx[n]), axis=(0, 1))
        inner = (slice(2, -2), slice(2, -2))  # away from the vacated border
        assert np.array_equal(out[n][inner], rolled[inner])
    assert (A.translate(X, 3, 0)[:, :3] == 0).all()


def test_crop_with_padding():
    full = A.crop(RGB, 4, 4, (32, 32), padding=4)
    assert np.array_equal(full, RGB)
    corner = A.crop(RGB, 0, 0, (32, 32), padding=4)
    assert (corner[:, :4] == 0).all() and np.array_equal(corner[:, 4:, 4:], RGB[:, :28, :28])


def test_rotation_zero_and_quarter_turns():
    assert np.array_equal(A.rotate(X, 0), X)
    assert np.array_equal(A.rotate(X, 90), np.rot90(X, 1, axes=(1, 2)))
    assert np.allclose(A.rotate(RGB, 180), RGB[:, ::-1, ::-1], atol=1e-5)


def test_warp_identity_and_half_pixel():
    gy, gx = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    gy, gx = np.broadcast_to(gy, (16, 28, 28)), np.broadcast_to(gx, (16, 28, 28))
    assert np.array_equal(A.warp(X, gy, gx), X)
    half = A.warp(X.astype(np.float32), gy, gx + 0.5)
    assert np.allclose(half[:, :, :-1], (X[:, :, :-1] + X[:, :, 1:].astype(np.float32)) / 2)


def test_gaussian_matrix_smooths_like_a_normalized_kernel():
    g = A.gaussian_matrix(40, 2.0)
    assert np.allclose(g.sum(1)[10:30], 1.0, atol=1e-6)  # rows away from the border
    assert np.allclose(g, g.T) and g[20, 20] == pytest.approx(1 / np.sqrt(2 * np.pi * 4),
                                                                rel=1e-3)


@pytest.mark.parametrize("transform", [
    A.RandomShift(3), A.RandomCrop(padding=4), A.RandomFlip(), A.RandomRotation(15),
    A.ElasticDistortion(34, 4), A.Compose([A.RandomShift(2), A.RandomRotation(10)]),
], ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("batch", [X, RGB], ids=["uint8-NHW", "float-NHWC"])
def test_random_transforms_are_seeded_and_keep_shape(transform, batch):
    hubel.seed(5)
    a = transform(batch)
    hubel.seed(5)
    b = transform(batch)
    c = transform(batch)
    assert a.shape == batch.shape and a.dtype == batch.dtype
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert np.array_equal(transform(batch, rng=g1), transform(batch, rng=g2))


def test_each_example_gets_its_own_draw():
    same = np.repeat(X[:1], 16, axis=0)
    out = A.RandomRotation(20)(same)
    assert len({o.tobytes() for o in out}) > 8


def test_elastic_with_tiny_alpha_is_almost_identity():
    out = A.ElasticDistortion(alpha=1e-4, sigma=4)(X)
    assert np.abs(out.astype(int) - X).max() <= 1


def test_bad_shape():
    with pytest.raises(ValueError, match=r"expected a batch \(N, H, W\)"):
        A.flip_horizontal(np.zeros((3, 3)))
