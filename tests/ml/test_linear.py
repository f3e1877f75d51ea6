"""LogisticRegression and LinearSVC against their objectives, minimised independently
with scipy.optimize."""
import warnings

import numpy as np
import pytest
from scipy import optimize, special

from tinydl.ml import ConvergenceWarning, LinearSVC, LogisticRegression, NotFittedError


def blobs(n=120, d=3, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)) + shift * (2 * y[:, None] - 1) * np.linspace(1, 0.2, d)
    return X, y


def three_classes(n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0, 2.0], [2, -1], [-2, -1]])
    return rng.normal(size=(n, 2)) + centres[y], y


# ---- logistic regression -------------------------------------------------------------

def binary_objective(theta, X, s, C):
    """C sum log(1 + exp(-s (Xw + b))) + w.w/2 and its gradient, theta = [w, b]."""
    w, b = theta[:-1], theta[-1]
    m = s * (X @ w + b)
    value = C * np.sum(np.logaddexp(0.0, -m)) + 0.5 * w @ w
    r = -C * s * special.expit(-m)
    return value, np.r_[X.T @ r + w, r.sum()]


def multinomial_objective(theta, X, t, C, k):
    d = X.shape[1]
    W, b = theta[:k * d].reshape(k, d), theta[k * d:]
    Z = X @ W.T + b
    value = C * np.sum(special.logsumexp(Z, axis=1) - Z[np.arange(len(t)), t]) \
        + 0.5 * np.sum(W ** 2)
    R = C * (special.softmax(Z, axis=1) - np.eye(k)[t])
    return value, np.r_[(R.T @ X + W).ravel(), R.sum(axis=0)]


@pytest.mark.parametrize("solver", ["trust-ncg", "lbfgs"])
@pytest.mark.parametrize("C", [0.1, 10.0])
def test_logistic_binary_gradient_vanishes_and_matches_scipy(solver, C):
    X, y = blobs()
    model = LogisticRegression(C=C, solver=solver).fit(X, y)
    theta = np.r_[model.coef_[0], model.intercept_]
    s = 2.0 * y - 1
    _, gradient = binary_objective(theta, X, s, C)
    assert np.linalg.norm(gradient) < 1e-6
    reference = optimize.minimize(binary_objective, np.zeros(4), args=(X, s, C), jac=True,
                                  method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(theta, reference.x, rtol=1e-6, atol=1e-7)
    assert model.objective_ == pytest.approx(reference.fun, rel=1e-10)


def test_logistic_without_intercept_minimises_the_plain_objective():
    X, y = blobs(shift=0.7)
    X = X + 1.0
    model = LogisticRegression(C=2.0, fit_intercept=False).fit(X, y)
    s = 2.0 * y - 1

    def objective(w):
        value, gradient = binary_objective(np.r_[w, 0.0], X, s, 2.0)
        return value, gradient[:-1]

    reference = optimize.minimize(objective, np.zeros(3), jac=True, method="BFGS",
                                  options={"gtol": 1e-10})
    np.testing.assert_allclose(model.coef_[0], reference.x, rtol=1e-6)
    assert model.intercept_.tolist() == [0.0]


def test_logistic_multinomial_matches_scipy():
    X, y = three_classes()
    model = LogisticRegression(C=3.0).fit(X, y)
    theta = np.r_[model.coef_.ravel(), model.intercept_]
    _, gradient = multinomial_objective(theta, X, y, 3.0, 3)
    assert np.linalg.norm(gradient) < 1e-6
    reference = optimize.minimize(multinomial_objective, np.zeros(9), args=(X, y, 3.0, 3),
                                  jac=True, method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(model.coef_.ravel(), reference.x[:6], rtol=1e-6, atol=1e-7)
    # Intercepts are defined up to a common shift: compare probabilities.
    Z = X @ reference.x[:6].reshape(3, 2).T + reference.x[6:]
    np.testing.assert_allclose(model.predict_proba(X), special.softmax(Z, axis=1),
                               atol=1e-7)
    assert abs(model.intercept_.sum()) < 1e-10


def test_logistic_probabilities_and_labels():
    X, y = blobs()
    labels = np.array(["cat", "dog"])[y]
    model = LogisticRegression().fit(X, labels)
    assert model.classes_.tolist() == ["cat", "dog"]
    p = model.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], special.expit(model.decision_function(X)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(p), atol=1e-12)
    assert np.all(model.predict(X) == np.where(p[:, 1] > 0.5, "dog", "cat"))
    assert model.score(X, labels) > 0.8
    # Stable even with huge margins: no overflow, no NaN.
    huge = model.predict_log_proba(X * 1e4)
    assert np.all(np.isfinite(huge))


@pytest.mark.parametrize("solver", ["trust-ncg", "lbfgs"])
@pytest.mark.parametrize("C", [1e-8, 1e-10, 1e-14])
def test_logistic_fits_the_intercept_at_tiny_C(solver, C):
    """With C * n far below 1 the weights vanish and the intercepts are the log-odds of the
    class frequencies (scikit-learn's answer): the gradient test scales with C * n, where
    an absolute 1e-8 stopped at the zero start (80% positives predicted as negatives)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (np.arange(100) < 80).astype(int)
    model = LogisticRegression(C=C, solver=solver).fit(X, y)
    assert model.intercept_[0] == pytest.approx(np.log(80 / 20), rel=1e-6)
    assert (model.predict(X) == 1).all()
    y3 = np.repeat([0, 1, 2], [70, 20, 10])
    proba = LogisticRegression(C=C, solver=solver).fit(X, y3).predict_proba(X)
    np.testing.assert_allclose(proba, np.tile([0.7, 0.2, 0.1], (100, 1)), atol=1e-6)


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("solver, C", [("trust-ncg", 1e120), ("trust-ncg", 1e300),
                                       ("lbfgs", 1e300)])
def test_logistic_refuses_a_C_that_overflows(solver, classes, C):
    """Separable data at a huge C: the objective (C times a sum) or trust-ncg's squared
    steps overflow float64, or its inner loop meets a nearly singular Hessian. Before,
    that loop never ended (3 classes, 1e120), L-BFGS-B returned the zero start with a
    warning (1e300), SciPy raised a bare inf/NaN error. (L-BFGS-B at 1e120 runs to max_iter
    and warns, as on any separable data with a large C.)"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = (X[:, 0] > 0).astype(int) if classes == 2 else np.digitize(X[:, 1], [-0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings
        with pytest.raises(ValueError, match=r"LogisticRegression.fit: .*C = 1e\+"):
            LogisticRegression(C=C, solver=solver).fit(X, y)


def test_logistic_warns_when_max_iter_too_small():
    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LogisticRegression(max_iter=1, tol=1e-10).fit(X, y)


# ---- linear SVM ----------------------------------------------------------------------

def hinge_dual_optimum(X, s, C, loss):
    """min over the box of a^T (Q + D) a / 2 - sum a, solved by L-BFGS-B; returns the
    optimal value of the (maximised) dual, a lower bound on the primal optimum."""
    Z = X * s[:, None]
    diag = 0.0 if loss == "hinge" else 0.5 / C
    upper = C if loss == "hinge" else None

    def negative_dual(a):
        v = Z.T @ a
        return 0.5 * v @ v + 0.5 * diag * a @ a - a.sum(), Z @ v + diag * a - 1.0

    result = optimize.minimize(negative_dual, np.zeros(len(s)), jac=True, method="L-BFGS-B",
                               bounds=[(0, upper)] * len(s),
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    return -result.fun


def svm_primal(w, X, s, C, loss):
    margins = np.maximum(0.0, 1.0 - s * (X @ w))
    return 0.5 * w @ w + C * np.sum(margins if loss == "hinge" else margins ** 2)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_linear_svc_primal_within_1e4_of_optimum_without_intercept(loss):
    X, y = blobs(n=80, shift=0.6)
    s = 2.0 * y - 1
    model = LinearSVC(C=1.0, loss=loss, fit_intercept=False, tol=1e-5).fit(X, y)
    primal = svm_primal(model.coef_[0], X, s, 1.0, loss)
    optimum_lower_bound = hinge_dual_optimum(X, s, 1.0, loss)
    assert primal >= optimum_lower_bound - 1e-9
    assert (primal - optimum_lower_bound) / optimum_lower_bound < 1e-4
    assert model.primal_objective_[0] == pytest.approx(primal, rel=1e-12)
    assert 0 <= model.dual_gap_[0] < 1e-4 * primal


def test_linear_svc_squared_hinge_matches_direct_primal_minimisation():
    X, y = blobs(n=80, shift=0.6)
    s = 2.0 * y - 1
    model = LinearSVC(C=0.5, loss="squared_hinge", fit_intercept=False, tol=1e-6).fit(X, y)

    def primal(w):
        m = np.maximum(0.0, 1.0 - s * (X @ w))
        return 0.5 * w @ w + 0.5 * m @ m, w - 2 * 0.5 * X.T @ (s * m)

    reference = optimize.minimize(primal, np.zeros(3), jac=True, method="BFGS",
                                  options={"gtol": 1e-10})
    np.testing.assert_allclose(model.coef_[0], reference.x, rtol=1e-4, atol=1e-5)


def test_linear_svc_intercept_is_liblinear_augmented_feature():
    X, y = blobs(n=80, shift=0.6)
    X = X + 2.0
    s = 2.0 * y - 1
    # The bias column is strongly correlated with the shifted features, which makes
    # coordinate descent slow (about 1200 passes here), hence the larger max_iter.
    model = LinearSVC(C=1.0, intercept_scaling=2.0, tol=1e-5, max_iter=5000).fit(X, y)
    augmented = np.c_[X, np.full(len(X), 2.0)]
    w = np.r_[model.coef_[0], model.intercept_[0] / 2.0]
    primal = svm_primal(w, augmented, s, 1.0, "hinge")
    optimum_lower_bound = hinge_dual_optimum(augmented, s, 1.0, "hinge")
    assert (primal - optimum_lower_bound) / optimum_lower_bound < 1e-4
    np.testing.assert_allclose(model.decision_function(X), augmented @ w, atol=1e-12)


def test_linear_svc_dual_gap_is_primal_minus_dual():
    X, y = blobs(n=60)
    s = 2.0 * y - 1
    model = LinearSVC(C=0.3, fit_intercept=False).fit(X, y)
    alpha = model.dual_coef_[0] * s
    assert np.all((alpha >= 0) & (alpha <= 0.3 + 1e-12))
    w = X.T @ model.dual_coef_[0]
    np.testing.assert_allclose(model.coef_[0], w, atol=1e-12)
    dual = alpha.sum() - 0.5 * w @ w
    assert model.dual_gap_[0] == pytest.approx(svm_primal(w, X, s, 0.3, "hinge") - dual,
                                               abs=1e-12)


def test_linear_svc_is_reproducible_and_seeded_locally():
    X, y = blobs(n=60)
    state = np.random.get_state()
    a = LinearSVC(random_state=3, tol=1e-2).fit(X, y).coef_
    b = LinearSVC(random_state=3, tol=1e-2).fit(X, y).coef_
    np.testing.assert_array_equal(a, b)
    assert np.all(np.random.get_state()[1] == state[1])


def test_linear_svc_multiclass_one_vs_rest():
    X, y = three_classes(n=90)
    model = LinearSVC(C=1.0).fit(X, y + 10)
    assert model.coef_.shape == (3, 2) and model.decision_function(X).shape == (90, 3)
    assert model.classes_.tolist() == [10, 11, 12]
    for k in range(3):
        single = LinearSVC(C=1.0).fit(X, (y == k).astype(int))
        np.testing.assert_allclose(model.coef_[k], single.coef_[0], atol=1e-2)
    assert model.score(X, y + 10) > 0.85


def test_linear_svc_all_zero_row_goes_to_the_upper_bound():
    X, y = blobs(n=40)
    X[0] = 0.0
    model = LinearSVC(C=0.5, fit_intercept=False, tol=1e-6).fit(X, y)
    assert abs(model.dual_coef_[0, 0]) == 0.5
    assert model.n_iter_ < model.max_iter


def test_linear_svc_warns_when_max_iter_too_small():
    X, y = blobs(n=60, shift=0.3)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LinearSVC(max_iter=1, tol=1e-8).fit(X, y)


# ---- bad input, both models ----------------------------------------------------------

@pytest.mark.parametrize("cls", [LogisticRegression, LinearSVC])
def test_bad_input_raises_clear_errors(cls):
    X, y = blobs(n=20)
    name = cls.__name__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bad = X.copy()
        bad[2, 1] = np.nan
        with pytest.raises(ValueError, match=f"{name}.fit: X contains NaN"):
            cls().fit(bad, y)
        with pytest.raises(ValueError, match="20 samples but y has 19"):
            cls().fit(X, y[:-1])
        with pytest.raises(ValueError, match="single class"):
            cls().fit(X, np.zeros(20))
        with pytest.raises(ValueError, match="2-D"):
            cls().fit(X[:, 0], y)
        with pytest.raises(TypeError, match="numeric"):
            cls().fit(X.astype(str), y)
        with pytest.raises(ValueError, match="y contains NaN"):
            cls().fit(X, np.where(y == 1, np.nan, 0.0))
        with pytest.raises(ValueError, match="C must be"):
            cls(C=-1.0).fit(X, y)
        with pytest.raises(NotFittedError):
            cls().predict(X)
        with pytest.raises(ValueError, match="features"):
            cls().fit(X, y).predict(X[:, :2])


@pytest.mark.parametrize("cls", [LogisticRegression, LinearSVC])
def test_fit_intercept_must_be_a_bool(cls):
    """fit_intercept='False' (a true string) silently fitted an intercept."""
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    with pytest.raises(TypeError, match="fit_intercept must be a bool, got 'False'"):
        cls(fit_intercept="False").fit(X, y)
    assert cls(fit_intercept=np.bool_(False)).fit(X, y).intercept_.tolist() == [0.0]
