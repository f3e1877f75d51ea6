"""NumPy's elementwise functions that torch lacks or spells otherwise: nan_to_num (torch has
it too, with the same meaning), cbrt, modf and divmod (NumPy's tuple results).
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import as_input, as_tensor, floating
from tinydl.ops.elementwise import copy as copy_tensor, where
from tinydl.ops.rounding import floor_divide, remainder, trunc
from tinydl.tensor import Tensor


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """x with NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf``
    (``np.nan_to_num``, ``torch.nan_to_num``: by default 0, the dtype's largest and its most
    negative finite value). Gradient 1 at finite entries, 0 at the replaced ones. Integer and
    bool input is returned as it is (a copy). ``copy=False`` (NumPy's in-place form) is not
    supported: a Tensor's array is never changed behind its graph."""
    if not isinstance(copy, (bool, np.bool_)):  # torch's nan_to_num(x, 1.0) means nan=1.0
        raise TypeError(f"nan_to_num: the second argument is NumPy's copy (a bool), got "
                        f"{copy!r}; torch's nan_to_num(x, {copy!r}) is nan={copy!r} here")
    if not copy:
        raise ValueError("nan_to_num: copy=False (in place) is not supported; use the result")
    x = as_input(x)
    if nan is None:  # torch's default spelling (NaN stayed NaN: an object array's cast)
        nan = 0.0
    if x.dtype.kind != "f":
        return Tensor._wrap(x.data.copy())
    info = np.finfo(x.dtype)
    data = x.data
    bad = ~np.isfinite(data)
    if not bad.any():
        return copy_tensor(x)
    fill = np.where(np.isnan(data), nan,
                    np.where(data > 0, info.max if posinf is None else posinf,
                             info.min if neginf is None else neginf)).astype(x.dtype)
    return where(bad, fill, x)


class Cbrt(Function):
    """y = x^(1/3) with the sign of x; dx = g / (3 y^2) (inf at x = 0, as NumPy's derivative)."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.cbrt(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        with np.errstate(divide="ignore"):
            return (g / (3.0 * y * y),)


def cbrt(x):
    """The real cube root x^(1/3), negative for negative x (``np.cbrt``); integer input gives
    float32 (tinydl's float default). Gradient 1 / (3 cbrt(x)^2), infinite at 0."""
    return Cbrt.apply(floating(as_tensor(x)))


class Fraction(Function):
    """The fractional part of ``np.modf``: x - trunc(x) with the sign of x (-0.0 for -8.0,
    +-0 at +-inf); dx = g, but 0 at +-inf (the part is constant there)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.modf(x)[0]

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        inf = np.isinf(x.data)
        return (where(inf, np.zeros((), g.dtype), g) if inf.any() else g,)


def modf(x):
    """``(fractional part, integral part)`` of x, both with the sign of x and x's float dtype
    (``np.modf``; integers give float32): (x - trunc(x), trunc(x)); +-inf gives (+-0, +-inf)
    and NaN (NaN, NaN). Gradient 1 for the fractional part (0 at +-inf), 0 for the integral
    one (``trunc``)."""
    x = floating(as_tensor(x))
    return Fraction.apply(x), trunc(x)


def divmod(a, b):  # noqa: A001 (NumPy's name)
    """``(floor_divide(a, b), remainder(a, b))`` (``np.divmod``, Python's divmod): the quotient
    rounded down and the remainder with the sign of b, so a == q * b + r. Gradients as the two
    ops (0 for the quotient)."""
    return floor_divide(a, b), remainder(a, b)

