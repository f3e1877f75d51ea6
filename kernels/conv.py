"""Numba kernels for convolution: im2col, which builds the columns, and col2im, the fold that
gives the input gradient.

Both work on a flat column buffer in either of the two layouts of ``tinydl.ops.conv_im2col``
(channel-major ``(C*kh*kw, N*Ho*Wo)`` or sample-major ``(N, rows, Ho*Wo)``), described by
a sample stride and a row stride, and an image ``(N, C, H, W)``. ``col2im_kernel`` adds
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

The kernels write ``a if a < b else b`` where Python would write ``min(a, b)`` (the same
result, NaN included): Numba compiles an overload of builtin min/max for every kernel
that calls one, which measured 0.1 s of cold compile per kernel.

(Bounds checking is off. ``NUMBA_BOUNDSCHECK=1`` only takes effect with a fresh
``NUMBA_CACHE_DIR``, since ``cache=True`` loads the unchecked compiled code.)
"""
import numba


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, no_cpython_wrapper=True)
def _inside(offset, stride, size, n_out):
    """Output indices [lo, hi) with ``0 <= o*stride + offset < size``."""
    lo = (-offset + stride - 1) // stride
    lo = lo if lo > 0 else 0
    hi = (size - offset + stride - 1) // stride
    hi = hi if hi < n_out else n_out
    return lo, (hi if hi > lo else lo)


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def col2im_kernel(cols, sample_stride, row_stride, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw,
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


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def im2col_kernel(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols, sample_stride,
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
