"""Kernel support vector machine: the dual problem solved by SMO on the kernel matrix.

Dual (Cortes & Vapnik 1995), y_i in {-1, +1}, Q_ij = y_i y_j K(x_i, x_j):
    min_a  a^T Q a / 2 - sum_i a_i   subject to  0 <= a_i <= C,  sum_i y_i a_i = 0.
The equality constraint (from the unpenalised bias) means coordinates move in pairs:
sequential minimal optimisation (Platt 1998) updates two a's at a time, here with the
second-order working-set selection of Fan, Chen & Lin (JMLR 2005), as LIBSVM does.

Also the linear SVM's solver, `dual_coordinate_descent` (Hsieh et al. 2008), whose
sequential sweep runs as a Numba kernel (``tinydl.kernels.svm``) with a Python twin.
"""
import numbers
import warnings

import numpy as np

from tinydl.ml.base import (BaseEstimator, ClassifierMixin, ConvergenceWarning,
                            check_array, check_classes, check_is_fitted, check_n_features,
                            check_positive, check_X_y)

_TAU = 1e-12


def kernel_matrix(A, B, kernel="rbf", gamma=1.0, degree=3, coef0=0.0):
    """Kernel values K (n, m) between rows of A (n, d) and B (m, d):
    'linear' a.b, 'poly' (gamma a.b + coef0)^degree, 'rbf' exp(-gamma ||a - b||^2).

    Computed in float64 (float32 data in float32): integer data (pixels as uint8) took the
    products in their own dtype and wrapped around silently."""
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"kernel_matrix: A (n, d) and B (m, d) must be 2-D with the same "
                         f"number of columns, got shapes {A.shape} and {B.shape}")
    for name, data in (("A", A), ("B", B)):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"kernel_matrix: {name} must be numeric, got dtype {data.dtype}")
    dtype = np.float32 if A.dtype == B.dtype == np.float32 else np.float64
    A, B = A.astype(dtype, copy=False), B.astype(dtype, copy=False)
    if kernel == "linear":
        return A @ B.T
    if kernel == "poly":
        return (gamma * (A @ B.T) + coef0) ** degree
    if kernel == "rbf":
        squared = (np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :]
                   - 2.0 * (A @ B.T))
        # Round-off can make ||a - b||^2 slightly negative for near-identical rows.
        return np.exp(-gamma * np.maximum(squared, 0.0))
    raise ValueError(f"kernel_matrix: kernel must be 'linear', 'poly' or 'rbf', got "
                     f"{kernel!r}")


class KernelSVC(ClassifierMixin, BaseEstimator):
    """Binary C-support vector classifier with a kernel, trained by SMO.

    decision_function(x) = sum_{i in support} a_i y_i K(x_i, x) + intercept_, and the
    prediction is classes_[1] where it is positive. The intercept is -rho of LIBSVM: the
    average of y_i - sum_j a_j y_j K_ij over free support vectors (0 < a_i < C), or the
    middle of the feasible interval when none is free.

    kernel: 'rbf' (default), 'poly' or 'linear' (see `kernel_matrix`).
    gamma: 'scale' = 1 / (n_features * X.var()) (scikit-learn's default), 'auto' =
    1 / n_features, or a positive float. degree, coef0: for 'poly'.
    tol: stop when the maximal KKT violation m(a) - M(a) (Fan et al. 2005) is below tol.
    max_iter: cap on SMO steps; None means max(10^5, 100 n). Hitting it warns.
    The full n x n kernel matrix is formed once (O(n^2) memory), fine up to a few
    thousand samples. Two classes only: wrap the model in OneVsOneClassifier (scikit-learn's
    SVC is one-vs-one inside) or OneVsRestClassifier for more. With gamma='scale' or 'auto'
    each pair then takes gamma from its own two classes, as scikit-learn's
    OneVsOneClassifier(SVC()) does; SVC itself takes it once from all of X, so to match SVC
    pass that number as gamma.

    Fitted: `support_` (indices of a_i > 0), `support_vectors_` (n_SV, d), `dual_coef_`
    (1, n_SV) = a_i y_i, `intercept_` (1,), `n_support_` (per class), `classes_`,
    `n_iter_`, `dual_objective_` (a^T Q a / 2 - sum a at the solution, the minimised form),
    `gamma_` (the numeric gamma used).
    """

    def __init__(self, C=1.0, kernel="rbf", gamma="scale", degree=3, coef0=0.0, tol=1e-3,
                 max_iter=None):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.tol = tol
        self.max_iter = max_iter

    def _numeric_gamma(self, X, where):
        if isinstance(self.gamma, str):
            if self.gamma == "scale":
                variance = X.var()
                return 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0
            if self.gamma == "auto":
                return 1.0 / X.shape[1]
            raise ValueError(f"{where}: gamma must be 'scale', 'auto' or a positive float, "
                             f"got {self.gamma!r}")
        return check_positive(self.gamma, where, "gamma")

    def fit(self, X, y):
        """Fit on X (n, d) and labels y (n,) with exactly two classes; returns self."""
        where = "KernelSVC.fit"
        X, y = check_X_y(X, y, where)
        C = check_positive(self.C, where, "C")
        tol = check_positive(self.tol, where, "tol")
        if self.kernel not in ("rbf", "poly", "linear"):
            raise ValueError(f"{where}: kernel must be 'rbf', 'poly' or 'linear', got "
                             f"{self.kernel!r}")
        if not isinstance(self.degree, numbers.Integral) or self.degree < 0:
            raise ValueError(f"{where}: degree must be a non-negative int, got "
                             f"{self.degree!r}")
        classes = check_classes(y, where)
        if classes.size != 2:
            raise ValueError(f"{where}: KernelSVC is a binary classifier but y has "
                             f"{classes.size} classes; wrap it: "
                             "OneVsOneClassifier(KernelSVC(...))")
        n = X.shape[0]
        max_iter = self.max_iter if self.max_iter is not None else max(100_000, 100 * n)
        if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
            raise ValueError(f"{where}: max_iter must be a positive int or None, got "
                             f"{self.max_iter!r}")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.gamma_ = self._numeric_gamma(X, where)
        signs = np.where(y == classes[1], 1.0, -1.0)
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            K = kernel_matrix(X, X, self.kernel, self.gamma_, self.degree, self.coef0)
        if not np.isfinite(K).all():  # SMO ran every step on NaNs and predicted one class
            raise ValueError(f"{where}: the {self.kernel!r} kernel matrix of X is not finite "
                             "(the features are too large: scale them, e.g. to unit variance)")
        alpha, gradient, self.n_iter_ = _smo(K, signs, C, tol, int(max_iter), where)
        self.intercept_ = np.array([_intercept(alpha, gradient, signs, C)])
        self.dual_objective_ = 0.5 * alpha @ (gradient + 1.0) - alpha.sum()
        self.support_ = np.flatnonzero(alpha > 0)
        self.support_vectors_ = X[self.support_]
        self.dual_coef_ = (alpha * signs)[self.support_][None, :]
        self.n_support_ = np.array([np.sum(signs[self.support_] < 0),
                                    np.sum(signs[self.support_] > 0)])
        return self

    def decision_function(self, X):
        """Scores sum_i dual_coef_i K(sv_i, x) + intercept_, shape (n,); > 0 means
        classes_[1]."""
        check_is_fitted(self, "support_")
        X = check_array(X, "KernelSVC.decision_function")
        check_n_features(self, X, "KernelSVC.decision_function")
        K = kernel_matrix(X, self.support_vectors_, self.kernel, self.gamma_, self.degree,
                          self.coef0)
        return K @ self.dual_coef_[0] + self.intercept_[0]

    def predict(self, X):
        """Class labels, shape (n,)."""
        scores = self.decision_function(X)  # first: it says when the model is not fitted
        return self.classes_[(scores > 0).astype(int)]


def _smo(K, y, C, tol, max_iter, where):
    """SMO with WSS2 (Fan, Chen & Lin 2005). Returns (alpha, gradient of the dual, steps).

    Works with the gradient G = Q a - 1 and the quantity -y_t G_t, which the optimal
    bias separates: max over I_up <= min over I_low at a KKT point, where
    I_up = {a_t < C, y_t = 1} u {a_t > 0, y_t = -1} and I_low the mirror image.
    """
    n = y.size
    Q = K * np.outer(y, y)
    q_diag = np.diag(K).copy()
    alpha = np.zeros(n)
    gradient = -np.ones(n)
    positive = y > 0
    steps = 0
    for steps in range(max_iter):
        below, above = alpha < C, alpha > 0
        up = np.where(positive, below, above)
        low = np.where(positive, above, below)
        violation = -y * gradient
        i = int(np.argmax(np.where(up, violation, -np.inf)))
        m_up = violation[i]
        m_low = np.min(np.where(low, violation, np.inf))
        if m_up - m_low < tol:
            break
        # Second-order choice of j: the largest guaranteed decrease b^2 / a among
        # I_low members that violate with i.
        b = m_up - violation
        curvature = q_diag[i] + q_diag - 2.0 * K[i]
        curvature = np.where(curvature > 0, curvature, _TAU)
        gain = np.where(low & (b > 0), b * b / curvature, -np.inf)
        j = int(np.argmax(gain))
        old_i, old_j = alpha[i], alpha[j]
        _update_pair(alpha, gradient, y, i, j, curvature[j], C)
        gradient += Q[i] * (alpha[i] - old_i) + Q[j] * (alpha[j] - old_j)
    else:
        warnings.warn(f"{where}: SMO stopped after {max_iter} steps before the KKT "
                      f"violation fell below tol = {tol:g}; increase max_iter or tol",
                      ConvergenceWarning, stacklevel=3)
        steps = max_iter  # every step was taken (the loop variable ends at max_iter - 1)
    return alpha, gradient, steps


def _update_pair(alpha, gradient, y, i, j, curvature, C):
    """Minimise the dual over (a_i, a_j) keeping y_i a_i + y_j a_j fixed, then clip the
    pair back into the box [0, C]^2 along that line."""
    # Along the constraint line, a_i moves by y_i * t and a_j by -y_j * t.
    t = (-y[i] * gradient[i] + y[j] * gradient[j]) / curvature
    conserved = y[i] * alpha[i] + y[j] * alpha[j]
    new_i = alpha[i] + y[i] * t
    # Bounds on a_i implied by 0 <= a_j <= C with a_j = y_j (conserved - y_i a_i).
    if y[i] == y[j]:
        low, high = max(0.0, y[i] * conserved - C), min(C, y[i] * conserved)
    else:
        low, high = max(0.0, y[i] * conserved), min(C, C + y[i] * conserved)
    new_i = min(max(new_i, low), high)
    alpha[i] = new_i
    alpha[j] = max(0.0, min(C, y[j] * (conserved - y[i] * new_i)))


def _intercept(alpha, gradient, y, C):
    """b = -rho: mean of -y_t G_t over free vectors, else the middle of the KKT interval."""
    violation = -y * gradient
    free = (alpha > 0) & (alpha < C)
    if np.any(free):
        return float(np.mean(violation[free]))
    positive = y > 0
    up = np.where(positive, alpha < C, alpha > 0)
    low = np.where(positive, alpha > 0, alpha < C)
    upper = np.min(violation[low]) if np.any(low) else np.inf
    lower = np.max(violation[up]) if np.any(up) else -np.inf
    return float((upper + lower) / 2) if np.isfinite(upper + lower) else float(
        upper if np.isfinite(upper) else lower)


def dual_coordinate_descent(X, y, C, loss, tol, max_iter, rng, where, use_numba=None):
    """Hsieh et al. 2008, Algorithm 3 (coordinate descent with shrinking) for the linear
    SVM dual, labels y in {-1, +1}: the solver of ``LinearSVC``.

    Dual: min_a a^T (Q + D) a / 2 - sum a over 0 <= a_i <= U, Q_ij = y_i y_j x_i.x_j,
    (U, D_ii) = (C, 0) for loss='hinge' and (inf, 1/(2C)) for 'squared_hinge';
    w = sum_i a_i y_i x_i. Each pass visits the active coordinates in a fresh random order
    (a Fisher-Yates shuffle whose seed is drawn from ``rng``, a np.random.Generator) and sets
    each a_i to the clipped minimiser of its one-variable quadratic (``tinydl.kernels.svm``:
    the Numba kernel, or its Python twin when ``use_numba`` is False; None follows
    ``tinydl.backends.numba``). Both draw the
    same orders from ``rng`` and take the same steps, so they agree to round-off.

    Shrinking: a coordinate sitting at a bound whose gradient pushes it further out by more
    than last pass's extreme projected gradient (a = 0 with G > max PG, or a = U with
    G < min PG) will almost surely stay there, so it leaves the active set. When the active
    set meets the tolerance (max PG - min PG <= tol), every coordinate is re-activated and
    checked again; the solver stops only when a pass over all of them meets it, or after
    ``max_iter`` passes with a ConvergenceWarning.

    X (n, d) float, y (n,) of +-1. Returns a dict: w (d,), alpha (n,), passes, and the
    primal and dual objectives at the result.
    """
    from tinydl import backends
    from tinydl.kernels import svm as kernels

    if use_numba is None:
        use_numba = backends.numba
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = X.shape[0]
    C = float(C)
    upper, diag = (C, 0.0) if loss == "hinge" else (np.inf, 0.5 / C)
    q_diag = np.einsum("ij,ij->i", X, X) + diag
    alpha = np.zeros(n)
    w = np.zeros(X.shape[1])
    rows = np.ascontiguousarray(X * y[:, None])
    seed = int(rng.integers(0, 2**63, dtype=np.int64))  # the shuffles' generator state
    if use_numba:
        passes, converged, spread = kernels.dual_cd_kernel(
            rows, q_diag, alpha, w, diag, upper, float(tol), int(max_iter), np.uint64(seed),
            np.empty(n, dtype=np.int64))
    else:
        passes, converged, spread = kernels.dual_cd_python(rows, q_diag, alpha, w, diag,
                                                           upper, tol, max_iter, seed)
    if not converged:
        warnings.warn(f"{where}: dual coordinate descent stopped after {max_iter} passes "
                      f"with projected-gradient range {spread:.3g} > tol = {tol:g}; "
                      "increase max_iter or tol", ConvergenceWarning, stacklevel=3)
    margins = np.maximum(0.0, 1.0 - y * (X @ w))
    losses = margins if loss == "hinge" else margins ** 2
    primal = 0.5 * w @ w + C * losses.sum()
    dual = alpha.sum() - 0.5 * w @ w - 0.5 * diag * alpha @ alpha
    return {"w": w, "alpha": alpha, "passes": passes, "primal": primal, "dual": dual}
