"""``python -m benchmarks --under-load``: the conv, LeNet and MLP workloads quiet and then beside
two busy-loop processes pinned one per core (started and stopped here), tinydl against torch.

Each library runs with the thread setting a user gets by default (tinydl: its import-time
policy, ``tinydl.threads``; torch: one thread per core), so the table answers "how does my
script hold up when the machine is busy". Rounds alternate tinydl and torch (one warm-up
call, then one timed call each); the table gives each one's median and worst round and their
spread (worst / median), and the median ratio tinydl / torch quiet and loaded. The issue's
goal: tinydl's spread no wider than torch's, and its loaded ratio no worse than its quiet one.
"""
import time

import numpy as np

from benchmarks._harness import busy_loops, load_average, try_torch


def workloads(torch, quick):
    """The (name, ours, theirs) list: every bench_conv shape, a LeNet and an MLP epoch."""
    from benchmarks import bench_conv, bench_lenet, bench_mlp

    rng = np.random.default_rng(0)
    items = []
    for shape in bench_conv.SHAPES:
        n, c, h, wd, f, k = shape[:6]
        ours, theirs, _ = bench_conv.conv_workload(rng, shape, torch)
        items.append((f"conv ({n},{c},{h},{wd})->{f} k{k}", ours, theirs))
    images, labels = bench_lenet._data(2000 if quick else 5000)
    items.append((f"LeNet epoch ({len(images)} images)", bench_lenet.tinydl_epoch(images, labels),
                  bench_lenet.torch_epoch(torch, images, labels)))
    features, targets = bench_mlp._data(6000 if quick else 20000)
    items.append((f"MLP epoch ({len(features)} samples)",
                  bench_mlp.tinydl_epoch(features, targets),
                  bench_mlp.torch_epoch(torch, features, targets)))
    return items


def rounds_of(ours, theirs, rounds):
    """Per-round wall seconds of ``ours`` and ``theirs``, alternating, each timed call after
    one untimed one (which lets the other library's spinning threads go idle)."""
    times = ([], [])
    for r in range(rounds):
        pair = ((ours, times[0]), (theirs, times[1]))
        for fn, out in (pair if r % 2 == 0 else pair[::-1]):
            fn()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def _stats(times):
    median, worst = float(np.median(times)), float(max(times))
    return median, worst, worst / median


def run(quick=False, out=print):
    """Measure and print the robustness table; returns its rows as dicts."""
    import tinydl
    import tinydl.threads

    torch = try_torch()
    if torch is None:
        out("--under-load needs torch (the baseline); pip install torch")
        return []
    tinydl.threads.enable_auto()  # what `import tinydl` does when nothing is set
    rounds = 3 if quick else 5
    out(f"threads: tinydl automatic (its default, tinydl.threads), torch "
        f"{torch.get_num_threads()} (its default); {rounds} rounds per phase")
    header = (f"{'workload':34s} {'phase':6s} {'tinydl med':>10s} {'worst':>8s} {'spread':>6s} "
              f"{'torch med':>10s} {'worst':>8s} {'spread':>6s} {'ratio':>6s} {'load':>5s}")
    out(header)
    out("-" * len(header))
    rows = []
    for name, ours, theirs in workloads(torch, quick):
        for phase in ("quiet", "loaded"):
            if phase == "loaded":
                with busy_loops(2):
                    mine, base = rounds_of(ours, theirs, rounds)
                    load = load_average()
            else:
                mine, base = rounds_of(ours, theirs, rounds)
                load = load_average()
            a, b = _stats(mine), _stats(base)
            rows.append({"workload": name, "phase": phase, "tinydl": mine, "torch": base,
                         "ratio": a[0] / b[0], "load": load})
            out(f"{name[:34]:34s} {phase:6s} {a[0] * 1e3:8.1f}ms {a[1] * 1e3:6.1f}ms "
                f"{a[2]:6.2f} {b[0] * 1e3:8.1f}ms {b[1] * 1e3:6.1f}ms {b[2]:6.2f} "
                f"{a[0] / b[0]:6.2f} {load:5.1f}")
    return rows
