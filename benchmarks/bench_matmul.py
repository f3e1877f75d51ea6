"""Products of stacks against PyTorch CPU, forward and backward: a stack of small matrix
products, (64,128,64) @ (64,64,128), as an attention layer's scores are (tinydl shares its
matrices among threads, ``tinydl.ops.linalg._product``), and a Linear layer 512 -> 512 on
(256, 8, 512) input, a batch of sequences (one product of all 2048 rows,
``tinydl.ops._util.matmul_arrays``; NumPy's matmul runs a stack as one BLAS call per matrix).
Informational figures: no goal.
"""
import numpy as np

import tinydl
import tinydl.nn.functional as F
from benchmarks._harness import median_time, paired_times, row, try_torch

STACK = ((64, 128, 64), (64, 64, 128))
SEQUENCES, FEATURES = (256, 8, 512), 512


def _stack_steps(rng, torch):
    a0, b0 = (rng.standard_normal(s).astype(np.float32) for s in STACK)
    a, b = (tinydl.Tensor(x, requires_grad=True) for x in (a0, b0))

    def ours():
        a.grad = b.grad = None
        (a @ b).sum().backward()

    if torch is None:
        return ours, None
    ta, tb = (torch.tensor(x, requires_grad=True) for x in (a0, b0))

    def theirs():
        ta.grad = tb.grad = None
        (ta @ tb).sum().backward()

    return ours, theirs


def _linear_steps(rng, torch):
    x0 = rng.standard_normal(SEQUENCES).astype(np.float32)
    w0 = (rng.standard_normal((FEATURES, SEQUENCES[-1])) / np.sqrt(SEQUENCES[-1])).astype(
        np.float32)
    b0 = np.zeros(FEATURES, np.float32)
    x, w, b = (tinydl.Tensor(v, requires_grad=True) for v in (x0, w0, b0))

    def ours():
        x.grad = w.grad = b.grad = None
        F.linear(x, w, b).sum().backward()

    if torch is None:
        return ours, None
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x0, w0, b0))

    def theirs():
        tx.grad = tw.grad = tb.grad = None
        torch.nn.functional.linear(tx, tw, tb).sum().backward()

    return ours, theirs


def run(quick=False):
    """Two rows: median seconds of one forward + backward, tinydl vs torch in alternating
    rounds (self-baseline without torch)."""
    rng = np.random.default_rng(0)
    torch = try_torch()
    rows = []
    for figure, make in ((f"matmul fwd+bwd, stack {STACK[0]} @ {STACK[1]}", _stack_steps),
                         (f"Linear {SEQUENCES[-1]}->{FEATURES} fwd+bwd on {SEQUENCES}",
                          _linear_steps)):
        ours, theirs = make(rng, torch)
        if theirs is None:
            t = median_time(ours, repeat=5 if quick else 20)
            rows.append(row(f"{figure} (no torch: self-baseline)", t, t, "self"))
            continue
        t_ours, t_theirs = paired_times(ours, theirs, repeat=5 if quick else 10,
                                        rounds=2 if quick else 5)
        rows.append(row(figure, t_ours, t_theirs, "torch"))
    return rows
