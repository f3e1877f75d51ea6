"""tinydl.ml: classical machine learning with scikit-learn's estimator conventions.

Data processing: `PCA`, `CCA`, `MDS` (classical). Classifiers: `LogisticRegression`,
`LinearSVC` (dual coordinate descent), `KernelSVC` (SMO), and the multiclass wrappers
`OneVsRestClassifier`, `OneVsOneClassifier`. Metrics: `roc_curve`, `roc_auc_score`.
Every `fit` returns self; fitted attributes end in an underscore.
"""
from tinydl.ml.base import BaseEstimator, ConvergenceWarning, NotFittedError, clone
from tinydl.ml.decomposition import CCA, MDS, PCA
from tinydl.ml.linear import LinearSVC, LogisticRegression
from tinydl.ml.metrics import roc_auc_score, roc_curve
from tinydl.ml.multiclass import OneVsOneClassifier, OneVsRestClassifier
from tinydl.ml.svm import KernelSVC, kernel_matrix

__all__ = [
    "PCA", "CCA", "MDS",
    "LogisticRegression", "LinearSVC", "KernelSVC", "kernel_matrix",
    "OneVsRestClassifier", "OneVsOneClassifier",
    "roc_curve", "roc_auc_score",
    "BaseEstimator", "clone", "NotFittedError", "ConvergenceWarning",
]
