"""Sorting and searching: ``sort``, ``argsort``, ``topk`` (torch's, values differentiable),
``nonzero`` and ``unique`` (no gradient).

A sort is a permutation, so the sorted values are ``gather(x, axis, indices)``: their gradient
goes back to the position each value came from (``ops/gather.py``), as torch's does. Every
sort here is stable (equal elements keep their order, also when descending), so the indices
are the same on every run and equal torch's ``stable=True``; NaN sorts as the largest value,
as in NumPy and torch.
"""
from collections import namedtuple

import numpy as np

from tinydl.ops._checks import _flag
from tinydl.ops._util import normalize_axes, numpy_names, torch_names
from tinydl.ops.gather import Gather, _as_input
from tinydl.tensor import Tensor

SortResult = namedtuple("SortResult", ["values", "indices"])
TopkResult = namedtuple("TopkResult", ["values", "indices"])


def _sort_axis(op, axis, ndim):
    """``axis`` as a non-negative int; a 0-d tensor takes 0 or -1 (as torch)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int (or None to flatten), got {axis!r}")
    return normalize_axes(axis, max(ndim, 1), op)[0]


def _stable_argsort(a, axis, descending):
    """Indices sorting ``a`` along ``axis``, equal elements in their original order.

    Descending: sort the reversed array ascending (stable, so ties come out last-first),
    reverse that order, and map positions in the reversed array back (``n - 1 - i``). Unlike
    sorting ``-a`` this works for unsigned integers, booleans and the most negative integer.
    """
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    order = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return (n - 1) - order


@torch_names
def argsort(x, axis=-1, descending=False, stable=False, kind=None):
    """Indices (int64, no gradient) that sort ``x`` along ``axis`` (NumPy's ``argsort``,
    torch's ``descending``); ``axis=None`` sorts the flattened ``x``.

    Always a stable sort, whatever ``stable`` and NumPy's ``kind`` say (both are accepted).
    """
    descending = _flag(descending, "argsort", "descending")
    _flag(stable, "argsort", "stable")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if axis is None:
        data, axis = data.reshape(-1), 0
    if data.ndim == 0:
        _sort_axis("argsort", axis, 0)
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    axis = _sort_axis("argsort", axis, data.ndim)
    return Tensor._wrap(_stable_argsort(data, axis, descending).astype(np.int64, copy=False))


@torch_names
def sort(x, axis=-1, descending=False, stable=False, kind=None):
    """``(values, indices)``: ``x`` sorted along ``axis`` and the int64 positions the values
    came from (``torch.sort``; NumPy's ``np.sort`` gives the values alone).

    ``values`` is differentiable: its gradient is ``g`` put back at ``indices``. Always a
    stable sort (``stable`` and NumPy's ``kind`` are accepted); ``axis=None`` flattens first.
    """
    descending = _flag(descending, "sort", "descending")
    _flag(stable, "sort", "stable")
    x = _as_input(x)
    if axis is None:
        x, axis = x.reshape((-1,)), 0
    if x.ndim == 0:
        _sort_axis("sort", axis, 0)
        values, indices = sort(x.reshape((1,)))
        return SortResult(values.reshape(()), indices.reshape(()))
    axis = _sort_axis("sort", axis, x.ndim)
    indices = _stable_argsort(x.data, axis, descending).astype(np.int64, copy=False)
    return SortResult(Gather.apply(x, index=indices, axis=axis), Tensor._wrap(indices))


@torch_names
def topk(x, k, axis=-1, largest=True, sorted=True):  # noqa: A002 (torch's name)
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) entries along
    ``axis`` (``torch.topk``), in order from the most extreme.

    ``values`` is differentiable (``g`` put back at ``indices``). Ties go to the lower index.
    The result is always sorted (torch's ``sorted=False`` leaves the order open).
    """
    x = _as_input(x)
    if x.ndim == 0:
        _sort_axis("topk", axis, 0)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= 1:
            raise ValueError(f"topk: k must be 0 or 1 for a 0-d tensor, got {k!r}")
        # A 0-d result has no length to be k: torch gives the one element for k = 0 too.
        values, indices = topk(x.reshape((1,)), 1, largest=largest)
        return TopkResult(values.reshape(()), indices.reshape(()))
    axis = _sort_axis("topk", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int in [0, {n}] for axis {axis} of a tensor of "
                         f"shape {x.shape}, got {k!r}")
    order = _stable_argsort(x.data, axis, descending=largest)
    indices = np.ascontiguousarray(np.take(order, np.arange(k), axis=axis), dtype=np.int64)
    return TopkResult(Gather.apply(x, index=indices, axis=axis), Tensor._wrap(indices))


def nonzero(x, as_tuple=True):
    """Positions of the nonzero (True) entries, in row-major order, as int64 (no gradient).

    NumPy's form by default: a tuple of one 1-d tensor per axis. ``as_tuple=False`` gives
    torch's default form: one ``(N, x.ndim)`` tensor, a row per entry. A 0-d ``x`` counts as
    1-d for the tuple (as torch; NumPy refuses it).
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not as_tuple:
        return Tensor._wrap(np.argwhere(data).astype(np.int64, copy=False))
    return tuple(Tensor._wrap(i.astype(np.int64, copy=False))
                 for i in np.nonzero(np.atleast_1d(data)))


@torch_names
def unique(x, return_index=False, return_inverse=False, return_counts=False, axis=None,
           sorted=True, equal_nan=True):  # noqa: A002 (NumPy's and torch's name)
    """The sorted distinct values of ``x`` (NumPy's ``unique``; torch's ``dim`` is ``axis``);
    forward only, no gradient.

    ``axis=None`` flattens ``x``; with an axis, the distinct slices along it. Optional extra
    outputs, in NumPy's order: ``index`` (first position of each value in the flattened
    ``x``), ``inverse`` (``x`` rebuilt as ``unique[inverse]``; it has ``x``'s shape when
    ``axis`` is None, as torch and NumPy 2), ``counts``; all int64. The result is always sorted.
    NaNs count as one value (NumPy's ``equal_nan``).
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if axis is not None:
        axis = _sort_axis("unique", axis, data.ndim)
        if data.ndim == 0:
            data, axis = data.reshape(1), 0
    flat = data.reshape(-1) if axis is None else data
    result = np.unique(flat, return_index=True, return_inverse=True, return_counts=True,
                       axis=axis, equal_nan=equal_nan)
    values, first, inverse, counts = result
    if axis is None:
        inverse = inverse.reshape(data.shape)
    else:
        inverse = inverse.reshape(-1)
    wanted = [(values, True), (first, return_index), (inverse, return_inverse),
              (counts, return_counts)]
    out = tuple(Tensor._wrap(np.asarray(a if k == 0 else a.astype(np.int64, copy=False)))
                for k, (a, keep) in enumerate(wanted) if keep)
    return out[0] if len(out) == 1 else out


@numpy_names
def unique_consecutive(x, return_inverse=False, return_counts=False, dim=None):
    """torch's ``unique_consecutive``: one element of every run of equal consecutive values
    (of the flattened ``x``, or of equal consecutive slices along ``dim``), in order; with
    ``return_inverse`` the run of every element (``x``'s shape, or ``x.shape[dim]``), with
    ``return_counts`` each run's length, both int64. NaN equals nothing, as in torch. No
    gradient."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if dim is None:
        flat = data.reshape(-1)
        starts = np.ones(flat.shape[0], bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        inverse_shape = data.shape
    else:
        axis = normalize_axes(dim, data.ndim, "unique_consecutive")[0]
        moved = np.moveaxis(data, axis, 0)
        starts = np.ones(moved.shape[0], bool)
        if moved.shape[0] > 1:
            starts[1:] = (moved[1:] != moved[:-1]).reshape(moved.shape[0] - 1, -1).any(axis=1)
        values = np.moveaxis(moved[starts], 0, axis)
        inverse_shape = (moved.shape[0],)
    out = [Tensor._wrap(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(Tensor._wrap((np.cumsum(starts) - 1).astype(np.int64).reshape(inverse_shape)))
    if return_counts:
        edges = np.append(np.flatnonzero(starts), starts.shape[0])
        out.append(Tensor._wrap(np.diff(edges).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
