"""Loss landscapes of a small CNN trained on the digits with small and with large batches.

Two copies of one CNN (same initial weights) are trained for the same number of epochs with
SGD + momentum: one with batches of 16, one with batches of 512 (Keskar et al. 2017, "On
large-batch training for deep learning: generalization gap and sharp minima"). Around each
solution the training loss is evaluated along filter-normalised random directions (Li et al.
2018, ``tinydl.viz.loss_landscape``). The printed sharpness of each minimum is the rise of
the loss from alpha = 0 to alpha = 0.5, averaged over ``--directions`` random directions,
and the headline is the large batch's rise over the small batch's (the ratio of the raw
losses at alpha = 0.5 is printed beside it, but it also counts the large-batch model's
higher starting loss: with the same epochs it takes 32x fewer steps). Also the
linear interpolation between the two solutions (Goodfellow et al. 2015). Figures:

    loss_landscape.png      1-D curves, interpolation, 2-D contours of both models
    loss_landscape_3d.png   the two 2-D landscapes as 3-D surfaces

    python examples/loss_landscape.py [--epochs 30] [--steps 21] [--out DIR] [--fast]

``--fast`` (or ``TINYDL_FAST=1``) trains 2 epochs on 256 images and uses a 5 x 5 grid.
"""
import os

# Small models: one BLAS thread is faster than a pool on 2 cores (see examples/quickstart.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import tinydl as td  # noqa: E402
from tinydl import nn  # noqa: E402
from tinydl.data import DataLoader, TensorDataset, load_digits  # noqa: E402
from tinydl.nn import functional as F  # noqa: E402
from tinydl.optim import SGD  # noqa: E402
from tinydl.viz import (linear_interpolation, loss_landscape, plot_landscape,  # noqa: E402
                        random_directions)


def build_model():
    """conv(1->32)-ReLU-pool, conv(32->64)-ReLU-pool, linear(256->10): 8x8 -> 4x4 -> 2x2.

    No BatchNorm: in eval mode its running statistics would not follow the moved weights,
    and the paper's comparison of batch sizes is clearest on a plain ReLU network.
    """
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
    )


def train(model, X, y, batch_size, epochs, lr, seed=0):
    """SGD with momentum 0.9 on the cross-entropy; returns the mean training loss over the
    last epoch (while the weights moved; the landscape's alpha = 0 is the loss at the end)."""
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
    return total / len(X)


def plot_overview(curves, interpolation, grids, path):
    """1-D curves of both models, the interpolation between them, and both 2-D contours."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.2))
    styles = {"small batch": dict(color="tab:blue", marker="o", markersize=3),
              "large batch": dict(color="tab:red", marker="s", markersize=3, linestyle="--")}
    for name, along in curves.items():
        for k, curve in enumerate(along):
            plot_landscape(curve, ax=axes[0, 0], label=None if k else name, alpha=0.8,
                           **styles[name])
    axes[0, 0].axvline(0.5, color="0.6", linewidth=0.8, linestyle=":")
    # A linear scale, as in Li et al.: the rise of the loss is what sharpness means (a log
    # scale would stretch the small-batch model's near-zero minimum into a deep well).
    axes[0, 0].set(ylabel="training loss (cross-entropy)", ylim=(0, 1.0),
                   title=f"1-D: along {len(along)} filter-normalised directions each")
    axes[0, 0].legend()
    alphas, losses = interpolation
    axes[0, 1].plot(alphas, losses, color="k", marker=".")
    for alpha, name in ((0, "small batch"), (1, "large batch")):
        axes[0, 1].axvline(alpha, color=styles[name]["color"], linestyle=":", label=name)
    axes[0, 1].set(yscale="log", xlabel="alpha: (1 - alpha) small + alpha large",
                   ylabel="training loss (cross-entropy)",
                   title="linear interpolation between the solutions")
    axes[0, 1].legend()
    # One set of contour levels for both, so equal colours mean equal losses.
    logs = np.log10(np.concatenate([g.losses.ravel() for g in grids.values()]))
    levels = np.linspace(logs.min(), min(logs.max(), logs.min() + 3), 16)
    for ax, (name, grid) in zip(axes[1], grids.items()):
        plot_landscape(grid, ax=ax, log=True, levels=levels, extend="max")
        ax.set_title(f"2-D contours, {name}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_surfaces(grids, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 4.6))
    # Linear loss, clipped at one common height (Li et al. clip too) so both share an axis.
    top = min(max(g.losses.max() for g in grids.values()), 2.0)
    for k, (name, grid) in enumerate(grids.items(), 1):
        ax = fig.add_subplot(1, 2, k, projection="3d")
        clipped = grid._replace(losses=np.minimum(grid.losses, top))
        plot_landscape(clipped, kind="surface", ax=ax, vmin=0, vmax=top)
        ax.set(zlim=(0, top), title=f"{name} (loss clipped at {top:g})",
               xticks=[-1, 0, 1], yticks=[-1, 0, 1])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--small-batch", type=int, default=16)
    parser.add_argument("--large-batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--steps", type=int, default=21, help="grid points per direction")
    parser.add_argument("--directions", type=int, default=4,
                        help="random directions for the 1-D curves and the sharpness")
    parser.add_argument("--eval-images", type=int, default=512,
                        help="training images the landscape is evaluated on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNGs")
    parser.add_argument("--fast", action="store_true", help="2 epochs, 5 x 5 grid (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    epochs, steps, eval_images = (2, 5, 128) if fast else (args.epochs, args.steps,
                                                            args.eval_images)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_digits()
    X = ((X - X.mean()) / X.std()).astype(np.float32)
    order = np.random.default_rng(args.seed).permutation(len(X))
    X, y = X[order], y[order]
    if fast:
        X, y = X[:256], y[:256]
    # The landscape's loss is the training loss on a fixed subset, in one batch.
    probe = [(td.Tensor(X[:eval_images]), td.Tensor(y[:eval_images]))]

    td.manual_seed(args.seed)
    models = {"small batch": build_model(), "large batch": build_model()}
    models["large batch"].load_state_dict(models["small batch"].state_dict())
    for name, batch in (("small batch", args.small_batch), ("large batch", args.large_batch)):
        start = time.process_time()
        final = train(models[name], X, y, batch, epochs, args.lr, seed=args.seed)
        print(f"{name} ({batch}): {epochs} epochs, mean training loss of the last epoch "
              f"{final:.4f} ({time.process_time() - start:.1f} s CPU)")

    start = time.process_time()
    curves, grids = {}, {}
    for name, model in models.items():
        # Directions are drawn per model (filter norms differ) from the same seeds.
        curves[name] = [loss_landscape(model, F.cross_entropy, probe,
                                       random_directions(model, 1, seed=args.seed + 100 + k),
                                       steps=2 * steps - 1)
                        for k in range(args.directions)]
        grids[name] = loss_landscape(model, F.cross_entropy, probe, 2, steps=steps,
                                     seed=args.seed + 1)
    interpolation = linear_interpolation(models["small batch"], models["large batch"],
                                         F.cross_entropy, probe, steps=2 * steps - 1)
    plot_overview(curves, interpolation, grids, out / "loss_landscape.png")
    overview_s = time.process_time() - start
    start = time.process_time()
    plot_surfaces(grids, out / "loss_landscape_3d.png")
    print(f"figures: {out / 'loss_landscape.png'} ({overview_s:.1f} s CPU), "
          f"{out / 'loss_landscape_3d.png'} ({time.process_time() - start:.1f} s CPU)")

    # Sharpness: the loss half a filter-norm step away from each minimum (alpha = 0.5 on the
    # grid), averaged over the random directions, large batch against small batch.
    at_half, rise = {}, {}
    for name, along in curves.items():
        alphas = along[0].coords[0]
        half, centre = np.argmin(np.abs(alphas - 0.5)), np.argmin(np.abs(alphas))
        values = np.array([curve.losses[half] for curve in along])
        at_half[name] = values
        print(f"{name}: loss {along[0].losses[centre]:.4f} at the minimum; at alpha = "
              f"{alphas[half]:g}: mean {values.mean():.4f} over {len(values)} directions "
              f"({', '.join(f'{v:.3f}' for v in values)})")
        rise[name] = values.mean() - along[0].losses[centre]
    ratio = float(rise["large batch"] / rise["small batch"])
    raw = at_half["large batch"] / at_half["small batch"]
    print(f"sharpness: the loss's rise from alpha = 0 to 0.5, large batch "
          f"{rise['large batch']:.4f} "
          f"against small batch {rise['small batch']:.4f}: {ratio:.1f}x (the raw losses at "
          f"alpha = 0.5: {raw.mean():.1f}x, per direction {', '.join(f'{r:.1f}x' for r in raw)}, "
          f"which also counts the large batch's higher loss at its minimum)")
    return ratio


if __name__ == "__main__":
    main()
