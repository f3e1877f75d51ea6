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


SETTLE_SECONDS = 0.01  # of untimed calls after each switch of library (see settle)


def settle(fn, warmup=1, seconds=SETTLE_SECONDS):
    """Call ``fn`` untimed ``warmup`` times, and on until ``seconds`` have passed: after the
    other library's calls its worker threads spin for some milliseconds before they sleep
    (torch's OpenMP pool, OpenBLAS's), and on 2 cores a spinning worker holds one. Measured
    (a 2-core AMD EPYC Zen 5 VM, conv (32,3,32,32)->32 forward + backward, medians of 15
    rounds): tinydl timed right after torch's calls 3.1-3.2 ms, after its own 2.1; after one
    untimed call 2.35 (torch after tinydl: 2.13), after 10 ms of them 1.68 (torch 2.02), after
    20 ms 1.64 (2.01). Calls longer than ``seconds`` get just the ``warmup`` ones."""
    start = time.perf_counter()
    for _ in range(warmup):
        fn()
    while time.perf_counter() - start < seconds:
        fn()


def paired_times(ours, theirs, repeat=3, rounds=3, warmup=1, clock=time.perf_counter):
    """Median seconds of one call of ``ours`` and of ``theirs``, timed in alternating blocks.

    Each of ``rounds`` rounds runs ``warmup`` untimed calls and ``repeat`` timed calls of
    ``ours``, then the same of ``theirs``; the medians are over all timed calls. On a shared
    machine whose load drifts, one block each (``median_time`` twice) can put a quiet minute
    on one side and a busy one on the other; alternating spreads the drift over both. The
    untimed calls after each switch (``warmup`` of them, and more until ``SETTLE_SECONDS``
    have passed: ``settle``) let the other library's spinning worker threads (NumPy's
    OpenBLAS, torch's OpenMP) go idle before timing starts. ``clock=time.process_time``
    times CPU seconds instead, for single-threaded work on a machine shared with other jobs.
    """
    times = ([], [])
    for _ in range(rounds):
        for fn, out in zip((ours, theirs), times):
            settle(fn, warmup)
            for _ in range(repeat):
                start = clock()
                fn()
                out.append(clock() - start)
    return float(np.median(times[0])), float(np.median(times[1]))


def epoch_runner(model, optimizer, cross_entropy, x_all, y_all, batch, to_input=None):
    """Return a function that runs one training epoch of ``model`` over ``x_all`` in order.

    Each step slices ``batch`` rows of ``x_all`` and ``y_all``, computes
    ``cross_entropy(model(to_input(x)), y)``, then zero_grad / backward / step; the same code
    serves tinydl and torch, whose modules and optimizers share that interface. ``to_input``
    (identity when None) wraps a slice for the model: ``tinydl.from_numpy`` for NumPy data,
    a view as torch's slice of ``torch.from_numpy`` is (``tinydl.Tensor`` would copy each batch,
    50 us of the MLP's 2 ms step, work the torch side does not do).
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


def row(figure, tinydl, baseline, baseline_name, unit="s", goal=None, note="", **details):
    """One result row; ``ratio`` is tinydl / baseline (lower is better for times). ``details``
    are further JSON-ready values kept in the results file under their own names (every
    round's figure, say, for a reader who asks what a median or a mean hid); the table does
    not print them."""
    result = {
        "figure": figure,
        "tinydl": float(tinydl),
        "baseline": float(baseline),
        "baseline_name": baseline_name,
        "unit": unit,
        "ratio": float(tinydl) / float(baseline) if baseline else float("nan"),
        "goal": goal,
        "note": note,
    }
    result.update(details)
    return result


class busy_loops:
    """Context manager: ``count`` busy-loop processes (pure Python ``while True``), process i
    pinned to core ``i % cores``, started on entry and killed (by pid) on exit, also on an
    exception. Simulates the other jobs of a shared machine for the ``--under-load`` runs."""

    def __init__(self, count=2):
        self.count = count
        self.processes = []

    def __enter__(self):
        import subprocess
        import sys

        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        for i in range(self.count):
            pin = (f"import os; os.sched_setaffinity(0, {{{cores[i % len(cores)]}}}); "
                   if cores else "")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-c", pin + "\nwhile True:\n    pass"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        time.sleep(0.2)  # let them start spinning before anything is timed
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        self.processes = []
        return False


def blas_line():
    """One line naming the BLAS libraries loaded and the kernels they run, for the reader of a
    table: OpenBLAS picks its kernels by the processor unless ``OPENBLAS_CORETYPE`` forces a
    set (a machine may set it: older builds failed on some processors), and a forced older set
    can halve the GEMM speed that every figure here rests on (a 2-core AMD EPYC Zen 5 VM:
    1024^3 sgemm on 2 threads 250 GFLOP/s forced to Haswell's AVX2 kernels, 436 on the
    SkylakeX kernels that OpenBLAS picks there itself)."""
    from threadpoolctl import threadpool_info

    names = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        owner = "scipy" if "scipy.libs" in lib.get("filepath", "") else (
            "numpy" if "numpy.libs" in lib.get("filepath", "") else lib.get("prefix", "?"))
        names.append(f"{owner}: {lib.get('internal_api')} {lib.get('version')} "
                     f"{lib.get('architecture') or ''}".rstrip())
    forced = [f"{var}={os.environ[var]}" for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
              if var in os.environ]
    return "BLAS " + "; ".join(names or ["none found"]) + (
        f" (forced: {', '.join(forced)})" if forced else "")


def load_average():
    """The 1-minute load average (``os.getloadavg``), or NaN where it is unavailable."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")
