"""One-vs-rest and one-vs-one: agreement with hand-built binary problems, and voting."""
import numpy as np
import pytest

from tinydl.ml import (BaseEstimator, KernelSVC, LinearSVC, LogisticRegression,
                       NotFittedError, OneVsOneClassifier, OneVsRestClassifier)


def three_blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0, 3.0], [3, -2], [-3, -2]])
    return rng.normal(size=(n, 2)) + centres[y], y


class PairTable(BaseEstimator):
    """Test double: its 'training' rows carry their class id in column 0, and the score
    for every test row is table[(i, j)] for the pair (i, j) it was fitted on."""

    def __init__(self, table):
        self.table = table

    def fit(self, X, y):
        ids = np.unique(X[:, 0]).astype(int)
        self.pair_ = (int(ids[0]), int(ids[1]))
        positive = int(np.unique(X[y == 1, 0])[0])
        assert positive == self.pair_[1], "label 1 must be the larger class of the pair"
        return self

    def decision_function(self, X):
        return np.full(len(X), self.table[self.pair_])


def vote(table, n_test=1):
    X_train = np.repeat(np.arange(3.0), 2)[:, None]
    model = OneVsOneClassifier(PairTable(table)).fit(X_train, np.repeat([0, 1, 2], 2))
    return model, model.decision_function(np.zeros((n_test, 1)))


def test_ovr_columns_are_the_binary_problems():
    X, y = three_blobs()
    model = OneVsRestClassifier(LogisticRegression(C=0.5)).fit(X, y)
    scores = model.decision_function(X)
    for k in range(3):
        single = LogisticRegression(C=0.5).fit(X, y == k)
        np.testing.assert_allclose(scores[:, k], single.decision_function(X), atol=1e-8)
    np.testing.assert_array_equal(model.predict(X), np.argmax(scores, axis=1))
    assert model.score(X, y) > 0.95


def test_ovr_binary_uses_one_estimator():
    X, y = three_blobs()
    keep = y < 2
    model = OneVsRestClassifier(LogisticRegression()).fit(X[keep], y[keep] + 5)
    assert len(model.estimators_) == 1
    single = LogisticRegression().fit(X[keep], y[keep])
    np.testing.assert_allclose(model.decision_function(X), single.decision_function(X),
                               atol=1e-8)


def test_ovo_votes_with_string_labels_and_svms():
    X, y = three_blobs()
    names = np.array(["a", "b", "c"])[y]
    for estimator in (KernelSVC(C=1.0), LinearSVC(C=1.0)):
        model = OneVsOneClassifier(estimator).fit(X, names)
        assert len(model.estimators_) == 3 and model.pairs_ == [(0, 1), (0, 2), (1, 2)]
        assert model.score(X, names) > 0.95
        assert model.estimators_[0] is not estimator


def test_ovo_tie_broken_by_summed_confidence():
    # Cyclic votes 0<1, 2<0, 1<2: one vote each, so the confidences decide.
    model, scores = vote({(0, 1): 0.5, (0, 2): -2.0, (1, 2): 0.1})
    confidence = np.array([-0.5 + 2.0, 0.5 - 0.1, -2.0 + 0.1])
    expected = 1.0 + confidence / (3 * (np.abs(confidence) + 1))
    np.testing.assert_allclose(scores[0], expected)
    assert model.predict(np.zeros((1, 1)))[0] == 0


def test_ovo_confidence_never_overturns_votes():
    # Class 0 wins two votes narrowly; class 2 has a huge confidence but one vote.
    model, scores = vote({(0, 1): -0.1, (0, 2): -0.1, (1, 2): 100.0})
    assert model.predict(np.zeros((1, 1)))[0] == 0
    np.testing.assert_array_equal(np.floor(scores[0] + 1 / 3), [2, 0, 1])


def test_clone_gives_independent_estimators():
    X, y = three_blobs()
    base = LogisticRegression(C=0.3)
    model = OneVsRestClassifier(base).fit(X, y)
    assert not hasattr(base, "coef_")
    assert all(e.C == 0.3 and e is not base for e in model.estimators_)
    assert len({id(e) for e in model.estimators_}) == 3


@pytest.mark.parametrize("wrapper", [OneVsRestClassifier, OneVsOneClassifier])
def test_bad_input(wrapper):
    X, y = three_blobs(n=12)
    with pytest.raises(ValueError, match="12 samples but y has 11"):
        wrapper(LogisticRegression()).fit(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        wrapper(LogisticRegression()).fit(X, np.zeros(12))
    with pytest.raises(ValueError, match="contains NaN"):
        wrapper(LogisticRegression()).fit(np.full_like(X, np.nan), y)
    with pytest.raises(TypeError, match="decision_function"):
        wrapper(object()).fit(X, y)
    with pytest.raises(NotFittedError):
        wrapper(LogisticRegression()).predict(X)
