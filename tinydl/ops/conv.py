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

Inside the Functions the columns take one of two GEMM layouts (``Columns``; output width
innermost in both). Sample-major ``(N, C*kh*kw, Ho*Wo)``, for groups=1 and images of 512 or
more output pixels, gives the (N, F, Ho*Wo) output straight from N per-sample products and
carries the bias in a row of ones. Channel-major ``(C*kh*kw, N*Ho*Wo)``, for the rest, makes
the forward and both gradients one large GEMM each (one per group), at the price of
transposing the output and its gradient. The backward of Conv2d computes the weight
gradient first and then lets W^T @ g overwrite the forward's column buffer (same shape).

The public ``im2col``/``col2im`` use torch's ``unfold``/``fold`` layout
``(N, C*kh*kw, Ho*Wo)``. Inside the Functions, float32 columns are built and folded by the
Numba kernels ``tinydl.kernels.conv.im2col_kernel`` and ``col2im_kernel`` unless the
environment variable ``TINYDL_NUMBA=0`` is set; the NumPy code below is their reference
twin.

float32 3x3 stride-1 convolutions with 16 or more channels in and out take a third route
inside the same three Functions: Winograd's F(2x2, 3x3) (see the section below and
``tinydl.kernels.winograd``), which does 2.25x fewer multiplications. im2col remains the
reference for it (``TINYDL_NUMBA=0`` turns it off too). The large temporaries of all routes
(columns, tiles, channel-major gradients) come from ``tinydl.ops._workspace`` and go back
to it when their owner is done, so training steps reuse memory that is already mapped.
"""
import os
from collections import namedtuple

import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops import _workspace as workspace

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


def _numba_enabled():
    return os.environ.get("TINYDL_NUMBA", "1") != "0"


# The Numba im2col and col2im beat their NumPy twins on every benchmark shape, single-threaded:
# im2col 0.6-0.9x the time (the twin pads a copy of x first), col2im 0.4-0.7x (the twin makes
# one read-modify-write pass over the whole padded gradient per kernel offset; the kernel
# keeps one image plane in cache for all of them).
def _use_numba(array):
    return array.dtype == np.float32 and _numba_enabled()


class Columns:
    """A workspace buffer of im2col columns in one of the two GEMM layouts.

    * channel-major ``(C*kh*kw, N*Ho*Wo)``: the forward and both gradients are each one
      GEMM (one per group); the output and its gradient must be transposed between
      (N, F, Ho, Wo) and (F, N*Ho*Wo).
    * sample-major ``(N, rows, Ho*Wo)`` (torch's unfold layout), rows = C*kh*kw plus
      ``extra`` spare rows at the end: N smaller GEMMs (one batched ``matmul``) whose
      results are already (N, F, Ho*Wo), and a spare row of ones carries the bias through
      the forward GEMM and its gradient through the weight-gradient GEMM.

    ``buffer`` is the whole C-contiguous array; entry (row r, sample n, ho, wo) is at flat
    position ``n*sample_stride + r*row_stride + ho*Wo + wo``.
    """

    def __init__(self, n, c, geom, out_h, out_w, dtype, sample_major, extra=0):
        self.k = c * geom.kh * geom.kw
        self.shape6 = (n, c, geom.kh, geom.kw, out_h, out_w)
        self.sample_major = sample_major
        hw = out_h * out_w
        if sample_major:
            self.buffer = workspace.take((n, self.k + extra, hw), dtype)
            self.sample_stride, self.row_stride = (self.k + extra) * hw, hw
        else:
            self.buffer = workspace.take((self.k, n * hw), dtype)
            self.sample_stride, self.row_stride = hw, n * hw

    @property
    def rows(self):
        """The C*kh*kw column rows, without spare rows: (N, K, HW) or (K, N*HW)."""
        return self.buffer[:, :self.k] if self.sample_major else self.buffer

    def blocks(self):
        """A view ``[a, b, i, j, ho, wo]`` with (a, b) = (n, c) sample-major and (c, n)
        channel-major: the order in which the NumPy twins copy fastest."""
        n, c, kh, kw, out_h, out_w = self.shape6
        if self.sample_major:
            return self.rows.reshape(n, c, kh, kw, out_h, out_w)
        return self.buffer.reshape(c, kh, kw, n, out_h, out_w).transpose(0, 3, 1, 2, 4, 5)

    def fill(self, x, geom):
        """im2col of x (N, C, H, W) into the rows (Numba for float32 unless TINYDL_NUMBA=0)."""
        out_h, out_w = self.shape6[4:]
        if _use_numba(x):
            from tinydl.kernels.conv import im2col_kernel

            im2col_kernel(np.ascontiguousarray(x), *geom, out_h, out_w, self.buffer.reshape(-1),
                          self.sample_stride, self.row_stride)
        else:
            padded = _zero_pad(x, geom)
            _unfold_into(padded if self.sample_major else padded.transpose(1, 0, 2, 3),
                         self.blocks(), geom, out_h, out_w)
        return self

    def fold(self, shape, geom):
        """col2im of the rows into a new array of ``shape`` (N, C, H, W), summing overlaps."""
        out_h, out_w = self.shape6[4:]
        if _use_numba(self.buffer):
            from tinydl.kernels.conv import col2im_kernel

            out = np.empty(shape, dtype=self.buffer.dtype)
            col2im_kernel(self.buffer.reshape(-1), self.sample_stride, self.row_stride, out_h,
                          out_w, *geom, out)
            return out
        n, c, height, width = shape
        padded = np.zeros((n, c, height + 2 * geom.ph, width + 2 * geom.pw), self.buffer.dtype)
        _fold_into(self.blocks(), padded if self.sample_major else padded.transpose(1, 0, 2, 3),
                   geom, out_h, out_w)
        return np.ascontiguousarray(_crop(padded, geom, height, width))

    def give_back(self):
        workspace.give(self.buffer)


def _channel_major(a):
    """(N, F, H, W) -> (F, N*H*W): a gradient laid out as the GEMMs want it (one copy)."""
    n, f, height, width = a.shape
    out = workspace.take((f, n, height, width), a.dtype)
    out[...] = a.transpose(1, 0, 2, 3)
    return out.reshape(f, -1)


def _group_slices(total, groups):
    size = total // groups
    return [slice(g * size, (g + 1) * size) for g in range(groups)]


def _grouped_dot(a, b, groups, a_rows, b_rows, out=None):
    """Grouped product: rows ``a_rows[g]`` of the result are ``a[a_rows[g]] @ b[b_rows[g]]``.

    One BLAS call per group. ``out``, when given, must be C-contiguous of the result's shape
    and dtype and receives it; otherwise the result is a workspace buffer.
    """
    shape, dtype = (a.shape[0], b.shape[1]), np.result_type(a, b)
    if out is None:
        out = workspace.take(shape, dtype)
    elif out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"_grouped_dot: out {out.shape} {out.dtype} does not fit the "
                         f"result {shape} {dtype}")  # a bug in this module, never user input
    for rows_a, rows_b in zip(a_rows, b_rows):
        np.dot(a[rows_a], b[rows_b], out=out[rows_a])
    return out


# ---------------------------------------------------------------------------------------
# Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25x fewer multiplications.
#
# Each 2x2 block of outputs comes from a 4x4 tile of the padded input (tiles overlap by
# 2): y = A^T [(G w G^T) * (B^T d B)] A. With U = G w G^T (16, F, C) and every tile
# transformed, V = B^T d B (16, C, P) for P tiles, the channel sum is 16 stacked GEMMs
# M = U @ V, and the output transform A^T m A gives y. The gradients are the adjoints:
# with Gt = A g A^T (16, F, P), dU = Gt @ V^T (then dw = G^T dU G) and dV = U^T @ Gt (then
# dx = the overlapping sum of B dV B^T). The tile transforms are Numba kernels
# (``tinydl.kernels.winograd``, where the buffer layout is described); the products and the
# small kernel transforms are NumPy. The same three Functions below use this path for float32,
# groups=1, 3x3, stride 1, dilation 1, and at least _WINOGRAD_MIN_CHANNELS channels in and out;
# im2col stays the reference (float64, tests) and serves every other case, and
# TINYDL_NUMBA=0 turns this path off.
#
# Measured here (2 cores, float32, forward + backward with bias, same run, medians), Winograd
# against the better im2col route: (64,64,16,16)->128 72.8 vs 82.6 ms, (32,16,16,16)->16 5.6
# vs 6.2 ms, (64,16,8,8)->32 3.7 vs 4.0 ms, (32,32,32,32)->64 about even (43-50 ms each,
# noisy). With 3 input channels it took twice im2col's time (the transformed tiles are 4x
# the input, which 3 channels' GEMMs cannot amortise), hence the 16-channel floor. Running
# the transforms on both cores (Numba prange) made forward + backward 40-50% slower: their
# threads fought OpenBLAS's. float32 error is about 3e-7 of the output's scale.
# ---------------------------------------------------------------------------------------
_WINOGRAD_MIN_CHANNELS = 16
_PLANE_PAD = 16  # floats between the 16 planes of a tile buffer, against cache aliasing
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

Tiles = namedtuple("Tiles", "th tw count")
Tiles.__doc__ = """Winograd tiling of an (N, ., Ho, Wo) output: th x tw blocks of 2x2 per image."""


def _use_winograd(a, b, geom, groups, in_channels, out_channels):
    """Does a convolution of arrays a and b take the Winograd path? (See above.)"""
    return (a.dtype == np.float32 and b.dtype == np.float32 and groups == 1
            and geom.kh == 3 and geom.kw == 3 and geom.sh == 1 and geom.sw == 1
            and geom.dh == 1 and geom.dw == 1
            and min(in_channels, out_channels) >= _WINOGRAD_MIN_CHANNELS and _numba_enabled())


def _tiles(n, out_h, out_w):
    th, tw = (out_h + 1) // 2, (out_w + 1) // 2
    return Tiles(th, tw, n * th * tw)


def _tile_buffer(rows, tiles, dtype):
    """A workspace buffer (16, rows*P + pad) for ``rows`` channels of transformed tiles."""
    return workspace.take((16, rows * tiles.count + _PLANE_PAD), dtype)


def _stack(buffer, rows, tiles):
    """The 16 matrices (rows, P) of a tile buffer, as one (16, rows, P) view for ``matmul``."""
    return buffer[:, :rows * tiles.count].reshape(16, rows, tiles.count)


def _winograd_weight(w):
    """U = G w G^T for every (f, c): (F, C, 3, 3) -> (16, F, C)."""
    g = _G.astype(w.dtype)
    u = np.matmul(np.matmul(g, w), g.T)  # (F, C, 4, 4)
    return np.ascontiguousarray(u.transpose(2, 3, 0, 1)).reshape(16, w.shape[0], w.shape[1])


def _winograd_weight_grad(du):
    """dw = G^T dU G for every (f, c): (16, F, C) -> (F, C, 3, 3), the adjoint of the above."""
    g = _G.astype(du.dtype)
    du = du.reshape(4, 4, *du.shape[1:]).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(np.matmul(np.matmul(g.T, du), g))


def _winograd_input(x, geom, tiles):
    from tinydl.kernels.winograd import winograd_input

    v = _tile_buffer(x.shape[1], tiles, x.dtype)
    winograd_input(np.ascontiguousarray(x), geom.ph, geom.pw, tiles.th, tiles.tw, v)
    return v


def _winograd_grad(g, tiles):
    from tinydl.kernels.winograd import winograd_grad

    gt = _tile_buffer(g.shape[1], tiles, g.dtype)
    winograd_grad(np.ascontiguousarray(g), tiles.th, tiles.tw, gt)
    return gt


# The three routes. With groups=1, sample-major columns beat channel-major ones once an image
# has a few hundred output pixels (no transposes of the output and its gradient, and the bias
# rides in the GEMMs): forward + backward, float32, same run, sample-major / channel-major
# took 2.0/2.7 ms on (64,1,28,28)->6 k5 (576 pixels), 3.8/5.1 on (32,3,32,32)->32 k3 (1024)
# and 4.8/7.0 on (16,3,64,64)->16 k3 (4096), but 2.3/2.3 on (64,6,12,12)->16 k5 (64) and
# 2.8/2.7 on (64,8,16,16)->8 k3 (256), where the N per-sample GEMMs are small.
WINOGRAD, SAMPLE_MAJOR, CHANNEL_MAJOR = "winograd", "sample-major", "channel-major"
_SAMPLE_MAJOR_MIN_HW = 512


def _route(a, b, geom, groups, in_channels, out_channels, out_hw):
    """How a convolution of arrays a and b with output size out_hw (Ho, Wo) is computed."""
    if _use_winograd(a, b, geom, groups, in_channels, out_channels):
        return WINOGRAD
    if groups == 1 and out_hw[0] * out_hw[1] >= _SAMPLE_MAJOR_MIN_HW:
        return SAMPLE_MAJOR
    return CHANNEL_MAJOR


class _Prepared:
    """What Conv2d's backward hands to the two Functions it calls: the forward's columns of
    x (``Columns`` or a Winograd tile buffer) and the output gradient, both in ``route``'s
    layout. Conv2dWeight may leave the bias gradient in ``bias_grad`` (sample-major route:
    it falls out of the weight-gradient GEMM). A callee on another route ignores it all."""

    def __init__(self, route, cols, grad):
        self.route, self.cols, self.grad, self.bias_grad = route, cols, grad, None

    def give_back(self):
        if self.route == WINOGRAD:
            workspace.give(self.cols)
            workspace.give(self.grad)
        else:
            self.cols.give_back()
            if self.route == CHANNEL_MAJOR:
                workspace.give(self.grad)


def _conv2d_winograd(x, w, b, geom):
    from tinydl.kernels.winograd import winograd_output

    n, c, height, width = x.shape
    f = w.shape[0]
    out_h, out_w = output_size(height, width, geom)
    tiles = _tiles(n, out_h, out_w)
    v = _winograd_input(x, geom, tiles)
    m = _tile_buffer(f, tiles, x.dtype)
    np.matmul(_winograd_weight(w), _stack(v, c, tiles), out=_stack(m, f, tiles))
    out = np.empty((n, f, out_h, out_w), dtype=x.dtype)
    bias = np.zeros(f, x.dtype) if b is None else b.astype(x.dtype, copy=False)
    winograd_output(m, tiles.th, tiles.tw, bias, out)
    workspace.give(m)
    return out, v


def _conv2d_sample_major(x, w, b, geom):
    n, c, height, width = x.shape
    f = w.shape[0]
    out_h, out_w = output_size(height, width, geom)
    dtype = np.result_type(x, w)  # the bias does not promote, as on the other routes
    cols = Columns(n, c, geom, out_h, out_w, x.dtype, True, extra=int(b is not None))
    cols.fill(x, geom)
    w2 = w.reshape(f, -1)
    if b is not None:  # a row of ones in the columns and the bias as one more weight column
        cols.buffer[:, cols.k] = 1
        w2 = np.concatenate([w2.astype(dtype, copy=False),
                             b.reshape(f, 1).astype(dtype, copy=False)], axis=1)
    out = np.matmul(w2.astype(dtype, copy=False), cols.buffer.astype(dtype, copy=False))
    return out.reshape(n, f, out_h, out_w), cols


def _conv2d_channel_major(x, w, b, geom, groups):
    n, c, height, width = x.shape
    f = w.shape[0]
    out_h, out_w = output_size(height, width, geom)
    cols = Columns(n, c, geom, out_h, out_w, x.dtype, False).fill(x, geom)
    w2 = w.reshape(f, -1).astype(np.result_type(x, w), copy=False)
    out_cm = _grouped_dot(w2, cols.buffer.astype(w2.dtype, copy=False), groups,
                          _group_slices(f, groups), _group_slices(cols.k, groups))
    # (F, N, Ho, Wo) -> (N, F, Ho, Wo), adding the bias in the same pass.
    view = out_cm.reshape(f, n, out_h, out_w).transpose(1, 0, 2, 3)
    out = np.empty((n, f, out_h, out_w), dtype=out_cm.dtype)
    if b is None:
        out[...] = view
    else:
        np.add(view, b.reshape(1, f, 1, 1).astype(out.dtype, copy=False), out=out)
    workspace.give(out_cm)
    return out, cols


class Conv2d(Function):
    """``out = W @ im2col(x) + b``: x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) or None."""

    @staticmethod
    def forward(ctx, x, w, b, geom, groups):
        ctx.geom, ctx.groups = geom, groups
        out_hw = output_size(x.shape[2], x.shape[3], geom)
        ctx.route = _route(x, w, geom, groups, x.shape[1], w.shape[0], out_hw)
        if ctx.route == WINOGRAD:
            out, cols = _conv2d_winograd(x, w, b, geom)
        elif ctx.route == SAMPLE_MAJOR:
            out, cols = _conv2d_sample_major(x, w, b, geom)
        else:
            out, cols = _conv2d_channel_major(x, w, b, geom, groups)
        if ctx.records:
            ctx.cols = cols
        elif ctx.route == WINOGRAD:
            workspace.give(cols)
        else:
            cols.give_back()
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, b = ctx.inputs[:3]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        # The forward's columns (or tiles) serve the weight gradient, then their buffer
        # receives the input gradient's columns W^T @ g (same shape). ctx forgets them first,
        # so a second backward (retain_graph=True) rebuilds them instead of reading
        # overwritten ones.
        cols, ctx.cols = ctx.cols, None
        prep = None
        if (need_x or need_w) and cols is not None:
            if ctx.route == WINOGRAD:
                out_h, out_w = grad.shape[2:]
                g_prep = _winograd_grad(grad.data, _tiles(x.shape[0], out_h, out_w))
            elif ctx.route == SAMPLE_MAJOR:
                g_prep = grad.data.reshape(grad.shape[0], grad.shape[1], -1)
            else:
                g_prep = _channel_major(grad.data)
            prep = _Prepared(ctx.route, cols, g_prep)
        if need_w:
            gw = Conv2dWeight.apply(x, grad, ctx.geom, ctx.groups, prepared=prep)
        if b is not None and need_b:
            if prep is not None and prep.bias_grad is not None and not is_grad_enabled():
                gb = prep.bias_grad  # only when no graph is built: it is a constant
            else:
                gb = grad.sum(axis=(0, 2, 3))
        if need_x:
            gx = ConvTranspose2d.apply(grad, w, None, ctx.geom, ctx.groups, x.shape[2:],
                                       prepared=prep)
        if prep is not None:
            prep.give_back()
        return gx, gw, gb, None, None


class ConvTranspose2d(Function):
    """``z = col2im(W^T @ y) + b``: the adjoint of Conv2d in its input, with output size ``out_hw``.

    y (N, F, Hy, Wy), w (F, C/groups, kh, kw) (torch's ``conv_transpose2d`` weight layout,
    ``in_channels`` first), result (N, C, H, W) with ``output_size(H, W) == (Hy, Wy)``.
    ``prepared`` (from Conv2d's backward) may pass y in the GEMM layout, and a buffer the
    size of x's columns that this product may overwrite.
    """

    @staticmethod
    def forward(ctx, y, w, b, geom, groups, out_hw, prepared=None):
        n, f, in_h, in_w = y.shape
        c = w.shape[1] * groups
        route = _route(y, w, geom, groups, c, f, (in_h, in_w))
        if prepared is not None and prepared.route != route:
            prepared = None
        shape = (n, c) + tuple(out_hw)
        if route == WINOGRAD:
            from tinydl.kernels.winograd import winograd_fold

            tiles = _tiles(n, in_h, in_w)
            gt = _winograd_grad(y, tiles) if prepared is None else prepared.grad
            dv = _tile_buffer(c, tiles, y.dtype) if prepared is None else prepared.cols
            u_t = _winograd_weight(w).transpose(0, 2, 1)
            np.matmul(u_t, _stack(gt, f, tiles), out=_stack(dv, c, tiles))
            out = np.empty(shape, dtype=y.dtype)
            winograd_fold(dv, tiles.th, tiles.tw, geom.ph, geom.pw, out)
            if prepared is None:
                workspace.give(gt)
                workspace.give(dv)
        else:
            dtype = np.result_type(y, w)
            cols = prepared.cols if prepared is not None and prepared.cols.buffer.dtype == dtype \
                else Columns(n, c, geom, in_h, in_w, dtype, route == SAMPLE_MAJOR)
            w2 = w.astype(dtype, copy=False)
            if route == SAMPLE_MAJOR:
                np.matmul(np.ascontiguousarray(w2.reshape(f, -1).T), y.reshape(n, f, -1),
                          out=cols.rows)
            else:
                y_cm = _channel_major(y) if prepared is None else prepared.grad
                # Group g's block of W^T, stacked: (C*kh*kw, F/groups).
                w_t = np.ascontiguousarray(w2.reshape(groups, f // groups, -1).transpose(0, 2, 1))
                _grouped_dot(w_t.reshape(-1, f // groups), y_cm, groups,
                             _group_slices(cols.k, groups), _group_slices(f, groups),
                             out=cols.buffer)
                if prepared is None:
                    workspace.give(y_cm)
            out = cols.fold(shape, geom)
            if prepared is None or cols is not prepared.cols:
                cols.give_back()
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

    x (N, C, H, W), g (N, F, Ho, Wo) -> (F, C/groups, kh, kw). ``prepared`` (from Conv2d's
    backward) may pass the forward's columns of x and g in the GEMM layout, so neither is
    built twice.
    """

    @staticmethod
    def forward(ctx, x, g, geom, groups, prepared=None):
        n, c = x.shape[:2]
        f, out_h, out_w = g.shape[1:]
        dtype = np.result_type(x, g)
        route = _route(x, g, geom, groups, c, f, (out_h, out_w))
        if prepared is not None and prepared.route != route:
            prepared = None
        if route == WINOGRAD:
            tiles = _tiles(n, out_h, out_w)
            v = _winograd_input(x, geom, tiles) if prepared is None else prepared.cols
            gt = _winograd_grad(g, tiles) if prepared is None else prepared.grad
            du = np.matmul(_stack(gt, f, tiles), _stack(v, c, tiles).transpose(0, 2, 1))
            gw = _winograd_weight_grad(du)
            if prepared is None:
                workspace.give(v)
                workspace.give(gt)
        elif route == SAMPLE_MAJOR:
            cols = prepared.cols if prepared is not None else \
                Columns(n, c, geom, out_h, out_w, x.dtype, True).fill(x, geom)
            # (N, F, HW) @ (N, HW, rows) summed over samples; a spare row of ones in the
            # forward's columns makes the last column the bias gradient.
            total = np.matmul(g.reshape(n, f, -1), cols.buffer.transpose(0, 2, 1)).sum(axis=0)
            gw = np.ascontiguousarray(total[:, :cols.k].astype(dtype, copy=False))
            gw = gw.reshape(f, c, geom.kh, geom.kw)
            if prepared is None:
                cols.give_back()
            elif total.shape[1] > cols.k:
                prepared.bias_grad = total[:, cols.k].astype(dtype, copy=False)
        else:
            cols = prepared.cols if prepared is not None else \
                Columns(n, c, geom, out_h, out_w, x.dtype, False).fill(x, geom)
            g_cm = _channel_major(g) if prepared is None else prepared.grad
            gw = np.empty((f, cols.k // groups), dtype=dtype)
            for rows, fs in zip(_group_slices(cols.k, groups), _group_slices(f, groups)):
                np.dot(g_cm[fs], cols.buffer[rows].T, out=gw[fs])
            gw = gw.reshape(f, c // groups, geom.kh, geom.kw)
            if prepared is None:
                cols.give_back()
                workspace.give(g_cm)
        ctx.geom, ctx.groups = geom, groups
        return gw

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
