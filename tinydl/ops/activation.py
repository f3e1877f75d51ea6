"""Activation functions: tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus.

Each op is one ``Function`` with its public wrapper right below it: ``forward`` on arrays,
``backward`` in tinydl ops. tanh and sigmoid compute their gradient from their output in one
fused, itself differentiable op each (as torch's ``tanh_backward``); relu reads its output too,
so the pre-activation can be freed after the forward pass.
"""
import math

import numpy as np
from scipy import special

from tinydl.autograd import Function
from tinydl.ops._util import as_tensor
from tinydl.ops.elementwise import _mask, erf, exp, where
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
    return Tanh.apply(as_tensor(x))


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
        return special.expit(x)

    @staticmethod
    def backward(ctx, g):
        return (SigmoidBackward.apply(g, ctx.output),)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x), overflow-free."""
    return Sigmoid.apply(as_tensor(x))


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


class ReLU(Function):
    """max(x, 0); d/dx = 1 where x > 0, read off the output (y > 0 exactly where x > 0).

    Keeping the output rather than the input lets the pre-activation be freed: the next
    layer keeps the output anyway (torch's ``threshold_backward`` does the same).
    """

    retain_inputs = ()

    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        return (g * _mask(ctx.output.data > 0, g.dtype),)


def relu(x):
    """max(x, 0)."""
    return ReLU.apply(as_tensor(x))


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
        return (g * Tensor._wrap(scale),)


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(as_tensor(x), negative_slope=negative_slope)


class ELU(Function):
    """x if x > 0 else alpha (exp(x) - 1); d/dx = 1 or (y + alpha)."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        positive = x.data > 0
        return (where(positive, g, g * (ctx.output + ctx.alpha)),)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (e^x - 1)  (Clevert et al. 2016)."""
    return ELU.apply(as_tensor(x), alpha=alpha)


class GELU(Function):
    """x Phi(x) with Phi the standard normal CDF (exact erf form, torch's default)."""

    retain_output = False


    @staticmethod
    def forward(ctx, x):
        return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        cdf = 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return (g * (cdf + x * pdf),)


def gelu(x):
    """x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016, exact form)."""
    return GELU.apply(as_tensor(x))


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
    return Softplus.apply(as_tensor(x), beta=beta, threshold=threshold)
