"""Elementwise ops: arithmetic, exp/log family, casts, clip, maximum/minimum, where.

Each op is one ``Function`` (``forward`` on arrays right above ``backward`` in tinydl ops)
with its public wrapper right below it. Binary ops broadcast as NumPy does; ``unbroadcast``
sums gradients back to each input's shape. The activations live in ``ops/activation.py``.

This module is longer than 500 lines because it holds the whole family: 18 Functions,
each a few lines with its wrapper below it, sharing ``unbroadcast`` for their gradients.
"""
import math

import numpy as np

# scipy.special is imported inside the functions that use it: importing it takes about 0.2 s,
# half of ``import tinydl``.

from tinydl.autograd import Function, depends_on
from tinydl.ops._util import (DEFAULT_FLOAT, DtypeError, ShapeError, as_number, as_tensor,
                               as_tensor_beside, check_broadcast, floating, held_array,
                               number_overflow, promote_operands, shape_of, unbroadcast)
from tinydl.tensor import Tensor, _as_dtype, _check_numeric


def _operand(value):
    """An operand as an error message names it: an array's dtype, else its type."""
    dtype = getattr(value, "dtype", None)
    return f"an array of {dtype}" if dtype is not None else type(value).__name__


def _binary(op, fn, a, b):
    try:
        if (type(b) in _PYTHON_NUMBERS and getattr(a, "dtype", None) == np.float16
                or type(a) in _PYTHON_NUMBERS and getattr(b, "dtype", None) == np.float16):
            return _half_with_number(fn, a, b)
        return fn(a, b)
    except OverflowError as err:  # NumPy 2: a Python int outside the tensor's integer dtype
        raise number_overflow(op, err) from None
    except TypeError as err:  # None, a string...: Python's or NumPy's words, without the op
        raise TypeError(f"{op}: unsupported operands ({_operand(a)} and {_operand(b)}): "
                        f"{err}") from None
    except ValueError as err:
        check_broadcast(op, a, b)
        if "negative integer powers" in str(err):  # not a shape problem: NumPy's message
            raise ValueError(f"{op}: {err} (an integer tensor to a negative integer power; "
                             "make the base floating point)") from None
        raise ShapeError(f"{op}: {err} (operands of shapes {shape_of(a)} and {shape_of(b)})"
                         ) from None


_PYTHON_NUMBERS = (float, int)


def _half_with_number(fn, a, b):
    """A float16 array with a Python number, computed as torch computes it: in float32 with
    the number unrounded, the result rounded to float16 once. NumPy would round the number to
    float16 first: x * -1e9 (an attention mask) became x * -inf, NaN at x = 0, and x / 65536
    underflowed to 0 (torch: 1.5e-3 for x = 100)."""
    wide = (a.astype(np.float32), b) if type(b) in _PYTHON_NUMBERS else (a, b.astype(np.float32))
    out = fn(*wide)
    if out.dtype != np.float32:
        return out
    with np.errstate(over="ignore"):  # past 65504 the result is inf, as torch's (silent)
        return out.astype(np.float16)


def _operands(a, b, scales=False):
    """``a`` and ``b`` as the arithmetic Functions take them: Tensors (or a Python scalar)
    under torch's promotion rule. The common cases (two tensors of one dtype, a float tensor
    with a Python float) return at once: this runs for every ``+``, ``-`` and ``*``.
    ``scales``: for ``a * b`` and ``a / b`` (``_half_scale``)."""
    if type(a) is Tensor:
        if type(b) is Tensor:
            if a.data.dtype is b.data.dtype:
                return a, b
            if scales and _half_scale(a, b):
                return a, b.data.item()
        elif type(b) is float and a.data.dtype.kind == "f":
            return a, b
    return promote_operands(a, b)


def _half_scale(a, b):
    """Whether ``a * b`` or ``a / b`` reads the 0-d tensor b as a number: a float16 tensor a
    (with dimensions) times or over a 0-d float32/float64 or integer b, as torch's CPU
    kernels read it (in float32, the result rounded once; casting b to float16 first made
    x16 * tensor(1e5) inf). Only there: torch casts b to float16 for + and -, and as the
    first operand. A b that requires grad keeps the differentiable cast (so that it gets its
    gradient: x16 * tensor(1e5, requires_grad=True) is inf where torch's is not)."""
    return (a.data.dtype == np.float16 and b.data.ndim == 0 and a.data.ndim > 0
            and b.data.dtype.kind in "fiu" and not b.requires_grad)


def _mask(condition, dtype):
    """A constant 0/1 Tensor of ``dtype`` from a boolean array."""
    return Tensor._wrap(condition.astype(dtype))


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def _select(values, condition, keep=True):
    """The float array ``values`` where the boolean array ``condition`` (same shape) is
    ``keep``, +0.0 elsewhere, whatever values holds there (inf, NaN): a new array.

    It ANDs the values' bit patterns with words of all ones or all zeros, as fast as
    multiplying by a 0/1 mask (which would turn inf and NaN into NaN, not 0): ``np.where``
    branches on every element, and on a ReLU's random mask that took 1.4 ms against 0.16 ms
    here, (64, 6, 24, 24) float32.
    """
    values = np.asarray(values)  # a product of 0-d arrays is a NumPy scalar
    int_type = _SAME_SIZE_INT[values.dtype.itemsize]
    bits = np.asarray(condition).astype(int_type)
    if keep:
        np.negative(bits, out=bits)  # 1 -> -1 (every bit set), 0 -> 0
    else:
        np.subtract(bits, 1, out=bits)  # 0 -> -1, 1 -> 0
    np.bitwise_and(values.view(int_type), bits, out=bits)
    return bits.view(values.dtype)


def _gate(g, condition, keep=True):
    """The gradient ``g`` where the boolean array ``condition`` is ``keep``, 0 elsewhere: a
    select, as torch's threshold_backward and clamp_backward are, so an inf or NaN of g where
    the gate is shut gives 0 (``g * mask`` would give inf * 0 = NaN there). Stating the gate
    by where it is shut (``keep=False``) lets a NaN input pass the gradient, as torch's relu
    and hardtanh do. When g records a graph (a gradient being differentiated) this is the
    differentiable ``where``."""
    data = g.data
    if (g.requires_grad or data.dtype.kind != "f" or data.dtype.itemsize not in _SAME_SIZE_INT
            or data.shape != condition.shape):
        return where(condition, g, 0.0) if keep else where(condition, 0.0, g)
    return Tensor._wrap(_select(data, condition, keep))


# ----------------------------------------------------------------------------- arithmetic
class Add(Function):
    """a + b; da = g, db = g, each summed over its broadcast axes."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        return _binary("add", np.add, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        return (unbroadcast(g, a.shape) if isinstance(a, Tensor) else None,
                unbroadcast(g, b.shape) if isinstance(b, Tensor) else None)


def _scaled(b, alpha):
    """alpha * b for add/subtract's ``alpha``: two numbers stay a Python number (a 0-d
    float64 tensor would widen an integer tensor's result to float64, torch's is float32)."""
    b, alpha = as_number(b), as_number(alpha)
    if isinstance(b, (int, float, complex)) and isinstance(alpha, (int, float, complex)):
        return b * alpha
    return multiply(b, alpha)


def _scaled_beside(a, b, alpha, op):
    """``a`` and ``alpha * b`` for add/subtract's ``alpha``, the product taken in the dtype of
    the result, as torch computes it: in b's own dtype a uint8 200 times 2 wrapped to 144,
    and a float16 gradient times a small learning rate underflowed to 0 before it met a
    float32 tensor (``p.add_(g16, alpha=-lr)``)."""
    a, b = _operands(a, as_tensor_beside(b, a))  # (a float list takes a's dtype first)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        common = np.result_type(a.data.dtype, b.data.dtype)
        number = as_number(alpha)
        if common.kind in "biu" and isinstance(number, (float, np.floating)):
            # torch's rule: 0.5 * an int tensor gave a float32 result silently
            raise TypeError(f"{op}: alpha must not be a floating point number for integer or "
                            f"bool tensors (as torch), got alpha={alpha!r} for {a.dtype} and "
                            f"{b.dtype}")
        if common == np.bool_:  # torch's logical alpha: True + 2 * True stays bool
            return a, (b if number else Tensor._wrap(np.zeros(b.shape, np.bool_)))
        if b.data.dtype != common:
            b = astype(b, common)
    return a, _scaled(b, alpha)


def add(a, b, *, alpha=1):
    """a + alpha * b with NumPy broadcasting (``alpha`` as ``torch.add``, ``alpha * b`` taken
    in the result's dtype)."""
    if alpha != 1:
        a, b = _scaled_beside(a, b, alpha, "add")
    return Add.apply(*_operands(a, b))


class Subtract(Function):
    """a - b; da = g, db = -g, each summed over its broadcast axes."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, a, b):
        return _binary("subtract", np.subtract, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        return (unbroadcast(g, a.shape) if isinstance(a, Tensor) else None,
                unbroadcast(-g, b.shape) if isinstance(b, Tensor) else None)


def subtract(a, b, *, alpha=1):
    """a - alpha * b with NumPy broadcasting (``alpha`` as ``torch.sub``, ``alpha * b`` taken
    in the result's dtype)."""
    if alpha != 1:
        a, b = _scaled_beside(a, b, alpha, "subtract")
    return Subtract.apply(*_operands(a, b))


class Multiply(Function):
    """a * b; da = g b, db = g a."""

    retain_output = False

    @staticmethod
    def inputs_read(ctx):
        """The inputs whose values backward reads: a only when b needs its gradient, and b
        only when a does (``x * 3`` reads 3, not x), so that writing x under ``no_grad``
        after ``y = x * 3`` does not stop y's backward, as in torch. (Read by the in-place
        check only: both stay retained.)"""
        need_a, need_b = ctx.needs_input_grad[:2]
        return (0,) * need_b + (1,) * need_a

    @staticmethod
    def forward(ctx, a, b):
        return _binary("multiply", np.multiply, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        return (unbroadcast(g * b, a.shape) if isinstance(a, Tensor) and a.requires_grad else None,
                unbroadcast(g * a, b.shape) if isinstance(b, Tensor) and b.requires_grad else None)


def multiply(a, b):
    """a * b with NumPy broadcasting."""
    return Multiply.apply(*_operands(a, b, True))  # (True: a float16 a times a 0-d b)


class Divide(Function):
    """a / b; da = g / b, db = -g (a / b) / b (from the output)."""

    @staticmethod
    def forward(ctx, a, b):
        return _binary("divide", np.true_divide, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        ga = gb = None
        if isinstance(a, Tensor) and a.requires_grad:
            ga = unbroadcast(g / b, a.shape)
        if isinstance(b, Tensor) and b.requires_grad:
            gb = unbroadcast(-g * ctx.output / b, b.shape)
        return ga, gb


def divide(a, b):
    """a / b with NumPy broadcasting."""
    if _is_integral(a, arrays=True) and _is_integral(b, arrays=True):
        # True division of integers gives the default float, float32 (torch), not float64;
        # each operand from its own dtype (promoted together first, a 0-d int64 -2 beside a
        # uint8 tensor was wrapped to 254).
        a, b = (Tensor._wrap(np.asarray(v.data if isinstance(v, Tensor) else v, np.float32))
                for v in (a, b))
    else:
        a, b = _operands(a, b, True)  # (True: a float16 a over a 0-d b, as multiply's)
    return Divide.apply(a, b)


def div(a, b, *, rounding_mode=None):
    """a / b as ``torch.div``: true division, or rounded ``'trunc'`` (toward zero) or
    ``'floor'`` (``floor_divide``). Integer operands keep their dtype when rounded."""
    if rounding_mode is None:
        return divide(a, b)
    if rounding_mode == "floor":
        from tinydl.ops.rounding import floor_divide
        return floor_divide(a, b)
    if rounding_mode != "trunc":
        raise ShapeError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    from tinydl.ops.rounding import TruncDivide
    a, b = promote_operands(a, b)
    if _is_integral(a) and _is_integral(b):
        # Integer division toward zero, exact for any int64 (no float round trip).
        # (a Python int stays one: NumPy then keeps the tensor's dtype, int32 // 3 is int32)
        x, y = (a.data if isinstance(a, Tensor) else a), (b.data if isinstance(b, Tensor) else b)
        if np.any(y == 0):
            raise ZeroDivisionError("div: integer division by zero (rounding_mode='trunc')")
        q = np.floor_divide(x, y)
        q = q + ((q < 0) & (q * y != x))
        return Tensor._wrap(np.asarray(q))
    return TruncDivide.apply(a, b)


# torch's names for the arithmetic above.
sub = subtract
mul = multiply
true_divide = divide


def rsub(x, other, *, alpha=1):
    """other - alpha * x: ``subtract`` with the operands swapped (torch.rsub)."""
    return subtract(other, x, alpha=alpha)


class Negative(Function):
    """-x; dx = -g."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


def negative(x):
    """-x."""
    return Negative.apply(as_tensor(x))


neg = negative


def positive(x):
    """+x: ``x`` itself, as torch's ``positive`` (NumPy's ``positive`` copies). Bool tensors
    raise, as in both."""
    if x is None or isinstance(x, (str, bytes)):  # (as_tensor passes them through)
        raise TypeError(f"positive: expects a tensor or a number, got {type(x).__name__}")
    x = as_tensor(x)
    if isinstance(x, Tensor) and x.dtype.kind in "OUSV":  # an array of strings or objects
        raise TypeError(f"positive: expects a numeric tensor, got dtype {x.dtype}")
    if isinstance(x, Tensor) and x.dtype == np.bool_:
        raise DtypeError("positive: unary + is not defined for a bool tensor (as in NumPy and "
                         "torch); cast first, e.g. t.long()")
    return x


class Power(Function):
    """``a ** b``; d/da = b a^(b-1) (0 where b = 0, so x**0 has gradient 0 at x = 0),
    d/db = a^b log a (0 where a = 0 and b >= 0; -inf where a = 0 and b < 0), as torch."""

    @staticmethod
    def forward(ctx, a, b):
        return _binary("power", np.power, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        ga = gb = None
        if isinstance(a, Tensor) and a.requires_grad:
            b_data = b.data if isinstance(b, Tensor) else np.asarray(b)
            zero_exponent = b_data == 0
            if np.any(zero_exponent) and isinstance(b, Tensor) and b.requires_grad:
                # b a^(b-1) is 0 there by itself, and keeps its derivative in b, a^-1 (a
                # constant 0 made the mixed partial d2/db da of a**b 0 at b = 0, torch's too);
                # only where a = 0 as well is a^-1 inf, and there it is masked as below
                # (and a subnormal or NaN a, whose a^-1 is inf or NaN too: x.grad was NaN)
                with np.errstate(divide="ignore", over="ignore"):
                    zero_exponent = zero_exponent & ~np.isfinite(np.reciprocal(a.data))
            if np.any(zero_exponent):
                # a ** (1 - 1) there: a ** -1 is inf at a = 0, and its derivative would make
                # the masked second derivative 0 * inf = NaN (torch's is 0)
                safe = where(zero_exponent, 1.0, b) if isinstance(b, Tensor) else np.where(
                    zero_exponent, 1.0, b_data).astype(b_data.dtype)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ga = where(zero_exponent, 0.0, g * b * a ** (safe - 1))
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ga = g * b * a ** (b - 1)
            ga = unbroadcast(ga, a.shape)
        if isinstance(b, Tensor) and b.requires_grad:
            a_data = a.data if isinstance(a, Tensor) else np.asarray(a)
            b_data = b.data
            zero_base = (a_data == 0) & (b_data >= 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = log(a) if isinstance(a, Tensor) else Tensor._wrap(np.log(a_data))
                gb = g * ctx.output * log_a
            if np.any(zero_base):
                gb = where(zero_base, 0.0, gb)
            gb = unbroadcast(gb, b.shape)
        return ga, gb


def power(a, b):
    """a ** b with NumPy broadcasting."""
    return Power.apply(*promote_operands(a, b))


pow = power  # noqa: A001 (torch's name)


# ----------------------------------------------------------------------------- unary math
class Exp(Function):
    """e^x; dx = g e^x (from the output)."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.output,)


def exp(x):
    """e^x."""
    return Exp.apply(floating(x))


class Log(Function):
    """ln x; dx = g / x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.inputs[0],)


def log(x):
    """Natural logarithm."""
    return Log.apply(floating(x))


class Sqrt(Function):
    """sqrt(x); dx = g / (2 sqrt(x)) (from the output)."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, g):
        return (g * 0.5 / ctx.output,)


def sqrt(x):
    """Square root."""
    return Sqrt.apply(floating(x))


class Abs(Function):
    """|x|; the gradient at 0 is 0 (sign(0) = 0, as torch), and at a NaN too (torch's sgn)."""

    retain_output = False


    @staticmethod
    def forward(ctx, x):
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (depends_on(g * Tensor._wrap(_sgn(x.data)), x),)  # tied as torch's


def _sgn(data):
    """np.sign, but 0 at a NaN as torch's sgn (the derivative of |x| there)."""
    sign = np.asarray(np.sign(data))  # (an array also for 0-d data, to be written below)
    if sign.dtype.kind == "f" and np.isnan(sign).any():
        sign[np.isnan(sign)] = 0
    return sign


def abs(x):  # noqa: A001 (NumPy's name)
    """|x| (gradient 0 at 0)."""
    return Abs.apply(as_tensor(x))


class Sin(Function):
    """sin x; dx = g cos x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        return (g * cos(ctx.inputs[0]),)


def sin(x):
    """Sine."""
    return Sin.apply(floating(x))


class Cos(Function):
    """cos x; dx = -g sin x."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        return (-g * sin(ctx.inputs[0]),)


def cos(x):
    """Cosine."""
    return Cos.apply(floating(x))


class Erf(Function):
    """erf(x); d/dx = 2/sqrt(pi) exp(-x^2)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        from scipy import special
        # (SciPy has no float16 loop: it computes float16 in float64; the result keeps x's
        # dtype, as torch's)
        return special.erf(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (g * (2.0 / math.sqrt(math.pi)) * exp(-(x * x)),)


def erf(x):
    """Gauss error function."""
    return Erf.apply(floating(x))


class Cast(Function):
    """x as another dtype; the gradient is cast back to the input dtype."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (g.astype(ctx.in_dtype), None)


def astype(x, dtype):
    """Cast to ``dtype`` (a NumPy dtype, its name, or a torch dtype such as ``torch.float64``);
    the gradient is cast back to the input's dtype."""
    x = as_tensor(x)
    if not isinstance(dtype, (type, np.dtype)):
        dtype = _as_dtype(dtype, "astype")
    if np.dtype(dtype) == x.dtype:
        return x
    # (.astype(str) made a tensor of strings)
    return Cast.apply(x, _check_numeric(np.dtype(dtype), "astype"))


class Copy(Function):
    """A copy of x laid out in ``order`` (NumPy's: 'C', 'F', 'A' or 'K'); dx = g."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, order="C"):
        return x.copy(order=order)

    @staticmethod
    def backward(ctx, g):
        return (g,)


def copy(x, order="C"):
    """A differentiable copy of ``x``, C-contiguous (NumPy's ``ndarray.copy``; ``order`` as
    NumPy's)."""
    if order not in ("C", "F", "A", "K"):
        raise ValueError(f"copy: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    return Copy.apply(as_tensor(x), order=order)


def clone(x, *, memory_format=None):
    """torch's ``clone``: a differentiable copy that keeps ``x``'s layout (torch's default,
    ``preserve_format``): the copy of a transpose is a transpose, so ``.contiguous()`` or
    ``.reshape()`` of it copies, and writes there leave the clone alone, as in torch. An
    input with overlapping entries (an ``expand``) gives a C-contiguous copy, as torch's.
    ``memory_format=torch.contiguous_format`` asks for C order."""
    x = as_tensor(x)
    name = None if memory_format is None else str(memory_format)
    if name in (None, "torch.preserve_format"):
        order = "C" if x.data.flags.c_contiguous or 0 in x.data.strides else "K"
    elif name == "torch.contiguous_format":
        order = "C"
    else:
        raise ValueError(f"clone: tinydl lays tensors out as NumPy arrays; memory_format="
                         f"{memory_format!r} is not supported (torch.preserve_format or "
                         "torch.contiguous_format)")
    return Copy.apply(x, order=order)


def detach(x):
    """torch's ``detach(x)``: ``x.detach()``, a new leaf sharing x's array, outside the graph."""
    if not isinstance(x, Tensor):
        raise TypeError(f"detach: expects a Tensor, got {type(x).__name__}")
    return x.detach()


# ----------------------------------------------------------------------------- selection
class Clip(Function):
    """Clamp to [a_min, a_max]; the gradient passes where a_min <= x <= a_max (as torch.clamp)."""

    retain_output = False


    @staticmethod
    def forward(ctx, x, a_min=None, a_max=None):
        if a_min is None and a_max is None:
            raise ShapeError("clip: at least one of a_min and a_max must be given")
        ctx.bounds = (a_min, a_max)
        return np.clip(x, a_min, a_max)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0].data
        a_min, a_max = ctx.bounds
        inside = np.ones(x.shape, dtype=bool)
        if a_min is not None:
            inside &= x >= a_min
        if a_max is not None:
            inside &= x <= a_max
        return (_gate(g, inside),)


def clip(x, a_min=None, a_max=None):
    """Clamp to [a_min, a_max] (either may be None).

    Dtypes as torch's ``clamp``: an integer tensor clamped with a float bound gives float32
    (NumPy would give float64). Tensor or array bounds broadcast against x and, as in torch,
    receive the gradient where they win (x below a_min, above a_max); where a_min > a_max
    every entry is a_max.
    """
    x = as_tensor(x)
    bounds = [as_number(b) for b in (a_min, a_max)]
    if all(b is None or isinstance(b, (int, float)) for b in bounds):
        if any(isinstance(b, float) for b in bounds):
            x = floating(x)
        return Clip.apply(x, a_min=bounds[0], a_max=bounds[1])
    out = x
    nan = np.isnan(x.data) if x.data.dtype.kind == "f" else None
    for bound, beyond in zip(bounds, (np.less, np.greater)):
        if bound is not None:
            bound = bound if isinstance(bound, Tensor) else Tensor._wrap(np.asarray(bound))
            out = where(beyond(out.data, bound.data), bound, out)
            if bound.data.dtype.kind == "f":  # a NaN bound wins too (the comparison cannot)
                nan = np.isnan(bound.data) if nan is None else nan | np.isnan(bound.data)
    if nan is not None and nan.any():  # NaN stays NaN with no gradient, as torch's clamp
        out = where(nan, Tensor._wrap(np.asarray(np.nan, out.dtype)), out)
    return out


def clamp(x, min=None, max=None):  # noqa: A002 (torch's names)
    """torch's name for ``clip``: x clamped to [min, max]. Either bound may be None (not both)
    and may be a number or a tensor (broadcast, with a gradient where it wins)."""
    if min is None and max is None:
        raise ShapeError("clamp: at least one of min and max must be given")
    return clip(x, min, max)


def clamp_min(x, min):  # noqa: A002
    """max(x, min): ``clamp(x, min=min)`` (torch's ``clamp_min``)."""
    return clamp(x, min, None)


def clamp_max(x, max):  # noqa: A002
    """min(x, max): ``clamp(x, max=max)`` (torch's ``clamp_max``)."""
    return clamp(x, None, max)


class _Extremum(Function):
    """Shared rule of maximum/minimum, torch's: each input gets the gradient unless the other
    input wins outright (then exactly 0, even where the gradient is inf or NaN), and ties
    split it evenly. Where an input is NaN neither wins, so both get it."""

    retain_output = False


    compare = None
    select = None

    @classmethod
    def forward(cls, ctx, a, b):
        return _binary(cls.__name__.lower(), cls.select, a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.inputs
        a_data = a.data if isinstance(a, Tensor) else a
        b_data = b.data if isinstance(b, Tensor) else b
        ties = np.broadcast_to(np.equal(a_data, b_data), g.shape)
        if ties.any():
            g = g * Tensor._wrap(np.where(ties, 0.5, 1.0).astype(g.dtype))
        ga = gb = None
        if isinstance(a, Tensor):  # shut where b wins
            b_wins = np.broadcast_to(cls.compare(b_data, a_data), g.shape)
            ga = unbroadcast(_gate(g, b_wins, keep=False), a.shape)
        if isinstance(b, Tensor):
            a_wins = np.broadcast_to(cls.compare(a_data, b_data), g.shape)
            gb = unbroadcast(_gate(g, a_wins, keep=False), b.shape)
        return ga, gb


class Maximum(_Extremum):
    """max(a, b) elementwise; the larger gets g, ties split it."""

    compare = staticmethod(np.greater)
    select = staticmethod(np.maximum)


def maximum(a, b):
    """Elementwise max; ties split the gradient evenly."""
    return Maximum.apply(*promote_operands(a, b))


class Minimum(_Extremum):
    """min(a, b) elementwise; the smaller gets g, ties split it."""

    compare = staticmethod(np.less)
    select = staticmethod(np.minimum)


def minimum(a, b):
    """Elementwise min; ties split the gradient evenly."""
    return Minimum.apply(*promote_operands(a, b))


class Where(Function):
    """``condition ? a : b``; ``condition`` gets no gradient."""

    retain_inputs = ()  # the condition is an array, kept as it is
    retain_output = False


    @staticmethod
    def forward(ctx, condition, a, b):
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        condition, a, b = ctx.inputs
        ga = unbroadcast(where(condition, g, 0.0), a.shape) if isinstance(a, Tensor) else None
        gb = unbroadcast(where(condition, 0.0, g), b.shape) if isinstance(b, Tensor) else None
        return None, ga, gb


def where(condition, a=None, b=None):
    """Elementwise ``a if condition else b`` with broadcasting; no gradient for ``condition``.
    With ``condition`` alone, NumPy's and torch's ``where(condition)``: the tuple of index
    arrays of its nonzero entries (``nonzero``)."""
    if a is None and b is None:
        from tinydl.ops.sort import nonzero
        return nonzero(condition)
    if a is None or b is None:
        raise TypeError("where: pass both values to choose from, or condition alone for the "
                        "indices of its nonzero entries")
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    cond = held_array(cond, condition)  # (a copy under grad mode: backward reads it)
    try:
        np.broadcast_shapes(cond.shape, shape_of(a), shape_of(b))
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape}, {shape_of(a)} and {shape_of(b)} cannot "
                         "be broadcast together") from None
    if all(isinstance(v, (bool, int, float)) for v in (a, b)):
        # Two Python numbers: torch's dtype (float32 for a float, int64, bool), not NumPy's
        # float64 for 1.5.
        kind = (DEFAULT_FLOAT if any(isinstance(v, float) for v in (a, b)) else
                np.bool_ if all(isinstance(v, bool) for v in (a, b)) else np.int64)
        a, b = Tensor._wrap(np.asarray(a, kind)), Tensor._wrap(np.asarray(b, kind))
    for number, other in ((a, b), (b, a)):
        if (type(number) is int and isinstance(other, Tensor) and other.dtype.kind in "iu"
                and not np.iinfo(other.dtype).min <= number <= np.iinfo(other.dtype).max):
            # np.where would wrap it (300 -> 44 for int8); arithmetic refuses, as torch here
            raise OverflowError(f"where: Python integer {number} out of bounds for "
                                f"{other.dtype} (the other value's dtype)")
    return Where.apply(cond, *promote_operands(a, b))


def _is_integral(x, arrays=False):
    """An integral or bool Tensor, or a Python or NumPy integer (or, with ``arrays``, an
    integral NumPy array)."""
    if isinstance(x, Tensor) or arrays and isinstance(x, np.ndarray):
        return x.dtype.kind in "iub"
    return isinstance(x, (int, np.integer, np.bool_))  # (np.bool_ is not an np.integer)
