"""The Winograd route of convolution: F(2x2, 3x3), 3x3 stride-1 convolutions with 2.25x fewer
multiplications than im2col (Lavin & Gray 2016).

Each 2x2 block of outputs comes from a 4x4 tile of the padded input (tiles overlap by 2):
y = A^T [(G w G^T) * (B^T d B)] A. With U = G w G^T (16, F, C) and every tile transformed,
V = B^T d B (16, C, P) for P tiles, the channel sum is 16 stacked GEMMs M = U @ V, and the
output transform A^T m A gives y. The gradients are the adjoints: with Gt = A g A^T
(16, F, P), dU = Gt @ V^T (then dw = G^T dU G) and dV = U^T @ Gt (then dx = the overlapping
sum of B dV B^T). The tile transforms are Numba kernels (``tinydl.kernels.winograd``, where
the buffer layout is described); the products and the small kernel transforms are NumPy.
The im2col routes are its reference: a test checks that both agree.

``tinydl.ops.conv.choose_route`` sends float32 convolutions here with a 3x3 kernel, stride 1,
dilation 1, groups=1 and at least ``tinydl.backends.winograd_min_channels`` (16) channels
in and out, while ``tinydl.backends.winograd`` and ``numba`` are on. Measured here (2 cores,
float32, forward + backward with bias, same run, medians), Winograd against the better
im2col route: (64,64,16,16)->128 72.8 vs 82.6 ms, (32,16,16,16)->16 5.6 vs 6.2 ms,
(64,16,8,8)->32 3.7 vs 4.0 ms, (32,32,32,32)->64 about even (43-50 ms each, noisy). With 3
input channels it took twice im2col's time (the transformed tiles are 4x the input, which 3
channels' GEMMs cannot amortise), hence the 16-channel floor. Running the transforms on both
cores (Numba prange) made forward + backward 40-50% slower: their threads fought
OpenBLAS's. float32 error is about 3e-7 of the output's scale.

The three entry points are those of every route (``tinydl.ops.conv``). The forward's input
tiles V serve the weight gradient, then their buffer receives dV (same shape), so a backward
calls ``weight_grad`` before ``input_grad`` and then ``release``. Tile buffers come from
``tinydl.ops.conv.scratch``.
"""
from collections import namedtuple

import numpy as np

from tinydl import backends
from tinydl.ops import conv  # the geometry and the scratch buffers

_PLANE_PAD = 16  # floats between the 16 planes of a tile buffer, against cache aliasing
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

Tiles = namedtuple("Tiles", "th tw count")
Tiles.__doc__ = """Winograd tiling of an (N, ., Ho, Wo) output: th x tw blocks of 2x2 per image."""


def tiles_of(n, out_h, out_w):
    """The tiling of an (n, ., out_h, out_w) output (odd sizes get a last, cut tile)."""
    th, tw = (out_h + 1) // 2, (out_w + 1) // 2
    return Tiles(th, tw, n * th * tw)


class _Saved:
    """What a forward keeps for its backward: the input tiles V and, once made, the output
    gradient's tiles Gt (made by the first gradient, reused by the second)."""

    def __init__(self, v):
        self.v, self.grad = v, None


def _tile_buffer(rows, tiles, dtype):
    """A scratch buffer (16, rows*P + pad) for ``rows`` channels of transformed tiles."""
    return conv.scratch.take((16, rows * tiles.count + _PLANE_PAD), dtype)


def _stack(buffer, rows, tiles):
    """The 16 matrices (rows, P) of a tile buffer, as one (16, rows, P) view for ``matmul``."""
    return buffer[:, :rows * tiles.count].reshape(16, rows, tiles.count)


def _weight_tiles(w):
    """U = G w G^T for every (f, c): (F, C, 3, 3) -> (16, F, C)."""
    g = _G.astype(w.dtype)
    u = np.matmul(np.matmul(g, w), g.T)  # (F, C, 4, 4)
    return np.ascontiguousarray(u.transpose(2, 3, 0, 1)).reshape(16, w.shape[0], w.shape[1])


def _weight_tiles_grad(du):
    """dw = G^T dU G for every (f, c): (16, F, C) -> (F, C, 3, 3), the adjoint of the above."""
    g = _G.astype(du.dtype)
    du = du.reshape(4, 4, *du.shape[1:]).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(np.matmul(np.matmul(g.T, du), g))


def _input_tiles(x, geom, tiles):
    """V = B^T d B for every tile of x, in a new tile buffer."""
    from tinydl.kernels.winograd import winograd_input

    v = _tile_buffer(x.shape[1], tiles, x.dtype)
    winograd_input(np.ascontiguousarray(x), geom.ph, geom.pw, tiles.th, tiles.tw, v)
    return v


def _grad_tiles(g, tiles, saved=None):
    """Gt = A g A^T for every 2x2 block of g; made once per backward when ``saved`` is given."""
    from tinydl.kernels.winograd import winograd_grad

    if saved is not None and saved.grad is not None:
        return saved.grad
    gt = _tile_buffer(g.shape[1], tiles, g.dtype)
    winograd_grad(np.ascontiguousarray(g), tiles.th, tiles.tw, gt)
    if saved is not None:
        saved.grad = gt
    return gt


class Winograd:
    """F(2x2, 3x3): 16 stacked GEMMs between tile transforms.

    3x3 kernels, stride 1, dilation 1, groups=1, and the Numba kernels on.
    """

    name = "winograd"

    @staticmethod
    def fits(geom, groups):
        return (groups == 1 and geom.kh == 3 and geom.kw == 3 and geom.sh == 1
                and geom.sw == 1 and geom.dh == 1 and geom.dw == 1 and backends.numba)

    @staticmethod
    def forward(x, w, b, geom, groups, keep):
        from tinydl.kernels.winograd import winograd_output

        n, c, height, width = x.shape
        f = w.shape[0]
        out_h, out_w = conv.output_size(height, width, geom)
        tiles = tiles_of(n, out_h, out_w)
        v = _input_tiles(x, geom, tiles)
        m = _tile_buffer(f, tiles, x.dtype)
        np.matmul(_weight_tiles(w), _stack(v, c, tiles), out=_stack(m, f, tiles))
        out = np.empty((n, f, out_h, out_w), dtype=x.dtype)
        bias = np.zeros(f, x.dtype) if b is None else b.astype(x.dtype, copy=False)
        winograd_output(m, tiles.th, tiles.tw, bias, out)
        conv.scratch.give(m)
        if keep:
            return out, _Saved(v)
        conv.scratch.give(v)
        return out, None

    @staticmethod
    def weight_grad(x, g, geom, groups, saved=None):
        n, c = x.shape[:2]
        f, out_h, out_w = g.shape[1:]
        tiles = tiles_of(n, out_h, out_w)
        v = saved.v if saved is not None else _input_tiles(x, geom, tiles)
        gt = _grad_tiles(g, tiles, saved)
        du = np.matmul(_stack(gt, f, tiles), _stack(v, c, tiles).transpose(0, 2, 1))
        if saved is None:
            conv.scratch.give(v)
            conv.scratch.give(gt)
        return _weight_tiles_grad(du), None

    @staticmethod
    def input_grad(g, w, geom, groups, hw, saved=None):
        from tinydl.kernels.winograd import winograd_fold

        n, f, out_h, out_w = g.shape
        c = w.shape[1]
        tiles = tiles_of(n, out_h, out_w)
        gt = _grad_tiles(g, tiles, saved)
        dv = saved.v if saved is not None else _tile_buffer(c, tiles, g.dtype)
        np.matmul(_weight_tiles(w).transpose(0, 2, 1), _stack(gt, f, tiles),
                  out=_stack(dv, c, tiles))
        out = np.empty((n, c) + tuple(hw), dtype=g.dtype)
        winograd_fold(dv, tiles.th, tiles.tw, geom.ph, geom.pw, out)
        if saved is None:
            conv.scratch.give(gt)
            conv.scratch.give(dv)
        return out

    @staticmethod
    def release(saved):
        if saved is not None:
            conv.scratch.give(saved.v)
            if saved.grad is not None:
                conv.scratch.give(saved.grad)
