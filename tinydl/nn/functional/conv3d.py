"""Functional 3-D convolution and pooling: ``conv3d``, ``conv_transpose3d``, ``max_pool3d``,
``avg_pool3d`` (and ``lp_pool3d`` on top of it).

Each is built from its 2-D counterpart: the depth axis is folded into the batch, and the
kd depth offsets of the kernel are kd strided depth slices of the (padded) input, each fed
to the 2-D op with its depth slice of the kernel; the kd results are summed (convolution,
average pooling) or reduced by a first-wins maximum (max pooling). Gradients of every order
come from the 2-D ops, the slices and the sums.
"""

import numpy as np

import tinydl
from tinydl.ops._checks import _check_ndim, _tensor, _tuple
from tinydl.nn.functional.conv import _check_output_padding, col2im, conv2d, conv_transpose2d
from tinydl.nn.functional.pooling import (_avg_divisor, _check_divisor, _lp_pool, _pool_args,
                                          avg_pool2d, max_pool2d)
from tinydl.ops import conv as _conv
from tinydl.tensor import Tensor


def _depth_slices(x, k, s, d, out_d, before, fill):
    """The k depth slices of x (N, C, D, H, W) padded by ``before`` (and after as needed) with
    ``fill``, each (N*out_d, C, H, W): slice i holds depths o*s + i*d - before, o < out_d."""
    n, c, depth, h, w = x.shape
    after = max(0, (out_d - 1) * s + d * (k - 1) + 1 - depth - before)
    if before or after:
        x = tinydl.pad(x, ((0, 0), (0, 0), (before, after), (0, 0), (0, 0)),
                       constant_values=fill)
    x = tinydl.transpose(x, (0, 2, 1, 3, 4))  # (N, D, C, H, W): depth beside the batch
    for i in range(k):
        start = i * d
        piece = x[:, start:start + (out_d - 1) * s + 1:s]
        yield piece.reshape((n * out_d, c, h, w))


def _unfold_depth(out, n, out_d):
    """(N*Do, F, Ho, Wo) -> (N, F, Do, Ho, Wo)."""
    out = out.reshape((n, out_d) + out.shape[1:])
    return tinydl.transpose(out, (0, 2, 1, 3, 4))


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation, torch's ``F.conv3d``: input (N, C, D, H, W) (or unbatched
    (C, D, H, W)), weight (F, C/groups, kd, kh, kw), bias (F,) -> (N, F, Do, Ho, Wo) with
    ``Do = floor((D + 2p - d(kd-1) - 1)/s) + 1`` (likewise Ho, Wo). ``padding`` may be an int,
    a triple, 'valid' or 'same' (stride 1). Computed as the sum over the kd depth offsets of
    ``conv2d`` on strided depth slices (depth folded into the batch).
    """
    groups = _tuple(groups, 1, "conv3d", "groups", 1)[0]
    x, unbatched = _conv.check_operands(_tensor(input, "conv3d"), weight, bias, groups, 3,
                                        "conv3d", "(N, C, D, H, W)", "(F, C/groups, kd, kh, kw)")
    f, kd = weight.shape[0], weight.shape[2]
    stride = _tuple(stride, 3, "conv3d", "stride", 1)
    dilation = _tuple(dilation, 3, "conv3d", "dilation", 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv3d: padding must be 'valid', 'same', an int or a tuple, "
                             f"got {padding!r}")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"conv3d: padding='same' needs stride 1, got stride {stride}")
        total = dilation[0] * (kd - 1) if padding == "same" else 0
        before, after = total // 2, total - total // 2
        hw_padding = padding
    else:
        padding = _tuple(padding, 3, "conv3d", "padding", 0)
        before = after = padding[0]
        hw_padding = padding[1:]
    depth = x.shape[2] + before + after
    out_d = (depth - dilation[0] * (kd - 1) - 1) // stride[0] + 1
    if out_d < 1:
        raise ValueError(f"conv3d: kernel depth {kd} with dilation {dilation[0]} does not fit "
                         f"the input of shape {x.shape} padded by {before + after} in depth")
    if after > before:  # 'same' with an even kernel: the extra row goes after, as torch
        x = tinydl.pad(x, ((0, 0), (0, 0), (0, after - before), (0, 0), (0, 0)))
    n = x.shape[0]
    out = None
    for i, piece in enumerate(_depth_slices(x, kd, stride[0], dilation[0], out_d, before, 0)):
        term = conv2d(piece, weight[:, :, i], None, stride[1:], hw_padding, dilation[1:],
                      groups)
        out = term if out is None else out + term
    out = _unfold_depth(out, n, out_d)
    if bias is not None:  # in the data's dtype, as conv2d (a float64 bias promoted it)
        out = out + bias.reshape((f, 1, 1, 1)).astype(out.dtype)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution, torch's ``F.conv_transpose3d`` (the gradient of conv3d
    with respect to its input): input (N, Cin, D, H, W) (or unbatched (Cin, D, H, W)), weight
    (Cin, Cout/groups, kd, kh, kw), bias (Cout,) -> (N, Cout, Do, Ho, Wo) with
    ``Do = (D-1)s - 2p + d(kd-1) + output_padding + 1`` (likewise Ho, Wo); ``output_padding``
    must be smaller than the stride or the dilation (torch's rule).

    The kd depth offsets become output channels of one ``conv_transpose2d`` of every depth
    slice (depth folded into the batch, weight seen as (Cin, Cout/groups * kd, kh, kw)); then
    ``col2im`` along depth (kernel (kd, 1), stride (s, 1), dilation (d, 1)) adds offset i of
    input depth j into output depth ``j*s + i*d``, and the depth padding is cut off. Gradients
    of every order come from those two ops and the reshapes.
    """
    caller = "conv_transpose3d"
    x = _tensor(input, caller)
    _conv._check_conv_dtypes(x, weight, caller)
    _check_ndim(x, (4, 5), caller, "(N, C, D, H, W)")
    if weight.ndim != 5 or 0 in weight.shape:  # (Cin = 0 too: torch refuses it)
        raise ValueError(f"{caller}: weight must have shape (Cin, Cout/groups, kd, kh, kw) with "
                         f"no empty axis, got {weight.shape}")
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape((1,) + x.shape)
    groups = _tuple(groups, 1, caller, "groups", 1)[0]
    c_in, c_out_per_group, kd, kh, kw = weight.shape
    c_out = c_out_per_group * groups
    if x.shape[1] != c_in or c_in % groups != 0:
        raise ValueError(f"{caller}: input of shape {x.shape} with groups={groups} does not fit "
                         f"weight of shape {weight.shape} (need C = Cin, divisible by groups)")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{caller}: bias must have shape ({c_out},), got {bias.shape}")
    if 0 in x.shape[2:]:
        raise ValueError(f"{caller}: an input of shape {x.shape} has a zero-length spatial axis, "
                         "from which no output size follows (as in torch)")
    stride = _tuple(stride, 3, caller, "stride", 1)
    padding = _tuple(padding, 3, caller, "padding", 0)
    output_padding = _tuple(output_padding, 3, caller, "output_padding", 0)
    dilation = _tuple(dilation, 3, caller, "dilation", 1)
    _check_output_padding(output_padding, stride, dilation, caller)
    n, _, depth, height, width = x.shape
    full_d = (depth - 1) * stride[0] + dilation[0] * (kd - 1) + 1  # before cutting the padding
    out_d = full_d - 2 * padding[0] + output_padding[0]
    geom = _conv.Geometry(kh, kw, *stride[1:], *padding[1:], *dilation[1:])
    out_hw = _conv.transposed_output_size(height, width, geom, output_padding[1:])
    if out_d < 1 or min(out_hw) < 1:
        raise ValueError(f"{caller}: the output size {(out_d,) + tuple(out_hw)} is not positive "
                         f"(input size {x.shape[2:]}, kernel {weight.shape[2:]}, stride {stride}, "
                         f"padding {padding}, dilation {dilation})")
    planes = tinydl.transpose(x, (0, 2, 1, 3, 4)).reshape((n * depth, c_in, height, width))
    offsets_as_channels = weight.reshape((c_in, c_out_per_group * kd, kh, kw))
    y = conv_transpose2d(planes, offsets_as_channels, None, stride[1:], padding[1:],
                         output_padding[1:], groups, dilation[1:])
    # (N*D, Cout*kd, Ho, Wo) -> columns (N, Cout*kd, D*Ho*Wo): row c*kd + i, column (j, plane)
    y = y.reshape((n, depth, c_out, kd) + tuple(out_hw))
    plane = out_hw[0] * out_hw[1]
    cols = tinydl.transpose(y, (0, 2, 3, 1, 4, 5)).reshape((n, c_out * kd, depth * plane))
    out = col2im(cols, (full_d, plane), (kd, 1), (stride[0], 1), 0, (dilation[0], 1))
    out = out[:, :, padding[0]:padding[0] + out_d]
    if out.shape[2] < out_d:  # an output_padding reaching past every kernel: zeros there
        out = tinydl.pad(out, ((0, 0), (0, 0), (0, out_d - out.shape[2]), (0, 0)))
    out = out.reshape((n, c_out, out_d) + tuple(out_hw))
    if bias is not None:  # in the data's dtype, as conv2d (a float64 bias promoted it)
        out = out + bias.reshape((c_out, 1, 1, 1)).astype(out.dtype)
    return out.reshape(out.shape[1:]) if unbatched else out


def _pool3d_setup(x, kernel_size, stride, padding, dilation, ceil_mode, caller):
    _check_ndim(x, (4, 5), caller, "(N, C, D, H, W)")
    kernel, stride, padding, dilation = _pool_args(3, kernel_size, stride, padding, dilation,
                                                   caller)
    depth, k, s, p, d = x.shape[-3], kernel[0], stride[0], padding[0], dilation[0]
    out_d = _conv.axis_length(depth, k, s, p, d, ceil_mode)
    # A window longer than the padded depth: torch's max_pool3d takes one that ceil_mode lets
    # overhang the end (as max_pool2d does along H and W); its avg_pool3d refuses a kernel
    # longer than the input itself along any axis, padding or not (avg_pool2d, which it runs
    # on each depth slice, would let one overhang along H and W).
    overhang = ceil_mode and caller == "max_pool3d" and out_d >= 1
    longer_than_input = any(size < length for size, length in zip(x.shape[-3:], kernel))
    if ((depth + 2 * p - d * (k - 1) - 1 < 0 and not overhang)
            or (caller == "avg_pool3d" and longer_than_input)):
        raise ValueError(f"{caller}: kernel {kernel} does not fit the input of shape {x.shape}")
    return kernel, stride, padding, dilation, out_d


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each kd x kh x kw window: (N, C, D, H, W) -> (N, C, Do, Ho, Wo) (padding
    is -inf; also unbatched (C, D, H, W)); torch's ``F.max_pool3d``. With ``return_indices``
    also the flat index (d*H + h)*W + w of every maximum in its input volume, int64, as torch.

    ``max_pool2d`` of every depth slice of the window, then the first of the kd results that
    holds the maximum wins, so ties go to the first window element in (d, h, w) order (a
    NaN wins, the last one) and the gradient reaches that one entry only, as in torch.
    """
    x = _tensor(input, "max_pool3d")
    kernel, stride, padding, dilation, out_d = _pool3d_setup(
        x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d")
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape((1,) + x.shape)
    n = x.shape[0]
    # the depth padding never wins: -inf, or the smallest integer (-inf cannot be an int64)
    fill = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    pieces = [max_pool2d(piece, kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode,
                         return_indices)
              for piece in _depth_slices(x, kernel[0], stride[0], dilation[0], out_d,
                                         padding[0], fill)]
    if return_indices:  # each piece's flat indices into its H*W plane
        pieces, planes = zip(*pieces)
    stacked = tinydl.stack(pieces, 0)
    data = stacked.data
    # the first maximum along the depth offsets; a NaN wins, the last one (torch's scan).
    # Offsets in the depth padding (-inf) lose ties: where a window is -inf throughout, the
    # first offset inside x wins, where torch's scan starts (the padding took the gradient).
    nans = np.isnan(data)
    values = np.where(nans, np.inf, data)
    at_max = values == values.max(axis=0)
    depths = (np.arange(out_d)[None, :] * stride[0] + np.arange(kernel[0])[:, None] * dilation[0]
              - padding[0])
    inside = np.tile((depths >= 0) & (depths < x.shape[2]), (1, n))
    inside = inside.reshape(inside.shape + (1,) * (data.ndim - 2))
    real_max = at_max & inside
    winner = np.where(real_max.any(axis=0), np.argmax(real_max, axis=0), np.argmax(at_max, axis=0))
    if nans.any():
        last_nan = len(pieces) - 1 - np.argmax(nans[::-1], axis=0)
        winner = np.where(nans.any(axis=0), last_nan, winner)
    out = tinydl.take_along_axis(stacked, Tensor._wrap(winner[None].astype(np.int64)), 0)[0]
    out = _unfold_depth(out, n, out_d)
    out = out.reshape(out.shape[1:]) if unbatched else out
    if not return_indices:
        return out
    # The winning depth offset's index into its H*W plane, plus its depth times H*W (the
    # winner is an offset inside x, never the depth padding; see above).
    plane = np.take_along_axis(np.stack([p.data for p in planes]), winner[None], 0)[0]
    window = np.tile(np.arange(out_d), n).reshape(-1, 1, 1, 1)  # each row's output depth
    depth = window * stride[0] + winner * dilation[0] - padding[0]
    indices = depth * (x.shape[3] * x.shape[4]) + plane
    indices = indices.reshape((n, out_d) + indices.shape[1:]).transpose(0, 2, 1, 3, 4)
    return out, Tensor._wrap(np.ascontiguousarray(indices[0] if unbatched else indices))


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """torch's name for ``max_pool3d(..., return_indices=True)``: (output, indices) whatever
    ``return_indices`` says."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each kd x kh x kw window: (N, C, D, H, W) -> (N, C, Do, Ho, Wo) (also
    unbatched (C, D, H, W)); torch's ``F.avg_pool3d``.

    Zero padding counts in the divisor when ``count_include_pad``; ``divisor_override`` (a
    non-zero number) replaces it. The sum over depth offsets of ``avg_pool2d`` of each depth
    slice, divided by the depth part of the divisor.
    """
    _check_divisor(divisor_override, "avg_pool3d")
    x = _tensor(input, "avg_pool3d")
    if x.dtype == np.float16:  # summed in float32, the mean rounded once (as avg_pool2d)
        return avg_pool3d(x.astype(np.float32), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override).astype(np.float16)
    kernel, stride, padding, _, out_d = _pool3d_setup(
        x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool3d")
    unbatched = x.ndim == 4
    if unbatched:
        x = x.reshape((1,) + x.shape)
    n, depth = x.shape[0], x.shape[2]
    total = None
    for piece in _depth_slices(x, kernel[0], stride[0], 1, out_d, padding[0], 0):
        term = avg_pool2d(piece, kernel[1:], stride[1:], padding[1:], ceil_mode,
                          count_include_pad, 1 if divisor_override is not None else None)
        total = term if total is None else total + term
    out = _unfold_depth(total, n, out_d)
    if divisor_override is not None:
        out = out * (1.0 / divisor_override)
    else:
        div_d = _avg_divisor(depth, kernel[0], stride[0], padding[0], out_d, count_include_pad)
        out = out * Tensor._wrap((1.0 / div_d).reshape(-1, 1, 1).astype(out.dtype))
    return out.reshape(out.shape[1:]) if unbatched else out


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of a volume (torch's ``F.lp_pool3d``): (N, C, D, H, W) or
    (C, D, H, W) -> (..., Do, Ho, Wo), each output ``(sum over its kd x kh x kw window of
    x^p) ** (1/p)``: ``avg_pool3d`` of x^p times the kernel's volume, to the power 1/p, as
    ``lp_pool2d``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, avg_pool3d,
                    max_pool3d, "lp_pool3d")
