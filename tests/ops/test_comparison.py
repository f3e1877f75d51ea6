"""The comparison family through the op table: comparisons by name (NumPy's greater, equal...
and torch's gt, eq...), isposinf, isneginf, signbit, isin, torch's clamp / clamp_min /
clamp_max (tensor bounds get gradients) and torch's function forms of Tensor methods
(permute, t, unsqueeze, swapdims, ravel, select, pow, clone); then what a row cannot state:
dtype mixes against torch, the exact comparison of values, ``equal`` (NumPy's elementwise
function, torch's one-bool method), allclose, isin's flags, and the errors."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, integers, near, normal, positive, torch

X, ROW, COL = (3, 4), (1, 4), (3, 1)
BOOL = np.bool_

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _ties(rng, shape):
    """Few distinct values, so that equal pairs (ties) are common."""
    return rng.choice([-1.0, 0.0, 0.5, 2.0], shape)


def _special(rng, shape):
    """Finite values of both signs, signed zeros, NaN and both infinities."""
    return rng.choice([0.5, -2.0, 0.0, -0.0, np.nan, np.inf, -np.inf], shape)


def predicate(name, fn, ref, args, torch=None):
    """A row with a bool output: exact, no gradient, defined on 0-d and empty inputs."""
    args = [Arg(shape, sample, grad=False) for shape, sample in args]
    empty = [a.shape if a.shape[0] == 1 else (0,) + a.shape[1:] for a in args]
    return OpCase(name, fn, ref, args, torch=torch, grad=False, exact=True, out_dtype=BOOL,
                  zero_d=True, empty=empty)


def comparison(name, fn, ref, torch_fn):
    """Rows of a comparison: ties between a (3, 4) and a (1, 4) tensor, an int64 tensor
    against a float one, and a tensor against a Python float."""
    return [
        predicate(name, fn, ref, [(X, _ties), (ROW, _ties)], torch=torch_fn),
        predicate(f"{name}_int_float", fn, ref, [(X, integers(-2, 3)), (ROW, _ties)],
                  torch=torch_fn),
        predicate(f"{name}_scalar", lambda a: fn(a, 0.5), lambda a: ref(a, 0.5), [(X, _ties)],
                  torch=None if torch_fn is None else lambda a: torch_fn(a, 0.5)),
    ]


def _bounds_sample(low, high):
    # x on either side of both bounds, never within 0.05 of them
    return near([low - 1.0, (low + high) / 2, high + 1.0], 0.3)


CASES = [
    *comparison("greater", td.greater, np.greater, lambda a, b: torch.gt(a, b)),
    *comparison("greater_equal", td.greater_equal, np.greater_equal,
                lambda a, b: torch.ge(a, b)),
    *comparison("less", td.less, np.less, lambda a, b: torch.lt(a, b)),
    *comparison("less_equal", td.less_equal, np.less_equal, lambda a, b: torch.le(a, b)),
    *comparison("equal", td.equal, np.equal, lambda a, b: torch.eq(a, b)),
    *comparison("not_equal", td.not_equal, np.not_equal, lambda a, b: torch.ne(a, b)),
    predicate("equal_nan", td.equal, np.equal, [(X, _special), (ROW, _special)],
              torch=lambda a, b: torch.eq(a, b)),
    predicate("not_equal_nan", td.ne, np.not_equal, [(X, _special), (ROW, _special)],
              torch=lambda a, b: torch.ne(a, b)),
    predicate("less_column_row", td.lt, np.less, [(COL, normal), (ROW, normal)],
              torch=lambda a, b: torch.lt(a, b)),
    # tests on values
    predicate("isposinf", td.isposinf, np.isposinf, [(X, _special)],
              torch=lambda x: torch.isposinf(x)),
    predicate("isneginf", td.isneginf, np.isneginf, [(X, _special)],
              torch=lambda x: torch.isneginf(x)),
    predicate("signbit", td.signbit, np.signbit, [(X, _special)],
              torch=lambda x: torch.signbit(x)),
    predicate("signbit_int", td.signbit, np.signbit, [(X, integers(-3, 3))],
              torch=lambda x: torch.signbit(x)),
    predicate("isposinf_int", td.isposinf, np.isposinf, [(X, integers(-3, 3))],
              torch=lambda x: torch.isposinf(x)),
    predicate("isin", td.isin, np.isin, [(X, integers(0, 8)), ((5,), integers(0, 8))],
              torch=lambda a, b: torch.isin(a, b)),
    predicate("isin_invert", lambda a, b: td.isin(a, b, invert=True),
              lambda a, b: np.isin(a, b, invert=True),
              [(X, integers(0, 8)), ((2, 3), integers(0, 8))],
              torch=lambda a, b: torch.isin(a, b, invert=True)),
    predicate("isin_float_in_int", td.isin, np.isin, [(X, _ties), ((3,), integers(-1, 3))],
              torch=lambda a, b: torch.isin(a, b)),
    # clamp: torch's names for clip; tensor bounds receive the gradient where they win
    OpCase("clamp", lambda x: td.clamp(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
           [Arg(X, _bounds_sample(-0.5, 0.7))], torch=lambda x: torch.clamp(x, -0.5, 0.7),
           zero_d=True, empty=[(0, 4)]),
    OpCase("clamp_tensor_bounds", td.clamp, np.clip,
           [Arg(X, _bounds_sample(-0.5, 0.5)), Arg(ROW, near([-0.5], 0.1)),
            Arg(COL, near([0.5], 0.1))],
           torch=lambda x, lo, hi: torch.clamp(x, lo, hi), zero_d=True,
           empty=[(0, 4), (1, 4), (0, 1)]),
    OpCase("clamp_min_keyword_tensor", lambda x, lo: td.clamp(x, min=lo),
           np.maximum, [Arg(X, _bounds_sample(0.0, 0.0)), Arg(ROW, near([0.0], 0.1))],
           torch=lambda x, lo: torch.clamp(x, min=lo), zero_d=True, empty=[(0, 4), (1, 4)]),
    OpCase("clamp_min", lambda x, lo: td.clamp_min(x, lo), np.maximum,
           [Arg(X, _bounds_sample(0.0, 0.0)), Arg(ROW, near([0.0], 0.1))],
           torch=lambda x, lo: torch.clamp_min(x, lo), zero_d=True, empty=[(0, 4), (1, 4)]),
    OpCase("clamp_max", lambda x: td.clamp_max(x, 0.3), lambda x: np.minimum(x, 0.3),
           [Arg(X, _bounds_sample(0.3, 0.3))], torch=lambda x: torch.clamp_max(x, 0.3),
           zero_d=True, empty=[(0, 4)]),
    OpCase("clamp_min_method", lambda x: x.clamp_min(-0.2), lambda x: np.maximum(x, -0.2),
           [Arg(X, _bounds_sample(-0.2, -0.2))], torch=lambda x: x.clamp_min(-0.2)),
    OpCase("clamp_max_method_tensor", lambda x, hi: x.clamp_max(hi), np.minimum,
           [Arg(X, _bounds_sample(0.0, 0.0)), Arg(ROW, near([0.0], 0.1))],
           torch=lambda x, hi: x.clamp_max(hi)),
    # torch's function forms of methods
    OpCase("permute", lambda x: td.permute(x, (2, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)),
           [(2, 3, 4)], torch=lambda x: torch.permute(x, (2, 0, 1)), exact=True,
           empty=[(2, 0, 4)]),
    OpCase("t", td.t, np.transpose, [X], torch=lambda x: torch.t(x), exact=True,
           empty=[(0, 4)]),
    OpCase("t_vector", td.t, lambda x: x, [(4,)], torch=lambda x: torch.t(x), exact=True,
           zero_d=True),
    OpCase("unsqueeze", lambda x: td.unsqueeze(x, -1), lambda x: x[..., None], [X],
           torch=lambda x: torch.unsqueeze(x, -1), exact=True, zero_d=True, empty=[(0, 4)]),
    OpCase("swapdims", lambda x: td.swapdims(x, 0, 2), lambda x: np.swapaxes(x, 0, 2),
           [(2, 3, 4)], torch=lambda x: torch.swapdims(x, 0, 2), exact=True),
    OpCase("ravel", td.ravel, np.ravel, [(2, 3, 4)], torch=lambda x: torch.ravel(x),
           exact=True, zero_d=True, empty=[(2, 0, 4)]),
    OpCase("ravel_method", lambda x: x.ravel(), np.ravel, [X], torch=lambda x: x.ravel(),
           exact=True),
    OpCase("select", lambda x: td.select(x, 1, -1), lambda x: x[:, -1], [(2, 3, 4)],
           torch=lambda x: torch.select(x, 1, -1), exact=True, empty=[(0, 3, 4)]),
    OpCase("select_method_dim", lambda x: x.select(dim=0, index=1), lambda x: x[1], [X],
           torch=lambda x: x.select(dim=0, index=1), exact=True),
    OpCase("pow", td.pow, np.power, [Arg(X, positive), Arg(ROW)],
           torch=lambda a, b: torch.pow(a, b), zero_d=True),
    OpCase("clone", td.clone, np.copy, [X], torch=lambda x: torch.clone(x), exact=True,
           zero_d=True),
]


class TestComparison(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- beyond a row
def test_torch_names_are_numpys_functions():
    assert (td.gt, td.ge, td.lt, td.le, td.eq, td.ne) == (
        td.greater, td.greater_equal, td.less, td.less_equal, td.equal, td.not_equal)
    assert td.Tensor.gt is td.Tensor.greater and td.Tensor.ne is td.Tensor.not_equal
    assert td.pow is td.power and td.swapdims is td.swapaxes  # (clone keeps the layout)


# Values exact in every dtype below (no rounding at the comparison), so that NumPy's and
# torch's promotions must give the same answer.
_MIX = {
    "f32": np.array([[-1.0], [0.5], [2.0]], np.float32),
    "f64": np.array([-1.0, 0.0, 0.5, 2.0]),
    "f16": np.array([0.5, 2.0, -1.0, 3.0], np.float16),
    "i64": np.array([[-1], [0], [2]]),
    "i32": np.array([2, 0, -1, 3], np.int32),
    "u8": np.array([[0], [3], [2]], np.uint8),
    "bool": np.array([True, False, True, False]),
    "0d_f64": np.array(0.5),
    "0d_i64": np.array(2),
}
_SCALARS = {"int": 2, "float": 0.5, "bool": True}
_OPS = ["greater", "greater_equal", "less", "less_equal", "equal", "not_equal"]
_TORCH_OPS = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le",
              "equal": "eq", "not_equal": "ne"}


@needs_torch
@pytest.mark.parametrize("left", sorted(_MIX))
@pytest.mark.parametrize("right", sorted(_MIX) + sorted(_SCALARS))
def test_comparisons_match_torch_over_dtype_mixes_and_broadcasting(left, right):
    a = _MIX[left]
    b = _MIX[right] if right in _MIX else _SCALARS[right]
    tb = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
    for op in _OPS:
        expected = getattr(torch, _TORCH_OPS[op])(torch.from_numpy(a), tb).numpy()
        for got in (getattr(td, op)(td.Tensor(a), td.Tensor(b) if right in _MIX else b),
                    getattr(td.Tensor(a), _TORCH_OPS[op])(td.Tensor(b) if right in _MIX else b)):
            assert got.dtype == np.bool_ and not got.requires_grad, (op, left, right)
            np.testing.assert_array_equal(got.data, expected, err_msg=f"{op}({left}, {right})")


@pytest.mark.parametrize("op", _OPS)
def test_comparison_functions_agree_with_the_operators(op):
    symbol = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=",
              "equal": "==", "not_equal": "!="}[op]
    rng = np.random.default_rng(0)
    a, b = td.Tensor(rng.choice([0.0, 1.0, np.nan], (3, 4))), td.Tensor(rng.choice([0, 1], 4))
    np.testing.assert_array_equal(getattr(td, op)(a, b).data, eval(f"a {symbol} b").data)
    # a number or an array first (NumPy's functions take them; the reflected operator)
    np.testing.assert_array_equal(getattr(td, op)(0.5, a).data, eval(f"0.5 {symbol} a").data)
    np.testing.assert_array_equal(getattr(td, op)(b.data, a).data,
                                  getattr(np, op)(b.data, a.data))


def test_values_are_compared_exactly_as_numpy_does():
    """Where torch would first round both sides to a common dtype (or wrap a Python int into a
    uint8 tensor's range), the answer is NumPy's: the values themselves are compared."""
    cases = [
        (td.tensor([16777217]), 16777216.0, np.array([16777217]), 16777216.0),
        (td.tensor([0.1]), td.tensor(np.array(0.1)), np.array([0.1], np.float32),
         np.array(0.1)),
        (td.tensor(np.array([255], np.uint8)), -1, np.array([255], np.uint8), -1),
    ]
    for a, b, a_np, b_np in cases:
        assert td.equal(a, b).data.tolist() == [False] == np.equal(a_np, b_np).tolist()
        assert (a == b).data.tolist() == [False]  # as the operator
        assert td.greater(a, b).data.tolist() == np.greater(a_np, b_np).tolist()


def test_comparison_errors_name_the_op_and_the_operands():
    a = td.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"greater: shapes \(3,\) and \(2,\)"):
        td.gt(a, td.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"less_equal: shapes \(3,\) and \(4,\)"):
        a.le(td.zeros(4))
    with pytest.raises(TypeError, match=r"less: cannot compare a float32 tensor of shape "
                                        r"\(3,\) with str 'a'"):
        td.less(a, "a")


@needs_torch
def test_tensor_equal_is_torchs_one_bool_and_the_function_is_numpys_elementwise():
    cases = [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 3.0]), ([1.0], 1.0),
             ([1.0, 1.0], [1.0]), ([[1.0, 2.0]], [1.0, 2.0]), ([np.nan], [np.nan]),
             ([0.0], [-0.0]), ([], [])]
    for a, b in cases:
        a, b = np.array(a), np.array(b)
        expected = torch.equal(torch.from_numpy(a), torch.from_numpy(b))
        got = td.Tensor(a).equal(td.Tensor(b))
        assert got is expected, (a, b)
        assert td.array_equal(a, td.Tensor(b)) is expected
    # any two dtypes, as torch
    assert td.tensor([1, 2]).equal(td.tensor([1.0, 2.0])) is True
    assert td.array_equal(td.tensor([np.nan]), td.tensor([np.nan]), equal_nan=True) is True
    # the function is NumPy's elementwise equal: a tensor, whose truth in an `if` is asked
    # only of one element
    elementwise = td.equal(td.tensor([1.0, 2.0]), td.tensor([1.0, 3.0]))
    np.testing.assert_array_equal(elementwise.data, [True, False])
    with pytest.raises(ValueError, match="ambiguous"):
        bool(elementwise)


@needs_torch
def test_allclose_is_one_bool_as_numpy_and_torch():
    a = np.array([1.0, 2.0, np.nan])
    for b, kw in [(a + 1e-9, {}), (a + 1e-3, {}), (a + 1e-3, {"atol": 1e-2}),
                  (a, {"equal_nan": True}), (a, {}), (a * (1 + 1e-6), {"rtol": 1e-7})]:
        expected = torch.allclose(torch.from_numpy(a), torch.from_numpy(b), **kw)
        assert td.allclose(td.Tensor(a), td.Tensor(b), **kw) is expected
        assert td.Tensor(a).allclose(td.Tensor(b), **kw) is expected
        assert expected == np.allclose(a, b, **kw)
    # broadcasting, and (unlike torch) any two dtypes, as NumPy
    assert td.allclose(td.ones((2, 3)), td.tensor([1.0])) is True
    assert td.allclose(td.tensor([1, 2]), td.tensor([1.0, 2.0 + 1e-9])) is True
    with pytest.raises(ValueError, match=r"isclose: shapes \(2, 3\) and \(2,\)"):
        td.allclose(td.ones((2, 3)), td.ones(2))


@needs_torch
@pytest.mark.parametrize("kw", [{}, {"invert": True}, {"assume_unique": True},
                                {"assume_unique": True, "invert": True}])
def test_isin_flags_and_scalars_match_torch(kw):
    elements, tests = np.array([[3, 1], [4, 5]]), np.array([5, 3, 9])
    expected = torch.isin(torch.from_numpy(elements), torch.from_numpy(tests), **kw).numpy()
    got = td.isin(td.Tensor(elements), td.Tensor(tests), **kw)
    assert got.dtype == np.bool_ and got.shape == elements.shape
    np.testing.assert_array_equal(got.data, expected)
    scalar = td.isin(3, td.Tensor(tests), **kw)
    assert scalar.shape == () and bool(scalar) == bool(torch.isin(3, torch.from_numpy(tests),
                                                                  **kw))
    np.testing.assert_array_equal(td.isin(td.Tensor(elements), 5, **kw).data,
                                  torch.isin(torch.from_numpy(elements), 5, **kw).numpy())


def test_outputs_are_outside_the_graph():
    x = td.tensor([1.0, -2.0, np.inf], requires_grad=True)
    for out in (td.gt(x, 0), x.le(x * 2), td.isposinf(x), x.signbit(), td.isin(x, [1.0])):
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None


@needs_torch
def test_clamp_dtypes_and_bad_bounds_as_torch():
    ints, floats = np.array([1, 5, 3]), np.array([1.0, 5.0, 3.0], np.float32)
    for x, lo, hi in [(ints, 2, 4), (ints, 2.5, None), (ints, np.array([2.0, 3.0, 2.0]), None),
                      (floats, np.array(2.0), np.array(4.0)), (floats, None, 2)]:
        def bound(v, lib):
            return v if not isinstance(v, np.ndarray) else (
                td.Tensor(v) if lib is td else torch.from_numpy(v))
        expected = torch.clamp(torch.from_numpy(x), bound(lo, torch), bound(hi, torch))
        got = td.clamp(td.Tensor(x), bound(lo, td), bound(hi, td))
        assert got.dtype == np.dtype(str(expected.dtype).replace("torch.", "")), (x, lo, hi)
        np.testing.assert_array_equal(got.data, expected.numpy())
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        td.clamp(td.tensor([1.0]))
    np.testing.assert_array_equal(td.clamp(td.tensor([1.0, 5.0]), 3, 2).data, [2.0, 2.0])


def test_function_forms_raise_as_torch():
    x = td.zeros((2, 3, 4))
    with pytest.raises(IndexError, match=r"select: index 3 is out of range for axis 1 of "
                                         r"length 3"):
        td.select(x, 1, 3)
    with pytest.raises(IndexError, match="axis 3 is out of bounds"):
        x.select(3, 0)
    with pytest.raises(IndexError, match="select: a 0-d tensor"):
        td.select(td.tensor(1.0), 0, 0)
    with pytest.raises(TypeError, match="select: index must be an int"):
        td.select(x, 0, 0.5)
    with pytest.raises(TypeError, match="unsqueeze: dim must be an int"):
        td.unsqueeze(x, (0, 1))
    with pytest.raises(IndexError, match="out of bounds"):
        td.unsqueeze(x, 4)
    with pytest.raises(ValueError, match=r"t: expects a tensor of at most 2 dimensions"):
        td.t(x)
    with pytest.raises(ValueError, match=r"permute: 2 dims given for a tensor of 3"):
        td.permute(x, (0, 1))
    with pytest.raises(ValueError, match="ravel: tinydl reads the elements in C order only"):
        td.ravel(x, order="F")
    with pytest.raises(TypeError, match="detach: expects a Tensor"):
        td.detach(np.zeros(2))


def test_function_forms_of_queries_and_detach():
    x = td.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert td.numel(x) == 3 and td.numel([[1, 2], [3, 4]]) == 4
    d = td.detach(x * 2)
    assert not d.requires_grad and d.is_leaf
    y = td.clone(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0, 1.0]])
    v = td.select(x.detach(), 0, 0)
    assert np.shares_memory(v.data, x.data)  # a view, as torch's
