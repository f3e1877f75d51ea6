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
``tinydl.backends.numba`` is on (``TINYDL_NUMBA=0`` turns it off at start). The general
kernels release the GIL (``nogil``): ``tinydl.ops.pool`` runs them on chunks of images that
threads share, which made 3x3 pooling forward and backward 0.7-0.9x torch's time with two
threads (it was 1.3-1.5x, one thread against torch's two).
"""
import math

import numba


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def max_pool_kernel(src, shape, kh, kw, sh, sw, ph, pw, dh, dw, out, indices, out_h, out_w):
    """``out[n, c, ho, wo]`` = max of the window, ``indices[...]`` = its offset k.

    ``src`` is x (N, C, H, W) = ``shape`` as a flat C-contiguous view, ``out`` and
    ``indices`` the results (N, C, out_h, out_w) as flat views; all are indexed with unsigned
    offsets (as in ``tinydl.kernels.conv``). That, rather than 4-d indexing with signed
    indices, took a fifth off this kernel's compile (0.65 against 0.82 s, one process,
    alternating) at the same speed.
    """
    n_batch, n_chan, height, width = shape
    for plane in range(n_batch * n_chan):
        base = numba.uint64(plane * height * width)
        first = numba.uint64(plane * out_h * out_w)
        for ho in range(out_h):
            top = ho * sh - ph
            # torch's running maximum starts at the window's first position inside x: where
            # every value is -inf, that one wins, not the padding (-inf too).
            i0 = 0
            while i0 < kh - 1 and top + i0 * dh < 0:
                i0 += 1
            for wo in range(out_w):
                left = wo * sw - pw
                j0 = 0
                while j0 < kw - 1 and left + j0 * dw < 0:
                    j0 += 1
                best = -math.inf
                best_k = i0 * kw + j0
                nan_seen = False
                for i in range(kh):
                    h = top + i * dh
                    h_inside = 0 <= h < height
                    # min(max(h, 0), height - 1), spelt out (see tinydl.kernels.conv)
                    h_clamped = h if h > 0 else 0
                    h_clamped = h_clamped if h_clamped < height - 1 else height - 1
                    row = base + numba.uint64(h_clamped * width)
                    for j in range(kw):
                        w = left + j * dw
                        w_clamped = w if w > 0 else 0
                        w_clamped = w_clamped if w_clamped < width - 1 else width - 1
                        value = src[row + numba.uint64(w_clamped)]
                        # Selects, not branches: the comparison outcome is data-dependent
                        # and mispredicted branches cost more than the arithmetic.
                        value = value if h_inside and 0 <= w < width else -math.inf
                        nan_seen = nan_seen or value != value
                        take = value > best
                        best = value if take else best
                        best_k = i * kw + j if take else best_k
                if nan_seen:
                    # Apart, not in the selects above: ``take = value > best or value !=
                    # value`` gives the same results there but made the kernel 2x slower.
                    for k in range(kh * kw):  # no break: the last NaN wins
                        h = top + (k // kw) * dh
                        w = left + (k % kw) * dw
                        if 0 <= h < height and 0 <= w < width:
                            value = src[base + numba.uint64(h * width + w)]
                            if value != value:
                                best = value
                                best_k = k
                at = first + numba.uint64(ho * out_w + wo)
                out[at] = best
                indices[at] = best_k


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def max_unpool_kernel(g, indices, kh, kw, sh, sw, ph, pw, dh, dw, out, shape, out_h, out_w):
    """``out`` (N, C, H, W) = ``shape``, overwritten: each ``g[n, c, ho, wo]`` added at its
    winning offset. ``g`` and ``indices`` are flat C-contiguous views of the pooled
    (N, C, out_h, out_w) arrays and ``out`` of the result, indexed with unsigned offsets as
    in ``max_pool_kernel`` (with 4-d indexing this kernel took 0.21 s of cold compile)."""
    n_batch, n_chan, height, width = shape
    for i in range(numba.uint64(out.size)):
        out[i] = 0
    for plane in range(n_batch * n_chan):
        base = numba.uint64(plane * height * width)
        first = numba.uint64(plane * out_h * out_w)
        for ho in range(out_h):
            for wo in range(out_w):
                at = first + numba.uint64(ho * out_w + wo)
                k = indices[at]
                h = ho * sh - ph + (k // kw) * dh
                w = wo * sw - pw + (k % kw) * dw
                if 0 <= h < height and 0 <= w < width:
                    out[base + numba.uint64(h * width + w)] += g[at]


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_pool_2x2_kernel(src, out, indices, n_planes, height, width):
    """``max_pool_kernel`` for 2x2 windows with stride 2, no padding, no dilation (the usual
    pooling layer): the same results, for x (N, C, H, W) -> (N, C, H // 2, W // 2).

    ``src``, ``out`` and ``indices`` are flat C-contiguous views of x (``n_planes`` = N*C
    planes of ``height`` x ``width``) and of the results (N*C planes of H // 2 x W // 2),
    indexed with unsigned offsets, and each window is four plain loads and six
    compare-and-selects, no branch: the first offset wins ties (a later one must be
    strictly larger), then each NaN replaces the result in offset order, so the last NaN
    wins (a NaN in the first offset is already the result: nothing compares larger). So
    LLVM vectorises the loop: 0.15 ms against 0.39 ms for the branching 2x2 kernel it
    replaced, on LeNet's first pooling layer (64, 6, 24, 24) (0.05 against 0.11 ms on the
    second, (64, 16, 8, 8)). The same branch-free form for ``max_unpool_2x2_kernel`` (four
    selected stores per window, no zeroing pass) ran 3.8x slower than it, so that one stays.
    """
    n_ho, n_wo = height // 2, width // 2
    one = numba.uint64(1)
    for plane in range(n_planes):
        for ho in range(n_ho):
            top = numba.uint64((plane * height + 2 * ho) * width)
            bottom = top + numba.uint64(width)
            row = numba.uint64((plane * n_ho + ho) * n_wo)
            for wo in range(n_wo):
                j = numba.uint64(2 * wo)
                a, b = src[top + j], src[top + j + one]
                c, d = src[bottom + j], src[bottom + j + one]
                best, k = a, 0
                take = b > best
                best, k = (b if take else best), (1 if take else k)
                take = c > best
                best, k = (c if take else best), (2 if take else k)
                take = d > best
                best, k = (d if take else best), (3 if take else k)
                take = b != b
                best, k = (b if take else best), (1 if take else k)
                take = c != c
                best, k = (c if take else best), (2 if take else k)
                take = d != d
                best, k = (d if take else best), (3 if take else k)
                out[row + numba.uint64(wo)] = best
                indices[row + numba.uint64(wo)] = k


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def max_unpool_2x2_kernel(g, indices, out, n_planes, height, width):
    """``max_unpool_kernel`` for 2x2 windows with stride 2, no padding, no dilation: windows
    do not overlap, so each gradient is one store at row ``k >> 1`` and column ``k & 1`` of
    its window (the general kernel divides by kw for every one).

    ``g`` and ``indices`` are flat C-contiguous views of the pooled (N, C, H // 2, W // 2)
    arrays, ``out`` of the result (N, C, H, W) (``n_planes`` = N*C planes of ``height`` x
    ``width``), overwritten; unsigned offsets, as ``max_pool_2x2_kernel``. Written with 4-d
    indexing and plane views it took 52 against 39 us on LeNet's (64, 6, 24, 24) (19 and 14
    on (64, 16, 8, 8)) and twice the cold compile.
    """
    n_ho, n_wo = height // 2, width // 2
    for i in range(numba.uint64(out.size)):
        out[i] = 0
    one, wide = numba.uint64(1), numba.uint64(width)
    for plane in range(n_planes):
        for ho in range(n_ho):
            src = numba.uint64((plane * n_ho + ho) * n_wo)
            top = numba.uint64((plane * height + 2 * ho) * width)
            for wo in range(numba.uint64(n_wo)):
                k = numba.uint64(indices[src + wo])
                out[top + (k >> one) * wide + numba.uint64(2) * wo + (k & one)] = g[src + wo]
