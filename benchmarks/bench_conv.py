"""conv2d forward + backward in float32 against PyTorch CPU, on the issue's five shapes.

Each row times one forward and one backward (input, weight and bias gradients) of
``tinydl.nn.functional.conv2d``; the baseline is ``torch.nn.functional.conv2d`` on the same
data in the same run (plain NumPy im2col + GEMM when torch is missing). The note gives the
achieved GFLOP/s (3 x 2*N*F*Ho*Wo*C*kh*kw flops: forward, input and weight gradients) and
the float32 GEMM rate of this machine measured in the same run. The flop count is that of
direct convolution, so it is an effective rate: on the 3x3 shapes with 16+ channels tinydl
takes the Winograd route, which does 2.25x fewer multiplications, and its effective rate
may exceed the GEMM peak.
"""
import numpy as np

import tinydl
import tinydl.nn.functional as F
from benchmarks._harness import median_time, paired_times, row, try_torch

SHAPES = [  # (N, C, H, W, F, k, stride, padding)
    (32, 3, 32, 32, 32, 3, 1, 1),
    (32, 32, 32, 32, 64, 3, 1, 1),
    (64, 64, 16, 16, 128, 3, 1, 1),
    (8, 3, 224, 224, 64, 7, 2, 3),
    (32, 1, 28, 28, 6, 5, 1, 0),
]


def gemm_gflops(repeat=5):
    """float32 GEMM rate of NumPy's BLAS on a 2048^3 product, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048)).astype(np.float32)
    b = rng.standard_normal((2048, 2048)).astype(np.float32)
    return 2 * 2048 ** 3 / median_time(lambda: a @ b, repeat=repeat) / 1e9


def _numpy_baseline(x, w, stride, padding):
    """Forward + both gradients with a plain strided-slice im2col and GEMMs (no autograd)."""
    from tinydl.ops.conv import Geometry, col2im_array, im2col_array, output_size

    k = w.shape[2]
    geom = Geometry(k, k, stride, stride, padding, padding, 1, 1)
    out_h, out_w = output_size(x.shape[2], x.shape[3], geom)

    def step():
        cols = im2col_array(x, geom)
        w2 = w.reshape(w.shape[0], -1)
        out = np.matmul(w2, cols)
        grad = np.ones_like(out)
        np.matmul(grad, cols.transpose(0, 2, 1)).sum(axis=0)
        col2im_array(np.matmul(w2.T, grad), x.shape[2], x.shape[3], geom)

    return step


def conv_workload(rng, shape, torch=None):
    """One conv2d forward + backward (bias, gradient of ones) at ``shape``, an entry of
    ``SHAPES``, on float32 data drawn from ``rng``: returns ``(ours, theirs, (x0, w0))``,
    ``theirs`` the same step in torch (None without torch), ``x0``/``w0`` the input and
    weight arrays for another baseline. Also the conv workloads of ``--under-load``."""
    n, c, h, wd, f, k, s, p = shape
    x0 = rng.standard_normal((n, c, h, wd)).astype(np.float32)
    w0 = (rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    b0 = rng.standard_normal(f).astype(np.float32)
    out_shape = (n, f, (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1)
    x, w, b = (tinydl.Tensor(a, requires_grad=True) for a in (x0, w0, b0))
    g = tinydl.Tensor(np.ones(out_shape, np.float32))

    def ours():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, stride=s, padding=p).backward(g)

    if torch is None:
        return ours, None, (x0, w0)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    tg = torch.ones(out_shape)

    def theirs():
        tx.grad = tw.grad = tb.grad = None
        torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p).backward(tg)

    return ours, theirs, (x0, w0)


MIN_ROUNDS, MAX_ROUNDS = 3, 20
ROUND_SECONDS = 1.0  # of timed calls (both libraries) that short shapes get rounds to fill


def rounds_for(ours, theirs, repeat):
    """Alternating rounds for one shape: ``MIN_ROUNDS``, or for a shape of a few milliseconds
    as many as fill ``ROUND_SECONDS`` of timed calls (at most ``MAX_ROUNDS``). With three
    rounds of five calls a 4 ms shape was timed over 0.1 s in all, and one burst of other
    work on the machine read as its ratio (1.29 once on (32,3,32,32), 0.79-0.85 in the runs
    around it)."""
    one_call = sum(median_time(fn, repeat=1) for fn in (ours, theirs))
    return int(min(MAX_ROUNDS, max(MIN_ROUNDS, ROUND_SECONDS // (repeat * one_call))))


def run(quick=False):
    """One row per shape: tinydl vs torch forward+backward time (medians over alternating
    rounds, more of them for short shapes: ``rounds_for``), GFLOP/s in the note."""
    repeat = 3 if quick else 5
    torch = try_torch()
    peak = gemm_gflops()
    rng = np.random.default_rng(0)
    rows = []
    for shape in SHAPES:
        n, c, h, wd, f, k, s, p = shape
        ours, theirs, (x0, w0) = conv_workload(rng, shape, torch)
        out_h = (h + 2 * p - k) // s + 1
        out_w = (wd + 2 * p - k) // s + 1
        flops = 3 * 2 * n * f * out_h * out_w * c * k * k
        if theirs is not None:
            name = "torch"
        else:
            theirs, name = _numpy_baseline(x0, w0, s, p), "numpy"
        rounds = 1 if quick else rounds_for(ours, theirs, repeat)
        t_ours, t_base = paired_times(ours, theirs, repeat=repeat, rounds=rounds, warmup=2)
        note = (f"tinydl {flops / t_ours / 1e9:.1f} GFLOP/s, {name} {flops / t_base / 1e9:.1f} "
                f"GFLOP/s, float32 GEMM peak {peak:.1f} GFLOP/s; {rounds} alternating rounds "
                f"of {repeat} calls")
        rows.append(row(f"conv2d fwd+bwd ({n},{c},{h},{wd})->{f} k{k} s{s} p{p}", t_ours, t_base,
                        name, goal=1.0 if name == "torch" else 1.5, note=note))
    return rows
