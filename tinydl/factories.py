"""Tensor factories: zeros, ones, full, empty, eye, arange, linspace, logspace, randn, rand,
randint, randperm, the ``_like`` forms, and ``from_numpy`` / ``as_tensor``.

Floating results default to float32; ``dtype=`` overrides. ``full`` and ``arange`` take their
dtype from the value as ``torch`` does (ints give int64, bools bool). Random factories draw
from tinydl's seeded generator (``tinydl.manual_seed``).
"""
import functools
import inspect
import math
import numbers
import operator

import numpy as np

from tinydl import random as _random
from tinydl.ops.random import draw_integers
from tinydl.tensor import Tensor, _numeric_dtype, _sizes

_DEFAULT = np.float32


def _dtype_checked(fn):
    """Read ``fn``'s ``dtype`` (keyword or positional) as ``Tensor.to`` reads it: torch's
    names too (``torch.float64``: NumPy's bare 'Cannot interpret' before), and only numbers
    or booleans (``zeros(2, dtype=object)`` or ``str`` made tensors of objects or strings)."""
    op = fn.__name__
    params = list(inspect.signature(fn).parameters.values())
    names = [q.name for q in params]
    # dtype's place among the positional arguments; none after *shape (zeros(2, 3) is a shape)
    position = names.index("dtype")
    if any(q.kind is not q.POSITIONAL_OR_KEYWORD for q in params[:position + 1]):
        position = None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.get("dtype") is not None:
            kwargs["dtype"] = _numeric_dtype(kwargs["dtype"], op)
        elif position is not None and len(args) > position and args[position] is not None:
            args = args[:position] + (_numeric_dtype(args[position], op),) + args[position + 1:]
        return fn(*args, **kwargs)

    return wrapper


def _shape(shape, op, size=None):
    """The shape given as ints (``zeros(2, 3)``), one tuple or list (``zeros((2, 3))``) or
    torch's keyword (``zeros(size=(2, 3))``; the Tensor methods' rule, ``tensor._sizes``),
    each entry checked (``size=2.5`` is refused here, naming the op)."""
    shape = _sizes(shape, size, op, "size")
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, (bool, np.bool_)) or n < 0:
            raise ValueError(f"{op}: shape entries must be non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _make(data, requires_grad):
    return Tensor._wrap(data).requires_grad_(requires_grad)


def tensor(data, requires_grad=False, dtype=None):
    """Build a Tensor (same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


@_dtype_checked
def zeros(*shape, size=None, dtype=None, requires_grad=False):
    """A tensor of zeros; ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(np.zeros(_shape(shape, "zeros", size), dtype=dtype or _DEFAULT), requires_grad)


@_dtype_checked
def ones(*shape, size=None, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _make(np.ones(_shape(shape, "ones", size), dtype=dtype or _DEFAULT), requires_grad)


def _value_dtype(value):
    """torch's dtype for a Python fill value: bool, int64 or the default float."""
    if isinstance(value, (bool, np.bool_)):
        return np.bool_
    if isinstance(value, (numbers.Integral, np.integer)):
        return np.int64
    return _DEFAULT


def _fill(fill_value, dtype, op, name="fill_value"):
    """``fill_value`` checked as torch checks it: one real number (a 0-d Tensor's too) that
    ``dtype`` holds; NumPy's unsafe cast would make NaN or 1e30 int64's minimum silently."""
    if isinstance(fill_value, Tensor):
        if fill_value.size != 1:
            raise ValueError(f"{op}: {name} must be a number or a one-element tensor, got "
                             f"a tensor of shape {fill_value.shape}")
        fill_value = fill_value.item()
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    if not isinstance(fill_value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {fill_value!r}")
    dtype = np.dtype(dtype or _value_dtype(fill_value))
    lowest, highest = _dtype_range(dtype)
    if dtype.kind in "iu" and not (math.isfinite(fill_value)
                                  and lowest <= fill_value <= highest):
        raise OverflowError(f"{op}: {name} {fill_value!r} does not fit dtype {dtype}")
    if dtype.kind == "f" and math.isfinite(fill_value) and not lowest <= fill_value <= highest:
        raise OverflowError(f"{op}: {name} {fill_value!r} overflows dtype {dtype}")
    return fill_value, dtype


def _dtype_range(dtype):
    """The lowest and highest finite values ``dtype`` holds, as Python numbers (a NumPy
    float16 scalar in a comparison would itself overflow)."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind == "f":
        return float(np.finfo(dtype).min), float(np.finfo(dtype).max)
    return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)


_MISSING = object()


@_dtype_checked
def full(shape=None, fill_value=_MISSING, dtype=None, requires_grad=False, *, size=None):
    """A tensor of ``shape`` filled with ``fill_value`` (int values give int64, as torch);
    ``size=`` is torch's name for the shape."""
    if size is not None:
        if shape is not None:
            raise TypeError(f"full: got the shape both as shape={shape} and as size={size}")
        shape = size
    if shape is None or fill_value is _MISSING:
        raise TypeError("full: give the shape (or torch's size=) and fill_value")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    fill_value, dtype = _fill(fill_value, dtype, "full")
    return _make(np.full(_shape(shape, "full"), fill_value, dtype=dtype), requires_grad)


@_dtype_checked
def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with the shape (and, unless given, the dtype) of ``t``."""
    arr = _like(t)
    fill_value, dtype = _fill(fill_value, dtype or arr.dtype, "full_like")
    return _make(np.full(arr.shape, fill_value, dtype=dtype), requires_grad)


def _like(t):
    """The array of a ``_like`` factory's model: a Tensor's or an array's own, and Python data
    by ``Tensor``'s rules (``[1.0, 2.0]`` is float32, as ``tinydl.tensor`` makes it)."""
    if isinstance(t, Tensor):
        return t.data
    if isinstance(t, (np.ndarray, np.generic)):
        return np.asarray(t)
    return Tensor(t).data


@_dtype_checked
def empty(*shape, size=None, dtype=None, requires_grad=False):
    """An uninitialised tensor (NumPy's ``empty``: whatever the memory held)."""
    return _make(np.empty(_shape(shape, "empty", size), dtype=dtype or _DEFAULT), requires_grad)


@_dtype_checked
def eye(n, m=None, dtype=None, requires_grad=False):
    """Identity matrix of n rows and m (default n) columns."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (not isinstance(value, (int, np.integer))
                                  or isinstance(value, bool) or value < 0):
            raise ValueError(f"eye: {name} must be a non-negative integer, got {value!r}")
    return _make(np.eye(n, m, dtype=dtype or _DEFAULT), requires_grad)


@_dtype_checked
def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop) as ``np.arange``; integers stay int64, floats become float32."""
    # NumPy scalars as Python numbers, as torch reads them: np.arange counted float32 ones
    # in float32 and gave 3 values for arange(0, np.float32(0.3), np.float32(0.1)), torch 4
    start, stop, step = (v.item() if isinstance(v, np.generic) else v for v in (start, stop, step))
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r} (start {start!r}, "
                         f"stop {stop!r})")
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if value is not None and not np.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value!r}")
    if dtype is not None and np.dtype(dtype).kind in "iub" and not all(
            float(v).is_integer() for v in (start, stop, step) if v is not None):
        # torch truncates the step first (0.1 then raises), NumPy steps by the truncated
        # difference of its first two values, a cast of the float range rounds each value:
        # three answers to one call, so none is given.
        raise ValueError(f"arange: a fractional start, stop or step ({start!r}, {stop!r}, "
                         f"{step!r}) with the integer dtype {np.dtype(dtype)} has no single "
                         "meaning (torch and NumPy differ); build the float range and cast it")
    # arange(stop, step=s) counts 0, s, 2s... as NumPy (the step was ignored)
    data = np.arange(start, stop, step) if stop is not None else np.arange(0, start, step)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(_DEFAULT)
    else:
        data = data.astype(np.int64, copy=False)
    return _make(data, requires_grad)


@_dtype_checked
def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (torch's argument names)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    if dtype is not None and np.dtype(dtype) == np.bool_:
        raise ValueError("linspace: a bool dtype holds no evenly spaced values (torch refuses it)")
    for name, value in (("start", start), ("end", end)):  # the cast below wrapped 300 to 44
        _fill(value, dtype or _DEFAULT, "linspace", name)  # in uint8, NaN to -2**63
    return _make(np.linspace(start, end, steps).astype(dtype or _DEFAULT), requires_grad)


@_dtype_checked
def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False):
    """``base ** linspace(start, end, steps)`` (torch's arguments)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative integer, got {steps!r}")
    if isinstance(base, (bool, np.bool_)):  # NumPy's 4th argument, read as base 1 or 0
        raise TypeError(f"logspace: base must be a number, got {base!r}; the fourth argument "
                        "is torch's base here, not NumPy's endpoint (always included)")
    return _make(np.logspace(start, end, steps, base=base).astype(dtype or _DEFAULT),
                 requires_grad)


def _float_dtype(dtype, op):
    """The floating dtype a random factory draws into (torch has no random int or bool
    normal/uniform: a cast would truncate every value)."""
    dtype = np.dtype(dtype or _DEFAULT)
    if dtype.kind != "f":
        raise TypeError(f"{op}: dtype must be floating point, got {dtype} (randint draws "
                        "integers)")
    return dtype


@_dtype_checked
def randn(*shape, size=None, dtype=None, requires_grad=False):
    """Standard normal samples from tinydl's seeded generator."""
    dtype = _float_dtype(dtype, "randn")
    data = _random.get_generator().standard_normal(_shape(shape, "randn", size))
    return _make(data.astype(dtype), requires_grad)


@_dtype_checked
def rand(*shape, size=None, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from tinydl's seeded generator."""
    dtype = _float_dtype(dtype, "rand")
    data = _random.get_generator().random(_shape(shape, "rand", size))
    if dtype != np.float64:
        # Drawn in float64, a value within half an ulp of 1 rounds up to 1.0 in float32 or
        # float16 (3 in 10^8, 3 in 10^4): kept below 1, as the interval is half-open.
        data = np.minimum(data.astype(dtype), np.nextafter(dtype.type(1), dtype.type(0)))
    return _make(data, requires_grad)


@_dtype_checked
def randint(low=None, high=None, size=None, dtype=None):
    """Integers uniform in [low, high) (``randint(high, size)`` starts at 0), int64 by default.

    Accepts torch's order ``randint(low, high, size)`` and ``randint(high, size)``, and its
    keywords (``randint(high=5, size=(3,))``: low 0).
    """
    if low is None:
        if high is None:
            raise TypeError("randint: give high (and low, default 0), e.g. randint(0, 10, (3,))")
        low = 0
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
    bounds = []
    for name, value in (("low", low), ("high", high)):
        try:  # an int, a NumPy integer or a 0-d integer tensor, as torch's
            if isinstance(value, (bool, np.bool_)):
                raise TypeError
            bounds.append(operator.index(value.item() if isinstance(value, Tensor) else value))
        except TypeError:
            raise TypeError(f"randint: {name} must be an int, got {value!r} (torch refuses a "
                            "float bound; NumPy truncates it, which samples outside it)") from None
    low, high = bounds
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    dtype = np.dtype(dtype or np.int64)
    lowest, highest = _dtype_range(dtype)
    if low < lowest or high - 1 > highest:  # the cast would wrap them (torch refuses)
        raise ValueError(f"randint: [{low}, {high}) does not fit dtype {dtype} "
                         f"([{lowest}, {highest}])")
    data = _random.get_generator().integers(low, high, _shape(size, "randint"))
    return _make(_random.below(data, high, dtype), False)


@_dtype_checked
def randperm(n, dtype=np.int64, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (torch's ``randperm``), int64 by default; ``dtype``
    must hold ``n - 1`` exactly (a float dtype up to ``2^mantissa + 1`` values, as torch)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm: n must be an int, got {n!r}")
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf":
        raise TypeError(f"randperm: dtype must be an integer or floating dtype, got {dtype}")
    top = 2 ** (np.finfo(dtype).nmant + 1) if dtype.kind == "f" else int(np.iinfo(dtype).max)
    if n - 1 > top:
        raise ValueError(f"randperm: n = {n} values do not all fit dtype {dtype} (at most "
                         f"{top + 1})")
    return _make(_random.get_generator().permutation(int(n)).astype(dtype), requires_grad)


@_dtype_checked
def randint_like(t, low=0, high=None, dtype=None, requires_grad=False):
    """Integers uniform in [low, high) with the shape (and, unless given, the dtype) of ``t``:
    torch's ``randint_like(t, high)`` or ``randint_like(t, low, high)``; the range must fit
    the dtype (as ``Tensor.random_``)."""
    if high is None:
        low, high = 0, low
    arr = _like(t)
    dtype = np.dtype(dtype or arr.dtype)
    return _make(draw_integers("randint_like", arr.shape, dtype, low, high), requires_grad)


@_dtype_checked
def rand_like(t, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) with the shape (and, unless given, the dtype) of ``t``."""
    arr = _like(t)
    return rand(*arr.shape, dtype=dtype or arr.dtype, requires_grad=requires_grad)


@_dtype_checked
def randn_like(t, dtype=None, requires_grad=False):
    """Standard normal samples with the shape (and, unless given, the dtype) of ``t``."""
    arr = _like(t)
    return randn(*arr.shape, dtype=dtype or arr.dtype, requires_grad=requires_grad)


def from_numpy(array):
    """A Tensor sharing ``array``'s memory (changes to one show in the other), as torch's."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: arrays of dtype {array.dtype} cannot become tensors; "
                        "tensors hold numbers or booleans")
    return Tensor._wrap(array)


@_dtype_checked
def as_tensor(data, dtype=None):
    """``data`` as a Tensor, without a copy where it already is one (or an array of ``dtype``)."""
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.astype(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


@_dtype_checked
def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and, unless given, the dtype) of ``t``."""
    arr = _like(t)
    return _make(np.zeros(arr.shape, dtype=dtype or arr.dtype), requires_grad)


@_dtype_checked
def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and, unless given, the dtype) of ``t``."""
    arr = _like(t)
    return _make(np.ones(arr.shape, dtype=dtype or arr.dtype), requires_grad)
