"""The Winograd route of convolution: F(2x2, 3x3), 3x3 stride-1 convolutions with 2.25x fewer
multiplications than im2col (Lavin & Gray 2016).

Each 2x2 block of outputs comes from a 4x4 tile of the padded input (tiles overlap by 2):
y = A^T [(G w G^T) * (B^T d B)] A. With U = G w G^T (16, F, C) and every tile transformed,
V = B^T d B (16, C, P) for P tiles, the channel sum is 16 stacked GEMMs M = U @ V, and the
output transform A^T m A gives y. The gradients are the adjoints: with Gt = A g A^T
(16, F, P), dU = Gt @ V^T (then dw = G^T dU G) and dV = U^T @ Gt (then dx = the overlapping
sum of B dV B^T). The tile transforms and the 16 products run in Numba kernels
(``tinydl.kernels.winograd``, where the buffer layout is described), one call per chunk of
images for the forward (``winograd_forward``) and one for the backward
(``winograd_backward``); the small kernel transforms are NumPy. The im2col routes are its
reference: a test checks that both agree.

``tinydl.ops.conv.choose_route`` sends float32 convolutions here with a 3x3 kernel, stride 1,
dilation 1, groups=1, at least ``tinydl.backends.winograd_min_channels`` (16) channels
in and out and at least ``tinydl.backends.winograd_min_pixels`` (64) output pixels per image,
while ``tinydl.backends.winograd`` and ``numba`` are on. With 3 input channels it took twice
im2col's time (the transformed tiles are 4x the input, which 3 channels' GEMMs cannot
amortise), hence the 16-channel floor. On output maps of 5x5 and smaller, channel-major
im2col beat it in 17 of 18 measurements (forward and both gradients, batches of 16-128,
16-64 channels, 1 and 2 threads, alternating rounds: 1.04-1.96x faster on 4x4, 1.35-1.43x
on 5x5, 1.57-1.97x on 3x3 and 2x2; its 16 products per chunk are too small there); 6x6 and
8x8 were mixed (Winograd ahead in 5 of 10, by up to 1.23x; behind by up to 1.49x): hence
the 64-pixel floor. The quickstart CNN's second layer (64x16x4x4 -> 32) took its epoch
from 86 to 79 ms so. float32 error is about 3e-7 of the output's scale.

**Chunks of images.** The transformed tiles are 4x the data they come from, and every stage
(transform, 16 products, inverse transform) is a pass over them: done for the whole batch at
once, each pass went through memory, and the transforms took half the time. So the route
works on chunks of whole images whose tiles fit ``conv.CHUNK_BYTES`` (1 MB, in a core's
2 MB L2 here): a chunk's tiles are transformed, multiplied and transformed back while they
are in cache, and a backward makes each chunk's output-gradient tiles once and uses them
for dW and dx together (``Winograd.backward``). Threads share the chunks, claiming one at
a time (``conv.in_parallel``), each running its chunks' kernels (which release the GIL) and
single-threaded products: a chunk's products are too small to split well. Measured here,
forward + backward with bias, medians of 9, two alternating runs, before -> after (torch):
(32,32,32,32)->64 2 threads 53-68 -> 39-40 ms (31-40), 1 thread 67-78 -> 45-47 (47-48);
(64,64,16,16)->128 2 threads 96-98 -> 47-56 (37-59), 1 thread 106-109 -> 66-67 (64-65).

**One call per chunk.** With the products in NumPy between the transform kernels, a chunk
went in and out of the GIL four times, and on two threads a thread leaving a kernel often
waited for the GIL while the other ran a few lines of Python (a wake-up that costs tens of
microseconds in this VM). The chunk kernels do a chunk's transforms and products in one
call, the products through SciPy's BLAS (the ``?gemm`` that Numba's ``np.dot`` calls,
which ``threads.refresh_blas`` puts under tinydl's thread policy on the first call).
Measured (a 2-core AVX-512 Xeon, 2 threads, alternating in one process, medians of 12):
(32,32,32,32)->64 forward 4.2-4.5 -> 3.9-4.1 ms, forward + backward 14.0-14.3 -> 13.1-13.7;
(64,64,16,16)->128 6.3-6.9 -> 5.7-6.2 and 22.2-23.3 -> 20.4-21.7. They cost cold compile:
about 1.3 s more (both kernels linked the transforms and compiled ``np.dot``; they are one
compiled function now, with the products called without np.dot's typing:
``kernels/winograd.py``).
Each thread keeps its tile buffers for all the chunks it claims (``_Workspace``).

**Why not F(4x4, 3x3).** It would do 4x fewer multiplications than im2col (2.25x here) on
2.25 transformed values per output pixel (4 here), but its float32 error is too large:
measured against a float64 reference on (8,32,32,32)->64, (8,64,16,16)->128 and
(4,256,8,8)->256, the largest error over the output's scale was 4.7e-6 to 1.4e-5 with the
usual points (0, +-1, +-2), 2.1e-6 to 4.1e-6 with the best set tried (0, +-1, 2, -1/2),
against torch's direct convolution's 2.1e-7 to 5.9e-7 (4-40x; this route's F(2x2, 3x3):
2.6e-7 to 5.9e-7). Issue 20 bounds the error at 2x torch's. F(3x3, 3x3) (3.24x fewer
multiplications, 25 products on 2.8 transformed values per output pixel) is between: on
the same shapes 1.9e-6 to 5.6e-6 with the points (0, +-1, 2), (0, +-1, -2), (0, +-1, 1/2)
or (0, +-1, -1/2), against torch's 3.3e-7 to 4.1e-7 in that run (5-13x; F(2x2, 3x3):
2.8e-7 to 8.0e-7, products summed in float32 in both).

The entry points are those of every route (``tinydl.ops.conv``), plus ``backward`` for
both gradients at once. The forward keeps only U; the backward makes each chunk's input
tiles again in its chunk kernel, for the weight gradient.
Tile buffers come from ``tinydl.ops.conv.scratch``, which is thread-safe.
"""
import threading
from collections import namedtuple

import numpy as np

from tinydl import backends, threads
from tinydl.ops import conv  # the geometry and the scratch buffers

_PLANE_PAD = 16  # floats between the 16 planes of a tile buffer, against cache aliasing
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_GG = np.kron(_G, _G)  # (16, 9): row 4a + b, column 3i + j holds G[a, i] G[b, j]

_refreshed = False
GROUP = 4  # at most, chunks a thread claims at a time in a backward (see Winograd.backward)


def _kernels():
    """The kernel module; the first call on the main thread also has tinydl's thread policy
    take over the BLAS that its chunk kernels multiply through (SciPy's, loaded with the
    module). Not from another thread: OpenBLAS takes a count only from the main thread, and
    SciPy's would keep its own (every core) for good."""
    global _refreshed
    module = backends.kernel_module("winograd")
    if not _refreshed and threading.current_thread() is threading.main_thread():
        threads.refresh_blas()
        _refreshed = True
    return module


Tiles = namedtuple("Tiles", "th tw count")
Tiles.__doc__ = """Winograd tiling of an (N, ., Ho, Wo) output: th x tw blocks of 2x2 per image."""


def tiles_of(n, out_h, out_w):
    """The tiling of an (n, ., out_h, out_w) output (odd sizes get a last, cut tile)."""
    th, tw = (out_h + 1) // 2, (out_w + 1) // 2
    return Tiles(th, tw, n * th * tw)


def _tile_buffer(rows, tiles, dtype):
    """A scratch buffer (16, rows*P + pad) for ``rows`` channels of transformed tiles."""
    return conv.scratch.take((16, rows * tiles.count + _PLANE_PAD), dtype)


def _weight_tiles(w):
    """U = G w G^T for every (f, c): (F, C, 3, 3) -> (16, F, C).

    Entry (a, b) of U is sum_ij G[a, i] G[b, j] w[i, j], so all of U is one product with
    kron(G, G) (16, 9): 227 -> 13 us on (64, 32, 3, 3) and 928 -> 83 us on (128, 64, 3, 3)
    against a batch of 4x3 @ 3x3 @ 3x4 products (NumPy's matmul loops over tiny matrices).
    On one BLAS thread: it comes just before the chunks' threads (see ``single_blas``).
    """
    f, c = w.shape[:2]
    with threads.single_blas():
        u = np.matmul(_GG.astype(w.dtype), w.reshape(f * c, 9).T)
    return u.reshape(16, f, c)


def _weight_tiles_grad(du):
    """dw = G^T dU G for every (f, c): (16, F, C) -> (F, C, 3, 3), the adjoint of the above
    (one BLAS thread, as there)."""
    f, c = du.shape[1:]
    with threads.single_blas():
        dw = np.matmul(du.reshape(16, f * c).T, _GG.astype(du.dtype))
    return dw.reshape(f, c, 3, 3)


def chunks(n, c, f, out_h, out_w, dtype):
    """Ranges (n0, n1) of images, each with its tiling: as many images per chunk as keep one
    chunk's transformed tiles (16 planes of c + f rows) within ``conv.CHUNK_BYTES``, at
    least one."""
    per_image = 16 * (c + f) * tiles_of(1, out_h, out_w).count * np.dtype(dtype).itemsize
    return [(n0, n1, tiles_of(n1 - n0, out_h, out_w))
            for n0, n1 in conv.image_chunks(n, per_image)]


class _Workspace:
    """One thread's tile buffers, each made on first use for the biggest chunk (a chunk's
    tiles fill a prefix of it) and reused for every chunk the thread claims, so that they
    stay in its core's cache; given back to ``conv.scratch`` by ``close``.

    Measured on (32,32,32,32)->64, 2 threads: buffers taken from and given back to the
    shared pool for every chunk (so that a buffer one core had just written was next used
    by the other) made each stage 15-45% slower than on one thread, and the forward took
    4.5-4.7 ms against 3.7 with a workspace per thread.
    """

    def __init__(self, biggest, dtype):
        self.biggest, self.dtype, self._buffers = biggest, dtype, {}

    def __call__(self, name, rows):
        """The buffer called ``name``, for ``rows`` channels of tiles."""
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = self._buffers[name] = _tile_buffer(rows, self.biggest, self.dtype)
        return buffer

    def close(self):
        for buffer in self._buffers.values():
            conv.scratch.give(buffer)
        self._buffers.clear()


class _Saved:
    """What a forward keeps for its backward: the weight tiles U. Not the input tiles: the
    backward makes each chunk's again from x (which autograd keeps anyway), while they are
    in cache for the products. Kept from the forward (as V^T, 16 MB on (32,32,32,32)->64),
    they were written to and read back from memory, and forward + backward took 1-2% longer
    (12.7-13.1 against 12.5-12.9 ms, 20.1 against 19.9 on (64,64,16,16)->128)."""

    def __init__(self, u):
        self.u = u

    @property
    def saved_nbytes(self):
        """Bytes held for backward (the profiler's memory column)."""
        return self.u.nbytes


def _finite_route():
    """The route that redoes a convolution whose data are not all finite.

    Inside a tile transform an inf meets its neighbours' values with both signs: inf - inf
    made NaN where direct convolution (torch's, and im2col's) gives +-inf, and a NaN reached
    every output of the tiles that read it, not only the outputs whose windows hold it. Both
    routes agree on finite data, so a result that shows a non-finite value is made again by
    im2col: the forward looks at U and at its first output channel (a non-finite input value
    reaches at least one output of its tile in every channel), the backward at db (the sum
    of g) and dW, or at g itself when dW is not asked for. Those looks are small: on
    (32,32,32,32)->64 forward + backward took the same time with and without them (medians
    11.5 and 11.6 ms over six alternating runs, a 2-core AMD EPYC Zen 5 VM).
    """
    return conv.Reference


class Winograd:
    """F(2x2, 3x3): 16 stacked GEMMs between tile transforms, a chunk of images at a time.

    3x3 kernels, stride 1, dilation 1, groups=1, and the Numba kernels on.
    """

    name = "winograd"

    @staticmethod
    def fits(geom, groups):
        return (groups == 1 and geom.kh == 3 and geom.kw == 3 and geom.sh == 1
                and geom.sw == 1 and geom.dh == 1 and geom.dw == 1 and backends.numba)

    @staticmethod
    def forward(x, w, b, geom, groups, keep):
        kernels = _kernels()
        n, c, height, width = x.shape
        f = w.shape[0]
        out_h, out_w = conv.output_size(height, width, geom)
        x = np.ascontiguousarray(x)
        u = _weight_tiles(w)
        out = np.empty((n, f, out_h, out_w), dtype=x.dtype)
        bias = np.zeros(f, x.dtype) if b is None else b.astype(x.dtype, copy=False)
        todo = chunks(n, c, f, out_h, out_w, x.dtype)
        saved = _Saved(u) if keep else None

        if not todo:  # an empty batch
            return out, saved

        def part(claim):
            buffer = _Workspace(todo[0][2], x.dtype)
            try:
                for i in iter(claim, None):
                    n0, n1, tiles = todo[i]
                    v, m = buffer("v", c), buffer("m", f)
                    kernels.winograd_forward(x[n0:n1], geom.ph, geom.pw, tiles.th, tiles.tw, u,
                                             v, m, bias, out[n0:n1])
            finally:
                buffer.close()

        conv.in_parallel(part, len(todo), 16 * f * c * tiles_of(n, out_h, out_w).count)
        if not (np.isfinite(u).all() and np.isfinite(out[:, 0]).all()):
            out = _finite_route().forward(x, w, b, geom, groups, False)[0]
        return out, saved

    @staticmethod
    def backward(x, g, w, geom, groups, hw, saved, need_x, need_w):
        """Both gradients in one pass over the chunks, each chunk's output-gradient tiles
        serving dW and dx while they are in cache: ``(dx, dW, db)``, the ones not needed
        None (db, the bias gradient, comes with dW: 0.38 ms on the main thread for
        (32,32,32,32)->64 otherwise). ``saved`` from the forward (its U), or None. x may be
        None when only dx is needed, w when only dW is."""
        kernels = _kernels()
        g = np.ascontiguousarray(g)
        n, f, out_h, out_w = g.shape
        c = w.shape[1] if w is not None else x.shape[1]
        u = saved.u if saved is not None else (_weight_tiles(w) if need_x else None)
        if need_w:
            x = np.ascontiguousarray(x)
        dx = np.empty((n, c) + tuple(hw), dtype=g.dtype) if need_x else None
        ut = np.ascontiguousarray(u.transpose(0, 2, 1)) if need_x else None  # U^T, for dV
        todo = chunks(n, c, f, out_h, out_w, g.dtype)
        # dU adds up over the chunks. Threads claim groups of GROUP consecutive chunks, each
        # group's sum made in chunk order in one array, and the groups' sums are added in
        # group order: the same result in every run and for any number of threads (summed
        # per thread in the order the threads happened to claim chunks, a weight gradient
        # changed in its last bits from run to run, and a seeded training did not repeat).
        # One array per chunk, added at the end, took 3-5 ms of (64,64,16,16)->128's 31.
        if not todo:  # an empty batch: no input gradient to fold, zero for dW and db
            return (dx, np.zeros((f, c, 3, 3), g.dtype) if need_w else None,
                    np.zeros(f, g.dtype) if need_w else None)
        # Groups of up to GROUP chunks, at least 8 groups where there are 8 chunks: a small
        # batch's few chunks still go to every thread. (The size depends on the chunks alone.)
        size = min(GROUP, max(1, len(todo) // 8))
        claims = [range(i, min(i + size, len(todo))) for i in range(0, len(todo), size)]
        dus = [np.empty((16, f, c), g.dtype) if need_w else None for _ in claims]
        dbs = [np.empty(f) if need_w else None for _ in claims]  # the bias gradient's, float64

        def part(claim):
            buffer = _Workspace(todo[0][2], g.dtype)
            try:
                for j in iter(claim, None):
                    for i in claims[j]:
                        n0, n1, tiles = todo[i]
                        kernels.winograd_backward(
                            g[n0:n1], tiles.th, tiles.tw, geom.ph, geom.pw, ut,
                            x[n0:n1] if need_w else None, buffer("gt", f), buffer("v", c),
                            dus[j], dbs[j], i > claims[j][0], dx[n0:n1] if need_x else None)
            finally:
                buffer.close()

        work = (need_x + need_w) * 16 * f * c * tiles_of(n, out_h, out_w).count
        # Only g's finiteness is checked for dx alone; with dW, db (g's sum) and dW say it.
        finite = need_w or np.isfinite(g).all()
        conv.in_parallel(part, len(claims), work)
        dw = db = None
        if need_w:
            du = dus[0] if len(dus) == 1 else sum(dus[1:], dus[0])
            db = sum(dbs[1:], dbs[0])  # computed with dU: the pass over g is here
            dw = _weight_tiles_grad(du)
            finite = np.isfinite(db).all() and np.isfinite(dw).all()
            db = db.astype(g.dtype)
        if not finite or (need_x and not np.isfinite(u).all()):
            route = _finite_route()
            if need_x:
                dx = route.input_grad(g, w, geom, groups, hw)
            if need_w:
                dw = route.weight_grad(x, g, geom, groups)[0]
                db = g.sum(axis=(0, 2, 3), dtype=np.float64).astype(g.dtype)
        return dx, dw, db

    @staticmethod
    def weight_grad(x, g, geom, groups, saved=None):
        return Winograd.backward(x, g, None, geom, groups, None, saved, False, True)[1:]

    @staticmethod
    def input_grad(g, w, geom, groups, hw, saved=None):
        return Winograd.backward(None, g, w, geom, groups, hw, saved, True, False)[0]

    @staticmethod
    def release(saved):
        pass  # nothing but U, which stays valid
