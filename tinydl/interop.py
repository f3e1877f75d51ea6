"""NumPy interoperability: ``np.exp(t)``, ``np.sum(t, axis=1)`` on Tensors run tinydl's ops.

(Placeholder while the full table is written: arithmetic ufuncs map to tinydl's operators;
every other NumPy function runs on the arrays, as before.)
"""
import operator

import numpy as np

from tinydl.tensor import Tensor

_BINARY = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
           np.true_divide: operator.truediv, np.power: operator.pow, np.matmul: operator.matmul,
           np.less: operator.lt, np.less_equal: operator.le, np.greater: operator.gt,
           np.greater_equal: operator.ge, np.equal: operator.eq, np.not_equal: operator.ne}


def _unwrap(x):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return x


def array_ufunc(ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs and ufunc in _BINARY and len(inputs) == 2:
        a, b = inputs
        if not isinstance(a, Tensor):
            a = Tensor._wrap(np.asarray(a))
        return _BINARY[ufunc](a, b)
    raise TypeError(f"numpy.{ufunc.__name__}: not supported on tinydl Tensors yet")


def array_function(func, types, args, kwargs):
    return func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
