"""tinydl/ops/rounding.py through the op table (sign, floor, ceil, round, trunc, copysign, fmod,
remainder, floor_divide), plus what a row cannot state: ties to even, sign conventions against
Python and torch, integer dtypes and division by zero, torch's gradients at the jumps."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl as td
from tests.ops._table import (Arg, OpCase, OpTable, integers, near, normal, off_zero,
                              rows_by_name, tensors, torch)

X, ROW = (3, 4), (1, 4)
INT = np.int64


def unary(name, fn, ref, sample, torch=None, **kw):
    """A row for an op of one input: (3, 4) drawn by ``sample``; defined on 0-d and (0, 3).
    Piecewise-constant: no second derivative to check."""
    return OpCase(name, fn, ref, [Arg(X, sample)], torch=torch, zero_d=True, empty=[(0, 3)],
                  gradgrad=False, **kw)


def binary(name, fn, ref, sample_a=normal, sample_b=normal, torch=None, **kw):
    """A row for a broadcasting op of two inputs, (3, 4) with (1, 4)."""
    return OpCase(name, fn, ref, [Arg(X, sample_a), Arg(ROW, sample_b)], torch=torch,
                  zero_d=True, empty=[(0, 4), (1, 4)], **kw)


def integer_binary(name, fn, ref, sample_b, torch=None):
    """An integer row of a binary op: exact, int64 out, no gradient."""
    return OpCase(name, fn, ref, [Arg(X, integers(-9, 10)), Arg(ROW, sample_b)], torch=torch,
                  grad=False, exact=True, out_dtype=INT, zero_d=True, empty=[(0, 4), (1, 4)])


# Samples away from the jumps, where central differences see the zero gradient.
between_integers = near([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], 0.3)  # floor, ceil, trunc
near_integers = near([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0], 0.3)  # round's ties are at halves
near_hundredths = near(np.arange(-300, 300) / 100, 0.003)  # round to 2 decimals
divisors = near([-1.5, -0.7, 0.6, 1.3], 0.1)  # both signs, away from 0
nonzero_ints = integers(1, 5)


def _negated_sometimes(sample):
    def signed(rng, shape):
        return sample(rng, shape) * rng.choice([-1, 1], shape)
    return signed


CASES = [
    unary("sign", td.sign, np.sign, off_zero, torch=lambda x: torch.sign(x)),
    unary("floor", td.floor, np.floor, between_integers, torch=lambda x: torch.floor(x)),
    unary("ceil", td.ceil, np.ceil, between_integers, torch=lambda x: torch.ceil(x)),
    unary("trunc", td.trunc, np.trunc, between_integers, torch=lambda x: torch.trunc(x)),
    unary("round", td.round, np.round, near_integers, torch=lambda x: torch.round(x)),
    unary("round_decimals", lambda x: td.round(x, decimals=2), lambda x: np.round(x, 2),
          near_hundredths, torch=lambda x: torch.round(x, decimals=2)),
    unary("round_negative_decimals", lambda x: td.round(x * 1000, -2),
          lambda x: np.round(x * 1000, -2), near([-2.0, -0.9, 0.4, 1.3], 0.02),
          torch=lambda x: torch.round(x * 1000, decimals=-2)),
    OpCase("floor_int", td.floor, np.floor, [Arg(X, integers(-5, 5))], grad=False, exact=True,
           out_dtype=INT, zero_d=True, torch=lambda x: torch.floor(x)),
    OpCase("sign_int", td.sign, np.sign, [Arg(X, integers(-5, 5))], grad=False, exact=True,
           out_dtype=INT, zero_d=True, torch=lambda x: torch.sign(x)),
    OpCase("round_int", lambda x: td.round(x, -1), lambda x: np.round(x, -1),
           [Arg(X, integers(-99, 99))], grad=False, exact=True, out_dtype=INT, zero_d=True),
    binary("copysign", td.copysign, np.copysign, off_zero, torch=lambda a, b: torch.copysign(a, b),
           gradgrad=False),
    binary("fmod", td.fmod, np.fmod, sample_b=divisors, torch=lambda a, b: torch.fmod(a, b)),
    binary("remainder", td.remainder, np.remainder, sample_b=divisors,
           torch=lambda a, b: torch.remainder(a, b)),
    binary("remainder_scalar", lambda a, b: td.remainder(a * 3, 0.8) + b,
           lambda a, b: np.remainder(a * 3, 0.8) + b, torch=lambda a, b: (a * 3) % 0.8 + b),
    binary("rremainder_scalar", lambda a, b: td.remainder(2.5, b) * a,
           lambda a, b: np.remainder(2.5, b) * a, sample_b=divisors,
           torch=lambda a, b: torch.remainder(torch.tensor(2.5, dtype=b.dtype), b) * a),
    binary("floor_divide", td.floor_divide, np.floor_divide, sample_b=divisors, gradgrad=False),
    integer_binary("fmod_int", td.fmod, np.fmod, _negated_sometimes(nonzero_ints),
                   torch=lambda a, b: torch.fmod(a, b)),
    integer_binary("remainder_int", td.remainder, np.remainder,
                   _negated_sometimes(nonzero_ints), torch=lambda a, b: torch.remainder(a, b)),
    integer_binary("floor_divide_int", td.floor_divide, np.floor_divide,
                   _negated_sometimes(nonzero_ints), torch=lambda a, b: torch.floor_divide(a, b)),
]
BY_NAME = rows_by_name(CASES)


class TestRounding(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- hypothesis
@settings(max_examples=30, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       name=st.sampled_from(["copysign", "fmod", "remainder", "floor_divide"]))
def test_binary_ops_broadcast_like_numpy(shapes, name):
    row = BY_NAME[name]
    rng = np.random.default_rng(0)
    (sa, sb) = shapes.input_shapes
    a, b = row.args[0].sample(rng, sa), row.args[1].sample(rng, sb)
    out = row.fn(td.Tensor(a), td.Tensor(b))
    assert out.shape == shapes.result_shape, name
    np.testing.assert_allclose(out.data, row.ref(a, b), rtol=1e-12, err_msg=name)
    assert td.gradcheck(row.fn, tensors(row, [a, b]))


# ----------------------------------------------------------------------------- beyond a row
def test_round_ties_go_to_even():
    x = td.Tensor(np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994]))
    np.testing.assert_array_equal(td.round(x).data, [0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 0.0])
    assert np.signbit(td.round(x).data[3])  # -0.5 rounds to -0.0, as NumPy and torch
    np.testing.assert_array_equal(td.round(td.Tensor(np.array([1.25, 1.35])), 1).data,
                                  np.round([1.25, 1.35], 1))
    np.testing.assert_array_equal(td.round(td.tensor([1250, 1350, -1250]), -2).data,
                                  [1200, 1400, -1200])


def test_round_refuses_non_integer_decimals():
    with pytest.raises(TypeError, match="round: decimals must be an int, got 1.5"):
        td.round(td.Tensor(np.zeros(2)), 1.5)


@pytest.mark.parametrize("fn", [td.sign, td.floor, td.ceil, td.trunc, td.round,
                                lambda x: td.round(x, 1), lambda x: td.floor_divide(x, 0.5)])
def test_gradient_is_zero_also_at_the_jumps_as_torch(fn):
    x = td.Tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.5]), requires_grad=True)
    (g,) = td.grad(fn(x).sum(), [x])
    np.testing.assert_array_equal(g.data, np.zeros(6))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_rounded_division_has_zero_gradient_also_by_zero(mode):
    """div(a, b, rounding_mode=...) is piecewise constant: both gradients are 0, also where b
    is 0 or the quotient inf or NaN (the trunc mode gave NaN there, as 0 * inf)."""
    a = td.Tensor(np.array([1.0, 7.0, -7.0, np.inf, np.nan, 5.0]), requires_grad=True)
    b = td.Tensor(np.array([0.0, 2.0, 2.0, 3.0, 1.0, np.nan]), requires_grad=True)
    y = td.div(a, b, rounding_mode=mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = a.data / b.data
        expected = np.trunc(quotient) if mode == "trunc" else np.floor_divide(a.data, b.data)
    np.testing.assert_array_equal(y.data, expected)
    ga, gb = td.grad(y.sum(), [a, b])
    np.testing.assert_array_equal(ga.data, np.zeros(6))
    np.testing.assert_array_equal(gb.data, np.zeros(6))


def test_dtypes_follow_torch():
    ints, floats = td.tensor([5, -7, 0]), td.tensor([5.5, -7.25, 0.0])
    for fn in (td.floor, td.ceil, td.trunc, td.round, td.sign):
        assert fn(ints).dtype == np.int64 and fn(floats).dtype == np.float32, fn
    for fn in (td.fmod, td.remainder, td.floor_divide):
        assert fn(ints, 3).dtype == np.int64, fn
        assert fn(ints, 2.5).dtype == np.float32, fn  # an int tensor meets a Python float
        assert fn(floats, 3).dtype == np.float32, fn
    assert td.copysign(ints, -1).dtype == np.float32  # copysign always gives floats
    assert td.sign(td.tensor([True, False])).dtype == np.bool_


def test_sign_conventions_against_python():
    a = np.array([7.5, -7.5, 7.5, -7.5, 6.0, -6.0])
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0])
    ta, tb = td.Tensor(a), td.Tensor(b)
    # remainder and floor_divide: Python's % and //; fmod: C's, the sign of the dividend
    np.testing.assert_array_equal(td.remainder(ta, tb).data, [x % y for x, y in zip(a, b)])
    np.testing.assert_array_equal(td.floor_divide(ta, tb).data, [x // y for x, y in zip(a, b)])
    np.testing.assert_array_equal(td.fmod(ta, tb).data, [1.5, -1.5, 1.5, -1.5, 0.0, -0.0])
    ia, ib = td.tensor([7, -7, 7, -7]), td.tensor([2, 2, -2, -2])
    np.testing.assert_array_equal(td.remainder(ia, ib).data, [1, 1, -1, -1])
    np.testing.assert_array_equal(td.floor_divide(ia, ib).data, [3, -4, -4, 3])
    np.testing.assert_array_equal(td.fmod(ia, ib).data, [1, -1, 1, -1])
    q, r = td.floor_divide(ta, tb), td.remainder(ta, tb)
    np.testing.assert_array_equal((q * tb + r).data, a)


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
def test_floor_divide_and_remainders_match_torch_on_awkward_operands():
    a = np.array([7.5, -7.5, 1e-300, -0.0, 0.3, -5.0, 2.0, np.inf, 5.0])
    b = np.array([-2.0, 0.1, -3.0, 2.0, 0.1, np.inf, 0.0, 2.0, -0.0])
    for name in ("floor_divide", "remainder", "fmod"):
        with np.errstate(all="ignore"):
            got = getattr(td, name)(td.Tensor(a), td.Tensor(b)).data
        want = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        np.testing.assert_array_equal(got, want, err_msg=name)
    # Where a / b overflows torch's remainder gives NaN; tinydl's (NumPy's) stays exact.
    got = td.remainder(td.Tensor(np.array([1e300, -1e300])), 1e-300).data
    np.testing.assert_array_equal(got, [1e300 % 1e-300, -1e300 % 1e-300])


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
def test_remainder_gradients_match_torch_with_negative_operands():
    a = np.array([2.5, -1.7, -3.3, 4.1, 0.0])
    b = np.array([0.7, 0.6, -1.1, -0.9, -1.0])
    for name in ("fmod", "remainder", "copysign"):
        ta, tb = td.Tensor(a, requires_grad=True), td.Tensor(b, requires_grad=True)
        ga, gb = td.grad(getattr(td, name)(ta, tb).sum(), [ta, tb])
        xa = torch.tensor(a, requires_grad=True)
        xb = torch.tensor(b, requires_grad=True)
        wa, wb = torch.autograd.grad(getattr(torch, name)(xa, xb).sum(), [xa, xb])
        np.testing.assert_array_equal(ga.data, wa.numpy(), err_msg=name)
        np.testing.assert_array_equal(gb.data, wb.numpy(), err_msg=name)


def test_copysign_follows_the_sign_bit():
    a = td.Tensor(np.array([2.0, 2.0, -3.0, 0.0]), requires_grad=True)
    b = td.Tensor(np.array([-0.0, 0.0, 1.0, -1.0]), requires_grad=True)
    out = td.copysign(a, b)
    np.testing.assert_array_equal(out.data, [-2.0, 2.0, 3.0, -0.0])
    ga, gb = td.grad(out.sum(), [a, b])
    np.testing.assert_array_equal(ga.data, [-1.0, 1.0, -1.0, 0.0])  # 0 where a = 0, as torch
    np.testing.assert_array_equal(gb.data, np.zeros(4))


@pytest.mark.parametrize("fn", [td.fmod, td.remainder, td.floor_divide])
def test_integer_division_by_zero_raises(fn):
    with pytest.raises(ZeroDivisionError, match=f"{fn.__name__}: integer division by zero"):
        fn(td.tensor([5, 6]), td.tensor([1, 0]))
    with pytest.raises(ZeroDivisionError, match=fn.__name__):
        fn(td.tensor([5, 6]), 0)
    with np.errstate(all="ignore"):
        assert np.isnan(fn(td.tensor([5.0]), 0.0).data).all() or fn is td.floor_divide


def test_shape_mismatch_names_op_and_shapes():
    for fn in (td.fmod, td.remainder, td.floor_divide, td.copysign):
        with pytest.raises(ValueError, match=rf"{fn.__name__}: shapes \(2, 3\) and \(4,\)"):
            fn(td.Tensor(np.ones((2, 3))), td.Tensor(np.ones(4)))


_OPERATORS = {"__mod__": (td.remainder, False), "__rmod__": (td.remainder, True),
              "__floordiv__": (td.floor_divide, False),
              "__rfloordiv__": (td.floor_divide, True)}


@pytest.mark.parametrize("method", sorted(_OPERATORS))
def test_operators_are_the_functions(method):
    if not any(method in vars(cls) for cls in td.Tensor.__mro__):
        pytest.skip(f"Tensor.{method} not wired yet")
    fn, reflected = _OPERATORS[method]
    t = td.Tensor(np.array([7.5, -7.5, 3.0]), requires_grad=True)
    other = 2.0
    got = getattr(t, method)(other)
    want = fn(other, t) if reflected else fn(t, other)
    np.testing.assert_array_equal(got.data, want.data)
    assert got.requires_grad
