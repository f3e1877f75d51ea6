"""tinygrad's dtype names, mapped to NumPy dtypes (which tinydl uses)."""
import numpy as np


class _DTypes:
    bool = np.bool_
    uint8 = uchar = np.uint8
    uint32 = np.uint32
    uint64 = np.uint64
    int8 = np.int8
    int16 = np.int16
    int32 = int = np.int32
    int64 = long = np.int64
    float16 = half = np.float16
    float32 = float = np.float32
    float64 = double = np.float64
    default_float = np.float32
    default_int = np.int32

    @staticmethod
    def min(dtype):
        dtype = np.dtype(dtype)
        return bool(False) if dtype == np.bool_ else (
            np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf)

    @staticmethod
    def max(dtype):
        dtype = np.dtype(dtype)
        return bool(True) if dtype == np.bool_ else (
            np.iinfo(dtype).max if dtype.kind in "iu" else np.inf)

    @staticmethod
    def is_float(dtype):
        return np.dtype(dtype).kind == "f"

    @staticmethod
    def is_int(dtype):
        return np.dtype(dtype).kind in "iu"


dtypes = _DTypes()


def _to_np_dtype(dtype):
    return np.dtype(dtype).type
