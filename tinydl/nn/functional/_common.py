"""Argument checks shared by the functional families: tensors, int tuples, ranks, dtypes."""
import numbers

from tinydl.ops._checks import _check_float_dtypes, _index_array, _tensor  # noqa: F401
from tinydl.ops._util import ShapeError


def _tuple(value, n, caller, name, minimum):
    """An int or a sequence of n ints, as a tuple of n ints, each at least ``minimum``."""
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, bool):
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
    if x.ndim not in ndims:
        raise ShapeError(f"{caller}: expected input of shape {layout}, got shape {x.shape}")
