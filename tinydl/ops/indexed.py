"""Reading and writing a tensor at computed positions: NumPy's ``take``, ``argwhere`` and
``put``; torch's ``put`` (the method), ``index_put``, ``index_fill``, ``index_copy``,
``masked_scatter`` and ``fill_diagonal_``.

Every write is one rule (``_write_at``): the positions are flat indices into ``x`` (computed
from the op's index, mask or diagonal), and the values are scattered there into a copy of
``x`` (``Scatter``: a repeated position keeps one of its values) or added (``ScatterAdd``:
repeats accumulate). The gradient is torch's: ``x`` gets ``g`` with the written positions
zeroed (added to: all of ``g``), the values get ``g`` read back at their positions (also a
write that a repeat overwrote). The in-place forms (``x.put_``, ``x.index_fill_``...) run
these through the Tensor's in-place machinery.
"""
import math

import numpy as np

from tinydl.ops._util import as_tensor, normalize_axes, numpy_names
from tinydl.ops._checks import _check_fill_fits, _flag
from tinydl.ops.elementwise import astype
from tinydl.ops.gather import Scatter, ScatterAdd, check_bounds, index_array
from tinydl.ops.index import getitem
from tinydl.ops.shape import broadcast_to, reshape
from tinydl.tensor import Tensor


def _operand(x):
    x = as_tensor(x)
    return x if isinstance(x, Tensor) else Tensor(x)


def _write_at(x, positions, values, accumulate=False):
    """``x`` with ``values`` (broadcast to ``positions.shape``) written at the flat
    ``positions`` (an int64 array), or added there when ``accumulate``."""
    values = reshape(broadcast_to(values, positions.shape), (-1,))
    op = ScatterAdd if accumulate else Scatter
    out = op.apply(reshape(x, (-1,)), values, index=positions.reshape(-1), axis=0)
    return reshape(out, x.shape)


def _positions(shape):
    """The flat position of every element of a tensor of ``shape``."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def _same_dtype(op, x, values, name):
    """torch's rule: values written into ``x`` have ``x``'s dtype; a number is cast to it (an
    overflowing one refused)."""
    if isinstance(values, (bool, int, float, np.number)):
        _check_fill_fits(values, x.dtype, op)
        return Tensor._wrap(np.asarray(values, dtype=x.dtype))
    values = _operand(values)
    if values.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {values.dtype} and the input {x.dtype}; they "
                        "must match (as in torch): cast one with astype")
    return values


# ----------------------------------------------------------------------------- reading
def take(a, indices, axis=None, mode="raise"):
    """Elements of ``a`` at ``indices``, as ``np.take``: of the flattened ``a`` when ``axis`` is
    None (``torch.take``), else along ``axis``; negative indices count from the end. The
    result has ``indices``' shape (along ``axis``: ``a.shape[:axis] + indices.shape +
    a.shape[axis+1:]``). ``mode``: ``'raise'`` (an index out of range raises), ``'wrap'``
    (indices modulo the length), ``'clip'`` (clipped to [0, length - 1]). Gradient: ``g``
    added back where each value came from."""
    a = _operand(a)
    index = index_array("take", indices, "indices")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    else:
        axis = normalize_axes(axis, a.ndim, "take")[0]
    n = a.shape[axis]
    if mode == "raise":
        if n == 0 and index.size:
            raise IndexError(f"take: cannot take {index.size} elements from an empty axis "
                             f"{axis}")
        index = check_bounds("take", index, axis, n, negative=True)
    elif mode == "wrap":
        index = index % max(n, 1)
    elif mode == "clip":
        index = np.clip(index, 0, max(n - 1, 0))
    else:
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(a, (slice(None),) * axis + (index,))


def argwhere(x):
    """The positions of the nonzero (True) entries of ``x``, one row each, as
    ``np.argwhere`` and ``torch.argwhere``: an int64 tensor (N, x.ndim); no gradient."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor._wrap(np.argwhere(data).astype(np.int64, copy=False))


# ----------------------------------------------------------------------------- put
def _flat_positions(op, x, index, mode="raise"):
    """``index`` as flat positions into ``x`` (negative ones from the end), checked."""
    index = index_array(op, index)
    if mode == "wrap":
        return index % max(x.size, 1)
    if mode == "clip":
        return np.clip(index, 0, max(x.size - 1, 0))
    if mode != "raise":
        raise ValueError(f"{op}: mode must be 'raise', 'wrap' or 'clip', got {mode!r} (torch's "
                         "accumulate is a keyword of x.put(index, source, accumulate=))")
    if x.size == 0 and index.size:
        raise IndexError(f"{op}: cannot put into an empty tensor")
    return check_bounds(op, index, "None (flattened)", x.size, negative=True).astype(np.int64)


def put(a, ind, v, mode="raise", **kwargs):
    """NumPy's ``put``: write ``v`` into ``a`` in place at the flat positions ``ind`` and
    return None; ``v`` is repeated (or cut) to the length of ``ind``. ``mode`` as ``take``'s.

    torch's ``put`` is out of place: that is ``x.put(index, source, accumulate=False)``, the
    method (``x.put_`` in place); torch's ``accumulate=`` here raises.
    """
    if kwargs:
        raise TypeError(f"put: unexpected {sorted(kwargs)}; tinydl.put is NumPy's (in place, "
                        "returns None): torch's is x.put(index, source, accumulate=...) (a new "
                        "tensor) or x.put_(...) (in place)")
    if not isinstance(a, Tensor):
        raise TypeError(f"put: writes into a Tensor in place, got {type(a).__name__}")
    positions = _flat_positions("put", a, ind, mode)
    values = _same_dtype("put", a, v if isinstance(v, Tensor) else np.asarray(v, a.dtype), "v")
    if positions.size:
        if values.size == 0:
            raise ValueError("put: no values to write")
        flat = reshape(values, (-1,))
        if flat.shape[0] != positions.size:  # NumPy's rule: v repeats (np.resize)
            flat = flat[np.arange(positions.size) % flat.shape[0]]
        values = reshape(flat, positions.shape)
    else:
        values = Tensor._wrap(np.zeros(positions.shape, a.dtype))
    a._inplace("put", lambda s, src: _write_at(s, positions, src), values)


def put_values(x, index, source, accumulate=False):
    """torch's ``Tensor.put`` (out of place): ``x`` with the entries of ``source`` written at
    the flat positions ``index`` (negative ones from the end), or added there with
    ``accumulate`` (repeats accumulate); ``source`` holds one value per index."""
    accumulate = _flag(accumulate, "put", "accumulate")
    x = _operand(x)
    positions = _flat_positions("put", x, index)
    source = _same_dtype("put", x, source, "source")
    if source.size != positions.size:
        raise ValueError(f"put: source has {source.size} elements and index {positions.size}; "
                         "they must have the same number")
    return _write_at(x, positions, reshape(source, positions.shape), accumulate)


def index_put(x, indices, values, accumulate=False):
    """torch.index_put: ``x`` with ``x[indices] = values`` (out of place), or ``+=`` with
    ``accumulate`` (repeated positions accumulate). ``indices`` is a tuple of integer or bool
    index tensors, as torch's (NumPy's advanced indexing: they broadcast together and index
    the leading axes); ``values`` broadcasts to the shape of ``x[indices]``."""
    accumulate = _flag(accumulate, "index_put", "accumulate")
    x = _operand(x)
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple of index tensors, got "
                        f"{type(indices).__name__} (write (index,) for one)")
    arrays = []
    for i in indices:
        data = i.data if isinstance(i, Tensor) else np.asarray(i)
        if data.dtype.kind not in "iub" and data.size:
            raise TypeError(f"index_put: indices must be integer or bool tensors, got dtype "
                            f"{data.dtype}")
        arrays.append(data if data.size or data.dtype.kind in "iub" else data.astype(np.int64))
    try:
        positions = _positions(x.shape)[tuple(arrays)]
    except IndexError as err:
        raise IndexError(f"index_put: indices are invalid for a tensor of shape {x.shape}: "
                         f"{err}") from None
    values = _same_dtype("index_put", x, values, "values")
    try:
        np.broadcast_to(np.empty(values.shape, bool), positions.shape)
    except ValueError:
        raise ValueError(f"index_put: values of shape {values.shape} cannot be broadcast to "
                         f"the indexed shape {positions.shape}") from None
    return _write_at(x, positions, values, accumulate)


# ----------------------------------------------------------------------------- along one axis
def _positions_along(op, x, axis, index, negative, unique=False):
    """``(axis, positions)``: the flat positions of the slices ``x[..., index[j], ...]``
    along ``axis`` (``index`` 0-d or 1-d; ``unique``: each slice once), a 0-d ``x`` taken as
    shape (1,)."""
    index = index_array(op, index)
    if index.ndim > 1:
        raise ValueError(f"{op}: index must be 0-d or 1-d, got shape {index.shape}")
    shape = x.shape if x.ndim else (1,)
    axis = normalize_axes(axis, len(shape), op)[0]
    index = check_bounds(op, index.reshape(-1), axis, shape[axis], negative=negative)
    if unique:
        index = np.unique(index)
    return axis, np.take(_positions(shape), index, axis=axis).reshape(
        shape[:axis] + (index.size,) + shape[axis + 1:])


@numpy_names
def index_fill(x, dim, index, value):
    """torch.index_fill: ``x`` with the slices at ``index`` along ``dim`` set to ``value`` (a
    number, cast to x's dtype, or a 0-d tensor, which gets the gradient of every filled
    entry); negative indices count from the end."""
    x = _operand(x)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"index_fill: a tensor value must be 0-d (as in torch), got shape "
                             f"{value.shape}")
        value = astype(value, x.dtype)
    # each slice filled once: a 0-d value's gradient counts every filled entry once
    _, positions = _positions_along("index_fill", x, dim, index, negative=True, unique=True)
    return _write_at(x, positions, _same_dtype("index_fill", x, value, "value"))


@numpy_names
def index_copy(x, dim, index, source):
    """torch.index_copy: ``x`` with ``x[..., index[j], ...] = source[..., j, ...]`` along
    ``dim`` (``index`` in [0, length); where it repeats, one of the slices is kept).
    ``source`` has x's shape with ``len(index)`` along ``dim``, and x's dtype."""
    x = _operand(x)
    source = _same_dtype("index_copy", x, source, "source")
    axis, positions = _positions_along("index_copy", x, dim, index, negative=False)
    if source.shape != positions.shape and (x.ndim or source.size != positions.size):
        raise ValueError(f"index_copy: source of shape {source.shape} does not fit: with "
                         f"{positions.shape[axis]} indices along dim {axis} of an input of "
                         f"shape {x.shape} it must have shape {positions.shape}")
    return _write_at(x, positions, reshape(source, positions.shape))


def masked_scatter(x, mask, source):
    """torch.masked_scatter: ``x`` with the entries where the bool ``mask`` is True replaced,
    in row-major order, by the first entries of ``source`` (which needs at least that many).
    ``x`` and ``mask`` broadcast together (the result has their common shape)."""
    x = _operand(x)
    data = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype != np.bool_:
        raise TypeError(f"masked_scatter: mask must be boolean, got dtype {data.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, data.shape)
    except ValueError:
        raise ValueError(f"masked_scatter: mask of shape {data.shape} and input of shape "
                         f"{x.shape} cannot be broadcast together") from None
    source = _same_dtype("masked_scatter", x, source, "source")
    positions = np.flatnonzero(np.broadcast_to(data, shape)).astype(np.int64)
    if source.size < positions.size:
        raise ValueError(f"masked_scatter: source has {source.size} elements, fewer than the "
                         f"{positions.size} True entries of the mask")
    return _write_at(broadcast_to(x, shape), positions, reshape(source, (-1,))[:positions.size])


def fill_diagonal(x, fill_value, wrap=False):
    """``x`` with ``fill_value`` on its main diagonal (out of place; ``Tensor.fill_diagonal_``
    is torch's in-place form). A matrix, or a tensor whose axes all have one length; a tall
    matrix's diagonal stops at its square unless ``wrap``, which restarts it every ``m + 1``
    rows (NumPy's and torch's rule)."""
    x = _operand(x)
    if x.ndim < 2:
        raise ValueError(f"fill_diagonal_: needs at least 2 dimensions, got shape {x.shape}")
    if x.ndim > 2 and len(set(x.shape)) > 1:
        raise ValueError(f"fill_diagonal_: all dimensions must have the same length, got shape "
                         f"{x.shape}")
    step = 1 + int(np.sum(np.cumprod(x.shape[:0:-1])))  # one step along every axis at once
    end = x.shape[1] * x.shape[1] if x.ndim == 2 and not wrap else x.size
    positions = np.arange(0, min(end, x.size), step, dtype=np.int64)
    return _write_at(x, positions, _same_dtype("fill_diagonal_", x, fill_value, "fill_value"))
