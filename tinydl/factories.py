"""Tensor factories: zeros, ones, full, eye, arange, randn, rand and the ``_like`` forms.

Floating results default to float32; ``dtype=`` overrides. Random factories draw from
tinydl's seeded generator (``tinydl.manual_seed``).
"""
import numpy as np

from tinydl import random as _random
from tinydl.tensor import Tensor

_DEFAULT = np.float32


def _shape(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{op}: shape entries must be non-negative integers, got {shape}")
    return tuple(int(n) for n in shape)


def _make(data, requires_grad):
    return Tensor._wrap(data).requires_grad_(requires_grad)


def tensor(data, requires_grad=False, dtype=None):
    """Build a Tensor (same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros; ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(np.zeros(_shape(shape, "zeros"), dtype=dtype or _DEFAULT), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _make(np.ones(_shape(shape, "ones"), dtype=dtype or _DEFAULT), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _make(np.full(_shape(shape, "full"), fill_value, dtype=dtype or _DEFAULT),
                 requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """Identity matrix of n rows and m (default n) columns."""
    return _make(np.eye(n, m, dtype=dtype or _DEFAULT), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop) as ``np.arange``; integers stay int64, floats become float32."""
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(_DEFAULT)
    return _make(data, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from tinydl's seeded generator."""
    data = _random.get_generator().standard_normal(_shape(shape, "randn"))
    return _make(data.astype(dtype or _DEFAULT), requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from tinydl's seeded generator."""
    data = _random.get_generator().random(_shape(shape, "rand"))
    return _make(data.astype(dtype or _DEFAULT), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and, unless given, the dtype) of ``t``."""
    arr = np.asarray(t)
    return _make(np.zeros(arr.shape, dtype=dtype or arr.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and, unless given, the dtype) of ``t``."""
    arr = np.asarray(t)
    return _make(np.ones(arr.shape, dtype=dtype or arr.dtype), requires_grad)
