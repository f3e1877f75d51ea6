"""Folding an eval-mode BatchNorm into the convolution or linear layer before it
(``torch.nn.utils.fusion``), for faster inference.

In eval mode BatchNorm is the affine map ``y = gamma (x - mean) / sqrt(var + eps) + beta``
per channel, so after ``z = W x + b`` it composes into one layer with
``W' = W * s`` (s = gamma / sqrt(var + eps), along the output channels) and
``b' = (b - mean) * s + beta``. The fused layer gives the same outputs (up to rounding)
in one pass. The results are new Parameters; no gradient flows back to the originals.
"""
import copy

import numpy as np

from tinydl.nn.module import Parameter
from tinydl.tensor import Tensor

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


class FusionError(ValueError, AssertionError):
    """Layers that cannot be fused (a ValueError; also an AssertionError, as torch raises)."""


def _array(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _requires_grad(value):
    return isinstance(value, Tensor) and value.requires_grad


def _check_eval(caller, layer, bn):
    if layer.training or bn.training:
        raise FusionError(f"{caller}: fusion is only for eval mode; call .eval() on both "
                          f"layers first ({type(layer).__name__}.training={layer.training}, "
                          f"{type(bn).__name__}.training={bn.training})")
    if bn.running_mean is None or bn.running_var is None:
        raise FusionError(f"{caller}: bn.running_mean and bn.running_var must not be None "
                          "(a BatchNorm built with track_running_stats=False has none)")


def _fold(weight, bias, bn_rm, bn_rv, bn_eps, bn_w, bn_b, scale_shape):
    """``(W * s, (b - mean) * s + beta)`` with s = gamma / sqrt(var + eps) reshaped to
    ``scale_shape`` for W; each result keeps the dtype of what it replaces."""
    w = _array(weight)
    mean = _array(bn_rm)
    b = np.zeros_like(mean) if bias is None else _array(bias)
    gamma = np.ones_like(mean) if bn_w is None else _array(bn_w)
    beta = np.zeros_like(mean) if bn_b is None else _array(bn_b)
    scale = gamma / np.sqrt(_array(bn_rv) + bn_eps)
    fused_w = (w * scale.reshape(scale_shape)).astype(w.dtype)
    fused_b = ((b - mean) * scale + beta).astype(w.dtype if bias is None else b.dtype)
    return (Parameter(fused_w, requires_grad=_requires_grad(weight)),
            Parameter(fused_b, requires_grad=_requires_grad(bias)))


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The fused convolution's ``(weight, bias)`` Parameters from the convolution's weight
    (out, in/groups, *k) and bias (or None) and BatchNorm's running mean, running variance,
    eps, weight and bias (None: 1 and 0). ``transpose``: the weight is a transposed
    convolution's (in, out/groups, *k), scaled along axis 1."""
    ndim = _array(conv_w).ndim
    shape = ((1, -1) if transpose else (-1, 1)) + (1,) * (ndim - 2)
    return _fold(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, shape)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` (eval mode) with ``bn`` (eval mode) folded into its weight and bias."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused linear layer's ``(weight, bias)`` Parameters from the layer's weight
    (out, in) and bias (or None) and BatchNorm's statistics and affine parameters."""
    return _fold(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, (-1, 1))


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` (eval mode) with the BatchNorm1d after it (eval mode) folded in.

    ``bn.num_features`` must equal ``linear.out_features``, or be 1 (one scale for all)."""
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise FusionError(f"fuse_linear_bn_eval: linear.out_features ({linear.out_features}) "
                          f"must equal bn.num_features ({bn.num_features}), or bn.num_features "
                          "must be 1")
    _check_eval("fuse_linear_bn_eval", linear, bn)
    fused = copy.deepcopy(linear)
    weight, bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    if bias.shape != (linear.out_features,):  # no linear bias and one BatchNorm feature
        # (a (1,) bias: torch's F.linear broadcasts it, tinydl's linear refuses it)
        bias = Parameter(np.broadcast_to(bias.data, (linear.out_features,)).copy(),
                         requires_grad=bias.requires_grad)
    fused.weight, fused.bias = weight, bias
    return fused
