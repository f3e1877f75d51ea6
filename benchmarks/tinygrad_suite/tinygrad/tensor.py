from tinygrad import Tensor
from tinygrad.dtype import _to_np_dtype

__all__ = ["Tensor", "_to_np_dtype"]
