"""tinydl/ops/logical.py through the op table (isnan, isinf, isfinite, isclose, logical and
bitwise ops: bool or integer outputs, no gradient), plus their dtypes and errors."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, booleans, integers, torch

X, ROW = (3, 4), (1, 4)


def _special(rng, shape):
    """Finite values, NaN and both infinities."""
    return rng.choice([0.5, -2.0, 0.0, np.nan, np.inf, -np.inf], shape)


def _almost_equal(rng, shape):
    """Values that are equal, a hair apart (1e-9: close), or further (1e-3: not close)."""
    return rng.choice([0.0, 1.0, 1.0 + 1e-9, 1.001, -1.0, np.nan], shape)


def _zeros_and_values(rng, shape):
    """Floats with exact zeros: logical ops read nonzero as True."""
    return rng.choice([0.0, 1.5, -2.0], shape)


def row(name, fn, ref, args, out_dtype, torch=None):
    """A row with bool or integer output: exact, no gradient, defined on 0-d and empty inputs."""
    args = [Arg(shape, sample, grad=False) for shape, sample in args]
    empty = [a.shape if a.shape[0] == 1 else (0,) + a.shape[1:] for a in args]
    return OpCase(name, fn, ref, args, torch=torch, grad=False, exact=True, out_dtype=out_dtype,
                  zero_d=True, empty=empty)


BOOL, INT = np.bool_, np.int64
ints, small_ints, counts = integers(-50, 50), integers(-8, 8), integers(0, 6)

CASES = [
    # tests on values
    row("isnan", td.isnan, np.isnan, [(X, _special)], BOOL, torch=lambda x: torch.isnan(x)),
    row("isinf", td.isinf, np.isinf, [(X, _special)], BOOL, torch=lambda x: torch.isinf(x)),
    row("isfinite", td.isfinite, np.isfinite, [(X, _special)], BOOL,
        torch=lambda x: torch.isfinite(x)),
    row("isnan_int", td.isnan, np.isnan, [(X, ints)], BOOL, torch=lambda x: torch.isnan(x)),
    row("isclose", td.isclose, np.isclose, [(X, _almost_equal), (ROW, _almost_equal)], BOOL,
        torch=lambda a, b: torch.isclose(a, b.expand(a.shape))),
    row("isclose_equal_nan", lambda a, b: td.isclose(a, b, equal_nan=True),
        lambda a, b: np.isclose(a, b, equal_nan=True), [(X, _almost_equal), (X, _almost_equal)],
        BOOL, torch=lambda a, b: torch.isclose(a, b, equal_nan=True)),
    row("isclose_tolerances", lambda a, b: td.isclose(a, b, rtol=0.0, atol=0.01),
        lambda a, b: np.isclose(a, b, rtol=0.0, atol=0.01),
        [(X, _almost_equal), (X, _almost_equal)], BOOL, torch=lambda a, b: torch.isclose(a, b, rtol=0.0, atol=0.01)),
    # logical
    row("logical_and", td.logical_and, np.logical_and, [(X, booleans), (ROW, booleans)], BOOL,
        torch=lambda a, b: torch.logical_and(a, b)),
    row("logical_or", td.logical_or, np.logical_or, [(X, booleans), (ROW, booleans)], BOOL,
        torch=lambda a, b: torch.logical_or(a, b)),
    row("logical_xor", td.logical_xor, np.logical_xor, [(X, booleans), (ROW, booleans)], BOOL,
        torch=lambda a, b: torch.logical_xor(a, b)),
    row("logical_not", td.logical_not, np.logical_not, [(X, booleans)], BOOL,
        torch=lambda a: torch.logical_not(a)),
    row("logical_and_floats", td.logical_and, np.logical_and,
        [(X, _zeros_and_values), (ROW, _zeros_and_values)], BOOL,
        torch=lambda a, b: torch.logical_and(a, b)),
    row("logical_not_ints", td.logical_not, np.logical_not, [(X, integers(-1, 2))], BOOL,
        torch=lambda a: torch.logical_not(a)),
    # bitwise
    row("bitwise_and", td.bitwise_and, np.bitwise_and, [(X, ints), (ROW, ints)], INT,
        torch=lambda a, b: torch.bitwise_and(a, b)),
    row("bitwise_or", td.bitwise_or, np.bitwise_or, [(X, ints), (ROW, ints)], INT,
        torch=lambda a, b: torch.bitwise_or(a, b)),
    row("bitwise_xor", td.bitwise_xor, np.bitwise_xor, [(X, ints), (ROW, ints)], INT,
        torch=lambda a, b: torch.bitwise_xor(a, b)),
    row("bitwise_not", td.bitwise_not, np.invert, [(X, ints)], INT,
        torch=lambda a: torch.bitwise_not(a)),
    row("bitwise_and_bool", td.bitwise_and, np.bitwise_and, [(X, booleans), (ROW, booleans)],
        BOOL, torch=lambda a, b: torch.bitwise_and(a, b)),
    row("bitwise_not_bool", td.bitwise_not, np.invert, [(X, booleans)], BOOL,
        torch=lambda a: torch.bitwise_not(a)),
    row("left_shift", td.left_shift, np.left_shift, [(X, small_ints), (ROW, counts)], INT,
        torch=lambda a, b: torch.bitwise_left_shift(a, b)),
    row("right_shift", td.right_shift, np.right_shift, [(X, ints), (ROW, counts)], INT,
        torch=lambda a, b: torch.bitwise_right_shift(a, b)),
    row("bitwise_and_scalar", lambda a: td.bitwise_and(a, 6), lambda a: a & 6, [(X, ints)], INT,
        torch=lambda a: a & 6),
    row("left_shift_scalar_first", lambda b: td.left_shift(3, b), lambda b: np.left_shift(3, b),
        [(X, counts)], INT, torch=lambda b: torch.bitwise_left_shift(3, b)),
]


class TestLogical(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- beyond a row
def test_outputs_are_outside_the_graph():
    x = td.Tensor(np.array([0.0, np.nan, 1.0]), requires_grad=True)
    for out in (td.isnan(x), td.isfinite(x * 2), td.isclose(x, 1.0), td.logical_and(x, x),
                td.logical_not(x)):
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None


def test_aliases_are_the_same_functions():
    assert td.invert is td.bitwise_not
    assert td.bitwise_left_shift is td.left_shift
    assert td.bitwise_right_shift is td.right_shift


def test_integer_dtypes_are_kept():
    a = td.Tensor(np.array([5, 3], dtype=np.int8))
    for fn in (td.bitwise_and, td.bitwise_or, td.bitwise_xor, td.left_shift, td.right_shift):
        assert fn(a, 1).dtype == np.int8, fn.__name__
        assert fn(a, a).dtype == np.int8, fn.__name__
    assert td.bitwise_not(a).dtype == np.int8
    np.testing.assert_array_equal(td.right_shift(td.tensor([-8, 7]), 1).data, [-4, 3])  # floor


@pytest.mark.parametrize("fn", [td.bitwise_and, td.bitwise_or, td.bitwise_xor, td.left_shift,
                                td.right_shift])
def test_bitwise_ops_refuse_floats(fn):
    name = fn.__name__
    ints, floats = td.tensor([1, 2]), td.tensor([1.0, 2.0])
    for a, b in ((floats, ints), (ints, floats), (ints, 1.5)):
        with pytest.raises(TypeError, match=rf"{name}: needs integer or bool tensors, got "
                                            r"float(32|64) \(of shape \((2,)?\)\)"):
            fn(a, b)


def test_bitwise_not_refuses_floats():
    with pytest.raises(TypeError, match=r"bitwise_not: needs integer or bool tensors, got float32"):
        td.bitwise_not(td.tensor([1.0]))


@pytest.mark.parametrize("fn", [td.isclose, td.logical_and, td.logical_or, td.logical_xor,
                                td.bitwise_and, td.left_shift])
def test_shape_mismatch_names_op_and_shapes(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: shapes \(2, 3\) and \(4,\)"):
        fn(td.Tensor(np.ones((2, 3), dtype=np.int64)), td.Tensor(np.ones(4, dtype=np.int64)))


def test_isclose_is_numpys_asymmetric_rule():
    # |a - b| <= atol + rtol |b|: the tolerance scales with b only
    one, two = td.Tensor(np.array([1.0])), td.Tensor(np.array([2.0]))
    assert td.isclose(one, two, rtol=0.6, atol=0).item() is True
    assert td.isclose(two, one, rtol=0.6, atol=0).item() is False
    np.testing.assert_array_equal(td.isclose(td.Tensor(np.array([np.inf, -np.inf, np.nan])),
                                             td.Tensor(np.array([np.inf, np.inf, np.nan]))).data,
                                  [True, False, False])


_OPERATORS = {"__and__": (td.bitwise_and, False), "__rand__": (td.bitwise_and, True),
              "__or__": (td.bitwise_or, False), "__ror__": (td.bitwise_or, True),
              "__xor__": (td.bitwise_xor, False), "__rxor__": (td.bitwise_xor, True),
              "__lshift__": (td.left_shift, False), "__rlshift__": (td.left_shift, True),
              "__rshift__": (td.right_shift, False), "__rrshift__": (td.right_shift, True)}


@pytest.mark.parametrize("method", sorted(_OPERATORS) + ["__invert__"])
def test_operators_are_the_functions(method):
    if not any(method in vars(cls) for cls in td.Tensor.__mro__):
        pytest.skip(f"Tensor.{method} not wired yet")
    t = td.tensor([5, -3, 12])
    if method == "__invert__":
        np.testing.assert_array_equal((~t).data, td.bitwise_not(t).data)
        return
    fn, reflected = _OPERATORS[method]
    got = getattr(t, method)(2)
    want = fn(2, t) if reflected else fn(t, 2)
    np.testing.assert_array_equal(got.data, want.data)


@pytest.mark.parametrize("op", ["__and__", "__or__", "__xor__", "__lshift__", "__rshift__"])
def test_bitwise_ops_promote_a_0d_tensor_as_arithmetic(op):
    """int32 with a 0-d int64 tensor stays int32 (torch's rule, as for + and //)."""
    a = td.Tensor(np.array([7, -7, 9], np.int32))
    out = getattr(a, op)(td.tensor(3))
    assert out.dtype == np.int32
    assert out.tolist() == getattr(a.numpy(), op)(np.int32(3)).tolist()
    assert (td.Tensor(np.array([True, False])) & td.tensor(3)).dtype == np.int64
