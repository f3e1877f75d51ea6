"""Attention layers: ``MultiheadAttention`` and ``TransformerEncoderLayer``, as in ``torch.nn``.

Parameter names, shapes and initialisation are torch's, so a torch ``state_dict`` (as arrays)
loads into them unchanged. The attention itself is ``F._attention`` (scaled dot-product
attention composed of core ops), so everything is differentiable to any order.
"""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.dropout import Dropout
from tinydl.ops._checks import _check_float_dtypes, _tensor
from tinydl.nn.functional.attention import _attention
from tinydl.nn.linear import Linear
from tinydl.nn.module import Module, Parameter, _check_size, _parameter_dtype
from tinydl.nn.normalization import LayerNorm
from tinydl.tensor import Tensor, _check_device


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
    if mask.dtype != dtype:  # a float64 mask made float32 attention float64 (torch refuses)
        raise TypeError(f"{caller}: a float {name} must have the input's dtype {np.dtype(dtype)}, "
                        f"got {mask.dtype} (cast it, or pass a bool mask)")
    return mask


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017) with torch's arguments and parameters.

    ``out = concat_h(softmax(q_h k_h^T / sqrt(d) + mask) v_h) W_o^T + b_o`` with
    ``q = query W_q^T + b_q`` (likewise k, v) and d = embed_dim / num_heads.
    Parameters: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) when kdim = vdim = E,
    else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim)
    (and ``in_proj_bias``); ``out_proj`` a Linear(E, E). Init as torch: xavier-uniform input
    projections, zero biases. Inputs (L, N, E) — or (N, L, E) with ``batch_first`` — or
    unbatched (L, E). Masks as torch's: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S)
    or (N*num_heads, L, S); bool True = ignore that key, floats are added to the scores.
    Differences from torch: ``is_causal=True`` without ``attn_mask`` builds the causal mask
    (torch refuses); a query whose every key is masked gets zero weights and output (torch
    gives NaN on the need_weights path); ``add_bias_kv``/``add_zero_attn`` are not supported.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=np.float32):
        # torch's argument order, so that positional arguments land where they do in torch.
        super().__init__()
        dtype = _parameter_dtype(dtype)
        name = "MultiheadAttention"
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(f"{name}: add_bias_kv and add_zero_attn are not "
                                      "supported")
        if device is not None:
            _check_device(device, name)
        self.embed_dim = _check_size(embed_dim, name, "embed_dim", 1)
        self.num_heads = _check_size(num_heads, name, "num_heads", 1)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.kdim = embed_dim if kdim is None else _check_size(kdim, name, "kdim", 1)
        self.vdim = embed_dim if vdim is None else _check_size(vdim, name, "vdim", 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        biases = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        return weights, biases

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(attn_output, attn_weights): output shaped like ``query`` with E features; weights
        (N, L, S) averaged over heads, or (N, num_heads, L, S), or None if not
        ``need_weights`` (the batch axis dropped for unbatched input)."""
        name = "MultiheadAttention"
        q, k, v = (_tensor(t, name, n) for t, n in ((query, "query"), (key, "key"),
                                                    (value, "value")))
        ref = self.out_proj.weight
        for t in (q, k, v):
            _check_float_dtypes(t, ref, name)
        batched = q.ndim == 3
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(f"{name}: expected query, key and value all 3-D (batched) or all "
                             f"2-D (unbatched), got shapes {q.shape}, {k.shape}, {v.shape}")
        if not batched:
            q, k, v = q[None], k[None], v[None]
        elif not self.batch_first:
            q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
        n, tgt, e = q.shape
        src = k.shape[1]
        if (e != self.embed_dim or k.shape[2] != self.kdim or v.shape[2] != self.vdim
                or k.shape[:2] != v.shape[:2] or k.shape[0] != n):
            raise ValueError(f"{name}: expected query (.., {self.embed_dim}), key (.., "
                             f"{self.kdim}) and value (.., {self.vdim}) with matching batch "
                             f"and key/value lengths, got shapes {tuple(query.shape)}, "
                             f"{tuple(key.shape)}, {tuple(value.shape)}")
        h, d = self.num_heads, self.head_dim
        (wq, wk, wv), (bq, bk, bv) = self._projections()

        def heads(x, w, b, length):
            return F.linear(x, w, b).reshape((n, length, h, d)).swapaxes(1, 2)

        qh, kh, vh = heads(q, wq, bq, tgt), heads(k, wk, bk, src), heads(v, wv, bv, src)

        mask = None
        if attn_mask is not None:
            mask = _additive_mask(attn_mask, q.dtype, name, "attn_mask")
            if mask.shape == (tgt, src):
                pass
            elif batched and mask.shape == (n * h, tgt, src):
                mask = mask.reshape((n, h, tgt, src))
            elif not batched and mask.shape == (h, tgt, src):
                mask = mask[None]
            else:
                raise ValueError(f"{name}: attn_mask must be ({tgt}, {src}) or "
                                 f"({n * h if batched else h}, {tgt}, {src}), got "
                                 f"{tuple(mask.shape)}")
        elif is_causal:
            mask = Tensor._wrap(np.triu(np.full((tgt, src), -np.inf, dtype=q.dtype), 1))
        if key_padding_mask is not None:
            kpm = _additive_mask(key_padding_mask, q.dtype, name, "key_padding_mask")
            if kpm.shape != ((n, src) if batched else (src,)):
                raise ValueError(f"{name}: key_padding_mask must be "
                                 f"{(n, src) if batched else (src,)}, got {tuple(kpm.shape)}")
            kpm = kpm.reshape((n, 1, 1, src))
            mask = kpm if mask is None else mask + kpm

        p = self.dropout if self.training else 0.0
        out, weights = _attention(qh, kh, vh, mask, p, None, name)
        out = self.out_proj(out.swapaxes(1, 2).reshape((n, tgt, e)))
        if not batched:
            out = out[0]
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights if batched else weights[0])

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One Transformer encoder layer: self-attention then a feed-forward block, torch's layout.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``; ``norm_first``:
    ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``, where
    ``ff(x) = linear2(dropout(activation(linear1(x))))`` and each block's output goes through
    ``dropout1``/``dropout2``. Submodules and parameter names are torch's (``self_attn``,
    ``linear1``, ``linear2``, ``norm1``, ``norm2``). ``activation``: 'relu', 'gelu' or a
    callable. forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): masks
    as ``MultiheadAttention``'s.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 dtype=np.float32):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation should be relu/gelu, "
                                 f"not {activation!r}")
            self.activation = _ACTIVATIONS[activation]
        elif callable(activation):
            self.activation = activation
        else:
            raise TypeError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a "
                            f"callable, got {activation!r}")

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x
