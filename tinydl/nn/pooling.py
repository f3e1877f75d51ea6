"""Pooling layers: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d``,
``AdaptiveMaxPool1d/2d/3d``, ``LPPool1d/2d/3d``, ``MaxUnpool1d/2d/3d``,
``FractionalMaxPool2d/3d``."""
from tinydl.nn import functional as F
from tinydl.nn.functional.fractional_pool import _output_ratio as _fractional_output_ratio
from tinydl.nn.module import Module


class MaxPool2d(Module):
    """Max over kh x kw windows (stride defaults to the kernel size); see ``F.max_pool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(Module):
    """Max over windows of a sequence (N, C, L); see ``functional.max_pool1d``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kh x kw windows; see ``functional.avg_pool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        F._check_divisor(divisor_override, "AvgPool2d")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """Mean over windows of a sequence (N, C, L); see ``functional.avg_pool1d``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPool(Module):
    pool = None  # the functional form, F.adaptive_avg_pool{1,2,3}d

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return self.pool(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Average over adaptive bins to a fixed output length; see ``F.adaptive_avg_pool1d``."""

    pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average over adaptive bins to a fixed output size; see ``functional.adaptive_avg_pool2d``."""

    pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Average over adaptive bins to a fixed output size (Do, Ho, Wo); see
    ``F.adaptive_avg_pool3d``."""

    pool = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPool(Module):
    pool = None  # the functional form, F.adaptive_max_pool{1,2,3}d

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        return self.pool(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Maximum over adaptive bins to a fixed output length (with ``return_indices`` also the
    index of each maximum); see ``F.adaptive_max_pool1d``."""

    pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Maximum over adaptive bins to a fixed output size (with ``return_indices`` also the flat
    index of each maximum); see ``F.adaptive_max_pool2d``."""

    pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Maximum over adaptive bins to a fixed output size (Do, Ho, Wo) (with ``return_indices``
    also the flat index of each maximum); see ``F.adaptive_max_pool3d``."""

    pool = staticmethod(F.adaptive_max_pool3d)


class _LPPool(Module):
    pool = None  # the functional form, F.lp_pool{1,2,3}d

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return self.pool(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """Power-average pooling of sequences, ``(sum x^p) ** (1/p)`` over each window; see
    ``F.lp_pool1d``."""

    pool = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """Power-average pooling, ``(sum x^p) ** (1/p)`` over each kh x kw window; see
    ``F.lp_pool2d``."""

    pool = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    """Power-average pooling of volumes, ``(sum x^p) ** (1/p)`` over each kd x kh x kw
    window; see ``F.lp_pool3d``."""

    pool = staticmethod(F.lp_pool3d)


class _MaxUnpool(Module):
    unpool = None  # the functional form, F.max_unpool{1,2,3}d

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, input, indices, output_size=None):
        return self.unpool(input, indices, self.kernel_size, self.stride, self.padding,
                           output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """Partial inverse of ``MaxPool1d``: ``forward(input, indices, output_size=None)`` puts
    each value at its index, zero elsewhere; see ``F.max_unpool1d``."""

    unpool = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """Partial inverse of ``MaxPool2d``: ``forward(input, indices, output_size=None)`` puts
    each value at its flat index, zero elsewhere; see ``F.max_unpool2d``."""

    unpool = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    """Partial inverse of ``MaxPool3d``: ``forward(input, indices, output_size=None)`` puts
    each value at its flat index into the volume, zero elsewhere; see ``F.max_unpool3d``."""

    unpool = staticmethod(F.max_unpool3d)


class MaxPool3d(Module):
    """Max over kd x kh x kw windows (stride defaults to the kernel size; with
    ``return_indices`` also the flat index of each maximum); see ``F.max_pool3d``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def forward(self, x):
        return F.max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool3d(Module):
    """Mean over kd x kh x kw windows (stride defaults to the kernel size); see
    ``F.avg_pool3d``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool3d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _FractionalMaxPool(Module):
    """What FractionalMaxPool2d/3d share: the output size (``output_size``) or its ratio to the
    input's (``output_ratio``, each in (0, 1)), exactly one of them, checked here as torch's
    constructor does; ``_random_samples`` (N, C, n), when given, is a buffer (as torch's) and
    fixes the windows, otherwise every call draws new ones."""

    n = None
    function = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name, n = type(self).__name__, self.n
        self.kernel_size = F._tuple(kernel_size, n, name, "kernel_size", 1)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             "ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: only one of output_size and output_ratio may be specified")
        self.output_size = (None if output_size is None
                            else F._tuple(output_size, n, name, "output_size", 0))
        self.output_ratio = (None if output_ratio is None
                             else _fractional_output_ratio(output_ratio, n, name))
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, x):
        return type(self).function(x, self.kernel_size, self.output_size, self.output_ratio,
                                   self.return_indices, self._random_samples)

    def extra_repr(self):
        size = (f"output_size={self.output_size}" if self.output_size is not None
                else f"output_ratio={self.output_ratio}")
        return f"kernel_size={self.kernel_size}, {size}"


class FractionalMaxPool2d(_FractionalMaxPool):
    """Fractional max pooling of (N, C, H, W) at pseudo-random window starts; see
    ``F.fractional_max_pool2d``."""

    n = 2
    function = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPool):
    """Fractional max pooling of (N, C, D, H, W) at pseudo-random window starts; see
    ``F.fractional_max_pool3d``."""

    n = 3
    function = staticmethod(F.fractional_max_pool3d)
