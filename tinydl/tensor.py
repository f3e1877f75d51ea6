"""Tensor: an ndarray, its gradient, and the node that made it.

Every operator and method here delegates to a function in ``tinydl.ops``; the Tensor class
itself knows nothing about derivatives. The dtype rules follow ``torch.tensor``:

* Python floats (and lists holding any float) become ``float32``, Python ints ``int64``,
  bools ``bool``;
* NumPy arrays and NumPy scalars keep their dtype, so ``float64`` stays ``float64``;
* ``dtype=`` overrides both;
* mixing dtypes in an op follows torch's promotion where it differs from NumPy's: an integer
  tensor with a Python float or a float tensor takes the float's dtype (``int64 * 0.5`` is
  float32), integer division ``/`` gives float32; otherwise NumPy's (float32 with float64 gives
  float64, and a Python scalar does not promote: ``float32_tensor * 2.0`` stays float32).

This file is longer than the 500 lines the rest of the package keeps to: it is one class, the
Tensor API (operators, NumPy and torch names, in-place ops), whose methods are mostly one or
two lines delegating to ``tinydl.ops``; split across files, that surface would be harder to
read as a whole.

In-place ops (``+=``, ``add_``, ``zero_``...) write into ``t.data`` so every alias sees the
change. Each Tensor carries a version counter (shared with the tensors that view its array)
that in-place ops bump; backward refuses a node whose saved input changed since its forward.
"""
import numbers
import operator
import warnings
import weakref

import numpy as np

float16 = np.float16
float32 = np.float32
float64 = np.float64
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
uint8 = np.uint8
int8 = np.int8
int16 = np.int16

_DEFAULT_FLOAT = np.float32


def _to_array(data, dtype=None):
    """The ndarray a Tensor built from ``data`` holds (always a copy, as ``torch.tensor`` makes).

    Python data follows ``torch.tensor``: bools stay ``bool``, ints become ``int64`` (one past
    its range raises OverflowError), floats (or any list holding a float) ``float32``, unless
    NumPy scalars or arrays in the lists decide the dtype (``[np.float64(1.5)]``,
    ``[np.sqrt(2.0)]`` or a list of float64 arrays or Tensors: float64; int32 arrays: int32),
    as torch infers it. NumPy arrays and scalars keep their dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:  # torch's names too (torch.float64), as .to() takes them
        dtype = _as_dtype(dtype, "Tensor")
    # Anything but Python lists and scalars is array data that keeps its dtype: a torch
    # tensor, a PIL image or a memoryview was read as Python lists (float64 -> float32,
    # int32 -> int64, uint8 refused as 'does not fit int64')
    is_numpy = not isinstance(data, (list, tuple, bool, int, float, complex))
    if is_numpy and not isinstance(data, (np.ndarray, np.generic)) and hasattr(data, "__array__"):
        with warnings.catch_warnings():  # a torch tensor's __array__ takes no copy=: NumPy 2
            warnings.simplefilter("ignore", DeprecationWarning)  # warns on each conversion
            data = np.asarray(data)
    try:
        arr = np.array(data, dtype=dtype)
    except ValueError as err:
        if is_numpy or "inhomogeneous" not in str(err) and "sequence" not in str(err):
            raise ValueError(f"Tensor: cannot build a tensor of dtype {dtype} from "
                             f"{_describe(data)}: {err}") from None
        raise ValueError(f"Tensor: the nested lists are ragged (their lengths differ at some "
                         f"depth), so they make no rectangular array: {_describe(data)}") from None
    except TypeError as err:
        raise TypeError(f"Tensor: cannot build a tensor from {_describe(data)}: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: cannot build a tensor from {_describe(data)} (NumPy dtype "
                        f"{arr.dtype}); tensors hold numbers or booleans")
    if dtype is not None or is_numpy or arr.dtype.kind == "b" or arr.dtype == np.int64:
        return arr  # (int64 is the Python-int dtype: no scan of the lists can change it)
    leaves = _leaf_types(data)
    if any(issubclass(t, Tensor) for t in leaves):  # Tensors in the lists count as arrays
        leaves = {t for t in leaves if not issubclass(t, Tensor)} | {np.ndarray}
    # NumPy arrays or scalars inside the lists: one whose dtype NumPy's result took decides
    # it, as torch infers ([np.float64(1.5)] and [array_f64, array_f64] stay float64,
    # int32 arrays int32; before the check below: [np.uint8(1)] is uint8 data).
    if arr.dtype in _numpy_dtypes(data, leaves):
        return arr
    if arr.dtype.kind == "u" or (arr.dtype.kind == "f" and not leaves & _FLOAT_TYPES
                                 and arr.size and np.abs(arr).max() >= 2.0 ** 63):
        # Python ints past int64: NumPy made uint64 or float64 of them; torch refuses.
        raise OverflowError(f"Tensor: an integer in {_describe(data)} does not fit int64 "
                            f"(its range is [-2**63, 2**63 - 1]); pass dtype= or floats")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    return arr.astype(_DEFAULT_FLOAT, copy=False)


_FLOAT_TYPES = frozenset({float, np.float16, np.float32, np.float64, np.longdouble, np.ndarray})


def _leaf_types(data):
    """The types of the non-list items of nested lists/tuples ``data`` (one pass over each
    list's element types: 20 ms for a million floats)."""
    if not isinstance(data, (list, tuple)):
        return {type(data)}
    types = set(map(type, data))
    if list in types or tuple in types:
        types -= {list, tuple}
        for item in data:
            if isinstance(item, (list, tuple)):
                types |= _leaf_types(item)
    return types


def _numpy_dtypes(data, leaves):
    """The dtypes of the NumPy scalars and arrays inside nested lists ``data``."""
    found = {np.dtype(t) for t in leaves if issubclass(t, np.generic)}
    if np.ndarray in leaves:
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, (np.ndarray, Tensor)):
                found.add(item.dtype)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
    return found


_COMPARISON_SYMBOLS = {"less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=",
                       "equal": "==", "not_equal": "!="}


def _describe(data):
    """A short description of a value for error messages."""
    text = repr(data)
    return f"{type(data).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _is_flag(value):
    """Whether ``value`` is a bool (Python's or NumPy's): what a requires_grad may be."""
    return value is True or value is False or isinstance(value, np.bool_)


class _Size(int):
    """``Tensor.size``: NumPy's element count, an int; calling it (torch's habit) explains."""

    def __call__(self, *args, **kwargs):
        raise TypeError("Tensor.size is the element count (an int, as in NumPy), not torch's "
                        "size(): write x.shape for the shape and x.shape[0] for size(0)")


def _assigned_array(value):
    """What ``t.data = value`` stores for a value that is not an ndarray: a Tensor's array
    (torch's habit; its ``.data`` is a Tensor), a NumPy scalar as a 0-d array; anything else
    is refused, rather than leaving a list or a number where every op expects an array."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):  # a subclass (np.matrix, a memmap)
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    raise TypeError(f"Tensor.data must be a NumPy array or a Tensor, not "
                    f"{type(value).__name__}; build one with np.asarray(...) or "
                    "tinydl.tensor(...)")


def _in_place(name, method):
    """Tensor's in-place method ``name`` (torch's ``x.exp_()``): the tensor's out-of-place
    ``method`` (``exp``), its result written into the tensor's array by ``Tensor._inplace``.
    So, as ``add_``: refused on a leaf that requires grad while recording, recorded on any other
    tensor, the version bumped; a result that does not fit the tensor (another shape, or a
    dtype it cannot be cast to: ``int_tensor.sqrt_()``) raises, as in torch."""
    def in_place(self, *args, **kwargs):
        names, n = tuple(kwargs), len(args)

        def compute(s, *operands):  # keyword operands too go through _inplace (Tensors there
            # may require grad, or share this tensor's array)
            return getattr(s, method)(*operands[:n], **dict(zip(names, operands[n:])))

        return self._inplace(name, compute, *args, *kwargs.values())

    in_place.__name__ = in_place.__qualname__ = name
    in_place.__doc__ = f"``{method}`` in place: the result is written into this tensor."
    return in_place


def _in_place_constant(name, method):
    """As ``_in_place``, for a ``method`` without a gradient (a comparison, a logical op): its
    bool result is written in as this tensor's dtype (0 and 1); in a graph, the value it
    replaces gets a zero gradient, as in torch."""
    def in_place(self, *args, **kwargs):
        values = getattr(self, method)(*args, **kwargs)
        return self._inplace(name, lambda s: _ops.where(True, values, s))

    in_place.__name__ = in_place.__qualname__ = name
    in_place.__doc__ = (f"``{method}`` in place: its bool result is written into this tensor "
                        "as its dtype.")
    return in_place


# torch's names of the CPU tensor types (``x.type()``), by NumPy dtype name.
_TORCH_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                     "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
                     "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
                     "uint16": "UInt16Tensor", "uint32": "UInt32Tensor",
                     "uint64": "UInt64Tensor"}


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)``. Attributes: ``data`` (the ndarray),
    ``grad`` (a Tensor or None), ``requires_grad``, ``shape``, ``ndim``, ``dtype``, ``size``.
    ``np.asarray(t)`` gives ``t.data``.
    """

    # _hooks: None, or a leaf's [gradient hooks, post-accumulate hooks] (non-leaves keep their
    # gradient hooks on their node).
    # _base: set only on the output of a view op whose array shares the input's memory (the
    # input Tensor); unset otherwise, read with getattr(t, "_base", None) (see _inplace).
    # _grad, _requires_grad: behind the ``grad`` and ``requires_grad`` properties, which check
    # what users assign; autograd writes them directly.
    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "_retains_grad", "_vc", "_hooks",
                 "_base", "__weakref__")
    __array_priority__ = 1000

    # NumPy functions and ufuncs called on Tensors (``np.exp(t)``, ``np.sum(t, axis=0)``) run
    # the matching tinydl op, so the result stays a differentiable Tensor (tinydl/interop.py).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _interop.array_function(func, types, args, kwargs)

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = _to_array(data, dtype)
        self._grad = None
        self._ctx = None
        self._retains_grad = False
        self._vc = None
        self._hooks = None
        self._requires_grad = False
        if requires_grad is not False:
            if not _is_flag(requires_grad):
                # torch.Tensor(2, 3)'s sizes would land here: refuse (torch does too) rather
                # than make a 0-d tensor that requires grad from Tensor(2.5, 1).
                raise TypeError(
                    f"Tensor: requires_grad must be a bool, got {_describe(requires_grad)}; "
                    f"the arguments are (data, requires_grad, dtype), as torch.tensor's. For a "
                    f"new tensor of a given shape use tinydl.empty / zeros(*sizes)")
            if requires_grad:
                self._check_requires_grad(True, "Tensor")
                self._requires_grad = True

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """Build a Tensor around ``data`` without copying or converting (ops' fast path).
        ``Function.apply`` builds its outputs the same way, inline: keep the two in step."""
        t = object.__new__(Tensor)
        t._data = data
        t._grad = None
        t._requires_grad = requires_grad
        t._ctx = None
        t._retains_grad = False
        t._vc = None
        t._hooks = None
        return t

    # ----------------------------------------------------------------- attributes
    def _set_data(self, value):
        if value.__class__ is not np.ndarray:
            value = _assigned_array(value)
        self._data = value

    # The array itself, read on every op: a C getter (a Python one measured 45 ns a read
    # against 13 for the slot, this one 31). Assigning checks the value (_assigned_array).
    data = property(operator.attrgetter("_data"), _set_data, doc="""The NumPy array holding
        the values (shared, not a copy). Assigning replaces it: an array is taken as it is, a
        Tensor gives its array (torch's ``p.data = p.data - lr * p.grad``), anything else
        raises.""")

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def size(self):
        """The number of elements (NumPy's ``size``); ``x.size(0)`` raises: use ``x.shape[0]``."""
        return _Size(self.data.size)

    @property
    def _version(self):
        """How many in-place ops have written to this tensor's array (torch's ``_version``)."""
        return self._vc[0] if self._vc is not None else 0

    def numel(self):
        """The number of elements (torch's name for ``size``)."""
        return self.data.size

    def dim(self):
        """The number of axes (torch's name for ``ndim``)."""
        return self.data.ndim

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    @property
    def device(self):
        """Always ``'cpu'``: tinydl computes with NumPy on the CPU."""
        return "cpu"

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

    # ``requires_grad`` and ``grad`` are properties so that what a user assigns is checked.
    # Ops read them on every call: their getters are C (attrgetter), a third of the cost of
    # a Python getter. Autograd writes the slots behind them directly.
    def _set_requires_grad(self, requires_grad, name="requires_grad"):
        if not _is_flag(requires_grad):
            raise TypeError(f"{name}: requires_grad must be a bool, got "
                            f"{_describe(requires_grad)}")
        self._check_requires_grad(requires_grad, name)
        if bool(requires_grad) != self._requires_grad and self._ctx is None:
            _autograd.note_requires_grad(self, bool(requires_grad))
        self._requires_grad = bool(requires_grad)

    requires_grad = property(operator.attrgetter("_requires_grad"), _set_requires_grad,
                             doc="Whether backward computes a gradient for this tensor. Only a "
                                 "leaf's flag can be set, and only on a floating-point tensor.")

    def _set_grad(self, grad):
        if grad is not None:
            if not isinstance(grad, Tensor):
                raise TypeError(f".grad: the assigned gradient must be a Tensor or None, got "
                                f"{_describe(grad)}")
            if grad is self:
                raise RuntimeError(".grad: a tensor cannot be its own gradient")
            # Backward adds into .grad in place: another shape would be broadcast into, or
            # fail later; another dtype would truncate the gradients (as torch refuses).
            if grad.shape != self.shape:
                raise RuntimeError(f".grad: the assigned gradient has shape {grad.shape}, but "
                                   f"the tensor has shape {self.shape}; they must match")
            if grad.dtype != self.dtype:
                raise RuntimeError(f".grad: the assigned gradient has dtype {grad.dtype}, but "
                                   f"the tensor has dtype {self.dtype}; they must match "
                                   f"(cast it with .astype({self.dtype}))")
        self._grad = grad

    grad = property(operator.attrgetter("_grad"), _set_grad,
                    doc="The gradient backward accumulated (a Tensor of this tensor's shape and "
                        "dtype), or None. Assigning checks the shape and dtype, as torch.")

    def _check_requires_grad(self, requires_grad, name):
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"{name}: only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        if not requires_grad and self._ctx is not None:
            # Turning it off would silently cut this path out of every gradient (torch raises).
            raise RuntimeError(f"{name}: only a leaf tensor's flag can change; this one was "
                               "computed by recorded ops. Use t.detach() for a copy outside "
                               "the graph")

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place; only floating-point tensors can require gradients."""
        self._set_requires_grad(requires_grad, "requires_grad_")
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` each time backward computes this tensor's gradient.

        A non-None result replaces the gradient (for the ``.grad`` of a leaf and for everything
        upstream of a non-leaf), as ``torch.Tensor.register_hook``. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                               "require grad")
        from tinydl.autograd import RemovableHandle
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = [{}, {}]
            hooks = self._hooks[0]
        else:
            if self._ctx.hooks is None:
                self._ctx.hooks = {}
            hooks = self._ctx.hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after backward has accumulated this leaf's ``.grad``.

        As ``torch.Tensor.register_post_accumulate_grad_hook``: leaves only (parameters), run
        once per backward pass, not during ``tinydl.grad()``. Data-parallel training uses it to
        start a gradient's allreduce as soon as the gradient is complete.
        """
        if not self.requires_grad or self._ctx is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors that "
                               "require grad (parameters) accumulate a .grad")
        from tinydl.autograd import RemovableHandle
        if self._hooks is None:
            self._hooks = [{}, {}]
        handle = RemovableHandle(self._hooks[1])
        self._hooks[1][handle.id] = hook
        return handle

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so backward "
                               "computes no gradient for it to keep")
        self._retains_grad = True
        if self._ctx is not None:
            self._ctx.retains_grad = True

    # ----------------------------------------------------------------- conversion
    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            if copy is False:  # NumPy's rule for np.asarray(..., copy=False)
                raise ValueError(f"Unable to avoid copy while creating an array as requested: "
                                 f"the tensor's {self.data.dtype} is not {np.dtype(dtype)}")
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
        """A new leaf Tensor sharing this tensor's data (and version counter), cut off from the graph."""
        t = Tensor._wrap(self.data)
        t._vc = _autograd.version_counter(self)
        return t

    def copy(self, order="C"):
        """A differentiable copy, C-contiguous as NumPy's ``ndarray.copy`` (``order`` as
        NumPy's)."""
        return _ops.copy(self, order)

    def clone(self, *, memory_format=None):
        """A differentiable copy keeping this tensor's layout, as ``torch.clone`` (see
        ``tinydl.clone``)."""
        return _ops.clone(self, memory_format=memory_format)

    def astype(self, dtype, copy=True):
        """Cast to ``dtype``; the gradient is cast back. As NumPy's ``astype``, a new tensor
        even for the same dtype unless ``copy=False`` (then this one)."""
        out = _ops.astype(self, dtype)
        return _ops.copy(self) if copy and out is self else out

    def float(self):
        """Cast to float32 (``torch.Tensor.float``)."""
        return _ops.astype(self, np.float32)

    def half(self):
        """Cast to float16 (``torch.Tensor.half``)."""
        return _ops.astype(self, np.float16)

    def double(self):
        """Cast to float64."""
        return _ops.astype(self, np.float64)

    def long(self):
        """Cast to int64 (no gradient flows through an integer cast)."""
        return _ops.astype(self, np.int64)

    def int(self):
        """Cast to int32."""
        return _ops.astype(self, np.int32)

    def bool(self):
        """Cast to bool."""
        return _ops.astype(self, np.bool_)

    # torch's other casts and type names (comparison family's conveniences)
    def byte(self):
        """Cast to uint8."""
        return _ops.astype(self, np.uint8)

    def char(self):
        """Cast to int8."""
        return _ops.astype(self, np.int8)

    def short(self):
        """Cast to int16."""
        return _ops.astype(self, np.int16)

    def type(self, dtype=None, non_blocking=False):
        """torch's ``type``: with no argument, the name torch gives this dtype's CPU tensor type
        (``'torch.FloatTensor'`` for float32); with a dtype (NumPy's, torch's, their names, or
        such a type name) the tensor cast to it, itself when it has that dtype already."""
        if dtype is None:
            return "torch." + _TORCH_TYPE_NAMES.get(self.dtype.name, self.dtype.name)
        if isinstance(dtype, type) and dtype.__module__.startswith("torch"):
            dtype = "torch." + dtype.__name__  # torch.FloatTensor, the class
        text = str(dtype)
        if text.startswith("torch.") and text.endswith("Tensor"):
            names = {"torch." + v: k for k, v in _TORCH_TYPE_NAMES.items()}
            if text not in names:
                if text.count(".") == 2:  # torch.cuda.FloatTensor
                    _check_device(text.split(".")[1], "type")
                raise TypeError(f"type: unknown tensor type {text!r}")
            dtype = names[text]
        return _ops.astype(self, dtype)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(dtype)``, ``to('cpu')`` (a no-op) or ``to(other_tensor)``, as torch.

        Any device but the CPU raises: tinydl computes with NumPy on the CPU.
        """
        dtype = _to_arguments(args, dtype, device, "to")
        out = self if dtype is None else _ops.astype(self, dtype)
        return _ops.copy(self) if copy and out is self else out  # copy=True: never self

    def cpu(self):
        """Itself: tinydl tensors always live on the CPU."""
        return self

    def cuda(self, *args, **kwargs):
        """Always raises ``DeviceError``: tinydl runs on the CPU only."""
        _check_device("cuda", "cuda")

    def type_as(self, other):
        """Cast to ``other``'s dtype."""
        return _ops.astype(self, other.dtype)

    def new_zeros(self, *shape, size=None, dtype=None, requires_grad=False):
        """Zeros of ``shape`` (torch's keyword: ``size=``) with this tensor's dtype (unless
        ``dtype`` is given)."""
        from tinydl.factories import zeros
        return zeros(*_sizes(shape, size, "new_zeros", "size"), dtype=dtype or self.dtype,
                     requires_grad=requires_grad)

    def new_ones(self, *shape, size=None, dtype=None, requires_grad=False):
        """Ones of ``shape`` (``size=``) with this tensor's dtype (unless ``dtype`` is given)."""
        from tinydl.factories import ones
        return ones(*_sizes(shape, size, "new_ones", "size"), dtype=dtype or self.dtype,
                    requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        from tinydl.factories import full
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    # torch's other conveniences (comparison family)
    def new_empty(self, *shape, size=None, dtype=None, requires_grad=False):
        """An uninitialised tensor of ``shape`` (``size=``) with this tensor's dtype (unless
        ``dtype``)."""
        from tinydl.factories import empty
        return empty(*_sizes(shape, size, "new_empty", "size"), dtype=dtype or self.dtype,
                     requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        """A new tensor (a copy, outside any graph) of ``data``, with this tensor's dtype
        unless ``dtype`` is given, as torch (so ``int_tensor.new_tensor([1.5])`` holds 1)."""
        return Tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def expand_as(self, other):
        """``expand(other.shape)``: broadcast to the shape of ``other``."""
        return self.expand(np.shape(other))

    def view_as(self, other):
        """``view(other.shape)``: this array seen with the shape of ``other``."""
        return self.view(np.shape(other))

    def reshape_as(self, other):
        """``reshape(other.shape)``."""
        return self.reshape(np.shape(other))

    def element_size(self):
        """Bytes per element (NumPy's ``itemsize``)."""
        return self.data.itemsize

    def nelement(self):
        """The number of elements (torch's other name for ``numel``)."""
        return self.data.size

    def ndimension(self):
        """The number of axes (torch's other name for ``dim``)."""
        return self.data.ndim

    def stride(self, dim=None):
        """torch's ``stride``: how far apart neighbours are along each axis, in elements
        (NumPy's ``strides`` count bytes), a tuple; ``stride(dim)``: one axis' step. A view
        NumPy steps through backwards (a negative step slice) has a negative stride."""
        steps = tuple(s // self.data.itemsize for s in self.data.strides)
        if dim is None:
            return steps
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"stride: dim must be an int, got {dim!r}")
        if self.ndim == 0:
            raise IndexError("stride: a 0-d tensor has no dimension to ask for")
        return steps[_ops._util.normalize_axes(dim, self.ndim, "stride")[0]]

    def is_contiguous(self, memory_format=None):
        """Whether the array is C-contiguous (as torch, axes of length 1 do not count)."""
        if memory_format is not None and str(memory_format) != "torch.contiguous_format":
            raise ValueError(f"is_contiguous: tinydl lays tensors out in C order only; "
                             f"memory_format={memory_format!r} is not supported")
        return self.data.flags.c_contiguous

    def contiguous(self):
        """Itself when its array is C-contiguous, else a differentiable contiguous copy."""
        return self if self.data.flags.c_contiguous else _ops.copy(self)

    def backward(self, grad=None, retain_graph=False, create_graph=False, inputs=None, *,
                 gradient=None):
        """Accumulate d self / d leaf into each leaf's ``.grad``; ``grad`` (torch's name:
        ``gradient``) is needed unless self is scalar. ``inputs``: accumulate into those
        tensors' ``.grad`` only, as torch's."""
        from tinydl.autograd import backward
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward: got both 'grad' and torch's name for it, 'gradient'")
            grad = gradient
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = [f"dtype={self.data.dtype}"]
        if self.data.size == 0 and self.data.ndim != 1:  # "[]" alone hides the shape
            extras.insert(0, f"size={self.data.shape}")
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
        return int(self.data.item())  # (a one-element 1-d tensor too, as torch's)

    def __contains__(self, element):
        """``element in t``: whether any entry of t equals ``element`` (a number or a tensor
        broadcast against t), torch's rule; Python's fallback iterated rows and called bool
        on each, which raised for a 2-d tensor."""
        if isinstance(element, Tensor):
            element = element.data
        elif not isinstance(element, (numbers.Number, np.generic, np.ndarray)):
            raise TypeError(f"Tensor.__contains__ only supports a Tensor or a number, got "
                            f"{type(element).__name__}")
        return bool(np.any(self.data == element))

    def __format__(self, spec):
        """A 0-d tensor formats as its number (``f"{loss:.3f}"``, as torch's); others only
        with an empty spec (their str), as torch's."""
        if self.data.ndim == 0:
            return format(self.data.item(), spec)
        return object.__format__(self, spec)

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

    # torch's named forms of the operators (``x.add(y, alpha=2)``, ``x.div(y, rounding_mode=...)``)
    def add(self, other, *, alpha=1):
        return _ops.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return _ops.subtract(self, other, alpha=alpha)

    subtract = sub

    def mul(self, other):
        return _ops.multiply(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return _ops.div(self, other, rounding_mode=rounding_mode)

    divide = true_divide = div

    def neg(self):
        return _ops.negative(self)

    negative = neg

    def matmul(self, other):
        return _ops.matmul(self, other)

    def mm(self, other):
        """torch's ``x.mm(w)``: (n, k) @ (k, m), matrices only."""
        return _ops.mm(self, other)

    def mv(self, vector):
        """torch's ``x.mv(v)``: (n, m) @ (m,)."""
        return _ops.mv(self, vector)

    def bmm(self, other):
        """torch's ``x.bmm(y)``: (B, n, k) @ (B, k, m), no broadcasting."""
        return _ops.bmm(self, other)

    def where(self, condition, other):
        """torch's ``x.where(condition, y)``: x where ``condition`` holds, else y."""
        return _ops.where(condition, self, other)

    def logaddexp(self, other):
        return _ops.logaddexp(self, other)

    def logaddexp2(self, other):
        return _ops.logaddexp2(self, other)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        """``t[index] = value`` in place (as torch: under ``no_grad`` for a leaf that requires grad)."""
        self._check_inplace("__setitem__")
        if _grad_on() and (self.requires_grad or _requires_grad(value)):
            what = ("assigning into a tensor that is part of a graph" if self.requires_grad
                    else "assigning a value that requires grad (torch records it)")
            raise RuntimeError(f"__setitem__: {what} is not differentiable in tinydl; build "
                               "the result out of place (e.g. with tinydl.where or "
                               "concatenate) or assign under tinydl.no_grad()")
        value = given = value.data if isinstance(value, Tensor) else value
        try:
            if value is None or type(value) in (list, tuple):
                value = np.asarray(value)
                if value.dtype == object:  # NumPy writes None as NaN into a float tensor
                    raise TypeError("None, or a list holding something other than numbers, "
                                    "has no value to store")
            self.data[_ops.index.numpy_index(index)] = value
        except (ValueError, TypeError, IndexError) as err:
            raise type(err)(f"__setitem__: cannot assign {_describe(given)} to index {index!r} "
                            f"of a tensor of shape {self.shape} and dtype {self.dtype}: "
                            f"{err}") from None
        _autograd.bump_version(self)

    # ----------------------------------------------------------------- in-place ops
    # Each writes its result into self.data, so aliases (``u = t``) and NumPy views see it,
    # and bumps the version counter. With grad mode on, a leaf that requires grad refuses
    # (torch's rule); on any other tensor the op is recorded: the tensor takes the new graph
    # node, and the node that made its old value keeps a private copy of that value.
    def _check_inplace(self, op):
        if self.requires_grad and self._ctx is None and _grad_on():
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place "
                "operation while gradients are recorded (its gradient would be for a value it "
                "no longer holds); wrap the update in `with tinydl.no_grad():`, as in torch")

    def _inplace(self, op, compute, *operands):
        """Run ``compute(self, *operands)`` out of place and write the result into ``self``."""
        self._check_inplace(op)
        if not (_grad_on() and (self.requires_grad or any(map(_requires_grad, operands)))):
            from tinydl.autograd import no_grad
            with no_grad():
                result = compute(self, *operands)
            self._write(op, result.data)
            return self
        if getattr(self, "_base", None) is not None:
            # The write reaches the array of the tensor this one views, but not that tensor's
            # graph node: its gradient would be for the old values. torch rebases the base's
            # graph here (CopySlices); tinydl refuses rather than give a wrong gradient.
            raise RuntimeError(
                f"{op}: this tensor is a view (a slice, reshape or transpose) of another "
                "tensor's array, and the in-place op would be recorded for gradients; tinydl "
                "cannot carry the change into the gradient of the tensor it views. Compute the "
                "result out of place (e.g. with tinydl.where or concatenate), or clone() the "
                "view first" + _hook_view_note(self))
        if self._ctx is not None and self._ctx.consumed:
            # Ops recorded earlier hold this tensor; after the write they would send their
            # gradients through the new node instead of the one that made the value they saw.
            raise RuntimeError(
                f"{op}: this tensor was already used by other recorded ops, so changing it in "
                "place would give them wrong gradients; compute the update out of place "
                "(y = y + 1 instead of y += 1)")
        old = Tensor._wrap(self.data.copy(), requires_grad=self.requires_grad)
        old._ctx = self._ctx
        if self._vc is not None:
            # The old node's output as of now: where a write outside the graph (under
            # no_grad) already changed the value that node saved, its backward must still
            # see that write and raise.
            old._vc = self._vc[:2]
            if not self._requires_grad and _autograd.live_views(self):
                raise RuntimeError(
                    f"{op}: this tensor does not require grad, but the in-place op would make "
                    f"it (an operand requires grad), and views of it taken before (a slice, "
                    "reshape, unsqueeze...) are still alive: they would get no gradient. "
                    "Compute the result out of place (t = t * x instead of t.mul_(x)), or take "
                    "the views after the in-place op")
        node = self._ctx
        if node is not None:
            before = dict(node.__dict__)
            node._out = weakref.ref(old)
            _keep_saved_values(node, self.data, old.data)
        try:
            # ``y += y``: the operand is the old value (self gets the new node, which would
            # then be its own input and lose that share of the gradient). A constant that
            # shares self's array (``y.mul_(y.detach())``) is copied: the write below would
            # change the value the op saved for its backward.
            operands = tuple(old if o is self else _unaliased(o, self.data) for o in operands)
            result = compute(old, *operands)
            if result._ctx is None or result is old or any(result is o for o in operands):
                result = _ops.copy(result)
            self._write(op, result.data)
        except BaseException:
            # Nothing was written (a bad shape or dtype): the node is put back as it was, self
            # its output; left pointing at ``old``, freed on return, it broke the next backward.
            if node is not None:
                node.__dict__.clear()
                node.__dict__.update(before)
                node._out = weakref.ref(self)
            raise
        ctx = result._ctx
        ctx._out = weakref.ref(self)
        ctx.epoch = _autograd._inplace_epoch  # the node is as of after the write
        ctx.retains_grad = self._retains_grad
        self._ctx = ctx
        self._requires_grad = True
        return self

    def _write(self, op, values):
        """Copy ``values`` into ``self.data`` (same shape; castable dtype) and bump the version."""
        if values.shape != self.shape:
            raise RuntimeError(f"{op}: the result has shape {values.shape}, which cannot be "
                               f"written into a tensor of shape {self.shape} in place")
        # An integer result written into another integer dtype wraps, as torch's uint8 +=
        # int64 does; a float into an integer, or anything into bool, is refused.
        if (values.dtype != self.dtype and not np.can_cast(values.dtype, self.dtype, "same_kind")
                and not (values.dtype.kind in "iu" and self.dtype.kind in "iu")):
            raise RuntimeError(f"{op}: result type {values.dtype} can't be cast to the desired "
                               f"output type {self.dtype} (the in-place op would truncate); "
                               "cast first, e.g. t = t.float()")
        if not self.data.flags.writeable:
            raise RuntimeError(f"{op}: this tensor's array is read-only (a broadcast view?); "
                               "take a copy first")
        np.copyto(self.data, values, casting="unsafe")
        _autograd.bump_version(self)

    def __iadd__(self, other):
        return self._inplace("__iadd__", _ops.add, other)

    def __isub__(self, other):
        return self._inplace("__isub__", _ops.subtract, other)

    def __imul__(self, other):
        return self._inplace("__imul__", _ops.multiply, other)

    def __itruediv__(self, other):
        return self._inplace("__itruediv__", _ops.divide, other)

    def __ipow__(self, other):
        return self._inplace("__ipow__", _ops.power, other)

    # As in torch these write in place (without them Python rebinds the name to a new tensor
    # and aliases keep the old values).
    def __ifloordiv__(self, other):
        return self._inplace("__ifloordiv__", _ops.floor_divide, other)

    def __imod__(self, other):
        return self._inplace("__imod__", _ops.remainder, other)

    def __iand__(self, other):
        return self._inplace("__iand__", _ops.bitwise_and, other)

    def __ior__(self, other):
        return self._inplace("__ior__", _ops.bitwise_or, other)

    def __ixor__(self, other):
        return self._inplace("__ixor__", _ops.bitwise_xor, other)

    def __ilshift__(self, other):
        return self._inplace("__ilshift__", _ops.left_shift, other)

    def __irshift__(self, other):
        return self._inplace("__irshift__", _ops.right_shift, other)

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        if alpha != 1:
            return self._inplace("add_", lambda s, o: _ops.add(s, o, alpha=alpha), other)
        return self._inplace("add_", _ops.add, other)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        if alpha != 1:
            return self._inplace("sub_", lambda s, o: _ops.subtract(s, o, alpha=alpha), other)
        return self._inplace("sub_", _ops.subtract, other)

    def mul_(self, other):
        """self *= other, in place."""
        return self._inplace("mul_", _ops.multiply, other)

    def div_(self, other):
        """self /= other, in place."""
        return self._inplace("div_", _ops.divide, other)

    def pow_(self, exponent):
        """self **= exponent, in place."""
        return self._inplace("pow_", _ops.power, exponent)

    def clamp_(self, min=None, max=None):  # noqa: A002 (torch's names)
        """Clamp to [min, max] in place."""
        # The bounds are operands, not captured: a bound that requires grad gets its share
        # (captured, it was left out and clamping a constant gave no graph at all).
        return self._inplace("clamp_", _ops.clip, min, max)

    clip_ = clamp_

    # torch's other in-place methods (comparison family): each is its out-of-place method,
    # written in by _inplace (see _in_place); comparisons and logical ops write 0 and 1.
    def clamp_min(self, min):  # noqa: A002 (torch's name)
        return _ops.clamp_min(self, min)

    def clamp_max(self, max):  # noqa: A002 (torch's name)
        return _ops.clamp_max(self, max)

    clamp_min_ = _in_place("clamp_min_", "clamp_min")
    clamp_max_ = _in_place("clamp_max_", "clamp_max")
    exp_ = _in_place("exp_", "exp")
    exp2_ = _in_place("exp2_", "exp2")
    expm1_ = _in_place("expm1_", "expm1")
    log_ = _in_place("log_", "log")
    log2_ = _in_place("log2_", "log2")
    log10_ = _in_place("log10_", "log10")
    log1p_ = _in_place("log1p_", "log1p")
    sqrt_ = _in_place("sqrt_", "sqrt")
    rsqrt_ = _in_place("rsqrt_", "rsqrt")
    square_ = _in_place("square_", "square")
    # (an alias is its own method, so that an error names what was called)
    abs_, absolute_ = _in_place("abs_", "abs"), _in_place("absolute_", "abs")
    neg_, negative_ = _in_place("neg_", "neg"), _in_place("negative_", "neg")
    reciprocal_ = _in_place("reciprocal_", "reciprocal")
    sign_ = _in_place("sign_", "sign")
    sigmoid_ = _in_place("sigmoid_", "sigmoid")
    tanh_ = _in_place("tanh_", "tanh")
    relu_ = _in_place("relu_", "relu")
    sin_ = _in_place("sin_", "sin")
    cos_ = _in_place("cos_", "cos")
    tan_ = _in_place("tan_", "tan")
    asin_, arcsin_ = _in_place("asin_", "asin"), _in_place("arcsin_", "asin")
    acos_, arccos_ = _in_place("acos_", "acos"), _in_place("arccos_", "acos")
    atan_, arctan_ = _in_place("atan_", "atan"), _in_place("arctan_", "atan")
    sinh_ = _in_place("sinh_", "sinh")
    cosh_ = _in_place("cosh_", "cosh")
    asinh_, arcsinh_ = _in_place("asinh_", "asinh"), _in_place("arcsinh_", "asinh")
    acosh_, arccosh_ = _in_place("acosh_", "acosh"), _in_place("arccosh_", "acosh")
    atanh_, arctanh_ = _in_place("atanh_", "atanh"), _in_place("arctanh_", "atanh")
    atan2_, arctan2_ = _in_place("atan2_", "atan2"), _in_place("arctan2_", "atan2")
    hypot_ = _in_place("hypot_", "hypot")
    copysign_ = _in_place("copysign_", "copysign")
    floor_ = _in_place("floor_", "floor")
    ceil_ = _in_place("ceil_", "ceil")
    round_ = _in_place("round_", "round")
    trunc_, fix_ = _in_place("trunc_", "trunc"), _in_place("fix_", "trunc")
    frac_ = _in_place("frac_", "frac")
    fmod_ = _in_place("fmod_", "fmod")
    remainder_ = _in_place("remainder_", "remainder")
    floor_divide_ = _in_place("floor_divide_", "floor_divide")
    divide_ = _in_place("divide_", "div")  # (rounding_mode= as div)
    true_divide_ = _in_place("true_divide_", "div")
    multiply_ = _in_place("multiply_", "mul")
    subtract_ = _in_place("subtract_", "sub")  # (alpha= as sub)
    lerp_ = _in_place("lerp_", "lerp")
    masked_fill_ = _in_place("masked_fill_", "masked_fill")
    index_add_ = _in_place("index_add_", "index_add")
    scatter_ = _in_place("scatter_", "scatter")
    scatter_add_ = _in_place("scatter_add_", "scatter_add")
    scatter_reduce_ = _in_place("scatter_reduce_", "scatter_reduce")
    cumsum_ = _in_place("cumsum_", "cumsum")
    cumprod_ = _in_place("cumprod_", "cumprod")
    tril_ = _in_place("tril_", "tril")
    triu_ = _in_place("triu_", "triu")
    bitwise_and_ = _in_place("bitwise_and_", "bitwise_and")
    bitwise_or_ = _in_place("bitwise_or_", "bitwise_or")
    bitwise_xor_ = _in_place("bitwise_xor_", "bitwise_xor")
    bitwise_not_ = _in_place("bitwise_not_", "bitwise_not")
    bitwise_left_shift_ = _in_place("bitwise_left_shift_", "bitwise_left_shift")
    bitwise_right_shift_ = _in_place("bitwise_right_shift_", "bitwise_right_shift")
    logical_and_ = _in_place_constant("logical_and_", "logical_and")
    logical_or_ = _in_place_constant("logical_or_", "logical_or")
    logical_xor_ = _in_place_constant("logical_xor_", "logical_xor")
    logical_not_ = _in_place_constant("logical_not_", "logical_not")
    eq_ = _in_place_constant("eq_", "eq")
    ne_, not_equal_ = _in_place_constant("ne_", "ne"), _in_place_constant("not_equal_", "ne")
    gt_, greater_ = _in_place_constant("gt_", "gt"), _in_place_constant("greater_", "gt")
    ge_ = _in_place_constant("ge_", "ge")
    greater_equal_ = _in_place_constant("greater_equal_", "ge")
    lt_, less_ = _in_place_constant("lt_", "lt"), _in_place_constant("less_", "lt")
    le_ = _in_place_constant("le_", "le")
    less_equal_ = _in_place_constant("less_equal_", "le")

    # In-place changes of shape (torch's unsqueeze_, t_...): the values stay where they are.
    def _restride(self, op, method, *args):
        """Make this tensor ``self.method(*args)`` (a view: a new shape and strides on the same
        array) in place. The version is bumped, as in torch, so backward refuses the ops that
        kept this tensor at its old shape. On a tensor in a graph (also under no_grad: the
        graph must see the new shape) it takes the node of the view op applied to its old
        value, which, as in ``_inplace``, the node that made that value keeps as a private
        copy; refused, as there, where recorded ops already used the tensor."""
        self._check_inplace(op)
        from tinydl.autograd import enable_grad, no_grad
        with no_grad():  # (checks the arguments before anything changes)
            data = getattr(Tensor._wrap(self.data), method)(*args).data
        ctx = self._ctx
        if ctx is not None and data is not self.data:  # (t_() of a vector: itself)
            if ctx.consumed:
                raise RuntimeError(
                    f"{op}: this tensor was already used by other recorded ops, which would "
                    f"then send their gradients through the new shape; write y = "
                    f"y.{method}(...) instead")
            old = Tensor._wrap(self.data.copy(), requires_grad=True)
            old._ctx = ctx
            if self._vc is not None:
                old._vc = self._vc[:2]
            ctx._out = weakref.ref(old)
            _keep_saved_values(ctx, self.data, old.data)
            with enable_grad():
                new_ctx = getattr(old, method)(*args)._ctx
            new_ctx._out = weakref.ref(self)
            new_ctx.retains_grad = self._retains_grad
            self._ctx = new_ctx
        self._data = data
        _autograd.bump_version(self)
        if self._ctx is not ctx:
            self._ctx.epoch = _autograd._inplace_epoch  # the new node is as of after the write
        return self

    def unsqueeze_(self, dim):
        return self._restride("unsqueeze_", "unsqueeze", dim)

    def squeeze_(self, dim=None):
        return self._restride("squeeze_", "squeeze", dim)

    def t_(self):
        return self._restride("t_", "t")

    def transpose_(self, dim0, dim1):
        return self._restride("transpose_", "transpose", dim0, dim1)

    def swapaxes_(self, axis0, axis1):
        return self._restride("swapaxes_", "swapaxes", axis0, axis1)

    def swapdims_(self, dim0, dim1):
        return self._restride("swapdims_", "swapaxes", dim0, dim1)

    def detach_(self):
        """torch's ``detach_``: cut this tensor out of the graph in place; it becomes a leaf
        that does not require grad, on the same array and version counter. Refused on a view
        (as in torch) and on a tensor that recorded ops already used (their gradients would
        stop here: write y = y.detach())."""
        if getattr(self, "_base", None) is not None:
            raise RuntimeError("detach_: a view cannot be detached in place (as in torch); "
                               "use detach(), which makes a new tensor")
        if self._ctx is not None:
            if self._ctx.consumed:
                raise RuntimeError("detach_: this tensor was already used by other recorded "
                                   "ops, whose gradients would stop here; write y = "
                                   "y.detach() instead")
            self._ctx = None
            self._requires_grad = self._retains_grad = False
        elif self._requires_grad:
            self._set_requires_grad(False, "detach_")
        return self

    def copy_(self, src):
        """Overwrite with ``src`` (broadcast to this shape, cast to this dtype), in place."""
        shape, dtype = self.shape, self.dtype
        if not isinstance(src, Tensor):
            src = np.asarray(src)
            if src.dtype == object:  # None (NumPy would write NaN), a ragged list...
                raise TypeError(f"copy_: the source must be a Tensor, an array or numbers, "
                                f"got {_describe(src.item() if src.ndim == 0 else src)}")
        try:
            fits = np.broadcast_shapes(np.shape(src), shape) == shape
        except ValueError:
            fits = False
        if not fits:  # (2, 1) into (1, 3) broadcasts, but to (2, 3)
            raise RuntimeError(f"copy_: a source of shape {np.shape(src)} cannot be broadcast "
                               f"to this tensor's shape {shape}")
        source = src if isinstance(src, Tensor) else Tensor._wrap(src)
        if not source.requires_grad:  # a constant: as fill_ (a recorded tensor's node gives
            # its old value a zero gradient; through _inplace, it had no node at all)
            return self._fill_with("copy_", source.data)
        # where(True, ...): the old value gets a zero gradient here too (as in torch), not None.
        return self._inplace(
            "copy_", lambda old, s: _ops.where(True, _ops.broadcast_to(_ops.astype(s, dtype),
                                                                       shape), old), source)

    def _fill_with(self, op, values):
        """Overwrite with constant ``values`` in place (zero_, fill_, normal_, uniform_)."""
        values = np.broadcast_to(np.asarray(values).astype(self.dtype, copy=False), self.shape)
        if self.requires_grad and _grad_on():
            # A recorded non-leaf: the new node passes a zero gradient to the old value.
            return self._inplace(op, lambda s: _ops.where(True, values, s))
        self._check_inplace(op)
        self._write(op, values)
        return self

    def zero_(self):
        """Fill with zeros, in place."""
        return self._fill_with("zero_", 0)

    def fill_(self, value):
        """Fill with ``value``, in place. A 0-d Tensor value that requires grad receives the
        gradient of every entry, as in torch (its ``item()`` would drop it silently)."""
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(f"fill_: a Tensor value must be 0-dimensional (as in torch), "
                                 f"got shape {value.shape}")
            if value.requires_grad and _grad_on():
                value = _ops.astype(value, self.dtype)
                return self._inplace("fill_", lambda s, v: _ops.where(True, v, s), value)
            value = value.item()
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if not isinstance(value, (numbers.Number, np.generic)) or isinstance(value, str):
            # None would fill NaN (NumPy's cast), a list broadcast: torch takes neither.
            raise TypeError(f"fill_: the value must be a number or a 0-d tensor (as in "
                            f"torch), got {_describe(value)}")
        if isinstance(value, (complex, np.complexfloating)):  # its imaginary part was dropped
            raise TypeError(f"fill_: a complex value {value!r} does not fit a {self.dtype} "
                            "tensor (torch refuses it too)")
        from tinydl.ops._checks import _check_fill_fits
        _check_fill_fits(value, self.dtype, "fill_")  # int8 300 wrapped to 44, NaN to 0
        return self._fill_with("fill_", value)

    def normal_(self, mean=0.0, std=1.0):
        """Fill with samples of N(mean, std^2) from tinydl's seeded generator, in place."""
        from tinydl.ops.random import DistributionError
        from tinydl.random import get_generator
        self._check_floating("normal_")
        if not std >= 0:  # NaN too: NumPy would fill NaN, or raise its bare "scale < 0"
            raise DistributionError(f"normal_: std must be >= 0, got {std}")
        return self._fill_with("normal_", get_generator().normal(mean, std, self.shape))

    def uniform_(self, a=0.0, b=1.0):
        """Fill with samples of U(a, b) from tinydl's seeded generator, in place."""
        from tinydl.ops.random import DistributionError
        from tinydl.random import get_generator, uniform
        self._check_floating("uniform_")
        if not (np.isfinite(a) and np.isfinite(b) and a <= b):  # (NumPy: bare errors)
            raise DistributionError(f"uniform_: expects finite bounds a <= b (samples in "
                                    f"[a, b)), got a={a}, b={b}")
        return self._fill_with("uniform_", uniform(get_generator(), a, b, self.shape,
                                                   self.dtype))

    def _check_floating(self, op):
        if self.dtype.kind != "f":  # the samples would be truncated to 0, 1... (torch refuses)
            raise TypeError(f"{op}: samples need a floating-point tensor, got dtype "
                            f"{self.dtype}; cast first (t = t.float())")

    # ----------------------------------------------------------------- random sampling (torch)
    # Drawn from tinydl's seeded generator by tinydl/ops/random.py; the fills follow the
    # in-place rules of normal_ above.
    def bernoulli(self, p=None):
        """torch's ``bernoulli``: 1 with probability self (or ``p``), else 0."""
        return _ops.bernoulli(self, p)

    def bernoulli_(self, p=0.5):
        """Fill with 1 with probability ``p`` (a number or a broadcast tensor), else 0."""
        return _ops.random.bernoulli_(self, p)

    def multinomial(self, num_samples, replacement=False):
        """torch's ``multinomial``: category indices drawn with these weights (1-D or 2-D)."""
        return _ops.multinomial(self, num_samples, replacement)

    def exponential_(self, lambd=1.0):
        """Fill with samples of Exp(lambd), in place."""
        return _ops.random.exponential_(self, lambd)

    def geometric_(self, p):
        """Fill with Geometric(p) trial counts (1, 2, ...), in place."""
        return _ops.random.geometric_(self, p)

    def log_normal_(self, mean=1.0, std=2.0):
        """Fill with samples of exp(N(mean, std^2)), in place."""
        return _ops.random.log_normal_(self, mean, std)

    def cauchy_(self, median=0.0, sigma=1.0):
        """Fill with Cauchy(median, sigma) samples, in place."""
        return _ops.random.cauchy_(self, median, sigma)

    def random_(self, *args, to=None):
        """Fill with integers uniform on [from, to - 1]: ``random_(from, to)``, ``random_(to)``
        or ``random_()`` (up to the dtype's top), in place."""
        return _ops.random.random_(self, *args, to=to)

    # Comparisons give bool tensors outside the graph, as in NumPy and torch.
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(np.asarray(op(self.data, other)))
        except (TypeError, ValueError) as err:  # NumPy's own message names neither side
            symbol = _COMPARISON_SYMBOLS[op.__name__]
            if isinstance(err, ValueError) and not isinstance(err, TypeError):
                raise _ops._util.ShapeError(
                    f"tensor {symbol} other: shapes {self.shape} and {np.shape(other)} cannot "
                    "be broadcast together") from None
            raise TypeError(f"tensor {symbol} other: cannot compare a {self.dtype} tensor with "
                            f"{_describe(other)} ({err})") from None

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

    # The comparisons by name, NumPy's and torch's (comparison family; ops/logical.py).
    def greater(self, other):
        return _ops.greater(self, other)

    def greater_equal(self, other):
        return _ops.greater_equal(self, other)

    def less(self, other):
        return _ops.less(self, other)

    def less_equal(self, other):
        return _ops.less_equal(self, other)

    def not_equal(self, other):
        return _ops.not_equal(self, other)

    def eq(self, other):
        """Elementwise ==, a bool tensor (torch's ``eq``; ``x.equal(y)`` is one bool)."""
        return _ops.equal(self, other)

    gt, ge, lt, le, ne = greater, greater_equal, less, less_equal, not_equal

    def equal(self, other):
        """torch's ``x.equal(y)``: True when both have the same shape and the same values (a
        Python bool; ``array_equal``). The function ``tinydl.equal`` is NumPy's, elementwise."""
        return _ops.array_equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.allclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def isposinf(self):
        return _ops.isposinf(self)

    def isneginf(self):
        return _ops.isneginf(self)

    def signbit(self):
        return _ops.signbit(self)

    # ----------------------------------------------------------------- methods (NumPy names)
    # Reductions and shape methods take NumPy's ``axis``/``keepdims`` and torch's
    # ``dim``/``keepdim`` (tinydl.ops resolves the aliases).
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

    def gelu(self, approximate="none"):
        return _ops.gelu(self, approximate)

    def softplus(self, beta=1.0, threshold=20.0):
        return _ops.softplus(self, beta, threshold)

    def softmax(self, *args, dtype=None, **kwargs):
        """torch's ``Tensor.softmax(dim, dtype=None)``: ``dtype`` (also second positionally)
        casts the input first."""
        return _ops.softmax(*_with_dtype(self, args, dtype), **kwargs)

    def log_softmax(self, *args, dtype=None, **kwargs):
        """torch's ``Tensor.log_softmax(dim, dtype=None)`` (see ``softmax``)."""
        return _ops.log_softmax(*_with_dtype(self, args, dtype), **kwargs)

    def erf(self):
        return _ops.erf(self)

    def clip(self, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
        """NumPy's ``clip(a_min, a_max)``; torch's (and NumPy 2's) ``min=``/``max=`` too."""
        alias = _ops.movement._alias  # a value or its torch spelling, not both
        return _ops.clip(self, alias("clip", "a_min", a_min, "min", min),
                         alias("clip", "a_max", a_max, "max", max))

    def clamp(self, min=None, max=None):  # noqa: A002 (torch's names)
        """Clamp to [min, max] (torch's name for ``clip``)."""
        return _ops.clip(self, min, max)

    def pow(self, exponent):
        return _ops.power(self, exponent)

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is True, else this tensor's entries (differentiable here)."""
        mask = _ops.held_array(mask.data, mask) if isinstance(mask, Tensor) else np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
        try:
            np.broadcast_shapes(mask.shape, self.shape)
        except ValueError:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to "
                             f"the tensor's shape {self.shape}") from None
        from tinydl.ops._checks import _check_fill_fits
        if isinstance(value, Tensor):  # differentiable in the value too, as torch
            if value.ndim != 0:
                raise ValueError(f"masked_fill: a Tensor value must be 0-dimensional (as in "
                                 f"torch), got shape {value.shape}")
            _check_fill_fits(value.item(), self.dtype, "masked_fill")
            return _ops.where(mask, _ops.astype(value, self.dtype), self)
        # torch's check: NaN into int64 was its smallest value, -2 into uint8 254
        _check_fill_fits(value, self.dtype, "masked_fill")
        return _ops.where(mask, np.asarray(value, dtype=self.dtype), self)

    def sum(self, *args, **kwargs):
        return _ops.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return _ops.mean(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return _ops.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return _ops.min(self, *args, **kwargs)

    def amax(self, *args, **kwargs):
        return _ops.amax(self, *args, **kwargs)

    def amin(self, *args, **kwargs):
        return _ops.amin(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return _ops.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        return _ops.std(self, *args, **kwargs)

    def logsumexp(self, *args, **kwargs):
        return _ops.logsumexp(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return _ops.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return _ops.argmin(self, *args, **kwargs)

    def reshape(self, *shape, **kwargs):
        shape = _sizes(shape, kwargs.pop("shape", None), "reshape", "shape", kwargs)
        return _ops.reshape(self, shape)

    def view(self, *shape, **kwargs):
        """torch's ``view``: the same array seen with a new shape (one entry may be -1).

        As in torch, a shape that the strides cannot give without a copy (most reshapes of a
        transpose, permute or step slice) raises: a silent copy would break the aliasing a
        caller of ``view`` counts on (a write through the result would not reach this
        tensor). ``reshape`` copies where it must. ``view(dtype)`` (torch's reinterpretation
        of the bits) is refused: ``.to(dtype)`` converts the values. ``size=`` is torch's
        keyword."""
        if "dtype" in kwargs:
            shape = (kwargs.pop("dtype"),)
        shape = _sizes(shape, kwargs.pop("size", None), "view", "size", kwargs)
        if len(shape) == 1 and isinstance(shape[0], (type, np.dtype, str)):
            raise TypeError(f"view({shape[0]!r}): tinydl does not reinterpret a tensor's bits "
                            "as another dtype (torch's view(dtype)); .to(dtype) converts the "
                            "values, .numpy().view(dtype) reinterprets the array")
        data = self.data
        try:
            trial = data.reshape(shape)
        except (ValueError, TypeError):
            trial = None  # reshape's own error, below, names the shapes
        if trial is not None and trial.size and not np.may_share_memory(trial, data):
            raise RuntimeError(
                f"view: shape {tuple(shape)} is not compatible with the strides of this tensor "
                f"of shape {self.shape} (a transpose, permute or step slice: the elements are "
                "not laid out in that order), so it cannot be viewed without a copy. Use "
                ".reshape(...) instead, which copies where it must, or .contiguous().view(...)")
        return _ops.reshape(self, shape)

    def transpose(self, *axes, dim0=None, dim1=None):
        """Two ints swap those two axes, as ``torch.Tensor.transpose(dim0, dim1)``; otherwise
        NumPy's ``transpose(axes)`` (no argument: reverse the axes; a full permutation).

        The two conventions meet in two ints on a 2-D tensor: NumPy reads ``x.transpose(0, 1)``
        (and ``(-2, -1)``, ``(0, -1)``, ``(-2, 1)``) as the identity permutation, torch as the
        swap; tinydl follows torch, as silently keeping the matrix untransposed would surprise
        far more users than it would help. (Where NumPy swaps, the two agree.)
        """
        if dim0 is not None or dim1 is not None:
            if axes or dim0 is None or dim1 is None:
                raise TypeError("transpose: give both dim0 and dim1 (torch) or the axes (NumPy)")
            axes = (dim0, dim1)
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        elif len(axes) == 2:
            return _ops.swapaxes(self, *axes)
        return _ops.transpose(self, axes or None)

    def permute(self, *dims, **kwargs):
        """Reorder the axes (torch's name for ``transpose(axes)``; ``dims=`` too)."""
        dims = _sizes(dims, kwargs.pop("dims", None), "permute", "dims", kwargs)
        if len(dims) != self.ndim:
            raise _ops._util.ShapeError(f"permute: {len(dims)} dims given for a tensor of "
                                        f"{self.ndim} dimensions (shape {self.shape})")
        return _ops.transpose(self, dims)

    def swapaxes(self, axis1, axis2):
        return _ops.swapaxes(self, axis1, axis2)

    def swapdims(self, dim0, dim1):  # torch's name (comparison family's conveniences)
        return _ops.swapaxes(self, dim0, dim1)

    def ravel(self):
        return _ops.ravel(self)

    def select(self, dim, index):
        return _ops.select(self, dim, index)

    def expand_dims(self, *args, **kwargs):
        return _ops.expand_dims(self, *args, **kwargs)

    def unsqueeze(self, dim):
        """Insert a length-1 axis at ``dim`` (torch's name for ``expand_dims``)."""
        return _ops.expand_dims(self, dim)

    def squeeze(self, *args, **kwargs):
        return _ops.squeeze(self, *args, **kwargs)

    def flatten(self, *args, **kwargs):
        return _ops.flatten(self, *args, **kwargs)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def expand(self, *sizes, **kwargs):
        """torch's ``expand``: broadcast to ``sizes`` (``size=``); -1 keeps that axis' length."""
        sizes = _sizes(sizes, kwargs.pop("size", None), "expand", "size", kwargs)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes given for a tensor of shape "
                             f"{self.shape}; give at least {self.ndim}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                      for i, n in enumerate(sizes))
        if any(n < 0 for n in shape):
            raise ValueError(f"expand: -1 is not allowed for the new leading axes, got {sizes}")
        return _ops.broadcast_to(self, shape)

    # ----------------------------------------------------------------- movement (torch names)
    def flip(self, *dims, **kwargs):
        """Reverse the order along ``dims`` (torch's ``dims=`` too; all axes when none are
        given)."""
        if "dims" in kwargs:
            dims = _sizes(dims, kwargs.pop("dims"), "flip", "dims", kwargs)
        elif kwargs:
            _sizes(dims, None, "flip", "dims", kwargs)
        return _ops.flip(self, dims[0] if len(dims) == 1 else (dims or None))

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def repeat(self, *sizes, **kwargs):
        """torch's ``repeat``: tile the tensor ``sizes`` (``repeats=``) times along each axis.

        Not NumPy's ``ndarray.repeat`` (which repeats each element): that is the function
        ``tinydl.repeat`` and ``repeat_interleave``.
        """
        if kwargs:
            sizes = _sizes(sizes, kwargs.pop("repeats", None), "repeat", "repeats", kwargs)
        return _ops.movement.repeat_tiles(self, *sizes)

    def tile(self, *reps, **kwargs):
        """NumPy's and torch's ``tile`` (torch's keyword: ``dims=``)."""
        if kwargs:
            reps = _sizes(reps, kwargs.pop("dims", None), "tile", "dims", kwargs)
        return _ops.tile(self, reps[0] if len(reps) == 1 else reps)

    def repeat_interleave(self, repeats, dim=None, output_size=None):
        return _ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def tril(self, diagonal=0):
        """torch's ``Tensor.tril``: at least 2 dimensions (the function ``tinydl.tril`` is
        NumPy's, which reads a vector as the rows of a square matrix)."""
        self._check_matrix("tril")
        return _ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        """torch's ``Tensor.triu``: at least 2 dimensions (see ``tril``)."""
        self._check_matrix("triu")
        return _ops.triu(self, diagonal)

    def _check_matrix(self, op):
        if self.ndim < 2:
            raise ValueError(f"{op}: the method (torch's) needs at least 2 dimensions, got "
                             f"shape {self.shape}; the function tinydl.{op}(v) takes a vector "
                             "as the rows of a square matrix, as NumPy's np." + op)

    def diag(self, diagonal=0):
        return _ops.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _ops.diagonal(self, offset, dim1, dim2)

    def trace(self, offset=0, axis1=0, axis2=1):
        return _ops.trace(self, offset, axis1, axis2)

    def narrow(self, dim, start, length):
        return _ops.narrow(self, dim, start, length)

    def split(self, split_size_or_sections=None, dim=0, *, split_size=None):
        """torch's ``split``: pieces of ``split_size_or_sections`` (the last may be smaller) or
        of the given sizes, along ``dim``. (The function ``tinydl.split`` is NumPy's.)"""
        sizes = _ops.movement._alias("split", "split_size_or_sections", split_size_or_sections,
                                     "split_size", split_size)
        if sizes is None:
            raise TypeError("split: missing the piece size (split_size_or_sections)")
        return _ops.movement.split_sizes(self, sizes, dim)

    def unfold(self, dimension, size, step):
        """torch's ``Tensor.unfold``: windows of ``size`` along ``dimension``, ``step`` apart,
        as a new last axis (not ``nn.functional.unfold``, which is im2col)."""
        return _ops.movement.unfold(self, dimension, size, step)

    def unflatten(self, dim, sizes):
        return _ops.unflatten(self, dim, sizes)

    def masked_select(self, mask):
        return _ops.masked_select(self, mask)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _ops.unbind(self, dim)

    def moveaxis(self, source, destination):
        return _ops.moveaxis(self, source, destination)

    movedim = moveaxis

    # ----------------------------------------------------------------- gather, scatter, sort
    def gather(self, dim, index):
        return _ops.gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, reduce=None):
        """Out of place, as ``torch.scatter``."""
        return _ops.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def scatter_reduce(self, dim, index, src, reduce, include_self=True):
        return _ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def index_select(self, dim, index):
        return _ops.index_select(self, dim, index)

    def index_add(self, dim, index, source, alpha=1):
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def take_along_dim(self, indices, dim=None):
        return _ops.take_along_dim(self, indices, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return _ops.unique_consecutive(self, return_inverse, return_counts, dim)

    def dist(self, other, p=2):
        return _ops.dist(self, other, p)

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def sort(self, *args, **kwargs):
        """Not provided as a method: NumPy's ``ndarray.sort`` sorts in place, torch's returns
        (values, indices); either guess would be silently wrong for someone."""
        raise TypeError("Tensor.sort: call tinydl.sort(t, axis=-1, descending=False), which "
                        "returns (values, indices) as torch.sort does (NumPy's in-place "
                        "ndarray.sort has no tinydl form)")

    def argsort(self, axis=-1, descending=False, stable=False, dim=None, **kwargs):
        """NumPy's ``argsort`` (torch's ``dim`` and ``descending`` accepted)."""
        axis = _ops._util.axis_or_dim(axis, dim, "Tensor.argsort")
        return _ops.argsort(self, axis, descending=descending, stable=stable, **kwargs)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 (torch's name)
        return _ops.topk(self, k, dim, largest=largest, sorted=sorted)

    def nonzero(self, as_tuple=True):
        """NumPy's tuple of index arrays (``as_tuple=False``: torch's (N, ndim) form)."""
        return _ops.nonzero(self, as_tuple=as_tuple)

    def unique(self, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
               dim=None):
        """torch's ``Tensor.unique``: each NaN a value of its own, as torch (the function
        ``tinydl.unique`` is NumPy's, where NaNs count as one: ``equal_nan``)."""
        return _ops.unique(self, return_inverse=return_inverse, return_counts=return_counts,
                           axis=dim, sorted=sorted, equal_nan=False)

    # ----------------------------------------------------------------- more elementwise math
    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    # Bitwise operators on integer and bool tensors (floats raise).
    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.bitwise_and(other, self)

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.bitwise_or(other, self)

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.bitwise_xor(other, self)

    def __invert__(self):
        return _ops.bitwise_not(self)

    def __lshift__(self, other):
        return _ops.left_shift(self, other)

    def __rlshift__(self, other):
        return _ops.left_shift(other, self)

    def __rshift__(self, other):
        return _ops.right_shift(self, other)

    def __rrshift__(self, other):
        return _ops.right_shift(other, self)

    def round(self, decimals=0):
        return _ops.round(self, decimals)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _ops.isclose(self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def lerp(self, end, weight):
        return _ops.lerp(self, end, weight)

    def prelu(self, weight):
        return _ops.prelu(self, weight)

    def tan(self):
        return _ops.tan(self)

    def arcsin(self):
        return _ops.arcsin(self)

    def asin(self):
        return _ops.asin(self)

    def arccos(self):
        return _ops.arccos(self)

    def acos(self):
        return _ops.acos(self)

    def arctan(self):
        return _ops.arctan(self)

    def atan(self):
        return _ops.atan(self)

    def sinh(self):
        return _ops.sinh(self)

    def cosh(self):
        return _ops.cosh(self)

    def arcsinh(self):
        return _ops.arcsinh(self)

    def asinh(self):
        return _ops.asinh(self)

    def arccosh(self):
        return _ops.arccosh(self)

    def acosh(self):
        return _ops.acosh(self)

    def arctanh(self):
        return _ops.arctanh(self)

    def atanh(self):
        return _ops.atanh(self)

    def log2(self):
        return _ops.log2(self)

    def log10(self):
        return _ops.log10(self)

    def log1p(self):
        return _ops.log1p(self)

    def exp2(self):
        return _ops.exp2(self)

    def expm1(self):
        return _ops.expm1(self)

    def rsqrt(self):
        return _ops.rsqrt(self)

    def reciprocal(self):
        return _ops.reciprocal(self)

    def square(self):
        return _ops.square(self)

    def sign(self):
        """torch's ``Tensor.sign``: -1, 0 or 1, and 0 at NaN (``sgn``; the function
        ``tinydl.sign`` is NumPy's, which keeps NaN)."""
        return _ops.sgn(self)

    def floor(self):
        return _ops.floor(self)

    def ceil(self):
        return _ops.ceil(self)

    def trunc(self):
        return _ops.trunc(self)

    def isnan(self):
        return _ops.isnan(self)

    def isinf(self):
        return _ops.isinf(self)

    def isfinite(self):
        return _ops.isfinite(self)

    def logical_not(self):
        return _ops.logical_not(self)

    def bitwise_not(self):
        return _ops.bitwise_not(self)

    def arctan2(self, other):
        return _ops.arctan2(self, other)

    def atan2(self, other):
        return _ops.atan2(self, other)

    def hypot(self, other):
        return _ops.hypot(self, other)

    def copysign(self, other):
        return _ops.copysign(self, other)

    def fmod(self, other):
        return _ops.fmod(self, other)

    def remainder(self, other):
        return _ops.remainder(self, other)

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def logical_and(self, other):
        return _ops.logical_and(self, other)

    def logical_or(self, other):
        return _ops.logical_or(self, other)

    def logical_xor(self, other):
        return _ops.logical_xor(self, other)

    def bitwise_and(self, other):
        return _ops.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _ops.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _ops.bitwise_xor(self, other)

    def bitwise_left_shift(self, other):
        return _ops.left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _ops.right_shift(self, other)

    fix = trunc

    # ----------------------------------------------------------------- special functions
    # (ops/special.py) and the rest of torch's elementwise math methods
    def erfc(self):
        return _ops.erfc(self)

    def erfinv(self):
        return _ops.erfinv(self)

    def lgamma(self):
        return _ops.lgamma(self)

    def digamma(self):
        return _ops.digamma(self)

    def polygamma(self, n):
        return _ops.polygamma(n, self)

    def mvlgamma(self, p):
        return _ops.mvlgamma(self, p)

    def i0(self):
        return _ops.i0(self)

    def sinc(self):
        return _ops.sinc(self)

    def logit(self, eps=None):
        return _ops.logit(self, eps)

    def xlogy(self, other):
        return _ops.xlogy(self, other)

    def deg2rad(self):
        return _ops.deg2rad(self)

    def rad2deg(self):
        return _ops.rad2deg(self)

    def float_power(self, exponent):
        return _ops.float_power(self, exponent)

    def fmax(self, other):
        return _ops.fmax(self, other)

    def fmin(self, other):
        return _ops.fmin(self, other)

    def frexp(self):
        return _ops.frexp(self)

    def ldexp(self, other):
        return _ops.ldexp(self, other)

    def nextafter(self, other):
        return _ops.nextafter(self, other)

    def gcd(self, other):
        return _ops.gcd(self, other)

    def lcm(self, other):
        return _ops.lcm(self, other)

    def heaviside(self, values):
        return _ops.heaviside(self, values)

    def sgn(self):
        return _ops.sgn(self)

    def frac(self):
        return _ops.frac(self)

    def positive(self):
        return _ops.positive(self)

    # ----------------------------------------------------------------- more reductions, scans
    def prod(self, *args, **kwargs):
        return _ops.prod(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        return _ops.any(self, *args, **kwargs)

    def all(self, *args, **kwargs):
        return _ops.all(self, *args, **kwargs)

    def count_nonzero(self, *args, **kwargs):
        """torch's: several positional ints are dims, ``x.count_nonzero(0, 1)`` counting over
        both (the function ``tinydl.count_nonzero`` is NumPy's, whose second argument is
        keepdims: it counted over dim 0 and kept it)."""
        if len(args) > 1 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                 for a in args):
            args = (args,)
        return _ops.count_nonzero(self, *args, **kwargs)

    def cumsum(self, *args, **kwargs):
        return _ops.cumsum(self, *args, **kwargs)

    def cumprod(self, *args, **kwargs):
        return _ops.cumprod(self, *args, **kwargs)

    def cummax(self, *args, **kwargs):
        return _ops.cummax(self, *args, **kwargs)

    def cummin(self, *args, **kwargs):
        return _ops.cummin(self, *args, **kwargs)

    def logcumsumexp(self, *args, **kwargs):
        return _ops.logcumsumexp(self, *args, **kwargs)

    def norm(self, *args, **kwargs):
        """torch's method (an ndarray has none): ``x.norm(p, dim, keepdim)``, the vector
        p-norm of the elements over ``dim`` (all when None), so ``x.norm(1)`` of a matrix is
        the sum of |x|; NumPy's meaning by name, ``ord=`` (see ``tinydl.norm``)."""
        if args:
            if len(args) > 3:
                raise TypeError(f"norm: takes at most 3 positional arguments (p, dim, "
                                f"keepdim), got {len(args)}")
            for name, value in zip(("p", "dim", "keepdim"), args):
                if name in kwargs:
                    raise TypeError(f"norm: got {name!r} both by position and by name")
                kwargs[name] = value
        return _ops.norm(self, **kwargs)

    def median(self, *args, **kwargs):
        """torch's method (an ndarray has none): the lower of the two middle values for an
        even count, as ``torch.median``; over an axis the values only (see ``max``). NumPy's
        median, the mean of the two, is ``tinydl.median(x)``."""
        return _ops.reduce.lower_median(self, *args, **kwargs)

    def quantile(self, q, *args, **kwargs):
        return _ops.quantile(self, q, *args, **kwargs)

    def nansum(self, *args, **kwargs):
        return _ops.nansum(self, *args, **kwargs)

    def nanmean(self, *args, **kwargs):
        return _ops.nanmean(self, *args, **kwargs)

    # NumPy's NaN replacement, as torch's method (tinydl/ops/numpy_math.py)
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """torch's ``x.nan_to_num(nan, posinf, neginf)`` (its second positional is nan=)."""
        return _ops.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
        """torch's ``x.histogram``: ``(hist, bin_edges)`` in x's float dtype (weight=)."""
        return _ops.binning.torch_histogram(self, bins, range=range, weight=weight,
                                            density=density)

    # ----------------------------------------------------------------- linear algebra
    def dot(self, other):
        return _ops.dot(self, other)

    def inner(self, other):
        return _ops.inner(self, other)

    def outer(self, other):
        return _ops.outer(self, other)

    def kron(self, other):
        return _ops.kron(self, other)

    def t(self):
        """torch's ``t()``: a matrix transposed; a vector or a scalar as it is."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape "
                             f"{self.shape}; use mT, transpose(dim0, dim1) or permute")
        return _ops.transpose(self) if self.ndim == 2 else self

    @property
    def mT(self):  # noqa: N802 (torch's name)
        """The last two axes swapped (torch's ``mT``)."""
        return _ops.swapaxes(self, -1, -2)

    def det(self):
        from tinydl import linalg
        return linalg.det(self)

    def slogdet(self):
        from tinydl import linalg
        return linalg.slogdet(self)

    def inverse(self):
        from tinydl import linalg
        return linalg.inv(self)

    def logdet(self):
        """torch's ``logdet``: log det(A); NaN where det < 0, -inf where it is 0."""
        return _ops.logdet(self)

    # ----------------------------------------------------------------- products, shape and order
    # (tinydl/ops/products.py, layout.py, numeric.py, order.py, indexed.py; torch's methods)
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _ops.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _ops.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _ops.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _ops.addcdiv(self, tensor1, tensor2, value=value)

    addmm_ = _in_place("addmm_", "addmm")
    addmv_ = _in_place("addmv_", "addmv")
    addbmm_ = _in_place("addbmm_", "addbmm")
    baddbmm_ = _in_place("baddbmm_", "baddbmm")
    addr_ = _in_place("addr_", "addr")
    addcmul_ = _in_place("addcmul_", "addcmul")
    addcdiv_ = _in_place("addcdiv_", "addcdiv")

    def vdot(self, other):
        return _ops.vdot(self, other)

    def ger(self, vec2):
        return _ops.ger(self, vec2)

    def cross(self, other, dim=None):
        """torch's method: 3-vectors along ``dim``; without it, the first axis of length 3,
        which must then be the only candidate (see ``ops.products.torch_cross``; the function
        ``tinydl.cross`` is NumPy's: the last axis)."""
        return _ops.products.torch_cross(self, other, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _ops.diff(self, n, dim, prepend, append)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _ops.cov(self, ddof=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self):
        return _ops.corrcoef(self)

    def rot90(self, k=1, dims=(0, 1)):
        return _ops.rot90(self, k, dims)

    def fliplr(self):
        return _ops.fliplr(self)

    def flipud(self):
        return _ops.flipud(self)

    def hsplit(self, indices_or_sections):
        return tuple(_ops.hsplit(self, indices_or_sections))

    def vsplit(self, indices_or_sections):
        return tuple(_ops.vsplit(self, indices_or_sections))

    def dsplit(self, indices_or_sections):
        return tuple(_ops.dsplit(self, indices_or_sections))

    def tensor_split(self, indices_or_sections=None, dim=0, *, sections=None, indices=None):
        return _ops.tensor_split(self, indices_or_sections, dim, sections=sections,
                                 indices=indices)

    def diagflat(self, offset=0):
        return _ops.diagflat(self, offset)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _ops.diag_embed(self, offset, dim1, dim2)

    def take(self, indices, axis=None, mode="raise"):
        """NumPy's ``take`` (torch's ``x.take(index)``: the flattened tensor, axis None)."""
        return _ops.take(self, indices, axis, mode)

    # NumPy's array-manipulation methods (tinydl/ops/numpy_more.py)
    def compress(self, condition, axis=None):
        """NumPy's ``ndarray.compress``: ``tinydl.compress(condition, self, axis)``."""
        return _ops.compress(condition, self, axis)

    def choose(self, choices, mode="raise"):
        """NumPy's ``ndarray.choose``: ``tinydl.choose(self, choices, mode)``."""
        return _ops.choose(self, choices, mode)

    def argpartition(self, kth, axis=-1, kind="introselect", order=None):
        return _ops.argpartition(self, kth, axis, kind, order)

    def partition(self, kth, axis=-1, kind="introselect", order=None):
        """NumPy's ``ndarray.partition``: partitions in place and returns None
        (``tinydl.partition`` returns a new tensor)."""
        self._inplace("partition", lambda s: _ops.partition(s, kth, axis, kind, order))

    def argwhere(self):
        return _ops.argwhere(self)

    def bincount(self, weights=None, minlength=0):
        return _ops.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002 (torch's names)
        return _ops.histc(self, bins, min, max)

    def renorm(self, p, dim, maxnorm):
        return _ops.renorm(self, p, dim, maxnorm)

    renorm_ = _in_place("renorm_", "renorm")

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _ops.kthvalue(self, k, -1 if dim is None else dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return _ops.mode(self, -1 if dim is None else dim, keepdim)

    def nanmedian(self, *args, **kwargs):
        """torch's method: the lower of the two middle non-NaN values for an even count, as
        ``torch.nanmedian``; over an axis the values only (see ``median``). NumPy's, the mean
        of the two, is ``tinydl.nanmedian(x)``."""
        return _ops.order.lower_nanmedian(self, *args, **kwargs)

    def nanquantile(self, q, *args, **kwargs):
        return _ops.nanquantile(self, q, *args, **kwargs)

    def aminmax(self, *, dim=None, keepdim=False):
        return _ops.aminmax(self, axis=dim, keepdims=keepdim)

    def msort(self):
        return _ops.msort(self)

    def put(self, index, source, accumulate=False):
        """torch's ``put``, out of place: the entries of ``source`` at the flat positions
        ``index`` (added with ``accumulate``). Not NumPy's ``ndarray.put``, which writes in
        place: that is ``tinydl.put(x, ind, v)`` (or ``x.put_(index, source)``)."""
        return _ops.indexed.put_values(self, index, source, accumulate)

    def index_put(self, indices, values, accumulate=False):
        return _ops.index_put(self, indices, values, accumulate)

    def index_fill(self, dim, index, value):
        return _ops.index_fill(self, dim, index, value)

    def index_copy(self, dim, index, source):
        return _ops.index_copy(self, dim, index, source)

    def masked_scatter(self, mask, source):
        return _ops.masked_scatter(self, mask, source)

    put_ = _in_place("put_", "put")
    index_put_ = _in_place("index_put_", "index_put")
    index_fill_ = _in_place("index_fill_", "index_fill")
    index_copy_ = _in_place("index_copy_", "index_copy")
    masked_scatter_ = _in_place("masked_scatter_", "masked_scatter")

    def fill_diagonal_(self, fill_value, wrap=False):
        """``fill_value`` on the main diagonal, in place (torch's; NumPy's ``wrap`` rule for
        tall matrices)."""
        return self._inplace("fill_diagonal_",
                             lambda s: _ops.indexed.fill_diagonal(s, fill_value, wrap))



def _grad_on():
    return _autograd.is_grad_enabled()


def _keep_saved_values(ctx, array, copy):
    """Before an in-place write to ``array`` (the output of ``ctx``'s op): wherever the node
    stored that array itself (``save_for_backward(y)`` of its own result, or an attribute),
    it now holds ``copy``, the values its backward was written for. Left alone, the write
    changed them: after ``y.mul_(2)`` a custom exp that saved its output gave 4 e^x as the
    gradient of 2 exp(x)."""
    changes = {}
    for key, value in ctx.__dict__.items():
        if value is array:
            changes[key] = copy
        elif type(value) in (tuple, list) and any(v is array for v in value):
            changes[key] = type(value)(copy if v is array else v for v in value)
    ctx.__dict__.update(changes)


def _with_dtype(x, args, dtype):
    """``(x, *args)`` for softmax-like methods, x cast to ``dtype`` first (given by keyword or
    as the second positional argument, torch's ``x.softmax(-1, torch.float64)``)."""
    if len(args) == 2 and dtype is None:
        args, dtype = args[:1], args[1]
    if dtype is not None:
        x = x.astype(np.dtype(dtype))
    return (x,) + tuple(args)


def _hook_view_note(t):
    """For the in-place error: where the view comes from a module's full backward hooks
    (which hand the module views of its inputs and its caller views of its outputs, as
    torch's do), a sentence saying so."""
    while t is not None:
        ctx = t._ctx
        if ctx is not None and getattr(getattr(ctx, "fn", None), "hook_pack", False):
            return (". (The view was made by a module's full backward hooks, which hand the "
                    "module views of its inputs and the caller views of its outputs; torch "
                    "refuses this in-place op too: compute out of place there, e.g. "
                    "ReLU(inplace=False).)")
        t = getattr(t, "_base", None)
    return ""


def _unaliased(operand, array):
    """``operand``, or a copy of it where it is a constant sharing memory with ``array``."""
    data = operand.data if isinstance(operand, Tensor) else operand
    if (isinstance(data, np.ndarray) and not _requires_grad(operand)
            and np.may_share_memory(data, array)):
        return Tensor._wrap(data.copy()) if isinstance(operand, Tensor) else data.copy()
    return operand


def _requires_grad(x):
    return isinstance(x, Tensor) and x.requires_grad


class DeviceError(ValueError, RuntimeError):
    """A device other than the CPU was asked for (tinydl runs on the CPU only)."""


# torch's device types; a string naming one of them is a device, not a dtype.
_DEVICE_TYPES = frozenset(("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "hpu", "ipu",
                           "mtia", "vulkan", "opengl", "opencl", "ideep", "mkldnn", "ve", "fpga",
                           "maia", "lazy", "privateuseone"))


def _is_device(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.integer)):
        return True  # torch reads ``.to(0)`` as CUDA device 0
    text = str(value) if type(value).__name__ == "device" else value
    return isinstance(text, str) and text.split(":")[0] in _DEVICE_TYPES


def _check_device(device, caller):
    """Accept 'cpu' / 'cpu:0' (or a torch.device of the CPU); refuse every other device."""
    text = str(device)
    if text not in ("cpu", "cpu:0"):
        raise DeviceError(f"{caller}: tinydl runs on the CPU only, got device {text!r}")


def _to_arguments(args, dtype, device, caller):
    """The dtype asked for by torch's ``to(dtype | device | tensor, ...)`` arguments (None if
    none), as a NumPy dtype; any device but the CPU raises. Shared by Tensor and Module."""
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype if dtype is None else dtype
        elif _is_device(arg):
            device = arg
        elif dtype is None:
            dtype = arg
        else:
            raise TypeError(f"{caller}: expected a dtype, a device or a tensor, got {arg!r} "
                            f"after dtype {dtype!r}")
    if device is not None:
        _check_device(device, caller)
    return None if dtype is None else _as_dtype(dtype, caller)


def _sizes(given, keyword, caller, name, extra=None):
    """A shape-like method argument as torch takes it: ints, one tuple or list of them, or
    the keyword ``name`` (``x.view(size=(2, 3))``), not both; ``extra`` keyword arguments
    left over raise as Python would."""
    if extra:
        raise TypeError(f"{caller}: unexpected keyword argument {next(iter(extra))!r}")
    if keyword is not None:
        if given:
            raise TypeError(f"{caller}: got {name}= and positional sizes; give one (the "
                            f"shape both positionally {given} and as {name}={keyword!r})")
        given = (keyword,)
    if len(given) == 1 and isinstance(given[0], (tuple, list)):
        return tuple(given[0])
    return given


def _numeric_dtype(dtype, caller):
    """``_as_dtype``, refusing what is not a number or a bool (object, str, complex: the
    factories and casts made tensors of them)."""
    return _check_numeric(_as_dtype(dtype, caller), caller)


def _check_numeric(dtype, caller):
    """The NumPy dtype ``dtype``, or a TypeError naming ``caller`` unless it holds numbers
    or booleans."""
    if dtype.kind not in "biuf":
        raise TypeError(f"{caller}: tensors hold numbers or booleans, got dtype {dtype}")
    return dtype


def _as_dtype(dtype, caller):
    """A NumPy dtype from a NumPy/Python dtype, its name, or a torch dtype (``torch.float64``)."""
    text = str(dtype)
    if text.startswith("torch."):
        dtype = text[len("torch."):]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{caller}: expected a dtype or a device, got {dtype!r}") from None


from tinydl import autograd as _autograd  # noqa: E402  (these import Tensor; used at call time)
from tinydl import interop as _interop  # noqa: E402
from tinydl import ops as _ops  # noqa: E402
from tinydl.ops._util import numpy_names as _numpy_names  # noqa: E402

# The torch-named methods take NumPy's axis= / keepdims= too (the API's rule).
for _name in ("topk", "kthvalue", "mode", "unique_consecutive", "diff", "narrow", "split",
              "chunk", "tensor_split", "unbind", "unflatten", "gather", "scatter", "scatter_add",
              "scatter_reduce", "index_select", "index_add", "index_fill", "index_copy",
              "take_along_dim", "aminmax", "repeat_interleave", "select", "unsqueeze", "unique"):
    setattr(Tensor, _name, _numpy_names(getattr(Tensor, _name)))
del _name
