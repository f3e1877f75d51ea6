"""Shape ops: reshape, transpose, swapaxes, expand_dims, squeeze, flatten, broadcast_to,
concatenate, stack, split, pad (constant, reflect, symmetric, edge/replicate, wrap/circular;
negative widths crop). Gradients move data back to where it came from. More movement ops
(flip, roll, tile, diagonal...) are in ``movement.py``."""
import math

import numpy as np

from tinydl.autograd import Function, is_grad_enabled, track_view, version_counter
from tinydl.ops._util import (ShapeError, as_input, as_tensor, normalize_axes, operands,
                              refused_spelling, tensor_of, torch_names, unbroadcast)
from tinydl.tensor import Tensor


class Reshape(Function):
    """x with a new shape (a view where NumPy can); dx = g reshaped back."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        try:
            return np.reshape(x, shape)
        except ValueError:
            hint = (" (with no elements, -1 could be any length: give every length)"
                    if x.size == 0 and -1 in shape else "")
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}{hint}") from None

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.inputs[0].shape),)


def reshape(x, shape):
    """View ``x`` with a new shape (one entry may be -1)."""
    x = as_input(x)
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(shape)
    if shape == x.shape and not _records(x):
        return _alias(x)
    return Reshape.apply(x, shape=shape)


def _alias(x):
    """A new tensor on ``x``'s array, sharing its version counter: a reshape, squeeze or
    broadcast to x's own shape outside the graph (torch: a view). x itself came back before,
    so ``y.requires_grad_()`` on the "view" turned on x's too."""
    out = Tensor._wrap(x.data)
    out._vc = version_counter(x)
    out._base = x
    if not x.requires_grad and is_grad_enabled():
        track_view(x, out)
    return out


def _records(x):
    """Whether an op on ``x`` is recorded: then even a reshape to the same shape is a new
    node (as torch's view), so a hook or retain_grad on it sees only its own path."""
    return x.requires_grad and is_grad_enabled()


class Transpose(Function):
    """x with permuted axes; dx = g with the inverse permutation."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            axes = tuple(range(x.ndim))[::-1]
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}")
        ctx.axes = tuple(a % x.ndim for a in axes)
        return np.transpose(x, ctx.axes)

    @staticmethod
    def backward(ctx, g):
        return (g.transpose(tuple(np.argsort(ctx.axes))),)


def transpose(x, axes=None, dim1=None, *, dim0=None):
    """Permute axes (reverse them when ``axes`` is None), as NumPy's function. torch's
    ``transpose(x, dim0, dim1)`` (two dims, positional or by name) swaps those two axes, as
    the method ``x.transpose(0, 1)`` does (NumPy's raises there)."""
    if dim0 is not None:
        if axes is not None:
            raise TypeError("transpose: got both axes and torch's dim0")
        axes = dim0
    if dim1 is not None:
        if axes is None:
            raise TypeError("transpose: torch's dim1 needs dim0 (the two dims to swap)")
        return swapaxes(x, axes, dim1)
    if dim0 is not None:
        raise TypeError("transpose: torch's dim0 needs dim1 (the two dims to swap)")
    return Transpose.apply(as_tensor(x), axes=None if axes is None else tuple(axes))


@torch_names
def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    x = as_input(x)
    a, b = normalize_axes(axis1, x.ndim, "swapaxes")[0], normalize_axes(axis2, x.ndim,
                                                                         "swapaxes")[0]
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose.apply(x, axes=tuple(axes))


swapdims = swapaxes  # torch's name


def permute(x, dims):
    """torch's ``permute(x, dims)``: the axes reordered, ``dims`` a full permutation
    (NumPy's ``transpose(x, axes)``)."""
    return tensor_of(x).permute(dims)


def t(x):
    """torch's ``t(x)``: a matrix transposed; a vector or a 0-d tensor as it is."""
    return tensor_of(x).t()


def numel(x):
    """torch's ``numel(x)``: the number of elements, an int (NumPy's ``size``)."""
    return tensor_of(x).numel()


class BroadcastTo(Function):
    """x broadcast to a shape (a read-only view); dx = g summed over the broadcast axes."""

    retain_inputs = ()
    retain_output = False
    view = True

    @staticmethod
    def forward(ctx, x, shape=()):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to "
                             f"{tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return (unbroadcast(g, ctx.inputs[0].shape),)


def broadcast_to(x, shape):
    """Broadcast to ``shape`` as NumPy does; the gradient sums over the broadcast axes."""
    x = as_input(x)
    shape = tuple(shape)
    if shape == x.shape and not _records(x):
        return _alias(x)
    return BroadcastTo.apply(x, shape=shape)


class Concatenate(Function):
    """Tensors joined along an axis; each input gets its slice of g."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("concatenate: need at least one tensor")
        try:
            out = np.concatenate(arrays, axis=axis)
        except (ValueError, np.exceptions.AxisError):
            raise ShapeError(f"concatenate: shapes {[a.shape for a in arrays]} do not match "
                             f"outside axis {axis}") from None
        ctx.axis = axis % out.ndim
        ctx.sizes = [a.shape[ctx.axis] for a in arrays]
        return out

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        for inp, n in zip(ctx.inputs, ctx.sizes):
            if isinstance(inp, Tensor) and inp.requires_grad:
                index = [slice(None)] * g.ndim
                index[ctx.axis] = slice(start, start + n)
                grads.append(g[tuple(index)])
            else:
                grads.append(None)
            start += n
        return tuple(grads)


def refuse_single(op, tensors):
    """A join given one Tensor (or array) instead of a sequence raises, as torch's: NumPy
    would join its rows, so ``cat(x)`` for ``cat([x, y])`` flattened x silently."""
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{op}: expects a sequence of tensors, got a single "
                        f"{type(tensors).__name__}; to join its rows pass list(t)")


@torch_names
def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (``axis=None``: flattened first, as NumPy).

    Dtypes as torch's ``cat``: integer and bool tensors joined with float ones take the
    float dtype (int64 with float32 gives float32, where NumPy gives float64). A single
    tensor in place of the sequence raises (``refuse_single``).
    """
    refuse_single("concatenate", tensors)
    tensors = operands(*tensors)  # (a float list takes the tensors' float dtype)
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    if floats and len(floats) < len(tensors):
        target = np.result_type(*floats)
        tensors = [t if t.dtype.kind == "f" else Tensor._wrap(t.data.astype(target))
                   for t in tensors]
    if axis is None:
        tensors, axis = [reshape(t, (-1,)) for t in tensors], 0
    elif tensors and tensors[0].ndim and isinstance(axis, (int, np.integer)):
        # out of range: an IndexError (AxisError) as everywhere else, not a shape mismatch
        normalize_axes(axis, tensors[0].ndim, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


class Pad(Function):
    """Constant padding as ``np.pad(x, pad_width, constant_values=c)``; backward slices."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, pad_width=(), constant_values=0):
        width = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
        if (width < 0).any():
            raise ValueError(f"pad: negative pad_width {pad_width}")
        ctx.index = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(width, x.shape))
        if x.ndim == 0:  # np.pad fails on the (0, 2) widths of a 0-d array
            return x.copy()
        return np.pad(x, width, mode="constant", constant_values=constant_values)

    @staticmethod
    def backward(ctx, g):
        return (g[ctx.index],)


# tinydl's mode names -> NumPy's; torch's names are aliases of NumPy's
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "symmetric": "symmetric",
              "edge": "edge", "replicate": "edge", "wrap": "wrap", "circular": "wrap"}


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad as ``np.pad``: ``pad_width`` is an int, ``(before, after)`` or one pair per axis.

    ``mode``: ``'constant'`` (``constant_values``, default 0), ``'reflect'`` (mirror without
    repeating the edge: ``3 2 | 1 2 3 | 2 1``), ``'symmetric'`` (mirror with it),
    ``'edge'`` (torch's ``'replicate'``), ``'wrap'`` (torch's ``'circular'``). Widths wider
    than the axis repeat the pattern, as NumPy does (torch refuses them).

    A negative width crops, as in torch's ``F.pad``, in torch's order: ``'constant'``,
    ``'reflect'``, ``'symmetric'`` and ``'edge'`` pad the whole tensor, then crop (so the
    borders mirror the original edges); ``'wrap'`` crops first, then wraps what is left.

    The non-constant modes gather: output index ``i`` reads input index ``src[i]`` with
    ``src = np.pad(arange(n), width, mode)``, so the gradient sums over every position an
    element was copied to (``getitem``'s gradient).
    """
    x = as_input(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    mode = _PAD_MODES[mode]
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values is only for mode='constant', not {mode!r}")
    width = _pad_widths(pad_width, x.shape)
    if mode == "constant" or not (width > 0).any():
        # np.pad always returns a new array: so does pad, even with nothing to add
        x = Pad.apply(x, pad_width=np.maximum(width, 0),
                      constant_values=0 if constant_values is None else constant_values)
        return _crop(x, np.maximum(-width, 0))
    for axis, (lo, hi) in enumerate(width.tolist()):
        n = x.shape[axis]
        if lo <= 0 and hi <= 0:  # only cropping (or nothing): the same in every mode
            x = _crop(x, np.array([(0, 0)] * axis + [(-lo, -hi)]))
            continue
        if mode == "wrap":
            keep = np.arange(n)[max(-lo, 0):n - max(-hi, 0)]
            if keep.size == 0 and (lo > 0 or hi > 0):
                raise ValueError(f"pad: mode 'wrap' crops axis {axis} of shape {x.shape} to "
                                 f"nothing with widths {(lo, hi)}, and cannot wrap nothing")
            src = np.pad(keep, (max(lo, 0), max(hi, 0)), mode="wrap")
        else:
            if n == 0 and (lo > 0 or hi > 0):
                raise ValueError(f"pad: cannot extend axis {axis} of length 0 (shape {x.shape}) "
                                 f"with mode {mode!r}; only 'constant' can")
            src = np.pad(np.arange(n), (max(lo, 0), max(hi, 0)), mode=mode)
            src = src[max(-lo, 0):src.size - max(-hi, 0)]
        x = x[(slice(None),) * axis + (src,)]
    return x


def _pad_widths(pad_width, shape):
    """``pad_width`` as an (ndim, 2) int64 array, checked: integers, and no axis cropped to
    a negative length."""
    try:
        given = np.asarray(pad_width)
        width = np.broadcast_to(given, (len(shape), 2)).astype(np.int64)
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} is not an int, a (before, after) pair "
                         f"or one pair per axis of a tensor of shape {shape}") from None
    if given.dtype.kind not in "iu" and given.size:
        raise TypeError(f"pad: pad_width must hold integers, got {pad_width!r}")
    for axis, ((lo, hi), n) in enumerate(zip(width.tolist(), shape)):
        if n + lo + hi < 0:
            raise ValueError(f"pad: widths {(lo, hi)} crop axis {axis} of length {n} (shape "
                             f"{shape}) to a negative length {n + lo + hi}")
    return width


def _crop(x, crop):
    """``x`` with ``crop[axis] = (before, after)`` elements cut from each end (a view)."""
    if not crop.any():
        return x
    return x[tuple(slice(int(lo), n - int(hi)) for (lo, hi), n in zip(crop, x.shape))]


@torch_names
def expand_dims(x, axis):
    """Insert a length-1 axis at ``axis``."""
    x = as_input(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = normalize_axes(axes, out_ndim, "expand_dims")
    sizes = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(sizes) for i in range(out_ndim)))


@torch_names
def unsqueeze(x, axis):
    """torch's ``unsqueeze(x, dim)``: ``expand_dims`` with one int axis (-ndim-1 <= axis <=
    ndim), as torch takes."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"unsqueeze: dim must be an int, got {axis!r} (expand_dims takes "
                        "a tuple of axes)")
    return expand_dims(x, axis)


@torch_names
def squeeze(x, axis=None):
    """Remove length-1 axes (all of them, or those in ``axis``)."""
    x = as_input(x)
    axes = normalize_axes(axis, x.ndim, "squeeze")
    if axis is not None:
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length "
                                 f"{x.shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


@torch_names
def flatten(x, start_axis=0, end_axis=-1):
    """Merge axes ``start_axis..end_axis`` into one (all of them by default, as NumPy)."""
    x = as_input(x)
    if x.ndim == 0:  # axes 0 and -1 name its one element (torch's rule); others are refused
        normalize_axes(start_axis, 0, "flatten", zero_d=True)
        normalize_axes(end_axis, 0, "flatten", zero_d=True)
        return reshape(x, (1,))
    start = normalize_axes(start_axis, x.ndim, "flatten")[0]
    end = normalize_axes(end_axis, x.ndim, "flatten")[0]
    if start > end:
        raise ValueError(f"flatten: start axis {start_axis} comes after end axis {end_axis} "
                         f"for a tensor of shape {x.shape}")
    merged = math.prod(x.shape[start:end + 1])  # Python ints: exact, and 40x np.prod's speed
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def ravel(x, order="C"):
    """The elements as one axis, in C order (NumPy's and torch's ``ravel``): a view where
    the strides allow, else a copy. ``order`` other than 'C' raises."""
    if order != "C":
        raise ValueError(f"ravel: tinydl reads the elements in C order only, got "
                         f"order={order!r}")
    return reshape(x, (-1,))


@torch_names
def stack(tensors, axis=0):
    """Join tensors of equal shape along a new axis (a single tensor in place of the
    sequence raises, as torch's)."""
    refuse_single("stack", tensors)
    tensors = operands(*tensors)  # (a float list takes the tensors' float dtype)
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {tuple(np.shape(t)) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


@refused_spelling(lambda x, args, kwargs: "dim" in kwargs, lambda x, args, kwargs: (
    "split: dim= is torch's spelling, but tinydl.split is NumPy's (an int is the number of "
    "sections, a list the split points; torch's are the pieces' sizes): write "
    "x.split(size, dim) for torch's, or tinydl.split(x, n, axis=) for NumPy's"))
@torch_names
def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors, as ``np.split`` (equal sections or split points).

    Note: this is NumPy's ``split`` (an int is the number of sections); torch's ``split`` takes
    the size of each piece instead: ``x.split(size, dim)``, the method, is torch's, and
    torch's ``dim=`` here raises.
    """
    x = as_input(x)
    axis = normalize_axes(axis, x.ndim, "split")[0]
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0:
            raise ValueError(f"split: the number of sections must be positive, got "
                             f"{indices_or_sections}")
        if n == 0:  # an empty axis splits into that many empty pieces (as np.split)
            points = [0] * (int(indices_or_sections) - 1)
            bounds = [0] + points + [0]
            return [x[tuple([slice(None)] * axis + [slice(lo, hi)])]
                    for lo, hi in zip(bounds[:-1], bounds[1:])]
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        points = list(range(step, n, step))
    else:
        points = list(indices_or_sections)
    bounds = [0] + points + [n]
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index = [slice(None)] * x.ndim
        index[axis] = slice(lo, hi)
        pieces.append(x[tuple(index)])
    return pieces
