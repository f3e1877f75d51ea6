"""Launching ``mpiexec -n K python -m mpi4py SCRIPT ...`` from tests, with a timeout."""
import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mpiexec():
    """The mpiexec beside this Python (the mpich wheel's), else the one on PATH; or skip."""
    pytest.importorskip("mpi4py", reason='the distributed tests need pip install "tinydl[mpi]"')
    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec found (install the mpich wheel: pip install \"tinydl[mpi]\")")
    return found


def launch(ranks, script, *args, timeout=150, env=None):
    """Run ``script`` on ``ranks`` MPI processes; returns (CompletedProcess, seconds).

    One BLAS thread per rank; when there are more ranks than cores, MPICH's waiting ranks
    yield the CPU (``MPIR_CVAR_ENABLE_HEAVY_YIELD``) instead of busy-polling it away from the
    ranks that compute. A run past ``timeout`` is killed and fails the test (never a hang).
    """
    full_env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                    PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if ranks > (os.cpu_count() or 1):
        full_env.setdefault("MPIR_CVAR_ENABLE_HEAVY_YIELD", "1")
    full_env.update(env or {})
    command = [mpiexec(), "-n", str(ranks), sys.executable, "-m", "mpi4py", str(script),
               *map(str, args)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(command)} did not finish in {timeout} s (a hang?); output:\n"
                    f"{expired.stdout}\n{expired.stderr}")
    return done, time.perf_counter() - start


def blas_threads_restored():
    """A context that gives the BLAS pool back its size on exit (init_process_group shrinks it
    to one thread, which would change the numerics of tests that run later in this process)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=None)
