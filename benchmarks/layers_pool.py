"""Pooling and LRN layers: hubel vs torch.nn.functional, forward and forward+backward.

Shapes are those of LeNet-5, AlexNet, VGG (CIFAR and ImageNet sizes), GoogLeNet and ResNet
layers at batch 32-128. hubel runs channels-last (N, H, W, C), PyTorch its native
channels-first (N, C, H, W) on the same data, same thread count, in one process, runs
interleaved; each figure is the median of `--repeat` runs. ratio = torch time / hubel time
(> 1: hubel is faster).

    python benchmarks/layers_pool.py                 # writes benchmarks/results/layers_pool.md
    python benchmarks/layers_pool.py --quick         # fewer repeats, print only
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import hubel
from hubel import layers

# (model, what, hubel layer factory, torch function(x NCHW), input shape NHWC)
CASES = [
    ("LeNet-5", "S2 max 2x2/2", lambda: layers.MaxPooling2D(2), "max", (2, 2, 0),
     (128, 28, 28, 6)),
    ("LeNet-5", "S2 avg 2x2/2", lambda: layers.AveragePooling2D(2), "avg", (2, 2, 0),
     (128, 28, 28, 6)),
    ("LeNet-5", "S4 max 2x2/2", lambda: layers.MaxPooling2D(2), "max", (2, 2, 0),
     (128, 10, 10, 16)),
    ("AlexNet", "pool1 max 3x3/2", lambda: layers.MaxPooling2D(3, 2), "max", (3, 2, 0),
     (64, 55, 55, 96)),
    ("AlexNet", "pool2 max 3x3/2", lambda: layers.MaxPooling2D(3, 2), "max", (3, 2, 0),
     (64, 27, 27, 256)),
    ("AlexNet", "pool5 max 3x3/2", lambda: layers.MaxPooling2D(3, 2), "max", (3, 2, 0),
     (128, 13, 13, 256)),
    ("AlexNet", "norm1 LRN n=5", lambda: layers.LocalResponseNormalization(5, 1e-4, 0.75, 2.0),
     "lrn", (5,), (32, 55, 55, 96)),
    ("AlexNet", "norm2 LRN n=5", lambda: layers.LocalResponseNormalization(5, 1e-4, 0.75, 2.0),
     "lrn", (5,), (32, 27, 27, 256)),
    ("VGG-11/32", "pool1 max 2x2/2", lambda: layers.MaxPooling2D(2), "max", (2, 2, 0),
     (64, 32, 32, 64)),
    ("VGG-11/32", "pool3 max 2x2/2", lambda: layers.MaxPooling2D(2), "max", (2, 2, 0),
     (64, 8, 8, 256)),
    ("VGG-16", "pool3 max 2x2/2", lambda: layers.MaxPooling2D(2), "max", (2, 2, 0),
     (32, 56, 56, 256)),
    ("GoogLeNet", "inception max 3x3/1 same", lambda: layers.MaxPooling2D(3, 1, "same"),
     "max", (3, 1, 1), (32, 28, 28, 192)),
    ("GoogLeNet", "avg 5x5/3 (aux head)", lambda: layers.AveragePooling2D(5, 3), "avg",
     (5, 3, 0), (64, 14, 14, 512)),
    ("ResNet-18", "stem max 3x3/2 same", lambda: layers.MaxPooling2D(3, 2, "same"), "max",
     (3, 2, 1), (32, 112, 112, 64)),
    ("ResNet-18", "global avg", lambda: layers.GlobalAveragePooling2D(), "gap", (),
     (64, 7, 7, 512)),
    ("ResNet-20", "global avg", lambda: layers.GlobalAveragePooling2D(), "gap", (),
     (128, 8, 8, 64)),
    ("-", "global max", lambda: layers.GlobalMaxPooling2D(), "gmp", (), (64, 7, 7, 512)),
]


NOTES = """
## Notes (where the target >= 1.0x is missed or marginal, and why)

- Every layer reaches >= 1.0x PyTorch for forward+backward in these runs. The ratios are
  2.4-5x for the large pooling layers and 6-9x for LRN (PyTorch builds local_response_norm
  from pad, avg_pool3d, pow, mul and div).
- Marginal: LeNet-5 S2 max pooling (C = 6): forward 0.87-1.05x, forward+backward 1.0x
  with 1 thread (1.7x with 2). With 6 channels the
  vectorized channel loop is too short to pay for the per-window loop overhead; PyTorch's
  channels-first kernel runs along the contiguous width instead. A kernel that vectorizes
  over (width, channel) for small C would fix it; not done yet.
- Small layers (LeNet-5 S4, global pooling): times of 0.1-1 ms are dominated by per-call
  overhead (Python layer call, argument checks, Numba dispatch: ~10-20 us) on both sides.
  With 2 threads on a loaded machine (load average above the core count, as during the
  run above), both libraries' thread pools wait for time slices: the 2-thread times of the
  small cases are quantized at ~4 and ~8 ms and say nothing about the kernels; the 1-thread
  table is the meaningful one for them.
"""


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    try:
        from hubel.backends.threads import set_num_threads
    except ImportError:  # before backends/threads.py existed
        import numba

        numba.set_num_threads(n)
    else:
        set_num_threads(n)


def torch_fn(kind, args):
    import torch.nn.functional as tF

    if kind == "max":
        k, s, p = args
        return lambda x: tF.max_pool2d(x, k, s, p)
    if kind == "avg":
        k, s, p = args
        return lambda x: tF.avg_pool2d(x, k, s, p, count_include_pad=False)
    if kind == "lrn":
        return lambda x: tF.local_response_norm(x, args[0], 1e-4, 0.75, 2.0)
    if kind == "gap":
        return lambda x: tF.adaptive_avg_pool2d(x, 1)
    return lambda x: tF.adaptive_max_pool2d(x, 1)


PAUSE = 0.2  # seconds: BLAS/OpenMP workers of the previous call stop spinning


def timed(fn) -> float:
    """Seconds of one call of fn, after a pause that lets the other framework's worker
    threads (which spin for a while after their last call) go to sleep, and one untimed
    call that wakes this framework's own threads."""
    time.sleep(PAUSE)
    fn()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_case(factory, kind, args, shape, repeat: int) -> dict:
    import torch

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer = factory()
    tfn = torch_fn(kind, args)
    tx = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
    tx_g = tx.clone().requires_grad_(True)
    hx = hubel.Tensor(x)
    hx_g = hubel.Tensor(x, requires_grad=True)
    gy = hubel.Tensor(np.ones(layer(hx).shape, np.float32))
    tgy = torch.ones(tfn(tx).shape)

    def h_fwd():
        layer(hx)

    def h_fb():
        hx_g.grad = None
        layer(hx_g).backward(gy)

    def t_fwd():
        with torch.no_grad():
            tfn(tx)

    def t_fb():
        tx_g.grad = None
        tfn(tx_g).backward(tgy)

    return interleaved({"h_fwd": h_fwd, "t_fwd": t_fwd, "h_fb": h_fb, "t_fb": t_fb}, repeat)


PAUSE = 0.02  # seconds before each timed call: the other framework's workers stop spinning


def interleaved(fns: dict, repeat: int) -> dict:
    """Median seconds per call of each named function, timed in turn `repeat` times after
    two warm-up calls each (JIT compilation, caches, allocator). Each timed call follows a
    short pause and one untimed call of the same function: without it the OpenMP workers
    of the framework timed before were still spinning on the two cores (hubel's forward
    pass of LeNet-5's S4 pool measured 4.1 ms after a PyTorch backward pass, 0.18 ms after
    the pause), and the pause alone would leave this framework's own workers asleep."""
    for f in fns.values():
        f()
        f()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, f in fns.items():
            time.sleep(PAUSE)
            f()
            times[name].append(timed(f))
    return {name: statistics.median(v) for name, v in times.items()}


TABLE_HEADER = ["| model | layer | input (N, H, W, C) | hubel fwd | torch fwd | ratio | "
                "hubel fwd+bwd | torch fwd+bwd | ratio |", "|---|---|---|---|---|---|---|---|---|"]


def table_row(model: str, what: str, shape, r: dict) -> str:
    """One Markdown row: times in ms and the ratios torch / hubel."""
    return (f"| {model} | {what} | {shape} | {r['h_fwd'] * 1e3:.2f} | "
            f"{r['t_fwd'] * 1e3:.2f} | **{r['t_fwd'] / r['h_fwd']:.2f}** | "
            f"{r['h_fb'] * 1e3:.2f} | {r['t_fb'] * 1e3:.2f} | "
            f"**{r['t_fb'] / r['h_fb']:.2f}** |")


def write_results(text: str, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count(), 1],
                        help="thread counts to run (one table each; same for both)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 repeats, no results file")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "layers_pool.md"))
    opts = parser.parse_args()
    import torch

    repeat = 5 if opts.quick else opts.repeat
    sections = [
        "# Pooling and LRN layers: hubel vs PyTorch",
        "",
        f"`python benchmarks/layers_pool.py` on {platform.machine()}, {os.cpu_count()} "
        f"cores, torch {torch.__version__}, median of {repeat} interleaved runs, float32, "
        "the same thread count for Numba and torch. hubel channels-last, torch "
        "channels-first (its native layout). Times in ms; ratio = torch / hubel "
        "(> 1: hubel faster). fwd+bwd = forward, then backward of a ones gradient "
        "(input gradient only; these layers have no weights).",
    ]
    for threads in opts.threads:
        set_threads(threads)
        load_before = os.getloadavg()[0]
        rows = []
        for model, what, factory, kind, args, shape in CASES:
            if opts.only not in f"{model} {what}":
                continue
            r = bench_case(factory, kind, args, shape, repeat)
            row = table_row(model, what, shape, r)
            print(threads, row, flush=True)
            rows.append(row)
        sections += [
            "",
            f"## {threads} thread{'s' if threads > 1 else ''}",
            "",
            f"Load average (1 min) before/after: {load_before:.1f} / "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (above ~0.5 other "
            "processes share the machine; ratios are still same-moment comparisons).",
            "",
            *TABLE_HEADER,
            *rows,
        ]
    text = "\n".join(sections) + "\n" + NOTES
    if not opts.quick:
        write_results(text, opts.out)


if __name__ == "__main__":
    main()
