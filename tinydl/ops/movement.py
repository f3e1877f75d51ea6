"""Movement ops: flip, roll, repeat/tile, repeat_interleave, tril/triu, diag, diagonal, trace,
narrow, select, chunk, unbind, movedim/moveaxis, meshgrid. (Padding modes are ``pad`` in
``shape.py``.)

They move values without arithmetic, so each gradient moves the output gradient back to where
its values came from: a flip flips it back, a roll rolls it back, a tiling sums the copies.
Where an op is a reshape, a broadcast, a slice or a gather, it is written as one (exact, and
differentiable to any order for free); the rest are one ``Function`` each.

This module is longer than 500 lines because it holds the whole family (19 public ops),
each written beside the inverse movement that is its gradient.
"""
import math

import numpy as np

from tinydl.autograd import Function
from tinydl.ops._util import ShapeError, as_input, as_tensor, normalize_axes, torch_names
from tinydl.ops.elementwise import copy as _copy
from tinydl.ops.shape import broadcast_to, reshape, split, transpose
from tinydl.tensor import Tensor


def _one_axis(axis, ndim, op):
    """One axis, made non-negative and checked (``normalize_axes`` for a single int)."""
    return normalize_axes(axis, ndim, op)[0]


def _int_tuple(values, op, what):
    """``values`` (an int, or a sequence of ints, possibly given as separate arguments) as a
    tuple of Python ints."""
    if len(values) == 1 and isinstance(values[0], (tuple, list, np.ndarray, Tensor)):
        values = values[0]
    if isinstance(values, Tensor):
        values = values.data
    values = tuple(np.asarray(values).reshape(-1).tolist()) if isinstance(
        values, np.ndarray) else tuple(values)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {what} must be integers, got {values!r}")
    return tuple(int(v) for v in values)


# ----------------------------------------------------------------------------- flip, roll
class Flip(Function):
    """x reversed along axes (a copy, as torch.flip); dx = g flipped along the same axes.

    Not NumPy's view: an in-place op on a flipped image (``img.flip(-1).add_(noise)``) would
    otherwise write into the original, silently for a torch user.
    """

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axes=()):
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return (Flip.apply(g, axes=ctx.axes),)


def flip(x, axis=None, *, dims=None):
    """Reverse the order of elements along ``axis`` (an int, a tuple; all axes when None, as
    NumPy). torch's ``dims`` is an alias. Shape unchanged; a copy (torch's ``flip``; NumPy's
    is a view)."""
    x = as_input(x)
    if dims is not None:
        if axis is not None:
            raise TypeError("flip: got both 'axis' and its torch alias 'dims'")
        axis = dims
    axes = normalize_axes(tuple(axis) if isinstance(axis, list) else axis, x.ndim, "flip")
    return Flip.apply(x, axes=axes)


class Roll(Function):
    """x shifted cyclically: out[(i + shift) mod n] = x[i] along each axis; dx = g rolled by
    -shift."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, shift=0, axis=None):
        ctx.shift, ctx.axis = shift, axis
        return np.roll(x, shift, axis)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shift) if isinstance(ctx.shift, tuple) else -ctx.shift
        return (Roll.apply(g, shift=back, axis=ctx.axis),)


def roll(x, shift=None, axis=None, *, shifts=None, dims=None):
    """Roll elements along ``axis`` as ``np.roll`` (torch's ``shifts``, ``dims`` are aliases):
    element ``i`` moves to ``(i + shift) mod n``; elements rolled past the end come back at the
    start. ``axis=None`` rolls the flattened tensor and restores the shape. A tuple ``shift``
    pairs with a tuple ``axis``; one int shift with a tuple of axes shifts each of them."""
    x = as_input(x)
    shift = _alias("roll", "shift", shift, "shifts", shifts)
    axis = _alias("roll", "axis", axis, "dims", dims)
    if shift is None:
        raise TypeError("roll: missing the shift")
    if isinstance(shift, (tuple, list)):
        shift = _int_tuple((shift,), "roll", "shifts")
    elif isinstance(shift, bool) or not isinstance(shift, (int, np.integer)):
        raise TypeError(f"roll: shift must be an int or a tuple of ints, got {shift!r}")
    else:
        shift = int(shift)
    if axis is not None:
        if isinstance(axis, (tuple, list)):
            axis = tuple(_one_axis(a, x.ndim, "roll") for a in axis)
            n_shifts = len(shift) if isinstance(shift, tuple) else 1
            if isinstance(shift, tuple) and n_shifts != len(axis):
                raise ValueError(f"roll: {n_shifts} shifts for {len(axis)} axes {axis}")
        else:
            if isinstance(shift, tuple):
                raise ValueError(f"roll: {len(shift)} shifts for one axis {axis}")
            axis = _one_axis(axis, x.ndim, "roll")
    elif isinstance(shift, tuple) and len(shift) != 1:
        raise ShapeError(f"roll: {len(shift)} shifts need as many axes (got axis=None)")
    return Roll.apply(x, shift=shift, axis=axis)


def _alias(op, name, value, torch_name, torch_value):
    if torch_value is None:
        return value
    if value is not None:
        raise TypeError(f"{op}: got both {name!r} and its torch alias {torch_name!r}")
    return torch_value


# ----------------------------------------------------------------------------- tiling
def _tile(x, reps):
    """``x`` repeated ``reps[i]`` times along each axis (``len(reps) == x.ndim``), as a
    reshape to (1, s0, 1, s1, ...), a broadcast to (r0, s0, r1, s1, ...) and a reshape to
    (r0 s0, r1 s1, ...); the gradient sums the copies (the broadcast's gradient)."""
    if all(r == 1 for r in reps):
        return _copy(x)  # a new array, as np.tile and torch's repeat give
    interleaved = sum(((1, n) for n in x.shape), ())
    stretched = sum(((r, n) for r, n in zip(reps, x.shape)), ())
    out_shape = tuple(r * n for r, n in zip(reps, x.shape))
    return _own_array(reshape(broadcast_to(reshape(x, interleaved), stretched), out_shape))


def _own_array(t):
    """``t`` itself when the final reshape of a broadcast copied, else a copy: when only
    length-1 or new leading axes repeat, that reshape is a read-only view of the input (a
    later write to the input would show through, and the result could not be written)."""
    return t if t.data.flags.writeable else _copy(t)


def tile(x, reps):
    """``x`` repeated ``reps`` times along each axis, as ``np.tile`` (and ``torch.tile``).

    ``reps`` shorter than ``x.ndim`` is padded with leading 1s; longer adds leading axes to
    ``x``. Output shape: ``reps[i] * x.shape[i]`` (after that padding)."""
    x = as_input(x)
    reps = _int_tuple((reps,), "tile", "reps")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps}")
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    x = reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    return _tile(x, reps)


@torch_names
def repeat(a, repeats, axis=None):
    """NumPy's ``np.repeat``: each element repeated in place, ``[a, b]`` with ``repeats=2``
    gives ``[a, a, b, b]`` (``repeats`` an int or one per element along ``axis``; ``axis``
    None works on the flattened tensor). The same as ``repeat_interleave``.

    torch's ``Tensor.repeat`` (tiling) is the method ``x.repeat(*sizes)`` and ``tile``; the
    function was tiling once, which turned ``tinydl.repeat(labels, k)``, NumPy's idiom, into
    ``[a, b, a, b]`` and ``repeat(m, 2, 0)`` into an empty tensor without a word."""
    return repeat_interleave(a, repeats, axis)


def repeat_tiles(x, *sizes):
    """torch's ``Tensor.repeat``: ``x`` tiled ``sizes[i]`` times along axis ``i``
    (``x.repeat(2, 3)`` or ``x.repeat((2, 3))``). ``len(sizes)`` must be at least
    ``x.ndim``; extra sizes add leading axes. Output shape ``sizes[i] * shape[i]``.
    (The function ``repeat`` is NumPy's, which repeats each element in place.)"""
    x = as_input(x)
    sizes = _int_tuple(sizes, "repeat", "sizes")
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}: "
                         "give one size per axis (at least)")
    if any(r < 0 for r in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    return tile(x, sizes)


@torch_names
def repeat_interleave(x, repeats=None, axis=None, *, output_size=None):
    """Each element repeated in place, as ``np.repeat`` / ``torch.repeat_interleave``:
    ``[a, b]`` with ``repeats=2`` gives ``[a, a, b, b]``.

    ``repeats``: an int, or one non-negative int per element along ``axis`` (a tensor or
    sequence; length 1 broadcasts). ``axis=None`` works on the flattened tensor. torch's
    one-argument form ``repeat_interleave(counts)`` gives ``[0]*counts[0] + [1]*counts[1] ...``.
    ``output_size`` (torch's) is checked against the result's length along ``axis``.
    """
    if repeats is None:  # torch's repeat_interleave(repeats): the indices, repeated
        counts = _repeat_counts(x, None, "repeat_interleave")
        return Tensor._wrap(np.repeat(np.arange(counts.size), counts))
    x = as_input(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _one_axis(axis, x.ndim, "repeat_interleave")
    n = x.shape[axis]
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, bool):
        counts = None
        if repeats < 0:
            raise ValueError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        length = n * int(repeats)
    else:
        counts = _repeat_counts(repeats, n, "repeat_interleave")
        length = int(counts.sum())
    if output_size is not None and output_size != length:
        raise ValueError(f"repeat_interleave: output_size {output_size} does not match the "
                         f"{length} elements the repeats give along axis {axis}")
    if counts is None:  # each element broadcast along a new axis right after its own
        r, shape = int(repeats), x.shape
        if r == 1:
            return _copy(x)
        inner = reshape(x, shape[:axis + 1] + (1,) + shape[axis + 1:])
        wide = broadcast_to(inner, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return _own_array(reshape(wide, shape[:axis] + (length,) + shape[axis + 1:]))
    # a gather: output position j reads element src[j]; the gradient sums over the copies
    src = np.repeat(np.arange(n), counts)
    return x[(slice(None),) * axis + (src,)]


def _repeat_counts(repeats, n, op):
    """``repeats`` as a 1-d int64 array of non-negative counts, of length ``n`` (length 1
    broadcasts; ``n=None`` accepts any length)."""
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu" and counts.size:
        raise TypeError(f"{op}: repeats must be integers, got dtype {counts.dtype}")
    if counts.ndim > 1:
        raise ValueError(f"{op}: repeats must be an int or 1-d, got shape {counts.shape}")
    counts = counts.astype(np.int64).reshape(-1)
    if (counts < 0).any():
        raise ValueError(f"{op}: repeats must be non-negative, got {counts.tolist()}")
    if n is not None:
        if counts.size == 1:
            counts = np.full(n, counts[0])
        elif counts.size != n:
            raise ValueError(f"{op}: {counts.size} repeats for an axis of length {n}")
    return counts


# ----------------------------------------------------------------------------- triangles
class Triangle(Function):
    """tril (upper=False) / triu (upper=True) of the last two axes, diagonal ``k``;
    dx = the same triangle of g."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, k=0, upper=False):
        ctx.k, ctx.upper = k, upper
        return np.triu(x, k) if upper else np.tril(x, k)

    @staticmethod
    def backward(ctx, g):
        return (Triangle.apply(g, k=ctx.k, upper=ctx.upper),)


def _triangle(op, x, k, diagonal, upper):
    x = as_input(x)
    k = _alias(op, "k", k, "diagonal", diagonal)
    k = 0 if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{op}: k must be an int, got {k!r}")
    if x.ndim == 0:
        raise ValueError(f"{op}: needs a tensor of at least 1 dimension, got a 0-d tensor")
    if x.ndim == 1:  # NumPy's rule: a vector is read as the rows of a square matrix
        x = broadcast_to(x, x.shape * 2)
    return Triangle.apply(x, k=int(k), upper=upper)


def tril(x, k=None, *, diagonal=None):
    """Lower triangle of the last two axes: entries with ``col - row > k`` zeroed, as
    ``np.tril`` (torch's ``diagonal`` is an alias of ``k``). Shape unchanged; a 1-d ``x`` is
    taken as the rows of an (n, n) matrix, as NumPy does."""
    return _triangle("tril", x, k, diagonal, upper=False)


def triu(x, k=None, *, diagonal=None):
    """Upper triangle of the last two axes: entries with ``col - row < k`` zeroed, as
    ``np.triu`` (torch's ``diagonal`` is an alias of ``k``)."""
    return _triangle("triu", x, k, diagonal, upper=True)


# ----------------------------------------------------------------------------- diagonals
def _diagonal_index(shape, offset):
    """(rows, cols) of the ``offset`` diagonal of an (m, n) matrix: col - row = offset."""
    m, n = shape
    length = max(0, min(m, n - offset) if offset >= 0 else min(m + offset, n))
    rows = np.arange(length) + max(-offset, 0)
    return rows, rows + offset


def _diagonal_view(x, offset, axis1, axis2):
    """``np.diagonal(x, offset, axis1, axis2)`` as a view that is writable where x is: torch's
    ``A.diagonal().add_(eps)`` / ``.fill_(0)`` writes into A (NumPy's diagonal is read-only)."""
    planes = np.moveaxis(x, (axis1, axis2), (-2, -1))
    rows, cols = _diagonal_index(planes.shape[-2:], offset)
    if not rows.size:
        return np.diagonal(x, offset, axis1, axis2)
    first = planes[..., rows[0], cols[0]:]  # starts at the diagonal's first element
    steps = planes.strides[:-2] + (planes.strides[-2] + planes.strides[-1],)
    return np.lib.stride_tricks.as_strided(first, planes.shape[:-2] + (rows.size,), steps)


class Diagonal(Function):
    """The ``offset`` diagonal of the (axis1, axis2) planes, as a new last axis (a view,
    writable as torch's); dx = g written back on that diagonal of zeros."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, offset=0, axis1=0, axis2=1):
        ctx.where = dict(offset=offset, axis1=axis1, axis2=axis2)
        return _diagonal_view(x, offset, axis1, axis2)

    @staticmethod
    def backward(ctx, g):
        return (DiagonalScatter.apply(g, shape=ctx.inputs[0].shape, **ctx.where),)


class DiagonalScatter(Function):
    """zeros(shape) with d written on the ``offset`` diagonal of the (axis1, axis2) planes
    (``d``'s last axis runs along the diagonal); dd = that diagonal of g."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, d, shape=(), offset=0, axis1=0, axis2=1):
        ctx.where = dict(offset=offset, axis1=axis1, axis2=axis2)
        out = np.zeros(shape, dtype=d.dtype)
        planes = np.moveaxis(out, (axis1, axis2), (-2, -1))  # a writable view of out
        rows, cols = _diagonal_index(planes.shape[-2:], offset)
        planes[..., rows, cols] = d
        return out

    @staticmethod
    def backward(ctx, g):
        return (Diagonal.apply(g, **ctx.where),)


def diagonal(x, offset=0, axis1=0, axis2=1, *, dim1=None, dim2=None):
    """The ``offset`` diagonal (``col - row = offset``) of the planes spanned by ``axis1`` and
    ``axis2``, as ``np.diagonal`` (torch's ``dim1``/``dim2`` are aliases): those two axes are
    removed and the diagonal becomes the last axis. A view, writable as torch's
    (``A.diagonal().add_(1e-6)`` writes into A; NumPy's is read-only)."""
    x = as_input(x)
    axis1 = axis1 if dim1 is None else dim1  # not @torch_names: its dim1 means axis2
    axis2 = axis2 if dim2 is None else dim2
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = _one_axis(axis1, x.ndim, "diagonal"), _one_axis(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 are the same axis {a1}")
    return Diagonal.apply(x, offset=int(offset), axis1=a1, axis2=a2)


def diag(x, k=None, *, diagonal=None):
    """``np.diag`` (torch's ``diagonal`` is an alias of ``k``): a 1-d ``x`` of length n gives
    the (n + |k|, n + |k|) matrix with ``x`` on its ``k`` diagonal; a 2-d ``x`` gives its
    ``k`` diagonal (a 1-d copy)."""
    x = as_input(x)
    k = _alias("diag", "k", k, "diagonal", diagonal)
    k = 0 if k is None else int(k)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        return DiagonalScatter.apply(x, shape=(n, n), offset=k, axis1=0, axis2=1)
    if x.ndim == 2:
        return _copy(Diagonal.apply(x, offset=k, axis1=0, axis2=1))
    raise ValueError(f"diag: needs a 1-d or 2-d tensor, got shape {x.shape}")


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the ``offset`` diagonal of the (axis1, axis2) planes, as ``np.trace``: a scalar
    for a matrix, the other axes kept otherwise. The gradient is g on that diagonal."""
    d = diagonal(x, offset, axis1, axis2)
    return d.sum(axis=-1)


# ----------------------------------------------------------------------------- pieces
@torch_names
def narrow(x, axis, start, length):
    """torch's ``narrow(dim, start, length)``: ``x`` sliced to ``start:start + length`` along
    ``axis`` (a view; a negative ``start`` counts from the end)."""
    x = as_input(x)
    axis = _one_axis(axis, x.ndim, "narrow")
    n = x.shape[axis]
    start = int(start.item() if isinstance(start, Tensor) else start)
    length = int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for axis {axis} of length {n}")
    start = start + n if start < 0 else start
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start {start} + length {length} exceeds axis {axis} of "
                         f"length {n} (shape {x.shape})")
    return x[(slice(None),) * axis + (slice(start, start + length),)]


@torch_names
def select(x, axis, index):
    """torch's ``select(dim, index)``: ``x[..., index, ...]`` taken along ``axis``, which goes
    away (a view; a negative ``index`` counts from the end)."""
    x = as_input(x)
    if x.ndim == 0:
        raise IndexError("select: a 0-d tensor has no axis to select from")
    axis = _one_axis(axis, x.ndim, "select")
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(f"select: index must be an int, got {index!r}")
    n, index = x.shape[axis], index.__index__()  # (a float tensor raises there)
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for axis {axis} of length "
                         f"{n} (shape {x.shape})")
    return x[(slice(None),) * axis + (index,)]


@torch_names
def chunk(x, chunks, axis=0):
    """torch's ``chunk``: pieces of ``ceil(n / chunks)`` along ``axis``, the last one smaller,
    so there may be fewer than ``chunks`` pieces (7 in 4 chunks: 2, 2, 2, 1; 5 in 4: 2, 2, 1).
    An empty axis gives ``chunks`` empty pieces. Each piece is a view."""
    x = as_input(x)
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    axis = _one_axis(axis, x.ndim, "chunk")
    n = x.shape[axis]
    if n == 0:
        return split(x, int(chunks), axis=axis)
    step = -(-n // int(chunks))
    return split(x, list(range(step, n, step)), axis=axis)


@torch_names
def unbind(x, axis=0):
    """torch's ``unbind``: the slices ``x[..., i, ...]`` along ``axis``, as a tuple (each a
    view, with ``axis`` removed)."""
    x = as_input(x)
    axis = _one_axis(axis, x.ndim, "unbind")
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


# ----------------------------------------------------------------------------- axes
def moveaxis(x, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or equal-length tuples), the
    others keeping their order, as ``np.moveaxis`` / ``torch.movedim``. A view."""
    x = as_input(x)
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must have "
                         "the same number of axes")
    src = [_one_axis(a, x.ndim, "moveaxis") for a in src]
    dst = [_one_axis(a, x.ndim, "moveaxis") for a in dst]
    for name, axes in (("source", src), ("destination", dst)):
        if len(set(axes)) != len(axes):
            raise ValueError(f"moveaxis: repeated axis in {name} {axes}")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


movedim = moveaxis  # torch's name


# ----------------------------------------------------------------------------- grids
def meshgrid(*xs, indexing=None, sparse=False, copy=True):
    """Coordinate grids from 1-d tensors, as ``np.meshgrid`` (and ``torch.meshgrid``).

    With inputs of lengths n0, n1, n2...: ``indexing='ij'`` gives outputs of shape
    (n0, n1, n2, ...), output ``i`` varying along axis ``i``; ``indexing='xy'`` (NumPy's
    default, Cartesian) swaps the first two axes, (n1, n0, n2, ...). Note that torch's default
    is ``'ij'``: pass it explicitly when porting. ``sparse=True`` returns the un-broadcast
    shapes; ``copy=False`` returns read-only broadcast views. Inputs of any shape are
    flattened (NumPy's rule). A single list argument, torch's form ``meshgrid([a, b])``, is
    unpacked, but needs ``indexing`` said: torch's default there is ``'ij'``, and NumPy's
    ``'xy'`` would swap its grids' first two axes unseen. The gradient of each output sums
    over the axes it was broadcast along.
    """
    if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
        if indexing is None:
            raise TypeError(
                "meshgrid([a, b]) is torch's form, whose default indexing is 'ij' where "
                "NumPy's (tinydl's) is 'xy' (the first two axes swapped): pass indexing='ij' "
                "for torch's grids or indexing='xy' for NumPy's")
        xs = tuple(xs[0])
    if indexing is None:
        indexing = "xy"
    if indexing not in ("xy", "ij"):
        raise ShapeError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [reshape(as_tensor(x), (-1,)) for x in xs]
    ndim = len(xs)
    lengths = [x.shape[0] for x in xs]
    if indexing == "xy" and ndim > 1:
        lengths[0], lengths[1] = lengths[1], lengths[0]
    outs = []
    for i, x in enumerate(xs):
        position = (1 - i if i < 2 else i) if indexing == "xy" and ndim > 1 else i
        shape = [1] * ndim
        shape[position] = x.shape[0]
        out = reshape(x, tuple(shape))
        if not sparse:
            out = broadcast_to(out, tuple(lengths))
            if copy:
                out = _copy(out)
        outs.append(out)
    return tuple(outs)



def unfold(x, axis, size, step):
    """torch's ``Tensor.unfold(dimension, size, step)``: every window of ``size`` elements along
    ``axis``, ``step`` apart, with the window as a new last axis. For x of shape (..., n, ...)
    the result has shape (..., (n - size) // step + 1, ..., size). A copy (torch's is a
    view): in-place writes to either do not reach the other (the README says so too)."""
    x = as_input(x)
    axis = _one_axis(axis, max(x.ndim, 1), "unfold")
    n = x.shape[axis] if x.ndim else 1
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0 or size > n:
        raise ShapeError(f"unfold: size {size!r} must be an int between 0 and the length {n} of "
                         f"axis {axis} (shape {x.shape})")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step <= 0:
        raise ShapeError(f"unfold: step must be a positive int, got {step!r}")
    if x.ndim == 0:
        x = reshape(x, (1,))
    windows = (n - size) // step + 1
    starts = np.arange(windows) * step
    index = (starts[:, None] + np.arange(size)[None, :]).reshape(-1)
    from tinydl.ops.gather import index_select
    picked = index_select(x, axis, Tensor._wrap(index))
    picked = reshape(picked, x.shape[:axis] + (windows, size) + x.shape[axis + 1:])
    return moveaxis(picked, axis + 1, -1)


@torch_names
def unflatten(x, axis, sizes):
    """torch's ``unflatten(dim, sizes)``: axis ``axis`` reshaped into ``sizes`` (one may be -1)."""
    x = as_input(x)
    axis = _one_axis(axis, x.ndim, "unflatten")
    sizes = tuple(int(v) for v in sizes)
    known = math.prod([v for v in sizes if v != -1])
    n = x.shape[axis]
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != n) or (
            sizes.count(-1) == 1 and (known == 0 or n % known)):
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to the length {n} of axis "
                         f"{axis} (shape {x.shape})")
    sizes = tuple(n // known if v == -1 else v for v in sizes)
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


def masked_select(x, mask):
    """torch's ``masked_select``: the elements of ``x`` where the boolean ``mask`` (broadcast
    together with x) is True, as a 1-D tensor in row-major order."""
    x = as_input(x)
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be boolean, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return broadcast_to(x, shape)[np.broadcast_to(mask, shape)]


def split_sizes(x, split_size_or_sections, axis=0):
    """torch's ``split``: pieces of ``split_size`` along ``axis`` (the last may be smaller), or
    pieces of the given sizes, which must add up to the axis length. (``tinydl.split`` is
    NumPy's, whose int is the number of sections; ``Tensor.split`` is this one.)"""
    x = as_input(x)
    axis = _one_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n > 0 or size < 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        # An empty axis gives one empty piece, as torch.
        sizes = ([size] * (n // size) + ([n % size] if n % size else []) if size else []) or [0]
    else:
        sizes = [int(v) for v in split_size_or_sections]
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise ValueError(f"split: sizes {sizes} must be non-negative and add up to the length "
                             f"{n} of axis {axis} (shape {x.shape})")
    points = list(np.cumsum(sizes)[:-1])
    return tuple(split(x, points, axis=axis)) if sizes else ()
