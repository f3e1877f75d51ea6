"""Every differentiable op of the core, one module per family.

``elementwise``: arithmetic, exp/log family, casts, clip, maximum/minimum, where.
``activation``: tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus.
``reduce``: sum, mean, max, min, var, std, logsumexp, softmax, log_softmax.
``shape``: reshape, transpose, swapaxes, expand_dims, squeeze, flatten, broadcast_to,
concatenate, stack, split, pad. ``index``: ``t[...]``. ``linalg``: matmul.
"""
from tinydl.ops._util import held_array, unbroadcast  # noqa: F401 (held_array: Tensor.masked_fill)
from tinydl.ops.activation import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
from tinydl.ops.elementwise import (abs, add, astype, clip, copy, cos, divide, erf, exp, log,
                                    maximum, minimum, multiply, negative, power, sin, sqrt,
                                    subtract, where)
from tinydl.ops.index import getitem
from tinydl.ops.linalg import bmm, matmul, mm
from tinydl.ops import index
from tinydl.ops.reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean,
                               min, softmax, std, sum, var)
from tinydl.ops.shape import (broadcast_to, concatenate, expand_dims, flatten, pad, reshape,
                              split, squeeze, stack, swapaxes, transpose)

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "astype", "bmm", "broadcast_to", "clip",
    "concatenate", "copy", "cos", "divide", "elu", "erf", "exp", "expand_dims", "flatten",
    "gelu", "getitem", "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mm", "multiply", "negative", "pad", "power", "relu",
    "reshape", "sigmoid", "sin", "softmax", "softplus", "split", "sqrt", "squeeze", "stack",
    "std", "subtract", "sum", "swapaxes", "tanh", "transpose", "unbroadcast", "var", "where",
]

# Op families added later append their imports and names below (one block per module).
from tinydl.ops.movement import (chunk, diag, diagonal, flip, meshgrid, moveaxis,  # noqa: E402
                                 movedim, narrow, repeat, repeat_interleave, roll, tile, trace,
                                 tril, triu, unbind)
__all__ += ["chunk", "diag", "diagonal", "flip", "meshgrid", "moveaxis", "movedim", "narrow",
            "repeat", "repeat_interleave", "roll", "tile", "trace", "tril", "triu", "unbind"]
from tinydl.ops.math import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan,  # noqa: E402
                             arctan2, arctanh, asin, asinh, atan, atan2, atanh, cosh, exp2,
                             expm1, hypot, lerp, log10, log1p, log2, reciprocal, rsqrt, sinh,
                             square, tan)
from tinydl.ops.rounding import (ceil, copysign, floor, floor_divide, fmod, remainder,  # noqa: E402
                                 round, sign, trunc)
from tinydl.ops.logical import (bitwise_and, bitwise_left_shift, bitwise_not,  # noqa: E402
                                bitwise_or, bitwise_right_shift, bitwise_xor, invert, isclose,
                                isfinite, isinf, isnan, left_shift, logical_and, logical_not,
                                logical_or, logical_xor, right_shift)
__all__ += ["acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
            "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "exp2", "expm1",
            "hypot", "lerp", "log10", "log1p", "log2", "reciprocal", "rsqrt", "sinh", "square",
            "tan",
            "ceil", "copysign", "floor", "floor_divide", "fmod", "remainder", "round", "sign",
            "trunc",
            "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or",
            "bitwise_right_shift", "bitwise_xor", "invert", "isclose", "isfinite", "isinf",
            "isnan", "left_shift", "logical_and", "logical_not", "logical_or", "logical_xor",
            "right_shift"]
from tinydl.ops.activation import (celu, glu, hardsigmoid, hardswish, hardtanh,  # noqa: E402
                                   logsigmoid, mish, prelu, relu6, selu, silu, softmin,
                                   softsign, tanhshrink)
__all__ += ["celu", "glu", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "prelu",
            "relu6", "selu", "silu", "softmin", "softsign", "tanhshrink"]
from tinydl.ops.reduce import (all, any, count_nonzero, median, nanmean, nansum,  # noqa: E402
                               norm, prod, quantile)
from tinydl.ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: E402
__all__ += ["all", "any", "count_nonzero", "median", "nanmean", "nansum", "norm", "prod",
            "quantile", "cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]
from tinydl.ops.gather import (gather, index_add, index_select, scatter,  # noqa: E402
                               scatter_add, scatter_reduce, take_along_axis)
from tinydl.ops.sort import argsort, nonzero, sort, topk, unique  # noqa: E402
__all__ += ["gather", "index_add", "index_select", "scatter", "scatter_add", "scatter_reduce",
            "take_along_axis", "argsort", "nonzero", "sort", "topk", "unique"]
from tinydl.ops.linalg import (det, dot, einsum, inner, inverse, kron, logdet,  # noqa: E402
                               mv, outer, slogdet, tensordot)
__all__ += ["det", "dot", "einsum", "inner", "inverse", "kron", "logdet", "mv", "outer",
            "slogdet", "tensordot"]
from tinydl.ops.elementwise import div, mul, neg, sub, true_divide  # noqa: E402
from tinydl.ops.math import logaddexp, logaddexp2  # noqa: E402
from tinydl.ops.movement import masked_select, unflatten  # noqa: E402
__all__ += ["div", "mul", "neg", "sub", "true_divide", "logaddexp", "logaddexp2",
            "masked_select", "unflatten"]
# Special functions and the rest of NumPy's / torch's elementwise math (torch.special's own
# names, erfcx, ndtr, i1..., are in tinydl.special).
from tinydl.ops.special import (digamma, erfc, erfinv, i0, lgamma, logit,  # noqa: E402
                                mvlgamma, polygamma, sinc, xlogy)
from tinydl.ops.math import (deg2rad, float_power, fmax, fmin, frexp, ldexp,  # noqa: E402
                             rad2deg)
from tinydl.ops.rounding import fix, frac, heaviside, nextafter, sgn  # noqa: E402
from tinydl.ops.logical import gcd, lcm  # noqa: E402
from tinydl.ops.elementwise import positive, rsub  # noqa: E402
__all__ += ["digamma", "erfc", "erfinv", "i0", "lgamma", "logit", "mvlgamma", "polygamma",
            "sinc", "xlogy", "deg2rad", "float_power", "fmax", "fmin", "frexp", "ldexp",
            "rad2deg", "fix", "frac", "heaviside", "nextafter", "sgn", "gcd", "lcm", "positive",
            "rsub"]
# Comparisons and clamps, and torch's function forms of Tensor methods.
from tinydl.ops.logical import (allclose, array_equal, eq, equal, ge, greater,  # noqa: E402
                                greater_equal, gt, isin, isneginf, isposinf, le, less,
                                less_equal, lt, ne, not_equal, signbit)
from tinydl.ops.elementwise import clamp, clamp_max, clamp_min, clone, detach, pow  # noqa: E402
from tinydl.ops.shape import numel, permute, ravel, swapdims, t, unsqueeze  # noqa: E402
from tinydl.ops.movement import select  # noqa: E402
__all__ += ["allclose", "array_equal", "eq", "equal", "ge", "greater", "greater_equal", "gt",
            "isin", "isneginf", "isposinf", "le", "less", "less_equal", "lt", "ne", "not_equal",
            "signbit", "clamp", "clamp_max", "clamp_min", "clone", "detach", "pow", "numel",
            "permute", "ravel", "swapdims", "t", "unsqueeze", "select"]
from tinydl.ops.random import (bernoulli, binomial, multinomial, normal,  # noqa: E402
                               poisson)
__all__ += ["bernoulli", "binomial", "multinomial", "normal", "poisson"]
# Products, shape and array routines, order statistics, indexed writes (torch's and NumPy's).
from tinydl.ops.products import (addbmm, addcdiv, addcmul, addmm, addmv, addr,  # noqa: E402
                                 baddbmm, cross, ger, vdot)
from tinydl.ops.layout import (array_split, column_stack, combinations, diag_embed,  # noqa: E402
                               diagflat, dsplit, dstack, fliplr, flipud, hsplit, hstack, rot90,
                               row_stack, tensor_split, vsplit, vstack)
from tinydl.ops.numeric import (bincount, corrcoef, cov, diff, histc, renorm,  # noqa: E402
                                trapezoid, trapz, vander)
from tinydl.ops.order import (aminmax, kthvalue, mode, msort, nanmedian,  # noqa: E402
                              nanquantile)
from tinydl.ops.indexed import (argwhere, index_copy, index_fill, index_put,  # noqa: E402
                                masked_scatter, put, take)
__all__ += ["addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "baddbmm", "cross", "ger",
            "vdot", "array_split", "column_stack", "combinations", "diag_embed", "diagflat",
            "dsplit", "dstack", "fliplr", "flipud", "hsplit", "hstack", "rot90", "row_stack",
            "tensor_split", "vsplit", "vstack", "bincount", "corrcoef", "cov", "diff", "histc",
            "renorm", "trapezoid", "trapz", "vander", "aminmax", "kthvalue", "mode", "msort",
            "nanmedian", "nanquantile", "argwhere", "index_copy", "index_fill", "index_put",
            "masked_scatter", "put", "take"]
# NumPy's other NaN-ignoring reductions, percentiles, ptp and average.
from tinydl.ops.nanreduce import (average, nanargmax, nanargmin, nancumprod,  # noqa: E402
                                  nancumsum, nanmax, nanmin, nanpercentile, nanprod, nanstd,
                                  nanvar, percentile, ptp)
__all__ += ["average", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmin",
            "nanpercentile", "nanprod", "nanstd", "nanvar", "percentile", "ptp"]
around = round  # NumPy's alias (np.around is np.round)
__all__ += ["around"]
from tinydl.ops.numpy_math import cbrt, divmod, modf, nan_to_num  # noqa: E402
__all__ += ["cbrt", "divmod", "modf", "nan_to_num"]
from tinydl.ops.binning import bucketize, digitize, histogram, interp, searchsorted  # noqa: E402
__all__ += ["bucketize", "digitize", "histogram", "interp", "searchsorted"]
# torch's names without a NumPy twin (the reductions' pairs, dist, the consecutive unique)
from tinydl.ops.gather import take_along_dim  # noqa: E402
from tinydl.ops.reduce import dist, std_mean, var_mean  # noqa: E402
from tinydl.ops.sort import unique_consecutive  # noqa: E402
__all__ += ["take_along_dim", "dist", "std_mean", "var_mean", "unique_consecutive"]
# NumPy's array-manipulation and index routines (append, insert, delete, tril_indices...).
from tinydl.ops.numpy_more import (append, atleast_1d, atleast_2d, atleast_3d,  # noqa: E402
                                   broadcast_arrays, compress, delete, diag_indices,
                                   ediff1d, empty_like, extract, flatnonzero, geomspace,
                                   identity, indices, insert, ravel_multi_index, resize,
                                   rollaxis, tri, tril_indices, trim_zeros, triu_indices,
                                   unravel_index)
__all__ += ["append", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays", "compress",
            "delete", "diag_indices", "ediff1d", "empty_like", "extract", "flatnonzero",
            "geomspace", "identity", "indices", "insert", "ravel_multi_index", "resize",
            "rollaxis", "tri", "tril_indices", "trim_zeros", "triu_indices", "unravel_index"]
from tinydl.ops.numpy_more import (argpartition, block, choose, convolve, copyto,  # noqa: E402
                                   correlate, gradient, intersect1d, lexsort, partition, place,
                                   put_along_axis, putmask, setdiff1d, union1d)
__all__ += ["argpartition", "block", "choose", "convolve", "copyto", "correlate", "gradient",
            "intersect1d", "lexsort", "partition", "place", "put_along_axis", "putmask",
            "setdiff1d", "union1d"]
