"""Fully connected layers: ``Identity``, ``Linear``, ``Bilinear``."""
import math

import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.module import Module, Parameter, _check_size, _layer_input, _parameter_dtype
from tinydl.tensor import Tensor


def _reset_affine(weight, bias, fan_in):
    """torch's default: kaiming_uniform(a=sqrt 5) -> U(+-1/sqrt(fan_in)) for weight and bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """``y = x W^T + b``: (..., in_features) -> (..., out_features).

    weight (out_features, in_features) and bias (out_features,) start as torch's:
    U(-1/sqrt(in_features), 1/sqrt(in_features)). Sizes may be 0 (as torch); the input must
    have the parameters' dtype (a float32 layer refuses float64 or integer input). ``device``
    (torch's argument, before ``dtype``) may only be the CPU.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, type(self).__name__)
        self.in_features = _check_size(in_features, "Linear", "in_features", 0)
        self.out_features = _check_size(out_features, "Linear", "out_features", 0)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw weight and bias with torch's default initialisation."""
        _reset_affine(self.weight, self.bias, self.in_features)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y_k = x1^T A_k x2 + b_k``: (N, in1), (N, in2) -> (N, out); init U(+-1/sqrt(in1)).
    ``device`` (torch's argument, before ``dtype``) may only be the CPU."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, "Bilinear")
        self.in1_features = _check_size(in1_features, "Bilinear", "in1_features", 0)
        self.in2_features = _check_size(in2_features, "Bilinear", "in2_features", 0)
        self.out_features = _check_size(out_features, "Bilinear", "out_features", 0)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        bound = 1.0 / math.sqrt(in1_features) if in1_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if bias:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        x1 = _layer_input(self, x1, self.weight)
        x2 = _layer_input(self, x2, self.weight)
        return F.bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
