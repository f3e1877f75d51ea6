"""The functional form of every layer and loss (``torch.nn.functional``), plus im2col/col2im.

Arguments, defaults and semantics follow ``torch.nn.functional``. This package only gathers
the families, one module each: ``linear``, ``conv``, ``pooling``, ``normalization``,
``misc`` (dropout, embedding, one_hot, interpolate), ``activation`` and ``loss``. The ops
with a Function of their own live in ``tinydl.ops`` beside their wrapper: convolution and
pooling (``ops.conv``, ``ops.pool``), ``linear`` (``ops.linear``), the softmax and binary
cross-entropies (``ops.loss``); everything else is a composition of core ops, so it is
differentiable to any order.

Shapes: images are (N, C, H, W); sequences (N, C, L); class scores (N, C) or (N, C, d1, ...).
"""
from tinydl.ops._checks import _tensor, _tuple  # noqa: F401
from tinydl.nn.functional.activation import (celu, elu, gelu, glu, hardsigmoid, hardswish,
                                             hardtanh, leaky_relu, log_softmax, logsigmoid, mish,
                                             prelu, relu, relu6, selu, sigmoid, silu, softmax,
                                             softmin, softplus, softsign, tanh, tanhshrink)
from tinydl.nn.functional.attention import scaled_dot_product_attention
from tinydl.nn.functional.conv import (_check_output_padding, col2im, conv1d,  # noqa: F401
                                       conv2d, conv2d_geometry, conv_transpose1d,
                                       conv_transpose2d, fold, im2col, unfold)
from tinydl.nn.functional.distance import cosine_similarity, normalize, pairwise_distance
from tinydl.nn.functional.linear import bilinear, linear
from tinydl.nn.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                       cross_entropy, hinge_loss, huber_loss, kl_div, l1_loss,
                                       mse_loss, nll_loss, smooth_l1_loss)
from tinydl.nn.functional.misc import dropout, embedding, interpolate, one_hot, pad, upsample
from tinydl.nn.functional.misc import max_unpool2d, pixel_shuffle, pixel_unshuffle
from tinydl.nn.functional.conv3d import avg_pool3d, conv3d, max_pool3d
from tinydl.nn.functional.normalization import batch_norm, group_norm, instance_norm, layer_norm
from tinydl.nn.functional.pooling import (_check_divisor, _pool_setup,  # noqa: F401
                                          adaptive_avg_pool2d, avg_pool1d, avg_pool2d,
                                          max_pool1d, max_pool2d)

__all__ = [
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
    "im2col", "col2im", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d",
    "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "instance_norm",
    "group_norm", "dropout", "embedding", "one_hot", "interpolate", "upsample", "relu",
    "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax",
    "silu", "logsigmoid", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss",
    "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge_loss",
    "kl_div", "pad", "relu6", "hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "mish",
    "softsign", "tanhshrink", "softmin", "glu", "prelu",
    "pixel_shuffle", "pixel_unshuffle", "max_unpool2d", "conv3d", "max_pool3d", "avg_pool3d",
]
__all__ += ["scaled_dot_product_attention", "cosine_similarity", "pairwise_distance", "normalize"]
