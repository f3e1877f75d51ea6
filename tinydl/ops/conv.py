"""Convolution as im2col + one matrix product, and its gradients, as differentiable Functions.

A 2-D convolution (cross-correlation, as in every deep learning library) of ``x`` (N, C, H, W)
with ``w`` (F, C/groups, kh, kw) is

    out[n, f, ho, wo] = sum_{c, i, j} w[f, c, i, j] * xpad[n, c, ho*sh + i*dh, wo*sw + j*dw]

Unrolling every receptive field into a column (**im2col**; the course notes call it
``arr2vec``) turns this into one matrix product per sample, ``W (F, C*kh*kw) @ cols
(C*kh*kw, Ho*Wo)``. The building loop runs only over the ``kh * kw`` kernel offsets, each a
strided slice of the padded input (``tinydl.ops.window``, shared with pooling). The adjoint
of im2col, **col2im** (the notes' ``vec2arr``), adds every column entry back to the pixel it
came from; it gives the gradient with respect to the input.

Three Functions close over each other, so every derivative of a convolution is again a
convolution and gradients of any order come for free (gradgradcheck passes):

    Conv2d           y = W @ im2col(x)     dx = ConvTranspose2d(g, W), dW = Conv2dWeight(x, g)
    ConvTranspose2d  z = col2im(W^T @ y)   dy = Conv2d(g, W),          dW = Conv2dWeight(g, y)
    Conv2dWeight    dW = g @ im2col(x)^T   dx = ConvTranspose2d(g, G), dg = Conv2d(x, G)

(g the gradient of the Function's output, G that of Conv2dWeight's; a bias adds db = the sum
of g over (N, H, W).)

**Routes.** How the three products are computed is a route, chosen once per call by
``choose_route`` and kept on ``ctx``. Each route offers the same three entry points, one per
Function, on arrays:

    forward(x, w, b, geom, groups, keep)        -> y, saved    (saved: what backward reuses)
    weight_grad(x, g, geom, groups, saved=None) -> dW, db      (db when it comes for free)
    input_grad(g, w, geom, groups, hw, saved=None) -> dx       (may overwrite saved)

plus ``fits(geom, groups)`` and ``release(saved)``. ``Reference`` below is the NumPy route,
the one to read; the fast routes live in their own modules:

    reference       this file            NumPy only; every convolution when Numba is off
    sample-major    ops/conv_im2col.py   Numba im2col, N per-sample GEMMs; groups=1, big images
    channel-major   ops/conv_im2col.py   Numba im2col, one GEMM per group; the rest
    winograd        ops/conv_winograd.py F(2x2, 3x3); float32 3x3 stride 1, 16+ channels

``tinydl.backends`` switches them (Numba, Winograd, the thresholds, a forced route). On a
first-order backward, Conv2d calls its route's gradients directly, reusing the forward's
columns; with ``create_graph=True`` it records ConvTranspose2d and Conv2dWeight instead, on
the same route, so the gradient is differentiable again.

The public ``im2col``/``col2im`` (``Im2col``/``Col2im`` here) use torch's
``unfold``/``fold`` layout ``(N, C*kh*kw, Ho*Wo)``.
"""
import numpy as np

from tinydl import backends
from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops.conv_im2col import ChannelMajor, SampleMajor
from tinydl.ops.conv_winograd import Winograd
from tinydl.ops.window import Geometry, crop, fold_into, output_size, pad, unfold_into

__all__ = ["Geometry", "output_size", "im2col_array", "col2im_array", "Reference",
           "choose_route", "Conv2d", "ConvTranspose2d", "Conv2dWeight", "Im2col", "Col2im"]


def im2col_array(x, geom):
    """Patches of ``x`` (N, C, H, W) as columns ``(N, C*kh*kw, Ho*Wo)`` (torch ``unfold`` layout).

    Row ``c*kh*kw + i*kw + j`` of sample n holds kernel offset (i, j) of channel c for
    every output position, output width innermost. NumPy, any float dtype.
    """
    n, c = x.shape[:2]
    out_h, out_w = output_size(x.shape[2], x.shape[3], geom)
    cols = np.empty((n, c, geom.kh, geom.kw, out_h, out_w), dtype=x.dtype)
    unfold_into(pad(x, geom, out_h, out_w), cols, geom)
    return cols.reshape(n, c * geom.kh * geom.kw, out_h * out_w)


def col2im_array(cols, height, width, geom):
    """Fold columns ``(N, C*kh*kw, Ho*Wo)`` back into ``(N, C, H, W)``, summing overlaps.

    The adjoint of ``im2col_array`` (torch ``fold``); padding entries are dropped.
    """
    n, rows, _ = cols.shape
    c = rows // (geom.kh * geom.kw)
    out_h, out_w = output_size(height, width, geom)
    padded = np.zeros((n, c, height + 2 * geom.ph, width + 2 * geom.pw), dtype=cols.dtype)
    fold_into(cols.reshape(n, c, geom.kh, geom.kw, out_h, out_w), padded, geom)
    return np.ascontiguousarray(crop(padded, geom, height, width))


class Reference:
    """The NumPy route: columns in the unfold layout (N, C*kh*kw, L), groups as a batch axis.

    With G groups, W (F, C/G, kh, kw) is G matrices (F/G, C*kh*kw/G) and the columns of
    sample n are G blocks (C*kh*kw/G, L); ``np.matmul`` broadcasts one over the other.
    """

    name = "reference"

    @staticmethod
    def fits(geom, groups):
        return True

    @staticmethod
    def forward(x, w, b, geom, groups, keep):
        n, c = x.shape[:2]
        f = w.shape[0]
        out_h, out_w = output_size(x.shape[2], x.shape[3], geom)
        k = c // groups * geom.kh * geom.kw  # rows of one group's columns
        cols = im2col_array(x, geom).reshape(n, groups, k, out_h * out_w)
        out = np.matmul(w.reshape(groups, f // groups, k), cols)  # y = W @ im2col(x)
        out = out.reshape(n, f, out_h, out_w)
        if b is not None:
            out += b.reshape(1, f, 1, 1)
        return out, (cols if keep else None)

    @staticmethod
    def weight_grad(x, g, geom, groups, saved=None):
        n, c = x.shape[:2]
        f, out_h, out_w = g.shape[1:]
        k = c // groups * geom.kh * geom.kw
        cols = saved if saved is not None else \
            im2col_array(x, geom).reshape(n, groups, k, out_h * out_w)
        g = g.reshape(n, groups, f // groups, out_h * out_w)
        gw = np.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0)  # dW = g @ im2col(x)^T
        return gw.reshape(f, c // groups, geom.kh, geom.kw), None

    @staticmethod
    def input_grad(g, w, geom, groups, hw, saved=None):
        n, f, out_h, out_w = g.shape
        k = w.shape[1] * geom.kh * geom.kw  # rows of one group's columns
        w_t = w.reshape(groups, f // groups, k).transpose(0, 2, 1)
        cols = np.matmul(w_t, g.reshape(n, groups, f // groups, out_h * out_w))  # W^T @ g
        return col2im_array(cols.reshape(n, groups * k, out_h * out_w), hw[0], hw[1], geom)

    @staticmethod
    def release(saved):
        pass


ROUTES = {route.name: route for route in (Reference, SampleMajor, ChannelMajor, Winograd)}


def choose_route(a, b, geom, groups, in_channels, out_channels, out_hw):
    """The route of a convolution of arrays ``a`` and ``b`` (x and w, y and w, or x and g)
    whose output has ``out_hw`` pixels per image.

    A route forced by ``tinydl.backends.conv_route`` wherever it fits; otherwise the
    reference when Numba is off, Winograd for float32 3x3 stride-1 convolutions with enough
    channels, sample-major columns for groups=1 and big images, channel-major for the rest.
    """
    forced = ROUTES.get(backends.conv_route)
    if forced is not None and forced.fits(geom, groups):
        return forced
    if not backends.numba:
        return Reference
    if (backends.winograd and a.dtype == np.float32 and b.dtype == np.float32
            and min(in_channels, out_channels) >= backends.winograd_min_channels
            and Winograd.fits(geom, groups)):
        return Winograd
    if groups == 1 and out_hw[0] * out_hw[1] >= backends.sample_major_min_pixels:
        return SampleMajor
    return ChannelMajor


class Conv2d(Function):
    """``y = W @ im2col(x) + b``: x (N, C, H, W), w (F, C/groups, kh, kw), b (F,) or None.

    ``route`` (a route class) is given when this is the derivative of another convolution,
    which passes on its own.
    """

    retain_inputs = (0, 1)  # x for dW, w for dx; of b only whether it is there
    retain_output = False

    @staticmethod
    def forward(ctx, x, w, b, geom, groups, route=None):
        out_hw = output_size(x.shape[2], x.shape[3], geom)
        ctx.route = route or choose_route(x, w, geom, groups, x.shape[1], w.shape[0], out_hw)
        ctx.geom, ctx.groups = geom, groups
        # saved: x's columns (or Winograd tiles), for dW; then their buffer receives dx's.
        out, ctx.saved = ctx.route.forward(x, w, b, geom, groups, keep=ctx.records)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w, b = ctx.inputs[:3]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        route, geom, groups = ctx.route, ctx.geom, ctx.groups
        # ctx forgets the saved columns before they are overwritten, so a second backward
        # (retain_graph=True) rebuilds them.
        saved, ctx.saved = ctx.saved, None
        need_b = need_b and b is not None
        if is_grad_enabled():  # create_graph: record the gradients as convolutions
            route.release(saved)
            gx = ConvTranspose2d.apply(grad, w, None, geom, groups, x.shape[2:],
                                       route=route) if need_x else None
            gw = Conv2dWeight.apply(x, grad, geom, groups, route=route) if need_w else None
            gb = grad.sum(axis=(0, 2, 3)) if need_b else None
            return gx, gw, gb, None, None
        g = grad.data
        gw, gb = route.weight_grad(x.data, g, geom, groups, saved) if need_w else (None, None)
        if need_b and gb is None:
            gb = np.add.reduce(g, axis=(0, 2, 3))
        gx = route.input_grad(g, w.data, geom, groups, x.shape[2:], saved) if need_x else None
        route.release(saved)
        return gx, gw, gb, None, None


class ConvTranspose2d(Function):
    """``z = col2im(W^T @ y) + b``: the adjoint of Conv2d in its input, of size ``out_hw``.

    y (N, F, Hy, Wy), w (F, C/groups, kh, kw) (torch's ``conv_transpose2d`` weight layout,
    ``in_channels`` first), result (N, C, H, W) with ``output_size(H, W) == (Hy, Wy)``.
    """

    retain_inputs = (0, 1)  # y for dW, w for dy
    retain_output = False

    @staticmethod
    def forward(ctx, y, w, b, geom, groups, out_hw, route=None):
        c = w.shape[1] * groups
        ctx.route = route or choose_route(y, w, geom, groups, c, y.shape[1], y.shape[2:])
        ctx.geom, ctx.groups = geom, groups
        out = ctx.route.input_grad(y, w, geom, groups, out_hw)
        if b is not None:
            out += b.reshape(1, c, 1, 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        y, w, b = ctx.inputs[:3]
        need_y, need_w, need_b = ctx.needs_input_grad[:3]
        route, geom, groups = ctx.route, ctx.geom, ctx.groups
        gy = Conv2d.apply(grad, w, None, geom, groups, route=route) if need_y else None
        gw = Conv2dWeight.apply(grad, y, geom, groups, route=route) if need_w else None
        gb = grad.sum(axis=(0, 2, 3)) if b is not None and need_b else None
        return gy, gw, gb, None, None, None


class Conv2dWeight(Function):
    """``dW = g @ im2col(x)^T``: the weight gradient of Conv2d as a function of (x, g).

    x (N, C, H, W), g (N, F, Ho, Wo) -> (F, C/groups, kh, kw).
    """

    retain_inputs = (0, 1)  # g for dx, x for dg
    retain_output = False

    @staticmethod
    def forward(ctx, x, g, geom, groups, route=None):
        ctx.route = route or choose_route(x, g, geom, groups, x.shape[1], g.shape[1],
                                          g.shape[2:])
        ctx.geom, ctx.groups = geom, groups
        gw, _ = ctx.route.weight_grad(x, g, geom, groups)
        return gw

    @staticmethod
    def backward(ctx, grad):
        x, g = ctx.inputs[:2]
        need_x, need_g = ctx.needs_input_grad[:2]
        route, geom, groups = ctx.route, ctx.geom, ctx.groups
        gx = ConvTranspose2d.apply(g, grad, None, geom, groups, x.shape[2:],
                                   route=route) if need_x else None
        gg = Conv2d.apply(x, grad, None, geom, groups, route=route) if need_g else None
        return gx, gg, None, None


class Im2col(Function):
    """Differentiable ``im2col_array``; its gradient is ``col2im`` and vice versa."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.hw = geom, x.shape[2:]
        return im2col_array(x, geom)

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.hw, ctx.geom), None


class Col2im(Function):
    """Differentiable ``col2im_array``; its gradient is ``im2col``."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, cols, out_hw, geom):
        ctx.geom = geom
        return col2im_array(cols, out_hw[0], out_hw[1], geom)

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.geom), None, None
