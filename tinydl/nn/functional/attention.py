"""Scaled dot-product attention (Vaswani et al. 2017), as a composition of core ops.

``softmax(q k^T * scale + mask) v``: matmul, where/add, a stable softmax, dropout and
matmul again, so it is differentiable to any order. Masks follow
``torch.nn.functional.scaled_dot_product_attention``: a bool mask marks the entries that
TAKE PART (True = attend), a float mask is added to the scores. A row whose every entry is
masked out gives zero weights (and a zero output row), as torch's CPU kernels do, instead of
the NaN a plain softmax of -inf would give.

``multi_head_attention_forward`` (what ``nn.MultiheadAttention`` runs) projects query, key
and value, splits the heads, runs the same attention and projects back. Its masks follow
``MultiheadAttention``'s convention instead: bool True = IGNORE that key.
"""
import math

import numpy as np

import tinydl
from tinydl.ops._checks import _check_float_dtypes, _tensor
from tinydl.nn.functional.linear import linear
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
    if q.dtype.kind != "f":  # a softmax of integer scores: torch refuses too
        raise TypeError(f"{caller}: query, key and value must be floating point, got {q.dtype}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{caller}: the batch dimensions of query {q.shape}, key {k.shape} and "
                         f"value {v.shape} cannot be broadcast together") from None
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    scores = tinydl.matmul(q, k.swapaxes(-1, -2)) * scale
    if mask is not None:
        try:
            np.broadcast_shapes(mask.shape, batch + scores.shape[-2:])
        except ValueError:
            raise ValueError(f"{caller}: attn_mask of shape {mask.shape} cannot be broadcast to "
                             f"the scores' shape {batch + scores.shape[-2:]}") from None
        if mask.dtype == np.bool_:
            keep = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
            scores = tinydl.where(keep, scores, -np.inf)
        elif mask.dtype in (q.dtype, np.float32):  # torch's rule: the query's dtype or float32
            scores = scores + (mask if mask.dtype == q.dtype else mask.astype(q.dtype))
        elif mask.dtype.kind == "f":  # a float64 mask made float32 attention float64
            raise TypeError(f"{caller}: a float attn_mask must have the query's dtype "
                            f"{q.dtype} (or float32), got {mask.dtype} (cast it, or pass a bool "
                            "mask)")
        else:
            raise TypeError(f"{caller}: attn_mask must be bool or floating, got dtype "
                            f"{mask.dtype}")
    # A query row whose scores are all -inf (every key masked, or an infinite query) gets zero
    # weights and output, as torch's softmax there, instead of 0/0.
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


def _additive_mask(mask, dtype, caller, name):
    """A torch-style MultiheadAttention mask as a float Tensor to add to the scores.

    bool: True = NOT allowed to attend (-inf), False = 0; float: added as it is.
    """
    mask = _tensor(mask, caller, name)
    if mask.dtype == np.bool_:
        return Tensor._wrap(np.where(mask.data, -np.inf, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise TypeError(f"{caller}: only bool and floating types of {name} are supported, got "
                        f"dtype {mask.dtype}")
    if mask.dtype == np.float32 and dtype != np.float32:  # torch takes float32 masks too
        return mask.astype(dtype)
    if mask.dtype != dtype:  # a float64 mask made float32 attention float64 (torch refuses)
        raise TypeError(f"{caller}: a float {name} must have the input's dtype {np.dtype(dtype)} "
                        f"(or float32), got {mask.dtype} (cast it, or pass a bool mask)")
    return mask


def _multi_head_attention(query, key, value, embed_dim, num_heads, projections, out_weight,
                          out_bias, key_padding_mask, need_weights, attn_mask,
                          average_attn_weights, is_causal, dropout_p, batch_first, caller):
    """(output, weights or None) of multi-head attention: what ``nn.MultiheadAttention`` and
    ``multi_head_attention_forward`` share.

    ``projections`` = ((w_q, w_k, w_v), (b_q, b_k, b_v)) (biases may be None); the output is
    ``linear(concat_h(attention_h), out_weight, out_bias)``. Inputs (L, N, E) — (N, L, E) with
    ``batch_first`` — or unbatched (L, E); masks as ``MultiheadAttention``'s (True = ignore).
    """
    q, k, v = (_tensor(t, caller, n) for t, n in ((query, "query"), (key, "key"),
                                                  (value, "value")))
    for t in (q, k, v):
        _check_float_dtypes(t, out_weight, caller)
    batched = q.ndim == 3
    if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"{caller}: expected query, key and value all 3-D (batched) or all "
                         f"2-D (unbatched), got shapes {q.shape}, {k.shape}, {v.shape}")
    if not batched:
        q, k, v = q[None], k[None], v[None]
    elif not batch_first:
        q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
    n, tgt, e = q.shape
    src = k.shape[1]
    (wq, wk, wv), (bq, bk, bv) = projections
    kdim, vdim = wk.shape[-1], wv.shape[-1]
    if (e != embed_dim or k.shape[2] != kdim or v.shape[2] != vdim
            or k.shape[:2] != v.shape[:2] or k.shape[0] != n):
        raise ValueError(f"{caller}: expected query (.., {embed_dim}), key (.., {kdim}) and "
                         f"value (.., {vdim}) with matching batch and key/value lengths, got "
                         f"shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                         f"{tuple(value.shape)}")
    h, d = num_heads, embed_dim // num_heads

    def heads(x, w, b, length):
        return linear(x, w, b).reshape((n, length, h, d)).swapaxes(1, 2)

    qh, kh, vh = heads(q, wq, bq, tgt), heads(k, wk, bk, src), heads(v, wv, bv, src)

    mask = None
    if attn_mask is not None:
        mask = _additive_mask(attn_mask, q.dtype, caller, "attn_mask")
        if mask.shape == (tgt, src):
            pass
        elif batched and mask.shape == (n * h, tgt, src):
            mask = mask.reshape((n, h, tgt, src))
        elif not batched and mask.shape == (h, tgt, src):
            mask = mask[None]
        else:
            raise ValueError(f"{caller}: attn_mask must be ({tgt}, {src}) or "
                             f"({n * h if batched else h}, {tgt}, {src}), got "
                             f"{tuple(mask.shape)}")
    elif is_causal:
        mask = Tensor._wrap(np.triu(np.full((tgt, src), -np.inf, dtype=q.dtype), 1))
    if key_padding_mask is not None:
        kpm = _additive_mask(key_padding_mask, q.dtype, caller, "key_padding_mask")
        if kpm.shape != ((n, src) if batched else (src,)):
            raise ValueError(f"{caller}: key_padding_mask must be "
                             f"{(n, src) if batched else (src,)}, got {tuple(kpm.shape)}")
        kpm = kpm.reshape((n, 1, 1, src))
        mask = kpm if mask is None else mask + kpm

    out, weights = _attention(qh, kh, vh, mask, dropout_p, None, caller)
    out = linear(out.swapaxes(1, 2).reshape((n, tgt, e)), out_weight, out_bias)
    if not batched:
        out = out[0]
    elif not batch_first:
        out = out.swapaxes(0, 1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(axis=1)
    return out, (weights if batched else weights[0])


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention with explicit weights (torch's positional signature): what
    ``nn.MultiheadAttention`` computes, ``(attn_output, attn_weights or None)``.

    query (L, N, E), key (S, N, kdim), value (S, N, vdim), or unbatched (L, E), (S, kdim),
    (S, vdim): always sequence-first (the module's ``batch_first`` transposes before calling).
    Projections: ``in_proj_weight`` (3E, E) split in q, k, v rows, or with
    ``use_separate_proj_weight`` ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim),
    ``v_proj_weight`` (E, vdim); ``in_proj_bias`` (3E,) or None; output projection
    ``out_proj_weight`` (E, E), ``out_proj_bias``. Dropout on the attention weights only when
    ``training``. Masks as ``MultiheadAttention``'s (bool True = ignore, floats added).
    ``bias_k``/``bias_v``, ``add_zero_attn`` and ``static_k``/``static_v`` are not supported
    (they must be None/False).
    """
    name = "multi_head_attention_forward"
    if (bias_k is not None or bias_v is not None or add_zero_attn or static_k is not None
            or static_v is not None):
        raise NotImplementedError(f"{name}: bias_k/bias_v, add_zero_attn and static_k/static_v "
                                  "are not supported")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    e = embed_dim_to_check
    query = _tensor(query, name, "query")
    if query.ndim and query.shape[-1] != e:
        raise ValueError(f"{name}: expected query (.., {e}) as embed_dim_to_check says, got "
                         f"shape {query.shape}")
    if num_heads < 1 or e % num_heads:
        raise ValueError(f"{name}: embed_dim ({e}) must be divisible by num_heads "
                         f"({num_heads})")
    if use_separate_proj_weight:
        weights = [_tensor(w, name, n) if w is not None else None for w, n in (
            (q_proj_weight, "q_proj_weight"), (k_proj_weight, "k_proj_weight"),
            (v_proj_weight, "v_proj_weight"))]
        if any(w is None for w in weights):
            raise ValueError(f"{name}: use_separate_proj_weight=True needs q_proj_weight, "
                             "k_proj_weight and v_proj_weight")
    else:
        w = _tensor(in_proj_weight, name, "in_proj_weight")
        if w.shape != (3 * e, e):
            raise ValueError(f"{name}: in_proj_weight must be ({3 * e}, {e}), got {w.shape}")
        weights = [w[:e], w[e:2 * e], w[2 * e:]]
    if weights[0].shape != (e, e) or any(w.ndim != 2 or w.shape[0] != e for w in weights):
        raise ValueError(f"{name}: expected projection weights ({e}, {e}), ({e}, kdim) and "
                         f"({e}, vdim), got {[w.shape for w in weights]}")
    biases = (None,) * 3
    if in_proj_bias is not None:
        b = _tensor(in_proj_bias, name, "in_proj_bias")
        if b.shape != (3 * e,):
            raise ValueError(f"{name}: in_proj_bias must be ({3 * e},), got {b.shape}")
        biases = (b[:e], b[e:2 * e], b[2 * e:])
    out_w = _tensor(out_proj_weight, name, "out_proj_weight")
    out_b = None if out_proj_bias is None else _tensor(out_proj_bias, name, "out_proj_bias")
    return _multi_head_attention(query, key, value, e, num_heads, (weights, biases), out_w,
                                 out_b, key_padding_mask, need_weights, attn_mask,
                                 average_attn_weights, is_causal,
                                 dropout_p if training else 0.0, False, name)
