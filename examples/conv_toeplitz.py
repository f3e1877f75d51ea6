"""Convolution as a matrix: the 1-D Toeplitz and 2-D doubly block-Toeplitz views.

A convolution is linear in its input, so it is a matrix. For a 1-D kernel that matrix is
Toeplitz (constant along diagonals); for a 2-D kernel it is block-Toeplitz with Toeplitz
blocks. The figure shows both matrices next to the im2col columns (the notes' ``arr2vec``)
of the same 2-D input, and checks each against ``scipy.signal``.

    python examples/conv_toeplitz.py [--out DIR] [--fast]

``--out`` defaults to ``output/`` beside this file.
"""
import argparse
import pathlib

import numpy as np
from scipy import signal

import tinydl as td
from tinydl.nn import functional as F
from tinydl.nn.toeplitz import doubly_block_toeplitz, toeplitz_1d


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true", help="(already fast; kept for uniformity)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    k1, x1 = np.array([1.0, 2.0, -1.0]), rng.standard_normal(6)
    t1 = toeplitz_1d(k1, len(x1), mode="full")
    np.testing.assert_allclose(t1 @ x1, signal.convolve(x1, k1, mode="full"), atol=1e-12)

    k2, x2 = np.array([[1.0, -1.0], [2.0, 0.5]]), rng.standard_normal((4, 4))
    t2 = doubly_block_toeplitz(k2, x2.shape, mode="valid")
    np.testing.assert_allclose(t2 @ x2.ravel(),
                               signal.convolve2d(x2, k2, mode="valid").ravel(), atol=1e-12)
    cols = F.im2col(td.Tensor(x2[None, None]), kernel_size=2).data[0]
    print(f"1-D: Toeplitz matrix {t1.shape} reproduces scipy.signal.convolve (full)")
    print(f"2-D: doubly block-Toeplitz matrix {t2.shape} reproduces convolve2d (valid)")
    print(f"im2col columns of the 4x4 input for a 2x2 kernel: {cols.shape}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 2.2, 1.4]})
    panels = ((t1, "1-D Toeplitz, kernel [1, 2, -1]\n(full, n = 6)",
               "input element", "output element"),
              (t2, "2-D doubly block-Toeplitz\n2x2 kernel on 4x4 input (valid)",
               "input pixel (row-major)", "output pixel (row-major)"),
              (cols, "im2col columns (C*kh*kw, L)\nof the same 4x4 input",
               "output position L", "kernel offset (C*kh*kw)"))
    images = []
    for ax, (mat, title, xlabel, ylabel) in zip(axes, panels):
        # A symmetric colour range so that zero is white and the sign reads from the hue;
        # the two matrices hold kernel weights and share one scale, im2col holds inputs.
        lim = np.abs(mat if mat is cols else np.concatenate([k1, k2.ravel()])).max()
        images.append(ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(images[1], ax=axes[:2], shrink=0.8, label="kernel weight")
    fig.colorbar(images[2], ax=axes[2], shrink=0.8, label="input value")
    path = out / "conv_toeplitz.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    main()
