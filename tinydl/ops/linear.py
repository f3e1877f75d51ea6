"""The affine map of ``nn.Linear``, ``y = x W^T + b``, as one Function, and ``linear``.

One node instead of a matmul, a transpose and an add. Its gradient is two products, each a
Function of its own (``LinearGradInput``, ``LinearGradWeight``): the three Functions are
each other's gradients, so the gradient stays differentiable to any order
(``create_graph``). A first-order backward, which records nothing, runs the same two
products on arrays (their ``forward``), as Conv2d runs its route's gradients.
"""

import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops._checks import _check_float_dtypes, _tensor
from tinydl.ops._util import ShapeError, add_up, as_rows, matmul_arrays
from tinydl.ops.reduce import Sum

def _x_wt(x, w):
    """``x @ w.T``, the forward product, in the faster of two ways (equal up to round-off),
    over all of ``x``'s rows at once (see ``matmul_arrays``).

    Measured with NumPy's OpenBLAS (one thread, AVX-512 kernels): for float32 ``x`` of 16 to
    64 rows and a weight of at least 96 x 256, ``x @ w.T`` took up to twice as long as
    computing its transpose ``w @ x.T`` and copying that back to C order (784->256: 0.58x
    the time at 16 rows, 0.68x at 32, 0.84x at 64; 400->120: 0.72-0.91x), so small batches
    and data-parallel shards take that way. With fewer or more rows, smaller layers, or
    float64 it was the same or slower. The output is C-contiguous either way, as torch's.
    """
    rows = as_rows(x)
    if (16 <= rows.shape[0] <= 64 and w.shape[0] >= 96 and w.shape[1] >= 256
            and x.dtype == np.float32 and w.dtype == np.float32):
        out = np.ascontiguousarray((w @ rows.T).T)
    else:
        out = matmul_arrays(rows, w.T)  # one input feature is an inner dimension of 1
    return out if x.ndim == 2 else out.reshape(x.shape[:-1] + out.shape[-1:])


class Linear(Function):
    """y = x W^T + b; dx = g W, dW = g^T x (over all rows), db = g summed over all rows."""

    retain_inputs = (0, 1)
    retain_output = False

    @staticmethod
    def forward(ctx, x, w, b):
        out = _x_wt(x, w)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.inputs
        need_x, need_w, need_b = ctx.needs_input_grad
        if not is_grad_enabled():  # first order: nothing to record; the same products on arrays
            # (their forwards keep nothing on ctx)
            g = g.data
            return (LinearGradInput.forward(None, g, w.data) if need_x else None,
                    LinearGradWeight.forward(None, g, x.data) if need_w else None,
                    add_up(as_rows(g), axis=0) if need_b else None)
        gx = LinearGradInput.apply(g, w) if need_x else None
        gw = LinearGradWeight.apply(g, x) if need_w else None
        # Sum's Function itself: the axes are known to be valid, and the checking wrapper
        # would cost as much as the rest of this backward for a small layer.
        gb = Sum.apply(g, axes=tuple(range(g.ndim - 1))) if need_b else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """Affine map ``input @ weight.T + bias``: (..., in) x (out, in) -> (..., out).

    Input and weight must share their floating dtype (no silent promotion to float64).
    """
    x = _tensor(input, "linear")
    _check_float_dtypes(x, weight, "linear")
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[1:]:
        raise ShapeError(f"linear: input of shape {x.shape} does not match weight of shape "
                         f"{weight.shape} (expected (..., {weight.shape[-1]}))")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ShapeError(f"linear: bias of shape {bias.shape} does not match {weight.shape[0]} "
                         "output features")
    return Linear.apply(x, weight, bias)


class LinearGradInput(Function):
    """dx = g W: g (..., out), W (out, in) -> (..., in); d/dg = gg W^T, d/dW = g^T gg."""

    retain_inputs = (0, 1)
    retain_output = False

    @staticmethod
    def forward(ctx, g, w):
        return matmul_arrays(g, w)  # one output feature (a value head) is an inner dim of 1

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.inputs
        need_g, need_w = ctx.needs_input_grad
        return (Linear.apply(gg, w, None) if need_g else None,
                LinearGradWeight.apply(g, gg) if need_w else None)


class LinearGradWeight(Function):
    """dW = g^T x summed over rows: (..., out), (..., in) -> (out, in); d/dg = x gg^T, d/dx = g gg."""

    retain_inputs = (0, 1)
    retain_output = False

    @staticmethod
    def forward(ctx, g, x):
        # One row (a batch of one) is an inner dimension of 1: see matmul_arrays.
        return matmul_arrays(as_rows(g).T, as_rows(x))

    @staticmethod
    def backward(ctx, gg):
        g, x = ctx.inputs
        need_g, need_x = ctx.needs_input_grad
        return (Linear.apply(x, gg, None) if need_g else None,
                LinearGradInput.apply(g, gg) if need_x else None)
