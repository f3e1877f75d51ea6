"""Adaptive instance normalisation (Huang & Belongie 2017), the style operation of StyleGAN."""
import numpy as np

from tinydl.ops import sqrt
from tinydl.tensor import Tensor


def _as_tensor(x, dtype=None):
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def adain(x, style_scale, style_bias, eps=1e-5):
    """AdaIN: ``style_scale * (x - mu_x) / sqrt(var_x + eps) + style_bias``.

    ``mu_x`` and ``var_x`` are the instance statistics of ``x`` over its spatial axes, one pair
    per sample and channel, with the biased variance and ``eps`` inside the square root (as
    ``InstanceNorm2d``). ``x`` is ``(N, C, H, W)`` (any number of spatial axes >= 1 works);
    ``style_scale`` and ``style_bias`` are ``(N, C)``, one style per sample, as produced by the
    learned affine map of StyleGAN (Karras et al. 2019). Differentiable in all three inputs;
    returns a Tensor shaped like ``x``.
    """
    x = _as_tensor(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"adain: x must be floating point, got dtype {x.dtype}")
    if x.ndim < 3:
        raise ValueError(f"adain: x must be (N, C, *spatial) with at least one spatial axis, "
                         f"got shape {x.shape}")
    n, c = x.shape[:2]
    style_scale = _as_tensor(style_scale, x.dtype)
    style_bias = _as_tensor(style_bias, x.dtype)
    for name, s in (("style_scale", style_scale), ("style_bias", style_bias)):
        if s.shape != (n, c):
            raise ValueError(f"adain: {name} must be (N, C) = {(n, c)} for x of shape {x.shape}, "
                             f"got {s.shape}")
    if not eps > 0:
        raise ValueError(f"adain: eps must be positive, got {eps}")
    spatial = tuple(range(2, x.ndim))
    mu = x.mean(axis=spatial, keepdims=True)
    var = x.var(axis=spatial, keepdims=True)
    x_norm = (x - mu) / sqrt(var + eps)
    to_map = (n, c) + (1,) * len(spatial)
    return style_scale.reshape(to_map) * x_norm + style_bias.reshape(to_map)
