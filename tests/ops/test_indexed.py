"""tinydl/ops/indexed.py through the op table: NumPy's take, put and argwhere; torch's put
(the method), index_put, index_fill, index_copy, masked_scatter and fill_diagonal_. The values
move without arithmetic, so rows are exact; gradients are torch's (written positions give
x nothing, every write its value's gradient). Then repeats, in-place forms, dtypes and
errors, each against torch or NumPy."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, booleans, torch

X = (3, 4)
FLAT = np.array([[0, -1], [5, 2]])
MASK = np.array([True, False, True, True])
ROWS, COLS = np.array([0, 2, -1]), np.array([1, 3, 0])


def exact(name, fn, ref, args, **kw):
    return OpCase(name, fn, ref, args, exact=True, **kw)


def _put(x, ind, v, accumulate=False):
    """torch's put from its definition: flat positions (negative from the end) written with
    v (added, with repeats, when accumulating)."""
    out = x.copy().reshape(-1)
    (np.add.at if accumulate else np.put)(out, np.asarray(ind).reshape(-1) % out.size,
                                          np.reshape(v, -1))
    return out.reshape(x.shape)


def _index_put(x, index, v, accumulate=False):
    out = x.copy()
    if accumulate:
        np.add.at(out, index, v)
    else:
        out[index] = v
    return out


def _index_fill(x, axis, index, value):
    out = np.moveaxis(x.copy(), axis, 0)
    out[np.asarray(index)] = value
    return np.moveaxis(out, 0, axis)


def _index_copy(x, axis, index, source):
    out = np.moveaxis(x.copy(), axis, 0)
    out[np.asarray(index)] = np.moveaxis(source, axis, 0)
    return np.moveaxis(out, 0, axis)


def _masked_scatter(x, mask, source):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    out = np.broadcast_to(x, shape).copy()
    full = np.broadcast_to(mask, shape)
    out[full] = source.reshape(-1)[:full.sum()]
    return out


def _numpy_put(x, ind, v):
    y = x * 1.0
    td.put(y, ind, v)
    return y


def _tensor(a):
    return torch.from_numpy(np.asarray(a))


CASES = [
    exact("take_flat", lambda x: td.take(x, FLAT), lambda x: np.take(x, FLAT), [X],
          torch=lambda x: torch.take(x, _tensor(FLAT)), zero_d=False),
    exact("take_axis", lambda x: td.take(x, [[2, 0, 2]], axis=1),
          lambda x: np.take(x, [[2, 0, 2]], axis=1), [(2, 3, 4)], empty=[(0, 3, 4)]),
    exact("take_method_wrap", lambda x: x.take([5, -7, 13], mode="wrap"),
          lambda x: np.take(x, [5, -7, 13], mode="wrap"), [X]),
    exact("take_clip_axis0", lambda x: td.take(x, [-2, 1, 9], axis=0, mode="clip"),
          lambda x: np.take(x, [-2, 1, 9], axis=0, mode="clip"), [X]),
    exact("put_numpy", lambda x, v: _numpy_put(x, [0, 5, -1], v),
          lambda x, v: _put(x, [0, 5, -1], v), [X, (3,)]),
    exact("put_numpy_repeats_v", lambda x, v: _numpy_put(x, [[1, 2], [7, 3]], v),
          lambda x, v: _put(x, [1, 2, 7, 3], np.resize(v, 4)), [X, (2,)]),
    exact("put_method", lambda x, v: x.put(td.tensor(FLAT), v), lambda x, v: _put(x, FLAT, v),
          [X, (4,)], torch=lambda x, v: x.put(_tensor(FLAT), v)),
    OpCase("put_accumulate_repeats", lambda x, v: x.put(td.tensor([1, 1, -1]), v, True),
           lambda x, v: _put(x, [1, 1, -1], v, True), [X, (3,)],
           torch=lambda x, v: x.put(_tensor([1, 1, -1]), v, True)),
    exact("index_put", lambda x, v: td.index_put(x, (td.tensor(ROWS), td.tensor(COLS)), v),
          lambda x, v: _index_put(x, (ROWS, COLS), v), [X, (3,)],
          torch=lambda x, v: torch.index_put(x, (_tensor(ROWS), _tensor(COLS)), v)),
    exact("index_put_rows_broadcast", lambda x, v: x.index_put((td.tensor([2, 0]),), v),
          lambda x, v: _index_put(x, (np.array([2, 0]),), v), [X, (4,)],
          torch=lambda x, v: x.index_put((_tensor([2, 0]),), v)),
    exact("index_put_mask", lambda x, v: td.index_put(x, (td.tensor(MASK),), v),
          lambda x, v: _index_put(x, (MASK,), v), [(4, 2), (3, 1)],
          torch=lambda x, v: torch.index_put(x, (_tensor(MASK),), v)),
    OpCase("index_put_accumulate_repeats",
           lambda x, v: td.index_put(x, [td.tensor([1, 1, 0])], v, accumulate=True),
           lambda x, v: _index_put(x, (np.array([1, 1, 0]),), v, True), [X, (3, 4)],
           torch=lambda x, v: torch.index_put(x, (_tensor([1, 1, 0]),), v, accumulate=True)),
    exact("index_fill", lambda x: td.index_fill(x, 1, td.tensor([0, -1, 0]), -2.5),
          lambda x: _index_fill(x, 1, [0, -1], -2.5), [X],
          torch=lambda x: torch.index_fill(x, 1, _tensor([0, -1, 0]), -2.5)),
    exact("index_fill_tensor_value", lambda x, v: x.index_fill(0, td.tensor([2, 0, 2]), v),
          lambda x, v: _index_fill(x, 0, [2, 0], v), [X, ()],
          torch=lambda x, v: x.index_fill(0, _tensor([2, 0, 2]), v)),
    exact("index_fill_0d", lambda x: x.index_fill(0, td.tensor([0]), 1.5), lambda x: x * 0 + 1.5,
          [()], zero_d=True, torch=lambda x: x.index_fill(0, _tensor([0]), 1.5)),
    exact("index_copy", lambda x, s: td.index_copy(x, 1, td.tensor([3, 0]), s),
          lambda x, s: _index_copy(x, 1, [3, 0], s), [X, (3, 2)],
          torch=lambda x, s: torch.index_copy(x, 1, _tensor([3, 0]), s),
          empty=[(0, 4), (0, 2)]),
    exact("index_copy_method_dim0", lambda x, s: x.index_copy(0, td.tensor([1]), s),
          lambda x, s: _index_copy(x, 0, [1], s), [X, (1, 4)],
          torch=lambda x, s: x.index_copy(0, _tensor([1]), s)),
    exact("masked_scatter", lambda x, s: td.masked_scatter(x, td.tensor(MASK), s),
          lambda x, s: _masked_scatter(x, MASK, s), [X, (4, 3)],
          torch=lambda x, s: torch.masked_scatter(x, _tensor(MASK), s)),
    exact("masked_scatter_broadcasts_x", lambda x, m, s: x.masked_scatter(m, s),
          _masked_scatter, [(4,), Arg((3, 4), booleans, grad=False), (13,)],
          torch=lambda x, m, s: x.masked_scatter(m, s)),
    exact("fill_diagonal_", lambda x: (x * 1.0).fill_diagonal_(-3.0),
          lambda x: _fill_diagonal(x, -3.0), [(5, 3)],
          torch=lambda x: (x * 1.0).fill_diagonal_(-3.0)),
    exact("fill_diagonal_wrap", lambda x: (x * 1.0).fill_diagonal_(2.0, wrap=True),
          lambda x: _fill_diagonal(x, 2.0, True), [(7, 2)],
          torch=lambda x: (x * 1.0).fill_diagonal_(2.0, wrap=True)),
    exact("fill_diagonal_cube", lambda x: (x * 1.0).fill_diagonal_(0.5),
          lambda x: _fill_diagonal(x, 0.5), [(3, 3, 3)],
          torch=lambda x: (x * 1.0).fill_diagonal_(0.5)),
    exact("argwhere", lambda x: td.argwhere(x > 0), lambda x: np.argwhere(x > 0), [X],
          grad=False, out_dtype=np.int64, torch=lambda x: torch.argwhere(x > 0),
          zero_d=True, empty=[(0, 3)]),
]


def _fill_diagonal(x, value, wrap=False):
    out = x.copy()
    np.fill_diagonal(out, value, wrap=wrap)
    return out


class TestIndexed(OpTable):
    cases = CASES


def _t(a, grad=False):
    return td.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_repeated_writes_give_every_value_its_gradient_as_torch():
    x = _t(np.zeros(4), grad=True)
    v = _t([1.0, 2.0], grad=True)
    out = x.put(td.tensor([1, 1]), v)
    assert out.data[1] in (1.0, 2.0)  # one of them (torch leaves which unspecified)
    (out * _t(np.arange(4.0))).sum().backward()
    assert v.grad.data.tolist() == [1.0, 1.0] and x.grad.data.tolist() == [0.0, 0.0, 2.0, 3.0]
    value = _t(2.0, grad=True)
    td.index_fill(_t(np.zeros((3, 4))), 1, td.tensor([0, 0, -4, 2]), value).sum().backward()
    assert value.grad.item() == 6.0  # each filled entry once (torch's 6)


def test_in_place_forms_write_into_the_tensor():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(X)
    calls = {  # (lib: tinydl or torch, for the index tensors)
        "put_": lambda t, s, lib: t.put_(lib.tensor([0, 3]), s[:2]),
        "index_put_": lambda t, s, lib: t.index_put_((lib.tensor([1]),), s, accumulate=True),
        "index_fill_": lambda t, s, lib: t.index_fill_(1, lib.tensor([2]), 7.0),
        "index_copy_": lambda t, s, lib: t.index_copy_(0, lib.tensor([2]), s[None]),
        "masked_scatter_": lambda t, s, lib: t.masked_scatter_(
            lib.tensor([[False], [True], [False]]), s),
        "fill_diagonal_": lambda t, s, lib: t.fill_diagonal_(1.0),
    }
    weights = np.arange(12.0).reshape(X)
    for name, call in calls.items():
        x, s = _t(base, grad=True), _t(np.arange(1.0, 5.0), grad=True)
        y = x * 1.0
        assert call(y, s, td) is y
        tx, ts = (torch.from_numpy(a.copy()).requires_grad_() for a in (base, s.data))
        ty = tx * 1.0
        call(ty, ts, torch)
        np.testing.assert_array_equal(y.data, ty.detach().numpy(), err_msg=name)
        (y * _t(weights)).sum().backward()
        (ty * torch.from_numpy(weights)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy(), err_msg=name)
        if ts.grad is not None:
            np.testing.assert_array_equal(s.grad.data, ts.grad.numpy(), err_msg=name)
    leaf = _t(base, grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.index_fill_(0, td.tensor([0]), 1.0)


def test_numpy_put_writes_in_place_and_returns_none():
    x = td.tensor(np.zeros(5))
    alias = x
    assert td.put(x, [0, -1, 2], [9.0, 8.0]) is None
    assert alias.data.tolist() == [9.0, 0.0, 9.0, 0.0, 8.0]
    a = np.zeros(5)
    np.put(a, [0, -1, 2], [9.0, 8.0])
    np.testing.assert_array_equal(x.data, a)
    y = td.tensor(np.zeros(4))
    np.put(y, [1, 6], [5.0], mode="wrap")  # NumPy's call on a tensor runs tinydl.put
    assert y.data.tolist() == [0.0, 5.0, 5.0, 0.0]
    with pytest.raises(TypeError, match="put: unexpected .*accumulate.*x.put\\(index"):
        td.put(x, [0], [1.0], accumulate=True)


def test_np_take_runs_tinydl_take():
    a = np.arange(12.0).reshape(3, 4)
    t = _t(a, grad=True)
    out = np.take(t, [[1, -1]], axis=1)
    assert isinstance(out, td.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, np.take(a, [[1, -1]], axis=1))
    assert td.gradcheck(lambda x: np.take(x, [5, 5, 0]), [t])


def test_values_of_another_dtype_raise_and_numbers_are_cast_as_torch():
    x = td.zeros(3, 4)
    for call, torch_call in (
            (lambda: x.put(td.tensor([0]), td.tensor(np.ones(1))),
             lambda: torch.zeros(3, 4).put(torch.tensor([0]), torch.ones(1).double())),
            (lambda: x.index_copy(0, td.tensor([0]), td.tensor(np.ones((1, 4)))),
             lambda: torch.zeros(3, 4).index_copy(0, torch.tensor([0]),
                                                  torch.ones(1, 4).double())),
            (lambda: x.masked_scatter(td.tensor(MASK), td.tensor([1, 2, 3])),
             lambda: torch.zeros(3, 4).masked_scatter(torch.from_numpy(MASK),
                                                      torch.tensor([1, 2, 3]))),
            (lambda: x.index_put((td.tensor([0]),), td.tensor(np.ones(1))),
             lambda: torch.zeros(3, 4).index_put((torch.tensor([0]),),
                                                 torch.ones(1).double()))):
        with pytest.raises(RuntimeError):
            torch_call()
        with pytest.raises(TypeError, match="must match"):
            call()
    i = td.zeros(2, 2, dtype=np.int64)
    out = i.index_fill(0, td.tensor([1]), 2.5)  # cast, as torch's 2
    assert out.dtype == np.int64
    assert out.data.tolist() == torch.zeros(2, 2, dtype=torch.long).index_fill(
        0, torch.tensor([1]), 2.5).tolist()
    with pytest.raises(ValueError, match="cannot be converted to int64"):
        i.index_fill(0, td.tensor([1]), 1e30)


@pytest.mark.parametrize("call, torch_call, match", [
    (lambda: td.take(td.ones(2, 3), [6]), lambda: torch.take(torch.ones(2, 3), torch.tensor([6])),
     "take: index 6 is out of bounds"),
    (lambda: td.take(td.ones(0), [0]), lambda: torch.take(torch.ones(0), torch.tensor([0])),
     "take: cannot take 1 elements from an empty axis"),
    (lambda: td.take(td.ones(3), [0.5]), lambda: torch.take(torch.ones(3), torch.tensor([0.5])),
     "take: indices must be an integer tensor"),
    (lambda: td.ones(6).put(td.tensor([0, 1]), td.ones(1)),
     lambda: torch.ones(6).put(torch.tensor([0, 1]), torch.ones(1)),
     "put: source has 1 elements and index 2"),
    (lambda: td.ones(6).put(td.tensor([6]), td.ones(1)),
     lambda: torch.ones(6).put(torch.tensor([6]), torch.ones(1)), "put: index 6 is out of"),
    (lambda: td.ones(2, 3).index_put(td.tensor([0]), td.ones(3)),
     lambda: torch.ones(2, 3).index_put(torch.tensor([0]), torch.ones(3)),
     "index_put: indices must be a tuple"),
    (lambda: td.ones(2, 3).index_put((td.tensor([2]),), td.ones(3)),
     lambda: torch.ones(2, 3).index_put((torch.tensor([2]),), torch.ones(3)),
     "index_put: indices are invalid"),
    (lambda: td.ones(2, 3).index_put((td.tensor([1]),), td.ones(2)),
     lambda: torch.ones(2, 3).index_put((torch.tensor([1]),), torch.ones(2)),
     r"index_put: values of shape \(2,\) cannot be broadcast to the indexed shape \(1, 3\)"),
    (lambda: td.ones(2, 3).index_put((td.tensor([0.0]),), td.ones(3)),
     lambda: torch.ones(2, 3).index_put((torch.tensor([0.0]),), torch.ones(3)),
     "index_put: indices must be integer or bool"),
    (lambda: td.ones(2, 3).index_fill(1, td.tensor([3]), 1.0),
     lambda: torch.ones(2, 3).index_fill(1, torch.tensor([3]), 1.0),
     "index_fill: index 3 is out of bounds for axis 1 with size 3"),
    (lambda: td.ones(2, 3).index_fill(1, td.tensor([[0]]), 1.0),
     lambda: torch.ones(2, 3).index_fill(1, torch.tensor([[0]]), 1.0),
     "index_fill: index must be 0-d or 1-d"),
    (lambda: td.ones(2, 3).index_fill(1, td.tensor([0]), td.ones(2)),
     lambda: torch.ones(2, 3).index_fill(1, torch.tensor([0]), torch.ones(2)),
     "index_fill: a tensor value must be 0-d"),
    (lambda: td.ones(2, 3).index_copy(1, td.tensor([-1]), td.ones(2, 1)),
     lambda: torch.ones(2, 3).index_copy(1, torch.tensor([-1]), torch.ones(2, 1)),
     "index_copy: index -1 is out of bounds .*negative indices are not allowed"),
    (lambda: td.ones(2, 3).index_copy(1, td.tensor([0, 1]), td.ones(2, 1)),
     lambda: torch.ones(2, 3).index_copy(1, torch.tensor([0, 1]), torch.ones(2, 1)),
     r"index_copy: source of shape \(2, 1\) does not fit"),
    (lambda: td.ones(4).masked_scatter(td.tensor(MASK), td.ones(2)),
     lambda: torch.ones(4).masked_scatter(torch.from_numpy(MASK), torch.ones(2)),
     "masked_scatter: source has 2 elements, fewer than the 3 True entries"),
    (lambda: td.ones(4).masked_scatter(td.tensor([1, 0, 1, 0]), td.ones(4)),
     lambda: torch.ones(4).masked_scatter(torch.tensor([1, 0, 1, 0]), torch.ones(4)),
     "masked_scatter: mask must be boolean"),
    (lambda: td.ones(4).masked_scatter(td.tensor([True, False]), td.ones(4)),
     lambda: torch.ones(4).masked_scatter(torch.tensor([True, False]), torch.ones(4)),
     "masked_scatter: mask of shape .* cannot be broadcast"),
    (lambda: td.ones(3).fill_diagonal_(1.0), lambda: torch.ones(3).fill_diagonal_(1.0),
     "fill_diagonal_: needs at least 2 dimensions"),
    (lambda: td.ones(2, 3, 2).fill_diagonal_(1.0),
     lambda: torch.ones(2, 3, 2).fill_diagonal_(1.0),
     "fill_diagonal_: all dimensions must have the same length"),
])
def test_errors_name_the_op_where_torch_raises(call, torch_call, match):
    with pytest.raises((RuntimeError, TypeError, IndexError, ValueError)):
        torch_call()
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()
