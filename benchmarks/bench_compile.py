"""First-run cost of the Numba kernels: the cold compile of all of them, and a cold quickstart.

Each figure runs a fresh Python process with an empty ``NUMBA_CACHE_DIR`` (a temporary
folder), then the same command again on the now warm cache:
- ``python -m tinydl.kernels --precompile``: every kernel the ops use; CPU seconds of the
  child, the median of three cold compiles (the goal is 8 s; a loaded machine inflates CPU
  time less than wall time);
- ``examples/quickstart.py`` (``--fast`` when quick): wall seconds, cold against warm (the
  goal: cold under 20 s on an idle machine). The note gives the load average.
"""
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._harness import load_average, row

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _child(command, cache_dir):
    """(wall seconds, child CPU seconds) of ``command`` run with NUMBA_CACHE_DIR=cache_dir."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), OPENBLAS_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(quick=False):
    """Two rows: cold precompile CPU seconds (against the 8 s goal; the median of three cold
    compiles, each into its own empty cache, one when quick) and cold quickstart wall seconds
    (against its warm run). One cold compile's CPU seconds moved by a quarter between runs
    minutes apart on this shared machine (7.1, 7.6 and 10.6 s), as the epoch figures do."""
    rows = []
    command = [sys.executable, "-m", "tinydl.kernels", "--precompile"]
    colds, warms = [], []
    for _ in range(1 if quick else 3):
        with tempfile.TemporaryDirectory() as cache:
            colds.append(_child(command, cache))
            warms.append(_child(command, cache))
    cold_cpu = float(np.median([cpu for _, cpu in colds]))
    rows.append(row("cold compile of all Numba kernels (CPU s; goal 8 s)", cold_cpu, 8.0,
                    "goal", goal=1.0,
                    note=f"median of {len(colds)} cold compiles: "
                         + ", ".join(f"{cpu:.1f}" for _, cpu in colds)
                         + f" s CPU ({', '.join(f'{wall:.1f}' for wall, _ in colds)} s wall); "
                         f"warm {np.median([cpu for _, cpu in warms]):.1f} s CPU (process start "
                         f"included); load avg {load_average():.1f}"))
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--out", out]
        if quick:
            command.append("--fast")
        cold_wall, cold_cpu = _child(command, cache)
        warm_wall, warm_cpu = _child(command, cache)
        rows.append(row(f"quickstart{' --fast' if quick else ''}, cold Numba cache (wall s)",
                        cold_wall, warm_wall, "warm", goal=None,
                        note=f"cold {cold_wall:.1f} s wall / {cold_cpu:.1f} s CPU, warm "
                             f"{warm_wall:.1f} s / {warm_cpu:.1f} s CPU (goal: cold < 20 s "
                             f"wall idle); load avg {load_average():.1f}"))
    return rows
