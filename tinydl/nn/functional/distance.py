"""Functional distances and normalisation: ``cosine_similarity``, ``pairwise_distance``,
``normalize``, as compositions of core ops (differentiable to any order), torch's formulas."""
import numpy as np

import tinydl
from tinydl.ops._checks import _tensor
from tinydl.ops._util import normalize_axes
from tinydl.tensor import Tensor


def _float(x):
    """Integer and bool inputs as float64 (NumPy's promotion; torch computes these in float)."""
    return x.astype(np.float64) if x.dtype.kind in "iub" else x


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1/max(|x1|, eps) * x2/max(|x2|, eps))`` along ``dim`` (x1, x2 broadcast).

    torch's form: each input is divided by its own 2-norm first (so the result stays in
    [-1, 1]); the norms are clamped to ``eps`` outside the graph, so the gradient is that of
    the unclamped norm, as torch's. Shape: the broadcast shape without ``dim``.
    """
    a = _float(_tensor(x1, "cosine_similarity", "x1"))
    b = _float(_tensor(x2, "cosine_similarity", "x2"))
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

    (..., D), (..., D) -> (...) (or (..., 1) with ``keepdim``). ``p`` as ``tinydl.norm``'s
    torch-style ``p`` (a number, inf or -inf); the gradient is 0 where the norm is 0.
    """
    a = _float(_tensor(x1, "pairwise_distance", "x1"))
    b = _float(_tensor(x2, "pairwise_distance", "x2"))
    if a.ndim == 0 and b.ndim == 0:
        raise ValueError("pairwise_distance: inputs need at least one dimension, got 0-d")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: shapes {a.shape} and {b.shape} cannot be "
                         "broadcast together") from None
    return tinydl.norm(a - b + eps, axis=-1, keepdims=keepdim, p=p)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``x / max(||x||_p, eps)`` along ``dim`` (Lp normalisation), torch's formula.

    The clamp is a differentiable ``clip`` (torch's ``clamp_min``). Shape unchanged.
    """
    x = _float(_tensor(input, "normalize"))
    (axis,) = normalize_axes(dim, x.ndim, "normalize")
    return x / tinydl.clip(tinydl.norm(x, axis=axis, keepdims=True, p=p), eps, None)
