"""Functional pooling: max/avg pooling in 1-D and 2-D, adaptive average and max pooling in
1-D to 3-D, and power-average (LP) pooling.

Thin, checked wrappers over the Functions of ``tinydl.ops.pool`` (the adaptive average pooling
is an averaging matrix applied along each axis, ``tinydl.ops.linalg.AlongAxis``; the adaptive
max pooling a gather at each bin's maximum; LP pooling a composition on average pooling);
arguments, defaults and semantics follow ``torch.nn.functional``.
"""
import math
import numbers

import numpy as np

from tinydl.autograd import gradient_tied_to
from tinydl.ops._checks import _check_ndim, _tensor, _tuple, as_1d
from tinydl.ops._util import floating
from tinydl.ops.activation import relu
from tinydl.ops.gather import take_along_axis
from tinydl.ops.linalg import AlongAxis
from tinydl.ops.rounding import sign
from tinydl.ops import pool as _pool
from tinydl.ops import conv as _conv
from tinydl.tensor import Tensor


def _default_stride(stride):
    """Whether ``stride`` asks for the kernel size: None, or torch's other spelling of it, an
    empty tuple or list (tested by type: ``stride == ()`` on a NumPy integer is an array)."""
    return stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)


def _one_for_all(value, n):
    """A one-element tuple or list stands for its entry on all n axes, as in torch's pools."""
    if n > 1 and isinstance(value, (tuple, list)) and len(value) == 1:
        return value[0]
    return value


def _pool_args(n, kernel_size, stride, padding, dilation, caller):
    """kernel, stride (the kernel by default), padding and dilation as n-tuples, checked as
    torch checks them: padding at most half the (dilated) kernel. Each is an int (NumPy's
    too), n ints, or one int in a tuple or list for all axes; stride may also be ``()`` or
    ``[]`` for the default, as in torch."""
    kernel = _tuple(_one_for_all(kernel_size, n), n, caller, "kernel_size", 1)
    stride = kernel if _default_stride(stride) else _tuple(_one_for_all(stride, n), n, caller,
                                                            "stride", 1)
    padding = _tuple(_one_for_all(padding, n), n, caller, "padding", 0)
    dilation = _tuple(_one_for_all(dilation, n), n, caller, "dilation", 1)
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{caller}: padding {padding} must be at most half the kernel size "
                             f"{kernel}")
    return kernel, stride, padding, dilation


def _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode, caller):
    _check_ndim(x, (3, 4), caller, "(N, C, H, W)")
    kernel, stride, padding, dilation = _pool_args(2, kernel_size, stride, padding, dilation,
                                                   caller)
    geom = _conv.Geometry(*kernel, *stride, *padding, *dilation)
    out_hw = _conv.output_size(x.shape[-2], x.shape[-1], geom, ceil_mode)
    if min(out_hw) < 1:
        raise ValueError(f"{caller}: kernel {kernel} does not fit the input of shape {x.shape}")
    return geom, out_hw


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each kh x kw window: (N, C, H, W) -> (N, C, Ho, Wo) (padding is -inf).

    ``stride`` defaults to the kernel size. With ``return_indices`` also returns the flat
    index (into H*W) of every maximum, as torch does.
    """
    x = _tensor(input, "max_pool2d")
    geom, out_hw = _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.expand_dims(0)
    if return_indices:
        _, offsets = _pool.max_pool_offsets(x.data, geom, out_hw)
        out = _pool.MaxPool2d.apply(x, geom, out_hw, indices=offsets)
    else:
        out = _pool.MaxPool2d.apply(x, geom, out_hw)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    indices = _flat_pool_indices(offsets, geom, x.shape[-1])
    return out, Tensor._wrap(indices[0] if unbatched else indices)


def _flat_pool_indices(offsets, geom, width):
    """Window offsets k = i*kw + j -> flat input indices h*W + w, as torch returns them."""
    out_h, out_w = offsets.shape[-2:]
    i, j = np.divmod(offsets.astype(np.int64), geom.kw)
    rows = np.arange(out_h).reshape(-1, 1) * geom.sh - geom.ph + i * geom.dh
    cols = np.arange(out_w).reshape(1, -1) * geom.sw - geom.pw + j * geom.dw
    return rows * width + cols


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each window of a sequence: (N, C, L) -> (N, C, Lo) (also unbatched
    (C, L)); with ``return_indices`` also the index (into L) of every maximum, as torch."""
    x = _tensor(input, "max_pool1d")
    _check_ndim(x, (2, 3), "max_pool1d", "(N, C, L)")
    stride = kernel_size if _default_stride(stride) else stride
    pair = lambda v, fill: (fill, _tuple(v, 1, "max_pool1d", "size", 0)[0])
    # (N, C, L) or (C, L) -> (..., 1, L): max_pool2d takes both batched and unbatched
    with as_1d("max_pool1d", "max_pool2d"):
        out = max_pool2d(x.expand_dims(-2), pair(kernel_size, 1), pair(stride, 1),
                         pair(padding, 0), pair(dilation, 1), ceil_mode, return_indices)
    if return_indices:  # flat indices into 1 x L: the index into L
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _avg_divisor(size, k, s, p, out, count_include_pad):
    """torch's per-axis window size: clipped to the padded input, or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _check_divisor(divisor_override, caller):
    """``divisor_override`` is None or a non-zero number (torch: "divisor must be not zero")."""
    if divisor_override is None:
        return
    if not isinstance(divisor_override, numbers.Real) or isinstance(divisor_override, bool):
        raise TypeError(f"{caller}: divisor_override must be a number, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError(f"{caller}: divisor must be not zero (divisor_override="
                         f"{divisor_override!r})")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each kh x kw window: (N, C, H, W) -> (N, C, Ho, Wo).

    Zero padding counts in the divisor when ``count_include_pad`` (torch's default);
    ``divisor_override`` (a non-zero number) replaces the divisor. Integer and bool input is
    averaged in float32 (torch keeps the integer dtype and truncates the means).
    """
    _check_divisor(divisor_override, "avg_pool2d")
    # Sum and divide in float: NumPy sums bools as a logical or, and 1/divisor cast to an
    # integer dtype is 0.
    x = floating(_tensor(input, "avg_pool2d"))
    if x.dtype == np.float16:  # windows summed in float32, the mean rounded once (torch's):
        # float16 window sums overflowed to inf (7x7 of 2000) or stalled (64x64 ones: 0.5)
        return avg_pool2d(x.astype(np.float32), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override).astype(np.float16)
    geom, out_hw = _pool_setup(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.expand_dims(0)
    total = _pool.SumPool2d.apply(x, geom, out_hw)
    if divisor_override is not None:
        out = total * (1.0 / divisor_override)
    else:
        div_h = _avg_divisor(x.shape[2], geom.kh, geom.sh, geom.ph, out_hw[0], count_include_pad)
        div_w = _avg_divisor(x.shape[3], geom.kw, geom.sw, geom.pw, out_hw[1], count_include_pad)
        divisor = div_h[:, None] * div_w[None, :]
        if np.all(divisor == divisor.flat[0]):
            out = total * (1.0 / float(divisor.flat[0]))
        else:
            out = total * Tensor._wrap((1.0 / divisor).astype(total.dtype))
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over each window of a sequence: (N, C, L) -> (N, C, Lo) (also unbatched (C, L))."""
    x = _tensor(input, "avg_pool1d")
    _check_ndim(x, (2, 3), "avg_pool1d", "(N, C, L)")
    stride = kernel_size if _default_stride(stride) else stride
    pair = lambda v, fill: (fill, _tuple(v, 1, "avg_pool1d", "size", 0)[0])
    with as_1d("avg_pool1d", "avg_pool2d"):
        out = avg_pool2d(x.expand_dims(-2), pair(kernel_size, 1), pair(stride, 1),
                         pair(padding, 0), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def _adaptive_bins(size, out):
    """torch's adaptive bins of an axis of length ``size`` cut into ``out``: bin o covers
    [floor(o*size/out), ceil((o+1)*size/out)) (neighbouring bins may share an element).
    Returns the (start, end) arrays."""
    o = np.arange(out)
    return (o * size) // out, -((-(o + 1) * size) // out)


def _adaptive_matrix(size, out):
    """(out, size) averaging matrix of the adaptive bins (``_adaptive_bins``)."""
    start, end = _adaptive_bins(size, out)
    idx = np.arange(size)
    inside = (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])
    return inside / (end - start)[:, None]


_SPATIAL = {1: ("(N, C, L)", "length"), 2: ("(N, C, H, W)", "height and width"),
            3: ("(N, C, D, H, W)", "depth, height and width")}


def _adaptive_setup(x, output_size, n, caller):
    """Check x ((N, C, *spatial) or unbatched (C, *spatial), n spatial axes, none empty) and
    resolve ``output_size`` (an int, or n ints or None, None keeping that axis's size; torch's
    1-d pools take no None) to n positive ints."""
    layout, axes = _SPATIAL[n]
    _check_ndim(x, (n + 1, n + 2), caller, f"{layout} or {layout.replace('N, ', '')}")
    if 0 in x.shape[-n:]:
        raise ValueError(f"{caller}: expected input with non-zero {axes}, got shape {x.shape}")

    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    none_keeps = n > 1  # (torch's 1-d pools refuse None)
    if is_int(output_size):
        sizes = (int(output_size),) * n
    elif isinstance(output_size, (tuple, list)) and len(output_size) == n and all(
            is_int(v) or (none_keeps and v is None) for v in output_size):
        sizes = tuple(None if v is None else int(v) for v in output_size)
    else:
        what = "an int or a tuple of 1 int" if n == 1 else (
            f"an int or a {'pair' if n == 2 else 'triple'} of ints or None (None keeps that "
            "size)")
        raise TypeError(f"{caller}: output_size must be {what}, got {output_size!r}")
    sizes = tuple(size if o is None else o for o, size in zip(sizes, x.shape[-n:]))
    if min(sizes) < 1:
        raise ValueError(f"{caller}: output_size must be positive, got {output_size}")
    return sizes


def _adaptive_avg_pool(input, output_size, n, caller):
    """``adaptive_avg_pool{n}d``: the averaging matrix of each axis's bins applied along it
    (``tinydl.ops.linalg.AlongAxis``), the first spatial axis first."""
    x = floating(_tensor(input, caller))  # the 1/k weights need a float
    sizes = _adaptive_setup(x, output_size, n, caller)
    spatial = x.shape[-n:]
    if all(o == 1 for o in sizes):  # global average pooling
        return x.mean(axis=tuple(range(-n, 0)), keepdims=True)
    # the axes whose size changes; at least one op, so that the result is a new tensor
    changed = [a for a in range(n) if sizes[a] != spatial[a]] or [n - 1]
    for a in changed:
        x = AlongAxis.apply(x, x.ndim - n + a, _adaptive_matrix(spatial[a], sizes[a]))
    return x


def adaptive_avg_pool2d(input, output_size):
    """Average over torch's adaptive bins so the output is ``output_size`` (Ho, Wo).

    Bin o of an axis of length n covers [floor(o n / Ho), ceil((o+1) n / Ho)). Bins are
    rectangles, so the pooling is separable: the averaging matrix of the row bins, then of the
    column bins, each applied along its axis (``tinydl.ops.linalg.AlongAxis``). ``None`` keeps
    a size. A NaN or inf reaches only the outputs (and an inf gradient only the inputs) of its
    bins, as in torch. Integer and bool input is averaged in float32, as by ``avg_pool2d``.
    """
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input, output_size):
    """``adaptive_avg_pool2d`` along one axis: (N, C, L) or (C, L) -> (..., Lo) with
    ``output_size`` Lo (an int or a 1-tuple)."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool3d(input, output_size):
    """``adaptive_avg_pool2d`` over three axes: (N, C, D, H, W) or (C, D, H, W) ->
    (..., Do, Ho, Wo); ``output_size`` an int or a triple of ints or None (None keeps a size)."""
    return _adaptive_avg_pool(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max_pool(input, output_size, n, return_indices, caller):
    """``adaptive_max_pool{n}d``: the maximum over each adaptive bin (``_adaptive_bins``) of
    the last n axes, and its flat index into the input's plane (volume), as torch.

    Every bin's elements are read in one gather: along each axis the bin's start, start + 1,
    ... padded to the longest bin by repeating its last element, so the candidates of a bin
    come in torch's row-major scan order (a repeat right after the element it repeats). The
    winner follows torch's scan: the first of tied maxima, the last NaN when there is one, the
    first element of a bin of -inf. The output is the input gathered at the winners
    (``take_along_axis``), so the gradient goes to each bin's winner (adding up where bins
    overlap), to any order.
    """
    x = _tensor(input, caller)
    sizes = _adaptive_setup(x, output_size, n, caller)
    spatial = x.shape[-n:]
    lead = x.shape[:-n]
    flat = np.zeros((1,) * (2 * n), dtype=np.int64)  # (O_1, ..., O_n, K_1, ..., K_n)
    for a, (size, out) in enumerate(zip(spatial, sizes)):
        start, end = _adaptive_bins(size, out)
        k = np.arange((end - start).max())
        taps = np.minimum(start[:, None] + k[None, :], end[:, None] - 1)  # (O_a, K_a)
        shape = [1] * (2 * n)
        shape[a], shape[n + a] = taps.shape
        flat = flat * size + taps.reshape(shape)
    flat = flat.reshape(sizes + (-1,))  # the bin's candidates in scan order, last axis
    volume = math.prod(spatial)  # (not -1: an empty batch leaves it undefined)
    values = x.data.reshape(lead + (volume,))[..., flat]  # (*lead, O_1, ..., O_n, K)
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        values = np.where(nan, -np.inf, values)
    winner = np.argmax(values == values.max(axis=-1, keepdims=True), axis=-1)
    if values.dtype.kind == "f" and nan.any():
        last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        winner = np.where(nan.any(axis=-1), last_nan, winner)
    indices = np.take_along_axis(np.broadcast_to(flat, values.shape), winner[..., None],
                                 axis=-1)[..., 0]
    out = take_along_axis(x.reshape(lead + (volume,)),
                          indices.reshape(lead + (math.prod(sizes),)), -1)
    out = gradient_tied_to(out.reshape(lead + sizes), x)  # torch's backward reads x
    return (out, Tensor._wrap(indices)) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Maximum over torch's adaptive bins of a sequence: (N, C, L) or (C, L) -> (..., Lo),
    ``output_size`` Lo an int or a 1-tuple; with ``return_indices`` also the index (into L) of
    each maximum, int64. Bins as ``adaptive_avg_pool1d``'s; ties, NaN and gradient as
    ``max_pool1d``'s."""
    return _adaptive_max_pool(input, output_size, 1, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over torch's adaptive bins: (N, C, H, W) or (C, H, W) -> (..., Ho, Wo)
    (``output_size`` an int or a pair of ints or None, None keeping a size); with
    ``return_indices`` also the flat index h*W + w of each maximum in its plane, int64, as
    torch. Ties go to the first element in row-major order, a NaN wins (the last one), the
    gradient reaches the winner only: as ``max_pool2d``."""
    return _adaptive_max_pool(input, output_size, 2, return_indices, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Maximum over torch's adaptive bins of a volume: (N, C, D, H, W) or (C, D, H, W) ->
    (..., Do, Ho, Wo); with ``return_indices`` also the flat index (d*H + h)*W + w of each
    maximum, int64. Otherwise as ``adaptive_max_pool2d``."""
    return _adaptive_max_pool(input, output_size, 3, return_indices, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """torch's name for ``adaptive_max_pool1d(..., return_indices=True)``: (output, indices)
    whatever ``return_indices`` says."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """torch's name for ``adaptive_max_pool2d(..., return_indices=True)``: (output, indices)
    whatever ``return_indices`` says."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """torch's name for ``adaptive_max_pool3d(..., return_indices=True)``: (output, indices)
    whatever ``return_indices`` says."""
    return adaptive_max_pool3d(input, output_size, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """torch's name for ``max_pool1d(..., return_indices=True)``: (output, indices) whatever
    ``return_indices`` says."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """torch's name for ``max_pool2d(..., return_indices=True)``: (output, indices) whatever
    ``return_indices`` says."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n, avg_pool, max_pool, caller):
    """``lp_pool{n}d``: ``(sum over the window of x^p) ** (1/p)`` with p = ``norm_type``, in
    torch's form: ``avg_pool`` of x^p (no padding) times the kernel's volume, so a ``ceil_mode``
    window cut short by the edge has its sum scaled up to a full window's, as torch's is.

    The mean m goes through ``sign(m) * relu(|m|)`` first, as in torch: the same value, but a
    gradient of 0 where m = 0, so an all-zero window gets gradient 0 where the (1/p)-th power's
    slope at 0 is infinite. For p < 1 it is still NaN there (x^p's own slope at 0 is
    infinite too, times that 0), and a negative sum (odd p, or p = 1 with negative x) to a
    fractional power 1/p is NaN: both as in torch. p = inf is max pooling of |x|, p = -inf
    the smallest |x| of each window (torch's too).
    """
    x = floating(_tensor(input, caller))
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{caller}: norm_type (the p of the p-norm) must be a number, got "
                        f"{norm_type!r}")
    if norm_type == 0 or norm_type != norm_type:  # (1/p)
        raise ValueError(f"{caller}: norm_type must be a non-zero number (the p of the "
                         f"p-norm), got {norm_type!r}")
    layout = _SPATIAL[n][0]
    _check_ndim(x, (n + 1, n + 2), caller, f"{layout} or {layout.replace('N, ', '')}")
    if n > 1 and isinstance(kernel_size, (tuple, list)) and len(kernel_size) == 1:
        # torch's lp_pool2d/3d unpack kernel_size into n sizes (for the kernel's volume): the
        # pools' one size for all axes is an error there
        raise TypeError(f"{caller}: kernel_size must be an int or a tuple of {n} ints, got "
                        f"{kernel_size!r}")
    kernel, stride, _, _ = _pool_args(n, kernel_size, stride, 0, 1, caller)
    # The rule of the pools torch runs: with ceil_mode a kernel longer than the input still
    # makes one window, cut short by the edge (its sum scaled up to a full one's below),
    # except in avg_pool3d (finite p in 3-D), which refuses a kernel longer than the input.
    spatial = x.shape[-n:]
    longer = any(size < k for size, k in zip(spatial, kernel))
    if (any(_conv.axis_length(size, k, s, 0, 1, ceil_mode) < 1
            for size, k, s in zip(spatial, kernel, stride))
            or (n == 3 and longer and abs(norm_type) != math.inf)):
        raise ValueError(f"{caller}: kernel {kernel} does not fit the input of shape {x.shape}")
    if norm_type == math.inf:
        return max_pool(x.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-x.abs(), kernel, stride, 0, 1, ceil_mode)
    mean = avg_pool(x ** norm_type, kernel, stride, 0, ceil_mode)
    return (sign(mean) * relu(mean.abs()) * math.prod(kernel)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of a sequence (torch's ``F.lp_pool1d``): (N, C, L) or (C, L) ->
    (..., Lo), each output ``(sum over its window of x^p) ** (1/p)`` with p = ``norm_type``
    (p = 1: the sum, p = 2: the Euclidean norm, p = inf: the max of |x|); no padding, stride
    the kernel size by default. See ``lp_pool2d``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, avg_pool1d,
                    max_pool1d, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling (torch's ``F.lp_pool2d``): (N, C, H, W) or (C, H, W) ->
    (..., Ho, Wo), each output ``(sum over its kh x kw window of x^p) ** (1/p)`` with
    p = ``norm_type``, computed as torch does: ``avg_pool2d`` of x^p times kh*kw, to the power
    1/p; no padding, stride the kernel size by default. Zero windows, negative sums and
    infinite p as torch (``_lp_pool``); integer input is pooled in float32."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, avg_pool2d,
                    max_pool2d, "lp_pool2d")
