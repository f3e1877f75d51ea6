"""The functional form of every layer and loss (``torch.nn.functional``), plus im2col/col2im.

Arguments, defaults and semantics follow ``torch.nn.functional``. Convolution and pooling
run on the Functions of ``tinydl.ops.conv`` / ``tinydl.ops.pool``; the activations are the
core's ops, re-exported; normalisation layers and most losses are short compositions of
core ops, so they are differentiable to any order. Two hot paths are fused into one
Function each: ``linear`` (GEMM + bias) and the softmax cross-entropy.

Shapes: images are (N, C, H, W); sequences (N, C, L); class scores (N, C) or (N, C, d1, ...).
"""
import math
import numbers

import numpy as np

import tinydl
from tinydl.autograd import Function, is_grad_enabled, no_grad
from tinydl.ops import (elu, gelu as _gelu, leaky_relu, log_softmax as _log_softmax, relu,
                        sigmoid, softmax as _softmax, softplus, tanh)
from tinydl.ops import conv as _conv
from tinydl.ops import pool as _pool
from tinydl.random import get_generator
from tinydl.tensor import Tensor

__all__ = [
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "im2col", "col2im", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d",
    "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "instance_norm",
    "group_norm", "dropout", "embedding", "one_hot", "interpolate", "upsample", "relu",
    "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax",
    "silu", "logsigmoid", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss",
    "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss",
    "kl_div",
]


# ============================================================================ helpers
def _tensor(x, caller, name="input"):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, numbers.Number, list)):
        return Tensor(x) if not isinstance(x, np.ndarray) else Tensor._wrap(x)
    raise TypeError(f"{caller}: {name} must be a Tensor or an array, got {type(x).__name__}")


def _tuple(value, n, caller, name, minimum):
    """An int or a sequence of n ints, as a tuple of n ints, each at least ``minimum``."""
    if isinstance(value, (numbers.Integral,)) and not isinstance(value, bool):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{caller}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{caller}: {name} must be >= {minimum}, got {value!r}")
    return values


def _check_ndim(x, ndims, caller, layout):
    if x.ndim not in ndims:
        raise ValueError(f"{caller}: expected input of shape {layout}, got shape {x.shape}")


# ============================================================================ linear
class _Linear(Function):
    """``y = x @ W^T + b``: x (..., in), W (out, in), b (out,) or None -> (..., out)."""

    @staticmethod
    def forward(ctx, x, w, b):
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.inputs
        need_x, need_w, need_b = ctx.needs_input_grad
        # The rows of the flattened batch, spelled out: a -1 cannot be inferred when in or out
        # features is 0 (in_features=0 is legal, as in torch).
        rows = math.prod(x.shape[:-1])
        if not is_grad_enabled():
            # First-order backward (no create_graph): plain NumPy, no graph bookkeeping.
            gd = g.data.reshape(rows, w.shape[0])
            gx = (g.data @ w.data) if need_x else None
            gw = (gd.T @ x.data.reshape(rows, w.shape[1])) if need_w else None
            gb = gd.sum(axis=0) if need_b else None
            return gx, gw, gb
        g2 = g.reshape((rows, w.shape[0]))
        gx = g @ w if need_x else None
        gw = g2.swapaxes(0, 1) @ x.reshape((rows, w.shape[1])) if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gw, gb


def _check_float_dtypes(x, weight, caller):
    """Refuse floating inputs whose dtype differs from the weight's (torch refuses them too).

    NumPy would silently promote float32 weights and a float64 input to a float64 result;
    integer inputs are left to NumPy's promotion here (the layers refuse those as well).
    """
    if x.dtype != weight.dtype and x.dtype.kind == "f" and weight.dtype.kind == "f":
        raise TypeError(f"{caller}: input of dtype {x.dtype} and weight of dtype {weight.dtype} "
                        f"differ; cast one of them (e.g. .astype({weight.dtype}))")


def linear(input, weight, bias=None):
    """Affine map ``input @ weight.T + bias``: (..., in) x (out, in) -> (..., out).

    Input and weight must share their floating dtype (no silent promotion to float64).
    """
    x = _tensor(input, "linear")
    _check_float_dtypes(x, weight, "linear")
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (expected (..., {weight.shape[-1]}))")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"linear: bias of shape {bias.shape} does not match {weight.shape[0]} "
                         "output features")
    return _Linear.apply(x, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T A_k x2 + b_k``: (N, in1), (N, in2), A (out, in1, in2) -> (N, out)."""
    x1, x2 = _tensor(input1, "bilinear"), _tensor(input2, "bilinear")
    n_out, n_in1, n_in2 = weight.shape
    mixed = x1 @ tinydl.transpose(weight, (1, 0, 2)).reshape((n_in1, n_out * n_in2))
    out = (mixed.reshape((x1.shape[0], n_out, n_in2)) * x2.expand_dims(1)).sum(axis=2)
    return out + bias if bias is not None else out


# ============================================================================ convolution
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


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation ``out[n,f] = b[f] + sum_c w[f,c] (*) x[n, g(f)*C/groups + c]``.

    input (N, C, H, W) (or unbatched (C, H, W)), weight (F, C/groups, kh, kw), bias (F,);
    output (N, F, Ho, Wo) with ``Ho = floor((H + 2p - d(kh-1) - 1)/s) + 1``. ``padding`` may
    be an int, a pair, 'valid' or 'same' (stride 1). Computed as im2col + one GEMM
    (``tinydl.ops.conv``). Input and weight must share their floating dtype.
    """
    x = _tensor(input, "conv2d")
    _check_float_dtypes(x, weight, "conv2d")
    _check_ndim(x, (3, 4), "conv2d", "(N, C, H, W)")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (F, C/groups, kh, kw), got "
                         f"{weight.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    groups = _tuple(groups, 1, "conv2d", "groups", 1)[0]
    f, c_per_group, kh, kw = weight.shape
    if x.shape[1] != c_per_group * groups or f % groups != 0:
        raise ValueError(f"conv2d: input of shape {x.shape} with groups={groups} does not fit "
                         f"weight of shape {weight.shape} (need C = {c_per_group}*groups and "
                         "F divisible by groups)")
    if bias is not None and bias.shape != (f,):
        raise ValueError(f"conv2d: bias must have shape ({f},), got {bias.shape}")
    stride = _tuple(stride, 2, "conv2d", "stride", 1)
    dilation = _tuple(dilation, 2, "conv2d", "dilation", 1)
    pad, extra = _conv_padding(padding, (kh, kw), dilation, stride, "conv2d")
    if extra is not None:
        x = tinydl.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    geom = _conv.Geometry(kh, kw, *stride, *pad, *dilation)
    out_h, out_w = _conv.output_size(x.shape[2], x.shape[3], geom)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"conv2d: kernel ({kh}, {kw}) with dilation {dilation} does not fit the "
                         f"input of shape {x.shape} padded by {pad}")
    out = _conv.Conv2d.apply(x, weight, bias, geom, groups)
    return out.reshape(out.shape[1:]) if unbatched else out


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
    out = conv2d(x4, weight.expand_dims(-2), bias, (1, stride), padding, (1, dilation), groups)
    return out.squeeze(-2)


def _check_output_padding(output_padding, stride, dilation, caller):
    """torch's rule: each output_padding must be smaller than the stride or the dilation."""
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{caller}: output_padding {tuple(output_padding)} must be smaller "
                             f"than either the stride {tuple(stride)} or the dilation "
                             f"{tuple(dilation)}")


def _transpose_output_size(in_size, kernel, stride, padding, output_padding, dilation, caller):
    """``(i-1)s - 2p + d(k-1) + output_padding + 1`` per axis, checked to be positive."""
    _check_output_padding(output_padding, stride, dilation, caller)
    sizes = tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, p, op, d in
                  zip(in_size, kernel, stride, padding, output_padding, dilation))
    if any(n < 1 for n in sizes):
        raise ValueError(f"{caller}: the output size {sizes} is not positive (input size "
                         f"{tuple(in_size)}, kernel {tuple(kernel)}, stride {tuple(stride)}, "
                         f"padding {tuple(padding)}, dilation {tuple(dilation)})")
    return sizes


def _conv_transpose2d_wide(x, weight, bias, geom, groups, padding, out_hw):
    """conv_transpose2d when some output_padding >= stride (a larger dilation allows it).

    Then conv2d of the output no longer gives back x's size, which ``ConvTranspose2d``
    relies on, so compute the uncropped output (no padding), cut torch's window out of it
    (from ``padding`` on) and fill what lies past the kernels' reach with zeros, then the bias.
    """
    kh, kw = weight.shape[2:]
    full_hw = tuple((i - 1) * s + d * (k - 1) + 1 for i, k, s, d in
                    zip(x.shape[2:], (kh, kw), (geom.sh, geom.sw), (geom.dh, geom.dw)))
    unpadded = geom._replace(ph=0, pw=0)
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
    _check_float_dtypes(x, weight, "conv_transpose2d")
    _check_ndim(x, (3, 4), "conv_transpose2d", "(N, C, H, W)")
    if weight.ndim != 4:
        raise ValueError(f"conv_transpose2d: weight must have shape (Cin, Cout/groups, kh, kw), "
                         f"got {weight.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.reshape((1,) + x.shape)
    groups = _tuple(groups, 1, "conv_transpose2d", "groups", 1)[0]
    c_in, c_out_per_group, kh, kw = weight.shape
    if x.shape[1] != c_in or c_in % groups != 0:
        raise ValueError(f"conv_transpose2d: input of shape {x.shape} with groups={groups} does "
                         f"not fit weight of shape {weight.shape}")
    if bias is not None and bias.shape != (c_out_per_group * groups,):
        raise ValueError(f"conv_transpose2d: bias must have shape ({c_out_per_group * groups},), "
                         f"got {bias.shape}")
    stride = _tuple(stride, 2, "conv_transpose2d", "stride", 1)
    padding = _tuple(padding, 2, "conv_transpose2d", "padding", 0)
    output_padding = _tuple(output_padding, 2, "conv_transpose2d", "output_padding", 0)
    dilation = _tuple(dilation, 2, "conv_transpose2d", "dilation", 1)
    out_hw = _transpose_output_size(x.shape[2:], (kh, kw), stride, padding, output_padding,
                                    dilation, "conv_transpose2d")
    geom = _conv.Geometry(kh, kw, *stride, *padding, *dilation)
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
    def with_unit_height(value, name, minimum, height_value):
        return (height_value, _tuple(value, 1, "conv_transpose1d", name, minimum)[0])

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
    """``torch.nn.functional.unfold`` (argument order as torch): ``im2col``."""
    return im2col(input, kernel_size, stride, padding, dilation)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold`` (argument order as torch): ``col2im``."""
    return col2im(input, output_size, kernel_size, stride, padding, dilation)


# ============================================================================ pooling
def _pool_size(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_setup(x, kernel_size, stride, padding, dilation, ceil_mode, caller):
    _check_ndim(x, (3, 4), caller, "(N, C, H, W)")
    kernel = _tuple(kernel_size, 2, caller, "kernel_size", 1)
    stride = kernel if stride is None or stride == () else _tuple(stride, 2, caller, "stride", 1)
    padding = _tuple(padding, 2, caller, "padding", 0)
    dilation = _tuple(dilation, 2, caller, "dilation", 1)
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{caller}: padding {padding} must be at most half the kernel size "
                             f"{kernel}")
    geom = _conv.Geometry(*kernel, *stride, *padding, *dilation)
    out_hw = tuple(_pool_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                   zip(x.shape[-2:], kernel, stride, padding, dilation))
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


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix of torch's adaptive bins [floor(o*n/m), ceil((o+1)*n/m))."""
    o = np.arange(out)
    start = (o * size) // out
    end = -((-(o + 1) * size) // out)
    idx = np.arange(size)
    inside = (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    """Average over torch's adaptive bins so the output is ``output_size`` (Ho, Wo).

    Bin o of an axis of length n covers [floor(o n / Ho), ceil((o+1) n / Ho)). Bins are
    rectangles, so the pooling is separable: ``A_h @ x @ A_w^T``. ``None`` keeps a size.
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
    rows = Tensor._wrap(_adaptive_matrix(height, out_h, x.dtype))
    cols = Tensor._wrap(_adaptive_matrix(width, out_w, x.dtype).T.copy())
    return rows @ x @ cols


# ============================================================================ normalisation
def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _affine(out, weight, bias, shape):
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` with the biased variance; also (mean, var)."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred * (var + eps) ** -0.5, mean, var


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation (Ioffe & Szegedy 2015) over every axis but the channel axis 1.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training the batch statistics
    are used (biased variance) and the running ones updated in place:
    ``r = (1 - momentum) r + momentum * stat`` with the *unbiased* variance, as torch.
    Otherwise the running statistics are used. input (N, C) or (N, C, *).
    """
    x = _tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    shape = _channel_shape(x)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        count = x.size // x.shape[1]
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        out, mean, var = _normalize(x, axes, eps)
        if running_mean is not None and running_var is not None:
            with no_grad():
                m = momentum
                running_mean.data[...] = ((1 - m) * running_mean.data
                                          + m * mean.data.reshape(-1))
                running_var.data[...] = ((1 - m) * running_var.data
                                         + m * var.data.reshape(-1) * (count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        mean = Tensor._wrap(running_mean.data.reshape(shape).astype(x.dtype, copy=False))
        inv = Tensor._wrap((1.0 / np.sqrt(running_var.data.reshape(shape) + eps))
                           .astype(x.dtype, copy=False))
        out = (x - mean) * inv
    return _affine(out, weight, bias, shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation (Ba et al. 2016) over the trailing ``normalized_shape`` axes."""
    x = _tensor(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    n = len(normalized_shape)
    if x.shape[x.ndim - n:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape "
                         f"{normalized_shape}")
    out, _, _ = _normalize(x, tuple(range(x.ndim - n, x.ndim)), eps)
    return _affine(out, weight, bias, normalized_shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): per sample and channel, over spatial axes.

    Biased variance, eps inside the square root. With running buffers and
    ``use_input_stats`` they are updated with the batch average of the instance statistics.
    """
    x = _tensor(input, "instance_norm")
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, *spatial), got {x.shape}")
    shape = _channel_shape(x)
    axes = tuple(range(2, x.ndim))
    if use_input_stats:
        count = int(np.prod(x.shape[2:]))
        out, mean, var = _normalize(x, axes, eps)
        if running_mean is not None and running_var is not None:
            m = momentum
            unbiased = var.data * (count / max(count - 1, 1))
            batch_mean = mean.data.mean(axis=0).ravel()
            running_mean.data[...] = (1 - m) * running_mean.data + m * batch_mean
            running_var.data[...] = (1 - m) * running_var.data + m * unbiased.mean(axis=0).ravel()
    else:
        mean = Tensor._wrap(running_mean.data.reshape(shape).astype(x.dtype, copy=False))
        inv = Tensor._wrap((1.0 / np.sqrt(running_var.data.reshape(shape) + eps))
                           .astype(x.dtype, copy=False))
        out = (x - mean) * inv
    return _affine(out, weight, bias, shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He 2018): statistics per sample over each group of channels."""
    x = _tensor(input, "group_norm")
    if x.ndim < 2 or x.shape[1] % num_groups != 0:
        raise ValueError(f"group_norm: {num_groups} groups do not divide the channels of input "
                         f"shape {x.shape}")
    # The group length spelled out: with an empty batch a -1 could be any length.
    group_size = x.shape[1] // num_groups * math.prod(x.shape[2:])
    grouped = x.reshape((x.shape[0], num_groups, group_size))
    out, _, _ = _normalize(grouped, (2,), eps)
    return _affine(out.reshape(x.shape), weight, bias, _channel_shape(x))


# ============================================================================ dropout and friends
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


def _index_array(idx, caller):
    data = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{caller}: indices must be integers, got dtype {data.dtype}")
    return data


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


# ============================================================================ activations
def softmax(input, axis=-1, dim=None):
    """exp(x_i) / sum_j exp(x_j) along ``axis`` (``dim`` is accepted as torch's name)."""
    return _softmax(_tensor(input, "softmax"), axis if dim is None else dim)


def log_softmax(input, axis=-1, dim=None):
    """x_i - logsumexp(x) along ``axis`` (``dim`` is accepted as torch's name)."""
    return _log_softmax(_tensor(input, "log_softmax"), axis if dim is None else dim)


def gelu(input, approximate="none"):
    """x Phi(x) (exact, erf form).

    ``approximate='tanh'``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    x = _tensor(input, "gelu")
    if approximate == "none":
        return _gelu(x)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input):
    """x * sigmoid(x) (a.k.a. swish)."""
    x = _tensor(input, "silu")
    return x * sigmoid(x)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -softplus(-_tensor(input, "logsigmoid"), threshold=math.inf)


# ============================================================================ losses
def _reduce(loss, reduction, caller):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{caller}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _pair_of(input, target, caller):
    x = _tensor(input, caller)
    t = _tensor(target, caller, "target")
    if x.shape != t.shape:
        raise ValueError(f"{caller}: input of shape {x.shape} and target of shape {t.shape} "
                         "differ")
    return x, t


def mse_loss(input, target, reduction="mean"):
    """Mean squared error ``(x - y)^2``, reduced."""
    x, t = _pair_of(input, target, "mse_loss")
    diff = x - t
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error ``|x - y|``, reduced."""
    x, t = _pair_of(input, target, "l1_loss")
    return _reduce((x - t).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1 (Girshick 2015): ``0.5 d^2 / beta`` if |d| < beta else ``|d| - beta/2``.

    ``beta = 0`` is exactly the L1 loss; ``beta < 0`` raises.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, t = _pair_of(input, target, "smooth_l1_loss")
    diff = x - t
    if beta == 0:
        return _reduce(diff.abs(), reduction, "smooth_l1_loss")
    small = Tensor._wrap(np.abs(diff.data) < beta)
    loss = tinydl.where(small, diff * diff * (0.5 / beta), diff.abs() - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: ``0.5 d^2`` if |d| < delta else ``delta (|d| - delta/2)`` (delta * smooth L1)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return smooth_l1_loss(input, target, reduction, beta=delta) * delta


def _check_scores(x, caller):
    """Class scores must be floating point (torch has no log-softmax of integers), not a scalar."""
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: input must hold floating-point class scores, got dtype "
                        f"{x.dtype} (shape {x.shape}); call .float() on it")
    if x.ndim == 0:
        raise ValueError(f"{caller}: input must have a class axis, got a scalar")


def _class_targets(x, target, caller):
    """Check integer class targets against scores x (N, C, *) or (C,); returns the array."""
    t = _index_array(target, caller)
    expected = _class_target_shape(x)
    if t.shape != expected:
        raise ValueError(f"{caller}: target of shape {t.shape} does not fit input of shape "
                         f"{x.shape} (expected {expected})")
    return t


def _class_target_shape(x):
    return x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()


def _target_weights(x, t, weight, ignore_index, caller):
    """Per-target class weights (0 where ignored) and the one-hot matrix Q, both shaped like x."""
    n_classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    if np.any((safe < 0) | (safe >= n_classes)):
        bad = t[valid & ((t < 0) | (t >= n_classes))]
        raise ValueError(f"{caller}: target {int(bad[0])} is out of bounds for {n_classes} classes")
    class_axis = 1 if x.ndim >= 2 else 0
    shape = [1] * x.ndim
    shape[class_axis] = n_classes
    classes = np.arange(n_classes).reshape(shape)
    onehot = np.expand_dims(safe, class_axis) == classes
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"{caller}: weight must have shape ({n_classes},), got {w.shape}")
    target_w = w[safe] * valid
    return onehot, target_w, w.reshape(shape), valid, class_axis


def _divide_where(q, denom, reached):
    """``q / denom`` at the entries some kept target reaches, 0 elsewhere.

    The mask is what keeps ignored targets out of the gradient: with every target ignored
    (or an empty batch) ``denom`` is 0 and an unmasked ``0 / 0`` would put NaN into every
    gradient entry, poisoning every parameter; torch gives those entries zero.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(q, denom, out=np.zeros(np.shape(q)), where=reached)


def _mean_of_nothing(loss):
    """The 'mean' over no target at all (all ignored, or N = 0) is 0/0: NaN, as in torch.

    Adding NaN makes the value NaN but passes the gradient through unchanged, so the
    (already zero) gradient stays zero instead of becoming NaN.
    """
    return loss + math.nan


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood ``-w[y] * logp[y]`` of class indices, from log-probabilities.

    input (N, C) or (N, C, d1, ...) or (C,) (floating point); target (N,) / (N, d1, ...) /
    () integers; entries equal to ``ignore_index`` count nowhere. 'mean' divides by the sum
    of the kept targets' weights; with no kept target it is NaN (gradient zero), as torch.
    """
    x = _tensor(input, "nll_loss")
    _check_scores(x, "nll_loss")
    t = _class_targets(x, target, "nll_loss")
    onehot, target_w, _, valid, class_axis = _target_weights(x, t, weight, ignore_index,
                                                             "nll_loss")
    q = onehot * np.expand_dims(target_w, class_axis)
    if reduction == "mean":
        q = _divide_where(q, target_w.sum(), onehot & np.expand_dims(valid, class_axis))
        loss = -(x * Tensor._wrap(q.astype(x.dtype))).sum()
        return loss if valid.any() else _mean_of_nothing(loss)
    losses = -(x * Tensor._wrap(q.astype(x.dtype))).sum(axis=class_axis)
    return _reduce(losses, reduction, "nll_loss")


class _SoftmaxCrossEntropy(Function):
    """``L = -sum_c Q_c log softmax(x)_c`` along ``axis`` for a target matrix Q.

    Summed to a scalar when ``total``; else one loss per row. The gradients are
    ``dL/dx = softmax(x) * sum_c Q_c - Q`` (one pass, no log of a softmax, finite for logits
    of any size) and ``dL/dQ = -log softmax(x)`` (for probability targets that require
    grad), each times the output gradient.
    """

    @staticmethod
    def forward(ctx, x, q, axis, total):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        logp = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.axis, ctx.total = axis, total
        losses = -np.sum(q * logp, axis=axis)
        return np.asarray(losses.sum(), dtype=x.dtype) if total else losses

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.inputs[:2]
        need_x, need_q = ctx.needs_input_grad[:2]
        axis = ctx.axis
        g = g if ctx.total else g.expand_dims(axis)
        if not is_grad_enabled():
            # First-order backward: plain NumPy (the Tensor form below is for create_graph).
            q = q.data if isinstance(q, Tensor) else q
            shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
            e = np.exp(shifted)
            z = e.sum(axis=axis, keepdims=True)
            gx = (e / z * q.sum(axis=axis, keepdims=True) - q) * g.data if need_x else None
            gq = (np.log(z) - shifted) * g.data if need_q else None
            return gx, gq, None, None
        q = q if isinstance(q, Tensor) else Tensor._wrap(q)
        gx = (_softmax(x, axis) * q.sum(axis=axis, keepdims=True) - q) * g if need_x else None
        gq = -_log_softmax(x, axis) * g if need_q else None
        return gx, gq, None, None


def cross_entropy(input, target, reduction="mean", label_smoothing=0.0, ignore_index=-100,
                  weight=None):
    """Softmax cross-entropy of logits ``input`` with class-index (or probability) targets.

    Class indices (integers): ``loss = (1-eps) * nll(log_softmax(x), y) + eps/C * sum_c -w_c
    logp_c`` with ``eps = label_smoothing``, ``ignore_index`` entries skipped and 'mean'
    dividing by the summed target weights, exactly torch's formula (NaN, with a zero
    gradient, when no target is kept). Probability targets (floating, same shape as input):
    ``-sum_c w_c ((1-eps) p_c + eps/C) logp_c``, 'mean' over samples; such a target that
    requires grad gets ``dL/dp_c = -(1-eps) w_c logp_c`` (times the reduction's scale).
    input (N, C) or (N, C, d1, ...) or (C,), floating point. Stable for logits of any magnitude.
    """
    x = _tensor(input, "cross_entropy")
    _check_scores(x, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    class_axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[class_axis]
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_data.dtype.kind == "f":
        if target_data.shape != x.shape:
            raise ValueError(f"cross_entropy: target of dtype {target_data.dtype} and shape "
                             f"{target_data.shape} does not fit input of shape {x.shape}: "
                             f"class-index targets must be integers (of shape "
                             f"{_class_target_shape(x)}), probability targets must have the "
                             "input's shape")
        shape = [1] * x.ndim
        shape[class_axis] = n_classes
        w = np.ones(shape) if weight is None else np.asarray(weight, np.float64).reshape(shape)
        count = math.prod(_class_target_shape(x))
        scale = 1.0 / count if reduction == "mean" and count else 1.0
        coef = w * ((1 - label_smoothing) * scale)
        offset = w * (label_smoothing / n_classes * scale)
        if isinstance(target, Tensor) and target.requires_grad and is_grad_enabled():
            # Soft targets that want their gradient (a teacher's output, say) enter the
            # graph: Q is built with tinydl ops and the fused op hands back dL/dQ.
            q = target * Tensor._wrap(coef.astype(target.dtype)) + Tensor._wrap(
                offset.astype(target.dtype))
            q = q if q.dtype == x.dtype else q.astype(x.dtype)
        else:
            q = (coef * target_data + offset).astype(x.dtype)
        defined = count > 0 or reduction != "mean"
    else:
        t = _class_targets(x, target_data, "cross_entropy")
        onehot, target_w, w, valid, _ = _target_weights(x, t, weight, ignore_index,
                                                        "cross_entropy")
        kept = np.expand_dims(valid, class_axis)
        q = ((1 - label_smoothing) * onehot * np.expand_dims(target_w, class_axis)
             + (label_smoothing / n_classes) * w * kept)
        if reduction == "mean":
            q = _divide_where(q, target_w.sum(), kept)
        q = q.astype(x.dtype)
        defined = valid.any() or reduction != "mean"
    loss = _SoftmaxCrossEntropy.apply(x, q, class_axis, reduction != "none")
    return loss if defined else _mean_of_nothing(loss)


class _BinaryCrossEntropy(Function):
    """``-(y log p + (1 - y) log(1 - p))`` with both logs clamped at -100 (torch's rule).

    The gradient is torch's: ``(p - y) / max(p (1 - p), 1e-12)`` for p and
    ``log(1 - p) - log(p)`` (clamped logs) for y, finite even where p is exactly 0 or 1.
    """

    @staticmethod
    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        return -(y * log_p + (1 - y) * log_q)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.inputs
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            gp = g * (p - y) / tinydl.clip(p * (1.0 - p), 1e-12, None)
        if need_y:
            with np.errstate(divide="ignore"):
                gy = g * tinydl.clip((1.0 - p).log(), -100.0, None) - g * tinydl.clip(
                    p.log(), -100.0, None)
        return gp, gy


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities p in [0, 1]; logs clamped at -100.

    The clamp (torch's) keeps the loss and its gradient finite when p is exactly 0 or 1.
    """
    p, t = _pair_of(input, target, "binary_cross_entropy")
    if p.size and (np.min(p.data) < 0 or np.max(p.data) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")
    loss = _BinaryCrossEntropy.apply(p, t.astype(p.dtype) if t.dtype != p.dtype else t)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula, from logits x.

    ``loss = (1 - y) x + (1 + (pos_weight - 1) y) * softplus(-x)``, softplus evaluated as
    ``max(z, 0) + log1p(exp(-|z|))`` so logits of +-1e4 give finite losses and gradients.
    """
    x, t = _pair_of(input, target, "binary_cross_entropy_with_logits")
    soft = softplus(-x, threshold=math.inf)
    if pos_weight is not None:
        soft = soft * (1.0 + (pos_weight - 1.0) * t)
    loss = (1.0 - t) * x + soft
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def hinge_loss(input, target, reduction="mean", margin=1.0):
    """SVM hinge loss ``max(0, margin - y f)`` for labels y in {-1, +1} and scores f."""
    f, y = _pair_of(input, target, "hinge_loss")
    if not np.all(np.isin(y.data, (-1, 1))):
        raise ValueError("hinge_loss: target labels must be -1 or +1")
    return _reduce(relu(margin - y * f), reduction, "hinge_loss")


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence with torch's convention: ``input`` holds log-probabilities log q.

    Pointwise ``y (log y - log q)`` (0 where y = 0) or, with ``log_target``,
    ``exp(y) (y - log q)``. 'batchmean' divides the sum by the batch size (the true KL);
    'mean' averages over every element, as torch.
    """
    x, t = _pair_of(input, target, "kl_div")
    if log_target:
        loss = t.exp() * (t - x)
    else:
        positive = Tensor._wrap(t.data > 0)
        safe = tinydl.where(positive, t, 1.0)
        loss = t * safe.log() - t * x
    if reduction == "batchmean":
        batch = x.shape[0] if x.ndim else 1
        # An empty batch gives 0/0 = NaN, as torch (and not a ZeroDivisionError).
        return loss.sum() * (1.0 / batch if batch else math.nan)
    return _reduce(loss, reduction, "kl_div")
