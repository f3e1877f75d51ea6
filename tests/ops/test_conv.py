"""Convolution rows of the op table: conv1d, conv2d, conv_transpose2d and their weight
gradients, each checked on every route.

>>> CONVOLUTION ROWS GO HERE. <<<
The convolution routes (the NumPy reference in tinydl/ops/conv.py, im2col, Winograd) are being
split into modules with a ``tinydl.backends`` switch to choose between them. Once that switch
exists, add one row per (op, route) to ``CASES``, with ``context=`` entering the route's
``tinydl.backends`` setting, so that every check of the table (forward in float32 and float64,
torch, gradcheck, gradgradcheck, non-contiguous, size-0) runs on every route, e.g.::

    OpCase(f"conv2d_stride2[{route}]", lambda x, w, b: F.conv2d(x, w, b, stride=2),
           reference_conv2d, [(2, 3, 7, 7), (4, 3, 3, 3), (4,)],
           torch=lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=2),
           context=lambda: <the tinydl.backends setting for route>)

Until then the table has no rows here, and ``TestConv`` generates no tests.
"""
from tests.ops._table import OpTable

CASES = []


class TestConv(OpTable):
    cases = CASES
