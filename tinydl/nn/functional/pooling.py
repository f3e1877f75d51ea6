"""Functional pooling: max/avg pooling in 1-D and 2-D and adaptive average pooling.

Thin, checked wrappers over the Functions of ``tinydl.ops.pool`` (the adaptive pooling is an
averaging matrix applied along each axis, ``tinydl.ops.linalg.AlongAxis``); arguments,
defaults and semantics follow ``torch.nn.functional``.
"""
import numbers

import numpy as np

from tinydl.ops._checks import _check_ndim, _tensor, _tuple, as_1d
from tinydl.ops._util import floating
from tinydl.ops.linalg import AlongAxis
from tinydl.ops import pool as _pool
from tinydl.ops import conv as _conv
from tinydl.tensor import Tensor


def _pool_args(n, kernel_size, stride, padding, dilation, caller):
    """kernel, stride (the kernel by default), padding and dilation as n-tuples, checked as
    torch checks them: padding at most half the (dilated) kernel."""
    kernel = _tuple(kernel_size, n, caller, "kernel_size", 1)
    stride = kernel if stride is None or stride == () else _tuple(stride, n, caller, "stride", 1)
    padding = _tuple(padding, n, caller, "padding", 0)
    dilation = _tuple(dilation, n, caller, "dilation", 1)
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
    stride = kernel_size if stride is None else stride
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
    stride = kernel_size if stride is None else stride
    pair = lambda v, fill: (fill, _tuple(v, 1, "avg_pool1d", "size", 0)[0])
    with as_1d("avg_pool1d", "avg_pool2d"):
        out = avg_pool2d(x.expand_dims(-2), pair(kernel_size, 1), pair(stride, 1),
                         pair(padding, 0), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def _adaptive_matrix(size, out):
    """(out, size) averaging matrix of torch's adaptive bins [floor(o*n/m), ceil((o+1)*n/m))
    (neighbouring bins may share an element)."""
    o = np.arange(out)
    start = (o * size) // out
    end = -((-(o + 1) * size) // out)
    idx = np.arange(size)
    inside = (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])
    return inside / (end - start)[:, None]


def _adaptive_output_size(output_size):
    """``output_size`` (an int, or a pair of ints or None) as a pair of ints or None."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(output_size):
        return int(output_size), int(output_size)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2 and all(
            v is None or is_int(v) for v in output_size):
        return tuple(None if v is None else int(v) for v in output_size)
    raise TypeError(f"adaptive_avg_pool2d: output_size must be an int or a pair of ints or "
                    f"None (None keeps that size), got {output_size!r}")


def adaptive_avg_pool2d(input, output_size):
    """Average over torch's adaptive bins so the output is ``output_size`` (Ho, Wo).

    Bin o of an axis of length n covers [floor(o n / Ho), ceil((o+1) n / Ho)). Bins are
    rectangles, so the pooling is separable: the averaging matrix of the row bins, then of the
    column bins, each applied along its axis (``tinydl.ops.linalg.AlongAxis``). ``None`` keeps
    a size. A NaN or inf reaches only the outputs (and an inf gradient only the inputs) of its
    bins, as in torch. Integer and bool input is averaged in float32, as by ``avg_pool2d``.
    """
    x = floating(_tensor(input, "adaptive_avg_pool2d"))  # the 1/k weights need a float
    _check_ndim(x, (3, 4), "adaptive_avg_pool2d", "(N, C, H, W)")
    if 0 in x.shape[-2:]:
        raise ValueError(f"adaptive_avg_pool2d: expected input with non-zero height and width, "
                         f"got shape {x.shape}")
    out_h, out_w = _adaptive_output_size(output_size)
    height, width = x.shape[-2:]
    out_h = height if out_h is None else out_h
    out_w = width if out_w is None else out_w
    if out_h < 1 or out_w < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    if (out_h, out_w) == (1, 1):
        return x.mean(axis=(-2, -1), keepdims=True)
    if out_h != height:
        x = AlongAxis.apply(x, x.ndim - 2, _adaptive_matrix(height, out_h))
    if out_w != width or out_h == height:  # at least one op: the result is a new tensor
        x = AlongAxis.apply(x, x.ndim - 1, _adaptive_matrix(width, out_w))
    return x
