"""Numba kernels for the optimizers: SGD's momentum update and Adam's update, each in one pass.

``SGD`` with momentum (no dampening, no Nesterov) runs ``b <- mu*b + g; theta <- theta -
lr*b`` on every parameter at every step. Its NumPy twin in ``tinydl.optim.sgd`` takes three
passes over the arrays and a temporary for ``lr*b``; this kernel reads each element of
theta, g and b once and writes theta and b once. Measured here on the MLP 784-256-128-10's
six parameters (235k floats), one thread, alternating rounds: 0.26 -> 0.16 ms a step with
the arrays in cache, 0.39-0.49 -> 0.19-0.25 ms without; the MLP's whole training step at
batch 64 is about 1.6 ms.

Adam's twin (``tinydl.optim.adam``) makes 13 passes through one scratch array;
``adam_kernel`` reads theta, g, m and v once and writes theta, m and v once.

The arithmetic is each twin's, operation by operation, in the arrays' dtype (the caller
passes the scalars in that dtype, as NumPy converts a Python float for a float32 array), and
without fastmath LLVM neither fuses a multiply and an add nor reorders: the results are
bit-for-bit the twins'.
"""
import math

import numba


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def sgd_momentum_kernel(param, grad, buf, lr, mu):
    """``buf = mu*buf + grad``, then ``param -= lr*buf``, elementwise, in place.

    param, grad and buf are 1-D, C-contiguous, of one float dtype; lr and mu scalars of it.
    """
    for i in range(param.shape[0]):
        b = mu * buf[i] + grad[i]
        buf[i] = b
        param[i] -= lr * b


@numba.njit(cache=True, error_model="numpy", no_cfunc_wrapper=True)
def adam_kernel(param, grad, exp_avg, exp_avg_sq, c1, toward, beta2, one_minus_beta2,
                bias2_sqrt, eps, step_size):
    """One Adam step (no amsgrad), elementwise, in place, in the order of the NumPy twin::

        m = (g if toward else m) + (g - m) * c1;  v = v * b2 + g * g * (1 - b2)
        theta -= m / (sqrt(v) / bias2_sqrt + eps) * step_size

    with ``(c1, toward)`` from ``tinydl.optim.optimizer._lerp_weight(1 - b1)`` (torch's
    lerp: m + (1 - b1)(g - m) for b1 > 0.5, else g - b1 (g - m), which is g exactly at
    b1 = 0), ``bias2_sqrt = sqrt(1 - b2^t)`` and ``step_size = lr / (1 - b1^t)``. The arrays
    are 1-D, C-contiguous, of one float dtype; the scalars of it.
    """
    for i in range(param.shape[0]):
        g = grad[i]
        m = (g if toward else exp_avg[i]) + (g - exp_avg[i]) * c1
        v = exp_avg_sq[i] * beta2 + (g * g) * one_minus_beta2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] -= m / (math.sqrt(v) / bias2_sqrt + eps) * step_size
