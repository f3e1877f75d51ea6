"""Special functions at extreme inputs (poles, domain ends, 0, -0, subnormals, huge values, inf,
NaN): values and gradients against torch where torch is right, and against closed forms
where torch 2.13 is not (each such case names torch's value in a comment)."""
import math

import numpy as np
import pytest
import scipy.special as sp

import tinydl as td
from tests.ops._table import torch

inf, nan = np.inf, np.nan
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")

WIDE = [0.0, -0.0, 1e-300, -1e-300, 1e-310, 0.5, -0.5, 1.0, -2.5, 30.0, -30.0, 1e10, -1e10,
        1e300, -1e300, inf, -inf, nan]
UNIT = [0.0, 1e-30, 0.5, 1 - 1e-7, 1.0, -1.0, 1.5, inf, -inf, nan]

# name -> inputs where tinydl and torch agree on value and gradient (torch's artefacts are
# left out here and pinned to the truth below)
EDGES = {
    "erfc": WIDE,
    "special.erfcx": [v for v in WIDE if v not in (1e10, 1e300, inf)],  # (torch's slope
    # cancels to 0 there, NaN at inf: test_erfcx_slope_and_log_ndtr_curvature_far_out)
    "erfinv": [-1.0, 1.0, 0.0, 0.5, 1 - 1e-16, -2.0, 2.0, nan],
    "special.ndtr": [0.0, 2.5, -2.5, -3.0, 40.0, 1e300, inf, -inf, nan],
    "special.ndtri": [0.0, 1.0, 0.5, 1e-300, 1 - 1e-16, -1.0, 2.0, nan],
    "special.log_ndtr": [0.0, 2.5, -2.5, 40.0, -30.0, -40.0, 1e300, inf, nan],
    "lgamma": WIDE + [-1.0, -2.0, -1e-310, 2.0],
    "digamma": [0.0, -0.0, 1e-300, -1e-300, 1e-310, 0.5, -2.5, 30.0, 1e10, 1e300, inf, nan],
    "i0": WIDE,
    "special.i0e": WIDE,
    "special.i1": WIDE[:-1],  # (torch's gradient at NaN is 0.5)
    "special.i1e": [v for v in WIDE[:-1] if abs(v) != 1e10],  # (both cancel there, 4e-7)
    "sinc": [0.0, -0.0, 0.5, -2.5, 1.0, 30.0, 1e10, inf, -inf, nan, 1e-3, 0.2],
    "logit": UNIT,
    "special.entr": WIDE,
    "frac": WIDE,
    "deg2rad": WIDE,
    "rad2deg": WIDE,
}


def _tinydl_fn(name):
    module, _, short = name.rpartition(".")
    return getattr(td.special if module else td, short)


def _torch_fn(name):
    module, _, short = name.rpartition(".")
    return getattr(torch.special if module else torch, short)


def _value_and_gradient(fn, values, lib):
    if lib == "torch":
        x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        y = fn(x)
        (g,) = torch.autograd.grad(y, [x], torch.ones_like(y))
        return y.detach().numpy(), g.numpy()
    x = td.Tensor(np.array(values), requires_grad=True)
    y = fn(x)
    (g,) = td.grad(y, [x], grad_outputs=td.ones_like(y))
    return y.data, g.data


@needs_torch
@pytest.mark.parametrize("name", sorted(EDGES))
def test_values_and_gradients_at_extreme_inputs_match_torch(name):
    y, g = _value_and_gradient(_tinydl_fn(name), EDGES[name], "td")
    ty, tg = _value_and_gradient(_torch_fn(name), EDGES[name], "torch")
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=0, err_msg=name)
    np.testing.assert_allclose(g, tg, rtol=1e-9, atol=0, err_msg=f"{name} gradient")


@needs_torch
@pytest.mark.parametrize("eps", [1e-6, 0.25, 0.6])
def test_logit_with_eps_matches_torch_also_when_eps_exceeds_one_half(eps):
    values = UNIT + [1e-6, 0.25, 0.75]
    fn = (lambda x: td.logit(x, eps=eps)), (lambda x: torch.logit(x, eps=eps))
    y, g = _value_and_gradient(fn[0], values, "td")
    ty, tg = _value_and_gradient(fn[1], values, "torch")
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=0)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=0)


X_LOG = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, nan, 2.0, 0.0, -1.0, 3.0, -0.0]
Y_LOG = [0.0, inf, nan, -1.0, 0.0, -1.0, 1.0, nan, 2.0, 0.5, -inf, 0.0]


@needs_torch
@pytest.mark.parametrize("name, shift", [("xlogy", 0.0), ("special.xlog1py", -1.0)])
def test_xlogy_at_zero_x_and_at_y_zero_inf_nan_matches_torch(name, shift):
    xs, ys = np.array(X_LOG), np.array(Y_LOG) + shift
    x, y = td.Tensor(xs, requires_grad=True), td.Tensor(ys, requires_grad=True)
    out = _tinydl_fn(name)(x, y)
    gx, gy = td.grad(out, [x, y], grad_outputs=td.ones_like(out))
    tx, ty = (torch.tensor(v, requires_grad=True) for v in (xs, ys))
    t_out = _torch_fn(name)(tx, ty)
    tgx, tgy = torch.autograd.grad(t_out, [tx, ty], torch.ones_like(t_out))
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    np.testing.assert_array_equal(gx.data, tgx.numpy())  # log y, but 0 at x = 0, y <= pole
    np.testing.assert_array_equal(gy.data, tgy.numpy())


@needs_torch
def test_nextafter_and_ldexp_at_the_ends_match_torch():
    a = np.array([1.0, 0.0, -0.0, inf, -inf, nan, 1.0, 5e-324])
    b = np.array([2.0, -1.0, 1.0, 0.0, inf, 1.0, nan, 0.0])
    got = td.nextafter(td.Tensor(a), td.Tensor(b)).data
    np.testing.assert_array_equal(got, torch.nextafter(torch.tensor(a), torch.tensor(b)).numpy())
    e = np.array([1.0, 1.0, -1.0, 2.5, -inf, inf, 0.0, 3.0])
    got = td.ldexp(td.Tensor(a), td.Tensor(e)).data
    with np.errstate(invalid="ignore"):
        want = torch.ldexp(torch.tensor(a), torch.tensor(e)).numpy()
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- torch is off
def _grad(fn, values):
    return _value_and_gradient(fn, values, "td")


def test_ndtr_keeps_the_left_tail():
    # torch: 1.3e-10 off at -6, 1.9% at -8, 0 below about -8.3 (1 + erf(x / sqrt 2) cancels);
    # erfc keeps the tail
    x = np.array([-6.0, -8.0, -10.0, -30.0, -38.0])
    np.testing.assert_allclose(td.special.ndtr(td.Tensor(x)).data, sp.erfc(-x / np.sqrt(2)) / 2,
                               rtol=1e-12)


def test_log_ndtr_gradient_stays_finite_far_in_the_left_tail():
    # pdf / cdf -> -x (1 - 1/x^2 + 3/x^4 ...); torch's exp(-x^2/2 - log_ndtr(x)) cancels:
    # inf at -1e10, NaN at -1e300 and -inf
    x = np.array([-1e3, -1e10, -1e300])
    _, g = _grad(td.special.log_ndtr, x)
    r = 1 / x
    np.testing.assert_allclose(g, -x * (1 + r ** 2 - 2 * r ** 4 + 10 * r ** 6), rtol=1e-12)
    _, g = _grad(td.special.log_ndtr, [-inf, inf])
    assert g.tolist() == [inf, 0.0]


def test_sinc_gradient_is_exact_near_zero():
    # sinc'(x) = -pi^2 x / 3 (1 - pi^2 x^2 / 10 + ...); (cos(pi x) - sinc x) / x cancels
    # (torch: 0 at 1e-20 and 1e-5 in float32, -2.1e-8 at 1e-8, -0.003335 at 1e-3 in float32)
    for dtype, x in ((np.float64, [1e-300, 1e-20, 1e-8, -1e-5]),
                     (np.float32, [1e-20, 1e-8, 1e-5, 1e-3])):
        xs = np.array(x, dtype).astype(np.float64)
        want = -math.pi ** 2 * xs / 3 * (1 - math.pi ** 2 * xs ** 2 / 10)
        x = td.Tensor(np.array(x, dtype), requires_grad=True)
        td.sinc(x).sum().backward()
        np.testing.assert_allclose(x.grad.data, want, rtol=1e-14 if dtype == np.float64 else 1e-6)


def test_polygamma_at_its_poles_and_at_infinity():
    # a pole of every psi^(n): inf (torch: 6.6e32 for polygamma(1, -1), 1.2e1 at -1e300)
    _, g = _grad(td.digamma, [-1.0, -2.0, -30.0, -1e10])
    assert np.all(g == inf)
    for n in (1, 2, 3):
        y = td.polygamma(n, td.Tensor(np.array([-1.0, -3.0]))).data
        assert np.all(np.isinf(y)), n
        # the limit at +inf is 0 (torch: NaN for n >= 2)
        assert td.polygamma(n, td.Tensor(np.array([inf]))).item() == 0.0, n


def test_lgamma_at_tiny_and_infinite_inputs():
    # SciPy gives inf below about 1e-310 (lgamma is -log|x| there) and -inf at -inf (torch and
    # C: +inf)
    x = np.array([1e-310, -1e-310, 5e-324])
    np.testing.assert_allclose(td.lgamma(td.Tensor(x)).data, -np.log(np.abs(x)), rtol=1e-15)
    assert td.lgamma(td.Tensor(np.array([-inf, inf]))).tolist() == [inf, inf]


def test_bessel_gradients_at_zero_and_subnormal_inputs():
    # i1' = i0 - i1 / x and i1e' = i0e - i1e (sign x + 1/x) are 1/2 at 0; at subnormal x the
    # ratio i1(x) / x is taken as one (1 / x overflows)
    for fn in (td.special.i1, td.special.i1e):
        _, g = _grad(fn, [0.0, -0.0, 1e-310, -1e-310])
        np.testing.assert_allclose(g, 0.5, rtol=1e-13, err_msg=fn.__name__)  # (subnormal)
    _, g = _grad(td.special.i0e, [0.0])
    assert g.tolist() == [0.0]


def test_logit_gradient_at_negative_zero_is_plus_inf_as_torch():
    x = td.tensor(np.array([-0.0, 0.0]), requires_grad=True)
    td.logit(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, np.inf])


def _second(fn, xs, dtype=np.float64):
    """(f', f'') of fn at xs through tinydl.grad with create_graph, elementwise."""
    x = td.Tensor(np.array(xs, dtype), requires_grad=True)
    (g,) = td.grad(fn(x).sum(), [x], create_graph=True)
    (h,) = td.grad(g.sum(), [x])
    return g.numpy(), h.numpy()


def test_log_ndtr_second_derivative_is_finite_in_the_right_tail():
    """f' = r = pdf/Phi, f'' = -x r - r^2. The gradient was sqrt(2/pi) / erfcx(-x/sqrt 2),
    whose erfcx overflows past x = 37.7 (13.2 in float32): f'' came out inf / inf = NaN."""
    xs = np.array([-40.0, -1.0, 0.0, 2.0, 5.0, 30.0, 50.0, 1e10])
    with np.errstate(invalid="ignore"):  # 0 / 0 at -40, set below from erfcx
        r = np.exp(-xs ** 2 / 2) / math.sqrt(2 * math.pi) / sp.ndtr(xs)
    r[0] = math.sqrt(2 / math.pi) / sp.erfcx(40 / math.sqrt(2))
    g, h = _second(td.special.log_ndtr, xs)
    np.testing.assert_allclose(g, r, rtol=1e-13)
    np.testing.assert_allclose(h, -xs * r - r * r, rtol=1e-12, atol=1e-300)
    g32, h32 = _second(td.special.log_ndtr, [13.0, 13.2, 20.0, 40.0], np.float32)
    assert np.isfinite(h32).all() and np.isfinite(g32).all()


@pytest.mark.parametrize("name", ["i1", "i1e"])
def test_i1_second_derivative_near_zero_has_no_cancellation(name):
    """The slope I_0 - I_1/x is right near 0 but its own derivative cancels: at x = 1e-20
    i1'' came out 24576 (true 3x/8), at 1e-310 NaN; i1e'' 24575 (true -1 from the right)."""
    xs = np.array([1e-310, 1e-20, 1e-8, 1e-3, 0.5, 0.999, 1.0, 3.0])
    g, h = _second(getattr(td.special, name), xs)
    # I_1'' = I_1' - I_1'/x + I_1/x^2 (from I_1' = I_0 - I_1/x, I_0' = I_1): exact far from 0,
    # and 3x/8 + 5x^3/96 + ... near it (its series)
    big = xs >= 0.5
    with np.errstate(all="ignore"):  # (the closed form's 0 / 0 where the series is taken)
        d1 = sp.i0(xs) - sp.i1(xs) / xs
        d2 = np.where(big, sp.i1(xs) - d1 / xs + sp.i1(xs) / xs ** 2,
                      3 * xs / 8 + 5 * xs ** 3 / 96 + 7 * xs ** 5 / 3072)
    if name == "i1e":  # e^-x (I_1'' - 2 I_1' + I_1) for x > 0
        d2 = np.exp(-xs) * (d2 - 2 * d1 + sp.i1(xs))
    np.testing.assert_allclose(h, d2, rtol=1e-12, atol=1e-320)
    x32 = np.array([1e-3, 2e-3, 3e-3], np.float32)
    _, h32 = _second(getattr(td.special, name), x32, np.float32)
    _, h64 = _second(getattr(td.special, name), x32.astype(np.float64))
    np.testing.assert_allclose(h32, h64, rtol=1e-5)


def test_sinc_second_derivative_far_from_zero_beside_a_zero():
    """Beside an element near 0 the Taylor branch was evaluated at every x: it overflowed at
    |x| = 2e4 in float32 and its masked-out derivative made sinc''(2e4) NaN."""
    _, h = _second(td.sinc, [0.0, 2e4], np.float32)
    _, alone = _second(td.sinc, [2e4], np.float32)
    np.testing.assert_allclose(h, [-math.pi ** 2 / 3, alone[0]], rtol=1e-6)


def test_erfcx_slope_and_log_ndtr_curvature_far_out():
    """erfcx'(x) = 2x erfcx(x) - 2/sqrt(pi) cancels for large x (0 at x = 1e8, true
    -1/(sqrt(pi) x^2)); log_ndtr'' goes through it and gave 0 far in its left tail, where
    it tends to -1 (float32: -2.4e23 at -1e30). The asymptotic series takes over there."""
    xs = np.array([1.0, 10.0, 19.9, 20.0, 100.0, 1e4, 1e8])
    g, h = _second(td.special.erfcx, xs)
    exact = 2 * xs * sp.erfcx(xs) - 2 / math.sqrt(math.pi)  # to 2e-13 below 20
    far = xs >= 20
    t = 1 / (2 * xs[far] ** 2)
    exact[far] = 2 / math.sqrt(math.pi) * (-t + 3 * t ** 2 - 15 * t ** 3 + 105 * t ** 4
                                           - 945 * t ** 5 + 10395 * t ** 6)
    np.testing.assert_allclose(g, exact, rtol=1e-12)
    # erfcx'' far out: the series' derivative, dt/dx = -1/x^3
    t = 1 / (2 * xs[-3:] ** 2)
    series = [(-1) ** k * math.prod(range(1, 2 * k, 2)) * k for k in range(1, 7)]
    slope_t = sum(c * t ** (k - 1) for k, c in enumerate(series, start=1))
    np.testing.assert_allclose(h[-3:], -2 / math.sqrt(math.pi) * slope_t / xs[-3:] ** 3,
                               rtol=1e-12)
    with np.errstate(invalid="ignore"):  # (the masked closed form's inf * 0 at inf)
        g_inf, _ = _second(td.special.erfcx, [np.inf])
    assert g_inf[0] == 0.0  # (torch: 2 inf * 0 - 2/sqrt(pi) = NaN)
    for dtype, points in ((np.float64, [-1e3, -1e8, -1e30]), (np.float32, [-1e3, -1e4])):
        _, h = _second(td.special.log_ndtr, points, dtype)
        np.testing.assert_allclose(h, -1.0, rtol=1e-5)
