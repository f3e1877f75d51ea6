"""The 3-D convolution layers ``Conv3d`` and ``ConvTranspose3d`` (torch's initialisation and
arguments); see ``tinydl.nn.functional.conv3d``."""
import numpy as np

from tinydl.nn.conv import _ConvNd
from tinydl.nn.functional.conv3d import conv3d, conv_transpose3d
from tinydl.nn.module import _layer_input
from tinydl.tensor import Tensor


class Conv3d(_ConvNd):
    """3-D convolution layer: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); weight
    (C_out, C_in/groups, kd, kh, kw); see ``F.conv3d``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float32):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 0, padding_mode, dtype)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        x, padding = self._padded_input(x)
        return conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


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


class ConvTranspose3d(_ConvNd):
    """Transposed 3-D convolution layer: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out);
    weight (C_in, C_out/groups, kd, kh, kw), initialised as torch's (fan_in from the weight:
    ``C_out/groups * kd*kh*kw``); see ``F.conv_transpose3d``. ``forward(x, output_size)``
    picks the output_padding that gives that size, as torch's."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float32):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, output_padding, padding_mode, dtype)

    def forward(self, x, output_size=None):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        output_padding = _output_padding_for(self, x, output_size, 3)
        return conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)
