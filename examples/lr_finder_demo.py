"""The learning-rate range test on two moons, plotted with the suggested learning rate.

A small MLP (written from bare Tensors) classifies ``make_moons``. ``optim.lr_finder``
sweeps the learning rate of SGD with momentum from 1e-5 to 10, the smoothed loss curve is
plotted with ``optim.plot_lr_finder`` (red dot: steepest descent), and the model is then
trained for a few epochs at the suggested rate. Writes ``lr_finder_demo.png`` to ``--out``.
"""
import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
from tinydl import optim  # noqa: E402
from tinydl.data.synthetic import make_moons  # noqa: E402


class MLP:
    """2 -> hidden -> 1 with tanh, logits out; ``parameters()`` as an nn.Module has."""

    def __init__(self, hidden, rng):
        self.w1 = tinydl.Tensor(rng.normal(0, 1 / np.sqrt(2), (2, hidden)).astype(np.float32),
                                requires_grad=True)
        self.b1 = tinydl.Tensor(np.zeros(hidden, np.float32), requires_grad=True)
        self.w2 = tinydl.Tensor(rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1)).astype(np.float32),
                                requires_grad=True)
        self.b2 = tinydl.Tensor(np.zeros(1, np.float32), requires_grad=True)

    def parameters(self):
        return [self.w1, self.b1, self.w2, self.b2]

    def __call__(self, x):
        return (tinydl.Tensor(x) @ self.w1 + self.b1).tanh() @ self.w2 + self.b2


def bce_loss(model, batch):
    """Binary cross-entropy on logits z: mean(softplus(z) - y z); the lr_finder loss_fn."""
    x, y = batch
    logits = model(x)
    return (tinydl.softplus(logits) - tinydl.Tensor(y) * logits).mean()


def batches(x, y, size, rng):
    order = rng.permutation(len(x))
    return [(x[order[i:i + size]], y[order[i:i + size]]) for i in range(0, len(x), size)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-iter", type=int, default=100, help="steps of the range test")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs afterwards")
    parser.add_argument("--out", default=str(Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true", help="fewer steps for a quick run")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    num_iter, epochs = (30, 2) if fast else (args.num_iter, args.epochs)

    rng = np.random.default_rng(0)
    x, labels = make_moons(n_samples=512, noise=0.15, seed=0)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(labels, dtype=np.float32).reshape(-1, 1)
    model = MLP(16, rng)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    lrs, losses = optim.lr_finder(model, bce_loss, batches(x, y, 32, rng), optimizer,
                                  start_lr=1e-5, end_lr=10.0, num_iter=num_iter)
    suggested = optim.suggest_lr(lrs, losses)
    print(f"range test: {len(lrs)} steps, lr {lrs[0]:.1e} .. {lrs[-1]:.2e}; "
          f"suggested lr {suggested:.3e}")

    for group in optimizer.param_groups:
        group["lr"] = suggested
    history = []
    for epoch in range(epochs):
        for batch in batches(x, y, 32, rng):
            optimizer.zero_grad()
            loss = bce_loss(model, batch)
            loss.backward()
            optimizer.step()
        with tinydl.no_grad():
            history.append(bce_loss(model, (x, y)).item())
            accuracy = float(np.mean((model(x).data > 0) == (y > 0.5)))
        print(f"epoch {epoch + 1:2d}  loss {history[-1]:.4f}  accuracy {accuracy:.3f}")

    fig, (ax_range, ax_train) = plt.subplots(1, 2, figsize=(11, 4))
    optim.plot_lr_finder(lrs, losses, ax=ax_range)
    ax_range.set_title("LR range test (SGD, momentum 0.9)")
    ax_train.plot(np.arange(1, epochs + 1), history, marker="o")
    ax_train.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_train.set_xlabel("epoch")
    ax_train.set_ylabel("training loss (binary cross-entropy, whole set)")
    ax_train.set_title(f"training at the suggested lr {suggested:.2e}")
    fig.tight_layout()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / "lr_finder_demo.png"
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    print(f"wrote {out_path}")
    return suggested, history


if __name__ == "__main__":
    main()
