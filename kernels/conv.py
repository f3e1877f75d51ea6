"""Numba kernels for convolution: im2col, which builds the columns, col2im, the fold that
gives the input gradient, and the chunk kernels of sample-major columns, which run a chunk
of images' im2col, products and col2im in one call (``forward_chunk``, ``backward_chunk``).
All are one compiled function, ``_conv_chunk``, with the two passes inline.

Both passes work on a flat column buffer in either of the two layouts of
``tinydl.ops.conv_im2col`` (channel-major ``(C*kh*kw, N*Ho*Wo)`` or sample-major
``(N, rows, Ho*Wo)``), described by a sample stride and a row stride, and an image
``(N, C, H, W)``. ``col2im_kernel`` adds
every column entry back to the pixel it was read from. NumPy's version (the twin in
``Columns.fold``, the loop of ``tinydl.ops.conv.fold_into`` that the reference
``col2im_array`` runs too) must zero-pad, run one strided
read-modify-write ``+=`` per kernel offset over the whole batch, and crop; this kernel adds
into the unpadded image, one channel at a time (that channel's planes of all samples stay
in cache across the kh*kw offsets, and channel-major rows are read in order).
``im2col_kernel`` copies each output row of each offset straight from x, writing zeros where
the row reads padding, so unlike its twin it never builds a padded copy of x.

For each offset the range of output columns whose input column lies inside the image is
computed up front, which keeps the inner loops (one contiguous row) free of bounds checks
and branches. Numba vectorises them only then, only with ``error_model='numpy'``, and only
when no index can be negative: a signed index that LLVM cannot prove non-negative keeps
Numba's wrap-around check, so both kernels index flat arrays with unsigned offsets.

Measured here single-threaded on the benchmark shapes (3x3, 5x5 and 7x7 kernels):
im2col 0.6-0.9x and col2im 0.4-0.7x the NumPy twins' time, col2im while it still made two
array views per row; without them it takes 0.4-0.9x that time again (LeNet's second layer
425 -> 169 us, (8,3,224,224) k7 s2 12.2 -> 10.8 ms). They are serial on purpose: on a
2-core machine parallel kernels' worker threads competed with OpenBLAS's (and torch's
OpenMP) threads and lost more than they gained.

**One call per chunk.** With the products in NumPy between the kernels, a chunk of a
sample-major convolution went in and out of the GIL three to five times, and on two threads a
thread leaving a kernel or a product often waited for the GIL while the other ran a few lines
of Python (a wake-up that costs tens of microseconds in this VM; Winograd's chunk kernels
met the same). The chunk kernels multiply through SciPy's BLAS (``tinydl.kernels.blas``).
Measured on a 2-core Zen 5 VM, in one process, alternating with the NumPy chunks (medians
of 30 rounds, forward + backward): (32,3,32,32)->32 k3 1.14 -> 1.05 ms on 2 threads, 1.74
-> 1.68 on 1; (8,3,224,224)->64 k7 s2 26.2 -> 25.5 ms (48.7 -> 47.0 on 1); LeNet's
(64,1,28,28)->6 k5 0.48 the same. One function instead of im2col and col2im apart: about
0.4 s more cold compile (1.28 against 0.90 s CPU for the group of ``--precompile``).

The kernels write ``a if a < b else b`` where Python would write ``min(a, b)`` (the same
result, NaN included): Numba compiles an overload of builtin min/max for every kernel
that calls one, which measured 0.1 s of cold compile per kernel.

(Bounds checking is off. ``NUMBA_BOUNDSCHECK=1`` only takes effect with a fresh
``NUMBA_CACHE_DIR``, since ``cache=True`` loads the unchecked compiled code.)
"""
import numba
import numpy as np

from .blas import gemm


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, no_cpython_wrapper=True)
def _inside(offset, stride, size, n_out):
    """Output indices [lo, hi) with ``0 <= o*stride + offset < size``."""
    lo = (-offset + stride - 1) // stride
    lo = lo if lo > 0 else 0
    hi = (size - offset + stride - 1) // stride
    hi = hi if hi < n_out else n_out
    return lo, (hi if hi > lo else lo)


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, no_cpython_wrapper=True,
            inline="always")
def _col2im(cols, sample_stride, row_stride, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw,
            flat, shape):
    """``out[n, c, h, w]`` = sum of the column entries read from (h, w).

    cols is a flat buffer; entry (row r = (c*kh + i)*kw + j, sample n, ho, wo) sits at
    ``n*sample_stride + r*row_stride + ho*out_w + wo`` (see ``im2col_kernel``). It was read
    from ``h = ho*sh - ph + i*dh``, ``w = wo*sw - pw + j*dw``; entries that fall in the zero
    padding are dropped. ``flat`` is the output (N, C, H, W) = ``shape`` as a flat
    C-contiguous view, overwritten.
    """
    n_batch, n_chan, height, width = shape
    for t in range(flat.size):  # a loop, not out[...] = 0: cheaper to compile
        flat[t] = 0
    plane_size = height * width
    # Offsets outside, samples inside: rows of channel-major columns are then read in order
    # (measured 10-25% faster than sample, channel outside on LeNet's (64,6,12,12) k5;
    # the same speed on sample-major columns).
    for c in range(n_chan):
        for i in range(kh):
            h_lo, h_hi = _inside(i * dh - ph, sh, height, out_h)
            for j in range(kw):
                w0 = j * dw - pw
                lo, hi = _inside(w0, sw, width, out_w)
                for n in range(n_batch):
                    # Flat arrays and unsigned offsets, as in im2col_kernel: no wrap-around
                    # check, and no array views per row (making two views for each row of 8
                    # took 60% of the fold's time on LeNet's (64,6,12,12) k5: 425 -> 169 us).
                    plane = numba.uint64((n * n_chan + c) * plane_size)
                    block = numba.uint64(n * sample_stride + ((c * kh + i) * kw + j) * row_stride)
                    for ho in range(h_lo, h_hi):
                        src = block + numba.uint64(ho * out_w + lo)
                        dst = plane + numba.uint64((ho * sh - ph + i * dh) * width + lo * sw + w0)
                        for t in range(hi - lo):
                            flat[dst + numba.uint64(t * sw)] += cols[src + numba.uint64(t)]


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, no_cpython_wrapper=True,
            inline="always")
def _im2col(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, sample_stride,
            row_stride):
    """Write ``x[n, c, ho*sh - ph + i*dh, wo*sw - pw + j*dw]`` (0 outside x) to column entry
    (row r = (c*kh + i)*kw + j, sample n, ho, wo) at ``n*sample_stride + r*row_stride +
    ho*out_w + wo`` of the flat buffer cols.

    Channel-major columns (C*kh*kw, N*Ho*Wo) have sample_stride Ho*Wo and row_stride
    N*Ho*Wo; sample-major ones (N, rows, Ho*Wo) have sample_stride rows*Ho*Wo and row_stride
    Ho*Wo. ``src`` is x (N, C, H, W) = ``shape`` as a flat C-contiguous view. Both are
    walked with unsigned offsets: signed indices make Numba check for negative (wrap-around)
    indices on every access, which kept the copy loops scalar.

    Each (offset, sample) block of Ho x Wo entries is written in two passes, both in cache:
    the copy of the rows that read x (one loop per row, the part [lo, hi) inside x), then
    the zeros: the padding rows above and below as two contiguous runs, and each padding
    column as one loop down the rows. An earlier single pass wrote each row as zeros, copy,
    zeros, branching on whether the row was inside; LLVM unswitched those loops into many
    versions (0.93-1.0 s of cold compile against 0.70 s now) and the three short loops per
    row cost more than the column loops: 0.80-0.87x the time on LeNet's layers, 0.84-0.99x
    on bench_conv's padded shapes (one process, alternating, single thread).

    Both kernels take flat arrays and the shape from the caller: ``x.ravel()`` inside the
    kernel made Numba compile its reshape too, 0.5 of im2col's 2.3 s cold compile.
    """
    n_batch, n_chan, height, width = shape
    for c in range(n_chan):
        for i in range(kh):
            h_lo, h_hi = _inside(i * dh - ph, sh, height, out_h)
            # (_inside's bounds can pass out_h when a dilated kernel overhangs a small map:
            # every row is then padding)
            h_lo = h_lo if h_lo < out_h else out_h
            h_hi = h_hi if h_hi < out_h else out_h
            for j in range(kw):
                w0 = j * dw - pw
                lo, hi = _inside(w0, sw, width, out_w)
                lo_pad = lo if lo < out_w else out_w  # the padding columns: [0, lo_pad)
                hi_pad = hi if hi < out_w else out_w  # and [hi_pad, out_w)
                r = (c * kh + i) * kw + j
                for n in range(n_batch):
                    plane = numba.uint64((n * n_chan + c) * height * width)
                    pos = numba.uint64(n * sample_stride + r * row_stride)
                    for ho in range(h_lo, h_hi):
                        start = plane + numba.uint64((ho * sh - ph + i * dh) * width
                                                     + lo * sw + w0)
                        first = pos + numba.uint64(ho * out_w + lo)
                        # One loop for every stride: LLVM versions it on sw == 1 itself (a
                        # contiguous, vectorised copy).
                        for t in range(hi - lo):
                            cols[first + numba.uint64(t)] = src[start + numba.uint64(t * sw)]
                    for t in range(h_lo * out_w):  # the rows above x
                        cols[pos + numba.uint64(t)] = 0
                    for t in range(h_hi * out_w, out_h * out_w):  # and below it
                        cols[pos + numba.uint64(t)] = 0
                    for t in range(lo_pad):  # the columns left of x, in the rows inside
                        for ho in range(h_lo, h_hi):
                            cols[pos + numba.uint64(ho * out_w + t)] = 0
                    for t in range(hi_pad, out_w):  # and right of it
                        for ho in range(h_lo, h_hi):
                            cols[pos + numba.uint64(ho * out_w + t)] = 0


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def _conv_chunk(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, cols_2d,
                sample_stride, row_stride, fill, w2, y, g, g_flat, dw_t, accumulate, w_t, fold,
                dx, coef):
    """Every kernel of this module, one compiled function: as two (im2col and col2im) and a
    chunk kernel calling them, Numba compiled each body twice.

    In this order, each step only where asked:

    1. ``fill``: im2col of ``src`` into the flat columns ``cols`` (``_im2col``);
    2. ``y`` not empty (a forward): per image n, ``y[n*F:(n+1)*F]`` (F, Ho*Wo) = w2 (F, R)
       @ its columns (R, Ho*Wo), R the rows of an image's column block;
    3. ``dw_t`` not empty (a weight gradient): dw_t (F, R) = the sum over images of
       g_n (F, Ho*Wo) @ columns_n^T, added to what dw_t holds when ``accumulate``;
    4. ``w_t`` not empty (an input gradient): per image, its first ``w_t.shape[0]`` column
       rows = w_t @ g_n, after step 3 has read them;
    5. ``fold``: col2im of the columns into the flat image ``dx`` (``_col2im``).

    Steps 2-4 need sample-major columns (``sample_stride`` = R*Ho*Wo, ``row_stride`` =
    Ho*Wo), whose ``cols_2d`` is the same buffer as (N'*R, Ho*Wo); ``y`` (N'*F, Ho*Wo) and
    ``g`` (N'*F, Ho*Wo) with ``g_flat`` its flat view. ``shape`` is x's (N', C, H, W) (and
    dx's). The products run in BLAS (``tinydl.kernels.blas.gemm``; ``coef`` its (1, 0, 1)),
    each single-threaded under the callers' ``tinydl.threads.single_blas``."""
    n_img = shape[0]
    hw = out_h * out_w
    if fill:
        _im2col(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, sample_stride,
                row_stride)
    rows = sample_stride // hw if hw > 0 else 0
    n_feat = g.shape[0] // n_img if n_img > 0 else 0
    if y.shape[0] > 0:
        n_feat = w2.shape[0]
        for n in range(n_img):
            gemm(n_feat, hw, rows, w2, cols[n * sample_stride:], False, y[n * n_feat:], coef,
                 False)
    if dw_t.shape[0] > 0:
        for n in range(n_img):
            gemm(n_feat, rows, hw, g[n * n_feat:], cols[n * sample_stride:], True, dw_t, coef,
                 accumulate or n > 0)
    if w_t.shape[0] > 0:
        for n in range(n_img):
            gemm(w_t.shape[0], hw, n_feat, w_t, g_flat[n * n_feat * hw:], False,
                 cols_2d[n * rows:], coef, False)
    if fold:
        _col2im(cols, sample_stride, row_stride, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw,
                dx, shape)


def _none(dtype, ndim=1):
    return np.empty((0,) * ndim, dtype)


def _written(*arrays):
    """Check that the arrays the kernel writes are C-contiguous: their flat views are then
    the arrays themselves (``reshape(-1)`` of another would copy, and the results be lost)."""
    for a in arrays:
        if a is not None and not a.flags.c_contiguous:
            raise ValueError(f"tinydl.kernels.conv: output {a.shape} must be C-contiguous")


def im2col_kernel(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, sample_stride,
                  row_stride):
    """im2col of x (``src``, its flat C-contiguous view; ``shape`` (N, C, H, W)) into the
    flat column buffer ``cols`` (see ``_im2col``), either layout."""
    none1, none2 = _none(cols.dtype), _none(cols.dtype, 2)
    _conv_chunk(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, none2,
                sample_stride, row_stride, True, none2, none2, none2, none1, none2, False,
                none2, False, none1, _coef(cols.dtype))


def col2im_kernel(cols, sample_stride, row_stride, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw,
                  flat, shape):
    """col2im of the flat column buffer ``cols`` (either layout) into ``flat``, the flat
    C-contiguous view of an array of ``shape`` (N, C, H, W), overwritten (see ``_col2im``)."""
    none1, none2 = _none(cols.dtype), _none(cols.dtype, 2)
    _conv_chunk(none1, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, none2,
                sample_stride, row_stride, False, none2, none2, none2, none1, none2, False,
                none2, True, flat, _coef(cols.dtype))


def forward_chunk(x, geom, cols, w2, y):
    """A sample-major forward of a chunk of N' images in one call: im2col of x (N', C, H, W)
    into ``cols`` (N', R, Ho*Wo), then y (N', F, Ho, Wo) = w2 (F, R) @ each image's
    columns. ``geom``: kh, kw, sh, sw, ph, pw, dh, dw. All float32 (one specialisation)."""
    _written(cols, y)
    x, w2 = np.ascontiguousarray(x), np.ascontiguousarray(w2)
    none1, none2 = _none(cols.dtype), _none(cols.dtype, 2)
    n, rows, hw = cols.shape
    _conv_chunk(x.reshape(-1), x.shape, *geom, y.shape[2], y.shape[3], cols.reshape(-1), none2,
                rows * hw, hw, True, w2, y.reshape(n * y.shape[1], hw), none2, none1, none2,
                False, none2, False, none1, _coef(cols.dtype))


def backward_chunk(g, geom, cols, dw_t=None, w_t=None, dx=None, x=None):
    """A sample-major backward of a chunk of N' images in one call, on their output gradient
    g (N', F, Ho, Wo) and columns ``cols`` (N', R, Ho*Wo), which x (N', C, H, W), when given,
    builds first: with ``dw_t`` (F, R), the sum of g_n @ columns_n^T into it; with ``w_t``
    (R', F), w_t @ g_n into the first R' rows of each image's columns, then their col2im
    into dx (N', C, H, W). All float32."""
    _written(cols, dw_t, dx)
    g = np.ascontiguousarray(g)
    none1, none2 = _none(cols.dtype), _none(cols.dtype, 2)
    n, rows, hw = cols.shape
    g2 = g.reshape(n * g.shape[1], hw)
    if x is not None:
        x = np.ascontiguousarray(x)
    shape = x.shape if x is not None else dx.shape if dx is not None else (n, 0, 0, 0)
    _conv_chunk(none1 if x is None else x.reshape(-1), shape, *geom, g.shape[2], g.shape[3],
                cols.reshape(-1), cols.reshape(n * rows, hw), rows * hw, hw, x is not None,
                none2, none2, g2, g2.reshape(-1), none2 if dw_t is None else dw_t, False,
                none2 if w_t is None else np.ascontiguousarray(w_t), w_t is not None,
                none1 if dx is None else dx.reshape(-1), _coef(cols.dtype))


_COEFS = {}


def _coef(dtype):
    """(1, 0, 1) in ``dtype``: gemm's alpha and its two betas (made once per dtype)."""
    coef = _COEFS.get(dtype)
    if coef is None:
        coef = _COEFS[dtype] = np.array([1, 0, 1], dtype)
    return coef
