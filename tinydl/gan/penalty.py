"""Lipschitz constraints for a WGAN critic: the gradient penalty and weight clipping."""
import numpy as np

from tinydl.autograd import enable_grad, grad
from tinydl.ops import mean, sqrt
from tinydl.ops import sum as tsum
from tinydl.random import get_generator
from tinydl.tensor import Tensor

# Added under the square root of the gradient norm: a critic whose gradient is exactly zero at
# some xhat (all ReLUs dead) would otherwise give d||g||/dg = g/||g|| = 0/0 = NaN.
_NORM_EPS = 1e-12


def _batch(x, name):
    t = x.detach() if isinstance(x, Tensor) else Tensor(x)
    if not np.issubdtype(t.dtype, np.floating):
        raise TypeError(f"gradient_penalty: {name} must be floating point, got dtype {t.dtype}")
    if t.ndim < 1 or t.shape[0] == 0:
        raise ValueError(f"gradient_penalty: {name} must be a non-empty batch (N, ...), "
                         f"got shape {t.shape}")
    return t


def gradient_penalty(critic, real, fake, lam=10.0):
    """WGAN-GP's gradient penalty (Gulrajani et al. 2017): ``lam mean (||grad D(xhat)|| - 1)^2``.

    ``xhat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample, drawn from
    tinydl's seeded generator; the norm is taken over all non-batch axes of the gradient of the
    critic's output with respect to ``xhat`` (with 1e-12 added under its square root, so that a
    zero gradient gives a finite penalty gradient instead of 0/0).

    ``critic`` is any callable Tensor -> Tensor (an ``nn.Module`` or a plain function) that
    scores each sample independently (so no batch norm in the critic, as the paper says: the
    penalty sums the outputs and differentiates once). ``real`` and ``fake`` are batches of the
    same shape ``(N, ...)``. Both are detached here: the penalty constrains the critic only, and
    no gradient flows back into the generator through ``fake``. The input gradient is built with
    ``create_graph=True``, so ``backward()`` on the returned scalar Tensor reaches the critic's
    parameters (a second-order gradient). Add it to the critic loss; defaults from the paper:
    ``lam = 10`` with ``n_critic = 5`` and ``Adam(1e-4, betas=(0, 0.9))``.
    """
    if not callable(critic):
        raise TypeError(f"gradient_penalty: critic must be callable, got {type(critic).__name__}")
    if lam < 0:
        raise ValueError(f"gradient_penalty: lam must be non-negative, got {lam}")
    real = _batch(real, "real")
    fake = _batch(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real and fake must have the same shape, got "
                         f"{real.shape} and {fake.shape}")
    n = real.shape[0]
    dtype = np.result_type(real.dtype, fake.dtype)
    eps = get_generator().random((n,) + (1,) * (real.ndim - 1)).astype(dtype)
    xhat = Tensor(eps * real.data + (1.0 - eps) * fake.data, requires_grad=True)
    # The critic step may run inside no_grad (e.g. a caller's evaluation loop); the penalty
    # needs a graph regardless.
    with enable_grad():
        out = critic(xhat)
        if not isinstance(out, Tensor):
            raise TypeError("gradient_penalty: critic must return a Tensor, got "
                            f"{type(out).__name__}")
        if not out.requires_grad:
            raise ValueError("gradient_penalty: the critic's output does not depend on its input")
        (g,) = grad(tsum(out), xhat, create_graph=True, allow_unused=True)
        if g is None:
            raise ValueError("gradient_penalty: the critic's output does not depend on its input")
        norm = sqrt(tsum(g.reshape(n, -1) ** 2, axis=1) + _NORM_EPS)
        return lam * mean((norm - 1.0) ** 2)


def clip_weights(module, c=0.01):
    """Clamp every parameter of ``module`` to ``[-c, c]`` in place (WGAN, Arjovsky et al. 2017).

    Call after each critic update; the paper uses ``c = 0.01`` with ``RMSprop(lr=5e-5)`` and
    ``n_critic = 5``. Like the reference code it clips all parameters, biases included.
    ``module`` is an ``nn.Module`` or an iterable of parameter Tensors. Returns None.
    """
    if not c > 0:
        raise ValueError(f"clip_weights: c must be positive, got {c}")
    params = module.parameters() if hasattr(module, "parameters") else module
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"clip_weights: expected parameter Tensors, got {type(p).__name__}")
        np.clip(p.data, -c, c, out=p.data)
