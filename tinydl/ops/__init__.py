"""Every differentiable op of the core, one module per family.

``elementwise``: arithmetic, exp/log family, casts, clip, maximum/minimum, where.
``activation``: tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus.
``reduce``: sum, mean, max, min, var, std, logsumexp, softmax, log_softmax.
``shape``: reshape, transpose, swapaxes, expand_dims, squeeze, flatten, broadcast_to,
concatenate, stack, split, pad. ``index``: ``t[...]``. ``linalg``: matmul.
"""
from tinydl.ops._util import unbroadcast
from tinydl.ops.activation import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
from tinydl.ops.elementwise import (abs, add, astype, clip, copy, cos, divide, erf, exp, log,
                                    maximum, minimum, multiply, negative, power, sin, sqrt,
                                    subtract, where)
from tinydl.ops.index import getitem
from tinydl.ops.linalg import matmul
from tinydl.ops import index
from tinydl.ops.reduce import (argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax,
                               std, sum, var)
from tinydl.ops.shape import (broadcast_to, concatenate, expand_dims, flatten, pad, reshape,
                              split, squeeze, stack, swapaxes, transpose)

__all__ = [
    "abs", "add", "argmax", "argmin", "astype", "broadcast_to", "clip", "concatenate", "copy",
    "cos", "divide", "elu", "erf", "exp", "expand_dims", "flatten", "gelu", "getitem", "leaky_relu", "log",
    "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "multiply", "negative", "pad", "power", "relu", "reshape", "sigmoid", "sin", "softmax",
    "softplus", "split", "sqrt", "squeeze", "stack", "std", "subtract", "sum", "swapaxes",
    "tanh", "transpose", "unbroadcast", "var", "where",
]
