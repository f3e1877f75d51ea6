"""Looking inside a training step: profile it, draw its autograd graph, plot its gradient flow.

The quickstart's small CNN on the 8x8 digits. A few training steps run under
``tinydl.profiler.profile``; the op table, the per-layer table and a Chrome trace are written,
then the graph of one loss (``tinydl.viz.draw_graph``) and the gradient norm per parameter
(``tinydl.viz.plot_grad_flow``) are drawn.

    python examples/profile_model.py [--steps 20] [--out DIR] [--fast]

Open ``profile_trace.json`` in chrome://tracing or https://ui.perfetto.dev.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: one BLAS thread is faster

import argparse
import pathlib

import tinydl as td
from tinydl import nn
from tinydl.data import DataLoader, TensorDataset, load_digits
from tinydl.nn import functional as F
from tinydl.optim import Adam
from tinydl.profiler import profile
from tinydl.viz import draw_graph, plot_grad_flow


def build_model():
    """The quickstart's CNN: conv-BN-ReLU-pool twice, then a linear head (8x8 -> 10 classes)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def train_step(model, optimizer, xb, yb):
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps profiled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the tables, trace and figures")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time (as torch) or the process's CPU time (steadier on a "
                             "busy machine)")
    parser.add_argument("--fast", action="store_true", help="three steps (for tests)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    steps = 3 if fast else args.steps
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    td.manual_seed(args.seed)
    X, y = load_digits()
    X = (X - X.mean()) / X.std()
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, seed=args.seed)
    model = build_model()
    optimizer = Adam(model.parameters(), lr=1e-2)
    batches = iter(loader)
    train_step(model, optimizer, *next(batches))  # compiles the kernels outside the profile

    with profile(model, clock=args.clock) as prof:
        for _ in range(steps):
            train_step(model, optimizer, *next(batches))
    by_op = prof.table(sort_by="total", top=12)
    by_layer = prof.table(sort_by="total", group_by="module")
    print(f"{steps} training steps (batch 64), per op:\n{by_op}\n\nper layer:\n{by_layer}")
    (out / "profile_table.txt").write_text(f"{by_op}\n\n{by_layer}\n")
    prof.export_chrome_trace(out / "profile_trace.json")

    xb, yb = next(batches)
    loss = F.cross_entropy(model(xb), yb)
    graph = draw_graph(loss, params=model)
    graph.save(out / "profile_graph.dot")
    engine = graph.save(out / "profile_graph.png")
    optimizer.zero_grad()
    loss.backward()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plot_grad_flow(model)
    fig.savefig(out / "profile_grad_flow.png", dpi=90)
    plt.close(fig)

    share = prof.total_s / prof.wall_time_s
    print(f"\nop time is {share:.1%} of the profiled {args.clock} time (the rest: Adam's "
          f"updates, batching, Python between ops); graph: {len(graph.nodes)} nodes, "
          f"{len(graph.edges)} edges ({engine}); files in {out}")
    return share


if __name__ == "__main__":
    main()
