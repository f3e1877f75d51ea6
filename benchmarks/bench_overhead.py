"""Per-op overhead: a 1,000-op elementwise chain on a shape-(4,) tensor, forward and backward.

At this size the arithmetic is free, so the time is the framework's bookkeeping per op: the
Python call, building the graph node, and visiting it in backward. Reported in seconds per
op (the table shows microseconds); baselines are PyTorch CPU (when installed) and bare
NumPy doing the same arithmetic with no graph. The work is single-threaded, so it is timed
in CPU seconds (``process_time``), in rounds alternating with the baseline: on a shared
machine wall-clock medians of this chain varied threefold between runs of one tree.
"""
import time

import numpy as np

import tinydl
from benchmarks._harness import paired_times, row, try_torch

N_OPS = 1000


def _chain(y, w):
    # 4 ops per round: multiply by a tensor, tanh, add a scalar, sin.
    for _ in range(N_OPS // 4):
        y = (y * w).tanh()
        y = (y + 0.5).sin()
    return y


def _numpy_chain(y, w):
    for _ in range(N_OPS // 4):
        y = np.tanh(y * w)
        y = np.sin(y + 0.5)
    return y


def run(quick=False):
    repeat = 5 if quick else 15
    x0 = np.linspace(0.1, 0.4, 4).astype(np.float32)
    w0 = np.full(4, 0.9, dtype=np.float32)

    x = tinydl.Tensor(x0, requires_grad=True)
    w = tinydl.Tensor(w0)

    def td_forward():
        return _chain(x, w)

    def td_both():
        x.grad = None
        _chain(x, w).sum().backward()

    cpu = dict(repeat=repeat, rounds=3, clock=time.process_time)
    rows = []
    torch = try_torch()
    if torch is not None:
        tx = torch.tensor(x0, requires_grad=True)
        tw = torch.tensor(w0)

        def t_both():
            tx.grad = None
            _chain(tx, tw).sum().backward()

        fwd, t_fwd = paired_times(td_forward, lambda: _chain(tx, tw), **cpu)
        both, t_both_time = paired_times(td_both, t_both, **cpu)
        rows.append(row("per-op forward (1,000-op chain, shape (4,))", fwd / N_OPS,
                        t_fwd / N_OPS, "torch"))
        rows.append(row("per-op backward", (both - fwd) / N_OPS,
                        (t_both_time - t_fwd) / N_OPS, "torch"))
        rows.append(row("per-op forward+backward", both / N_OPS, t_both_time / N_OPS, "torch",
                        goal=2.0))
    fwd, np_time = paired_times(td_forward, lambda: _numpy_chain(x0, w0), **cpu)
    rows.append(row("per-op forward vs bare NumPy arithmetic", fwd / N_OPS, np_time / N_OPS,
                    "numpy"))
    return rows
