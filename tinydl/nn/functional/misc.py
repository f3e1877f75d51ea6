"""Functional dropout, embedding, one-hot, resizing (interpolate), pad, pixel (un)shuffle and
max_unpool2d."""
import math
import numbers

import numpy as np

import tinydl
from tinydl.autograd import bump_version
from tinydl.ops._checks import _check_fill_fits, _check_ndim, _index_array, _tensor, _tuple
from tinydl.ops._util import held_array
from tinydl.ops.linalg import AlongAxis
from tinydl.random import get_generator
from tinydl.tensor import Tensor


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (Srivastava et al. 2014): zero entries with probability p, scale by 1/(1-p).

    The mask comes from tinydl's seeded generator; identity when not training. ``inplace``
    writes the result into the input, as torch's. Integer and bool input passes only where
    nothing is scaled (p = 0, p = 1 or not training), as in torch.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    x = _tensor(input, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        scale = Tensor._wrap(np.zeros((), dtype=x.dtype))
    elif x.dtype.kind not in "fc":  # 1/(1-p) cast to an integer dtype would truncate
        raise TypeError(f"dropout: input of dtype {x.dtype} (shape {x.shape}) cannot hold the "
                        f"kept values scaled by 1/(1-p) = {1.0 / (1.0 - p):.4g}; call .float() "
                        "on the input")
    else:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        keep = get_generator().random(x.shape, dtype=dtype) >= p
        scale = Tensor._wrap(keep.astype(x.dtype) * np.asarray(1.0 / (1.0 - p), dtype=x.dtype))
    if inplace:
        return x.mul_(scale)
    return x * scale


def _padding_row(padding_idx, num_embeddings, caller):
    """``padding_idx`` as a row in [0, num_embeddings) (negative counts from the end, as in
    torch), None staying None; out of range raises, naming ``caller``."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{caller}: padding_idx {padding_idx} is out of range for "
                         f"{num_embeddings} embeddings")
    return padding_idx % num_embeddings


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input`` (*) -> (*, dim).

    Rows picked at ``padding_idx`` get no gradient, as in torch; a negative ``padding_idx``
    counts from the end (-1 is the last row), also as in torch. ``max_norm``: each row that
    ``input`` picks and whose ``norm_type``-norm exceeds it is first scaled in place to
    ``max_norm`` (torch's ``embedding_renorm_``: by max_norm / (norm + 1e-7)), so the weight
    changes. ``scale_grad_by_freq``: a row's gradient is divided by how often ``input`` picks
    it. ``sparse=True`` (torch's sparse gradient) is not implemented.
    """
    if sparse:
        raise NotImplementedError("embedding: sparse=True (a sparse gradient) is not "
                                  "implemented by tinydl; its gradients are dense")
    idx = held_array(_index_array(input, "embedding"), input)  # (backward reads it)
    if np.ndim(weight) != 2:  # a 1-d weight would index to scalars, silently (torch refuses)
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {np.shape(weight)}")
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise ValueError(f"embedding: indices must be in [0, {weight.shape[0]}), got range "
                         f"[{idx.min()}, {idx.max()}]")
    padding_idx = _padding_row(padding_idx, weight.shape[0], "embedding")
    if max_norm is not None:
        _renormalize_rows(weight, idx, max_norm, norm_type)
    out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        keep = Tensor._wrap((idx != padding_idx)[..., None])
        out = tinydl.where(keep, out, weight.detach()[idx])
    if scale_grad_by_freq and out.requires_grad:
        rows, counts = np.unique(idx, return_counts=True)
        scale = (1.0 / counts[np.searchsorted(rows, idx)]).astype(out.dtype)[..., None]
        out.register_hook(lambda g: g * Tensor._wrap(scale))
    return out


def _renormalize_rows(weight, idx, max_norm, norm_type):
    """torch's ``embedding_renorm_``: the picked rows whose norm exceeds ``max_norm`` scaled in
    place by max_norm / (norm + 1e-7), outside the graph (a write: the version is bumped)."""
    if not isinstance(weight, Tensor):
        raise TypeError("embedding: max_norm renormalises the weight in place, so it must be a "
                        f"Tensor, got {type(weight).__name__}")
    rows = np.unique(idx)
    picked = weight.data[rows]
    norms = np.linalg.norm(picked, ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        weight.data[rows[over]] = picked[over] * (
            max_norm / (norms[over] + 1e-7))[:, None].astype(picked.dtype)
        bump_version(weight)


def one_hot(tensor, num_classes=-1):
    """Integer classes (*) -> int64 one-hot (*, num_classes) (``num_classes=-1``: max + 1)."""
    idx = _index_array(tensor, "one_hot")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


_INTERP_NDIM = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "linear": (3,),
                "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
_ANY_LAYOUT = "(N, C, L), (N, C, H, W) or (N, C, D, H, W)"
_INTERP_LAYOUT = {"nearest": _ANY_LAYOUT, "nearest-exact": _ANY_LAYOUT, "linear": "(N, C, L)",
                  "bilinear": "(N, C, H, W)", "bicubic": "(N, C, H, W)",
                  "trilinear": "(N, C, D, H, W)"}


def _cubic_weights(t, a=-0.75):
    """torch's Keys cubic convolution weights for the 4 taps at offsets -1, 0, 1, 2 of t."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def _nearest_source(in_size, out_size, factor, exact, dtype):
    """The input index each output index reads, by torch's CPU rule and arithmetic.

    'nearest' reads floor(scale * o), 'nearest-exact' floor(max(scale * (o + 0.5) - 0.5, 0)
    + 0.5), with scale = 1/scale_factor (given and not recomputed) or in/out, computed in
    torch's accumulation type (float32 for float32 and integer inputs, float64 for float64),
    the first product fused with its subtraction (one rounding, as the compiled kernel does),
    and rounded to float32 before the floor (torch's floorf). These roundings decide the pixel
    where the exact position is a whole number (in float64 8/196 * 49 lands below 2; torch
    reads pixel 2): a test compares every index with torch's over thousands of sizes.
    """
    t = np.float64 if dtype == np.float64 else np.float32
    scale = t(1.0 / factor) if factor is not None else t(in_size) / t(out_size)
    o = np.arange(out_size).astype(t)
    if not exact:
        position = scale * o
    else:
        if t is np.float32:  # a float32 product is exact in float64: one rounding, as an FMA
            real = (np.float64(scale) * (o + t(0.5)).astype(np.float64) - 0.5).astype(t)
        else:
            real = scale * (o + 0.5) - 0.5
        position = np.maximum(real, t(0)) + t(0.5)
    return np.minimum(np.floor(position.astype(np.float32)).astype(np.int64), in_size - 1)


def _interp_matrix(in_size, out_size, scale, mode, align_corners, dtype):
    """(out_size, in_size) matrix M with ``out = M @ in`` along one axis, torch's rule.

    Source coordinate of output o: ``o * (in-1)/(out-1)`` with ``align_corners`` (0 when
    out == 1), else ``(o + 0.5) * scale - 0.5`` where ``scale`` is in/out or 1/scale_factor;
    linear clamps it below at 0, cubic does not and clamps its taps to the border instead.
    """
    o = np.arange(out_size, dtype=np.float64)
    if align_corners:
        src = o * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    else:
        src = (o + 0.5) * scale - 0.5
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    if mode == "bicubic":
        base = np.floor(src)
        weights = _cubic_weights(src - base)
        for k in range(4):
            taps = np.clip(base.astype(np.int64) - 1 + k, 0, in_size - 1)
            np.add.at(matrix, (rows, taps), weights[:, k])
    else:
        if not align_corners:
            src = np.maximum(src, 0.0)
        low = np.minimum(src.astype(np.int64), in_size - 1)
        high = np.minimum(low + 1, in_size - 1)
        frac = src - low
        np.add.at(matrix, (rows, low), 1.0 - frac)
        np.add.at(matrix, (rows, high), frac)
    return matrix.astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes, torch's ``F.interpolate``.

    ``mode``: ``'nearest'`` and ``'nearest-exact'`` on (N, C, L), (N, C, H, W) or
    (N, C, D, H, W); ``'linear'`` on (N, C, L); ``'bilinear'`` and ``'bicubic'`` (Keys,
    A = -0.75, taps clamped at the border, as torch) on (N, C, H, W); ``'trilinear'`` on
    (N, C, D, H, W). Give exactly one of ``size`` and ``scale_factor``; the output length is
    ``floor(in * scale_factor)``, and the source coordinate of output o is
    ``(o + 0.5) / scale_factor - 0.5`` (or with in/out when ``size`` is given or
    ``recompute_scale_factor``), or ``o * (in-1)/(out-1)`` with ``align_corners=True``.

    'nearest' reads input index floor(o * in / out) (an integer scale factor repeats every
    pixel, a broadcast; on (N, C, H, W) an axis that keeps its size is copied and one that
    doubles reads o // 2, as torch's 2-d kernel does whatever the scale factor);
    'nearest-exact' reads floor((o + 0.5) * in / out), the pixel whose centre is nearest
    (torch's fix of 'nearest''s half-pixel shift); both round as torch does
    (``_nearest_source``). The other modes are separable: one (out, in) interpolation
    matrix per axis, applied with ``matmul``, so gradients (of any order) come from the
    matrix product; 'linear', 'bilinear' and 'trilinear' leave an axis whose size does not
    change as it is (torch copies it even when the scale factor is not 1).
    """
    x = _tensor(input, "interpolate")
    if mode not in _INTERP_NDIM:
        raise ValueError(f"interpolate: mode must be one of {sorted(_INTERP_NDIM)}, got "
                         f"{mode!r}")
    _check_ndim(x, _INTERP_NDIM[mode], f"interpolate (mode={mode!r})", _INTERP_LAYOUT[mode])
    if mode.startswith("nearest") and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    spatial = x.shape[2:]
    n = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is only meaningful with "
                             "scale_factor")
        out_sizes = _tuple(size, n, "interpolate", "size", 1)
        scales = [s / o for s, o in zip(spatial, out_sizes)]
        factors = (None,) * n
    else:
        factors = (scale_factor,) * n if isinstance(scale_factor, numbers.Number) else tuple(
            scale_factor)
        if len(factors) != n or any(f <= 0 for f in factors):
            raise ValueError(f"interpolate: bad scale_factor {scale_factor!r}")
        out_sizes = tuple(int(math.floor(s * f)) for s, f in zip(spatial, factors))
        if min(out_sizes) < 1:
            raise ValueError(f"interpolate: scale_factor {scale_factor!r} gives an empty "
                             f"output {out_sizes} for an input of shape {x.shape}")
        if recompute_scale_factor:
            scales = [s / o for s, o in zip(spatial, out_sizes)]
            factors = (None,) * n
        else:
            scales = [1.0 / f for f in factors]
    if mode.startswith("nearest"):
        sources = [_nearest_source(i, o, f, mode == "nearest-exact", x.dtype)
                   for i, o, f in zip(spatial, out_sizes, factors)]
        if mode == "nearest" and n == 2:
            # torch's 2-d 'nearest' kernel (not its 1-d or 3-d ones) keeps two legacy cases
            # whatever scale_factor says: an axis whose size does not change is copied, and
            # one that exactly doubles reads o // 2 (1.1 on 3 rows gives 3 rows, copied).
            sources = [np.arange(o) if o == i else np.arange(o) // 2 if o == 2 * i else src
                       for i, o, src in zip(spatial, out_sizes, sources)]
        if all(o % i == 0 and np.array_equal(src, np.arange(o) // (o // i))
               for i, o, src in zip(spatial, out_sizes, sources)):
            # Every pixel repeated a whole number of times: a broadcast, not a gather.
            expanded = x.reshape(x.shape[:2] + sum(((i, 1) for i in spatial), ()))
            target = x.shape[:2] + sum(((i, o // i) for i, o in zip(spatial, out_sizes)), ())
            return expanded.broadcast_to(target).reshape(x.shape[:2] + out_sizes)
        out = x
        for axis, src in enumerate(sources):
            out = out[(slice(None),) * (2 + axis) + (src,)]
        return out
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"interpolate: mode {mode!r} needs a float input, got {x.dtype}")
    # One interpolation matrix per spatial axis, applied along it, the last axis first (a NaN
    # or inf of x reaches only the outputs whose taps read it, as in torch: see AlongAxis).
    # The linear modes leave an axis whose size does not change as it is, as torch does
    # (whatever the scale factor: 1.1 on 5 pixels still gives 5); bicubic resamples it.
    out = x
    for axis, i, o, s in reversed(list(zip(range(x.ndim - n, x.ndim), spatial, out_sizes,
                                           scales))):
        if i == o and mode != "bicubic":
            continue
        out = AlongAxis.apply(out, axis, _interp_matrix(i, o, s, mode, bool(align_corners),
                                                        x.dtype))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Alias of ``interpolate`` (torch's deprecated name)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


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
        if value is not None:
            _check_fill_fits(value, x.dtype, "pad")
        return tinydl.pad(x, pad_width, constant_values=0 if value is None else value)
    return tinydl.pad(x, pad_width, mode=_TORCH_PAD_MODES[mode])


def _check_factor(factor, caller, name):
    if not isinstance(factor, numbers.Integral) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"{caller}: {name} must be a positive int, got {factor!r}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) with ``out[c, h*r+i, w*r+j] = in[c*r*r + i*r + j,
    h, w]`` (torch's ``F.pixel_shuffle``, r = ``upscale_factor``): a reshape and a transpose.
    """
    x = _tensor(input, "pixel_shuffle")
    r = _check_factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected (*, C*{r * r}, H, W) (at least 3 axes, "
                         f"channels divisible by upscale_factor**2 = {r * r}), got shape "
                         f"{x.shape}")
    *batch, c, h, w = x.shape
    batch, c = tuple(batch), c // (r * r)
    b = len(batch)
    y = x.reshape(batch + (c, r, r, h, w))
    y = tinydl.transpose(y, tuple(range(b)) + (b, b + 3, b + 1, b + 4, b + 2))
    return y.reshape(batch + (c, h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of ``pixel_shuffle``
    (torch's ``F.pixel_unshuffle``, r = ``downscale_factor``)."""
    x = _tensor(input, "pixel_unshuffle")
    r = _check_factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected (*, C, H*{r}, W*{r}) (at least 3 axes, "
                         f"height and width divisible by downscale_factor = {r}), got shape "
                         f"{x.shape}")
    *batch, c, h, w = x.shape
    batch, h, w = tuple(batch), h // r, w // r
    b = len(batch)
    y = x.reshape(batch + (c, h, r, w, r))
    y = tinydl.transpose(y, tuple(range(b)) + (b, b + 2, b + 4, b + 1, b + 3))
    return y.reshape(batch + (c * r * r, h, w))


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool2d``: (N, C, Hi, Wi) values and their flat indices (into
    Ho*Wo, as ``max_pool2d(..., return_indices=True)`` gives them) -> (N, C, Ho, Wo), zero
    elsewhere (torch's ``F.max_unpool2d``; also unbatched (C, Hi, Wi)).

    Ho = (Hi - 1) * stride - 2 * padding + kernel (likewise Wo) unless ``output_size`` is
    given ((Ho, Wo), or with the leading axes). A ``scatter`` along the flattened plane, so
    the gradient gathers at ``indices``; where an index repeats, which value wins is
    unspecified (as in torch).
    """
    from tinydl.ops.gather import scatter

    x = _tensor(input, "max_unpool2d")
    _check_ndim(x, (3, 4), "max_unpool2d", "(N, C, H, W) or (C, H, W)")
    idx = _index_array(indices, "max_unpool2d")
    if idx.shape != x.shape:
        raise ValueError(f"max_unpool2d: indices of shape {idx.shape} must have the input's "
                         f"shape {x.shape}")
    kernel = _tuple(kernel_size, 2, "max_unpool2d", "kernel_size", 1)
    stride = kernel if stride is None else _tuple(stride, 2, "max_unpool2d", "stride", 1)
    padding = _tuple(padding, 2, "max_unpool2d", "padding", 0)
    in_hw = x.shape[-2:]
    default = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(in_hw, stride, padding,
                                                                   kernel))
    if output_size is None:
        out_hw = default
    else:
        out_hw = tuple(int(v) for v in output_size)
        if len(out_hw) == 4:  # (N, C, H, W), as torch takes it
            out_hw = out_hw[-2:]
        if len(out_hw) != 2:
            raise ValueError(f"max_unpool2d: output_size must have 2 or 4 elements, "
                             f"got {output_size!r}")
        for o, d, s in zip(out_hw, default, stride):
            if not d - s < o < d + s:  # torch's bounds, strict
                raise ValueError(f"max_unpool2d: output_size {tuple(output_size)} must be "
                                 f"strictly between {tuple(d - s for d, s in zip(default, stride))} "
                                 f"and {tuple(d + s for d, s in zip(default, stride))}")
    if min(out_hw) < 1:
        raise ValueError(f"max_unpool2d: output size {out_hw} is empty for an input of shape "
                         f"{x.shape}")
    plane = out_hw[0] * out_hw[1]
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(f"max_unpool2d: indices must be in [0, {plane}) for the output "
                         f"{out_hw}, got range [{idx.min()}, {idx.max()}]")
    lead = x.shape[:-2]
    pooled = x.shape[-2] * x.shape[-1]  # (not -1: an empty batch leaves it undefined)
    flat = x.reshape(lead + (pooled,))
    zeros = Tensor._wrap(np.zeros(lead + (plane,), dtype=x.dtype))
    out = scatter(zeros, -1, idx.reshape(lead + (pooled,)), flat)
    return out.reshape(lead + out_hw)
