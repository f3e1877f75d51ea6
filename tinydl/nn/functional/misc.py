"""Functional dropout, embedding, one-hot, nearest-neighbour resizing (interpolate) and pad."""
import math
import numbers

import numpy as np

import tinydl
from tinydl.nn.functional._common import _check_ndim, _index_array, _tensor, _tuple
from tinydl.random import get_generator
from tinydl.tensor import Tensor


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (Srivastava et al. 2014): zero entries with probability p, scale by 1/(1-p).

    The mask comes from tinydl's seeded generator; identity when not training.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    x = _tensor(input, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = get_generator().random(x.shape, dtype=dtype) >= p
    return x * Tensor._wrap(keep.astype(x.dtype) * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input`` (*) -> (*, dim).

    Rows picked at ``padding_idx`` get no gradient, as in torch.
    """
    idx = _index_array(input, "embedding")
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise ValueError(f"embedding: indices must be in [0, {weight.shape[0]}), got range "
                         f"[{idx.min()}, {idx.max()}]")
    out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        keep = Tensor._wrap((idx != padding_idx)[..., None])
        out = tinydl.where(keep, out, weight.detach()[idx])
    return out


def one_hot(tensor, num_classes=-1):
    """Integer classes (*) -> int64 one-hot (*, num_classes) (``num_classes=-1``: max + 1)."""
    idx = _index_array(tensor, "one_hot")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def interpolate(input, size=None, scale_factor=None, mode="nearest"):
    """Resize the spatial axes of (N, C, L) or (N, C, H, W); only ``mode='nearest'``.

    torch's 'nearest' rule: output index o reads input index floor(o * in / out), with
    in/out replaced by 1/scale_factor when a scale factor is given. An integer scale factor
    repeats every pixel (a broadcast, no gather).
    """
    x = _tensor(input, "interpolate")
    _check_ndim(x, (3, 4), "interpolate", "(N, C, L) or (N, C, H, W)")
    if mode != "nearest":
        raise ValueError(f"interpolate: only mode='nearest' is supported, got {mode!r}")
    spatial = x.shape[2:]
    n = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out_sizes = _tuple(size, n, "interpolate", "size", 1)
        scales = [s / o for s, o in zip(spatial, out_sizes)]
    else:
        factors = (scale_factor,) * n if isinstance(scale_factor, numbers.Number) else tuple(
            scale_factor)
        if len(factors) != n or any(f <= 0 for f in factors):
            raise ValueError(f"interpolate: bad scale_factor {scale_factor!r}")
        out_sizes = tuple(int(math.floor(s * f)) for s, f in zip(spatial, factors))
        scales = [1.0 / f for f in factors]
        if all(float(f).is_integer() for f in factors):
            reps = [int(f) for f in factors]
            expanded = x.reshape(x.shape[:2] + sum(((s, 1) for s in spatial), ()))
            target = x.shape[:2] + sum(((s, r) for s, r in zip(spatial, reps)), ())
            return expanded.broadcast_to(target).reshape(x.shape[:2] + out_sizes)
    out = x
    for axis, (in_size, out_size, scale) in enumerate(zip(spatial, out_sizes, scales)):
        src = np.minimum(np.floor(np.arange(out_size) * scale).astype(np.int64), in_size - 1)
        index = (slice(None),) * (2 + axis) + (src,)
        out = out[index]
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest"):
    """Alias of ``interpolate`` (torch's deprecated name)."""
    return interpolate(input, size, scale_factor, mode)


_TORCH_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                    "circular": "wrap"}


def pad(input, pad, mode="constant", value=None):
    """torch's ``F.pad``: ``pad`` is a flat tuple of (before, after) widths starting from the
    LAST axis, ``(left, right, top, bottom, ...)``; it may cover fewer axes than ``input``
    has. ``mode``: ``'constant'`` (with ``value``, default 0), ``'reflect'``, ``'replicate'``,
    ``'circular'``. Negative widths crop. The work is ``tinydl.pad`` (NumPy's convention),
    which also lets reflect and circular widths exceed the axis (torch refuses them).
    """
    x = _tensor(input, "pad")
    widths = tuple(pad)
    if len(widths) % 2 or len(widths) > 2 * x.ndim or not all(
            isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in widths):
        raise ValueError(f"pad: pad must be an even number (at most {2 * x.ndim}) of ints for "
                         f"an input of shape {x.shape}, got {pad!r}")
    if mode not in _TORCH_PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_TORCH_PAD_MODES)}, got {mode!r}")
    if mode != "constant" and value is not None:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    pairs = [(int(widths[i]), int(widths[i + 1])) for i in range(0, len(widths), 2)]
    pad_width = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    if mode == "constant":
        return tinydl.pad(x, pad_width, constant_values=0 if value is None else value)
    return tinydl.pad(x, pad_width, mode=_TORCH_PAD_MODES[mode])
