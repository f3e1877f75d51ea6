"""Numba kernel for convolution: col2im, the fold that gives the input gradient.

``col2im_kernel`` folds tinydl's channel-major column buffer ``(C, kh, kw, N, Ho, Wo)``
(C-contiguous, so Numba knows the innermost stride is 1) back into an image
``(N, C, H, W)``, adding every column entry to the pixel it was read from. NumPy's version
(``tinydl.ops.conv.col2im_cm``, the reference twin) must zero-pad, run one strided
read-modify-write ``+=`` per kernel offset over the whole batch, and crop; this kernel works
on the unpadded image one (sample, channel) plane at a time, so the plane stays in cache
across all kh*kw offsets. For each offset the range of output columns whose input column
lies inside the image is computed up front, which keeps the inner loop (one contiguous
output row) free of bounds checks and branches; Numba vectorises it only then, and only
with ``error_model='numpy'``.

Measured here single-threaded on the benchmark shapes: 0.6-0.8x the NumPy twin's time for
5x5 and 7x7 kernels, 1.2-1.6x for 3x3 (whose 9 NumPy passes vectorise well), so
``tinydl.ops.conv`` calls it from 16 kernel offsets up. It is serial on purpose: on a 2-core
machine a parallel kernel's worker threads competed with OpenBLAS's (and torch's OpenMP)
threads and lost more than they gained. im2col has no kernel: NumPy's strided-slice copies
already run at memory speed and a Numba version was not faster.
"""
import numba


@numba.njit(cache=True, error_model="numpy", inline="always")
def _inside(offset, stride, size, n_out):
    """Output indices [lo, hi) with ``0 <= o*stride + offset < size``."""
    lo = max(0, (-offset + stride - 1) // stride)
    hi = min(n_out, (size - offset + stride - 1) // stride)
    return lo, max(lo, hi)


@numba.njit(cache=True, error_model="numpy")
def col2im_kernel(cols, kh, kw, sh, sw, ph, pw, dh, dw, out):
    """``out[n, c, h, w]`` = sum of the ``cols[c, i, j, n, ho, wo]`` read from (h, w).

    cols (C, kh, kw, N, Ho, Wo), C-contiguous; out (N, C, H, W), overwritten.
    Entry (i, j, ho, wo) was read from ``h = ho*sh - ph + i*dh``, ``w = wo*sw - pw + j*dw``;
    entries that fall in the zero padding are dropped.
    """
    n_batch, n_chan, height, width = out.shape
    n_ho, n_wo = cols.shape[4], cols.shape[5]  # cols: (C, kh, kw, N, Ho, Wo)
    for n in range(n_batch):
        for c in range(n_chan):
            for h in range(height):
                for w in range(width):
                    out[n, c, h, w] = 0
            for i in range(kh):
                h_lo, h_hi = _inside(i * dh - ph, sh, height, n_ho)
                for j in range(kw):
                    w0 = j * dw - pw
                    lo, hi = _inside(w0, sw, width, n_wo)
                    for ho in range(h_lo, h_hi):
                        h = ho * sh - ph + i * dh
                        if sw == 1:
                            for wo in range(lo, hi):
                                out[n, c, h, wo + w0] += cols[c, i, j, n, ho, wo]
                        else:
                            for wo in range(lo, hi):
                                out[n, c, h, wo * sw + w0] += cols[c, i, j, n, ho, wo]
