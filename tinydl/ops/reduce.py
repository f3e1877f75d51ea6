"""Reductions (sum, mean, max, min, var, std, logsumexp) and the softmax pair.

``axis`` and ``keepdims`` mean what they mean in NumPy. Gradients of reductions are the
output gradient broadcast back over the reduced axes (``expand_reduced``).
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import (DEFAULT_FLOAT, as_tensor, expand_reduced, keepdims_shape,
                              normalize_axes, torch_names)
from tinydl.ops.elementwise import exp, sqrt
from tinydl.tensor import Tensor


class Sum(Function):
    """sum of x over axes; dx = g broadcast back over the reduced axes."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        return np.sum(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims),)


@torch_names
def sum(x, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """Sum over ``axis`` (all axes when None)."""
    x = as_tensor(x)
    return Sum.apply(x, axes=normalize_axes(axis, x.ndim, "sum"), keepdims=keepdims)


class Mean(Function):
    """sum(x) / n over the reduced axes; the mean of no elements is NaN (as NumPy and torch)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        if ctx.count == 0:
            shape = keepdims_shape(x.shape, axes) if keepdims else tuple(
                n for i, n in enumerate(x.shape) if i not in axes)
            return np.full(shape, np.nan, dtype=x.dtype)
        return np.mean(x, axis=axes, keepdims=keepdims, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        grad = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims)
        # With no elements reduced, the gradient has no entries either (x has size 0).
        return (grad * (1.0 / ctx.count) if ctx.count else grad,)


@torch_names
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    x = as_tensor(x)
    if x.dtype.kind in "iub":  # NumPy's habit (torch refuses): the mean of integers is a float
        x = Tensor._wrap(x.data.astype(DEFAULT_FLOAT))
    return Mean.apply(x, axes=normalize_axes(axis, x.ndim, "mean"), keepdims=keepdims)


class _ArgExtremum(Function):
    """max/min over axes: the gradient goes to the extreme elements, split evenly among ties."""

    reduce = None

    retain_output = True

    @classmethod
    def forward(cls, ctx, x, axes=(), keepdims=False):
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{cls.__name__.lower()}: reduction over a zero-length axis of a "
                             f"tensor of shape {x.shape} (axes {axes}) has no identity")
        ctx.axes, ctx.keepdims = axes, keepdims
        return cls.reduce(x, axis=axes, keepdims=keepdims)

    @classmethod
    def backward(cls, ctx, g):
        x = ctx.inputs[0]
        out = ctx.output.data.reshape(keepdims_shape(x.shape, ctx.axes))
        hits = x.data == out
        share = hits / hits.sum(axis=ctx.axes, keepdims=True)
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims)
                * Tensor._wrap(share.astype(g.dtype)),)


class Max(_ArgExtremum):
    """max of x over axes (NumPy amax)."""

    reduce = staticmethod(np.max)


@torch_names
def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis`` (NumPy's amax); tied maxima share the gradient equally."""
    x = as_tensor(x)
    return Max.apply(x, axes=normalize_axes(axis, x.ndim, "max"), keepdims=keepdims)


class Min(_ArgExtremum):
    """min of x over axes (NumPy amin)."""

    reduce = staticmethod(np.min)


@torch_names
def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis`` (NumPy's amin); tied minima share the gradient equally."""
    x = as_tensor(x)
    return Min.apply(x, axes=normalize_axes(axis, x.ndim, "min"), keepdims=keepdims)


def _stable_logsumexp(x, axes):
    """log sum exp over ``axes`` with keepdims, shifted by the max (all -inf rows give -inf)."""
    if any(x.shape[a] == 0 for a in axes):  # the sum of no terms is 0, its log -inf
        return np.full(keepdims_shape(x.shape, axes), -np.inf, dtype=x.dtype)
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m


class LogSumExp(Function):
    """log sum_i exp(x_i); d/dx = softmax(x)."""

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        out = _stable_logsumexp(x, axes)
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape)
                                                 if i not in axes])

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        out = ctx.output.reshape(keepdims_shape(x.shape, ctx.axes))
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims) * exp(x - out),)


@torch_names
def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) over ``axis``, shifted by the maximum so it never overflows."""
    x = as_tensor(x)
    return LogSumExp.apply(x, axes=normalize_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)


class Softmax(Function):
    """exp(x - logsumexp(x)) along one axis; backward s * (g - sum(g s))."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        if x.shape[axis] == 0:
            return np.empty_like(x)
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        s = ctx.output
        gs = g * s
        return (gs - s * gs.sum(axis=ctx.axis, keepdims=True),)


@torch_names
def softmax(x, axis=-1):
    """exp(x_i) / sum_j exp(x_j) along ``axis``, computed from x - max(x)."""
    x = as_tensor(x)
    normalize_axes(axis, x.ndim, "softmax")
    return Softmax.apply(x, axis=axis)


class LogSoftmax(Function):
    """(x - max) - log sum exp(x - max) along one axis; backward g - softmax(x) * sum(g).

    Subtracting the max first keeps the result exact to float rounding for logits of any
    offset: ``x - (max + log sum)`` would round ``max + log sum`` at the logits' magnitude
    (an error of 5e-4 at 1e4 in float32).
    """

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        if x.shape[axis] == 0:
            return np.empty_like(x)
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    @staticmethod
    def backward(ctx, g):
        return (g - exp(ctx.output) * g.sum(axis=ctx.axis, keepdims=True),)


@torch_names
def log_softmax(x, axis=-1):
    """x_i - logsumexp(x) along ``axis``; stable for logits of any size."""
    x = as_tensor(x)
    normalize_axes(axis, x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


@torch_names
def var(x, axis=None, ddof=0, keepdims=False):
    """Variance sum((x - mean)^2) / (n - ddof) over ``axis`` (NumPy's default ddof=0)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "var")
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if n - ddof <= 0 and n > 0:
        raise ValueError(f"var: {n} elements with ddof={ddof} leave no degrees of freedom")
    if x.dtype.kind in "iub":
        x = Tensor._wrap(x.data.astype(DEFAULT_FLOAT))
    if n == 0:  # NaN, as NumPy and torch
        return mean(x, axis=axes, keepdims=keepdims)
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) * (1.0 / (n - ddof))


@torch_names
def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation sqrt(var) over ``axis``."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


@torch_names
def argmax(x, axis=None, keepdims=False):
    """Index (int64, no gradient) of the maximum over ``axis``, of the flattened x when None."""
    return _arg(np.argmax, "argmax", x, axis, keepdims)


@torch_names
def argmin(x, axis=None, keepdims=False):
    """Index (int64, no gradient) of the minimum over ``axis``, of the flattened x when None."""
    return _arg(np.argmin, "argmin", x, axis, keepdims)


def _arg(fn, op, x, axis, keepdims):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if axis is not None:
        axis = normalize_axes(axis, data.ndim, op)
        if len(axis) != 1:
            raise ValueError(f"{op}: axis must be one int or None, got {axis}")
        axis = axis[0]
    if data.size == 0 or (axis is not None and data.shape[axis] == 0):
        raise ValueError(f"{op}: reduction over a zero-length axis of a tensor of shape "
                         f"{data.shape} has no answer")
    return Tensor._wrap(np.asarray(fn(data, axis=axis, keepdims=keepdims), dtype=np.int64))
