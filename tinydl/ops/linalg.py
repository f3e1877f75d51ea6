"""Matrix product with NumPy's ``matmul`` rules (1-D operands, batched broadcasting)."""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import as_tensor, unbroadcast


class MatMul(Function):
    """C = A @ B; dA = G @ B^T, dB = A^T @ G, summed over broadcast batch axes."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} "
                             f"and {b.shape}")
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({a.shape[-1]} != {b.shape[-2] if b.ndim > 1 else b.shape[0]})"
                             ) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        a = as_tensor(a)
        b = as_tensor(b)
        if a.ndim == 1 and b.ndim == 1:  # inner product: g is a scalar
            return (g * b if a.requires_grad else None, g * a if b.requires_grad else None)
        # Promote 1-D operands to matrices so one rule covers every case.
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.expand_dims(-2)
        if b.ndim == 1:
            g2 = g2.expand_dims(-1)
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    """Matrix product ``a @ b`` with NumPy's rules for 1-D and batched operands."""
    return MatMul.apply(as_tensor(a), as_tensor(b))
