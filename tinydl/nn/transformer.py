"""The Transformer of Vaswani et al. (2017) as in ``torch.nn``: ``TransformerEncoder`` and
``TransformerDecoder`` (stacks of deep copies of one layer, with an optional final norm) and
``Transformer`` (an encoder and a decoder stack with final LayerNorms).

The layers themselves (``TransformerEncoderLayer``, ``TransformerDecoderLayer``) live in
``attention.py``. Submodule and parameter names are torch's, so a torch ``state_dict`` (as
arrays) loads unchanged and ``state_dict()`` keys are torch's.
"""
import copy

import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.attention import TransformerDecoderLayer, TransformerEncoderLayer
from tinydl.nn.module import Module, ModuleList, _check_size, _parameter_dtype
from tinydl.nn.normalization import LayerNorm
from tinydl.ops._checks import _tensor
from tinydl.tensor import Tensor, _check_device


def _clones(layer, num_layers, caller):
    """``num_layers`` independent deep copies of ``layer`` (same starting values, as torch)."""
    if not isinstance(layer, Module):
        raise TypeError(f"{caller}: the layer to stack must be a Module, got "
                        f"{type(layer).__name__}")
    num_layers = _check_size(num_layers, caller, "num_layers", 0)
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """A stack of ``num_layers`` encoder layers, then ``norm`` if given.

    ``layers`` holds deep copies of ``encoder_layer``, so every layer starts from the same
    parameters (as torch; re-initialise them if that is not wanted). forward(src, mask=None,
    src_key_padding_mask=None, is_causal=None) passes the masks to every layer; ``is_causal``
    is only a hint (a given ``mask`` is what is applied; ``is_causal=True`` without a mask
    applies the causal one). ``enable_nested_tensor`` and ``mask_check`` are accepted and kept
    for torch's sake: tinydl has no nested tensors, so padded positions are computed as any
    other (torch's inference fast path returns zeros there).
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False  # no nested tensors in tinydl: always the padded path
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=is_causal is True)
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` decoder layers over the same ``memory``, then ``norm`` if
    given.

    ``layers`` holds deep copies of ``decoder_layer`` (same starting parameters, as torch).
    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False) passes
    everything to every layer; the ``*_is_causal`` flags are hints as in
    ``TransformerEncoder``.
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal is True,
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """Encoder-decoder Transformer (Vaswani et al. 2017) with torch's arguments and layout.

    ``memory = encoder(src)``; ``out = decoder(tgt, memory)``. The default ``encoder`` is a
    ``TransformerEncoder`` of ``num_encoder_layers`` ``TransformerEncoderLayer``s with a final
    ``LayerNorm(d_model)``, the default ``decoder`` likewise with ``TransformerDecoderLayer``s
    (``custom_encoder`` / ``custom_decoder`` replace them). After construction every parameter
    with more than one dimension (custom parts included) is re-drawn by ``xavier_uniform_``,
    as torch does: the stacked layers no longer share starting values; biases and norms keep
    theirs. src (S, N, E), tgt (T, N, E) — (N, S, E), (N, T, E) with ``batch_first`` — or
    unbatched (S, E), (T, E) -> (T, N, E) like tgt. Masks are ``MultiheadAttention``'s:
    src_mask (S, S), tgt_mask (T, T), memory_mask (T, S), key padding masks (N, S) / (N, T) /
    (N, S); bool True = ignore, floats are added. A causal tgt_mask:
    ``Transformer.generate_square_subsequent_mask(T)``.
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        if device is not None:
            _check_device(device, "Transformer")
        dtype = _parameter_dtype(dtype)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, dtype=dtype), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, dtype=dtype), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        name = "Transformer"
        s, t = _tensor(src, name, "src"), _tensor(tgt, name, "tgt")
        if s.ndim not in (2, 3) or t.ndim != s.ndim:
            raise ValueError(f"{name}: expected src and tgt both 3-D (batched) or both 2-D "
                             f"(unbatched), got shapes {s.shape} and {t.shape}")
        batch_axis = 0 if self.batch_first else 1
        if s.ndim == 3 and s.shape[batch_axis] != t.shape[batch_axis]:
            raise ValueError(f"{name}: the batch sizes of src and tgt (axis {batch_axis}) must "
                             f"be equal, got shapes {s.shape} and {t.shape}")
        if s.shape[-1] != self.d_model or t.shape[-1] != self.d_model:
            raise ValueError(f"{name}: src and tgt must have d_model={self.d_model} features, "
                             f"got shapes {s.shape} and {t.shape}")
        memory = self.encoder(s, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(t, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) causal mask to add to attention scores: 0 on and below the diagonal,
        -inf above it (position i sees positions <= i). float32 unless ``dtype`` is given;
        ``dtype=bool`` gives True above the diagonal (torch's -inf cast to bool: a bool mask
        of the positions not to attend)."""
        name = "Transformer.generate_square_subsequent_mask"
        if device is not None:
            _check_device(device, name)
        sz = _check_size(sz, name, "sz", 0)
        dtype = np.dtype(_parameter_dtype(dtype))
        if dtype == np.bool_:
            return Tensor(np.triu(np.ones((sz, sz), dtype=bool), 1))
        if dtype.kind != "f":  # -inf has no integer value
            raise TypeError(f"{name}: dtype must be floating or bool, got {dtype}")
        mask = np.full((sz, sz), -np.inf, dtype=dtype)
        return Tensor(np.triu(mask, 1))

    def extra_repr(self):
        return f"d_model={self.d_model}, nhead={self.nhead}, batch_first={self.batch_first}"
