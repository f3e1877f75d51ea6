"""One training epoch of an MLP 784-256-128-10 (ReLU, cross-entropy, SGD momentum) on 60,000
synthetic float32 samples, batch 128, against PyTorch CPU in the same run.

The note gives samples/s and the fraction of this machine's float32 GEMM rate (measured in
the same run) that the epoch's 3 x 2 x (784*256 + 256*128 + 128*10) flops per sample reach.
"""
import numpy as np

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from benchmarks._harness import epoch_runner, median_time, paired_times, row, try_torch
from benchmarks.bench_conv import gemm_gflops
from tinydl.optim import SGD

BATCH = 128
SIZES = (784, 256, 128, 10)


def _data(n):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 784)).astype(np.float32), rng.integers(0, 10, n).astype(np.int64)


def tinydl_epoch(features, labels):
    """A function running one tinydl training epoch."""
    tinydl.manual_seed(0)
    model = nn.MLP(SIZES)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    return epoch_runner(model, opt, F.cross_entropy, features, labels, BATCH,
                        to_input=tinydl.from_numpy)


def torch_epoch(torch, features, labels):
    """A function running one torch training epoch (the baseline)."""
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return epoch_runner(model, opt, torch.nn.functional.cross_entropy,
                        torch.from_numpy(features), torch.from_numpy(labels), BATCH)


def run(quick=False):
    """One row: median epoch time, tinydl vs torch, in alternating rounds (quick: 12,000
    samples, one round)."""
    n = 12000 if quick else 60000
    rounds = 1 if quick else 5  # five, as bench_lenet: single epochs vary by up to 30% here
    features, labels = _data(n)
    peak = gemm_gflops(repeat=3)
    flops = 3 * 2 * n * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))
    torch = try_torch()
    if torch is None:
        ours = median_time(tinydl_epoch(features, labels), repeat=rounds)
        return [row(f"MLP epoch, {n} samples (no torch: self-baseline)", ours, ours, "self",
                    goal=1.2)]
    ours, theirs = paired_times(tinydl_epoch(features, labels),
                                torch_epoch(torch, features, labels), repeat=1, rounds=rounds)
    note = (f"tinydl {n / ours:.0f} samples/s ({flops / ours / 1e9 / peak:.0%} of GEMM peak), "
            f"torch {n / theirs:.0f} samples/s ({flops / theirs / 1e9 / peak:.0%}); "
            f"float32 GEMM {peak:.0f} GFLOP/s")
    return [row(f"MLP 784-256-128-10 train epoch, {n} samples, batch {BATCH}", ours, theirs,
                "torch", goal=1.0, note=note)]
