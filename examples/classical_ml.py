"""Classical machine learning with tinydl.ml, next to small networks from tinydl.nn.

Two figures:

* ``classical_ml_digits.png``: the bundled 8x8 digits projected on their first two
  principal components, the explained variance per component, and the 2-D code of a
  64-32-2-32-64 autoencoder trained with Adam on the reconstruction error (a non-linear
  counterpart of PCA).
* ``classical_ml_boundaries.png``: decision regions of logistic regression, a linear SVM
  (dual coordinate descent), an RBF-kernel SVM (SMO) and a two-layer perceptron on two
  moons and on XOR-like data. The linear models cannot separate XOR; the kernel SVM and
  the perceptron can.

    python examples/classical_ml.py [--out DIR] [--fast]

``--out`` defaults to ``output/`` beside this file.

``--fast`` (or ``TINYDL_FAST=1``) trains the networks for a few steps only.
"""

import os

# Small models: a BLAS thread pool's hand-offs cost more than they gain (measured on 2 cores:
# 35 s with the default pool against 6 s with one thread). An explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
import tinydl.nn.functional as F  # noqa: E402
from tinydl import nn, optim  # noqa: E402
from tinydl.data import load_digits, make_moons  # noqa: E402
from tinydl.ml import PCA, KernelSVC, LinearSVC, LogisticRegression  # noqa: E402


def xor_data(n, seed):
    """Points uniform in [-1, 1]^2, label 1 where x0 * x1 > 0 (the XOR of the signs)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


class MLPClassifier:
    """A two-layer perceptron (2 -> hidden -> 2, tanh) with the fit/predict interface of
    tinydl.ml, trained full-batch by Adam on the cross-entropy."""

    def __init__(self, hidden=32, steps=600, lr=0.03):
        self.hidden, self.steps, self.lr = hidden, steps, lr

    def fit(self, X, y):
        """Train a fresh network on X (n, 2) and labels y (n,) in {0, 1}; returns self."""
        self.model = nn.Sequential(nn.Linear(2, self.hidden), nn.Tanh(),
                                   nn.Linear(self.hidden, 2))
        optimizer = optim.Adam(self.model.parameters(), lr=self.lr)
        inputs, targets = tinydl.Tensor(X.astype(np.float32)), tinydl.Tensor(y)
        for _ in range(self.steps):
            loss = F.cross_entropy(self.model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return self

    def predict(self, X):
        """Labels argmax(logits), shape (n,)."""
        with tinydl.no_grad():
            logits = self.model(tinydl.Tensor(X.astype(np.float32))).numpy()
        return logits.argmax(axis=1)

    def score(self, X, y):
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == y))


def train_autoencoder(X, steps, lr=0.01):
    """Fit a 64-32-2-32-64 tanh autoencoder on X by full-batch Adam on the mean squared
    reconstruction error; returns the 2-D codes (n, 2) and the loss history."""
    encoder = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 2))
    decoder = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 64))
    optimizer = optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=lr)
    inputs = tinydl.Tensor(X)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(decoder(encoder(inputs)), inputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with tinydl.no_grad():
        return encoder(inputs).numpy(), losses


def scatter_digits(ax, codes, labels, title, xlabel, ylabel):
    """2-D codes coloured by digit; returns the scatter artist for a colour bar."""
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return points


def digits_figure(out, fast):
    """PCA scatter, explained variance and autoencoder code of the digits; returns the
    PNG path."""
    X, y = load_digits(flatten=True)
    pca = PCA(n_components=10).fit(X)
    codes = pca.transform(X)
    autoencoder_codes, losses = train_autoencoder(X, steps=30 if fast else 1500)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    points = scatter_digits(axes[0], codes, y, "digits: first two principal components",
                            "principal component 1", "principal component 2")
    ratio = pca.explained_variance_ratio_
    axes[1].bar(np.arange(1, ratio.size + 1), ratio, label="per component")
    axes[1].plot(np.arange(1, ratio.size + 1), np.cumsum(ratio), "o-", color="C1",
                 label="cumulative")
    axes[1].set(title="PCA explained variance ratio", xlabel="component",
                ylabel="fraction of the variance", ylim=(0, 1), xticks=np.arange(1, ratio.size + 1))
    axes[1].legend()
    scatter_digits(axes[2], autoencoder_codes, y,
                   f"autoencoder 2-D code (reconstruction mse {losses[-1]:.4f})",
                   "code unit 1", "code unit 2")
    fig.colorbar(points, ax=axes[2], ticks=range(10), label="digit")
    path = os.path.join(out, "classical_ml_digits.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def boundaries_figure(out, fast):
    """Decision regions of four classifiers on moons and XOR; returns the PNG path."""
    datasets = {"moons": make_moons(n_samples=200, noise=0.15, seed=0),
                "XOR": xor_data(200, seed=1)}
    models = {
        "logistic regression": lambda: LogisticRegression(C=1.0),
        "linear SVM": lambda: LinearSVC(C=1.0),
        "RBF SVM": lambda: KernelSVC(C=3.0, kernel="rbf", gamma=2.0),
        "2-layer MLP": lambda: MLPClassifier(steps=40 if fast else 600),
    }
    resolution = 60 if fast else 200
    fig, axes = plt.subplots(len(datasets), len(models), figsize=(4 * len(models), 7.6))
    for row, (data_name, (X, y)) in enumerate(datasets.items()):
        low, high = X.min(axis=0) - 0.4, X.max(axis=0) + 0.4
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                             np.linspace(low[1], high[1], resolution))
        grid = np.c_[gx.ravel(), gy.ravel()]
        for col, (model_name, make) in enumerate(models.items()):
            model = make().fit(X, y)
            region = model.predict(grid).reshape(gx.shape)
            ax = axes[row, col]
            ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["#9ecae1", "#fdae6b"],
                        alpha=0.6)
            ax.scatter(X[:, 0], X[:, 1], c=np.where(y == 1, "#e6550d", "#3182bd"), s=8)
            ax.set(title=f"{model_name} on {data_name}\ntraining accuracy {model.score(X, y):.2f}",
                   xticks=[], yticks=[])
    fig.tight_layout()
    path = os.path.join(out, "classical_ml_boundaries.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main(argv=None):
    """Parse --out / --fast and write both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNGs")
    parser.add_argument("--fast", action="store_true",
                        help="a few training steps only (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    os.makedirs(args.out, exist_ok=True)
    tinydl.manual_seed(0)
    start = time.perf_counter()
    for path in (digits_figure(args.out, fast), boundaries_figure(args.out, fast)):
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
