"""Convolution as im2col + one matrix product, and its gradients, as differentiable Functions.

A 2-D convolution (cross-correlation, as in every deep learning library) of ``x`` (N, C, H, W)
with ``w`` (F, C/groups, kh, kw) is

    out[n, f, ho, wo] = sum_{c, i, j} w[f, c, i, j] * xpad[n, c, ho*sh + i*dh, wo*sw + j*dw]

Unrolling every receptive field into a column (**im2col**; the course notes call it
``arr2vec``) turns this into one matrix product per sample, ``W (F, C*kh*kw) @ cols
(C*kh*kw, Ho*Wo)``. The building loop runs only over the ``kh * kw`` kernel offsets, each a
strided slice of the padded input (the window geometry below, shared with pooling). The
adjoint of im2col, **col2im** (the notes' ``vec2arr``), adds every column entry back to the
pixel it came from; it gives the gradient with respect to the input.

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

plus ``fits(geom, groups)`` and ``release(saved)``. A route may also offer both gradients
of a Conv2d in one call, ``backward(x, g, w, geom, groups, hw, saved, need_x, need_w) ->
dx, dW, db``, which Conv2d's backward then uses instead (Winograd and sample-major do, to go over
their chunks once). ``Reference`` below is the NumPy route,
the one to read; the fast routes live in their own modules:

    reference       this file            NumPy only; every convolution when Numba is off
    sample-major    ops/conv_im2col.py   Numba im2col, N per-sample GEMMs; groups=1, big images
    channel-major   ops/conv_im2col.py   Numba im2col, one GEMM per group; the rest
    winograd        ops/conv_winograd.py F(2x2, 3x3); float32 3x3 stride 1, 16+ channels

``tinydl.backends`` switches them (Numba, Winograd, the thresholds, a forced route). On a
first-order backward, Conv2d calls its route's gradients directly, reusing the forward's
columns; with ``create_graph=True`` it records ConvTranspose2d and Conv2dWeight instead, on
the same route, so the gradient is differentiable again. The fast routes take their large
buffers from ``scratch`` (below).

The file reads top to bottom as a convolution runs: the window geometry (shared with
pooling), the NumPy im2col/col2im, the reference route, the scratch buffers of the fast
routes, the choice of route, the Functions, and ``convolve``, the checked entry of
``F.conv2d`` and ``nn.Conv2d``; the public ``im2col``/``col2im`` (torch's ``unfold``/``fold``
layout) come last. It is longer than 500 lines because it holds all of that: one
convolution call, forward and backward, runs through this file, the route's module and its
kernel only.
"""
import itertools
import math
import os
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from tinydl import backends, threads
from tinydl.autograd import Function, is_grad_enabled
# The fast routes read the geometry and the scratch buffers below as ``conv.<name>`` when
# they run, so either module may be imported first.
from tinydl.ops import conv_im2col, conv_winograd
from tinydl.ops._checks import _check_float_dtypes
from tinydl.ops._util import ShapeError, add_up
from tinydl.ops.shape import pad as pad_tensor

__all__ = ["Geometry", "output_size", "transposed_output_size", "im2col_array",
           "col2im_array", "Reference", "scratch", "choose_route", "Conv2d", "ConvTranspose2d",
           "Conv2dWeight", "convolve", "Im2col", "Col2im"]


# Window geometry, shared with pooling (``tinydl.ops.pool``).
#
# A window has a kernel size ``k``, stride ``s``, zero padding ``p`` and dilation ``d`` per
# axis (``Geometry``). Kernel offset (i, j) of the window at output (ho, wo) reads pixel
# (ho*sh + i*dh, wo*sw + j*dw) of the input padded by (ph, pw), so, for one offset, the
# pixels that every window reads form one strided slice of the padded input (``offsets``).
# Convolution and pooling therefore loop over the kh*kw offsets, never over pixels:
# ``unfold_into`` copies each offset's slice out (im2col), ``fold_into`` adds it back
# (col2im, the adjoint), and pooling takes a maximum or a sum over them. The output sizes,
# per axis, as in torch (the one place these formulas live):
#
#     convolution, pooling        Ho = floor((H + 2p - d(k-1) - 1) / s) + 1
#     pooling with ceil_mode      ceil instead of floor, minus one if the last window would
#                                 start in the bottom/right padding
#     transposed convolution      H  = (Ho - 1)s - 2p + d(k-1) + output_padding + 1

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


class Scratch:
    """Recycled buffers for the large temporaries of the fast routes (columns, Winograd tiles).

    A fresh ``np.empty`` of tens of megabytes is a new ``mmap`` whose pages the kernel zeroes
    on their first write: for im2col's 38 MB of columns (32x32x32x32, 3x3) that cost 8 ms,
    more than filling them (6 ms). Buffers given back when a backward (or a forward without
    a graph) is done are reused at the next step. Only code that owns a buffer outright may
    give it back: nothing else may hold a view of it.
    """

    MIN_BYTES = 1 << 20  # smaller arrays come from malloc's free lists quickly anyway

    def __init__(self, limit_bytes=256 << 20):
        self.limit_bytes = limit_bytes  # most bytes kept idle; the least recently given go first
        self.idle_bytes = 0
        self._idle = []  # idle uint8 buffers, least recently given first
        self._lock = threading.Lock()

    def take(self, shape, dtype):
        """A C-contiguous array of ``shape`` and ``dtype``, uninitialised (like ``np.empty``),
        reusing an idle buffer of exactly the same byte size when there is one."""
        dtype = np.dtype(dtype)
        n_bytes = math.prod(shape) * dtype.itemsize
        if n_bytes < self.MIN_BYTES:
            return np.empty(shape, dtype)
        raw = None
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i].nbytes == n_bytes:
                    raw = self._idle.pop(i)
                    self.idle_bytes -= n_bytes
                    break
        if raw is None:
            raw = np.empty(n_bytes, np.uint8)
        return raw.view(dtype).reshape(shape)

    def give(self, array):
        """Return a buffer from ``take`` (or a view of one) for reuse.

        Arrays that cannot have come from ``take`` (views of other memory, other dtypes, small
        ones) are ignored; the caller must own the buffer outright, as nothing checks that.
        """
        raw = array
        while isinstance(raw.base, np.ndarray):
            raw = raw.base
        if (raw.dtype != np.uint8 or raw.ndim != 1 or raw.base is not None
                or not self.MIN_BYTES <= raw.nbytes <= self.limit_bytes):
            return
        with self._lock:
            self._idle.append(raw)
            self.idle_bytes += raw.nbytes
            while self.idle_bytes > self.limit_bytes:
                self.idle_bytes -= self._idle.pop(0).nbytes

    def clear(self):
        """Drop every idle buffer (their memory goes back to the system)."""
        with self._lock:
            self._idle.clear()
            self.idle_bytes = 0


scratch = Scratch()

# Chunks of images: the fast routes work on as many images at a time as keep one chunk's
# large temporaries (Winograd tiles, im2col columns, with the outputs) within CHUNK_BYTES,
# so that they stay in the core's cache (2 MB of L2 here) from the kernel that makes them
# through the products to the kernel that folds them, instead of a trip through memory for
# each stage; and threads share the chunks (``in_parallel``).
CHUNK_BYTES = 1 << 20
PARALLEL_MIN_WORK = 1 << 24  # multiply-adds below which a convolution's chunks run in order


def image_chunks(n, per_image_bytes):
    """Ranges (n0, n1) covering n images, as many per range as fit ``CHUNK_BYTES`` of
    ``per_image_bytes`` each, at least one."""
    k = max(1, CHUNK_BYTES // max(1, per_image_bytes))
    return [(n0, min(n, n0 + k)) for n0 in range(0, n, k)]


_workers = []  # the threads that run chunks beside the caller's (ThreadPoolExecutors)
_worker_ids = []  # their native thread ids, in the same order
# A forked child has the executors but not their threads: it starts its own.
os.register_at_fork(after_in_child=lambda: (_workers.clear(), _worker_ids.clear()))


def in_parallel(task, count, work, min_work=None):
    """Run ``task(claim)`` on several threads at once and return their results: ``claim()``
    gives each caller the next unclaimed chunk index (0 .. count - 1), then None when all are
    taken, so a thread that the machine slows down takes fewer chunks.

    As many threads as ``tinydl.threads.task_threads()`` allows (at most ``count``), each
    with BLAS on one thread (the kernels release the GIL); the BLAS pools get their size back
    afterwards. The worker threads are kept off the caller's CPU (``threads.keep_apart``):
    with the benchmark's alternating rounds (``benchmarks._harness.paired_times``, torch
    between), (32,3,32,32)->32 k3 took 1.22-1.28 ms against 1.37-1.40 left to the scheduler
    (two runs, eight alternating blocks of four rounds each); (8,3,224,224)->64 k7 the same.
    A task of less ``work`` than ``min_work`` (None: ``PARALLEL_MIN_WORK`` multiply-adds,
    read when called) runs on the caller's thread alone: handing work to a thread and back
    costs tens of microseconds.
    The fast routes run their chunks of images through this: a chunk's products are too
    small to split well among threads, while whole chunks split evenly, kernels included.
    """
    chunks = itertools.count()

    def claim():
        i = next(chunks)  # atomic under the GIL
        return i if i < count else None

    # The thread count only for a task worth sharing: a fixed count is read from BLAS (2.4 us).
    small = count <= 1 or work < (PARALLEL_MIN_WORK if min_work is None else min_work)
    parts = 1 if small else min(threads.task_threads(), count)
    if parts <= 1:
        return [task(claim)]
    # A convolution started in another thread leaves the pool as it finds it (single_blas).
    with threads.single_blas():
        while len(_workers) < parts - 1:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinydl-conv")
            _worker_ids.append(worker.submit(threading.get_native_id).result())
            _workers.append(worker)
        threads.keep_apart(_worker_ids[:parts - 1])  # off this thread's CPU
        futures = [_workers[p].submit(task, claim) for p in range(parts - 1)]
        try:
            first = task(claim)
        finally:
            wait(futures)
        return [first] + [f.result() for f in futures]


def per_chunk(task, count, work, min_work=None):
    """``[task(i) for i in range(count)]``, the chunks shared among threads as ``in_parallel``
    shares them, the results in chunk order whichever thread ran each: a sum of them in that
    order is the same in every run and for any number of threads. (Summed per thread, in the
    order the threads happened to claim chunks, a convolution's weight gradient changed in its
    last bits from run to run, and a seeded training run did not repeat.)"""
    results = [None] * count

    def part(claim):
        for i in iter(claim, None):
            results[i] = task(i)

    in_parallel(part, count, work, min_work)
    return results


def routes():
    """Every route, the reference first."""
    return (Reference, conv_im2col.SampleMajor, conv_im2col.ChannelMajor,
            conv_winograd.Winograd)


def choose_route(a, b, geom, groups, in_channels, out_channels, out_hw):
    """The route of a convolution of arrays ``a`` and ``b`` (x and w, y and w, or x and g)
    whose output has ``out_hw`` pixels per image.

    A route forced by ``tinydl.backends.conv_route`` wherever it fits; otherwise the
    reference when Numba is off, Winograd for float32 3x3 stride-1 convolutions with enough
    channels and output pixels, sample-major columns for groups=1 and big images,
    channel-major for the rest.
    """
    if backends.conv_route != "auto":
        for forced in routes():
            if forced.name == backends.conv_route and forced.fits(geom, groups):
                return forced
    if not backends.numba:
        return Reference
    if (backends.winograd and a.dtype == np.float32 and b.dtype == np.float32
            and min(in_channels, out_channels) >= backends.winograd_min_channels
            and out_hw[0] * out_hw[1] >= backends.winograd_min_pixels
            and conv_winograd.Winograd.fits(geom, groups)):
        return conv_winograd.Winograd
    if groups == 1 and out_hw[0] * out_hw[1] >= backends.sample_major_min_pixels:
        return conv_im2col.SampleMajor
    return conv_im2col.ChannelMajor


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
        # saved: x's columns (or Winograd's U), for dW; then their buffer receives dx's.
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
        both = getattr(route, "backward", None)
        if both is not None:
            gx, gw, gb = both(x.data, g, w.data, geom, groups, x.shape[2:], saved, need_x,
                              need_w)
        else:
            gw, gb = route.weight_grad(x.data, g, geom, groups, saved) if need_w else (None, None)
            gx = route.input_grad(g, w.data, geom, groups, x.shape[2:], saved) if need_x else None
        if need_b and gb is None:
            gb = add_up(g, axis=(0, 2, 3))  # (float16 in float32)
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


def _check_conv_dtypes(x, weight, caller):
    """TypeError naming ``caller`` unless x and weight share a floating dtype."""
    for name, t in (("input", x), ("weight", weight)):
        if t.dtype.kind != "f":
            raise TypeError(f"{caller}: the {name} must be floating point, got {t.dtype} (cast "
                            f"it, e.g. with .float())")
    if x.dtype != weight.dtype:
        _check_float_dtypes(x, weight, caller)


def check_operands(x, weight, bias, groups, spatial, caller, layout, weight_layout):
    """The Tensor ``x`` with a batch axis (added when it came unbatched) and whether it came
    unbatched, after checking it against weight (F, C/groups, k...) and bias (F,) or None
    for a convolution over ``spatial`` axes. ``groups`` is a positive int.

    Input and weight must share one floating dtype (NumPy would silently promote: an int64
    input gave a float64 result; torch refuses it). The bias is cast to it (a float64 bias
    does not promote float32 data, on every route).
    """
    _check_conv_dtypes(x, weight, caller)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{caller}: expected input of shape {layout}, got shape {x.shape}")
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{caller}: weight must have shape {weight_layout}, got {weight.shape}")
    if weight.shape[0] == 0 or 0 in weight.shape[2:]:  # torch refuses both; a zero-size
        # kernel axis silently gave zeros, no filter a bare reshape error
        raise ShapeError(f"{caller}: weight of shape {weight.shape} needs at least one filter "
                         "and a kernel size of at least 1 on every axis")
    unbatched = x.ndim == spatial + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    f, c_per_group = weight.shape[:2]
    if x.shape[1] != c_per_group * groups or f % groups != 0:
        raise ShapeError(f"{caller}: input of shape {x.shape} with groups={groups} does not fit "
                         f"weight of shape {weight.shape} (need C = {c_per_group}*groups and "
                         "F divisible by groups)")
    if bias is not None and bias.shape != (f,):
        raise ShapeError(f"{caller}: bias must have shape ({f},), got {bias.shape}")
    return x, unbatched


def convolve(x, weight, bias, geom, groups, extra=None):
    """``conv2d`` of the Tensor ``x`` (N, C, H, W) or unbatched (C, H, W) with weight
    (F, C/groups, kh, kw) and bias (F,) or None, windows ``geom`` (its kernel size that of
    the weight) and ``groups`` (a positive int): the checked entry of ``F.conv2d`` and of
    the ``nn.Conv2d`` layer. ``extra`` (bottom, right) pads x further on those sides, as
    ``padding='same'`` needs for an even kernel.
    """
    x, unbatched = check_operands(x, weight, bias, groups, 2, "conv2d", "(N, C, H, W)",
                                  "(F, C/groups, kh, kw)")
    if extra is not None:
        x = pad_tensor(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    out_h, out_w = output_size(x.shape[2], x.shape[3], geom)
    if out_h < 1 or out_w < 1:
        raise ShapeError(f"conv2d: kernel ({geom.kh}, {geom.kw}) with dilation "
                         f"({geom.dh}, {geom.dw}) does not fit the input of shape {x.shape} "
                         f"padded by ({geom.ph}, {geom.pw})")
    out = Conv2d.apply(x, weight, bias, geom, groups)
    return out.reshape(out.shape[1:]) if unbatched else out


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
