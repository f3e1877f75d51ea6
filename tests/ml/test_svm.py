"""KernelSVC (SMO) against the dual QP solved by SciPy, its KKT conditions, and rings."""
import numpy as np
import pytest
from scipy import optimize

from tinydl.ml import KernelSVC, NotFittedError, kernel_matrix


def two_rings(n_per_ring=150, seed=0):
    rng = np.random.default_rng(seed)
    radius = np.r_[np.full(n_per_ring, 1.0), np.full(n_per_ring, 2.5)]
    angle = rng.uniform(0, 2 * np.pi, radius.size)
    radius = radius + 0.15 * rng.normal(size=radius.size)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    return X, np.r_[np.zeros(n_per_ring), np.ones(n_per_ring)].astype(int)


def overlapping(n=30, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.normal(size=(n, 2)) + 0.8 * (2 * y[:, None] - 1), y


def dual_qp(K, s, C):
    """min a^T Q a / 2 - sum a, 0 <= a <= C, s.a = 0, by SLSQP; returns (a, value)."""
    Q = K * np.outer(s, s)
    result = optimize.minimize(lambda a: (0.5 * a @ Q @ a - a.sum(), Q @ a - 1.0),
                               np.zeros(len(s)), jac=True, method="SLSQP",
                               bounds=[(0, C)] * len(s),
                               constraints=[{"type": "eq", "fun": lambda a: s @ a,
                                             "jac": lambda a: s}],
                               options={"ftol": 1e-14, "maxiter": 1000})
    return result.x, result.fun


def test_kernel_matrix_closed_forms():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    brute = np.array([[np.exp(-0.7 * np.sum((a - b) ** 2)) for b in B] for a in A])
    np.testing.assert_allclose(kernel_matrix(A, B, "rbf", 0.7), brute, rtol=1e-12)
    np.testing.assert_allclose(kernel_matrix(A, B, "poly", 0.5, 3, 1.0),
                               (0.5 * A @ B.T + 1.0) ** 3, rtol=1e-12)
    np.testing.assert_allclose(kernel_matrix(A, B, "linear"), A @ B.T)


@pytest.mark.parametrize("kernel,gamma", [("rbf", 0.5), ("poly", 0.3), ("linear", 1.0)])
def test_dual_objective_matches_scipy_qp(kernel, gamma):
    X, y = overlapping()
    s = 2.0 * y - 1
    model = KernelSVC(C=1.0, kernel=kernel, gamma=gamma, degree=2, coef0=1.0,
                      tol=1e-6).fit(X, y)
    K = kernel_matrix(X, X, kernel, gamma, 2, 1.0)
    _, reference = dual_qp(K, s, 1.0)
    assert model.dual_objective_ == pytest.approx(reference, rel=1e-6)
    alpha = np.zeros(len(y))
    alpha[model.support_] = model.dual_coef_[0] * s[model.support_]
    support = alpha[model.support_]
    assert np.all((support > 0) & (support <= 1.0))
    assert abs(s @ alpha) < 1e-10


def test_linear_kernel_solves_primal_with_unpenalised_bias():
    X, y = overlapping(n=60, seed=2)
    s = 2.0 * y - 1
    model = KernelSVC(C=0.7, kernel="linear", tol=1e-8).fit(X, y)
    w = model.dual_coef_[0] @ model.support_vectors_
    b = model.intercept_[0]
    np.testing.assert_allclose(model.decision_function(X), X @ w + b, atol=1e-10)
    primal = 0.5 * w @ w + 0.7 * np.sum(np.maximum(0.0, 1.0 - s * (X @ w + b)))
    # Strong duality: primal optimum = -(minimised dual); the bias must be optimal too.
    assert primal == pytest.approx(-model.dual_objective_, rel=1e-6)


def test_kkt_conditions_hold():
    X, y = overlapping(n=50, seed=3)
    s = 2.0 * y - 1
    C = 2.0
    model = KernelSVC(C=C, gamma=1.0, tol=1e-6).fit(X, y)
    alpha = np.zeros(len(y))
    alpha[model.support_] = model.dual_coef_[0] * s[model.support_]
    margin = s * model.decision_function(X)
    free = (alpha > 1e-8) & (alpha < C - 1e-8)
    assert free.any()
    np.testing.assert_allclose(margin[free], 1.0, atol=1e-4)
    assert np.all(margin[alpha == 0] >= 1 - 1e-4)
    assert np.all(margin[alpha >= C - 1e-8] <= 1 + 1e-4)
    assert model.n_support_.sum() == model.support_.size


def test_rbf_separates_two_rings():
    X, y = two_rings()
    model = KernelSVC(C=10.0, kernel="rbf", gamma="scale").fit(X, y)
    assert model.score(X, y) > 0.98
    # A linear boundary cannot do much better than chance on rings.
    assert KernelSVC(kernel="linear").fit(X, y).score(X, y) < 0.75


def test_gamma_scale_and_auto():
    X, y = overlapping()
    assert KernelSVC(gamma="scale").fit(X, y).gamma_ == pytest.approx(1 / (2 * X.var()))
    assert KernelSVC(gamma="auto").fit(X, y).gamma_ == 0.5


def test_labels_and_predict():
    X, y = two_rings(40)
    labels = np.array(["inner", "outer"])[y]
    model = KernelSVC(C=10.0).fit(X, labels)
    scores = model.decision_function(X)
    assert np.all(model.predict(X) == np.where(scores > 0, "outer", "inner"))


def test_bad_input_raises_clear_errors():
    X, y = overlapping(n=20)
    with pytest.raises(ValueError, match="KernelSVC.fit: X contains NaN"):
        KernelSVC().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="20 samples but y has 19"):
        KernelSVC().fit(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        KernelSVC().fit(X, np.ones(20))
    with pytest.raises(ValueError, match="OneVsOneClassifier"):
        KernelSVC().fit(X, np.arange(20) % 3)
    with pytest.raises(ValueError, match="kernel"):
        KernelSVC(kernel="sigmoid").fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        KernelSVC(gamma="big").fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        KernelSVC(gamma=-1.0).fit(X, y)
    with pytest.raises(NotFittedError):
        KernelSVC().decision_function(X)


# ---- the linear SVM's dual coordinate descent: Numba kernel against its Python twin ----

def _linear_problem(n=240, d=9, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.7 * rng.normal(size=n) > 0, 1.0, -1.0)
    return np.hstack([X, np.ones((n, 1))]), y


def test_shuffle_kernel_draws_the_twins_orders():
    from tinydl.kernels.svm import shuffle_kernel, shuffle_python

    a, b = np.arange(50, dtype=np.int64), np.arange(50, dtype=np.int64)
    state_a, state_b = 12345, np.uint64(12345)
    for count in (50, 50, 17, 2, 1):
        state_a = shuffle_python(a, count, state_a)
        state_b = np.uint64(shuffle_kernel(b, count, state_b))
        np.testing.assert_array_equal(a, b)
        assert int(state_b) == state_a
    assert sorted(a.tolist()) == list(range(50)) and a.tolist() != list(range(50))


@pytest.mark.parametrize("loss,C,tol,max_iter", [("hinge", 1.0, 1e-6, 2000),
                                                 ("squared_hinge", 0.3, 1e-6, 2000),
                                                 ("hinge", 10.0, 1e-3, 7)])
def test_dual_cd_kernel_matches_its_python_twin(loss, C, tol, max_iter):
    """Same passes, same solution to 1e-8: converged (shrinking on and reset) and stopped
    early by max_iter (which warns in both)."""
    import warnings

    from tinydl.ml import ConvergenceWarning
    from tinydl.ml.svm import dual_coordinate_descent

    X, y = _linear_problem()
    runs = []
    for use_numba in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs.append(dual_coordinate_descent(X, y, C, loss, tol, max_iter,
                                                np.random.default_rng(7), "test", use_numba))
        runs[-1]["warned"] = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    fast, twin = runs
    assert fast["passes"] == twin["passes"] and fast["warned"] == twin["warned"]
    assert fast["warned"] == (max_iter == 7)
    np.testing.assert_allclose(fast["alpha"], twin["alpha"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(fast["w"], twin["w"], rtol=0, atol=1e-8)
    if max_iter > 7:  # converged: the duality gap is small and both objectives agree
        assert 0 <= fast["primal"] - fast["dual"] < 1e-3 * abs(fast["primal"])
        assert abs(fast["primal"] - twin["primal"]) < 1e-8 * abs(twin["primal"])


@pytest.mark.parametrize("n,d", [(2, 1), (3, 2), (60, 16), (80, 23)])
def test_dual_cd_kernel_matches_its_twin_on_edge_sizes(n, d):
    """The kernel's SIMD dot (``_dot``: lanes plus a remainder) and its prefetch of the row
    two steps ahead (none in a pass's last two steps, and rows shorter than one cache line)
    change no step: same passes and alpha, w to 1e-8, for rows of 1 to 23 features and
    passes of 2 to 80 coordinates."""
    from tinydl.kernels import svm as kernels

    rng = np.random.default_rng(n * 100 + d)
    rows = rng.normal(size=(n, d)) * np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]
    results = []
    for kernel in (True, False):
        alpha, w = np.zeros(n), np.zeros(d)
        q_diag = np.einsum("ij,ij->i", rows, rows)
        args = (rows, q_diag, alpha, w, 0.0, 0.5, 1e-6, 300)
        if kernel:
            out = kernels.dual_cd_kernel(*args, np.uint64(99), np.empty(n, dtype=np.int64))
        else:
            out = kernels.dual_cd_python(*args, 99)
        results.append((out[0], out[1], alpha, w))
    (passes, converged, alpha, w), (passes_twin, converged_twin, alpha_twin, w_twin) = results
    assert (passes, converged) == (passes_twin, converged_twin)
    assert passes > 1  # the problems take several passes, so shrinking and resets run
    np.testing.assert_allclose(alpha, alpha_twin, rtol=0, atol=1e-8)
    np.testing.assert_allclose(w, w_twin, rtol=0, atol=1e-8)
    assert np.any(alpha > 0)


def test_predict_and_score_before_fit_raise_not_fitted():
    """predict read classes_ first: AttributeError instead of NotFittedError."""
    X, y = np.zeros((2, 2)), np.array([0, 1])
    for call in (lambda m: m.predict(X), lambda m: m.score(X, y)):
        with pytest.raises(NotFittedError):
            call(KernelSVC())


def test_kernel_matrix_of_integer_data_does_not_wrap_around():
    # uint8 pixels: a.b took 200*200 in uint8 (164); the rbf kernel came out all 1.0
    A = np.array([[200, 10], [0, 255]], dtype=np.uint8)
    F = A.astype(np.float64)
    for kernel in ("linear", "poly", "rbf"):
        np.testing.assert_allclose(kernel_matrix(A, A, kernel, 1e-5, 2, 1.0),
                                   kernel_matrix(F, F, kernel, 1e-5, 2, 1.0))
    assert kernel_matrix(A, A, "linear")[0, 0] == 40100.0
    assert kernel_matrix(np.array([[100000, 0]]), np.array([[100000, 0]]), "poly", 1, 2, 0) == 1e20
    assert kernel_matrix(F.astype(np.float32), F.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="kernel_matrix: A .* must be 2-D"):
        kernel_matrix([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="same number of columns"):
        kernel_matrix(np.ones((2, 3)), np.ones((2, 2)))


def test_a_kernel_matrix_that_overflows_is_refused_and_n_iter_counts_every_step():
    X = np.random.default_rng(0).normal(size=(20, 2)) * 1e200
    y = np.array([0, 1] * 10)
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="kernel matrix of X is not finite"):
        KernelSVC(kernel="linear").fit(X, y)  # it ran every SMO step on NaNs
    X = np.random.default_rng(1).normal(size=(40, 2))
    for max_iter in (1, 3):
        with pytest.warns(Warning, match="SMO stopped after"):
            model = KernelSVC(max_iter=max_iter).fit(X, np.array([0, 1] * 20))
        assert model.n_iter_ == max_iter  # was max_iter - 1
