"""Joining, splitting and rearranging, by NumPy's names: ``hstack``, ``vstack`` (torch's
``row_stack``), ``dstack``, ``column_stack``, ``hsplit``, ``vsplit``, ``dsplit``,
``array_split`` (torch's ``tensor_split``), ``rot90``, ``fliplr``, ``flipud``, ``diagflat``;
and torch's ``diag_embed`` and ``combinations``.

Each is written with the shape ops (``concatenate``, ``split``, ``flip``, ``transpose``,
``reshape``, indexing, the diagonal scatter), so each gradient moves the output gradient
back to where its values came from.
"""
import itertools
import math

import numpy as np

from tinydl.ops._util import as_tensor, normalize_axes, operands, torch_names
from tinydl.ops.elementwise import copy as _copy
from tinydl.ops.movement import DiagonalScatter, diag, flip
from tinydl.ops.shape import concatenate, refuse_single, reshape, split, transpose
from tinydl.tensor import Tensor


# ----------------------------------------------------------------------------- stacking
def _pieces(op, tensors):
    """The tensors to join, as Tensors; a single Tensor raises (torch's rule; NumPy would
    join its rows)."""
    refuse_single(op, tensors)
    tensors = operands(*tensors)
    if not tensors:
        raise ValueError(f"{op}: need at least one tensor")
    return tensors


def _at_least(x, ndim):
    """NumPy's ``atleast_1d`` / ``atleast_2d`` / ``atleast_3d`` of one tensor: a 0-d x has
    shape (1,) * ndim, a vector (n,) becomes (1, n) and (1, n, 1), a matrix (m, n) becomes
    (m, n, 1)."""
    if x.ndim >= ndim:
        return x
    if x.ndim == 0:
        return reshape(x, (1,) * ndim)
    if x.ndim == 1:
        return reshape(x, (1, x.shape[0]) if ndim == 2 else (1, x.shape[0], 1))
    return reshape(x, x.shape + (1,))


def hstack(tensors):
    """Join along the second axis (the first for 1-D tensors), as ``np.hstack``."""
    tensors = [_at_least(t, 1) for t in _pieces("hstack", tensors)]
    return concatenate(tensors, axis=0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along the first axis, 1-D tensors (n,) taken as rows (1, n), as ``np.vstack``."""
    return concatenate([_at_least(t, 2) for t in _pieces("vstack", tensors)], axis=0)


row_stack = vstack  # torch's name (NumPy's, deprecated in NumPy 2)


def dstack(tensors):
    """Join along the third axis, after NumPy's ``atleast_3d`` ((n,) -> (1, n, 1),
    (m, n) -> (m, n, 1)), as ``np.dstack``."""
    return concatenate([_at_least(t, 3) for t in _pieces("dstack", tensors)], axis=2)


def column_stack(tensors):
    """Join along the second axis, 1-D tensors (n,) taken as columns (n, 1) (0-d as (1, 1)),
    as ``np.column_stack``."""
    tensors = [t if t.ndim >= 2 else reshape(t, (-1, 1))
               for t in _pieces("column_stack", tensors)]
    return concatenate(tensors, axis=1)


# ----------------------------------------------------------------------------- splitting
def _split_along(op, x, indices_or_sections, axis, min_ndim):
    """NumPy's ``split`` along ``axis`` of ``x``, which needs ``min_ndim`` dimensions."""
    x = as_tensor(x)
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: needs a tensor of at least {min_ndim} dimension"
                         f"{'s' if min_ndim > 1 else ''}, got shape {x.shape}")
    return split(x, _sections(op, indices_or_sections), axis=axis)


def _sections(op, indices_or_sections):
    """A number of sections (an int, or a 0-d integer tensor) or a list of split points (a
    sequence, or a 1-d integer tensor), as Python ints."""
    given = indices_or_sections
    if isinstance(given, (Tensor, np.ndarray)):
        data = given.data if isinstance(given, Tensor) else given
        if data.dtype.kind not in "iu" or data.ndim > 1:
            raise TypeError(f"{op}: indices_or_sections must be an int, a sequence of ints or "
                            f"a 0-d or 1-d integer tensor, got dtype {data.dtype} and shape "
                            f"{data.shape}")
        return int(data) if data.ndim == 0 else [int(i) for i in data]
    if isinstance(given, (int, np.integer)) and not isinstance(given, bool):
        return int(given)
    if isinstance(given, (list, tuple)) and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in given):
        return [int(i) for i in given]
    raise TypeError(f"{op}: indices_or_sections must be an int or a sequence of ints, got "
                    f"{given!r}")


def hsplit(x, indices_or_sections):
    """Split along the second axis (the first for a 1-D tensor), as ``np.hsplit``: an int is
    the number of equal sections, a list the split points."""
    x = as_tensor(x)
    return _split_along("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0, 1)


def vsplit(x, indices_or_sections):
    """Split along the first axis of a tensor of at least 2 dimensions, as ``np.vsplit``."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


def dsplit(x, indices_or_sections):
    """Split along the third axis of a tensor of at least 3 dimensions, as ``np.dsplit``."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


@torch_names
def array_split(x, indices_or_sections, axis=0):
    """Split along ``axis`` as ``np.array_split`` (torch's ``tensor_split``): an int n gives
    n pieces, the first ``len % n`` one element longer than the rest (so n need not divide
    the length); a list gives the split points (past the end: empty pieces). Each piece is
    a view."""
    return _array_split("array_split", x, indices_or_sections, axis)


def _array_split(op, x, indices_or_sections, axis):
    x = as_tensor(x)
    sections = _sections(op, indices_or_sections)
    axis = normalize_axes(axis, x.ndim, op)[0]
    if isinstance(sections, int):
        if sections <= 0:
            raise ValueError(f"{op}: the number of sections must be positive, got {sections}")
        size, extra = divmod(x.shape[axis], sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        sections = list(itertools.accumulate(sizes))[:-1]
    return split(x, sections, axis=axis)


@torch_names
def tensor_split(x, indices_or_sections=None, axis=0, *, sections=None, indices=None):
    """torch.tensor_split: ``array_split``'s pieces as a tuple (``dim=`` or ``axis=``; torch's
    keywords ``sections=`` and ``indices=`` too, and a 0-d or 1-d integer tensor)."""
    given = [v for v in (indices_or_sections, sections, indices) if v is not None]
    if len(given) != 1:
        raise TypeError("tensor_split: pass one of indices_or_sections, sections or indices")
    return tuple(_array_split("tensor_split", x, given[0], axis))


# ----------------------------------------------------------------------------- rotating
def rot90(x, k=1, axes=(0, 1), *, dims=None):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first axis towards
    the second, as ``np.rot90`` (torch's ``dims`` is an alias). A copy (torch's; NumPy gives a
    view). Shape: the two axes' lengths swapped when k is odd."""
    x = as_tensor(x)
    if dims is not None:
        axes = dims
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes}")
    if x.ndim < 2:
        raise ValueError(f"rot90: needs at least 2 dimensions, got shape {x.shape}")
    first, second = (normalize_axes(a, x.ndim, "rot90")[0] for a in axes)
    if first == second:
        raise ValueError(f"rot90: axes {axes} name the same axis")
    k = int(k) % 4
    if k == 0:
        return _copy(x)
    if k == 2:
        return flip(x, (first, second))
    order = list(range(x.ndim))
    order[first], order[second] = order[second], order[first]
    if k == 1:
        return transpose(flip(x, second), order)
    return flip(transpose(x, order), second)


def fliplr(x):
    """Reverse the second axis (left and right in a matrix), as ``np.fliplr``; a copy."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


def flipud(x):
    """Reverse the first axis (up and down in a matrix), as ``np.flipud``; a copy."""
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError("flipud: needs at least 1 dimension, got a 0-d tensor")
    return flip(x, 0)


# ----------------------------------------------------------------------------- diagonals
def diagflat(x, k=0, *, offset=None):
    """The flattened ``x`` on the ``k`` diagonal of a square matrix of side ``x.size + |k|``,
    as ``np.diagflat`` (torch's ``offset`` is an alias of ``k``)."""
    x = as_tensor(x)
    return diag(reshape(x, (-1,)), k if offset is None else offset)


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """torch.diag_embed: the last axis of ``x`` placed on the ``offset`` diagonal of new
    (dim1, dim2) planes (zeros elsewhere). The result has one axis more: ``dim1`` and ``dim2``
    of length ``n + |offset|`` (n = x.shape[-1]), the other axes ``x.shape[:-1]`` in order;
    ``diagonal(out, offset, dim1, dim2)`` gives ``x`` back."""
    x = as_tensor(x)
    ndim = x.ndim + 1
    a1 = normalize_axes(dim1, ndim, "diag_embed")[0]
    a2 = normalize_axes(dim2, ndim, "diag_embed")[0]
    if a1 == a2:
        raise ValueError(f"diag_embed: dim1 and dim2 name the same axis {a1}")
    n = x.shape[-1] + abs(int(offset))
    rest = iter(x.shape[:-1])
    shape = tuple(n if i in (a1, a2) else next(rest) for i in range(ndim))
    return DiagonalScatter.apply(x, shape=shape, offset=int(offset), axis1=a1, axis2=a2)


# ----------------------------------------------------------------------------- combinations
def combinations(x, r=2, with_replacement=False):
    """torch.combinations: the length-``r`` combinations of the entries of a 1-D ``x``, as
    ``itertools.combinations`` (``with_replacement``: ``combinations_with_replacement``)
    orders them, one per row: shape (C, r); ``r = 0`` gives an empty 1-D tensor, as torch."""
    x = as_tensor(x)
    if x.ndim != 1:
        raise ValueError(f"combinations: expects a 1-D tensor, got shape {x.shape}")
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
        raise ValueError(f"combinations: r must be a non-negative int, got {r!r}")
    if r == 0:
        return x[np.zeros(0, dtype=np.intp)]
    pick = (itertools.combinations_with_replacement if with_replacement
            else itertools.combinations)
    count = (math.comb(x.shape[0] + r - 1, r) if with_replacement
             else math.comb(x.shape[0], r))
    index = np.fromiter(itertools.chain.from_iterable(pick(range(x.shape[0]), r)),
                        dtype=np.intp, count=count * r).reshape(count, r)
    return x[index]
