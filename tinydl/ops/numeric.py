"""Numerical routines by NumPy's names: ``diff`` (finite differences), ``trapezoid`` (torch's
``trapz`` too), ``cov``, ``corrcoef``, ``vander``, ``bincount``; and torch's ``histc`` and
``renorm``.

Each differentiable one is a composition of tinydl's ops (slices, sums, products, matmul,
cumprod, scatter_add), so its gradients of every order come for free. Integer inputs of the
float-valued ones (trapezoid, cov, corrcoef) give float32, as torch (NumPy: float64).
"""
import math
import warnings

import numpy as np

from tinydl.ops._util import (DtypeError, exact_for_integers, floating, normalize_axes,
                              tensor_of, torch_names)
from tinydl.ops.elementwise import astype, clip, sqrt, where
from tinydl.ops.gather import ScatterAdd
from tinydl.ops.reduce import mean, norm, sum
from tinydl.ops.scan import cumprod
from tinydl.ops.shape import broadcast_to, concatenate, reshape
from tinydl.ops.movement import diagonal, flip
from tinydl.tensor import Tensor


# ----------------------------------------------------------------------------- differences
def _along(axis, ndim, piece):
    """The index taking ``piece`` (a slice) along ``axis`` of an ``ndim``-d tensor."""
    return (slice(None),) * axis + (piece,) + (slice(None),) * (ndim - axis - 1)


@torch_names
def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis``, as ``np.diff``:
    ``out[i] = a[i + 1] - a[i]``, applied ``n`` times (bool: ``a[i + 1] != a[i]``).

    ``prepend`` / ``append`` are joined to ``a`` along ``axis`` first (a number or 0-d tensor
    is broadcast to one slice; otherwise they need ``a``'s number of dimensions). The length
    along ``axis`` shrinks by ``n`` (to 0 at most); ``n = 0`` gives ``a`` itself.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"diff: n must be an int, got {n!r}")
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    a = tensor_of(a)
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError("diff: needs a tensor of at least 1 dimension, got a 0-d tensor")
    axis = normalize_axes(axis, a.ndim, "diff")[0]
    before = [] if prepend is None else [_slab(a, axis, prepend, "prepend")]
    after = [] if append is None else [_slab(a, axis, append, "append")]
    if before or after:
        a = concatenate(before + [a] + after, axis=axis)
    later, earlier = _along(axis, a.ndim, slice(1, None)), _along(axis, a.ndim, slice(None, -1))
    for _ in range(n):
        if a.dtype == np.bool_:  # NumPy's and torch's rule: a change of value
            a = Tensor._wrap(np.not_equal(a.data[later], a.data[earlier]))
        else:
            a = a[later] - a[earlier]
    return a


def _slab(a, axis, extra, name):
    """diff's ``prepend`` or ``append`` as a Tensor to join to ``a`` along ``axis``."""
    extra = tensor_of(extra)
    if extra.ndim == 0:
        return broadcast_to(extra, a.shape[:axis] + (1,) + a.shape[axis + 1:])
    if extra.ndim != a.ndim:
        raise ValueError(f"diff: {name} of shape {extra.shape} needs the {a.ndim} "
                         f"dimensions of the input of shape {a.shape} (or 0)")
    return extra


@torch_names
@exact_for_integers("y", "x")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, as ``np.trapezoid``:
    ``sum_i (x[i + 1] - x[i]) (y[i] + y[i + 1]) / 2``.

    ``x``: the sample points, 1-D (one per sample along ``axis``) or broadcasting with ``y``
    (its differences taken along ``axis``); without ``x`` the points are ``dx`` apart (NumPy
    ignores ``dx`` when ``x`` is given). Shape: ``y``'s without ``axis``; fewer than two
    samples integrate to 0. Differentiable in ``y`` and ``x``.
    """
    y = floating(tensor_of(y))
    if y.ndim == 0:
        raise ValueError("trapezoid: needs a tensor of at least 1 dimension, got a 0-d tensor")
    given, axis = axis, normalize_axes(axis, y.ndim, "trapezoid")[0]
    if x is None:
        d = dx
    else:
        x = floating(tensor_of(x))
        if x.ndim == 1:
            if x.shape[0] != y.shape[axis]:
                raise ValueError(f"trapezoid: x has {x.shape[0]} points and y {y.shape[axis]} "
                                 f"samples along axis {axis} (shape {y.shape}); there must be "
                                 "one x per sample")
            d = reshape(diff(x), (1,) * axis + (-1,) + (1,) * (y.ndim - axis - 1))
        else:
            d = diff(x, axis=given)  # NumPy's: the axis as given, on x
    later, earlier = _along(axis, y.ndim, slice(1, None)), _along(axis, y.ndim, slice(None, -1))
    return sum(d * (y[later] + y[earlier]) / 2.0, axis=axis)


trapz = trapezoid  # torch's other name (NumPy's, removed in NumPy 2.4)


# ----------------------------------------------------------------------------- covariance
@torch_names
@exact_for_integers("m", "y", "aweights")
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix of the variables (rows of ``m``; columns with ``rowvar=False``), as
    ``np.cov``; torch's ``correction=`` is ``ddof``.

    With observation weights ``w = fweights * aweights`` (each optional, 1-D, non-negative;
    fweights whole numbers) and the weighted mean ``mu``:
    ``C = (X - mu) diag(w) (X - mu)^T / f``, ``f = sum(w) - ddof * sum(w * aweights) / sum(w)``
    (``sum(w) - ddof`` without aweights, ``n - ddof`` without weights). ``ddof`` defaults to
    1 (0 with ``bias=True``). ``y`` adds more variables. Shape (V, V) for V variables, 0-d for
    one. ``f <= 0`` warns and gives inf / NaN, as NumPy and torch. Differentiable in ``m``,
    ``y`` and ``aweights``.
    """
    if ddof is not None and ddof != int(ddof):
        raise ValueError(f"cov: ddof (torch's correction) must be an integer, got {ddof!r}")
    X = _variables("cov", m, rowvar, dtype)
    if X.shape[0] == 0:
        return Tensor._wrap(np.zeros((0, 0), dtype=X.dtype))
    if y is not None:
        X = concatenate([X, _variables("cov", y, rowvar, dtype, second=True)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = X.shape[1]
    w = None
    if fweights is not None:
        fweights = _weights("fweights", fweights, n)
        if not (fweights.data == np.around(fweights.data)).all():
            raise TypeError("cov: fweights must hold whole numbers")
        w = astype(fweights, X.dtype) if fweights.dtype.kind != "f" else fweights
    if aweights is not None:
        aweights = _weights("aweights", aweights, n)
        w = aweights if w is None else w * aweights
    if w is None:
        centred = X - mean(X, axis=1, keepdims=True)
        fact = n - ddof
    else:
        w_sum = sum(w)
        centred = X - sum(X * w, axis=1, keepdims=True) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * sum(w * aweights) / w_sum
    if float(fact.data if isinstance(fact, Tensor) else fact) <= 0:
        warnings.warn(f"cov: degrees of freedom <= 0 ({n} observations, ddof={ddof}): the "
                      "result is inf or NaN", RuntimeWarning, stacklevel=2)
        fact = 0.0
    weighted = centred if w is None else centred * w
    c = weighted @ centred.T
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c / fact if isinstance(fact, Tensor) or fact == 0 else c * (1.0 / fact)
    return reshape(c, ()) if c.shape == (1, 1) else c


def _variables(op, m, rowvar, dtype, second=False):
    """``m`` as a (variables, observations) float tensor (NumPy's ``ndmin=2``; a 1-D ``m`` is
    one variable). ``second``: m is cov's ``y``, for which NumPy keeps one row as one variable
    even with rowvar=False."""
    m = tensor_of(m)
    if m.ndim > 2:
        raise ValueError(f"{op}: expects at most 2 dimensions (variables, observations), got "
                         f"shape {m.shape}")
    if dtype is not None:
        m = astype(m, dtype)
    X = floating(m)
    # NumPy's rule: a 1-D m is one variable whatever rowvar says; a 2-D m with rowvar=False
    # is transposed even when it has one row (a (1, N) m holds N variables then).
    transpose = not rowvar and X.ndim == 2 and not (second and X.shape[0] == 1)
    X = reshape(X, (1,) * (2 - X.ndim) + X.shape)
    return X.T if transpose else X


def _weights(name, w, n):
    """Checked observation weights: 1-D, ``n`` of them, none negative."""
    w = tensor_of(w)
    if w.ndim != 1:
        raise ValueError(f"cov: {name} must be 1-D, got shape {w.shape}")
    if w.shape[0] != n:
        raise ValueError(f"cov: {w.shape[0]} {name} for {n} observations")
    if (w.data < 0).any():
        raise ValueError(f"cov: {name} cannot be negative")
    return w


@exact_for_integers("x", "y")
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients ``C_ij / sqrt(C_ii C_jj)`` of ``cov(x, y, rowvar)``,
    clipped to [-1, 1], as ``np.corrcoef`` and ``torch.corrcoef``. A variable of variance 0
    gives NaN in its row and column."""
    c = cov(x, y, rowvar, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if c.ndim == 0:
            return c / c
        d = sqrt(diagonal(c))
        c = c / reshape(d, (-1, 1)) / reshape(d, (1, -1))
    return clip(c, -1.0, 1.0)


# ----------------------------------------------------------------------------- vander
def vander(x, N=None, increasing=False):  # noqa: N803 (NumPy's and torch's name)
    """The Vandermonde matrix of a 1-D ``x``, as ``np.vander`` and ``torch.vander``: column j
    is ``x ** (N - 1 - j)`` (``increasing``: ``x ** j``), ``N`` columns (``len(x)`` when None).
    Integer and bool x give int64. The powers are a cumulative product, so the gradient is
    exact at x = 0."""
    x = tensor_of(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {x.shape}")
    n = x.shape[0] if N is None else N
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"vander: N must be a non-negative int, got {N!r}")
    if x.dtype.kind in "iub":
        x = astype(x, np.int64)
    if n == 0:  # no columns, still a node of x's graph (its gradient is zeros)
        return reshape(x, (-1, 1))[:, :0]
    ones = Tensor._wrap(np.ones((x.shape[0], 1), dtype=x.dtype))
    factors = concatenate([ones, broadcast_to(reshape(x, (-1, 1)), (x.shape[0], n - 1))], 1)
    powers = cumprod(factors, axis=1)
    return powers if increasing else flip(powers, 1)


# ----------------------------------------------------------------------------- counting
def bincount(x, weights=None, minlength=0):
    """Counts of each value of a 1-D tensor of non-negative integers, as ``np.bincount``:
    ``out[v]`` = how often v occurs (int64), or the sum of ``weights`` where it occurs.
    Length ``max(x) + 1``, at least ``minlength``. Weighted counts have torch's dtype:
    float32 weights stay float32, float64 and integer ones give float64. The gradient of the
    weights is ``g[x]``."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got shape {data.shape}")
    if data.size == 0 and data.dtype.kind == "f":
        data = data.astype(np.int64)  # [] reads as float in NumPy
    if data.dtype.kind not in "iub":
        raise TypeError(f"bincount: x must hold integers, got dtype {data.dtype}")
    if data.size and data.min() < 0:
        raise ValueError(f"bincount: x must be non-negative, got {data.min()}")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)) \
            or minlength < 0:
        raise ValueError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    length = max(int(data.max()) + 1 if data.size else 0, int(minlength))
    index = data.astype(np.int64)
    if weights is None:
        return Tensor._wrap(np.bincount(index, minlength=length).astype(np.int64))
    weights = tensor_of(weights)
    if weights.shape != data.shape:
        raise ValueError(f"bincount: weights of shape {weights.shape} must match x of shape "
                         f"{data.shape}")
    if weights.dtype != np.float32:
        weights = astype(weights, np.float64)
    zeros = Tensor._wrap(np.zeros(length, dtype=weights.dtype))
    return ScatterAdd.apply(zeros, weights, index=index, axis=0)


def histc(x, bins=100, min=0, max=0):  # noqa: A002 (torch's names)
    """torch.histc: counts of the elements of ``x`` in ``bins`` equal bins spanning
    [min, max], in x's (floating) dtype; no gradient.

    ``min == max`` (the default 0, 0) takes the range of the data, widened to
    [v - 1, v + 1] when all elements equal v. Elements outside the range (and NaN) are not
    counted; ``max`` itself falls in the last bin. The bin of v is
    ``int((v - min) * bins / (max - min))``, computed in x's dtype as torch does.
    """
    x = tensor_of(x)
    if x.dtype.kind != "f":
        raise DtypeError(f"histc: expects a floating-point tensor, got dtype {x.dtype} (as "
                         "torch); cast it first, e.g. x.float()")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise ValueError(f"histc: bins must be a positive int, got {bins!r}")
    lo, hi = float(min), float(max)
    values = x.data.reshape(-1)
    if lo == hi and values.size:
        lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"histc: range [{lo}, {hi}] is not finite (NaN or inf in the data "
                         "when min == max)")
    if lo > hi:
        raise ValueError(f"histc: max {max} must be larger than min {min}")
    dtype = x.dtype.type
    lo, hi = dtype(lo), dtype(hi)
    inside = values[(values >= lo) & (values <= hi)]
    with np.errstate(over="ignore", invalid="ignore"):
        position = ((inside - lo) * dtype(bins) / (hi - lo)).astype(np.int64)
    position[position == bins] = bins - 1
    return Tensor._wrap(np.bincount(position, minlength=bins).astype(x.dtype))


# ----------------------------------------------------------------------------- renorm
def renorm(x, p, dim, maxnorm):
    """torch.renorm: each slice ``x[..., i, ...]`` along ``dim`` whose p-norm exceeds
    ``maxnorm`` is scaled down to norm ``maxnorm`` (times ``maxnorm / (norm + 1e-7)``, torch's
    factor); the others are unchanged. ``x`` needs 2 or more dimensions, ``p > 0`` (inf too).
    The gradient runs through the norm, as torch's."""
    x = tensor_of(x)
    if x.dtype.kind != "f":
        raise DtypeError(f"renorm: expects a floating-point tensor, got dtype {x.dtype} (as "
                         "torch)")
    if x.ndim < 2:
        raise ValueError(f"renorm: needs at least 2 dimensions, got shape {x.shape}")
    if not p > 0:
        raise ValueError(f"renorm: p must be positive, got {p!r}")
    if not maxnorm >= 0:
        raise ValueError(f"renorm: maxnorm must be non-negative, got {maxnorm!r}")
    axis = normalize_axes(dim, x.ndim, "renorm")[0]
    others = tuple(i for i in range(x.ndim) if i != axis)
    size = norm(x, p=p, axis=others, keepdims=True)
    factor = where(size.data > maxnorm, maxnorm / (size + 1e-7), 1.0)
    return x * factor
