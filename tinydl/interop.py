"""NumPy interoperability: ``np.exp(t)``, ``np.sum(t, axis=1)`` on Tensors run tinydl's ops.

NumPy hands every ufunc call that involves a Tensor to ``Tensor.__array_ufunc__`` and every
other NumPy function to ``Tensor.__array_function__`` (NEP 13 and NEP 18); both land here.
One rule decides what happens, for ufuncs and functions alike:

* **ops**: NumPy names tinydl has an op for (``np.exp``, ``np.arctan2``, ``np.sum``,
  ``np.sort``, ``np.cumsum``, ``np.median``, ``np.einsum``, ``np.linalg.norm``,
  ``np.linalg.inv``, ``ndarray + Tensor``) run that op, with NumPy's argument names and
  defaults, and return a Tensor in the graph. A few are composed from ops where the
  composition is exact to rounding (``deg2rad = x * pi / 180``). Piecewise-constant ones
  (``np.floor``, ``np.sign``, ``np.rint``, ``np.floor_divide``) are in the graph with a zero
  gradient, as in torch. Logical and bitwise ufuncs (``np.logical_and``, ``np.bitwise_or``,
  ``np.invert``) run tinydl's functions, which give bool or integer Tensors outside the graph.
* **constants**: comparisons (``np.less(t, 0)``, as ``t < 0``) give a bool Tensor outside
  the graph, as Tensor's own comparison operators do.
* **queries**: functions whose result is not a differentiable value (``np.shape``,
  ``np.argmax``, ``np.allclose``, ``np.isfinite``, ``np.histogram``'s counts...) run on the
  arrays, with Tensors unwrapped (also inside lists and tuples), and return plain NumPy
  results. ``np.unique`` is a value tinydl has no gradient for: it runs on the arrays too,
  but raises where a Tensor that requires grad would lose its graph. ``weights`` that
  require grad make ``np.bincount`` and ``np.histogram`` run tinydl's ops (differentiable
  in the weights).

Anything else raises a ``TypeError`` that names the NumPy function and points to
``np.f(t.data)`` for a plain array. So do arguments tinydl cannot honour (``out=``,
``where=``, ``dtype=``, ``np.quantile``'s other methods, ``np.linalg.svd(hermitian=True)``,
ufunc methods other than a call, except ``np.add.reduce`` and ``np.maximum/minimum.reduce``,
which are sum, max and min): a result is never computed by rules other than NumPy's.
"""
import collections
import sys

import numpy as np

from tinydl import linalg, ops
from tinydl.autograd import is_grad_enabled
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


def _needs_grad(x):
    """Whether ``x`` is a Tensor whose gradient is being recorded."""
    return isinstance(x, Tensor) and x.requires_grad and is_grad_enabled()


def _operand(x):
    """A Tensor, an array or a Python number: what tinydl's ops take (lists become arrays)."""
    if isinstance(x, (Tensor, np.ndarray, np.generic, int, float, bool)):
        return x
    return np.asarray(_unwrap(x))


def _written(x):
    """The values of an in-place writer: a Python list or tuple kept (Tensors in it read as
    arrays), anything else as ``_operand``."""
    return _unwrap(x) if isinstance(x, (list, tuple)) else _operand(x)


def _into_array(numpy_function, into_tensor):
    """An in-place NumPy writer: ``into_tensor`` where the destination is a Tensor, NumPy's
    own function on plain arrays where it is an ndarray (it refused: "writes into a Tensor in
    place, got ndarray")."""
    def write(destination, *args, **kwargs):
        if isinstance(destination, Tensor):
            return into_tensor(destination, *args, **kwargs)
        return numpy_function(destination, *_unwrap(args), **_unwrap(kwargs))
    return write


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
# NumPy ufunc -> tinydl op with the same inputs. Composed entries are exact to rounding.
_UFUNC_OPS = {
    np.add: ops.add,
    np.subtract: ops.subtract,
    np.multiply: ops.multiply,
    np.true_divide: ops.divide,  # np.divide is the same ufunc
    np.power: ops.power,
    np.float_power: ops.float_power,
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
    np.logaddexp: ops.logaddexp,
    np.logaddexp2: ops.logaddexp2,
    np.fmax: ops.fmax,
    np.fmin: ops.fmin,
    np.ldexp: ops.ldexp,
    np.frexp: ops.frexp,  # (mantissa, exponent): the exponent int32, outside the graph
    np.nextafter: ops.nextafter,
    np.heaviside: ops.heaviside,  # its backward raises, as torch's
    np.gcd: ops.gcd,
    np.lcm: ops.lcm,
    np.deg2rad: ops.deg2rad,
    np.radians: ops.deg2rad,
    np.rad2deg: ops.rad2deg,
    np.degrees: ops.rad2deg,
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
    np.modf: ops.modf,  # (fractional part, integral part)
    np.cbrt: ops.cbrt,
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
}


def _add_scipy_ufuncs():
    """Add scipy.special's ufuncs that tinydl computes to ``_UFUNC_OPS`` once scipy.special is
    imported: only then can a Tensor meet one, and importing it here would add 0.2 s to
    ``import tinydl`` (half of it)."""
    special = sys.modules.get("scipy.special")
    if special is not None and special.erf not in _UFUNC_OPS:
        _UFUNC_OPS.update({special.erf: ops.erf, special.expit: ops.sigmoid})
        from tinydl.ops import special as tinydl_special
        _UFUNC_OPS.update({getattr(special, name): getattr(tinydl_special, name) for name in (
            "erfc", "erfcx", "erfinv", "ndtr", "ndtri", "log_ndtr", "gammaln", "psi", "i0",
            "i0e", "i1", "i1e", "logit", "xlogy", "xlog1py", "entr")})


# Integer division: a zero divisor raises, as tinydl's ops do (torch's ZeroDivisionError).
_INTEGER_DIVISIONS = {np.floor_divide, np.remainder, np.fmod, np.divmod}

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
        _add_scipy_ufuncs()
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
        # Integer division by zero raises, as tinydl's own ops (NumPy's 0 with a warning);
        # otherwise NumPy's own result and dtype (tinydl's ops take torch's 0-d rule, which
        # would wrap np.array(300) into int8)
        arrays = _unwrap(inputs)
        if ufunc in _INTEGER_DIVISIONS and np.any(np.asarray(arrays[1]) == 0):
            raise ZeroDivisionError(f"{name}: integer division by zero (the divisor has zeros)")
        if ufunc is np.reciprocal and np.any(np.asarray(arrays[0]) == 0):
            # NumPy's integer 1 // x (tinydl.reciprocal is torch's float one): 1 // 0 gave
            # int64's minimum with a warning
            raise ZeroDivisionError(f"{name}: integer reciprocal of 0 (NumPy's integer loop; "
                                    "tinydl.reciprocal(x) gives torch's float result)")
        return _wrap_result(_int_ufunc(ufunc, arrays))
    return _UFUNC_OPS[ufunc](*[_operand(x) for x in inputs])


def _int_ufunc(ufunc, arrays):
    """``ufunc`` on integer and bool arrays; a float result computed in float32, torch's
    dtype for it (NumPy makes float64 of int64 but float16 of int8, uint8 and bool: exp(12)
    overflows there)."""
    # A Python int counts as NumPy's weak scalar (its own dtype would widen int8 to int64).
    loop = ufunc.resolve_dtypes(tuple(int if type(a) is int else np.asarray(a).dtype
                                      for a in arrays) + (None,) * ufunc.nout)
    if any(dtype.kind == "f" for dtype in loop[ufunc.nin:]):
        # Only the inputs the loop takes as floats (ldexp's exponent stays an integer: cast,
        # it found no loop); float_power computes in float64 only (as torch's float_power:
        # through float32, 16777217 became 16777216).
        wide = np.float64 if ufunc is np.float_power else DEFAULT_FLOAT
        arrays = [a if isinstance(a, (bool, int)) or loop[i].kind != "f"
                  else np.asarray(a, dtype=wide) for i, a in enumerate(arrays)]
    return ufunc(*arrays)


def _wrap_result(result):
    """NumPy's result as a Tensor (a tuple of Tensors for ufuncs of two outputs: divmod)."""
    if isinstance(result, tuple):
        return tuple(Tensor._wrap(np.asarray(r)) for r in result)
    return Tensor._wrap(np.asarray(result))


# ----------------------------------------------------------------------------- functions
# Each takes NumPy's signature (so positional and keyword calls both bind) and runs tinydl's
# op; arguments tinydl cannot honour raise.
def _summation(op, name):
    """np.sum, np.prod, np.nansum: one signature."""
    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        _refuse_extras(name, out=out, initial=initial, where=where)
        return op(_operand(a), axis=axis, keepdims=keepdims, dtype=dtype)
    return reduce


def _average(op, name):
    """np.mean, np.nanmean: one signature."""
    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
        _refuse_extras(name, out=out, where=where)
        return op(_operand(a), axis=axis, keepdims=keepdims, dtype=dtype)
    return reduce


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
    # tinydl's moveaxis checks the axes as NumPy does (out of range, repeated)
    return ops.moveaxis(_operand(a), source, destination)


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
    return ops.array_split(_operand(ary), indices_or_sections, axis=axis)


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
    # Tensor bounds get gradients too; ops.clip follows NumPy's order (raise to low, then cap
    # at high, so low > high gives high) and lets a NaN in x or in a bound through.
    return ops.clip(_operand(a), low if isinstance(low, Tensor) else _unwrap(low),
                    high if isinstance(high, Tensor) else _unwrap(high))


def _pad(array, pad_width, mode="constant", **kwargs):
    if mode != "constant":
        raise _unsupported("numpy.pad", f"tinydl pads with a constant only, got mode={mode!r}")
    constant_values = kwargs.pop("constant_values", 0)
    _refuse_extras("numpy.pad", **kwargs)
    if (np.asarray(pad_width) < 0).any():  # tinydl's pad crops there (torch's F.pad)
        raise ValueError(f"numpy.pad: index can't contain negative values, got pad_width "
                         f"{pad_width!r}")
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
    return ops.copy(_operand(a), order)  # NumPy's default 'K' keeps the layout


def _round(a, decimals=0, out=None):
    _refuse_extras("numpy.round", out=out)
    return ops.round(_operand(a), decimals)


def _fix(x, out=None):
    _refuse_extras("numpy.fix", out=out)
    return ops.trunc(_operand(x))


def _astype(x, dtype, /, *, copy=True, device=None):
    _refuse_extras("numpy.astype", device=None if device == "cpu" else device)
    out = ops.astype(_operand(x), dtype)
    return ops.copy(out) if copy and out is x else out  # ops.astype hands x back unchanged


# Scans, movements and order statistics.
def _scan(op, name):
    """np.cumsum, np.cumprod: the flattened ``a`` when ``axis`` is None, as NumPy; ``dtype``
    casts first (the scan keeps it), and unsigned input scans in uint64 as NumPy's (tinydl's
    own cumsum gives int64 there, torch's rule)."""
    def scan(a, axis=None, dtype=None, out=None):
        _refuse_extras(name, out=out)
        a = _operand(a)
        if dtype is None and np.dtype(a.dtype).kind == "u":
            dtype = np.uint64
        return op(a, axis=axis, dtype=dtype)
    return scan


def _cumulative(op, name):
    """np.cumulative_sum, np.cumulative_prod (the array API's scans): ``axis`` may be None
    for 1-D ``x`` only."""
    def scan(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        _refuse_extras(name, dtype=dtype, out=out, include_initial=include_initial or None)
        x = _operand(x)
        if axis is None and np.ndim(x) != 1:
            raise ValueError(f"{name}: axis must be given for a {np.ndim(x)}-d input")
        return op(x, axis=axis)
    return scan


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    # Every kind and stable= sort to the same values (tinydl's sort is always stable).
    if order is not None:
        raise _unsupported("numpy.sort", f"tinydl sorts by value only, got order={order!r}")
    return ops.sort(_operand(a), axis=axis).values


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    # overwrite_input only lets NumPy sort the input in place; the median is the same.
    _refuse_extras("numpy.median", out=out)
    return ops.median(_operand(a), axis=axis, keepdims=keepdims)


_QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")  # tinydl's five


def _quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=False, *, weights=None):
    _refuse_extras("numpy.quantile", out=out, weights=weights)
    if method not in _QUANTILE_METHODS:
        raise _unsupported("numpy.quantile", f"tinydl computes the methods {_QUANTILE_METHODS} "
                           f"only, got method={method!r}")
    if _needs_grad(q):
        raise _unsupported("numpy.quantile", "tinydl has no gradient with respect to q")
    return ops.quantile(_operand(a), _unwrap(q), axis=axis, keepdims=keepdims, method=method)


def _einsum(*operands, out=None, optimize=False, **kwargs):
    # optimize only chooses the order of the contractions: the same sums, to rounding.
    _refuse_extras("numpy.einsum", out=out, **kwargs)  # dtype, order, casting
    return ops.einsum(*operands)  # operands as given: the sublist form has lists of labels


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _refuse_extras("numpy.trace", dtype=dtype, out=out)
    return ops.trace(_operand(a), offset, axis1, axis2)


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    return ops.meshgrid(*[_operand(x) for x in xi], indexing=indexing, sparse=sparse, copy=copy)


# np.linalg: tinydl.linalg (torch.linalg's functions), with NumPy's result names.
SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


def _solve(a, b):
    a, b = _operand(a), _operand(b)
    if np.ndim(b) >= 2 and np.shape(b) == np.shape(a)[:-1]:
        # NumPy 2 reads every b of 2 or more axes as matrices; tinydl (torch) reads this shape
        # as a batch of vectors, unless the batch axes are spelled out.
        b = ops.broadcast_to(b, np.broadcast_shapes(np.shape(a)[:-2], np.shape(b)[:-2])
                             + np.shape(b)[-2:])
    return linalg.solve(a, b)


def _qr(a, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise _unsupported("numpy.linalg.qr", f"tinydl computes the modes 'reduced', "
                           f"'complete' and 'r' only, got mode={mode!r}")
    q, r = linalg.qr(_operand(a), mode="reduced" if mode == "r" else mode)
    return r if mode == "r" else QRResult(q, r)


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if hermitian:  # NumPy goes through eigh: other signs of U and Vh
        raise _unsupported("numpy.linalg.svd", "tinydl does not support hermitian=True")
    if not compute_uv:
        return linalg.svdvals(_operand(a))
    return SVDResult(*linalg.svd(_operand(a), full_matrices=full_matrices))


def _matrix_transpose(x, /):
    x = _operand(x)
    if np.ndim(x) < 2:
        raise ValueError(f"numpy.matrix_transpose: needs at least 2 dimensions, got shape "
                         f"{np.shape(x)}")
    return ops.swapaxes(x, -2, -1)


def _linalg_outer(x1, x2, /):
    x1, x2 = _operand(x1), _operand(x2)
    if np.ndim(x1) != 1 or np.ndim(x2) != 1:  # NumPy's rule (np.outer flattens instead)
        raise ValueError(f"numpy.linalg.outer: needs 1-D inputs, got shapes {np.shape(x1)} "
                         f"and {np.shape(x2)}")
    return ops.outer(x1, x2)


def _linalg_trace(x, /, *, offset=0, dtype=None):
    _refuse_extras("numpy.linalg.trace", dtype=dtype)
    return ops.trace(_operand(x), offset, -2, -1)


# Value functions tinydl has no gradient for: plain NumPy results, unless that would cut a
# graph.
def _refuse_graph_cut(name, values):
    if _needs_grad(values):
        raise _unsupported(name, "tinydl has no differentiable op for it, and its plain NumPy "
                           "result would cut the graph of a Tensor that requires grad")


def _unique(ar, *args, **kwargs):
    _refuse_graph_cut("numpy.unique", ar)
    return np.unique(_unwrap(ar), *args, **kwargs)


def _bincount(x, /, weights=None, minlength=0):
    if _needs_grad(weights):  # tinydl's bincount (NumPy's float64), whose weights have a gradient
        return ops.bincount(_unwrap(x), ops.astype(weights, np.float64), minlength)
    return np.bincount(_unwrap(x), _unwrap(weights), minlength)


def _histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002
    # The counts are constant between bin edges: only weights carry a gradient.
    if _needs_grad(weights):  # tinydl's histogram, differentiable in the weights
        return ops.histogram(a, bins, range, bool(density), weights)
    return np.histogram(_unwrap(a), _unwrap(bins), range, density, _unwrap(weights))


# Joins, splits, differences, covariance, products and order statistics (NumPy's signatures).
def _joining(op, name):
    """np.hstack, np.vstack, np.row_stack: ``dtype``/``casting`` refused."""
    def join(tup, *, dtype=None, casting=None):
        _refuse_extras(name, dtype=dtype, casting=casting)
        return op([_operand(a) for a in tup])
    return join


def _corrcoef(x, y=None, rowvar=True, bias=None, ddof=None, *, dtype=None):
    # bias and ddof have no effect in NumPy (deprecated there): they change nothing here
    return ops.corrcoef(_operand(x), None if y is None else _operand(y), rowvar, dtype=dtype)


def _take(a, indices, axis=None, out=None, mode="raise"):
    _refuse_extras("numpy.take", out=out)
    return ops.take(_operand(a), _unwrap(indices), axis, mode)


def _nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _refuse_extras("numpy.nanmedian", out=out)
    return ops.nanmedian(_operand(a), axis=axis, keepdims=keepdims)


def _nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None, interpolation=None):
    _refuse_extras("numpy.nanquantile", out=out, weights=weights)
    method = interpolation or method
    if method not in _QUANTILE_METHODS:
        raise _unsupported("numpy.nanquantile", f"tinydl computes the methods "
                           f"{_QUANTILE_METHODS} only, got method={method!r}")
    if _needs_grad(q):
        raise _unsupported("numpy.nanquantile", "tinydl has no gradient with respect to q")
    return ops.nanquantile(_operand(a), _unwrap(q), axis=axis, keepdims=keepdims,
                           method=method)


_FUNCTION_OPS = {
    np.sum: _summation(ops.sum, "numpy.sum"),
    np.mean: _average(ops.mean, "numpy.mean"),
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
    np.sinc: lambda x: ops.sinc(_operand(x)),
    np.i0: lambda x: ops.i0(_operand(x)),
    np.astype: _astype,
    # reductions, scans, movements, order statistics
    np.prod: _summation(ops.prod, "numpy.prod"),
    np.nansum: _summation(ops.nansum, "numpy.nansum"),
    np.nanmean: _average(ops.nanmean, "numpy.nanmean"),
    np.cumsum: _scan(ops.cumsum, "numpy.cumsum"),
    np.cumprod: _scan(ops.cumprod, "numpy.cumprod"),
    np.cumulative_sum: _cumulative(ops.cumsum, "numpy.cumulative_sum"),
    np.cumulative_prod: _cumulative(ops.cumprod, "numpy.cumulative_prod"),
    np.flip: lambda m, axis=None: ops.flip(_operand(m), axis),
    np.roll: lambda a, shift, axis=None: ops.roll(_operand(a), shift, axis),
    np.tile: lambda A, reps: ops.tile(_operand(A), reps),
    np.repeat: lambda a, repeats, axis=None: ops.repeat_interleave(_operand(a), repeats, axis),
    np.take_along_axis: lambda arr, indices, axis=-1: ops.take_along_axis(_operand(arr),
                                                                          indices, axis),
    np.tril: lambda m, k=0: ops.tril(_operand(m), k),
    np.triu: lambda m, k=0: ops.triu(_operand(m), k),
    np.diag: lambda v, k=0: ops.diag(_operand(v), k),
    np.diagonal: lambda a, offset=0, axis1=0, axis2=1: ops.diagonal(_operand(a), offset,
                                                                     axis1, axis2),
    np.trace: _trace,
    np.matrix_transpose: _matrix_transpose,
    np.meshgrid: _meshgrid,
    np.sort: _sort,
    np.median: _median,
    np.quantile: _quantile,
    # products
    np.einsum: _einsum,
    np.tensordot: lambda a, b, axes=2: ops.tensordot(_operand(a), _operand(b), axes),
    np.inner: lambda a, b: ops.inner(_operand(a), _operand(b)),
    np.kron: lambda a, b: ops.kron(_operand(a), _operand(b)),
    # np.linalg
    np.linalg.norm: lambda x, ord=None, axis=None, keepdims=False: linalg.norm(  # noqa: A002
        _operand(x), ord, axis, keepdims),
    np.linalg.vector_norm: lambda x, /, *, axis=None, keepdims=False, ord=2: (  # noqa: A002
        linalg.vector_norm(_operand(x), ord, axis, keepdims)),
    np.linalg.matrix_norm: lambda x, /, *, keepdims=False, ord="fro": (  # noqa: A002
        linalg.matrix_norm(_operand(x), ord, (-2, -1), keepdims)),
    np.linalg.det: lambda a: linalg.det(_operand(a)),
    np.linalg.slogdet: lambda a: SlogdetResult(*linalg.slogdet(_operand(a))),
    np.linalg.inv: lambda a: linalg.inv(_operand(a)),
    np.linalg.solve: _solve,
    np.linalg.cholesky: lambda a, /, *, upper=False: linalg.cholesky(_operand(a), upper),
    np.linalg.qr: _qr,
    np.linalg.svd: _svd,
    np.linalg.svdvals: lambda x, /: linalg.svdvals(_operand(x)),
    np.linalg.eigh: lambda a, UPLO="L": EighResult(*linalg.eigh(_operand(a), UPLO)),
    np.linalg.eigvalsh: lambda a, UPLO="L": linalg.eigvalsh(_operand(a), UPLO),
    np.linalg.matmul: lambda x1, x2, /: ops.matmul(_operand(x1), _operand(x2)),
    np.linalg.tensordot: lambda x1, x2, /, *, axes=2: ops.tensordot(_operand(x1),
                                                                    _operand(x2), axes),
    np.linalg.outer: _linalg_outer,
    np.linalg.trace: _linalg_trace,
    np.linalg.diagonal: lambda x, /, *, offset=0: ops.diagonal(_operand(x), offset, -2, -1),
    np.linalg.matrix_transpose: _matrix_transpose,
    # values without a gradient in tinydl: NumPy's result, or an error where it cuts a graph
    np.unique: _unique,
    np.bincount: _bincount,
    np.histogram: _histogram,
}
_FUNCTION_OPS.update({
    np.hstack: _joining(ops.hstack, "numpy.hstack"),
    np.vstack: _joining(ops.vstack, "numpy.vstack"),
    np.row_stack: _joining(ops.vstack, "numpy.row_stack"),
    np.dstack: lambda tup: ops.dstack([_operand(a) for a in tup]),
    np.column_stack: lambda tup: ops.column_stack([_operand(a) for a in tup]),
    np.hsplit: lambda ary, indices_or_sections: ops.hsplit(_operand(ary), indices_or_sections),
    np.vsplit: lambda ary, indices_or_sections: ops.vsplit(_operand(ary), indices_or_sections),
    np.dsplit: lambda ary, indices_or_sections: ops.dsplit(_operand(ary), indices_or_sections),
    np.rot90: lambda m, k=1, axes=(0, 1): ops.rot90(_operand(m), k, axes),
    np.fliplr: lambda m: ops.fliplr(_operand(m)),
    np.flipud: lambda m: ops.flipud(_operand(m)),
    np.diagflat: lambda v, k=0: ops.diagflat(_operand(v), k),
    np.take: _take,
    np.put: lambda a, ind, v, mode="raise": ops.put(a, _unwrap(ind), _operand(v), mode),
    np.diff: lambda a, n=1, axis=-1, prepend=None, append=None: ops.diff(
        _operand(a), n, axis, prepend, append),
    np.trapezoid: lambda y, x=None, dx=1.0, axis=-1: ops.trapezoid(
        _operand(y), None if x is None else _operand(x), dx, axis),
    np.cov: lambda m, y=None, rowvar=True, bias=False, ddof=None, fweights=None,
    aweights=None, *, dtype=None: ops.cov(_operand(m), None if y is None else _operand(y),
                                          rowvar, bias, ddof, fweights, aweights, dtype=dtype),
    np.corrcoef: _corrcoef,
    np.vander: lambda x, N=None, increasing=False: ops.vander(_operand(x), N, increasing),
    np.cross: lambda a, b, axisa=-1, axisb=-1, axisc=-1, axis=None: ops.cross(
        _operand(a), _operand(b), axisa, axisb, axisc, axis),
    np.vdot: lambda a, b, /: ops.vdot(_operand(a), _operand(b)),
    np.nanmedian: _nanmedian,
    np.nanquantile: _nanquantile,
})
# NumPy's array-manipulation routines (tinydl/ops/numpy_more.py)
def _compress(condition, a, axis=None, out=None):
    _refuse_extras("numpy.compress", out=out)
    return ops.compress(_unwrap(condition), _operand(a), axis)


def _partition(a, kth, axis=-1, kind="introselect", order=None):
    _refuse_extras("numpy.partition", order=order)  # fields of structured arrays
    return ops.partition(_operand(a), kth, axis, kind)


def _choose(a, choices, out=None, mode="raise"):
    _refuse_extras("numpy.choose", out=out)
    return ops.choose(_unwrap(a), [_operand(c) for c in choices], mode)


_FUNCTION_OPS.update({
    np.append: lambda arr, values, axis=None: ops.append(_operand(arr), _operand(values), axis),
    np.insert: lambda arr, obj, values, axis=None: ops.insert(_operand(arr), _unwrap(obj),
                                                              _operand(values), axis),
    np.delete: lambda arr, obj, axis=None: ops.delete(_operand(arr), _unwrap(obj), axis),
    np.atleast_1d: lambda *arys: ops.atleast_1d(*map(_operand, arys)),
    np.atleast_2d: lambda *arys: ops.atleast_2d(*map(_operand, arys)),
    np.atleast_3d: lambda *arys: ops.atleast_3d(*map(_operand, arys)),
    np.broadcast_arrays: lambda *args, subok=False: ops.broadcast_arrays(*map(_operand, args)),
    np.compress: _compress,
    np.extract: lambda condition, arr: ops.extract(_unwrap(condition), _operand(arr)),
    np.resize: lambda a, new_shape: ops.resize(_operand(a), new_shape),
    np.rollaxis: lambda a, axis, start=0: ops.rollaxis(_operand(a), axis, start),
    np.trim_zeros: lambda filt, trim="fb", axis=None: ops.trim_zeros(_operand(filt), trim, axis),
    np.ediff1d: lambda ary, to_end=None, to_begin=None: ops.ediff1d(_operand(ary), to_end,
                                                                    to_begin),
    np.union1d: lambda ar1, ar2: ops.union1d(_operand(ar1), _operand(ar2)),
    np.intersect1d: lambda ar1, ar2, assume_unique=False, return_indices=False: (
        ops.intersect1d(_operand(ar1), _operand(ar2), assume_unique, return_indices)),
    np.setdiff1d: lambda ar1, ar2, assume_unique=False: ops.setdiff1d(
        _operand(ar1), _operand(ar2), assume_unique),
    np.choose: _choose,
    np.partition: _partition,
    np.gradient: lambda f, *varargs, axis=None, edge_order=1: ops.gradient(
        _operand(f), *map(_unwrap, varargs), axis=axis, edge_order=edge_order),
    np.convolve: lambda a, v, mode="full": ops.convolve(_operand(a), _operand(v), mode),
    np.correlate: lambda a, v, mode="valid": ops.correlate(_operand(a), _operand(v), mode),
    np.block: lambda arrays: ops.block(arrays),
    # in place into a Tensor, returning None (as NumPy); these three convert Python values
    # (lists too) straight to the tensor's dtype, as NumPy's do, so lists stay lists here.
    # Into an ndarray (a Tensor only among the values: np.full(n, t) calls copyto) they are
    # NumPy's own, on the values, as nd[i] = t is (_into_array).
    np.put_along_axis: _into_array(np.put_along_axis, lambda arr, indices, values, axis:
                                   ops.put_along_axis(arr, _unwrap(indices), _written(values),
                                                      axis)),
    np.place: _into_array(np.place, lambda arr, mask, vals: ops.place(
        arr, _unwrap(mask), _written(vals))),
    np.putmask: _into_array(np.putmask, lambda a, mask, values: ops.putmask(
        a, _unwrap(mask), _written(values))),
    np.copyto: _into_array(np.copyto, lambda dst, src, casting="same_kind", where=True:
                           ops.copyto(dst, _operand(src), casting, _unwrap(where))),
})


# NumPy's other NaN-ignoring reductions, percentiles, ptp and average (tinydl/ops/nanreduce.py).
def _nan_arg(op, name):
    def arg(a, axis=None, out=None, *, keepdims=False):
        _refuse_extras(name, out=out)
        return op(_unwrap(a), axis=axis, keepdims=keepdims)
    return arg


def _percentile(op, name):
    """np.percentile, np.nanpercentile: tinydl's five methods, no gradient for q."""
    def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=False, *, weights=None, interpolation=None):
        _refuse_extras(name, out=out, weights=weights)
        method = interpolation or method
        if method not in _QUANTILE_METHODS:
            raise _unsupported(name, f"tinydl computes the methods {_QUANTILE_METHODS} only, "
                               f"got method={method!r}")
        if _needs_grad(q):
            raise _unsupported(name, "tinydl has no gradient with respect to q")
        return op(_operand(a), _unwrap(q), axis=axis, keepdims=keepdims, method=method)
    return percentile


def _ptp(a, axis=None, out=None, keepdims=False):
    _refuse_extras("numpy.ptp", out=out)
    return ops.ptp(_operand(a), axis=axis, keepdims=keepdims)


def _average_weighted(a, axis=None, weights=None, returned=False, *, keepdims=False):
    return ops.average(_operand(a), axis, None if weights is None else _operand(weights),
                       returned, keepdims=keepdims)


_FUNCTION_OPS.update({
    np.nanmax: _reduction(ops.nanmax, "numpy.nanmax"),
    np.nanmin: _reduction(ops.nanmin, "numpy.nanmin"),
    np.nanargmax: _nan_arg(ops.nanargmax, "numpy.nanargmax"),
    np.nanargmin: _nan_arg(ops.nanargmin, "numpy.nanargmin"),
    np.nanprod: _summation(ops.nanprod, "numpy.nanprod"),
    np.nancumsum: _scan(ops.nancumsum, "numpy.nancumsum"),
    np.nancumprod: _scan(ops.nancumprod, "numpy.nancumprod"),
    np.nanvar: _moment(ops.nanvar, "numpy.nanvar"),
    np.nanstd: _moment(ops.nanstd, "numpy.nanstd"),
    np.percentile: _percentile(ops.percentile, "numpy.percentile"),
    np.nanpercentile: _percentile(ops.nanpercentile, "numpy.nanpercentile"),
    np.ptp: _ptp,
    np.average: _average_weighted,
    np.interp: lambda x, xp, fp, left=None, right=None, period=None: ops.interp(
        x, xp, fp, left, right, period),
    np.nan_to_num: lambda x, copy=True, nan=0.0, posinf=None, neginf=None: ops.nan_to_num(
        _operand(x), copy, nan, posinf, neginf),
})

# Functions whose result is not a differentiable value: they run on the arrays.
_PASSTHROUGH_NAMES = (
    # shapes and dtypes
    "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type",
    # comparisons of whole arrays
    "allclose", "isclose", "array_equal", "array_equiv",
    # indices, orderings and counts
    "argmax", "argmin", "argsort", "argpartition", "argwhere", "nonzero", "flatnonzero",
    "lexsort", "searchsorted", "count_nonzero", "any", "all", "digitize", "isin",
    "unravel_index", "ravel_multi_index",
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
