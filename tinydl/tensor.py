"""Tensor: an ndarray, its gradient, and the node that made it.

Every operator and method here delegates to a function in ``tinydl.ops``; the Tensor class
itself knows nothing about derivatives. The dtype rules follow ``torch.tensor``:

* Python numbers and lists become ``float32`` (lists of bools stay ``bool``);
* NumPy arrays and NumPy scalars keep their dtype, so ``float64`` stays ``float64``;
* ``dtype=`` overrides both;
* mixing dtypes in an op follows NumPy promotion (float32 with float64 gives float64, and a
  Python scalar does not promote: ``float32_tensor * 2.0`` stays float32).
"""
import numpy as np

float16 = np.float16
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_

_DEFAULT_FLOAT = np.float32


def _to_array(data, dtype=None):
    """The ndarray a Tensor built from ``data`` holds (always a copy, as ``torch.tensor`` makes)."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    arr = np.array(data)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: cannot build a tensor from {type(data).__name__} "
                        f"(NumPy dtype {arr.dtype})")
    return arr.astype(_DEFAULT_FLOAT)


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)``. Attributes: ``data`` (the ndarray),
    ``grad`` (a Tensor or None), ``requires_grad``, ``shape``, ``ndim``, ``dtype``, ``size``.
    ``np.asarray(t)`` gives ``t.data``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "__weakref__")
    __array_priority__ = 1000

    # NumPy functions and ufuncs called on Tensors (``np.exp(t)``, ``np.sum(t, axis=0)``) run
    # the matching tinydl op, so the result stays a differentiable Tensor (tinydl/interop.py).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _interop.array_function(func, types, args, kwargs)

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """Build a Tensor around ``data`` without copying or converting (ops' fast path)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._retains_grad = False
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        return _ops.transpose(self)

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (their ``.grad`` is filled by backward)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op that produced this tensor (its ``Function`` class), or None for leaves."""
        return self._ctx.fn if self._ctx is not None else None

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place; only floating-point tensors can require gradients."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` after backward."""
        self._retains_grad = True

    # ----------------------------------------------------------------- conversion
    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self):
        """The underlying ndarray (shared, not copied, as ``torch.Tensor.numpy``)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python "
                             f"scalars, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A new leaf Tensor sharing this tensor's data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def copy(self):
        """A differentiable copy (``torch.clone``)."""
        return _ops.copy(self)

    clone = copy

    def astype(self, dtype):
        """Cast to ``dtype``; the gradient is cast back."""
        return _ops.astype(self, dtype)

    def float(self):
        return _ops.astype(self, np.float32)

    def double(self):
        return _ops.astype(self, np.float64)

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d self / d leaf into each leaf's ``.grad``; ``grad`` is needed unless self is scalar."""
        from tinydl.autograd import backward
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = [f"dtype={self.data.dtype}"]
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.fn.__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is "
                             "ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.data)

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __pow__(self, other):
        return _ops.power(self, other)

    def __rpow__(self, other):
        return _ops.power(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        if self.requires_grad or self._ctx is not None:
            raise RuntimeError("Tensor.__setitem__: in-place assignment into a tensor that is "
                               "part of a graph would corrupt its gradient; assign into "
                               "t.data (e.g. under no_grad) or build a new tensor")
        self.data[index] = value.data if isinstance(value, Tensor) else value

    # Comparisons give bool tensors outside the graph, as in NumPy and torch.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(np.asarray(op(self.data, other)))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    # ----------------------------------------------------------------- methods (NumPy names)
    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def sin(self):
        return _ops.sin(self)

    def cos(self):
        return _ops.cos(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def leaky_relu(self, negative_slope=0.01):
        return _ops.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return _ops.elu(self, alpha)

    def gelu(self):
        return _ops.gelu(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return _ops.softplus(self, beta, threshold)

    def softmax(self, axis=-1):
        return _ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return _ops.log_softmax(self, axis)

    def erf(self):
        return _ops.erf(self)

    def clip(self, a_min=None, a_max=None):
        return _ops.clip(self, a_min, a_max)

    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return _ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return _ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return Tensor._wrap(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)))

    def argmin(self, axis=None, keepdims=False):
        return Tensor._wrap(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)))

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return _ops.swapaxes(self, axis1, axis2)

    def expand_dims(self, axis):
        return _ops.expand_dims(self, axis)

    def squeeze(self, axis=None):
        return _ops.squeeze(self, axis)

    def flatten(self, start_axis=0, end_axis=-1):
        return _ops.flatten(self, start_axis, end_axis)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)


from tinydl import interop as _interop  # noqa: E402  (both import Tensor; resolved at call time)
from tinydl import ops as _ops  # noqa: E402
