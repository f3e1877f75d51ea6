"""Timing helpers shared by the benchmarks: thread pinning, medians, the optional torch baseline."""
import os
import time

import numpy as np

N_THREADS = os.cpu_count() or 1


def pin_threads():
    """Give torch as many threads as this machine has cores (BLAS and Numba are pinned through
    environment variables by ``benchmarks/__main__.py`` before NumPy loads)."""
    torch = try_torch()
    if torch is not None:
        torch.set_num_threads(N_THREADS)


def try_torch():
    """Return the torch module when it is installed, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def median_time(fn, repeat=7, number=1, warmup=1):
    """Median wall-clock seconds of one call of ``fn`` over ``repeat`` batches of ``number`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return float(np.median(times))


def epoch_runner(model, optimizer, cross_entropy, x_all, y_all, batch, to_input=None):
    """Return a function that runs one training epoch of ``model`` over ``x_all`` in order.

    Each step slices ``batch`` rows of ``x_all`` and ``y_all``, computes
    ``cross_entropy(model(to_input(x)), y)``, then zero_grad / backward / step; the same code
    serves tinydl and torch, whose modules and optimizers share that interface. ``to_input``
    (identity when None) wraps a slice for the model, e.g. ``tinydl.Tensor`` for NumPy data.
    The epoch function returns the last batch's loss.
    """
    def epoch():
        for start in range(0, len(x_all), batch):
            x = x_all[start:start + batch]
            loss = cross_entropy(model(x if to_input is None else to_input(x)),
                                 y_all[start:start + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss

    return epoch


def row(figure, tinydl, baseline, baseline_name, unit="s", goal=None, note=""):
    """One result row; ``ratio`` is tinydl / baseline (lower is better for times)."""
    return {
        "figure": figure,
        "tinydl": float(tinydl),
        "baseline": float(baseline),
        "baseline_name": baseline_name,
        "unit": unit,
        "ratio": float(tinydl) / float(baseline) if baseline else float("nan"),
        "goal": goal,
        "note": note,
    }
