"""Functional convolution: conv1d/conv2d, their transposes, and im2col/col2im (unfold/fold).

Thin, checked wrappers over the Functions of ``tinydl.ops.conv``; arguments, defaults and
semantics follow ``torch.nn.functional``. Images are (N, C, H, W), sequences (N, C, L).
"""
import numpy as np

import tinydl
from tinydl.ops import conv as _conv
from tinydl.ops._checks import _check_ndim, _tensor, _tuple, as_1d


def _same_padding(kernel, dilation, caller, stride):
    if any(s != 1 for s in stride):
        raise ValueError(f"{caller}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple((t // 2, t - t // 2) for t in totals)


def _conv_padding(padding, kernel, dilation, stride, caller):
    """Symmetric padding per axis plus the extra right padding 'same' needs for even kernels."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * n, None
        if padding == "same":
            pairs = _same_padding(kernel, dilation, caller, stride)
            extra = tuple(right - left for left, right in pairs)
            return tuple(left for left, _ in pairs), (extra if any(extra) else None)
        raise ValueError(f"{caller}: padding must be 'valid', 'same', an int or a tuple, got "
                         f"{padding!r}")
    return _tuple(padding, n, caller, "padding", 0), None


def conv2d_geometry(kernel, stride, padding, dilation, caller="conv2d"):
    """The ``Geometry`` of a conv2d with weight kernel ``kernel`` (kh, kw), and the extra
    (bottom, right) padding that ``padding='same'`` needs for an even kernel (or None).

    stride and dilation are ints or pairs; padding an int, a pair, 'valid' or 'same'.
    """
    stride = _tuple(stride, 2, caller, "stride", 1)
    dilation = _tuple(dilation, 2, caller, "dilation", 1)
    pad, extra = _conv_padding(padding, kernel, dilation, stride, caller)
    return _conv.Geometry(*kernel, *stride, *pad, *dilation), extra


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation ``out[n,f] = b[f] + sum_c w[f,c] (*) x[n, g(f)*C/groups + c]``.

    input (N, C, H, W) (or unbatched (C, H, W)), weight (F, C/groups, kh, kw), bias (F,);
    output (N, F, Ho, Wo) with ``Ho = floor((H + 2p - d(kh-1) - 1)/s) + 1``. ``padding`` may
    be an int, a pair, 'valid' or 'same' (stride 1). Computed as im2col + one GEMM
    (``tinydl.ops.conv``). Input and weight must share their floating dtype.
    """
    x = _tensor(input, "conv2d")
    groups = _tuple(groups, 1, "conv2d", "groups", 1)[0]
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (F, C/groups, kh, kw), got "
                         f"{weight.shape}")
    geom, extra = conv2d_geometry(weight.shape[2:], stride, padding, dilation)
    return _conv.convolve(x, weight, bias, geom, groups, extra)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: input (N, C, L), weight (F, C/groups, k) -> (N, F, Lo).

    Runs as ``conv2d`` on a height-1 image.
    """
    x = _tensor(input, "conv1d")
    _check_ndim(x, (2, 3), "conv1d", "(N, C, L)")
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must have shape (F, C/groups, k), got {weight.shape}")
    stride = _tuple(stride, 1, "conv1d", "stride", 1)[0]
    dilation = _tuple(dilation, 1, "conv1d", "dilation", 1)[0]
    if not isinstance(padding, str):
        padding = (0, _tuple(padding, 1, "conv1d", "padding", 0)[0])
    x4 = x.expand_dims(-2)
    with as_1d("conv1d", "conv2d"):
        out = conv2d(x4, weight.expand_dims(-2), bias, (1, stride), padding, (1, dilation),
                     groups)
    return out.squeeze(-2)


def _check_output_padding(output_padding, stride, dilation, caller):
    """torch's rule: each output_padding must be smaller than the stride or the dilation."""
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{caller}: output_padding {tuple(output_padding)} must be smaller "
                             f"than either the stride {tuple(stride)} or the dilation "
                             f"{tuple(dilation)}")


def _transpose_output_size(in_hw, geom, output_padding, caller):
    """``window.transposed_output_size`` (``(i-1)s - 2p + d(k-1) + output_padding + 1`` per
    axis) after torch's output_padding rule, checked to be positive."""
    stride, dilation = (geom.sh, geom.sw), (geom.dh, geom.dw)
    _check_output_padding(output_padding, stride, dilation, caller)
    sizes = _conv.transposed_output_size(in_hw[0], in_hw[1], geom, output_padding)
    if any(n < 1 for n in sizes):
        raise ValueError(f"{caller}: the output size {sizes} is not positive (input size "
                         f"{tuple(in_hw)}, kernel {(geom.kh, geom.kw)}, stride {stride}, "
                         f"padding {(geom.ph, geom.pw)}, dilation {dilation})")
    return sizes


def _conv_transpose2d_wide(x, weight, bias, geom, groups, padding, out_hw):
    """conv_transpose2d when some output_padding >= stride (a larger dilation allows it).

    Then conv2d of the output no longer gives back x's size, which ``ConvTranspose2d``
    relies on, so compute the uncropped output (no padding), cut torch's window out of it
    (from ``padding`` on) and fill what lies past the kernels' reach with zeros, then the bias.
    """
    unpadded = geom._replace(ph=0, pw=0)
    full_hw = _conv.transposed_output_size(x.shape[2], x.shape[3], unpadded)
    full = _conv.ConvTranspose2d.apply(x, weight, None, unpadded, groups, full_hw)
    stops = [max(p, min(f, p + n)) for f, p, n in zip(full_hw, padding, out_hw)]
    out = full[:, :, padding[0]:stops[0], padding[1]:stops[1]]
    out = tinydl.pad(out, ((0, 0), (0, 0), (0, out_hw[0] - out.shape[2]),
                           (0, out_hw[1] - out.shape[3])))
    if bias is not None:
        b = bias.reshape((1, out.shape[1], 1, 1))
        out = out + (b if b.dtype == out.dtype else b.astype(out.dtype))
    return out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d with respect to its input).

    input (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw) (torch layout), bias (Cout,);
    output (N, Cout, Ho, Wo) with ``Ho = (H-1)s - 2p + d(kh-1) + output_padding + 1``.
    ``output_padding`` must be smaller than the stride or the dilation (torch's rule); rows
    and columns past the input's reach hold the bias only.
    """
    x = _tensor(input, "conv_transpose2d")
    _conv._check_conv_dtypes(x, weight, "conv_transpose2d")
    _check_ndim(x, (3, 4), "conv_transpose2d", "(N, C, H, W)")
    if weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: weight must have shape (Cin, Cout/groups, kh, kw), "
                         f"got {weight.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    groups = _tuple(groups, 1, "conv_transpose2d", "groups", 1)[0]
    c_in, c_out_per_group, kh, kw = weight.shape
    if c_in == 0:  # (the columns' reshape failed deep inside NumPy)
        raise ValueError(f"conv_transpose2d: weight of shape {weight.shape} has no input "
                         "channels (Cin = 0); torch refuses it too")
    if x.shape[1] != c_in or c_in % groups != 0:
        raise ValueError(f"conv_transpose2d: input of shape {x.shape} with groups={groups} does "
                         f"not fit weight of shape {weight.shape}")
    if bias is not None and bias.shape != (c_out_per_group * groups,):
        raise ValueError(f"conv_transpose2d: bias must have shape ({c_out_per_group * groups},), "
                         f"got {bias.shape}")
    if 0 in x.shape[2:]:  # (H - 1) s + k would make a size of nothing: torch refuses it too
        raise ValueError(f"conv_transpose2d: an input of shape {x.shape} has a zero-length "
                         "spatial axis, from which no output size follows (only an empty "
                         "batch or zero channels are supported, as in torch)")
    stride = _tuple(stride, 2, "conv_transpose2d", "stride", 1)
    padding = _tuple(padding, 2, "conv_transpose2d", "padding", 0)
    output_padding = _tuple(output_padding, 2, "conv_transpose2d", "output_padding", 0)
    dilation = _tuple(dilation, 2, "conv_transpose2d", "dilation", 1)
    geom = _conv.Geometry(kh, kw, *stride, *padding, *dilation)
    out_hw = _transpose_output_size(x.shape[2:], geom, output_padding, "conv_transpose2d")
    if all(op < s for op, s in zip(output_padding, stride)):
        out = _conv.ConvTranspose2d.apply(x, weight, bias, geom, groups, out_hw)
    else:
        out = _conv_transpose2d_wide(x, weight, bias, geom, groups, padding, out_hw)
    return out.reshape(out.shape[1:]) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution: (N, Cin, L), weight (Cin, Cout/groups, k) -> (N, Cout, Lo)."""
    x = _tensor(input, "conv_transpose1d")
    _check_ndim(x, (2, 3), "conv_transpose1d", "(N, C, L)")
    if np.ndim(weight) != 3:
        raise ValueError(f"conv_transpose1d: weight must be (Cin, Cout/groups, k), got shape "
                         f"{np.shape(weight)}")

    def with_unit_height(value, name, minimum, height_value):
        return (height_value, _tuple(value, 1, "conv_transpose1d", name, minimum)[0])

    with as_1d("conv_transpose1d", "conv_transpose2d"):
        out = conv_transpose2d(x.expand_dims(-2), weight.expand_dims(-2), bias,
                               with_unit_height(stride, "stride", 1, 1),
                               with_unit_height(padding, "padding", 0, 0),
                               with_unit_height(output_padding, "output_padding", 0, 0), groups,
                               with_unit_height(dilation, "dilation", 1, 1))
    return out.squeeze(-2)


def _geometry(kernel_size, stride, padding, dilation, caller):
    kernel = _tuple(kernel_size, 2, caller, "kernel_size", 1)
    return _conv.Geometry(*kernel, *_tuple(stride, 2, caller, "stride", 1),
                          *_tuple(padding, 2, caller, "padding", 0),
                          *_tuple(dilation, 2, caller, "dilation", 1))


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unroll every receptive field of ``x`` (N, C, H, W) into a column: (N, C*kh*kw, L).

    The layout of ``torch.nn.functional.unfold`` (row ``c*kh*kw + i*kw + j``, L = Ho*Wo
    output positions, row-major). The course notes call this ``arr2vec``. Differentiable;
    its gradient is ``col2im``.
    """
    x = _tensor(x, "im2col")
    _check_ndim(x, (4,), "im2col", "(N, C, H, W)")
    geom = _geometry(kernel_size, stride, padding, dilation, "im2col")
    out_h, out_w = _conv.output_size(x.shape[2], x.shape[3], geom)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"im2col: kernel {kernel_size} does not fit the input of shape {x.shape}")
    return _conv.Im2col.apply(x, geom)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Fold columns (N, C*kh*kw, L) back to an image (N, C, H, W), summing overlapping entries.

    The layout of ``torch.nn.functional.fold`` and the adjoint of ``im2col`` (the notes'
    ``vec2arr``); ``output_size`` is (H, W).
    """
    cols = _tensor(cols, "col2im", "cols")
    _check_ndim(cols, (3,), "col2im", "(N, C*kh*kw, L)")
    height, width = _tuple(output_size, 2, "col2im", "output_size", 1)
    geom = _geometry(kernel_size, stride, padding, dilation, "col2im")
    out_h, out_w = _conv.output_size(height, width, geom)
    if cols.shape[1] % (geom.kh * geom.kw) != 0 or cols.shape[2] != out_h * out_w:
        raise ValueError(f"col2im: columns of shape {cols.shape} do not fit kernel "
                         f"({geom.kh}, {geom.kw}) and output size ({height}, {width}) (need "
                         f"C*{geom.kh * geom.kw} rows and {out_h * out_w} columns)")
    return _conv.Col2im.apply(cols, (height, width), geom)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.unfold`` (argument order as torch): ``im2col``; an unbatched
    (C, H, W) input gives (C*kh*kw, L), as torch's."""
    x = _tensor(input, "unfold")
    if x.ndim == 3:
        return im2col(x.expand_dims(0), kernel_size, stride, padding, dilation)[0]
    return im2col(x, kernel_size, stride, padding, dilation)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold`` (argument order as torch): ``col2im``; an unbatched
    (C*kh*kw, L) input gives (C, H, W), as torch's."""
    x = _tensor(input, "fold")
    if x.ndim == 2:
        return col2im(x.expand_dims(0), output_size, kernel_size, stride, padding, dilation)[0]
    return col2im(x, output_size, kernel_size, stride, padding, dilation)
