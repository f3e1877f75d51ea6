"""The im2col routes of convolution: columns in a GEMM-friendly layout, built and folded by the
Numba kernels of ``tinydl.kernels.conv``.

The reference (``tinydl.ops.conv``) computes ``y = W @ im2col(x)`` in torch's unfold layout
with NumPy. These two routes compute the same products, with the columns laid out so that
the GEMMs need no copies (``Columns``; output width innermost in both):

* **sample-major** ``(N, C*kh*kw, Ho*Wo)``, groups=1 and images of
  ``tinydl.backends.sample_major_min_pixels`` (512) or more output pixels: N per-sample
  products (one batched ``matmul``) give the (N, F, Ho*Wo) output directly, and a spare row
  of ones in the columns carries the bias through the forward GEMM and its gradient through
  the weight-gradient GEMM.
* **channel-major** ``(C*kh*kw, N*Ho*Wo)``, the rest: the forward and both gradients are one
  large GEMM each (one per group), at the price of transposing the output and its gradient.

Measured here (float32, forward + backward, medians of 15 alternating rounds, two runs of
each), sample-major / channel-major took, on 2 threads: 1.9-2.8/3.0-4.0 ms on
(64,1,28,28)->6 k5 (576 pixels), 5.1-5.3/7.1-7.9 on (32,3,32,32)->32 k3 (1024), 10.3/10.0-11.1
on (16,3,64,64)->16 k3 (4096), 3.1/3.5-3.8 on (64,8,16,16)->8 k3 (256), but 2.4/2.2-2.3 on
(64,6,12,12)->16 k5 (64), where the N per-sample GEMMs are small and channel-major's one GEMM
uses both threads. On 1 thread sample-major led on the last two as well (3.1-4.6/4.2-5.6 and
2.4-2.6/2.7-2.9), yet inside LeNet's training epoch (3,200 images, 8 alternating rounds) a
sample-major (64,6,12,12) layer made the epoch no faster on 1 thread (363 against 358 ms,
431 against 406) and slower on 2 (400/353, 538/475), and at 256 pixels channel-major led on
(32,8,20,20)->32 k5 (8.6-9.1/10.6-11.3 ms on 1 thread, 10.2/14.9 on 2): the threshold stays
at 512 pixels.

Sample-major works on chunks of samples whose columns and outputs fit
``tinydl.ops.conv.CHUNK_BYTES``, which threads claim one at a time
(``tinydl.ops.conv.in_parallel``: each thread builds, multiplies and folds its own samples,
kernels included, with single-threaded products). Measured here with 2 threads,
forward + backward, chunks in order (products on both threads) against chunks shared:
(32,3,32,32)->32 k3 5.3-6.6 -> 3.9-4.3 ms, (8,3,224,224)->64 k7 s2 113 -> 86 ms.
Channel-major columns are one GEMM per group, left whole.

Each route offers the three entry points of every route (``forward``, ``weight_grad``,
``input_grad``, see ``tinydl.ops.conv``). The forward's columns of x serve the weight
gradient, then their buffer receives the input gradient's columns W^T @ g (same shape), so
a backward calls ``weight_grad`` before ``input_grad`` and then ``release``. Sample-major also
offers the optional ``backward`` (both gradients in one pass over its chunks, each chunk's
columns serving dW and then receiving its W^T @ g; measured on (32,3,32,32)->32 k3 with two
threads, 200 alternating rounds twice: 3.93-3.96 against 4.11-4.12 ms). float32 columns
are built by the Numba kernels (``tinydl.backends.numba``); other dtypes, or Numba off, use
their NumPy twins (``unfold_into`` / ``fold_into`` of ``tinydl.ops.conv``, as the reference
does). The large buffers come from ``tinydl.ops.conv.scratch`` and go back when their owner
is done.
"""
import math

import numpy as np

from tinydl import backends
from tinydl.ops._util import add_up
from tinydl.ops import conv  # the geometry, the NumPy twins and the scratch buffers


class Columns:
    """A scratch buffer of im2col columns in one of the two GEMM layouts.

    * channel-major ``(rows, N*Ho*Wo)``;
    * sample-major ``(N, rows, Ho*Wo)`` (torch's unfold layout);

    with rows = C*kh*kw plus ``extra`` spare rows at the end (the bias's row of ones).

    ``buffer`` is the whole C-contiguous array; entry (row r, sample n, ho, wo) is at flat
    position ``n*sample_stride + r*row_stride + ho*Wo + wo``. Sample-major rows are
    ``row_stride`` >= Ho*Wo apart (``_row_stride``: a little padding where Ho*Wo would put
    them a multiple of 1 KB apart), and ``block`` is the (N, rows, Ho*Wo) view without the
    padding that the products take (BLAS reads a row stride as its leading dimension).
    ``grad`` holds the output gradient in the channel-major layout once a backward has made
    it, for its second GEMM.
    """

    def __init__(self, n, c, geom, out_h, out_w, dtype, sample_major, extra=0):
        self.k = c * geom.kh * geom.kw
        self.shape6 = (n, c, geom.kh, geom.kw, out_h, out_w)
        self.sample_major = sample_major
        self.grad = None
        hw = out_h * out_w
        if sample_major:
            stride = _row_stride(hw, np.dtype(dtype).itemsize)
            self.buffer = conv.scratch.take((n, self.k + extra, stride), dtype)
            self.sample_stride, self.row_stride = (self.k + extra) * stride, stride
            self.block = self.buffer[..., :hw]
        else:
            self.buffer = conv.scratch.take((self.k + extra, n * hw), dtype)
            self.sample_stride, self.row_stride = hw, n * hw
            self.block = self.buffer

    @property
    def rows(self):
        """The C*kh*kw column rows, without spare rows: (N, K, HW) or (K, N*HW)."""
        return self.block[:, :self.k] if self.sample_major else self.buffer[:self.k]

    @property
    def has_ones(self):
        """Whether the columns end with the forward's row of ones (its bias)."""
        return self.buffer.shape[-2 if self.sample_major else 0] > self.k

    def put_ones(self):
        """Fill the spare row after the column rows with ones (the bias's row)."""
        if self.sample_major:
            self.buffer[:, self.k] = 1
        else:
            self.buffer[self.k] = 1

    def blocks(self):
        """A view ``[a, b, i, j, ho, wo]`` with (a, b) = (n, c) sample-major and (c, n)
        channel-major: the order in which the NumPy twins copy fastest."""
        n, c, kh, kw, out_h, out_w = self.shape6
        if self.sample_major:
            view = self.rows.reshape(n, c, kh, kw, out_h, out_w)
            if not np.may_share_memory(view, self.buffer):  # a copy: the twins' writes lost
                raise RuntimeError("Columns.blocks: the padded rows do not reshape as a view")
            return view
        return self.rows.reshape(c, kh, kw, n, out_h, out_w).transpose(0, 3, 1, 2, 4, 5)

    def fill(self, x, geom, first=0):
        """im2col of x (N', C, H, W) into the rows: those of samples first..first+N'
        (sample-major; channel-major columns are filled whole). The Numba kernel for float32,
        else the twin."""
        out_h, out_w = self.shape6[4:]
        part = slice(first, first + x.shape[0]) if self.sample_major else slice(None)
        if x.dtype == np.float32 and backends.numba:
            backends.kernel_module("conv").im2col_kernel(
                np.ascontiguousarray(x).reshape(-1), x.shape, *geom, out_h, out_w,
                self.buffer[part].reshape(-1), self.sample_stride, self.row_stride)
        else:
            padded = conv.pad(x, geom, out_h, out_w)
            conv.unfold_into(padded if self.sample_major else padded.transpose(1, 0, 2, 3),
                             self.blocks()[part], geom)
        return self

    def fold(self, shape, geom):
        """col2im of the rows into a new array of ``shape`` (N, C, H, W), summing overlaps."""
        out = np.empty(shape, dtype=self.buffer.dtype)
        self.fold_into(out, geom)
        return out

    def fold_into(self, out, geom, first=0):
        """col2im of the rows of samples first..first+N' into ``out`` (N', C, H, W),
        overwriting it (sample-major; channel-major columns are folded whole)."""
        out_h, out_w = self.shape6[4:]
        part = slice(first, first + out.shape[0]) if self.sample_major else slice(None)
        if self.buffer.dtype == np.float32 and backends.numba:
            if not out.flags.c_contiguous:  # reshape(-1) would copy: the sums would be lost
                raise ValueError(f"Columns.fold_into: out {out.shape} must be C-contiguous")
            backends.kernel_module("conv").col2im_kernel(
                self.buffer[part].reshape(-1), self.sample_stride, self.row_stride, out_h, out_w,
                *geom, out.reshape(-1), out.shape)
            return
        n, c, height, width = out.shape
        padded = np.zeros((n, c) + conv.padded_size(height, width, geom, out_h, out_w),
                          self.buffer.dtype)
        conv.fold_into(self.blocks()[part],
                       padded if self.sample_major else padded.transpose(1, 0, 2, 3), geom)
        out[...] = conv.crop(padded, geom, height, width)

    @classmethod
    def of(cls, x, geom, out_h, out_w, sample_major, extra=0):
        """New columns of x (N, C, H, W), filled (the ``extra`` spare rows left as they are)."""
        n, c = x.shape[:2]
        return cls(n, c, geom, out_h, out_w, x.dtype, sample_major, extra).fill(x, geom)

    @property
    def saved_nbytes(self):
        """Bytes held for backward (the profiler's memory column)."""
        return self.buffer.nbytes + (0 if self.grad is None else self.grad.nbytes)

    def kept(self, keep):
        """These columns when a graph keeps them for backward; else None, the buffer given back."""
        if keep:
            return self
        self.give_back()
        return None

    def give_back(self):
        conv.scratch.give(self.buffer)
        if self.grad is not None:
            conv.scratch.give(self.grad)


def _row_stride(hw, itemsize):
    """Elements between two rows of sample-major columns of ``hw`` pixels: ``hw``, plus one
    cache line where rows ``hw`` apart would start a multiple of 1 KB apart. Such rows fall
    in the same few sets of the L1 cache (64 sets of 64-byte lines), and a product reads all
    of an image's rows at once: (32, 28) @ (28, 1024), four images on one thread in
    OpenBLAS's SkylakeX kernels, took 55 us with rows 4 KB apart and 32 with rows 4 KB + 64
    bytes apart, the weight gradient's product 45 against 42 and the input gradient's 56
    against 49 (the same with 32 or 64 more elements). Winograd's tile buffers are padded
    for the same reason (``tinydl.ops.conv_winograd``)."""
    return hw + (64 // itemsize if hw and (hw * itemsize) % 1024 == 0 else 0)


def _channel_major(g, saved=None):
    """g (N, F, H, W) as (F, N*H*W), the layout of the channel-major GEMMs (one copy).

    With ``saved`` (the forward's ``Columns``) the copy is made once per backward and kept
    there for the other gradient.
    """
    if saved is not None and saved.grad is not None:
        return saved.grad
    n, f, height, width = g.shape
    out = conv.scratch.take((f, n, height, width), g.dtype)
    out[...] = g.transpose(1, 0, 2, 3)
    out = out.reshape(f, -1)
    if saved is not None:
        saved.grad = out
    return out


def _group_slices(total, groups):
    size = total // groups
    return [slice(g * size, (g + 1) * size) for g in range(groups)]


def _grouped_dot(a, b, groups, a_rows, b_rows, out=None):
    """Grouped product: rows ``a_rows[g]`` of the result are ``a[a_rows[g]] @ b[b_rows[g]]``.

    One BLAS call per group. ``out``, when given, must be C-contiguous of the result's shape
    and dtype and receives it; otherwise the result is a scratch buffer.
    """
    shape, dtype = (a.shape[0], b.shape[1]), np.promote_types(a.dtype, b.dtype)
    if out is None:
        out = conv.scratch.take(shape, dtype)
    elif out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"_grouped_dot: out {out.shape} {out.dtype} does not fit the "
                         f"result {shape} {dtype}")  # a bug in this module, never user input
    for rows_a, rows_b in zip(a_rows, b_rows):
        np.matmul(a[rows_a], b[rows_b], out=out[rows_a])
    return out


def _weight_rows(w, b, dtype):
    """W as the (F, C*kh*kw) left factor of the forward product, in ``dtype``; with a bias b,
    one more column holding it (the columns then end with a row of ones)."""
    f = w.shape[0]
    if b is None:
        return w.reshape(f, -1).astype(dtype, copy=False)
    w2 = np.empty((f, math.prod(w.shape[1:]) + 1), dtype)
    w2[:, :-1] = w.reshape(f, -1)
    w2[:, -1] = b
    return w2


def _sample_chunks(cols, f):
    """Ranges (n0, n1) of samples whose columns and outputs (F rows) fit
    ``tinydl.ops.conv.CHUNK_BYTES``, at least one sample each (see ``conv.in_parallel``).
    A convolution too small to share among threads is one chunk: its columns are small, and
    each chunk costs a few kernel and product calls."""
    n = cols.shape6[0]
    if _work(cols, f) < conv.PARALLEL_MIN_WORK:
        return [(0, n)]
    rows, hw = cols.buffer.shape[1:]
    return conv.image_chunks(n, (rows + f) * hw * cols.buffer.itemsize)


def _work(cols, f):
    """Multiply-adds of one product of the convolution: N * F * Ho*Wo * C*kh*kw."""
    n, _, _, _, out_h, out_w = cols.shape6
    return n * f * out_h * out_w * cols.k


class SampleMajor:
    """Columns (N, C*kh*kw [+1], Ho*Wo): N per-sample GEMMs, the bias in a row of ones.

    groups=1 only.
    """

    name = "sample-major"

    @staticmethod
    def fits(geom, groups):
        return groups == 1

    @staticmethod
    def forward(x, w, b, geom, groups, keep):
        n, c, height, width = x.shape
        f = w.shape[0]
        out_h, out_w = conv.output_size(height, width, geom)
        dtype = np.promote_types(x.dtype, w.dtype)  # the bias does not promote
        cols = Columns(n, c, geom, out_h, out_w, x.dtype, True, extra=int(b is not None))
        if b is not None:  # a row of ones in the columns and the bias as one more weight column
            cols.put_ones()
        w2 = _weight_rows(w, b, dtype)
        out = np.empty((n, f, out_h * out_w), dtype)
        todo = _sample_chunks(cols, f)

        def part(claim):
            for n0, n1 in map(todo.__getitem__, iter(claim, None)):
                cols.fill(x[n0:n1], geom, n0)
                np.matmul(w2, cols.block[n0:n1].astype(dtype, copy=False), out=out[n0:n1])

        conv.in_parallel(part, len(todo), _work(cols, f))
        return out.reshape(n, f, out_h, out_w), cols.kept(keep)

    @staticmethod
    def weight_grad(x, g, geom, groups, saved=None):
        n, c = x.shape[:2]
        f, out_h, out_w = g.shape[1:]
        cols = saved if saved is not None else Columns(n, c, geom, out_h, out_w, x.dtype, True)
        g3 = g.reshape(n, f, out_h * out_w)  # spelled out: -1 fails for n = 0
        todo = _sample_chunks(cols, f)

        def chunk(i):
            n0, n1 = todo[i]
            if saved is None:
                cols.fill(x[n0:n1], geom, n0)
            return _weight_chunk(g3, cols, n0, n1)

        gw, gb = _weight_and_bias(conv.per_chunk(chunk, len(todo), _work(cols, f)), cols,
                                  np.promote_types(x.dtype, g.dtype))
        if saved is None:
            cols.give_back()
        return gw, gb

    @staticmethod
    def input_grad(g, w, geom, groups, hw, saved=None):
        n, f, out_h, out_w = g.shape
        c = w.shape[1]
        dtype = np.promote_types(g.dtype, w.dtype)
        cols = saved if saved is not None and saved.buffer.dtype == dtype else \
            Columns(n, c, geom, out_h, out_w, dtype, True)
        w_t = _input_factor(w, cols, dtype)
        g3 = g.reshape(n, f, out_h * out_w)
        out = np.empty((n, c) + tuple(hw), dtype=dtype)
        todo = _sample_chunks(cols, f)

        def part(claim):
            for n0, n1 in map(todo.__getitem__, iter(claim, None)):
                _fold_input_chunk(w_t, g3, cols, out, geom, n0, n1)

        conv.in_parallel(part, len(todo), _work(cols, f))
        if cols is not saved:
            cols.give_back()
        return out

    @staticmethod
    def backward(x, g, w, geom, groups, hw, saved, need_x, need_w):
        """``(dx, dW, db)`` (those not needed None). When both gradients are needed and the
        forward's columns are at hand, one pass over the chunks of samples: a chunk's columns
        serve dW, then receive W^T g and are folded into dx, while the chunk's g is in cache,
        and the chunks go to the threads once instead of twice. Otherwise ``weight_grad`` and
        ``input_grad`` in turn."""
        dtype = np.promote_types(g.dtype, w.dtype)
        if not (need_x and need_w and saved is not None and saved.buffer.dtype == dtype):
            gw, gb = (SampleMajor.weight_grad(x, g, geom, groups, saved) if need_w
                      else (None, None))
            gx = SampleMajor.input_grad(g, w, geom, groups, hw, saved) if need_x else None
            return gx, gw, gb
        cols = saved
        n, f = g.shape[:2]
        w_t = _input_factor(w, cols, dtype)
        g3 = g.reshape(n, f, math.prod(g.shape[2:]))
        dx = np.empty((n, w.shape[1]) + tuple(hw), dtype=dtype)
        todo = _sample_chunks(cols, f)

        def chunk(i):
            n0, n1 = todo[i]
            dw = _weight_chunk(g3, cols, n0, n1)  # reads the columns,
            _fold_input_chunk(w_t, g3, cols, dx, geom, n0, n1)  # then overwrites them
            return dw

        gw, gb = _weight_and_bias(conv.per_chunk(chunk, len(todo), 2 * _work(cols, f)), cols,
                                  dtype)
        return dx, gw, gb

    @staticmethod
    def release(saved):
        if saved is not None:
            saved.give_back()


def _weight_chunk(g3, cols, n0, n1):
    """g @ columns^T summed over samples n0..n1, (N', F, HW) @ (N', HW, rows) -> (F, rows).
    With the forward's spare row of ones in the columns, the last column is the bias
    gradient."""
    return add_up(np.matmul(g3[n0:n1], cols.block[n0:n1].transpose(0, 2, 1)), axis=0)


def _input_factor(w, cols, dtype):
    """W^T (C*kh*kw, F), the left factor of the input gradient's product, in ``dtype``, with
    a zero row for each spare row of the columns (the forward's row of ones): the product
    then fills each image's whole column block, 28 rows for an RGB 3x3 convolution instead of
    27. OpenBLAS's small-matrix kernel (SkylakeX) ran (27, 32) @ (32, 1024) for four images in
    67 us and (28, 32) @ (32, 1024) in 51 (its Haswell kernel 76 and 71; rows 4 KB apart,
    before ``_row_stride``); 25 and 26 rows took the same time. (32,3,32,32)->32 k3
    forward + backward, one process alternating (30 rounds): 0.95x the time on 1 thread,
    0.96x on 2 (0.98x, 0.99x with the Haswell kernels).

    (A chunk kernel that also ran the products, through SciPy's BLAS as Winograd's do, taking
    the GIL once per chunk, was 0.93x the time on this shape with the SkylakeX kernels but
    1.14x with the Haswell ones, and 1.4x on (32,1,28,28)->6 k5: SciPy's OpenBLAS 0.3.30
    ran (6, 26) @ (26, 576) from jitted code in 6.3 us on Haswell kernels, NumPy's 0.3.31
    in 2.9. Not kept.)"""
    f = w.shape[0]
    w_t = np.zeros((cols.buffer.shape[1], f), dtype)
    w_t[:cols.k] = w.reshape(f, -1).T
    return w_t


def _fold_input_chunk(w_t, g3, cols, out, geom, n0, n1):
    """The input gradient of samples n0..n1: W^T g (``_input_factor``) into their column
    blocks (overwriting them, the spare rows with zeros), folded into ``out[n0:n1]``."""
    np.matmul(w_t, g3[n0:n1], out=cols.block[n0:n1])
    cols.fold_into(out[n0:n1], geom, n0)


def _weight_and_bias(totals, cols, dtype):
    """(dW, db) from the chunks' sums of g @ columns^T, (F, C*kh*kw [+1]) each, added in
    chunk order (``conv.per_chunk``): the last column is the bias gradient when the columns
    carry the forward's row of ones, else db is None."""
    total = totals[0] if len(totals) == 1 else sum(totals[1:], totals[0])
    c, kh, kw = cols.shape6[1:4]
    gw = np.ascontiguousarray(total[:, :cols.k], dtype=dtype).reshape(-1, c, kh, kw)
    gb = total[:, cols.k].astype(dtype) if total.shape[1] > cols.k else None
    return gw, gb


class ChannelMajor:
    """Columns (C*kh*kw [+1], N*Ho*Wo): one GEMM per group for the forward and each gradient;
    with groups=1 the bias in a row of ones."""

    name = "channel-major"

    @staticmethod
    def fits(geom, groups):
        return True

    @staticmethod
    def forward(x, w, b, geom, groups, keep):
        n, _, height, width = x.shape
        f = w.shape[0]
        out_h, out_w = conv.output_size(height, width, geom)
        dtype = np.promote_types(x.dtype, w.dtype)
        # groups=1: the bias as one more weight column against a row of ones, as sample-major
        # does; the products then add it, and dW's product gives its gradient (LeNet's
        # (64, 6, 12, 12) -> 16 layer: 51 -> 25 us for the forward's bias and transpose, and
        # 37 us of the backward's sum over g).
        ones = int(b is not None and groups == 1)
        cols = Columns.of(x, geom, out_h, out_w, False, extra=ones)
        if ones:
            cols.put_ones()
        w2 = _weight_rows(w, b if ones else None, dtype)
        out_cm = _grouped_dot(w2, cols.buffer.astype(dtype, copy=False), groups,
                              _group_slices(f, groups), _group_slices(cols.k + ones, groups))
        # (F, N, Ho, Wo) -> (N, F, Ho, Wo), adding a grouped convolution's bias in the same pass.
        view = out_cm.reshape(f, n, out_h, out_w).transpose(1, 0, 2, 3)
        out = np.empty((n, f, out_h, out_w), dtype=out_cm.dtype)
        if b is None or ones:
            out[...] = view
        else:
            np.add(view, b.reshape(1, f, 1, 1).astype(out.dtype, copy=False), out=out)
        conv.scratch.give(out_cm)
        return out, cols.kept(keep)

    @staticmethod
    def weight_grad(x, g, geom, groups, saved=None):
        c = x.shape[1]
        f, out_h, out_w = g.shape[1:]
        cols = saved if saved is not None else Columns.of(x, geom, out_h, out_w, False)
        g_cm = _channel_major(g, saved)
        # dW^T = cols @ g^T, (C*kh*kw, F) per group, then transposed: measured 1.2-1.9x
        # faster than g @ cols^T in OpenBLAS for F of 6-32 (the long N*Ho*Wo sum is the same).
        # Columns with the forward's row of ones (groups=1) give the bias gradient as one more
        # row of the product.
        dtype = np.promote_types(x.dtype, g.dtype)
        gb = None
        if cols.has_ones:
            gw_t = np.matmul(cols.buffer, g_cm.T).astype(dtype, copy=False)
            gb = gw_t[cols.k].copy()
        else:
            gw_t = np.empty((cols.k // groups, f), dtype=dtype)
            for rows, fs in zip(_group_slices(cols.k, groups), _group_slices(f, groups)):
                np.matmul(cols.rows[rows], g_cm[fs].T, out=gw_t[:, fs])
        if saved is None:
            cols.give_back()
            conv.scratch.give(g_cm)
        gw = np.ascontiguousarray(gw_t[:cols.k // groups].T)
        return gw.reshape(f, c // groups, geom.kh, geom.kw), gb

    @staticmethod
    def input_grad(g, w, geom, groups, hw, saved=None):
        n, f, out_h, out_w = g.shape
        c = w.shape[1] * groups
        dtype = np.promote_types(g.dtype, w.dtype)
        cols = saved if saved is not None and saved.buffer.dtype == dtype else \
            Columns(n, c, geom, out_h, out_w, dtype, False)
        g_cm = _channel_major(g, saved)
        # Group g's block of W^T, stacked: (C*kh*kw, F/groups).
        w_t = np.ascontiguousarray(w.reshape(groups, f // groups, -1).transpose(0, 2, 1),
                                   dtype=dtype)
        _grouped_dot(w_t.reshape(-1, f // groups), g_cm, groups, _group_slices(cols.k, groups),
                     _group_slices(f, groups), out=cols.rows)
        out = cols.fold((n, c) + tuple(hw), geom)
        if cols is not saved:
            cols.give_back()
        if saved is None:
            conv.scratch.give(g_cm)
        return out

    @staticmethod
    def release(saved):
        if saved is not None:
            saved.give_back()
