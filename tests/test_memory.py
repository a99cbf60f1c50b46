"""The graph is freed after backward: no growth over many steps, no reference cycles."""

import gc
import os
import weakref

import numpy as np

import hubel
from hubel import Tensor


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _step(w, b, x):
    h = (x @ w + b).clip(0, None)  # a small MLP-like graph with broadcasting
    loss = (h.logsumexp(axis=1) - h.mean(axis=1)).sum() + (w * w).sum() * 1e-3
    loss.backward()
    return loss


def test_a_thousand_steps_do_not_grow_memory():
    r = np.random.default_rng(0)
    w = Tensor(r.standard_normal((64, 32)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(32, np.float32), requires_grad=True)
    x = Tensor(r.standard_normal((128, 64)).astype(np.float32))
    for _ in range(50):  # warm up allocator pools
        _step(w, b, x)
    gc.collect()
    gc.disable()  # only reference counting may free the graph
    try:
        start = _rss_bytes()
        for _ in range(1000):
            _step(w, b, x)
            w.grad = b.grad = None
        grown = _rss_bytes() - start
        # one step allocates ~100 KB of arrays: a leak of one graph per step would be 100 MB
        assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1000 steps"
        assert gc.collect() == 0, "hubel objects were kept alive by reference cycles"
    finally:
        gc.enable()


def test_the_graph_keeps_its_functions_not_the_intermediate_tensors():
    # PyTorch's rule: an intermediate result lives while an op needs it for backward, not
    # because the graph passes through it (ResNet-20 training: 416 -> 2xx MB peak)
    gc.disable()
    try:
        x = Tensor(np.ones((4, 3)), requires_grad=True)
        h = x * 2            # nothing keeps h's array: (h + 1) and sum need no input
        s = (h + 1).exp()    # exp keeps its own output for backward
        fns = [weakref.ref(h._ctx), weakref.ref(s._ctx)]
        h_tensor, h_array, s_array = weakref.ref(h), weakref.ref(h.data), weakref.ref(s.data)
        loss = s.sum()
        del h, s
        assert h_tensor() is None and h_array() is None  # freed at once
        assert s_array() is not None                     # exp's backward reads it
        assert all(r() is not None for r in fns)         # the graph keeps its ops
        loss.backward()
        assert all(r() is None for r in fns) and s_array() is None, "graph left alive"
        np.testing.assert_allclose(x.grad, 2 * np.exp(3.0) * np.ones((4, 3)))
    finally:
        gc.enable()


def test_no_grad_builds_no_graph_at_all():
    x = Tensor(np.ones(3), requires_grad=True)
    with hubel.no_grad():
        y = (x * 2).exp().sum()
    assert y._ctx is None
