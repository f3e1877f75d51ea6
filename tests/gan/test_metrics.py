"""frechet_distance and inception_score against closed forms and direct SciPy computations."""

import numpy as np
import pytest
from scipy import linalg
from scipy.stats import entropy

import tinydl
from tinydl.gan import frechet_distance, inception_score
from tinydl.gan import metrics as metrics_module


def test_frechet_spec_vectors():
    # Commuting covariances: d^2 = |mu1 - mu2|^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2, so
    # S1 = diag(4, 9), S2 = I, equal means -> (2-1)^2 + (3-1)^2 = 5
    assert frechet_distance(np.zeros(2), np.diag([4.0, 9.0]), np.zeros(2), np.eye(2)) == \
        pytest.approx(5.0, abs=1e-12)
    # S = I on both sides, mean gap (1, 1) -> 2
    assert frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)) == \
        pytest.approx(2.0, abs=1e-12)


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [1, 3, 8])
def test_frechet_agrees_with_direct_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    # the symmetric form of the cross term: Tr (S2^(1/2) S1 S2^(1/2))^(1/2)
    root2 = linalg.sqrtm(s2)
    tr_cross = np.trace(linalg.sqrtm(root2 @ s1 @ root2)).real
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_cross
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ref, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_frechet_one_dimensional_closed_form():
    # N(m1, s1^2) vs N(m2, s2^2): d^2 = (m1 - m2)^2 + (s1 - s2)^2
    got = frechet_distance([1.5], [[4.0]], tinydl.Tensor(np.array([-0.5])), [[0.25]])
    assert got == pytest.approx(2.0 ** 2 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_frechet_of_sample_statistics_shrinks_for_same_distribution():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(4000, 4)), rng.normal(size=(4000, 4))
    c = rng.normal(size=(4000, 4)) * 2 + 1
    stats = [(x.mean(0), np.cov(x, rowvar=False)) for x in (a, b, c)]
    same = frechet_distance(*stats[0], *stats[1])
    # N(0, I) vs N(1, 4I) in 4-D: 4 * 1 + 4 * (2 - 1)^2 = 8
    assert same < 0.05
    assert frechet_distance(*stats[0], *stats[2]) == pytest.approx(8.0, rel=0.1)


class FakeLinalg:
    """Stands in for scipy.linalg inside metrics: scripted sqrtm results, records arguments."""

    LinAlgWarning = linalg.LinAlgWarning

    def __init__(self, results):
        self.results, self.calls = list(results), []

    def sqrtm(self, a):
        self.calls.append(a)
        result = self.results.pop(0)
        return linalg.sqrtm(a) if result is None else result


def test_frechet_retries_with_offset_when_sqrtm_is_not_finite(monkeypatch):
    fake = FakeLinalg([np.full((2, 2), np.nan), None])
    monkeypatch.setattr(metrics_module, "linalg", fake)
    s1, s2 = np.diag([4.0, 9.0]), np.eye(2)
    got = frechet_distance(np.zeros(2), s1, np.zeros(2), s2)
    assert len(fake.calls) == 2
    np.testing.assert_allclose(fake.calls[1], (s1 + 1e-6 * np.eye(2)) @ (s2 + 1e-6 * np.eye(2)))
    assert got == pytest.approx(5.0, abs=1e-5)


def test_frechet_complex_root(monkeypatch):
    small = np.diag([2.0, 3.0]) + 1e-5j * np.eye(2)
    monkeypatch.setattr(metrics_module, "linalg", FakeLinalg([small]))
    assert frechet_distance(np.zeros(2), np.diag([4.0, 9.0]), np.zeros(2), np.eye(2)) == \
        pytest.approx(5.0, abs=1e-12)
    monkeypatch.undo()
    # a covariance with a negative eigenvalue makes the root genuinely imaginary
    with pytest.raises(ValueError, match="frechet_distance.*imaginary"):
        frechet_distance(np.zeros(2), np.diag([-1.0, 1.0]), np.zeros(2), np.eye(2))


def test_frechet_singular_covariances_stay_finite():
    # rank-1 covariances (fewer samples than dimensions in FID practice)
    v = np.array([[1.0], [2.0], [0.0]])
    s = v @ v.T
    got = frechet_distance(np.zeros(3), s, np.zeros(3), s)
    assert np.isfinite(got) and abs(got) < 1e-4


def test_frechet_bad_input():
    with pytest.raises(ValueError, match=r"frechet_distance.*\(3, 3\)"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="frechet_distance: mu1.*1-D"):
        frechet_distance(np.zeros((2, 2)), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="frechet_distance: sigma2.*NaN"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.full((2, 2), np.nan))


def test_inception_score_uniform_is_one():
    mean, std = inception_score(np.full((100, 7), 1 / 7), splits=10)
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_inception_score_balanced_one_hot_is_k(k):
    probs = np.tile(np.eye(k), (20, 1))  # every split of 2k rows holds each class twice
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-12) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_unbalanced_one_hot_is_exp_label_entropy():
    freq = np.array([0.5, 0.25, 0.25])
    probs = np.repeat(np.eye(3), (freq * 8).astype(int), axis=0)
    mean, _ = inception_score(probs, splits=1)
    assert mean == pytest.approx(np.exp(entropy(freq)), rel=1e-12)


def test_inception_score_matches_scipy_entropy_per_split():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(6, 0.3), size=103)
    n, splits = len(probs), 4
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        p_y = part.mean(axis=0)
        scores.append(np.exp(np.mean([entropy(row, p_y) for row in part])))
    mean, std = inception_score(probs, splits=splits)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def test_inception_score_bad_input():
    with pytest.raises(ValueError, match="inception_score.*probability"):
        inception_score(np.full((10, 2), 0.3), splits=1)
    with pytest.raises(ValueError, match="inception_score.*splits"):
        inception_score(np.full((5, 2), 0.5), splits=6)
    with pytest.raises(ValueError, match="inception_score: probs.*2-D"):
        inception_score(np.ones((2, 2, 2)) / 2)
