"""malloc thresholds (``tinydl.allocator``): a LeNet-5 training step in a fresh process,
tinydl's thresholds against glibc's defaults (``TINYDL_MALLOC=system``).

Each side is a new process that trains ``bench_lenet``'s LeNet-5 on one batch of 64 images
(one BLAS thread, SGD momentum) for ``WARMUP`` untimed and ``STEPS`` timed steps, with no
dataset in memory: such a process has never freed a large array, so glibc's dynamic
thresholds stay low and every step faults its arrays' pages in again. The figure is the
median over alternating rounds of each process's mean step time; the note gives the page
faults a step (``ru_minflt``) of each side. Where glibc is not the C library both sides run
the same allocator and the ratio is about 1.
"""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

from benchmarks._harness import load_average, row
from tinydl.allocator import USER_VARIABLES

ROOT = pathlib.Path(__file__).resolve().parent.parent
WARMUP, STEPS, ROUNDS = 10, 100, 3

_WORKER = f"""
import json, resource, time
import numpy as np
import tinydl, tinydl.nn as nn, tinydl.nn.functional as F
from benchmarks.bench_lenet import lenet
from tinydl.optim import SGD
tinydl.manual_seed(0)
model = lenet(nn)
opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
rng = np.random.default_rng(0)
x = tinydl.from_numpy(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
y = tinydl.from_numpy(rng.integers(0, 10, 64))
def step():
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
for _ in range({WARMUP}):
    step()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
start = time.perf_counter()
for _ in range({STEPS}):
    step()
seconds = (time.perf_counter() - start) / {STEPS}
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / {STEPS}
print(json.dumps({{"step": seconds, "faults": faults, "tuned": tinydl.allocator.tuned}}))
"""


def measure(malloc):
    """One fresh process with ``TINYDL_MALLOC=malloc``: {'step' (s), 'faults', 'tuned'}."""
    # Without the variables through which a user chooses the thresholds (tinydl.allocator),
    # as the tests' probes run.
    env = {k: v for k, v in os.environ.items() if k not in USER_VARIABLES + ("GLIBC_TUNABLES",)}
    env.update(TINYDL_MALLOC=malloc, TINYDL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _WORKER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"bench_allocator: the worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick=False):
    """One row: the step time with tinydl's thresholds against glibc's defaults."""
    tuned, system = [], []
    for _ in range(1 if quick else ROUNDS):
        tuned.append(measure("tuned"))
        system.append(measure("system"))
    ours = float(np.median([r["step"] for r in tuned]))
    theirs = float(np.median([r["step"] for r in system]))
    faults = lambda runs: float(np.median([r["faults"] for r in runs]))  # noqa: E731
    return [row("LeNet-5 step, batch 64, fresh process, malloc thresholds", ours, theirs,
                "glibc", goal=1.0,
                note=(f"page faults a step {faults(tuned):.0f} against {faults(system):.0f}; "
                      f"thresholds set: {tuned[0]['tuned']}; one BLAS thread; median of "
                      f"{len(tuned)} alternating rounds of {STEPS} steps; load "
                      f"{load_average():.2f}"))]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['figure']}: {r['tinydl'] * 1e3:.2f} ms vs {r['baseline'] * 1e3:.2f} ms\n"
              f"    {r['note']}")
