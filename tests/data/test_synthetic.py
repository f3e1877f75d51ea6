"""Toy 2-D sets: shapes, labels, geometry, noise and seeding."""

import numpy as np
import pytest

import tinydl
from tinydl.data import make_circles, make_gaussian_mixture, make_moons, make_spirals

MAKERS = [make_moons, make_circles, make_spirals, make_gaussian_mixture]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n_samples", [1, 7, 101])
def test_shapes_and_dtypes(make, n_samples):
    X, y = make(n_samples=n_samples, seed=0)
    assert X.shape == (n_samples, 2) and X.dtype == np.float32
    assert y.shape == (n_samples,) and y.dtype == np.int64
    assert np.isfinite(X).all()


@pytest.mark.parametrize("make", MAKERS)
def test_seeded_reproducible_and_seed_dependent(make):
    X1, y1 = make(n_samples=50, seed=3)
    X2, y2 = make(n_samples=50, seed=3)
    X3, y3 = make(n_samples=50, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not (np.array_equal(X1, X3) and np.array_equal(y1, y3))


@pytest.mark.parametrize("make", MAKERS)
def test_unseeded_uses_global_generator(make):
    tinydl.manual_seed(9)
    X1, y1 = make(n_samples=40)
    tinydl.manual_seed(9)
    X2, y2 = make(n_samples=40)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_moons_geometry():
    """Class 0 on the unit upper half circle, class 1 on that arc flipped and moved to
    centre (1, 0.5), evenly spaced in angle, as scikit-learn's make_moons."""
    X, y = make_moons(n_samples=101, seed=0)
    assert np.bincount(y).tolist() == [50, 51]
    outer, inner = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.sort(np.arctan2(outer[:, 1], outer[:, 0])),
                               np.linspace(0, np.pi, 50), atol=1e-6)
    np.testing.assert_allclose(np.sort(inner[:, 0]), np.sort(1 - np.cos(np.linspace(0, np.pi, 51))),
                               atol=1e-6)
    assert (inner[:, 1] <= 0.5 + 1e-6).all() and (outer[:, 1] >= -1e-6).all()


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.8])
def test_circles_radii_and_angles(factor):
    X, y = make_circles(n_samples=61, factor=factor, seed=1)
    assert np.bincount(y).tolist() == [30, 31]
    radii = np.hypot(*X.astype(np.float64).T)
    np.testing.assert_allclose(radii[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radii[y == 1], factor, atol=1e-6)
    outer = X[y == 0].astype(np.float64)
    angles = np.sort(np.mod(np.arctan2(outer[:, 1], outer[:, 0]) + 1e-9, 2 * np.pi))
    np.testing.assert_allclose(angles, np.linspace(0, 2 * np.pi, 30, endpoint=False), atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spiral_arms(n_classes):
    """Each point sits at r (cos t, sin t) with t = 2 pi (k / K + r) for its own arm k."""
    n_samples = 7 * n_classes + 2
    X, y = make_spirals(n_samples=n_samples, n_classes=n_classes, seed=2)
    expected_sizes = [8, 8] + [7] * (n_classes - 2)
    assert np.bincount(y).tolist() == expected_sizes
    X = X.astype(np.float64)
    r = np.hypot(*X.T)
    for k in range(n_classes):
        np.testing.assert_allclose(np.sort(r[y == k]), np.linspace(0, 1, expected_sizes[k]),
                                   atol=1e-6)
    away = r > 0.05
    theta = np.arctan2(X[away, 1], X[away, 0])
    predicted = 2 * np.pi * (y[away] / n_classes + r[away])
    wrapped = np.angle(np.exp(1j * (theta - predicted)))
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-5)


def test_gaussian_mixture_centres_and_spread():
    n_components, radius, std = 6, 3.0, 0.1
    X, y = make_gaussian_mixture(n_samples=6003, n_components=n_components, radius=radius,
                                 std=std, seed=4)
    assert np.bincount(y).tolist() == [1001] * 3 + [1000] * 3
    angles = 2 * np.pi * np.arange(n_components) / n_components
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for k in range(n_components):
        points = X[y == k].astype(np.float64)
        # Mean within 5 standard errors of its centre, std within 10% (1000 samples).
        np.testing.assert_allclose(points.mean(axis=0), centres[k], atol=5 * std / np.sqrt(1000))
        np.testing.assert_allclose(points.std(axis=0), std, rtol=0.1)


def test_gaussian_mixture_defaults_are_eight_gaussians():
    X, y = make_gaussian_mixture(seed=0)
    assert X.shape == (1000, 2) and set(y.tolist()) == set(range(8))
    np.testing.assert_allclose(np.hypot(*X.T), 2.0, atol=0.15)


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals])
def test_noise_is_gaussian_with_given_std(make):
    """The same seed draws the same shuffle, so the noisy minus the clean set is the noise."""
    clean, y_clean = make(n_samples=4000, noise=0.0, seed=5)
    noisy, y_noisy = make(n_samples=4000, noise=0.2, seed=5)
    np.testing.assert_array_equal(y_clean, y_noisy)
    diff = (noisy - clean).astype(np.float64)
    np.testing.assert_allclose(diff.mean(axis=0), 0.0, atol=5 * 0.2 / np.sqrt(4000))
    np.testing.assert_allclose(diff.std(axis=0), 0.2, rtol=0.05)


@pytest.mark.parametrize("call, message", [
    (lambda: make_moons(n_samples=0), "make_moons: n_samples"),
    (lambda: make_moons(noise=-0.1), "make_moons: noise"),
    (lambda: make_circles(factor=1.0), r"make_circles: factor must be in \[0, 1\)"),
    (lambda: make_circles(n_samples=2.5), "make_circles: n_samples"),
    (lambda: make_spirals(n_classes=0), "make_spirals: n_classes"),
    (lambda: make_gaussian_mixture(std=float("nan")), "make_gaussian_mixture: std"),
    (lambda: make_gaussian_mixture(n_components=True), "make_gaussian_mixture: n_components"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_seed():
    with pytest.raises(TypeError, match="make_moons: seed"):
        make_moons(seed=-1)
