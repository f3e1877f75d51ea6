"""NumPy's NaN-ignoring reductions beyond nansum / nanmean (nanmax, nanmin, nanargmax,
nanargmin, nanprod, nancumsum, nanvar, nanstd), and NumPy's percentile, nanpercentile, ptp
and average.

nanprod, nancumsum, nanvar and nanstd are the plain ops of ``reduce.py`` / ``scan.py`` on x
with its NaN entries replaced by the neutral value (1 for products, 0 for sums) through
``where``; nanmax / nanmin have their own node (NaN read as -inf / +inf, but never among
the ties of the gradient). A NaN entry gets a gradient of exactly 0. A slice with no
numbers gives NaN (NumPy's value, without NumPy's RuntimeWarning), except ``nanargmax`` /
``nanargmin``, which raise there as NumPy does, and ``nanprod`` / ``nancumsum``, whose empty
product / sum is 1 / 0. None of these names is a torch function, so torch's ``dim=`` /
``keepdim=`` are simply aliases (``torch_names``).
"""
import math

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import (as_input, exact_for_integers, expand_reduced, keepdims_shape,
                              normalize_axes, operands, torch_names)
from tinydl.ops.elementwise import _gate, astype, where
from tinydl.ops.order import nanquantile
from tinydl.ops.reduce import (_arg, _RootOfVariance, _widened_on_overflow, max, mean, min,
                               prod, quantile, sum, var)
from tinydl.ops.scan import cumprod, cumsum
from tinydl.tensor import Tensor


def _filled(x, value):
    """x with its NaN entries replaced by ``value`` (a constant: no gradient reaches them),
    and the NaN mask; x itself and no mask where x is not floating or holds no NaN."""
    if x.dtype.kind != "f":
        return x, None
    nan = np.isnan(x.data)
    if not nan.any():
        return x, None
    return where(nan, np.asarray(value, dtype=x.dtype), x), nan


class _NanExtremum(Function):
    """nanmax / nanmin over axes: the extreme of x with NaN read as -inf / +inf (``fill``),
    NaN for a slice of NaNs only. The gradient goes to the extreme elements that are not NaN,
    split evenly among ties (as ``max``), and is exactly 0 at the NaN entries: filling NaN
    and calling ``max`` would count them among the ties of a -inf maximum."""

    reduce = fill = None

    @classmethod
    def forward(cls, ctx, x, axes=(), keepdims=False, op=""):
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{op}: reduction over a zero-length axis of a tensor of shape "
                             f"{x.shape} (axes {axes}) has no identity")
        ctx.axes, ctx.keepdims = axes, keepdims
        if x.dtype.kind != "f":
            return cls.reduce(x, axis=axes, keepdims=keepdims)
        nan = np.isnan(x)
        out = cls.reduce(np.where(nan, cls.fill, x), axis=axes, keepdims=keepdims)
        return np.where(np.all(nan, axis=axes, keepdims=keepdims), np.nan, out).astype(x.dtype)

    @classmethod
    def backward(cls, ctx, g):
        x = ctx.inputs[0]
        hits = x.data == ctx.output.data.reshape(keepdims_shape(x.shape, ctx.axes))
        count = np.maximum(hits.sum(axis=ctx.axes, keepdims=True), 1).astype(g.dtype)
        grad = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims) / Tensor._wrap(count)
        return (_gate(grad, hits),)


class NanMax(_NanExtremum):
    reduce, fill = staticmethod(np.max), -np.inf


class NanMin(_NanExtremum):
    reduce, fill = staticmethod(np.min), np.inf


@torch_names
def nanmax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` ignoring NaN (``np.nanmax``): max of x with NaN read as -inf; NaN
    for a slice of NaNs only. Ties share the gradient as ``max``; NaN entries get 0."""
    x = as_input(x)
    return NanMax.apply(x, axes=normalize_axes(axis, x.ndim, "nanmax", zero_d=True),
                        keepdims=keepdims, op="nanmax")


@torch_names
def nanmin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` ignoring NaN (``np.nanmin``): min of x with NaN read as +inf; NaN
    for a slice of NaNs only. Ties share the gradient as ``min``; NaN entries get 0."""
    x = as_input(x)
    return NanMin.apply(x, axes=normalize_axes(axis, x.ndim, "nanmin", zero_d=True),
                        keepdims=keepdims, op="nanmin")


def _nan_arg(fn, fill, op, x, axis, keepdims):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind == "f" and data.size:
        nan = np.isnan(data)
        if nan.any():
            over = None if axis is None else normalize_axes(axis, data.ndim, op, zero_d=True)
            if data.ndim and np.all(nan, axis=over).any():
                raise ValueError(f"{op}: All-NaN slice encountered (shape {data.shape}, axis "
                                 f"{axis}): no index to give, as np.{op}")
            if not data.ndim:
                raise ValueError(f"{op}: All-NaN slice encountered (a 0-d NaN)")
            data = np.where(nan, fill, data)
    return _arg(fn, op, data, axis, keepdims)


@torch_names
def nanargmax(x, axis=None, keepdims=False):
    """Index (int64, no gradient) of the maximum over ``axis`` ignoring NaN (``np.nanargmax``;
    of the flattened x when None). A slice of NaNs only raises ValueError, as NumPy."""
    return _nan_arg(np.argmax, -np.inf, "nanargmax", x, axis, keepdims)


@torch_names
def nanargmin(x, axis=None, keepdims=False):
    """Index (int64, no gradient) of the minimum over ``axis`` ignoring NaN (``np.nanargmin``;
    of the flattened x when None). A slice of NaNs only raises ValueError, as NumPy."""
    return _nan_arg(np.argmin, np.inf, "nanargmin", x, axis, keepdims)


@torch_names
def nanprod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` with NaN read as 1 (``np.nanprod``; 1 for a slice of NaNs only).
    The gradient is ``prod``'s, 0 at the NaN entries; integers give int64 as ``prod``."""
    x = as_input(x)
    return prod(_filled(x, 1.0)[0], axis=axis, keepdims=keepdims, dtype=dtype)


@torch_names
def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` with NaN read as 0 (``np.nancumsum``; the flattened x when
    None). Shape and dtypes as ``cumsum``; NaN entries get no gradient."""
    x = as_input(x)
    return cumsum(_filled(x, 0.0)[0], axis=axis, dtype=dtype)


@torch_names
def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` with NaN read as 1 (``np.nancumprod``; the flattened x
    when None). Shape and dtypes as ``cumprod``; NaN entries get no gradient."""
    x = as_input(x)
    return cumprod(_filled(x, 1.0)[0], axis=axis, dtype=dtype)


def _nan_variance(x, axis, ddof, keepdims):
    """sum((x - m)^2) / (count - ddof) over the non-NaN entries, m their mean; NaN where
    count - ddof <= 0 (NumPy's value there, without its warning)."""
    if x.dtype.kind != "f":  # no NaN to skip: var (float32 for integers)
        return var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    if x.dtype == np.float16:  # in float32: a count past 65504 is inf in float16 (NaN out)
        return astype(_nan_variance(astype(x, np.float32), axis, ddof, keepdims), np.float16)
    axes = normalize_axes(axis, x.ndim, "nanvar", zero_d=True)
    nan = np.isnan(x.data)
    count = np.sum(~nan, axis=axes, keepdims=True).astype(x.dtype)
    zero = np.asarray(0.0, dtype=x.dtype)
    filled = where(nan, zero, x) if nan.any() else x
    mean = sum(filled, axis=axes, keepdims=True) / Tensor._wrap(np.maximum(count, 1))
    centred = where(nan, zero, filled - mean) if nan.any() else filled - mean
    dof = count - ddof
    if not keepdims:
        dof = dof.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    bad = dof <= 0
    out = sum(centred * centred, axis=axes, keepdims=keepdims) / Tensor._wrap(
        np.where(bad, 1, dof).astype(x.dtype))
    return where(bad, np.asarray(np.nan, dtype=x.dtype), out) if bad.any() else out


@torch_names
@exact_for_integers("x")
def nanvar(x, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis`` of the non-NaN entries (``np.nanvar``): sum((x - m)^2) /
    (count - ddof), m their mean (NumPy's default ddof=0; ``correction=`` is an alias). NaN
    where count - ddof <= 0, a slice of NaNs only included; NaN entries get no gradient."""
    return _widened_on_overflow(_nan_variance, x, axis, ddof, keepdims)


@torch_names
@exact_for_integers("x")
def nanstd(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation sqrt(nanvar) over ``axis`` (``np.nanstd``); its gradient is 0 over
    a constant slice (as ``std``) and at the NaN entries."""
    return _widened_on_overflow(lambda *args: _RootOfVariance.apply(_nan_variance(*args)), x,
                                axis, ddof, keepdims, root=True)


# ----------------------------------------------------------------------------- percentiles
def _percent(op, q):
    """q (percent, a number, array or Tensor without gradient) as fractions in [0, 1]."""
    qs = np.asarray(q.data if isinstance(q, Tensor) else q, dtype=np.float64)
    if not ((qs >= 0) & (qs <= 100)).all():
        raise ValueError(f"{op}: percentiles must lie in [0, 100], got {q}")
    return qs / 100


_PERCENTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _method(op, method, interpolation):
    if interpolation is not None:
        method = interpolation
    if method not in _PERCENTILE_METHODS:
        raise ValueError(f"{op}: tinydl computes the methods {_PERCENTILE_METHODS}, got "
                         f"method={method!r} (NumPy's other, H&F, methods are not implemented)")
    return method


@torch_names
@exact_for_integers("x")
def percentile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """The q-th percentiles over ``axis`` (``np.percentile``): ``quantile(x, q / 100)``, q in
    [0, 100]; ``method`` one of 'linear', 'lower', 'higher', 'nearest', 'midpoint'. Shape:
    q.shape + the reduced shape of x; gradients as ``quantile``."""
    method = _method("percentile", method, interpolation)
    return quantile(x, _percent("percentile", q), axis=axis, keepdims=keepdims, method=method)


@torch_names
@exact_for_integers("x")
def nanpercentile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """The q-th percentiles over ``axis`` of the non-NaN values (``np.nanpercentile``):
    ``nanquantile(x, q / 100)``; as ``percentile`` otherwise."""
    method = _method("nanpercentile", method, interpolation)
    return nanquantile(x, _percent("nanpercentile", q), axis=axis, keepdims=keepdims,
                       method=method)


@torch_names
def ptp(x, axis=None, keepdims=False):
    """Peak to peak, max - min over ``axis`` (``np.ptp``); the gradient is ``max``'s minus
    ``min``'s (ties share it). Integers keep their dtype, as NumPy."""
    x = as_input(x)
    if x.dtype == np.bool_:
        raise TypeError("ptp: boolean input has no subtraction (as NumPy); cast it first")
    return max(x, axis=axis, keepdims=keepdims) - min(x, axis=axis, keepdims=keepdims)


@exact_for_integers("x", "weights")
def average(x, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean sum(w x) / sum(w) over ``axis`` (``np.average``; the mean when
    ``weights`` is None). ``weights`` has x's shape, or is 1-D along one given ``axis``.
    ``returned=True`` also gives sum(w) broadcast to the average's shape. Differentiable in
    x and in ``weights``; sum(w) = 0 raises ZeroDivisionError, as NumPy."""
    x = as_input(x)  # (integers arrive in float64 through exact_for_integers)
    axes = normalize_axes(axis, x.ndim, "average", zero_d=True)
    if weights is None:
        avg = mean(x, axis=axes, keepdims=keepdims)
        scale = np.full(avg.shape, math.prod([x.shape[a] for a in axes]), dtype=avg.dtype)
        return (avg, Tensor._wrap(scale)) if returned else avg
    w = (operands(weights, x)[0] if isinstance(weights, (list, tuple))
         else as_input(weights))
    if w.dtype.kind in "iub":
        w = Tensor._wrap(w.data.astype(x.dtype))
    elif w.dtype != x.dtype:  # both in the wider float, as NumPy: float16 weights summed in
        wide = np.result_type(x.dtype, w.dtype)  # float16 overflowed past 65504 (average 0)
        x, w = astype(x, wide), astype(w, wide)
    if w.shape != x.shape:
        if axis is None:
            raise TypeError(f"average: weights of shape {w.shape} differ from x's {x.shape}; "
                            "give axis= for weights along some axes")
        given = [normalize_axes(a, x.ndim, "average")[0]
                 for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)]
        if w.shape != tuple(x.shape[a] for a in given):
            raise ValueError(f"average: weights of shape {w.shape} do not fit x's shape "
                             f"{x.shape} along axis {axis}")
        # weights along the given axes (in the order given) broadcast over the others
        w = w.transpose(tuple(np.argsort(given))).reshape(
            [n if i in given else 1 for i, n in enumerate(x.shape)])
    scale = sum(w + Tensor._wrap(np.zeros(x.shape, dtype=w.dtype)), axis=axes,
                keepdims=keepdims)
    if (scale.data == 0).any():
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = sum(x * w, axis=axes, keepdims=keepdims) / scale
    return (avg, scale) if returned else avg
