"""Indexing: ``t[index]`` with basic and integer-array (advanced) indices.

The gradient of ``x[index]`` scatters the output gradient back into zeros shaped like ``x``.
With advanced indexing the same element can be picked several times; its gradient is the
sum over all picks (``np.add.at``), never the last write.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import as_tensor, held_array
from tinydl.tensor import Tensor


def numpy_index(index):
    """``index`` with Tensors replaced by their arrays (for NumPy to interpret as it is), a
    0-d integer one by its int, a uint8 one refused (``_tensor_item``)."""
    if isinstance(index, tuple):
        return tuple(numpy_index(i) for i in index)
    return _tensor_item(index) if isinstance(index, Tensor) else index


def _tensor_item(t):
    """A Tensor used as (part of) an index, as NumPy should read it for torch's meaning.

    A 0-d integer tensor (an ``argmax``, a label from a DataLoader) is an int, as torch reads
    it: NumPy would take it for an index array and copy, so ``w[i].add_(1)`` wrote into the
    copy and the update was lost. A uint8 tensor is refused: torch reads it as a mask (its
    pre-bool idiom ``x[m.byte()]``), NumPy as positions, and either guess is silently wrong
    for someone.
    """
    data = t.data
    if data.dtype == np.uint8:
        raise IndexError(f"index: a uint8 tensor (shape {data.shape}) as an index is "
                         "ambiguous: torch reads it as a mask, NumPy as positions; use "
                         ".bool() for a mask or .long() for positions")
    if data.ndim == 0 and data.dtype.kind in "iu":
        return int(data)
    return data


_BASIC = frozenset((slice, int, type(None), type(Ellipsis)))  # (not bool: a 0-d mask)


def _normalize_index(index, shape):
    """The index with Tensors, lists and nested tuples as arrays and boolean masks replaced by
    their integer positions (so the gradient can use ``np.add.at``). A mask must match the
    lengths of the axes it covers, as NumPy and torch require."""
    items = index if isinstance(index, tuple) else (index,)
    if all(type(item) in _BASIC for item in items):  # x[lo:hi], x[:, 0]: nothing to convert
        return items
    arrays = []
    for item in items:
        if isinstance(item, Tensor):  # (a mask becomes new position arrays below)
            data = _tensor_item(item)
            item = data if not isinstance(data, np.ndarray) or data.dtype == np.bool_ else \
                held_array(data, item)
        elif isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
            item = int(item)  # NumPy's reading too, and a view rather than a copy below
        elif isinstance(item, (list, tuple)):
            item = np.asarray(item)
            if item.size == 0:
                item = item.astype(np.intp)  # x[[]] picks nothing (NumPy reads [] as float)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "iub":
            raise IndexError(f"getitem: arrays used as indices must be integer or boolean, "
                             f"got dtype {item.dtype}")
        arrays.append(item)
    # A Python bool is a 0-d mask (a new axis of length 1 or 0): it takes no axis, as None.
    consumed = sum(a.ndim if isinstance(a, np.ndarray) and a.dtype == np.bool_ else
                   0 if a is None or a is Ellipsis or isinstance(a, (bool, np.bool_)) else 1
                   for a in arrays)
    out, axis = [], 0
    for item in arrays:
        if isinstance(item, (bool, np.bool_)):
            out.append(item)
            continue
        if item is Ellipsis:
            axis += len(shape) - consumed
        elif isinstance(item, np.ndarray) and item.dtype == np.bool_ and item.ndim > 0:
            covered = tuple(shape[axis:axis + item.ndim])
            if item.shape != covered:
                raise IndexError(f"getitem: a boolean mask of shape {item.shape} does not match "
                                 f"the axes {axis}..{axis + item.ndim - 1} of shape {covered} "
                                 f"of a tensor of shape {tuple(shape)}")
            out.extend(np.nonzero(item))
            axis += item.ndim
            continue
        elif item is not None:
            axis += 1
        out.append(item)
    return tuple(out)


def _is_advanced(index):
    return any(isinstance(i, np.ndarray) for i in index)


class GetItem(Function):
    """x[index]; dx = zeros with g added at index (IndexAdd)."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, index=()):
        ctx.index = index
        try:
            out = x[index]
        except IndexError as err:
            raise IndexError(f"getitem: index {index} is invalid for a tensor of shape "
                             f"{x.shape}: {err}") from None
        if _is_advanced(index):
            return np.array(out)
        if not isinstance(out, np.ndarray):
            # Every axis taken by an int gives a NumPy scalar, a copy; with a trailing Ellipsis
            # NumPy gives a 0-d view instead, so that ``x[0, 1].add_(5)`` writes into x, as
            # in torch.
            out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        return (IndexAdd.apply(g, index=ctx.index, shape=x.shape),)


def getitem(x, index):
    """``x[index]``: basic slicing, integer arrays (repeats accumulate) and boolean masks."""
    x = as_tensor(x)
    return GetItem.apply(x, index=_normalize_index(index, x.shape))


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index`` (repeated indices accumulate)."""

    retain_inputs = ()
    retain_output = False

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
