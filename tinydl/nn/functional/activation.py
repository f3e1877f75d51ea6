"""Functional activations with ``torch.nn.functional``'s names and arguments.

The ops themselves live in ``tinydl/ops/activation.py`` (one Function each, or a short
composition: relu6 is hardtanh(x, 0, 6), softmin is softmax(-x), glu a half times the
sigmoid of the other); this module adds torch's arguments: ``dim`` for softmax and friends,
and ``inplace``, which writes the result into the input as torch
does (a leaf that requires grad refuses, as in torch).

Below them, the activations that only ``nn.functional`` has: hardshrink, softshrink and
threshold (one Function each, here), rrelu (random slopes from tinydl's generator in
training), torch's in-place spellings (``relu_``, ``elu_``...) and gumbel_softmax.
"""
import warnings

import numpy as np

from tinydl import ops
from tinydl.autograd import Function, depends_on
from tinydl.ops._checks import _check_fill_fits, _tensor
from tinydl.ops._util import axis_or_dim, floating, normalize_axes, one_axis
from tinydl.ops.elementwise import _gate
from tinydl.random import get_generator
from tinydl.tensor import Tensor
from tinydl.ops import (gelu as _gelu, log_softmax as _log_softmax,  # noqa: F401
                        logsigmoid, sigmoid, softmax as _softmax, softplus, softsign,
                        tanh, tanhshrink)


def _activate(op, input, inplace, name, *args):
    """``op(input, *args)``, written into ``input`` when ``inplace`` (torch's ``op_``)."""
    x = _tensor(input, name)
    if inplace:
        return x._inplace(name + "_", lambda t: op(t, *args))
    return op(x, *args)


def relu(input, inplace=False):
    """max(x, 0)."""
    return _activate(ops.relu, input, inplace, "relu")


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    return _activate(ops.leaky_relu, input, inplace, "leaky_relu", negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha (e^x - 1) (Clevert et al. 2016)."""
    return _activate(ops.elu, input, inplace, "elu", alpha)


def _cast(x, dtype):
    """torch's ``dtype=`` of softmax and friends: the input is cast before the op."""
    return x if dtype is None else x.astype(dtype, copy=False)


def softmax(input, axis=-1, dim=None, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along ``axis`` (``dim`` is accepted as torch's name);
    ``dtype`` casts the input first."""
    return _softmax(_cast(_tensor(input, "softmax"), dtype),
                    axis_or_dim(axis, dim, "softmax"))


def log_softmax(input, axis=-1, dim=None, dtype=None):
    """x_i - logsumexp(x) along ``axis`` (``dim`` is accepted as torch's name); ``dtype``
    casts the input first."""
    return _log_softmax(_cast(_tensor(input, "log_softmax"), dtype),
                        axis_or_dim(axis, dim, "log_softmax"))


def softmin(input, axis=-1, dim=None, dtype=None):
    """softmax(-x) along ``axis`` (``dim`` is torch's name); ``dtype`` casts the input first."""
    return ops.softmin(_cast(_tensor(input, "softmin"), dtype),
                       axis_or_dim(axis, dim, "softmin"))


def gelu(input, approximate="none"):
    """x Phi(x), exact (erf) or ``approximate='tanh'``; see ``tinydl.gelu``."""
    return _gelu(_tensor(input, "gelu"), approximate)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clip(x, min_val, max_val); gradient 1 strictly between the bounds, else 0."""
    return _activate(ops.hardtanh, input, inplace, "hardtanh", min_val, max_val)


def relu6(input, inplace=False):
    """min(max(x, 0), 6); gradient 0 at 0 and 6, as torch."""
    return _activate(ops.relu6, input, inplace, "relu6")


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 (MobileNetV3)."""
    return _activate(ops.hardsigmoid, input, inplace, "hardsigmoid")


def hardswish(input, inplace=False):
    """x relu6(x + 3) / 6 (MobileNetV3)."""
    return _activate(ops.hardswish, input, inplace, "hardswish")


def selu(input, inplace=False):
    """scale (x if x > 0 else alpha (e^x - 1)), torch's alpha and scale (Klambauer et al. 2017)."""
    return _activate(ops.selu, input, inplace, "selu")


def celu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha (e^(x/alpha) - 1) (Barron 2017)."""
    return _activate(ops.celu, input, inplace, "celu", alpha)


def silu(input, inplace=False):
    """x sigmoid(x), a.k.a. swish: one op with a fused, differentiable gradient."""
    return _activate(ops.silu, input, inplace, "silu")


def mish(input, inplace=False):
    """x tanh(softplus(x)) (Misra 2019)."""
    return _activate(ops.mish, input, inplace, "mish")


def glu(input, dim=-1):
    """a sigmoid(b) for the two halves a, b of the input along ``dim`` (Dauphin et al. 2017)."""
    return ops.glu(_tensor(input, "glu"), dim)


def prelu(input, weight):
    """x if x > 0 else weight x; ``weight`` has 1 or C entries, C the size of axis 1."""
    return ops.prelu(_tensor(input, "prelu"), weight)


# ----------------------------------------------------------------------------- shrink, threshold
# Hardshrink, softshrink and threshold have one Function each, their forward on arrays and
# their gradient (a gate, as relu's) right below, as in ``tinydl/ops/activation.py``.
class Shrink(Function):
    """Hard (x) or soft (x - lambd sign(x)) shrinkage outside [-lambd, lambd], 0 inside;
    dx = g where |x| > lambd, 0 elsewhere (at +-lambd too).

    A NaN keeps its value and gets no gradient, as from torch's vectorized backward
    (``(x < -lambd | x > lambd) & g``), which does contiguous tensors but for a few trailing
    elements. torch is not consistent: its scalar loop (``-lambd <= x <= lambd ? 0 : g``),
    which does those elements, tensors shorter than a block of SIMD vectors and strided
    inputs or gradients, passes a NaN's gradient.
    """

    retain_output = False

    @staticmethod
    def forward(ctx, x, lambd=0.5, soft=False):
        ctx.lambd = lambd
        inside = (x >= -lambd) & (x <= lambd)  # a NaN is not inside: it passes, as in torch
        outside = x - np.sign(x) * x.dtype.type(lambd) if soft else x
        return np.where(inside, x.dtype.type(0), outside)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (depends_on(_gate(g, np.abs(x.data) > ctx.lambd), x),)  # tied as torch's


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0 (torch's ``F.hardshrink``); gradient 1 where |x| > lambd.
    Integer input becomes float32, as tinydl's other activations."""
    return Shrink.apply(floating(_tensor(input, "hardshrink")), lambd=lambd, soft=False)


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0 (torch's
    ``F.softshrink``, the proximal map of lambd |x|); gradient 1 where |x| > lambd.
    ``lambd`` must be >= 0, as torch's."""
    if not lambd >= 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return Shrink.apply(floating(_tensor(input, "softshrink")), lambd=lambd, soft=True)


class Threshold(Function):
    """x where x > threshold, else value; dx = g where x > threshold (a NaN passes, as in
    torch's ``threshold_backward``)."""

    retain_output = False

    @staticmethod
    def forward(ctx, x, threshold, value):
        ctx.threshold = threshold
        return np.where(x <= threshold, x.dtype.type(value), x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (depends_on(_gate(g, x.data <= ctx.threshold, keep=False), x),)  # as torch's


def _threshold(x, threshold, value):
    """``threshold`` on a Tensor: integer input stays integer (no gradient), as in torch."""
    if x.dtype == np.bool_:
        raise TypeError("threshold: boolean input is not supported (as in torch); cast it first")
    _check_fill_fits(value, x.dtype, "threshold")
    if x.dtype.kind in "iu":  # torch's integer threshold: the value cast to the input's type
        return Tensor._wrap(np.where(x.data <= threshold, np.asarray(value).astype(x.dtype),
                                     x.data))
    return Threshold.apply(x, threshold=threshold, value=value)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value`` (torch's ``F.threshold``); gradient 1 where
    x > threshold. ``inplace`` writes the result into the input."""
    return _activate(_threshold, input, inplace, "threshold", threshold, value)


# ----------------------------------------------------------------------------- rrelu
def _rrelu(x, lower, upper, training):
    """``rrelu`` on a Tensor: a constant slope per element times x in training."""
    x = floating(x)
    if not training:
        return ops.leaky_relu(x, (lower + upper) / 2)
    # one draw per element, from tinydl's generator; positive entries keep slope 1
    slopes = get_generator().uniform(lower, upper, x.shape).astype(x.dtype)
    slopes[~(x.data <= 0)] = 1  # (not x > 0: a NaN keeps slope 1 and stays NaN, as in torch)
    return x * Tensor._wrap(slopes)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU (Xu et al. 2015): x where x > 0, else a x.

    In training each element draws its own slope a ~ U(lower, upper) from tinydl's seeded
    generator (the gradient is a there, 1 elsewhere); otherwise a = (lower + upper) / 2,
    leaky_relu's. torch's defaults (1/8, 1/3) and ``training=False``; ``inplace`` writes the
    result into the input.
    """
    if lower > upper:
        raise ValueError(f"rrelu: lower bound {lower} must be less than or equal to the upper "
                         f"bound {upper}")
    return _activate(_rrelu, input, inplace, "rrelu", lower, upper, training)


# ----------------------------------------------------------------------------- in-place spellings
# torch's ``F.relu_`` and friends: the function with ``inplace=True`` (same rules: the input
# is overwritten and returned; a leaf that requires grad refuses under grad mode).
def relu_(input):
    """``relu(input, inplace=True)``."""
    return relu(input, inplace=True)


def elu_(input, alpha=1.0):
    """``elu(input, alpha, inplace=True)``."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    """``leaky_relu(input, negative_slope, inplace=True)``."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """``hardtanh(input, min_val, max_val, inplace=True)``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input):
    """``selu(input, inplace=True)``."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """``celu(input, alpha, inplace=True)``."""
    return celu(input, alpha, inplace=True)


def threshold_(input, threshold, value):
    """``threshold(input, threshold, value, inplace=True)``."""
    return _activate(_threshold, input, True, "threshold", threshold, value)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """``rrelu(input, lower, upper, training, inplace=True)``."""
    return rrelu(input, lower, upper, training, inplace=True)


# ----------------------------------------------------------------------------- gumbel_softmax
def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax (concrete) distribution (Jang et al. 2017; Maddison et
    al. 2017): softmax((logits + G) / tau) along ``dim``, G i.i.d. Gumbel(0, 1) noise
    (-log E, E ~ Exp(1), from tinydl's seeded generator). Same shape as ``logits``.

    ``hard=True``: the one-hot of that sample's argmax in the forward pass, with the soft
    sample's gradient (straight-through: ``y_hard - y_soft.detach() + y_soft``, as torch).
    ``eps`` is unused (deprecated in torch, which warns when it is given; so do we).
    """
    if eps != 1e-10:
        warnings.warn("gumbel_softmax: eps is deprecated and has no effect", stacklevel=2)
    x = _tensor(logits, "gumbel_softmax", "logits")
    if x.dtype.kind != "f":
        raise TypeError(f"gumbel_softmax: logits must be floating point, got {x.dtype}")
    (axis,) = normalize_axes(one_axis(dim, "gumbel_softmax"), max(x.ndim, 1), "gumbel_softmax")
    draw = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    # NumPy's float32 exponential is exactly 0 about once in 10^7 draws: -log(0) = inf, and
    # the softmax of a row holding it was NaN (torch's sampler never gives 0)
    exponentials = get_generator().standard_exponential(x.shape, dtype=draw)
    gumbels = -np.log(np.maximum(exponentials, np.finfo(draw).tiny, out=exponentials))
    y_soft = ops.softmax((x + Tensor._wrap(gumbels.astype(x.dtype, copy=False))) / tau, axis)
    if not hard:
        return y_soft
    y_hard = np.zeros(x.shape, dtype=x.dtype)
    if x.ndim == 0:
        y_hard[...] = 1
    elif x.size:
        first = np.argmax(y_soft.data, axis=axis)  # the first of tied maxima, as torch's
        np.put_along_axis(y_hard, np.expand_dims(first, axis), 1, axis=axis)
    return Tensor._wrap(y_hard) - y_soft.detach() + y_soft
