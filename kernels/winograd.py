"""Numba kernels for Winograd's minimal filtering F(2x2, 3x3): the tile transforms, and the
chunk kernels that run them with the products between.

A 3x3 convolution with stride 1 computes each 2x2 block of outputs from a 4x4 tile of the
padded input. Winograd (Lavin & Gray 2016) writes that block as

    Y = A^T [ (G w G^T) * (B^T d B) ] A        (* elementwise; d: 4x4 tile, w: 3x3 kernel)

so, once every tile is transformed, the sum over input channels is 16 independent matrix
products (one per entry of the 4x4 transformed tile) with 2.25x fewer multiplications than
im2col's. The gradients are the adjoints of the same maps:

    dV = U^T-products of (A g A^T)         then dx tile += B dV B^T   (tiles overlap by 2)
    dU = (A g A^T)-products with V         then dw = G^T dU G

with g a 2x2 block of the output gradient. ``tinydl.ops.conv_winograd`` does the (tiny) kernel
transforms in NumPy; these kernels are the four transforms over whole batches, which are
memory-bound passes:

    winograd_input    x (N, C, H, W)        -> V  = B^T d B      per tile
    winograd_output   M (16 planes)         -> y  = A^T m A + b  per tile
    winograd_grad     g (N, F, Ho, Wo)      -> Gt = A g A^T      per tile
    winograd_fold     dV (16 planes)        -> dx = sum of B dv B^T over overlapping tiles

and two chunk kernels that run them with the products between (SciPy's BLAS, ``_gemm``)
in one call, so that a chunk of images takes the GIL once (``tinydl.ops.conv_winograd``);
both are one compiled function, ``_winograd_chunk``:

    winograd_forward  x                     -> y  (input, 16 products U @ V, output)
    winograd_backward g (and x)             -> dx (grad, 16 products U^T @ Gt, fold) and/or
                                               dU = Gt @ V^T with the bias gradient (input
                                               tiles of x made again, 16 products)

Transformed data lives in a C-contiguous 2-D buffer ``(16, stride)``: entry k of the
transformed tile of channel r at tile index p is ``buf[k, r * P + p]``, with
``P = N * th * tw`` tiles numbered ``(n * th + ty) * tw + tx``. So ``buf[k, :R*P]`` viewed as
(R, P) is the k-th matrix of a stacked product. ``stride`` is R*P plus a little padding:
with planes exactly R*P floats apart (a power of two on common shapes) the 16 streams a tile
reads or writes alias in the cache and every transform ran 1.5-2.5x slower.

Tile (ty, tx) reads padded-input rows 2ty..2ty+3 and columns 2tx..2tx+3, that is input rows
``2ty - ph + a``; everything outside the input reads as zero, and outputs beyond (Ho, Wo)
(odd sizes) are dropped. The NumPy twin of this path is im2col (the reference route of
``tinydl.ops.conv``); a test checks that both agree.
"""
import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401 - the BLAS that numba_xxgemm calls
from numba import types
from numba.extending import overload

# The four transforms are inline="always": Numba then compiles each once, inside the chunk
# kernel, instead of also on its own, which took the (then two) chunk kernels' cold compile
# from 1.8 + 2.4 to 1.6 + 2.0 s (the speed measured the same). A function that the kernel
# called as a separate jitted function was compiled on its own and then optimised again
# inside its caller (the input transform: about 0.3 s on its own, 0.5 s more in a caller).
# Their loops run along a whole plane of tiles where they can, written for LLVM's vectoriser
# (``_winograd_output``, ``_winograd_fold``).


def _plane_scratch(th, tw, dtype):
    """The scratch that ``_winograd_input`` and ``_winograd_fold`` share: ``plane``
    (2*th + 2, 2*tw + 2), one padded image plane, and ``work`` (12, (th + 1) * tw), planes of
    a tile grid one tile row taller."""
    return np.empty((2 * th + 2, 2 * tw + 2), dtype), np.empty((12, (th + 1) * tw), dtype)


def winograd_input(x, ph, pw, th, tw, v):
    """``v[k, c*P + p]`` = entry k of ``B^T d B`` for tile p of channel c of x (N, C, H, W)."""
    # Scratch arrays are made out here and passed in (as in the other kernels): typing
    # np.zeros inside a compiled function added about 0.3 s to each cold compile.
    _winograd_input(x, ph, pw, th, tw, v, *_plane_scratch(th, tw, x.dtype))


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True, inline="always")
def _winograd_input(x, ph, pw, th, tw, v, plane, work):
    """``winograd_input`` with the scratch of ``_winograd_fold``, whose adjoint it is:
    ``plane`` (2*th + 2, 2*tw + 2), one padded plane of x, and ``work`` (12, (th+1) * tw).

    Padded pixel (2Y + i, 2X + j) (i, j in 0, 1) is entry (i, j) of tile (Y, X), (i + 2, j)
    of tile (Y - 1, X), and so on, so the tiles are made from the plane's four phases:
    ``work[2i + j]`` holds pixels (2Y + i, 2X + j) for X < tw (the column X = tw, past the
    last tile, is read from the plane). B^T along the rows takes tiles X and X + 1 of each
    phase row (X + 1 wraps to the next row at X = tw - 1, whose entries are written again
    from the plane), into ``work[4 + 4i + b]`` (column b of row phase i), and B^T down the
    columns takes tile rows Y and Y + 1 (tw tiles apart) into the 16 planes of v. Loops as
    in ``_winograd_fold``: unsigned offsets, no slices, each pass writing four rows (as two
    loops of two rows it took 20 us, and 0.1 s more to compile). Per image of
    (32,32,32,32)->64: 14 us against 42 for the scalar code it replaces (a tile at a time
    from four rows of x; two images of (64,64,16,16): 22 and 49 us), for about 0.4 s more
    cold compile of the chunk kernel. (Writing V^T directly, consecutive tiles C entries
    apart, took 180 us against 107 for the scalar code and a transposing copy.)
    """
    n_batch, n_chan, height, width = x.shape
    n_tiles = n_batch * th * tw
    w, per, one, two = np.uint64(tw), np.uint64(th * tw), np.uint64(1), np.uint64(2)
    span = per + w  # th + 1 tile rows
    for r in range(plane.shape[0]):  # the padding, which every plane of x leaves as it is
        for col in range(plane.shape[1]):
            plane[r, col] = 0.0
    for n in range(n_batch):
        for c in range(n_chan):
            for r in range(height):
                for col in range(np.uint64(width)):
                    plane[r + ph, np.uint64(pw) + col] = x[n, c, r, col]
            for y in range(th + 1):  # the phases
                base = np.uint64(y * tw)
                for i in range(2):
                    row = 2 * y + i
                    for k in range(w):
                        work[2 * i, base + k] = plane[row, two * k]
                        work[2 * i + 1, base + k] = plane[row, two * k + one]
            for i in range(2):  # B^T along phase i's rows: d0 - d2, d1 + d2, d2 - d1, d1 - d3
                p0, p1 = 2 * i, 2 * i + 1  # d0, d1 at tile X; d2, d3 at X + 1
                r0, r1, r2, r3 = 4 + 4 * i, 5 + 4 * i, 6 + 4 * i, 7 + 4 * i
                for t in range(span - one):
                    work[r0, t] = work[p0, t] - work[p0, t + one]
                    work[r1, t] = work[p1, t] + work[p0, t + one]
                    work[r2, t] = work[p0, t + one] - work[p1, t]
                    work[r3, t] = work[p1, t] - work[p1, t + one]
                for y in range(th + 1):  # X = tw - 1: d2, d3 from the column X = tw
                    t = y * tw + tw - 1
                    d2, d3 = plane[2 * y + i, 2 * tw], plane[2 * y + i, 2 * tw + 1]
                    work[r0, t] = work[p0, t] - d2
                    work[r1, t] = work[p1, t] + d2
                    work[r2, t] = d2 - work[p1, t]
                    work[r3, t] = work[p1, t] - d3
            q0 = np.uint64(c * n_tiles + n * th * tw)
            for b in range(4):  # B^T down column b: tile row Y (phases 0, 1), Y + 1 (0, 1)
                top, bottom = 4 + b, 8 + b
                for t in range(per):
                    v[b, q0 + t] = work[top, t] - work[top, t + w]
                    v[4 + b, q0 + t] = work[bottom, t] + work[top, t + w]
                    v[8 + b, q0 + t] = work[top, t + w] - work[bottom, t]
                    v[12 + b, q0 + t] = work[bottom, t] - work[bottom, t + w]


def winograd_output(m, th, tw, bias, y):
    """``y[n, f]`` tile (ty, tx) = ``A^T m A + bias[f]``, m the transformed products (16 planes).

    y (N, F, Ho, Wo) is overwritten; tiles hanging over an odd Ho or Wo are cut.
    """
    full = _whole_tiles(y, th, tw)
    _winograd_output(m, th, tw, bias, full, np.empty((12, th * tw), m.dtype))
    _cut(full, y)


def _whole_tiles(y, th, tw):
    """y (N, F, Ho, Wo) itself when its tiles fit it exactly, else a new (N, F, 2th, 2tw)
    for the output kernel to fill with whole tiles (odd sizes), then ``_cut`` into y."""
    if y.shape[2:] == (2 * th, 2 * tw):
        return y
    return np.empty(y.shape[:2] + (2 * th, 2 * tw), y.dtype)


def _cut(full, y):
    """y = full without the tiles' overhang (nothing to do when full is y)."""
    if full is not y:
        y[...] = full[:, :, :y.shape[2], :y.shape[3]]


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True, inline="always")
def _winograd_output(m, th, tw, bias, y, s):
    """``winograd_output`` into y (N, F, 2*th, 2*tw), with scratch ``s`` (12, th*tw), rows
    of one channel's tiles.

    Written for LLVM's vectoriser, as the other transforms: every loop runs along one
    image's tiles (a plane's th*tw entries, unit stride or 2), indexed with unsigned offsets
    and writing a few rows. With the 16 planes in one loop its run-time checks that the
    arrays do not overlap were too many for it, with signed indices computed inside the
    loop it could not prove them in bounds (Numba wraps a negative index), and this kernel
    ran scalar code 2.2x slower (71 against 33 us on (32,32,32,32)->64, per image). With
    unsigned offsets instead of 1-D views: 20 us there either way, 31 against 43 us for two
    images of (64,64,16,16)->128."""
    n_batch, n_feat = y.shape[:2]
    n_tiles = n_batch * th * tw
    per, w, one, two = np.uint64(th * tw), np.uint64(tw), np.uint64(1), np.uint64(2)
    for n in range(n_batch):
        for f in range(n_feat):
            bf = bias[f]
            q0 = np.uint64(f * n_tiles + n * th * tw)
            for j in range(4):  # A^T down column j of every tile: rows j (top), 4 + j (bottom)
                for t in range(per):
                    s[j, t] = m[j, q0 + t] + m[4 + j, q0 + t] + m[8 + j, q0 + t]
                    s[4 + j, t] = m[4 + j, q0 + t] - m[8 + j, q0 + t] - m[12 + j, q0 + t]
            for i in range(2):  # each of those rows times A: output row i, columns 0 and 1
                e0, e1, e2, e3 = 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3
                for t in range(per):
                    s[8 + 2 * i, t] = s[e0, t] + s[e1, t] + s[e2, t] + bf
                    s[9 + 2 * i, t] = s[e1, t] - s[e2, t] - s[e3, t] + bf
            for ty in range(th):
                base = np.uint64(ty * tw)
                for i in range(2):
                    row = 2 * ty + i
                    for tx in range(w):
                        y[n, f, row, two * tx] = s[8 + 2 * i, base + tx]
                        y[n, f, row, two * tx + one] = s[9 + 2 * i, base + tx]


def winograd_grad(g, th, tw, gt):
    """``gt[k, f*P + p]`` = entry k of ``A g A^T`` for the 2x2 block p of g (N, F, Ho, Wo).

    Entries of a block beyond an odd Ho or Wo read as zero.
    """
    per = th * tw
    _winograd_grad(g, th, tw, gt, np.zeros((2, 2 * per), g.dtype), np.empty((2, 4, per), g.dtype))


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True, inline="always")
def _winograd_grad(g, th, tw, gt, rows, h):
    """``winograd_grad`` with scratch ``rows`` (2, th * 2tw), zeros: ``rows[e]`` the rows
    2ty + e of one plane of g, 2tw entries each (the entries beyond an odd Ho or Wo are
    never written, so they stay zero), and ``h`` (2, 4, th*tw): A along the rows of every
    block, ``h[e, j]`` entry j of its row e. Loops along a whole plane of blocks with
    unsigned offsets (as ``_winograd_fold``), each writing four rows: 28-31 us per image of
    (32,32,32,32)->64, as with two loops of two rows each over 1-D views, and 0.1 s less
    cold compile. (With the 16 planes of gt in one loop it took 75-80 us.)"""
    n_batch, n_feat, out_h, out_w = g.shape
    n_tiles = n_batch * th * tw
    per, two, one = np.uint64(th * tw), np.uint64(2), np.uint64(1)
    span = 2 * tw
    for n in range(n_batch):
        for f in range(n_feat):
            for y in range(out_h):
                base = np.uint64((y // 2) * span)
                e = y % 2
                for k in range(np.uint64(out_w)):
                    rows[e, base + k] = g[n, f, y, k]
            for e in range(2):  # A along row e of every block (g0, g1): g0, g0 + g1, g0 - g1, -g1
                for i in range(per):
                    h[e, 0, i] = rows[e, two * i]
                    h[e, 1, i] = rows[e, two * i] + rows[e, two * i + one]
                    h[e, 2, i] = rows[e, two * i] - rows[e, two * i + one]
                    h[e, 3, i] = -rows[e, two * i + one]
            q = np.uint64(f * n_tiles + n * th * tw)
            for j in range(4):  # then A down each column j: top, top + bottom, ...
                for i in range(per):
                    gt[j, q + i] = h[0, j, i]
                    gt[4 + j, q + i] = h[0, j, i] + h[1, j, i]
                    gt[8 + j, q + i] = h[0, j, i] - h[1, j, i]
                    gt[12 + j, q + i] = -h[1, j, i]


def winograd_fold(dv, th, tw, ph, pw, dx):
    """``dx`` (N, C, H, W) = sum over tiles of ``B dv B^T`` placed at the tile, then cropped.

    The adjoint of ``winograd_input``: tile (ty, tx) adds its 4x4 block to padded rows
    2ty..2ty+3 and columns 2tx..2tx+3; what lands in the padding is dropped. dx is
    overwritten.
    """
    _winograd_fold(dv, th, tw, ph, pw, dx, *_plane_scratch(th, tw, dx.dtype))


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True, inline="always")
def _winograd_fold(dv, th, tw, ph, pw, dx, plane, work):
    """``winograd_fold`` with ``plane`` (2*th + 2, 2*tw + 2), one padded dx plane, and
    ``work`` (12, (th + 1) * tw), planes of a tile grid one tile row taller (scratch).

    Tiles overlap by 2, so padded pixel (2Y + i, 2X + j) (i, j in 0, 1) sums entry (i, j) of
    tile (Y, X)'s block, (i + 2, j) of tile (Y - 1, X), (i, j + 2) of (Y, X - 1) and
    (i + 2, j + 2) of (Y - 1, X - 1). Each 1-D pass of B meets its overlap at once, in loops
    along a whole plane of tiles: down the columns, tile rows Y and Y - 1 (tw tiles apart in
    the numbering) make the two row phases i of column j, ``work[4i + j]``; along the rows,
    tiles X and X - 1 make the four phases (i, j), ``work[8 + 2i + j]``, whose first tile of
    each row (X = 0, where X - 1 is the row above's last) is written again alone, and whose
    last column (X = tw, past the last tile) goes into the plane directly. Then the phases
    are interleaved into the padded plane, and the plane cropped into dx.

    The loops index the 2-D arrays with unsigned offsets (Numba checks a signed index for
    wrap-around, which keeps LLVM from vectorising) and take no slices. Per image of
    (32,32,32,32)->64: 18-21 us against 61 for the scalar code it replaces (one tile at a
    time adding its block into the plane; two images of (64,64,16,16): 25-28 and 61 us),
    for about 0.5 s more cold compile of the chunk kernel. Written with a 1-D view per
    operand it ran as fast but compiled twice as long.
    """
    n_batch, n_chan, height, width = dx.shape
    n_tiles = n_batch * th * tw
    w, per, one, two = np.uint64(tw), np.uint64(th * tw), np.uint64(1), np.uint64(2)
    span = per + w  # th + 1 tile rows
    for n in range(n_batch):
        for c in range(n_chan):
            q0 = np.uint64(c * n_tiles + n * th * tw)  # the plane's first tile in dv
            q1 = q0 + w  # its tile row 1
            for j in range(4):  # B down column j: (d0, d1 - d2 + d3, d1 + d2 - d0, -d3)
                top, bottom = j, 4 + j  # phases 0 (entries 0 and 2) and 1 (entries 1 and 3)
                r0, r1, r2, r3 = j, 4 + j, 8 + j, 12 + j
                for t in range(w):  # tile row 0: entries 0, 1 (no row above)
                    work[top, t] = dv[r0, q0 + t]
                    work[bottom, t] = dv[r1, q0 + t] - dv[r2, q0 + t] + dv[r3, q0 + t]
                for t in range(per):  # rows 1 .. th: entries 2, 3 of the tile row above
                    work[top, w + t] = dv[r1, q0 + t] + dv[r2, q0 + t] - dv[r0, q0 + t]
                    work[bottom, w + t] = -dv[r3, q0 + t]
                for t in range(per - w):  # rows 1 .. th - 1 add their own entries 0, 1
                    work[top, w + t] += dv[r0, q1 + t]
                    work[bottom, w + t] += dv[r1, q1 + t] - dv[r2, q1 + t] + dv[r3, q1 + t]
            for i in range(2):  # B along the rows of phase i; tile X - 1 adds its entries 2, 3
                e0, e1, e2, e3 = 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3
                left, right = 8 + 2 * i, 9 + 2 * i
                for t in range(span - one):  # t + 1 is tile X, t tile X - 1 (X = 0 below)
                    work[left, t + one] = (work[e0, t + one] + work[e1, t] + work[e2, t]
                                           - work[e0, t])
                    work[right, t + one] = (work[e1, t + one] - work[e2, t + one]
                                            + work[e3, t + one] - work[e3, t])
                for y in range(th + 1):
                    t = y * tw  # X = 0: no tile before it
                    work[left, t] = work[e0, t]
                    work[right, t] = work[e1, t] - work[e2, t] + work[e3, t]
                    t += tw - 1  # X = tw: entries 2, 3 of tile tw - 1
                    plane[2 * y + i, 2 * tw] = work[e1, t] + work[e2, t] - work[e0, t]
                    plane[2 * y + i, 2 * tw + 1] = -work[e3, t]
            for y in range(th + 1):  # interleave the phases: pixel (2Y + i, 2X + j)
                base = np.uint64(y * tw)
                for i in range(2):
                    row = 2 * y + i
                    for x in range(w):
                        plane[row, two * x] = work[8 + 2 * i, base + x]
                        plane[row, two * x + one] = work[9 + 2 * i, base + x]
            for r in range(height):
                for col in range(np.uint64(width)):
                    dx[n, c, r, col] = plane[r + ph, np.uint64(pw) + col]


def _gemm_function(dtype):
    """Numba's own C helper for BLAS ?gemm (what ``np.dot`` calls), typed for ``dtype``."""
    ptr = types.CPointer(dtype)
    return types.ExternalFunction("numba_xxgemm", types.intc(
        types.char, types.char, types.char,  # kind, transa, transb
        types.intp, types.intp, types.intp,  # m, n, k
        ptr, ptr, types.intp, ptr, types.intp,  # alpha, a, lda, b, ldb
        ptr, ptr, types.intp))  # beta, c, ldc


def _gemm(m, n, k, a, b, trans_b, c, coef, accumulate):
    """c (m, n) = a (m, k) @ b (k, n), or a @ b.T of b (n, k) when ``trans_b``, plus what c
    holds when ``accumulate``: row-major blocks at the start of the C-contiguous arrays a, b
    and c (the rows of a tile buffer, say), float32 or float64 alike; ``coef`` = (1, 0, 1)
    of their dtype, alpha and the two betas. Jitted code only (an ``overload``).

    It calls BLAS through ``numba_xxgemm``, as ``np.dot`` does, without np.dot's typing of
    views, reshapes and layouts: the chunk kernel's cold compile took 0.3-0.4 s less so, and
    dU's products add into it (beta 1) instead of into a scratch product added after.
    """
    raise TypeError("_gemm runs in jitted code only (tinydl.kernels.winograd's chunk kernel)")


@overload(_gemm)
def _gemm_typed(m, n, k, a, b, trans_b, c, coef, accumulate):
    function = _gemm_function(c.dtype)
    # The character codes as constants: ord() in the jitted body compiled Numba's unicode
    # ord (about 0.1 s of the chunk kernel's cold compile).
    kind = ord("s" if c.dtype == types.float32 else "d")
    transposed, plain = ord("t"), ord("n")

    def call(m, n, k, a, b, trans_b, c, coef, accumulate):
        # Column-major BLAS sees each row-major block transposed: c^T = b^T @ a^T.
        function(kind, transposed if trans_b else plain, plain, n, m, k, coef.ctypes,
                 b.ctypes, k if trans_b else n, a.ctypes, k,
                 coef[2:].ctypes if accumulate else coef[1:].ctypes, c.ctypes, n)

    return call


def winograd_forward(x, ph, pw, th, tw, u, v, m, bias, y):
    """One chunk of the forward in one call: V = input tiles of x into v, M = U @ V (16
    products, into m), y = output tiles of M + bias. u (16, F, C) contiguous."""
    full = _whole_tiles(y, th, tw)
    dtype = x.dtype
    _winograd_chunk(True, x, np.empty((0, 0, 0, 0), dtype), th, tw, ph, pw, u, v, m, bias, full,
                    np.empty((16, 0, 0), dtype), np.empty(0), False, False, False,
                    np.empty((12, th * tw), dtype), np.empty((2, 0), dtype),
                    np.empty((2, 4, 0), dtype), *_plane_scratch(th, tw, dtype),
                    np.array([1, 0, 1], dtype))
    _cut(full, y)


def winograd_backward(g, th, tw, ph, pw, ut, x, gt, v, du, db, add, dx):
    """One chunk of the backward in one call: Gt = output-gradient tiles of g into gt; then,
    when x is given, its input tiles V into tile buffer v, dU = Gt @ V^T into du (16, F, C)
    and the bias gradient (g summed over images and pixels, in float64) into db (F,), or
    both added to them when ``add``; when ut (16, C, F) is given, dV = U^T @ Gt into v (after
    V's use), folded into dx. What is not needed is None."""
    per = th * tw
    dtype = g.dtype
    need_x, need_w = ut is not None, x is not None
    none3 = np.empty((16, 0, 0), dtype)  # for what is not needed: one specialisation
    none4 = np.empty((0, 0, 0, 0), dtype)
    _winograd_chunk(False, x if need_w else none4, g, th, tw, ph, pw,
                    ut if need_x else none3, v, gt, np.empty(0, dtype),
                    dx if need_x else none4, du if need_w else none3,
                    db if need_w else np.empty(0), add, need_x, need_w, np.empty((12, 0), dtype),
                    np.zeros((2, 2 * per), dtype), np.empty((2, 4, per), dtype),
                    *_plane_scratch(th, tw, dtype), np.array([1, 0, 1], dtype))


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, nogil=True)
def _winograd_chunk(forward, x, g, th, tw, ph, pw, u, v, t, bias, y, du, db, add, need_x,
                    need_w, s, rows_g, h, plane, work, coef):
    """``winograd_forward`` (``forward``) or ``winograd_backward``, one function for both:
    as two, Numba compiled the input transform and the products into each, and their cold
    compile took 3.2-3.25 s CPU against 2.8-2.9 for this one (three runs each, alternating,
    with the scalar input transform and fold of then).

    Forward: x -> V (tile buffer v), M = U @ V into tile buffer t, y = output tiles of M +
    bias (y of whole tiles), u (16, F, C). Backward: g -> Gt into t; when ``need_w``, the
    bias gradient into db, x -> V into v and dU = Gt @ V^T into du (added when ``add``);
    when ``need_x``, u is U^T (16, C, F), dV = U^T @ Gt into v and its fold into y (dx).
    What a call does not use are stand-ins. Scratch: ``s`` of ``_winograd_output``,
    ``rows_g`` and ``h`` of ``_winograd_grad``, ``plane`` and ``work`` of ``_winograd_input``
    and then ``_winograd_fold``; ``coef`` of ``_gemm``.

    dU multiplies by V^T as BLAS's transposed operand. SciPy's OpenBLAS (0.3.30 here) ran
    that at 149 us against 122 for a contiguous V^T on (32,32,32,32)->64 per image (NumPy's
    0.3.31: 225): less than the transposing copy."""
    n_img = x.shape[0] if forward else g.shape[0]
    p = th * tw * n_img
    if not forward:
        n_feat = g.shape[1]
        _winograd_grad(g, th, tw, t, rows_g, h)
        if need_w:
            for f in range(n_feat):
                total = 0.0
                for n in range(n_img):
                    total += _plane_sum(g[n, f])
                db[f] = db[f] + total if add else total
    if forward or need_w:
        _winograd_input(x, ph, pw, th, tw, v, plane, work)
    # Both kinds of product pass a 2-D a and c (a one-row slice where the block is a row of
    # a tile buffer) and a 1-D b: one signature, so Numba compiles _gemm once, not twice.
    if not forward and need_w:
        for k in range(16):
            _gemm(n_feat, du.shape[2], p, t[k:k + 1], v[k], True, du[k], coef, add)
    if forward or need_x:  # M = U @ V (forward) or dV = U^T @ Gt: the same products
        left, right = (v, t) if forward else (t, v)
        for k in range(16):
            _gemm(u.shape[1], p, u.shape[2], u[k], left[k], False, right[k:k + 1], coef, False)
    if forward:
        _winograd_output(t, th, tw, bias, y, s)
    elif need_x:
        _winograd_fold(v, th, tw, ph, pw, y, plane, work)


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True, no_cpython_wrapper=True,
            fastmath={"reassoc"})
def _plane_sum(plane):
    """The sum of a C-contiguous 2-D array, in float64. ``reassoc`` lets LLVM add in SIMD
    lanes (in float64 still; the order of the adds is all it changes): 26.5 -> 7.6 us for an
    image's 64 planes of 32x32, whose sum otherwise waits for each add in turn."""
    flat = plane.ravel()
    total = 0.0
    for i in range(flat.size):
        total += flat[i]
    return total
