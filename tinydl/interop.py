"""NumPy interoperability: ``np.exp(t)``, ``np.sum(t, axis=1)`` on Tensors run tinydl's ops.

NumPy hands every ufunc call that involves a Tensor to ``Tensor.__array_ufunc__`` and every
other NumPy function to ``Tensor.__array_function__`` (NEP 13 and NEP 18); both land here.
One rule decides what happens, for ufuncs and functions alike:

* **ops**: NumPy names tinydl has an op for (``np.exp``, ``np.arctan2``, ``np.sum``,
  ``np.concatenate``, ``ndarray + Tensor``) run that op and return a Tensor in the graph.
  A few are composed from ops where the composition is exact to rounding
  (``deg2rad = x * pi / 180``). Piecewise-constant ones (``np.floor``, ``np.sign``,
  ``np.rint``, ``np.floor_divide``) are in the graph with a zero gradient, as in torch.
  Logical and bitwise ufuncs (``np.logical_and``, ``np.bitwise_or``, ``np.invert``) run
  tinydl's functions, which give bool or integer Tensors outside the graph.
* **constants**: comparisons (``np.less(t, 0)``, as ``t < 0``) give a bool Tensor outside
  the graph, as Tensor's own comparison operators do.
* **queries**: functions whose result is not a differentiable value (``np.shape``,
  ``np.argmax``, ``np.allclose``, ``np.isfinite``, ``np.sort``...) run on the arrays, with
  Tensors unwrapped (also inside lists and tuples), and return plain NumPy results.

Anything else raises a ``TypeError`` that names the NumPy function and points to
``np.f(t.data)`` for a plain array. So do arguments tinydl cannot honour (``out=``,
``where=``, ``dtype=``, ufunc methods other than a call, except ``np.add.reduce`` and
``np.maximum/minimum.reduce``, which are sum, max and min).
"""
import math

import numpy as np
from scipy import special

from tinydl import ops
from tinydl.ops._util import DEFAULT_FLOAT, as_number
from tinydl.tensor import Tensor


# ----------------------------------------------------------------------------- helpers
def _unwrap(x):
    """``x`` with every Tensor replaced by its array, also inside lists, tuples and dicts."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _operand(x):
    """A Tensor, an array or a Python number: what tinydl's ops take (lists become arrays)."""
    if isinstance(x, (Tensor, np.ndarray, np.generic, int, float, bool)):
        return x
    return np.asarray(_unwrap(x))


def _ufunc_name(ufunc, method="__call__"):
    module = "numpy." if getattr(np, ufunc.__name__, None) is ufunc else ""
    return module + ufunc.__name__ + ("" if method == "__call__" else f".{method}")


def _function_name(func):
    module = getattr(func, "__module__", None) or "numpy"
    # NumPy's own functions live in private modules (numpy._core.fromnumeric); name them as
    # users call them.
    if module.startswith("numpy._"):
        module = "numpy"
    return f"{module}.{func.__name__}"


def _unsupported(name, why=None, unary=False):
    """The TypeError for a NumPy call on Tensors that tinydl cannot differentiate."""
    short = "np." + name[len("numpy."):] if name.startswith("numpy.") else name
    rest = "" if unary else ", ..."
    why = why or "tinydl has no differentiable op for it"
    return TypeError(f"{name} on a tinydl Tensor: {why}. For a plain NumPy array (no gradient) "
                     f"call it on the data: {short}(t.data{rest}) or {short}(t.numpy(){rest})")


# The values NumPy's keywords have when they change nothing.
_KEYWORD_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "subok": True}


def _is_default(key, value):
    if value is None:
        return True
    if key not in _KEYWORD_DEFAULTS or isinstance(value, (np.ndarray, Tensor)):
        return False
    return value == _KEYWORD_DEFAULTS[key]


def _refuse_extras(name, **given):
    """Raise for NumPy keyword arguments passed with a value other than their default."""
    for key, value in given.items():
        if not _is_default(key, value):
            raise _unsupported(name, f"tinydl does not support {key}= here")


# ----------------------------------------------------------------------------- ufuncs
def _float64(x):
    if isinstance(x, Tensor):
        return ops.astype(x, np.float64)
    if isinstance(x, (int, float)):
        return float(x)
    return np.asarray(x, dtype=np.float64)


# NumPy ufunc -> tinydl op with the same inputs. Composed entries are exact to rounding.
_UFUNC_OPS = {
    np.add: ops.add,
    np.subtract: ops.subtract,
    np.multiply: ops.multiply,
    np.true_divide: ops.divide,  # np.divide is the same ufunc
    np.power: ops.power,
    np.float_power: lambda a, b: ops.power(_float64(a), _float64(b)),
    np.negative: ops.negative,
    np.positive: ops.copy,
    np.matmul: ops.matmul,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
    np.absolute: ops.abs,  # np.abs is the same ufunc
    np.fabs: ops.abs,
    np.exp: ops.exp,
    np.exp2: ops.exp2,
    np.expm1: ops.expm1,
    np.log: ops.log,
    np.log2: ops.log2,
    np.log10: ops.log10,
    np.log1p: ops.log1p,
    np.sqrt: ops.sqrt,
    np.square: ops.square,
    np.reciprocal: ops.reciprocal,
    np.sin: ops.sin,
    np.cos: ops.cos,
    np.tan: ops.tan,
    np.arcsin: ops.arcsin,
    np.arccos: ops.arccos,
    np.arctan: ops.arctan,
    np.arctan2: ops.arctan2,
    np.sinh: ops.sinh,
    np.cosh: ops.cosh,
    np.tanh: ops.tanh,
    np.arcsinh: ops.arcsinh,
    np.arccosh: ops.arccosh,
    np.arctanh: ops.arctanh,
    np.hypot: ops.hypot,
    np.deg2rad: lambda x: ops.multiply(x, math.pi / 180.0),
    np.radians: lambda x: ops.multiply(x, math.pi / 180.0),
    np.rad2deg: lambda x: ops.multiply(x, 180.0 / math.pi),
    np.degrees: lambda x: ops.multiply(x, 180.0 / math.pi),
    # piecewise: zero gradient, or torch's gradients of remainders
    np.sign: ops.sign,
    np.floor: ops.floor,
    np.ceil: ops.ceil,
    np.trunc: ops.trunc,
    np.rint: ops.round,  # halves to even, as np.rint
    np.copysign: ops.copysign,
    np.fmod: ops.fmod,
    np.remainder: ops.remainder,  # np.mod is the same ufunc
    np.floor_divide: ops.floor_divide,
    np.divmod: lambda a, b: (ops.floor_divide(a, b), ops.remainder(a, b)),
    # bool and integer results, outside the graph
    np.logical_and: ops.logical_and,
    np.logical_or: ops.logical_or,
    np.logical_xor: ops.logical_xor,
    np.logical_not: ops.logical_not,
    np.bitwise_and: ops.bitwise_and,
    np.bitwise_or: ops.bitwise_or,
    np.bitwise_xor: ops.bitwise_xor,
    np.invert: ops.bitwise_not,  # np.bitwise_not and np.bitwise_invert are the same ufunc
    np.left_shift: ops.left_shift,
    np.right_shift: ops.right_shift,
    special.erf: ops.erf,
    special.expit: ops.sigmoid,
}

# Comparisons: a bool Tensor outside the graph, as the comparison operators give.
_UFUNC_CONSTANTS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                    np.not_equal}

# Tests on values: plain NumPy arrays, as ``np.isfinite(array)`` gives.
_UFUNC_QUERIES = {np.isfinite, np.isnan, np.isinf, np.signbit}


def _check_ufunc_kwargs(name, kwargs, unary):
    out = kwargs.get("out")
    if out is not None and any(o is not None for o in (out if isinstance(out, tuple) else (out,))):
        raise _unsupported(name, "tinydl does not write into out= arrays", unary)
    for key, value in kwargs.items():
        if key != "out" and not _is_default(key, value):
            raise _unsupported(name, f"tinydl does not support {key}= on Tensors", unary)


# ufunc.reduce -> reduction op; NumPy's ``axis`` defaults to 0 here, not to None.
_UFUNC_REDUCTIONS = {np.add: ops.sum, np.maximum: ops.max, np.minimum: ops.min}


def _reduce(ufunc, name, array, axis=0, dtype=None, out=None, keepdims=False, initial=None,
            where=None):
    _refuse_extras(name, dtype=dtype, out=out, initial=initial, where=where)
    return _UFUNC_REDUCTIONS[ufunc](array, axis=axis, keepdims=keepdims)


def array_ufunc(ufunc, method, inputs, kwargs):
    """``Tensor.__array_ufunc__``: run ``ufunc`` on ``inputs`` (Tensors, arrays, numbers)."""
    name = _ufunc_name(ufunc, method)
    unary = method == "__call__" and ufunc.nin == 1
    if method == "reduce" and ufunc in _UFUNC_REDUCTIONS:
        return _reduce(ufunc, name, *inputs, **kwargs)
    if method != "__call__":
        raise _unsupported(name)
    outs = kwargs.get("out")
    outs = outs if isinstance(outs, tuple) else (outs,)
    if outs and all(isinstance(o, np.ndarray) for o in outs):
        # Into plain arrays: ``p.data -= lr * p.grad`` (torch's habit of updating a parameter's
        # array), i.e. NumPy on the tensors' values, outside any graph, as in torch.
        return ufunc(*_unwrap(inputs), **kwargs)
    _check_ufunc_kwargs(name, kwargs, unary)
    if ufunc in _UFUNC_QUERIES:
        return ufunc(*_unwrap(inputs))
    if ufunc in _UFUNC_CONSTANTS:
        return _wrap_result(ufunc(*_unwrap(inputs)))
    if ufunc not in _UFUNC_OPS:
        raise _unsupported(name, unary=unary)
    # NumPy scalars (np.float64(0.5) * t) count as the Python numbers they hold, as in torch
    # and in tinydl's operators: they do not widen t's dtype.
    inputs = tuple(map(as_number, inputs))
    if not any(isinstance(x, float)
               or isinstance(x, (Tensor, np.ndarray)) and x.dtype.kind in "fc" for x in inputs):
        # Integer and bool Tensors never require grad: NumPy's own result is exact. (With a
        # float scalar tinydl's op runs instead: an int tensor times 0.5 is float32, as torch.)
        # A float result of integers (np.sqrt, np.exp, np.true_divide) is float32, as torch's.
        return _wrap_result(_int_to_default_float(ufunc(*_unwrap(inputs))))
    return _UFUNC_OPS[ufunc](*[_operand(x) for x in inputs])


def _int_to_default_float(result):
    """NumPy's float64 result of integer inputs as float32 (torch's dtype for it)."""
    if isinstance(result, tuple):
        return tuple(_int_to_default_float(r) for r in result)
    result = np.asarray(result)
    return result.astype(DEFAULT_FLOAT) if result.dtype == np.float64 else result


def _wrap_result(result):
    """NumPy's result as a Tensor (a tuple of Tensors for ufuncs of two outputs: divmod)."""
    if isinstance(result, tuple):
        return tuple(Tensor._wrap(np.asarray(r)) for r in result)
    return Tensor._wrap(np.asarray(result))


# ----------------------------------------------------------------------------- functions
# Each takes NumPy's signature (so positional and keyword calls both bind) and runs tinydl's
# op; arguments tinydl cannot honour raise.
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _refuse_extras("numpy.sum", dtype=dtype, out=out, initial=initial, where=where)
    return ops.sum(_operand(a), axis=axis, keepdims=keepdims)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _refuse_extras("numpy.mean", dtype=dtype, out=out, where=where)
    return ops.mean(_operand(a), axis=axis, keepdims=keepdims)


def _reduction(op, name):
    def reduce(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _refuse_extras(name, out=out, initial=initial, where=where)
        return op(_operand(a), axis=axis, keepdims=keepdims)
    return reduce


def _moment(op, name):
    def moment(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
               mean=None, correction=None):
        _refuse_extras(name, dtype=dtype, out=out, where=where, mean=mean)
        if correction is not None:
            ddof = correction
        return op(_operand(a), axis=axis, ddof=ddof, keepdims=keepdims)
    return moment


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise _unsupported("numpy.reshape",
                           f"tinydl reshapes in C order only, got order={order!r}")
    _refuse_extras("numpy.reshape", copy=copy)
    return ops.reshape(_operand(a), shape if shape is not None else newshape)


def _ravel(a, order="C"):
    if order != "C":
        raise _unsupported("numpy.ravel", f"tinydl reshapes in C order only, got order={order!r}")
    return ops.reshape(_operand(a), (-1,))


def _transpose(a, axes=None):
    return ops.transpose(_operand(a), axes)


def _moveaxis(a, source, destination):
    a = _operand(a)
    ndim = np.ndim(a)
    source = [int(s) % max(ndim, 1) for s in np.atleast_1d(source)]
    destination = [int(d) % max(ndim, 1) for d in np.atleast_1d(destination)]
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return ops.transpose(a, order)


def _squeeze(a, axis=None):
    return ops.squeeze(_operand(a), axis)


def _broadcast_to(array, shape, subok=False):
    return ops.broadcast_to(_operand(array), shape)


def _concatenate(arrays, axis=0, out=None, *, dtype=None, casting=None):
    _refuse_extras("numpy.concatenate", out=out, dtype=dtype, casting=casting)
    arrays = [_operand(a) for a in arrays]
    if axis is None:  # NumPy flattens every input first
        arrays, axis = [ops.reshape(a, (-1,)) for a in arrays], 0
    return ops.concatenate(arrays, axis=axis)


def _stack(arrays, axis=0, out=None, *, dtype=None, casting=None):
    _refuse_extras("numpy.stack", out=out, dtype=dtype, casting=casting)
    return ops.stack([_operand(a) for a in arrays], axis=axis)


def _split(ary, indices_or_sections, axis=0):
    return ops.split(_operand(ary), indices_or_sections, axis=axis)


def _array_split(ary, indices_or_sections, axis=0):
    ary = _operand(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        # NumPy's rule: the first n % k pieces get one element more.
        n = np.shape(ary)[axis]
        size, extra = divmod(n, int(indices_or_sections))
        sizes = [size + 1] * extra + [size] * (int(indices_or_sections) - extra)
        indices_or_sections = list(np.cumsum(sizes)[:-1])
    return ops.split(ary, indices_or_sections, axis=axis)


def _where(condition, x=None, y=None):
    if x is None and y is None:  # np.where(condition) is np.nonzero(condition)
        return np.nonzero(_unwrap(condition))
    if x is None or y is None:
        raise ValueError("numpy.where: either both or neither of x and y should be given")
    return ops.where(_operand(condition), _operand(x), _operand(y))


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):  # noqa: A002
    _refuse_extras("numpy.clip", out=out, **kwargs)
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    a = _operand(a)
    if not isinstance(low, Tensor) and not isinstance(high, Tensor):
        return ops.clip(a, _unwrap(low), _unwrap(high))
    # Tensor bounds get gradients too: raise to low, then cap at high (NumPy's order, so
    # low > high gives high); ties keep the gradient on ``a``, as ops.clip does.
    if low is not None:
        a = ops.where(a < low, _operand(low), a)
    if high is not None:
        a = ops.where(a > high, _operand(high), a)
    return a


def _pad(array, pad_width, mode="constant", **kwargs):
    if mode != "constant":
        raise _unsupported("numpy.pad", f"tinydl pads with a constant only, got mode={mode!r}")
    constant_values = kwargs.pop("constant_values", 0)
    _refuse_extras("numpy.pad", **kwargs)
    return ops.pad(_operand(array), pad_width, constant_values=_unwrap(constant_values))


def _dot(a, b, out=None):
    _refuse_extras("numpy.dot", out=out)
    a, b = _operand(a), _operand(b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise _unsupported("numpy.dot", "tinydl computes dot for 1-D and 2-D operands only "
                           "(use np.matmul, whose batching rule tinydl has)")
    return ops.dot(a, b)


def _outer(a, b, out=None):
    _refuse_extras("numpy.outer", out=out)
    return ops.outer(_operand(a), _operand(b))


def _copy(a, order="K", subok=False):
    return ops.copy(_operand(a))


def _round(a, decimals=0, out=None):
    _refuse_extras("numpy.round", out=out)
    return ops.round(_operand(a), decimals)


def _fix(x, out=None):
    _refuse_extras("numpy.fix", out=out)
    return ops.trunc(_operand(x))


_FUNCTION_OPS = {
    np.sum: _sum,
    np.mean: _mean,
    np.max: _reduction(ops.max, "numpy.max"),
    np.amax: _reduction(ops.max, "numpy.amax"),
    np.min: _reduction(ops.min, "numpy.min"),
    np.amin: _reduction(ops.min, "numpy.amin"),
    np.var: _moment(ops.var, "numpy.var"),
    np.std: _moment(ops.std, "numpy.std"),
    np.reshape: _reshape,
    np.ravel: _ravel,
    np.transpose: _transpose,
    np.swapaxes: lambda a, axis1, axis2: ops.swapaxes(_operand(a), axis1, axis2),
    np.moveaxis: _moveaxis,
    np.expand_dims: lambda a, axis: ops.expand_dims(_operand(a), axis),
    np.squeeze: _squeeze,
    np.broadcast_to: _broadcast_to,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.split: _split,
    np.array_split: _array_split,
    np.where: _where,
    np.clip: _clip,
    np.pad: _pad,
    np.dot: _dot,
    np.outer: _outer,
    np.copy: _copy,
    np.round: _round,
    np.around: _round,
    np.fix: _fix,
}

# Functions whose result is not a differentiable value: they run on the arrays.
_PASSTHROUGH_NAMES = (
    # shapes and dtypes
    "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type",
    # comparisons of whole arrays
    "allclose", "isclose", "array_equal", "array_equiv",
    # indices, orderings and counts
    "argmax", "argmin", "argsort", "argpartition", "argwhere", "nonzero", "flatnonzero",
    "lexsort", "searchsorted", "sort", "unique", "count_nonzero", "any", "all", "bincount",
    "digitize", "histogram", "isin", "unravel_index", "ravel_multi_index",
    # tests on values
    "isneginf", "isposinf", "iscomplexobj", "isrealobj", "iscomplex", "isreal",
    "may_share_memory", "shares_memory",
    # new arrays shaped like the input (their values do not depend on it)
    "zeros_like", "ones_like", "empty_like", "full_like",
    # printing and saving
    "array_repr", "array_str", "array2string", "save", "savez", "savez_compressed", "savetxt",
)
_PASSTHROUGH = {getattr(np, n) for n in _PASSTHROUGH_NAMES if hasattr(np, n)}


def array_function(func, types, args, kwargs):
    """``Tensor.__array_function__``: a tinydl op, a query on the arrays, or a clear error."""
    if func in _FUNCTION_OPS:
        return _FUNCTION_OPS[func](*args, **kwargs)
    if func in _PASSTHROUGH:
        return func(*_unwrap(args), **_unwrap(kwargs))
    raise _unsupported(_function_name(func))
