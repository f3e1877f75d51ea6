"""Special functions (tinydl/ops/special.py) and the elementwise math added beside them
(deg2rad, rad2deg, float_power, ldexp, frexp, fmax, fmin in ops/math.py; sgn, frac,
heaviside, nextafter in ops/rounding.py; gcd, lcm in ops/logical.py; positive, rsub) through
the op table with SciPy/NumPy references, plus what a row cannot state: integer and float16
inputs, the integer-only and non-differentiable ops, errors, the methods, NumPy/SciPy interop
and ``tinydl.special``. Values and gradients at extreme inputs: tests/ops/test_special_edges.py.
"""
import math

import numpy as np
import pytest
import scipy.special as sp

import tinydl as td
from tests.ops._table import (Arg, OpCase, OpTable, first_and_second_derivatives, integers,
                              near, normal, off_zero, positive, torch, uniform)

X, ROW = (3, 4), (1, 4)
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")


def unary(name, fn, ref, sample=normal, torch=None, **kw):
    """A row for an op of one input: (3, 4) drawn by ``sample``; defined on 0-d and (0, 3)."""
    return OpCase(name, fn, ref, [Arg(X, sample)], torch=torch, zero_d=True, empty=[(0, 3)],
                  **kw)


def binary(name, fn, ref, sample_a=normal, sample_b=normal, torch=None, **kw):
    """A row for a broadcasting op of two inputs, (3, 4) with (1, 4)."""
    return OpCase(name, fn, ref, [Arg(X, sample_a), Arg(ROW, sample_b)], torch=torch,
                  zero_d=True, empty=[(0, 4), (1, 4)], **kw)


def _steps(rng, shape):
    """-1.0, 0.0 or 1.0: heaviside's three cases, 0 exactly."""
    return rng.integers(-1, 2, shape).astype(np.float64)


poles_apart = near([-2.5, -1.5, -0.5], 0.3)  # negative, between the gamma function's poles
not_power_of_two = near([-3.0, -1.5, -0.75, 0.75, 1.5, 3.0], 0.2)  # frexp's jumps at 2^k
not_integer = near([-1.5, -0.5, 0.5, 1.5], 0.3)  # frac's jumps


CASES = [
    # error function and the normal distribution
    unary("erfc", td.erfc, sp.erfc, torch=lambda x: torch.erfc(x)),
    unary("erfc_tail", td.erfc, sp.erfc, uniform(4.0, 9.0), torch=lambda x: torch.erfc(x)),
    unary("erfcx", td.special.erfcx, sp.erfcx, torch=lambda x: torch.special.erfcx(x)),
    unary("erfcx_large", td.special.erfcx, sp.erfcx, uniform(5.0, 50.0),
          torch=lambda x: torch.special.erfcx(x)),
    unary("erfinv", td.erfinv, sp.erfinv, uniform(-0.95, 0.95),
          torch=lambda x: torch.erfinv(x)),
    unary("ndtr", td.special.ndtr, sp.ndtr, torch=lambda x: torch.special.ndtr(x)),
    unary("ndtri", td.special.ndtri, sp.ndtri, uniform(0.02, 0.98),
          torch=lambda x: torch.special.ndtri(x)),
    unary("log_ndtr", td.special.log_ndtr, sp.log_ndtr, uniform(-5.0, 5.0),
          torch=lambda x: torch.special.log_ndtr(x)),
    unary("log_ndtr_left_tail", td.special.log_ndtr, sp.log_ndtr, uniform(-40.0, -10.0),
          torch=lambda x: torch.special.log_ndtr(x)),
    # gamma family
    unary("lgamma", td.lgamma, sp.gammaln, uniform(0.1, 8.0), torch=lambda x: torch.lgamma(x)),
    unary("lgamma_negative", td.lgamma, sp.gammaln, poles_apart,
          torch=lambda x: torch.lgamma(x)),
    # (rtol: torch's trigamma, digamma's gradient and polygamma(1), is good to about 5e-10
    # only; SciPy's polygamma(1, x), tinydl's, to 1 ulp against mpmath)
    unary("digamma", td.digamma, sp.psi, uniform(0.1, 8.0), torch=lambda x: torch.digamma(x),
          rtol=1e-9),
    unary("digamma_negative", td.digamma, sp.psi, poles_apart,
          torch=lambda x: torch.digamma(x), rtol=1e-9),
    *(unary(f"polygamma_{n}", lambda x, n=n: td.polygamma(n, x),
            lambda x, n=n: sp.polygamma(n, x), uniform(0.3, 5.0),
            torch=lambda x, n=n: torch.polygamma(n, x), rtol=1e-9 if n < 2 else 1e-12)
      for n in (0, 1, 2, 3)),
    unary("polygamma_1_negative", lambda x: td.polygamma(1, x), lambda x: sp.polygamma(1, x),
          poles_apart, torch=lambda x: torch.polygamma(1, x)),
    unary("mvlgamma_1", lambda x: td.mvlgamma(x, 1), lambda x: sp.multigammaln(x, 1),
          uniform(0.2, 5.0), torch=lambda x: torch.mvlgamma(x, 1)),
    unary("mvlgamma_3", lambda x: td.mvlgamma(x, p=3), lambda x: sp.multigammaln(x, 3),
          uniform(1.2, 6.0), torch=lambda x: torch.mvlgamma(x, 3)),
    # modified Bessel functions
    unary("i0", td.i0, np.i0, torch=lambda x: torch.i0(x)),
    unary("i0_large", td.i0, sp.i0, uniform(8.0, 20.0), torch=lambda x: torch.i0(x)),
    unary("i0e", td.special.i0e, sp.i0e, off_zero, torch=lambda x: torch.special.i0e(x)),
    unary("i1", td.special.i1, sp.i1, torch=lambda x: torch.special.i1(x)),
    unary("i1e", td.special.i1e, sp.i1e, off_zero, torch=lambda x: torch.special.i1e(x)),
    # sinc, logit, x log y, entropy
    unary("sinc", td.sinc, np.sinc, uniform(-3.0, 3.0), torch=lambda x: torch.sinc(x)),
    unary("sinc_near_zero", td.sinc, np.sinc, near([-0.12, 0.12], 0.05),
          torch=lambda x: torch.sinc(x)),  # the Taylor branch of the gradient
    unary("logit", td.logit, sp.logit, uniform(0.05, 0.95), torch=lambda x: torch.logit(x)),
    unary("logit_eps", lambda x: td.logit(x, eps=0.1), lambda x: sp.logit(np.clip(x, 0.1, 0.9)),
          near([0.03, 0.5, 0.97], 0.02), torch=lambda x: torch.logit(x, eps=0.1)),
    binary("xlogy", td.xlogy, sp.xlogy, normal, positive, torch=lambda x, y: torch.xlogy(x, y)),
    binary("xlogy_zero_x", td.xlogy, sp.xlogy, lambda rng, s: np.zeros(s), positive,
           torch=lambda x, y: torch.xlogy(x, y)),
    OpCase("xlogy_number_y", lambda x: td.xlogy(x, 3.0), lambda x: sp.xlogy(x, 3.0), [X],
           torch=lambda x: torch.xlogy(x, 3.0), zero_d=True, empty=[(0, 3)]),
    binary("xlog1py", td.special.xlog1py, sp.xlog1py, normal, uniform(-0.8, 2.0),
           torch=lambda x, y: torch.special.xlog1py(x, y)),
    unary("entr", td.special.entr, sp.entr, positive, torch=lambda x: torch.special.entr(x)),
    # angles, powers, powers of two
    unary("deg2rad", td.deg2rad, np.deg2rad, torch=lambda x: torch.deg2rad(x)),
    unary("rad2deg", td.rad2deg, np.rad2deg, torch=lambda x: torch.rad2deg(x)),
    binary("float_power", td.float_power, np.float_power, positive, normal,
           torch=lambda a, b: torch.float_power(a, b), out_dtype=np.float64),
    OpCase("ldexp", td.ldexp, np.ldexp, [Arg(X), Arg(ROW, integers(-3, 4), grad=False)],
           zero_d=True, empty=[(0, 4), (1, 4)]),  # torch: 2 ** e in integers, 0 for e < 0
    OpCase("ldexp_nonnegative_exponent", td.ldexp, np.ldexp,
           [Arg(X), Arg(ROW, integers(0, 5), grad=False)],
           torch=lambda x, e: torch.ldexp(x, e)),
    binary("ldexp_float_exponent", td.ldexp, lambda x, e: x * np.exp2(e),
           torch=lambda x, e: torch.ldexp(x, e)),
    unary("frexp_mantissa", lambda x: td.frexp(x).mantissa, lambda x: np.frexp(x)[0],
          not_power_of_two, torch=lambda x: torch.frexp(x).mantissa),
    # NaN-ignoring extrema
    binary("fmax", td.fmax, np.fmax, torch=lambda a, b: torch.fmax(a, b)),
    binary("fmin", td.fmin, np.fmin, torch=lambda a, b: torch.fmin(a, b)),
    # piecewise
    unary("frac", td.frac, lambda x: x - np.trunc(x), not_integer,
          torch=lambda x: torch.frac(x)),
    unary("sgn", td.sgn, np.sign, off_zero, gradgrad=False),  # (torch's is a ZeroTensor)
    binary("nextafter", td.nextafter, np.nextafter, torch=lambda a, b: torch.nextafter(a, b)),
    OpCase("heaviside", td.heaviside, np.heaviside, [Arg(X, _steps, grad=False),
                                                     Arg(ROW, grad=False)],
           torch=lambda x, v: torch.heaviside(x, v), grad=False, exact=True, zero_d=True,
           empty=[(0, 4), (1, 4)]),
    # arithmetic
    binary("rsub", lambda a, b: td.rsub(a, b, alpha=2), lambda a, b: b - 2 * a,
           torch=lambda a, b: torch.rsub(a, b, alpha=2)),
]


class TestSpecial(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- dtypes
UNARY = {"erfc": td.erfc, "erfinv": td.erfinv, "lgamma": td.lgamma, "digamma": td.digamma,
         "i0": td.i0, "sinc": td.sinc, "logit": td.logit, "deg2rad": td.deg2rad,
         "rad2deg": td.rad2deg, "special.erfcx": td.special.erfcx,
         "special.ndtr": td.special.ndtr, "special.ndtri": td.special.ndtri,
         "special.log_ndtr": td.special.log_ndtr, "special.i0e": td.special.i0e,
         "special.i1": td.special.i1, "special.i1e": td.special.i1e,
         "special.entr": td.special.entr}


def _torch_fn(name):
    module, _, short = name.rpartition(".")
    return getattr(torch.special if module else torch, short)


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_integer_and_bool_inputs_give_float32_as_torch(name):
    for values in ([0, 1, 2], [True, False]):
        out = UNARY[name](td.tensor(values))
        want = _torch_fn(name)(torch.tensor(values))
        assert out.dtype == np.float32 and want.dtype == torch.float32, name
        np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float16_and_float32_keep_their_dtype(name):
    for dtype in (np.float16, np.float32):
        x = td.Tensor(np.array([0.25, 0.5], dtype), requires_grad=True)
        y = UNARY[name](x)
        (g,) = td.grad(y.sum(), [x])
        assert y.dtype == g.dtype == dtype, (name, dtype)
        wide = UNARY[name](td.Tensor(np.array([0.25, 0.5]))).data
        np.testing.assert_allclose(y.data.astype(np.float64), wide,
                                   rtol=2e-3 if dtype == np.float16 else 1e-6, err_msg=name)


@needs_torch
def test_binary_dtypes_follow_torch():
    f32, i64 = td.tensor([1.5, 2.0]), td.tensor([2, 3])
    t32, t64 = torch.tensor([1.5, 2.0]), torch.tensor([2, 3])
    pairs = [(td.xlogy(i64, i64), torch.xlogy(t64, t64)),
             (td.xlogy(f32, 2), torch.xlogy(t32, 2)),
             (td.float_power(i64, 2), torch.float_power(t64, 2)),
             (td.float_power(f32, f32), torch.float_power(t32, t32)),
             (td.fmax(i64, i64), torch.fmax(t64, t64)),
             (td.fmax(i64, f32), torch.fmax(t64, t32)),
             (td.ldexp(f32, i64), torch.ldexp(t32, t64)),
             (td.ldexp(i64, i64), torch.ldexp(t64, t64)),
             (td.nextafter(f32, td.tensor([0.0, 3.0])),
              torch.nextafter(t32, torch.tensor([0.0, 3.0]))),
             (td.heaviside(i64, td.tensor(1)), torch.heaviside(t64, torch.tensor(1))),
             (td.rsub(i64, 3), torch.rsub(t64, 3)), (td.rsub(i64, 3.5), torch.rsub(t64, 3.5)),
             (td.gcd(i64, td.tensor([4, 9], dtype=td.int32)),
              torch.gcd(t64, torch.tensor([4, 9], dtype=torch.int32))),
             (td.sgn(i64), torch.sgn(t64)), (td.frexp(f32).exponent, torch.frexp(t32).exponent)]
    for k, (got, want) in enumerate(pairs):
        assert str(got.dtype) == str(want.dtype).replace("torch.", ""), k
        np.testing.assert_array_equal(got.data, want.numpy(), err_msg=str(k))


# ----------------------------------------------------------------------------- beyond a row
def test_gcd_and_lcm_match_numpy_and_torch_with_signs_and_zeros():
    a, b = np.array([12, -18, 0, 0, 7, 2 ** 40]), np.array([8, 12, 5, 0, -21, 6])
    np.testing.assert_array_equal(td.gcd(td.tensor(a), td.tensor(b)).data, np.gcd(a, b))
    np.testing.assert_array_equal(td.lcm(td.tensor(a), td.tensor(b)).data, np.lcm(a, b))
    np.testing.assert_array_equal(td.tensor(a).gcd(td.tensor(3)).data, np.gcd(a, 3))
    if torch is not None:
        np.testing.assert_array_equal(td.gcd(td.tensor(a), td.tensor(b)).data,
                                      torch.gcd(torch.tensor(a), torch.tensor(b)).numpy())
        np.testing.assert_array_equal(td.lcm(td.tensor(a), td.tensor(b)).data,
                                      torch.lcm(torch.tensor(a), torch.tensor(b)).numpy())
    assert td.gcd(td.tensor([4], dtype=td.int32), 6).dtype == np.int32  # a Python int is weak


def test_frexp_is_a_named_pair_and_rebuilds_its_input():
    x = np.array([0.0, -0.0, 1.0, -3.0, 6.5, 1e-310, 5e-324, np.inf, -np.inf, np.nan])
    out = td.frexp(td.Tensor(x))
    mantissa, exponent = out
    assert out.mantissa is mantissa and out.exponent is exponent
    assert exponent.dtype == np.int32 and not exponent.requires_grad
    want_m, want_e = np.frexp(x)  # NumPy's exact split, subnormals too (torch 2.13: 0 and 0)
    np.testing.assert_array_equal(mantissa.data, want_m)
    np.testing.assert_array_equal(exponent.data, want_e)
    np.testing.assert_array_equal(td.ldexp(mantissa, exponent).data, x)
    y = td.Tensor(np.array([3.0, 0.3]), requires_grad=True)
    td.frexp(y).mantissa.sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0.25, 2.0])  # 2^-exponent


def test_ldexp_is_exact_where_two_to_the_exponent_overflows():
    x = td.Tensor(np.array([1e-300, 3.0]), requires_grad=True)
    y = td.ldexp(x, td.tensor([1100, -1074]))
    np.testing.assert_array_equal(y.data, np.ldexp(x.data, [1100, -1074]))  # 2^1100 is inf
    y.sum().backward()
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(x.grad.data, np.ldexp(1.0, [1100, -1074]))  # inf, 5e-324
    assert td.ldexp(td.Tensor(np.array([1.0], np.float32)), td.tensor([200])).item() == np.inf
    # a number or an unsigned exponent: NumPy's (torch takes tensors only); float32 stays
    ones = td.ones(2)
    assert td.ldexp(ones, 3).tolist() == [8.0, 8.0] and td.ldexp(ones, 2.5).dtype == np.float32
    np.testing.assert_array_equal(td.ldexp(ones, td.Tensor(np.array([1, 64], np.uint64))).data,
                                  [2.0, 2.0 ** 64])


def test_heaviside_takes_a_number_keeps_nan_and_has_no_gradient():
    x = td.Tensor(np.array([-2.0, -0.0, 0.0, 3.0, np.nan]), requires_grad=True)
    out = td.heaviside(x, 0.5)
    np.testing.assert_array_equal(out.data, np.heaviside(x.data, 0.5))  # NaN: NumPy's (torch 0)
    with pytest.raises(RuntimeError, match="heaviside: has no derivative"):
        out.sum().backward()
    assert td.heaviside(td.tensor([3, 0, -1]), 7).tolist() == [1, 7, 0]


def test_fmax_and_fmin_ignore_nan_and_give_ties_to_the_first_input():
    nan = np.nan
    a = td.Tensor(np.array([1.0, 2.0, nan, 3.0, nan]), requires_grad=True)
    b = td.Tensor(np.array([1.0, 1.0, 0.0, nan, nan]), requires_grad=True)
    for fn, ref in ((td.fmax, np.fmax), (td.fmin, np.fmin)):
        out = fn(a, b)
        np.testing.assert_array_equal(out.data, ref(a.data, b.data))
        ga, gb = td.grad(out.sum(), [a, b])
        first = [1.0, 1.0 if fn is td.fmax else 0.0, 0.0, 1.0, 1.0]  # ties and NaN pairs: a
        np.testing.assert_array_equal(ga.data, first)
        np.testing.assert_array_equal(gb.data, 1.0 - np.array(first))
        if torch is not None:
            ta, tb = (torch.tensor(t.data, requires_grad=True) for t in (a, b))
            tga, tgb = torch.autograd.grad(getattr(torch, fn.__name__)(ta, tb).sum(), [ta, tb])
            np.testing.assert_array_equal(ga.data, tga.numpy())
            np.testing.assert_array_equal(gb.data, tgb.numpy())


@needs_torch
def test_sgn_is_zero_at_nan_as_torch_where_sign_keeps_numpys_nan():
    values = [np.nan, -2.0, -0.0, 0.0, 5.0, np.inf]
    np.testing.assert_array_equal(td.sgn(td.tensor(values)).data,
                                  torch.sgn(torch.tensor(values)).numpy())
    assert np.isnan(td.sign(td.tensor([np.nan])).item())
    assert td.sgn(td.tensor([True, False])).dtype == np.bool_


def test_frac_fix_positive_rsub():
    x = td.Tensor(np.array([-1.75, -0.5, 0.0, 2.25, np.inf]))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(td.frac(x).data, x.data - np.trunc(x.data))
    assert td.fix is td.trunc
    np.testing.assert_array_equal(td.fix(x).data, np.fix(x.data))
    assert td.positive(x) is x and x.positive() is x
    np.testing.assert_array_equal(td.rsub(x, 1.0).data, 1.0 - x.data)


def test_sinc_second_derivative_at_zero_is_the_true_one():
    # the Taylor branch makes sinc''(0) = -pi^2 / 3 (a masked formula would give 0)
    x, v, w = np.array([0.0, 1e-9, 0.3]), np.ones(3), np.ones(3)
    g, gg = first_and_second_derivatives(td.sinc, x, v, w, "td")
    np.testing.assert_allclose(g, [0.0, -math.pi ** 2 / 3 * 1e-9, _sinc_slope(0.3)], rtol=1e-13)
    np.testing.assert_allclose(gg[:2], -math.pi ** 2 / 3, rtol=1e-12)


def _sinc_slope(x):
    t = math.pi * x
    return (math.cos(t) - math.sin(t) / t) / x


def test_mvlgamma_is_a_sum_of_lgammas():
    x = td.Tensor(np.array([2.5, 4.0]), requires_grad=True)
    out = td.mvlgamma(x, 4)
    np.testing.assert_allclose(out.data, sp.multigammaln(x.data, 4), rtol=1e-13)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, sum(sp.psi(x.data - j / 2) for j in range(4)),
                               rtol=1e-13)
    assert td.special.multigammaln is td.mvlgamma and td.special.gammaln is td.lgamma


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, message", [
    (lambda: td.polygamma(-1, td.ones(2)), RuntimeError, r"polygamma: n must be >= 0, got -1"),
    (lambda: td.polygamma(1.0, td.ones(2)), TypeError, r"polygamma: n must be an int, got 1.0"),
    (lambda: td.polygamma(True, td.ones(2)), TypeError, r"polygamma: n must be an int"),
    (lambda: td.mvlgamma(td.ones(2), 0), RuntimeError, r"mvlgamma: p must be >= 1, got 0"),
    (lambda: td.mvlgamma(td.ones(2), 2.5), TypeError, r"mvlgamma: p must be an int"),
    (lambda: td.gcd(td.ones(2), 2), TypeError, r"gcd: needs integer tensors, got float32"),
    (lambda: td.lcm(td.tensor([True]), td.tensor([1])), TypeError, r"lcm: .* got bool"),
    (lambda: td.frac(td.tensor([1, 2])), TypeError, r"frac: needs a floating-point tensor"),
    (lambda: td.positive(td.tensor([True])), TypeError, r"positive: unary \+ is not defined"),
    (lambda: td.xlogy(td.ones((2, 3)), td.ones(4)), ValueError,
     r"xlogy: shapes \(2, 3\) and \(4,\)"),
    (lambda: td.fmin(td.ones((2, 3)), td.ones(4)), ValueError, r"fmin: shapes \(2, 3\)"),
    (lambda: td.ldexp(td.ones((2, 3)), td.tensor([1, 2])), ValueError, r"ldexp: shapes"),
    (lambda: td.nextafter(td.ones((2, 3)), td.ones(4)), ValueError, r"nextafter: shapes"),
    (lambda: td.heaviside(td.ones((2, 3)), td.ones(4)), ValueError, r"heaviside: shapes"),
])
def test_bad_arguments_raise_naming_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- methods, interop
METHODS = [("erfc", ()), ("erfinv", ()), ("lgamma", ()), ("digamma", ()), ("polygamma", (2,)),
           ("mvlgamma", (2,)), ("i0", ()), ("sinc", ()), ("logit", (0.1,)), ("xlogy", (2.0,)),
           ("deg2rad", ()), ("rad2deg", ()), ("float_power", (2,)), ("fmax", (0.7,)),
           ("fmin", (0.7,)), ("ldexp", (td.tensor(3),)), ("nextafter", (0.0,)),
           ("heaviside", (td.tensor(0.5),)), ("sgn", ()), ("frac", ())]


@pytest.mark.parametrize("name, args", METHODS, ids=[m[0] for m in METHODS])
def test_methods_are_the_functions(name, args):
    data = np.array([0.6, 0.9, 1.3])
    got = getattr(td.Tensor(data), name)(*args)
    if name in ("polygamma",):
        want = td.polygamma(args[0], td.Tensor(data))
    else:
        want = getattr(td, name)(td.Tensor(data), *args)
    np.testing.assert_array_equal(got.data, want.data)
    if torch is not None and name != "heaviside":
        targs = [torch.tensor(a.data) if isinstance(a, td.Tensor) else a for a in args]
        if name in ("fmax", "fmin", "nextafter", "xlogy"):
            targs = [torch.tensor(float(args[0]), dtype=torch.float64)]
        want = getattr(torch.tensor(data), name)(*targs)
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12, err_msg=name)


def test_numpy_and_scipy_calls_on_tensors_stay_in_the_graph():
    x = td.Tensor(np.array([0.2, 0.7]), requires_grad=True)
    calls = [(np.sinc, td.sinc), (np.i0, td.i0), (sp.erfc, td.erfc), (sp.erfinv, td.erfinv),
             (sp.gammaln, td.lgamma), (sp.psi, td.digamma), (sp.i1, td.special.i1),
             (sp.ndtr, td.special.ndtr), (sp.log_ndtr, td.special.log_ndtr),
             (sp.logit, td.logit), (sp.entr, td.special.entr),
             (lambda t: sp.xlogy(t, 2.0), lambda t: td.xlogy(t, 2.0)),
             (lambda t: np.fmax(t, 0.5), lambda t: td.fmax(t, 0.5)),
             (lambda t: np.ldexp(t, 3), lambda t: td.ldexp(t, 3)),
             (lambda t: np.frexp(t)[0], lambda t: td.frexp(t)[0]),
             (lambda t: np.nextafter(t, 1.0), lambda t: td.nextafter(t, 1.0))]
    for numpy_call, tinydl_call in calls:
        out = numpy_call(x)
        assert isinstance(out, td.Tensor) and out.requires_grad
        (g,) = td.grad(out.sum(), [x])
        (want,) = td.grad(tinydl_call(x).sum(), [x])
        np.testing.assert_array_equal(out.data, tinydl_call(x).data)
        np.testing.assert_array_equal(g.data, want.data)
    np.testing.assert_array_equal(np.gcd(td.tensor([12, 18]), 8).data, [4, 2])


@needs_torch
def test_tinydl_special_names_are_torch_specials():
    import tinydl.special as special
    for name in special.__all__:
        assert hasattr(torch.special, name), name
        assert callable(getattr(special, name)), name
    assert special.psi is special.digamma is td.digamma and special.expit is td.sigmoid
    for name in ("erfcx", "ndtr", "ndtri", "log_ndtr", "i0e", "i1", "i1e", "xlog1py", "entr"):
        assert not hasattr(torch, name) and name not in td.__dict__, name  # torch.special only
