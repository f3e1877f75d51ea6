"""Window geometry shared by convolution (``tinydl.ops.conv``) and pooling (``tinydl.ops.pool``).

A window has a kernel size ``k``, stride ``s``, zero padding ``p`` and dilation ``d`` per
axis (``Geometry``). Kernel offset (i, j) of the window at output (ho, wo) reads pixel

    (ho*sh + i*dh, wo*sw + j*dw)   of the input padded by (ph, pw)

so, for one offset, the pixels that every window reads form one strided slice of the padded
input (``offsets``). Convolution and pooling therefore loop over the kh*kw offsets, never
over pixels: ``unfold_into`` copies each offset's slice out (im2col), ``fold_into`` adds it
back (col2im, the adjoint), and pooling takes a maximum or a sum over them.

The output sizes, per axis, as in torch (the one place these formulas live):

    convolution, pooling        Ho = floor((H + 2p - d(k-1) - 1) / s) + 1
    pooling with ceil_mode      ceil instead of floor, minus one if the last window would
                                start in the bottom/right padding
    transposed convolution      H  = (Ho - 1)s - 2p + d(k-1) + output_padding + 1
"""
from collections import namedtuple

import numpy as np

Geometry = namedtuple("Geometry", "kh kw sh sw ph pw dh dw")
Geometry.__doc__ = """Kernel size, stride, padding and dilation of a 2-D window, per axis."""


def axis_length(size, k, s, p, d, ceil_mode=False):
    """Output length along one axis of a window of size k, stride s, padding p, dilation d."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def output_size(height, width, geom, ceil_mode=False):
    """(Ho, Wo) of windows ``geom`` over an (H, W) input: ``floor((H + 2p - d(k-1) - 1)/s) + 1``.

    With ``ceil_mode`` (pooling) the division rounds up, but a window may not start in the
    bottom/right padding (torch's rule). Sizes below 1 mean the kernel does not fit.
    """
    return (axis_length(height, geom.kh, geom.sh, geom.ph, geom.dh, ceil_mode),
            axis_length(width, geom.kw, geom.sw, geom.pw, geom.dw, ceil_mode))


def transposed_output_size(height, width, geom, output_padding=(0, 0)):
    """(H, W) of a transposed convolution of an (Ho, Wo) input: ``(Ho-1)s - 2p + d(k-1) + op + 1``.

    The inverse of ``output_size`` when each ``output_padding`` is smaller than the stride.
    """
    return ((height - 1) * geom.sh - 2 * geom.ph + geom.dh * (geom.kh - 1) + output_padding[0] + 1,
            (width - 1) * geom.sw - 2 * geom.pw + geom.dw * (geom.kw - 1) + output_padding[1] + 1)


def offsets(geom, out_h, out_w):
    """``(i, j, rows, columns)`` for every kernel offset: the strided slices of the padded input
    that offset (i, j) reads, one pixel per output position."""
    for i in range(geom.kh):
        h0 = i * geom.dh
        rows = slice(h0, h0 + geom.sh * (out_h - 1) + 1, geom.sh)
        for j in range(geom.kw):
            w0 = j * geom.dw
            yield i, j, rows, slice(w0, w0 + geom.sw * (out_w - 1) + 1, geom.sw)


def padded_size(height, width, geom, out_h, out_w):
    """Size of the padded input: (ph, pw) on every side, and more at the bottom/right when
    ceil-mode windows run past it."""
    return (max(height + 2 * geom.ph, (out_h - 1) * geom.sh + geom.dh * (geom.kh - 1) + 1),
            max(width + 2 * geom.pw, (out_w - 1) * geom.sw + geom.dw * (geom.kw - 1) + 1))


def pad(x, geom, out_h, out_w, value=0.0):
    """``x`` (N, C, H, W) padded with ``value`` for windows ``geom`` (x itself if none needed)."""
    n, c, height, width = x.shape
    size = padded_size(height, width, geom, out_h, out_w)
    if size == (height, width):
        return x
    padded = np.full((n, c) + size, value, dtype=x.dtype)
    padded[:, :, geom.ph:geom.ph + height, geom.pw:geom.pw + width] = x
    return padded


def crop(padded, geom, height, width):
    """The (H, W) input inside a padded array: the inverse of ``pad``."""
    return padded[:, :, geom.ph:geom.ph + height, geom.pw:geom.pw + width]


def unfold_into(padded, blocks, geom):
    """``blocks[a, b, i, j] = padded[a, b, rows, columns]`` of offset (i, j), for every offset.

    ``blocks`` (A, B, kh, kw, Ho, Wo) may be any strided view (a GEMM layout's columns).
    """
    out_h, out_w = blocks.shape[4:]
    for i, j, rows, columns in offsets(geom, out_h, out_w):
        blocks[:, :, i, j] = padded[:, :, rows, columns]


def fold_into(blocks, padded, geom):
    """The adjoint of ``unfold_into``: ``padded[a, b, rows, columns] += blocks[a, b, i, j]``."""
    out_h, out_w = blocks.shape[4:]
    for i, j, rows, columns in offsets(geom, out_h, out_w):
        padded[:, :, rows, columns] += blocks[:, :, i, j]
