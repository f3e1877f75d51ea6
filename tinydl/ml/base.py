"""Estimator plumbing shared by every model in `tinydl.ml`: parameters, cloning, input checks.

The conventions are scikit-learn's: constructor arguments are stored unchanged as
attributes, `fit` returns `self`, everything learned from data ends in an underscore
(`coef_`, `classes_`), and `get_params()` lists the constructor arguments so that a
meta-estimator (`OneVsRestClassifier`) can build fresh copies with `clone`.

Numerics: every model computes in float64 (the solvers' tolerances, e.g. a gradient
below 1e-6, are out of reach in float32); transforms give a float32 input back as float32.
"""
import copy
import inspect
import numbers

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """Raised when `predict`/`transform` is called before `fit` (as scikit-learn's)."""


class ConvergenceWarning(UserWarning):
    """Issued when a solver stops at `max_iter` before meeting its tolerance."""


class BaseEstimator:
    """Base class: `get_params` / `set_params` read the constructor's signature, and
    `__repr__` shows the arguments that differ from their defaults."""

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(name for name, p in signature.parameters.items()
                      if name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    def get_params(self, deep=False):
        """Constructor arguments as a dict `{name: value}` (deep=True also lists the
        parameters of nested estimators as `estimator__name`)."""
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params"):
                    for sub, sub_value in value.get_params(deep=True).items():
                        params[f"{name}__{sub}"] = sub_value
        return params

    def set_params(self, **params):
        """Set constructor arguments (`estimator__C=10` reaches a nested estimator);
        returns self."""
        valid = self._param_names()
        nested = {}
        # Own parameters first, then the nested ones grouped by estimator, as scikit-learn:
        # in the order given, estimator__C=3 before estimator=LinearSVC() went to the
        # estimator that was then replaced, silently.
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"{type(self).__name__}.set_params: unknown parameter "
                                 f"{name!r}; valid parameters are {valid}")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, subs in nested.items():
            inner = getattr(self, name)
            if not hasattr(inner, "set_params"):
                raise ValueError(f"{type(self).__name__}.set_params: {name!r} is not an "
                                 f"estimator ({inner!r}), so {name}__{next(iter(subs))} "
                                 "names nothing")
            inner.set_params(**subs)
        return self

    def __repr__(self):
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not _same(v, defaults.get(k, inspect.Parameter.empty))]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a, b):
    try:
        return bool(a == b) if type(a) is type(b) else False
    except (TypeError, ValueError):
        return a is b


class ClassifierMixin:
    """Adds `score(X, y)`: the accuracy `mean(predict(X) == y)`."""

    def score(self, X, y):
        """Accuracy of `predict(X)` against `y`, a float in [0, 1]."""
        y = np.asarray(y)
        prediction = self.predict(X)
        if y.ndim == 2 and y.shape[1] == 1:  # a column, as fit takes it (check_X_y)
            y = y.ravel()
        if y.shape != prediction.shape:
            raise ValueError(f"{type(self).__name__}.score: y has shape {y.shape} but "
                             f"X has {prediction.shape[0]} samples")
        numeric = [np.issubdtype(a.dtype, np.number) or a.dtype == bool for a in (y, prediction)]
        if numeric[0] != numeric[1] and object not in (y.dtype, prediction.dtype):
            # '1' == 1 is False everywhere: the accuracy came out 0.0, silently
            raise ValueError(f"{type(self).__name__}.score: y's labels ({y.dtype}) are not of "
                             f"the type the classifier was fitted with ({prediction.dtype})")
        return float(np.mean(prediction == y))


def clone(estimator):
    """A new, unfitted estimator with the same constructor arguments (nested estimators
    are cloned too, other arguments deep-copied), as `sklearn.base.clone`."""
    if not hasattr(estimator, "get_params"):
        raise TypeError(f"clone: {estimator!r} has no get_params(); wrap an estimator "
                        "such as LogisticRegression or LinearSVC")
    params = {name: clone(value) if hasattr(value, "get_params") else copy.deepcopy(value)
              for name, value in estimator.get_params(deep=False).items()}
    return type(estimator)(**params)


def check_is_fitted(estimator, attribute):
    """Raise NotFittedError unless `estimator` has the fitted `attribute`."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call "
                             "fit(...) first")


def check_array(X, where, name="X"):
    """`X` as a finite float64 array of shape (n_samples, n_features), n_samples >= 1.

    Raises TypeError for non-numeric data and ValueError (naming `where`) for a wrong
    number of dimensions, no samples, or NaN/inf entries.
    """
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number)
                                 or X.dtype == np.bool_):
        raise TypeError(f"{where}: {name} must be numeric, got dtype {X.dtype}")
    if np.iscomplexobj(X):
        raise TypeError(f"{where}: {name} must be real, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = " (use X.reshape(-1, 1) for a single feature)" if X.ndim == 1 else ""
        raise ValueError(f"{where}: {name} must be 2-D (n_samples, n_features), got "
                         f"shape {X.shape}{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{where}: {name} has shape {X.shape}; need at least one "
                         "sample and one feature")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{where}: {name} contains NaN or infinity")
    return X


def check_X_y(X, y, where):
    """Validated `(X, y)`: X as `check_array`, y a 1-D array (a (n, 1) column is raveled)
    with one label per row of X and no NaN."""
    X = check_array(X, where)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{where}: y must be 1-D (n_samples,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: X has {X.shape[0]} samples but y has {y.shape[0]}")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise ValueError(f"{where}: y contains NaN or infinity")
    return X, y


def unique_labels(y, where):
    """``np.unique(y)``, or a ValueError naming ``where`` for labels of mixed types (strings
    beside numbers: NumPy's sort raised a bare TypeError), as scikit-learn's message."""
    try:
        return np.unique(y)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in np.asarray(y, dtype=object).ravel()})
        raise ValueError(f"{where}: mix of label input types ({', '.join(kinds)}); give labels "
                         "of one type") from None


def check_classes(y, where):
    """`np.unique(y)`, raising ValueError unless there are at least two classes and the
    labels are classes at all: floats with a fractional part (regression targets, which
    would each become a class, silently) are refused, as scikit-learn refuses 'continuous'
    targets."""
    if np.issubdtype(y.dtype, np.floating) and np.any(y != np.round(y)):
        raise ValueError(f"{where}: y holds non-integer floats ({y[y != np.round(y)][:3]}...), "
                         "a regression target; a classifier needs class labels (ints, "
                         "strings, or whole-number floats)")
    classes = unique_labels(y, where)
    if classes.size < 2:
        raise ValueError(f"{where}: y has a single class {classes.tolist()}; a classifier "
                         "needs at least two classes")
    return classes


def check_n_features(estimator, X, where):
    """Raise ValueError when X's feature count differs from the one seen in `fit`."""
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"{where}: X has {X.shape[1]} features, but "
                         f"{type(estimator).__name__} was fitted with "
                         f"{estimator.n_features_in_}")


def check_positive(value, where, name, allow_zero=False):
    """A finite real number > 0 (>= 0 with allow_zero), else ValueError."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and np.isfinite(value) and (value >= 0 if allow_zero else value > 0))
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_max_iter(value, where):
    """A positive integer iteration cap, else ValueError."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: max_iter must be a positive integer, got {value!r}")
    return int(value)


def output_dtype(X):
    """float32 for a float32 input, float64 otherwise (how transforms return data)."""
    return np.float32 if np.asarray(X).dtype == np.float32 else np.float64


def flip_signs(vectors, axis):
    """Flip each vector along `axis` so that its largest-magnitude entry is positive
    (ties: the first such entry), making SVD/eigen results deterministic. This is the
    rule of scikit-learn's `svd_flip(u_based_decision=False)`."""
    vectors = np.asarray(vectors)
    biggest = np.take_along_axis(vectors, np.expand_dims(
        np.argmax(np.abs(vectors), axis=axis), axis), axis)
    signs = np.where(biggest < 0, -1.0, 1.0)
    return vectors * signs, np.squeeze(signs, axis)
