"""Reductions (sum, mean, max, min, var, std, logsumexp, prod, norm, quantile, median,
nansum, nanmean, and the gradient-free any, all, count_nonzero) and the softmax pair.

``axis`` and ``keepdims`` mean what they mean in NumPy. Gradients of reductions are the
output gradient broadcast back over the reduced axes (``expand_reduced``).

This module is longer than 500 lines because it holds the whole family (20 public
reductions over 8 Functions), each wrapper beside its Function and sharing
``expand_reduced``; split, the shared gradient helper would be imported across files.
"""
import builtins  # this module defines any and all (NumPy's names)
import functools
import math

import numpy as np

from tinydl.autograd import Function, depends_on
from tinydl.ops._util import (DEFAULT_FLOAT, add_up, as_input, exact_for_integers,
                              expand_reduced, floating, keepdims_shape, normalize_axes,
                              numpy_names, one_axis, refused_spelling, sum_arrays,
                              torch_dim_spelled, torch_names)
from tinydl.ops.elementwise import Sqrt, _gate, _sgn, abs, astype, exp, subtract, where
from tinydl.ops.index import getitem
from tinydl.ops.scan import CumProd, reversed_along
from tinydl.ops.shape import concatenate
from tinydl.tensor import Tensor, _as_dtype


class Sum(Function):
    """sum of x over axes; dx = g broadcast back over the reduced axes."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        return sum_arrays(x, axes, keepdims)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (expand_reduced(g, x.shape, ctx.axes, ctx.keepdims),)


@torch_names
def sum(x, axis=None, keepdims=False, dtype=None):  # noqa: A001 (NumPy's name)
    """Sum over ``axis`` (all axes when None); ``dtype`` casts x first (NumPy and torch).
    Integer and bool inputs give int64, as torch (uint64 stays; NumPy gives uint64 for the
    other unsigned ones)."""
    x = as_input(x)
    if dtype is not None:
        x = astype(x, dtype)
    return _signed_total(Sum.apply(x, axes=normalize_axes(axis, x.ndim, "sum", zero_d=True),
                                   keepdims=keepdims), x, dtype)


def _signed_total(out, x, dtype):
    """A sum or product of uint8/16/32 values as int64, torch's dtype there (NumPy's uint64
    made ``images.sum() - 1000`` wrap to 1.8e19). The bits are the same (both wrap modulo
    2^64), so the cast of the result is exact; uint64 stays uint64."""
    if dtype is None and x.dtype.kind == "u" and x.dtype.itemsize < 8:
        return Tensor._wrap(out.data.astype(np.int64))
    if dtype is not None and out.dtype != x.dtype and out.dtype.kind in "iu":
        # dtype=uint8 sums in uint8, wrapping, as NumPy's and torch's (NumPy's default
        # accumulator gave uint64); an integer result has no gradient to keep
        return Tensor._wrap(out.data.astype(x.dtype))
    return out


class Mean(Function):
    """sum(x) / n over the reduced axes; the mean of no elements is NaN (as NumPy and torch)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.count = math.prod([x.shape[a] for a in axes])
        if ctx.count == 0:
            shape = keepdims_shape(x.shape, axes) if keepdims else tuple(
                n for i, n in enumerate(x.shape) if i not in axes)
            return np.full(shape, np.nan, dtype=x.dtype)
        # float16 sums in float32 (NumPy's own default; torch accumulates wider too): a
        # float16 running sum overflows to inf where the mean is finite.
        wide = np.float32 if x.dtype == np.float16 else x.dtype
        total = sum_arrays(x, axes, keepdims, dtype=wide)
        return np.true_divide(total, ctx.count, dtype=wide).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        grad = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims)
        # With no elements reduced, the gradient has no entries either (x has size 0).
        return (grad * (1.0 / ctx.count) if ctx.count else grad,)


@torch_names
@exact_for_integers("x")
def mean(x, axis=None, keepdims=False, dtype=None):
    """Arithmetic mean over ``axis``; ``dtype`` (a floating dtype) casts x first (NumPy and
    torch). Integer input gives float32, computed from the exact integers."""
    x = as_input(x)
    if dtype is not None:
        _check_mean_dtype("mean", dtype)
        x = astype(x, dtype)
    return Mean.apply(x, axes=normalize_axes(axis, x.ndim, "mean", zero_d=True), keepdims=keepdims)


def _check_mean_dtype(op, dtype):
    """NumPy truncates a mean into an integer ``dtype`` (1 for [1, 2]); torch refuses it.
    ``dtype`` may be torch's (``torch.float64``), as ``sum``'s."""
    dtype = _as_dtype(dtype, op)
    if dtype.kind not in "fc":
        raise TypeError(f"{op}: dtype={np.dtype(dtype)} is not a floating dtype; the mean of "
                        "integers is a float here (cast the result if truncation is meant)")


class _ArgExtremum(Function):
    """max/min over axes: the gradient goes to the extreme elements, split evenly among ties
    (a NaN extreme: among the NaNs), and is exactly 0 elsewhere, even where it is inf or NaN
    (torch's max() selects so; its amax(dim) multiplies by a mask and gives NaN there)."""

    reduce = None

    retain_output = True

    @classmethod
    def forward(cls, ctx, x, axes=(), keepdims=False):
        if builtins.any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{cls.__name__.lower()}: reduction over a zero-length axis of a "
                             f"tensor of shape {x.shape} (axes {axes}) has no identity")
        ctx.axes, ctx.keepdims = axes, keepdims
        return cls.reduce(x, axis=axes, keepdims=keepdims)

    @classmethod
    def backward(cls, ctx, g):
        x = ctx.inputs[0]
        out = ctx.output.data.reshape(keepdims_shape(x.shape, ctx.axes))
        hits = x.data == out
        if x.data.dtype.kind in "fc":
            hits |= np.isnan(x.data) & np.isnan(out)
        count = hits.sum(axis=ctx.axes, keepdims=True).astype(g.dtype)
        grad = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims) / Tensor._wrap(count)
        return (_gate(grad, hits),)


class Max(_ArgExtremum):
    """max of x over axes (NumPy amax)."""

    reduce = staticmethod(np.max)


class ValuesOnly(Tensor):
    """What ``max``, ``min`` and ``median`` return over an axis given as torch also gives it
    (positionally, ``x.max(1)``, or as ``dim=``, or with ``keepdim=``): the values over that
    axis, NumPy's meaning, a Tensor like any other, except that it cannot be unpacked,
    iterated or indexed by one integer. torch returns a (values, indices) pair there, and its
    habits ``_, pred = out.max(1)``, ``values, indices = x.max(dim=1)`` and
    ``x.max(1, keepdim=True)[1]`` would otherwise read rows of the values silently (unpacking
    works whenever there are two rows). Slices, arrays and every op work; the result of an op
    is a plain Tensor again. Only NumPy's own spelling, ``axis=``, gives a plain Tensor."""

    __slots__ = ()

    def _refuse(self, what):
        raise TypeError(
            f"{what} the result of max/min/median over an axis given as x.max(1) or "
            "x.max(dim=1): tinydl gives the values only (NumPy's meaning), not torch's "
            "(values, indices) pair. Write values = x.max(1) and indices = x.argmax(1); to "
            "index rows of the values, reduce with axis= (x.max(axis=1)[0]) or make a copy "
            "first (x.max(1).clone())")

    def __iter__(self):
        self._refuse("cannot unpack or iterate")

    def __len__(self):  # torch's pair has length 2; the values, their first axis's length
        self._refuse("no len() of")

    def __getitem__(self, index):
        one = index.data if isinstance(index, Tensor) else index
        if isinstance(one, np.ndarray) and one.ndim == 0:  # out.max(1)[torch.tensor(1)]
            one = one[()]
        if isinstance(one, (int, np.integer)) and not isinstance(one, (bool, np.bool_)):
            self._refuse(f"cannot take [{index!r}] of")
        return Tensor.__getitem__(self, index)

    @property
    def values(self):
        self._refuse("no .values on")

    @property
    def indices(self):
        self._refuse("no .indices on")


def _values_only(fn):
    """Mark ``fn``'s result a ``ValuesOnly`` when the caller gave the axis as torch may (any
    spelling but NumPy's ``axis=``)."""

    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        out = fn(x, *args, **kwargs)
        if ((args and args[0] is not None) or kwargs.get("dim") is not None
                or ("keepdim" in kwargs and kwargs.get("axis") is not None)):
            out.__class__ = ValuesOnly
        return out

    return wrapper


@_values_only
@torch_names
def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis`` (NumPy's amax); tied maxima share the gradient equally."""
    x = as_input(x)
    return Max.apply(x, axes=normalize_axes(axis, x.ndim, "max", zero_d=True), keepdims=keepdims)


class Min(_ArgExtremum):
    """min of x over axes (NumPy amin)."""

    reduce = staticmethod(np.min)


@_values_only
@torch_names
def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis`` (NumPy's amin); tied minima share the gradient equally."""
    x = as_input(x)
    return Min.apply(x, axes=normalize_axes(axis, x.ndim, "min", zero_d=True), keepdims=keepdims)


@torch_names
def amax(x, axis=None, keepdims=False):
    """``max`` by its NumPy and torch name ``amax``: the values over ``axis``."""
    return max(x, axis=axis, keepdims=keepdims)


@torch_names
def amin(x, axis=None, keepdims=False):
    """``min`` by its NumPy and torch name ``amin``: the values over ``axis``."""
    return min(x, axis=axis, keepdims=keepdims)


def _stable_logsumexp(x, axes):
    """log sum exp over ``axes`` with keepdims, shifted by the max (all -inf rows give -inf)."""
    if builtins.any(x.shape[a] == 0 for a in axes):  # the sum of no terms is 0, its log -inf
        return np.full(keepdims_shape(x.shape, axes), -np.inf, dtype=x.dtype)
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(add_up(np.exp(x - m), axis=axes, keepdims=True)) + m


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
    x = floating(x)  # integer input: float32, as torch
    return LogSumExp.apply(x, axes=normalize_axes(axis, x.ndim, "logsumexp", zero_d=True), keepdims=keepdims)


class Softmax(Function):
    """exp(x - logsumexp(x)) along one axis; backward s * (g - sum(g s))."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        if x.shape[axis] == 0:
            return np.empty_like(x)
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / add_up(e, axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, g):
        s = ctx.output
        gs = g * s
        return (gs - s * gs.sum(axis=ctx.axis, keepdims=True),)


@torch_names
@exact_for_integers("x")
def softmax(x, axis=-1):
    """exp(x_i) / sum_j exp(x_j) along ``axis``, computed from x - max(x)."""
    x = floating(x)  # integer input: float32, as torch
    axis = one_axis(axis, "softmax")
    if x.ndim == 0:  # torch's rule: axis 0 or -1 of a 0-d tensor is its one element
        normalize_axes(axis, 1, "softmax")
        return softmax(x.reshape((1,)), 0).reshape(())
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
        finite = np.isfinite(m)
        shifted = x - np.where(finite, m, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = shifted - np.log(add_up(np.exp(shifted), axis=axis, keepdims=True))
        if not finite.all():
            # A slice holding +inf is NaN throughout, as torch's (x - max is inf - inf
            # there) and as softmax's: unshifted, its other entries came out -inf.
            out = np.where(m == np.inf, np.nan, out).astype(out.dtype, copy=False)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g - exp(ctx.output) * g.sum(axis=ctx.axis, keepdims=True),)


@torch_names
@exact_for_integers("x")
def log_softmax(x, axis=-1):
    """x_i - logsumexp(x) along ``axis``; stable for logits of any size."""
    x = floating(x)  # integer input: float32, as torch
    axis = one_axis(axis, "log_softmax")
    if x.ndim == 0:  # as softmax
        normalize_axes(axis, 1, "log_softmax")
        return log_softmax(x.reshape((1,)), 0).reshape(())
    normalize_axes(axis, x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


def _correction_missing(x, args, kwargs):
    """var/std in torch's spelling without the correction: torch's default there is the
    unbiased estimate (correction=1), NumPy's and tinydl's ddof=0, so ``x.var(dim=1)`` would be
    NumPy's answer to torch's question, smaller by (n - 1) / n without a word."""
    return (torch_dim_spelled(x, args, kwargs) and len(args) < 2
            and not {"ddof", "correction", "unbiased"} & kwargs.keys())


def _say_the_correction(op):
    return lambda x, args, kwargs: (
        f"{op}: {'dim=' if 'dim' in kwargs else 'keepdim='} is torch's spelling, and torch's "
        f"{op} defaults to the unbiased estimate (correction=1) where NumPy's (tinydl's) "
        f"divides by n (ddof=0); say which: correction=1 (or unbiased=True) for torch's, "
        f"correction=0 (or ddof=0) for NumPy's, or write axis=/keepdims= for NumPy's")


@refused_spelling(_correction_missing, _say_the_correction("var"))
@torch_names
@exact_for_integers("x")
def var(x, axis=None, ddof=0, keepdims=False):
    """Variance sum((x - mean)^2) / (n - ddof) over ``axis`` (NumPy's default ddof=0).

    torch's ``dim=``/``keepdim=`` spelling needs the correction said too (``correction=1``
    or ``unbiased=True`` for torch's default): it would otherwise get NumPy's default."""
    return _widened_on_overflow(_variance, x, axis, ddof, keepdims)


def _variance(x, axis, ddof, keepdims):
    """``var`` in x's (floating) dtype, without the float64 retry."""
    axes = normalize_axes(axis, x.ndim, "var", zero_d=True)
    n = math.prod([x.shape[a] for a in axes])
    if n - ddof <= 0 and n > 0:
        raise ValueError(f"var: {n} element{'s' if n > 1 else ''} with ddof={ddof} "
                         f"(torch's correction) leave{'' if n > 1 else 's'} no degrees of "
                         "freedom (torch gives NaN with a warning)")
    if n == 0:  # NaN, as NumPy and torch
        return mean(x, axis=axes, keepdims=keepdims)
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) * (1.0 / (n - ddof))


def _widened_on_overflow(fn, x, axis, ddof, keepdims, root=False):
    """``fn(x, ...)`` (the variance or, with ``root``, the standard deviation), computed once
    more in float64 and cast back where a float32 (or float16) result overflowed on the way (a
    sum of squares past the dtype's range) though x is finite: var([2e19, 0, -2e19]) is
    2.7e38, which fits, and std([3e38, 1]) 1.5e38 though its variance does not. torch
    accumulates in float64 there. A standard deviation is also recomputed where its squares
    may have underflowed (below 128 sqrt(tiny), 1.4e-17 in float32: std([1, -1, 0] * 1e-30)
    was 0 with a 0 gradient, torch 8.2e-31), a constant slice's 0 included. The check reads
    only the result (and x, once it is not finite)."""
    x = as_input(x)
    out = fn(x, axis, ddof, keepdims)
    if out.dtype in (np.float32, np.float16) and (
            not np.isfinite(out.data).all()
            or root and (out.data < 128 * math.sqrt(np.finfo(out.dtype).tiny)).any()) \
            and np.isfinite(x.data).all():
        return astype(fn(astype(x, np.float64), axis, ddof, keepdims), out.dtype)
    return out


class _RootOfVariance(Sqrt):
    """sqrt of a variance, with Sqrt's gradient g / (2 sqrt(v)) where v > 0 but 0 where v = 0
    (torch's std_backward): there every element equals the mean, the variance's own gradient
    is 0, and the plain sqrt's inf times that 0 would make the gradient NaN."""

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        positive = y.data != 0
        with np.errstate(divide="ignore", invalid="ignore"):  # (an inf or NaN std)
            if positive.all():
                return (g * 0.5 / y,)
            # divided by 1 where v = 0, then gated: g / 0 there would make the gradient of
            # this gradient (create_graph) 0 * inf = NaN, where torch's is 0
            return (_gate(g * 0.5 / where(positive, y, 1.0), positive),)


@refused_spelling(_correction_missing, _say_the_correction("std"))
@torch_names
@exact_for_integers("x")
def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation sqrt(var) over ``axis`` (NumPy's default ddof=0; torch's
    ``dim=`` spelling needs the correction said too, as ``var``); its gradient is 0 over a
    constant slice (as torch's), where sqrt's derivative is infinite."""
    return _widened_on_overflow(lambda *args: _RootOfVariance.apply(_variance(*args)), x, axis,
                                ddof, keepdims, root=True)


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
        axis = normalize_axes(axis, data.ndim, op, zero_d=True)
        if data.ndim == 0:  # torch: axis 0 of a 0-d tensor is its one element, index 0
            return Tensor._wrap(np.zeros((), np.int64))
        if len(axis) != 1:
            raise ValueError(f"{op}: axis must be one int or None, got {axis}")
        axis = axis[0]
    if (data.size == 0) if axis is None else (data.shape[axis] == 0):
        raise ValueError(f"{op}: reduction over a zero-length axis of a tensor of shape "
                         f"{data.shape} has no answer")
    return Tensor._wrap(np.asarray(fn(data, axis=axis, keepdims=keepdims), dtype=np.int64))


# ----------------------------------------------------------------------------- products
class Prod(Function):
    """prod of x over axes; dx_i = g prod_{j!=i} x_j (g y / x_i where x has no zero)."""

    @staticmethod
    def forward(ctx, x, axes=(), keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
        return np.prod(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        grad = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims)
        # One factor (a 0-d x too): no others, dx = g (y / x would be NaN at an inf or NaN x;
        # torch gives g at 0-d).
        if builtins.all(x.shape[a] == 1 for a in ctx.axes):
            return (grad,)
        if not (x.data == 0).any():
            return (grad * expand_reduced(ctx.output, x.shape, ctx.axes, ctx.keepdims) / x,)
        return (grad * _product_of_others(x, ctx.axes),)


def _product_of_others(x, axes):
    """prod_{j!=i} x_j over ``axes`` for every i, without dividing (exact at zeros): the
    exclusive cumprod from the left times the one from the right (torch's
    ``prod_safe_zeros_backward``), over the reduced axes moved last and flattened."""
    kept = [i for i in range(x.ndim) if i not in axes]
    order = kept + list(axes)
    moved_shape = tuple(x.shape[i] for i in order)
    n = math.prod([x.shape[i] for i in axes])
    flat = x.transpose(order).reshape(moved_shape[:len(kept)] + (n,))
    ones = Tensor._wrap(np.ones(flat.shape[:-1] + (1,), dtype=x.dtype))
    last = flat.ndim - 1

    def exclusive_cumprod(t):
        return CumProd.apply(concatenate([ones, t[..., :-1]], axis=-1), axis=last)

    from_right = reversed_along(exclusive_cumprod(reversed_along(flat, last)), last)
    others = exclusive_cumprod(flat) * from_right
    return others.reshape(moved_shape).transpose(tuple(np.argsort(order)))


@torch_names
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (all axes when None); the product of no elements is 1.

    The gradient ``g prod_{j!=i} x_j`` is exact with one zero (only the zero gets a gradient)
    and with several (none does), as torch; integer and bool inputs give int64 (uint64
    stays).
    """
    x = as_input(x)
    if dtype is not None:
        x = astype(x, dtype)
    return _signed_total(Prod.apply(x, axes=normalize_axes(axis, x.ndim, "prod", zero_d=True),
                                    keepdims=keepdims), x, dtype)


# ----------------------------------------------------------------------------- logical
def _no_grad_reduction(fn, op, x, axis, keepdims, dtype):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    axes = normalize_axes(axis, data.ndim, op, zero_d=True)
    return Tensor._wrap(np.asarray(fn(data, axis=axes, keepdims=keepdims), dtype=dtype))


@torch_names
def any(x, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """True where some element over ``axis`` is nonzero (NaN counts); bool, no gradient."""
    return _no_grad_reduction(np.any, "any", x, axis, keepdims, np.bool_)


@torch_names
def all(x, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """True where every element over ``axis`` is nonzero (NaN counts); bool, no gradient."""
    return _no_grad_reduction(np.all, "all", x, axis, keepdims, np.bool_)


@torch_names
def count_nonzero(x, axis=None, keepdims=False):
    """Number of nonzero elements over ``axis`` (NaN counts); int64, no gradient."""
    return _no_grad_reduction(np.count_nonzero, "count_nonzero", x, axis, keepdims, np.int64)


# ----------------------------------------------------------------------------- norms
class VectorNorm(Function):
    """y = (sum |x|^p)^(1/p) over axes (p = 0: nonzero count); dx = g sgn(x) |x|^(p-1) / y^(p-1)."""

    @staticmethod
    def forward(ctx, x, ord=2.0, axes=(), keepdims=False):  # noqa: A002 (NumPy's name)
        ctx.ord, ctx.axes, ctx.keepdims = ord, axes, keepdims
        if ord == 0:
            return np.count_nonzero(x, axis=axes, keepdims=keepdims).astype(x.dtype)
        a = np.abs(x)
        if ord == 1:
            return add_up(a, axis=axes, keepdims=keepdims)
        out = _power_sum_root(a, ord, axes, keepdims)
        if ord >= 1:
            # |x|^p overflows (or underflows to 0) long before the norm does: those slices
            # are computed again from x / max|x|.
            tiny = np.finfo(out.dtype).tiny ** (1.0 / ord) if out.dtype.kind == "f" else 0
            if (np.isinf(out) | (out < tiny)).any():
                out = _rescaled_norm(a, ord, axes, keepdims, smallest=False)
        elif ord < 0 and (np.isinf(out) | (out == 0)).any():
            # |x|^p of a huge x underflows (the norm came out inf) or of a tiny one overflows
            # (0): computed again from x / min|x|, the smallest nonzero |x|, whose terms are
            # at most 1 and one of them 1. (A slice holding a zero has norm 0 either way.)
            out = _rescaled_norm(a, ord, axes, keepdims, smallest=True)
        return out

    @staticmethod
    def backward(ctx, g):
        # torch's norm_backward, branch for branch (gradient 0 where the norm is 0).
        x, p = ctx.inputs[0], ctx.ord
        g = expand_reduced(g, x.shape, ctx.axes, ctx.keepdims)
        if p == 0:  # a constant zero, also where g is inf (g * 0.0 gave NaN there)
            return (Tensor._wrap(np.zeros(x.shape, g.dtype)),)
        sign = Tensor._wrap(_sgn(x.data))  # 0 at a NaN, as torch's sgn
        if p == 1:
            return (depends_on(g * sign, x),)  # tied to x as torch's (see depends_on)
        y = expand_reduced(ctx.output, x.shape, ctx.axes, ctx.keepdims)
        y_zero = y.data == 0
        safe_y = where(y_zero, 1.0, y)
        if p == 2:
            return (where(y_zero, 0.0, g * x / safe_y),)
        # sgn(x) (|x| / y)^(p-1): the ratio is at most 1 (p >= 1), so it stays finite where
        # |x|^(p-1) and y^(p-1) apart overflow or underflow (their quotient was NaN there, for
        # the norms the forward rescales). 0 at x = 0 (the inner where keeps a 0^(negative),
        # p < 1, out of the graph), but NaN as torch's where the norm is NaN, or for p < 1
        # infinite (torch multiplies its 0 there by y^(1-p)).
        x_zero = x.data == 0
        ratio = where(x_zero, 1.0, x * sign) / safe_y
        defined = np.isfinite(y.data) if p < 1 else ~np.isnan(y.data)
        zero = y_zero | (x_zero & defined)
        return (where(zero, 0.0, g * sign * ratio ** (p - 1)),)


def _rescaled_norm(a, p, axes, keepdims, smallest):
    """(sum (a / s)^p)^(1/p) s for a >= 0, with s each slice's largest a (``smallest``: its
    smallest nonzero a), or 1 where that is 0 or not finite: the p-norm where a^p itself
    leaves the dtype's range."""
    if not a.size:
        scale = np.ones(())
    elif smallest:
        scale = np.min(np.where(a > 0, a, np.inf), axis=axes, keepdims=True)
    else:
        scale = np.max(a, axis=axes, keepdims=True)
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1).astype(a.dtype)
    with np.errstate(over="ignore"):  # a ratio past the range (p < 0): its term is 0
        out = _power_sum_root(a / scale, p, axes, keepdims=True) * scale
    return out if keepdims else out.reshape([n for i, n in enumerate(a.shape) if i not in axes])


def _power_sum_root(a, p, axes, keepdims):
    """(sum a^p)^(1/p) for a >= 0, with NumPy's values at 0 and inf for negative p."""
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        if p == 2:
            return np.sqrt(add_up(a * a, axis=axes, keepdims=keepdims))
        return add_up(a ** p, axis=axes, keepdims=keepdims) ** (1.0 / p)


def _ord_by_position_over_two_axes(x, args, kwargs):
    """``norm(x, 1)`` over two axes: NumPy's ord there is a matrix norm (max column sum),
    torch's p the vector norm of the elements (sum of |x|); a positional number could mean
    either."""
    if not args or args[0] is None or isinstance(args[0], str):
        return False
    axis = args[1] if len(args) > 1 else kwargs.get("axis", kwargs.get("dim"))
    return (np.ndim(x) == 2 if axis is None else
            not isinstance(axis, (int, np.integer)) and len(axis) == 2)


def _which_norm(x, args, kwargs):
    p = args[0]
    return (f"norm(x, {p!r}) over two axes: NumPy's ord={p!r} (np.linalg.norm: a matrix norm) "
            f"or torch's p={p!r} (torch.norm: the vector norm of all those elements)? Say which "
            f"by name: ord= or p= (x.norm({p!r}), torch's method, is torch's)")


@refused_spelling(_ord_by_position_over_two_axes, _which_norm)
@torch_names
def norm(x, ord=None, axis=None, keepdims=False, *, p=None):  # noqa: A002 (NumPy's name)
    """Vector and Frobenius norms: ``np.linalg.norm``'s arguments and meaning (torch.norm's
    with ``p=``).

    Over one axis (or a 1-D x with ``axis=None``), ``ord``: None or 2 -> sqrt(sum x^2); a
    number p -> (sum |x|^p)^(1/p); inf / -inf -> max / min |x|; 0 -> the count of nonzeros.
    Over two axes (or a 2-D x with ``axis=None``), ``ord``: None or 'fro' -> sqrt(sum x^2);
    1 / -1 -> max / min column sum of |x|; inf / -inf -> max / min row sum (NumPy's matrix
    norms; the spectral 2 and 'nuc' need the SVD: ``tinydl.linalg.matrix_norm``). ``ord=None``
    (or 'fro') over all or several axes is the 2-norm of those elements, for x of any shape.

    ``p`` (torch.norm's name, with ``dim`` and ``keepdim``) means what it means in torch: a
    number is the vector p-norm of the elements over ``dim`` (all when None), whatever their
    count, and 'fro' their 2-norm. So ``norm(x, ord=1)`` of a matrix is NumPy's max column
    sum, ``norm(x, p=1)`` torch's sum of |x|, and ``norm(x, 1)`` there raises, saying so
    (``x.norm(1)``, torch's method, is torch's). Gradients as torch: 0 where the norm is 0;
    ties of inf / -inf and of the matrix norms share it evenly.
    """
    x = as_input(x)
    if x.dtype.kind in "iub":  # NumPy's float result (torch refuses integers)
        x = Tensor._wrap(x.data.astype(DEFAULT_FLOAT))
    if p is not None:
        if ord is not None:
            raise TypeError("norm: got both 'ord' and torch's 'p'")
        if isinstance(p, str) and p != "fro":
            raise ValueError(f"norm: p={p!r} is not a vector norm; use p='fro', a number or inf "
                             "(the nuclear norm is tinydl.linalg.matrix_norm)")
        return _vector_norm(x, 2 if p == "fro" else p, normalize_axes(axis, x.ndim, "norm"),
                            keepdims)
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"norm: invalid ord {ord!r}; expected a number, inf, 'fro' or 'nuc'")
    if axis is None:
        if ord is None or (ord == "fro" and x.ndim != 1):
            return _vector_norm(x, 2, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor (as "
                             f"np.linalg.norm), got shape {x.shape}: pass axis")
        axis = tuple(range(x.ndim))
    given = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = [normalize_axes(a, x.ndim, "norm")[0] for a in given]
    if len(set(axes)) != len(axes):
        raise ValueError(f"norm: repeated axis in {axis}")
    if ord is None or ord == "fro" and len(axes) != 1:
        return _vector_norm(x, 2, tuple(sorted(axes)), keepdims)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm; over one axis {axes[0]} use "
                             "a number or inf")
        return _vector_norm(x, ord, tuple(axes), keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: ord={ord!r} over {len(axes)} axes {tuple(axes)}: only ord=None "
                     "or 'fro' (the 2-norm of those elements) is defined over more than two")


def _vector_norm(x, ord, axes, keepdims, op="norm"):  # noqa: A002
    """The p-norm over ``axes`` (a normalised tuple) for norm and tinydl.linalg.vector_norm;
    ``op`` names the caller in errors."""
    ord = float(ord)  # noqa: A001
    if ord < 0 or np.isinf(ord):  # a negative p of nothing is 0^(1/p) = inf (torch raises)
        _check_not_empty(x, axes, ord, op)
    if np.isinf(ord):
        reduce = max if ord > 0 else min
        return reduce(abs(x), axis=axes, keepdims=keepdims)
    return VectorNorm.apply(x, ord=ord, axes=axes, keepdims=keepdims)


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    """NumPy's matrix norms 1, -1 (column sums of |x|), inf, -inf (row sums) over ``axes``
    (row axis, column axis), from sum and max/min so ties share the gradient."""
    rows, cols = axes
    if ord in (1, -1):
        summed, extreme = rows, cols
    elif ord in (np.inf, -np.inf):
        summed, extreme = cols, rows
    else:
        raise ValueError(f"norm: ord={ord!r} over two axes {tuple(axes)} is not one of None, "
                         "'fro', 1, -1, inf, -inf; the spectral norm (2, -2) and 'nuc' need "
                         "the SVD: use tinydl.linalg.matrix_norm")
    _check_not_empty(x, [extreme], ord)
    reduce = max if ord > 0 else min
    out = reduce(sum(abs(x), axis=summed, keepdims=True), axis=extreme, keepdims=True)
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def _check_not_empty(x, axes, ord, op="norm"):  # noqa: A002
    if builtins.any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: ord={ord} over a zero-length axis (a max, a min or a "
                         f"negative power of nothing) of a tensor of shape {x.shape} (axes "
                         f"{tuple(axes)}), which has no value")


# ----------------------------------------------------------------------------- order statistics
_QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")
# median's own blend (not a public method): the mean of the two middle values, NumPy's median,
# which is inf for (2, inf) and (inf, inf) where the lerp of 'midpoint' gives inf - inf = NaN.
_MEAN_OF_MIDDLE = object()


@torch_names
@exact_for_integers("x")
def quantile(x, q, axis=None, keepdims=False, method="linear", *, interpolation=None):
    """The q-th quantiles over ``axis`` (of every element when None), NumPy's definition.

    With the sorted values s_0 <= ... <= s_{n-1} and v = q (n - 1): ``'linear'`` (the default)
    s_lo + (v - lo)(s_hi - s_lo) for lo, hi = floor(v), ceil(v); ``'lower'`` s_lo, ``'higher'``
    s_hi, ``'nearest'`` s_round(v) (half to even), ``'midpoint'`` (s_lo + s_hi) / 2 (torch's
    five; ``interpolation=`` is torch's name for ``method``). ``q`` in [0, 1], a number or an
    array (no gradient). Shape: q.shape + the reduced shape of x. A slice holding NaN gives NaN.
    The gradient goes to the selected element(s) with the interpolation weights (ties: the
    sorted order of a stable sort, as torch.quantile).
    """
    if interpolation is not None:
        method = interpolation
    if method not in _QUANTILE_METHODS and method is not _MEAN_OF_MIDDLE:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    x, qs, axes = _quantile_setup("quantile", x, q, axis)
    if math.prod([x.shape[i] for i in axes]) == 0:
        raise ValueError(f"quantile: the quantile of no elements (shape {x.shape}, axes {axes}) "
                         "is not defined")
    return _row_quantiles(x, qs, axes, keepdims, method, skip_nan=False)


def _quantile_setup(op, x, q, axis):
    """x as a Tensor (floating: integers arrive in float64 through ``exact_for_integers``),
    q as a float64 array checked to lie in [0, 1], and the reduced axes."""
    x = as_input(x)
    qs = np.asarray(q.data if isinstance(q, Tensor) else q, dtype=np.float64)
    if not ((qs >= 0) & (qs <= 1)).all():
        raise ValueError(f"{op}: q must lie in [0, 1], got {q}")
    return x, qs, normalize_axes(axis, x.ndim, op)


def _row_quantiles(x, qs, axes, keepdims, method, skip_nan):
    """The quantiles ``qs`` of x over ``axes`` (not empty) by ``method``, picked from a stable
    sort (NaN sorts last) as graph nodes, so the gradient reaches the picked elements with
    the interpolation weights (``quantile``, ``nanquantile``, the medians).

    ``skip_nan``: among each slice's values that are not NaN (a slice of NaNs only gives its
    first NaN, as torch.nanquantile); else among all n, and a slice holding NaN gives its
    last sorted element, a NaN (torch's quantile).
    """
    kept = [i for i in range(x.ndim) if i not in axes]
    kept_shape = tuple(x.shape[i] for i in kept)
    n = math.prod([x.shape[i] for i in axes])
    # The reduced axes last and flattened: quantiles of each row of `flat`.
    flat = x.transpose(kept + list(axes)).reshape(kept_shape + (n,))
    order = np.argsort(flat.data, axis=-1, kind="stable")  # NaN sorts last
    nan = np.isnan(flat.data)
    expand = qs.shape + (1,) * len(kept_shape)
    if skip_nan:
        v = qs.reshape(expand) * np.maximum((~nan).sum(axis=-1) - 1, 0)
        nan_rows = np.zeros(kept_shape, dtype=bool)
    else:
        v = qs.reshape(expand) * (n - 1)
        nan_rows = nan.any(axis=-1)
    lo, hi = np.floor(v), np.ceil(v)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi
    elif method == "nearest":
        lo = hi = np.round(v)
    weight = 0.5 if method == "midpoint" or method is _MEAN_OF_MIDDLE else v - lo
    lo = np.where(nan_rows, n - 1, lo).astype(np.int64)
    hi = np.where(nan_rows, n - 1, hi).astype(np.int64)
    weight = np.where(nan_rows, 0.0, weight)
    order = order.reshape((1,) * qs.ndim + order.shape)
    grid = tuple(np.arange(m).reshape((1,) * (qs.ndim + j) + (m,) + (1,) * (len(kept) - j - 1))
                 for j, m in enumerate(kept_shape))

    def pick(position):  # the element at sorted ``position`` of each row, as a graph node
        column = np.take_along_axis(order, position[..., None], axis=-1)[..., 0]
        return getitem(flat, grid + (column,))

    below = out = pick(lo)
    if (hi != lo).any():
        above = pick(hi)
        if method is _MEAN_OF_MIDDLE:  # np.median's blend: inf for (inf, inf), not inf - inf
            lerp = (below + above) * 0.5
        else:  # lerp as NumPy and torch: from the nearer end, so weight 1 gives `above` exactly
            w = weight.astype(x.dtype)
            diff = above - below
            lerp = where(w < 0.5, below + diff * w, above - diff * (1 - w))
        out = where(hi == lo, below, lerp)
    if keepdims:
        out = out.reshape(qs.shape + keepdims_shape(x.shape, axes))
    return out


@_values_only
@torch_names
def lower_median(x, axis=None, keepdims=False):
    """torch.median (``Tensor.median``, the method): the lower of the two middle values for an
    even count, an element of x (integer input stays integer); over an axis the values only,
    as ``max`` (torch's indices: ``argsort``). NaN in a slice gives NaN. The gradient goes to
    that element (ties: the first in a stable sort, as ``quantile``)."""
    x = as_input(x)
    if x.dtype == np.bool_:  # torch refuses it too (nanmedian refuses it as well)
        raise TypeError("median: not defined for a bool tensor; cast it first, e.g. .long()")
    if x.dtype.kind in "iu":
        return Tensor._wrap(integer_lower_median(x.data, axis, keepdims, "median"))
    if x.size == 0 and axis is None:  # torch's NaN (it raised naming quantile)
        return Tensor._wrap(np.full((1,) * x.ndim if keepdims else (), np.nan, x.dtype))
    return quantile(x, 0.5, axis=axis, keepdims=keepdims, method="lower")


def integer_lower_median(data, axis, keepdims, caller):
    """The lower median of integer ``data`` over ``axis`` (an int, a tuple, None for
    every element), an element picked by ``np.partition`` in the integers' own dtype: through
    float64 (as quantile computes) an int64 above 2**53 came back rounded, 2**60 + 1, + 3,
    + 5 giving 2**60, a value the tensor does not hold."""
    axes = normalize_axes(axis, data.ndim, caller, zero_d=True)
    if not axes:
        return data.copy()
    rest = [a for a in range(data.ndim) if a not in axes]
    moved = np.transpose(data, rest + list(axes)).reshape(
        tuple(data.shape[a] for a in rest) + (-1,))
    count = moved.shape[-1]
    if count == 0:
        raise ValueError(f"{caller}: cannot take the median of an empty slice (axes {axes} of "
                         f"shape {data.shape}) of an integer tensor")
    k = (count - 1) // 2
    out = np.partition(moved, k, axis=-1)[..., k]
    return out.reshape(keepdims_shape(data.shape, axes)) if keepdims else out


@refused_spelling(torch_dim_spelled, lambda x, args, kwargs: (
    "median: dim= is torch's spelling, but tinydl.median is NumPy's (the mean of the two "
    "middle values for an even count; torch's is the lower one): write x.median(dim), torch's "
    "method, for torch's, or tinydl.median(x, axis=) for NumPy's"))
@_values_only
@torch_names
@exact_for_integers("x")
def median(x, axis=None, keepdims=False):
    """Median over ``axis`` (of every element when None), NumPy's: the middle of the sorted
    values, the mean of the two middle ones for an even count (torch.median takes the lower:
    ``x.median()``, the method, is torch's, and torch's ``dim=`` here raises).
    The gradient goes to the middle element(s) (halves for an even count), as
    torch.quantile(x, 0.5). A slice holding NaN gives NaN; inf among the middle values gives
    inf as NumPy's median (quantile's lerp would give NaN for (2, inf))."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims, method=_MEAN_OF_MIDDLE)


# ----------------------------------------------------------------------------- NaN-ignoring
@torch_names
def nansum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis`` treating NaN as 0; NaN elements get no gradient (torch.nansum).
    ``dtype`` as ``sum``'s."""
    x = as_input(x)
    if x.dtype.kind == "f":
        x = where(np.isnan(x.data), 0.0, x)
    return sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


@torch_names
@exact_for_integers("x")
def nanmean(x, axis=None, keepdims=False, dtype=None):
    """Mean of the non-NaN elements over ``axis``, nansum / count (torch.nanmean); NaN where
    there are none. NaN elements get no gradient (also in an all-NaN slice, where torch's is
    NaN). ``dtype`` (a float dtype) casts x first, as ``mean``'s."""
    x = as_input(x)
    if dtype is not None:
        _check_mean_dtype("nanmean", dtype)
        x = astype(x, dtype)
    if x.dtype.kind != "f":
        return mean(x, axis=axis, keepdims=keepdims)
    if x.dtype == np.float16:  # in float32: a count past 65504 is inf in float16 (NaN out)
        return astype(nanmean(astype(x, np.float32), axis=axis, keepdims=keepdims), np.float16)
    axes = normalize_axes(axis, x.ndim, "nanmean", zero_d=True)
    count = np.sum(~np.isnan(x.data), axis=axes, keepdims=keepdims).astype(x.dtype)
    none = count == 0  # NaN there, without a 0 / 0 in the forward or the backward
    average = nansum(x, axis=axes, keepdims=keepdims) / Tensor._wrap(np.where(none, 1, count))
    return where(none, np.asarray(np.nan, dtype=x.dtype), average) if none.any() else average


# ----------------------------------------------------------------------------- torch's pairs
def _torch_correction(caller, correction, unbiased):
    """torch's ``correction`` (default 1, Bessel's) or its older ``unbiased`` flag."""
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{caller}: give correction= or unbiased=, not both")
        return 1 if unbiased else 0
    return 1 if correction is None else correction


@numpy_names
def std_mean(input, dim=None, *, correction=None, keepdim=False, unbiased=None):  # noqa: A002
    """torch's ``std_mean``: ``(std, mean)`` over ``dim`` (every element when None), the std
    with torch's default ``correction=1`` (``unbiased=`` too; ``std_mean(x, True)``, torch's
    older form, is that flag). ``tinydl.std`` itself is NumPy's (``ddof=0``)."""
    return _spread_and_mean(std, "std_mean", input, dim, correction, keepdim, unbiased)


@numpy_names
def var_mean(input, dim=None, *, correction=None, keepdim=False, unbiased=None):  # noqa: A002
    """torch's ``var_mean``: ``(var, mean)``, as ``std_mean``."""
    return _spread_and_mean(var, "var_mean", input, dim, correction, keepdim, unbiased)


def _spread_and_mean(spread, caller, x, dim, correction, keepdim, unbiased):
    """``(spread(x), mean(x))`` over ``dim`` with torch's correction; a bool ``dim`` is
    torch's older positional ``unbiased``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if isinstance(dim, (tuple, list)) and not dim:  # torch: every axis (torch_names says why)
        dim = None
    ddof = _torch_correction(caller, correction, unbiased)
    return (spread(x, axis=dim, ddof=ddof, keepdims=keepdim),
            mean(x, axis=dim, keepdims=keepdim))


def dist(input, other, p=2):  # noqa: A002 (torch's names)
    """torch's ``dist``: the ``p``-norm of ``input - other`` (broadcast) over all elements."""
    diff = subtract(as_input(input), other)
    return norm(diff.reshape((-1,)), p=p)
