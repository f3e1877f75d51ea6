"""tinydl.nn: modules, layers, losses, initialisers and utilities, named as in ``torch.nn``.

``tinydl.nn.functional`` holds the functional form of every layer and loss (plus
``im2col``/``col2im``), ``tinydl.nn.init`` the initialisers, ``tinydl.nn.utils`` spectral
normalisation, gradient clipping and friends, ``tinydl.nn.toeplitz`` the
convolution-as-matrix teaching helpers.
"""
from tinydl.nn import functional, init, toeplitz, utils
from tinydl.nn.activation import (CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh,
                                  LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6,
                                  Sigmoid, SiLU, Softmax, Softmin, Softplus, Softsign, Tanh,
                                  Tanhshrink)
from tinydl.nn.attention import MultiheadAttention, TransformerEncoderLayer
from tinydl.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from tinydl.nn.dropout import Dropout
from tinydl.nn.linear import Bilinear, Identity, Linear
from tinydl.nn.losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, HuberLoss,
                              KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from tinydl.nn.losses import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                              MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                              MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
                              TripletMarginWithDistanceLoss)
from tinydl.nn.misc import Embedding, Flatten, Unflatten, Upsample
from tinydl.nn.misc import PixelShuffle, PixelUnshuffle
from tinydl.nn.mlp import MLP
from tinydl.nn.module import (IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter,
                              ParameterDict, ParameterList, Sequential, StateDictError)
from tinydl.nn.normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d,
                                     InstanceNorm2d, LayerNorm)
from tinydl.nn.normalization import BatchNorm3d, InstanceNorm3d, LocalResponseNorm, RMSNorm
from tinydl.nn.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from tinydl.nn.pooling import AvgPool3d, MaxPool3d, MaxUnpool2d
from tinydl.nn.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,
                               AdaptiveMaxPool2d, AdaptiveMaxPool3d, LPPool1d, LPPool2d,
                               LPPool3d, MaxUnpool1d, MaxUnpool3d)
from tinydl.nn.conv3d import Conv3d

__all__ = [
    "functional", "init", "toeplitz", "utils",
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "StateDictError",
    "ParameterList", "ParameterDict",
    "IncompatibleKeys",
    "Identity", "Linear", "Bilinear", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d", "GroupNorm",
    "Dropout", "Flatten", "Unflatten", "Embedding", "Upsample", "MLP",
    "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Sigmoid", "Tanh", "SiLU", "LogSigmoid",
    "Softmax", "LogSoftmax", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "SELU", "CELU",
    "Mish", "Softsign", "Tanhshrink", "Softmin", "GLU", "PReLU",
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss", "BCELoss",
    "BCEWithLogitsLoss", "HingeLoss", "KLDivLoss",
    "PixelShuffle", "PixelUnshuffle", "MaxUnpool2d", "Conv3d", "MaxPool3d", "AvgPool3d",
]
__all__ += ["MultiheadAttention", "TransformerEncoderLayer"]
__all__ += ["MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
            "MultiMarginLoss", "MultiLabelMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
            "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss"]
__all__ += ["BatchNorm3d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm",
            "AdaptiveAvgPool1d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
            "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool3d"]
from tinydl.nn.ensemble import Ensemble, ensemble, ensemble_predict

__all__ += ["Ensemble", "ensemble", "ensemble_predict"]
from tinydl.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
from tinydl.nn.activation import Hardshrink, RReLU, Softmax2d, Softshrink, Threshold
from tinydl.nn.distance import CosineSimilarity, PairwiseDistance
from tinydl.nn.dropout import AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from tinydl.nn.misc import (ChannelShuffle, Fold, Unfold, UpsamplingBilinear2d,
                            UpsamplingNearest2d)
from tinydl.nn.padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,
                               ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                               ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                               ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d)

__all__ += ["Hardshrink", "Softshrink", "Threshold", "RReLU", "Softmax2d", "CosineSimilarity",
            "PairwiseDistance", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
            "FeatureAlphaDropout", "ChannelShuffle", "Unfold", "Fold", "UpsamplingNearest2d",
            "UpsamplingBilinear2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
            "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
            "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
            "CircularPad1d", "CircularPad2d", "CircularPad3d"]
from tinydl.nn.misc import EmbeddingBag  # noqa: E402

__all__ += ["EmbeddingBag"]
from tinydl.nn.conv3d import ConvTranspose3d  # noqa: E402

__all__ += ["ConvTranspose3d"]
from tinydl.nn.attention import TransformerDecoderLayer  # noqa: E402
from tinydl.nn.transformer import Transformer, TransformerDecoder, TransformerEncoder  # noqa: E402

__all__ += ["TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]
from tinydl.nn.losses import CTCLoss  # noqa: E402

__all__ += ["CTCLoss"]
from tinydl.nn.pooling import FractionalMaxPool2d, FractionalMaxPool3d  # noqa: E402

__all__ += ["FractionalMaxPool2d", "FractionalMaxPool3d"]
from tinydl.nn.lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d,  # noqa: E402
                            LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d,
                            LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
                            LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, LazyModuleMixin,
                            UninitializedBuffer, UninitializedParameter)

__all__ += ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
            "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
            "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
            "LazyModuleMixin", "UninitializedParameter", "UninitializedBuffer"]

from tinydl.nn.parallel import DataParallel  # noqa: E402

__all__ += ["DataParallel"]
from tinydl.nn.adaptive import AdaptiveLogSoftmaxWithLoss  # noqa: E402

__all__ += ["AdaptiveLogSoftmaxWithLoss"]


def __getattr__(name):
    """``nn.SyncBatchNorm`` is ``tinydl.distributed.SyncBatchNorm`` (torch spells it both
    ways), imported on first use: tinydl.distributed builds on tinydl.nn."""
    if name == "SyncBatchNorm":
        from tinydl.distributed import SyncBatchNorm
        return SyncBatchNorm
    raise AttributeError(f"module 'tinydl.nn' has no attribute {name!r}")
