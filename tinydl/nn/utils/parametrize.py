"""Parametrizations (``torch.nn.utils.parametrize``): a module's tensor computed by modules.

``register_parametrization(module, 'weight', P)`` turns ``module.weight`` into
``P(original)``, recomputed on every read (but once per forward of the module, and once
per ``cached()`` block): the stored tensor moves to
``module.parametrizations.weight.original`` (a Parameter stays the same Parameter object,
so an optimizer built earlier keeps working) and the class of ``module`` is swapped for a
subclass ``Parametrized<Class>`` whose property ``weight`` evaluates the chain. Registering
more parametrizations on the same name composes them: ``weight = P2(P1(original))``.

``P.right_inverse(W)``, when P defines it, gives the original from a wanted value: it runs
once at registration (so ``module.weight`` starts as close as P allows to the old weight)
and on every assignment ``module.weight = W``. It may return a tuple; the originals are
then ``original0``, ``original1``, ... and ``P.forward`` takes them all (weight norm: g, v).

State-dict keys read as torch's: ``parametrizations.weight.original`` (or ``original0``,
``original1``) and ``parametrizations.weight.0.<P's buffers>``.

tinydl's Module keeps registered values in the instance ``__dict__``; a property on the
class takes precedence over it for reads, and ``Module.__setattr__`` hands a Tensor for a
name that no registry holds to ``object.__setattr__``, which calls the property's setter.
"""
from contextlib import contextmanager

import tinydl
from tinydl.autograd import bump_version
from tinydl.nn.module import Module, ModuleDict, ModuleList, Parameter
from tinydl.tensor import Tensor

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "cached", "type_before_parametrizations", "ParametrizationList"]

# The cache of ``cached()``: (id(module), name) -> tensor, alive while a ``cached`` block is.
_cache_depth = 0
_cache = {}


@contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once, at its first read, and
    reused (one forward of a recurrent network reads its weight at every step). Blocks nest;
    the cache is emptied when the outermost one ends."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


def _register_tensor(module, name, value):
    """A Parameter as a parameter, any other Tensor as a buffer (torch's rule)."""
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_data(original, value, caller, what):
    """Point ``original`` (kept as the same object) at ``value``'s array, as torch's
    ``set_``; the dtype must not change."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{caller}: {what} must be a Tensor, got {type(value).__name__}")
    if value.dtype != original.dtype:
        raise ValueError(f"{caller}: {what} has dtype {value.dtype}, but the original tensor "
                         f"has dtype {original.dtype}")
    if value is not original:
        original.data = value.data
        bump_version(original)  # a backward that saved the old values must raise


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, and its original(s).

    ``self()`` is ``P_n(...P_1(original))``; ``right_inverse(W)`` sets the original(s) to
    ``P_1^-1(...P_n^-1(W))``. Built by ``register_parametrization``.
    """

    def __init__(self, modules, original, unsafe=False):
        if not modules:
            raise ValueError("ParametrizationList: requires one or more modules")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        with tinydl.no_grad():
            new = original
            for parametrization in reversed(list(self)):
                if hasattr(parametrization, "right_inverse"):
                    try:
                        new = parametrization.right_inverse(new)
                    except NotImplementedError:
                        pass  # taken as the identity, as torch
        if not isinstance(new, (Tensor, list, tuple)):
            raise ValueError("register_parametrization: right_inverse must return a Tensor or "
                             f"a sequence of Tensors, got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            _set_data(original, new, "register_parametrization", "right_inverse's result")
            _register_tensor(self, "original", original)
        else:
            for i, value in enumerate(new):
                if not isinstance(value, Tensor):
                    raise ValueError(f"register_parametrization: right_inverse's result {i} "
                                     f"must be a Tensor, got {type(value).__name__}")
                requires_grad = original.requires_grad
                value = (Parameter(value.detach(), requires_grad=requires_grad)
                         if isinstance(original, Parameter) else value.detach())
                value.requires_grad_(requires_grad)
                _register_tensor(self, f"original{i}", value)
        if not unsafe:
            # forward(right_inverse(original)) must be a Tensor of the original's shape, dtype
            value = self()
            _check_same_kind(value, shape, dtype, "the parametrized tensor")

    def right_inverse(self, value):
        """Set the original(s) so that ``self()`` gives ``value`` (in place, no gradient)."""
        with tinydl.no_grad():
            for parametrization in reversed(list(self)):
                if not hasattr(parametrization, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(parametrization).__name__} does "
                                       "not implement right_inverse, so the tensor cannot be "
                                       "assigned")
                value = parametrization.right_inverse(value)
            if self.is_tensor:
                _set_data(self.original, value, "right_inverse", "the result")
                return
            if not isinstance(value, (list, tuple)) or len(value) != self.ntensors:
                raise ValueError(f"right_inverse: expected a sequence of {self.ntensors} "
                                 f"Tensors, got {type(value).__name__}")
            for i, tensor in enumerate(value):
                _set_data(getattr(self, f"original{i}"), tensor, "right_inverse",
                          f"result {i}")

    def forward(self):
        chain = list(self)
        if self.is_tensor:
            x = chain[0](self.original)
        else:
            x = chain[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for parametrization in chain[1:]:
            x = parametrization(x)
        return x


def _check_same_kind(value, shape, dtype, what):
    """Without ``unsafe``, a parametrization must keep its tensor a Tensor of one shape and
    dtype."""
    if not isinstance(value, Tensor):
        raise ValueError(f"register_parametrization: a parametrization must return a Tensor, "
                         f"got {type(value).__name__}")
    if value.dtype != dtype:
        raise ValueError(f"register_parametrization: {what} has dtype {value.dtype} instead "
                         f"of {dtype}; pass unsafe=True to allow a change of dtype")
    if value.shape != shape:
        raise ValueError(f"register_parametrization: {what} has shape {tuple(value.shape)} "
                         f"instead of {tuple(shape)}; pass unsafe=True to allow a change of "
                         "shape")


def _parametrized_property(name):
    """The property that stands for tensor ``name``: reading evaluates the chain (once per
    ``cached`` block, once per forward), assigning goes through ``right_inverse``."""
    def get_parametrized(self):
        replaced = self.__dict__.get("_functional_call_values")  # (stateless.functional_call)
        if replaced is not None and name in replaced:
            return replaced[name]
        chain = self.parametrizations[name]
        if _cache_depth:
            key = (id(self), name)
            value = _cache.get(key)
            if value is None:
                value = _cache[key] = chain()
            return value
        in_forward = self.__dict__.get("_parametrized_values")
        if in_forward is None:
            return chain()
        value = in_forward.get(name)
        if value is None:
            value = in_forward[name] = chain()
        return value

    def set_original(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get_parametrized, set_original)


def _set_class(module, base, names):
    """Give ``module`` a fresh subclass of ``base`` with a property for each of ``names``
    (``base`` itself when there are none). A fresh class at every change: a deep copy shares
    its original's class, and changing a shared class would change both modules.

    The subclass's ``forward`` evaluates each parametrized tensor once per call: tinydl's
    layers may read ``self.weight`` twice (a dtype check, then the op) where torch's read it
    once, and a second evaluation would cost as much again and, for spectral norm in
    training mode, run the power iteration twice per forward where torch runs it once.
    """
    if not names:
        module.__class__ = base
        return

    def forward(self, *args, **kwargs):
        if "_parametrized_values" in self.__dict__:  # a re-entrant call: the outer one caches
            return super(parametrized_cls, self).forward(*args, **kwargs)
        object.__setattr__(self, "_parametrized_values", {})
        try:
            return super(parametrized_cls, self).forward(*args, **kwargs)
        finally:
            object.__delattr__(self, "_parametrized_values")

    def __setattr__(self, name, value):
        # Module.__setattr__ would register the Parameter beside the property, unused (reads
        # go to the property); torch raises here too.
        if isinstance(value, Parameter) and is_parametrized(self, name):
            raise KeyError(f"{type(self).__name__}: cannot assign a Parameter to the "
                           f"parametrized tensor {name!r}; assign a Tensor (it goes through "
                           "right_inverse) or call remove_parametrizations first")
        super(parametrized_cls, self).__setattr__(name, value)

    namespace = {"forward": forward, "__setattr__": __setattr__, "_parametrized_base": base}
    namespace.update((name, _parametrized_property(name)) for name in names)
    parametrized_cls = type(f"Parametrized{base.__name__}", (base,), namespace)
    module.__class__ = parametrized_cls


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (a Module) applied to
    the stored tensor, recomputed at every read; returns the module.

    The first registration moves the parameter or buffer to
    ``module.parametrizations.<tensor_name>.original`` (after ``right_inverse``, when the
    parametrization has one); later ones append to the chain. Unless ``unsafe``, the
    parametrization must keep the tensor's shape and dtype (checked once, here).
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be a Module, got "
                        f"{type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            value = parametrization(current)
            _check_same_kind(value, current.shape, current.dtype, "the parametrization's output")
            if hasattr(parametrization, "right_inverse"):
                try:
                    inverse = parametrization.right_inverse(value)
                except NotImplementedError:
                    pass
                else:
                    _check_same_kind(inverse, current.shape, current.dtype,
                                     "right_inverse's output")
        chain = module.parametrizations[tensor_name]
        chain.append(parametrization)
        chain.unsafe = chain.unsafe or unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter, "
                         f"buffer or parametrized tensor named {tensor_name!r}")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is "
                         "None")
    chain = ParametrizationList([parametrization], original, unsafe=unsafe)
    base = type_before_parametrizations(module)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = chain
    _set_class(module, base, list(module.parametrizations))
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has a parametrization (on ``tensor_name``, or on any tensor)."""
    parametrizations = module.__dict__.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module):
    """The class ``module`` had before ``register_parametrization`` swapped it."""
    cls = type(module)
    return cls.__dict__.get("_parametrized_base", cls)


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Remove every parametrization of ``module.<tensor_name>``; returns the module.

    With ``leave_parametrized`` the tensor keeps its current (parametrized) value, written
    into the original Parameter object (a new one when there were several originals);
    otherwise the original comes back as it is. The class swap is undone with the last one.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with tinydl.no_grad():
                value = getattr(module, tensor_name)
            _set_data(original, value, "remove_parametrizations", "the parametrized tensor")
    elif leave_parametrized:
        value = getattr(module, tensor_name)  # with gradients on: does any original need them?
        original = (Parameter(value.detach(), requires_grad=True) if value.requires_grad
                    else value.detach())
    else:
        raise ValueError("remove_parametrizations: cannot use leave_parametrized=False for "
                         f"{tensor_name!r}, which is parametrized by several tensors "
                         f"({chain.ntensors} originals)")
    del module.parametrizations[tensor_name]
    _set_class(module, type_before_parametrizations(module), list(module.parametrizations))
    _register_tensor(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
    return module
