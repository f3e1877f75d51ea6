"""One training epoch of LeNet-5 on 10,000 synthetic 1x28x28 images, batch 64, SGD momentum.

LeNet-5 as in the issue: conv 1->6 k5, ReLU, max-pool 2, conv 6->16 k5, ReLU, max-pool 2,
256 -> 120 -> 84 -> 10 with ReLU, softmax cross-entropy; ``tinydl.optim.SGD(lr=0.01,
momentum=0.9)``. The baseline is the same model, data and optimizer in PyTorch CPU, timed in
the same run (when torch is missing, the row compares with itself and says so).
"""
import numpy as np

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from benchmarks._harness import epoch_runner, median_time, paired_times, row, try_torch
from tinydl.optim import SGD

BATCH = 64


def lenet(mod):
    """LeNet-5 built from a torch-like ``nn`` namespace (tinydl.nn or torch.nn)."""
    return mod.Sequential(
        mod.Conv2d(1, 6, 5), mod.ReLU(), mod.MaxPool2d(2),
        mod.Conv2d(6, 16, 5), mod.ReLU(), mod.MaxPool2d(2), mod.Flatten(),
        mod.Linear(256, 120), mod.ReLU(), mod.Linear(120, 84), mod.ReLU(), mod.Linear(84, 10))


def _data(n):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 1, 28, 28)).astype(np.float32),
            rng.integers(0, 10, n).astype(np.int64))


def tinydl_epoch(images, labels):
    """A function running one tinydl training epoch over ``images``."""
    tinydl.manual_seed(0)
    model = lenet(nn)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    return epoch_runner(model, opt, F.cross_entropy, images, labels, BATCH,
                        to_input=tinydl.from_numpy)


def torch_epoch(torch, images, labels):
    """A function running one torch training epoch over ``images`` (the baseline)."""
    torch.manual_seed(0)
    model = lenet(torch.nn)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return epoch_runner(model, opt, torch.nn.functional.cross_entropy, torch.from_numpy(images),
                        torch.from_numpy(labels), BATCH)


def run(quick=False):
    """One row: median epoch time, tinydl vs torch, in alternating rounds (quick: 2,000
    images, one round). Nine rounds: on this shared machine single epochs of either library
    varied by up to 30% between neighbouring rounds; a median of three moved the ratio from
    0.81 to 1.23 between two runs minutes apart, and with five the ratio still read 0.82,
    0.93 and 1.04 in three runs within 15 minutes (December 2026)."""
    n = 2000 if quick else 10000
    rounds = 1 if quick else 9
    images, labels = _data(n)
    torch = try_torch()
    if torch is None:
        ours = median_time(tinydl_epoch(images, labels), repeat=rounds)
        return [row(f"LeNet-5 epoch, {n} images, batch {BATCH} (no torch: self-baseline)", ours,
                    ours, "self", goal=1.5)]
    ours, theirs = paired_times(tinydl_epoch(images, labels), torch_epoch(torch, images, labels),
                                repeat=1, rounds=rounds)
    return [row(f"LeNet-5 train epoch, {n} 1x28x28 images, batch {BATCH}", ours, theirs, "torch",
                goal=1.0, note=f"tinydl {n / ours:.0f} img/s, torch {n / theirs:.0f} img/s")]
