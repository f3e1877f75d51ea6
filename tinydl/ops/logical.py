"""Tests on values (isnan, isinf, isfinite, isclose), logical ops, bitwise ops and
comparisons (greater, equal..., torch's gt, eq...; allclose, array_equal, isin), and gcd, lcm
of integers.

None of these has a gradient: their outputs are booleans or integers. So, like Tensor's
comparison operators, they are plain functions on the arrays that return Tensors outside the
graph, not ``Function`` s. Logical ops take any dtype (nonzero is True) and give bool tensors;
bitwise ops take integer or bool tensors (and Python ints) only and give NumPy's result dtype:
a float operand raises, as in torch.
"""
import numpy as np

from tinydl.ops._util import (DtypeError, check_broadcast, number_overflow, promote_operands,
                              shape_of)
from tinydl.tensor import Tensor


def _array(x, op):
    """The array of a Tensor; Python numbers stay numbers (so ``int8_tensor & 1`` stays int8).
    None, strings and ragged lists raise, naming ``op`` (NumPy made object arrays of them:
    ``logical_and(x, None)`` was a tensor of Nones, ``isin(x, None)`` all False)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (bool, int, float)):
        return x
    try:
        array = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{op}: cannot read {type(x).__name__} as a tensor: {err}") from None
    if array.dtype.kind in "OUSV":
        raise TypeError(f"{op}: expects tensors, arrays or numbers, got "
                        f"{type(x).__name__} {x!r}")
    return array


def _elementwise(op, fn, *operands, **kwargs):
    """``fn`` on the operands' arrays as a Tensor; a shape mismatch names ``op`` and the shapes."""
    arrays = [_array(x, op) for x in operands]
    if len(arrays) == 2:
        check_broadcast(op, *arrays)
    return Tensor._wrap(np.asarray(fn(*arrays, **kwargs)))


# ----------------------------------------------------------------------------- tests on values
def isnan(x):
    """True where x is NaN (bool tensor, same shape)."""
    return _elementwise("isnan", np.isnan, x)


def isinf(x):
    """True where x is +inf or -inf (bool tensor)."""
    return _elementwise("isinf", np.isinf, x)


def isfinite(x):
    """True where x is neither NaN nor infinite (bool tensor)."""
    return _elementwise("isfinite", np.isfinite, x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol |b| elementwise (NumPy's and torch's rule; not symmetric in a
    and b); NaNs equal each other only with ``equal_nan=True``. Broadcasts; bool tensor."""
    return _elementwise("isclose", np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


# ----------------------------------------------------------------------------- logical
def logical_and(a, b):
    """a and b elementwise, nonzero meaning True; bool tensor."""
    return _elementwise("logical_and", np.logical_and, a, b)


def logical_or(a, b):
    """a or b elementwise, nonzero meaning True; bool tensor."""
    return _elementwise("logical_or", np.logical_or, a, b)


def logical_xor(a, b):
    """Exactly one of a and b nonzero, elementwise; bool tensor."""
    return _elementwise("logical_xor", np.logical_xor, a, b)


def logical_not(x):
    """True where x is zero (or False); bool tensor."""
    return _elementwise("logical_not", np.logical_not, x)


# ----------------------------------------------------------------------------- bitwise
def _integral(op, *operands):
    """Refuse float operands (Tensors, arrays, Python floats) of a bitwise op."""
    for x in operands:
        dtype = x.dtype if isinstance(x, (Tensor, np.ndarray, np.generic)) else np.asarray(x).dtype
        if dtype.kind not in "iub":
            raise DtypeError(f"{op}: needs integer or bool tensors, got {dtype} (of shape "
                            f"{shape_of(x)}); cast first, e.g. t.long() or t.astype(np.int64)")


def _bitwise(op, fn, a, b):
    """A binary bitwise op: integer or bool operands, promoted as arithmetic is (torch's rule:
    a 0-d int64 tensor beside an int32 tensor gives int32, as in ``+``), then ``fn``."""
    _integral(op, a, b)
    try:
        return _elementwise(op, fn, *promote_operands(a, b))
    except OverflowError as err:  # NumPy 2: a Python int outside the tensor's integer dtype
        raise number_overflow(op, err) from None


def bitwise_and(a, b):
    """a & b bit by bit (logical and for bools); integer or bool inputs only."""
    return _bitwise("bitwise_and", np.bitwise_and, a, b)


def bitwise_or(a, b):
    """a | b bit by bit (logical or for bools); integer or bool inputs only."""
    return _bitwise("bitwise_or", np.bitwise_or, a, b)


def bitwise_xor(a, b):
    """a ^ b bit by bit (logical xor for bools); integer or bool inputs only."""
    return _bitwise("bitwise_xor", np.bitwise_xor, a, b)


def bitwise_not(x):
    """~x: every bit flipped (-x - 1 for signed integers, logical not for bools). NumPy also
    calls it ``invert``."""
    _integral("bitwise_not", x)
    return _elementwise("bitwise_not", np.invert, x)


def left_shift(a, b):
    """a << b: the bits of a moved b places left (a * 2**b while it fits); integers only
    (bools count as 0 and 1). torch: ``bitwise_left_shift``."""
    return _bitwise("left_shift", np.left_shift, a, b)


def right_shift(a, b):
    """a >> b: the bits of a moved b places right (floor(a / 2**b)); integers only (bools
    count as 0 and 1). torch: ``bitwise_right_shift``."""
    return _bitwise("right_shift", np.right_shift, a, b)


# ----------------------------------------------------------------------------- comparisons
# As the operators ``<``, ``==``... do: NumPy's comparison of the values, exact whatever the
# two dtypes (an int64 tensor against 0.5, float32 against a 0-d float64 tensor). torch first
# rounds both to its promoted dtype and wraps Python ints into a uint8 tensor's range, so its
# answer can differ right at the rounding (int64 16777217 == 16777216.0 is True there).
def _compare(op, fn, a, b):
    """``fn`` (a NumPy comparison) on the operands' arrays: a bool tensor outside the graph."""
    try:
        return _elementwise(op, fn, a, b)
    except TypeError as err:  # e.g. a string or None operand: NumPy's message names no side
        raise TypeError(f"{op}: cannot compare {_operand_kind(a)} with {_operand_kind(b)} "
                        f"({err})") from None


def _operand_kind(x):
    if isinstance(x, Tensor):
        return f"a {x.dtype} tensor of shape {x.shape}"
    if isinstance(x, np.ndarray):
        return f"a {x.dtype} array of shape {x.shape}"
    return f"{type(x).__name__} {x!r:.40}"


def greater(a, b):
    """a > b elementwise (torch: ``gt``), broadcasting; a bool tensor outside the graph."""
    return _compare("greater", np.greater, a, b)


def greater_equal(a, b):
    """a >= b elementwise (torch: ``ge``), broadcasting; a bool tensor outside the graph."""
    return _compare("greater_equal", np.greater_equal, a, b)


def less(a, b):
    """a < b elementwise (torch: ``lt``), broadcasting; a bool tensor outside the graph."""
    return _compare("less", np.less, a, b)


def less_equal(a, b):
    """a <= b elementwise (torch: ``le``), broadcasting; a bool tensor outside the graph."""
    return _compare("less_equal", np.less_equal, a, b)


def equal(a, b):
    """a == b elementwise, broadcasting (NumPy's ``equal``, torch's ``eq``); a bool tensor.

    Not ``torch.equal``, which answers one bool (same shape and the same values): that is
    ``a.equal(b)`` or ``array_equal(a, b)``. A multi-element result in an ``if`` raises."""
    return _compare("equal", np.equal, a, b)


def not_equal(a, b):
    """a != b elementwise (torch: ``ne``), broadcasting; a bool tensor outside the graph."""
    return _compare("not_equal", np.not_equal, a, b)


gt, ge, lt, le, eq, ne = greater, greater_equal, less, less_equal, equal, not_equal


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when ``isclose(a, b, ...)`` holds everywhere (NumPy's and torch's rule), a
    Python bool. The operands broadcast; unlike torch, their dtypes may differ."""
    return bool(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).data.all())


def array_equal(a1, a2, equal_nan=False):
    """True when ``a1`` and ``a2`` have the same shape and the same values (NumPy's
    ``array_equal``; torch's ``torch.equal``, with any two dtypes), a Python bool. NaN equals
    NaN only with ``equal_nan=True``."""
    return bool(np.array_equal(_array(a1, "array_equal"), _array(a2, "array_equal"),
                               equal_nan=equal_nan))


def isposinf(x):
    """True where x is +inf (bool tensor; False everywhere for integer x)."""
    return _elementwise("isposinf", np.isposinf, x)


def isneginf(x):
    """True where x is -inf (bool tensor; False everywhere for integer x)."""
    return _elementwise("isneginf", np.isneginf, x)


def signbit(x):
    """True where x's sign bit is set: negative numbers, -0.0 and NaNs with the sign set
    (bool tensor)."""
    return _elementwise("signbit", np.signbit, x)


def isin(elements, test_elements, assume_unique=False, invert=False):
    """True where an entry of ``elements`` equals some entry of ``test_elements`` (NumPy's
    and torch's ``isin``; ``invert=True``: where none does). A bool tensor of
    ``elements``' shape (0-d for a number); ``assume_unique=True`` promises both hold no
    repeats, which only speeds it up (with repeats the result is undefined, as in both)."""
    return Tensor._wrap(np.asarray(np.isin(_array(elements, "isin"),
                                           _array(test_elements, "isin"),
                                           assume_unique=assume_unique, invert=invert)))


# ----------------------------------------------------------------------------- gcd, lcm
def _integers(op, a, b):
    """NumPy's ``op`` of two integer operands (tensors or Python ints) promoted as arithmetic
    is; floats and bools raise, as in torch."""
    for x in (a, b):
        dtype = x.dtype if isinstance(x, (Tensor, np.ndarray, np.generic)) else np.asarray(x).dtype
        if dtype.kind not in "iu":
            raise DtypeError(f"{op}: needs integer tensors, got {dtype} (of shape "
                             f"{shape_of(x)}); cast first, e.g. t.long()")
    return _elementwise(op, getattr(np, op), *promote_operands(a, b))


def gcd(a, b):
    """The greatest common divisor of |a| and |b| elementwise (gcd(0, 0) = 0); integers only,
    as NumPy's and torch's; broadcasts."""
    return _integers("gcd", a, b)


def lcm(a, b):
    """The least common multiple of |a| and |b| elementwise (0 where either is 0); integers
    only, as NumPy's and torch's; broadcasts."""
    return _integers("lcm", a, b)


# NumPy's and torch's other names.
invert = bitwise_not
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift
