"""Shape ops (reshape, transpose, broadcast, squeeze, concatenate, stack, split, pad,
indexing) against PyTorch (float32) and finite differences (float64)."""

import numpy as np
import pytest
from op_harness import check_op

import hubel

torch = pytest.importorskip("torch")
F = hubel.F


@pytest.mark.parametrize("shape, new", [((3, 4), (4, 3)), ((2, 3, 4), (6, -1)),
                                        ((5,), (1, 5, 1)), ((), (1, 1)), ((0, 4), (-1, 2))],
                         ids=str)
def test_reshape(shape, new):
    check_op(F.reshape, torch.reshape, shape, args=(new,))


@pytest.mark.parametrize("shape, axes", [((3, 4), None), ((2, 3, 4), (2, 0, 1)),
                                         ((2, 3, 4), (-1, 0, 1)), ((2, 3), (-1, -2)),
                                         ((2, 1, 3), (1, 2, 0)), ((0, 3), (1, 0))], ids=str)
def test_transpose_and_permute(shape, axes):
    torch_axes = tuple(reversed(range(len(shape)))) if axes is None else axes
    check_op(lambda x: F.transpose(x, axes), lambda t: t.permute(*torch_axes), shape)
    if axes is not None:
        check_op(F.permute, torch.permute, shape, args=(axes,))


@pytest.mark.parametrize("shape, new", [((3, 1), (3, 4)), ((4,), (2, 3, 4)), ((1, 1), (2, 3)),
                                        ((), (2,)), ((1, 4), (0, 4))], ids=str)
def test_broadcast_to_and_expand(shape, new):
    check_op(F.broadcast_to, torch.broadcast_to, shape, args=(new,))
    check_op(lambda x: x.expand(new), lambda t: t.expand(new), shape)


def test_expand_with_minus_one_keeps_the_axis():
    check_op(lambda x: F.expand(x, (2, -1, 4)), lambda t: t.expand(2, -1, 4), (3, 1))


@pytest.mark.parametrize("shape, axis", [((3, 1, 4), 1), ((1, 3, 1), None), ((1, 3, 1), -1),
                                         ((0, 1), 1), ((2, 1, 1, 3), (1, 2))], ids=str)
def test_squeeze(shape, axis):
    torch_fn = (lambda t: t.squeeze()) if axis is None else (lambda t: t.squeeze(axis))
    check_op(lambda x: F.squeeze(x, axis), torch_fn, shape)


def test_squeeze_of_a_longer_axis_is_an_error():
    with pytest.raises(ValueError, match="axis 1 has size 3"):
        F.squeeze(hubel.Tensor(np.zeros((1, 3))), 1)


@pytest.mark.parametrize("shape, axis", [((3, 4), 0), ((3, 4), 2), ((3, 4), -1), ((), 0),
                                         ((0, 4), 1)], ids=str)
def test_unsqueeze(shape, axis):
    check_op(F.unsqueeze, torch.unsqueeze, shape, args=(axis,))


@pytest.mark.parametrize("shapes, axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1),
                                          ([(2, 3, 1), (2, 3, 2)], -1), ([(0, 3), (2, 3)], 0),
                                          ([(5,)], 0)], ids=str)
def test_concatenate(shapes, axis):
    check_op(lambda *xs: F.concatenate(xs, axis), lambda *ts: torch.cat(ts, axis), *shapes)


def test_concatenate_passes_no_gradient_to_constants():
    x = hubel.Tensor(np.ones((2, 2)), requires_grad=True)
    y = F.concatenate([x, hubel.Tensor(np.zeros((1, 2)))], axis=0)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 3.0))


@pytest.mark.parametrize("shape, n, axis", [((3, 4), 2, 0), ((3, 4), 3, 1), ((2, 3), 3, -1),
                                            ((0, 3), 2, 2), ((), 3, 0)], ids=str)
def test_stack(shape, n, axis):
    check_op(lambda *xs: F.stack(xs, axis), lambda *ts: torch.stack(ts, axis), *[shape] * n)


@pytest.mark.parametrize("shape, sections, axis", [((6, 2), 3, 0), ((2, 6), [1, 4], 1),
                                                   ((4, 3), [0, 2, 2], 0), ((0, 4), 2, 1)],
                         ids=str)
def test_split(shape, sections, axis):
    n = shape[axis]
    if isinstance(sections, int):
        sizes = [n // sections] * sections
    else:
        bounds = [0, *sections, n]
        sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    check_op(lambda x: F.split(x, sections, axis), lambda t: torch.split(t, sizes, axis), shape)


def test_split_into_unequal_parts_is_an_error():
    with pytest.raises(ValueError, match="does not divide"):
        F.split(hubel.Tensor(np.zeros(5)), 2)


def _torch_pad(pad_width, ndim):
    """NumPy-style (before, after) per axis -> torch's flat list, last axis first."""
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * ndim
    elif len(pad_width) == 2 and all(isinstance(p, int) for p in pad_width):
        pad_width = [tuple(pad_width)] * ndim
    return [n for pair in reversed(pad_width) for n in pair]


@pytest.mark.parametrize("shape, pad_width, value", [
    ((3, 4), 1, 0.0), ((3, 4), (1, 2), 0.5), ((2, 3, 4), [(0, 0), (2, 1), (0, 3)], -1.0),
    ((0, 2, 2, 1), [(0, 0), (1, 1), (1, 1), (0, 0)], 0.0), ((1, 1), [(0, 2), (3, 0)], 0.0)],
    ids=str)
def test_pad(shape, pad_width, value):
    torch_pad = _torch_pad(pad_width, len(shape))
    check_op(lambda x: F.pad(x, pad_width, value),
             lambda t: torch.nn.functional.pad(t, torch_pad, value=value), shape)


INDICES = [
    (slice(1, 3),),
    (0,),
    (-1, slice(None, None, 2)),
    (Ellipsis, 1),
    (None, slice(None), 0),
    (np.array([0, 2, 2, 0]),),  # advanced indexing with repeats: gradients add up
    (np.array([[1, 1], [3, 0]]), slice(1, None)),
    (np.array([0, 3, 0]), np.array([1, 1, 2])),
    (slice(None), np.array([2, 2])),
]


@pytest.mark.parametrize("index", INDICES, ids=str)
def test_getitem(index):
    torch_index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
    check_op(lambda x: x[index], lambda t: t[torch_index], (4, 3))


def test_getitem_with_a_negative_step():
    # torch has no negative steps: compare with flip
    check_op(lambda x: x[::-1], lambda t: torch.flip(t, (0,)), (4, 3))


def test_getitem_with_a_boolean_mask():
    x = np.random.default_rng(3).standard_normal((4, 3))
    mask = x > 0
    check_op(lambda x: x[x.data > 0], lambda t: t[torch.from_numpy(mask)], x)
    check_op(lambda x: x[x.data[:, 0] > 0, 1:], lambda t: t[torch.from_numpy(mask[:, 0]), 1:], x)


def test_getitem_with_index_tensors_and_numpy_integers():
    x = hubel.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[hubel.Tensor(np.array([1, 1])), np.int64(2)]
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [5.0, 5.0])
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [0, 0, 2]])


def test_getitem_of_an_empty_batch():
    check_op(lambda x: x[:, 1:], lambda t: t[:, 1:], (0, 4))
    empty = np.array([], dtype=np.int64)
    check_op(lambda x: x[empty], lambda t: t[torch.from_numpy(empty)], (3, 4))
