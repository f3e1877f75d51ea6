"""Scaled dot-product attention (Vaswani et al. 2017), as a composition of core ops.

``softmax(q k^T * scale + mask) v``: matmul, where/add, a stable softmax, dropout and
matmul again, so it is differentiable to any order. Masks follow
``torch.nn.functional.scaled_dot_product_attention``: a bool mask marks the entries that
TAKE PART (True = attend), a float mask is added to the scores. A row whose every entry is
masked out gives zero weights (and a zero output row), as torch's CPU kernels do, instead of
the NaN a plain softmax of -inf would give.
"""
import math

import numpy as np

import tinydl
from tinydl.ops._checks import _tensor
from tinydl.nn.functional.misc import dropout as _dropout
from tinydl.tensor import Tensor


def _attention(q, k, v, mask=None, dropout_p=0.0, scale=None,
               caller="scaled_dot_product_attention"):
    """(output, weights) of attention; ``mask`` is None, a bool (True = attend) or float mask.

    q (..., L, E), k (..., S, E), v (..., S, Ev) -> output (..., L, Ev), weights (..., L, S).
    Dropout (probability ``dropout_p``) is applied to the weights, which are returned after it.
    """
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{caller}: query, key and value need at least 2 dimensions "
                         f"(..., L, E), got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{caller}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, Ev), got shapes {q.shape}, {k.shape}, {v.shape}")
    if not q.dtype == k.dtype == v.dtype:  # NumPy would promote; torch refuses
        raise TypeError(f"{caller}: query, key and value must have the same dtype, got "
                        f"{q.dtype}, {k.dtype} and {v.dtype}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{caller}: the batch dimensions of query {q.shape}, key {k.shape} and "
                         f"value {v.shape} cannot be broadcast together") from None
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    scores = tinydl.matmul(q, k.swapaxes(-1, -2)) * scale
    dead = None
    if mask is not None:
        try:
            np.broadcast_shapes(mask.shape, batch + scores.shape[-2:])
        except ValueError:
            raise ValueError(f"{caller}: attn_mask of shape {mask.shape} cannot be broadcast to "
                             f"the scores' shape {batch + scores.shape[-2:]}") from None
        if mask.dtype == np.bool_:
            keep = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
            scores = tinydl.where(keep, scores, -np.inf)
        elif mask.dtype == q.dtype:
            scores = scores + mask
        elif mask.dtype.kind == "f":  # a float64 mask made float32 attention float64
            raise TypeError(f"{caller}: a float attn_mask must have the query's dtype "
                            f"{q.dtype}, got {mask.dtype} (cast it, or pass a bool mask)")
        else:
            raise TypeError(f"{caller}: attn_mask must be bool or floating, got dtype "
                            f"{mask.dtype}")
        dead = np.all(np.isneginf(scores.data), axis=-1, keepdims=True)
        if dead.any():
            scores = tinydl.where(dead, 0.0, scores)
        else:
            dead = None
    weights = tinydl.softmax(scores, -1)
    if dead is not None:
        weights = tinydl.where(dead, 0.0, weights)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    return tinydl.matmul(weights, v), weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(q k^T * scale + mask) v`` (Vaswani et al. 2017), torch's semantics.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); batch dimensions
    broadcast. ``scale`` defaults to 1/sqrt(E). ``attn_mask`` broadcastable to (..., L, S):
    bool (True = take part in attention) or float (added to the scores). ``is_causal``: query
    i attends to keys j <= i (the top-left aligned lower triangle, as torch); it excludes
    ``attn_mask``. ``enable_gqa``: grouped-query attention, key and value
    with fewer heads (axis -3) than the query, each shared by ``Hq / Hkv`` query heads (as
    torch, by repeating them). A fully masked row gives zero output. ``dropout_p`` drops attention
    weights with tinydl's seeded generator whenever it is > 0 (as torch, this function has
    no training flag: pass 0.0 in evaluation).
    """
    name = "scaled_dot_product_attention"
    q, k, v = (_tensor(t, name, n) for t, n in ((query, "query"), (key, "key"),
                                                (value, "value")))
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    mask = None if attn_mask is None else _tensor(attn_mask, name, "attn_mask")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        hq, hkv = q.shape[-3], k.shape[-3]
        if hkv == 0 or hq % hkv or v.ndim < 3 or v.shape[-3] != hkv:
            raise ValueError(f"{name}: enable_gqa needs the query's heads ({hq}) to be a "
                             f"multiple of the key's and value's, got shapes {q.shape}, "
                             f"{k.shape}, {v.shape}")
        k = tinydl.repeat_interleave(k, hq // hkv, axis=-3)
        v = tinydl.repeat_interleave(v, hq // hkv, axis=-3)
    if is_causal:
        if mask is not None:  # torch's documented rule (its float64 path combines the two)
            raise ValueError(f"{name}: attn_mask must not be given when is_causal=True")
        if q.ndim >= 2 and k.ndim >= 2:
            mask = Tensor._wrap(np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool)))
    return _attention(q, k, v, mask, dropout_p, scale, name)[0]
