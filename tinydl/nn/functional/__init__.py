"""The functional form of every layer and loss (``torch.nn.functional``), plus im2col/col2im.

Arguments, defaults and semantics follow ``torch.nn.functional``. This package only gathers
the families, one module each: ``linear``, ``conv``, ``pooling``, ``normalization``,
``misc`` (dropout, embedding, one_hot, interpolate), ``bags`` (embedding_bag),
``sampling`` (affine_grid, grid_sample), ``activation`` and ``loss``. The ops with a Function
of their own live in ``tinydl.ops`` beside their wrapper: convolution and pooling
(``ops.conv``, ``ops.pool``), ``linear`` (``ops.linear``), the softmax and binary
cross-entropies (``ops.loss``); grid_sample's (``GridSample``) is beside it in ``sampling``,
its backward written in tinydl ops; everything else is a composition of core ops, so it is
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
from tinydl.nn.functional.loss import (cosine_embedding_loss, gaussian_nll_loss,
                                       hinge_embedding_loss, margin_ranking_loss,
                                       multi_margin_loss, multilabel_margin_loss,
                                       multilabel_soft_margin_loss, poisson_nll_loss,
                                       soft_margin_loss, triplet_margin_loss,
                                       triplet_margin_with_distance_loss)
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
__all__ += ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
            "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
            "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
            "poisson_nll_loss", "gaussian_nll_loss"]
from tinydl.nn.functional.normalization import local_response_norm, rms_norm  # noqa: E402
from tinydl.nn.functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool3d,  # noqa: E402
                                          adaptive_max_pool1d, adaptive_max_pool1d_with_indices,
                                          adaptive_max_pool2d, adaptive_max_pool2d_with_indices,
                                          adaptive_max_pool3d, adaptive_max_pool3d_with_indices,
                                          lp_pool1d, lp_pool2d, max_pool1d_with_indices,
                                          max_pool2d_with_indices)
from tinydl.nn.functional.conv3d import lp_pool3d, max_pool3d_with_indices  # noqa: E402
from tinydl.nn.functional.misc import max_unpool1d, max_unpool3d  # noqa: E402
__all__ += ["rms_norm", "local_response_norm", "adaptive_avg_pool1d", "adaptive_avg_pool3d",
            "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
            "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
            "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d",
            "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
            "max_unpool1d", "max_unpool3d"]
from tinydl.nn.functional.activation import (celu_, elu_, gumbel_softmax,  # noqa: E402
                                             hardshrink, hardtanh_, leaky_relu_, relu_, rrelu,
                                             rrelu_, selu_, softshrink, threshold, threshold_)
from tinydl.nn.functional.distance import pdist  # noqa: E402
from tinydl.nn.functional.misc import (alpha_dropout, channel_shuffle, dropout1d,  # noqa: E402
                                       dropout2d, dropout3d, feature_alpha_dropout)
__all__ += ["hardshrink", "softshrink", "threshold", "rrelu", "relu_", "elu_", "leaky_relu_",
            "hardtanh_", "selu_", "celu_", "threshold_", "rrelu_", "gumbel_softmax", "pdist",
            "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
            "channel_shuffle"]
from tinydl.nn.functional.sampling import affine_grid, grid_sample  # noqa: E402
from tinydl.nn.functional.bags import embedding_bag  # noqa: E402
__all__ += ["affine_grid", "grid_sample", "embedding_bag"]
from tinydl.nn.functional.conv3d import conv_transpose3d  # noqa: E402
__all__ += ["conv_transpose3d"]
from tinydl.nn.functional.ctc import ctc_loss  # noqa: E402
__all__ += ["ctc_loss"]
from tinydl.nn.functional.fractional_pool import (  # noqa: E402
    fractional_max_pool2d, fractional_max_pool2d_with_indices, fractional_max_pool3d,
    fractional_max_pool3d_with_indices)
__all__ += ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
            "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]
from tinydl.nn.functional.attention import multi_head_attention_forward  # noqa: E402

__all__ += ["multi_head_attention_forward"]
