"""DataLoader (batching, shuffling with the global seed, drop_last, transform, prefetch)
and normalization."""

import threading

import numpy as np
import pytest

import hubel
from hubel.data import DataError, DataLoader, Normalize, Preprocessing, channel_stats, to_float
from hubel.data.augment import RandomShift


def _epoch(loader):
    return [(xb.copy(), yb.copy()) for xb, yb in loader]


@pytest.mark.parametrize("prefetch", [0, 2])
def test_batches_cover_the_data_once(prefetch):
    x, y = np.arange(103)[:, None] * np.ones((1, 3)), np.arange(103)
    loader = DataLoader(x, y, batch_size=10, shuffle=True, prefetch=prefetch)
    batches = _epoch(loader)
    assert len(loader) == len(batches) == 11
    assert [len(b) for b, _ in batches] == [10] * 10 + [3]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(103)) and seen.tolist() != list(range(103))
    for xb, yb in batches:
        assert np.array_equal(xb[:, 0], yb)  # x and y stay paired


def test_drop_last_and_no_shuffle():
    loader = DataLoader(np.arange(25), np.arange(25), batch_size=10, drop_last=True)
    assert len(loader) == 2
    assert [yb.tolist() for _, yb in loader] == [list(range(10)), list(range(10, 20))]
    assert [len(b) for b in DataLoader(np.arange(25), batch_size=10)] == [10, 10, 5]


def test_shuffle_follows_the_global_seed():
    x = np.arange(50)
    hubel.seed(7)
    a = [b.tolist() for b in DataLoader(x, batch_size=8, shuffle=True)]
    hubel.seed(7)
    b = [b.tolist() for b in DataLoader(x, batch_size=8, shuffle=True)]
    hubel.seed(8)
    c = [b.tolist() for b in DataLoader(x, batch_size=8, shuffle=True)]
    assert a == b and a != c


def test_transform_with_rng_is_reproducible_with_prefetch():
    x = np.random.default_rng(0).integers(0, 255, (64, 12, 12), dtype=np.uint8)
    runs = []
    for prefetch in (0, 3, 3):
        hubel.seed(1)
        loader = DataLoader(x, np.arange(64), 16, shuffle=True,
                            transform=RandomShift(2), prefetch=prefetch)
        runs.append(_epoch(loader))
    for other in runs[1:]:
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(runs[0], other))
    assert not all(np.array_equal(xb, x[yb]) for xb, yb in runs[0])  # it did shift


def test_plain_transform_and_worker_errors():
    loader = DataLoader(np.ones((6, 2)), np.zeros(6), 4, transform=lambda xb: xb * 2)
    assert all((xb == 2).all() for xb, _ in loader)

    def boom(xb):
        raise RuntimeError("bad batch")
    with pytest.raises(RuntimeError, match="bad batch"):
        list(DataLoader(np.ones((6, 2)), None, 4, transform=boom, prefetch=2))


def test_breaking_early_stops_the_worker():
    before = threading.active_count()
    loader = DataLoader(np.zeros((1000, 4)), None, 1, prefetch=2)
    for i, _ in enumerate(loader):
        if i == 3:
            break
    assert threading.active_count() == before


def test_mismatched_lengths():
    with pytest.raises(DataError, match="x has 3 examples, y has 2"):
        DataLoader(np.zeros(3), np.zeros(2))


def test_to_float_and_channel_stats():
    x = np.array([[[0, 255], [51, 102]]], np.uint8)
    f = to_float(x)
    assert f.dtype == np.float32 and f.max() == 1.0 and f[0, 1, 0] == pytest.approx(0.2)
    rgb = np.random.default_rng(0).integers(0, 256, (20, 5, 5, 3), dtype=np.uint8)
    mean, std = channel_stats(rgb)
    ref = rgb.reshape(-1, 3) / 255.0
    assert np.allclose(mean, ref.mean(0), atol=1e-6) and np.allclose(std, ref.std(0), atol=1e-6)


def test_normalize_and_preprocessing_round_trip():
    x = np.random.default_rng(0).integers(0, 256, (30, 6, 6), dtype=np.uint8)
    pre = Preprocessing.fit(x, class_names=("a", "b"), dataset="toy")
    z = pre(x)
    assert z.shape == (30, 6, 6, 1) and z.dtype == np.float32
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4
    again = Preprocessing.from_dict(pre.to_dict())
    assert again == pre and np.array_equal(again(x), z)
    assert pre.color_mode == "grayscale"
    n = Normalize([0.5], [0.25])
    assert n(np.array([[1.0]]))[0, 0] == pytest.approx(2.0)
    with pytest.raises(DataError, match="std must be positive"):
        Normalize([0.0], [0.0])
