"""Argument checks the public op wrappers share (here and in ``tinydl.nn.functional``)."""
import numbers

import numpy as np

from tinydl.tensor import Tensor


def _tensor(x, caller, name="input"):
    """``x`` as a Tensor (arrays, numbers and lists are wrapped); anything else raises."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, numbers.Number, list)):
        return Tensor(x) if not isinstance(x, np.ndarray) else Tensor._wrap(x)
    raise TypeError(f"{caller}: {name} must be a Tensor or an array, got {type(x).__name__}")


def _check_float_dtypes(x, weight, caller):
    """Refuse floating inputs whose dtype differs from the weight's (torch refuses them too).

    NumPy would silently promote float32 weights and a float64 input to a float64 result;
    integer inputs are left to NumPy's promotion here (the layers refuse those as well).
    """
    if x.dtype != weight.dtype and x.dtype.kind == "f" and weight.dtype.kind == "f":
        raise TypeError(f"{caller}: input of dtype {x.dtype} and weight of dtype {weight.dtype} "
                        f"differ; cast one of them (e.g. .astype({weight.dtype}))")


def _index_array(idx, caller):
    """The integer array behind class or embedding indices (a Tensor or array-like)."""
    data = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{caller}: indices must be integers, got dtype {data.dtype}")
    return data
