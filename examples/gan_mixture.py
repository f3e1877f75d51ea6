"""A GAN learns 8 Gaussians on a ring: mode collapse, and the losses that avoid it.

The data are the WGAN-GP toy set (Gulrajani et al. 2017): 8 Gaussians with centres on a circle
of radius 2 and standard deviation 0.02. An MLP generator maps 2-D noise to the plane; an MLP
critic scores points. ``--loss`` picks the recipe:

    wgan-clip      WGAN (Arjovsky et al. 2017): weight clipping c = 0.01, RMSprop 5e-5, n_critic 5
    wgan-gp        WGAN-GP: gradient penalty (lam 0.1, the paper's toy value), Adam betas (0, .9),
                   n_critic 5
    sn             spectral-normalised critic (Miyato et al. 2018) with the hinge loss, n_critic 5
    rsgan          relativistic standard GAN (Jolicoeur-Martineau 2018)
    nonsaturating  the original GAN with the -log D generator loss (Goodfellow et al. 2014)

Every ``--eval-every`` steps and at the end it prints **modes covered** (a mode is covered when
at least 1% of 2,000 generated samples lie within 3 std of its centre) and the **high-quality
ratio** (the share of samples within 3 std of some centre), and it saves a grid of scatter
plots of the samples over training as ``gan_mixture_<loss>.png``. Defaults: 2,000 generator
steps on batches of 256, 2-D noise, networks of 3 hidden layers of 64 ReLU units, learning
rates decaying linearly to 0. With ``--fast`` (or ``TINYDL_FAST=1``) it trains 20 steps of a
small model on batches of 32.
"""

import argparse
import os
import pathlib
import time

# Every matrix here is tiny (256 x 64): OpenBLAS threads cost more in hand-offs than they
# save, and on a busy 2-core machine they slowed a run tenfold. It only takes effect when the
# script runs before NumPy is loaded, and an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
from tinydl import nn, optim  # noqa: E402
from tinydl.data import make_gaussian_mixture  # noqa: E402
from tinydl.gan import clip_weights, gan_losses, gradient_penalty  # noqa: E402

N_MODES, RADIUS, STD = 8, 2.0, 0.02
EVAL_SAMPLES = 2000

# Per recipe: the gan_losses kind, the optimizer and its settings, critic steps per generator
# step, and the weight-clipping bound. wgan-clip is the WGAN paper's setting as is. The Adam
# rows use lr 2e-3 (decaying linearly to 0, see --decay) instead of the papers' 1e-4 and
# 100,000+ steps, so that the demo converges in 2,000 steps; the spectral-normalised critic
# needs n_critic 5 like WGAN-GP (with n_critic 1 its samples hop from mode to mode).
RECIPES = {
    "wgan-clip": dict(kind="wgan", optimizer="rmsprop", lr=5e-5, n_critic=5, clip=0.01),
    "wgan-gp": dict(kind="wgan", optimizer="adam", lr=2e-3, betas=(0.0, 0.9), n_critic=5),
    "sn": dict(kind="hinge", optimizer="adam", lr=2e-3, betas=(0.5, 0.9), n_critic=5),
    "rsgan": dict(kind="rsgan", optimizer="adam", lr=2e-3, betas=(0.5, 0.9), n_critic=1),
    "nonsaturating": dict(kind="nonsaturating", optimizer="adam", lr=2e-3, betas=(0.5, 0.9),
                          n_critic=1),
}


def mixture_centres(n_modes=N_MODES, radius=RADIUS):
    """``(K, 2)`` centres ``radius (cos 2 pi k/K, sin 2 pi k/K)``, as make_gaussian_mixture."""
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def mode_statistics(samples, centres, std=STD, min_share=0.01):
    """``(modes_covered, high_quality_ratio)`` of ``(N, 2)`` samples against ``(K, 2)`` centres.

    A sample is high quality when it lies within ``3 std`` of some centre; a mode is covered
    when at least ``min_share`` of all samples lie within ``3 std`` of its centre (the
    measure of the unrolled-GAN and VEEGAN papers).
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != centres.shape[1] or len(samples) == 0:
        raise ValueError(f"mode_statistics: samples must be (N, {centres.shape[1]}) with N > 0, "
                         f"got shape {samples.shape}")
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)
    near = distances < 3 * std
    covered = int(np.sum(near.mean(axis=0) >= min_share))
    return covered, float(near.any(axis=1).mean())


def mlp(sizes):
    """Linear-ReLU stack; the last layer is linear."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_models(hidden, depth, spectral):
    """Generator 2 -> hidden x depth -> 2 and critic 2 -> hidden x depth -> 1 (logit/score)."""
    generator = mlp([2] + [hidden] * depth + [2])
    critic = mlp([2] + [hidden] * depth + [1])
    if spectral:
        for layer in critic:
            if isinstance(layer, nn.Linear):
                nn.utils.spectral_norm(layer)
    return generator, critic


def make_optimizer(params, recipe, lr):
    if recipe["optimizer"] == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.Adam(params, lr=lr, betas=recipe["betas"])


def real_batch(batch_size):
    x, _ = make_gaussian_mixture(batch_size, N_MODES, RADIUS, STD)  # tinydl's seeded generator
    return tinydl.Tensor(x.astype(np.float32))


def train(args, recipe, lr, n_critic):
    """Alternate ``n_critic`` critic steps and one generator step; returns snapshots and stats."""
    generator, critic = build_models(args.hidden, args.depth, spectral=args.loss == "sn")
    opt_g = make_optimizer(generator.parameters(), recipe, lr)
    opt_d = make_optimizer(critic.parameters(), recipe, lr)
    schedulers = []
    if args.decay:
        # Linear decay to zero over the run, as the WGAN-GP reference code does: large steps
        # find the modes, small ones let the samples settle into them.
        schedulers = [optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / args.steps)
                      for opt in (opt_g, opt_d)]
    centres = mixture_centres()
    eval_noise = tinydl.randn(EVAL_SAMPLES, 2)
    history, start = [], time.perf_counter()

    def evaluate(step):
        with tinydl.no_grad():
            samples = generator(eval_noise).numpy()
        covered, quality = mode_statistics(samples, centres)
        history.append(dict(step=step, samples=samples, modes=covered, quality=quality))
        print(f"step {step:5d}  modes covered {covered}/{N_MODES}  high-quality ratio "
              f"{quality:.3f}  ({time.perf_counter() - start:.1f} s)", flush=True)

    evaluate(0)
    for step in range(1, args.steps + 1):
        for _ in range(n_critic):
            real = real_batch(args.batch_size)
            with tinydl.no_grad():
                fake = generator(tinydl.randn(args.batch_size, 2))
            # One critic call on both halves: half the graph nodes of two calls, and a
            # spectral-normalised critic runs one power iteration per step.
            scores = critic(tinydl.concatenate([real, fake], axis=0))
            d_loss, _ = gan_losses(scores[:args.batch_size], scores[args.batch_size:],
                                   recipe["kind"])
            if args.loss == "wgan-gp":
                d_loss = d_loss + gradient_penalty(critic, real, fake, lam=args.lam)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            if recipe.get("clip"):
                clip_weights(critic, recipe["clip"])
        real = real_batch(args.batch_size)
        d_real = critic(real).detach()
        _, g_loss = gan_losses(d_real, critic(generator(tinydl.randn(args.batch_size, 2))),
                               recipe["kind"])
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for scheduler in schedulers:
            scheduler.step()
        if step % args.eval_every == 0 or step == args.steps:
            evaluate(step)
    return history, time.perf_counter() - start


def save_grid(history, path, title, panels=8):
    """Scatter plots of the generated samples at up to ``panels`` evenly spaced evaluations."""
    picks = np.unique(np.linspace(0, len(history) - 1, min(panels, len(history))).astype(int))
    cols = min(4, len(picks))
    rows = -(-len(picks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    centres = mixture_centres()
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, picks):
        h = history[i]
        ax.axis("on")
        ax.scatter(h["samples"][:, 0], h["samples"][:, 1], s=2, alpha=0.3,
                   label="generated sample")
        ax.scatter(centres[:, 0], centres[:, 1], s=30, marker="x", color="red",
                   label="mixture centre")
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"step {h['step']}: {h['modes']}/{N_MODES} modes covered\n"
                     f"high-quality {h['quality']:.0%}", fontsize=9)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="upper left", fontsize=8,
               markerscale=2)
    # The two figures of merit, defined where they are shown.
    fig.suptitle(f"{title}\nmode covered: >= 1% of the samples within 3 std of its centre; "
                 "high-quality: share of samples within 3 std of some centre", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", choices=sorted(RECIPES), default="wgan-gp")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lam", type=float, default=0.1, help="gradient-penalty weight (wgan-gp)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: per loss)")
    parser.add_argument("--n-critic", type=int, default=None,
                        help="critic steps per generator step (default: per loss)")
    parser.add_argument("--decay", type=int, default=1, choices=(0, 1),
                        help="1: learning rates decay linearly to 0 over the steps")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--depth", type=int, default=3, help="hidden layers per network")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true",
                        help="20 steps of a small model on batches of 32 (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    if os.environ.get("TINYDL_FAST") == "1":
        args.fast = True
    if args.fast:
        args.steps, args.eval_every, args.batch_size, args.hidden = 20, 10, 32, 16
    recipe = RECIPES[args.loss]
    lr = recipe["lr"] if args.lr is None else args.lr
    n_critic = recipe["n_critic"] if args.n_critic is None else args.n_critic
    os.makedirs(args.out, exist_ok=True)

    tinydl.manual_seed(args.seed)
    print(f"{args.loss}: loss {recipe['kind']}, {recipe['optimizer']} lr {lr:g}, "
          f"n_critic {n_critic}, batch {args.batch_size}, {args.steps} steps")
    history, seconds = train(args, recipe, lr, n_critic)
    final = history[-1]
    print(f"final: {args.loss}  modes covered {final['modes']}/{N_MODES}  high-quality ratio "
          f"{final['quality']:.3f}  time {seconds:.1f} s")
    path = os.path.join(args.out, f"gan_mixture_{args.loss}.png")
    save_grid(history, path, f"{args.loss}: samples over training")
    return dict(loss=args.loss, modes=final["modes"], quality=final["quality"], seconds=seconds,
                history=[{k: h[k] for k in ("step", "modes", "quality")} for h in history])


if __name__ == "__main__":
    main()
