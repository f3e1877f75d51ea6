"""Train a small convolutional network on MNIST read from IDX files.

MNIST cannot be downloaded from here, so point the script at the four files as LeCun
distributes them (gzipped or not); Fashion-MNIST uses the same names and works too:

    python examples/train_mnist.py --data ~/datasets/mnist

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

Two conv-ReLU-pool blocks and a linear head, trained with Adam on cross-entropy; inputs are
standardised with the training set's ``mean_std``. It prints a progress line per epoch and the
test accuracy, and writes the training curves and a grid of test predictions as PNGs.
With ``--fast`` (or ``TINYDL_FAST=1``) it trains one epoch on the first 512 images only.
"""

import os

# Small models: a BLAS thread pool's hand-offs cost more than they gain (measured on 2 cores:
# 35 s with the default pool against 6 s with one thread). An explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import pathlib
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
import tinydl.nn.functional as F  # noqa: E402
from tinydl import nn, optim  # noqa: E402
from tinydl.data import DataLoader, TensorDataset, mean_std, read_idx  # noqa: E402

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FAST_TRAIN, FAST_TEST = 512, 256


def find_file(directory, stem):
    """Path of ``stem`` in ``directory``: plain, gzipped, or with Kaggle's ``.idx`` dot."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    sys.exit(f"train_mnist: no {stem}[.gz] in {directory}; download MNIST's four IDX files "
             f"and pass their folder with --data")


def load_mnist(directory, train_limit=None, test_limit=None):
    """``(x_train, y_train, x_test, y_test)``: float32 ``(N, 1, 28, 28)`` in [0, 1], int64."""
    arrays = {key: read_idx(find_file(directory, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or len(images) != len(labels):
            sys.exit(f"train_mnist: {split} images of shape {images.shape} do not match "
                     f"labels of shape {labels.shape}")
    x_train = arrays["train_images"][:train_limit, None].astype(np.float32) / 255
    x_test = arrays["test_images"][:test_limit, None].astype(np.float32) / 255
    y_train = arrays["train_labels"][:train_limit].astype(np.int64)
    y_test = arrays["test_labels"][:test_limit].astype(np.int64)
    return x_train, y_train, x_test, y_test


def make_model(image_size):
    """conv(1->16)-ReLU-pool, conv(16->32)-ReLU-pool, linear head to 10 classes."""
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * side * side, 10),
    )


def predict(model, x, batch_size=500):
    """Predicted class of every image, in evaluation mode and without building a graph."""
    model.eval()
    with tinydl.no_grad():
        predictions = [model(xb).numpy().argmax(axis=1)
                       for (xb,) in DataLoader(TensorDataset(x), batch_size=batch_size)]
    model.train()
    return np.concatenate(predictions)


def show_progress(epoch, epochs, done, total, loss, accuracy, rate):
    width = 30
    filled = width * done // total
    print(f"\repoch {epoch}/{epochs} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
          f"loss {loss:.4f} acc {accuracy:.3f} {rate:.0f} samples/s", end="", flush=True)


def train(model, loader, epochs, lr):
    """Adam on cross-entropy; returns the loss of every step and the accuracy per epoch."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses, accuracies = [], []
    for epoch in range(1, epochs + 1):
        start, seen, correct = time.perf_counter(), 0, 0
        for step, (xb, yb) in enumerate(loader, start=1):
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            seen += len(yb.data)
            correct += int((logits.numpy().argmax(axis=1) == yb.data).sum())
            if step % max(1, len(loader) // 50) == 0 or step == len(loader):
                show_progress(epoch, epochs, step, len(loader), np.mean(losses[-step:]),
                              correct / seen, seen / (time.perf_counter() - start))
        print()
        accuracies.append(correct / seen)
    return losses, accuracies


def save_figures(out, losses, train_accuracies, test_images, test_labels, predictions):
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(losses, lw=0.8)
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="training loss")
    ax_acc.plot(range(1, len(train_accuracies) + 1), train_accuracies, "o-")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="training accuracy (during the epoch)",
               ylim=(0, 1.02))
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "train_mnist_curves.png"), dpi=100)
    plt.close(fig)

    count = min(16, len(test_images))
    # Constrained layout keeps the figure title clear of the first row's labels.
    fig, axes = plt.subplots(2, 8, figsize=(9, 3.0), layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < count:
            ax.imshow(test_images[i, 0], cmap="gray_r")
            wrong = predictions[i] != test_labels[i]
            label = f"{predictions[i]} (true {test_labels[i]})" if wrong else f"{predictions[i]}"
            ax.set_title(label, color="red" if wrong else "black", fontsize=9)
    fig.suptitle("test images with the predicted digit (red: wrong)")
    fig.savefig(os.path.join(out, "train_mnist_predictions.png"), dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True,
                        help="folder holding MNIST's four IDX files (plain or .gz)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNGs")
    parser.add_argument("--fast", action="store_true",
                        help="one epoch on 512 training images (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    os.makedirs(args.out, exist_ok=True)

    x_train, y_train, x_test, y_test = load_mnist(
        args.data, FAST_TRAIN if fast else None, FAST_TEST if fast else None)
    mean, std = mean_std(x_train)
    std = np.maximum(std, 1e-6)  # a blank (constant) training set must not divide by zero
    x_train = (x_train - mean[:, None, None]) / std[:, None, None]
    x_test = (x_test - mean[:, None, None]) / std[:, None, None]
    print(f"train {x_train.shape}, test {x_test.shape}, pixel mean {mean[0]:.4f} "
          f"std {std[0]:.4f}")

    tinydl.manual_seed(args.seed)
    model = make_model(x_train.shape[-1])
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                        shuffle=True, seed=args.seed)
    losses, train_accuracies = train(model, loader, 1 if fast else args.epochs, args.lr)

    predictions = predict(model, x_test)
    test_accuracy = float((predictions == y_test).mean())
    print(f"test accuracy {test_accuracy:.4f} on {len(y_test)} images")
    save_figures(args.out, losses, train_accuracies, x_test, y_test, predictions)
    return test_accuracy


if __name__ == "__main__":
    main()
