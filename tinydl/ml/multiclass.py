"""Multiclass from binary classifiers: one-vs-rest and one-vs-one.

Any estimator with `fit(X, y)`, `decision_function(X)` (1-D scores, positive meaning
the label 1) and `get_params()` can be wrapped; each binary problem gets a fresh `clone`.
"""
import numpy as np

from tinydl.ml.base import (BaseEstimator, ClassifierMixin, check_classes, check_is_fitted,
                            check_X_y, clone)


def _check_estimator(estimator, where):
    missing = [m for m in ("fit", "decision_function", "get_params")
               if not callable(getattr(estimator, m, None))]
    if missing:
        raise TypeError(f"{where}: the wrapped estimator {estimator!r} lacks "
                        f"{', '.join(m + '()' for m in missing)}; it needs fit(), "
                        "decision_function() and get_params()")


def _binary_scores(estimator, X, where):
    scores = np.asarray(estimator.decision_function(X))
    if scores.ndim != 1:
        raise ValueError(f"{where}: the wrapped estimator's decision_function returned shape "
                         f"{scores.shape} on a binary problem; expected ({X.shape[0]},)")
    return scores


class OneVsRestClassifier(ClassifierMixin, BaseEstimator):
    """One binary classifier per class, class k against all others; the prediction is the
    class whose classifier scores highest.

    With two classes a single classifier is fitted (classes_[1] against classes_[0]) and
    `decision_function` is its 1-D score, as scikit-learn does.
    Fitted: `estimators_` (one per class, or one), `classes_`.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit on X (n, d) and labels y (n,); returns self."""
        where = "OneVsRestClassifier.fit"
        _check_estimator(self.estimator, where)
        X, y = check_X_y(X, y, where)
        self.classes_ = check_classes(y, where)
        targets = self.classes_[1:] if self.classes_.size == 2 else self.classes_
        self.estimators_ = [clone(self.estimator).fit(X, (y == c).astype(int))
                            for c in targets]
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        """Scores (n, n_classes), column k from the class-k classifier; (n,) for two
        classes."""
        check_is_fitted(self, "estimators_")
        where = "OneVsRestClassifier.decision_function"
        scores = np.stack([_binary_scores(e, X, where) for e in self.estimators_], axis=1)
        return scores[:, 0] if len(self.estimators_) == 1 else scores

    def predict(self, X):
        """classes_[argmax of the scores] (or the sign of the single score), shape (n,)."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]


class OneVsOneClassifier(ClassifierMixin, BaseEstimator):
    """One binary classifier per pair of classes (i < j), trained on those two classes'
    samples only (label 1 for class j); the prediction is the class with most votes.

    Ties in the votes are broken by the summed confidences: each pair adds its score to
    class j and subtracts it from class i, and `decision_function` returns
    votes + s / (3 (|s| + 1)) for the summed confidence s, a term within (-1/3, 1/3)
    that orders tied classes without overturning a vote (scikit-learn's
    `_ovr_decision_function`). With two classes it returns the single classifier's score.
    Fitted: `estimators_` (in the order of `pairs_`), `pairs_`, `classes_`.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit K(K-1)/2 classifiers on X (n, d) and labels y (n,); returns self."""
        where = "OneVsOneClassifier.fit"
        _check_estimator(self.estimator, where)
        X, y = check_X_y(X, y, where)
        self.classes_ = check_classes(y, where)
        k = self.classes_.size
        self.pairs_ = [(i, j) for i in range(k) for j in range(i + 1, k)]
        self.estimators_ = []
        for i, j in self.pairs_:
            rows = (y == self.classes_[i]) | (y == self.classes_[j])
            labels = (y[rows] == self.classes_[j]).astype(int)
            self.estimators_.append(clone(self.estimator).fit(X[rows], labels))
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        """Votes plus tie-breaking confidences, shape (n, n_classes); (n,) for two
        classes."""
        check_is_fitted(self, "estimators_")
        where = "OneVsOneClassifier.decision_function"
        if len(self.estimators_) == 1:
            return _binary_scores(self.estimators_[0], X, where)
        n = np.asarray(X).shape[0]
        votes = np.zeros((n, self.classes_.size))
        confidence = np.zeros_like(votes)
        for (i, j), estimator in zip(self.pairs_, self.estimators_):
            scores = _binary_scores(estimator, X, where)
            votes[:, j] += scores > 0
            votes[:, i] += scores <= 0
            confidence[:, j] += scores
            confidence[:, i] -= scores
        return votes + confidence / (3.0 * (np.abs(confidence) + 1.0))

    def predict(self, X):
        """The class with the most votes (ties: highest summed confidence), shape (n,)."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]
