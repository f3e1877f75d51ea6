"""ACGAN on the bundled 8x8 digits: one generator for all ten classes, checked for collapse.

An ACGAN (Odena et al. 2017, ``tinydl.gan.acgan_losses``) learns ``G(z, c)``, a digit of class
``c`` drawn from noise ``z``. ACGAN is known to collapse within classes (its auxiliary loss
rewards the generator for drawing the few images the classifier is surest of), so the recipe
has two switchable remedies:

- ``--mbstd 4`` (default): the discriminator sees the minibatch standard deviation of groups
  of 4 same-class samples (ProGAN's feature, Karras et al. 2018); batches are sorted into
  such groups, for real and generated images alike, so a generator that draws one image per
  class can be told apart by that feature alone;
- ``--ms-weight``: MSGAN's mode-seeking term (Mao et al. 2019) in the generator's loss (off;
  at weight 1 it swamps the GAN loss and the classes are lost).

Measured (seeds 0-2, 5,000 steps, ~80-90 s of CPU): with ``--mbstd 4`` accuracy 0.966-0.983
and worst-class diversity ratio 0.55-0.62; plain (``--mbstd 0``) 0.966-0.974 and 0.55-0.61.
So with these MLPs and this many steps plain ACGAN does not stay collapsed: the collapse is
real early on (mean ratio 0.20-0.31 after 300 steps at lr 1e-3-2e-3, when the judge already
gets 0.81-0.86 right) and training grows out of it.

Evaluation, on 100 samples per class after training:

- **accuracy**: a classifier trained on real digits only (an MLP, its held-out accuracy is
  printed) labels the samples; the share labelled with their conditioning class;
- **diversity ratio**: per class, the mean pairwise L2 distance of the samples divided by that
  of the real digits of the class; the minimum and mean over classes are printed (a
  collapsed generator: 0.1-0.3). A noise generator would score high here, so the accuracy
  and the grid matter too;
- ``acgan_digits.png``: a 10 x 10 grid, row c holding ten samples of class c.

    python examples/acgan_digits.py [--steps 5000] [--seed 0] [--out DIR] [--fast]
"""
import os

# Small matrices: BLAS threads cost more in hand-offs than they save. An explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
from tinydl import nn, optim  # noqa: E402
from tinydl.data import DataLoader, TensorDataset, load_digits  # noqa: E402
from tinydl.gan import (ACGANDiscriminator, ACGANGenerator, acgan_losses,  # noqa: E402
                        mode_seeking_loss)
from tinydl.nn.functional import cross_entropy  # noqa: E402

N_CLASSES = 10
EVAL_PER_CLASS = 100


def mean_pairwise_distance(x):
    """Mean L2 distance over all pairs i < j of the rows of ``x`` (N, D), N >= 2."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError(f"mean_pairwise_distance: need at least 2 samples, got {len(x)}")
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)
    i, j = np.triu_indices(len(x), k=1)
    return float(np.sqrt(d2[i, j]).mean())


def class_diversity(images, labels, n_classes=N_CLASSES):
    """``(n_classes,)`` mean pairwise L2 distance of the images of each class."""
    return np.array([mean_pairwise_distance(images[labels == c]) for c in range(n_classes)])


def train_classifier(x, y, epochs, seed):
    """The judge: an MLP 64-256-10 trained with Adam on real digits only."""
    model = nn.MLP([64, 256, N_CLASSES])
    opt = optim.Adam(model.parameters(), lr=2e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=seed)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def predict(model, x):
    with tinydl.no_grad():
        return model(tinydl.Tensor(x.reshape(len(x), -1))).numpy().argmax(axis=1)


def grouped_batch(by_class, n_groups, group, rng):
    """Real images of ``n_groups`` random classes, ``group`` of each, rows sorted by group."""
    classes = rng.integers(N_CLASSES, size=n_groups)
    picks = [by_class[c][rng.integers(len(by_class[c]), size=group)] for c in classes]
    return np.concatenate(picks), np.repeat(classes, group)


def train_acgan(args, images, labels):
    """Alternate one discriminator and one generator step; returns the generator."""
    rng = tinydl.random.get_generator()
    by_class = [images[labels == c] for c in range(N_CLASSES)]
    generator = ACGANGenerator(args.latent, N_CLASSES, (1, 8, 8), args.hidden, depth=2)
    discriminator = ACGANDiscriminator(N_CLASSES, (1, 8, 8), args.hidden, depth=2,
                                       mbstd_group=args.mbstd)
    opt_g = optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    group = max(args.mbstd, 1)
    n_groups = args.batch_size // group
    for step in range(1, args.steps + 1):
        real, y_real = grouped_batch(by_class, n_groups, group, rng)
        real = tinydl.Tensor(real)
        y_fake = np.repeat(rng.integers(N_CLASSES, size=n_groups), group)
        with tinydl.no_grad():
            fake = generator(tinydl.randn(len(y_fake), args.latent), y_fake)
        # One call on both halves; groups never straddle them since each half is whole groups.
        source, classes = discriminator(tinydl.concatenate([real, fake], axis=0))
        n = len(y_real)
        d_loss, _ = acgan_losses(source[:n], source[n:], classes[:n], classes[n:], y_real,
                                 y_fake, aux_weight=args.aux_weight)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        z = tinydl.randn(len(y_fake), args.latent)
        fake = generator(z, y_fake)
        with tinydl.no_grad():
            source_real, class_real = discriminator(real)
        source_fake, class_fake = discriminator(fake)
        _, g_loss = acgan_losses(source_real, source_fake, class_real, class_fake, y_real,
                                 y_fake, aux_weight=args.aux_weight)
        if args.ms_weight > 0:
            z2 = tinydl.randn(len(y_fake), args.latent)
            g_loss = g_loss + args.ms_weight * mode_seeking_loss(fake, generator(z2, y_fake),
                                                                 z, z2)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if step % args.log_every == 0 or step == args.steps:
            print(f"step {step:5d}  D loss {d_loss.item():.3f}  G loss {g_loss.item():.3f}",
                  flush=True)
    return generator


def sample_per_class(generator, per_class, latent):
    """``(N_CLASSES * per_class, 1, 8, 8)`` samples, class c in rows c * per_class onwards."""
    y = np.repeat(np.arange(N_CLASSES), per_class)
    with tinydl.no_grad():
        return generator(tinydl.randn(len(y), latent), y).numpy(), y


def save_grid(samples, labels, path):
    """A 10 x 10 grid: row c shows the first ten samples of class c."""
    fig, axes = plt.subplots(N_CLASSES, 10, figsize=(6, 6.3))
    for c in range(N_CLASSES):
        for k, image in enumerate(samples[labels == c][:10]):
            axes[c, k].imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[c, k].axis("off")
    fig.suptitle("ACGAN samples, one class per row (0 at the top)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="generator steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--aux-weight", type=float, default=1.0)
    parser.add_argument("--mbstd", type=int, default=4,
                        help="minibatch-stddev group size (0: off)")
    parser.add_argument("--ms-weight", type=float, default=0.0,
                        help="weight of MSGAN's mode-seeking term (0: off)")
    parser.add_argument("--classifier-epochs", type=int, default=30)
    parser.add_argument("--log-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--fast", action="store_true",
                        help="a short run of a small model (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    if args.fast or os.environ.get("TINYDL_FAST") == "1":
        # A short run needs large steps: at lr 2e-4 nothing is learned in 400 steps.
        args.steps, args.hidden, args.lr = 400, 128, 2e-3
        args.classifier_epochs, args.log_every = 15, 100
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tinydl.manual_seed(args.seed)
    images, labels = load_digits()
    order = tinydl.random.get_generator().permutation(len(images))
    train, test = order[300:], order[:300]
    judge = train_classifier(images[train].reshape(-1, 64), labels[train],
                             args.classifier_epochs, args.seed)
    judge_accuracy = float(np.mean(predict(judge, images[test]) == labels[test]))
    print(f"judge: MLP trained on real digits, held-out accuracy {judge_accuracy:.3f}")

    cpu, wall = time.process_time(), time.perf_counter()
    generator = train_acgan(args, images, labels)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

    samples, sample_labels = sample_per_class(generator, EVAL_PER_CLASS, args.latent)
    accuracy = float(np.mean(predict(judge, samples) == sample_labels))
    ratios = class_diversity(samples, sample_labels) / class_diversity(images, labels)
    print(f"accuracy {accuracy:.3f}  (judge's labels equal the conditioning class)")
    print("diversity ratio per class " + " ".join(f"{r:.2f}" for r in ratios))
    print(f"diversity ratio min {ratios.min():.3f}  mean {ratios.mean():.3f}  "
          f"(generated / real mean pairwise L2 within a class)")
    print(f"training: {args.steps} steps, process time {cpu:.1f} s, wall {wall:.1f} s, "
          f"load average {os.getloadavg()[0]:.2f}")
    save_grid(samples, sample_labels, out / "acgan_digits.png")
    return dict(accuracy=accuracy, diversity_ratios=ratios, judge_accuracy=judge_accuracy,
                process_time=cpu, wall_time=wall)


if __name__ == "__main__":
    main()
