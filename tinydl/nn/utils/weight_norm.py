"""Weight normalisation (Salimans & Kingma 2016), hook form: ``torch.nn.utils.weight_norm``.

A weight is rewritten as ``w = g * v / ||v||``: the direction ``v`` and the magnitude ``g``
become two parameters, ``<name>_v`` (the weight's shape) and ``<name>_g`` (size of the
weight along ``dim``, 1 elsewhere). The norm is taken over every axis except ``dim``;
``dim=None`` (or -1, torch's spelling of the same) takes it over the whole tensor and ``g``
is a scalar. A forward pre-hook recomputes ``module.<name>`` from g and v before every
forward, so gradients reach g and v through ``w``:
``dL/dg = <G, v>/||v||``, ``dL/dv = g/||v|| (G - <G, v> v/||v||^2)`` (per slice along dim).

``parametrizations.weight_norm`` is the same map on the parametrization machinery
(torch's recommended form); both use ``weight_norm_from`` below.
"""
import warnings

import tinydl


def _weight_norm_dim(weight, dim, caller):
    """``dim`` as torch's weight norm reads it: None or -1 mean the whole tensor (-1), any
    other value is an axis of ``weight`` (negative ones wrap)."""
    if dim is None or dim == -1:
        return -1
    ndim = weight.ndim
    if not -ndim <= dim < ndim:
        raise IndexError(f"{caller}: dim {dim} is out of range for a weight of shape "
                         f"{tuple(weight.shape)} (expected in [{-ndim}, {ndim - 1}] or None)")
    return dim % ndim


def norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every axis except ``dim``, keeping them as size 1 (dim=-1:
    the norm of the whole tensor, 0-d). Differentiable."""
    if dim == -1:
        return (v * v).sum().sqrt()
    others = tuple(axis for axis in range(v.ndim) if axis != dim)
    return (v * v).sum(axis=others, keepdims=True).sqrt() if others else abs(v)


def weight_norm_from(g, v, dim):
    """``w = g * v / ||v||`` with the norm from ``norm_except_dim(v, dim)`` (differentiable
    in g and v; a zero slice of v gives NaN, as torch)."""
    return v * (g / norm_except_dim(v, dim))


class WeightNorm:
    """The forward pre-hook that ``weight_norm`` registers (one per normalised weight)."""

    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute_weight(self, module):
        """``<name>_g * <name>_v / ||<name>_v||``."""
        return weight_norm_from(getattr(module, self.name + "_g"),
                                getattr(module, self.name + "_v"), self.dim)

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Split parameter ``module.<name>`` into ``<name>_g`` (magnitude) and ``<name>_v``
    (direction), recombined as ``g * v / ||v||`` before every forward. Returns the module.

    The norm runs over every axis except ``dim`` (0: one magnitude per output unit);
    ``dim=None`` normalises the whole tensor. Deprecated in torch (FutureWarning, as here) in
    favour of ``tinydl.nn.utils.parametrizations.weight_norm``.
    """
    from tinydl.nn.module import Parameter

    warnings.warn("tinydl.nn.utils.weight_norm is deprecated in favor of "
                  "tinydl.nn.utils.parametrizations.weight_norm (as torch's)", FutureWarning,
                  stacklevel=2)
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"weight_norm: cannot register two weight_norm hooks on the "
                               f"same parameter {name!r}")
    weight = module._parameters.get(name)
    if weight is None:
        raise AttributeError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    dim = _weight_norm_dim(weight, dim, "weight_norm")
    hook = WeightNorm(name, dim)
    with tinydl.no_grad():
        g = norm_except_dim(weight.detach(), dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(g.data))
    module.register_parameter(name + "_v", Parameter(weight.detach()))  # shares weight's array
    object.__setattr__(module, name, hook.compute_weight(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``weight_norm``: ``<name>`` becomes one Parameter holding ``g * v / ||v||``."""
    from tinydl.nn.module import Parameter

    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            with tinydl.no_grad():
                weight = hook.compute_weight(module)
            del module._forward_pre_hooks[key]
            delattr(module, name + "_g")
            delattr(module, name + "_v")
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.data))
            return module
    raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in "
                     f"{type(module).__name__}")


__all__ = ["weight_norm", "remove_weight_norm"]
