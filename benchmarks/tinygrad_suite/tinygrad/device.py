import numpy as np

from tinygrad import Device


def is_dtype_supported(dtype):
    return np.dtype(dtype).kind in "biuf"

__all__ = ["Device", "is_dtype_supported"]
