"""Functional activations with ``torch.nn.functional``'s names and arguments.

The ops themselves live in ``tinydl/ops/activation.py`` (one Function each, or a short
composition: relu6 is hardtanh(x, 0, 6), softmin is softmax(-x), glu a half times the
sigmoid of the other); this module adds torch's arguments: ``dim`` for softmax and friends,
and ``inplace``, which writes the result into the input as torch
does (a leaf that requires grad refuses, as in torch).
"""
from tinydl import ops
from tinydl.ops._checks import _tensor
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
    return _softmax(_cast(_tensor(input, "softmax"), dtype), axis if dim is None else dim)


def log_softmax(input, axis=-1, dim=None, dtype=None):
    """x_i - logsumexp(x) along ``axis`` (``dim`` is accepted as torch's name); ``dtype``
    casts the input first."""
    return _log_softmax(_cast(_tensor(input, "log_softmax"), dtype), axis if dim is None else dim)


def softmin(input, axis=-1, dim=None, dtype=None):
    """softmax(-x) along ``axis`` (``dim`` is torch's name); ``dtype`` casts the input first."""
    return ops.softmin(_cast(_tensor(input, "softmin"), dtype), axis if dim is None else dim)


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
