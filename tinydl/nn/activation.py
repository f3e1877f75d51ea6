"""Activation layers, each a thin Module over the core op (``tinydl.ops``) of the same name.

The layers added with torch's full set (ReLU6 ... PReLU) take torch's arguments and defaults;
their ``inplace=True`` writes the result into the input, as torch's.
"""
import numpy as np

from tinydl import ops
from tinydl.nn import functional as F
from tinydl.nn.functional.activation import _activate
from tinydl.nn.init import constant_
from tinydl.nn.module import Module, Parameter, _check_size, _layer_input, _parameter_dtype
from tinydl.ops._checks import _tensor
from tinydl.ops._util import ShapeError, axis_or_dim
from tinydl.tensor import Tensor


def _inplace_repr(inplace):
    """torch's ``extra_repr`` of a layer whose only argument is ``inplace``."""
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """max(x, 0); ``inplace=True`` writes the result into the input, as torch's."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return _activate(ops.relu, x, self.inplace, "relu")

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return _activate(ops.leaky_relu, x, self.inplace, "leaky_relu", self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (
            ", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha (exp(x) - 1) (Clevert et al. 2015)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return _activate(ops.elu, x, self.inplace, "elu", self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x Phi(x) (Hendrycks & Gimpel 2016); ``approximate='tanh'`` for the tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return ops.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, x):
        return ops.tanh(x)


class SiLU(Module):
    """x * sigmoid(x) (swish)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.silu(x, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class LogSigmoid(Module):
    """log(sigmoid(x)), stable."""

    def forward(self, x):
        return F.logsigmoid(x)


class Softmax(Module):
    """Softmax along ``axis`` (``dim`` accepted as torch's name)."""

    def __init__(self, axis=-1, dim=None):
        super().__init__()
        self.axis = axis_or_dim(axis, dim, type(self).__name__)

    @property
    def dim(self):
        """torch's name of ``axis``; setting it moves the axis, as torch's ``dim`` does."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = value

    def forward(self, x):
        return ops.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``axis``, computed stably (``dim`` accepted as torch's name)."""

    def __init__(self, axis=-1, dim=None):
        super().__init__()
        self.axis = axis_or_dim(axis, dim, type(self).__name__)

    @property
    def dim(self):
        """torch's name of ``axis``; setting it moves the axis, as torch's ``dim`` does."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = value

    def forward(self, x):
        return ops.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class ReLU6(Module):
    """min(max(x, 0), 6)."""

    min_val, max_val = 0.0, 6.0  # torch's ReLU6 is a Hardtanh with these bounds

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu6(x, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class Hardtanh(Module):
    """clip(x, min_val, max_val)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val cannot be greater than max_val, got "
                             f"min_val={min_val} and max_val={max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class Hardsigmoid(Module):
    """relu6(x + 3) / 6 (MobileNetV3)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardsigmoid(x, self.inplace)


class Hardswish(Module):
    """x relu6(x + 3) / 6 (MobileNetV3)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardswish(x, self.inplace)


class SELU(Module):
    """scale (x if x > 0 else alpha (e^x - 1)) with torch's constants (Klambauer et al. 2017)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.selu(x, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class CELU(Module):
    """x if x > 0 else alpha (e^(x/alpha) - 1) (Barron 2017)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Mish(Module):
    """x tanh(softplus(x)) (Misra 2019)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.mish(x, self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace)


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return ops.softsign(x)


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, x):
        return ops.tanhshrink(x)


class Softmin(Module):
    """softmax(-x) along ``axis`` (``dim`` accepted as torch's name)."""

    def __init__(self, axis=-1, dim=None):
        super().__init__()
        self.axis = axis_or_dim(axis, dim, type(self).__name__)

    @property
    def dim(self):
        """torch's name of ``axis``; setting it moves the axis, as torch's ``dim`` does."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = value

    def forward(self, x):
        return ops.softmin(x, self.axis)

    def extra_repr(self):
        return f"dim={self.axis}"


class GLU(Module):
    """a sigmoid(b) for the two halves a, b of the input along ``dim`` (Dauphin et al. 2017)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return ops.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else a x, with a learnt slope ``a`` (He et al. 2015).

    ``weight`` has ``num_parameters`` entries, all ``init`` at first (torch's 0.25): 1 (one
    slope shared by every channel) or C, one per channel of axis 1 of an (N, C, *) input.
    ``device`` (torch's argument, before ``dtype``) may only be the CPU.
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, "PReLU")
        self.num_parameters = _check_size(num_parameters, "PReLU", "num_parameters", 1)
        self.init = init
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=dtype))

    def reset_parameters(self):
        """Refill the slopes with ``init``."""
        constant_(self.weight, self.init)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        return ops.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Hardshrink(Module):
    """x where |x| > lambd, else 0 (``F.hardshrink``)."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.hardshrink(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Module):
    """x - lambd sign(x) where |x| > lambd, else 0 (``F.softshrink``)."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Threshold(Module):
    """x where x > threshold, else value (``F.threshold``)."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return (f"threshold={self.threshold}, value={self.value}"
                + (", inplace=True" if self.inplace else ""))


class RReLU(Module):
    """Randomized leaky ReLU (Xu et al. 2015): x where x > 0, else a x, with a ~ U(lower,
    upper) per element in training (tinydl's generator) and (lower + upper) / 2 in eval
    (``F.rrelu``)."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                            else "")


class Softmax2d(Module):
    """Softmax over the channels at every pixel: axis -3 of (N, C, H, W) or (C, H, W)."""

    def forward(self, x):
        x = _tensor(x, "Softmax2d")
        if x.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, "
                             f"got shape {x.shape}")
        return ops.softmax(x, -3)


ACTIVATIONS = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU, "softplus": Softplus,
    "sigmoid": Sigmoid, "tanh": Tanh, "silu": SiLU, "relu6": ReLU6, "hardtanh": Hardtanh,
    "hardsigmoid": Hardsigmoid, "hardswish": Hardswish, "selu": SELU, "celu": CELU,
    "mish": Mish, "softsign": Softsign, "tanhshrink": Tanhshrink, "prelu": PReLU,
}
