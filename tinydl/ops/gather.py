"""Gather and scatter along one axis: torch's ``gather``, ``scatter``, ``scatter_add``,
``scatter_reduce``, ``index_select``, ``index_add`` and NumPy's ``take_along_axis``.

Each moves values by an integer index tensor along ``axis``. In two dimensions, axis 0::

    gather:       out[i][j] = x[index[i][j]][j]
    scatter_add:  out = x;  out[index[i][j]][j] += src[i][j]

The two are each other's gradient. The gradient of ``gather`` adds ``g`` back to the
positions the values came from (``scatter_add`` into zeros: an element picked twice gets both
gradients), and the gradient of ``scatter_add`` with respect to ``src`` gathers ``g`` from the
positions ``src`` went to. ``scatter`` (write, not add) and the reductions of
``scatter_reduce`` build on the same pair.

Indices follow torch: in ``[0, size)`` (``take_along_axis`` also takes NumPy's negative
indices), integer tensors or arrays, checked before use; an index out of range raises an
``IndexError`` naming the op, the axis, the bad index and the axis' size.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.ops._checks import _check_fill_fits
from tinydl.ops._util import (ShapeError, as_tensor, held_array, normalize_axes, numpy_names,
                              torch_names)
from tinydl.ops.elementwise import where
from tinydl.tensor import Tensor


# ----------------------------------------------------------------------------- checks
def index_array(op, index, name="index"):
    """``index`` (a Tensor, array, list or int) as an integer ndarray, or a clear TypeError."""
    if isinstance(index, Tensor):
        arr = index.data
    elif isinstance(index, np.ndarray):
        arr = index
    elif isinstance(index, (list, tuple, int, np.integer)) and not isinstance(index, bool):
        arr = np.asarray(index)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)  # [] reads as float in NumPy
    else:
        raise TypeError(f"{op}: {name} must be an integer tensor, got {type(index).__name__}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer tensor, got dtype {arr.dtype}"
                        + (" (for a boolean mask use nonzero(mask) or x[mask])"
                           if arr.dtype == np.bool_ else ""))
    return held_array(arr, index)


def check_bounds(op, index, axis, size, negative=False):
    """``index`` with every entry checked to lie in ``[0, size)`` (``[-size, size)`` and
    wrapped to non-negative when ``negative``); an IndexError names the first bad one."""
    if index.size == 0:
        return index
    low = -size if negative else 0
    lo, hi = index.min(), index.max()
    if lo < low or hi >= size:
        bad = index[(index < low) | (index >= size)].flat[0]
        hint = (" (negative indices are not allowed here, as in torch)"
                if bad < 0 and not negative and -size <= bad else "")
        raise IndexError(f"{op}: index {bad} is out of bounds for axis {axis} with size {size}"
                         + hint)
    if negative and lo < 0:
        index = np.where(index < 0, index + size, index)
    return index


def _check_same_dtype(op, x, src, name="src"):
    """torch's rule: what is written into ``x`` has ``x``'s dtype (no silent casts)."""
    if src.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {src.dtype} and the input {x.dtype}; they must "
                        f"match (as in torch): cast one with astype")


def _one_axis(op, axis, ndim):
    """``axis`` as one non-negative int (a 0-d tensor takes 0 or -1, as in torch)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    return normalize_axes(axis, max(ndim, 1), op)[0]


def _check_fits(op, index, shape, axis):
    """torch's rule: index has the input's number of axes and is no longer on any but ``axis``."""
    if index.ndim != len(shape):
        raise ShapeError(f"{op}: index has {index.ndim} dimensions and the input {len(shape)}; "
                         "they must have the same number")
    if any(i > n for d, (i, n) in enumerate(zip(index.shape, shape)) if d != axis):
        raise ShapeError(f"{op}: index of shape {index.shape} is longer than the input of shape "
                         f"{tuple(shape)} on an axis other than {axis}")


def _along_axis(index, axis):
    """The NumPy index that picks, for each entry of ``index``, position ``index[p]`` along
    ``axis`` and ``p``'s own position along every other axis."""
    ndim = index.ndim
    return tuple(index if d == axis else
                 np.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1))
                 for d, n in enumerate(index.shape))


def _constant(array):
    """A Tensor outside the graph (zeros, masks, counts used by a gradient)."""
    return Tensor._wrap(array)


def _as_input(x):
    """``x`` as a Tensor (arrays wrapped without a copy, lists and numbers as ``Tensor()``)."""
    x = as_tensor(x)
    return x if isinstance(x, Tensor) else Tensor(x)


def _shape(x):
    """The shape of a Tensor, array, list or number."""
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _restore(out, shape):
    """A 0-d input was made 1-d: give the result its shape back."""
    return out.reshape(shape) if out.shape != shape else out


# ----------------------------------------------------------------------------- gather
class Gather(Function):
    """out[p] = x[p with index[p] along axis]; dx = scatter_add(zeros, index, g)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, index=None, axis=0):
        ctx.index, ctx.axis = index, axis
        return x[_along_axis(index, axis)]

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        zeros = _constant(np.zeros(x.shape, dtype=g.dtype))
        return (ScatterAdd.apply(zeros, g, index=ctx.index, axis=ctx.axis),)


@torch_names
def gather(x, axis, index):
    """``out[i][j][k] = x[i][index[i][j][k]][k]`` for axis 1 (``torch.gather(input, dim, index)``).

    ``index`` is an integer tensor with as many axes as ``x``, no longer than ``x`` on any
    axis but ``axis``, entries in ``[0, x.shape[axis])``; the output has ``index``'s shape.
    Gradient: ``g`` added back where each value came from, repeated indices accumulating.
    """
    x = _as_input(x)
    index = index_array("gather", index)
    if x.ndim == 0:  # torch treats a 0-d tensor as one of shape (1,)
        return gather(x.reshape((1,)), _one_axis("gather", axis, 0),
                      index.reshape(-1)).reshape(index.shape)
    axis = _one_axis("gather", axis, x.ndim)
    _check_fits("gather", index, x.shape, axis)
    index = check_bounds("gather", index, axis, x.shape[axis])
    return Gather.apply(x, index=index, axis=axis)


# ----------------------------------------------------------------------------- scatter
class ScatterAdd(Function):
    """out = x; out[p with index[p] along axis] += src[p]; dx = g, dsrc = gather(g, index)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, src, index=None, axis=0):
        ctx.index, ctx.axis = index, axis
        out = x.copy()
        np.add.at(out, _along_axis(index, axis), src)  # repeated positions accumulate
        return out

    @staticmethod
    def backward(ctx, g):
        return g, Gather.apply(g, index=ctx.index, axis=ctx.axis)


class Scatter(Function):
    """out = x; out[p with index[p] along axis] = src[p]; dx = g zeroed there, dsrc = gather(g)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, src, index=None, axis=0):
        ctx.index, ctx.axis = index, axis
        out = x.copy()
        out[_along_axis(index, axis)] = src
        return out

    @staticmethod
    def backward(ctx, g):
        zeros = _constant(np.zeros(ctx.index.shape, dtype=g.dtype))
        return (Scatter.apply(g, zeros, index=ctx.index, axis=ctx.axis),
                Gather.apply(g, index=ctx.index, axis=ctx.axis))


def _scatter_args(op, x, axis, index, src):
    """Checked ``(x, axis, index, src)`` for the scatter family, ``src`` cut to ``index``'s
    shape (torch reads only that corner of a larger ``src``) and 0-d inputs made 1-d."""
    x = _as_input(x)
    index = index_array(op, index)
    if isinstance(src, (int, float, np.number)) and not isinstance(src, bool):
        src = _constant(np.full(index.shape, src, dtype=x.dtype))
    src = _as_input(src)
    _check_same_dtype(op, x, src)
    if x.ndim == 0:
        axis = _one_axis(op, axis, 0)
        x, index, src = x.reshape((1,)), index.reshape(-1), src.reshape((-1,))
    axis = _one_axis(op, axis, x.ndim)
    _check_fits(op, index, x.shape, axis)
    if src.ndim != index.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
        raise ValueError(f"{op}: src of shape {src.shape} is smaller than index of shape "
                         f"{index.shape} (src needs index's number of axes, each at least as "
                         "long)")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    index = check_bounds(op, index, axis, x.shape[axis])
    return x, axis, index, src


@torch_names
def scatter(x, axis, index, src=None, value=None, reduce=None):
    """``x`` with ``out[i][index[i][j]][k] = src[i][j][k]`` for axis 1 (``torch.scatter``, out
    of place).

    ``reduce='add'`` or ``'multiply'`` (torch's older form of ``scatter_reduce``) accumulates
    into ``x`` instead: ``scatter_add``, or ``scatter_reduce(..., 'prod')``.

    ``src`` is a tensor (at least ``index``'s shape; only that corner is read) or a number
    (also as torch's ``value=``). Where ``index`` repeats a position, which write wins is
    unspecified (as in torch). Gradient as torch: ``src`` gets ``g`` gathered from where it
    went (every write, also one that lost), ``x`` gets ``g`` with the written positions zeroed.
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src (a tensor) and value (a number)")
    number = value if src is None else None if isinstance(src, (Tensor, np.ndarray)) else src
    if number is not None:  # torch's check: uint8 -2 wrapped to 254, NaN into int64 to 0
        _check_fill_fits(number, as_tensor(x).dtype, "scatter")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ShapeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if src is None or not isinstance(src, (Tensor, np.ndarray)):
            src = np.full(np.shape(index.data if isinstance(index, Tensor) else index),
                          value if src is None else src, dtype=as_tensor(x).dtype)
        if reduce == "add":
            return scatter_add(x, axis, index, src)
        return scatter_reduce(x, axis, index, src, "prod")
    shape = _shape(x)
    x, axis, index, src = _scatter_args("scatter", x, axis, index,
                                        src if value is None else value)
    return _restore(Scatter.apply(x, src, index=index, axis=axis), shape)


@torch_names
def scatter_add(x, axis, index, src):
    """``x`` with ``out[i][index[i][j]][k] += src[i][j][k]`` for axis 1 (``torch.scatter_add``):
    repeated positions accumulate. Gradient: ``g`` for ``x``, ``g`` gathered for ``src``."""
    shape = _shape(x)
    x, axis, index, src = _scatter_args("scatter_add", x, axis, index, src)
    return _restore(ScatterAdd.apply(x, src, index=index, axis=axis), shape)


# ----------------------------------------------------------------------------- scatter_reduce
class ScatterProd(Function):
    """out = x times the src scattered onto each position; each factor's gradient is g times
    the product of the other factors at its position."""

    retain_inputs = True
    retain_output = True

    @staticmethod
    def forward(ctx, x, src, index=None, axis=0):
        ctx.index, ctx.axis = index, axis
        out = x.copy()
        np.multiply.at(out, _along_axis(index, axis), src)
        return out

    @staticmethod
    def backward(ctx, g):
        # "The product of the others" is out / factor, except where a factor is 0: there it
        # is the product with that factor set to 1 (torch's formula). Written in tinydl ops on
        # x, src and out, so it can be differentiated again; that second derivative is exact
        # unless two or more src zeros meet at one position (torch refuses that case).
        x, src = ctx.inputs
        index, axis = ctx.index, ctx.axis
        out = ctx.output
        dx = dsrc = None
        if x.requires_grad:
            x_zero = x.data == 0
            if x_zero.any():
                masked = where(x_zero, 1.0, x)
                dx = g * ScatterProd.apply(masked, src, index=index, axis=axis) / masked
            else:
                dx = g * out / x
        if src.requires_grad:
            src_zero = src.data == 0
            if not src_zero.any():
                dsrc = Gather.apply(g * out, index=index, axis=axis) / src
            else:
                zeros_at = np.zeros(x.shape, dtype=np.int64)
                np.add.at(zeros_at, _along_axis(index, axis), src_zero)
                single = src_zero & (zeros_at[_along_axis(index, axis)] == 1)
                others = ScatterProd.apply(x, where(single, 1.0, src), index=index, axis=axis)
                dsrc = where(single, Gather.apply(g * others, index=index, axis=axis),
                             Gather.apply(g * out, index=index, axis=axis)
                             / where(src_zero, 1.0, src))
        return dx, dsrc


class ScatterExtremum(Function):
    """out = max (or min) of x (when include_self) and the src scattered onto each position;
    the gradient goes to the elements equal to the result, split evenly among ties."""

    retain_inputs = True
    retain_output = True

    @staticmethod
    def forward(ctx, x, src, index=None, axis=0, largest=True, include_self=True):
        ctx.index, ctx.axis, ctx.include_self = index, axis, include_self
        positions = _along_axis(index, axis)
        out = x.copy()
        if not include_self:  # start the written positions at the reduction's identity
            out[positions] = _lowest(x.dtype) if largest else _highest(x.dtype)
        (np.maximum if largest else np.minimum).at(out, positions, src)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src = ctx.inputs
        positions = _along_axis(ctx.index, ctx.axis)
        out = ctx.output.data
        self_hit = x.data == out
        if not ctx.include_self:
            self_hit[positions] = False
        src_hit = src.data == out[positions]
        count = self_hit.astype(g.dtype)
        np.add.at(count, positions, src_hit)
        count[count == 0] = 1  # only where the result is NaN: no element gets a gradient
        return (g * _constant(self_hit / count),
                Gather.apply(g, index=ctx.index, axis=ctx.axis)
                * _constant((src_hit / count[positions]).astype(g.dtype)))


def _lowest(dtype):
    """The identity of max in ``dtype``: -inf, the most negative integer, or False."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _highest(dtype):
    """The identity of min in ``dtype``: inf, the largest integer, or True."""
    if dtype.kind == "f":
        return np.inf
    return True if dtype.kind == "b" else np.iinfo(dtype).max


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


@torch_names
def scatter_reduce(x, axis, index, src, reduce, include_self=True):
    """``x`` with the ``src`` values scattered onto each position (as ``scatter_add``) combined
    by ``reduce`` in ``'sum', 'prod', 'mean', 'amax', 'amin'`` (``torch.scatter_reduce``).

    With ``include_self`` the value of ``x`` at a position takes part, else only the ``src``
    written there (positions nothing is written to keep ``x``). ``'mean'`` divides by the
    number of values taken (integers: floor division, as torch). Gradients as torch: ``amax``
    and ``amin`` split ``g`` evenly among the tied elements equal to the result; ``prod`` is
    right with zeros (the product of the other factors), its second derivative too unless two
    zeros of ``src`` meet at one position.
    """
    if reduce not in _REDUCTIONS:
        raise ShapeError(f"scatter_reduce: reduce must be one of {_REDUCTIONS}, got {reduce!r}")
    shape = _shape(x)
    x, axis, index, src = _scatter_args("scatter_reduce", x, axis, index, src)
    if reduce == "mean" and x.dtype == np.bool_:  # the floor division gave int8; torch refuses
        raise TypeError("scatter_reduce: reduce='mean' is not defined for bool tensors")
    if reduce in ("amax", "amin"):
        out = ScatterExtremum.apply(x, src, index=index, axis=axis, largest=reduce == "amax",
                                    include_self=include_self)
        return _restore(out, shape)
    if not include_self:  # the reduction's identity where src is written, then include it
        identity = 1 if reduce == "prod" else 0
        x = Scatter.apply(x, _constant(np.full(index.shape, identity, dtype=x.dtype)),
                          index=index, axis=axis)
    if reduce == "prod":
        return _restore(ScatterProd.apply(x, src, index=index, axis=axis), shape)
    total = ScatterAdd.apply(x, src, index=index, axis=axis)
    if reduce == "sum":
        return _restore(total, shape)
    count = np.zeros(x.shape, dtype=np.int64)
    np.add.at(count, _along_axis(index, axis), 1)
    count += bool(include_self)
    count[count == 0] = 1
    if x.dtype.kind != "f":
        return _restore(_constant(total.data // count.astype(x.dtype)), shape)
    return _restore(total / _constant(count.astype(x.dtype)), shape)


# ----------------------------------------------------------------------------- along one axis
def _spread(index, shape, axis):
    """A 1-d ``index`` as a read-only view of ``shape`` with ``len(index)`` along ``axis``,
    its entries repeated along every other axis (what gather and scatter_add take)."""
    ndim = len(shape)
    target = shape[:axis] + (index.shape[0],) + shape[axis + 1:]
    return np.broadcast_to(index.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis - 1)), target)


@torch_names
def index_select(x, axis, index):
    """The slices ``x[..., index[j], ...]`` along ``axis`` (``torch.index_select``; NumPy's
    ``np.take(x, index, axis)`` for non-negative ``index``).

    ``index`` is a 0-d or 1-d integer tensor in ``[0, x.shape[axis])``; the output has
    ``len(index)`` along ``axis``. Gradient: ``g`` added back, repeated indices accumulating.
    """
    x = _as_input(x)
    index = index_array("index_select", index)
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-d, got shape {index.shape}")
    if x.ndim == 0:  # as torch: one index gives a 0-d result
        out = index_select(x.reshape((1,)), _one_axis("index_select", axis, 0), index)
        return out.reshape(()) if out.size == 1 else out
    axis = _one_axis("index_select", axis, x.ndim)
    index = check_bounds("index_select", index.reshape(-1), axis, x.shape[axis])
    return Gather.apply(x, index=_spread(index, x.shape, axis), axis=axis)


@torch_names
def index_add(x, axis, index, source, alpha=1):
    """``x`` with ``alpha * source[..., j, ...]`` added to ``x[..., index[j], ...]`` along
    ``axis`` (``torch.index_add``, out of place): repeated indices accumulate.

    ``source`` has ``x``'s shape with ``len(index)`` along ``axis`` and ``x``'s dtype.
    Gradient: ``g`` for ``x``, ``alpha * index_select(g, axis, index)`` for ``source``.
    """
    x, source = _as_input(x), _as_input(source)
    index = index_array("index_add", index)
    _check_same_dtype("index_add", x, source, "source")
    if index.ndim > 1:
        raise ValueError(f"index_add: index must be 0-d or 1-d, got shape {index.shape}")
    if x.ndim == 0:
        axis = _one_axis("index_add", axis, 0)
        return index_add(x.reshape((1,)), axis, index, source.reshape((-1,)),
                         alpha=alpha).reshape(())
    axis = _one_axis("index_add", axis, x.ndim)
    index = index.reshape(-1)
    want = x.shape[:axis] + (index.shape[0],) + x.shape[axis + 1:]
    if source.shape != want:
        raise ValueError(f"index_add: source of shape {source.shape} does not fit: with "
                         f"{index.shape[0]} indices along axis {axis} of an input of shape "
                         f"{x.shape} it must have shape {want}")
    index = check_bounds("index_add", index, axis, x.shape[axis])
    if alpha != 1:
        if x.dtype.kind != "f" and alpha != int(alpha):
            raise TypeError(f"index_add: alpha={alpha!r} would make the {x.dtype} input "
                            "fractional (integer tensors take an integer alpha, as in torch)")
        source = source * (alpha if x.dtype.kind == "f" else int(alpha))
    return ScatterAdd.apply(x, source, index=_spread(index, x.shape, axis), axis=axis)


def take_along_axis(x, indices, axis=-1):
    """``out[..., j, ...] = x[..., indices[..., j, ...], ...]`` along ``axis`` (NumPy's
    ``take_along_axis``; torch's ``take_along_dim``).

    ``indices`` has ``x``'s number of axes and broadcasts with ``x`` on every other axis;
    negative indices count from the end. ``axis=None`` works on the flattened ``x`` with 1-d
    ``indices``. Gradient: ``g`` added back where each value came from, repeats accumulating.
    """
    x = _as_input(x)
    indices = index_array("take_along_axis", indices, "indices")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None indices must be 1-d, got shape "
                             f"{indices.shape}")
        x, axis = x.reshape((-1,)), 0
    if x.ndim == 0:
        raise ValueError("take_along_axis: a 0-d tensor has no axis to take along (pass "
                         "axis=None)")
    axis = _one_axis("take_along_axis", axis, x.ndim)
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices has {indices.ndim} dimensions and the input "
                         f"{x.ndim}; they must have the same number")
    others = [(n, i) for d, (n, i) in enumerate(zip(x.shape, indices.shape)) if d != axis]
    try:
        common = np.broadcast_shapes(tuple(n for n, _ in others), tuple(i for _, i in others))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} and the input of "
                         f"shape {x.shape} do not broadcast on the axes other than {axis}"
                         ) from None
    indices = check_bounds("take_along_axis", indices, axis, x.shape[axis], negative=True)
    common = list(common)
    x_shape = tuple(common[:axis] + [x.shape[axis]] + common[axis:])
    if x.shape != x_shape:
        x = x.broadcast_to(x_shape)
    indices = np.broadcast_to(indices, tuple(common[:axis] + [indices.shape[axis]]
                                             + common[axis:]))
    return Gather.apply(x, index=indices, axis=axis)


@numpy_names
def take_along_dim(input, indices, dim=None):  # noqa: A002 (torch's names)
    """torch's ``take_along_dim``: ``take_along_axis`` with torch's names (``dim=None``
    flattens both, as there)."""
    if dim is None:
        indices = indices.reshape((-1,)) if isinstance(indices, Tensor) else \
            np.asarray(indices).reshape(-1)
    return take_along_axis(input, indices, axis=dim)
