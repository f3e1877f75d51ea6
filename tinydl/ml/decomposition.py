"""Linear data processing: PCA, canonical correlation analysis, classical MDS.

All three reduce to one symmetric eigen-problem or SVD:
PCA diagonalises the covariance of X, CCA the whitened cross-covariance of X and Y,
classical MDS the double-centred matrix of squared distances. Each fixes the sign of its
vectors (largest-magnitude entry positive) so results are deterministic.
"""
import numbers

import numpy as np

from tinydl.ml.base import (BaseEstimator, check_array, check_is_fitted,
                            check_n_features, check_positive, flip_signs, output_dtype)


def _check_n_components(n_components, limit, where, allow_fraction=False):
    if n_components is None:
        return limit
    if allow_fraction and isinstance(n_components, numbers.Real) \
            and not isinstance(n_components, numbers.Integral) and 0 < n_components < 1:
        return float(n_components)  # (a NumPy float too)
    if (not isinstance(n_components, numbers.Integral) or isinstance(n_components, bool)
            or not 1 <= n_components <= limit):
        fraction = " or a float in (0, 1)" if allow_fraction else ""
        raise ValueError(f"{where}: n_components must be an int in [1, {limit}]"
                         f"{fraction}, got {n_components!r}")
    return int(n_components)


class PCA(BaseEstimator):
    """Principal component analysis through the SVD of the centred data.

    With Xc = X - mean = U S V^T, the principal axes are the rows of V^T (the eigenvectors
    of the covariance Xc^T Xc / (n - 1)) and the variance along axis k is S_k^2 / (n - 1).
    `transform(X) = (X - mean_) @ components_.T`, shape (n, n_components);
    `inverse_transform(Z) = Z @ components_ + mean_`, shape (n, n_features).

    n_components: int, None (keep min(n_samples, n_features)) or a float in (0, 1)
    (keep the fewest components whose explained variance ratio sums to more than it, as
    scikit-learn: 0.5 of two equal components keeps both).
    Signs: each component's largest-magnitude coordinate is positive (scikit-learn's
    `svd_flip` rule), so the same data always gives the same components.

    Fitted: `components_` (k, d), `explained_variance_` (k,), `explained_variance_ratio_`
    (k,), `singular_values_` (k,), `mean_` (d,), `n_components_`, `n_features_in_`.
    """

    def __init__(self, n_components=None):
        self.n_components = n_components

    def fit(self, X, y=None):
        """Fit on X of shape (n_samples, n_features), n_samples >= 2; returns self."""
        X = check_array(X, "PCA.fit")
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA.fit: needs at least 2 samples to estimate a variance, "
                             f"got X of shape {X.shape}")
        k = _check_n_components(self.n_components, min(n, d), "PCA.fit",
                                allow_fraction=True)
        self.mean_ = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        vt, _ = flip_signs(vt, axis=1)
        variance = s ** 2 / (n - 1)
        total = variance.sum()
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        if isinstance(k, float):
            # The smallest k whose cumulative ratio exceeds the requested fraction
            # (scikit-learn's rule, side='right').
            k = int(np.searchsorted(np.cumsum(ratio), k, side="right") + 1)
            k = min(k, s.size)
        self.n_components_ = k
        self.n_features_in_ = d
        self.components_ = vt[:k]
        self.singular_values_ = s[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = ratio[:k]
        return self

    def transform(self, X):
        """Project X (n, d) onto the principal axes: (X - mean_) @ components_.T, (n, k)."""
        check_is_fitted(self, "components_")
        dtype = output_dtype(X)
        X = check_array(X, "PCA.transform")
        check_n_features(self, X, "PCA.transform")
        return ((X - self.mean_) @ self.components_.T).astype(dtype, copy=False)

    def fit_transform(self, X, y=None):
        """`fit(X).transform(X)`, shape (n, k)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Map scores Z (n, k) back to the data space: Z @ components_ + mean_, (n, d)."""
        check_is_fitted(self, "components_")
        dtype = output_dtype(Z)
        Z = check_array(Z, "PCA.inverse_transform", name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: Z has {Z.shape[1]} columns, expected "
                             f"n_components_ = {self.n_components_}")
        return (Z @ self.components_ + self.mean_).astype(dtype, copy=False)


def _inverse_sqrt(S, where, name):
    """S^(-1/2) of a symmetric positive definite matrix through its eigen-decomposition."""
    w, V = np.linalg.eigh(S)
    if w[0] <= 1e-12 * max(w[-1], 1e-300):
        raise ValueError(f"{where}: the covariance of {name} is singular (rank-deficient "
                         f"{name}, or fewer samples than features); pass reg > 0")
    return (V / np.sqrt(w)) @ V.T


class CCA(BaseEstimator):
    """Canonical correlation analysis (Hotelling 1936), solved in closed form.

    Finds weight pairs (a_k, b_k) maximising corr(X a_k, Y b_k), each pair uncorrelated
    with the previous ones. With the covariances Sxx, Syy, Sxy (ddof 1) and the SVD
    Sxx^(-1/2) Sxy Syy^(-1/2) = U diag(rho) V^T, the weights are a = Sxx^(-1/2) U and
    b = Syy^(-1/2) V, and the canonical correlations are the singular values rho.

    n_components: number of pairs, at most min(p, q) for X (n, p) and Y (n, q). The
    default 2 is scikit-learn's. reg >= 0 adds reg * I to Sxx and Syy (ridge CCA; 0 is
    the classical method). scikit-learn's CCA runs an iterative PLS algorithm instead;
    both find the same canonical correlations on full-rank data.

    `transform(X, Y)` returns the canonical variates (U, V) = ((X - x_mean_) a,
    (Y - y_mean_) b), each (n, n_components), unit variance; `transform(X)` only U.
    Signs: each x weight vector's largest-magnitude entry is positive, and its y
    partner takes the same flip so correlations stay positive.

    Fitted: `x_weights_` (p, k), `y_weights_` (q, k), `canonical_correlations_` (k,),
    `x_mean_`, `y_mean_`.
    """

    def __init__(self, n_components=2, reg=0.0):
        self.n_components = n_components
        self.reg = reg

    def fit(self, X, Y):
        """Fit on X (n, p) and Y (n, q) with the same n >= 2; returns self."""
        X = check_array(X, "CCA.fit")
        Y = check_array(Y, "CCA.fit", name="Y")
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"CCA.fit: X has {X.shape[0]} samples but Y has {Y.shape[0]}")
        n = X.shape[0]
        if n < 2:
            raise ValueError("CCA.fit: needs at least 2 samples")
        k = _check_n_components(self.n_components, min(X.shape[1], Y.shape[1]), "CCA.fit")
        reg = check_positive(self.reg, "CCA.fit", "reg", allow_zero=True)
        self.x_mean_, self.y_mean_ = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = X - self.x_mean_, Y - self.y_mean_
        sxx = Xc.T @ Xc / (n - 1) + reg * np.eye(X.shape[1])
        syy = Yc.T @ Yc / (n - 1) + reg * np.eye(Y.shape[1])
        sxy = Xc.T @ Yc / (n - 1)
        wx = _inverse_sqrt(sxx, "CCA.fit", "X")
        wy = _inverse_sqrt(syy, "CCA.fit", "Y")
        u, rho, vt = np.linalg.svd(wx @ sxy @ wy, full_matrices=False)
        x_weights = wx @ u[:, :k]
        x_weights, signs = flip_signs(x_weights, axis=0)
        self.x_weights_ = x_weights
        self.y_weights_ = (wy @ vt[:k].T) * signs
        self.canonical_correlations_ = rho[:k]
        self.n_components_ = k
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X, Y=None):
        """Canonical variates: U = (X - x_mean_) @ x_weights_ (n, k) and, when Y is
        given, V = (Y - y_mean_) @ y_weights_; returns (U, V), or U alone."""
        check_is_fitted(self, "x_weights_")
        dtype = output_dtype(X)
        X = check_array(X, "CCA.transform")
        check_n_features(self, X, "CCA.transform")
        U = ((X - self.x_mean_) @ self.x_weights_).astype(dtype, copy=False)
        if Y is None:
            return U
        y_dtype = output_dtype(Y)  # before check_array makes Y float64
        Y = check_array(Y, "CCA.transform", name="Y")
        if Y.shape[1] != self.y_weights_.shape[0]:
            raise ValueError(f"CCA.transform: Y has {Y.shape[1]} features, fitted with "
                             f"{self.y_weights_.shape[0]}")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"CCA.transform: X has {X.shape[0]} samples but Y has "
                             f"{Y.shape[0]}")
        return U, ((Y - self.y_mean_) @ self.y_weights_).astype(y_dtype, copy=False)

    def fit_transform(self, X, Y):
        """`fit(X, Y).transform(X, Y)` -> (U, V)."""
        return self.fit(X, Y).transform(X, Y)


class MDS(BaseEstimator):
    """Classical (Torgerson-Gower) multidimensional scaling.

    From a distance matrix D (n, n): B = -1/2 J D^2 J with J = I - 11^T/n the centring
    matrix (so B is the Gram matrix of the centred points when D is Euclidean); the
    embedding is V_k diag(sqrt(lambda_k)) for the top-k eigenpairs of B. Euclidean D is
    reproduced exactly with n_components = the points' dimension, and the embedding then
    equals the PCA scores up to sign. Negative eigenvalues (D not Euclidean) are clipped
    to 0.

    dissimilarity: 'precomputed' (the default: `fit_transform(D)` takes distances) or
    'euclidean' (`fit_transform(X)` takes points, shape (n, d)).
    Signs: each embedding column's largest-magnitude entry is positive.
    Fitted: `embedding_` (n, k), `eigenvalues_` (k,) of B, `dissimilarity_matrix_`.
    """

    def __init__(self, n_components=2, dissimilarity="precomputed"):
        self.n_components = n_components
        self.dissimilarity = dissimilarity

    def fit(self, D, y=None):
        """Fit on a distance matrix D (n, n) (or points, with dissimilarity='euclidean');
        returns self."""
        where = "MDS.fit"
        if self.dissimilarity == "euclidean":
            X = check_array(D, where)
            squared = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
            D = np.sqrt(squared)
        elif self.dissimilarity == "precomputed":
            D = check_array(D, where, name="D")
            if D.shape[0] != D.shape[1]:
                raise ValueError(f"{where}: D must be a square distance matrix, got shape "
                                 f"{D.shape} (pass dissimilarity='euclidean' for points)")
            scale = max(np.abs(D).max(), 1.0)
            if not np.allclose(D, D.T, rtol=0, atol=1e-9 * scale):
                raise ValueError(f"{where}: D must be symmetric")
            if np.any(D < 0):
                raise ValueError(f"{where}: D has negative entries; distances are >= 0")
            if np.any(np.abs(np.diag(D)) > 1e-9 * scale):
                raise ValueError(f"{where}: D must have a zero diagonal")
            squared = D ** 2
        else:
            raise ValueError(f"{where}: dissimilarity must be 'precomputed' or 'euclidean', "
                             f"got {self.dissimilarity!r}")
        n = D.shape[0]
        k = _check_n_components(self.n_components, n, where)
        centred = squared - squared.mean(axis=0) - squared.mean(axis=1, keepdims=True) \
            + squared.mean()
        w, V = np.linalg.eigh(-0.5 * (centred + centred.T) / 2)
        top = np.argsort(w, kind="stable")[::-1][:k]
        eigenvalues = np.clip(w[top], 0.0, None)
        vectors, _ = flip_signs(V[:, top], axis=0)
        self.eigenvalues_ = eigenvalues
        self.embedding_ = vectors * np.sqrt(eigenvalues)
        self.dissimilarity_matrix_ = D
        return self

    def fit_transform(self, D, y=None):
        """Fit and return the embedding, shape (n, n_components)."""
        dtype = output_dtype(D)
        return self.fit(D).embedding_.astype(dtype, copy=False)
