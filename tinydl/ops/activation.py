"""Activation functions: tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus; then the
piecewise-linear family (hardtanh, relu6, hardsigmoid, hardswish), selu, celu, silu, mish,
softsign, tanhshrink, logsigmoid, softmin, glu and prelu.

Each op is one ``Function`` with its public wrapper right below it: ``forward`` on arrays,
``backward`` in tinydl ops. tanh and sigmoid compute their gradient from their output in one
fused, itself differentiable op each (as torch's ``tanh_backward``); relu reads its output too,
so the pre-activation can be freed after the forward pass.

This module is longer than 500 lines because it holds the whole family: 24 Functions,
each a few lines with its wrapper below it, so one screen compares activations side by side.
"""
import math

import numpy as np

# scipy.special is imported inside the functions that use it: importing it takes about 0.2 s,
# half of ``import tinydl``.

from tinydl import backends
from tinydl.autograd import Function, depends_on
from tinydl.ops._checks import _check_float_dtypes, _tensor
from tinydl.ops._util import (as_number, as_tensor, exact_for_integers, floating,
                              normalize_axes, one_axis, torch_names, unbroadcast)
from tinydl.ops.elementwise import _gate, _mask, _select, astype, erf, exp, where
from tinydl.ops.elementwise import abs as _abs
from tinydl.ops.reduce import softmax
from tinydl.tensor import Tensor


class Tanh(Function):
    """tanh x; dx = g (1 - y^2) from the output y (one fused op, TanhBackward)."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def backward(ctx, g):
        return (TanhBackward.apply(g, ctx.output),)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(floating(x))


class TanhBackward(Function):
    """g (1 - y^2): tanh's gradient from its output y as one op (torch's ``tanh_backward``).

    One fused op instead of three keeps backward cheap; it is differentiable in both
    arguments (d/dg = 1 - y^2, d/dy = -2 g y), so double backward still works.
    """

    retain_output = False


    @staticmethod
    def forward(ctx, g, y):
        return g * (1 - y * y)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.inputs
        return (TanhBackward.apply(gg, y) if g.requires_grad else None,
                gg * g * y * -2.0 if y.requires_grad else None)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed without overflow (``scipy.special.expit``)."""

    retain_inputs = ()


    @staticmethod
    def forward(ctx, x):
        from scipy import special
        return special.expit(x).astype(x.dtype, copy=False)  # float16 comes back float64

    @staticmethod
    def backward(ctx, g):
        return (SigmoidBackward.apply(g, ctx.output),)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x), overflow-free."""
    return Sigmoid.apply(floating(x))


class SigmoidBackward(Function):
    """g y (1 - y): the sigmoid's gradient from its output y as one op (d/dy = g (1 - 2y))."""

    retain_output = False


    @staticmethod
    def forward(ctx, g, y):
        return g * y * (1 - y)

    @staticmethod
    def backward(ctx, gg):
        g, y = ctx.inputs
        return (SigmoidBackward.apply(gg, y) if g.requires_grad else None,
                gg * g * (1.0 - 2.0 * y) if y.requires_grad else None)


_BLOCK = 1 << 16  # elements per np.maximum call in _relu_array (256 KB of float32 zeros)
_ZEROS = {}  # dtype -> a read-only block of _BLOCK zeros


# What the ReLU kernels of ``tinydl.kernels.activation`` take: float32 only; float64 (the
# gradient checks) keeps the NumPy twins, as a second specialisation would add to the first
# compile.
_RELU_KERNEL_DTYPES = (np.float32,)


def _relu_array(x):
    """``np.maximum(x, 0)``, NaN kept: the Numba kernel for float32 (one pass, about twice as
    fast), else its twin, large floats in blocks against an array of zeros.

    NumPy runs its SIMD maximum loop only when both operands are contiguous arrays; against
    the scalar 0 it takes the element-by-element loop: measured here on LeNet's first ReLU,
    (64, 6, 24, 24) float32, 0.17-0.19 ms against 0.06 ms in blocks of 64k elements against a
    cached block of zeros (0.06 against 0.02 ms on (64, 16, 8, 8)). Under 16k elements the
    scalar call is as fast.
    """
    if backends.flat_kernel_takes(_RELU_KERNEL_DTYPES, x):
        out = np.empty(x.shape, x.dtype)
        backends.kernel_module("activation").relu_kernel(x.reshape(-1), out.reshape(-1))
        return out
    if x.dtype.kind != "f" or x.size < _BLOCK // 4 or not x.flags.c_contiguous:
        return np.maximum(x, 0)
    zeros = _ZEROS.get(x.dtype)
    if zeros is None:
        zeros = _ZEROS[x.dtype] = np.zeros(_BLOCK, x.dtype)
        zeros.flags.writeable = False
    out = np.empty(x.shape, x.dtype)
    src, dst = x.reshape(-1), out.reshape(-1)
    for start in range(0, src.size, _BLOCK):
        stop = min(start + _BLOCK, src.size)
        np.maximum(src[start:stop], zeros[:stop - start], out=dst[start:stop])
    return out


class ReLU(Function):
    """max(x, 0); d/dx = 1 where x > 0, read off the output (y > 0 exactly where x > 0).

    Keeping the output rather than the input lets the pre-activation be freed: the next
    layer keeps the output anyway (torch's ``threshold_backward`` does the same).
    """

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return _relu_array(x)

    @staticmethod
    def backward(ctx, g):
        # a NaN passes, as in torch; tied to the output as torch's threshold_backward(g, y, 0)
        y = ctx.output  # (a weak reference: read once)
        grad, out = g.data, y.data
        if (not g.requires_grad and grad.shape == out.shape
                and backends.flat_kernel_takes(_RELU_KERNEL_DTYPES, grad, out)):
            gx = np.empty(grad.shape, grad.dtype)  # the kernel's twin is the _gate below
            kernel = backends.kernel_module("activation").relu_grad_kernel
            kernel(grad.reshape(-1), out.reshape(-1), gx.reshape(-1))
            return (depends_on(Tensor._wrap(gx), y),)
        return (depends_on(_gate(g, out <= 0, keep=False), y),)


def relu(x):
    """max(x, 0)."""
    x = as_tensor(x)
    if isinstance(x, Tensor) and x.dtype == np.bool_:
        raise TypeError("relu: boolean input is not supported (as in torch); cast it first")
    return ReLU.apply(x)


class LeakyReLU(Function):
    """x if x > 0 else slope x; dx = g where x > 0, slope g elsewhere."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        scale = np.where(x.data > 0, 1.0, ctx.slope).astype(g.dtype)
        return (depends_on(g * Tensor._wrap(scale), x),)


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(_float_input(x, "leaky_relu"),
                           negative_slope=as_number(negative_slope))


class ELU(Function):
    """x if x > 0 else alpha (exp(x) - 1); dx from the input (ELUBackward): rebuilt from the
    output as y + alpha it cancelled to 0 far left of 0 (float32 from x = -18)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        return (ELUBackward.apply(g, ctx.inputs[0], alpha=ctx.alpha),)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1)  (Clevert et al. 2016)."""
    return ELU.apply(_float_input(x, "elu"), alpha=as_number(alpha))


class GELU(Function):
    """x Phi(x) with Phi the standard normal CDF (exact erf form, torch's default)."""

    retain_output = False


    @staticmethod
    def forward(ctx, x):
        from scipy import special
        return (0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        cdf = 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return (g * (cdf + x * pdf),)


def gelu(x, approximate="none"):
    """x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016, exact form).

    ``approximate='tanh'``: their tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    as ``torch.nn.functional.gelu(x, approximate='tanh')`` (GPT-2's GELU).
    """
    x = floating(x)
    if approximate == "tanh":
        if x.dtype == np.float16:  # x^3 overflows float16 from |x| = 41: tanh's gradient 0
            # times the inner one's inf gave NaN (torch computes float16 in float32 too)
            return astype(gelu(astype(x, np.float32), approximate), np.float16)
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tanh(inner))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, stable: (max(bx, 0) + log1p(exp(-|bx|))) / beta.

    As torch, it reverts to the identity where ``beta x > threshold``.
    """

    retain_output = False


    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, soft)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        linear = x.data * ctx.beta > ctx.threshold
        return (where(linear, g, g * sigmoid(x * ctx.beta)),)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, stable for any x; identity where beta x > threshold."""
    return Softplus.apply(_float_input(x, "softplus"), beta=as_number(beta),
                          threshold=as_number(threshold))


# ----------------------------------------------------------------------------- more activations
# The rest follow torch's kernels value for value, including the gradient at each kink: the
# piecewise-linear ones pass the gradient only strictly inside their linear piece, and the
# elu family (selu, celu) takes the exponential branch at x = 0. Where a gradient is more than
# a product, it is one fused op whose own backward is written in tinydl ops (as TanhBackward),
# so double backward works and matches torch's, kinks included.
def _float_input(x, op):
    """``x`` as a Tensor of floats: integer and boolean inputs become the default float
    (float32). A choice of tinydl's: torch raises for most of these activations on integer
    input (relu, relu6, hardtanh and threshold keep integers, here as there)."""
    return floating(_tensor(x, op))


def _constant(values, dtype):
    """A constant Tensor of ``dtype`` (a per-element coefficient of a gradient)."""
    return Tensor._wrap(np.asarray(values, dtype=dtype))


class Hardtanh(Function):
    """clip(x, min_val, max_val); dx = g strictly inside (min_val, max_val), 0 elsewhere.

    The gradient is read off the output (min_val < y < max_val exactly where x is), so the
    pre-activation can be freed, as for relu.
    """

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x, min_val=-1.0, max_val=1.0):
        ctx.bounds = (min_val, max_val)
        return np.clip(x, min_val, max_val)

    @staticmethod
    def backward(ctx, g):
        out = ctx.output  # a NaN passes, as in torch; tied to it as torch's (depends_on)
        y = out.data
        lo, hi = ctx.bounds
        return (depends_on(_gate(g, (y <= lo) | (y >= hi), keep=False), out),)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """clip(x, min_val, max_val), with gradient 1 strictly between the bounds and 0 at and
    beyond them (torch's convention at the kinks). Integer input stays integer, as in torch."""
    x = _tensor(x, "hardtanh")
    min_val, max_val = as_number(min_val), as_number(max_val)  # a np.float64 gave float64
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val="
                         f"{min_val} and max_val={max_val}")
    if x.dtype.kind in "iu":  # no gradient to define: torch's integer clamp
        return Tensor._wrap(np.clip(x.data, min_val, max_val).astype(x.dtype))
    return Hardtanh.apply(_float_input(x, "hardtanh"), min_val=min_val, max_val=max_val)


def relu6(x):
    """min(max(x, 0), 6) (MobileNet's activation): hardtanh(x, 0, 6), so the gradient is 0
    at x = 0 and x = 6, as torch's."""
    return hardtanh(x, 0.0, 6.0)


class Hardsigmoid(Function):
    """min(max(x + 3, 0), 6) / 6; dx = g / 6 strictly inside (-3, 3), 0 elsewhere."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        # np.clip, not np.minimum(np.maximum(...)): NumPy's SIMD min/max loops run only
        # array-against-array, its clip takes scalar bounds (0.04 against 0.22 ms on 221k
        # float32). The same values, NaN included; x + 3 is never -0.0.
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0].data
        return (_gate(g * _constant(1 / 6, g.dtype), (x > -3) & (x < 3)),)


def hardsigmoid(x):
    """relu6(x + 3) / 6, the piecewise-linear sigmoid of MobileNetV3 (Howard et al. 2019);
    gradient 1/6 strictly inside (-3, 3), 0 at and beyond +-3 (as torch)."""
    return Hardsigmoid.apply(_float_input(x, "hardsigmoid"))


class Hardswish(Function):
    """x relu6(x + 3) / 6; dx from the input (one fused op, HardswishBackward)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as torch's (without a warning)
            if x.dtype == np.float16:  # x * 6 overflows float16 from x = 10923 (65504: inf)
                return (x.astype(np.float32) * np.clip(x + 3, 0, 6) / 6).astype(np.float16)
            return x * np.clip(x + 3, 0, 6) / 6  # see Hardsigmoid

    @staticmethod
    def backward(ctx, g):
        return (HardswishBackward.apply(g, ctx.inputs[0]),)


def hardswish(x):
    """x relu6(x + 3) / 6 (MobileNetV3, Howard et al. 2019).

    Gradient 0 for x <= -3, x / 3 + 1/2 for -3 < x < 3, 1 for x >= 3: at the kinks +-3 it
    takes the outer piece's value, as torch's ``hardswish_backward``.
    """
    return Hardswish.apply(_float_input(x, "hardswish"))


class HardswishBackward(Function):
    """g (0 | x / 3 + 1/2 | 1): hardswish's gradient as one op; d/dx = g / 3 strictly inside
    (-3, 3), as torch's double backward."""

    retain_output = False

    @staticmethod
    def forward(ctx, g, x):
        slope = np.where(x < 3, x / 3 + 0.5, 1.0).astype(x.dtype)
        return _select(g * slope, x <= -3, keep=False)  # 0 there even for an inf or NaN g

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.inputs
        x_data = x.data
        inside = _constant(np.where((x_data > -3) & (x_data < 3), 1 / 3, 0.0), gg.dtype)
        return (HardswishBackward.apply(gg, x) if g.requires_grad else None,
                gg * g * inside if x.requires_grad else None)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Function):
    """scale (x if x > 0 else alpha (e^x - 1)); dx from the input (ELUBackward)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.where(x > 0, x * SELU_SCALE,
                        np.expm1(np.minimum(x, 0)) * (SELU_ALPHA * SELU_SCALE))

    @staticmethod
    def backward(ctx, g):
        return (ELUBackward.apply(g, ctx.inputs[0], alpha=SELU_ALPHA, scale=SELU_SCALE),)


def selu(x):
    """Scaled ELU (Klambauer et al. 2017): scale (x if x > 0 else alpha (e^x - 1)) with
    alpha = 1.6732632423543772848, scale = 1.0507009873554804934 (torch's constants).
    At x = 0 the gradient is scale alpha (the exponential branch's), as torch's."""
    return SELU.apply(_float_input(x, "selu"))


class CELU(Function):
    """x if x > 0 else alpha (exp(x / alpha) - 1); dx from the input (ELUBackward)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.alpha = alpha
        with np.errstate(over="ignore"):  # alpha < 0: e^(x / alpha) may overflow, as in torch
            return np.where(x > 0, x, np.expm1(np.minimum(x, 0) * (1.0 / alpha)) * alpha)

    @staticmethod
    def backward(ctx, g):
        return (ELUBackward.apply(g, ctx.inputs[0], alpha=ctx.alpha, input_scale=1.0 / ctx.alpha),)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU (Barron 2017): x if x > 0 else alpha (e^(x/alpha) - 1);
    its gradient is 1 at x = 0 from both sides."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (the negative branch divides x by alpha)")
    return CELU.apply(_float_input(x, "celu"), alpha=as_number(alpha))


class ELUBackward(Function):
    """g scale where x > 0, else g alpha scale s e^(s x) (s the input scale): the gradient of
    scale * elu(x; alpha, s) from its input as one op (torch's ``elu_backward``).

    The exponential is taken of the input, not rebuilt from the output (y / alpha + 1 would
    cancel to 0 far left of 0). d/dx = g alpha scale s^2 e^(s x) strictly where x < 0 (so 0
    at x = 0), as torch's double backward.
    """

    retain_output = False

    @staticmethod
    def forward(ctx, g, x, alpha=1.0, scale=1.0, input_scale=1.0):
        ctx.coefficients = dict(alpha=alpha, scale=scale, input_scale=input_scale)
        with np.errstate(over="ignore"):
            negative = np.exp(np.minimum(x, 0) * input_scale) * (alpha * scale * input_scale)
        # x <= 0, not x > 0: a NaN input takes the linear side's scale, as in torch
        return g * np.where(x <= 0, negative, scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.inputs
        c = ctx.coefficients
        grad_x = None
        if x.requires_grad:
            grad_x = (ELUBackward.apply(gg * g * c["input_scale"], x, **c)
                      * _mask(x.data < 0, gg.dtype))
        return (ELUBackward.apply(gg, x, **c) if g.requires_grad else None, grad_x)


class SiLU(Function):
    """x sigmoid(x); dx from the input (one fused op, SiLUBackward)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        from scipy import special
        with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as torch's (without a warning)
            return (x * special.expit(x)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return (SiLUBackward.apply(g, ctx.inputs[0]),)


def silu(x):
    """x sigmoid(x), a.k.a. swish (Elfwing et al. 2018; Ramachandran et al. 2017)."""
    return SiLU.apply(_float_input(x, "silu"))


class SiLUBackward(Function):
    """g s (1 + x (1 - s)), s = sigmoid(x): silu's gradient as one op (torch's
    ``silu_backward``); d/dx = g s (1 - s) (2 + x (1 - 2 s))."""

    retain_output = False

    @staticmethod
    def forward(ctx, g, x):
        from scipy import special
        s = special.expit(x)
        with np.errstate(invalid="ignore"):  # at +-inf: NaN, as torch's
            return g * (s * (1 + x * (1 - s)))

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.inputs
        grad_x = None
        if x.requires_grad:
            s = sigmoid(x)
            grad_x = gg * g * (s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s)))
        return (SiLUBackward.apply(gg, x) if g.requires_grad else None, grad_x)


def _softplus_array(x):
    """log(1 + e^x) on arrays, without overflow: max(x, 0) + log1p(e^-|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class Mish(Function):
    """x tanh(softplus(x)), softplus in its stable form; dx from the input (MishBackward)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):  # -inf * 0: NaN, as torch's (without a warning)
            return x * np.tanh(_softplus_array(x))

    @staticmethod
    def backward(ctx, g):
        return (MishBackward.apply(g, ctx.inputs[0]),)


def mish(x):
    """x tanh(softplus(x)) (Misra 2019), finite for any x."""
    return Mish.apply(_float_input(x, "mish"))


class MishBackward(Function):
    """g (t + x s (1 - t^2)), t = tanh(softplus(x)), s = sigmoid(x): mish's gradient as one op;
    d/dx = g s (1 - t^2) (2 + x (1 - s - 2 t s))."""

    retain_output = False

    @staticmethod
    def forward(ctx, g, x):
        from scipy import special
        t = np.tanh(_softplus_array(x))
        with np.errstate(invalid="ignore"):  # at +-inf: NaN, as torch's
            return g * (t + x * special.expit(x) * (1 - t * t))

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.inputs
        grad_x = None
        if x.requires_grad:
            s, t = sigmoid(x), tanh(softplus(x))
            grad_x = gg * g * (s * (1.0 - t * t) * (2.0 + x * (1.0 - s - 2.0 * t * s)))
        return (MishBackward.apply(gg, x) if g.requires_grad else None, grad_x)


class Softsign(Function):
    """x / (1 + |x|); dx = g / (1 + |x|)^2."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        d = _abs(ctx.inputs[0]) + 1.0
        return (g / (d * d),)


def softsign(x):
    """x / (1 + |x|)."""
    return Softsign.apply(_float_input(x, "softsign"))


class Tanhshrink(Function):
    """x - tanh x; dx = g tanh(x)^2."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return x - np.tanh(x)

    @staticmethod
    def backward(ctx, g):
        t = tanh(ctx.inputs[0])
        return (g * (t * t),)


def tanhshrink(x):
    """x - tanh(x)."""
    return Tanhshrink.apply(_float_input(x, "tanhshrink"))


class LogSigmoid(Function):
    """log sigmoid(x) = min(x, 0) - log1p(e^-|x|), finite for any x; dx = g sigmoid(-x)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x):
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        return (g * sigmoid(-ctx.inputs[0]),)


def logsigmoid(x):
    """log(1 / (1 + e^-x)) = -softplus(-x), stable for any x (torch's ``logsigmoid``)."""
    return LogSigmoid.apply(_float_input(x, "logsigmoid"))


@torch_names
@exact_for_integers("x")
def softmin(x, axis=-1):
    """softmax(-x) along ``axis``: exp(-x_i) / sum_j exp(-x_j) (``dim`` is torch's name)."""
    x = _float_input(x, "softmin")
    axis = one_axis(axis, "softmin")
    # A 0-d tensor's one element is axis 0 or -1, as for softmax (torch's rule).
    normalize_axes(axis, max(x.ndim, 1), "softmin")
    return softmax(-x, axis)


@torch_names
def glu(x, axis=-1):
    """Gated linear unit (Dauphin et al. 2017): a sigmoid(b), where a and b are the first and
    second halves of x along ``axis`` (``dim`` is torch's name), so that axis halves."""
    x = _float_input(x, "glu")
    if x.ndim == 0:
        raise ValueError("glu: a 0-d tensor has no axis to halve")
    axis = normalize_axes(one_axis(axis, "glu"), x.ndim, "glu")[0]  # (a tuple: its first)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: the halved axis must have even length, but axis {axis} of the "
                         f"input of shape {x.shape} has length {n}")
    before = (slice(None),) * axis
    return x[before + (slice(0, n // 2),)] * sigmoid(x[before + (slice(n // 2, n),)])


class PReLU(Function):
    """x if x > 0 else w x (w broadcast over x); dx = g or g w, dw = sum of g x where x <= 0."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, w):
        return np.where(x > 0, x, w * x)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.inputs
        positive = x.data > 0
        return (depends_on(where(positive, g, g * w), x) if x.requires_grad else None,
                unbroadcast(where(positive, 0.0, g * x), w.shape) if w.requires_grad else None)


def prelu(x, weight):
    """x if x > 0 else weight * x, with a learnt slope (He et al. 2015).

    ``weight`` is 0-d or 1-D with 1 or C entries, C = x.shape[1] (the channel axis of
    (N, C, *); a 1-D input has one channel), as ``torch.nn.functional.prelu``. At x = 0 the
    input's gradient is weight and the weight's is 0.
    """
    x = _float_input(x, "prelu")
    weight = _tensor(weight, "prelu", "weight")
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-D, got shape {weight.shape}")
    if weight.size != 1:
        channels = x.shape[1] if x.ndim > 1 else 1
        if x.ndim == 0 or weight.size != channels:
            raise ValueError(f"prelu: weight has {weight.size} parameters but the input of "
                             f"shape {x.shape} has {channels if x.ndim else 'no'} channels "
                             "(axis 1); give one parameter or one per channel")
    _check_float_dtypes(x, weight, "prelu")
    if weight.ndim != x.ndim:
        shape = [1] * x.ndim
        if x.ndim > 1:
            shape[1] = weight.size
        weight = weight.reshape(tuple(shape))
    return PReLU.apply(x, weight)
