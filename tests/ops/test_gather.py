"""tinydl/ops/gather.py through the op table (gather, scatter, scatter_add, scatter_reduce,
index_select, index_add, take_along_axis), plus what a row cannot state: repeated indices
accumulating, zeros in a product, ties in amax/amin, integer tensors, error messages."""
import numpy as np
import pytest

import tinydl as td
from tests import _reference as R
from tests.ops._table import Arg, OpCase, OpTable, integers, torch

X = (3, 4)


def distinct(n, axis):
    """Indices in [0, n) that never repeat along ``axis`` (scatter's writes then never
    collide, so which one wins does not matter)."""
    def sample(rng, shape):
        shape = tuple(shape)
        moved = (shape[:axis] + shape[axis + 1:] + (shape[axis],)) if shape else ()
        flat = [rng.permutation(n)[:shape[axis]] for _ in range(int(np.prod(moved[:-1])))]
        return np.moveaxis(np.reshape(flat, moved), -1, axis).astype(np.int64)
    return sample


def ties(rng, shape):
    """Floats from {0, 1, 2}: many equal values (amax/amin ties, sort stability)."""
    return rng.integers(0, 3, shape).astype(np.float64)


def with_zeros(rng, shape):
    """Normal values with about a third of them exactly 0 (products with zero factors)."""
    return np.where(rng.random(shape) < 0.35, 0.0, rng.uniform(0.5, 1.5, shape))


def index(shape, high, low=0):
    """An index input: int64 in [low, high), no gradient."""
    return Arg(shape, integers(low, high), grad=False)


def gather_row(name, axis, x_shape, index_shape, **kw):
    return OpCase(name, lambda x, i: td.gather(x, axis, i), lambda x, i: R.gather(x, axis, i),
                  [Arg(x_shape), index(index_shape, x_shape[axis] if x_shape else 1)],
                  torch=lambda x, i: torch.gather(x, axis, i), exact=True, **kw)


def scatter_reduce_row(reduce, include_self):
    name = f"scatter_reduce_{reduce}" + ("" if include_self else "_no_self")

    def fn(x, i, s):
        return td.scatter_reduce(x, 1, i, s, reduce, include_self=include_self)

    def ref(x, i, s):
        return R.scatter_reduce(x, 1, i, s, reduce, include_self)

    def torch_fn(x, i, s):
        return torch.scatter_reduce(x, 1, i, s, reduce, include_self=include_self)
    return OpCase(name, fn, ref, [Arg(X), index((3, 6), 4), Arg((3, 6))], torch=torch_fn)


CASES = [
    gather_row("gather_axis1", 1, X, (3, 6), empty=[X, (3, 0)]),
    gather_row("gather_axis0_smaller_index", 0, (4, 5), (2, 3), empty=[(0, 5), (0, 3)]),
    gather_row("gather_3d_negative_axis", -1, (2, 3, 4), (2, 2, 5)),
    OpCase("gather_0d", lambda x, i: td.gather(x, 0, i),
           lambda x, i: R.gather(x[None], 0, i[None])[0], [Arg(()), index((), 1)],
           torch=lambda x, i: torch.gather(x, 0, i), exact=True),
    OpCase("scatter", lambda x, i, s: td.scatter(x, 1, i, s),
           lambda x, i, s: R.scatter_reduce(x, 1, i, s, "none"),
           [Arg(X), Arg((3, 2), distinct(4, 1), grad=False), Arg((3, 2))],
           torch=lambda x, i, s: torch.scatter(x, 1, i, s), exact=True,
           empty=[X, (3, 0), (3, 0)]),
    # only index's corner of a larger src is read (torch 2.x's gradient for this case fails)
    OpCase("scatter_src_larger", lambda x, i, s: td.scatter(x, 0, i, s),
           lambda x, i, s: R.scatter_reduce(x, 0, i, s[:2, :3], "none"),
           [Arg(X), Arg((2, 3), distinct(3, 0), grad=False), Arg((4, 5))], exact=True),
    OpCase("scatter_value", lambda x, i: td.scatter(x, 0, i, value=2.5),
           lambda x, i: R.scatter_reduce(x, 0, i, np.full(i.shape, 2.5), "none"),
           [Arg(X), Arg((2, 4), distinct(3, 0), grad=False)],
           torch=lambda x, i: torch.scatter(x, 0, i, 2.5), exact=True),
    OpCase("scatter_add_repeats", lambda x, i, s: td.scatter_add(x, 0, i, s),
           lambda x, i, s: R.scatter_reduce(x, 0, i, s, "sum"),
           [Arg(X), index((5, 4), 3), Arg((5, 4))],
           torch=lambda x, i, s: torch.scatter_add(x, 0, i, s), empty=[X, (0, 4), (0, 4)]),
    OpCase("scatter_add_0d", lambda x, i, s: td.scatter_add(x, 0, i, s),
           lambda x, i, s: R.scatter_reduce(x[None], 0, i, s, "sum")[0],
           [Arg(()), index((3,), 1), Arg((3,))],
           torch=lambda x, i, s: torch.scatter_add(x, 0, i, s)),
    *[scatter_reduce_row(r, s) for r in ("sum", "prod", "mean", "amax", "amin")
      for s in (True, False)],
    # zero factors: the gradient is the product of the others (the second derivative is
    # exact only with at most one zero of src per position: a test below)
    OpCase("scatter_reduce_prod_zeros",
           lambda x, i, s: td.scatter_reduce(x, 1, i, s, "prod"),
           lambda x, i, s: R.scatter_reduce(x, 1, i, s, "prod"),
           [Arg(X, with_zeros), index((3, 6), 4), Arg((3, 6), with_zeros)],
           torch=lambda x, i, s: torch.scatter_reduce(x, 1, i, s, "prod"), gradgrad=False),
    # ties share the gradient evenly (torch's rule); finite differences cannot see that
    OpCase("scatter_reduce_amax_ties",
           lambda x, i, s: td.scatter_reduce(x, 1, i, s, "amax"),
           lambda x, i, s: R.scatter_reduce(x, 1, i, s, "amax"),
           [Arg(X, ties), index((3, 6), 4), Arg((3, 6), ties)],
           torch=lambda x, i, s: torch.scatter_reduce(x, 1, i, s, "amax"), gradcheck=False),
    OpCase("scatter_reduce_amin_ties",
           lambda x, i, s: td.scatter_reduce(x, 0, i, s, "amin"),
           lambda x, i, s: R.scatter_reduce(x, 0, i, s, "amin"),
           [Arg(X, ties), index((5, 4), 3), Arg((5, 4), ties)],
           torch=lambda x, i, s: torch.scatter_reduce(x, 0, i, s, "amin"), gradcheck=False),
    OpCase("index_select_repeats", lambda x, i: td.index_select(x, 1, i),
           lambda x, i: np.take(x, i, axis=1), [Arg((3, 5)), index((6,), 5)],
           torch=lambda x, i: torch.index_select(x, 1, i), exact=True,
           empty=[(3, 5), (0,)]),
    OpCase("index_select_0d_index", lambda x, i: td.index_select(x, 0, i),
           lambda x, i: np.take(x, i[None], axis=0), [Arg((4, 3)), index((), 4)],
           torch=lambda x, i: torch.index_select(x, 0, i), exact=True),
    OpCase("index_add_repeats", lambda x, i, s: td.index_add(x, 0, i, s, alpha=2.0),
           lambda x, i, s: R.index_add(x, 0, i, s, alpha=2.0),
           [Arg((5, 3)), index((4,), 5), Arg((4, 3))],
           torch=lambda x, i, s: torch.index_add(x, 0, i, s, alpha=2.0),
           empty=[(5, 3), (0,), (0, 3)]),
    OpCase("index_add_last_axis", lambda x, i, s: td.index_add(x, -1, i, s),
           lambda x, i, s: R.index_add(x, 2, i, s),
           [Arg((2, 3, 4)), index((6,), 4), Arg((2, 3, 6))],
           torch=lambda x, i, s: torch.index_add(x, -1, i, s)),
    OpCase("take_along_axis_negative", lambda x, i: td.take_along_axis(x, i, axis=1),
           lambda x, i: np.take_along_axis(x, i, axis=1), [Arg(X), index((3, 6), 4, low=-4)],
           torch=lambda x, i: torch.take_along_dim(x, i, 1), exact=True,
           empty=[X, (3, 0)]),
    OpCase("take_along_axis_broadcast_x", lambda x, i: td.take_along_axis(x, i, axis=1),
           lambda x, i: np.take_along_axis(x, i, axis=1), [Arg((1, 4)), index((3, 5), 4)],
           torch=lambda x, i: torch.take_along_dim(x, i, 1), exact=True),
    OpCase("take_along_axis_broadcast_indices", lambda x, i: td.take_along_axis(x, i, axis=0),
           lambda x, i: np.take_along_axis(x, i, axis=0), [Arg((3, 4)), index((5, 1), 3)],
           torch=lambda x, i: torch.take_along_dim(x, i, 0), exact=True),
    OpCase("take_along_axis_flat", lambda x, i: td.take_along_axis(x, i, axis=None),
           lambda x, i: np.take_along_axis(x, i, axis=None), [Arg(X), index((7,), 12)],
           torch=lambda x, i: torch.take_along_dim(x, i), exact=True),
]


class TestGather(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- gradients
def test_repeated_indices_accumulate_in_every_gradient():
    x = td.Tensor(np.arange(4.0), requires_grad=True)
    i = td.tensor([0, 2, 2, 2, 3])
    for out in (td.gather(x, 0, i), td.index_select(x, 0, i), td.take_along_axis(x, i, 0)):
        x.grad = None
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 3.0, 1.0])
    src = td.Tensor(np.ones(5), requires_grad=True)
    g = td.Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    out = td.scatter_add(td.zeros(4, dtype=np.float64), 0, i, src)
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 3.0, 1.0])
    (out * g).sum().backward()
    np.testing.assert_array_equal(src.grad.data, [1.0, 3.0, 3.0, 3.0, 4.0])


def test_scatter_gradient_zeroes_written_positions():
    x = td.Tensor(np.arange(4.0), requires_grad=True)
    src = td.Tensor(np.array([5.0, 6.0]), requires_grad=True)
    out = td.scatter(x, 0, td.tensor([1, 3]), src)
    np.testing.assert_array_equal(out.data, [0.0, 5.0, 2.0, 6.0])
    (out * td.Tensor(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(src.grad.data, [2.0, 4.0])


def test_prod_second_derivative_with_one_zero_per_position():
    # position 0: x is 0; positions 1 and 3: one src zero each; position 2: no zero
    x = td.Tensor(np.array([0.0, 2.0, 3.0, 1.5]), requires_grad=True)
    src = td.Tensor(np.array([1.3, 0.0, 2.0, 0.7, 0.0, 4.0, 0.5]), requires_grad=True)
    i = td.tensor([0, 1, 1, 2, 3, 3, 0])
    assert td.gradgradcheck(lambda a, s: td.scatter_reduce(a, 0, i, s, "prod"), [x, src])
    assert td.gradgradcheck(
        lambda a, s: td.scatter_reduce(a, 0, i, s, "prod", include_self=False), [x, src])


def test_amax_without_self_splits_among_the_written_ties_only():
    # x[0] equals the maximum written there by chance; it is not part of the reduction, so
    # both src ties get half (torch 2.x counts x too and hands each a third)
    x = td.Tensor(np.array([1.0, 5.0]), requires_grad=True)
    src = td.Tensor(np.array([1.0, 1.0]), requires_grad=True)
    out = td.scatter_reduce(x, 0, td.tensor([0, 0]), src, "amax", include_self=False)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])
    np.testing.assert_array_equal(src.grad.data, [0.5, 0.5])


# ----------------------------------------------------------------------------- integers, dtypes
@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_integers_match_torch(reduce, include_self):
    rng = np.random.default_rng(0)
    x, src = rng.integers(-9, 9, (3, 5)), rng.integers(-9, 9, (3, 7))
    i = rng.integers(0, 5, (3, 7))
    got = td.scatter_reduce(td.tensor(x), 1, td.tensor(i), td.tensor(src), reduce,
                            include_self=include_self)
    want = torch.scatter_reduce(torch.tensor(x), 1, torch.tensor(i), torch.tensor(src), reduce,
                                include_self=include_self)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.data, want.numpy())


def test_integer_tensors_and_index_dtypes():
    x = td.tensor([[1, 2, 3], [4, 5, 6]])
    i32 = np.array([[2, 0]], dtype=np.int32)
    np.testing.assert_array_equal(td.gather(x, 1, i32).data, [[3, 1]])
    np.testing.assert_array_equal(td.index_select(x, 0, [1, 1]).data, [[4, 5, 6], [4, 5, 6]])
    out = td.scatter(x, 0, td.tensor([[1, 0, 1]]), value=0)
    np.testing.assert_array_equal(out.data, [[1, 0, 3], [0, 5, 0]])
    assert out.dtype == np.int64


def test_dim_alias_and_outputs_do_not_alias_inputs():
    x = td.Tensor(np.arange(6.0).reshape(2, 3))
    out = td.gather(x, dim=1, index=td.tensor([[0], [2]]))
    np.testing.assert_array_equal(out.data, [[0.0], [5.0]])
    added = td.index_add(x, 0, td.tensor([0]), td.ones(1, 3, dtype=np.float64))
    assert not np.shares_memory(added.data, x.data)
    np.testing.assert_array_equal(x.data, np.arange(6.0).reshape(2, 3))


# ----------------------------------------------------------------------------- errors
X6 = td.Tensor(np.zeros((2, 3)))


@pytest.mark.parametrize("call, message", [
    (lambda: td.gather(X6, 1, td.tensor([[0, 3]])),
     "gather: index 3 is out of bounds for axis 1 with size 3"),
    (lambda: td.gather(X6, 0, td.tensor([[-1]])),
     r"gather: index -1 is out of bounds for axis 0 with size 2 \(negative"),
    (lambda: td.scatter(X6, 1, td.tensor([[5]]), value=1.0),
     "scatter: index 5 is out of bounds for axis 1 with size 3"),
    (lambda: td.scatter_add(X6, 0, td.tensor([[2]]), td.ones(1, 1, dtype=np.float64)),
     "scatter_add: index 2 is out of bounds for axis 0 with size 2"),
    (lambda: td.scatter_reduce(X6, 1, td.tensor([[7]]), td.ones(1, 1, dtype=np.float64), "amax"),
     "scatter_reduce: index 7 is out of bounds for axis 1 with size 3"),
    (lambda: td.index_select(X6, 1, td.tensor([0, 9])),
     "index_select: index 9 is out of bounds for axis 1 with size 3"),
    (lambda: td.index_add(X6, 0, td.tensor([4]), td.ones(1, 3, dtype=np.float64)),
     "index_add: index 4 is out of bounds for axis 0 with size 2"),
    (lambda: td.take_along_axis(X6, td.tensor([[-4]]), 1),
     "take_along_axis: index -4 is out of bounds for axis 1 with size 3"),
])
def test_out_of_bounds_index_names_op_axis_index_and_size(call, message):
    with pytest.raises(IndexError, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: td.gather(X6, 1, np.array([[0.0]])),
     TypeError, "gather: index must be an integer tensor, got dtype float64"),
    (lambda: td.index_select(X6, 0, np.array([True, False])),
     TypeError, "index_select: index must be an integer tensor.*boolean mask"),
    (lambda: td.gather(X6, 1, td.tensor([0, 1])),
     ValueError, "gather: index has 1 dimensions and the input 2"),
    (lambda: td.gather(X6, 1, td.tensor([[0], [1], [1]])),
     ValueError, r"gather: index of shape \(3, 1\) is longer than the input"),
    (lambda: td.gather(X6, 2, td.tensor([[0]])), ValueError, "gather: axis 2 is out of bounds"),
    (lambda: td.scatter(X6, 0, td.tensor([[0, 1]]), td.ones(1, 1, dtype=np.float64)),
     ValueError, r"scatter: src of shape \(1, 1\) is smaller than index"),
    (lambda: td.scatter(X6, 0, td.tensor([[0]]), td.ones(1, 1)),
     TypeError, "scatter: src has dtype float32 and the input float64"),
    (lambda: td.scatter(X6, 0, td.tensor([[0]])), TypeError, "scatter: pass exactly one of src"),
    (lambda: td.scatter_reduce(X6, 0, td.tensor([[0]]), td.ones(1, 1, dtype=np.float64), "max"),
     ValueError, "scatter_reduce: reduce must be one of"),
    (lambda: td.index_add(X6, 0, td.tensor([0]), td.ones(2, 3, dtype=np.float64)),
     ValueError, r"index_add: source of shape \(2, 3\) does not fit.*\(1, 3\)"),
    (lambda: td.index_select(X6, 0, td.tensor([[0]])),
     ValueError, "index_select: index must be 0-d or 1-d"),
    (lambda: td.take_along_axis(X6, td.tensor([[0], [0], [0]]), 1),
     ValueError, "take_along_axis: indices of shape .* do not broadcast"),
    (lambda: td.take_along_axis(X6, td.tensor([[0]]), None),
     ValueError, "take_along_axis: with axis=None indices must be 1-d"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call", [
    lambda: td.tensor(np.array([1, 2, 3], np.uint8)).scatter_(0, td.tensor(np.array([1])), -2.0),
    lambda: td.tensor(np.array([1, 2])).scatter(0, td.tensor(np.array([0])), value=np.nan),
    lambda: td.tensor(np.array([1, 2])).masked_fill_(td.tensor([True, False]),
                                                     np.float64("nan")),
    lambda: td.tensor(np.array([1, 2], np.uint8)).masked_fill(td.tensor([True, False]),
                                                              td.tensor(-0.42)),
    lambda: td.tensor(np.array([1, 2], np.uint8)).masked_fill(td.tensor([True, False]), 300),
])
def test_scatter_and_masked_fill_refuse_a_number_the_dtype_cannot_hold(call):
    """uint8 -2 was written as 254 and NaN into int64 as its smallest value; torch refuses
    ("cannot be converted ... without overflow")."""
    with pytest.raises(ValueError, match="cannot be converted to .* without overflow"):
        call()
