"""Training utilities: spectral normalisation and its regulariser, gradient clipping,
parameter <-> vector conversion and L1/L2 penalties (``torch.nn.utils`` names).

Spectral normalisation (Miyato et al. 2018) follows the hook form of
``torch.nn.utils.spectral_norm``: the raw weight becomes the parameter ``weight_orig``, two
buffers ``weight_u`` and ``weight_v`` hold the power-iteration vectors, and a forward
pre-hook sets ``module.weight = weight_orig / sigma`` before every forward, where
``sigma = u^T W v`` after ``n_power_iterations`` rounds of
``v = normalize(W^T u); u = normalize(W v)`` (training mode only; eval mode reuses u, v).
u and v are constants for the gradient, which flows through sigma:
``dL/dW = (G - <G, W_hat> u v^T) / sigma`` with ``G = dL/dW_hat``.
"""
import math
import numbers

import numpy as np

import tinydl
from tinydl.random import get_generator
from tinydl.tensor import Tensor

__all__ = ["spectral_norm", "remove_spectral_norm", "SpectralNormRegularizer",
           "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "get_total_norm", "clip_grads_with_norm_",
           "vector_to_parameters", "regularization"]


def _normalize(vector, eps):
    return vector / max(float(np.linalg.norm(vector)), eps)


def _as_matrix(array, dim):
    """The weight as a (shape[dim], -1) matrix (dim moved to the front first)."""
    if dim != 0:
        array = np.moveaxis(array, dim, 0)
    return array.reshape(array.shape[0], -1)


class SpectralNorm:
    """The forward pre-hook that ``spectral_norm`` registers (one per normalised weight)."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def _matrix_tensor(self, weight):
        if self.dim != 0:
            axes = (self.dim,) + tuple(a for a in range(weight.ndim) if a != self.dim)
            weight = tinydl.transpose(weight, axes)
        return weight.reshape((weight.shape[0], -1))

    def compute_weight(self, module, do_power_iteration):
        """``weight_orig / sigma``, after updating u, v in place when ``do_power_iteration``."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        if do_power_iteration:
            matrix = _as_matrix(weight.data, self.dim)
            u_data, v_data = u.data, v.data
            for _ in range(self.n_power_iterations):
                v_data = _normalize(matrix.T @ u_data, self.eps)
                u_data = _normalize(matrix @ v_data, self.eps)
            u.data[...] = u_data
            v.data[...] = v_data
        # Copies, as torch clones them: the next training-mode forward (D(real) then D(fake)
        # before one backward) overwrites the buffers in place, and this forward's backward
        # must see the u, v it used (sharing them gave weight_orig.grad 40% off).
        u_const = Tensor._wrap(u.data.astype(weight.dtype, copy=True))
        v_const = Tensor._wrap(v.data.astype(weight.dtype, copy=True))
        sigma = (u_const * (self._matrix_tensor(weight) @ v_const)).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name,
                           self.compute_weight(module, do_power_iteration=module.training))


def _default_dim(module):
    """1 for a transposed convolution (its weight is (C_in, C_out/groups, ...): the output
    channels are axis 1), else 0; torch's rule. (It listed ConvTranspose1d and 2d only:
    ConvTranspose3d got dim 0, another sigma and torch-incompatible u and v.)"""
    from tinydl.nn.conv import _ConvNd

    return 1 if isinstance(module, _ConvNd) and module.transposed else 0


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Normalise ``module.<name>`` by its largest singular value before every forward.

    Registers parameter ``<name>_orig``, buffers ``<name>_u`` (height) and ``<name>_v``
    (width), both drawn N(0, 1) and normalised, and a forward pre-hook. ``dim`` defaults to
    0, or 1 for transposed convolutions. Returns the module.
    """
    from tinydl.nn.module import Parameter

    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise ValueError(f"spectral_norm: {name!r} of {type(module).__name__} is already "
                             "spectrally normalised")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if weight.ndim < 1:
        raise ValueError(f"spectral_norm: {name!r} must have at least one dimension")
    dim = _default_dim(module) if dim is None else dim
    if not -weight.ndim <= dim < weight.ndim:  # as the parametrization form says it
        raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of shape "
                         f"{tuple(weight.shape)} (expected in [{-weight.ndim}, {weight.ndim - 1}])")
    dim %= weight.ndim  # a negative dim made the first forward fail in a transpose
    hook = SpectralNorm(name, n_power_iterations, dim, eps)
    height, width = _as_matrix(weight.data, dim).shape
    rng = get_generator()
    u = _normalize(rng.standard_normal(height), eps).astype(weight.dtype)
    v = _normalize(rng.standard_normal(width), eps).astype(weight.dtype)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight if isinstance(weight, Parameter)
                              else Parameter(weight))
    object.__setattr__(module, name, weight.detach())
    module.register_buffer(name + "_u", Tensor(u))
    module.register_buffer(name + "_v", Tensor(v))
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo ``spectral_norm``: ``<name>`` becomes a plain Parameter holding W / sigma."""
    from tinydl.nn.module import Parameter

    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            with tinydl.no_grad():
                weight = hook.compute_weight(module, do_power_iteration=False)
            del module._forward_pre_hooks[key]
            for suffix in ("_orig", "_u", "_v"):
                delattr(module, name + suffix)
            object.__delattr__(module, name)
            module.register_parameter(name, Parameter(weight.data))
            return module
    raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                     f"{type(module).__name__}")


class SpectralNormRegularizer:
    """Spectral norm regularisation (Yoshida & Miyato 2017): penalty ``lam/2 * sum_l sigma_l^2``.

    Instead of a loss term it adds the penalty's gradient ``lam * sigma_l * u_l v_l^T`` to the
    gradient of every weight with 2 or more dimensions (viewed as (out, -1)), where u_l, v_l
    come from one power iteration per call, continued from the previous call (persistent).
    Call it after ``loss.backward()`` and before ``optimizer.step()``::

        reg = SpectralNormRegularizer(lam=0.01)
        loss.backward()
        reg(model)          # or reg(model.parameters())
        optimizer.step()

    Returns the penalty value ``lam/2 * sum sigma^2`` (a float) for logging.
    """

    def __init__(self, lam, eps=1e-12):
        if lam < 0:
            raise ValueError(f"SpectralNormRegularizer: lam must be non-negative, got {lam}")
        self.lam, self.eps = lam, eps
        self._u = {}

    def _named_weights(self, params):
        if hasattr(params, "named_parameters"):
            return list(params.named_parameters())
        return list(enumerate(params))

    def __call__(self, params):
        penalty = 0.0
        for key, param in self._named_weights(params):
            if param.ndim < 2 or not param.requires_grad:
                continue
            matrix = param.data.reshape(param.shape[0], -1).astype(np.float64)
            u = self._u.get(key)
            if u is None or u.shape != (matrix.shape[0],):
                u = _normalize(get_generator().standard_normal(matrix.shape[0]), self.eps)
            v = _normalize(matrix.T @ u, self.eps)
            u = _normalize(matrix @ v, self.eps)
            self._u[key] = u
            sigma = float(u @ matrix @ v)
            penalty += 0.5 * self.lam * sigma * sigma
            extra = (self.lam * sigma * np.outer(u, v)).reshape(param.shape).astype(param.dtype)
            param.grad = Tensor._wrap(extra if param.grad is None else param.grad.data + extra)
        return penalty


def _parameter_list(parameters, caller):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{caller}: expected Tensors (parameters), got "
                            f"{type(p).__name__} at position {i}")
    return params


def _total_norm(tensors, norm_type, error_if_nonfinite, caller):
    """(sum_t ||t||_q^q)^(1/q) over ``tensors`` (arrays) as a float; q = inf: max |t|,
    q = -inf: min |t|. The norm of the per-tensor norms, as torch's two stages, in float64;
    NumPy's norm keeps NaN."""
    norm_type = float(norm_type)
    norms = np.array([np.linalg.norm(t.ravel().astype(np.float64), ord=norm_type)
                      if t.size else (math.inf if norm_type < 0 else 0.0) for t in tensors])
    total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{caller}: the total norm of order {norm_type} is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    return total


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The joint ``norm_type`` norm of ``tensors`` (a Tensor or an iterable of them), as if
    they were concatenated into one vector: ``(sum_t ||t||_q^q)^(1/q)``.

    Pass the gradients (``[p.grad for p in params]``) to get what ``clip_grad_norm_`` clips.
    Returns a 0-d Tensor of the tensors' promoted dtype (0.0, float32, for none); not
    differentiable. ``foreach`` is accepted for torch's signature and ignored.
    """
    tensors = _parameter_list(tensors, "get_total_norm")
    if not tensors:
        return Tensor(0.0)
    total = _total_norm([t.data for t in tensors], norm_type, error_if_nonfinite,
                        "get_total_norm")
    # torch's dtype: the tensors' promoted one (float64 beside float32 gives float64)
    return Tensor(np.asarray(total, dtype=np.result_type(*[t.dtype for t in tensors])))


def _check_real(value, fn, name):
    """Refuse a ``value`` that is not a real number or a one-element Tensor (None, say, which
    NumPy reads as NaN: ``max_norm=None`` for "do not clip" made every gradient NaN silently;
    torch raises as here)."""
    data = value.data if isinstance(value, Tensor) else value
    try:
        float(data)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a real number, got {value!r}") from None


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply every gradient in place by ``min(1, max_norm / (total_norm + 1e-6))``.

    ``total_norm`` (a 0-d Tensor or a number) is usually ``get_total_norm`` of the gradients,
    possibly reduced across workers first. A NaN total makes every gradient NaN, as torch.
    Returns None. ``foreach`` is accepted for torch's signature and ignored.
    """
    _check_real(max_norm, "clip_grads_with_norm_", "max_norm")
    _check_real(total_norm, "clip_grads_with_norm_", "total_norm")
    grads = [p.grad for p in _parameter_list(parameters, "clip_grads_with_norm_")
             if p.grad is not None]
    # in the total's dtype, as torch (a float32 total gives a float32-rounded coefficient)
    dtype = total_norm.dtype if isinstance(total_norm, Tensor) else np.float64
    total = np.asarray(total_norm.data if isinstance(total_norm, Tensor) else total_norm,
                       dtype=dtype)
    coef = float(np.asarray(max_norm, dtype=dtype) / (total + np.asarray(1e-6, dtype=dtype)))
    if not coef >= 1.0:  # below 1, or NaN (which min(1, coef) would drop)
        for g in grads:
            g.data *= np.asarray(coef, dtype=g.dtype)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale all gradients together so their joint ``norm_type`` norm is at most ``max_norm``.

    total = (sum_p ||g_p||^q)^(1/q) (q = inf: max |g|, q = -inf: min |g|); gradients are
    multiplied by ``min(1, max_norm / (total + 1e-6))`` in place, as torch. A NaN anywhere
    makes the total NaN and, as in torch, every gradient NaN. Returns total as a 0-d Tensor.
    It is ``get_total_norm`` of the gradients followed by ``clip_grads_with_norm_``.
    ``foreach`` is accepted for torch's signature and ignored: tinydl has one implementation.
    """
    _check_real(max_norm, "clip_grad_norm_", "max_norm")
    params = _parameter_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    total = _total_norm([g.data for g in grads], norm_type, error_if_nonfinite,
                        "clip_grad_norm_")
    clip_grads_with_norm_(params, max_norm, total)
    # torch's dtype: the gradients' promoted one (float64 beside float32 gives float64)
    return Tensor(np.asarray(total, dtype=np.result_type(*[g.dtype for g in grads])))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry to [-clip_value, clip_value] in place.

    ``foreach`` is accepted for torch's signature and ignored: tinydl has one implementation.
    """
    clip_value = float(clip_value)
    for p in _parameter_list(parameters, "clip_grad_value_"):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (differentiable)."""
    params = _parameter_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return tinydl.concatenate([p.reshape((-1,)) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    data = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    if data.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape {data.shape}")
    params = _parameter_list(parameters, "vector_to_parameters")
    total = sum(p.size for p in params)
    if data.size != total:
        raise ValueError(f"vector_to_parameters: vector of length {data.size} for parameters with "
                         f"{total} elements")
    offset = 0
    for p in params:
        p.data[...] = data[offset:offset + p.size].reshape(p.shape)
        offset += p.size


def regularization(module, l1=0.0, l2=0.0, skip_norm=True):
    """The penalty ``l1 * sum |w| + l2 * sum w^2`` over the module's parameters, as a Tensor.

    Add it to the loss. With ``skip_norm`` (default) the scale and shift of normalisation
    layers (BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RMSNorm) are left out, as the notes
    recommend. Note the L2 term has no 1/2: its gradient is ``2 * l2 * w``.
    """
    from tinydl.nn.normalization import NORM_TYPES

    if not isinstance(l1, numbers.Real) or not isinstance(l2, numbers.Real) or l1 < 0 or l2 < 0:
        raise ValueError(f"regularization: l1 and l2 must be non-negative numbers, got {l1}, {l2}")
    skipped = set()
    if skip_norm:
        for m in module.modules():
            if isinstance(m, NORM_TYPES):
                skipped.update(id(p) for p in m.parameters(recurse=False))
    penalty = None
    for p in module.parameters():
        if id(p) in skipped:
            continue
        term = None
        if l1:
            term = p.abs().sum() * float(l1)
        if l2:
            square = (p * p).sum() * float(l2)
            term = square if term is None else term + square
        if term is not None:
            penalty = term if penalty is None else penalty + term
    return penalty if penalty is not None else Tensor(0.0)


# torch.nn.utils.rnn is also an attribute: tinydl.nn.utils.rnn.pack_padded_sequence works
from tinydl.nn.utils import rnn  # noqa: E402
__all__ += ["rnn"]

# torch.nn.utils' other families, each in its own file (weight norm, parametrizations,
# fusion, functional_call); the submodules are attributes, as torch's.
from tinydl.nn.utils.weight_norm import remove_weight_norm, weight_norm  # noqa: E402
from tinydl.nn.utils import parametrize, parametrizations, stateless  # noqa: E402
from tinydl.nn.utils.fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights,  # noqa: E402
                                    fuse_linear_bn_eval, fuse_linear_bn_weights)
from tinydl.nn.utils.init import skip_init  # noqa: E402
__all__ += ["weight_norm", "remove_weight_norm", "parametrize", "parametrizations", "stateless",
            "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "skip_init"]
