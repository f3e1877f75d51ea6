"""Elementwise math beyond the core: trigonometric and hyperbolic functions and their inverses,
angle conversion (deg2rad, rad2deg), the log/exp family (log2, log10, log1p, exp2, expm1, and
the powers of two ldexp, frexp), powers (rsqrt, reciprocal, square, float_power), and the
binary ops arctan2, hypot, logaddexp, lerp and the NaN-ignoring fmax, fmin.

Each op is one ``Function`` with its public wrapper right below it, as in
``ops/elementwise.py``. Where the derivative is a function of the output (tan, exp2, expm1,
rsqrt, reciprocal) the op keeps its output and frees its input. Integer and bool inputs are
cast to float32 first, as torch does (``torch.tan(int_tensor)`` is float32), where NumPy would
give float64; ``square`` keeps integers integral, as both do. torch's names (``asin``,
``atan2``...) are aliases of NumPy's. The gradient formulas are torch's, written in the
overflow-free form where one exists (arcsinh's 1 / hypot(x, 1), arccosh's two square roots).

This module is longer than 500 lines because it holds the whole family: about 25 small
Functions, each with its wrapper below it, sharing ``_pair`` and ``_needs_grad``.
"""
import math
from collections import namedtuple

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import (DEFAULT_FLOAT, as_number, as_tensor, as_tensor_beside, floating,
                              promote_operands, unbroadcast)
from tinydl.ops.elementwise import (_binary, _gate, _is_integral, abs, astype, multiply,
                                    power, where)
from tinydl.tensor import Tensor


def _pair(a, b):
    """Two operands of a float-valued binary op, promoted as torch does, integers to float32.

    Two integral operands become float32 each from its own dtype: promoted together first, a
    0-d int64 -2 beside a uint8 tensor took the uint8 dtype and was 254 before the float op.
    """
    a, b = as_number(a), as_number(b)
    a, b = as_tensor_beside(a, b), as_tensor_beside(b, a)  # (a float list takes b's dtype)
    if _is_integral(a) and _is_integral(b):
        return [floating(a), floating(b)]
    return [floating(v) for v in promote_operands(a, b)]


def _needs_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


# ----------------------------------------------------------------------------- trigonometric
class Tan(Function):
    """tan x; dx = g (1 + y^2) from the output y."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.tan(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * (1.0 + y * y),)


def tan(x):
    """Tangent."""
    return Tan.apply(floating(x))


class Arcsin(Function):
    """arcsin x; dx = g / sqrt((1 - x)(1 + x)) (two factors: exact near |x| = 1)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arcsin(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g * rsqrt(1.0 - x) * rsqrt(1.0 + x),)


def arcsin(x):
    """Inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1]. torch: ``asin``."""
    return Arcsin.apply(floating(x))


class Arccos(Function):
    """arccos x; dx = -g / sqrt((1 - x)(1 + x))."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arccos(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (-g * rsqrt(1.0 - x) * rsqrt(1.0 + x),)


def arccos(x):
    """Inverse cosine, in [0, pi]; NaN outside [-1, 1]. torch: ``acos``."""
    return Arccos.apply(floating(x))


class Arctan(Function):
    """arctan x; dx = g / (1 + x^2)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arctan(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g / (1.0 + x * x),)


def arctan(x):
    """Inverse tangent, in (-pi/2, pi/2). torch: ``atan``."""
    return Arctan.apply(floating(x))


class Arctan2(Function):
    """atan2(y, x), the angle of the point (x, y); dy = g x / r^2, dx = -g y / r^2 with
    r^2 = x^2 + y^2 (0 at the origin, as torch)."""

    retain_output = False

    @staticmethod
    def forward(ctx, y, x):
        return _binary("arctan2", np.arctan2, y, x)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.inputs
        r2 = x * x + y * y
        with np.errstate(divide="ignore"):
            scale = g / r2
        if not np.all(r2.data):  # the origin: 0, not 0 * inf = NaN (torch's choice)
            scale = where(r2.data == 0, 0.0, scale)
        return (unbroadcast(scale * x, y.shape) if _needs_grad(y) else None,
                unbroadcast(-scale * y, x.shape) if _needs_grad(x) else None)


def arctan2(y, x):
    """The angle of (x, y) in [-pi, pi], quadrant-aware (NumPy's ``arctan2(x1, x2)`` with
    ``x1 = y``); broadcasts. torch: ``atan2``."""
    return Arctan2.apply(*_pair(y, x))


def deg2rad(x):
    """Degrees to radians, x pi / 180 (NumPy also calls it ``radians``)."""
    return multiply(floating(x), math.pi / 180.0)


def rad2deg(x):
    """Radians to degrees, x 180 / pi (NumPy also calls it ``degrees``)."""
    return multiply(floating(x), 180.0 / math.pi)


# ----------------------------------------------------------------------------- hyperbolic
class Sinh(Function):
    """sinh x; dx = g cosh x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.sinh(x)

    @staticmethod
    def backward(ctx, g):
        return (g * cosh(ctx.inputs[0]),)


def sinh(x):
    """Hyperbolic sine."""
    return Sinh.apply(floating(x))


class Cosh(Function):
    """cosh x; dx = g sinh x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.cosh(x)

    @staticmethod
    def backward(ctx, g):
        return (g * sinh(ctx.inputs[0]),)


def cosh(x):
    """Hyperbolic cosine."""
    return Cosh.apply(floating(x))


class Arcsinh(Function):
    """arcsinh x; dx = g / hypot(x, 1) (= g / sqrt(x^2 + 1) without overflow)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arcsinh(x)

    @staticmethod
    def backward(ctx, g):
        return (g / hypot(ctx.inputs[0], 1.0),)


def arcsinh(x):
    """Inverse hyperbolic sine. torch: ``asinh``."""
    return Arcsinh.apply(floating(x))


class Arccosh(Function):
    """arccosh x; dx = g / sqrt(x^2 - 1), as sqrt(|x| - 1) sqrt(|x| + 1): no overflow of x^2,
    and torch's value for x <= -1 too."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arccosh(x)

    @staticmethod
    def backward(ctx, g):
        size = abs(ctx.inputs[0])
        return (g * rsqrt(size - 1.0) * rsqrt(size + 1.0),)


def arccosh(x):
    """Inverse hyperbolic cosine, for x >= 1 (NaN below). torch: ``acosh``."""
    return Arccosh.apply(floating(x))


class Arctanh(Function):
    """arctanh x; dx = g / ((1 - x)(1 + x))."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.arctanh(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g / ((1.0 - x) * (1.0 + x)),)


def arctanh(x):
    """Inverse hyperbolic tangent, for |x| < 1 (+-inf at +-1, NaN beyond). torch: ``atanh``."""
    return Arctanh.apply(floating(x))


# ----------------------------------------------------------------------------- log / exp
class Log2(Function):
    """log2 x; dx = g / (x ln 2)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.log2(x)

    @staticmethod
    def backward(ctx, g):
        return (g / (ctx.inputs[0] * math.log(2.0)),)


def log2(x):
    """Base-2 logarithm (exact at powers of two)."""
    return Log2.apply(floating(x))


class Log10(Function):
    """log10 x; dx = g / (x ln 10)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.log10(x)

    @staticmethod
    def backward(ctx, g):
        return (g / (ctx.inputs[0] * math.log(10.0)),)


def log10(x):
    """Base-10 logarithm (exact at powers of ten)."""
    return Log10.apply(floating(x))


class Log1p(Function):
    """log(1 + x), accurate for tiny x; dx = g / (1 + x)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        return (g / (1.0 + ctx.inputs[0]),)


def log1p(x):
    """log(1 + x), without the cancellation of ``log(1 + x)`` for |x| << 1."""
    return Log1p.apply(floating(x))


class Exp2(Function):
    """2^x; dx = g y ln 2 from the output y."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.exp2(x)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.output * math.log(2.0),)


def exp2(x):
    """2 ** x (exact at integers)."""
    return Exp2.apply(floating(x))


class Expm1(Function):
    """e^x - 1, accurate for tiny x; dx = g (y + 1) from the output y."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.expm1(x)

    @staticmethod
    def backward(ctx, g):
        return (g * (ctx.output + 1.0),)


def expm1(x):
    """e^x - 1, without the cancellation of ``exp(x) - 1`` for |x| << 1."""
    return Expm1.apply(floating(x))


class Ldexp(Function):
    """x 2^e; dx = g 2^e (as ldexp(g, e): exact), de = g y ln 2 from the output y."""

    @staticmethod
    def forward(ctx, x, e):
        # (inf past the range, NaN for inf * 2^-inf: torch's values, given silently)
        with np.errstate(over="ignore", invalid="ignore"):
            kind = np.asarray(e).dtype.kind
            if kind in "iub":
                if kind != "i":  # (np.ldexp has loops for signed exponents only)
                    e = np.asarray(e).astype(np.int64)
                return _binary("ldexp", np.ldexp, x, e)  # exact, also where 2^e overflows
            # (a Python float exponent gives a Python float power: it keeps x's dtype)
            power_of_two = np.exp2(e) if isinstance(e, np.ndarray) else float(np.exp2(e))
            return _binary("ldexp", np.multiply, x, power_of_two)

    @staticmethod
    def backward(ctx, g):
        x, e = ctx.inputs
        return (unbroadcast(ldexp(g, e), x.shape) if _needs_grad(x) else None,
                unbroadcast(g * ctx.output * math.log(2.0), e.shape) if _needs_grad(e) else None)


def ldexp(x, e):
    """x * 2**e, exact for integer exponents (NumPy's ``ldexp(x1, x2)``, torch's
    ``ldexp(input, other)``). As torch, ``e`` may also be floating (then it gets a gradient,
    x 2^e ln 2, and the result its dtype's promotion with x); integer ``x`` gives float32.
    Broadcasts."""
    x = as_tensor(as_number(x))
    e = as_tensor(as_number(e))
    if not isinstance(x, Tensor):  # a number: float32, torch's default
        x = Tensor._wrap(np.asarray(x, DEFAULT_FLOAT))
    if np.asarray(e.data if isinstance(e, Tensor) else e).dtype.kind in "iub":
        return Ldexp.apply(floating(x), e)
    return Ldexp.apply(*_pair(x, e))


FrexpResult = namedtuple("FrexpResult", ["mantissa", "exponent"])


def frexp(x):
    """x = mantissa * 2**exponent with 0.5 <= |mantissa| < 1 (0, inf and NaN are their own
    mantissa, exponent 0): a named tuple ``(mantissa, exponent)``, the exponent int32 outside
    the graph, as NumPy's and torch's. The mantissa is differentiable (d/dx = 2^-exponent).
    Subnormal inputs get NumPy's exact split (torch 2.13 gives 0 and 0). Integer input
    becomes float32 first (torch refuses it)."""
    x = floating(as_tensor(as_number(x)))
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(x, DEFAULT_FLOAT))
    exponent = np.asarray(np.frexp(x.data)[1], np.int32)
    return FrexpResult(ldexp(x, -exponent), Tensor._wrap(exponent))


# ----------------------------------------------------------------------------- powers
class Rsqrt(Function):
    """1 / sqrt(x); dx = -g y^3 / 2 from the output y."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore"):  # rsqrt(0) = inf, as torch
            return np.reciprocal(np.sqrt(x))

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * (y * y * y) * -0.5,)


def rsqrt(x):
    """1 / sqrt(x) (inf at 0, NaN below). torch's name; NumPy has none."""
    return Rsqrt.apply(floating(x))


class Reciprocal(Function):
    """1 / x; dx = -g y^2 from the output y."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore"):  # 1 / 0 = inf, as torch
            return np.reciprocal(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (-g * (y * y),)


def reciprocal(x):
    """1 / x; integers give float32 (torch), not NumPy's integer 1 // x."""
    return Reciprocal.apply(floating(x))


class Square(Function):
    """x^2; dx = 2 g x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.square(x)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.inputs[0] * 2.0,)


def square(x):
    """x * x; integer tensors stay integral (NumPy and torch), a bool tensor gives int64 as
    torch's (NumPy's int8 wrapped nothing here, but differed from ``x ** 2``)."""
    x = as_tensor(x)
    if isinstance(x, Tensor) and x.data.dtype == np.bool_:
        x = Tensor._wrap(x.data.astype(np.int64))
    return Square.apply(x)


def float_power(a, b):
    """a ** b computed in float64 whatever the inputs' dtypes, as NumPy's and torch's
    ``float_power``; the gradients come back in each input's own dtype."""
    a, b = (as_number(v) for v in (a, b))
    a, b = (Tensor._wrap(np.asarray(v, np.float64)) if isinstance(v, (list, tuple))
            else as_tensor(v) for v in (a, b))  # (a list in float64 too, not float32 first)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor._wrap(np.asarray(a, np.float64))
    return power(*(astype(v, np.float64) if isinstance(v, Tensor) else float(v)
                   for v in (a, b)))


# ----------------------------------------------------------------------------- binary
class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow; da = g a / y, db = g b / y (NaN at a = b = 0, as
    torch). Taken as (a / y) g, a ratio within [-1, 1]: g / y first overflows to inf at
    subnormal y (a = 1e-40 in float32 gave the gradient inf, b's NaN; torch 1 and 0)."""

    @staticmethod
    def forward(ctx, a, b):
        return _binary("hypot", np.hypot, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        y = ctx.output
        return (unbroadcast(a / y * g, a.shape) if _needs_grad(a) else None,
                unbroadcast(b / y * g, b.shape) if _needs_grad(b) else None)


def hypot(a, b):
    """sqrt(a^2 + b^2), the length of the hypotenuse, computed without overflow; broadcasts."""
    return Hypot.apply(*_pair(a, b))


class LogAddExp(Function):
    """log(exp(a) + exp(b)) without overflow; da = g sigmoid(a - b), db = g sigmoid(b - a)."""

    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        return _binary("logaddexp", np.logaddexp, a, b)

    @staticmethod
    def backward(ctx, g):
        from tinydl.ops.activation import sigmoid
        a, b = ctx.inputs
        da = sigmoid(a - b)  # the weight of a: exp(a) / (exp(a) + exp(b))
        return (unbroadcast(g * da, a.shape) if _needs_grad(a) else None,
                unbroadcast(g * (1.0 - da), b.shape) if _needs_grad(b) else None)


def logaddexp(a, b):
    """log(exp(a) + exp(b)), computed without overflow (``np.logaddexp``, ``torch.logaddexp``)."""
    return LogAddExp.apply(*_pair(a, b))


def logaddexp2(a, b):
    """log2(2**a + 2**b) (``np.logaddexp2``): ``logaddexp`` in base 2."""
    ln2 = math.log(2.0)
    a, b = _pair(a, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        # promoted first: float32 a * ln2 in float32 held float64's result to float32's digits
        common = np.result_type(a.dtype, b.dtype)
        a, b = (v if v.dtype == common else v.astype(common) for v in (a, b))
    return logaddexp(a * ln2, b * ln2) * (1.0 / ln2)


class Lerp(Function):
    """start + w (end - start); d start = g (1 - w), d end = g w, d w = g (end - start)."""

    retain_output = False

    @staticmethod
    def forward(ctx, start, end, weight):
        step = end - start
        # torch's two-sided form: exact at weight 0 and at weight 1.
        return np.where(np.abs(weight) < 0.5, start + weight * step,
                        end - step * (1.0 - weight))

    @staticmethod
    def backward(ctx, g):
        start, end, weight = ctx.inputs
        return (unbroadcast(g * (1.0 - weight), start.shape) if _needs_grad(start) else None,
                unbroadcast(g * weight, end.shape) if _needs_grad(end) else None,
                unbroadcast(g * (end - start), weight.shape) if _needs_grad(weight) else None)


def lerp(start, end, weight):
    """Linear interpolation ``start + weight * (end - start)`` (torch.lerp), exact at weight 0
    and 1; all three broadcast, and ``weight`` (a number or a Tensor) gets a gradient too."""
    start, end = _pair(start, end)
    weight = floating(as_tensor_beside(as_number(weight), start))
    if (isinstance(weight, Tensor) and isinstance(start, Tensor) and weight.ndim == 0 < start.ndim
            and start.dtype.kind == "f"
            and weight.dtype != start.dtype):  # torch's 0-d rule: a float64 0-d weight
        weight = weight.astype(start.dtype)  # made a float32 lerp float64
    try:
        np.broadcast_shapes(*(np.shape(v.data if isinstance(v, Tensor) else v)
                              for v in (start, end, weight)))
    except ValueError:
        shapes = [v.shape if isinstance(v, Tensor) else () for v in (start, end, weight)]
        raise ValueError(f"lerp: shapes {shapes[0]} (start), {shapes[1]} (end) and "
                         f"{shapes[2]} (weight) cannot be broadcast together") from None
    return Lerp.apply(start, end, weight)


class _NanLosingExtremum(Function):
    """fmax / fmin: NumPy's maximum / minimum where a NaN loses to a number. The gradient goes
    whole to the input chosen: to the first on ties and where both are NaN (torch's rule;
    ``maximum`` splits ties)."""

    retain_output = False
    select = first_wins = None

    @classmethod
    def forward(cls, ctx, a, b):
        return _binary(cls.__name__.lower(), cls.select, a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.inputs
        a_data, b_data = (v.data if isinstance(v, Tensor) else v for v in (a, b))
        first = np.broadcast_to(cls.first_wins(a_data, b_data) | np.isnan(b_data), g.shape)
        return (unbroadcast(_gate(g, first), a.shape) if _needs_grad(a) else None,
                unbroadcast(_gate(g, first, keep=False), b.shape) if _needs_grad(b) else None)


class Fmax(_NanLosingExtremum):
    """max(a, b), ignoring a NaN; a gets g where a >= b or b is NaN, b elsewhere."""

    select = staticmethod(np.fmax)
    first_wins = staticmethod(np.greater_equal)


def fmax(a, b):
    """Elementwise maximum ignoring NaN: the number where one input is NaN, NaN only where
    both are (``np.fmax``, ``torch.fmax``); ``maximum`` propagates NaN instead. Broadcasts;
    integers stay integral."""
    return Fmax.apply(*promote_operands(a, b))


class Fmin(_NanLosingExtremum):
    """min(a, b), ignoring a NaN; a gets g where a <= b or b is NaN, b elsewhere."""

    select = staticmethod(np.fmin)
    first_wins = staticmethod(np.less_equal)


def fmin(a, b):
    """Elementwise minimum ignoring NaN (``np.fmin``, ``torch.fmin``); see ``fmax``."""
    return Fmin.apply(*promote_operands(a, b))


# torch's names.
asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
asinh, acosh, atanh = arcsinh, arccosh, arctanh

