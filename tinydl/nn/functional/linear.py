"""Functional linear maps: ``linear`` (with its Function in ``tinydl.ops.linear``), ``bilinear``."""
import tinydl
from tinydl.ops._checks import _tensor
from tinydl.ops._util import ShapeError
from tinydl.ops.linear import linear  # noqa: F401


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T A_k x2 + b_k``: (*, in1), (*, in2), A (out, in1, in2) -> (*, out), the
    leading axes (none: unbatched) the same in both inputs, as torch's."""
    x1, x2 = _tensor(input1, "bilinear"), _tensor(input2, "bilinear")
    weight = _tensor(weight, "bilinear", "weight")
    if weight.ndim != 3 or x1.ndim < 1 or x2.ndim < 1 or x1.shape[:-1] != x2.shape[:-1] \
            or (x1.shape[-1], x2.shape[-1]) != weight.shape[1:] \
            or (bias is not None and tuple(bias.shape) != weight.shape[:1]):
        raise ShapeError(f"bilinear: inputs {x1.shape} and {x2.shape}, weight {weight.shape} "
                         f"and bias {None if bias is None else tuple(bias.shape)} do not fit "
                         "(*, in1), (*, in2), (out, in1, in2) and (out,)")
    dtypes = {x1.dtype, x2.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:  # NumPy would promote (a float64 weight made float32 inputs float64)
        raise TypeError(f"bilinear: inputs, weight and bias must share one dtype, got "
                        f"{sorted(str(d) for d in dtypes)}")
    n_out, n_in1, n_in2 = weight.shape
    lead = x1.shape[:-1]
    mixed = x1 @ tinydl.transpose(weight, (1, 0, 2)).reshape((n_in1, n_out * n_in2))
    out = (mixed.reshape(lead + (n_out, n_in2)) * x2.expand_dims(-2)).sum(axis=-1)
    return out + bias if bias is not None else out
