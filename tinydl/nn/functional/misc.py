"""Functional dropout (elementwise, channel and alpha), embedding, one-hot, resizing
(interpolate), pad, pixel (un)shuffle, channel_shuffle and
max_unpool1d/2d/3d."""
import math
import numbers
import warnings

import numpy as np

import tinydl
from tinydl.autograd import Function, bump_version
from tinydl.ops._checks import _check_fill_fits, _check_ndim, _index_array, _tensor, _tuple
from tinydl.ops._util import ShapeError, held_array
from tinydl.ops.activation import SELU_ALPHA, SELU_SCALE
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


# ------------------------------------------------------------------ channel and alpha dropout
# SELU's negative saturation -scale * alpha: alpha dropout sets a dropped entry to it, then
# rescales everything so that SELU activations keep zero mean and unit variance.
_SELU_SATURATION = -SELU_ALPHA * SELU_SCALE


def _check_probability(p, caller):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{caller}: probability p must be in [0, 1], got {p}")


def _masked_dropout(x, p, training, inplace, caller, lead=None, alpha=False):
    """The dropout family's one step: ``x`` times a keep mask (P(keep) = 1 - p) drawn from
    tinydl's generator, one entry per element (``lead=None``) or per index of the first
    ``lead`` axes, broadcast over the rest (whole channels: 2 for (N, C, ...), 1 for (C, ...)).

    Plain: kept entries scaled by 1/(1-p). ``alpha`` (Klambauer et al. 2017): dropped entries
    set to s = -1.7581 (SELU's saturation), then ``a y + b`` with a = ((1-p)(1 + p s^2))^-1/2
    and b = -a p s, so zero mean and unit variance are kept; the gradient is a where kept, 0
    where dropped. Identity when not training, at p = 0 or on an empty input; zeros at p = 1
    (``x * 0``, as torch, alpha too). ``inplace`` writes the result into ``x``.
    """
    if not training or p == 0.0 or x.size == 0:
        return x
    if p == 1.0:
        zero = Tensor._wrap(np.zeros((), dtype=x.dtype))
        return x.mul_(zero) if inplace else x * zero
    if x.dtype.kind not in "fc":  # as dropout: 1/(1-p) cast to an integer would truncate
        raise TypeError(f"{caller}: input of dtype {x.dtype} (shape {x.shape}) cannot hold the "
                        "rescaled values; call .float() on the input")
    if lead is not None and x.ndim < lead:
        raise ShapeError(f"{caller}: feature dropout needs an input of at least {lead} axes "
                         f"(channels on axis {lead - 1}), got shape {x.shape}")
    mask_shape = x.shape if lead is None else x.shape[:lead] + (1,) * (x.ndim - lead)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = get_generator().random(mask_shape, dtype=dtype) >= p
    if alpha:
        a = ((1.0 - p) * (1.0 + p * _SELU_SATURATION ** 2)) ** -0.5
        scale = Tensor._wrap((keep * a).astype(x.dtype))
        shift = Tensor._wrap(np.where(keep, -a * p, a * (1.0 - p)).astype(x.dtype)
                             * x.dtype.type(_SELU_SATURATION))

        def compute(t):
            return t * scale + shift
    else:
        scale = Tensor._wrap((keep * (1.0 / (1.0 - p))).astype(x.dtype))

        def compute(t):
            return t * scale
    if inplace:
        return x._inplace(caller + "_", compute)
    return compute(x)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout (Tompson et al. 2015) of (N, C, L) or unbatched (C, L) input: each
    channel is zeroed with probability p (its whole sequence), the others scaled by 1/(1-p).

    torch's ``F.dropout1d``: other ranks are refused. Identity when not training.
    """
    _check_probability(p, "dropout1d")
    x = _tensor(input, "dropout1d")
    if x.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{x.shape}; dropout1d zeroes whole channels (use dropout for single "
                         "elements)")
    return _masked_dropout(x, p, training, inplace, "dropout1d", lead=x.ndim - 1)


def _warn_feature_rank(x, caller, ranks, layout):
    """torch's deprecation warning for a channel dropout fed an input of another rank."""
    if x.ndim not in ranks:
        warnings.warn(f"{caller}: a {x.ndim}-D input is deprecated (torch will refuse it): "
                      f"{caller} zeroes whole channels of {layout} input; for elementwise "
                      "dropout use dropout", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, H, W) input: each (sample, channel) plane is zeroed with
    probability p, the others scaled by 1/(1-p) (Tompson et al. 2015).

    torch's ``F.dropout2d``, rank rules included: channels are always axis 1, so a 3-D input
    is taken as (N, C, L), as torch still does (with a warning: it plans to read it as an
    unbatched (C, H, W)); other ranks warn (deprecated) and drop along axis 1 too.
    """
    _check_probability(p, "dropout2d")
    x = _tensor(input, "dropout2d")
    _warn_feature_rank(x, "dropout2d", (3, 4), "(N, C, H, W) or (C, H, W)")
    if x.ndim == 3:
        warnings.warn("dropout2d: a 3-D input is taken as (N, C, L) and each of its channels "
                      "dropped whole, as torch does for now (torch plans to read it as an "
                      "unbatched (C, H, W)); use dropout1d for this", stacklevel=2)
    return _masked_dropout(x, p, training, inplace, "dropout2d", lead=2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of (N, C, D, H, W) or unbatched (C, D, H, W) input: each channel
    volume is zeroed with probability p, the others scaled by 1/(1-p).

    torch's ``F.dropout3d``: any rank but 5 is unbatched (channels on axis 0); ranks other
    than 4 and 5 warn (deprecated).
    """
    _check_probability(p, "dropout3d")
    x = _tensor(input, "dropout3d")
    _warn_feature_rank(x, "dropout3d", (4, 5), "(N, C, D, H, W) or (C, D, H, W)")
    return _masked_dropout(x, p, training, inplace, "dropout3d", lead=2 if x.ndim == 5 else 1)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout (Klambauer et al. 2017), the dropout of self-normalising (SELU) networks:
    each element is set to SELU's saturation -1.7581 with probability p, then all are mapped
    by ``a x + b`` so that zero mean and unit variance survive (see ``_masked_dropout``).

    torch's ``F.alpha_dropout``, whose ``training`` defaults to False: identity then.
    """
    _check_probability(p, "alpha_dropout")
    x = _tensor(input, "alpha_dropout")
    return _masked_dropout(x, p, training, inplace, "alpha_dropout", alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: each (sample, channel) of (N, C, ...) input (at least
    2 axes) is set to -1.7581 with probability p, then ``a x + b`` as ``alpha_dropout``.
    torch's ``F.feature_alpha_dropout``; ``training`` defaults to False (identity)."""
    _check_probability(p, "feature_alpha_dropout")
    x = _tensor(input, "feature_alpha_dropout")
    return _masked_dropout(x, p, training, inplace, "feature_alpha_dropout", lead=2, alpha=True)


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
        out.register_hook(lambda g: _FrequencyScaled.apply(g, scale=scale))
    return out


class _FrequencyScaled(Function):
    """``g / count`` (``scale_grad_by_freq``) on its way from ``embedding``'s output into the
    weight. Its own backward passes the gradient through unscaled, as torch's embedding
    double backward does: a second derivative reaches the weight through the output again,
    where the hook scales it, so the scale is applied once along each chain, and higher
    derivatives are torch's (scaled here too, rows picked twice got a quarter where torch's
    and, for a loss elementwise in the output, central differences give a half). The scaled
    gradient is not the derivative of anything, so where the output is mixed before the loss
    (a bag, a matmul) no convention equals central differences; torch's is kept."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, g, scale=None):
        return g * scale

    @staticmethod
    def backward(ctx, gg):
        return (gg,)


def _renormalize_rows(weight, idx, max_norm, norm_type, caller="embedding"):
    """torch's ``embedding_renorm_``: the picked rows whose norm exceeds ``max_norm`` scaled in
    place by max_norm / (norm + 1e-7), outside the graph (a write: the version is bumped)."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"{caller}: max_norm renormalises the weight in place, so it must be a "
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


_INTERP_NDIM = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
                "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}
_ANY_LAYOUT = "(N, C, L), (N, C, H, W) or (N, C, D, H, W)"
_INTERP_LAYOUT = {"nearest": _ANY_LAYOUT, "nearest-exact": _ANY_LAYOUT, "area": _ANY_LAYOUT,
                  "linear": "(N, C, L)",
                  "bilinear": "(N, C, H, W)", "bicubic": "(N, C, H, W)",
                  "trilinear": "(N, C, D, H, W)"}


def _cubic_taps(t, a=-0.75):
    """torch's Keys cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 from
    floor(position), t = position - floor(position), as a list (t an array or a Tensor)."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_tap_slopes(t, a=-0.75):
    """d/dt of ``_cubic_taps(t, a)`` (grid_sample's gradient with respect to the grid)."""
    def near(x):
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):
        return (3 * a * x - 10 * a) * x + 8 * a

    return [far(t + 1), near(t), -near(1 - t), -far(2 - t)]


def _cubic_weights(t, a=-0.75):
    """``_cubic_taps`` stacked on a last axis of 4."""
    return np.stack(_cubic_taps(t, a), axis=-1)


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
    ``floor(in * scale_factor)`` (a factor taken as a Python float, as torch takes it, NumPy
    float32 ones too), and the source coordinate of output o is
    ``(o + 0.5) / scale_factor - 0.5`` (or with in/out when ``size`` is given or
    ``recompute_scale_factor``), or ``o * (in-1)/(out-1)`` with ``align_corners=True``.

    'nearest' reads input index floor(o * in / out) (an integer scale factor repeats every
    pixel, a broadcast; on (N, C, H, W) an axis that keeps its size is copied and one that
    doubles reads o // 2, as torch's 2-d kernel does whatever the scale factor);
    'nearest-exact' reads floor((o + 0.5) * in / out), the pixel whose centre is nearest
    (torch's fix of 'nearest''s half-pixel shift); both round as torch does
    (``_nearest_source``). ``'area'`` is ``adaptive_avg_pool{1,2,3}d`` to the output size
    (as torch's). The other modes are separable: one (out, in) interpolation
    matrix per axis, applied with ``matmul``, so gradients (of any order) come from the
    matrix product; 'linear', 'bilinear' and 'trilinear' leave an axis whose size does not
    change as it is (torch copies it even when the scale factor is not 1). The result is
    always a new tensor, also when no size changes (as torch's).
    """
    x = _tensor(input, "interpolate")
    if mode not in _INTERP_NDIM:
        raise ValueError(f"interpolate: mode must be one of {sorted(_INTERP_NDIM)}, got "
                         f"{mode!r}")
    _check_ndim(x, _INTERP_NDIM[mode], f"interpolate (mode={mode!r})", _INTERP_LAYOUT[mode])
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear | bicubic | trilinear")
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
        # torch hands its kernels the factors as doubles: a np.float32 0.7 is 0.69999998..,
        # so 10 pixels give 6, where float32 arithmetic (NumPy keeps it) would round to 7.
        # (torch's F.interpolate with recompute_scale_factor multiplies in Python and gets 7;
        # its nn.Upsample converts to float first and gets 6, as here.)
        factors = tuple(float(f) for f in factors)
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
            return _fresh(expanded.broadcast_to(target).reshape(x.shape[:2] + out_sizes), x)
        out = x
        for axis, src in enumerate(sources):
            out = out[(slice(None),) * (2 + axis) + (src,)]
        return _fresh(out, x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"interpolate: mode {mode!r} needs a float32 or float64 input, got "
                        f"{x.dtype}")
    if mode == "area":  # torch's: the adaptive average pool to the output size
        from tinydl.nn.functional import pooling
        return _fresh(getattr(pooling, f"adaptive_avg_pool{n}d")(x, out_sizes), x)
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
    return _fresh(out, x)


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
        for axis, ((lo, hi), n) in enumerate(zip(pad_width, x.shape)):
            # torch crops before it pads here, so a crop may not reach past the axis whatever
            # the other end adds ((-4, 1) on a length of 3 gave an empty axis, silently)
            if n + min(lo, 0) + min(hi, 0) < 0:
                raise ValueError(f"pad: widths {(lo, hi)} crop axis {axis} of length {n} "
                                 f"(shape {x.shape}) by more than it holds")
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
    return _fresh(y.reshape(batch + (c, h * r, w * r)), x)


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
    return _fresh(y.reshape(batch + (c * r * r, h, w)), x)


def channel_shuffle(input, groups):
    """(N, C, *) -> (N, C, *) with the channels, read as a (groups, C/groups) grid, transposed:
    output channel ``k * groups + g`` is input channel ``g * C/groups + k`` (ShuffleNet, Zhang
    et al. 2018; torch's ``F.channel_shuffle``). A reshape and a transpose; at least 3 axes.
    """
    x = _tensor(input, "channel_shuffle")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"channel_shuffle: groups must be an int, got {groups!r}")
    if groups <= 0:
        raise ValueError(f"channel_shuffle: groups must be positive, got {groups}")
    if x.ndim < 3:
        raise ShapeError(f"channel_shuffle: expected an input of at least 3 axes (N, C, *), "
                         f"got shape {x.shape}")
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    if c % groups:
        raise ShapeError(f"channel_shuffle: the {c} channels of the input of shape {x.shape} "
                         f"are not divisible by groups = {groups}")
    y = x.reshape((n, int(groups), c // groups) + rest)
    return _fresh(tinydl.swapaxes(y, 1, 2).reshape(x.shape), x)


def _fresh(out, x):
    """``out``, or a copy of it where it is a view of ``x``: a resize by 1 or a shuffle of
    one group moves nothing, and the reshape that ends these ops then returns a view, so an
    in-place op on the result wrote into the input (``up += skip`` after a same-size
    ``interpolate`` changed the tensor it came from, and its gradient). torch's ops always
    return a new tensor."""
    return out.clone() if np.may_share_memory(out.data, x.data) else out


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool2d``: (N, C, Hi, Wi) values and their flat indices (into
    Ho*Wo, as ``max_pool2d(..., return_indices=True)`` gives them) -> (N, C, Ho, Wo), zero
    elsewhere (torch's ``F.max_unpool2d``; also unbatched (C, Hi, Wi)).

    Ho = (Hi - 1) * stride - 2 * padding + kernel (likewise Wo) unless ``output_size`` is
    given ((Ho, Wo), or with the leading axes). A ``scatter`` along the flattened plane, so
    the gradient gathers at ``indices``; where an index repeats, which value wins is
    unspecified (as in torch).
    """
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size,
                       "max_unpool2d")


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool1d``: (N, C, Li) values and their indices into Lo ->
    (N, C, Lo), zero elsewhere (also unbatched (C, Li)); Lo = (Li - 1) * stride - 2 * padding
    + kernel unless ``output_size`` is given. As ``max_unpool2d``."""
    return _max_unpool(input, indices, 1, kernel_size, stride, padding, output_size,
                       "max_unpool1d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool3d``: (N, C, Di, Hi, Wi) values and their flat indices into
    Do*Ho*Wo -> (N, C, Do, Ho, Wo), zero elsewhere (also unbatched (C, Di, Hi, Wi)). As
    ``max_unpool2d``."""
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size,
                       "max_unpool3d")


_UNPOOL_LAYOUT = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)",
                  3: "(N, C, D, H, W) or (C, D, H, W)"}


def _max_unpool(input, indices, n, kernel_size, stride, padding, output_size, caller):
    """``max_unpool{n}d``: each value scattered to its flat index into the output's last n
    axes; the output sizes torch's (``max_unpool2d``)."""
    from tinydl.ops.gather import scatter

    x = _tensor(input, caller)
    _check_ndim(x, (n + 1, n + 2), caller, _UNPOOL_LAYOUT[n])
    idx = _index_array(indices, caller)
    if idx.shape != x.shape:
        raise ValueError(f"{caller}: indices of shape {idx.shape} must have the input's "
                         f"shape {x.shape}")
    kernel = _tuple(kernel_size, n, caller, "kernel_size", 1)
    stride = kernel if stride is None else _tuple(stride, n, caller, "stride", 1)
    padding = _tuple(padding, n, caller, "padding", 0)
    in_sizes = x.shape[-n:]
    default = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(in_sizes, stride, padding,
                                                                   kernel))
    if output_size is None:
        out_sizes = default
    else:
        try:
            out_sizes = tuple(int(v) for v in output_size)
        except TypeError:
            raise TypeError(f"{caller}: output_size must be a sequence of {n} or {n + 2} ints, "
                            f"got {output_size!r}") from None
        if len(out_sizes) == n + 2:  # (N, C, *sizes), as torch takes it
            out_sizes = out_sizes[-n:]
        if len(out_sizes) != n:
            raise ValueError(f"{caller}: output_size must have {n} or {n + 2} elements, "
                             f"got {output_size!r}")
        low = tuple(d - s for d, s in zip(default, stride))
        high = tuple(d + s for d, s in zip(default, stride))
        if not all(lo < o < hi for lo, o, hi in zip(low, out_sizes, high)):  # torch's, strict
            raise ValueError(f"{caller}: output_size {tuple(output_size)} must be strictly "
                             f"between {low} and {high}")
    if min(out_sizes) < 1:
        raise ValueError(f"{caller}: output size {out_sizes} is empty for an input of shape "
                         f"{x.shape}")
    plane = math.prod(out_sizes)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(f"{caller}: indices must be in [0, {plane}) for the output "
                         f"{out_sizes}, got range [{idx.min()}, {idx.max()}]")
    lead = x.shape[:-n]
    pooled = math.prod(in_sizes)  # (not -1: an empty batch leaves it undefined)
    flat = x.reshape(lead + (pooled,))
    zeros = Tensor._wrap(np.zeros(lead + (plane,), dtype=x.dtype))
    out = scatter(zeros, -1, idx.reshape(lead + (pooled,)), flat)
    return out.reshape(lead + out_sizes)
