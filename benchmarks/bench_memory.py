"""Peak memory of one training step: the MLP and LeNet-5 of the other benchmarks, and conv B.

Each figure is measured in a fresh Python process, so nothing allocated by an earlier figure
(or by the other library) is counted. The process builds the model and the batch, runs two
warm-up steps on a batch of two (they load and compile what loads lazily), resets its
peak resident set size (RSS) to the current one (Linux's ``/proc/self/clear_refs``), runs one
step (forward, loss, backward, optimizer step; conv B is conv2d forward + backward) and
reports how far the peak RSS rose. The same code runs the torch baseline. For tinydl it also
reports ``tracemalloc``'s peak over the step (NumPy reports its array allocations to
tracemalloc), which is exact and free of allocator noise; RSS is what the two libraries can
be compared by.

``python -m benchmarks.bench_memory --tree PATH`` measures another checkout of tinydl (its
root folder) beside this one, e.g. the previous commit in a ``git worktree``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from benchmarks._harness import row, try_torch

# The worker runs with its working directory at the root of the tinydl checkout to measure,
# so ``import tinydl`` picks that checkout. It needs nothing from this repository.
_WORKER = r'''
import json, os, sys, tracemalloc
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
workload, library = sys.argv[1], sys.argv[2]

def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

def reset_peak():
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

rng = np.random.default_rng(0)
if library == "torch":
    import torch
    torch.set_num_threads(1)
    nn, F, wrap = torch.nn, torch.nn.functional, torch.from_numpy
    torch.manual_seed(0)
else:
    import tinydl
    nn, F, wrap = tinydl.nn, tinydl.nn.functional, tinydl.Tensor
    tinydl.manual_seed(0)

if workload == "conv_b":
    def make_step(n):
        x = wrap(rng.standard_normal((n, 32, 32, 32)).astype(np.float32))
        w = wrap(rng.standard_normal((64, 32, 3, 3)).astype(np.float32) * 0.05)
        g = wrap(rng.standard_normal((n, 64, 32, 32)).astype(np.float32))
        x.requires_grad_(True)
        w.requires_grad_(True)
        return lambda: F.conv2d(x, w, padding=1).backward(g)
    warmup, step = make_step(1), make_step(32)
else:
    if workload == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        images = rng.standard_normal((128, 784)).astype(np.float32)
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
            nn.ReLU(), nn.Linear(84, 10))
        images = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, len(images)).astype(np.int64)
    if library == "torch":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        labels_in = torch.from_numpy(labels)
    else:
        opt = tinydl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        labels_in = labels
    def make_step(n):
        x, y = wrap(images[:n].copy()), labels_in[:n]
        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step
    warmup, step = make_step(2), make_step(len(images))

# Two steps on a tiny batch first: they load what loads lazily (and compile what compiles),
# so the mark below holds the libraries and the measured growth is the step's own memory.
# Two, because an optimizer's second step can take another path than its first (SGD's
# momentum update runs a Numba kernel once its buffer exists).
warmup()
warmup()
reset_peak()
base = status_mb("VmRSS")
if library == "torch":
    step()
    traced = None
else:
    tracemalloc.start()
    step()
    traced = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
print(json.dumps({"rss_mb": status_mb("VmHWM") - base, "traced_mb": traced}))
'''

WORKLOADS = {
    "mlp": "MLP 784-256-128-10 step, batch 128",
    "lenet": "LeNet-5 step, batch 64",
    "conv_b": "conv B (32,32,32,32)->64 k3 fwd+bwd",
}


def measure(workload, library, tree=None):
    """Peak memory of one step in a fresh process: {'rss_mb', 'traced_mb'} (MiB)."""
    tree = tree or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(_WORKER)
    try:
        env = dict(os.environ, PYTHONPATH=tree)
        done = subprocess.run([sys.executable, script.name, workload, library], cwd=tree, env=env,
                              capture_output=True, text=True, check=True)
    finally:
        os.remove(script.name)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick=False):
    """One row per workload: tinydl's peak RSS growth over one step against torch's."""
    torch = try_torch()
    rows = []
    for name, figure in WORKLOADS.items():
        ours = measure(name, "tinydl")
        note = f"tinydl tracemalloc peak {ours['traced_mb']:.1f} MiB"
        if torch is None:
            rows.append(row(f"peak memory, {figure} (no torch: self-baseline)", ours["rss_mb"],
                            ours["rss_mb"], "self", unit="MiB", note=note))
            continue
        theirs = measure(name, "torch")
        rows.append(row(f"peak memory, {figure}", ours["rss_mb"], theirs["rss_mb"], "torch",
                        unit="MiB", note=note))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", help="root of another tinydl checkout to measure beside this one")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args(argv)
    trees = [("this", None)] + ([("other", os.path.abspath(args.tree))] if args.tree else [])
    libraries = [(label, "tinydl", tree) for label, tree in trees]
    if try_torch() is not None:
        libraries.append(("torch", "torch", None))
    print(f"{'figure':40s}" + "".join(f"{label + ' rss':>12s}" for label, _, _ in libraries)
          + "".join(f"{label + ' traced':>14s}" for label, lib, _ in libraries if lib == "tinydl"))
    for name, figure in WORKLOADS.items():
        results = {label: [measure(name, lib, tree) for _ in range(args.rounds)]
                   for label, lib, tree in libraries}
        rss = "".join(f"{min(r['rss_mb'] for r in results[label]):12.1f}"
                      for label, _, _ in libraries)
        traced = "".join(f"{min(r['traced_mb'] for r in results[label]):14.1f}"
                         for label, lib, _ in libraries if lib == "tinydl")
        print(f"{figure[:40]:40s}{rss}{traced}")


if __name__ == "__main__":
    main()
