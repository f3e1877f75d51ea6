"""Fit y = sin(x) with a 2-layer MLP written from bare Tensor ops (no tinydl.nn).

Plain gradient descent on the mean squared error; the fitted curve is saved as
``fit_sine.png`` in ``--out`` (default: ``output/`` beside this file).

    python examples/fit_sine.py [--steps 2001] [--out DIR] [--fast]
"""
import argparse
import os
import pathlib

import numpy as np

import tinydl as td


def fit(steps, lr=0.1, seed=0):
    """Train tanh MLP 1 -> 32 -> 1 on 256 points of sin on [-pi, pi]; returns (x, y, fit, mse)."""
    td.manual_seed(seed)
    x = td.Tensor(np.linspace(-np.pi, np.pi, 256, dtype=np.float32).reshape(-1, 1))
    y = td.sin(x)
    w1, b1 = td.randn(1, 32, requires_grad=True), td.zeros(32, requires_grad=True)
    w2 = td.Tensor(td.randn(32, 1).data * 0.1, requires_grad=True)
    b2 = td.zeros(1, requires_grad=True)
    for step in range(steps):
        loss = ((td.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()
        loss.backward()
        for p in (w1, b1, w2, b2):
            p.data -= lr * p.grad.data
            p.grad = None
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step:4d}  mse {loss.item():.5f}")
    with td.no_grad():
        prediction = td.tanh(x @ w1 + b1) @ w2 + b2
    return x.numpy().ravel(), y.numpy().ravel(), prediction.numpy().ravel(), loss.item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2001)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true", help="1001 steps (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    x, y, prediction, mse = fit(1001 if fast else args.steps)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(x, y, color="k", linewidth=3, alpha=0.3, label="sin(x)")
    ax.plot(x, prediction, color="tab:red", linestyle="--", label=f"MLP fit (mse {mse:.1e})")
    ax.set(xlabel="x", ylabel="y", title="a 1-32-1 tanh MLP from bare Tensors")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fit_sine.png", dpi=90)
    plt.close(fig)
    print(f"saved {out / 'fit_sine.png'}")
    return mse


if __name__ == "__main__":
    main()
