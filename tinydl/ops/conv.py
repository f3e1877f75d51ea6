"""Convolution as im2col + one matrix product, and its gradients, as differentiable Functions.

A 2-D convolution (cross-correlation, as in every deep learning library) of ``x`` (N, C, H, W)
with ``w`` (F, C/groups, kh, kw) is

    out[n, f, ho, wo] = sum_{c, i, j} w[f, c, i, j] * xpad[n, c, ho*sh + i*dh, wo*sw + j*dw]

Unrolling every receptive field into a column (**im2col**; the course notes call it
``arr2vec``) turns this into one GEMM, ``W (F, C*kh*kw) @ cols (C*kh*kw, N*Ho*Wo)``. The
building loop runs only over the ``kh * kw`` kernel offsets: for each offset one strided
slice of the padded input holds that offset's pixel of every patch at once. The adjoint
of im2col, **col2im** (the notes' ``vec2arr``), adds every column entry back to the pixel it
came from; it gives the gradient with respect to the input.

Three Functions close over each other, so every derivative of a convolution is again a
convolution and gradients of any order come for free (gradgradcheck passes):

    Conv2d          y = W @ im2col(x)           dx = ConvTranspose2d(g, W),  dW = Conv2dWeight(x, g)
    ConvTranspose2d z = col2im(W^T @ y)         dy = Conv2d(g, W),           dW = Conv2dWeight(g, y)
    Conv2dWeight    dW = g @ im2col(x)^T        dx = ConvTranspose2d(g, G),  dg = Conv2d(x, G)

Inside the Functions columns are channel-major, ``(C*kh*kw, N*Ho*Wo)`` (output width
innermost), so the forward and both gradients are each one large GEMM (one per group); only
the (N, F, Ho, Wo) output and its gradient are transposed, and they are the small arrays.
The backward of Conv2d computes the weight gradient first and then lets W^T @ g overwrite
the forward's column buffer (same shape): first-touch page faults on a fresh buffer of
C*kh*kw*N*Ho*Wo floats cost about as much as filling it, and this saved 6-10% of forward +
backward on the 3x3 benchmark shapes.
The public ``im2col``/``col2im`` use torch's ``unfold``/``fold`` layout
``(N, C*kh*kw, Ho*Wo)``. For float32 and kernels of 16 or more offsets (where it measured
faster) the fold runs the Numba kernel ``tinydl.kernels.conv.col2im_kernel`` unless the
environment variable ``TINYDL_NUMBA=0`` is set; ``col2im_cm`` below is its reference twin.
"""
import os
from collections import namedtuple

import numpy as np

from tinydl.autograd import Function

Geometry = namedtuple("Geometry", "kh kw sh sw ph pw dh dw")
Geometry.__doc__ = """Kernel size, stride, padding and dilation of a 2-D convolution, per axis."""


def output_size(height, width, geom):
    """Output size of a convolution: ``floor((H + 2p - d(k-1) - 1) / s) + 1`` per axis."""
    out_h = (height + 2 * geom.ph - geom.dh * (geom.kh - 1) - 1) // geom.sh + 1
    out_w = (width + 2 * geom.pw - geom.dw * (geom.kw - 1) - 1) // geom.sw + 1
    return out_h, out_w


def _offset_slices(i, j, geom, out_h, out_w):
    """The strided slices of the padded input that kernel offset (i, j) sees in every patch."""
    h0, w0 = i * geom.dh, j * geom.dw
    return (slice(h0, h0 + geom.sh * (out_h - 1) + 1, geom.sh),
            slice(w0, w0 + geom.sw * (out_w - 1) + 1, geom.sw))


def _zero_pad(x, geom):
    if geom.ph == 0 and geom.pw == 0:
        return x
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * geom.ph, w + 2 * geom.pw), dtype=x.dtype)
    padded[:, :, geom.ph:geom.ph + h, geom.pw:geom.pw + w] = x
    return padded


def _unfold_into(padded, cols, geom, out_h, out_w):
    """``cols[a, b, i, j] = padded[a, b, offset (i, j) slice]``; cols may be any strided view."""
    for i in range(geom.kh):
        for j in range(geom.kw):
            rows, columns = _offset_slices(i, j, geom, out_h, out_w)
            cols[:, :, i, j] = padded[:, :, rows, columns]


def _fold_into(cols, padded, geom, out_h, out_w):
    """Adjoint of ``_unfold_into``: ``padded[a, b, offset (i, j) slice] += cols[a, b, i, j]``."""
    for i in range(geom.kh):
        for j in range(geom.kw):
            rows, columns = _offset_slices(i, j, geom, out_h, out_w)
            padded[:, :, rows, columns] += cols[:, :, i, j]


def _crop(padded, geom, height, width):
    return padded[:, :, geom.ph:geom.ph + height, geom.pw:geom.pw + width]


def im2col_array(x, geom):
    """Patches of ``x`` (N, C, H, W) as columns ``(N, C*kh*kw, Ho*Wo)`` (torch ``unfold`` layout).

    Row ``c*kh*kw + i*kw + j`` of sample n holds kernel offset (i, j) of channel c for
    every output position, output width innermost. NumPy, any float dtype.
    """
    n, c = x.shape[:2]
    out_h, out_w = output_size(x.shape[2], x.shape[3], geom)
    cols = np.empty((n, c, geom.kh, geom.kw, out_h, out_w), dtype=x.dtype)
    _unfold_into(_zero_pad(x, geom), cols, geom, out_h, out_w)
    return cols.reshape(n, c * geom.kh * geom.kw, out_h * out_w)


def col2im_array(cols, height, width, geom):
    """Fold columns ``(N, C*kh*kw, Ho*Wo)`` back into ``(N, C, H, W)``, summing overlaps.

    The adjoint of ``im2col_array`` (torch ``fold``); padding entries are dropped.
    """
    n, rows, _ = cols.shape
    c = rows // (geom.kh * geom.kw)
    out_h, out_w = output_size(height, width, geom)
    padded = np.zeros((n, c, height + 2 * geom.ph, width + 2 * geom.pw), dtype=cols.dtype)
    _fold_into(cols.reshape(n, c, geom.kh, geom.kw, out_h, out_w), padded, geom, out_h, out_w)
    return np.ascontiguousarray(_crop(padded, geom, height, width))


def im2col_cm(x, geom, out_h, out_w):
    """Channel-major columns ``(C*kh*kw, N*Ho*Wo)`` of ``x`` (N, C, H, W): the GEMM layout."""
    n, c = x.shape[:2]
    cols = np.empty((c, geom.kh, geom.kw, n, out_h, out_w), dtype=x.dtype)
    # Viewing both sides channel-first lets one strided copy per offset fill the buffer.
    _unfold_into(_zero_pad(x, geom).transpose(1, 0, 2, 3), cols.transpose(0, 3, 1, 2, 4, 5),
                 geom, out_h, out_w)
    return cols.reshape(c * geom.kh * geom.kw, n * out_h * out_w)


def col2im_cm(cols, shape, geom, out_h, out_w):
    """Fold channel-major columns ``(C*kh*kw, N*Ho*Wo)`` into an array of ``shape`` (N, C, H, W).

    The adjoint of ``im2col_cm``; NumPy reference twin of ``tinydl.kernels.conv.col2im_kernel``.
    """
    n, c, height, width = shape
    padded = np.zeros((n, c, height + 2 * geom.ph, width + 2 * geom.pw), dtype=cols.dtype)
    cols6 = cols.reshape(c, geom.kh, geom.kw, n, out_h, out_w)
    _fold_into(cols6.transpose(0, 3, 1, 2, 4, 5), padded.transpose(1, 0, 2, 3), geom, out_h, out_w)
    return np.ascontiguousarray(_crop(padded, geom, height, width))


# NumPy's fold makes one pass over the whole gradient per kernel offset; the kernel makes
# one pass per image plane. Measured single-threaded on the benchmark shapes, the kernel won
# for 5x5 and 7x7 kernels (0.6-0.8x the time) and lost for 3x3 (1.2-1.6x), so it is used
# from 16 offsets up.
_NUMBA_MIN_OFFSETS = 16


def _use_numba(array, geom):
    return (array.dtype == np.float32 and geom.kh * geom.kw >= _NUMBA_MIN_OFFSETS
            and os.environ.get("TINYDL_NUMBA", "1") != "0")


def _col2im_cm_fast(cols, shape, geom, out_h, out_w):
    """``col2im_cm``, through the Numba kernel for float32 kernels of 16+ offsets unless
    ``TINYDL_NUMBA=0``."""
    if not _use_numba(cols, geom):
        return col2im_cm(cols, shape, geom, out_h, out_w)
    from tinydl.kernels.conv import col2im_kernel

    n, c = shape[:2]
    out = np.empty(shape, dtype=cols.dtype)
    col2im_kernel(np.ascontiguousarray(cols).reshape(c, geom.kh, geom.kw, n, out_h, out_w),
                  *geom, out)
    return out


def _channel_major(a):
    """(N, F, H, W) -> (F, N*H*W): a gradient laid out as the GEMMs want it (one copy)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(a.shape[1], -1)


def _group_slices(total, groups):
    size = total // groups
    return [slice(g * size, (g + 1) * size) for g in range(groups)]


def _grouped_dot(a, b, groups, a_rows, b_rows, out=None):
    """Grouped product: rows ``a_rows[g]`` of the result are ``a[a_rows[g]] @ b[b_rows[g]]``.

    One BLAS call per group. (A batched ``matmul`` over the N samples was as fast on an
    idle machine but issues N multithreaded BLAS calls, each a thread barrier; on a busy
    2-core machine every barrier can wait a whole time slice.) ``out``, when given, must be
    C-contiguous of the result's shape and dtype and receives it.
    """
    shape, dtype = (a.shape[0], b.shape[1]), np.result_type(a, b)
    if out is None or out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        out = np.empty(shape, dtype=dtype)
    for rows_a, rows_b in zip(a_rows, b_rows):
        np.dot(a[rows_a], b[rows_b], out=out[rows_a])
    return out


class Conv2d(Function):
    """``out = W @ im2col(x) + b``: x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) or None."""

    @staticmethod
    def forward(ctx, x, w, b, geom, groups):
        n, c, height, width = x.shape
        f = w.shape[0]
        out_h, out_w = output_size(height, width, geom)
        cols = im2col_cm(x, geom, out_h, out_w)
        w2 = w.reshape(f, -1).astype(np.result_type(cols, w), copy=False)
        out_cm = _grouped_dot(w2, cols.astype(w2.dtype, copy=False), groups,
                              _group_slices(f, groups), _group_slices(cols.shape[0], groups))
        # (F, N, Ho, Wo) -> (N, F, Ho, Wo), adding the bias in the same pass.
        view = out_cm.reshape(f, n, out_h, out_w).transpose(1, 0, 2, 3)
        out = np.empty((n, f, out_h, out_w), dtype=out_cm.dtype)
        if b is None:
            out[...] = view
        else:
            np.add(view, b.reshape(1, f, 1, 1).astype(out.dtype, copy=False), out=out)
        ctx.geom, ctx.groups, ctx.cols = geom, groups, cols
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, b = ctx.inputs[:3]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        g_cm = _channel_major(grad.data) if need_x or need_w else None
        # The forward's columns serve the weight gradient, then their buffer receives the
        # input gradient's columns W^T @ g (same shape): a fresh buffer of that size costs
        # more in page faults than the fold itself. ctx forgets them first, so a second
        # backward (retain_graph=True) rebuilds them instead of reading overwritten ones.
        cols, ctx.cols = ctx.cols, None
        if need_w:
            gw = Conv2dWeight.apply(x, grad, ctx.geom, ctx.groups, cols=cols, g_cm=g_cm)
        if need_x:
            gx = ConvTranspose2d.apply(grad, w, None, ctx.geom, ctx.groups, x.shape[2:],
                                       y_cm=g_cm, work=cols)
        if b is not None and need_b:
            gb = grad.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None


class ConvTranspose2d(Function):
    """``z = col2im(W^T @ y) + b``: the adjoint of Conv2d in its input, with output size ``out_hw``.

    y (N, F, Hy, Wy), w (F, C/groups, kh, kw) (torch's ``conv_transpose2d`` weight layout,
    ``in_channels`` first), result (N, C, H, W) with ``output_size(H, W) == (Hy, Wy)``.
    ``y_cm`` may pass y already in channel-major layout, and ``work`` a scratch buffer
    (C*kh*kw, N*Hy*Wy) that the columns W^T @ y may overwrite (used when shape and dtype fit).
    """

    @staticmethod
    def forward(ctx, y, w, b, geom, groups, out_hw, y_cm=None, work=None):
        n, f, in_h, in_w = y.shape
        c = w.shape[1] * groups
        y_cm = _channel_major(y) if y_cm is None else y_cm
        # Group g's block of W^T, stacked: (C*kh*kw, F/groups).
        w_t = np.ascontiguousarray(w.reshape(groups, f // groups, -1).transpose(0, 2, 1))
        w_t = w_t.reshape(-1, f // groups)
        cols = _grouped_dot(w_t, y_cm, groups, _group_slices(w_t.shape[0], groups),
                            _group_slices(f, groups), out=work)
        out = _col2im_cm_fast(cols, (n, c) + tuple(out_hw), geom, in_h, in_w)
        if b is not None:
            out += b.reshape(1, c, 1, 1).astype(out.dtype, copy=False)
        ctx.geom, ctx.groups = geom, groups
        return out

    @staticmethod
    def backward(ctx, grad):
        y, w, b = ctx.inputs[:3]
        need_y, need_w, need_b = ctx.needs_input_grad[:3]
        gy = gw = gb = None
        if need_y:
            gy = Conv2d.apply(grad, w, None, ctx.geom, ctx.groups)
        if need_w:
            gw = Conv2dWeight.apply(grad, y, ctx.geom, ctx.groups)
        if b is not None and need_b:
            gb = grad.sum(axis=(0, 2, 3))
        return gy, gw, gb, None, None, None


class Conv2dWeight(Function):
    """``dW = g @ im2col(x)^T``: the weight gradient of Conv2d as a function of (x, g).

    x (N, C, H, W), g (N, F, Ho, Wo) -> (F, C/groups, kh, kw). ``cols`` and ``g_cm`` may
    pass the forward pass's columns of x and g in channel-major layout, so neither is
    built twice.
    """

    @staticmethod
    def forward(ctx, x, g, geom, groups, cols=None, g_cm=None):
        n, c = x.shape[:2]
        f, out_h, out_w = g.shape[1:]
        if cols is None:
            cols = im2col_cm(x, geom, out_h, out_w)
        g_cm = _channel_major(g) if g_cm is None else g_cm
        gw = np.empty((f, cols.shape[0] // groups), dtype=np.result_type(cols, g))
        for rows, fs in zip(_group_slices(cols.shape[0], groups), _group_slices(f, groups)):
            np.dot(g_cm[fs], cols[rows].T, out=gw[fs])
        ctx.geom, ctx.groups = geom, groups
        return gw.reshape(f, c // groups, geom.kh, geom.kw)

    @staticmethod
    def backward(ctx, grad):
        x, g = ctx.inputs[:2]
        need_x, need_g = ctx.needs_input_grad[:2]
        gx = gg = None
        if need_x:
            gx = ConvTranspose2d.apply(g, grad, None, ctx.geom, ctx.groups, x.shape[2:])
        if need_g:
            gg = Conv2d.apply(x, grad, None, ctx.geom, ctx.groups)
        return gx, gg, None, None


class Im2col(Function):
    """Differentiable ``im2col_array``; its gradient is ``col2im`` and vice versa."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.hw = geom, x.shape[2:]
        return im2col_array(x, geom)

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.hw, ctx.geom), None


class Col2im(Function):
    """Differentiable ``col2im_array``; its gradient is ``im2col``."""

    @staticmethod
    def forward(ctx, cols, out_hw, geom):
        ctx.geom = geom
        return col2im_array(cols, out_hw[0], out_hw[1], geom)

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.geom), None, None
