"""Linear classifiers: regularised logistic regression and the linear SVM.

Both minimise `w.w/2 + C * sum_i loss(y_i (w.x_i + b))` with y_i in {-1, +1}:
logistic loss log(1 + exp(-m)) (solved in the primal by a Newton or quasi-Newton
method) and hinge loss max(0, 1 - m) (solved in the dual by coordinate descent).
"""
import numbers
import warnings

import numpy as np
from scipy import optimize, special
from scipy.sparse import linalg as sparse_linalg

from tinydl.ml.base import (BaseEstimator, ClassifierMixin, ConvergenceWarning,
                            check_classes, check_is_fitted, check_max_iter,
                            check_n_features, check_positive, check_X_y, check_array)
# LinearSVC's solver (a Numba kernel with its Python twin) lives with the other SVMs.
from tinydl.ml.svm import dual_coordinate_descent as _dual_coordinate_descent
from tinydl.random import seeded


def _fit_arguments(model, X, y, where, option, choices):
    """What both linear classifiers' ``fit`` starts from: X and y checked, ``C`` and ``tol``
    positive, ``max_iter`` a positive int, and the string parameter ``option`` one of
    ``choices``. Returns (X, y, C, tol, max_iter); raises naming ``where`` and the bad value."""
    X, y = check_X_y(X, y, where)
    C = check_positive(model.C, where, "C")
    tol = check_positive(model.tol, where, "tol")
    max_iter = check_max_iter(model.max_iter, where)
    if not isinstance(model.fit_intercept, (bool, np.bool_)):  # the string 'False' is true
        raise TypeError(f"{where}: fit_intercept must be a bool, got {model.fit_intercept!r}")
    value = getattr(model, option)
    if value not in choices:
        raise ValueError(f"{where}: {option} must be {' or '.join(map(repr, choices))}, got "
                         f"{value!r}")
    return X, y, C, tol, max_iter


class LinearClassifierMixin(ClassifierMixin):
    """`decision_function` and `predict` for models with `coef_` (K, d), `intercept_` (K,)
    and `classes_`: one row per class, or a single row scoring classes_[1] for two classes."""

    def decision_function(self, X):
        """Scores X @ coef_.T + intercept_: shape (n,) for two classes (positive means
        classes_[1]), (n, n_classes) otherwise."""
        check_is_fitted(self, "coef_")
        where = f"{type(self).__name__}.decision_function"
        X = check_array(X, where)
        check_n_features(self, X, where)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels, shape (n,): classes_[scores > 0] for two classes, else the argmax."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]


def _signed_labels(y, classes):
    """+1 where y == classes[1], -1 elsewhere (the binary problem's labels)."""
    return np.where(y == classes[1], 1.0, -1.0)


class LogisticRegression(LinearClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression with an unpenalised intercept.

    Two classes, y_i = +1 for classes_[1] and -1 for classes_[0]; minimises exactly
        P(w, b) = C * sum_i log(1 + exp(-y_i (w.x_i + b))) + w.w / 2.
    More classes: the multinomial (maximum entropy) model with softmax over z = x W^T + b,
        P(W, b) = C * sum_i [logsumexp(z_i) - z_{i, y_i}] + ||W||_F^2 / 2,
    whose intercepts are defined up to a common shift; they are reported summing to zero.

    solver: 'trust-ncg' (default; Newton's method with exact Hessian-vector products
    in a trust region, scipy.optimize) or 'lbfgs' (quasi-Newton). The solver stops when the
    Euclidean norm of the gradient of P is below `tol` (absolute: P is a sum over samples,
    not a mean) times min(1, C n) (so that a tiny C still fits), or after `max_iter`
    iterations with a ConvergenceWarning. The loss is
    evaluated with a stable log-sigmoid / logsumexp, so large margins never overflow.

    Fitted: `coef_` (1, d) or (K, d), `intercept_` (1,) or (K,), `classes_`, `n_iter_`,
    `grad_norm_` (the gradient norm at the returned solution), `objective_`.
    """

    def __init__(self, C=1.0, fit_intercept=True, tol=1e-8, max_iter=200,
                 solver="trust-ncg"):
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver

    def fit(self, X, y):
        """Fit on X (n, d) and labels y (n,) with at least two classes; returns self."""
        where = "LogisticRegression.fit"
        X, y, C, tol, max_iter = _fit_arguments(self, X, y, where, "solver",
                                                ("trust-ncg", "lbfgs"))
        self.classes_ = check_classes(y, where)
        self.n_features_in_ = X.shape[1]
        if self.classes_.size == 2:
            problem = _BinaryLogistic(X, _signed_labels(y, self.classes_), C,
                                      bool(self.fit_intercept))
        else:
            targets = np.searchsorted(self.classes_, y)
            problem = _MultinomialLogistic(X, targets, self.classes_.size, C,
                                           bool(self.fit_intercept))
        # The gradient test is on P's gradient, scaled down with C * n when that is below 1:
        # P's loss term is C times a sum of n losses, so for tiny C even the zero start's
        # gradient fell below an absolute 1e-8 and the intercept was never fitted (C=1e-10:
        # predicted the minority class everywhere; scikit-learn scales its loss by 1/n).
        tol = tol * min(1.0, C * X.shape[0])
        theta, self.n_iter_ = _minimise(problem, tol, max_iter, self.solver, where)
        self.objective_, gradient = problem.value_and_grad(theta)
        self.grad_norm_ = float(np.linalg.norm(gradient))
        self.coef_, self.intercept_ = problem.unpack(theta)
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in the order of classes_:
        [1 - sigmoid(s), sigmoid(s)] for two classes, softmax of the scores otherwise."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = special.expit(scores)
            return np.stack([1.0 - positive, positive], axis=1)
        return special.softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """log of predict_proba, computed stably, shape (n, n_classes)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.stack([special.log_expit(-scores), special.log_expit(scores)], axis=1)
        return special.log_softmax(scores, axis=1)


def _minimise(problem, tol, max_iter, solver, where):
    """Run scipy.optimize from zero; if it stopped early on round-off rather than at
    max_iter, finish with plain Newton steps. Returns (theta, iterations)."""
    theta0 = np.zeros(problem.size)
    value_and_grad, hessp = _finite(problem.value_and_grad), _finite(problem.hessp)
    if solver == "trust-ncg":
        value_and_grad, hessp = _bounded_inner_loop(value_and_grad, hessp, problem.size)
    try:
        if solver == "trust-ncg":
            result = optimize.minimize(value_and_grad, theta0, jac=True, hessp=hessp,
                                       method="trust-ncg",
                                       options={"gtol": tol, "maxiter": max_iter})
        else:
            # ftol=0 leaves the gradient test as the only stopping rule besides max_iter.
            result = optimize.minimize(value_and_grad, theta0, jac=True, method="L-BFGS-B",
                                       options={"gtol": tol, "ftol": 0.0, "maxiter": max_iter,
                                                "maxcor": 20})
    except _InnerLoopStalled:
        raise ValueError(f"{where}: trust-ncg's inner conjugate-gradient loop did not "
                         f"converge (an ill-conditioned problem: C = {problem.C:g}, nearly "
                         "separable classes?); use a smaller C or solver='lbfgs'") from None
    except (_NonFinite, ValueError) as err:
        # The loss term is C times a sum over samples: for a huge C (1e120 on unit-scale
        # data) it, its gradient or the solver's squared step lengths overflow float64.
        # Unchecked, trust-ncg's inner loop never ended on the NaN, L-BFGS-B stopped at the
        # zero start, and SciPy raised a bare "array must not contain infs or NaNs".
        if isinstance(err, ValueError) and "inf" not in str(err) and "NaN" not in str(err):
            raise
        raise ValueError(f"{where}: the objective overflowed float64 with C = {problem.C:g}; "
                         "use a smaller C (the loss term is C times a sum over samples)"
                         ) from None
    theta, gradient = result.x, result.jac
    if result.nit < max_iter:
        theta, gradient = _newton_polish(problem, theta, gradient, tol)
    grad_norm = np.linalg.norm(gradient)
    if grad_norm > tol:
        warnings.warn(f"{where}: stopped after {result.nit} iterations with gradient norm "
                      f"{grad_norm:.3g} > tol = {tol:g} ({result.message}); increase "
                      "max_iter or tol", ConvergenceWarning, stacklevel=3)
    return theta, int(result.nit)


class _NonFinite(ArithmeticError):
    """An objective, gradient or Hessian product that is not finite (overflow)."""


def _finite(fn):
    """``fn`` raising _NonFinite when any array it returns holds an inf or NaN."""
    def checked(*args):
        out = fn(*args)
        for part in (out if isinstance(out, tuple) else (out,)):
            if not np.isfinite(part).all():
                raise _NonFinite
        return out
    return checked


class _InnerLoopStalled(ArithmeticError):
    """trust-ncg's conjugate-gradient loop ran far past the problem's dimension."""


def _bounded_inner_loop(value_and_grad, hessp, size):
    """The two functions, ``hessp`` raising _InnerLoopStalled after ``20 size + 100`` calls
    with no objective evaluation between them. SciPy's trust-ncg solves each step's model by
    conjugate gradients with no iteration cap; exact arithmetic needs at most ``size``
    iterations, but on a nearly singular Hessian (C = 1e120, separable classes) round-off
    kept its residual above the tolerance and the loop never ended."""
    calls = [0]
    limit = 20 * size + 100

    def counted_value_and_grad(theta):
        calls[0] = 0
        return value_and_grad(theta)

    def counted_hessp(theta, v):
        calls[0] += 1
        if calls[0] > limit:
            raise _InnerLoopStalled
        return hessp(theta, v)
    return counted_value_and_grad, counted_hessp


def _newton_polish(problem, theta, gradient, tol, max_steps=5):
    """Full Newton steps (Hessian solved by conjugate gradients) while they shrink the
    gradient. Near the optimum the objective's changes fall below its round-off, which
    stops the value-based trust-region/line-search tests early, while the gradient still
    converges quadratically under plain Newton steps."""
    norm = np.linalg.norm(gradient)
    for _ in range(max_steps):
        if norm <= tol:
            break
        hessian = sparse_linalg.LinearOperator(
            (problem.size, problem.size), matvec=lambda v, t=theta: problem.hessp(t, v),
            dtype=np.float64)
        step, _ = sparse_linalg.cg(hessian, -gradient, rtol=1e-10, atol=0.0,
                                   maxiter=10 * problem.size)
        candidate = theta + step
        _, candidate_gradient = problem.value_and_grad(candidate)
        candidate_norm = np.linalg.norm(candidate_gradient)
        if not candidate_norm < norm:
            break
        theta, gradient, norm = candidate, candidate_gradient, candidate_norm
    return theta, gradient


class _BinaryLogistic:
    """P(w, b) = C sum log(1 + exp(-y (Xw + b))) + w.w/2 with its gradient and
    Hessian-vector product, on theta = [w, b] (b present only with an intercept)."""

    def __init__(self, X, y, C, fit_intercept):
        self.X, self.y, self.C, self.fit_intercept = X, y, C, fit_intercept
        self.d = X.shape[1]
        self.size = self.d + int(fit_intercept)

    def _scores(self, theta):
        z = self.X @ theta[:self.d]
        return z + theta[self.d] if self.fit_intercept else z

    def value_and_grad(self, theta):
        w = theta[:self.d]
        margin = self.y * self._scores(theta)
        value = -self.C * special.log_expit(margin).sum() + 0.5 * w @ w
        # d/dz log(1 + exp(-y z)) = -y sigmoid(-y z)
        dz = -self.C * self.y * special.expit(-margin)
        grad = self.X.T @ dz + w
        if self.fit_intercept:
            grad = np.append(grad, dz.sum())
        return value, grad

    def hessp(self, theta, v):
        margin = self.y * self._scores(theta)
        dz = self.C * special.expit(margin) * special.expit(-margin) * self._scores(v)
        hv = self.X.T @ dz + v[:self.d]
        return np.append(hv, dz.sum()) if self.fit_intercept else hv

    def unpack(self, theta):
        b = theta[self.d] if self.fit_intercept else 0.0
        return theta[:self.d][None, :].copy(), np.array([b])


class _MultinomialLogistic:
    """P(W, b) = C sum_i [logsumexp(z_i) - z_{i, t_i}] + ||W||^2/2 with z = X W^T + b,
    its gradient and Hessian-vector product; theta = [W.ravel(), b]."""

    def __init__(self, X, targets, n_classes, C, fit_intercept):
        self.X, self.C, self.fit_intercept = X, C, fit_intercept
        self.k, self.d = n_classes, X.shape[1]
        self.onehot = np.eye(n_classes)[targets]
        self.size = self.k * self.d + (self.k if fit_intercept else 0)

    def _split(self, theta):
        W = theta[:self.k * self.d].reshape(self.k, self.d)
        b = theta[self.k * self.d:] if self.fit_intercept else np.zeros(self.k)
        return W, b

    def value_and_grad(self, theta):
        W, b = self._split(theta)
        z = self.X @ W.T + b
        log_norm = special.logsumexp(z, axis=1)
        value = self.C * (log_norm.sum() - np.sum(z * self.onehot)) + 0.5 * np.sum(W * W)
        dz = self.C * (np.exp(z - log_norm[:, None]) - self.onehot)
        grad = (dz.T @ self.X + W).ravel()
        if self.fit_intercept:
            grad = np.concatenate([grad, _centred(dz.sum(axis=0))])
        return value, grad

    def hessp(self, theta, v):
        W, b = self._split(theta)
        V, c = self._split(v)
        p = special.softmax(self.X @ W.T + b, axis=1)
        dz_dir = self.X @ V.T + c
        # Directional derivative of the softmax: p * (dz - <p, dz>).
        dp = p * (dz_dir - np.sum(p * dz_dir, axis=1, keepdims=True))
        hv = (self.C * dp.T @ self.X + V).ravel()
        if self.fit_intercept:
            hv = np.concatenate([hv, _centred(self.C * dp.sum(axis=0))])
        return hv

    def unpack(self, theta):
        W, b = self._split(theta)
        # The objective is invariant to b + const; report the zero-sum representative.
        return W.copy(), b - b.mean()


def _centred(intercept_part):
    """Remove the component along (1, ..., 1). The multinomial objective is flat in that
    direction of the intercepts, so the exact gradient and Hessian products have none;
    dropping its round-off keeps the Hessian solves consistent (a singular system with a
    right-hand side outside its range makes conjugate gradients diverge)."""
    return intercept_part - intercept_part.mean()


class LinearSVC(LinearClassifierMixin, BaseEstimator):
    """Linear support vector machine trained by dual coordinate descent (Hsieh et al.,
    "A Dual Coordinate Descent Method for Large-scale Linear SVM", ICML 2008; liblinear).

    Primal, with y_i in {-1, +1}:
        loss='hinge':          P(w) = w.w/2 + C sum_i max(0, 1 - y_i w.x_i)
        loss='squared_hinge':  P(w) = w.w/2 + C sum_i max(0, 1 - y_i w.x_i)^2
    Dual: min_a  a^T (Q + D) a / 2 - sum a  over 0 <= a_i <= U, with Q_ij = y_i y_j x_i.x_j,
    and (U, D_ii) = (C, 0) for hinge, (inf, 1/(2C)) for squared hinge; w = sum_i a_i y_i x_i.
    Each pass visits the coordinates in a fresh random order and sets a_i to the clipped
    minimiser of the one-variable quadratic, skipping coordinates shrunk away at a bound
    (the paper's Algorithm 3, as liblinear); it stops when the projected gradients of a
    pass over all coordinates span at most `tol` (max PG - min PG <= tol), or after
    `max_iter` passes with a ConvergenceWarning.

    fit_intercept=True follows liblinear: every x gets a constant extra feature
    `intercept_scaling`, whose weight is the bias, so the bias is penalised too
    (intercept_ = intercept_scaling * w_extra). With fit_intercept=False the model
    minimises P(w) above exactly. More than two classes: one-vs-rest, one binary problem
    per class (as liblinear).

    random_state: seed (or np.random.Generator) for the local generator that draws the
    coordinate orders (None: tinydl's seeded generator, which ``manual_seed`` fixes); the
    global NumPy state is never touched.

    Fitted: `coef_` (1, d) or (K, d), `intercept_`, `classes_`, `dual_coef_` (K, n) (the
    a_i y_i), `n_iter_` (passes, the largest over the K problems), and per problem
    `primal_objective_`, `dual_objective_` and `dual_gap_` = primal - dual >= 0 (arrays of
    length K; the objectives of the problem actually solved, i.e. with the augmented
    feature when fit_intercept=True).
    """

    def __init__(self, C=1.0, loss="hinge", fit_intercept=True, intercept_scaling=1.0,
                 tol=1e-4, max_iter=1000, random_state=0):
        self.C = C
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on X (n, d) and labels y (n,) with at least two classes; returns self."""
        where = "LinearSVC.fit"
        X, y, C, tol, max_iter = _fit_arguments(self, X, y, where, "loss",
                                                ("hinge", "squared_hinge"))
        if not (self.random_state is None or isinstance(self.random_state, numbers.Integral)
                or isinstance(self.random_state, np.random.Generator)):
            raise TypeError(f"{where}: random_state must be None, an int or a "
                            f"np.random.Generator, got {self.random_state!r}")
        rng = seeded(self.random_state)  # None: tinydl's generator (manual_seed fixes it)
        self.classes_ = check_classes(y, where)
        self.n_features_in_ = X.shape[1]
        if self.fit_intercept:
            scaling = check_positive(self.intercept_scaling, where, "intercept_scaling")
            X = np.hstack([X, np.full((X.shape[0], 1), scaling)])
        if self.classes_.size == 2:
            problems = [_signed_labels(y, self.classes_)]
        else:
            problems = [np.where(y == c, 1.0, -1.0) for c in self.classes_]
        results = [_dual_coordinate_descent(X, s, C, self.loss, tol, max_iter, rng, where)
                   for s in problems]
        W = np.stack([r["w"] for r in results])
        if self.fit_intercept:
            self.coef_, self.intercept_ = W[:, :-1].copy(), W[:, -1] * scaling
        else:
            self.coef_, self.intercept_ = W, np.zeros(W.shape[0])
        self.dual_coef_ = np.stack([r["alpha"] * s for r, s in zip(results, problems)])
        self.n_iter_ = max(r["passes"] for r in results)
        self.primal_objective_ = np.array([r["primal"] for r in results])
        self.dual_objective_ = np.array([r["dual"] for r in results])
        self.dual_gap_ = self.primal_objective_ - self.dual_objective_
        return self
