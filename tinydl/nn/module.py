"""``Module``, ``Parameter`` and the containers ``Sequential`` / ``ModuleList``, as in torch.nn.

A Module keeps three ordered registries, filled by plain attribute assignment:
parameters (``Parameter`` values), buffers (``register_buffer``: running statistics,
spectral-norm vectors) and submodules (``Module`` values). Registered values also live in
the instance ``__dict__``, so reading ``self.weight`` costs an ordinary attribute lookup.

``state_dict()`` walks the tree in insertion order and names entries as torch does
(``'0.weight'``, ``'bn.running_mean'``); ``load_state_dict`` copies values in place (so an
optimizer holding the parameters keeps working) and, with ``strict=True``, reports every
missing, unexpected and wrongly-shaped key in one error.

This module is longer than 500 lines because ``Module`` (330 of them) keeps its
registration, traversal, state_dict and hook methods together, all working on the same three
registries; the containers built on it (Sequential, ModuleList, ModuleDict) follow it.
"""
import copy
import numbers
import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from tinydl.autograd import RemovableHandle, is_grad_enabled, version_counter
from tinydl.nn._backward_hooks import HookedCall
from tinydl.tensor import DeviceError, Tensor, _check_device, _to_arguments

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "StateDictError",
           "IncompatibleKeys", "DeviceError"]

IncompatibleKeys = namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")
IncompatibleKeys.__doc__ = "What ``load_state_dict(strict=False)`` could not match."


# The hook registries of every module (torch's names), with their empty values.
_HOOK_REGISTRIES = (("_forward_pre_hooks", OrderedDict), ("_forward_hooks", OrderedDict),
                    ("_forward_pre_hooks_with_kwargs", dict), ("_forward_hooks_with_kwargs", dict),
                    ("_forward_hooks_always_called", dict), ("_backward_pre_hooks", OrderedDict),
                    ("_backward_hooks", OrderedDict))


def _register(hooks, hook, prepend, options=()):
    """Add ``hook`` to the ordered dict ``hooks`` (first with ``prepend``); its handle, which
    also removes the hook's entries from the dicts ``options``."""
    handle = RemovableHandle(hooks, options)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class StateDictError(ValueError, RuntimeError):
    """A state dict does not fit a module (a ValueError; also a RuntimeError, as torch raises)."""


def _layer_input(layer, x, param):
    """The Tensor form of a layer's input, refusing a dtype other than the parameters'.

    Layers call this only when ``x`` is not a Tensor of ``param``'s dtype, so the hot path
    costs one type test and one dtype comparison. NumPy would silently promote a float32
    layer fed float64 (or integer) input to float64; torch raises, and so do we.
    """
    name = type(layer).__name__
    if not isinstance(x, Tensor):
        if not isinstance(x, (np.ndarray, numbers.Number, list, tuple)):
            raise TypeError(f"{name}: input must be a Tensor or an array, got "
                            f"{type(x).__name__}")
        x = Tensor(x) if not isinstance(x, np.ndarray) else Tensor._wrap(x)
    if x.dtype == param.dtype:
        return x
    cast = {"float32": ".float()", "float64": ".double()"}.get(param.dtype.name,
                                                              f".astype({param.dtype.name})")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input of dtype {x.dtype} (shape {x.shape}) cannot be fed to "
                        f"parameters of dtype {param.dtype}; call {cast} on the input")
    raise TypeError(f"{name}: input of dtype {x.dtype} (shape {x.shape}) does not match the "
                    f"parameters of dtype {param.dtype}; cast the input ({cast}) or the layer "
                    f"(.to({x.dtype.name}))")


def _check_size(value, layer, name, minimum):
    """A layer's size argument (features, channels) as an int of at least ``minimum``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{layer}: {name} must be an integer, got {value!r}")
    if value < minimum:
        bound = {0: "non-negative", 1: "positive"}.get(minimum, f"at least {minimum}")
        raise ValueError(f"{layer}: {name} must be {bound}, got {value}")
    return int(value)


def _parameter_dtype(dtype, device=None, caller="Module"):
    """A layer's ``device=`` and ``dtype=`` arguments (torch's factory_kwargs), the dtype
    returned. dtype None means float32, torch's default dtype (passed on to
    ``np.empty(shape, dtype=None)`` it would silently give float64). The device may be None or
    the CPU ('cpu', 'cpu:0', ``torch.device('cpu')``); any other raises DeviceError naming
    ``caller``, the layer (tinydl runs on the CPU only)."""
    if device is not None:
        _check_device(device, caller)
    return np.float32 if dtype is None else dtype


class Parameter(Tensor):
    """A Tensor that is a module parameter: ``requires_grad=True`` and registered on assignment.

    Built from an array or a Tensor with ``Tensor``'s dtype rules (Python lists and numbers
    become float32, arrays keep their dtype). From a Tensor (of the dtype asked for) it
    shares that Tensor's array, as torch's ``nn.Parameter(t)`` shares ``t``'s storage; from
    an array or a list it holds a copy, as ``Tensor`` does.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        shared = isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype)
        if shared:
            super().__init__(())
            self.data = data.data
            # one array, one version counter (as detach shares it): a write through either
            # must make a backward that saved the values raise
            self._vc = version_counter(data)
        else:
            super().__init__(data, dtype=dtype)
        if requires_grad:
            self._check_requires_grad(True, "Parameter")
            self._requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        """A copy without ``.grad``, as torch's Parameter copy: ``teacher = deepcopy(student)``
        (or a per-task copy in meta-learning) must not start from the student's gradients,
        which its next backward would add to. Everything else is copied as for a Tensor."""
        cls = type(self)
        copied = cls.__new__(cls)
        memo[id(self)] = copied
        for slot in Tensor.__slots__:
            if slot not in ("__weakref__", "_grad") and hasattr(self, slot):
                object.__setattr__(copied, slot, copy.deepcopy(getattr(self, slot), memo))
        if hasattr(self, "__dict__"):  # a subclass without __slots__
            copied.__dict__.update(copy.deepcopy(self.__dict__, memo))
        copied._grad = None
        return copied


# Types that are never a Parameter, Module or Tensor (Module.__setattr__'s fast path).
_PLAIN_TYPES = frozenset((bool, int, float, str, bytes, bytearray, tuple, list, dict, set,
                          type(None)))


class _Registry(OrderedDict):
    """A module's ``_parameters``, ``_buffers`` or ``_modules``, kept in step with the module's
    attributes.

    tinydl keeps each registered value both here and as a plain attribute, so that reading
    ``self.weight`` in ``forward`` costs a dict lookup (torch's ``__getattr__`` fallback costs
    a Python call). torch's surgery habits write the registry itself,
    ``model._modules['fc'] = nn.Linear(...)`` or ``del m._parameters['weight']``: every
    write here is copied onto the attributes of the modules that own this registry, or
    forward would go on using the old layer while ``parameters()`` gave the optimizer the
    new one. Owners are weak (a registry does not keep its module alive); a shallow
    ``copy.copy`` of a module shares the registry, as torch's does, and both are kept in
    step.
    """

    def __init__(self, owner=None):
        super().__init__()
        self._owners = weakref.WeakSet() if owner is None else weakref.WeakSet((owner,))

    def __setitem__(self, key, value):
        OrderedDict.__setitem__(self, key, value)
        for owner in self._owners:
            owner.__dict__[key] = value

    def __delitem__(self, key):
        OrderedDict.__delitem__(self, key)
        self._forget(key)

    def _forget(self, key):
        for owner in self._owners:
            owner.__dict__.pop(key, None)

    _MISSING = object()

    def pop(self, key, default=_MISSING):
        if key in self:
            value = OrderedDict.pop(self, key)
            self._forget(key)
            return value
        if default is _Registry._MISSING:
            raise KeyError(key)
        return default

    def popitem(self, last=True):
        key, value = OrderedDict.popitem(self, last)
        self._forget(key)
        return key, value

    def clear(self):
        for key in self:
            self._forget(key)
        OrderedDict.clear(self)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __reduce__(self):
        # Copies and pickles hold the items, not the owners: Module.__setstate__ (and
        # DistributedDataParallel's deep copy) make the new module the copy's owner.
        return type(self), (), None, None, iter(OrderedDict.items(self))

    def __repr__(self):
        return repr(OrderedDict(self))


_REGISTRIES = ("_parameters", "_buffers", "_modules")


class Module:
    """Base class of every layer and model (``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, assign Parameters and Modules as
    attributes and define ``forward``; calling the module runs the forward pre-hooks,
    ``forward`` and the forward hooks. ``training`` is switched by ``train()``/``eval()``.
    """

    # A normalisation layer sets this: its checkpoints from before torch 0.4.1 lack the
    # buffer, which load_state_dict then does not count missing (torch's rule).
    _num_batches_tracked_optional = False

    def __init__(self):
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", _Registry(self))
        set_(self, "_buffers", _Registry(self))
        set_(self, "_non_persistent", set())
        set_(self, "_modules", _Registry(self))
        for name, empty in _HOOK_REGISTRIES:  # (the per-hook options: {hook id: True})
            set_(self, name, empty())

    def __setstate__(self, state):
        """A copy's (or an unpickled module's) state: its registries follow its attributes
        (a shallow copy's are shared with the original, as torch's, and follow both); hook
        registries a module pickled by an older tinydl lacks are added empty (torch's rule)."""
        self.__dict__.update(state)
        for name, empty in _HOOK_REGISTRIES:
            if name not in self.__dict__:
                object.__setattr__(self, name, empty())
        self._own_registries()

    def _own_registries(self):
        for name in _REGISTRIES:
            registry = self.__dict__.get(name)
            if isinstance(registry, _Registry):
                registry._owners.add(self)

    # ------------------------------------------------------------------ registration
    def _registries(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: cannot assign {name!r} before "
                                 "Module.__init__() is called (call super().__init__() first)")
        return self._parameters, self._buffers, self._modules

    def __setattr__(self, name, value):
        # A plain value under a name that no registry holds is a plain attribute, whatever
        # the checks below would find: set it at once (they cost 1 us; a module's per-step
        # state, such as DistributedDataParallel's counters, is written every step).
        d = self.__dict__
        if (type(value) in _PLAIN_TYPES and "_parameters" in d and name not in d["_parameters"]
                and name not in d["_buffers"] and name not in d["_modules"]):
            object.__setattr__(self, name, value)  # a property's setter still runs
            return
        if "_parameters" not in d and not isinstance(value, (Parameter, Module)):
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._registries(name)
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            self._non_persistent.discard(name)  # (a buffer put back later is persistent)
            modules.pop(name, None)
            params[name] = value
        elif name in params:  # before the Module case: a Module silently replaced a parameter
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} "
                                f"to parameter {name!r} (expected a Parameter or None)")
            params[name] = None
        elif isinstance(value, Module):
            buffers.pop(name, None)
            self._non_persistent.discard(name)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} "
                                f"to buffer {name!r} (expected a Tensor or None)")
            buffers[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} "
                                f"to submodule {name!r} (expected a Module or None)")
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        registered = False
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]  # (which also removes the attribute)
                registered = True
        self._non_persistent.discard(name)
        if not registered or name in self.__dict__:
            object.__delattr__(self, name)

    def _check_new_name(self, name, kind, registry):
        """torch's rules for the name given to ``register_<kind>``: a non-empty string without
        '.' (a dot would be read as a path into a submodule) that is not an attribute yet,
        unless it is already in ``registry`` (registering it again replaces it)."""
        if not isinstance(name, str):
            raise TypeError(f"register_{kind}: {kind} name must be a string, got "
                            f"{type(name).__name__}")
        if "." in name:
            raise KeyError(f"register_{kind}: {kind} name can't contain '.', got {name!r}")
        if name == "":
            raise KeyError(f"register_{kind}: {kind} name can't be the empty string")
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"register_{kind}: attribute {name!r} already exists on "
                           f"{type(self).__name__} (and is not a {kind})")

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``.

        ``name`` follows torch's rules (``KeyError`` for '.', '' or another attribute's name).
        """
        params, _, _ = self._registries(name)
        self._check_new_name(name, "parameter", params)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        params[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-parameter state Tensor or None (saved in ``state_dict`` when
        ``persistent``). ``name`` follows torch's rules, as for ``register_parameter``."""
        _, buffers, _ = self._registries(name)
        self._check_new_name(name, "buffer", buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        """Register ``module`` (a Module or None) as a child called ``name`` (torch's name
        rules: no '.', not empty, not another attribute such as ``forward`` or a parameter)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        modules = self._registries(name)[2]
        self._check_new_name(name, "module", modules)
        modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before ``forward``; a non-None result replaces ``args``
        (a non-tuple becomes a 1-tuple). With ``with_kwargs``: ``hook(module, args, kwargs)``,
        returning None or ``(args, kwargs)``. ``prepend``: before the hooks so far. As torch's."""
        handle = _register(self._forward_pre_hooks, hook, prepend,
                           (self._forward_pre_hooks_with_kwargs,))
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` runs after ``forward``; a non-None result replaces
        the output. With ``with_kwargs``: ``hook(module, args, kwargs, output)``; with
        ``always_call`` it also runs when the call raises before it (a pre-hook, forward or an
        earlier forward hook), with the output so far (None if forward did not finish); its
        own error then only warns, and the first is raised. ``prepend``: before the hooks so
        far. As torch's."""
        handle = _register(self._forward_hooks, hook, prepend,
                           (self._forward_hooks_with_kwargs, self._forward_hooks_always_called))
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients of the module's outputs are
        known; a non-None result (a tuple, one entry per output) replaces them. As torch's
        (``prepend``: before the hooks registered so far)."""
        return _register(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients of the module's
        positional inputs are known (``grad_input``: one entry per positional argument, None
        for one that is not a tensor, zeros for a tensor that does not require grad); a
        non-None result replaces them. With no input requiring grad it runs with Nones when
        the outputs' gradients are known, and must return None. As torch's: the
        module computes on views of its inputs then, so an in-place op on one (``ReLU(
        inplace=True)``) raises; only top-level output tensors get gradients in
        ``grad_output`` (None for one the loss does not use). The hooks that run are those
        registered when the module was called (``prepend``: before those registered so far).
        See ``tinydl.nn._backward_hooks``."""
        return _register(self._backward_hooks, hook, prepend)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_hooks_always_called:
            return self._call_always_hooked(args, kwargs)
        return self._call(args, kwargs)

    def _call(self, args, kwargs, progress=None):
        """Pre-hooks, forward, forward hooks and the backward hooks' packing; ``progress`` (a
        dict) follows the call for ``_call_always_hooked``: the arguments, the output so far
        and the forward hooks that ran."""
        if self._forward_pre_hooks:
            args, kwargs = self._run_forward_pre_hooks(args, kwargs)
        hooked = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            hooked = HookedCall(self, args)
            args = hooked.inputs(args)
        if progress is not None:
            progress.update(args=args, kwargs=kwargs)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for key, hook in list(self._forward_hooks.items()):
                if progress is not None:
                    progress["out"] = out
                    progress["done"].add(key)
                result = self._call_forward_hook(key, hook, args, kwargs, out)
                if result is not None:
                    out = result
        return out if hooked is None else hooked.outputs(out)

    def _call_always_hooked(self, args, kwargs):
        """``_call``, and when anything in it raises (a pre-hook, forward, a forward hook),
        the forward hooks registered with ``always_call`` that have not run yet, with the
        output so far (None when forward did not finish; their own errors then only warn),
        as torch's."""
        progress = {"args": args, "kwargs": kwargs, "out": None, "done": set()}
        try:
            return self._call(args, kwargs, progress)
        except Exception:
            for key, hook in list(self._forward_hooks.items()):
                if key in self._forward_hooks_always_called and key not in progress["done"]:
                    try:
                        self._call_forward_hook(key, hook, progress["args"],
                                                progress["kwargs"], progress["out"])
                    except Exception as err:
                        warnings.warn(f"{type(self).__name__}: a forward hook with "
                                      f"always_call=True raised {err!r}, silenced as another "
                                      "error was raised in the call")
            raise

    def _run_forward_pre_hooks(self, args, kwargs):
        with_kwargs = self._forward_pre_hooks_with_kwargs
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{type(self).__name__}: a forward pre-hook with "
                                           "kwargs must return None or a tuple (args, "
                                           f"kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        return args, kwargs

    def _call_forward_hook(self, key, hook, args, kwargs, out):
        if key in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, out)
        return hook(self, args, out)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, pre-order; each module once,
        or with ``remove_duplicate=False`` (torch's) once under every name it is reached by."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if self in memo:  # the modules themselves, as torch's memo holds them
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        """Every module in the tree (this one first)."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct submodules, each once (a module held under two
        names is listed under the first, as torch: ``apply`` must not visit it twice)."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        """The direct submodules."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or remove_duplicate and id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter), each shared parameter once (with torch's
        ``remove_duplicate=False``: under every name), in registration order."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every Parameter of the tree, each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer Tensor), each once unless ``remove_duplicate=False``."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Every buffer Tensor of the tree."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics used) on the whole tree: this
        module's flag, then each child's ``train(mode)``, as torch, so a child that overrides
        ``train`` (a frozen BatchNorm kept in eval) is obeyed."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient recording of every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter (to None by default, as torch 2.x)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            elif param.grad.data.flags.writeable:
                param.grad.data[...] = 0  # in place, as torch: the same array, zeroed
            else:
                param.grad = Tensor._wrap(np.zeros_like(param.data))

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """``to(dtype)``, ``to('cpu')``, ``to(device, dtype)``, ``to(tensor)``, as in torch.

        Casts every floating-point parameter and buffer (and a parameter's gradient) to
        ``dtype`` in place: each Parameter object stays the same (its ``data`` is replaced),
        so an optimizer built earlier keeps working. Integer buffers (``num_batches_tracked``)
        are left alone. The device may only be the CPU ('cpu', 'cpu:0'); anything else raises
        ``DeviceError``. Returns self.
        """
        dtype = _to_arguments(args, dtype, device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to only accepts floating-point dtypes, got "
                            f"{dtype}")
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for value in registry.values():
                    if value is None or value.dtype.kind != "f" or value.dtype == dtype:
                        continue
                    if hasattr(type(value), "materialize"):  # a lazy module's placeholder:
                        value.retype(dtype)  # no values yet, only the dtype to keep
                    else:
                        value.data = value.data.astype(dtype)
                        if value.grad is not None:  # the same grad Tensor, as torch's
                            value.grad.data = value.grad.data.astype(dtype)
        return self

    def cpu(self):
        """A no-op (tinydl runs on the CPU only); returns self, as ``torch.nn.Module.cpu``."""
        return self

    def cuda(self, device=None):
        """Always raises ``DeviceError``: tinydl runs on the CPU only."""
        _check_device("cuda" if device is None else f"cuda:{device}",
                      f"{type(self).__name__}.cuda")

    def double(self):
        """Cast floating-point parameters and buffers to float64 in place (for gradcheck)."""
        return self.to(np.float64)

    def float(self):
        """Cast floating-point parameters and buffers to float32 in place."""
        return self.to(np.float32)

    def half(self):
        """Cast floating-point parameters and buffers to float16 in place."""
        return self.to(np.float16)

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` ('' is this module), as torch's;
        AttributeError names the first step that is missing or not a Module."""
        module = self
        if target == "":
            return module
        walked = type(self).__name__
        for name in target.split("."):
            child = module._modules.get(name)
            if not isinstance(child, Module):
                raise AttributeError(f"get_submodule: {walked} has no submodule {name!r} "
                                     f"(looking for {target!r})")
            module, walked = child, f"{walked}.{name}"
        return module

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` ('block.0.weight'), as torch's."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target):
        """The buffer at the dotted path ``target`` ('bn.running_mean'), as torch's."""
        return self._get_member(target, "_buffers", "buffer")

    def _get_member(self, target, registry, kind):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        members = getattr(module, registry)
        if name not in members:
            raise AttributeError(f"get_{kind}: {type(module).__name__} {path!r} has no {kind} "
                                 f"{name!r}")
        if members[name] is None and kind == "parameter":  # (a None buffer is returned, as torch)
            raise AttributeError(f"get_parameter: {name!r} of {type(module).__name__} {path!r} "
                                 "is None, not a Parameter (as torch's)")
        return members[name]

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, in tree order.

        Values are detached Tensors sharing memory with the module (``keep_vars=True``
        returns the Parameters themselves).
        """
        destination = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _renamed_legacy_keys(self, state_dict, own):
        """``state_dict`` with the keys of an older layout renamed to this model's, where a
        module lists them in ``_legacy_state_keys`` ({old name: new name}, relative to it):
        torch's load pre-hooks do this, e.g. a checkpoint of the hook-style ``weight_norm``
        (``weight_g``, ``weight_v``) loading into ``parametrizations.weight_norm``. A key is
        renamed only where the new one is this model's and the checkpoint lacks it."""
        renames = {}
        for name, module in self.named_modules(remove_duplicate=False):  # (shared: each name)
            legacy = module.__dict__.get("_legacy_state_keys")
            if legacy:
                prefix = f"{name}." if name else ""
                for old, new in legacy.items():
                    old, new = prefix + old, prefix + new
                    if old in state_dict and new in own and new not in state_dict:
                        renames[old] = new
        if not renames:
            return state_dict
        return OrderedDict((renames.get(k, k), v) for k, v in state_dict.items())

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy ``state_dict`` values into this module's parameters and buffers, in place.

        Values may be Tensors or arrays; they are cast to each entry's dtype, and each entry's
        version counter is bumped (as torch's ``copy_``). A shape mismatch always raises; with
        ``strict=True`` missing and unexpected keys do too. The ``StateDictError`` lists every
        offending key. Returns ``(missing_keys, unexpected_keys)``.

        ``assign=True`` (torch's) puts the state dict's values in place of the entries instead:
        a parameter becomes a Parameter sharing the value's array (its dtype; the module's
        ``requires_grad``), a buffer the value itself (a Tensor) or a Tensor of its array. An
        optimizer built before then holds the old parameters, as in torch.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        state_dict = self._renamed_legacy_keys(state_dict, own)
        # A BatchNorm checkpoint older than torch 0.4.1 has no num_batches_tracked: torch loads
        # it and keeps the module's own count, as this does. Only a normalisation layer's
        # (_NormBase): any other module's buffer of that name is missing like any other key.
        optional = {f"{name}.num_batches_tracked" if name else "num_batches_tracked"
                    for name, m in self.named_modules(remove_duplicate=False)
                    if m._num_batches_tracked_optional}  # (a shared layer: every name)
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        wrong_shape, wrong_type = [], []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                array = value.data if isinstance(value, Tensor) else np.asarray(value)
                if array.dtype.kind not in "biuf":
                    # None, strings, objects: checked here, before anything is copied (an
                    # object array of None became NaN; a string failed half-way through)
                    wrong_type.append(f"{key!r}: {type(value).__name__} of dtype {array.dtype}")
                elif hasattr(type(target), "materialize"):
                    pass  # a lazy module's placeholder takes the checkpoint's shape (below)
                elif array.shape != target.shape:
                    wrong_shape.append(f"{key!r}: checkpoint {array.shape}, model {target.shape}")
        problems = []
        if wrong_type:
            problems.append("values that are not numeric arrays: " + "; ".join(wrong_type))
        if wrong_shape:
            problems.append("wrongly-shaped keys: " + "; ".join(wrong_shape))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise StateDictError(f"load_state_dict for {type(self).__name__}: "
                                 + " | ".join(problems))
        from tinydl.autograd import bump_version
        for key, target in own.items():
            if key in state_dict:
                if assign and not hasattr(type(target), "materialize"):
                    self._assign_entry(key, target, state_dict[key])
                    continue
                if hasattr(type(target), "materialize"):  # sized by the checkpoint, as torch's
                    value = state_dict[key]
                    target.materialize(np.shape(value.data if isinstance(value, Tensor)
                                                else value))
                target.data[...] = np.asarray(state_dict[key])
                # As torch's copy_: a backward that saved the old values must raise, not use these.
                bump_version(target)
        return IncompatibleKeys(missing, unexpected)

    def _assign_entry(self, key, target, value):
        """``load_state_dict(assign=True)`` for one entry: the value takes the entry's place."""
        path, _, name = key.rpartition(".")
        owner = self.get_submodule(path) if path else self
        tensor = value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value))
        if isinstance(target, Parameter):
            setattr(owner, name, Parameter(Tensor._wrap(tensor.data),
                                           requires_grad=target.requires_grad))
        else:
            setattr(owner, name, tensor)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """The part of ``repr`` inside the parentheses; layers override it."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class _NumberedMembers(Module):
    """What ModuleList, Sequential and ParameterList share: members named '0', '1', ... in
    order in one of the module's registries (``_registry``), added by ``_register``."""

    _registry = None

    def _members(self):
        return getattr(self, self._registry)

    def _register(self, name, value):
        raise NotImplementedError

    def __len__(self):
        return len(self._members())

    def __iter__(self):
        return iter(self._members().values())

    def __getitem__(self, index):
        values = list(self._members().values())
        if isinstance(index, slice):
            return type(self)(values[index])
        return values[_check_index(index, len(values), type(self).__name__)]

    def __setitem__(self, index, value):
        index = _check_index(index, len(self._members()), type(self).__name__)
        self._register(str(index), value)

    def append(self, value):
        """Add ``value`` at the end."""
        self._register(str(len(self._members())), value)
        return self

    def extend(self, values):
        """Append every value of an iterable."""
        for value in values:
            self.append(value)
        return self


class _ModuleSequence(_NumberedMembers):
    """What Sequential and ModuleList share: children named '0', '1', ... in order."""

    _registry = "_modules"

    def _register(self, name, module):
        self.add_module(name, module)

    def insert(self, index, module):
        """Insert ``module`` before position ``index``, renumbering the rest. ``index`` must
        lie in [-len, len], as torch asks (``list.insert`` would append or prepend)."""
        values = list(self._modules.values())
        if not -len(values) <= index <= len(values):
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for "
                             f"{len(values)} modules (it must lie in [-{len(values)}, "
                             f"{len(values)}])")
        values.insert(index, module)
        self._renumbered(values)

    def pop(self, index=-1):
        """Remove the module(s) at ``index`` (an int, the last by default, or a slice) and
        return them as ``self[index]`` gives them (a slice: a container of the same class);
        the rest are renumbered."""
        popped = self[index]
        del self[index]
        return popped

    def __delitem__(self, index):
        """Remove the module(s) at ``index`` (an int or a slice); the rest are renumbered
        '0', '1', ... as torch renumbers them (a Sequential built from a dict too)."""
        items = list(self._modules.items())
        if isinstance(index, slice):
            doomed = {name for name, _ in items[index]}
        else:
            doomed = {items[_check_index(index, len(items), type(self).__name__)][0]}
        self._renumbered([m for name, m in items if name not in doomed])

    def _renumbered(self, modules):
        """Make ``modules`` the children, named '0', '1', ... in order."""
        self._modules.clear()  # (which also removes the attributes)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)


class Sequential(_ModuleSequence):
    """Modules applied in order: ``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict)``.

    Children are named '0', '1', ... (or by the dict's keys), so state-dict keys read
    ``'0.weight'`` as in torch.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                self.add_module(str(name), module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_check_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index, module):
        """Replace the module at position ``index`` (keeping its name), as torch's."""
        names = list(self._modules)
        setattr(self, names[_check_index(index, len(names), "Sequential")], module)

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` and return the Sequential, as torch's."""
        super().insert(index, module)
        return self

    # torch's operators: the same module objects, renumbered (repeats share their weights)
    def __add__(self, other):
        """A new Sequential of this one's modules, then ``other``'s."""
        _check_sequential(other, "+")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        _check_sequential(other, "+=")
        return self.extend(list(other))

    def __mul__(self, times):
        """A new Sequential of this one's modules ``times`` times over (the same objects)."""
        return Sequential(*(list(self) * _repeat_count(times)))

    __rmul__ = __mul__

    def __imul__(self, times):
        return self.extend(list(self) * (_repeat_count(times) - 1))


def _check_sequential(other, op):
    if not isinstance(other, Sequential):
        raise ValueError(f"Sequential {op}: the other operand must be a Sequential (as in "
                         f"torch), got {type(other).__name__}")


def _repeat_count(times):
    if isinstance(times, bool) or not isinstance(times, (int, np.integer)) or times <= 0:
        raise ValueError(f"Sequential *: the count must be a positive int (as in torch), got "
                         f"{times!r}")
    return int(times)



def _check_index(index, length, caller):
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{caller}: indices must be ints or slices, got "
                        f"{type(index).__name__} {index!r}")
    if not -length <= index < length:
        raise IndexError(f"{caller}: index {index} is out of range for {length} modules")
    return index % length


class ModuleList(_ModuleSequence):
    """A list of modules registered as children '0', '1', ... (no forward of its own)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __add__(self, other):
        """A new ModuleList of this one's modules, then those of the iterable ``other``."""
        return ModuleList([*self, *other])

    def __iadd__(self, other):
        return self.extend(other)


class _NamedMembers(Module):
    """What ModuleDict and ParameterDict share: an ordered mapping over one of the module's
    registries (``_registry``: '_modules' or '_parameters'), keys being the member names."""

    _registry = None
    _kind = None

    def _members(self):
        return getattr(self, self._registry)

    def __getitem__(self, key):
        return self._members()[key]

    def __delitem__(self, key):
        if key not in self._members():
            raise KeyError(f"{type(self).__name__}: no {self._kind} named {key!r}")
        delattr(self, key)

    def __len__(self):
        return len(self._members())

    def __iter__(self):
        return iter(self._members())

    def __contains__(self, key):
        return key in self._members()

    def keys(self):
        """The member names."""
        return self._members().keys()

    def values(self):
        """The members."""
        return self._members().values()

    def items(self):
        """(name, member) pairs."""
        return self._members().items()

    def get(self, key, default=None):
        return self._members().get(key, default)

    def update(self, members):
        """Add or replace members from a mapping or an iterable of (name, member) pairs."""
        for name, member in (members.items() if hasattr(members, "items") else members):
            self[name] = member

    def pop(self, key):
        """Remove the member ``key`` and return it."""
        member = self._members().get(key)
        del self[key]
        return member

    def clear(self):
        """Remove every member."""
        for key in list(self._members()):
            del self[key]


class ModuleDict(_NamedMembers):
    """An ordered dict of modules registered as children under their keys."""

    _registry, _kind = "_modules", "module"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            for name, module in dict(modules).items():
                self.add_module(name, module)

    def __setitem__(self, key, module):
        self.add_module(key, module)


class ParameterList(_NumberedMembers):
    """A list of parameters registered as '0', '1', ... (torch's ``nn.ParameterList``): they
    appear in ``parameters()`` and ``state_dict()`` of the module that holds the list. A
    Tensor that is not a Parameter is made one (sharing its array), as torch does."""

    _registry = "_parameters"

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _register(self, name, value):
        self.register_parameter(name, _as_parameter(value, "ParameterList"))

    def extra_repr(self):
        return _describe_parameters(self)


class ParameterDict(_NamedMembers):
    """An ordered dict of parameters registered under their keys (torch's
    ``nn.ParameterDict``). A Tensor that is not a Parameter is made one."""

    _registry, _kind = "_parameters", "parameter"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value, "ParameterDict"))

    def update(self, parameters):
        """Add or replace parameters, as torch's: an OrderedDict, a ParameterDict or (name,
        parameter) pairs in their order, any other mapping (a plain dict) in sorted key order,
        so that the parameters' order (an optimizer's state indices, parameters_to_vector's
        layout) is torch's for the same code."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            items = parameters.items()
        elif isinstance(parameters, Mapping):
            items = sorted(parameters.items())
        else:
            items = parameters
        for name, parameter in items:
            self[name] = parameter

    def extra_repr(self):
        return _describe_parameters(self)


def _describe_parameters(module):
    """ParameterList's and ParameterDict's repr lines: each parameter's name, shape, dtype."""
    return "\n".join(f"({name}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                     for name, p in module._parameters.items())


def _as_parameter(value, caller):
    """``value`` as a Parameter: itself, or a Tensor made one (sharing its array)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{caller}: expected a Parameter or a Tensor, got {type(value).__name__}")
