"""Functional distances and normalisation: ``cosine_similarity``, ``pairwise_distance``,
``normalize``, ``pdist``, as compositions of core ops (differentiable to any order), torch's
formulas (pdist's p = inf gradient is one small Function, ``MaxAbs``)."""
import numpy as np

import tinydl
from tinydl.autograd import Function
from tinydl.ops._checks import _tensor
from tinydl.ops._util import ShapeError, normalize_axes
from tinydl.tensor import Tensor


def _floats(a, b):
    """``a`` and ``b`` with integer or bool ones cast as torch promotes them: to the other's
    floating dtype, or both to the default float32 (float64 before: a float32 partner then
    gave a float64 distance, which the next float32 layer refused)."""
    fa, fb = a.dtype.kind == "f", b.dtype.kind == "f"
    if fa and not fb:
        return a, b.astype(a.dtype)
    if fb and not fa:
        return a.astype(b.dtype), b
    if not (fa or fb):
        return a.astype(np.float32), b.astype(np.float32)
    return a, b


def _float(x):
    """Integer and bool inputs as float32, torch's default float (one input alone)."""
    return x.astype(np.float32) if x.dtype.kind in "iub" else x


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1/max(|x1|, eps) * x2/max(|x2|, eps))`` along ``dim`` (x1, x2 broadcast).

    torch's form: each input is divided by its own 2-norm first (so the result stays in
    [-1, 1]); the norms are clamped to ``eps`` outside the graph, so the gradient is that of
    the unclamped norm, as torch's. Shape: the broadcast shape without ``dim``.
    """
    a, b = _floats(_tensor(x1, "cosine_similarity", "x1"), _tensor(x2, "cosine_similarity", "x2"))
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {a.shape} and {b.shape} cannot be "
                         "broadcast together") from None
    (axis,) = normalize_axes(dim, len(shape), "cosine_similarity")
    a, b = a.broadcast_to(shape), b.broadcast_to(shape)

    def unit(x):
        n = tinydl.norm(x, axis=axis, keepdims=True)
        # the clamp, a constant shift (torch: no-grad); 0 where n >= eps (an overflowed
        # norm, inf, gave inf - inf = NaN there)
        lift = np.where(n.data < eps, eps - n.data, 0)
        return x / (n + Tensor._wrap(lift.astype(n.dtype, copy=False)))

    return (unit(a) * unit(b)).sum(axis=axis)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last axis (x1, x2 broadcast), torch's formula.

    (..., D), (..., D) -> (...) (or (..., 1) with ``keepdim``); two 0-d inputs are one
    coordinate each and give a 0-d distance, as in torch. ``p`` as ``tinydl.norm``'s
    torch-style ``p`` (a number, inf or -inf); the gradient is 0 where the norm is 0.
    """
    a, b = _floats(_tensor(x1, "pairwise_distance", "x1"), _tensor(x2, "pairwise_distance", "x2"))
    if a.ndim == 0 and b.ndim == 0:
        return tinydl.norm((a - b + eps).reshape((1,)), axis=-1, p=p)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: shapes {a.shape} and {b.shape} cannot be "
                         "broadcast together") from None
    return tinydl.norm(a - b + eps, axis=-1, keepdims=keepdim, p=p)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``dim`` (Lp normalisation), torch's formula.

    The clamp is a differentiable ``clip`` (torch's ``clamp_min``). Shape unchanged. ``dim``
    may be a tuple of axes (the norm over all of them; ``()`` is every axis), as torch's.
    """
    x = _float(_tensor(input, "normalize"))
    if x.ndim == 0:  # torch's dim 0 or -1 of a 0-d tensor: the tensor itself
        normalize_axes(dim, 1, "normalize")
        return normalize(x.reshape((1,)), p, 0, eps).reshape(())
    axes = normalize_axes(dim, x.ndim, "normalize")  # a tuple of dims too, as torch
    axis = axes[0] if len(axes) == 1 else (axes or None)  # () is every axis, as torch
    return x / tinydl.clip(tinydl.norm(x, axis=axis, keepdims=True, p=p), eps, None)


class MaxAbs(Function):
    """max_k |d_k| over the last axis (0 over an empty one); dd = g sign(d_k) at every k that
    attains the max: torch's pdist and cdist rule for p = inf, where each tied component gets
    the whole gradient (``tinydl.norm``, as torch's vector_norm, shares it among ties)."""

    retain_inputs = (0,)

    @staticmethod
    def forward(ctx, d):
        return np.max(np.abs(d), axis=-1, initial=0)

    @staticmethod
    def backward(ctx, g):
        d = ctx.inputs[0].data
        at_max = np.abs(d) == ctx.output.data[..., None]
        return (g.expand_dims(-1) * Tensor._wrap((np.sign(d) * at_max).astype(d.dtype)),)


def pdist(input, p=2):
    """Condensed pairwise distances ``||x_i - x_j||_p`` of the rows of ``input`` (N, M), for
    i < j in row-major order ((0, 1), (0, 2), ..., (1, 2), ...; SciPy's ``pdist`` order):
    (N (N - 1) / 2,). torch's ``F.pdist``: ``p >= 0`` (inf too), floating input only.

    The p-norms of the row differences (``tinydl.norm``), so gradients are torch's: 0 at a
    zero distance, and at a zero component for p < 1; for p = inf each component attaining
    the max gets the gradient's whole sign (``MaxAbs``).
    """
    x = _tensor(input, "pdist")
    if x.ndim != 2:
        raise ShapeError(f"pdist: expected a 2-D input (N, M), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"pdist: expected a floating point input, got dtype {x.dtype}")
    if not p >= 0:
        raise ValueError(f"pdist: p must be non-negative, got {p}")
    first, second = np.triu_indices(x.shape[0], 1)
    diff = x[first] - x[second]
    if p == np.inf:
        return MaxAbs.apply(diff)
    return tinydl.norm(diff, axis=-1, p=p)
