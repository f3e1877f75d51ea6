"""The Winograd F(2x2, 3x3) tile transforms (``tinydl.kernels.winograd``): each gradient
kernel is the adjoint of its forward kernel. Against im2col, through whole convolutions, in
tests/nn/test_winograd.py."""
import numpy as np

from tinydl.kernels import winograd as kw
from tinydl.ops.conv_winograd import tiles_of


def test_winograd_kernels_are_adjoint_pairs():
    """<input(x), v> = <x, fold(v)> and <grad(g), m> = <g, output(m)>, on odd sizes too."""
    rng = np.random.default_rng(4)
    for n, c, h, w, ph, pw in [(2, 3, 5, 7, 1, 0), (1, 2, 6, 6, 2, 1), (3, 1, 3, 4, 0, 0)]:
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
