"""Numba kernels for max pooling: the forward (window maximum and its offset, one pass) and its
gradient (scatter to the winning offsets, one pass).

The NumPy twins (``tinydl.ops.pool.max_pool_offsets`` and ``MaxUnpool2d``'s scatter) loop over
the kh*kw window offsets, each a full pass over the batch (a maximum, then a compare and a
masked copy to find the first offset holding it); these kernels visit every window once.
Measured here on LeNet's two pooling layers (float32, batch 64) the forward kernel took
0.35-0.45x the NumPy twin's time; the gradient kernel makes one read of g and indices and
one write of the result instead of kh*kw masked passes.

Semantics are the twins' (and torch's): positions in the padding read as -inf; the first
offset (row-major in the window) holding the maximum wins; a NaN wins, and of several NaNs
the last one (torch's rule: a NaN replaces the running maximum, a tie does not); a window
whose values are all -inf reports its first position inside x (where torch's search starts),
never the padding.
Offsets are ``k = i*kw + j``; ``tinydl.ops.pool`` calls these for float32 data while
``tinydl.backends.numba`` is on (``TINYDL_NUMBA=0`` turns it off at start).
"""
import math

import numba


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_pool_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out, indices):
    """``out[n, c, ho, wo]`` = max of the window, ``indices[...]`` = its offset k."""
    n_batch, n_chan, height, width = x.shape
    n_ho, n_wo = out.shape[2], out.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            for ho in range(n_ho):
                for wo in range(n_wo):
                    best = -math.inf
                    # torch's running maximum starts at the window's first position inside
                    # x: where every value is -inf, that one wins, not the padding (-inf too).
                    i0 = 0
                    while i0 < kh - 1 and ho * sh - ph + i0 * dh < 0:
                        i0 += 1
                    j0 = 0
                    while j0 < kw - 1 and wo * sw - pw + j0 * dw < 0:
                        j0 += 1
                    best_k = i0 * kw + j0
                    nan_seen = False
                    for i in range(kh):
                        h = ho * sh - ph + i * dh
                        h_inside = 0 <= h < height
                        # min(max(h, 0), height - 1), spelt out (see tinydl.kernels.conv)
                        h_clamped = h if h > 0 else 0
                        h_clamped = h_clamped if h_clamped < height - 1 else height - 1
                        for j in range(kw):
                            w = wo * sw - pw + j * dw
                            w_clamped = w if w > 0 else 0
                            w_clamped = w_clamped if w_clamped < width - 1 else width - 1
                            value = x[n, c, h_clamped, w_clamped]
                            # Selects, not branches: the comparison outcome is data-dependent
                            # and mispredicted branches cost more than the arithmetic.
                            value = value if h_inside and 0 <= w < width else -math.inf
                            nan_seen = nan_seen or value != value
                            take = value > best
                            best = value if take else best
                            best_k = i * kw + j if take else best_k
                    if nan_seen:
                        for k in range(kh * kw):  # no break: the last NaN wins
                            h = ho * sh - ph + (k // kw) * dh
                            w = wo * sw - pw + (k % kw) * dw
                            inside = 0 <= h < height and 0 <= w < width
                            if inside and x[n, c, h, w] != x[n, c, h, w]:
                                best = x[n, c, h, w]
                                best_k = k
                    out[n, c, ho, wo] = best
                    indices[n, c, ho, wo] = best_k


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_unpool_kernel(g, indices, kh, kw, sh, sw, ph, pw, dh, dw, out):
    """``out`` (N, C, H, W), overwritten: each ``g[n, c, ho, wo]`` added at its winning offset."""
    n_batch, n_chan, height, width = out.shape
    n_ho, n_wo = g.shape[2], g.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            for h in range(height):
                for w in range(width):
                    out[n, c, h, w] = 0
            for ho in range(n_ho):
                for wo in range(n_wo):
                    k = indices[n, c, ho, wo]
                    h = ho * sh - ph + (k // kw) * dh
                    w = wo * sw - pw + (k % kw) * dw
                    if 0 <= h < height and 0 <= w < width:
                        out[n, c, h, w] += g[n, c, ho, wo]


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_pool_2x2_kernel(x, out, indices):
    """``max_pool_kernel`` for 2x2 windows with stride 2, no padding, no dilation (the usual
    pooling layer): the same results, for (N, C, H, W) -> (N, C, H // 2, W // 2).

    The general kernel clamps and checks every read; here each output row reads two whole
    input rows, and the window is four plain loads. A NaN is caught by one test per window
    and handled as in the general kernel (the last NaN wins). Measured on LeNet's first
    pooling layer (64, 6, 24, 24): about 3x faster than the general kernel.
    """
    n_batch, n_chan = x.shape[0], x.shape[1]
    n_ho, n_wo = out.shape[2], out.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            for ho in range(n_ho):
                top = x[n, c, 2 * ho]
                bottom = x[n, c, 2 * ho + 1]
                row_out = out[n, c, ho]
                row_idx = indices[n, c, ho]
                for wo in range(n_wo):
                    a, b = top[2 * wo], top[2 * wo + 1]
                    c2, d = bottom[2 * wo], bottom[2 * wo + 1]
                    # First offset wins ties: a later one must be strictly larger.
                    best, k = a, 0
                    k = 1 if b > best else k
                    best = b if b > best else best
                    k = 2 if c2 > best else k
                    best = c2 if c2 > best else best
                    k = 3 if d > best else k
                    best = d if d > best else best
                    if a != a or b != b or c2 != c2 or d != d:  # the last NaN wins
                        k = 3 if d != d else (2 if c2 != c2 else (1 if b != b else 0))
                        best = a if k == 0 else (b if k == 1 else (c2 if k == 2 else d))
                    row_out[wo] = best
                    row_idx[wo] = k


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_unpool_2x2_kernel(g, indices, out):
    """``max_unpool_kernel`` for 2x2 windows with stride 2, no padding, no dilation: windows
    do not overlap, so each gradient is one store at row ``k >> 1`` and column ``k & 1`` of
    its window (the general kernel divides by kw for every one)."""
    n_batch, n_chan = out.shape[0], out.shape[1]
    n_ho, n_wo = g.shape[2], g.shape[3]
    for n in range(n_batch):
        for c in range(n_chan):
            plane = out[n, c]
            for h in range(plane.shape[0]):  # loops, not plane[:, :] = 0: cheaper to compile
                for w in range(plane.shape[1]):
                    plane[h, w] = 0
            for ho in range(n_ho):
                row_g = g[n, c, ho]
                row_idx = indices[n, c, ho]
                for wo in range(n_wo):
                    k = row_idx[wo]
                    plane[2 * ho + (k >> 1), 2 * wo + (k & 1)] = row_g[wo]
