"""Indexing: ``t[index]`` with basic and integer-array (advanced) indices.

The gradient of ``x[index]`` scatters the output gradient back into zeros shaped like ``x``.
With advanced indexing the same element can be picked several times; its gradient is the
sum over all picks (``np.add.at``), never the last write.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import as_tensor
from tinydl.tensor import Tensor


def _normalize_index(index):
    """Replace Tensors in an index by arrays and boolean masks by their integer positions."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        if isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype == np.bool_:
            out.extend(np.nonzero(item))
            continue
        if isinstance(item, np.ndarray) and item.dtype.kind not in "iu":
            raise IndexError(f"getitem: arrays used as indices must be integer or boolean, "
                             f"got dtype {item.dtype}")
        out.append(item)
    return tuple(out)


def _is_advanced(index):
    return any(isinstance(i, np.ndarray) for i in index)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index=()):
        ctx.index = index
        try:
            out = x[index]
        except IndexError as err:
            raise IndexError(f"getitem: index {index} is invalid for a tensor of shape "
                             f"{x.shape}: {err}") from None
        return np.array(out) if _is_advanced(index) else out

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (IndexAdd.apply(g, index=ctx.index, shape=x.shape),)


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx, g, index=(), shape=()):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_advanced(index):
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return (GetItem.apply(gg, index=ctx.index),)


def getitem(x, index):
    """``x[index]``: basic slicing, integer arrays (repeats accumulate) and boolean masks."""
    return GetItem.apply(as_tensor(x), index=_normalize_index(index))
