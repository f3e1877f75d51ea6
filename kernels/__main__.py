"""``python -m tinydl.kernels --precompile``: compile (and cache) every Numba kernel ahead of use.

Each group below runs the public ops that call its kernels, on tiny float32 inputs, forward
and backward, with ``tinydl.backends`` forcing each route; so the cached specialisations are
exactly the argument types the ops pass (a kernel called directly with other types would
compile again). Prints one line per group with the seconds it took (CPU seconds, which a
loaded machine disturbs less than wall time) and the total.
"""
import argparse
import sys
import time

import numpy as np


def _conv(route):
    """conv2d forward and backward (input, weight and bias gradients) on ``route``."""
    import tinydl
    from tinydl.nn import functional as F

    x = tinydl.Tensor(np.ones((2, 16, 6, 6), np.float32), requires_grad=True)
    w = tinydl.Tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True)
    b = tinydl.Tensor(np.ones(16, np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True, conv_route=route):
        F.conv2d(x, w, b, padding=1).sum().backward()


def _pool():
    """max_pool2d forward and backward: the 2x2 fast path and the general window."""
    import tinydl
    from tinydl.nn import functional as F

    x = tinydl.Tensor(np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6),
                      requires_grad=True)
    with tinydl.backends.flags(numba=True):
        (F.max_pool2d(x, 2).sum() + F.max_pool2d(x, 3, 1, padding=1).sum()).backward()


def _activations():
    """relu forward and backward (its kernels take float32 only)."""
    import tinydl

    x = tinydl.Tensor(np.array([-1.0, 0.0, 2.0], np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True):
        y = tinydl.relu(x)
        y.backward(tinydl.ones_like(y))  # (sum()'s gradient is a broadcast view: the twin's)


def _cross_entropy():
    """cross_entropy of float32 logits and int64 class targets, forward and backward."""
    import tinydl
    from tinydl.nn import functional as F

    x = tinydl.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True):
        F.cross_entropy(x, np.array([0, 2])).backward()


def _nms():
    import tinydl
    import tinydl.vision

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float64)
    with tinydl.backends.flags(numba=True):
        tinydl.vision.nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5)


def _optimizers():
    """Two SGD momentum steps and one Adam step on a float32 parameter (SGD's second step
    and Adam's first run the one-pass kernels)."""
    import tinydl
    from tinydl.optim import SGD, Adam

    p = tinydl.Tensor(np.ones(4, np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True):
        for opt in (SGD([p], lr=0.1, momentum=0.9), Adam([p])):
            for _ in range(2):
                p.grad = tinydl.Tensor(np.ones(4, np.float32))
                opt.step()


def _svm():
    from tinydl.kernels.svm import precompile

    precompile()


GROUPS = {
    "im2col/col2im (sample-major)": lambda: _conv("sample-major"),
    "im2col/col2im (channel-major)": lambda: _conv("channel-major"),
    "winograd": lambda: _conv("winograd"),
    "max pooling": _pool,
    "relu": _activations,
    "cross-entropy": _cross_entropy,
    "nms": _nms,
    "optimizers": _optimizers,
    "linear svm": _svm,
}


def precompile(out=sys.stdout):
    """Run every group once; returns {group: CPU seconds}. Cached kernels load in ms."""
    seconds = {}
    for name, run in GROUPS.items():
        start = time.process_time()
        run()
        seconds[name] = time.process_time() - start
        print(f"  {name:32s} {seconds[name]:6.2f} s", file=out, flush=True)
    return seconds


def main(argv=None):
    """Command line: ``--precompile`` compiles and caches every kernel."""
    parser = argparse.ArgumentParser(prog="python -m tinydl.kernels", description=__doc__)
    parser.add_argument("--precompile", action="store_true",
                        help="compile every Numba kernel now and cache it on disk")
    args = parser.parse_args(argv)
    if not args.precompile:
        parser.print_help()
        return 0
    start, cpu = time.perf_counter(), time.process_time()
    print("tinydl: precompiling Numba kernels (CPU seconds per group):", flush=True)
    precompile()
    print(f"tinydl: done in {time.process_time() - cpu:.1f} s CPU, "
          f"{time.perf_counter() - start:.1f} s wall (kernels already cached load in "
          "milliseconds)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
