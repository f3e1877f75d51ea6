"""One optimizer step over a 1M-parameter model (20 float32 tensors of 50,000), vs torch.optim.

Measures ``step()`` alone (gradients are fixed, state already initialised) for Adam and for
SGD with momentum 0.9. The baseline is torch.optim's single-tensor path (``foreach=False``,
one tensor at a time, as tinydl does) in the same run; without torch, a plain-NumPy loop
with temporaries stands in.
"""
import numpy as np

import tinydl
from tinydl import optim
from benchmarks._harness import median_time, row, try_torch

N_TENSORS = 20
PER_TENSOR = 50_000
GOAL = 1.5


def _arrays(seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=PER_TENSOR).astype(np.float32) for _ in range(N_TENSORS)]


def _tinydl_step(name, kw):
    params = [tinydl.Tensor(a, requires_grad=True) for a in _arrays(0)]
    for p, g in zip(params, _arrays(1)):
        p.grad = tinydl.Tensor(g)
    opt = getattr(optim, name)(params, **kw)
    opt.step()  # creates the state, as after the first batch of training
    return opt.step


def _torch_step(torch, name, kw):
    params = [torch.tensor(a, requires_grad=True) for a in _arrays(0)]
    for p, g in zip(params, _arrays(1)):
        p.grad = torch.tensor(g)
    opt = getattr(torch.optim, name)(params, foreach=False, **kw)
    opt.step()
    return opt.step


def _numpy_step(name, kw):
    """The textbook update with NumPy temporaries, when torch is missing."""
    params, grads = _arrays(0), _arrays(1)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr = kw["lr"]

    def step():
        for p, g, mi, vi in zip(params, grads, m, v):
            if name == "Adam":
                mi[...] = 0.9 * mi + 0.1 * g
                vi[...] = 0.999 * vi + 0.001 * g * g
                p -= lr * mi / (np.sqrt(vi) / 0.5 + 1e-8)
            else:
                mi[...] = 0.9 * mi + g
                p -= lr * mi
    return step


def run(quick=False):
    repeat = 5 if quick else 21
    torch = try_torch()
    rows = []
    for name, kw, label in (("Adam", dict(lr=1e-3), "Adam"),
                            ("SGD", dict(lr=1e-3, momentum=0.9), "SGD momentum")):
        ours = median_time(_tinydl_step(name, kw), repeat=repeat, warmup=3)
        if torch is not None:
            theirs = median_time(_torch_step(torch, name, kw), repeat=repeat, warmup=3)
            baseline = "torch"
        else:
            theirs = median_time(_numpy_step(name, kw), repeat=repeat, warmup=3)
            baseline = "numpy"
        rows.append(row(f"optim {label} step, 1M params in {N_TENSORS} tensors", ours, theirs,
                        baseline, goal=GOAL))
    return rows
