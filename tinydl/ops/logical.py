"""Tests on values (isnan, isinf, isfinite, isclose), logical ops and bitwise ops.

None of these has a gradient: their outputs are booleans or integers. So, like Tensor's
comparison operators, they are plain functions on the arrays that return Tensors outside the
graph, not ``Function`` s. Logical ops take any dtype (nonzero is True) and give bool tensors;
bitwise ops take integer or bool tensors (and Python ints) only and give NumPy's result dtype:
a float operand raises, as in torch.
"""
import numpy as np

from tinydl.ops._util import DtypeError, check_broadcast, promote_operands, shape_of
from tinydl.tensor import Tensor


def _array(x):
    """The array of a Tensor; Python numbers stay numbers (so ``int8_tensor & 1`` stays int8)."""
    if isinstance(x, Tensor):
        return x.data
    return x if isinstance(x, (bool, int, float)) else np.asarray(x)


def _elementwise(op, fn, *operands, **kwargs):
    """``fn`` on the operands' arrays as a Tensor; a shape mismatch names ``op`` and the shapes."""
    arrays = [_array(x) for x in operands]
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
    return _elementwise(op, fn, *promote_operands(a, b))


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


# NumPy's and torch's other names.
invert = bitwise_not
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift
