"""Optimizer playground: eight optimizers race down a 2-D test surface from one start.

Draws the chosen surface (``tinydl.optim.testfns``) as a 3-D plot and as a contour map
with the paths of SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, NAdam and AdamW, and
prints where each one ends. ``--cyclic`` adds each optimizer's path under a triangular
CyclicLR schedule (dashed). Writes ``optimizer_playground_<function>.png`` to ``--out``.

    python examples/optimizer_playground.py --function himmelblau --start -0.2 -0.8 --steps 300

``--lr`` is the learning rate of the gradient-scaled methods (SGD, momentum, Nesterov),
whose step is lr times the gradient; ``--adaptive-lr`` that of the others, whose step is
about lr per coordinate whatever the gradient's size. Both default to values that suit
the chosen surface.
"""
import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinydl  # noqa: E402
from tinydl import optim  # noqa: E402
from tinydl.optim import testfns  # noqa: E402

# function: (x range, y range, default start, lr, adaptive lr)
SURFACES = {
    "himmelblau": ((-5, 5), (-5, 5), (-0.2, -0.8), 0.01, 0.1),
    "monkey_saddle": ((-1.5, 1.5), (-1.5, 1.5), (0.6, 0.05), 0.02, 0.02),
    "peaks": ((-3, 3), (-3, 3), (1.0, 0.2), 0.03, 0.05),
    "complex_peaks": ((-4, 4), (-4, 4), (0.25, 0.75), 0.3, 0.05),
    "rosenbrock": ((-2, 2), (-1, 3), (-1.5, 2.0), 1e-3, 0.05),
}

# (label, class, options); lr is filled in from the command line
OPTIMIZERS = [
    ("SGD", optim.SGD, {}),
    ("momentum", optim.SGD, {"momentum": 0.9}),
    ("Nesterov", optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ("AdaGrad", optim.Adagrad, {}),
    ("RMSProp", optim.RMSprop, {}),
    ("Adam", optim.Adam, {}),
    ("NAdam", optim.NAdam, {}),
    ("AdamW", optim.AdamW, {"weight_decay": 0.01}),
]
ADAPTIVE = {"AdaGrad", "RMSProp", "Adam", "NAdam", "AdamW"}
# One colour (Okabe-Ito, distinguishable with colour-blindness) and one marker per optimizer,
# so that paths which run on top of each other can still be told apart.
STYLES = {
    "SGD": ("#000000", "o"), "momentum": ("#E69F00", "s"), "Nesterov": ("#56B4E9", "^"),
    "AdaGrad": ("#009E73", "v"), "RMSProp": ("#D55E00", "D"), "Adam": ("#0072B2", "P"),
    "NAdam": ("#CC79A7", "X"), "AdamW": ("#999933", "*"),
}


def run_paths(fn, start, steps, lr, adaptive_lr, cyclic):
    """label -> (steps + 1, 2) path, for every optimizer (and its CyclicLR twin if asked)."""
    paths = {}
    for label, cls, options in OPTIMIZERS:
        rate = adaptive_lr if label in ADAPTIVE else lr
        paths[label] = testfns.trajectory(fn, start, cls, steps, lr=rate, **options)
        if cyclic:
            # Cycles between rate/10 and 2 rate, four cycles over the run; momentum is left
            # alone so that plain SGD stays plain.
            def schedule(opt, rate=rate):
                return optim.lr_scheduler.CyclicLR(opt, base_lr=rate / 10, max_lr=2 * rate,
                                                   step_size_up=max(1, steps // 8),
                                                   cycle_momentum=False)
            paths[label + " + cyclic"] = testfns.trajectory(fn, start, cls, steps,
                                                            schedule=schedule, lr=rate, **options)
    return paths


def surface_grid(fn, x_range, y_range, n):
    xs, ys = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n))
    with tinydl.no_grad():
        zs = fn(tinydl.Tensor(np.stack([xs, ys], axis=-1))).data
    return xs, ys, zs


def clip_to_box(path, x_range, y_range):
    """NaN out the points that left the plotted box (diverging paths), so axes stay put."""
    inside = ((path[:, 0] >= x_range[0]) & (path[:, 0] <= x_range[1])
              & (path[:, 1] >= y_range[0]) & (path[:, 1] <= y_range[1]))
    clipped = path.copy()
    clipped[~inside] = np.nan
    return clipped


def plot(fn, name, paths, x_range, y_range, grid, out_path):
    xs, ys, zs = surface_grid(fn, x_range, y_range, grid)
    # Steep surfaces (Himmelblau, Rosenbrock) read better in log levels.
    levels = np.geomspace(max(zs.min(), 1e-3), zs.max(), 30) if zs.min() >= 0 else 30
    fig = plt.figure(figsize=(19, 6.2))
    grid_spec = fig.add_gridspec(1, 3, width_ratios=[1.0, 1.15, 0.85])
    ax3d = fig.add_subplot(grid_spec[0], projection="3d")
    ax3d.plot_surface(xs, ys, zs, cmap="viridis", alpha=0.6, linewidth=0, antialiased=True)
    ax2d = fig.add_subplot(grid_spec[1])
    # Paths that run on top of each other in the plane come apart in the value per step.
    ax_f = fig.add_subplot(grid_spec[2])
    log_values = zs.min() >= 0
    # Grey contours: the colours on this panel belong to the optimizers.
    ax2d.contour(xs, ys, zs, levels=levels, colors="0.75", linewidths=0.6)
    for i, (label, *_rest) in enumerate(OPTIMIZERS):
        color, marker = STYLES[label]
        # Paths that coincide (the adaptive methods often do) stay visible: earlier ones are
        # drawn wider underneath, and each one's markers sit at its own offset along the path.
        width = 4.0 - 0.4 * i
        for suffix, style in (("", "-"), (" + cyclic", "--")):
            if label + suffix not in paths:
                continue
            path = clip_to_box(paths[label + suffix], x_range, y_range)
            with tinydl.no_grad(), np.errstate(all="ignore"):
                heights = fn(tinydl.Tensor(np.nan_to_num(path))).data
            heights[np.isnan(path[:, 0])] = np.nan
            every = max(1, len(path) // 12)
            ax3d.plot(path[:, 0], path[:, 1], heights, style, color=color, lw=width)
            ax2d.plot(path[:, 0], path[:, 1], style, color=color, lw=width, marker=marker,
                      ms=7, markevery=(i * every // len(OPTIMIZERS), every), mec="white",
                      mew=0.5, label=label + suffix)
            ax2d.plot(path[-1, 0], path[-1, 1], marker=marker, color=color, ms=8, mec="k",
                      mew=0.6)
            with tinydl.no_grad(), np.errstate(all="ignore"):
                values = fn(tinydl.Tensor(paths[label + suffix])).data
            steps = np.arange(len(values))
            values[~np.isfinite(values)] = np.nan   # a diverged path ends where it overflows
            if log_values:
                values = np.maximum(values, 1e-16)  # f = 0 exactly has no logarithm
            ax_f.plot(steps, values, style, color=color, lw=1.6, marker=marker, ms=6,
                      markevery=(i * every // len(OPTIMIZERS), every), mec="white", mew=0.5,
                      label=label + suffix)
    start = next(iter(paths.values()))[0]
    ax2d.plot(*start, "k*", ms=12, label="start")
    ax2d.set_xlim(*x_range)
    ax2d.set_ylim(*y_range)
    ax2d.set_aspect("equal")
    ax2d.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    for ax in (ax3d, ax2d):
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    # The value axis spans the plotted surface's range: a diverging path leaves it upwards.
    low, high = zs.min(), zs.max()
    ax_f.set(xlabel="step", ylabel="f(x, y)" + (" (log scale, floored at 1e-16)"
                                                 if log_values else ""),
             yscale="log" if log_values else "linear", title=f"{name}: value along each path",
             ylim=(3e-17, 10 * high) if log_values else (low - 0.05 * (high - low),
                                                          high + 0.05 * (high - low)))
    ax3d.set_title(f"{name}: surface and paths")
    ax2d.set_title(f"{name}: contours, {len(next(iter(paths.values()))) - 1} steps")
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--function", choices=sorted(SURFACES), default="himmelblau")
    parser.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"), default=None,
                        help="starting point (default: one that suits the function)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate of SGD, momentum and Nesterov")
    parser.add_argument("--adaptive-lr", type=float, default=None,
                        help="learning rate of AdaGrad, RMSProp, Adam, NAdam and AdamW")
    parser.add_argument("--cyclic", action="store_true", help="also run each under CyclicLR")
    parser.add_argument("--out", default=str(Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true", help="few steps and a coarse grid")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    x_range, y_range, start, lr, adaptive_lr = SURFACES[args.function]
    start = tuple(args.start) if args.start is not None else start
    lr = args.lr if args.lr is not None else lr
    adaptive_lr = args.adaptive_lr if args.adaptive_lr is not None else adaptive_lr
    steps = min(args.steps, 40) if fast else args.steps
    if steps < 1:
        parser.error(f"--steps must be at least 1, got {steps}")
    fn = getattr(testfns, args.function)

    began = time.perf_counter()
    paths = run_paths(fn, start, steps, lr, adaptive_lr, args.cyclic)
    # Paths on unbounded surfaces (the monkey saddle) may run off to infinity.
    with tinydl.no_grad(), np.errstate(all="ignore"):
        print(f"{args.function} from {start}, {steps} steps (lr {lr}, adaptive lr {adaptive_lr})")
        for label, path in paths.items():
            end = path[-1]
            value = fn(tinydl.Tensor(end)).item() if np.all(np.isfinite(end)) else float("nan")
            print(f"  {label:22s} ends at ({end[0]: .4f}, {end[1]: .4f})  f = {value: .5g}")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"optimizer_playground_{args.function}.png"
    plot(fn, args.function, paths, x_range, y_range, 40 if fast else 120, out_path)
    print(f"wrote {out_path} in {time.perf_counter() - began:.1f} s")
    return paths


if __name__ == "__main__":
    main()
