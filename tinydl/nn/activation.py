"""Activation layers, each a thin Module over the core op (``tinydl.ops``) of the same name."""

from tinydl import ops
from tinydl.nn import functional as F
from tinydl.nn.module import Module


class ReLU(Module):
    """max(x, 0). (``inplace`` is accepted for torch compatibility and ignored.)"""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha (exp(x) - 1) (Clevert et al. 2015)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return ops.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


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

    def forward(self, x):
        return F.silu(x)


class LogSigmoid(Module):
    """log(sigmoid(x)), stable."""

    def forward(self, x):
        return F.logsigmoid(x)


class Softmax(Module):
    """Softmax along ``axis`` (``dim`` accepted as torch's name)."""

    def __init__(self, axis=-1, dim=None):
        super().__init__()
        self.axis = axis if dim is None else dim

    def forward(self, x):
        return ops.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``axis``, computed stably (``dim`` accepted as torch's name)."""

    def __init__(self, axis=-1, dim=None):
        super().__init__()
        self.axis = axis if dim is None else dim

    def forward(self, x):
        return ops.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


ACTIVATIONS = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU, "softplus": Softplus,
    "sigmoid": Sigmoid, "tanh": Tanh, "silu": SiLU,
}
