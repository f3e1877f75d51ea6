"""Functional normalisation: batch, layer, instance and group norm (and RMS norm and local
response norm, compositions of core ops).

All four share one op, ``Normalize``: x less its mean, over its standard deviation, over some
axes; batch norm's scale and shift are part of it (one weight and bias per statistic), the
others scale and shift with core ops. Written with core ops the same formula records seven
nodes, each with its own pass over the data and its own broadcast-and-sum gradient.
BatchNorm2d forward and backward, float32, one thread, alternating rounds: (64, 16, 8, 8)
1204 -> 495 us, (64, 32, 4, 4) 1158 -> 445 us, (32, 64, 16, 16) 4360 -> 2115 us (torch 534,
372 and 3076 us); the quickstart CNN's epoch 98 -> 64 ms. The backward is NumPy on arrays,
and the same formulas in tinydl ops under ``create_graph``, so every normalisation is still
differentiable to any order. The running statistics are updated in place outside the graph,
as torch does.
"""
import math
import numbers

import numpy as np

from tinydl.autograd import Function, is_grad_enabled, no_grad
from tinydl.ops._checks import _tensor
from tinydl.ops._util import DtypeError, ShapeError, floating, sum_arrays
from tinydl.ops.elementwise import where
from tinydl.ops.linalg import AlongAxis
from tinydl.tensor import Tensor


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_affine(weight, bias, shape, op):
    size = math.prod(shape)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.size != size:  # (reshape's own error named reshape)
            raise ShapeError(f"{op}: {name} of shape {value.shape} does not "
                             f"fit the {size} values per sample it scales (shape {shape})")


def _affine(out, weight, bias, shape, op):
    _check_affine(weight, bias, shape, op)
    dtype = out.dtype
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    if dtype == np.float16 and out.dtype != dtype:
        # torch's one mixed case: float16 input, float32 parameters, a float16 output (the
        # affine step in float32, rounded once)
        out = out.astype(np.float16)
    return out


def _sum(a, axes, count=1):
    """The sum over ``axes`` (kept) divided by ``count`` (the mean of ``count`` values each;
    0 where there are none, the output then being empty too), in a's dtype. float16 is summed
    and divided in float32 (as the Mean op does), where a float16 running sum would overflow
    to inf."""
    total = sum_arrays(a, axes, keepdims=True,
                       dtype=np.float32 if a.dtype == np.float16 else None)
    if count != 1:
        total = total / max(count, 1)
    return total.astype(a.dtype, copy=False)


def _mean_rounded_once(x, axes, count):
    """The mean over ``axes`` (kept) of a float32 x summed in float64 and rounded once: a
    float32 running sum can leave the mean of a constant row 1 ulp off the constant, and
    then every x - mean is that ulp, var = ulp^2, and the row normalises to
    ulp / sqrt(ulp^2 + eps) (0.295 for a row of 10000.3 where torch gives 0). float64 x:
    its own dtype (``_sum``)."""
    if x.dtype != np.float32:
        return _sum(x, axes, count)
    total = sum_arrays(x, axes, keepdims=True, dtype=np.float64)
    return (total / max(count, 1)).astype(np.float32)


def _input_grad(g, xhat, mean_g, mean_gx, scale):
    """``dx = scale * (g - mean_g - xhat * mean_gx)`` on arrays: the normalisation's input
    gradient, given the means of g and of g * xhat over the statistic's values (the mean's
    and the variance's own dependence on x) and ``scale`` (inv, times the weight)."""
    dx = g - mean_g
    dx -= xhat * mean_gx
    dx *= scale
    return dx


class Normalize(Function):
    """``y = (x - mean) * (var + eps) ** -0.5 * weight + bias``, the mean and the biased
    variance taken over ``axes`` of x (kept as axes of length 1: the statistics' shape).
    ``weight`` and ``bias`` (either may be None) hold one value per statistic (batch norm:
    one per channel), in any shape of that size. The forward also writes the statistics, as
    arrays, into the dict ``stats`` (``'mean'``, ``'var'``) for the running ones.

    ``eps == 0`` with a statistic of variance 0 (a constant instance) gives ``inv = 0`` (an
    output of 0 and no gradient), as torch's batch-norm kernel, which instance norm runs on,
    gives: (var + eps) ** -0.5 would be inf and the output NaN.

    Gradient, with ``xhat`` the normalised x, ``m(.)`` the mean over ``axes`` and
    ``inv = (var + eps) ** -0.5``: ``dx = inv * weight * (g - m(g) - xhat * m(g * xhat))``
    (the mean's and the variance's own dependence on x are the two terms subtracted),
    ``dweight = sum(g * xhat)``, ``dbias = sum(g)``: the two sums serve all three.
    """

    retain_inputs = (0, 1)  # x: read only by the create_graph backward; weight: dx's scale
    retain_output = False  # (an in-place op on the output, such as ReLU(inplace=True), is fine)

    @staticmethod
    def forward(ctx, x, weight, bias, axes, eps, stats):
        dtype = x.dtype
        if dtype == np.float16:  # computed in float32, as torch's: a float16 (x - mean)^2
            x = x.astype(np.float32)  # past 256 overflowed, the variance became inf, y 0
        count = math.prod([x.shape[a] for a in axes])
        mean = _mean_rounded_once(x, axes, count)
        xhat = x - mean
        var = _sum(xhat * xhat, axes, count)
        inv = _inverse_std(var, eps)
        xhat *= inv
        ctx.axes, ctx.count, ctx.eps, ctx.inv, ctx.xhat = axes, count, eps, inv, xhat
        stats["mean"], stats["var"] = mean, var
        out = xhat * weight.reshape(inv.shape) if weight is not None else xhat.copy()
        if bias is not None:
            shift = bias.reshape(inv.shape)
            # in place unless the bias's dtype is wider (float32 x, float64 bias: float64)
            out = np.add(out, shift, out=out if np.result_type(out, shift) == out.dtype else None)
        return out.astype(np.float16) if dtype == np.float16 else out

    @staticmethod
    def backward(ctx, g):
        x, weight, bias = ctx.inputs[:3]
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        axes, count = ctx.axes, ctx.count
        if not is_grad_enabled():  # first order: on arrays
            g, xhat = g.data, ctx.xhat
            g_sum = _sum(g, axes)
            gx_sum = _sum(g * xhat, axes)
            dx = None
            if need_x:
                scale = ctx.inv
                if weight is not None:
                    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
                    scale = scale * w.reshape(g_sum.shape)
                dx = _input_grad(g, xhat, g_sum / max(count, 1), gx_sum / max(count, 1), scale)
            return (dx, gx_sum.reshape(weight.shape) if need_weight else None,
                    g_sum.reshape(bias.shape) if need_bias else None, None, None, None)
        # create_graph: the same formulas in tinydl ops, with xhat and inv recomputed from x
        # so that they carry their dependence on x into the next derivative.
        centred = x - x.mean(axis=axes, keepdims=True)
        var = (centred * centred).mean(axis=axes, keepdims=True)
        if ctx.eps == 0:  # inv = 0 where var = 0 (see above), with no inf in either branch
            flat = var.data == 0
            inv = where(flat, 0.0, where(flat, 1.0, var) ** -0.5)
        else:
            inv = (var + ctx.eps) ** -0.5
        xhat = centred * inv
        dx = None
        if need_x:
            gw = g if weight is None else g * weight.reshape(inv.shape)
            dx = inv * (gw - gw.mean(axis=axes, keepdims=True)
                        - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
        dweight = ((g * xhat).sum(axis=axes, keepdims=True).reshape(weight.shape)
                   if need_weight else None)
        dbias = g.sum(axis=axes, keepdims=True).reshape(bias.shape) if need_bias else None
        return dx, dweight, dbias, None, None, None


def _inverse_std(var, eps):
    """``(var + eps) ** -0.5`` on arrays, 0 where var and eps are both 0 (``Normalize``)."""
    if eps != 0:
        return (var + eps) ** -0.5
    flat = var == 0
    return np.where(flat, 0, np.where(flat, 1, var) ** -0.5).astype(var.dtype, copy=False)


def _normalize(x, axes, eps, weight=None, bias=None):
    """(x - mean) / sqrt(var + eps) over ``axes`` with the biased variance, times ``weight``
    plus ``bias`` (one value per statistic, or None): ``Normalize``. Also the batch's
    (mean, var) as arrays."""
    stats = {}
    out = Normalize.apply(x, weight, bias, axes, eps, stats)
    return out, stats["mean"], stats["var"]


def _check_running(x, running_mean, running_var, op):
    """Running statistics given must be floating-point Tensors (they are written in place)
    holding one value per channel (C = x.shape[1]); both or neither (one alone would silently
    not be updated in training)."""
    if (running_mean is None) != (running_var is None):
        given = "running_var" if running_mean is None else "running_mean"
        raise ValueError(f"{op}: running_mean and running_var must either both be None or "
                         f"neither be None (got only {given})")
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is None:
            continue
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None (it is updated in place), "
                            f"got {type(value).__name__}; tinydl.from_numpy(array) wraps a "
                            "NumPy array without copying it")
        if value.dtype.kind != "f":  # the in-place update would truncate (torch refuses too)
            raise DtypeError(f"{op}: {name} must be floating point, got dtype {value.dtype}: "
                             "the running statistics written into it would be truncated")
        if value.shape != (x.shape[1],):  # a (C, 1) passed the size check, then failed deep
            # in NumPy in training and was read silently in evaluation (torch refuses it)
            raise ShapeError(f"{op}: {name} should have shape ({x.shape[1]},) (one value per "
                             f"channel of the input of shape {x.shape}), got shape {value.shape}")


def _normalize_running(x, running_mean, running_var, shape, eps):
    """(x - r_mean) / sqrt(r_var + eps) with running statistics (constants), shaped ``shape``."""
    mean = Tensor._wrap(running_mean.data.reshape(shape).astype(x.dtype, copy=False))
    inv = Tensor._wrap((1.0 / np.sqrt(running_var.data.reshape(shape) + eps))
                       .astype(x.dtype, copy=False))
    return (x - mean) * inv


def _floating_input(input, op):
    """``input`` as a Tensor that must be floating point, as torch's normalisations take it
    (integers reached NumPy's in-place arithmetic and raised its UFuncTypeError)."""
    x = _tensor(input, op)
    if x.dtype.kind != "f":
        raise DtypeError(f"{op}: input of dtype {x.dtype} (shape {x.shape}) must be floating "
                         "point; call .float() on the input")
    return x


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation (Ioffe & Szegedy 2015) over every axis but the channel axis 1.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training the batch statistics
    are used (biased variance) and the running ones updated in place:
    ``r = (1 - momentum) r + momentum * stat`` with the *unbiased* variance, as torch.
    Otherwise the running statistics are used. input (N, C) or (N, C, *).
    """
    x = _floating_input(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    shape = _channel_shape(x)
    axes = (0,) + tuple(range(2, x.ndim))
    _check_running(x, running_mean, running_var, "batch_norm")
    if training:
        count = math.prod([x.shape[a] for a in axes])
        if count <= 1 and x.size:  # an empty batch gives an empty output, as torch's
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        if not eps > 0:  # a constant channel would divide 0 by 0
            raise ValueError(f"batch_norm: eps must be positive during training, got {eps}")
        _check_affine(weight, bias, shape, "batch_norm")
        out, mean, var = _normalize(x, axes, eps, weight, bias)
        if running_mean is not None and running_var is not None and x.size:
            with no_grad():  # (no statistics in an empty batch: the buffers stay, as torch's)
                m = momentum
                running_mean.data[...] = ((1 - m) * running_mean.data
                                          + m * mean.reshape(-1))
                running_var.data[...] = ((1 - m) * running_var.data
                                         + m * var.reshape(-1) * (count / (count - 1)))
        return out  # scaled and shifted in the same op
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        out = _normalize_running(x, running_mean, running_var, shape, eps)
    return _affine(out, weight, bias, shape, "batch_norm")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation (Ba et al. 2016) over the trailing ``normalized_shape`` axes."""
    x = _floating_input(input, "layer_norm")
    normalized_shape, axes = _trailing_axes(x, normalized_shape, "layer_norm")
    out, _, _ = _normalize(x, axes, eps)
    return _affine(out, weight, bias, normalized_shape, "layer_norm")


def _trailing_axes(x, normalized_shape, op):
    """``normalized_shape`` (an int or a sequence of ints) as a tuple, and the trailing axes of
    x it names; x's shape must end with it (layer_norm, rms_norm)."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape:  # no axis: every value would be its own statistic (layer_norm: 0)
        raise ValueError(f"{op}: normalized_shape must be at least 1-D, got () for input "
                         f"of shape {x.shape}")
    n = len(normalized_shape)
    if x.shape[x.ndim - n:] != normalized_shape:
        raise ValueError(f"{op}: input of shape {x.shape} does not end with normalized_shape "
                         f"{normalized_shape}")
    return normalized_shape, tuple(range(x.ndim - n, x.ndim))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalisation (Zhang & Sennrich 2019) over the trailing
    ``normalized_shape`` axes: ``y = x / sqrt(mean(x^2) + eps) * weight``; no centring, no bias.

    ``eps=None`` is the machine epsilon of x's dtype (``np.finfo(dtype).eps``), as torch;
    float16 is computed in float32, with float32's epsilon (torch's too). A composition of core
    ops, so differentiable to any order; a row of zeros gives 0 and the finite gradient
    ``weight / sqrt(eps)``, as in torch.
    """
    x = _floating_input(input, "rms_norm")
    normalized_shape, axes = _trailing_axes(x, normalized_shape, "rms_norm")
    half = x.dtype == np.float16
    if half:  # x * x past 256 would overflow to inf, and float16's epsilon is torch's neither
        x = x.astype(np.float32)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    out = x * ((x * x).mean(axis=axes, keepdims=True) + eps) ** -0.5
    out = _affine(out, weight, None, normalized_shape, "rms_norm")
    return out.astype(np.float16) if half else out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels (Krizhevsky et al. 2012), torch's form:
    ``y_c = x_c / (k + alpha / size * sum_{c'} x_{c'}^2) ** beta``, the sum over the window
    ``c - size // 2 <= c' <= c + (size - 1) // 2`` of channels (outside the channels it adds
    zeros; the divisor stays ``size``). input (N, C, *) with at least one axis after C;
    integer input is normalised in float32, as in torch.

    The window sums are a banded (C, C) matrix applied along the channel axis
    (``tinydl.ops.linalg.AlongAxis``: a NaN reaches only the channels whose window holds it).
    """
    x = floating(_tensor(input, "local_response_norm"))
    if x.ndim < 3:
        raise ShapeError(f"local_response_norm: expected input of shape (N, C, *) with 3 or "
                         f"more axes, got shape {x.shape}")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise TypeError(f"local_response_norm: size must be an int, got {size!r}")
    if size < 1:
        raise ValueError(f"local_response_norm: size must be positive, got {size}")
    if x.size == 0:
        return x
    channel = np.arange(x.shape[1])
    offset = channel[None, :] - channel[:, None]  # row c: window c' - c in [-size//2, (size-1)//2]
    window = (offset >= -(size // 2)) & (offset <= (size - 1) // 2)
    mean_square = AlongAxis.apply(x * x, 1, window / size)
    return x / (mean_square * alpha + k) ** beta


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): per sample and channel, over spatial axes.

    Biased variance, eps inside the square root. With running buffers and
    ``use_input_stats`` they are updated with the batch average of the instance statistics.
    ``use_input_stats`` needs more than one spatial element (one would normalise to 0), as
    in torch.
    """
    x = _floating_input(input, "instance_norm")
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input of shape (N, C, *spatial), got {x.shape}")
    shape = _channel_shape(x)
    axes = tuple(range(2, x.ndim))
    _check_running(x, running_mean, running_var, "instance_norm")
    if use_input_stats:
        count = math.prod(x.shape[2:])
        if count == 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when "
                             f"training (using input statistics), got input of shape {x.shape}")
        out, mean, var = _normalize(x, axes, eps)
        if running_mean is not None and running_var is not None and x.size:
            # (an empty batch, or images of no pixels, have no statistics: torch leaves the
            # buffers alone)
            m = momentum
            unbiased = var * (count / max(count - 1, 1))
            batch_mean = mean.mean(axis=0).ravel()
            running_mean.data[...] = (1 - m) * running_mean.data + m * batch_mean
            running_var.data[...] = (1 - m) * running_var.data + m * unbiased.mean(axis=0).ravel()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are needed when "
                             "use_input_stats is False")
        out = _normalize_running(x, running_mean, running_var, shape, eps)
    return _affine(out, weight, bias, shape, "instance_norm")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He 2018): statistics per sample over each group of channels.

    A single sample whose groups hold one value each is refused (it would normalise to 0), as
    in torch; with more samples torch lets it through (the output is the bias), and so do we.
    """
    x = _floating_input(input, "group_norm")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) \
            or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if x.ndim < 2 or x.shape[1] % num_groups != 0:
        raise ValueError(f"group_norm: {num_groups} groups do not divide the channels of input "
                         f"shape {x.shape}")
    # The group length spelled out: with an empty batch a -1 could be any length.
    group_size = x.shape[1] // num_groups * math.prod(x.shape[2:])
    if x.shape[0] * group_size == 1:
        raise ValueError(f"group_norm: expected more than 1 value per group, got input of shape "
                         f"{x.shape} with {num_groups} groups")
    grouped = x.reshape((x.shape[0], num_groups, group_size))
    out, _, _ = _normalize(grouped, (2,), eps)
    return _affine(out.reshape(x.shape), weight, bias, _channel_shape(x), "group_norm")
