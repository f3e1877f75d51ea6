"""LinearSVC's dual coordinate descent: the Numba kernel (``tinydl.kernels.svm``) against the
Python loop it replaces, on 10,000 x 100 float64 data (plus the intercept column).

Two problems: C = 1 (hinge loss, tol 1e-4; on this noisy data it runs the full 1000-pass
budget, most passes over the few hundred coordinates shrinking leaves active) and C = 0.01
(converges). ``tinydl`` is the kernel's time, ``baseline`` the Python twin's (the tested
reference, same passes and same solution); the note also gives the Python loop of
``tinydl.ml.linear`` before the kernel (NumPy's ``rng.permutation`` per pass), and the
largest difference in w between kernel and twin. Goal: ratio <= 1/30. CPU seconds, the
median of three alternating rounds each.

Both solvers are serial, so the benchmark runs with one BLAS thread (tinydl's default;
``python -m benchmarks`` otherwise gives BLAS every core): with two, the BLAS worker that
the driver's ``X @ w`` wakes spins for a while afterwards, and ``process_time`` (which
counts every thread of the process) charged that spinning to the kernel, 30-40 ms of CPU
against its 20-50 ms of work.
"""
import time
import warnings

import numpy as np

from benchmarks._harness import load_average, row


def problem(n=10000, d=100, seed=0):
    """Noisy linearly generated labels; X with a constant column for the intercept."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    return np.hstack([X, np.ones((n, 1))]), y


def _cpu(fn):
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def run(quick=False):
    """One row per C: kernel vs Python twin CPU seconds, the median of three alternating
    rounds (kernel, twin, kernel, ...; quick: one round on 2,000 samples). A single run of
    the kernel (tens of ms) moved by 2x with other work on the machine."""
    from threadpoolctl import ThreadpoolController

    from tinydl.ml import linear
    from tinydl.ml.svm import dual_coordinate_descent

    X, y = problem(n=2000 if quick else 10000)
    rows = []
    with warnings.catch_warnings(), ThreadpoolController().limit(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")  # C = 1 stops at max_iter by design
        dual_coordinate_descent(X[:20], y[:20], 1.0, "hinge", 1e-4, 2,
                                np.random.default_rng(0), "bench")  # compile or load once
        for C in (1.0, 0.01):
            args = (X, y, C, "hinge", 1e-4, 1000)
            fast_times, twin_times = [], []
            for _ in range(1 if quick else 3):
                t_fast, fast = _cpu(lambda: dual_coordinate_descent(
                    *args, np.random.default_rng(0), "bench", use_numba=True))
                t_twin, twin = _cpu(lambda: dual_coordinate_descent(
                    *args, np.random.default_rng(0), "bench", use_numba=False))
                fast_times.append(t_fast)
                twin_times.append(t_twin)
            t_fast, t_twin = float(np.median(fast_times)), float(np.median(twin_times))
            old = getattr(linear, "_dual_coordinate_descent", None)
            before = ""
            if old is not None and old is not dual_coordinate_descent:
                t_old, _ = _cpu(lambda: old(*args, np.random.default_rng(0), "bench"))
                before = f"; the loop before the kernel {t_old:.2f} s ({t_old / t_fast:.0f}x)"
            rows.append(row(f"LinearSVC dual CD {X.shape[0]}x{X.shape[1] - 1}, C={C:g}, "
                            f"{fast['passes']} passes", t_fast, t_twin, "twin", goal=1 / 30,
                            note=f"kernel {t_fast:.3f} s ({min(fast_times):.3f}-"
                                 f"{max(fast_times):.3f}), Python twin {t_twin:.2f} s "
                                 f"({min(twin_times):.2f}-{max(twin_times):.2f}); "
                                 f"{t_twin / t_fast:.0f}x{before}; max |w - w_twin| "
                                 f"{np.abs(fast['w'] - twin['w']).max():.1e}; load avg "
                                 f"{load_average():.1f}"))
    return rows
