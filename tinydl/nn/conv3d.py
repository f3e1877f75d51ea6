"""The 3-D convolution layer ``Conv3d`` (torch's initialisation and arguments); see
``tinydl.nn.functional.conv3d``."""
import numpy as np

from tinydl.nn.conv import _ConvNd
from tinydl.nn.functional.conv3d import conv3d
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
