"""A name map that presents tinydl under tinygrad's names, to run tinygrad's op tests on tinydl.

It only renames: every entry points a tinygrad name at the tinydl function with the same
meaning (translating argument names where tinygrad's differ). tinygrad's default integer dtype
is int32 (torch's and tinydl's is int64), so the map's constructors take tinygrad's defaults;
that is the one convention the map carries over. See ../README.md for how to run the suite.
"""
import numpy as np

import tinydl as td
from tinydl import Tensor
from tinydl.nn import functional as F

from tinygrad import dtype as _dtype
from tinygrad.dtype import dtypes

__all__ = ["Device", "Tensor", "dtypes"]


class Device:
    DEFAULT = "CPU"


def _int32(t):
    return t.astype(np.int32) if t.dtype == np.int64 else t


def _np_dtype(dtype):
    return None if dtype is None else _dtype._to_np_dtype(dtype)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if s < 0:
            raise ValueError(f"negative dimension in shape {shape}")
    return shape


def _creator(fn):
    def create(*shape, dtype=None, requires_grad=None, **kwargs):
        t = fn(*_shape(shape), dtype=_np_dtype(dtype) or np.float32, **kwargs)
        if requires_grad:
            t.requires_grad_(True)
        return t
    return staticmethod(create)


def _full(shape, fill_value, dtype=None, **kwargs):
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,))
    if dtype is None:
        dtype = np.int32 if isinstance(fill_value, (int, np.integer)) and not isinstance(
            fill_value, bool) else (np.bool_ if isinstance(fill_value, bool) else np.float32)
    return td.full(shape, fill_value, dtype=_np_dtype(dtype) or dtype)


def _arange(start, stop=None, step=1, dtype=None, **kwargs):
    t = td.arange(start, stop, step) if stop is not None else td.arange(start, step=step)
    return _int32(t) if dtype is None else t.astype(_np_dtype(dtype))


def _linspace(start, stop, steps, dtype=None, **kwargs):
    if steps < 0:
        raise ValueError("linspace: number of steps must be non-negative")
    return td.linspace(start, stop, steps, dtype=_np_dtype(dtype) or np.float32)


def _eye(n, m=None, dtype=None, **kwargs):
    if n < 0 or (m is not None and m < 0):
        raise ValueError(f"eye: negative size {n}, {m}")
    return td.eye(n, m, dtype=_np_dtype(dtype) or np.float32)


def _like(fn):
    def like(t, *args, dtype=None, **kwargs):
        out = fn(t, *args, **kwargs)
        return out if dtype is None else out.astype(_np_dtype(dtype))
    return like


def _realize(self, *others):
    return self


def _gradient(self, *targets):
    return list(td.grad(self, list(targets), allow_unused=True))


def _conv2d(x, weight, bias=None, groups=1, stride=1, dilation=1, padding=0, **kwargs):
    fn = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}.get(x.ndim, F.conv2d)
    return fn(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv_transpose2d(x, weight, bias=None, groups=1, stride=1, dilation=1, padding=0,
                      output_padding=0, **kwargs):
    fn = {3: F.conv_transpose1d, 4: F.conv_transpose2d}.get(x.ndim, F.conv_transpose2d)
    return fn(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
              groups=groups, dilation=dilation)


def _pool(fn):
    def pool(x, kernel_size=(2, 2), stride=None, dilation=1, padding=0, ceil_mode=False,
             **kwargs):
        names = {"count_include_pad": "count_include_pad", "return_indices": "return_indices"}
        extra = {names[k]: v for k, v in kwargs.items() if k in names}
        if fn is F.avg_pool2d or fn is F.avg_pool1d or fn is F.avg_pool3d:
            return fn(x, kernel_size, stride, padding, ceil_mode=ceil_mode, **extra)
        return fn(x, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, **extra)
    return pool


def _max_pool(x, *args, **kwargs):
    fn = {3: F.max_pool1d, 4: F.max_pool2d, 5: F.max_pool3d}[x.ndim]
    return _pool(fn)(x, *args, **kwargs)


def _avg_pool(x, *args, **kwargs):
    fn = {3: F.avg_pool1d, 4: F.avg_pool2d, 5: F.avg_pool3d}[x.ndim]
    return _pool(fn)(x, *args, **kwargs)


def _interpolate(x, size, mode="linear", align_corners=False):
    dims = x.ndim - 2
    if mode == "linear":
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[dims]
    return F.interpolate(x, size=size, mode=mode,
                         align_corners=align_corners if mode not in ("nearest", "nearest-exact") else None)


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, enable_gqa=False, **kwargs):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                                          is_causal=is_causal, enable_gqa=enable_gqa)


def _sequential(self, layers):
    for layer in layers:
        self = layer(self)
    return self


def _quick_gelu(self):
    return self * td.sigmoid(self * 1.702)


_MAP = {
    "realize": _realize,
    "gradient": _gradient,
    "conv2d": _conv2d,
    "conv_transpose2d": _conv_transpose2d,
    "max_pool2d": _max_pool,
    "avg_pool2d": _avg_pool,
    "interpolate": _interpolate,
    "scaled_dot_product_attention": _sdpa,
    "sequential": _sequential,
    "quick_gelu": _quick_gelu,
    "swish": lambda self: td.silu(self),
    "idiv": lambda self, other: td.div(self, other, rounding_mode="trunc"),
    "mod": lambda self, other: td.remainder(self, other),
    "logaddexp": lambda self, other: td.logaddexp(self, other),
    "cat": lambda self, *others, dim=0: td.cat([self, *others], dim=dim),
    "stack": lambda self, *others, dim=0: td.stack([self, *others], dim=dim),
    "max_unpool2d": lambda x, indices, kernel_size=(2, 2), stride=None, dilation=1, padding=0,
    output_size=None: F.max_unpool2d(x, indices, kernel_size, stride, padding, output_size),
    "zeros": _creator(td.zeros),
    "ones": _creator(td.ones),
    "empty": _creator(td.empty),
    "rand": _creator(td.rand),
    "randn": _creator(td.randn),
    "full": staticmethod(_full),
    "arange": staticmethod(_arange),
    "linspace": staticmethod(_linspace),
    "eye": staticmethod(_eye),
    "zeros_like": _like(td.zeros_like),
    "ones_like": _like(td.ones_like),
    "full_like": _like(td.full_like),
}

for _name, _fn in _MAP.items():
    setattr(Tensor, _name, _fn)


def _static(name, fn):
    # tinygrad calls some ops on the class (Tensor.einsum(...), Tensor.stack(...)).
    if not hasattr(Tensor, name) or name in ("einsum", "dot", "stack", "cat", "maximum",
                                             "minimum", "copysign", "cumsum", "cumprod",
                                             "cummax", "logaddexp"):
        setattr(Tensor, name, fn)


_static("einsum", staticmethod(lambda formula, *operands, **kw: td.einsum(
    formula, *(operands[0] if len(operands) == 1 and isinstance(operands[0], (list, tuple))
               else operands))))
_static("stack", lambda self, *others, dim=0: td.stack(
    ([*self, *others] if isinstance(self, (list, tuple)) else [self, *others]), dim=dim))
_static("cat", lambda self, *others, dim=0: td.cat(
    ([*self, *others] if isinstance(self, (list, tuple)) else [self, *others]), dim=dim))
# tinygrad's dot is matmul (NumPy's and tinydl's dot contracts differently past 2-D).
_static("dot", lambda self, other: td.matmul(self, other))
for _name in ("maximum", "minimum", "copysign", "cumsum", "cumprod"):
    _f = getattr(td, _name)
    _static(_name, (lambda f: lambda self, *a, **k: f(self, *a, **k))(_f))
# tinygrad's cummax returns the values only (torch's and tinydl's: values and indices).
_static("cummax", lambda self, axis=0: td.cummax(self, axis)[0])


# tinygrad's names for torch.nn.functional's losses and helpers (tinygrad has them on Tensor).
def _pad(self, padding, mode="constant", value=0.0):
    if len(padding) and isinstance(padding[0], (tuple, list)) or any(p is None for p in padding):
        pairs = [(0, 0) if p is None else tuple(p) for p in padding]
        flat = [v for pair in reversed(pairs) for v in pair]
        padding = flat
    return F.pad(self, tuple(padding), mode=mode, value=value if mode == "constant" else None)


def _std_mean(self, axis=None, keepdim=False, correction=1):
    return (td.std(self, axis=axis, keepdims=keepdim, ddof=correction),
            td.mean(self, axis=axis, keepdims=keepdim))


_LOSSES = {
    "pad": _pad,
    # tinygrad's where is the condition's method: cond.where(a, b) (torch's: a.where(cond, b))
    "where": lambda self, a, b: td.where(self, a, b),
    # tinygrad's gelu is the tanh form
    "gelu": lambda self: td.gelu(self, approximate="tanh"),
    "logcumsumexp": lambda self, axis=0: td.logcumsumexp(self, axis),
    "cast": lambda self, dtype: self.astype(_np_dtype(dtype)),
    "lshift": lambda self, n: self << n,
    "rshift": lambda self, n: self >> n,
    "std_mean": _std_mean,
    "one_hot": lambda self, num_classes=-1: F.one_hot(self, num_classes),
    "meshgrid": lambda self, *others, indexing="ij": td.meshgrid(self, *others, indexing=indexing),
    "nll_loss": lambda self, Y, weight=None, ignore_index=None, reduction="mean": F.nll_loss(
        self, Y, weight=weight, ignore_index=-100 if ignore_index is None else ignore_index,
        reduction=reduction),
    "cross_entropy": lambda self, Y, reduction="mean", label_smoothing=0.0: F.cross_entropy(
        self, Y, reduction=reduction, label_smoothing=label_smoothing),
    "sparse_categorical_crossentropy": lambda self, Y, ignore_index=-1, label_smoothing=0.0,
    reduction="mean": F.cross_entropy(self, Y, ignore_index=ignore_index,
                                      label_smoothing=label_smoothing, reduction=reduction),
    "binary_crossentropy": lambda self, Y, reduction="mean": F.binary_cross_entropy(
        self, Y, reduction=reduction),
    "binary_crossentropy_logits": lambda self, Y, reduction="mean", pos_weight=None:
    F.binary_cross_entropy_with_logits(self, Y, reduction=reduction, pos_weight=pos_weight),
    "randint": staticmethod(lambda *shape, low=0, high=10, dtype=None, **kw: td.randint(
        low, high, _shape(shape)).astype(_np_dtype(dtype) or np.int32)),
}
for _name, _fn in _LOSSES.items():
    setattr(Tensor, _name, _fn)

# Activations tinygrad calls on the class (Tensor.silu(x)); tinydl has them as functions.
for _name in ("softsign", "silu", "selu", "relu6", "mish", "hardtanh", "hardswish",
              "hardsigmoid", "logsigmoid", "celu", "elu", "leaky_relu", "softplus",
              "sigmoid", "erf"):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, (lambda f: lambda self, *a, **k: f(self, *a, **k))(getattr(td, _name)))
