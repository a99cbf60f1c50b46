"""The backward engine: chain rule, accumulation, retain_graph, no_grad, detach."""

import numpy as np
import pytest

import hubel
from hubel import Tensor
from hubel.autograd.engine import unbroadcast
from hubel.autograd.function import Function


def test_lecture_example():
    """f(x, y, z) = (x + y)·z at (−2, 5, −4): f = −12, ∇f = (z, z, x + y) = (−4, −4, 3)."""
    x = Tensor(-2.0, requires_grad=True)
    y = Tensor(5.0, requires_grad=True)
    z = Tensor(-4.0, requires_grad=True)
    f = (x + y) * z
    f.backward()
    assert float(f) == -12.0
    assert (float(x.grad), float(y.grad), float(z.grad)) == (-4.0, -4.0, 3.0)


def test_lecture_example_against_torch():
    torch = pytest.importorskip("torch")
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    ((x + y) * z).backward()
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_a_tensor_used_twice_gets_both_gradients():
    x = Tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert float(x.grad) == 7.0


def test_diamond_graph():
    x = Tensor(2.0, requires_grad=True)
    a, b = x * 3, x.exp()
    (a * b).backward()  # d/dx 3x·eˣ = 3eˣ(1 + x)
    np.testing.assert_allclose(float(x.grad), 3 * np.exp(2.0) * 3, rtol=1e-6)


def test_gradients_accumulate_over_two_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None


def test_retain_graph_allows_a_second_backward():
    x = Tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert float(x.grad) == 8.0


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = Tensor(2.0, requires_grad=True)
    y = (x * x).exp()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_the_graph_is_freed_after_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    y = h.sum()
    y.backward()
    assert h._ctx.inputs is None and y._ctx.inputs is None
    assert not hasattr(h._ctx, "a")  # what backward kept is gone too


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with hubel.no_grad():
        y = x * 2
        assert not hubel.is_grad_enabled()
        with hubel.enable_grad():
            z = x * 2
    assert hubel.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert z.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_no_grad_as_a_decorator():
    @hubel.no_grad()
    def predict(x):
        return x * 2

    assert not predict(Tensor([1.0], requires_grad=True)).requires_grad
    assert hubel.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ValueError), hubel.no_grad():
        raise ValueError("inside no_grad")
    assert hubel.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()  # d is a constant: dy/dx = d
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert x.detach().data is x.data


def test_non_leaves_keep_no_grad_and_constants_get_none():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    h = x * c
    h.sum().backward()
    assert h.grad is None and c.grad is None and not h.is_leaf and x.is_leaf


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="gradient argument"):
        y.backward()
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3, np.float32))
    y.backward(np.array([1.0, 10.0], np.float32))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])


def test_broadcast_gradients_are_summed_back():
    w = Tensor(np.ones((1, 3)), requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    x = Tensor(np.arange(12.0).reshape(2, 2, 3))
    (x * w + b).sum().backward()
    assert w.grad.shape == (1, 3) and b.grad.shape == ()
    np.testing.assert_array_equal(w.grad, x.data.sum(axis=(0, 1), keepdims=True)[0])
    assert float(b.grad) == 12.0
    assert unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist() == [[12.0], [12.0]]


def test_leaf_gradients_are_private_writable_arrays():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((2, 3)), requires_grad=True)
    s = Tensor(np.ones(3), requires_grad=True)
    (a + b + s.expand(2, 3)).sum().backward()
    assert a.grad is not b.grad
    for t in (a, b, s):
        assert t.grad.flags.writeable and t.grad.base is None
    a.grad *= 2  # an optimizer may update it in place
    assert b.grad[0, 0] == 1.0
    c = Tensor(np.float32(1.0), requires_grad=True)  # 0-d: numpy reductions give scalars
    (a * c).sum().backward()
    assert isinstance(c.grad, np.ndarray) and c.grad.shape == () and c.grad.flags.writeable


def test_gradients_keep_the_leaf_dtype():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x.double() * np.float64(2)).sum().backward()
    assert x.grad.dtype == np.float32
    (x * np.ones(3)).sum().backward()  # a float64 gradient, accumulated
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0, 3.0]


class _Square(Function):
    """y = x², counting how often backward runs and which inputs need a gradient."""

    calls = 0
    needs_seen: list = []

    def forward(self, x, unused):
        self.x = x
        self.seen_needs = list(self.needs_grad)
        _Square.needs_seen.append(self.seen_needs)
        return x * x

    def backward(self, gy):
        _Square.calls += 1
        return 2 * self.x * gy, None


def test_a_custom_function_and_needs_grad():
    x = Tensor(3.0, requires_grad=True)
    c = Tensor(1.0)
    y = _Square.apply(x, c)
    assert y._ctx.seen_needs == [True, False]
    y.backward()
    assert float(x.grad) == 6.0 and _Square.calls == 1
    z = _Square.apply(c, c)  # nothing needs a gradient: no node is recorded
    assert z._ctx is None and not z.requires_grad
    with hubel.no_grad():  # forward can tell that no backward will run
        _Square.apply(x, c)
    assert _Square.needs_seen[-1] == [False, False]


def test_deep_chain_uses_no_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert float(x.grad) == 1.0


class _WrongShape(Function):
    def forward(self, x):
        return x.sum()

    def backward(self, gy):
        return np.ones(4)  # wrong: the input has 3 elements


def test_a_gradient_of_the_wrong_shape_names_the_op():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_WrongShape.backward returned a gradient of "
                                           r"shape \(4,\) for an input of shape \(3,\)"):
        _WrongShape.apply(x).backward()
