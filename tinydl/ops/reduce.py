"""Reductions (sum, mean, max, min, var, std, logsumexp) and the softmax pair.

``axis`` and ``keepdims`` mean what they mean in NumPy. Gradients of reductions are the
output gradient broadcast back over the reduced axes (``expand_reduced``).
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import as_tensor, expand_reduced, keepdims_shape, normalize_axes
from tinydl.ops.elementwise import exp, sqrt
from tinydl.tensor import Tensor


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        return np.sum(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims),)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        return np.mean(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims) * (1.0 / ctx.count),)


class _ArgExtremum(Function):
    """max/min over axes: the gradient goes to the extreme elements, split evenly among ties."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, axes=(), keepdims=False):
        if x.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: reduction of an empty tensor of shape "
                             f"{x.shape}")
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
    reduce = staticmethod(np.max)


class Min(_ArgExtremum):
    reduce = staticmethod(np.min)


def _stable_logsumexp(x, axes):
    """log sum exp over ``axes`` with keepdims, shifted by the max (all -inf rows give -inf)."""
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


class Softmax(Function):
    """exp(x - logsumexp(x)) along one axis; backward s * (g - sum(g s))."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        s = ctx.output
        gs = g * s
        return (gs - s * gs.sum(axis=ctx.axis, keepdims=True),)


class LogSoftmax(Function):
    """x - logsumexp(x) along one axis; backward g - softmax(x) * sum(g)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        return x - _stable_logsumexp(x, (axis,))

    @staticmethod
    def backward(ctx, g):
        return (g - exp(ctx.output) * g.sum(axis=ctx.axis, keepdims=True),)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """Sum over ``axis`` (all axes when None)."""
    x = as_tensor(x)
    return Sum.apply(x, axes=normalize_axes(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    x = as_tensor(x)
    return Mean.apply(x, axes=normalize_axes(axis, x.ndim, "mean"), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis`` (NumPy's amax); tied maxima share the gradient equally."""
    x = as_tensor(x)
    return Max.apply(x, axes=normalize_axes(axis, x.ndim, "max"), keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis`` (NumPy's amin); tied minima share the gradient equally."""
    x = as_tensor(x)
    return Min.apply(x, axes=normalize_axes(axis, x.ndim, "min"), keepdims=keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance sum((x - mean)^2) / (n - ddof) over ``axis`` (NumPy's default ddof=0)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "var")
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if n - ddof <= 0:
        raise ValueError(f"var: {n} elements with ddof={ddof} leave no degrees of freedom")
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) * (1.0 / (n - ddof))


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation sqrt(var) over ``axis``."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) over ``axis``, shifted by the maximum so it never overflows."""
    x = as_tensor(x)
    return LogSumExp.apply(x, axes=normalize_axes(axis, x.ndim, "logsumexp"), keepdims=keepdims)


def softmax(x, axis=-1):
    """exp(x_i) / sum_j exp(x_j) along ``axis``, computed from x - max(x)."""
    x = as_tensor(x)
    normalize_axes(axis, x.ndim, "softmax")
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """x_i - logsumexp(x) along ``axis``; stable for logits of any size."""
    x = as_tensor(x)
    normalize_axes(axis, x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)
