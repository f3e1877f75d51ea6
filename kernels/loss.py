"""Numba kernels for the usual classifier loss: softmax cross-entropy of float32 logits
(N, C) with integer class targets, its forward and its gradient, each one pass over the rows.

The NumPy twin is ``tinydl.ops.loss.SoftmaxCrossEntropy`` with the one-hot target matrix
that ``cross_entropy`` builds: a dozen array operations and as many temporaries, whose fixed
costs dominate at a classifier's sizes. Measured here, one thread, logits (128, 10): loss
forward + backward 61 -> 20 us in isolation; inside a training step, where the interpreter's
caches are cold after the layers' work, the twin's forward took 90-140 us.

The forward works in float64 (each row's max, the sum of exponentials and its log), then
rounds the loss to float32, and the softmax after its exponentials were: within one or two
float32 roundings of the exact values, where the twin's float32 arithmetic is within a few
(both are torch's results within its tolerance). A row's exponentials cost one scalar
``exp`` each, slower than NumPy's vectorised one: with many classes the twin is faster, and
``tinydl.ops.loss`` sends logits of more than ``_MAX_CLASSES`` classes there.
"""
import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def cross_entropy_kernel(x, t, ignore_index, losses, p):
    """Per row i of x (N, C): ``losses[i] = logsumexp(x_i) - x_i[t_i]`` and ``p[i] =
    softmax(x_i)``; a row whose target is ``ignore_index`` gets loss 0 (its softmax all the
    same). Returns the number of rows kept, or ``-1 - i`` for the first row i whose target is
    neither in [0, C) nor ignored (nothing after it is written).

    A NaN logit makes its row's loss and softmax NaN; a row of -inf logits too (as in torch);
    a target logit of -inf alone gives an infinite loss.
    """
    n, c = x.shape
    kept = 0
    for i in range(n):
        k = t[i]
        if k != ignore_index and (k < 0 or k >= c):
            return -1 - i
        m = -np.inf  # the row's max (a NaN logit makes the sum below NaN all the same)
        for j in range(c):
            v = np.float64(x[i, j])
            if v > m:
                m = v
        s = 0.0
        for j in range(c):  # p holds the exponentials (a float64 scratch row: +0.06 s compile)
            e = math.exp(x[i, j] - m)
            p[i, j] = e
            s += e
        for j in range(c):
            p[i, j] /= s
        if k == ignore_index:
            losses[i] = 0
        else:
            kept += 1
            losses[i] = math.log(s) - (x[i, k] - m)
    return kept


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def cross_entropy_grad_kernel(p, t, ignore_index, scale, per_row, out):
    """``out[i] = (p[i] - onehot(t[i])) * s_i``: the loss's gradient in the logits, with
    ``s_i = scale[i]`` when ``per_row`` (reduction 'none': the output gradient of each row),
    else ``scale[0]``; 0 in rows whose target is ``ignore_index``."""
    n, c = p.shape
    for i in range(n):
        k = t[i]
        if k == ignore_index:
            for j in range(c):
                out[i, j] = 0
            continue
        s = scale[i] if per_row else scale[0]
        for j in range(c):
            out[i, j] = p[i, j] * s
        out[i, k] = (p[i, k] - 1) * s
