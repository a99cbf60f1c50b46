"""Numerical gradient check (SPEC C4): compare backprop with central finite differences.

    ∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε

`gradcheck(fn, *inputs)` checks an op or any function of tensors; `gradcheck(model, x)`
checks every parameter of every layer of a model. Both work in float64 and report the
worst element when they fail.
"""

from __future__ import annotations

import numpy as np


class GradcheckError(AssertionError):
    """Raised when backprop and finite differences disagree."""


def _scalar_of(out, weights):
    """A scalar Σ wᵢ·outᵢ (a fixed random projection checks every output at once)."""
    from hubel.tensor import Tensor

    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for o, w in zip(outs, weights):
        total = total + (o * Tensor(w)).sum() if isinstance(o, Tensor) else total
    return total


def _projection_weights(out, seed=0):
    # A private, fixed generator (the one exception to "every draw comes from
    # hubel.random.rng()"): a check must be repeatable and must not shift the random
    # stream of the run it checks.
    rng = np.random.default_rng(seed)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [rng.standard_normal(np.shape(o.data)) for o in outs]


def _check(name: str, analytic, numeric, atol: float, rtol: float) -> float:
    """Relative error max|a − n| / max(|a|, |n|) over the tensor; raises GradcheckError
    naming the worst element when some |aᵢ − nᵢ| > atol + rtol·max(|aᵢ|, |nᵢ|).

    The error is relative to the largest gradient of the tensor, not element by element,
    so near-zero elements (where finite differences are pure rounding) do not dominate it.
    """
    diff = np.abs(analytic - numeric)
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    bad = ~(diff <= atol + rtol * scale)  # NaN fails too
    rel = float(diff.max() / max(float(scale.max()), 1e-12)) if diff.size else 0.0
    if bad.any():
        excess = np.nan_to_num(diff - rtol * scale, nan=np.inf)
        i = np.unravel_index(np.argmax(np.where(bad, excess, -np.inf)), diff.shape)
        raise GradcheckError(
            f"gradcheck failed for {name} at index {tuple(int(j) for j in i)}: backprop "
            f"{analytic[i]:.8g}, finite difference {numeric[i]:.8g} "
            f"(|diff| {diff[i]:.3g} > atol {atol:g} + rtol {rtol:g}·{scale[i]:.3g})"
        )
    return rel


def _numeric_grad(f, array: np.ndarray, eps: float, indices) -> np.ndarray:
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in indices:
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              max_elements: int | None = None, training: bool = False, loss=None,
              y=None) -> bool | dict:
    """Check backprop against finite differences in float64.

    Args:
        fn: a function of Tensors returning a Tensor (or tuple), or a model/layer.
        inputs: Tensors or arrays. For a function, those that require grad are checked;
            for a model, `inputs` is the input batch and every parameter is checked.
        eps, atol, rtol: step and tolerances (|backprop − numeric| ≤ atol + rtol·scale).
        max_elements: check at most this many elements per tensor (chosen at random).
        training: for a model, run it in training mode (use no dropout then).
        loss, y: for a model, the loss `loss(y, model(x))` to differentiate (default: a
            fixed random projection of the output).
    Returns:
        True for a function; for a model, {parameter name: worst relative error}.
    Raises:
        GradcheckError naming the tensor, the worst element and both values.
    """
    if hasattr(fn, "weights") and callable(fn):
        return _gradcheck_model(fn, inputs, eps, atol, rtol, max_elements, training, loss, y)
    from hubel.tensor import Tensor

    tensors = []
    for x in inputs:
        if isinstance(x, Tensor):
            t = Tensor(np.array(x.data, dtype=np.float64) if x.dtype.kind == "f" else x.data,
                       requires_grad=x.requires_grad)
        elif isinstance(x, np.ndarray):
            t = Tensor(x.astype(np.float64) if x.dtype.kind == "f" else x)
        else:
            t = x  # options (axes, shapes, Python numbers) pass through unchanged
        tensors.append(t)
    checked = [t for t in tensors if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    out = fn(*tensors)
    weights = _projection_weights(out)
    _scalar_of(out, weights).backward()
    rng = np.random.default_rng(1)

    def value() -> float:
        from hubel.autograd.grad_mode import no_grad

        with no_grad():
            return float(_scalar_of(fn(*tensors), weights).data)

    for k, t in enumerate(tensors):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        idx = _indices(t.data.size, max_elements, rng)
        numeric = _numeric_grad(value, t.data, eps, idx)
        mask = np.zeros(t.data.size, bool)
        mask[idx] = True
        mask = mask.reshape(t.data.shape)
        _check(f"input {k}", np.where(mask, analytic, 0), np.where(mask, numeric, 0), atol, rtol)
    return True


def _indices(size: int, max_elements, rng):
    if max_elements is None or size <= max_elements:
        return range(size)
    return rng.choice(size, max_elements, replace=False)


def _gradcheck_model(model, inputs, eps, atol, rtol, max_elements, training, loss, y):
    from hubel.autograd.grad_mode import no_grad
    from hubel.tensor import Tensor

    xs = [Tensor(np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64))
          for x in inputs]
    if not getattr(model, "built", True):  # a lazy model creates its weights on first call
        with no_grad():
            model(*xs, training=training)
    params = [w for w in model.weights if w.requires_grad]
    if not params:
        raise ValueError("gradcheck: the model has no trainable weights")
    saved = [(w.data, w.grad) for w in params]
    try:
        for w in params:
            w.data = w.data.astype(np.float64)
            w.grad = None

        def objective():
            out = model(*xs, training=training)
            if loss is not None:
                return loss(y, out)
            return _scalar_of(out, weights)

        with no_grad():
            weights = _projection_weights(model(*xs, training=training))
        objective().backward()
        rng = np.random.default_rng(1)
        report = {}
        for w in params:

            def value():
                with no_grad():
                    return float(objective().data)

            idx = _indices(w.data.size, max_elements, rng)
            numeric = _numeric_grad(value, w.data, eps, idx)
            mask = np.zeros(w.data.size, bool)
            mask[idx] = True
            mask = mask.reshape(w.data.shape)
            analytic = w.grad if w.grad is not None else np.zeros_like(w.data)
            report[w.name] = _check(f"parameter {w.name!r}", np.where(mask, analytic, 0),
                                    np.where(mask, numeric, 0), atol, rtol)
        return report
    finally:
        for w, (data, grad) in zip(params, saved):
            w.data, w.grad = data, grad
