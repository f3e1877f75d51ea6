"""Special functions: the error family (erfc, erfcx, erfinv), the normal distribution (ndtr,
ndtri, log_ndtr), the gamma family (lgamma, digamma, polygamma, mvlgamma), modified Bessel
functions (i0, i1 and their scaled forms i0e, i1e), sinc, logit, xlogy, xlog1py and entr.

Forward values come from ``scipy.special`` (imported on first use: it costs 0.2 s), computed
in the input's dtype (float16 through float32, rounded once); ``sinc`` and ``logit`` are
NumPy. Integer and bool inputs become float32, as in torch. Each gradient is written in
tinydl ops, most of them through another function of this module, so every order exists:

    erfc' = -2/sqrt(pi) exp(-x^2)           erfinv' = sqrt(pi)/2 exp(erfinv(x)^2)
    erfcx' = 2x erfcx(x) - 2/sqrt(pi)        ndtr' = exp(-x^2/2) / sqrt(2 pi)
    ndtri' = sqrt(2 pi) exp(ndtri(p)^2 / 2)  log_ndtr' = sqrt(2/pi) / erfcx(-x/sqrt(2))
    lgamma' = digamma                        polygamma(n)' = polygamma(n + 1), digamma = psi^(0)
    i0' = i1      i1' = i0 - i1/x (1/2 at 0)  i0e' = i1e - sign(x) i0e
    i1e' = i0e - i1e (sign(x) + 1/x) (1/2 at 0)
    sinc' = (cos(pi x) - sinc(x)) / x (a Taylor series for |pi x| < 1/2)
    logit' = 1 / (x (1 - x))
    entr' = -(log x + 1)         xlogy: d/dx = log y (0 where x = 0 and y <= 0), d/dy = x / y

``log_ndtr``'s gradient is the ratio pdf / cdf written with erfcx, finite and exact far in
the left tail, where torch's exp(-x^2/2 - log_ndtr(x)) cancels (inf at x = -1e10; here 1e10).
``ndtr`` is SciPy's, exact in the left tail too (torch's is 0 below -8.3). sinc's gradient
near 0 comes from its Taylor series: the quotient cancels there (torch's is 0 at x = 1e-20,
and has no correct digit at 1e-8).

Values at the edges follow torch where torch and SciPy agree, and SciPy (the limits) where
torch's are artefacts: polygamma(n >= 1) at a pole (a negative integer) is +-inf, not torch's
finite 6.6e32 for polygamma(1, -1); at +inf it is 0 (torch: NaN for n >= 2). lgamma(-inf) is
+inf (torch and C's lgamma; SciPy -inf), and lgamma of a tiny subnormal is -log|x| (SciPy's
inf). The names torch keeps only in ``torch.special`` (erfcx, ndtr, ndtri, log_ndtr, i0e, i1,
i1e, xlog1py, entr) are in ``tinydl.special`` only.

This module is longer than 500 lines because it holds the whole family: 18 Functions, each a
few lines with its wrapper below it, whose gradients call one another.
"""
import functools
import math

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import ShapeError, floating, unbroadcast
from tinydl.ops.elementwise import _binary, cos, exp, log, where
from tinydl.ops.math import _needs_grad, _pair
from tinydl.tensor import Tensor

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _scipy(name, *arrays):
    """``scipy.special.<name>(*arrays)`` in the operands' dtype (SciPy has no float16 loops:
    it computes those in float32), silently: inf and NaN at poles are the answer, as torch's."""
    from scipy import special
    dtype = np.result_type(*arrays)
    with np.errstate(all="ignore"):
        out = getattr(special, name)(*arrays)
    return np.asarray(out).astype(dtype, copy=False)


def _silent(backward):
    """``backward`` without NumPy's warnings: at poles and the ends of a domain its inf and
    NaN are the answer (torch's, given silently), not an accident to report."""
    @functools.wraps(backward)
    def quiet(*args):
        with np.errstate(all="ignore"):
            return backward(*args)
    return quiet


def _piecewise(x, mask, inside, outside, stand_ins=(0.0, 1.0)):
    """``inside(s)`` where ``mask`` holds and ``outside(s)`` elsewhere (a derivative written
    by pieces), each evaluated only at its own points, ``stand_ins`` filling the others, so
    that neither piece's derivative meets 0 / 0 or an overflow it does not use (a masked-out
    piece's derivative is multiplied by 0, and 0 * inf is NaN); a piece no point needs is not
    evaluated."""
    if not mask.any():
        return outside(x)
    if mask.all():
        return inside(x)
    return where(mask, inside(where(mask, x, stand_ins[0])),
                 outside(where(mask, stand_ins[1], x)))


class _SciPyUnary(Function):
    """A function of one input whose forward is ``scipy.special.<scipy_name>``."""

    scipy_name = None

    @classmethod
    def forward(cls, ctx, x):
        return _scipy(cls.scipy_name, x)


# ----------------------------------------------------------------------------- error function
class Erfc(_SciPyUnary):
    """erfc x = 1 - erf x; dx = -g 2/sqrt(pi) exp(-x^2)."""

    scipy_name = "erfc"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g * (-2.0 / _SQRT_PI) * exp(-(x * x)),)


def erfc(x):
    """Complementary error function 1 - erf(x), accurate where erf(x) is close to 1
    (erfc(10) = 2.1e-45, where 1 - erf(10) is 0)."""
    return Erfc.apply(floating(x))


# For large x the slope 2 x erfcx(x) - 2/sqrt(pi) cancels (erfcx(x) is about 1/(x sqrt(pi))):
# its asymptotic series (2/sqrt(pi)) sum_k (-1)^k (2k-1)!! t^k, t = 1/(2x^2), k = 1..10,
# from x = 20 in float64 (5 in float32), where the terms left out are below the rounding.
_ERFCX_SLOPE = [(-1) ** k * math.prod(range(1, 2 * k, 2)) for k in range(1, 11)]
_ERFCX_SERIES_FROM = {8: 20.0, 4: 5.0, 2: 5.0}  # by the dtype's itemsize


def _erfcx_slope_far(x):
    """erfcx'(x) for large positive x from its asymptotic series (differentiable again)."""
    t = (x * x * 2.0) ** -1
    poly = _ERFCX_SLOPE[-1]
    for c in reversed(_ERFCX_SLOPE[:-1]):
        poly = poly * t + c
    return poly * t * (2.0 / _SQRT_PI)


class Erfcx(_SciPyUnary):
    """erfcx x = exp(x^2) erfc x; dx = g (2 x erfcx(x) - 2/sqrt(pi)) from the output, and
    from its asymptotic series for large x, where that difference cancels: at x = 1e8 the
    slope came out 0 (true -5.6e-17), and log_ndtr's second derivative, which goes through
    it, 0 instead of -1 in its far left tail (float32: -2.4e23 at 1e30)."""

    scipy_name = "erfcx"

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, y = ctx.inputs[0], ctx.output
        start = _ERFCX_SERIES_FROM.get(x.dtype.itemsize, 20.0)
        return (g * _piecewise(x, x.data >= start, _erfcx_slope_far,
                               lambda s: 2.0 * s * y - 2.0 / _SQRT_PI, (start, 1.0)),)


def erfcx(x):
    """Scaled complementary error function exp(x^2) erfc(x), finite where exp(x^2) overflows
    and erfc(x) underflows (about 1 / (x sqrt(pi)) for large x). ``torch.special.erfcx``."""
    return Erfcx.apply(floating(x))


class Erfinv(_SciPyUnary):
    """The inverse of erf on (-1, 1); dx = g sqrt(pi)/2 exp(y^2) from the output y."""

    scipy_name = "erfinv"
    retain_inputs = ()

    @staticmethod
    @_silent
    def backward(ctx, g):
        y = ctx.output
        return (g * (_SQRT_PI / 2.0) * exp(y * y),)


def erfinv(x):
    """Inverse error function: erf(erfinv(x)) = x for x in (-1, 1); +-inf at +-1, NaN
    beyond."""
    return Erfinv.apply(floating(x))


# ----------------------------------------------------------------------------- normal distribution
class Ndtr(_SciPyUnary):
    """Phi(x), the standard normal CDF; dx = g exp(-x^2/2) / sqrt(2 pi)."""

    scipy_name = "ndtr"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g * exp(x * x * -0.5) * (1.0 / _SQRT_2PI),)


def ndtr(x):
    """The standard normal cumulative distribution function
    Phi(x) = (1 + erf(x / sqrt(2))) / 2. ``torch.special.ndtr``."""
    return Ndtr.apply(floating(x))


class Ndtri(_SciPyUnary):
    """Phi^-1(p); dp = g sqrt(2 pi) exp(y^2 / 2) from the output y."""

    scipy_name = "ndtri"
    retain_inputs = ()

    @staticmethod
    @_silent
    def backward(ctx, g):
        y = ctx.output
        return (g * _SQRT_2PI * exp(y * y * 0.5),)


def ndtri(p):
    """The standard normal quantile function, the inverse of ``ndtr``: -inf at 0, inf at 1,
    NaN outside [0, 1]. ``torch.special.ndtri``."""
    return Ndtri.apply(floating(p))


class LogNdtr(_SciPyUnary):
    """log Phi(x); dx = g pdf(x) / Phi(x): for x <= 0 as g sqrt(2/pi) / erfcx(-x / sqrt(2)),
    an identity (Phi(x) = erfc(-x/sqrt(2)) / 2) that stays exact in the far left tail; for
    x > 0 as g pdf(x) / ndtr(x) (Phi is in [1/2, 1] there), where erfcx overflows past
    x = 37.7 and its derivative made the second derivative inf / inf = NaN. Each branch is
    evaluated only at its own points (0 and 1 stand in for the others)."""

    scipy_name = "log_ndtr"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g * _piecewise(
            x, x.data <= 0, lambda s: math.sqrt(2.0 / math.pi) / erfcx(s * -math.sqrt(0.5)),
            lambda s: exp(s * s * -0.5) * (1.0 / math.sqrt(2.0 * math.pi)) / ndtr(s)),)


def log_ndtr(x):
    """log of the standard normal CDF, accurate in both tails (log_ndtr(-40) = -804.6, where
    log(ndtr(-40)) is -inf). ``torch.special.log_ndtr``."""
    return LogNdtr.apply(floating(x))


# ----------------------------------------------------------------------------- gamma family
_SMALLEST_NORMAL = np.finfo(np.float64).tiny


class Lgamma(Function):
    """log |Gamma(x)|; dx = g digamma(x)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        out = _scipy("gammaln", x)
        if out.dtype == np.float64:
            # SciPy gives inf below about 1e-310, where lgamma(x) = -log|x| to every digit
            tiny = (np.abs(x) < _SMALLEST_NORMAL) & (x != 0)
            if tiny.any():
                out = np.where(tiny, -np.log(np.where(tiny, np.abs(x), 1.0)), out)
        return np.where(x == -np.inf, np.inf, out)  # torch's and C's; SciPy's is -inf

    @staticmethod
    @_silent
    def backward(ctx, g):
        return (g * digamma(ctx.inputs[0]),)


def lgamma(x):
    """log |Gamma(x)|, the log of the gamma function's absolute value: +inf at 0 and the
    negative integers (its poles) and at +-inf. NumPy has none; SciPy calls it ``gammaln``."""
    return Lgamma.apply(floating(x))


class Digamma(_SciPyUnary):
    """psi(x) = Gamma'(x) / Gamma(x); dx = g polygamma(1, x)."""

    scipy_name = "psi"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        return (g * polygamma(1, ctx.inputs[0]),)


def digamma(x):
    """The digamma function psi(x), the derivative of lgamma: -inf at 0 (+inf at -0.0), NaN at
    the negative integers, as torch and SciPy. ``torch.special.psi`` is the same."""
    return Digamma.apply(floating(x))


class Polygamma(Function):
    """psi^(n)(x), the n-th derivative of digamma; dx = g psi^(n+1)(x)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        if n == 0:
            return _scipy("psi", x)
        from scipy import special
        with np.errstate(all="ignore"):
            return np.asarray(special.polygamma(n, x)).astype(x.dtype, copy=False)

    @staticmethod
    @_silent
    def backward(ctx, g):
        return (g * polygamma(ctx.n + 1, ctx.inputs[0]), None)


def _order(op, value, name, least):
    """An integer argument of at least ``least`` (polygamma's n, mvlgamma's p), as torch
    checks it: a TypeError for a non-integer, a ShapeError (ValueError and RuntimeError)
    below ``least``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if value < least:
        raise ShapeError(f"{op}: {name} must be >= {least}, got {value}")
    return int(value)


def polygamma(n, x):
    """The polygamma function psi^(n)(x) = d^n/dx^n digamma(x) for an int n >= 0 (n = 0 is
    digamma); poles at 0 and the negative integers. Argument order as torch and SciPy."""
    return Polygamma.apply(floating(x), _order("polygamma", n, "n", 0))


def mvlgamma(x, p):
    """The multivariate log-gamma function of dimension p (an int >= 1):
    log Gamma_p(x) = p (p - 1) / 4 log(pi) + sum_{j<p} lgamma(x - j/2), finite for
    x > (p - 1) / 2. SciPy: ``multigammaln(x, p)``."""
    p = _order("mvlgamma", p, "p", 1)
    x = floating(x)
    total = lgamma(x)
    for j in range(1, p):
        total = total + lgamma(x - j / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi) if p > 1 else total


# ----------------------------------------------------------------------------- Bessel functions
class I0(_SciPyUnary):
    """I_0(x), the modified Bessel function of the first kind, order 0; dx = g I_1(x)."""

    scipy_name = "i0"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        return (g * i1(ctx.inputs[0]),)


def i0(x):
    """The modified Bessel function of the first kind of order 0, I_0(x) = sum_k (x^2/4)^k /
    (k!)^2, as ``np.i0``: inf past |x| = 709.8 in float64, where exp overflows (NumPy's and
    torch's too), and 91.9 in float32 (torch's: 88.7); NaN at +-inf, as both."""
    return I0.apply(floating(x))


# I_1'(x) = sum_k (2k+1) / (2^(2k+1) k! (k+1)!) x^(2k): the first ten coefficients, enough to
# rounding for |x| < 1 (the next term is below 1e-18 of the sum there).
_I1_SLOPE = [(2 * k + 1) / (2 ** (2 * k + 1) * math.factorial(k) * math.factorial(k + 1))
             for k in range(10)]


def _i1_slope_near_zero(x):
    """I_1'(x) for |x| < 1 from its series. The closed form I_0(x) - I_1(x) / x is right
    there, but its own derivative cancels: at x = 1e-20 the second derivative of i1 came out
    24576 (true: 3x/8), at 1e-310 NaN, and float32 lost 1-3% near 1e-3."""
    u = x * x
    poly = _I1_SLOPE[-1]
    for c in reversed(_I1_SLOPE[:-1]):
        poly = poly * u + c
    return poly


class I1(_SciPyUnary):
    """I_1(x); dx = g (I_0(x) - I_1(x) / x), from its series where |x| < 1 (g / 2 at 0)."""

    scipy_name = "i1"

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, y = ctx.inputs[0], ctx.output
        return (g * _piecewise(x, np.abs(x.data) < 1, _i1_slope_near_zero,
                               lambda s: i0(s) - y / s),)


def i1(x):
    """The modified Bessel function of the first kind of order 1. ``torch.special.i1``."""
    return I1.apply(floating(x))


class I0e(_SciPyUnary):
    """exp(-|x|) I_0(x); dx = g (i1e(x) - sign(x) i0e(x)) from the output."""

    scipy_name = "i0e"

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, y = ctx.inputs[0], ctx.output
        sign = Tensor._wrap(np.sign(x.data))
        return (g * (i1e(x) - sign * y),)


def i0e(x):
    """exp(-|x|) I_0(x), finite where I_0 overflows. ``torch.special.i0e``."""
    return I0e.apply(floating(x))


class I1e(_SciPyUnary):
    """exp(-|x|) I_1(x); dx = g (i0e(x) - i1e(x) (sign(x) + 1/x)), and where |x| < 1
    g (exp(-|x|) I_1'(x) - sign(x) i1e(x)) with I_1' from its series (g / 2 at 0)."""

    scipy_name = "i1e"

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, y = ctx.inputs[0], ctx.output
        sign = Tensor._wrap(np.sign(x.data))

        def near_zero(s):
            return exp(s * -sign) * _i1_slope_near_zero(s) - y * sign

        # (y / s, not y (1 / s): 1 / s overflows at subnormal s, where y / s is 1/2)
        return (g * _piecewise(x, np.abs(x.data) < 1, near_zero,
                               lambda s: i0e(s) - y * sign - y / s),)


def i1e(x):
    """exp(-|x|) I_1(x). ``torch.special.i1e``."""
    return I1e.apply(floating(x))


# ----------------------------------------------------------------------------- sinc, logit
# sinc'(x) = pi f(t) / t with t = pi x and f(t) = cos t - sin(t) / t
# = sum_k (-1)^k 2k / (2k+1)! t^(2k): these are its first six coefficients.
_SINC_SLOPE = [(-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 7)]


def _sinc_slope_near_zero(x):
    """sinc'(x) for |pi x| < 1/2 from its Taylor series (exact to rounding there), where
    (cos(pi x) - sinc(x)) / x cancels: at x = 1e-8 it kept no correct digit (torch's
    neither), at 1e-3 in float32 two."""
    t = x * math.pi
    u = t * t
    poly = _SINC_SLOPE[-1]
    for c in reversed(_SINC_SLOPE[:-1]):
        poly = poly * u + c
    return t * poly * math.pi


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0; dx = g (cos(pi x) - y) / x from the output y, and from
    its Taylor series where |pi x| < 1/2 (0 at 0, and there the series' second derivative
    -pi^2 / 3 is the true one)."""

    @staticmethod
    def forward(ctx, x):
        wide = x.astype(np.float32) if x.dtype == np.float16 else x
        with np.errstate(all="ignore"):
            t = wide * np.pi
            out = np.where(wide == 0, 1.0, np.sin(t) / t)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, y = ctx.inputs[0], ctx.output
        # (each piece at its own points: no 0 / 0 in the far one, and no overflow of the
        # series at large |x|, whose masked-out derivative made the second derivative NaN)
        return (g * _piecewise(x, np.abs(x.data) < 0.5 / math.pi, _sinc_slope_near_zero,
                               lambda s: (cos(s * math.pi) - y) / s),)


def sinc(x):
    """The normalised sinc function sin(pi x) / (pi x), 1 at x = 0 (with gradient 0 there),
    as ``np.sinc`` and ``torch.sinc``: zero at the nonzero integers."""
    return Sinc.apply(floating(x))


def _logit_clamp(x, eps):
    """x moved into [eps, 1 - eps] as torch's logit does: below eps first, so where
    eps > 1/2 every x not below eps becomes 1 - eps. NaN stays NaN."""
    low, high = eps, 1.0 - eps
    return np.where(x < low, low, np.where(x > high, high, x)).astype(x.dtype, copy=False)


class Logit(Function):
    """log(x / (1 - x)), x clamped to [eps, 1 - eps] first when eps is given;
    dx = g / (x (1 - x)), and 0 where the clamp moved x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, eps=None):
        ctx.eps = eps
        if eps is not None:
            x = _logit_clamp(x, eps)
        with np.errstate(all="ignore"):
            return np.log(x / (1.0 - x))

    @staticmethod
    @_silent
    def backward(ctx, g):
        x, eps = ctx.inputs[0], ctx.eps
        data = x.data
        # Outside [0, 1] the gradient is NaN (torch's); outside [eps, 1 - eps] it is 0.
        low, high, fill = (0.0, 1.0, np.nan) if eps is None else (eps, 1.0 - eps, 0.0)
        outside = (data < low) | (data > high)
        inside = where(outside, 0.5, x) if outside.any() else x  # (no 1 / 0 left unused)
        grad = g / (inside * (1.0 - inside) + 0.0)  # (+ 0: -0.0 gives +inf, as torch)
        return (where(outside, fill, grad) if outside.any() else grad,)


def logit(x, eps=None):
    """The log-odds log(x / (1 - x)), the inverse of sigmoid: -inf at 0, inf at 1, NaN
    outside [0, 1]. With ``eps`` (torch's argument), x is first clamped to [eps, 1 - eps],
    and the gradient is 0 where the clamp moved it; a negative eps clamps nothing, as in
    torch (it clamped to [eps, 1 - eps]: finite gradients where the output is NaN)."""
    if eps is not None:
        eps = float(eps)
        if eps < 0:
            eps = None
    return Logit.apply(floating(x), eps=eps)


# ----------------------------------------------------------------------------- x log y
class _XLog(Function):
    """x log(y) (``log1p = False``) or x log(1 + y), 0 where x == 0 unless y is NaN;
    dx = xlogy(g, y) (or xlog1py(g, y)), 0 where x == 0 and y is at or below the log's pole,
    dy = g x / y (or g x / (1 + y)): torch's rules."""

    retain_output = False
    scipy_name = None
    log1p = False
    pole = 0.0  # log(y) is finite above it

    @classmethod
    def forward(cls, ctx, x, y):
        return _binary(cls.scipy_name, lambda a, b: _scipy(cls.scipy_name, a, b), x, y)

    @classmethod
    @_silent
    def backward(cls, ctx, g):
        x, y = ctx.inputs
        gx = gy = None
        if _needs_grad(x):
            gx = (xlog1py if cls.log1p else xlogy)(g, y)
            y_data = y.data if isinstance(y, Tensor) else y
            cut = (x.data == 0) & (y_data <= cls.pole)
            if cut.any():
                gx = where(cut, 0.0, gx)
            gx = unbroadcast(gx, x.shape)
        if _needs_grad(y):
            gy = unbroadcast(g * x / ((1.0 + y) if cls.log1p else y), y.shape)
        return gx, gy


class XLogY(_XLog):
    scipy_name = "xlogy"


class XLog1pY(_XLog):
    scipy_name = "xlog1py"
    log1p = True
    pole = -1.0


def xlogy(x, y):
    """x * log(y), and 0 where x == 0 (even where y is 0 or inf; NaN where y is NaN), as
    torch and SciPy: the term of an entropy or a log-likelihood at a zero weight. Either may
    be a number; broadcasts."""
    return XLogY.apply(*_pair(x, y))


def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (NaN where y is NaN). ``torch.special.xlog1py``."""
    return XLog1pY.apply(*_pair(x, y))


class Entr(_SciPyUnary):
    """-x log x (0 at 0, -inf below); dx = -g (log x + 1)."""

    scipy_name = "entr"
    retain_output = False

    @staticmethod
    @_silent
    def backward(ctx, g):
        return (-(g * (log(ctx.inputs[0]) + 1.0)),)  # inf at 0, NaN below: torch's


def entr(x):
    """The elementwise entropy -x log(x): 0 at 0, -inf for x < 0. ``torch.special.entr``."""
    return Entr.apply(floating(x))


# SciPy's and torch.special's names.
psi = digamma
gammaln = lgamma
multigammaln = mvlgamma
