"""Max and sum pooling over 2-D windows, as differentiable Functions.

Pooling windows are the same receptive fields a convolution sees (``tinydl.ops.conv``), so
the loops here run only over the ``kh * kw`` window offsets, each a strided slice of the
padded input; never over pixels.

* **Max pooling** keeps, for every output position, which window offset won (``indices``,
  an int array of offsets in ``[0, kh*kw)``). Its gradient scatters the output gradient to
  those offsets (``MaxUnpool2d``), and the gradient of that scatter is the gather again, so
  the pair is differentiable to any order.
* **Sum pooling** is linear; its adjoint spreads each output gradient over its window.
  Average pooling is sum pooling times a divisor map (``tinydl.nn.functional.avg_pool2d``).

``out_hw`` is passed explicitly so ``ceil_mode`` windows that run past the bottom/right
edge are handled by extra padding.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops.conv import _offset_slices


def _padded(x, geom, out_h, out_w, value):
    """Pad top/left by (ph, pw) and bottom/right far enough for every window; fill ``value``."""
    n, c, height, width = x.shape
    need_h = max(height + 2 * geom.ph, (out_h - 1) * geom.sh + geom.dh * (geom.kh - 1) + 1)
    need_w = max(width + 2 * geom.pw, (out_w - 1) * geom.sw + geom.dw * (geom.kw - 1) + 1)
    if (need_h, need_w) == (height, width):
        return x
    padded = np.full((n, c, need_h, need_w), value, dtype=x.dtype)
    padded[:, :, geom.ph:geom.ph + height, geom.pw:geom.pw + width] = x
    return padded


def _windows(geom, out_h, out_w):
    """(offset number, row slice, column slice) for every window offset."""
    for i in range(geom.kh):
        for j in range(geom.kw):
            yield (i * geom.kw + j,) + _offset_slices(i, j, geom, out_h, out_w)


def _scatter(values_for_offset, shape, geom, out_h, out_w, dtype):
    """Adjoint of a window read: add ``values_for_offset(k)`` to offset k's slice, then crop."""
    n, c, height, width = shape
    need_h = max(height + 2 * geom.ph, (out_h - 1) * geom.sh + geom.dh * (geom.kh - 1) + 1)
    need_w = max(width + 2 * geom.pw, (out_w - 1) * geom.sw + geom.dw * (geom.kw - 1) + 1)
    padded = np.zeros((n, c, need_h, need_w), dtype=dtype)
    for k, rows, columns in _windows(geom, out_h, out_w):
        padded[:, :, rows, columns] += values_for_offset(k)
    return np.ascontiguousarray(padded[:, :, geom.ph:geom.ph + height, geom.pw:geom.pw + width])


class MaxPool2d(Function):
    """Max over each window: x (N, C, H, W) -> (N, C, Ho, Wo); NaN wins, as in torch.

    With ``indices`` given (window offsets, as stored by a previous call) it gathers those
    entries instead of searching, which is the gradient of ``MaxUnpool2d``.
    """

    @staticmethod
    def forward(ctx, x, geom, out_hw, indices=None):
        out_h, out_w = out_hw
        padded = _padded(x, geom, out_h, out_w, -np.inf)
        out = np.empty(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
        if indices is None:
            indices = np.zeros(out.shape, dtype=np.int32)
            for k, rows, columns in _windows(geom, out_h, out_w):
                window = padded[:, :, rows, columns]
                if k == 0:
                    out[...] = window
                    continue
                wins = (window > out) | np.isnan(window)
                np.copyto(out, window, where=wins)
                indices[wins] = k
        else:
            for k, rows, columns in _windows(geom, out_h, out_w):
                np.copyto(out, padded[:, :, rows, columns], where=indices == k)
        ctx.geom, ctx.indices, ctx.x_shape = geom, indices, x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = MaxUnpool2d.apply(grad, ctx.geom, ctx.x_shape, indices=ctx.indices)
        return gx, None, None


class MaxUnpool2d(Function):
    """Scatter ``g`` (N, C, Ho, Wo) to the window offsets ``indices``: the gradient of MaxPool2d."""

    @staticmethod
    def forward(ctx, g, geom, x_shape, indices):
        out_h, out_w = g.shape[2:]
        ctx.geom, ctx.indices = geom, indices
        return _scatter(lambda k: np.where(indices == k, g, 0), x_shape, geom, out_h, out_w, g.dtype)

    @staticmethod
    def backward(ctx, grad):
        out_hw = ctx.inputs[0].shape[2:]
        return MaxPool2d.apply(grad, ctx.geom, out_hw, indices=ctx.indices), None, None


class SumPool2d(Function):
    """Sum over each window (zero padding): x (N, C, H, W) -> (N, C, Ho, Wo)."""

    @staticmethod
    def forward(ctx, x, geom, out_hw):
        out_h, out_w = out_hw
        padded = _padded(x, geom, out_h, out_w, 0.0)
        out = np.zeros(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
        for _, rows, columns in _windows(geom, out_h, out_w):
            out += padded[:, :, rows, columns]
        ctx.geom, ctx.x_shape = geom, x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        return SumPool2dAdjoint.apply(grad, ctx.geom, ctx.x_shape), None, None


class SumPool2dAdjoint(Function):
    """Spread ``g`` (N, C, Ho, Wo) over every window: the gradient of SumPool2d."""

    @staticmethod
    def forward(ctx, g, geom, x_shape):
        out_h, out_w = g.shape[2:]
        ctx.geom = geom
        return _scatter(lambda k: g, x_shape, geom, out_h, out_w, g.dtype)

    @staticmethod
    def backward(ctx, grad):
        return SumPool2d.apply(grad, ctx.geom, ctx.inputs[0].shape[2:]), None, None
