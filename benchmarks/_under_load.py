"""``python -m benchmarks --under-load``: the conv, LeNet and MLP workloads on a quiet machine and
beside two busy-loop processes pinned one per core (started and stopped here, in alternating
blocks), tinydl against torch.

Each library runs with the thread setting a user gets by default (tinydl: its import-time
policy, ``tinydl.threads``; torch: one thread per core), so the table answers "how does my
script hold up when the machine is busy". Rounds alternate tinydl and torch (one warm-up
call, then one timed call each); the table gives each one's median and worst round and their
spread (worst / median), and the median ratio tinydl / torch quiet and loaded. The issue's
goal: tinydl's spread no wider than torch's, and its loaded ratio no worse than its quiet one.

Rounds per phase: at least ``MIN_ROUNDS``, and for short workloads as many as fill about
``PHASE_SECONDS`` of timed calls (at most ``MAX_ROUNDS``), the same count quiet and loaded.
Beside a busy loop the scheduler shares each core in slices of a few milliseconds, so a call
of 1 ms is either untouched or waits a whole slice: measured here on the (32,1,28,28) shape
(300 calls each beside two busy loops), 21% of tinydl's calls took over 3 ms (worst 6 ms)
and 44% of torch's (worst 88 ms). Five rounds then draw the worst round by luck: tinydl's
spread read 4.1-4.6 and torch's 1.1-1.2 in three runs of five rounds, the reverse of what
the calls show.

The quiet and loaded phases alternate in ``BLOCKS`` blocks per workload, each loaded block
beside freshly started busy loops, and each phase's figures are over all its blocks' rounds.
How the scheduler places both libraries' threads beside the busy loops holds for a whole
block: on the (32,3,32,32) shape, six loaded phases of 40 rounds one after another (2-core
Zen 5 VM) gave torch medians of 1.33 to 3.51 ms and tinydl 1.04 to 1.73, so that one phase's
ratio read anything from 0.34 to 1.30; quiet phases read 0.81-0.85. Several blocks sample
several placements, and slow drifts of the machine's speed reach both phases alike.

A quiet block starts ``QUIET_PAUSE`` after the busy loops stopped, and every block with one
untimed round of both libraries. Without the untimed round, whichever library ran first
after a switch paid for it: (32,32,32,32)'s first tinydl round after a loaded block read
1.55-1.86x its median in three of four quiet blocks, torch's 1.0-1.15x; with torch first,
torch's read 1.17-2.29x and tinydl's 1.0-1.6x. And tinydl's automatic thread policy judges
the load over the time since its last look (``tinydl.threads``, looks 0.2 s apart), so it
kept BLAS on one thread into a quiet block that followed the busy loops at once: the worst
quiet MLP epoch read 131.6 ms against a median of 92.6 (117.7 against 95.4 with the pause
alone; 131-137 against 92-96 in two runs of 2026-12-06, until a look long after the last
counted the threads running at that moment, ``tinydl.threads.STALE_AFTER``). That lag is
real, and a loaded block (0.2 s after its busy loops start, ``busy_loops``) still counts
it against tinydl; a quiet block measures a quiet machine.
"""
import contextlib
import time

import numpy as np

from benchmarks._harness import blas_line, busy_loops, load_average, settle, try_torch

MIN_ROUNDS = 8
MAX_ROUNDS = 100
BLOCKS = 4  # quiet and loaded blocks per workload, alternating
QUIET_PAUSE = 0.5  # seconds after busy loops stop before a quiet block (see the docstring)
PHASE_SECONDS = 0.3  # of timed calls per library and phase, for workloads short enough


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
    untimed ones (``settle``: one, and more until 10 ms have passed, which lets the other
    library's spinning threads go idle)."""
    times = ([], [])
    for r in range(rounds):
        pair = ((ours, times[0]), (theirs, times[1]))
        for fn, out in (pair if r % 2 == 0 else pair[::-1]):
            settle(fn)
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return times


def rounds_for(ours, theirs, minimum):
    """Rounds for a workload: ``minimum``, or as many as fill ``PHASE_SECONDS`` of the slower
    library's calls (timed once each, after a warm-up call), at most ``MAX_ROUNDS``."""
    first = rounds_of(ours, theirs, 1)
    slower = max(first[0][0], first[1][0])
    return int(min(MAX_ROUNDS, max(minimum, PHASE_SECONDS // max(slower, 1e-9))))


def blocks_of(rounds, blocks):
    """``rounds`` split into at most ``blocks`` blocks of as equal sizes as can be."""
    blocks = max(1, min(blocks, rounds))
    return [rounds // blocks + (i < rounds % blocks) for i in range(blocks)]


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
    minimum = 3 if quick else MIN_ROUNDS
    blocks = 1 if quick else BLOCKS
    out(f"threads: tinydl automatic (its default, tinydl.threads), torch "
        f"{torch.get_num_threads()} (its default); rounds per phase: at least {minimum}, up to "
        f"{MAX_ROUNDS} for workloads that fill {PHASE_SECONDS} s of calls (column 'rounds'), in "
        f"{blocks} quiet and {blocks} loaded blocks, alternating; 'load': the highest 1-minute "
        f"load average read after a block")
    header = (f"{'workload':34s} {'phase':6s} {'tinydl med':>10s} {'worst':>8s} {'spread':>6s} "
              f"{'torch med':>10s} {'worst':>8s} {'spread':>6s} {'ratio':>6s} {'load':>5s} "
              f"{'rounds':>6s}")
    out(header)
    out("-" * len(header))
    rows = []
    for name, ours, theirs in workloads(torch, quick):
        rounds = rounds_for(ours, theirs, minimum)
        phases = {"quiet": ([], [], []), "loaded": ([], [], [])}  # tinydl, torch, loads
        for block in blocks_of(rounds, blocks):
            for phase, (mine, base, loads) in phases.items():
                with (busy_loops(2) if phase == "loaded" else contextlib.nullcontext()):
                    rounds_of(ours, theirs, 1)  # untimed: who runs first after a switch pays
                    times = rounds_of(ours, theirs, block)
                    loads.append(load_average())
                mine.extend(times[0])
                base.extend(times[1])
                if phase == "loaded":
                    time.sleep(QUIET_PAUSE)
        for phase, (mine, base, loads) in phases.items():
            load = max(loads)
            a, b = _stats(mine), _stats(base)
            rows.append({"workload": name, "phase": phase, "tinydl": mine, "torch": base,
                         "ratio": a[0] / b[0], "load": load, "rounds": rounds})
            out(f"{name[:34]:34s} {phase:6s} {a[0] * 1e3:8.1f}ms {a[1] * 1e3:6.1f}ms "
                f"{a[2]:6.2f} {b[0] * 1e3:8.1f}ms {b[1] * 1e3:6.1f}ms {b[2]:6.2f} "
                f"{a[0] / b[0]:6.2f} {load:5.1f} {rounds:6d}")
    out(blas_line())  # after the runs: SciPy's OpenBLAS loads with the Winograd kernels
    return rows
