"""One test helper for every differentiable op (STYLE.md point 9).

`check_op(hubel_fn, torch_fn, *inputs)` checks an op two independent ways:

1. against PyTorch on CPU in float32: the forward output, and the backward gradient of
   Σ out·w (w a fixed random weight per output element, so every output element counts);
2. with `hubel.gradcheck` in float64 (backprop against central finite differences).

Adding an op test is a few lines:

    @pytest.mark.parametrize("shape_a, shape_b", BROADCAST_PAIRS)
    def test_mul(shape_a, shape_b):
        check_op(F.mul, torch.mul, shape_a, shape_b)

Inputs are shapes (filled with random normals, or with values in [0.5, 2) when
`positive=True`, for log/sqrt/pow) or arrays (used as given: integer and boolean arrays,
such as masks and indices, never require a gradient). `args` are extra non-tensor
arguments passed to both functions after the tensors; anything else (different keyword
names in the two libraries) goes in lambdas. An op may return a tensor or a list/tuple of
tensors (split).
"""

from __future__ import annotations

import numpy as np
import pytest

import hubel

torch = pytest.importorskip("torch")

# Shape pairs that broadcast: equal, trailing, size-1 stretched both ways, scalar, and an
# empty batch (0, k).
BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((2, 3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((1,), (2, 3)),
    ((), (2, 3)),
    ((2, 1, 4), (3, 1)),
    ((0, 4), (4,)),
    ((0, 4), (1, 4)),
]
# Shapes for unary ops: vectors, matrices, size-1 axes, scalars, empty batches.
UNARY_SHAPES = [(5,), (3, 4), (2, 1, 3), (1, 1), (), (0, 4), (0, 3, 2)]


def random_broadcast_pair(seed: int) -> tuple[tuple, tuple]:
    """Two random shapes (up to 4-D, sizes 1-3) that broadcast against each other."""
    r = np.random.default_rng(seed)
    ndim = int(r.integers(1, 5))
    full = tuple(int(n) for n in r.integers(1, 4, size=ndim))
    a = tuple(1 if r.random() < 0.3 else n for n in full)
    b = tuple(1 if r.random() < 0.3 else n for n in full)
    return a[int(r.integers(0, ndim)):], b


def make_input(spec, rng: np.random.Generator, positive: bool = False) -> np.ndarray:
    """A float64 array for a shape, or the given array itself."""
    if isinstance(spec, np.ndarray):
        return spec
    if positive:
        return rng.uniform(0.5, 2.0, size=spec)
    return rng.standard_normal(spec)


def _outputs(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def check_op(hubel_fn, torch_fn, *inputs, args: tuple = (), positive: bool = False,
             rtol: float = 1e-5, atol: float = 1e-5, grad_rtol: float = 1e-4,
             grad_atol: float = 1e-4, gradcheck: bool = True, seed: int = 0) -> None:
    """Check `hubel_fn` against `torch_fn` (float32) and finite differences (float64).

    Args:
        hubel_fn, torch_fn: the op in hubel and in PyTorch, called as fn(*tensors, *args).
        inputs: shapes (random data) or arrays (used as given; floating arrays are
            differentiated, integer/boolean ones are not).
        args: extra non-tensor arguments (axes, bounds, shapes) for both functions.
        positive: draw random data from [0.5, 2) instead of N(0, 1).
        rtol, atol: forward tolerance; grad_rtol, grad_atol: backward tolerance (float32).
        gradcheck: also run `hubel.gradcheck` in float64.
    """
    rng = np.random.default_rng(seed)
    arrays = [make_input(spec, rng, positive) for spec in inputs]
    differentiable = [a.dtype.kind == "f" for a in arrays]

    # --- 1. forward and backward against PyTorch, float32 --------------------------------
    xs = [hubel.Tensor(a.astype(np.float32) if d else a, requires_grad=d)
          for a, d in zip(arrays, differentiable)]
    ts = [torch.tensor(a.astype(np.float32) if d else a, requires_grad=d)
          for a, d in zip(arrays, differentiable)]
    outs = _outputs(hubel_fn(*xs, *args))
    touts = _outputs(torch_fn(*ts, *args))
    assert len(outs) == len(touts), f"{len(outs)} outputs, PyTorch gives {len(touts)}"
    weights = []
    for out, tout in zip(outs, touts):
        expected = tout.detach().numpy()
        assert out.shape == expected.shape, f"shape {out.shape}, PyTorch {expected.shape}"
        assert out.dtype == expected.dtype, f"dtype {out.dtype}, PyTorch {expected.dtype}"
        np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol,
                                   err_msg="forward differs from PyTorch")
        weights.append(rng.standard_normal(out.shape).astype(np.float32))
    if not any(differentiable):
        return
    loss = sum((out * hubel.Tensor(w)).sum() for out, w in zip(outs, weights))
    tloss = sum((tout * torch.tensor(w)).sum() for tout, w in zip(touts, weights))
    loss.backward()
    tloss.backward()
    for k, (x, t) in enumerate(zip(xs, ts)):
        if not x.requires_grad:
            continue
        expected = np.zeros(t.shape, np.float32) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape, np.float32) if x.grad is None else x.grad
        assert got.shape == x.shape and got.dtype == x.dtype, (
            f"input {k}: grad {got.shape} {got.dtype} for a {x.shape} {x.dtype} input")
        np.testing.assert_allclose(got, expected, rtol=grad_rtol, atol=grad_atol,
                                   err_msg=f"gradient of input {k} differs from PyTorch")

    # --- 2. float64 gradient check against finite differences ----------------------------
    if gradcheck:
        xs64 = [hubel.Tensor(a.astype(np.float64) if d else a, requires_grad=d)
                for a, d in zip(arrays, differentiable)]
        hubel.gradcheck(lambda *ts_: hubel_fn(*ts_, *args), *xs64)
