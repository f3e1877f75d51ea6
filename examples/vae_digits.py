"""A variational autoencoder (Kingma & Welling 2014) on the bundled 8x8 digits.

The encoder maps an image x to q(z|x) = N(mu(x), diag exp(logvar(x))); the decoder maps a
latent z to Bernoulli pixel probabilities p(x|z) = sigmoid(logits(z)), with pixel intensities
in [0, 1] as targets (the usual MNIST practice). Training maximises the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))
            = -BCE(logits(z), x) - 1/2 sum_j (mu_j^2 + exp(logvar_j) - logvar_j - 1),

estimated with one sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from tinydl's
seeded generator: the reparameterisation trick, which makes the sample a differentiable
function of mu and logvar. It prints the mean ELBO (nats per image) of every epoch and of the
held-out images, and saves the ELBO curve, test reconstructions and samples from the prior as
``vae_digits_elbo.png``, ``vae_digits_reconstructions.png`` and ``vae_digits_samples.png``.
With ``--fast`` (or ``TINYDL_FAST=1``) it trains 3 epochs on 512 images.
"""

import argparse
import os
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import tinydl  # noqa: E402
import tinydl.nn.functional as F  # noqa: E402
from tinydl import nn, optim  # noqa: E402
from tinydl.data import DataLoader, TensorDataset, load_digits  # noqa: E402

N_TEST = 297  # 1,500 training images, the rest held out
FAST_TRAIN = 512


class VAE(nn.Module):
    """64 pixels -> hidden -> (mu, logvar) in R^latent; latent -> hidden -> 64 pixel logits."""

    def __init__(self, hidden=128, latent=8):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent)
        self.to_logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def encode(self, x):
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def forward(self, x):
        """``(logits, mu, logvar)`` for a batch ``(N, 64)``, with one reparameterised sample."""
        mu, logvar = self.encode(x)
        eps = tinydl.randn(*mu.shape)
        z = mu + tinydl.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar


def elbo(logits, x, mu, logvar):
    """Per-image ELBO ``(N,)``: Bernoulli log-likelihood minus the closed-form Gaussian KL."""
    log_likelihood = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(axis=1)
    kl = 0.5 * (mu * mu + tinydl.exp(logvar) - logvar - 1.0).sum(axis=1)
    return log_likelihood - kl


def train(model, x_train, x_test, epochs, batch_size, lr, seed):
    """Adam on -ELBO; returns the mean training ELBO of each epoch and the final test ELBO."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x_train), batch_size=batch_size, shuffle=True, seed=seed)
    epoch_elbos = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for (xb,) in loader:
            logits, mu, logvar = model(xb)
            batch_elbo = elbo(logits, xb, mu, logvar)
            loss = -batch_elbo.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(batch_elbo.sum().item())
        epoch_elbos.append(total / len(x_train))
        print(f"epoch {epoch:3d}  mean ELBO {epoch_elbos[-1]:9.3f} nats/image", flush=True)
    with tinydl.no_grad():
        xt = tinydl.Tensor(x_test)
        logits, mu, logvar = model(xt)
        test_elbo = float(elbo(logits, xt, mu, logvar).mean().item())
    return epoch_elbos, test_elbo


def show_digit(ax, image):
    """One 8x8 image, white on black as the digits are drawn, with sharp pixels."""
    ax.imshow(image.reshape(8, 8), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def save_figures(out, model, epoch_elbos, test_elbo, x_test):
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(epoch_elbos) + 1), epoch_elbos, "o-", ms=3, label="train (epoch mean)")
    ax.axhline(test_elbo, color="gray", ls="--", label=f"test, final ({test_elbo:.1f})")
    ax.set(xlabel="epoch", ylabel="ELBO (nats / image)", title="VAE on 8x8 digits")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "vae_digits_elbo.png"), dpi=100)
    plt.close(fig)

    count = min(10, len(x_test))
    with tinydl.no_grad():
        mu, _ = model.encode(tinydl.Tensor(x_test[:count]))
        recon = tinydl.sigmoid(model.decoder(mu)).numpy()  # decode the posterior mean
        samples = tinydl.sigmoid(model.decoder(tinydl.randn(32, model.latent))).numpy()
    fig, axes = plt.subplots(2, count, figsize=(1.1 * count, 2.8), squeeze=False,
                             gridspec_kw=dict(wspace=0.08, hspace=0.08))
    for i in range(count):
        for row, images in enumerate((x_test, recon)):
            show_digit(axes[row, i], images[i])
    fig.suptitle("test images (top) and reconstructions (bottom)")
    fig.savefig(os.path.join(out, "vae_digits_reconstructions.png"), dpi=100)
    plt.close(fig)

    # A row of real held-out digits above the samples, drawn the same way, as a reference.
    fig, axes = plt.subplots(5, 8, figsize=(8.8, 6.2),
                             gridspec_kw=dict(wspace=0.08, hspace=0.08, left=0.06, right=0.98,
                                              bottom=0.02, top=0.92,
                                              height_ratios=[1.25, 1, 1, 1, 1]))
    for i, ax in enumerate(axes[0]):
        show_digit(ax, x_test[i])
    for image, ax in zip(samples, axes[1:].flat):
        show_digit(ax, image)
    axes[0, 0].set_ylabel("real", fontsize=10)
    axes[2, 0].set_ylabel("samples", fontsize=10)
    fig.suptitle("VAE on 8x8 digits: real test digits (top) and samples z ~ N(0, I) "
                 "through the decoder (pixel means)", fontsize=10)
    fig.savefig(os.path.join(out, "vae_digits_samples.png"), dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--latent", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNGs")
    parser.add_argument("--fast", action="store_true",
                        help="3 epochs on 512 images (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    os.makedirs(args.out, exist_ok=True)

    tinydl.manual_seed(args.seed)
    images, _ = load_digits(flatten=True)
    order = tinydl.random.get_generator().permutation(len(images))
    x_train, x_test = images[order[N_TEST:]], images[order[:N_TEST]]
    if fast:
        x_train = x_train[:FAST_TRAIN]
    epochs = 3 if fast else args.epochs

    start = time.perf_counter()
    model = VAE(args.hidden, args.latent)
    epoch_elbos, test_elbo = train(model, x_train, x_test, epochs, args.batch_size, args.lr,
                                   args.seed)
    seconds = time.perf_counter() - start
    print(f"test ELBO {test_elbo:.3f} nats/image on {len(x_test)} held-out images; "
          f"training took {seconds:.1f} s")
    save_figures(args.out, model, epoch_elbos, test_elbo, x_test)
    return dict(epoch_elbos=epoch_elbos, test_elbo=test_elbo, seconds=seconds)


if __name__ == "__main__":
    main()
