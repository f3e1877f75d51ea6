"""The Winograd F(2x2, 3x3) tile transforms (``tinydl.kernels.winograd``): each gradient
kernel is the adjoint of its forward kernel, and the chunk kernels (transforms and products
in one call) equal the transforms with NumPy's products. Against im2col, through whole
convolutions, in tests/nn/test_winograd.py."""
import itertools

import numpy as np

from tinydl.kernels import winograd as kw
from tinydl.ops.conv_winograd import tiles_of


def test_winograd_kernels_are_adjoint_pairs():
    """<input(x), v> = <x, fold(v)> and <grad(g), m> = <g, output(m)>, on every input size
    up to 6x6 with every padding up to 3 (odd sizes, a single tile row or column, and tile
    rows past the input included: a fold that left its last tile row's entries unwritten
    agreed on three hand-picked shapes and failed on 126 of these)."""
    rng = np.random.default_rng(4)
    cases = [(2, 3, 5, 7, 1, 0), (3, 1, 3, 4, 0, 0)] + [
        (2, 2, h, w, ph, pw) for h, w, ph, pw in itertools.product(range(1, 7), range(1, 7),
                                                                   range(4), range(4))
        if h + 2 * ph > 2 and w + 2 * pw > 2]
    for n, c, h, w, ph, pw in cases:
        out_h, out_w = h + 2 * ph - 2, w + 2 * pw - 2
        tiles = tiles_of(n, out_h, out_w)
        x = rng.standard_normal((n, c, h, w))
        v = np.zeros((16, c * tiles.count + 3))
        kw.winograd_input(x, ph, pw, tiles.th, tiles.tw, v)
        probe = rng.standard_normal(v.shape)
        probe[:, c * tiles.count:] = 0  # the padding between planes is not data
        folded = np.empty_like(x)
        kw.winograd_fold(probe, tiles.th, tiles.tw, ph, pw, folded)
        assert np.isclose(np.sum(v * probe), np.sum(x * folded), rtol=1e-12)

        g = rng.standard_normal((n, c, out_h, out_w))
        gt = np.zeros((16, c * tiles.count))
        kw.winograd_grad(g, tiles.th, tiles.tw, gt)
        m = rng.standard_normal(gt.shape)
        y = np.empty_like(g)
        kw.winograd_output(m, tiles.th, tiles.tw, np.zeros(c), y)
        assert np.isclose(np.sum(gt * m), np.sum(g * y), rtol=1e-12)


def test_chunk_kernels_equal_the_transforms_and_numpy_products():
    """winograd_forward = input, 16 products, output; winograd_backward = grad, then
    Gt @ V^T and the bias gradient (written, or added to what they hold) and/or
    U^T @ Gt folded, in float64 and float32, odd sizes and paddings."""
    rng = np.random.default_rng(5)
    for dtype in (np.float64, np.float32):
        for n, c, f, h, w, ph, pw in [(2, 3, 4, 5, 7, 1, 0), (1, 2, 3, 6, 6, 2, 1),
                                      (3, 4, 2, 4, 5, 0, 0)]:
            out_h, out_w = h + 2 * ph - 2, w + 2 * pw - 2
            tiles = tiles_of(n, out_h, out_w)
            p = tiles.count
            x = rng.standard_normal((n, c, h, w)).astype(dtype)
            u = rng.standard_normal((16, f, c)).astype(dtype)
            bias = rng.standard_normal(f).astype(dtype)
            tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5,
                                                                                 atol=1e-5)
            v = np.zeros((16, c * p + 5), dtype)
            kw.winograd_input(x, ph, pw, tiles.th, tiles.tw, v)
            m = np.zeros((16, f * p + 5), dtype)
            m[:, :f * p] = np.matmul(u, v[:, :c * p].reshape(16, c, p)).reshape(16, f * p)
            expected = np.empty((n, f, out_h, out_w), dtype)
            kw.winograd_output(m, tiles.th, tiles.tw, bias, expected)
            y = np.empty_like(expected)
            kw.winograd_forward(x, ph, pw, tiles.th, tiles.tw, u, np.empty_like(v),
                                np.empty_like(m), bias, y)
            np.testing.assert_allclose(y, expected, **tol)

            g = rng.standard_normal((n, f, out_h, out_w)).astype(dtype)
            gt = np.zeros((16, f * p + 5), dtype)
            kw.winograd_grad(g, tiles.th, tiles.tw, gt)
            gt3 = gt[:, :f * p].reshape(16, f, p)
            du_expected = np.matmul(gt3, v[:, :c * p].reshape(16, c, p).transpose(0, 2, 1))
            dv = np.zeros((16, c * p + 5), dtype)
            dv[:, :c * p] = np.matmul(u.transpose(0, 2, 1), gt3).reshape(16, c * p)
            dx_expected = np.empty_like(x)
            kw.winograd_fold(dv, tiles.th, tiles.tw, ph, pw, dx_expected)
            ut = np.ascontiguousarray(u.transpose(0, 2, 1))
            earlier = rng.standard_normal((16, f, c)).astype(dtype)
            for need_x, need_w, add in ((True, True, False), (True, False, False),
                                        (False, True, False), (True, True, True)):
                du = (earlier.copy() if add else np.full((16, f, c), np.nan, dtype)
                      ) if need_w else None
                db = (np.arange(f, dtype=np.float64) if add else np.full(f, np.nan)
                      ) if need_w else None
                dx = np.full_like(x, np.nan) if need_x else None
                kw.winograd_backward(g, tiles.th, tiles.tw, ph, pw, ut if need_x else None,
                                     x if need_w else None, np.empty_like(gt),
                                     np.empty_like(dv), du, db, add, dx)
                if need_w:  # written, or added to what du and db held
                    np.testing.assert_allclose(du, du_expected + (earlier if add else 0),
                                               **tol)
                    np.testing.assert_allclose(
                        db, g.astype(np.float64).sum(axis=(0, 2, 3)) + (np.arange(f) if add
                                                                         else 0),
                        rtol=1e-12, atol=1e-12)
                if need_x:
                    np.testing.assert_allclose(dx, dx_expected, **tol)
