"""Functional linear maps: ``linear`` (with its Function in ``tinydl.ops.linear``), ``bilinear``."""
import tinydl
from tinydl.ops._checks import _tensor
from tinydl.ops.linear import linear  # noqa: F401


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T A_k x2 + b_k``: (N, in1), (N, in2), A (out, in1, in2) -> (N, out)."""
    x1, x2 = _tensor(input1, "bilinear"), _tensor(input2, "bilinear")
    n_out, n_in1, n_in2 = weight.shape
    mixed = x1 @ tinydl.transpose(weight, (1, 0, 2)).reshape((n_in1, n_out * n_in2))
    out = (mixed.reshape((x1.shape[0], n_out, n_in2)) * x2.expand_dims(1)).sum(axis=2)
    return out + bias if bias is not None else out
