"""Helpers shared by every op family: the one broadcasting reduction, axis normalisation."""
import functools
import inspect
import math
import sys

import numpy as np

from tinydl.autograd import is_grad_enabled
from tinydl.tensor import Tensor


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes NumPy broadcasting added or stretched, so it has ``shape``.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, the
    gradient of ``x`` is the sum of ``grad`` over the broadcast axes. Written with tinydl ops,
    so it is itself differentiable. This is the only place that rule lives.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def as_rows(a):
    """``a`` (..., n) as a matrix (rows, n); the row count spelled out, because a -1 cannot be
    inferred when a size is 0 (in_features=0 is legal, as in torch). A view where a's rows
    are evenly spaced, else a copy."""
    return a if a.ndim == 2 else a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def matmul_arrays(a, b):
    """``np.matmul(a, b)``, in two cases another way:

    - both matrices (or stacks) with an inner dimension of 1: ``np.multiply(a, b)``, the same
      single products (bit for bit), while NumPy's matmul takes a slow loop for that case
      (float32 (128, 1) @ (1, 784): 203 against 34 us here; an inner dimension of 2 was
      already 4 us for (64, 2) @ (2, 256)). Batch axes broadcast alike;
    - a stack (..., m, k) times a matrix (k, n): one product of all the stack's rows (a copy
      of ``a`` first only where its rows are not evenly spaced), while NumPy runs a stack as
      one BLAS call per matrix: a Linear layer on (256, 8, 512) input with 512 outputs took
      10.3 ms that way against 4.7 on its (2048, 512) rows (two BLAS threads; (64, 32, 256)
      -> 256: 1.64 against 1.17 ms).
    """
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        return np.multiply(a, b)
    if a.ndim > 2 and b.ndim == 2 and a.shape[-1] == b.shape[0]:
        return np.matmul(as_rows(a), b).reshape(a.shape[:-1] + b.shape[1:])
    return np.matmul(a, b)


def as_tensor(x):
    """Wrap arrays and lists (not Python scalars) as constant Tensors; leave Tensors alone.
    (A list reached ops that read ``x.ndim``: ``tinydl.max([1, 2])`` raised AttributeError.
    Lists take ``tinydl.tensor``'s dtype rule: Python floats float32, ints int64.)"""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return Tensor._wrap(np.asarray(x))
    if isinstance(x, list):
        return Tensor(x)
    return x


def as_input(x):
    """``as_tensor(x)`` for an op's main input, a Python number wrapped too (by ``Tensor``'s
    rule: a float is float32), as NumPy takes ``np.sum(5)`` or ``np.nanmax(2.5)``: reductions
    and shape functions read ``x.ndim`` (operands of arithmetic keep their Python numbers,
    which promote as weak scalars)."""
    if isinstance(x, Tensor):  # the usual call first (reshape runs it for every layer)
        return x
    x = as_tensor(x)
    if isinstance(x, (bool, int, float)):
        return Tensor(x)
    if x is None or isinstance(x, (str, bytes)):
        _refuse_non_tensor(x)
    return x


def as_tensor_beside(x, partner):
    """``as_tensor(x)`` for an operand that meets ``partner`` (a Tensor, or the dtype of the
    tensors it meets), except that a Python list or tuple holding floats beside a floating
    one (with dimensions) is converted straight to that dtype, or to float32 beside float16:
    ``float64 + [0.1]`` is exact (through ``tinydl.tensor``'s float32 it was 0.10000000149),
    ``float32 + [0.1]`` stays float32 (NumPy would give float64)."""
    if not isinstance(x, (list, tuple)):
        return as_tensor(x)
    if isinstance(partner, Tensor):
        if partner.ndim == 0:  # a 0-d tensor does not widen a list (tinydl's 0-d rule)
            return tensor_of(x)
        partner = partner.data.dtype
    if isinstance(partner, np.dtype) and partner.kind == "f":
        try:
            array = np.asarray(x)
        except ValueError:  # ragged: Tensor's own error below
            return tensor_of(x)
        if array.dtype.kind == "f":  # never narrower than the list's own float32
            return Tensor._wrap(array.astype(np.result_type(partner, DEFAULT_FLOAT)))
    return tensor_of(x)  # (a tuple too, as a list: NumPy's float64 made f32 + (1, 2) float64)


def _python_values(x):
    """A Python float (np.float64, a subclass, included), list or tuple."""
    return isinstance(x, (list, tuple, float))


def tensor_of(x):
    """``x`` as a Tensor: Tensors as they are, arrays wrapped, Python values (numbers, lists,
    tuples) by ``Tensor``'s rule."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return Tensor._wrap(np.asarray(x))
    return Tensor(x)


def operands(*values):
    """Operands of an op on arrays (matmul, products, the set operations, convolve, joins) as
    Tensors: arrays and Tensors as they are; a Python float, list or tuple of floats beside
    floating ones takes their dtype, in any position, as a Python float does in arithmetic
    (``as_tensor_beside``); other Python values by ``Tensor``'s rule. (Through float32 first,
    float64 @ [0.1, 0.2] and union1d(float64, [0.1]) saw 0.10000000149.)"""
    for v in values:
        if not isinstance(v, Tensor):
            break
    else:
        return list(values)  # the usual call: Tensors only (matmul, cat in every step)
    given = [None if _python_values(v) else tensor_of(v) for v in values]
    floats = [g.data.dtype for g in given if g is not None and g.data.dtype.kind == "f"]
    beside = np.result_type(*floats) if floats else None
    return [g if g is not None
            else Tensor._wrap(np.asarray(v, dtype=np.result_type(beside, DEFAULT_FLOAT)))
            if isinstance(v, float) and beside is not None
            else tensor_of(as_tensor_beside(v, beside)) for g, v in zip(given, values)]


def floating(x):
    """``x`` as a Tensor (Python numbers stay numbers), integer and bool ones cast to float32:
    the input of a float-valued op (exp, sqrt, sin...), whose result torch makes float32 for
    integer input where NumPy makes float64."""
    x = as_tensor(x)
    if isinstance(x, Tensor):
        if x.data.dtype.kind in "iub":
            return Tensor._wrap(x.data.astype(DEFAULT_FLOAT))
    elif x is None or isinstance(x, (str, bytes)):
        _refuse_non_tensor(x)
    return x


def _refuse_non_tensor(x):
    """Raise for None or a string as an op's input, naming the op (the function that called
    ``floating`` or ``as_input``, read from the stack only here). NumPy's own message named
    none: "loop of ufunc does not support argument 0 of type NoneType which has no callable
    arccos method"."""
    op = sys._getframe(2).f_code.co_name
    raise TypeError(f"{op}: expects a tensor, an array or a number, got {type(x).__name__}")


def _data_dtype(value):
    """The dtype ``value`` takes as an op's input (a Python list by ``Tensor``'s rule: floats
    float32), or None for something else (None, a string)."""
    if isinstance(value, Tensor):
        return value.data.dtype
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, (bool, int, float, list)):
        dtype = np.asarray(value).dtype
        return np.dtype(DEFAULT_FLOAT) if dtype.kind == "f" else dtype
    return None


def exact_for_integers(*names):
    """A decorator for a float-valued op whose integer (or bool) inputs give torch's default
    float, float32 (NumPy gives float64): the inputs ``names`` that are integer run through
    the op in float64, and its floating results are cast to the dtype it gives otherwise
    (float32, or float64 beside a float64 input). Ops that subtract (var, the quantiles'
    interpolation, gradient, interp, cov) then see the exact integers: in float32 first, the
    var of four consecutive integers near 1.7e9 (float32's spacing there is 128) was 0 and
    their correlation NaN. Integer tensors never require grad, so the casts are constants.
    Python floats among ``names`` (lists too) take the computing float dtype, as in
    arithmetic. With ``dtype=`` given the op keeps it (no cast back)."""

    def decorate(fn):
        import inspect

        signature = inspect.signature(fn)
        single = len(names) == 1

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            first = args[0] if args else None
            if isinstance(first, Tensor) and first._data.dtype.kind == "f" and single:
                return fn(*args, **kwargs)  # the usual call: a float tensor
            bound = signature.bind(*args, **kwargs)
            given = bound.arguments
            if given.get("dtype") is not None:
                return fn(*args, **kwargs)
            data = {name: given[name] for name in names if given.get(name) is not None}
            dtypes = {name: _data_dtype(v) for name, v in data.items()}  # (lists: float32)
            integer = [name for name, d in dtypes.items() if d is not None and d.kind in "iub"]
            for name in integer:
                value = data[name]
                given[name] = Tensor._wrap(np.asarray(
                    value.data if isinstance(value, Tensor) else value, dtype=np.float64))
            # Python floats (lists) beside data take its float dtype, as in arithmetic: the
            # computing one (float64 for integers), not float32 first
            computing = [np.dtype(np.float64) if name in integer else d
                         for name, d in dtypes.items()
                         if name in integer or d is not None and d.kind == "f"
                         and not _python_values(data[name])]
            if computing:
                wide = np.result_type(DEFAULT_FLOAT, *computing)
                for name, value in data.items():
                    if _python_values(value) and np.asarray(value).dtype.kind == "f":
                        given[name] = Tensor._wrap(np.asarray(value).astype(wide))
            out = fn(*bound.args, **bound.kwargs)
            if not integer:
                return out
            floats = [d for d in dtypes.values() if d is not None and d.kind == "f"]
            target = np.result_type(DEFAULT_FLOAT, *floats)
            return _cast_floats(out, target)

        return wrapper

    return decorate


def _cast_floats(out, target):
    """``out`` (a Tensor, or a tuple/list of them) with float64 Tensors cast to ``target``."""
    if isinstance(out, Tensor):
        if out.data.dtype == np.float64 and target != np.float64:
            from tinydl.ops.elementwise import astype  # (elementwise imports this module)
            return astype(out, target)
        return out
    if isinstance(out, (tuple, list)):
        return type(out)(_cast_floats(o, target) for o in out)
    return out


def refused_spelling(spelled, message):
    """A decorator for an op that keeps NumPy's meaning under a name torch also uses with
    another: when ``spelled(x, args, kwargs)`` says the call is written the torch way (its
    keyword, its positional form), it raises ``TypeError(message(x, args, kwargs))`` instead
    of giving NumPy's answer to torch's question."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(x, *args, **kwargs):
            if spelled(x, args, kwargs):
                raise TypeError(message(x, args, kwargs))
            return fn(x, *args, **kwargs)

        return wrapper

    return decorate


def torch_dim_spelled(x, args, kwargs):
    """The call says ``dim=``, or ``keepdim=`` without NumPy's ``axis=``."""
    return "dim" in kwargs or "keepdim" in kwargs and "axis" not in kwargs


def held_array(array, source):
    """``array``, the data of ``source`` when that is a Tensor (an op's indices, mask or
    condition, read as an array rather than taken as an input), as a copy when gradients are
    recorded: the node keeps it for backward, and an in-place write into ``source`` after the
    forward (``i[0] = 0``, ``mask.fill_(True)``) would otherwise move the gradient to where
    the new values point, unseen (torch raises there). Without recording, no copy."""
    if isinstance(source, Tensor) and array is source.data and is_grad_enabled():
        return array.copy()
    return array


def shape_of(x):
    """Shape of a Tensor, array or Python scalar (``()`` for scalars)."""
    return x.shape if isinstance(x, (Tensor, np.ndarray, np.generic)) else ()


def torch_names(fn):
    """Let ``fn`` also take torch's argument names (``dim``, ``keepdim``, ``start_dim``...).

    Each alias is mapped onto NumPy's name; giving both spellings of one argument raises.
    An empty ``dim`` (``()`` or ``[]``) of a reduction that torch reduces over every axis
    then (``sum``, ``mean``, ``amax``, ``var``, ``norm``...: ``EMPTY_DIM_IS_EVERY_AXIS``)
    becomes ``axis=None``: NumPy's ``axis=()`` reduces over no axis, and ``x.sum(dim=())``
    returned x unchanged where torch gives the total (code that builds its dims, as
    ``dim=tuple(range(1, x.ndim))`` on a 1-D x, met it). ``axis=()`` keeps NumPy's meaning.
    """
    op = fn.__name__
    empty_is_every_axis = op in EMPTY_DIM_IS_EVERY_AXIS

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for torch_name, numpy_name in _ALIASES.items():
                if torch_name in kwargs:
                    value = kwargs.pop(torch_name)
                    if numpy_name in kwargs:
                        raise TypeError(f"{op}: got both {numpy_name!r} and its torch alias "
                                        f"{torch_name!r}")
                    if empty_is_every_axis and torch_name == "dim" and _empty_dims(value):
                        value = None
                    kwargs[numpy_name] = value
            if "unbiased" in kwargs:  # torch's older spelling of correction=1 / 0 (var, std)
                if "ddof" in kwargs:
                    raise TypeError(f"{op}: got both 'unbiased' and 'ddof' (or 'correction')")
                kwargs["ddof"] = 1 if kwargs.pop("unbiased") else 0
        return fn(*args, **kwargs)

    return wrapper


def numpy_names(fn):
    """Let ``fn``, which takes torch's ``dim`` / ``keepdim``, also take NumPy's ``axis`` /
    ``keepdims`` (the API's rule: NumPy's names everywhere, torch's as aliases; a torch-named
    method as ``x.topk(3, axis=1)`` raised Python's bare 'unexpected keyword argument').
    Giving both spellings of one argument raises."""
    params = inspect.signature(fn).parameters
    pairs = [(numpy_name, torch_name) for numpy_name, torch_name in
             (("axis", "dim"), ("keepdims", "keepdim"))
             if torch_name in params and numpy_name not in params]
    if not pairs:
        return fn
    op = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for numpy_name, torch_name in pairs:
                if numpy_name in kwargs:
                    if torch_name in kwargs:
                        raise TypeError(f"{op}: got both {torch_name!r} and its NumPy "
                                        f"spelling {numpy_name!r}")
                    kwargs[torch_name] = kwargs.pop(numpy_name)
        return fn(*args, **kwargs)

    return wrapper


# The reductions that torch runs over every axis when ``dim`` is empty (torch 2.13; its
# any/all, squeeze and flip take an empty dim as no axis, as NumPy does).
EMPTY_DIM_IS_EVERY_AXIS = frozenset({"sum", "mean", "nansum", "nanmean", "amax", "amin", "var",
                                     "std", "count_nonzero", "norm", "vector_norm", "std_mean",
                                     "var_mean"})


def _empty_dims(value):
    """True for an empty tuple or list of dims."""
    return isinstance(value, (tuple, list)) and len(value) == 0


_ALIASES = {"dim": "axis", "keepdim": "keepdims", "start_dim": "start_axis",
            "end_dim": "end_axis", "dim0": "axis1", "dim1": "axis2", "correction": "ddof"}


def promote(a, b):
    """``a`` and ``b`` with torch's rule where it differs from NumPy's promotion.

    An integer or bool tensor meeting a float (a Python float, or a float tensor) is cast to
    that float's dtype (float32 for a Python float), where NumPy would give float64. Integer
    tensors never require grad, so the cast is a constant. A 0-d tensor beside a tensor with
    dimensions takes the other's dtype when its category (bool < integer < float) is not
    higher, through a differentiable cast.
    """
    # Fast exits first: this runs for every arithmetic op. (isinstance, not ``__class__ is
    # Tensor``: a Parameter beside a 0-d tensor took the exit for a Python number and kept
    # NumPy's promotion, float32 weight + 0-d float64 -> float64.)
    a_tensor, b_tensor = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_tensor:
        if b_tensor:
            if a.data.dtype is b.data.dtype:
                return a, b
        elif a.data.dtype.kind == "f":
            return a, b
    elif b_tensor and b.data.dtype.kind == "f":
        return a, b
    if a_tensor and b_tensor and (a.ndim == 0) != (b.ndim == 0):
        # torch's rule: a 0-d tensor does not widen a tensor with dimensions within its
        # category (bool < integer < float): float32 + a 0-d float64 stays float32, where
        # NumPy 2 gives float64; int32 + a 0-d int64 stays int32. (NumPy scalars arrive as
        # Python numbers: promote_operands.)
        zero_d, other = (a, b) if a.ndim == 0 else (b, a)
        if _CATEGORY[zero_d.data.dtype.kind] <= _CATEGORY[other.data.dtype.kind]:
            from tinydl.ops.elementwise import astype  # (elementwise imports this module)
            cast = astype(zero_d, other.data.dtype)  # differentiable: a 0-d parameter learns
            return (cast, b) if zero_d is a else (a, cast)
    ka = a.data.dtype.kind if a_tensor else None
    kb = b.data.dtype.kind if b_tensor else None
    if ka == kb or ka == "f" and kb is None or kb == "f" and ka is None:
        return a, b
    if ka in ("i", "u", "b"):
        target = _float_partner(b, kb)
        if target is not None:
            a = Tensor._wrap(a.data.astype(target))
    elif kb in ("i", "u", "b"):
        target = _float_partner(a, ka)
        if target is not None:
            b = Tensor._wrap(b.data.astype(target))
    return a, b


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def as_number(x):
    """A NumPy scalar (``np.float64(0.5)``, ``np.sqrt(d)``) as the Python number it holds, as
    torch counts it, so it does not widen a tensor's dtype; anything else as it is."""
    return x.item() if isinstance(x, np.generic) else x


def promote_operands(a, b):
    """``promote`` of two operands as the user gave them, NumPy scalars read by ``as_number``
    (an int tensor times np.float64(0.5) is float32)."""
    a, b = as_number(a), as_number(b)
    if a.__class__ in _SEQUENCES or b.__class__ in _SEQUENCES:  # (runs for every operator)
        return promote(as_tensor_beside(a, b), as_tensor_beside(b, a))
    return promote(as_tensor(a), as_tensor(b))


_SEQUENCES = frozenset((list, tuple))


def number_overflow(op, err):
    """The error for NumPy 2's OverflowError ``err`` at a Python int outside an integer
    tensor's dtype (int8 + 1000, uint8 & -1): named by ``op``, with the way out (torch wraps
    the number around instead)."""
    return OverflowError(f"{op}: {err}: the number must fit the tensor's dtype (torch wraps it "
                         "around); cast the tensor to a wider dtype first, e.g. .long()")


def _float_partner(x, kind):
    if kind == "f":
        return x.data.dtype
    if kind is None and isinstance(x, float):
        return DEFAULT_FLOAT
    return None


DEFAULT_FLOAT = np.float32


def one_axis(axis, op):
    """``axis`` when it names one axis (an int), else a TypeError naming ``op``: the ops that
    work along one axis (softmax, glu...) failed on None or a tuple with a bare error deep
    inside, or (glu) read the tuple's first axis silently."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis (dim) must be one int, got {axis!r}")
    return int(axis)


def axis_or_dim(axis, dim, caller, default=-1):
    """The axis of an op that takes NumPy's ``axis`` and torch's ``dim`` (its default
    ``default``): ``dim`` when given, and then ``axis`` must be left at the default or say the
    same. (``F.softmax(x, 1, 3)``, torch's private stack level in third place, or
    ``nn.Softmax(axis=0, dim=1)`` silently took the last one given.)"""
    if dim is None:
        return axis
    if axis != default and axis != dim:
        raise TypeError(f"{caller}: got both axis={axis!r} and dim={dim!r} (torch's name of the "
                        "same argument); give one")
    return dim


def normalize_axes(axis, ndim, op, zero_d=False):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes; checks bounds.

    ``zero_d=True`` (reductions) takes torch's rule for a 0-d tensor: axis 0 or -1 names the
    tensor's one element, so reducing over it reduces over nothing (the result is the value).
    """
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the usual call, one axis in bounds
        return (axis % ndim,)
    if zero_d and ndim == 0:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        if all(not isinstance(a, bool) and isinstance(a, (int, np.integer)) and a in (0, -1)
               for a in axes):
            return ()
        raise AxisError(f"{op}: axis {axis!r} does not fit a 0-d tensor (only 0 or -1, which "
                        "name its one element, or None)")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)):
        hint = ""
        if op in ("max", "min") and isinstance(axis, (Tensor, np.ndarray)):
            hint = (f" (torch's element-wise {op}(a, b) is tinydl."
                    f"{'maximum' if op == 'max' else 'minimum'}(a, b))")
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}"
                        + hint)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise AxisError(f"{op}: axis {a} is out of bounds for a tensor of {ndim} dimensions"
                             + (" (a 0-d tensor has no axis to name: pass axis=None)"
                                if ndim == 0 else ""))
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


class ShapeError(ValueError, RuntimeError):
    """Operands whose shapes (or arguments) do not fit an op: a ValueError, as NumPy raises,
    and a RuntimeError, as torch raises, so either habit's ``except`` catches it."""


class DtypeError(TypeError, RuntimeError):
    """An operand of a dtype the op does not take: a TypeError, and a RuntimeError as torch's
    "not implemented for 'Float'"."""


class AxisError(ValueError, IndexError):
    """An axis out of range: a ValueError as NumPy's AxisError, and an IndexError as torch's
    "Dimension out of range", so either habit's ``except`` catches it."""


def keepdims_shape(in_shape, axes):
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ONES = {}  # (length, dtype) -> a read-only vector of ones, for sum_arrays' products


def _ones(n, dtype):
    """A read-only vector of ``n`` ones (kept: ``np.ones`` costs as much as a small sum)."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = np.ones(n, dtype)
        ones.flags.writeable = False
        _ONES[key] = ones
    return ones


def add_up(a, axis=None, keepdims=False):
    """``np.sum(a, axis, keepdims)``, float16 added in float32 and rounded once, as torch adds
    it. NumPy adds float16 in float32 only along the innermost (contiguous) axis; along any
    other its running sums are float16, which stop growing at 2048 for ones: a (5000, 2)
    float16 sum over axis 0 gave 2048, a softmax over it 2.4x its values."""
    if a.dtype == np.float16:
        return np.asarray(np.add.reduce(a, axis=axis, keepdims=keepdims, dtype=np.float32)
                          ).astype(np.float16)
    return np.add.reduce(a, axis=axis, keepdims=keepdims)  # (np.sum's wrapper costs ~1 us)


def sum_arrays(x, axes, keepdims=False, dtype=None):
    """``np.sum(x, axis=axes, keepdims=keepdims, dtype=dtype)``, where ``axes`` is a sorted
    tuple of non-negative axes.

    A float array summed over every axis but one inner axis k (a per-channel sum of an
    (N, C, H, W) batch: a batch norm's statistics, the gradient of a per-channel scale or
    shift) is summed as its (lead, C, trail) view, the leading axes first (whole rows added
    one after the other, or in one product, below) and then the trailing ones. NumPy's sum
    over axes (0, 2, 3) at once walks the short rows of the last axes one by one: float32
    (64, 32, 4, 4) took 73 us against 8 us this way, (32, 64, 16, 16) 154 against 65 us.
    Each sum adds the same values, in another order; float16 only when summed into a wider
    ``dtype`` (its own running sum along the leading axes would round more than NumPy's).

    float32 and float64 summed in their own dtype take the leading rows as one BLAS product,
    ones @ X (a matrix-vector product: several running sums per output, vectorised), and the
    trailing axes in float64: faster and closer than NumPy's row-after-row sum. Per-channel
    sums of float32, one thread, alternating: (64, 16, 8, 8) 28 -> 28 us, (64, 32, 4, 4)
    23 -> 22 us, (32, 64, 16, 16) 122 -> 96 us; the per-channel means of 300 + 0.01 N, off
    the exact mean by 0.99 -> 0.48 ulp, 1.75 -> 0.77 ulp on (128, 32, 4, 4), 1.14 -> 0.53 ulp
    (the same three shapes otherwise). Where the values sit far from zero next to their
    spread, that rounding moves every value a batch norm normalises.
    """
    if x.dtype == np.float16 and dtype is None:  # in float32, rounded once (see add_up)
        return np.asarray(sum_arrays(x, axes, keepdims, np.float32)).astype(np.float16)
    ndim = x.ndim
    if ndim >= 3 and len(axes) == ndim - 1 and x.dtype.kind == "f" and x.size \
            and x.flags.c_contiguous and (x.itemsize >= 4 or dtype is not None):
        k = next(i for i in range(ndim) if i not in axes)  # the axis kept
        if 0 < k < ndim - 1:
            shape = x.shape
            lead = math.prod(shape[:k])
            if x.dtype in _BLAS_FLOATS and (dtype is None or np.dtype(dtype) == x.dtype):
                rows = _ones(lead, x.dtype).dot(x.reshape(lead, -1))
                total = rows.reshape(shape[k], -1).sum(axis=1, dtype=np.float64)
                total = total.astype(x.dtype, copy=False)
            else:
                rows = x.reshape(lead, shape[k], -1)
                total = rows.sum(axis=0, dtype=dtype).sum(axis=1)
            return total.reshape(keepdims_shape(shape, axes)) if keepdims else total
    return np.sum(x, axis=axes, keepdims=keepdims, dtype=dtype)


def expand_reduced(grad, in_shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:
        grad = grad.reshape(keepdims_shape(in_shape, axes))
    return grad.broadcast_to(in_shape)


def check_broadcast(op, a, b):
    """Raise a clear error naming ``op`` and both shapes when ``a`` and ``b`` do not broadcast."""
    sa, sb = shape_of(a), shape_of(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ShapeError(f"{op}: shapes {sa} and {sb} cannot be broadcast together") from None
