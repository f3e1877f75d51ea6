"""Toy 2-D data sets for decision boundaries and generative models.

Every function returns ``(X, y)``: ``X`` float32 of shape ``(n_samples, 2)``, ``y`` int64
class labels of shape ``(n_samples,)``, rows shuffled. ``noise``/``std`` is the standard
deviation of Gaussian noise added to each coordinate. A ``seed`` gives a local
``np.random.default_rng(seed)``; ``seed=None`` draws from tinydl's global generator.
``make_moons`` and ``make_circles`` follow scikit-learn's ``sklearn.datasets`` conventions
(which class is which, how samples split between classes, where points sit).
"""

import numbers

import numpy as np

from tinydl.data._random import resolve_generator


def _check_count(value, name, where, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_scale(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{where}: {name} must be a real number >= 0, got {value!r}")
    return float(value)


def _split_evenly(n_samples, n_groups):
    """Sizes of ``n_groups`` groups summing to ``n_samples``; the first ones get the remainder."""
    sizes = np.full(n_groups, n_samples // n_groups)
    sizes[: n_samples % n_groups] += 1
    return sizes


def _shuffle_and_noise(X, y, noise, generator):
    """Shuffle rows (as scikit-learn's ``shuffle=True``), add N(0, noise^2) noise, cast."""
    order = generator.permutation(len(X))
    X, y = X[order], y[order]
    if noise > 0:
        X = X + generator.normal(scale=noise, size=X.shape)
    return X.astype(np.float32), y.astype(np.int64)


def make_moons(n_samples=100, noise=0.0, seed=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Class 0 (``n_samples // 2`` points): ``(cos t, sin t)``, t evenly in ``[0, pi]``.
    Class 1 (the rest): ``(1 - cos t, 0.5 - sin t)``, the same arc turned over and shifted.
    """
    n_samples = _check_count(n_samples, "n_samples", "make_moons")
    noise = _check_scale(noise, "noise", "make_moons")
    generator = resolve_generator(seed, "make_moons")
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    X = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1),
                        np.stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)], axis=1)])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _shuffle_and_noise(X, y, noise, generator)


def make_circles(n_samples=100, noise=0.0, factor=0.5, seed=None):
    """A large circle around a small one (scikit-learn's ``make_circles``).

    Class 0 (``n_samples // 2`` points) lies on the unit circle, class 1 (the rest) on the
    circle of radius ``factor`` (``0 <= factor < 1``); points are evenly spaced in angle from
    0, ``(r cos t, r sin t)`` with t = 2 pi i / n_class. The default ``factor=0.5`` is the
    API's (scikit-learn's is 0.8: pass ``factor=0.8`` for its data; with the same factor the
    points are the same).
    """
    n_samples = _check_count(n_samples, "n_samples", "make_circles")
    noise = _check_scale(noise, "noise", "make_circles")
    factor = _check_scale(factor, "factor", "make_circles")
    if factor >= 1:
        raise ValueError(f"make_circles: factor must be in [0, 1), got {factor!r}")
    generator = resolve_generator(seed, "make_circles")
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1),
                        factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _shuffle_and_noise(X, y, noise, generator)


def make_spirals(n_samples=300, n_classes=3, noise=0.0, seed=None):
    """``n_classes`` spiral arms winding out of the origin, one class per arm.

    Arm k holds ``n_samples // n_classes`` points (the first ``n_samples % n_classes`` arms
    one more) at ``r (cos theta, sin theta)`` with r evenly in ``[0, 1]`` and
    ``theta = 2 pi (k / n_classes + r)``: each arm makes one full turn, and the arms are
    rotated copies of each other, evenly spaced -- the CS231n spiral, made symmetric.
    """
    n_samples = _check_count(n_samples, "n_samples", "make_spirals")
    n_classes = _check_count(n_classes, "n_classes", "make_spirals")
    noise = _check_scale(noise, "noise", "make_spirals")
    generator = resolve_generator(seed, "make_spirals")
    sizes = _split_evenly(n_samples, n_classes)
    y = np.repeat(np.arange(n_classes), sizes)
    r = np.concatenate([np.linspace(0.0, 1.0, m) for m in sizes])
    theta = 2 * np.pi * (y / n_classes + r)
    X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return _shuffle_and_noise(X, y, noise, generator)


def make_gaussian_mixture(n_samples=1000, n_components=8, radius=2.0, std=0.02, seed=None):
    """Isotropic Gaussians with centres evenly spaced on a circle; ``y`` is the component.

    Centre k is ``radius (cos(2 pi k / K), sin(2 pi k / K))``, each point is its centre plus
    N(0, std^2 I) noise, and the components share the samples evenly (the first
    ``n_samples % K`` one more). The defaults are the "8 Gaussians" of the WGAN-GP toy
    experiments (Gulrajani et al., 2017), used to show mode collapse.
    """
    n_samples = _check_count(n_samples, "n_samples", "make_gaussian_mixture")
    n_components = _check_count(n_components, "n_components", "make_gaussian_mixture")
    radius = _check_scale(radius, "radius", "make_gaussian_mixture")
    std = _check_scale(std, "std", "make_gaussian_mixture")
    generator = resolve_generator(seed, "make_gaussian_mixture")
    angles = 2 * np.pi * np.arange(n_components) / n_components
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.repeat(np.arange(n_components), _split_evenly(n_samples, n_components))
    return _shuffle_and_noise(centres[y], y, std, generator)
