"""Estimator conventions: get_params / set_params / clone / repr / fit returns self."""
import numpy as np
import pytest

from tinydl.ml import (CCA, MDS, PCA, KernelSVC, LinearSVC, LogisticRegression,
                       OneVsOneClassifier, OneVsRestClassifier, clone)


def test_get_params_lists_constructor_arguments():
    params = LinearSVC(C=3.0, loss="squared_hinge").get_params()
    assert params["C"] == 3.0 and params["loss"] == "squared_hinge"
    assert set(params) == {"C", "loss", "fit_intercept", "intercept_scaling", "tol",
                           "max_iter", "random_state"}


def test_nested_params_and_set_params():
    model = OneVsRestClassifier(LogisticRegression(C=2.0))
    assert model.get_params(deep=True)["estimator__C"] == 2.0
    model.set_params(estimator__C=5.0)
    assert model.estimator.C == 5.0
    with pytest.raises(ValueError, match="unknown parameter 'gamma'"):
        LogisticRegression().set_params(gamma=1.0)


def test_clone_is_unfitted_and_deep():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(int)
    fitted = LogisticRegression(C=0.5).fit(X, y)
    copy = clone(fitted)
    assert copy.C == 0.5 and not hasattr(copy, "coef_")
    nested = OneVsOneClassifier(KernelSVC(gamma=0.3))
    assert clone(nested).estimator is not nested.estimator
    assert clone(nested).estimator.gamma == 0.3
    with pytest.raises(TypeError, match="get_params"):
        clone(object())


def test_repr_shows_changed_arguments():
    assert repr(LogisticRegression()) == "LogisticRegression()"
    assert repr(KernelSVC(C=2.0)) == "KernelSVC(C=2.0)"


def test_fit_returns_self():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(int)
    for model in (LogisticRegression(), LinearSVC(), KernelSVC(),
                  OneVsRestClassifier(LinearSVC()), OneVsOneClassifier(LinearSVC())):
        assert model.fit(X, y) is model
    assert PCA().fit(X).__class__ is PCA
    cca = CCA()
    assert cca.fit(X, Y) is cca
    mds = MDS(dissimilarity="euclidean")
    assert mds.fit(X) is mds


def test_score_takes_a_column_y_as_fit_does():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y[:, None])
    assert model.score(X, y[:, None]) == model.score(X, y)


@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(), lambda: LinearSVC(), lambda: KernelSVC(),
    lambda: OneVsRestClassifier(LogisticRegression()),
])
def test_classifiers_refuse_regression_targets_as_sklearn(make):
    """Each distinct float became a class (an 8-class fit of 8 samples), silently."""
    X = np.random.RandomState(0).randn(8, 3)
    with pytest.raises(ValueError, match="non-integer floats .* a regression target"):
        make().fit(X, np.random.RandomState(1).randn(8))
    make().fit(X, np.array([0.0, 1.0] * 4))  # whole-number floats are labels


def test_score_refuses_labels_of_another_type():
    X = np.random.RandomState(0).randn(8, 3)
    y = np.array([0, 1] * 4)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="score: y's labels .* are not of the type"):
        model.score(X, y.astype(str))  # '1' == 1 is False: it said 0.0

    object_labels = LogisticRegression().fit(X, y.astype(object))
    assert object_labels.score(X, y) == model.score(X, y)  # object dtype: no type check


def test_set_params_sets_own_parameters_before_nested_ones():
    # estimator__C=3 given before estimator=... reached the old estimator, then replaced
    model = OneVsRestClassifier(LinearSVC()).set_params(estimator__C=3.0, estimator=LinearSVC())
    assert model.estimator.C == 3.0
    with pytest.raises(ValueError, match="'C' is not an estimator"):  # a bare AttributeError
        LinearSVC().set_params(C__x=1)


def test_labels_of_mixed_types_are_named():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="LogisticRegression.fit: mix of label input types"):
        LogisticRegression().fit(X, np.array(["a", 1] * 10, dtype=object))
