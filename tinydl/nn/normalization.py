"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``InstanceNorm1d/2d/3d``,
``GroupNorm``, ``RMSNorm``, ``LocalResponseNorm``.

Running statistics are buffers (``running_mean``, ``running_var``, ``num_batches_tracked``),
so they appear in ``state_dict`` under torch's names. ``momentum=None`` gives the cumulative
moving average ``1 / num_batches_tracked``, as torch.
"""
import numbers

import numpy as np

from tinydl.nn import functional as F
from tinydl.nn import init
from tinydl.nn.module import Module, Parameter, _check_size, _layer_input, _parameter_dtype
from tinydl.ops._checks import _tensor
from tinydl.tensor import Tensor


def _norm_input(layer, x, reference):
    """The layer's input as a Tensor, refused (as Conv and Linear refuse it) when its dtype is
    not that of ``reference``, the affine weight or a running statistic. With neither there is
    nothing to compare with: any floating input passes, as in torch, and only integer and bool
    input is refused."""
    if reference is not None:
        if type(x) is not Tensor or x.dtype != reference.dtype:
            x = _layer_input(layer, x, reference)
        return x
    x = _tensor(x, type(layer).__name__)
    if x.dtype.kind != "f":
        raise TypeError(f"{type(layer).__name__}: input of dtype {x.dtype} (shape {x.shape}) "
                        "must be floating point; call .float() on the input")
    return x


class _NormBase(Module):
    expected_ndim = ()
    layout = ""
    _num_batches_tracked_optional = True  # see Module.load_state_dict

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, device,
                 dtype, bias=True):
        super().__init__()
        name = type(self).__name__
        dtype = _parameter_dtype(dtype, device, name)
        num_features = _check_size(num_features, name, "num_features", 0)
        if momentum is not None and not (isinstance(momentum, numbers.Real)
                                         and 0 <= momentum <= 1):
            # (torch does not check: momentum=nan or 1.5 made the running statistics NaN or
            # garbage, and every eval-mode output with them)
            raise ValueError(f"{name}: momentum must be in [0, 1] (or None for a cumulative "
                             f"average), got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:  # bias=False (torch's keyword): a scale and no shift
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """Reset the running statistics and set weight 1, bias 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self.expected_ndim:
            raise ValueError(f"{name}: expected input of shape {self.layout}, got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels in axis 1, got "
                             f"input of shape {x.shape}")

    def _update_factor(self):
        """The momentum for this step; counts the batch when running statistics are tracked."""
        if not (self.training and self.track_running_stats):
            return 0.0 if self.momentum is None else self.momentum
        self.num_batches_tracked.data[...] += 1
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked.data)
        return self.momentum

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, x):
        self._check_input(x)
        x = _norm_input(self, x, self.running_mean if self.weight is None else self.weight)
        factor = self._update_factor()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs (Ioffe & Szegedy 2015)."""

    expected_ndim = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, per channel (Ioffe & Szegedy 2015)."""

    expected_ndim = (4,)
    layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) inputs (volumes, video), per channel (Ioffe &
    Szegedy 2015)."""

    expected_ndim = (5,)
    layout = "(N, C, D, H, W)"


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, x):
        if x.ndim == self.expected_ndim[0] - 1:  # one unbatched sample (C, *spatial), as torch
            return self.forward(x.unsqueeze(0)).squeeze(0)
        self._check_input(x)
        # Only the affine weight fixes the dtype: torch casts the running statistics to it.
        x = _norm_input(self, x, self.weight)
        # torch's rule, not BatchNorm's: momentum=None is 0 (the running statistics stay as
        # they are, no cumulative average) and num_batches_tracked is never counted.
        factor = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats, factor, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) inputs: per sample and
    channel over L."""

    expected_ndim = (3,)
    layout = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) inputs: per sample and
    channel over H, W.

    Biased variance, eps inside the square root; no affine and no running statistics by
    default, as torch.
    """

    expected_ndim = (4,)
    layout = "(N, C, H, W) or (C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) inputs: per sample
    and channel over D, H, W."""

    expected_ndim = (5,)
    layout = "(N, C, D, H, W) or (C, D, H, W)"


def _normalized_shape(normalized_shape, layer):
    """A layer's ``normalized_shape`` (an int or a sequence of ints) as a non-empty tuple."""
    if isinstance(normalized_shape, (numbers.Number, np.generic)):  # one size (2.5, True too:
        normalized_shape = (normalized_shape,)  # _check_size below names them)
    normalized_shape = tuple(normalized_shape)
    if not normalized_shape:
        raise ValueError(f"{layer}: normalized_shape must be at least 1-D (one axis or "
                         "more to normalise over), got ()")
    return tuple(_check_size(n, layer, f"normalized_shape {normalized_shape}: each entry", 0)
                 for n in normalized_shape)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` axes (Ba et al. 2016)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, "LayerNorm")
        self.normalized_shape = _normalized_shape(normalized_shape, "LayerNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        x = _norm_input(self, x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` axes (Zhang &
    Sennrich 2019): ``x / sqrt(mean(x^2) + eps) * weight``; see ``F.rms_norm``.

    ``eps=None`` (the default) is the machine epsilon of the input's dtype, as torch; the
    weight starts at 1 and there is no bias (torch has none either).
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, "RMSNorm")
        self.normalized_shape = _normalized_shape(normalized_shape, "RMSNorm")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        """Weight 1."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):
        x = _norm_input(self, x, self.weight)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalisation across neighbouring channels (Krizhevsky et al. 2012), on
    (N, C, *) inputs with at least one axis after C; see ``F.local_response_norm``. No
    parameters."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): per sample over groups of channels. ``bias=False``
    (torch's keyword) keeps the scale and drops the shift, as LayerNorm's."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        dtype = _parameter_dtype(dtype, device, "GroupNorm")
        num_groups = _check_size(num_groups, "GroupNorm", "num_groups", 1)
        num_channels = _check_size(num_channels, "GroupNorm", "num_channels", 1)
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        x = _norm_input(self, x, self.weight)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *) "
                             f"(num_channels={self.num_channels}), got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


# The layers whose parameters are a normalisation's scale and shift (every BatchNorm and
# InstanceNorm, SyncBatchNorm and the lazy ones through _NormBase): what weight decay and
# the L1/L2 penalties leave out (nn.utils.regularization, vision.models.param_groups_no_decay).
NORM_TYPES = (_NormBase, LayerNorm, GroupNorm, RMSNorm)
