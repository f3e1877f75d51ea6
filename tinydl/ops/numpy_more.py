"""NumPy's array-manipulation and index routines: ``append``, ``insert``, ``delete``,
``atleast_1d/2d/3d``, ``broadcast_arrays``, ``compress``, ``extract``, ``resize``,
``rollaxis``, ``trim_zeros``, ``ediff1d``; the constant builders ``empty_like``,
``identity``, ``geomspace``, ``tri``; and the index builders ``tril_indices``,
``triu_indices``, ``diag_indices``, ``indices``, ``unravel_index``, ``ravel_multi_index``,
``flatnonzero``; the set routines ``union1d``, ``intersect1d``, ``setdiff1d``; ``choose``;
the in-place writes ``put_along_axis``, ``place``, ``putmask``, ``copyto``; ``lexsort``,
``partition``, ``argpartition``; ``convolve``, ``correlate``, ``block`` and ``gradient``.

Every value-moving routine here is one rule (``_rearrange``): NumPy's own function is run on
an array of *element ids* (``0..x.size-1`` shaped as ``x``), which tells where each output
element comes from; the output is then ``ravel(x)[ids]``, an indexing op, so the gradient
(``g`` added back at each source, repeats accumulating) and every higher order come from
``getitem``. Index results are int64 Tensors outside the graph. Float results of the
builders default to float32, as every tinydl factory (NumPy's default is float64).
"""
import numpy as np

from tinydl.ops._checks import _check_fill_fits
from tinydl.ops._util import exact_for_integers, floating, normalize_axes, operands, tensor_of
from tinydl.ops.elementwise import astype, subtract
from tinydl.ops.gather import index_add, take_along_axis
from tinydl.ops.indexed import _write_at
from tinydl.ops.shape import broadcast_to, concatenate, reshape, stack
from tinydl.tensor import Tensor

_DEFAULT = np.float32


def _ids(shape, start=0):
    return np.arange(start, start + int(np.prod(shape)), dtype=np.int64).reshape(shape)


def _rearrange(x, route):
    """``x`` moved as ``route`` (a NumPy function of one array) moves an array of its shape:
    ``route`` runs on the element ids and the result gathers ``x`` at them."""
    ids = np.asarray(route(_ids(x.shape)))
    return reshape(x, (-1,))[ids.astype(np.int64, copy=False)]


def _index_tensor(a):
    return Tensor._wrap(np.asarray(a).astype(np.int64, copy=False))


def _float_dtype(dtype):
    return np.dtype(dtype) if dtype is not None else np.dtype(_DEFAULT)


# ----------------------------------------------------------------------------- joins, cuts
def append(arr, values, axis=None):
    """``np.append``: ``values`` joined to the end of ``arr``; both flattened when ``axis`` is
    None, else joined along ``axis`` (shapes must match off that axis). Gradient to both.
    Python floats (a number or a list) beside a float ``arr`` take its dtype, as in
    arithmetic (not rounded to float32 first)."""
    arr, values = operands(arr, values)
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))])
    if arr.ndim != values.ndim:
        raise ValueError(f"append: arr has shape {arr.shape} and values {values.shape}; along "
                         f"axis={axis} they need the same number of dimensions")
    return concatenate([arr, values], axis=axis)


def insert(arr, obj, values, axis=None):
    """``np.insert``: ``values`` (cast to ``arr``'s dtype, broadcast as NumPy does) placed
    before the indices ``obj`` (an int, a slice or a sequence) along ``axis`` (the flattened
    ``arr`` when None). Gradient to ``arr`` and ``values``."""
    arr = tensor_of(arr)
    # NumPy converts Python values straight to arr's dtype (2.7 into float64 exactly; an int
    # out of an integer dtype's range raises) and casts arrays 'unsafe'
    values = _values_of("insert", arr, values, casting="unsafe", convert_python=True)
    obj = obj.data if isinstance(obj, Tensor) else obj
    # the values' ids follow the array's, so one concatenated source holds both
    try:
        ids = np.insert(_ids(arr.shape), obj, _ids(values.shape, arr.size), axis=axis)
    except (IndexError, ValueError, TypeError) as err:
        raise type(err)(f"insert: cannot insert values of shape {values.shape} at {obj!r} "
                        f"into shape {arr.shape} (axis={axis}): {err}") from None
    source = concatenate([reshape(arr, (-1,)), reshape(values, (-1,))])
    return source[ids]


def delete(arr, obj, axis=None):
    """``np.delete``: ``arr`` without the entries ``obj`` (an int, a slice, a sequence or a
    boolean mask) along ``axis`` (the flattened ``arr`` when None)."""
    arr = tensor_of(arr)
    obj = obj.data if isinstance(obj, Tensor) else obj
    try:
        return _rearrange(arr, lambda ids: np.delete(ids, obj, axis=axis))
    except (IndexError, ValueError, TypeError) as err:
        raise type(err)(f"delete: cannot delete {obj!r} from shape {arr.shape} "
                        f"(axis={axis}): {err}") from None


def _atleast(n, arys):
    name = f"atleast_{n}d"
    fn = getattr(np, name)
    out = tuple(reshape(a, fn(np.empty(a.shape, np.bool_)).shape)
                for a in map(tensor_of, arys))
    if not out:
        raise TypeError(f"{name}: needs at least one array")
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """``np.atleast_1d``: each input viewed with at least one dimension (a 0-d one as
    ``(1,)``); one input gives a Tensor, several a tuple."""
    return _atleast(1, arys)


def atleast_2d(*arys):
    """``np.atleast_2d``: ``(n,)`` becomes ``(1, n)``, 0-d ``(1, 1)``."""
    return _atleast(2, arys)


def atleast_3d(*arys):
    """``np.atleast_3d``: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` ``(m, n, 1)``, 0-d
    ``(1, 1, 1)``."""
    return _atleast(3, arys)


def broadcast_arrays(*args, subok=False):
    """``np.broadcast_arrays`` (torch's ``broadcast_tensors``): every input broadcast to their
    common shape, as a tuple. Gradients sum back over the broadcast axes."""
    tensors = [tensor_of(a) for a in args]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ValueError(f"broadcast_arrays: shapes {[t.shape for t in tensors]} do not "
                         "broadcast together") from None
    return tuple(broadcast_to(t, shape) for t in tensors)


def compress(condition, a, axis=None):
    """``np.compress``: the slices of ``a`` along ``axis`` (the flattened ``a`` when None)
    where the 1-D ``condition`` is true; a shorter ``condition`` counts as false after its end,
    a longer one must be false there."""
    a = tensor_of(a)
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    if cond.ndim != 1:
        raise ValueError(f"compress: condition must be 1-D, got shape {cond.shape}")
    try:
        return _rearrange(a, lambda ids: np.compress(cond, ids, axis=axis))
    except (IndexError, ValueError) as err:
        raise type(err)(f"compress: condition of length {cond.size} on shape {a.shape} "
                        f"(axis={axis}): {err}") from None


def extract(condition, arr):
    """``np.extract``: the entries of the flattened ``arr`` where the flattened ``condition``
    is nonzero (``ravel(arr)[ravel(condition) != 0]``; sizes may differ, as NumPy)."""
    arr = tensor_of(arr)
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    return _rearrange(arr, lambda ids: np.extract(cond, ids))


def resize(a, new_shape):
    """``np.resize``: ``a`` flattened, repeated (or cut) to fill ``new_shape``. (The method
    ``ndarray.resize`` pads with zeros in place; torch's ``resize_`` likewise: not this.)"""
    a = tensor_of(a)
    new_shape = (new_shape,) if isinstance(new_shape, (int, np.integer)) else tuple(new_shape)
    if any(n < 0 for n in new_shape):
        raise ValueError(f"resize: all elements of new_shape must be non-negative, got "
                         f"{new_shape}")
    if a.size == 0 and int(np.prod(new_shape)):
        # NumPy fills with zeros here: values from nowhere, without a gradient
        return Tensor._wrap(np.zeros(new_shape, a.dtype))
    return _rearrange(a, lambda ids: np.resize(ids, new_shape))


def rollaxis(a, axis, start=0):
    """``np.rollaxis``: ``axis`` moved to sit before position ``start`` (NumPy's older form of
    ``moveaxis``)."""
    a = tensor_of(a)
    n = a.ndim
    if not -n <= axis < n:
        raise np.exceptions.AxisError(f"rollaxis: axis {axis} is out of bounds for shape "
                                      f"{a.shape}")
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"rollaxis: start {start} must be in [{-n}, {n}] for "
                                      f"shape {a.shape}")
    axis, start = axis % n, start + n if start < 0 else start
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start - 1 if axis < start else start, axis)
    return a.transpose(tuple(axes))


def trim_zeros(filt, trim="fb", axis=None):
    """``np.trim_zeros``: ``filt`` without its leading (``'f'``) and/or trailing (``'b'``)
    zeros; a slice, so the gradient flows to what remains."""
    filt = tensor_of(filt)
    if axis is not None or filt.ndim != 1:
        raise ValueError(f"trim_zeros: tinydl trims 1-D inputs only (axis=None), got shape "
                         f"{filt.shape} and axis={axis!r}")
    if not isinstance(trim, str) or set(trim.lower()) - set("fb"):
        raise ValueError(f"trim_zeros: trim must be a combination of 'f' and 'b', got {trim!r}")
    nz = np.flatnonzero(filt.data)
    trim = trim.lower()
    if nz.size == 0:
        return filt[0:0]
    start = int(nz[0]) if "f" in trim else 0
    stop = int(nz[-1]) + 1 if "b" in trim else filt.shape[0]
    return filt[start:stop]


def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: the differences ``ary[i+1] - ary[i]`` of the flattened ``ary``, with
    ``to_begin`` before and ``to_end`` after (flattened, cast to ``ary``'s dtype)."""
    ary = reshape(tensor_of(ary), (-1,))
    parts = [subtract(ary[1:], ary[:-1])]
    for name, extra, front in (("to_begin", to_begin, True), ("to_end", to_end, False)):
        if extra is None:
            continue
        extra = _values_of("ediff1d", ary, extra, name)
        parts.insert(0 if front else len(parts), reshape(extra, (-1,)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


# ----------------------------------------------------------------------------- builders
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """``np.empty_like``: an uninitialised tensor with ``prototype``'s shape (or ``shape``) and
    dtype (or ``dtype``); no gradient."""
    data = prototype.data if isinstance(prototype, Tensor) else np.asarray(prototype)
    if data.dtype.kind in "OUSV":  # None, a string: an object tensor (or a 0-d one)
        raise TypeError(f"empty_like: expects a tensor or an array, got "
                        f"{type(prototype).__name__}")
    return Tensor._wrap(np.empty(data.shape if shape is None else shape,
                                 dtype=dtype or data.dtype))


def identity(n, dtype=None):
    """``np.identity``: the ``n x n`` identity matrix (float32 unless ``dtype``)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"identity: n must be a non-negative integer, got {n!r}")
    return Tensor._wrap(np.identity(n, dtype=_float_dtype(dtype)))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.geomspace``: ``num`` numbers spaced evenly on a log scale from ``start`` to
    ``stop`` (float32 unless ``dtype``); ``start``, ``stop`` nonzero."""
    if not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"geomspace: num must be a non-negative integer, got {num!r}")
    start = start.data if isinstance(start, Tensor) else start
    stop = stop.data if isinstance(stop, Tensor) else stop
    if np.any(np.asarray(start) == 0) or np.any(np.asarray(stop) == 0):
        raise ValueError(f"geomspace: start and stop must be nonzero, got {start!r}, {stop!r}")
    data = np.geomspace(start, stop, num, endpoint, axis=axis)
    return Tensor._wrap(data.astype(_float_dtype(dtype) if dtype is not None or
                                    data.dtype.kind == "f" else data.dtype))


def tri(N, M=None, k=0, dtype=None):
    """``np.tri``: ``N x M`` (M defaults to N) with ones on and below the ``k``-th diagonal
    (float32 unless ``dtype``)."""
    return Tensor._wrap(np.tri(N, M, k, dtype=_float_dtype(dtype)))


def _refuse_torch_triangle(name, n, args, kwargs):
    if args or kwargs:
        raise TypeError(f"{name}: tinydl.{name} is NumPy's {name}(n, k=0, m=None), which "
                        f"returns a tuple of index arrays; write k= and m= by name (torch's "
                        f"{name}(row, col, offset) reads the same positions differently and "
                        f"returns a (2, N) tensor: use tinydl.stack({name}(row, k=offset, "
                        f"m=col)))")
    if n is None:
        raise TypeError(f"{name}: missing the matrix size n")


def tril_indices(n=None, *args, k=0, m=None, **kwargs):
    """``np.tril_indices``: ``(rows, cols)`` int64 tensors of the entries on and below the
    ``k``-th diagonal of an ``n x m`` matrix (m defaults to n). ``k`` and ``m`` are taken by
    name only: ``tril_indices(3, 3)`` means k=3 to NumPy and a 3x3 matrix to torch."""
    _refuse_torch_triangle("tril_indices", n, args, kwargs)
    return tuple(map(_index_tensor, np.tril_indices(n, k, m)))


def triu_indices(n=None, *args, k=0, m=None, **kwargs):
    """``np.triu_indices``: the entries on and above the ``k``-th diagonal (``k``, ``m`` by
    name only, as ``tril_indices``)."""
    _refuse_torch_triangle("triu_indices", n, args, kwargs)
    return tuple(map(_index_tensor, np.triu_indices(n, k, m)))


def diag_indices(n, ndim=2):
    """``np.diag_indices``: ``ndim`` copies of ``arange(n)`` (int64), the main diagonal's
    index of an ``n x ... x n`` array."""
    return tuple(map(_index_tensor, np.diag_indices(n, ndim)))


def indices(dimensions, dtype=np.int64, sparse=False):
    """``np.indices``: a ``(len(dimensions), *dimensions)`` int64 grid whose ``i``-th slice
    holds the ``i``-th index of each position; ``sparse`` gives a tuple of broadcastable
    arrays instead."""
    out = np.indices(tuple(dimensions), dtype=dtype, sparse=sparse)
    return tuple(map(Tensor._wrap, out)) if sparse else Tensor._wrap(out)


def unravel_index(indices, shape, order="C"):
    """``np.unravel_index`` (and ``torch.unravel_index``): the flat ``indices`` as a tuple of
    int64 coordinate tensors into an array of ``shape``."""
    flat = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if flat.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices must be integers, got dtype {flat.dtype}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        return tuple(map(_index_tensor, np.unravel_index(flat, shape, order=order)))
    except ValueError as err:
        raise ValueError(f"unravel_index: {err} (shape {shape})") from None


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """``np.ravel_multi_index``: the coordinate arrays ``multi_index`` (one per dimension of
    ``dims``) as flat int64 indices; ``mode`` ``'raise'``, ``'wrap'`` or ``'clip'``."""
    coords = [np.asarray(c.data if isinstance(c, Tensor) else c) for c in multi_index]
    try:
        return _index_tensor(np.ravel_multi_index(coords, tuple(dims), mode=mode,
                                                  order=order))
    except (ValueError, TypeError) as err:
        raise type(err)(f"ravel_multi_index: {err} (dims {tuple(dims)})") from None


def flatnonzero(a):
    """``np.flatnonzero``: the int64 positions of the nonzero entries of the flattened ``a``."""
    return _index_tensor(np.flatnonzero(a.data if isinstance(a, Tensor) else np.asarray(a)))


# ----------------------------------------------------------------------------- set routines
# The values are entries of the inputs: each is read from one position (its first occurrence),
# so the gradient reaches that entry; the sorting and matching run on the arrays.
def _flat_data(x):
    return reshape(x, (-1,)), x.data.reshape(-1)


def union1d(ar1, ar2):
    """``np.union1d``: the sorted unique values of both inputs (flattened)."""
    ar1, ar2 = operands(ar1, ar2)
    source = concatenate([reshape(ar1, (-1,)), reshape(ar2, (-1,))])
    first = np.unique(source.data, return_index=True)[1]
    return source[first]


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """``np.intersect1d``: the sorted values found in both inputs (flattened), read from
    ``ar1``; with ``return_indices`` also their int64 first positions in each input."""
    ar1, ar2 = operands(ar1, ar2)
    flat1, data1 = _flat_data(ar1)
    data2 = ar2.data.reshape(-1)
    i1, i2 = np.intersect1d(data1, data2, assume_unique, return_indices=True)[1:]
    out = flat1[i1.astype(np.int64)]
    return (out, _index_tensor(i1), _index_tensor(i2)) if return_indices else out


def setdiff1d(ar1, ar2, assume_unique=False):
    """``np.setdiff1d``: the unique values of ``ar1`` not in ``ar2``, sorted (with
    ``assume_unique``: every entry of the flattened ``ar1`` not in ``ar2``, in order)."""
    ar1, ar2 = operands(ar1, ar2)
    flat1, data1 = _flat_data(ar1)
    data2 = ar2.data.reshape(-1)
    if assume_unique:
        positions = np.arange(data1.size)
    else:
        positions = np.unique(data1, return_index=True)[1]
    keep = positions[~np.isin(data1[positions], data2, assume_unique=assume_unique)]
    return flat1[keep.astype(np.int64)]


# ----------------------------------------------------------------------------- choosing
def choose(a, choices, mode="raise"):
    """``np.choose``: ``out[i] = choices[a[i]][i]``, ``a`` (integers) and every choice
    broadcast together; ``mode`` ``'raise'``, ``'wrap'`` or ``'clip'`` for indices outside
    ``[0, len(choices))``. Gradient to the chosen entries."""
    index = np.asarray(a.data if isinstance(a, Tensor) else a)
    if index.dtype.kind not in "iu":
        raise TypeError(f"choose: a must hold integers, got dtype {index.dtype}")
    choices = [tensor_of(c) for c in choices]
    if not choices:
        raise ValueError("choose: needs at least one choice")
    try:
        shape = np.broadcast_shapes(index.shape, *(c.shape for c in choices))
    except ValueError:
        raise ValueError(f"choose: a of shape {index.shape} and choices of shapes "
                         f"{[c.shape for c in choices]} do not broadcast together") from None
    if len({c.dtype for c in choices}) > 1:
        raise TypeError(f"choose: choices have dtypes {[str(c.dtype) for c in choices]}; "
                        "cast them to one")
    stacked = stack([broadcast_to(c, shape) for c in choices])
    try:
        return _rearrange(stacked, lambda ids: np.choose(index, ids, mode=mode))
    except ValueError as err:
        raise ValueError(f"choose: {err} (indices from {index.min(initial=0)} to "
                         f"{index.max(initial=0)}, {len(choices)} choices)") from None


# ----------------------------------------------------------------------------- in-place writes
# NumPy writes into the array and returns None: here the Tensor's in-place machinery (version
# counter, leaf refusal, views) runs the out-of-place write ``_write_at`` of tinydl.put.
def _write_in_place(op, a, positions, values):
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: writes into a Tensor in place, got {type(a).__name__}")
    a._inplace(op, lambda s, src: _write_at(s, positions, src), values)


# The dtype kinds a Python number may be written into as NumPy 2's weak scalar ('same_kind'):
# an int into any integer dtype (when it fits), never into bool; a float only into floats.
_WEAK_KINDS = {bool: "biufc", int: "iufc", float: "fc"}


def _values_of(op, a, values, name="values", casting="same_kind", convert_python=False):
    """``values`` as a Tensor of ``a``'s dtype, by NumPy 2.4's rule for ``op``.

    Arrays and Tensors are cast under ``casting`` (put_along_axis 'unsafe', as NumPy's
    indexed assignment; place and putmask 'safe'; copyto its argument; ediff1d 'same_kind').
    Python values (numbers, lists, tuples): with ``convert_python`` (place, putmask,
    put_along_axis) converted straight to ``a``'s dtype, as NumPy does (a float truncated into
    integers; an int out of the dtype's range raises); otherwise a number is NumPy 2's weak
    scalar (taken in ``a``'s dtype when its kind may be cast 'same_kind', unless ``casting`` is
    'unsafe', and an int only when it fits) and a list an array of NumPy's own dtype (floats
    float64: [0.1] written into float64 is exact; through Tensor's float32 it was rounded)."""
    python = (isinstance(values, (bool, int, float, list, tuple))
              and not isinstance(values, np.generic))
    if python and convert_python:
        try:
            return Tensor._wrap(np.array(values, dtype=a.dtype))
        except (OverflowError, ValueError, TypeError) as err:  # (300 into int8)
            raise type(err)(f"{op}: {name} {values!r} do not fit the tensor's {a.dtype}: "
                            f"{err}") from None
    if python and not isinstance(values, (list, tuple)):
        if casting != "unsafe" and a.dtype.kind not in _WEAK_KINDS[type(values)]:
            raise TypeError(f"{op}: cannot cast the {type(values).__name__} {values!r} to the "
                            f"tensor's {a.dtype} (casting={casting!r})")
        if a.dtype.kind in "iu" and not isinstance(values, float):
            _check_fill_fits(values, a.dtype, op)
        return Tensor._wrap(np.asarray(values).astype(a.dtype))
    if python:
        values = Tensor._wrap(np.asarray(values))
    values = tensor_of(values)
    if values.dtype != a.dtype:
        if not np.can_cast(values.dtype, a.dtype, casting=casting):
            raise TypeError(f"{op}: {name} of dtype {values.dtype} cannot be cast to the "
                            f"tensor's {a.dtype} (casting={casting!r})")
        values = astype(values, a.dtype)
    return values


def _cycled(op, values, count):
    """The flattened ``values`` repeated (or cut) to ``count`` entries, as NumPy's place."""
    flat = reshape(values, (-1,))
    if count and flat.shape[0] == 0:
        raise ValueError(f"{op}: cannot write {count} values from an empty values array")
    if flat.shape[0] != count:
        flat = flat[np.arange(count) % max(flat.shape[0], 1)]
    return flat


def put_along_axis(arr, indices, values, axis):
    """``np.put_along_axis``: ``arr[..., indices[i], ...] = values`` along ``axis`` (the
    flattened ``arr`` when None), in place, returning None; ``values`` broadcast to
    ``indices``' shape. Differentiable in ``arr`` and ``values`` (torch's scatter rule)."""
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if index.dtype.kind not in "iu":
        raise TypeError(f"put_along_axis: indices must be integers, got dtype {index.dtype}")
    if not isinstance(arr, Tensor):
        raise TypeError(f"put_along_axis: writes into a Tensor in place, got "
                        f"{type(arr).__name__}")
    try:
        positions = np.take_along_axis(_ids(arr.shape) if axis is not None else
                                       _ids((arr.size,)), index, axis if axis is not None else 0)
    except (IndexError, ValueError) as err:
        raise type(err)(f"put_along_axis: indices of shape {index.shape} on shape "
                        f"{arr.shape} (axis={axis}): {err}") from None
    values = _values_of("put_along_axis", arr, values, casting="unsafe", convert_python=True)
    try:
        values = broadcast_to(values, positions.shape)
    except ValueError:
        raise ValueError(f"put_along_axis: values of shape {values.shape} do not broadcast to "
                         f"the indices' {positions.shape}") from None
    _write_in_place("put_along_axis", arr, positions, values)


def _mask_of(op, a, mask):
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
    if mask.size != a.size:
        raise ValueError(f"{op}: mask has {mask.size} elements and the array {a.size} "
                         f"(shapes {mask.shape} and {a.shape})")
    return mask.reshape(-1)


def place(arr, mask, vals):
    """``np.place``: the entries of ``arr`` where ``mask`` is true take, in order, the values
    of the flattened ``vals`` (repeated when too few), in place; returns None."""
    if not isinstance(arr, Tensor):
        raise TypeError(f"place: writes into a Tensor in place, got {type(arr).__name__}")
    positions = np.flatnonzero(_mask_of("place", arr, mask))
    values = _cycled("place", _values_of("place", arr, vals, casting="safe",
                                         convert_python=True), positions.size)
    _write_in_place("place", arr, positions, values)


def putmask(a, mask, values):
    """``np.putmask``: ``a.flat[i] = values.flat[i % values.size]`` wherever ``mask.flat[i]``,
    in place; returns None. (The value index is the position, where place counts writes.)"""
    if not isinstance(a, Tensor):
        raise TypeError(f"putmask: writes into a Tensor in place, got {type(a).__name__}")
    positions = np.flatnonzero(_mask_of("putmask", a, mask))
    values = reshape(_values_of("putmask", a, values, casting="safe", convert_python=True),
                     (-1,))
    if positions.size and values.shape[0] == 0:
        raise ValueError("putmask: cannot write from an empty values array")
    values = values[positions % max(values.shape[0], 1)]
    _write_in_place("putmask", a, positions, values)


def copyto(dst, src, casting="same_kind", where=True):
    """``np.copyto``: ``src`` broadcast to ``dst``'s shape and written into ``dst`` in place
    where ``where`` (broadcast too) is true; ``src`` cast to ``dst``'s dtype under
    ``casting``. Returns None."""
    if not isinstance(dst, Tensor):
        raise TypeError(f"copyto: writes into a Tensor in place, got {type(dst).__name__}")
    src = _values_of("copyto", dst, src, "src", casting)
    try:
        src = broadcast_to(src, dst.shape)
        mask = np.broadcast_to(np.asarray(where.data if isinstance(where, Tensor) else where,
                                          dtype=bool), dst.shape)
    except ValueError:
        raise ValueError(f"copyto: src of shape {src.shape} or where do not broadcast to "
                         f"dst's {dst.shape}") from None
    positions = np.flatnonzero(mask)
    _write_in_place("copyto", dst, positions, reshape(src, (-1,))[positions])


# ----------------------------------------------------------------------------- order
def lexsort(keys, axis=-1):
    """``np.lexsort``: int64 indices that sort by the last key, then the one before...; a
    2-D ``keys`` holds one key per row."""
    if isinstance(keys, Tensor):
        keys = keys.data
    else:
        keys = [k.data if isinstance(k, Tensor) else np.asarray(k) for k in keys]
    return _index_tensor(np.lexsort(keys, axis=axis))


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """``np.argpartition``: int64 indices that put the ``kth`` entry (each of a sequence) in
    its sorted place along ``axis`` (the flattened ``a`` when None), smaller ones before,
    larger after. The order inside each part is NumPy's (unspecified)."""
    data = a.data if isinstance(a, Tensor) else np.asarray(a)
    try:
        return _index_tensor(np.argpartition(data, kth, axis=axis, kind=kind, order=order))
    except (ValueError, np.exceptions.AxisError) as err:
        raise type(err)(f"argpartition: {err} (shape {data.shape}, kth={kth!r})") from None


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``np.partition``: ``a`` rearranged so that the ``kth`` entry along ``axis`` is the one
    a sort would put there, smaller ones before and larger after (the values at
    ``argpartition``'s indices, so the gradient reaches each value's source)."""
    a = tensor_of(a)
    index = argpartition(a, kth, axis, kind, order).data
    if axis is None:
        return reshape(a, (-1,))[index]
    return take_along_axis(a, index, axis)


# ----------------------------------------------------------------------------- filters
def _convolve_full(a, v):
    """``sum_j a[k - j] v[j]`` for every ``k`` in ``0..n+m-2`` (1-D), over the pairs with
    ``0 <= k - j < n`` only: each product ``a[i] v[j]`` once, added into output ``i + j``.
    (A Toeplitz matrix of zero-padded ``a`` times ``v`` added 0 * v[j] for the padding, NaN
    for a NaN or inf in v: NaN at every output where NumPy's sum has no such term.)"""
    n, m = a.shape[0], v.shape[0]
    i, j = np.divmod(np.arange(n * m), m)  # every pair (i, j)
    products = a[i] * v[j]
    out = Tensor._wrap(np.zeros(n + m - 1, np.result_type(a.dtype, v.dtype)))
    return index_add(out, 0, i + j, products)


def _filter(op, a, v, mode):
    a, v = operands(a, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{op}: needs 1-D inputs, got shapes {a.shape} and {v.shape}")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty (shapes {a.shape} and {v.shape})")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    if a.dtype != v.dtype:
        dtype = np.result_type(a.dtype, v.dtype)
        a, v = astype(a, dtype), astype(v, dtype)
    return a, v


def _cut(full, n, m, mode):
    """NumPy's 'same' (length max(n, m), centred) and 'valid' (length max - min + 1) parts of
    a full convolution."""
    long, short = max(n, m), min(n, m)
    if mode == "full":
        return full
    start = (short - 1) // 2 if mode == "same" else short - 1
    return full[start:start + (long if mode == "same" else long - short + 1)]


def convolve(a, v, mode="full"):
    """``np.convolve``: the discrete linear convolution ``(a * v)[k] = sum_j a[j] v[k - j]`` of
    two 1-D sequences; ``mode`` ``'full'`` (length n + m - 1), ``'same'`` (max(n, m)),
    ``'valid'`` (max - min + 1). Differentiable in both."""
    a, v = _filter("convolve", a, v, mode)
    return _cut(_convolve_full(a, v), a.shape[0], v.shape[0], mode)


def correlate(a, v, mode="valid"):
    """``np.correlate``: ``c[k] = sum_n a[n + k] v[n]`` (real inputs), the convolution with
    the reversed ``v``; default ``mode`` ``'valid'``. Where ``v`` is the longer, NumPy
    correlates the other way round and reverses the result: so does this."""
    a, v = _filter("correlate", a, v, mode)
    n, m = a.shape[0], v.shape[0]
    if n >= m:
        return _cut(_convolve_full(a, v[::-1]), n, m, mode)
    return _cut(_convolve_full(v, a[::-1]), m, n, mode)[::-1]


# ----------------------------------------------------------------------------- block
def block(arrays):
    """``np.block``: an array assembled from nested lists of blocks; the innermost lists join
    along the last axis, the next along the one before... Every block is first given as many
    dimensions as the result (leading 1s). Gradient to each block."""
    def depth(x, where):
        if isinstance(x, tuple):
            raise TypeError(f"block: {where} is a tuple; only lists may nest")
        if not isinstance(x, list):
            return 0
        if not x:
            raise ValueError(f"block: {where} is an empty list")
        depths = {depth(item, f"{where}[{i}]") for i, item in enumerate(x)}
        if len(depths) > 1:
            raise ValueError(f"block: the lists at {where} nest to different depths {depths}")
        return 1 + depths.pop()

    levels = depth(arrays, "arrays")
    leaves = []

    def collect(x):
        if isinstance(x, list):
            for item in x:
                collect(item)
        else:
            leaves.append(tensor_of(x))

    collect(arrays)
    ndim = max([levels] + [t.ndim for t in leaves])

    def assemble(x, level):
        if not isinstance(x, list):
            x = tensor_of(x)
            return reshape(x, (1,) * (ndim - x.ndim) + x.shape)
        parts = [assemble(item, level + 1) for item in x]
        try:
            return concatenate(parts, axis=-(levels - level))
        except ValueError as err:
            raise ValueError(f"block: blocks of shapes {[p.shape for p in parts]} do not "
                             f"join along axis {-(levels - level)}: {err}") from None

    return assemble(arrays, 0)


# ----------------------------------------------------------------------------- gradient
def _along(x, axis, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _gradient_axis(f, axis, h, edge_order):
    """The second-order accurate central differences of ``f`` along ``axis`` with spacing
    ``h`` (a number, or the 1-D coordinates of the axis), ends one-sided of ``edge_order``:
    NumPy's formulas (Fornberg's three-point weights for uneven spacing)."""
    n = f.shape[axis]
    if n < edge_order + 1:
        raise ValueError(f"gradient: axis {axis} has {n} points; edge_order={edge_order} "
                         f"needs at least {edge_order + 1}")
    dtype = f.dtype

    def col(values):  # coefficients laid along ``axis`` for broadcasting
        values = np.asarray(values, dtype=dtype)
        return Tensor._wrap(values.reshape((-1,) + (1,) * (f.ndim - axis - 1)))

    f0, f1, f2 = (_along(f, axis, i, i + 1) for i in range(3)) if edge_order == 2 else (
        _along(f, axis, 0, 1), _along(f, axis, 1, 2), None)
    lo, mid, hi = _along(f, axis, 0, -2), _along(f, axis, 1, -1), _along(f, axis, 2, None)
    if np.ndim(h) == 0:
        interior = (hi - lo) * (1.0 / (2.0 * h))
        if edge_order == 1:
            first = (f1 - f0) * (1.0 / h)
            last = (_along(f, axis, n - 1, n) - _along(f, axis, n - 2, n - 1)) * (1.0 / h)
        else:
            first = (f0 * -1.5 + f1 * 2.0 - f2 * 0.5) * (1.0 / h)
            last = (_along(f, axis, n - 1, n) * 1.5 - _along(f, axis, n - 2, n - 1) * 2.0
                    + _along(f, axis, n - 3, n - 2) * 0.5) * (1.0 / h)
    else:
        dx = np.diff(np.asarray(h, dtype=np.float64))
        d1, d2 = dx[:-1], dx[1:]
        interior = (lo * col(-d2 / (d1 * (d1 + d2))) + mid * col((d2 - d1) / (d1 * d2))
                    + hi * col(d1 / (d2 * (d1 + d2))))
        if edge_order == 1:
            first = (f1 - f0) * col([1.0 / dx[0]])
            last = (_along(f, axis, n - 1, n) - _along(f, axis, n - 2, n - 1)) * col(
                [1.0 / dx[-1]])
        else:
            a, b = dx[0], dx[1]
            first = (f0 * col([-(2 * a + b) / (a * (a + b))]) + f1 * col([(a + b) / (a * b)])
                     + f2 * col([-a / (b * (a + b))]))
            a, b = dx[-2], dx[-1]
            last = (_along(f, axis, n - 3, n - 2) * col([b / (a * (a + b))])
                    + _along(f, axis, n - 2, n - 1) * col([-(a + b) / (a * b)])
                    + _along(f, axis, n - 1, n) * col([(2 * b + a) / (b * (a + b))]))
    return concatenate([first, interior, last], axis=axis)


@exact_for_integers("f")
def gradient(f, *varargs, axis=None, edge_order=1, **torch_kwargs):
    """``np.gradient``: the derivative of sampled ``f`` along each axis in ``axis`` (all by
    default), by central differences inside (second-order accurate, also for uneven spacing)
    and one-sided differences of ``edge_order`` (1 or 2) at the ends. ``varargs``: nothing
    (spacing 1), one number for every axis, or one number or 1-D coordinate array per axis.
    One axis gives a Tensor, several a tuple. Integer input gives float32 (tinydl's default
    float; NumPy's float64). Differentiable in ``f``; the spacing is a constant.

    torch's ``gradient(f, spacing=, dim=)`` always returns a tuple, where NumPy's call returns
    a Tensor for one axis (``[0]`` then reads one element): its keywords raise here."""
    if torch_kwargs:
        raise TypeError(f"gradient: unexpected {sorted(torch_kwargs)}; tinydl.gradient is "
                        "NumPy's gradient(f, *varargs, axis=None, edge_order=1), which returns "
                        "a Tensor (not torch's tuple) for one axis: pass the spacing "
                        "positionally and axis= instead of dim=")
    f = floating(tensor_of(f))
    if f.ndim == 0:
        raise ValueError("gradient: needs at least one dimension, got a 0-d tensor")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    single = axis is not None and np.ndim(axis) == 0
    axes = tuple(range(f.ndim)) if axis is None else (axis,) if single else tuple(axis)
    axes = tuple(normalize_axes(a, f.ndim, "gradient")[0] for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"gradient: axis {axis} repeats an axis")
    spacing = [v.data if isinstance(v, Tensor) else v for v in varargs]
    if not spacing:
        spacing = [1.0] * len(axes)
    elif len(spacing) == 1 and np.ndim(spacing[0]) == 0:
        spacing = spacing * len(axes)
    elif len(spacing) != len(axes):
        raise TypeError(f"gradient: {len(spacing)} spacings given for {len(axes)} axes")
    out = []
    for ax, h in zip(axes, spacing):
        if np.ndim(h) not in (0, 1):
            raise ValueError(f"gradient: spacing for axis {ax} must be a number or 1-D, got "
                             f"shape {np.shape(h)}")
        if np.ndim(h) == 1:
            if len(h) != f.shape[ax]:
                raise ValueError(f"gradient: coordinates for axis {ax} have {len(h)} points, "
                                 f"the axis {f.shape[ax]}")
            steps = np.diff(np.asarray(h, np.float64))
            if np.all(steps == steps[0]) if steps.size else True:
                h = float(steps[0]) if steps.size else 1.0  # even coordinates: NumPy's route
        out.append(_gradient_axis(f, ax, h, edge_order))
    return out[0] if len(out) == 1 else tuple(out)
