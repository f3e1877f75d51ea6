"""``functional_call``: run a module with some of its parameters and buffers replaced, for one
call (``torch.func.functional_call`` / ``torch.nn.utils.stateless.functional_call``).

The module's own tensors are put back afterwards, also when the call raises. A buffer that
the forward updates in place (BatchNorm's running statistics) updates the tensor given, not
the module's. Useful for meta-learning (MAML's inner step), per-sample gradients and
evaluating a model at other weights without copying it.
"""
from tinydl.nn.module import Module
from tinydl.nn.utils.parametrize import is_parametrized
from tinydl.tensor import Tensor

__all__ = ["functional_call"]

_ABSENT = object()


def _merge(dicts):
    """One dict from a dict or a sequence of dicts, refusing a key given twice."""
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (list, tuple)):
        raise TypeError(f"functional_call: expected a dict (or a sequence of dicts) of Tensors, "
                        f"got {type(dicts).__name__}")
    merged = {}
    for d in dicts:
        repeated = sorted(set(merged) & set(d))
        if repeated:
            raise ValueError(f"functional_call: {repeated} appeared in multiple dictionaries; "
                             "behavior of functional call is ambiguous")
        merged.update(d)
    return merged


def _all_tensors(module):
    """Every (dotted name, tensor) of parameters and buffers, tied ones under every name."""
    found = []

    def walk(mod, prefix, visited):
        if id(mod) in visited:  # a module held twice is walked once per path, never in a loop
            return
        for registry in (mod._parameters, mod._buffers):
            for name, value in registry.items():
                if value is not None:
                    found.append((prefix + name, value))
        for name, child in mod._modules.items():
            if child is not None:
                walk(child, prefix + name + ".", visited | {id(mod)})

    walk(module, "", frozenset())
    return found


def _owner(module, dotted):
    """The submodule holding ``dotted`` and the attribute name in it."""
    path, _, name = dotted.rpartition(".")
    owner = module
    for step in path.split(".") if path else ():
        child = getattr(owner, step, None)
        if child is None:
            raise AttributeError(f"functional_call: {type(owner).__name__} has no attribute "
                                 f"{step!r} (in {dotted!r})")
        if not isinstance(child, Module):
            raise TypeError(f"functional_call: {step!r} in {dotted!r} is a "
                            f"{type(child).__name__}, not a Module")
        owner = child
    return owner, name


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` (dotted name
    -> Tensor; or a sequence of such dicts) in place of the module's own, for this call only.

    ``tie_weights``: a tensor the module holds under several names (tied embeddings) is
    replaced under all of them when one is given. ``strict``: every parameter and buffer must
    be given, and nothing else. A name the module lacks becomes an attribute for the call.
    ``args`` that is not a tuple is the single positional argument. Returns forward's result.
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected a Module, got {type(module).__name__}")
    given = _merge(parameters_and_buffers)
    for name, value in given.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"functional_call: the value for {name!r} must be a Tensor, got "
                            f"{type(value).__name__}")
    owned = _all_tensors(module)
    if tie_weights:
        names_of = {}
        for name, value in owned:
            names_of.setdefault(id(value), []).append(name)
        for names in names_of.values():
            present = [n for n in names if n in given]
            if len({id(given[n]) for n in present}) > 1:
                raise ValueError(f"functional_call got multiple values for keys {present}, "
                                 "which are tied. Consider using tie_weights=False")
            if present:
                for name in names:
                    given.setdefault(name, given[present[0]])
    if strict:
        owned_names = {name for name, _ in owned}
        missing = [name for name, _ in owned if name not in given]
        unexpected = [name for name in given if name not in owned_names]
        if missing or unexpected:
            problems = []
            if unexpected:
                problems.append("unexpected key(s): " + ", ".join(map(repr, unexpected)))
            if missing:
                problems.append("missing key(s): " + ", ".join(map(repr, missing)))
            raise RuntimeError(f"functional_call: error(s) in reparametrizing for "
                               f"{type(module).__name__}: " + "; ".join(problems))
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    kwargs = {} if kwargs is None else kwargs
    targets = [(*_owner(module, name), value) for name, value in given.items()]
    saved = []
    try:
        for owner, name, value in targets:
            if is_parametrized(owner, name):
                # its property would compute the tensor from the originals: it reads the
                # replacement from here instead, as torch's documentation says a value under
                # the plain name disables the parametrization (torch 2.13's code assigns it
                # through right_inverse instead, and leaves the module changed after the call;
                # the documented, side-effect-free rule is kept)
                replaced = owner.__dict__.setdefault("_functional_call_values", {})
                saved.append((owner, name, replaced, replaced.get(name, _ABSENT)))
                replaced[name] = value
                continue
            registry = next((r for r in (owner._parameters, owner._buffers) if name in r), None)
            saved.append((owner, name, registry,
                          registry[name] if registry is not None else owner.__dict__.get(
                              name, _ABSENT)))
            # a plain attribute, beside the registries (which keep the module's own tensors:
            # parameters() and state_dict() do not change during the call)
            owner.__dict__[name] = value
        return module(*args, **kwargs)
    finally:
        for owner, name, registry, before in reversed(saved):
            # (registry None: a new attribute; it must not read as "no parametrized values
            # stored", also None, or the restore stopped there and left the rest installed)
            if registry is not None and registry is owner.__dict__.get("_functional_call_values"):
                if before is _ABSENT:
                    del registry[name]
                else:
                    registry[name] = before
                if not registry:
                    del owner.__dict__["_functional_call_values"]
            elif registry is not None:
                registry[name] = before  # (also the attribute; undoes a reassignment in forward)
            elif before is _ABSENT:
                owner.__dict__.pop(name, None)
            else:
                owner.__dict__[name] = before
