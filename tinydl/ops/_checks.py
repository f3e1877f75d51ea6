"""Argument checks the public op wrappers share (here and in ``tinydl.nn.functional``):
tensors, int tuples, ranks, dtypes, indices."""
import contextlib
import math
import numbers

import numpy as np

from tinydl.ops._util import ShapeError
from tinydl.tensor import Tensor


def _tensor(x, caller, name="input"):
    """``x`` as a Tensor (arrays, numbers and lists are wrapped); anything else raises."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, numbers.Number, list)):
        return Tensor(x) if not isinstance(x, np.ndarray) else Tensor._wrap(x)
    raise TypeError(f"{caller}: {name} must be a Tensor or an array, got {type(x).__name__}")


def _check_float_dtypes(x, weight, caller):
    """Refuse floating inputs whose dtype differs from the weight's (torch refuses them too).

    NumPy would silently promote float32 weights and a float64 input to a float64 result;
    integer inputs are left to NumPy's promotion here (the layers refuse those as well).
    """
    if x.dtype != weight.dtype and x.dtype.kind == "f" and weight.dtype.kind == "f":
        raise TypeError(f"{caller}: input of dtype {x.dtype} and weight of dtype {weight.dtype} "
                        f"differ; cast one of them (e.g. .astype({weight.dtype}))")


def _index_array(idx, caller):
    """The integer array behind class or embedding indices (a Tensor or array-like)."""
    data = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{caller}: indices must be integers, got dtype {data.dtype}")
    return data


def _tuple(value, n, caller, name, minimum):
    """An int or a sequence of n ints, as a tuple of n ints, each at least ``minimum``."""
    # Plain ints and tuples of them (what layers store) pass without the checks below, whose
    # ABC isinstance calls cost 3 us a call; every convolution and pooling makes several.
    if type(value) is int:
        if value >= minimum:
            return (value,) * n
    elif type(value) is tuple and len(value) == n:
        for v in value:
            if type(v) is not int or v < minimum:
                break
        else:
            return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{caller}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{caller}: {name} must be >= {minimum}, got {value!r}")
    return values


def _check_ndim(x, ndims, caller, layout):
    """Refuse an ``x`` whose number of axes is not in ``ndims``; ``layout`` names the shape."""
    if x.ndim not in ndims:
        raise ShapeError(f"{caller}: expected input of shape {layout}, got shape {x.shape}")


@contextlib.contextmanager
def as_1d(op, two_d):
    """Run the 2-D op that the 1-D ``op`` is computed with: its errors name ``op`` and say
    that their pairs are (1, L), a unit height and the sequence's entry."""
    try:
        yield
    except (ValueError, TypeError) as err:
        message = str(err)
        if message.startswith(two_d + ":"):
            message = op + message[len(two_d):]
        raise type(err)(f"{message} ({op} runs as {two_d} on a (1, L) plane: in each pair "
                        "the first entry is the unit height)") from None


def _check_fill_fits(value, dtype, caller):
    """torch's check: a fill that the input's dtype cannot hold (uint8 -1 would wrap to 255,
    float32 1e40 become inf) is an error, not a silently different value."""
    if value is None or isinstance(value, (str, bytes)):
        # NumPy would store None as NaN (float) or fail inside with float()'s message.
        raise TypeError(f"{caller}: the fill value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__} {value!r}")
    if dtype.kind == "b":
        return
    number = float(value)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        fits = math.isfinite(number) and info.min <= number <= info.max
    else:
        fits = not math.isfinite(number) or abs(number) <= float(np.finfo(dtype).max)
    if not fits:
        raise ValueError(f"{caller}: value {value!r} cannot be converted to {dtype} without "
                         "overflow")


def _flag(value, caller, name):
    """A True/False argument as a bool; anything else raises (torch's rule). NumPy's order
    puts other arguments in those places (``argsort(a, axis, kind)``, ``ndarray.put(ind, v,
    mode)``), and a string there read as True: a descending sort, an accumulating put."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{caller}: {name} must be True or False, got {value!r} (NumPy's argument "
                    "in that place goes by keyword here)")
