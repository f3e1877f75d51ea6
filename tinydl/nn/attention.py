"""Attention layers: ``MultiheadAttention``, ``TransformerEncoderLayer`` and
``TransformerDecoderLayer``, as in ``torch.nn`` (the stacks are in ``transformer.py``).

Parameter names, shapes and initialisation are torch's, so a torch ``state_dict`` (as arrays)
loads into them unchanged. ``MultiheadAttention`` runs the computation of
``F.multi_head_attention_forward`` with its own parameters; the attention itself is
``F._attention`` (scaled dot-product attention composed of core ops), so everything is
differentiable to any order.
"""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.dropout import Dropout
from tinydl.nn.functional.attention import _multi_head_attention
from tinydl.nn.linear import Linear
from tinydl.nn.module import Module, Parameter, _check_size, _parameter_dtype
from tinydl.nn.normalization import LayerNorm
from tinydl.tensor import _check_device


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
        # torch's attributes for the options refused above, read by code that inspects a layer
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
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
        return _multi_head_attention(
            query, key, value, self.embed_dim, self.num_heads, self._projections(),
            self.out_proj.weight, self.out_proj.bias, key_padding_mask, need_weights,
            attn_mask, average_attn_weights, is_causal, self.dropout if self.training else 0.0,
            self.batch_first, "MultiheadAttention")

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation_fn(activation, caller):
    """torch's ``activation`` argument of the Transformer layers: 'relu', 'gelu' or a callable."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{caller}: activation should be relu/gelu, not {activation!r}")
        return _ACTIVATIONS[activation]
    if callable(activation):
        return activation
    raise TypeError(f"{caller}: activation must be 'relu', 'gelu' or a callable, got "
                    f"{activation!r}")


class _TransformerLayer(Module):
    """What torch's encoder and decoder layers share.

    One ``MultiheadAttention`` per name in ``attentions`` (('self_attn',) for the encoder,
    ('self_attn', 'multihead_attn') for the decoder), the feed-forward block
    ``linear2(dropout(activation(linear1(x))))``, and one LayerNorm ``norm<i>`` and one
    Dropout ``dropout<i>`` per sublayer (the attentions, then the feed-forward block).
    Submodules are registered in torch's order, so ``state_dict`` keys come out in its order.
    """

    def __init__(self, attentions, d_model, nhead, dim_feedforward, dropout, activation,
                 layer_norm_eps, batch_first, norm_first, bias, dtype):
        super().__init__()
        for attr in attentions:
            setattr(self, attr, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first, dtype=dtype))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        sublayers = range(1, len(attentions) + 2)
        for i in sublayers:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in sublayers:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation_fn(activation, type(self).__name__)

    def _sublayer(self, x, norm, block):
        """Post-norm ``norm(x + block(x))``, or pre-norm ``x + block(norm(x))`` with
        ``norm_first`` (Xiong et al. 2020)."""
        return x + block(norm(x)) if self.norm_first else norm(x + block(x))

    def _attend(self, attn_name, x, memory, attn_mask, key_padding_mask, is_causal,
                mask_names):
        """``attn_name``'s output for queries ``x`` over ``memory`` (no weights). An error is
        re-raised with the layer, the attention and ``mask_names`` (the caller's names of its
        two masks: ``tgt_mask``, not MultiheadAttention's ``attn_mask``) in front."""
        try:
            return getattr(self, attn_name)(
                x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                need_weights=False, is_causal=is_causal)[0]
        except (ValueError, TypeError) as error:
            if type(error) not in (ValueError, TypeError):
                raise
            raise type(error)(f"{type(self).__name__}.{attn_name} (masks: {mask_names}): "
                              f"{error}") from error

    def _feed_forward(self, x):
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(_TransformerLayer):
    """One Transformer encoder layer: self-attention then a feed-forward block, torch's layout.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``; ``norm_first``:
    ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``, where
    ``ff(x) = linear2(dropout(activation(linear1(x))))`` and each block's output goes through
    ``dropout1``/``dropout2``. Submodules and parameter names are torch's (``self_attn``,
    ``linear1``, ``linear2``, ``norm1``, ``norm2``). ``activation``: 'relu', 'gelu' or a
    callable. forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): masks
    as ``MultiheadAttention``'s.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        # torch's signature (device before dtype), as TransformerDecoderLayer's
        if device is not None:
            _check_device(device, "TransformerEncoderLayer")
        super().__init__(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, _parameter_dtype(dtype))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        return self.dropout1(self._attend("self_attn", x, x, attn_mask, key_padding_mask,
                                          is_causal, "src_mask, src_key_padding_mask"))

    def _ff_block(self, x):
        return self.dropout2(self._feed_forward(x))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = self._sublayer(src, self.norm1, lambda y: self._sa_block(
            y, src_mask, src_key_padding_mask, is_causal))
        return self._sublayer(x, self.norm2, self._ff_block)


class TransformerDecoderLayer(_TransformerLayer):
    """One Transformer decoder layer: self-attention, attention over the encoder's output
    (``memory``), then a feed-forward block, torch's layout.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + mha(x, memory));
    x = norm3(x + ff(x))``; ``norm_first``: ``x = x + sa(norm1(x)); x = x + mha(norm2(x),
    memory); x = x + ff(norm3(x))``, with ``ff`` as the encoder layer's and the three blocks'
    outputs through ``dropout1``/``dropout2``/``dropout3``. Submodules and parameter names are
    torch's (``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1``-``norm3``).
    tgt (T, N, E) — (N, T, E) with ``batch_first`` — or unbatched (T, E); memory likewise
    with S positions. ``tgt_mask`` (T, T) / ``memory_mask`` (T, S) and the key padding masks
    (N, T) / (N, S) are ``MultiheadAttention``'s masks. As tinydl's MultiheadAttention,
    ``tgt_is_causal=True`` without ``tgt_mask`` builds the causal mask (torch refuses).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        if device is not None:
            _check_device(device, "TransformerDecoderLayer")
        super().__init__(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward,
                         dropout, activation, layer_norm_eps, batch_first, norm_first, bias,
                         _parameter_dtype(dtype))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        return self.dropout1(self._attend("self_attn", x, x, attn_mask, key_padding_mask,
                                          is_causal, "tgt_mask, tgt_key_padding_mask"))

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        return self.dropout2(self._attend("multihead_attn", x, memory, attn_mask,
                                          key_padding_mask, is_causal,
                                          "memory_mask, memory_key_padding_mask"))

    def _ff_block(self, x):
        return self.dropout3(self._feed_forward(x))

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = self._sublayer(tgt, self.norm1, lambda y: self._sa_block(
            y, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._sublayer(x, self.norm2, lambda y: self._mha_block(
            y, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self._sublayer(x, self.norm3, self._ff_block)
