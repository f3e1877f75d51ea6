"""Functional pooling: max/avg pooling in 1-D and 2-D and adaptive average pooling.

Thin, checked wrappers over the Functions of ``tinydl.ops.pool`` (the adaptive pooling is a
mean over bins along each axis, ``_BinMean``); arguments, defaults and semantics follow
``torch.nn.functional``.
"""
import numbers

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._checks import _check_ndim, _tensor, _tuple
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


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over each window of a sequence: (N, C, L) -> (N, C, Lo)."""
    x = _tensor(input, "max_pool1d")
    _check_ndim(x, (3,), "max_pool1d", "(N, C, L)")
    stride = kernel_size if stride is None else stride
    pair = lambda v, fill: (fill, _tuple(v, 1, "max_pool1d", "size", 0)[0])
    out = max_pool2d(x.expand_dims(-2), pair(kernel_size, 1), pair(stride, 1),
                     pair(padding, 0), pair(dilation, 1), ceil_mode)
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
    ``divisor_override`` (a non-zero number) replaces the divisor.
    """
    _check_divisor(divisor_override, "avg_pool2d")
    x = _tensor(input, "avg_pool2d")
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
    """Mean over each window of a sequence: (N, C, L) -> (N, C, Lo)."""
    x = _tensor(input, "avg_pool1d")
    _check_ndim(x, (3,), "avg_pool1d", "(N, C, L)")
    stride = kernel_size if stride is None else stride
    pair = lambda v, fill: (fill, _tuple(v, 1, "avg_pool1d", "size", 0)[0])
    out = avg_pool2d(x.expand_dims(-2), pair(kernel_size, 1), pair(stride, 1), pair(padding, 0),
                     ceil_mode, count_include_pad)
    return out.squeeze(-2)


def _adaptive_bins(size, out):
    """torch's adaptive bins of an axis of ``size`` for ``out`` outputs: starts and ends of
    [floor(o*size/out), ceil((o+1)*size/out)); neighbouring bins may share an element."""
    o = np.arange(out)
    return (o * size) // out, -((-(o + 1) * size) // out)


def _along(axis, ndim, index):
    """An index that takes ``index`` along ``axis`` of an ndim array and all of every other."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _bin_means(x, axis, out, adjoint=False):
    """The means of x over the adaptive bins of ``axis`` (one of the last two), or with
    ``adjoint`` the transpose: each entry divided evenly over its bin (``out`` is then the
    axis's length before pooling), overlapping bins adding up.

    For finite x this is a product with the (out, size) averaging matrix (4x faster than the
    slices here on (32, 64, 14, 14) -> 7x7); otherwise it takes each bin's slice, so that a
    NaN or inf reaches only the entries its bins reach, as in torch (0 * NaN in the product
    would spread it to all)."""
    size, n_out = (out, x.shape[axis]) if adjoint else (x.shape[axis], out)
    starts, ends = _adaptive_bins(size, n_out)
    if np.isfinite(x).all():
        idx = np.arange(size)
        inside = (idx >= starts[:, None]) & (idx < ends[:, None])
        matrix = (inside / (ends - starts)[:, None]).astype(x.dtype)  # (n_out, size)
        matrix = matrix.T if adjoint else matrix
        return np.matmul(matrix, x) if axis == x.ndim - 2 else np.matmul(x, matrix.T)
    if not adjoint:
        return np.concatenate([np.mean(x[_along(axis, x.ndim, slice(s, e))], axis=axis,
                                       keepdims=True) for s, e in zip(starts, ends)], axis=axis)
    shape = list(x.shape)
    shape[axis] = size
    spread = np.zeros(shape, dtype=x.dtype)
    for o, (s, e) in enumerate(zip(starts, ends)):
        share = x[_along(axis, x.ndim, slice(o, o + 1))] / (e - s)
        spread[_along(axis, x.ndim, slice(s, e))] += share
    return spread


class _BinMean(Function):
    """The means over the adaptive bins of one of the last two axes (``_bin_means``); its
    gradient is ``_BinSpread``, whose gradient is this again."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axis, out):
        ctx.axis, ctx.size = axis, x.shape[axis]
        return _bin_means(x, axis, out)

    @staticmethod
    def backward(ctx, g):
        return (_BinSpread.apply(g, ctx.axis, ctx.size), None, None)


class _BinSpread(Function):
    """The adjoint of ``_BinMean``: each entry divided evenly over its bin of a ``size``-long
    axis."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, g, axis, size):
        ctx.axis, ctx.out = axis, g.shape[axis]
        return _bin_means(g, axis, size, adjoint=True)

    @staticmethod
    def backward(ctx, gg):
        return (_BinMean.apply(gg, ctx.axis, ctx.out), None, None)


def adaptive_avg_pool2d(input, output_size):
    """Average over torch's adaptive bins so the output is ``output_size`` (Ho, Wo).

    Bin o of an axis of length n covers [floor(o n / Ho), ceil((o+1) n / Ho)). Bins are
    rectangles, so the pooling is separable: the means over the row bins, then over the column
    bins (``_BinMean``). ``None`` keeps a size. A NaN or inf reaches only the outputs (and an
    inf gradient only the inputs) of its bins, as in torch.
    """
    x = _tensor(input, "adaptive_avg_pool2d")
    _check_ndim(x, (3, 4), "adaptive_avg_pool2d", "(N, C, H, W)")
    if isinstance(output_size, numbers.Integral):
        output_size = (output_size, output_size)
    height, width = x.shape[-2:]
    out_h = height if output_size[0] is None else int(output_size[0])
    out_w = width if output_size[1] is None else int(output_size[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    if (out_h, out_w) == (1, 1):
        return x.mean(axis=(-2, -1), keepdims=True)
    if out_h != height:
        x = _BinMean.apply(x, x.ndim - 2, out_h)
    if out_w != width or out_h == height:  # at least one op: the result is a new tensor
        x = _BinMean.apply(x, x.ndim - 1, out_w)
    return x
