"""Every loss of SPEC O1 against PyTorch (or its formula written in torch) and finite
differences; reductions; errors."""

import numpy as np
import pytest
from op_harness import check_op

import hubel
from hubel import losses as L

torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(0)
N, K = 6, 5
labels = rng.integers(0, K, N)
onehot = np.eye(K)[labels]
signs = rng.choice([-1.0, 1.0], N)
probs = rng.dirichlet(np.ones(K), N)


CASES = {
    "sparse_ce_logits": (lambda p: L.SparseCategoricalCrossentropy(True, "none")(labels, p),
                         lambda t: TF.cross_entropy(t, torch.tensor(labels), reduction="none"),
                         (N, K), False),
    "sparse_ce_logits_mean": (lambda p: L.SparseCategoricalCrossentropy(True)(labels, p),
                              lambda t: TF.cross_entropy(t, torch.tensor(labels)),
                              (N, K), False),
    "sparse_ce_probs": (lambda p: L.SparseCategoricalCrossentropy(False, "none")(labels, p),
                        lambda t: TF.nll_loss(torch.log(t), torch.tensor(labels),
                                              reduction="none"), probs, False),
    "ce_logits": (lambda p: L.CategoricalCrossentropy(True, "none")(onehot, p),
                  lambda t: -(torch.tensor(onehot, dtype=t.dtype) * TF.log_softmax(t, 1)).sum(1),
                  (N, K), False),
    "ce_probs": (lambda p: L.CategoricalCrossentropy(False, "none")(onehot, p),
                 lambda t: -(torch.tensor(onehot, dtype=t.dtype) * torch.log(t)).sum(1),
                 probs, False),
    "bce": (lambda p: L.BinaryCrossentropy(False, "none")(onehot, p),
            lambda t: TF.binary_cross_entropy(t, torch.tensor(onehot, dtype=t.dtype),
                                              reduction="none").mean(1),
            rng.uniform(0.05, 0.95, (N, K)), False),
    "bce_logits": (lambda p: L.BinaryCrossentropy(True, "none")(onehot, p),
                   lambda t: TF.binary_cross_entropy_with_logits(
                       t, torch.tensor(onehot, dtype=t.dtype), reduction="none").mean(1),
                   (N, K), False),
    "mse": (lambda p: L.MeanSquaredError("none")(onehot, p),
            lambda t: TF.mse_loss(t, torch.tensor(onehot, dtype=t.dtype),
                                  reduction="none").mean(1), (N, K), False),
    "squared_error": (lambda p: L.SquaredError("none")(onehot, p),
                      lambda t: 0.5 * ((torch.tensor(onehot, dtype=t.dtype) - t) ** 2).sum(1),
                      (N, K), False),
    "hinge": (lambda p: L.Hinge("none")(signs, p),
              lambda t: torch.clamp(1 - torch.tensor(signs, dtype=t.dtype) * t, min=0),
              rng.standard_normal(N) * 0.3 + signs * 0.2, False),
    "logistic": (lambda p: L.Logistic("none")(signs, p),
                 lambda t: TF.softplus(-torch.tensor(signs, dtype=t.dtype) * t) / np.log(2),
                 (N,), False),
    "exponential": (lambda p: L.Exponential("none")(signs, p),
                    lambda t: torch.exp(-torch.tensor(signs, dtype=t.dtype) * t), (N,), False),
    "weston_watkins": (lambda p: L.MulticlassHinge("weston_watkins", reduction="none")(labels, p),
                       lambda t: TF.multi_margin_loss(t, torch.tensor(labels),
                                                      reduction="none") * K,
                       (N, K), False),
    "kl_divergence": (lambda p: L.KLDivergence("none")(probs[::-1].copy(), p),
                      lambda t: TF.kl_div(torch.log(t), torch.tensor(probs[::-1].copy(),
                                                                     dtype=t.dtype),
                                          reduction="none").sum(1), probs, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_torch(name):
    hf, tf, inp, _ = CASES[name]
    check_op(hf, tf, inp)


def test_crammer_singer_by_formula():
    scores = rng.standard_normal((N, K))

    def torch_cs(t):
        mask = torch.ones_like(t, dtype=torch.bool)
        mask[torch.arange(N), torch.tensor(labels)] = False
        worst = torch.where(mask, t, torch.tensor(-np.inf, dtype=t.dtype)).amax(1)
        return torch.clamp(1 + worst - t[torch.arange(N), torch.tensor(labels)], min=0)

    check_op(lambda p: L.MulticlassHinge("crammer_singer", reduction="none")(labels, p),
             torch_cs, scores)


def test_reductions_and_names():
    p = hubel.Tensor(rng.standard_normal((N, K)).astype(np.float32))
    per_example = L.SparseCategoricalCrossentropy(True, "none")(labels, p).data
    assert L.SparseCategoricalCrossentropy(True)(labels, p).item() == pytest.approx(
        per_example.mean(), rel=1e-6)
    assert L.SparseCategoricalCrossentropy(True, "sum")(labels, p).item() == pytest.approx(
        per_example.sum(), rel=1e-6)
    for name in ["categorical_crossentropy", "sparse_categorical_crossentropy", "mse",
                 "binary_crossentropy", "hinge", "kl_divergence", "squared_error",
                 "logistic", "exponential", "multiclass_hinge"]:
        assert isinstance(L.get(name), L.Loss)
    with pytest.raises(ValueError, match="unknown loss"):
        L.get("crossentropyy")


def test_stable_at_huge_logits():
    z = hubel.Tensor(np.array([[1e4, -1e4, 0.0]], np.float32), requires_grad=True)
    loss = L.SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), z)
    loss.backward()
    assert loss.item() == pytest.approx(2e4) and np.isfinite(z.grad).all()
    b = L.BinaryCrossentropy(from_logits=True)(np.array([[0.0, 1.0]]),
                                                hubel.Tensor(np.array([[1e4, -1e4]],
                                                                      np.float32)))
    assert np.isfinite(b.item())


def test_bad_labels_are_named():
    p = hubel.Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        L.SparseCategoricalCrossentropy()(np.array([0, 3]), p)
    with pytest.raises(ValueError, match="2 labels for"):
        L.SparseCategoricalCrossentropy()(np.array([0, 1]), hubel.Tensor(np.zeros((3, 3))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("contiguous", [True, False])
def test_fused_sparse_softmax_cross_entropy_mean_matches_torch(dtype, contiguous):
    """The mean reduction inside the fused op (the compiled row loop for contiguous
    logits, NumPy's lines otherwise): value and gradient against PyTorch, NaN rows,
    and labels out of range named in the error."""
    z_np = rng.standard_normal((37, 10)).astype(dtype) * 3
    y_np = rng.integers(0, 10, 37)
    z_in = z_np if contiguous else np.asfortranarray(z_np)
    z = hubel.Tensor(z_in, requires_grad=True)
    loss = L.SparseCategoricalCrossentropy(from_logits=True)(y_np, z)
    loss.backward()
    zt = torch.tensor(z_np, requires_grad=True)
    want = TF.cross_entropy(zt, torch.tensor(y_np))
    want.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss.data.dtype == dtype and loss.data.shape == ()
    np.testing.assert_allclose(loss.item(), want.item(), rtol=tol)
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=tol, atol=tol)
    with_nan = z_np.copy()
    with_nan[3, 4] = np.nan
    per = L.SparseCategoricalCrossentropy(True, "none")(y_np, hubel.Tensor(with_nan)).data
    assert np.isnan(per[3]) and np.isfinite(np.delete(per, 3)).all()
    for bad in (-1, 10):
        y_bad = y_np.copy()
        y_bad[5] = bad
        with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: labels must lie"):
            L.SparseCategoricalCrossentropy(from_logits=True)(y_bad, hubel.Tensor(z_in))
