"""Perceptual path length (Karras et al. 2019, StyleGAN, section 3 and the reference code).

PPL measures how abruptly a generator's images change along a path through its latent space:

    PPL = E[ d(G(i(z0, z1; t)), G(i(z0, z1; t + eps))) / eps^2 ],  z0, z1 ~ N(0, I),
          t ~ U(0, 1) (sampling='full') or t = 0 (sampling='end'),

with ``i`` an interpolation and ``d`` a perceptual distance (VGG16-LPIPS in the paper, which
is quadratic in small image changes, hence the division by ``eps^2``). As in the reference
(``metrics/perceptual_path_length.py``), distances below their 1st percentile (lower value)
and above their 99th (higher value) are discarded before the mean.

Interpolation. The reference interpolates the *input* noise ``z`` by ``slerp`` onto the unit
sphere (its mapping network normalises ``z`` anyway) and the intermediate latent ``w`` by
``lerp``. Here ``interpolation='lerp'`` is the default for both spaces (for ``G(z) = A z + b``
and the squared L2 distance it gives ``E = 2 ||A||_F^2`` before the percentile filter);
``interpolation='slerp'`` is the reference's z-space rule, normalising both ends and the
interpolant to unit length, so its values are on another scale (about ``(pi/2)^2 ||A||_F^2 /
latent_dim`` for that linear G).
"""
import numpy as np

from tinydl import random as _random
from tinydl.autograd import no_grad
from tinydl.tensor import Tensor

PPL_SPACES = ("z", "w")
PPL_SAMPLINGS = ("full", "end")
PPL_INTERPOLATIONS = ("lerp", "slerp")


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def slerp(a, b, t):
    """The reference's spherical interpolation: unit vectors at angle ``t * angle(a, b)`` from
    ``a/|a|`` towards ``b/|b|`` in their plane. ``a``, ``b`` (N, D), ``t`` (N, 1); NumPy."""
    a, b = _unit(a), _unit(b)
    cos = np.sum(a * b, axis=-1, keepdims=True)
    angle = t * np.arccos(np.clip(cos, -1.0, 1.0))
    towards_b = _unit(b - cos * a)
    return _unit(a * np.cos(angle) + towards_b * np.sin(angle))


def lerp(a, b, t):
    """Linear interpolation ``a + t (b - a)``; NumPy arrays, ``t`` broadcasting over rows."""
    return a + t * (b - a)


def _as_array(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _run(fn, x, dtype):
    # The networks see tinydl Tensors; the interpolation itself is done in float64 so that the
    # eps-sized step is not lost to rounding before it reaches the network.
    with no_grad():
        return fn(Tensor(x.astype(dtype)))


def perceptual_path_length(generator, distance, n_samples, epsilon=1e-4, space="z",
                           sampling="full", *, latent_dim, mapping=None, interpolation="lerp",
                           batch_size=10000, dtype=np.float32):
    """StyleGAN's perceptual path length of ``generator``; returns a float.

    ``generator``: Tensor ``(B, latent_dim)`` -> images ``(B, ...)`` (with ``space='w'``, the
    synthesis network taking ``w``); ``distance(images_a, images_b)`` -> ``(B,)`` per-pair
    distances (Tensor or array); ``mapping`` (``space='w'`` only): ``z`` -> ``w``. For each of
    ``n_samples`` pairs ``z0, z1 ~ N(0, I)`` (tinydl's seeded generator) and ``t ~ U(0, 1)``
    (``'full'``) or ``t = 0`` (``'end'``), the latents ``i(t)`` and ``i(t + epsilon)`` are
    formed by ``interpolation`` (``'lerp'``, or ``'slerp'`` on the unit sphere, the reference's
    z-space rule) in ``space``, generated, and scored ``distance / epsilon^2``. Scores outside
    [1st percentile (lower), 99th percentile (higher)] are dropped and the rest averaged, as
    the reference does. Work is done ``batch_size`` pairs at a time, networks run under
    ``no_grad`` on Tensors of ``dtype``.
    """
    caller = "perceptual_path_length"
    if space not in PPL_SPACES:
        raise ValueError(f"{caller}: space must be one of {PPL_SPACES}, got {space!r}")
    if sampling not in PPL_SAMPLINGS:
        raise ValueError(f"{caller}: sampling must be one of {PPL_SAMPLINGS}, got {sampling!r}")
    if interpolation not in PPL_INTERPOLATIONS:
        raise ValueError(f"{caller}: interpolation must be one of {PPL_INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    if (space == "w") != (mapping is not None):
        raise ValueError(f"{caller}: space='w' needs the mapping network z -> w and space='z' "
                         f"takes none; got space={space!r} with mapping={mapping!r}")
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"{caller}: n_samples must be an integer >= 2, got {n_samples!r}")
    if not epsilon > 0:
        raise ValueError(f"{caller}: epsilon must be positive, got {epsilon!r}")
    if int(latent_dim) != latent_dim or latent_dim < 1 or int(batch_size) < 1:
        raise ValueError(f"{caller}: latent_dim and batch_size must be positive integers, got "
                         f"{latent_dim!r} and {batch_size!r}")
    if interpolation == "slerp" and latent_dim < 2:  # both ends normalise to +-1: 0/0
        raise ValueError(f"{caller}: interpolation='slerp' needs latent_dim >= 2 (on a line "
                         "the unit sphere is two points), got 1; use 'lerp'")
    interpolate = slerp if interpolation == "slerp" else lerp
    rng = _random.get_generator()
    scores = []
    for start in range(0, int(n_samples), int(batch_size)):
        count = min(int(batch_size), int(n_samples) - start)
        ends = rng.standard_normal((2 * count, int(latent_dim)))
        t = rng.uniform(0.0, 1.0, size=count) if sampling == "full" else np.zeros(count)
        if space == "w":
            ends = _as_array(_run(mapping, ends, dtype)).astype(np.float64)
        a, b = ends[:count], ends[count:]
        t = t.reshape((count,) + (1,) * (a.ndim - 1))
        # Both ends of each short step in one generator call.
        latents = np.concatenate([interpolate(a, b, t), interpolate(a, b, t + epsilon)])
        images = _run(generator, latents, dtype)
        d = _as_array(distance(images[:count], images[count:])).astype(np.float64)
        if d.shape != (count,):
            raise ValueError(f"{caller}: distance must return one value per pair, shape "
                             f"({count},), got {d.shape}")
        scores.append(d / epsilon ** 2)
    scores = np.concatenate(scores)
    lo = np.percentile(scores, 1, method="lower")
    hi = np.percentile(scores, 99, method="higher")
    return float(scores[(scores >= lo) & (scores <= hi)].mean())
