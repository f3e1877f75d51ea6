"""Quickstart: train a small CNN on the bundled handwritten digits, offline, in seconds.

Two conv-BN-ReLU-pool blocks and a linear head, trained with Adam under a one-cycle
schedule on 80% of the 1,797 UCI 8x8 digits; test accuracy on the held-out 20% is printed at
the end. Training curves are saved as PNG, and the model is saved with ``tinydl.save`` and
reloaded with ``tinydl.load`` to show that the reloaded copy predicts the same.

    python examples/quickstart.py [--epochs 12] [--out DIR] [--fast]

``--out`` defaults to ``output/`` beside this file.
"""
import os

# Small models: a BLAS thread pool's hand-offs cost more than they gain (measured on 2 cores:
# 35 s with the default pool against 6 s with one thread). An explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import pathlib
import sys
import time

import numpy as np

import tinydl as td
from tinydl import nn
from tinydl.data import DataLoader, TensorDataset, load_digits
from tinydl.nn import functional as F
from tinydl.optim import Adam
from tinydl.optim.lr_scheduler import OneCycleLR


def build_model():
    """conv(1->16)-BN-ReLU-pool, conv(16->32)-BN-ReLU-pool, linear(128->10): 8x8 -> 4x4 -> 2x2."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def split(X, y, test_fraction=0.2, seed=0):
    """A seeded, stratification-free shuffle split into train and held-out test sets."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def progress(epoch, epochs, done, total, loss, acc, rate, width=24):
    """One line of a text progress bar, redrawn in place with a carriage return."""
    filled = int(width * done / total)
    bar = "#" * filled + "." * (width - filled)
    sys.stdout.write(f"\repoch {epoch:2d}/{epochs} [{bar}] loss {loss:.4f}  acc {acc:6.2%}  "
                     f"{rate:7.0f} samples/s")
    sys.stdout.flush()


@td.no_grad()
def accuracy(model, X, y, batch_size=512):
    model.eval()
    correct = 0
    for start in range(0, len(X), batch_size):
        logits = model(td.Tensor(X[start:start + batch_size]))
        correct += int((logits.data.argmax(axis=1) == y[start:start + batch_size]).sum())
    return correct / len(X)


def train(epochs, batch_size=64, lr=1e-2, seed=0):
    td.manual_seed(seed)
    X, y = load_digits()
    X_train, y_train, X_test, y_test = split(X, y, seed=seed)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

    model = build_model()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True,
                        seed=seed)
    optimizer = Adam(model.parameters(), lr=lr)
    scheduler = OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(loader))
    history = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        model.train()
        seen, total_loss, correct, start = 0, 0.0, 0, time.perf_counter()
        for step, (xb, yb) in enumerate(loader, 1):
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            n = len(yb)
            seen += n
            total_loss += loss.item() * n
            correct += int((logits.data.argmax(axis=1) == yb.data).sum())
            progress(epoch, epochs, step, len(loader), total_loss / seen, correct / seen,
                     seen / (time.perf_counter() - start))
        history["loss"].append(total_loss / seen)
        history["train_acc"].append(correct / seen)
        history["test_acc"].append(accuracy(model, X_test, y_test))
        sys.stdout.write(f"  test {history['test_acc'][-1]:6.2%}\n")
    return model, history, (X_test, y_test)


def plot_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(title="training loss", xlabel="epoch", ylabel="cross-entropy (log scale)",
            yscale="log")
    ax2.plot(epochs, history["train_acc"], marker="o", label="train (during the epoch)")
    ax2.plot(epochs, history["test_acc"], marker="s", label="held-out test")
    # The axis starts below the lowest point (the first epoch's train accuracy is the lowest).
    lowest = min(min(history["train_acc"]), min(history["test_acc"]))
    ax2.set(title="accuracy", xlabel="epoch", ylabel="accuracy",
            ylim=(max(0.0, np.floor(lowest * 10) / 10 - 0.05), 1.01))
    ax2.legend(loc="lower right")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG and model")
    parser.add_argument("--fast", action="store_true", help="two epochs (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    epochs = 2 if fast else args.epochs
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    model, history, (X_test, y_test) = train(epochs, seed=args.seed)
    test_acc = history["test_acc"][-1]
    print(f"test accuracy {test_acc:.2%} on {len(X_test)} held-out digits "
          f"({time.perf_counter() - start:.1f} s)")

    plot_curves(history, out / "quickstart_curves.png")
    td.save(model.state_dict(), out / "quickstart_model.npz")
    reloaded = build_model()
    reloaded.load_state_dict(td.load(out / "quickstart_model.npz"))
    model.eval(), reloaded.eval()
    with td.no_grad():
        same = bool(np.array_equal(reloaded(td.Tensor(X_test)).data,
                                   model(td.Tensor(X_test)).data))
    print(f"saved and reloaded {out / 'quickstart_model.npz'}: the same test logits: {same}")
    print(f"training curves: {out / 'quickstart_curves.png'}")
    return test_acc


if __name__ == "__main__":
    main()
