"""Max and sum pooling over 2-D windows, as differentiable Functions.

Pooling windows are the same receptive fields a convolution sees, with the same geometry
(``tinydl.ops.conv``), so the loops here run only over the ``kh * kw`` window offsets,
each a strided slice of the padded input; never over pixels.

* **Max pooling** keeps, for every output position, which window offset won (``indices``,
  an int array of offsets in ``[0, kh*kw)``). Its gradient scatters the output gradient to
  those offsets (``MaxUnpool2d``), and the gradient of that scatter is the gather again, so
  the pair is differentiable to any order. For float32 both run the one-pass Numba kernels
  of ``tinydl.kernels.pool`` unless ``tinydl.backends.numba`` is off (then the NumPy code
  below, their twin, runs), with a fast path for plain 2x2 windows of stride 2.
* **Sum pooling** is linear; its adjoint spreads each output gradient over its window.
  Average pooling is sum pooling times a divisor map (``tinydl.nn.functional.avg_pool2d``).

``out_hw`` is passed explicitly so ``ceil_mode`` windows that run past the bottom/right
edge are handled by extra padding (``tinydl.ops.conv.pad``).
"""
import numpy as np

from tinydl import backends
from tinydl.autograd import Function, depends_on
from tinydl.ops.conv import crop, image_chunks, in_parallel, offsets, pad, padded_size


def _use_numba(array):
    return array.dtype == np.float32 and backends.numba


def _plain_2x2(geom):
    """2x2 windows, stride 2, no padding or dilation: the kernels' fast path."""
    return tuple(geom) == (2, 2, 2, 2, 0, 0, 1, 1)


# Window positions (output elements x kh*kw) from which the general kernels split their
# images between threads (tinydl.ops.conv.in_parallel). A position costs the kernel about 2 ns
# here, over a hundred times a GEMM's multiply-add, so this is far below the convolutions'
# PARALLEL_MIN_WORK: about 0.3 ms of serial work. Measured with two threads, 3x3 windows:
# (16, 64, 56, 56) stride 2 forward 16.1 -> 8.2 ms (torch 13.8 ms), (32, 64, 28, 28) stride 1
# 31.8 -> 16.1 ms (torch 22.2 ms).
POOL_PARALLEL_MIN_WORK = 1 << 17


def _by_images(run, n, per_image_bytes, work):
    """``run(n0, n1)`` over chunks of the n images (``tinydl.ops.conv.image_chunks``), shared
    between threads when ``work`` (window positions) reaches ``POOL_PARALLEL_MIN_WORK``; each
    chunk writes its own images only."""
    todo = image_chunks(n, per_image_bytes)

    def part(claim):
        for n0, n1 in map(todo.__getitem__, iter(claim, None)):
            run(n0, n1)

    in_parallel(part, len(todo), work, POOL_PARALLEL_MIN_WORK)


def _windows(geom, out_h, out_w):
    """(offset number k = i*kw + j, row slice, column slice) for every window offset."""
    for i, j, rows, columns in offsets(geom, out_h, out_w):
        yield i * geom.kw + j, rows, columns


def _overlapping(geom):
    return geom.sh < geom.dh * (geom.kh - 1) + 1 or geom.sw < geom.dw * (geom.kw - 1) + 1


def _scatter(values_for_offset, shape, geom, out_h, out_w, dtype):
    """Adjoint of a window read: add offset k's values to offset k's slice, then crop.

    ``values_for_offset(k, out)`` writes offset k's values into ``out`` (a strided view of
    the padded result) or, with ``out=None``, returns them.
    """
    n, c, height, width = shape
    padded = np.zeros((n, c) + padded_size(height, width, geom, out_h, out_w), dtype=dtype)
    overlapping = _overlapping(geom)
    for k, rows, columns in _windows(geom, out_h, out_w):
        if overlapping:
            padded[:, :, rows, columns] += values_for_offset(k, None)
        else:
            # Disjoint windows: every input pixel is written once, straight into place.
            values_for_offset(k, padded[:, :, rows, columns])
    return np.ascontiguousarray(crop(padded, geom, height, width))


def max_pool_offsets(x, geom, out_hw):
    """Window maxima of ``x`` and which offset k = i*kw + j held each one.

    NaN wins (``np.maximum`` propagates it, as torch's max pooling does) and of several NaNs
    the last one; among tied numbers the first offset wins. Both as in torch, whose running
    maximum is replaced by a NaN or a strictly larger value.
    """
    out_h, out_w = out_hw
    padded = pad(x, geom, out_h, out_w, _lowest(x.dtype))
    windows = list(_windows(geom, out_h, out_w))
    out = padded[:, :, windows[0][1], windows[0][2]].copy()
    for _, rows, columns in windows[1:]:
        np.maximum(out, padded[:, :, rows, columns], out=out)
    indices = np.zeros(out.shape, dtype=np.int16)
    # Scanning the offsets from last to first leaves the first one holding the maximum.
    for k, rows, columns in reversed(windows):
        np.copyto(indices, k, where=padded[:, :, rows, columns] == out)
    if np.isnan(out).any():
        # NaN never equals out; scanning first to last leaves the last NaN.
        for k, rows, columns in windows:
            np.copyto(indices, k, where=np.isnan(padded[:, :, rows, columns]))
    if np.isneginf(out).any():
        # A window whose values are all -inf: the padding (-inf too) must not win; torch's
        # running maximum starts at the window's first position inside the input.
        np.copyto(indices, _first_inside(geom, out_h, out_w), where=np.isneginf(out))
    return out, indices


def _lowest(dtype):
    """The padding of max pooling, which never wins: -inf, or an integer dtype's smallest
    value (-inf cast to an integer is undefined; NumPy warns and gives that value here)."""
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def _first_inside(geom, out_h, out_w):
    """(out_h, out_w) offsets k = i*kw + j of each window's first position inside the
    input: the smallest i (and j) whose row (column) is not in the leading padding."""
    kh, kw, sh, sw, ph, pw, dh, dw = geom
    i = np.clip(-((np.arange(out_h) * sh - ph) // dh), 0, kh - 1)  # ceil((ph - ho*sh) / dh)
    j = np.clip(-((np.arange(out_w) * sw - pw) // dw), 0, kw - 1)
    return (i[:, None] * kw + j[None, :]).astype(np.int16)


class MaxPool2d(Function):
    """Max over each window: x (N, C, H, W) -> (N, C, Ho, Wo).

    With ``indices`` given (window offsets from ``max_pool_offsets``) it gathers those
    entries instead of searching, which is also the gradient of ``MaxUnpool2d``.
    """

    retain_inputs = ()  # backward needs only the window offsets that won
    retain_output = False

    @staticmethod
    def forward(ctx, x, geom, out_hw, indices=None):
        if indices is None and _use_numba(x):
            kernels = backends.kernel_module("pool")
            out = np.empty(x.shape[:2] + tuple(out_hw), dtype=x.dtype)
            indices = np.empty(out.shape, dtype=np.int16)
            if _plain_2x2(geom) and tuple(out_hw) == (x.shape[2] // 2, x.shape[3] // 2):
                n, c, height, width = x.shape
                kernels.max_pool_2x2_kernel(np.ascontiguousarray(x).reshape(-1),
                                            out.reshape(-1), indices.reshape(-1), n * c, height,
                                            width)
            else:
                xc = np.ascontiguousarray(x)
                per_image = xc[:1].nbytes + out[:1].nbytes + indices[:1].nbytes
                _by_images(lambda n0, n1: kernels.max_pool_kernel(
                    xc[n0:n1].reshape(-1), (n1 - n0,) + xc.shape[1:], *geom,
                    out[n0:n1].reshape(-1), indices[n0:n1].reshape(-1), *out_hw),
                    x.shape[0], per_image, out.size * geom.kh * geom.kw)
        elif indices is None:
            out, indices = max_pool_offsets(x, geom, out_hw)
        else:
            padded = pad(x, geom, out_hw[0], out_hw[1], _lowest(x.dtype))
            out = np.empty(x.shape[:2] + tuple(out_hw), dtype=x.dtype)
            for k, rows, columns in _windows(geom, *out_hw):
                np.copyto(out, padded[:, :, rows, columns], where=indices == k)
        ctx.geom, ctx.indices, ctx.x_shape = geom, indices, x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = MaxUnpool2d.apply(grad, ctx.geom, ctx.x_shape, indices=ctx.indices)
        return depends_on(gx, ctx.inputs[0]), None, None  # tied to x as torch's


class MaxUnpool2d(Function):
    """Scatter ``g`` (N, C, Ho, Wo) to the window offsets ``indices``: the gradient of MaxPool2d."""

    retain_inputs = ()  # backward gathers at the same offsets; of g only its shape
    retain_output = False

    @staticmethod
    def forward(ctx, g, geom, x_shape, indices):
        ctx.geom, ctx.indices = geom, indices
        if _use_numba(g):
            kernels = backends.kernel_module("pool")
            out = np.empty(x_shape, dtype=g.dtype)
            if _plain_2x2(geom) and tuple(g.shape[2:]) == (x_shape[2] // 2, x_shape[3] // 2):
                kernels.max_unpool_2x2_kernel(np.ascontiguousarray(g).reshape(-1),
                                              np.ascontiguousarray(indices).reshape(-1),
                                              out.reshape(-1), out.shape[0] * out.shape[1],
                                              out.shape[2], out.shape[3])
            else:
                gc, idx = np.ascontiguousarray(g), np.ascontiguousarray(indices)
                per_image = out[:1].nbytes + gc[:1].nbytes + idx[:1].nbytes
                _by_images(lambda n0, n1: kernels.max_unpool_kernel(
                    gc[n0:n1].reshape(-1), idx[n0:n1].reshape(-1), *geom,
                    out[n0:n1].reshape(-1), out[n0:n1].shape, g.shape[2], g.shape[3]),
                    g.shape[0], per_image, g.size * geom.kh * geom.kw)
            return out

        def offset_values(k, out):
            if out is None:
                return np.where(indices == k, g, 0)
            return np.multiply(g, indices == k, out=out)

        return _scatter(offset_values, x_shape, geom, g.shape[2], g.shape[3], g.dtype)

    @staticmethod
    def backward(ctx, grad):
        out_hw = ctx.inputs[0].shape[2:]
        return MaxPool2d.apply(grad, ctx.geom, out_hw, indices=ctx.indices), None, None


class SumPool2d(Function):
    """Sum over each window (zero padding): x (N, C, H, W) -> (N, C, Ho, Wo)."""

    retain_inputs = ()  # linear: backward needs only shapes
    retain_output = False

    @staticmethod
    def forward(ctx, x, geom, out_hw):
        out_h, out_w = out_hw
        padded = pad(x, geom, out_h, out_w)
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

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, g, geom, x_shape):
        out_h, out_w = g.shape[2:]
        ctx.geom = geom

        def offset_values(k, out):
            if out is None:
                return g
            out[...] = g
            return out

        return _scatter(offset_values, x_shape, geom, out_h, out_w, g.dtype)

    @staticmethod
    def backward(ctx, grad):
        return SumPool2d.apply(grad, ctx.geom, ctx.inputs[0].shape[2:]), None, None
