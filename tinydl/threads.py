"""How many threads tinydl's compute runs on: ``set_num_threads`` / ``get_num_threads`` (torch's
names), and the default applied when tinydl is imported.

tinydl's heavy work is BLAS (NumPy's matmul under every Linear layer and convolution) and a
few Numba kernels, which are serial. The BLAS pool (OpenBLAS in NumPy's wheels) starts with
one thread per core. ``set_num_threads(n)`` sets the BLAS pools of the process through
``threadpoolctl`` (which finds OpenBLAS, MKL or BLIS wherever they were loaded from), and
Numba's pool when the user's own ``parallel=True`` code has started it.

The default comes from measurement (``benchmarks/bench_threads.py``, 2 cores, alternating
rounds, wall-clock medians), median of 1 thread / median of 2 threads:

    =========================== ============== ============== ===================
    workload                    load avg 2     + 2 busy procs  shared, load 16-24
    =========================== ============== ============== ===================
    quickstart CNN, one epoch   210/203 ms     404/405 ms     707/819 ms
    MLP 784-256-128-10, 6k      199/155 ms     394/744 ms     908/8542 ms
    five 1024^3 GEMMs           160/84 ms      472/459 ms     888/1069 ms
    =========================== ============== ============== ===================

On a busy machine two threads cost up to 9x (a BLAS call waits for its slowest worker,
and a busy machine deschedules workers); on a quiet one they gain 1.3x on the MLP and 1.9x
on large GEMMs. Neither fixed count is within 10% of the best everywhere; one thread loses
least where losses are large, so ``import tinydl`` sets the BLAS pool to
``DEFAULT_THREADS`` (1) **only if the user chose nothing**: none of ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` is set (the libraries
read them when they load) and ``set_num_threads`` was not called; ``TINYDL_NUM_THREADS=n``
picks n instead. ``threadpoolctl``'s own context managers keep working on top. On a machine
of your own, call ``tinydl.set_num_threads(os.cpu_count())`` for large layers.

Switching the pool's size is a call into the library, 2-17 us measured here (150 us through
``threadpoolctl.ThreadpoolController.limit``, 1.4 ms through ``threadpool_limits``, which
re-inspects the loaded libraries). A per-call policy (all cores for large GEMMs when the
machine is otherwise idle) would be cheap enough but needs a hook in the matmul op; there
is none yet. Importing threadpoolctl and inspecting the libraries adds about 12 ms to
``import tinydl`` (about 2%).
"""
import os
import sys

# The variables through which the user (or a launcher such as mpiexec) chose a thread count.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "BLIS_NUM_THREADS")
DEFAULT_THREADS = 1

_controller = None
_chosen = None  # the count of the last set_num_threads, or of the applied default


def _blas():
    """The threadpoolctl controller of the BLAS libraries loaded in this process (made once:
    it inspects every loaded shared library, a few ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def set_num_threads(n):
    """Use ``n`` threads (an int >= 1) for BLAS (NumPy's matmul, hence tinydl's Linear and
    convolution layers) and Numba, for the rest of the process, as ``torch.set_num_threads``
    does for torch's pool. Raises TypeError / ValueError naming the bad value."""
    global _chosen
    if isinstance(n, bool) or not isinstance(n, int):
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - NumPy is a dependency
            np = None
        if np is None or not isinstance(n, np.integer):
            raise TypeError(f"tinydl.set_num_threads: n must be an int, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"tinydl.set_num_threads: n must be >= 1, got {n}")
    for lib in _blas().lib_controllers:
        lib.set_num_threads(n)
    if "numba" in sys.modules:
        # Only a pool that is running: starting Numba's threading layer just to size it
        # would load a library and spawn threads that tinydl's serial kernels never use.
        from numba.np.ufunc import parallel

        if parallel._is_initialized:
            parallel.set_num_threads(min(n, parallel.NUM_THREADS))
    _chosen = n


def get_num_threads():
    """The number of threads BLAS runs on now (the largest over the loaded BLAS libraries;
    1 when none is loaded)."""
    counts = [lib.get_num_threads() for lib in _blas().lib_controllers]
    counts = [c for c in counts if c is not None]
    return max(counts) if counts else 1


def user_chose():
    """True when the environment already fixes a thread count (one of ``THREAD_ENV_VARS``,
    or ``TINYDL_NUM_THREADS``), in which case the import-time default is not applied."""
    return any(os.environ.get(name) for name in THREAD_ENV_VARS + ("TINYDL_NUM_THREADS",))


def apply_default():
    """Called by ``import tinydl``: set ``TINYDL_NUM_THREADS`` threads when that variable is
    set, else ``DEFAULT_THREADS`` unless a library variable is set or ``set_num_threads``
    was already called. Returns the count set, or None when it left things alone."""
    requested = os.environ.get("TINYDL_NUM_THREADS")
    if requested:
        try:
            count = int(requested)
        except ValueError:
            raise ValueError(f"tinydl: TINYDL_NUM_THREADS must be a positive int, got "
                             f"{requested!r}") from None
        set_num_threads(count)
        return count
    if _chosen is not None or user_chose():
        return None
    set_num_threads(DEFAULT_THREADS)
    return DEFAULT_THREADS
