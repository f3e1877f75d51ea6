"""Order statistics beyond ``sort``, ``quantile`` and ``median``: torch's ``kthvalue``,
``mode``, ``aminmax`` and ``msort``; NumPy's ``nanquantile`` and ``nanmedian`` (and torch's
nanmedian as ``Tensor.nanmedian``).

Every value returned is an element of the input picked by a stable sort (or an interpolation
of two), taken with ``Gather`` or indexing, so its gradient goes back to that element.
Indices are int64. Ties: ``kthvalue`` picks the k-th in stable sorted order (the earlier
position first); ``mode`` the last position of the smallest most frequent value, as torch
does for short slices (torch's index among equal values comes from an unstable sort and is
unspecified).
"""
import math
from collections import namedtuple

import numpy as np

from tinydl.ops._util import (as_input, exact_for_integers, keepdims_shape, refused_spelling,
                              torch_dim_spelled, torch_names)
from tinydl.ops.gather import Gather
from tinydl.ops.reduce import (_MEAN_OF_MIDDLE, _quantile_setup, _row_quantiles,
                               _values_only, amax, amin, integer_lower_median)
from tinydl.ops.sort import _sort_axis, _stable_argsort, sort
from tinydl.tensor import Tensor

KthvalueResult = namedtuple("KthvalueResult", ["values", "indices"])
ModeResult = namedtuple("ModeResult", ["values", "indices"])
AminmaxResult = namedtuple("AminmaxResult", ["min", "max"])


def _one_slice_axis(op, x, axis):
    """``(x, axis)``, a 0-d x as shape (1,) (torch: one element along axis 0 or -1); the axis
    must not be empty."""
    if x.ndim == 0:
        _sort_axis(op, axis, 0)
        return x.reshape((1,)), 0
    axis = _sort_axis(op, axis, x.ndim)
    if x.shape[axis] == 0:
        raise IndexError(f"{op}: axis {axis} of shape {x.shape} is empty: no value to pick")
    return x, axis


def _picked(x, position, axis, keepdims, shape):
    """``(values, indices)``: x at ``position`` (an int64 array with length 1 along ``axis``),
    the values differentiable, the axis dropped unless ``keepdims``; ``shape``: x's own
    shape (a 0-d x was made 1-d)."""
    values = Gather.apply(x, index=position, axis=axis)
    if len(shape) == 0:
        return values.reshape(()), Tensor._wrap(position.reshape(()))
    if not keepdims:
        values = values.squeeze(axis)
        position = position.squeeze(axis)
    return values, Tensor._wrap(position)


@torch_names
def kthvalue(x, k, axis=-1, keepdims=False):
    """torch.kthvalue: ``(values, indices)`` of the ``k``-th smallest entry (k from 1) along
    ``axis`` (torch's ``dim``, default the last). NaN counts as the largest value. Among equal
    values the k-th in stable sorted order (torch's choice there is unspecified)."""
    x = as_input(x)
    shape = x.shape
    x, axis = _one_slice_axis("kthvalue", x, axis)
    n = x.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"kthvalue: k must be an int in [1, {n}] for axis {axis} of shape "
                         f"{x.shape}, got {k!r}")
    order = _stable_argsort(x.data, axis, descending=False)
    position = np.take(order, [int(k) - 1], axis=axis).astype(np.int64)
    return KthvalueResult(*_picked(x, position, axis, keepdims, shape))


@torch_names
def mode(x, axis=-1, keepdims=False):
    """torch.mode: ``(values, indices)`` of the most frequent value along ``axis`` (the last by
    default): the smallest one when several are as frequent, and the last position where it
    occurs. NaNs count as one value (torch's index for NaN differs)."""
    x = as_input(x)
    shape = x.shape
    x, axis = _one_slice_axis("mode", x, axis)
    data = np.moveaxis(x.data, axis, -1)
    order = np.argsort(data, axis=-1, kind="stable")
    ordered = np.take_along_axis(data, order, axis=-1)
    same = ordered[..., 1:] == ordered[..., :-1]
    if ordered.dtype.kind == "f":
        same |= np.isnan(ordered[..., 1:]) & np.isnan(ordered[..., :-1])
    n = data.shape[-1]
    steps = np.arange(n)
    # run lengths, read at the last element of each run (the values' runs in sorted order)
    starts = np.concatenate([np.ones(data.shape[:-1] + (1,), bool), ~same], axis=-1)
    run_start = np.maximum.accumulate(np.where(starts, steps, 0), axis=-1)
    ends = np.concatenate([~same, np.ones(data.shape[:-1] + (1,), bool)], axis=-1)
    length = np.where(ends, steps - run_start + 1, 0)
    best = np.argmax(length, axis=-1)[..., None]  # the first longest run: the smallest value
    position = np.take_along_axis(order, best, axis=-1)  # stable: its last occurrence
    position = np.moveaxis(position, -1, axis).astype(np.int64)
    return ModeResult(*_picked(x, position, axis, keepdims, shape))


@torch_names
def aminmax(x, *, axis=None, keepdims=False):
    """torch.aminmax: ``(min, max)`` over ``axis`` (every element when None; torch's ``dim``
    is keyword-only, as here). Tied extremes share the gradient evenly, as ``amin``/``amax``;
    NaN in a slice gives NaN."""
    return AminmaxResult(amin(x, axis=axis, keepdims=keepdims),
                         amax(x, axis=axis, keepdims=keepdims))


def msort(x):
    """torch.msort: ``x`` sorted along its first axis (the values of ``sort(x, axis=0)``)."""
    return sort(x, axis=0).values


# ----------------------------------------------------------------------------- NaN-ignoring
_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


@torch_names
@exact_for_integers("x")
def nanquantile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """The q-th quantiles over ``axis`` of the values that are not NaN, as ``np.nanquantile``
    (and ``torch.nanquantile``, whose ``interpolation`` names the same five methods; both
    agree).

    With the c sorted non-NaN values s_0 <= ... <= s_{c-1} of a slice and v = q (c - 1):
    ``'linear'`` s_lo + (v - lo)(s_hi - s_lo) for lo, hi = floor(v), ceil(v); ``'lower'`` s_lo,
    ``'higher'`` s_hi, ``'nearest'`` s_round(v) (half to even), ``'midpoint'`` the mean of
    s_lo and s_hi. A slice of NaNs only (or no elements) gives NaN (torch refuses an empty
    input). Shape: q.shape + the reduced shape of x. The gradient goes to the selected
    element(s) with the interpolation weights.
    """
    if interpolation is not None:
        method = interpolation
    if method not in _METHODS:
        raise ValueError(f"nanquantile: method must be one of {_METHODS}, got {method!r}")
    return _nan_quantile("nanquantile", x, q, axis, keepdims, method)


def _nan_quantile(op, x, q, axis, keepdims, method):
    x, qs, axes = _quantile_setup(op, x, q, axis)
    if math.prod([x.shape[i] for i in axes]) == 0:
        # no values: NaN (a NaN constant, as the quantile of nothing has no source)
        kept_shape = tuple(m for i, m in enumerate(x.shape) if i not in axes)
        out = Tensor._wrap(np.full(qs.shape + kept_shape, np.nan, dtype=x.dtype))
        return out.reshape(qs.shape + keepdims_shape(x.shape, axes)) if keepdims else out
    return _row_quantiles(x, qs, axes, keepdims, method, skip_nan=True)


@refused_spelling(torch_dim_spelled, lambda x, args, kwargs: (
    "nanmedian: dim= is torch's spelling, but tinydl.nanmedian is NumPy's (the mean of the "
    "two middle values for an even count; torch's is the lower one): write x.nanmedian(dim), "
    "torch's method, for torch's, or tinydl.nanmedian(x, axis=) for NumPy's"))
@_values_only
@torch_names
@exact_for_integers("x")
def nanmedian(x, axis=None, keepdims=False):
    """Median of the values that are not NaN over ``axis``, as ``np.nanmedian``: the mean of
    the two middle ones for an even count (torch.nanmedian takes the lower one:
    ``x.nanmedian()``, the method, is torch's, and torch's ``dim=`` here raises). A slice of
    NaNs only, or no elements, gives NaN. Gradient: the middle element(s), halves for an
    even count."""
    return _nan_quantile("nanmedian", x, 0.5, axis, keepdims, _MEAN_OF_MIDDLE)


@_values_only
@torch_names
def lower_nanmedian(x, axis=None, keepdims=False):
    """torch.nanmedian (``Tensor.nanmedian``, the method): the lower of the two middle non-NaN
    values for an even count, an element of x (integer input stays integer); over an axis
    the values only, as ``Tensor.median``. NaN where a slice has no other value."""
    x = as_input(x)
    if x.dtype == np.bool_:  # it returned a bool; torch refuses it, as median
        raise TypeError("nanmedian: not defined for a bool tensor; cast it first, e.g. .long()")
    if x.dtype.kind in "iu":  # no NaN to skip: the median's exact integer pick
        return Tensor._wrap(integer_lower_median(x.data, axis, keepdims, "nanmedian"))
    return _nan_quantile("nanmedian", x, 0.5, axis, keepdims, "lower")
