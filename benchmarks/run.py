"""Training and inference throughput of hubel against PyTorch eager, in one interleaved run.

    python benchmarks/run.py                 # all four workloads, writes benchmarks/results/
    python benchmarks/run.py --quick         # fewer repeats (a smoke run)
    python benchmarks/run.py --only lenet5

For each workload (mlp B128, lenet5 B128, resnet20 B64, vgg11_32 B64) and each mode
(train: forward + softmax cross-entropy + backward + SGD momentum; infer: forward without
the graph), hubel and torch alternate chunk by chunk on the same data and thread count; the
median images/s over the repeats (three times as many for mlp, twice for lenet5) is
reported with the ratio hubel/torch (> 1: hubel faster), the achieved GFLOP/s against
this machine's measured float32 GEMM peak, and the peak resident memory of each,
measured in a child process per framework and workload.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

WORKLOADS = {  # name: (batch, hubel input shape (NHWC), torch input shape (NCHW))
    "mlp": (128, (784,), (784,)),
    "lenet5": (128, (28, 28, 1), (1, 28, 28)),
    "resnet20": (64, (32, 32, 3), (3, 32, 32)),
    "vgg11_32": (64, (32, 32, 3), (3, 32, 32)),
}
LR, MOMENTUM = 0.01, 0.9
TARGETS = {  # hubel/torch eager, from the performance issue
    ("mlp", "train"): 1.5, ("lenet5", "train"): 1.5, ("resnet20", "train"): 1.0,
    ("vgg11_32", "train"): 1.0, ("mlp", "infer"): 1.0, ("lenet5", "infer"): 1.0,
    ("resnet20", "infer"): 1.0, ("vgg11_32", "infer"): 1.0,
}


# --- the hubel side ------------------------------------------------------------------------
def hubel_model(name: str):
    import hubel
    from hubel.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from hubel.models import Sequential

    if name == "mlp":
        return Sequential([Dense(256, activation="relu"), Dense(256, activation="relu"),
                           Dense(10)])
    if name == "lenet5":
        return hubel.zoo.lenet5(input_shape=(28, 28, 1), num_classes=10, softmax=False)
    if name == "resnet20":
        return hubel.zoo.resnet20(input_shape=(32, 32, 3), num_classes=10, softmax=False)
    if name == "vgg11_32":
        layers = []
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            layers.append(MaxPooling2D(2) if v == "M" else
                          Conv2D(v, 3, padding="same", activation="relu"))
        return Sequential(layers + [Flatten(), Dense(512, activation="relu"), Dense(10)])
    raise KeyError(name)


class HubelRunner:
    jit = False  # compile(jit_compile=...): the traced training step

    def __init__(self, name: str, x: np.ndarray, y: np.ndarray):
        import hubel

        self.model = hubel_model(name)
        self.model.compile(optimizer=hubel.optimizers.SGD(LR, momentum=MOMENTUM),
                           loss=hubel.losses.SparseCategoricalCrossentropy(from_logits=True),
                           jit_compile=self.jit)
        self.x, self.y = x, y

    def train_steps(self, n: int) -> None:
        for _ in range(n):
            self.model.train_on_batch(self.x, self.y)

    def infer_steps(self, n: int) -> None:
        import hubel

        with hubel.no_grad():
            for _ in range(n):
                self.model(self.x, training=False)


class TracedRunner(HubelRunner):
    """hubel with the traced training step (model.compile(jit_compile=True))."""

    jit = True


# --- the torch side ------------------------------------------------------------------------
class TorchRunner:
    def __init__(self, name: str, x: np.ndarray, y: np.ndarray):
        import torch
        import torch_models

        self.torch = torch
        self.model = getattr(torch_models, name)()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        xt = x if x.ndim == 2 else x.transpose(0, 3, 1, 2)
        self.x = torch.from_numpy(np.ascontiguousarray(xt))
        self.y = torch.from_numpy(y.astype(np.int64))

    def train_steps(self, n: int) -> None:
        F = self.torch.nn.functional
        self.model.train()
        for _ in range(n):
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(self.x), self.y)
            loss.backward()
            self.opt.step()

    def infer_steps(self, n: int) -> None:
        self.model.eval()
        with self.torch.no_grad():
            for _ in range(n):
                self.model(self.x)


class CompiledRunner(TorchRunner):
    """torch.compile of the same model (inductor); None when it does not run here."""

    def __init__(self, name: str, x: np.ndarray, y: np.ndarray):
        super().__init__(name, x, y)
        self.model = self.torch.compile(self.model)


def make_batch(name: str, seed: int = 0):
    batch, hshape, _ = WORKLOADS[name]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + hshape).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


def runner(framework: str, name: str):
    x, y = make_batch(name)
    cls = {"hubel": HubelRunner, "hubel_jit": TracedRunner, "hubel_gemm": GemmRunner,
           "torch": TorchRunner, "torch_malloc": TorchRunner,
           "compile": CompiledRunner}[framework]
    return cls(name, x, y)


def floor_products(name: str, mode: str) -> list:
    """The matrix products of one hubel step, to be timed alone (same shapes and
    blocks as hubel's, through hubel's own products (hubel.backends.blas), random data;
    none for a layer that takes the direct single-channel kernel; a Winograd layer's 36
    per-tile-position products: forward V @ U, for training also gU = Vᵀ Z and
    gV = Z Uᵀ): else per block of images, conv forward y = cols @ W and, for training,
    gW = colsᵀ @ gy and the input gradient (not for the first layer): im2col(gy_pad) @
    W_turned for stride-1 'same'-like layers, else gcols = gy @ Wᵀ; Dense the same three
    products. step time − this = everything that is not GEMM (im2col/col2im, BN,
    activations, pooling, the optimizer, Python). Random data: the products' time does not
    depend on the numbers (no denormals: uniform in [0, 1))."""
    from hubel.backends.blas import matmul
    from hubel.layers import Conv2D, Dense
    from hubel.models.summary import trace
    from hubel.ops import conv, winograd

    batch, hshape, _ = WORKLOADS[name]
    rng = np.random.default_rng(0)
    products, first = [], True

    def add(m, k, n, transposed=False):  # (m, k) @ (k, n), or transposed: (m, k)ᵀ @ (m, n)
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((m, n) if transposed else (k, n), dtype=np.float32)
        products.append((lambda a=a, b=b: matmul(a.T, b)) if transposed
                        else (lambda a=a, b=b: matmul(a, b)))

    def add_batched(m, k, n, transposed=False):  # the same for 36 matrices at once
        a = rng.random((36, m, k), dtype=np.float32)
        b = rng.random((36, m, n) if transposed else (36, k, n), dtype=np.float32)
        products.append((lambda a=a, b=b: matmul(a.transpose(0, 2, 1), b)) if transposed
                        else (lambda a=a, b=b: matmul(a, b)))

    for rec in trace(hubel_model(name), hshape):
        layer = rec["layer"]
        if isinstance(layer, Conv2D):
            x_shape, out_shape = (batch, *rec["in"][1:]), rec["out"]
            kernel, c, f = layer.kernel.shape[:2], x_shape[-1], layer.kernel.shape[-1]
            pads, out = conv.conv_geometry(x_shape, kernel, layer.strides, layer.padding,
                                           layer.dilation_rate, "", warn=False)
            k = int(np.prod(kernel)) * c
            rows = int(np.prod(out))
            as_conv = conv.gradient_as_convolution(x_shape[1:-1], out, kernel, layer.strides,
                                                   layer.dilation_rate, pads)
            if conv.single_channel_direct(x_shape, layer.strides, layer.dilation_rate,
                                          layer.groups):
                first = False  # the direct kernel (LeNet-5's C1): no matrix product
                continue
            if winograd.applies(x_shape, out, kernel, layer.strides, layer.dilation_rate,
                                layer.groups, f):  # 36 products, one per tile position
                tiles = batch * -(-out[0] // 4) * -(-out[1] // 4)
                add_batched(tiles, c, f)
                if mode == "train":
                    add_batched(tiles, c, f, transposed=True)  # gU = Vᵀ Z
                    if not first:
                        add_batched(tiles, f, c)  # gV = Z Uᵀ
                first = False
                continue
            for images in conv.image_blocks(x_shape, out, kernel, layer.strides, f):
                nb = images.stop - images.start
                add(nb * rows, k, f)
                if mode == "train":
                    add(nb * rows, k, f, transposed=True)
                    if not first and not as_conv:
                        add(nb * rows, f, k)
            if mode == "train" and not first and as_conv:
                in_rows = int(np.prod(x_shape[1:-1]))
                gy_shape = (batch, *out_shape[1:-1], f)
                for images in conv.image_blocks(gy_shape, x_shape[1:-1], kernel,
                                                (1,) * len(kernel), c):
                    add((images.stop - images.start) * in_rows, int(np.prod(kernel)) * f, c)
        elif isinstance(layer, Dense):
            m, k, f = batch, layer.kernel.shape[0], layer.kernel.shape[1]
            add(m, k, f)
            if mode == "train":
                add(m, k, f, transposed=True)
                if not first:
                    add(m, f, k)
        else:
            continue
        first = False

    return products


class GemmRunner:
    """hubel's step reduced to its matrix products (floor_products): a "step" runs them
    once. It takes its turn in the rotation with the frameworks (worker "hubel_gemm"), so
    the floor is a median over the same rounds, in the same phases of the host, as the
    steps it is compared with; a floor timed once, before or after, fell in another phase
    (a slow minute once made it longer than the median step)."""

    def __init__(self, name: str, x: np.ndarray, y: np.ndarray):
        self.name = name
        self.products: dict = {}

    def _steps(self, mode: str, n: int) -> None:
        products = self.products.get(mode)
        if products is None:
            products = self.products[mode] = floor_products(self.name, mode)
        for _ in range(n):
            for p in products:
                p()

    def train_steps(self, n: int) -> None:
        self._steps("train", n)

    def infer_steps(self, n: int) -> None:
        self._steps("infer", n)


def gemm_peak(threads: int) -> float:
    """Measured float32 GEMM GFLOP/s, 2048², best of 5, the faster of NumPy's OpenBLAS on
    its own `threads` threads (hubel limits that BLAS to one thread, so the limit is
    lifted here) and hubel's products (the library hubel.backends.blas.library() names,
    split over hubel's pool)."""
    from threadpoolctl import threadpool_limits

    from hubel.backends.blas import matmul

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    with threadpool_limits(threads, "blas"):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(5))
    matmul(a, a)
    best = min(best, *(_timed(lambda: matmul(a, a)) for _ in range(5)))
    return 2 * 2048**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


PAUSE = 0.3  # seconds between timed chunks of different frameworks

# glibc's malloc as hubel sets it on import (hubel/backends/memory.py: large arrays from the
# heap, never trimmed), given to the "torch_malloc" worker through glibc's tunables: PyTorch
# eager with the same allocation policy, beside PyTorch as shipped ("torch").
HUBEL_MALLOC = ("glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647:"
                "glibc.malloc.top_pad=67108864")


# the small workloads' chunks take 0.1 s: three (two) times the repeats cost seconds and
# keep the host's slow phases, which last seconds, from deciding their median
MORE_REPEATS = {"mlp": 3, "lenet5": 2}


def repeats_for(name: str, repeats: int) -> int:
    return repeats * MORE_REPEATS.get(name, 1)


def steps_for(name: str, mode: str) -> int:
    base = {"mlp": 40, "lenet5": 10, "resnet20": 2, "vgg11_32": 1}[name]
    return base * (3 if mode == "infer" else 1)


def measure(name: str, mode: str, repeats: int, frameworks=("hubel", "torch"),
            spread: dict | None = None, threads: int = 1, same_process: bool = False) -> dict:
    """Interleaved timing of the frameworks: median images/s over `repeats` chunks
    (and, into `spread` if given, each framework's slowest and fastest chunk).

    Each framework runs in a worker process of its own that imports only that framework
    (as a user's program would), and the parent alternates the chunks between them; with
    `same_process` all frameworks run in this process instead (two OpenMP runtimes in one
    process: docs/performance.md gives what that does to the chunks)."""
    batch = WORKLOADS[name][0]
    workers = {}
    for fw in frameworks:
        try:
            workers[fw] = (_InProcess(fw, name, mode) if same_process
                           else _Worker(fw, name, mode, threads))
        except Exception as e:  # noqa: BLE001 - torch.compile fails in many ways
            print(f"  {fw} does not run here: {type(e).__name__}: {str(e)[:120]}")
    n = steps_for(name, mode)
    for w in workers.values():  # warm-up (JIT compilation, allocator)
        w.run(max(1, n // 2))
    rates = {fw: [] for fw in workers}
    for _ in range(repeats):
        for fw, w in workers.items():
            # BLAS and OpenMP worker threads spin for a while after their last call; let
            # the other framework's threads go to sleep before timing this one (without
            # the pause torch's LeNet-5 step measured 20-22 ms instead of 13-14 ms).
            # The worker's one untimed step then wakes its own threads.
            time.sleep(PAUSE)
            rates[fw].append(batch * n / w.chunk(n))
    for w in workers.values():
        w.close()
    if spread is not None:
        spread.update({fw: (min(v), max(v)) for fw, v in rates.items()})
    return {fw: statistics.median(v) for fw, v in rates.items()}


class _InProcess:
    """One framework's runner in this process."""

    def __init__(self, framework: str, name: str, mode: str):
        r = runner(framework, name)
        self.steps = getattr(r, f"{mode}_steps")
        if framework == "compile":  # compiles now, on the first steps (minutes)
            self.steps(2)

    def run(self, n: int) -> None:
        self.steps(n)

    def chunk(self, n: int) -> float:
        """Seconds for n steps, after one untimed step."""
        self.steps(1)
        return _timed(lambda: self.steps(n))

    def close(self) -> None:
        pass


class _Worker:
    """One framework's runner in a worker process of its own (`--worker`), driven over
    its stdin/stdout one command per line: `run N` (untimed steps), `chunk N` (one
    untimed step, then N timed ones: answers the seconds), `quit`."""

    def __init__(self, framework: str, name: str, mode: str, threads: int):
        env = dict(os.environ)
        if framework == "torch_malloc":
            env["GLIBC_TUNABLES"] = HUBEL_MALLOC
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--threads", str(threads), "--worker", framework,
             name, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._ask("ready")

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            self.proc.kill()
            raise RuntimeError(answer or f"worker exited with {self.proc.wait()}")
        return answer[2:].strip()

    def run(self, n: int) -> None:
        self._ask(f"run {n}")

    def chunk(self, n: int) -> float:
        return float(self._ask(f"chunk {n}"))

    def close(self) -> None:
        self._ask("quit")
        self.proc.wait()


def _worker(framework: str, name: str, mode: str, threads: int) -> None:
    """The worker process's loop (see _Worker); errors are answered, not raised."""
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the frameworks print stays off the command channel
    try:
        _set_threads(framework, threads)
        w = _InProcess(framework, name, mode)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which skips this one
        print(f"error {type(e).__name__}: {e}", file=out, flush=True)
        return
    for line in sys.stdin:
        command, *arg = line.split()
        if command == "quit":
            print("ok", file=out, flush=True)
            return
        if command == "ready":
            answer = ""
        elif command == "run":
            w.run(int(arg[0]))
            answer = ""
        else:  # chunk
            answer = repr(w.chunk(int(arg[0])))
        print(f"ok {answer}", file=out, flush=True)


def _set_threads(framework: str, threads: int) -> None:
    if not framework.startswith("hubel"):
        import torch

        torch.set_num_threads(threads)
    else:
        import hubel

        hubel.set_num_threads(threads)


def child_peak_rss(framework: str, name: str, mode: str, threads: int) -> tuple:
    """(peak RSS, what a steady-state step adds to the RSS held between steps), MB, of a
    fresh process that imports only one framework and runs a few steps of one workload."""
    out = subprocess.run([sys.executable, __file__, "--threads", str(threads), "--child",
                          framework, name, mode], capture_output=True, text=True, check=True)
    peak, added = map(float, out.stdout.strip().splitlines()[-1].split())
    return peak, added


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _child(framework: str, name: str, mode: str, threads: int) -> None:
    _set_threads(framework, threads)
    r = runner(framework, name)
    steps = getattr(r, f"{mode}_steps")
    steps(1)  # first step: JIT compilation / kernel loading, allocator warm-up
    first_peak = _status_mb("VmHWM")
    base = _status_mb("VmRSS")
    try:  # reset the high-water mark, so that it measures the steady-state steps only
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # pragma: no cover - older kernels: the peak includes the first step
        pass
    steps(3)
    steady_peak = _status_mb("VmHWM")
    print(max(first_peak, steady_peak), steady_peak - base)


def machine() -> dict:
    import torch
    from threadpoolctl import threadpool_info

    import hubel

    blas = [f"{d['internal_api']} {d.get('version')} ({d.get('architecture')})"
            for d in threadpool_info() if d["user_api"] == "blas"]
    from hubel.backends import blas as hubel_blas
    from hubel.backends import threads

    layer = os.environ.get("NUMBA_THREADING_LAYER", "default")
    pool = (f"one pool (Numba {layer}; products split over it, {hubel_blas.library()} "
            "on one thread each)" if threads.one_pool()
            else f"Numba {layer} + OpenBLAS's own threads")
    if torch.backends.mkl.is_available():
        blas.append("torch: its bundled MKL")
    return {"cores": os.cpu_count(), "cpu": _cpu_model(),
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "hubel": hubel.__version__, "blas": blas,
            "hubel_threads": pool}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--modes", nargs="*", default=["train", "infer"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--same-process", action="store_true",
                    help="time all frameworks in this process, not one worker each")
    ap.add_argument("--child", nargs=3, metavar=("FRAMEWORK", "NAME", "MODE"))
    ap.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "NAME", "MODE"))
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    if args.child:  # a fresh process for one framework: import nothing of the other
        _child(*args.child, args.threads)
        return
    if args.worker:  # a timing worker for one framework (see measure)
        _worker(*args.worker, args.threads)
        return
    import torch
    import torch_models

    import hubel

    torch.set_num_threads(args.threads)
    if hasattr(hubel, "set_num_threads"):
        hubel.set_num_threads(args.threads)
    repeats = 2 if args.quick else args.repeats
    peak = gemm_peak(args.threads)
    rows = []
    for name in args.only:
        batch, _, tshape = WORKLOADS[name]
        macs = torch_models.count_macs(getattr(torch_models, name)(),
                                       torch.zeros((1,) + tshape))
        for mode in args.modes:
            fws = ["hubel"] + (["hubel_jit"] if mode == "train" else []) + ["torch"] + \
                ([] if args.same_process else ["torch_malloc"]) + \
                ([] if args.no_compile else ["compile"]) + ["hubel_gemm"]
            spread = {}
            rates = measure(name, mode, repeats_for(name, repeats), fws, spread, args.threads,
                            args.same_process)
            flops_per_img = 2 * macs * (3 if mode == "train" else 1)
            row = {"workload": name, "mode": mode, "batch": batch,
                   "hubel_img_s": rates["hubel"], "torch_img_s": rates["torch"],
                   "hubel_img_s_range": spread["hubel"], "torch_img_s_range": spread["torch"],
                   "hubel_jit_img_s_range": spread.get("hubel_jit"),
                   "compile_img_s": rates.get("compile"),
                   "hubel_jit_img_s": rates.get("hubel_jit"),
                   "torch_malloc_img_s": rates.get("torch_malloc"),
                   "ratio": rates["hubel"] / rates["torch"],
                   "step_ms": 1000 * batch / rates["hubel"],
                   "gemm_ms": 1000 * batch / rates["hubel_gemm"],
                   "hubel_gflops": rates["hubel"] * flops_per_img / 1e9,
                   "torch_gflops": rates["torch"] * flops_per_img / 1e9}
            if not args.no_memory:
                for fw in ("hubel", "torch") + (("hubel_jit",) if mode == "train" else ()):
                    row[f"{fw}_peak_mb"], row[f"{fw}_step_mb"] = child_peak_rss(
                        fw, name, mode, args.threads)
            rows.append(row)
            print(f"{name:9s} {mode:5s} hubel {row['hubel_img_s']:10.0f} img/s  torch "
                  f"{row['torch_img_s']:10.0f} img/s  ratio {row['ratio']:.2f}", flush=True)
    write_results(Path(args.out), rows, peak, args.threads, repeats,
                  same_process=args.same_process)


def write_results(out: Path, rows: list, peak: float, threads: int, repeats: int,
                  date: str | None = None, same_process: bool = False) -> None:
    """run.json and run.md in `out` (date: when the rows were measured; default now)."""
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    layout = ("all frameworks in one process" if same_process else
              "each framework in a worker process of its own")
    doc = {"machine": info, "threads": threads, "repeats": repeats, "layout": layout,
           "gemm_peak_gflops": peak, "rows": rows,
           "date": date or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (out / "run.json").write_text(json.dumps(doc, indent=2))
    more = ", ".join(f"{name} {repeats * k}" for name, k in MORE_REPEATS.items())
    lines = [
        "# hubel vs PyTorch eager: training and inference throughput",
        "",
        f"{doc['date']}; {info['cpu']}, {info['cores']} cores, {threads} threads; BLAS "
        f"{', '.join(info['blas'])}; numpy {info['numpy']}, torch {info['torch']}, "
        f"hubel {info['hubel']} ({info['hubel_threads']}); {layout}, median of {repeats} "
        f"interleaved repeats ({more}); "
        f"measured float32 GEMM peak {peak:.0f} GFLOP/s.",
        "",
        "| workload | mode | batch | hubel img/s | torch img/s | hubel/torch | "
        "hubel jit_compile img/s (/torch) | target | "
        "torch, hubel's malloc: img/s (hubel/it) | torch.compile img/s | "
        "hubel GFLOP/s (% peak) | torch GFLOP/s (% peak) | "
        "hubel step ms (GEMM alone) | torch step ms | hubel peak MB (in steps) | "
        "torch peak MB (in steps) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target = TARGETS[(r["workload"], r["mode"])]
        best = _best_ratio(r)
        verdict = "met" if best >= target else f"short by {100 * (1 - best / target):.0f}%"
        jit = r.get("hubel_jit_img_s")
        jit = f"{jit:,.0f} (**{jit / r['torch_img_s']:.2f}**)" if jit else "n/a"
        comp = f"{r['compile_img_s']:,.0f}" if r.get("compile_img_s") else "n/a"
        tm = r.get("torch_malloc_img_s")
        tm = f"{tm:,.0f} ({r['hubel_img_s'] / tm:.2f})" if tm else "n/a"
        lines.append(
            f"| {r['workload']} | {r['mode']} | {r['batch']} | {r['hubel_img_s']:,.0f} | "
            f"{r['torch_img_s']:,.0f} | **{r['ratio']:.2f}** | {jit} | ≥ {target} ({verdict}) | "
            f"{tm} | {comp} | {r['hubel_gflops']:.1f} "
            f"({100 * r['hubel_gflops'] / peak:.0f}%) | {r['torch_gflops']:.1f} "
            f"({100 * r['torch_gflops'] / peak:.0f}%) | {r['step_ms']:.1f} "
            f"({r['gemm_ms']:.1f}) | {1000 * r['batch'] / r['torch_img_s']:.1f} | "
            f"{_mem(r, 'hubel')}{_jit_mem(r)} | {_mem(r, 'torch')} |")
    lines += ["", "torch: PyTorch eager as installed from PyPI. torch, hubel's malloc: the same "
              "in a process started with GLIBC_TUNABLES set to the malloc policy hubel sets "
              "on import (large arrays from the heap, never trimmed; hubel/backends/memory.py);"
              " glibc's default maps and unmaps each large tensor, so every step page-faults "
              "its working set again. The target is judged against PyTorch as installed, with "
              "hubel's faster training mode: eager, or jit_compile=True (the traced step "
              "replayed without building the graph: hubel/training/traced.py; same results "
              "as eager, tests/test_traced.py).",
              "", "GFLOP/s: the direct convolution's multiply-adds (x2) per second; hubel's "
              "Winograd layers do 4x fewer multiplications, so its figure can pass the GEMM "
              "peak.", "", "hubel step ms: one batch; GEMM alone: the same matrix products timed "
              "without the rest of the step (floor_products), in a worker of their own that "
              "takes its turn in the same rounds as the frameworks (median of those chunks), "
              "so step − GEMM is the time spent outside matrix products. Peak MB: peak "
              "resident memory of a fresh process that imports one framework only and "
              "runs 1 + 3 steps; in brackets "
              "how far the three steady-state steps rise above the memory held between "
              "steps (framework, model, batch, optimizer state and kernels loaded): the "
              "working memory of a step.", "", "## Where the time goes in the missed targets",
              ""]
    missed = [r for r in rows if _best_ratio(r) < TARGETS[(r["workload"], r["mode"])]]
    if not missed:
        lines.append("None: every target was met in this run.")
    for r in missed:
        torch_ms = 1000 * r["batch"] / r["torch_img_s"]
        step = 1000 * r["batch"] / max(r["hubel_img_s"], r.get("hubel_jit_img_s") or 0)
        rest = step - r["gemm_ms"]
        mode = " (jit_compile)" if step < r["step_ms"] else ""
        target = TARGETS[(r["workload"], r["mode"])]
        budget = torch_ms / target
        lines.append(
            f"- {r['workload']} {r['mode']}: {_best_ratio(r):.2f} against "
            f"{target:.1f}, hubel{mode} {step:.1f} ms per step "
            f"against torch's {torch_ms:.1f} ms; its matrix products alone take "
            f"{r['gemm_ms']:.1f} ms ({100 * r['gemm_ms'] / torch_ms:.0f}% of torch's whole "
            f"step), the other {rest:.1f} ms ({100 * rest / step:.0f}% of the step) go to "
            f"{_outside_products(r['workload'], r['mode'])}. The target needs a step of "
            f"{budget:.2f} ms at most: the products alone fill "
            f"{100 * r['gemm_ms'] / budget:.0f}% of it, and a step of nothing but its "
            f"products would be {torch_ms / r['gemm_ms']:.2f}x torch.{_chunks(r)}")
    thin = [r for r in rows if r not in missed
            and _best_ratio(r) < 1.1 * TARGETS[(r["workload"], r["mode"])]]
    if thin and any("hubel_img_s_range" in r for r in thin):
        lines += ["", "Met by less than 10% (the chunks' spread shows how much the host's "
                  "noise can move the median):", ""]
        lines += [f"- {r['workload']} {r['mode']}: {_best_ratio(r):.2f} against "
                  f"{TARGETS[(r['workload'], r['mode'])]:.1f}.{_chunks(r)}" for r in thin]
    (out / "run.md").write_text("\n".join(lines) + "\n")


_OUTSIDE_PRODUCTS = {  # what a step does besides its matrix products, per workload
    "mlp": "the ReLU masks and bias sums, the loss",
    "lenet5": "the direct C1 kernel, im2col and col2im copies, pooling, the ReLU masks, the "
              "loss",
    "resnet20": "Winograd transforms, im2col copies, batch normalization, the residual adds, "
                "the loss",
    "vgg11_32": "Winograd transforms, pooling, the ReLU masks, the loss",
}


def _outside_products(name: str, mode: str) -> str:
    """What the time outside the products goes to, for the missed-target notes."""
    work = _OUTSIDE_PRODUCTS.get(name, "the layers' other kernels")
    if mode == "infer":
        return work.replace(", the loss", "").replace(" and col2im", "") \
            .replace("the ReLU masks and bias sums",
                                                       "the bias and ReLU") \
            .replace(", the ReLU masks", "") + " and Python"
    return work + ", the optimizer and Python"


def _chunks(r: dict) -> str:
    """The spread of the timed chunks, when it was recorded: hubel's can be bimodal
    (docs/performance.md)."""
    if "hubel_img_s_range" not in r:
        return ""
    (hl, hh), (tl, th) = r["hubel_img_s_range"], r["torch_img_s_range"]
    ms = [1000 * r["batch"] / v for v in (hh, hl, th, tl)]
    jit = ""
    if r.get("hubel_jit_img_s_range"):
        jl, jh = r["hubel_jit_img_s_range"]
        jit = (f", hubel jit_compile {1000 * r['batch'] / jh:.1f}-{1000 * r['batch'] / jl:.1f}"
               f" ms")
    return (f" Chunks: hubel {ms[0]:.1f}-{ms[1]:.1f} ms per step{jit}, torch {ms[2]:.1f}-"
            f"{ms[3]:.1f} ms (best hubel against best torch: {hh / th:.2f}).")


def _best_ratio(r: dict) -> float:
    """hubel/torch in hubel's faster mode (jit_compile=True is measured in training)."""
    return max(r["ratio"], (r.get("hubel_jit_img_s") or 0) / r["torch_img_s"])


def _jit_mem(row: dict) -> str:
    return f"; jit {_mem(row, 'hubel_jit')}" if "hubel_jit_peak_mb" in row else ""


def _mem(row: dict, fw: str) -> str:
    if f"{fw}_peak_mb" not in row:
        return "n/a"
    return f"{row[f'{fw}_peak_mb']:.0f} (+{row[f'{fw}_step_mb']:.0f})"


if __name__ == "__main__":
    main()
