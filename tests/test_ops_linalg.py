"""Matrix product: 1-D operands, batches, broadcast batch axes, empty batches."""

import numpy as np
import pytest
from op_harness import check_op

import hubel

torch = pytest.importorskip("torch")
F = hubel.F


@pytest.mark.parametrize("shapes", [
    ((3, 4), (4, 5)),          # matrix @ matrix
    ((4,), (4,)),              # dot product
    ((4,), (4, 5)),            # vector @ matrix
    ((3, 4), (4,)),            # matrix @ vector
    ((2, 3, 4), (2, 4, 5)),    # batched
    ((2, 3, 4), (4, 5)),       # batch @ shared matrix
    ((2, 1, 3, 4), (5, 4, 2)), # broadcast batch axes
    ((4,), (2, 3, 4, 5)),      # vector @ batch
    ((2, 3, 3, 4), (4,)),      # batch @ vector
    ((1, 1), (1, 1)),          # size-1 everything
    ((0, 4), (4, 3)),          # empty batch
    ((3, 0), (0, 2)),          # empty inner axis: zeros
], ids=str)
def test_matmul(shapes):
    check_op(F.matmul, torch.matmul, *shapes)
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, *shapes, gradcheck=False)


def test_matmul_with_an_array_on_the_left():
    check_op(lambda b: b.data.T @ b, lambda b: b.detach().T @ b, (3, 2), gradcheck=False)


@pytest.mark.parametrize("shapes", [((5, 4), (4, 3), (3,)), ((2, 5, 4), (4, 3), (3,)),
                                    ((1, 4), (4, 1), (1,)), ((0, 4), (4, 3), (3,))], ids=str)
def test_affine_is_torch_linear(shapes):
    # Dense's fused y = x @ W + b (W stored (in, out); torch's linear takes (out, in)).
    from hubel.ops.linalg import affine

    check_op(affine, lambda x, w, b: torch.nn.functional.linear(x, w.T, b), *shapes)
    check_op(lambda x, w: affine(x, w), lambda x, w: x @ w, *shapes[:2])


@pytest.mark.parametrize("shapes", [((5, 4), (4, 3), (3,)), ((300, 40), (40, 256), (256,)),
                                    ((0, 4), (4, 3), (3,))], ids=str)
def test_affine_with_fused_relu_is_torch_relu_of_linear(shapes):
    # (300, 256) outputs take the Numba epilogue and its one-pass mask + bias sum (torch
    # only: among 76,800 outputs finite differences cross the kink of some)
    from hubel.ops.linalg import affine

    small = shapes[0][0] < 300
    check_op(lambda x, w, b: affine(x, w, b, relu=True),
             lambda x, w, b: torch.relu(torch.nn.functional.linear(x, w.T, b)), *shapes,
             gradcheck=small)
    check_op(lambda x, w: affine(x, w, relu=True), lambda x, w: torch.relu(x @ w),
             *shapes[:2], gradcheck=small)


def test_affine_keeps_nothing_it_will_not_need():
    from hubel.ops.linalg import affine

    x = hubel.Tensor(np.ones((2, 3), np.float32))  # data: no input gradient
    w = hubel.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    node = affine(x, w)._ctx
    assert node.w is None and node.x2 is not None
