"""The 3-D convolution layers ``Conv3d`` and ``ConvTranspose3d`` (torch's initialisation and
arguments); see ``tinydl.nn.functional.conv3d``."""
from tinydl.nn.conv import _ConvNd, _output_padding_for
from tinydl.nn.functional.conv3d import conv3d, conv_transpose3d
from tinydl.nn.module import _layer_input
from tinydl.tensor import Tensor


class Conv3d(_ConvNd):
    """3-D convolution layer: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out); weight
    (C_out, C_in/groups, kd, kh, kw); see ``F.conv3d``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, 0, padding_mode, device, dtype)

    def forward(self, x):
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        x, padding = self._padded_input(x)
        return conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class ConvTranspose3d(_ConvNd):
    """Transposed 3-D convolution layer: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out);
    weight (C_in, C_out/groups, kd, kh, kw), initialised as torch's (fan_in from the weight:
    ``C_out/groups * kd*kh*kw``); see ``F.conv_transpose3d``. ``forward(x, output_size)``
    picks the output_padding that gives that size, as torch's."""

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, output_padding, padding_mode, device, dtype)

    def forward(self, x, output_size=None):
        self._check_zeros_padding_mode()
        if type(x) is not Tensor or x.dtype != self.weight.dtype:
            x = _layer_input(self, x, self.weight)
        output_padding = _output_padding_for(self, x, output_size, 3)
        return conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)
