"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Weights start as torch's: kaiming_uniform(a=sqrt 5), i.e. U(+-1/sqrt(fan_in)), and the bias
U(+-1/sqrt(fan_in)), with fan_in computed from the weight tensor (so for transposed
convolutions it is ``out_channels/groups * prod(kernel)``, exactly as torch). Channels and
kernel sizes must be positive. The input must have the parameters' dtype: NumPy would silently
promote a float32 layer fed float64 or integers to float64, torch raises, and so do these.
"""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn.functional.conv import _conv_padding
from tinydl.nn.init import _calculate_fan_in_and_fan_out
from tinydl.nn.linear import _reset_affine
from tinydl.nn.module import Module, Parameter, _check_size, _layer_input, _parameter_dtype
from tinydl.nn.padding import check_widths
from tinydl.ops.conv import convolve
from tinydl.tensor import Tensor


def _ntuple(value, n, caller, name):
    if isinstance(value, str):
        return value
    return F._tuple(value, n, caller, name, 0)


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share. ``padding_mode`` 'reflect', 'replicate' or
    'circular' (not for transposed convolutions, as torch) pads the input with ``F.pad`` in
    that mode by the layer's padding, then convolves unpadded, as torch does. Both are read at
    every forward, so ``padding_mode`` and ``padding`` may be changed after construction, as
    torch's ``padding_mode`` may. ``device`` (torch's argument, before ``dtype``) may only be
    the CPU."""

    transposed = False

    def __init__(self, n, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, output_padding, padding_mode, device, dtype):
        super().__init__()
        name = type(self).__name__
        dtype = _parameter_dtype(dtype, device, name)
        in_channels = _check_size(in_channels, name, "in_channels", 1)
        out_channels = _check_size(out_channels, name, "out_channels", 1)
        groups = _check_size(groups, name, "groups", 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported for transposed "
                             f"convolutions (as torch), got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._tuple(kernel_size, n, name, "kernel_size", 1)
        self.stride = F._tuple(stride, n, name, "stride", 1)
        self.padding = _ntuple(padding, n, name, "padding")
        self.dilation = F._tuple(dilation, n, name, "dilation", 1)
        # padding='same' or 'valid' is checked now (torch refuses a bad one in the
        # constructor, not at the first forward)
        _conv_padding(self.padding, self.kernel_size, self.dilation, self.stride, name)
        self.output_padding = F._tuple(output_padding, n, name, "output_padding", 0)
        F._check_output_padding(self.output_padding, self.stride, self.dilation, name)
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _padded_input(self, x):
        """``(x, padding)`` for the convolution: x padded in ``padding_mode`` and no further
        padding, or x itself and the layer's zero padding. Both attributes are read here, at
        every forward, so a ``padding_mode`` or ``padding`` set after construction is used."""
        mode = self.padding_mode
        if mode == "zeros":
            return x, self.padding
        name = type(self).__name__
        if mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{mode!r}")
        starts, extra = _conv_padding(self.padding, self.kernel_size, self.dilation,
                                      self.stride, name)
        extra = extra or (0,) * len(starts)
        # F.pad's widths: (before, after) per axis, the last axis first
        widths = tuple(w for start, more in zip(starts[::-1], extra[::-1])
                       for w in (start, start + more))
        check_widths(name, mode, x, widths, len(starts))  # torch's limits, as the pad layers'
        return F.pad(x, widths, mode=mode), 0

    def _check_zeros_padding_mode(self):
        """A transposed convolution pads with zeros only; torch checks ``padding_mode`` at
        every forward (it may be set after construction), and so does this."""
        if self.padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported "
                             f"for transposed convolutions (as torch), got "
                             f"{self.padding_mode!r}")

    def reset_parameters(self):
        """Re-draw weight and bias with torch's default initialisation."""
        fan_in, _ = _calculate_fan_in_and_fan_out(self.weight)
        _reset_affine(self.weight, self.bias, fan_in)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        # (torch's rule, for 1-, 2- and 3-d: default padding, dilation and output padding
        # are left out; a padding string such as 'same' is shown)
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            text += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * len(self.output_padding):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution layer: (N, C_in, L) -> (N, C_out, L_out); see ``functional.conv1d``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 0, padding_mode, device, dtype)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        x, padding = self._padded_input(x)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """2-D convolution layer: (N, C_in, H, W) -> (N, C_out, H_out, W_out); see ``F.conv2d``."""

    _geometry_key = None  # what ``_geometry`` was built from

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 0, padding_mode, device, dtype)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        x, padding = self._padded_input(x)
        # F.conv2d's argument checks, made once: the geometry is rebuilt (and checked) only
        # when the kernel, stride, padding or dilation change.
        key = (self.weight.shape[2:], self.stride, padding, self.dilation)
        if key != self._geometry_key:
            self._geometry = F.conv2d_geometry(*key, "Conv2d")
            self._geometry_key = key
        geom, extra = self._geometry
        groups = self.groups
        if type(groups) is not int or groups < 1:
            groups = F._tuple(groups, 1, "Conv2d", "groups", 1)[0]
        return convolve(x, self.weight, self.bias, geom, groups, extra)


def _output_padding_for(layer, x, output_size, n):
    """The output_padding that makes a transposed convolution of ``x`` ``output_size`` long
    (torch's ``output_size`` argument: the n spatial sizes, or the whole output shape), or the
    layer's own output_padding when ``output_size`` is None. Each size must lie between the
    smallest output, ``(i-1)s - 2p + d(k-1) + 1``, and that plus ``s - 1``, as torch asks."""
    if output_size is None:
        return layer.output_padding
    name = type(layer).__name__
    output_size = tuple(int(v) for v in output_size)
    non_spatial = x.ndim - n
    if len(output_size) == non_spatial + n:
        output_size = output_size[non_spatial:]
    if len(output_size) != n:
        raise ValueError(f"{name}: for a {x.ndim}-D input, output_size must have {n} or "
                         f"{non_spatial + n} elements, got {len(output_size)}")
    smallest = tuple((i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in zip(
        x.shape[-n:], layer.stride, layer.padding, layer.dilation, layer.kernel_size))
    largest = tuple(m + s - 1 for m, s in zip(smallest, layer.stride))
    if not all(lo <= v <= hi for v, lo, hi in zip(output_size, smallest, largest)):
        raise ValueError(f"{name}: requested an output size of {output_size}, but valid sizes "
                         f"range from {smallest} to {largest} (for an input of shape {x.shape})")
    return tuple(v - lo for v, lo in zip(output_size, smallest))


class ConvTranspose1d(_ConvNd):
    """Transposed 1-D convolution layer; weight (C_in, C_out/groups, k). ``forward(x,
    output_size)`` picks the output_padding that gives that length, as torch's."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(1, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, output_padding, padding_mode, device, dtype)

    def forward(self, x, output_size=None):
        self._check_zeros_padding_mode()
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        output_padding = _output_padding_for(self, x, output_size, 1)
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution layer; weight (C_in, C_out/groups, kh, kw). ``forward(x,
    output_size)`` picks the output_padding that gives that size, as torch's."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(2, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, output_padding, padding_mode, device, dtype)

    def forward(self, x, output_size=None):
        self._check_zeros_padding_mode()
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        output_padding = _output_padding_for(self, x, output_size, 2)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
