"""Piecewise ops: sign, sgn, floor, ceil, round, trunc (fix), frac, copysign, the division
remainders fmod, remainder and floor_divide, the step heaviside and nextafter.

Their gradients follow torch's conventions. sign, floor, ceil, round and trunc are constant
between their jumps, so their gradient is zero everywhere (torch's choice, also at the jumps);
so is floor_divide's (torch defines none). fmod and remainder are ``a - q b`` with the quotient
``q`` constant between jumps: d/da = 1, d/db = -q, with ``q = trunc(a / b)`` for fmod and
``floor(a / b)`` for remainder. copysign passes the gradient to its first input with the sign
it flipped, and none to the second. frac (x - trunc x) passes the gradient unchanged;
nextafter passes it to its first input and none to the second, as torch; heaviside has none
(backward through it raises, as torch's).

Integer tensors stay integral (floor of an integer is itself), as in NumPy and torch; an
integer division by zero raises, as torch does, where NumPy would warn and return 0.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import DtypeError, as_tensor, promote_operands, unbroadcast
from tinydl.ops.elementwise import _binary, _sgn, where
from tinydl.ops.math import _needs_grad, _pair
from tinydl.tensor import Tensor


def _zeros(x):
    """The zero gradient of a piecewise-constant op's input ``x`` (None for a number)."""
    if not _needs_grad(x):
        return None
    return Tensor._wrap(np.zeros(x.shape, x.dtype))


def _is_integral(x):
    return np.asarray(x).dtype.kind in "iub"


# ----------------------------------------------------------------------------- rounding
class _Stepwise(Function):
    """Shared rule of the rounding ops: ``rule`` on floats, integers unchanged, zero gradient."""

    retain_inputs = ()
    retain_output = False
    rule = None

    @classmethod
    def forward(cls, ctx, x):
        if _is_integral(x):
            return np.array(x)  # a copy
        return cls.rule(x)

    @staticmethod
    def backward(ctx, g):
        return (Tensor._wrap(np.zeros(g.shape, g.dtype)),)


class Floor(_Stepwise):
    """The largest integer <= x; zero gradient."""

    rule = staticmethod(np.floor)


def floor(x):
    """Round down to an integer value (same dtype); its gradient is zero, as torch's."""
    return Floor.apply(as_tensor(x))


class Ceil(_Stepwise):
    """The smallest integer >= x; zero gradient."""

    rule = staticmethod(np.ceil)


def ceil(x):
    """Round up to an integer value (same dtype); its gradient is zero, as torch's."""
    return Ceil.apply(as_tensor(x))


class Trunc(_Stepwise):
    """x rounded towards zero; zero gradient."""

    rule = staticmethod(np.trunc)


def trunc(x):
    """Round towards zero to an integer value (same dtype); zero gradient, as torch's.
    torch also calls it ``fix``."""
    return Trunc.apply(as_tensor(x))


fix = trunc  # NumPy's and torch's other name


class Frac(Function):
    """x - trunc(x); dx = g (trunc's gradient is zero)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, as torch
            return x - np.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return (g,)


def frac(x):
    """The fractional part x - trunc(x), with the sign of x (frac(-1.5) = -0.5; NaN at +-inf);
    gradient 1, as torch. Floating tensors only (torch refuses integers)."""
    x = as_tensor(x)
    if _is_integral(x.data if isinstance(x, Tensor) else x):
        raise DtypeError(f"frac: needs a floating-point tensor, got {np.asarray(_data(x)).dtype}"
                         " (the fractional part of an integer is 0)")
    return Frac.apply(x)


class Round(_Stepwise):
    """x rounded to ``decimals`` places, ties to even; zero gradient."""

    @staticmethod
    def forward(ctx, x, decimals=0):
        if np.asarray(x).dtype == np.bool_:  # NumPy's round of bools is float16
            return np.array(x)
        # np.round also rounds integers to negative decimals (1234 -> 1200).
        return np.round(x, decimals)


def round(x, decimals=0):  # noqa: A001 (NumPy's name)
    """Round to ``decimals`` decimal places, halves to the even neighbour (NumPy's and torch's
    rule: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2); negative ``decimals`` round to tens, hundreds...
    Zero gradient, as torch's."""
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return Round.apply(as_tensor(x), decimals=int(decimals))


class Sign(_Stepwise):
    """-1, 0 or 1 by the sign of x (NaN stays NaN); zero gradient."""

    @staticmethod
    def forward(ctx, x):
        if np.asarray(x).dtype == np.bool_:  # NumPy refuses bools; torch gives them back
            return np.array(x)
        return np.sign(x)


def sign(x):
    """-1 where x < 0, 0 where x == 0, 1 where x > 0 (same dtype); zero gradient, as torch's."""
    return Sign.apply(as_tensor(x))


class Sgn(_Stepwise):
    """torch's sign of a real tensor: np.sign, but 0 at NaN; zero gradient."""

    @staticmethod
    def forward(ctx, x):
        if np.asarray(x).dtype == np.bool_:
            return np.array(x)
        return _sgn(x)


def sgn(x):
    """torch's ``sgn``, for real tensors its ``sign``: -1, 0 or 1 by the sign of x, and 0 at
    NaN (where tinydl's ``sign`` keeps NumPy's NaN); same dtype, zero gradient."""
    return Sgn.apply(as_tensor(x))


# ----------------------------------------------------------------------------- copysign
class Copysign(Function):
    """|a| with the sign (bit) of b; da = g sign(a) s(b) with s(b) = +-1 from b's sign bit
    (0 where a = 0, as torch); db = 0."""

    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        return _binary("copysign", np.copysign, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        ga = None
        if _needs_grad(a):
            b_data = b.data if isinstance(b, Tensor) else b
            flip = np.sign(a.data) * np.copysign(1.0, b_data)
            ga = unbroadcast(g * Tensor._wrap(np.asarray(flip, g.dtype)), a.shape)
        return ga, _zeros(b)


def copysign(a, b):
    """|a| with the sign of b, including b's sign bit (copysign(1, -0.0) = -1); broadcasts.
    Integers give float32, as torch. The gradient reaches ``a`` only."""
    return Copysign.apply(*_pair(a, b))


# ----------------------------------------------------------------------------- remainders
def _check_divisor(op, a, b):
    """An integer division by zero raises (torch's ZeroDivisionError) instead of giving 0."""
    if _is_integral(a) and _is_integral(b) and np.any(np.asarray(b) == 0):
        raise ZeroDivisionError(f"{op}: integer division by zero (the divisor has zeros)")


class _RemainderOf(Function):
    """a - q(a / b) b for a rounding q; da = g, db = -g q(a / b). Fmod and Remainder differ
    only in q (trunc or floor) and the NumPy function that computes the forward."""

    retain_output = False
    name = compute = quotient = None

    @classmethod
    def forward(cls, ctx, a, b):
        _check_divisor(cls.name, a, b)
        with np.errstate(invalid="ignore", divide="ignore"):  # x mod 0 = NaN, as torch
            return _binary(cls.name, cls.compute, a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.inputs
        gb = None
        if _needs_grad(b):
            with np.errstate(invalid="ignore", divide="ignore"):
                q = cls.quotient(_data(a), b.data)
            gb = unbroadcast(-g * Tensor._wrap(q.astype(g.dtype)), b.shape)
        return (unbroadcast(g, a.shape) if _needs_grad(a) else None), gb


class Fmod(_RemainderOf):
    """a - trunc(a / b) b (C's fmod: the sign of a); da = g, db = -g trunc(a / b)."""

    name = "fmod"
    compute = staticmethod(np.fmod)
    quotient = staticmethod(lambda a, b: np.trunc(np.true_divide(a, b)))


def fmod(a, b):
    """The remainder of truncated division, with the sign of ``a`` (C's fmod, torch.fmod);
    broadcasts. d/da = 1, d/db = -trunc(a / b), as torch."""
    return Fmod.apply(*promote_operands(a, b))


class Remainder(_RemainderOf):
    """a - floor(a / b) b (Python's %: the sign of b); da = g, db = -g floor(a / b)."""

    name = "remainder"
    compute = staticmethod(np.remainder)
    quotient = staticmethod(np.floor_divide)


def remainder(a, b):
    """The remainder of floor division, with the sign of ``b`` (Python's ``%``, np.remainder,
    np.mod, torch.remainder); broadcasts. d/da = 1, d/db = -floor(a / b), as torch."""
    return Remainder.apply(*promote_operands(a, b))


class FloorDivide(Function):
    """floor(a / b) (Python's //); zero gradient for both (piecewise constant)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        _check_divisor("floor_divide", a, b)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _binary("floor_divide", np.floor_divide, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        return _zeros(a), _zeros(b)


class TruncDivide(FloorDivide):
    """trunc(a / b) for floats (``div(..., rounding_mode='trunc')``); FloorDivide's zero
    gradient for both (piecewise constant, as torch's), also where b is 0: running true
    division's gradient on that zero gradient made it 0 * inf = NaN there."""

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.trunc(_binary("div", np.divide, a, b))


def floor_divide(a, b):
    """floor(a / b), Python's ``//`` (torch.floor_divide's rounding since torch 1.13);
    integers stay integers; broadcasts. ``a == floor_divide(a, b) * b + remainder(a, b)``.
    Its gradient is zero (torch defines none)."""
    return FloorDivide.apply(*promote_operands(a, b))


def _data(x):
    return x.data if isinstance(x, Tensor) else x


# ----------------------------------------------------------------------------- steps, neighbours
class Heaviside(Function):
    """The step 0 (x < 0), values (x == 0), 1 (x > 0); no derivative, as in torch."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, values):
        out = _binary("heaviside", np.heaviside, x, values)
        return out.astype(np.result_type(x, values), copy=False)  # integers stay integral

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("heaviside: has no derivative (torch defines none either); detach "
                           "its inputs, or use a smooth step such as sigmoid(x / temperature)")


def heaviside(x, values):
    """The Heaviside step function: 0 where x < 0, ``values`` where x == 0, 1 where x > 0
    (NumPy's ``heaviside(x1, x2)``, torch's ``heaviside(input, values)``); NaN where x is NaN,
    as NumPy (torch gives 0). ``values`` may be a number; broadcasts; integers stay integral,
    as torch. Like torch's, backward through it raises."""
    return Heaviside.apply(*promote_operands(x, values))


class Nextafter(Function):
    """The next float after a towards b; da = g where a != b, else 0, and db = 0 (torch's
    gradients)."""

    retain_inputs = (0, 1)  # a != b, for da
    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        return _binary("nextafter", np.nextafter, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        if not _needs_grad(a):
            return None, _zeros(b)
        # torch's rule: g where a != b, 0 where nextafter returns b itself (it was 1 there)
        b_data = b.data if isinstance(b, Tensor) else np.asarray(b)
        moves = np.broadcast_to(a.data != b_data, g.shape)
        return unbroadcast(where(Tensor._wrap(moves), g, 0.0), a.shape), _zeros(b)


def nextafter(a, b):
    """The next representable float after ``a`` in the direction of ``b`` (``b`` itself where
    a == b), in a's precision (float32 steps of 2^-23 near 1); broadcasts. Gradients as
    torch's: 1 for ``a`` where a != b (0 where a == b), 0 for ``b``. Integers become
    float32."""
    return Nextafter.apply(*_pair(a, b))
