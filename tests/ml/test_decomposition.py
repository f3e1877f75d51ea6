"""PCA, CCA and MDS against eigen-decompositions and SVDs computed with NumPy/SciPy."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import linalg
from scipy.spatial.distance import cdist

from tinydl.ml import CCA, MDS, PCA, NotFittedError


def correlated_data(n=80, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)


def match_up_to_sign(a, b, atol):
    """Rows of a equal rows of b, each up to a sign."""
    signs = np.sign(np.sum(a * b, axis=1, keepdims=True))
    np.testing.assert_allclose(a, signs * b, atol=atol)


class TestPCA:
    def test_equals_eigendecomposition_of_covariance(self):
        X = correlated_data()
        pca = PCA().fit(X)
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X, rowvar=False))
        order = np.argsort(eigenvalues)[::-1]
        np.testing.assert_allclose(pca.explained_variance_, eigenvalues[order], rtol=1e-10)
        match_up_to_sign(pca.components_, eigenvectors[:, order].T, atol=1e-8)
        np.testing.assert_allclose(pca.explained_variance_ratio_,
                                   eigenvalues[order] / eigenvalues.sum(), rtol=1e-10)
        np.testing.assert_allclose(pca.mean_, X.mean(axis=0), rtol=1e-12)

    def test_transform_is_projection_and_inverse_round_trips(self):
        X = correlated_data()
        pca = PCA(n_components=2).fit(X)
        Z = pca.transform(X)
        np.testing.assert_allclose(Z, (X - X.mean(axis=0)) @ pca.components_.T, atol=1e-10)
        np.testing.assert_allclose(np.var(Z, axis=0, ddof=1), pca.explained_variance_,
                                   rtol=1e-10)
        full = PCA().fit(X)
        np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-10)
        # Rank-2 reconstruction is the best rank-2 approximation of the centred data.
        u, s, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
        best = (u[:, :2] * s[:2]) @ vt[:2] + X.mean(axis=0)
        np.testing.assert_allclose(pca.inverse_transform(Z), best, atol=1e-10)

    def test_sign_convention_is_deterministic(self):
        X = correlated_data()
        a = PCA().fit(X).components_
        # -X and a row permutation have the same covariance; the eigenvectors NumPy
        # returns may flip, the fixed convention must not.
        b = PCA().fit(-X).components_
        c = PCA().fit(X[::-1]).components_
        np.testing.assert_allclose(a, b, atol=1e-12)
        np.testing.assert_allclose(a, c, atol=1e-10)
        biggest = a[np.arange(a.shape[0]), np.argmax(np.abs(a), axis=1)]
        assert np.all(biggest > 0)

    def test_fractional_n_components_keeps_enough_variance(self):
        X = correlated_data(d=6)
        ratio = PCA().fit(X).explained_variance_ratio_
        pca = PCA(n_components=0.9).fit(X)
        expected = int(np.argmax(np.cumsum(ratio) > 0.9)) + 1
        assert pca.n_components_ == expected
        # scikit-learn's rule: the cumulative ratio must exceed the fraction, so 0.5 of two
        # equal components keeps both (a tie at the boundary kept one before).
        square = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        assert PCA(0.5).fit(square).n_components_ == 2
        assert PCA(0.49).fit(square).n_components_ == 1

    def test_float32_in_float32_out(self):
        X = correlated_data().astype(np.float32)
        Z = PCA(2).fit(X).transform(X)
        assert Z.dtype == np.float32 and Z.shape == (80, 2)

    @pytest.mark.parametrize("bad", [0, 6, -1, 2.5, "two"])
    def test_bad_n_components(self, bad):
        with pytest.raises(ValueError, match="n_components"):
            PCA(n_components=bad).fit(correlated_data())

    def test_bad_inputs(self):
        X = correlated_data()
        X[3, 2] = np.nan
        with pytest.raises(ValueError, match="PCA.fit: X contains NaN"):
            PCA().fit(X)
        with pytest.raises(ValueError, match="2-D"):
            PCA().fit(np.arange(5.0))
        with pytest.raises(ValueError, match="at least 2 samples"):
            PCA().fit(np.ones((1, 3)))
        with pytest.raises(NotFittedError):
            PCA().transform(np.ones((2, 2)))
        with pytest.raises(ValueError, match="features"):
            PCA().fit(correlated_data()).transform(np.ones((2, 3)))

    @settings(max_examples=20, deadline=None)
    @given(n=st.integers(2, 12), d=st.integers(1, 6), seed=st.integers(0, 1000))
    def test_shapes_and_orthonormal_components(self, n, d, seed):
        X = np.random.default_rng(seed).normal(size=(n, d))
        pca = PCA().fit(X)
        k = min(n, d)
        assert pca.components_.shape == (k, d) and pca.transform(X).shape == (n, k)
        rank = np.linalg.matrix_rank(X - X.mean(axis=0))
        gram = pca.components_[:rank] @ pca.components_[:rank].T
        np.testing.assert_allclose(gram, np.eye(rank), atol=1e-8)


def two_views(n=200, seed=1):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    X = latent @ rng.normal(size=(2, 4)) + 0.5 * rng.normal(size=(n, 4))
    Y = latent @ rng.normal(size=(2, 3)) + 0.8 * rng.normal(size=(n, 3))
    return X, Y


def inverse_sqrt(S):
    return np.real(linalg.sqrtm(linalg.inv(S)))


class TestCCA:
    def test_first_correlation_is_top_singular_value(self):
        X, Y = two_views()
        cca = CCA(n_components=3).fit(X, Y)
        sxx, syy = np.cov(X, rowvar=False), np.cov(Y, rowvar=False)
        sxy = np.cov(X, Y, rowvar=False)[:4, 4:]
        expected = linalg.svdvals(inverse_sqrt(sxx) @ sxy @ inverse_sqrt(syy))
        np.testing.assert_allclose(cca.canonical_correlations_, expected[:3], rtol=1e-8)

    def test_variates_have_the_canonical_correlations(self):
        X, Y = two_views()
        cca = CCA(n_components=3).fit(X, Y)
        U, V = cca.transform(X, Y)
        joint = np.corrcoef(U, V, rowvar=False)
        np.testing.assert_allclose(np.diag(joint[:3, 3:]), cca.canonical_correlations_,
                                   rtol=1e-8)
        # Within each view the variates are uncorrelated with unit variance.
        np.testing.assert_allclose(np.cov(U, rowvar=False), np.eye(3), atol=1e-8)
        np.testing.assert_allclose(np.cov(V, rowvar=False), np.eye(3), atol=1e-8)

    def test_first_pair_beats_random_directions(self):
        X, Y = two_views()
        best = CCA(n_components=1).fit(X, Y).canonical_correlations_[0]
        rng = np.random.default_rng(5)
        for _ in range(50):
            a, b = rng.normal(size=4), rng.normal(size=3)
            assert abs(np.corrcoef(X @ a, Y @ b)[0, 1]) <= best + 1e-12

    def test_transform_without_y_and_sign(self):
        X, Y = two_views()
        cca = CCA(n_components=2).fit(X, Y)
        np.testing.assert_allclose(cca.transform(X), cca.transform(X, Y)[0])
        same = CCA(n_components=2).fit(-X, -Y)
        np.testing.assert_allclose(np.abs(same.x_weights_), np.abs(cca.x_weights_),
                                   rtol=1e-8)

    def test_bad_inputs(self):
        X, Y = two_views()
        with pytest.raises(ValueError, match="200 samples but Y has 199"):
            CCA().fit(X, Y[:-1])
        with pytest.raises(ValueError, match="n_components"):
            CCA(n_components=4).fit(X, Y)
        with pytest.raises(ValueError, match="singular"):
            CCA(n_components=1).fit(np.c_[X, X[:, :1]], Y)
        ridge = CCA(n_components=1, reg=1e-3).fit(np.c_[X, X[:, :1]], Y)
        assert 0 < ridge.canonical_correlations_[0] < 1


class TestMDS:
    def test_reproduces_euclidean_distances(self):
        X = np.random.default_rng(2).normal(size=(30, 3))
        D = cdist(X, X)
        embedding = MDS(n_components=3).fit_transform(D)
        np.testing.assert_allclose(cdist(embedding, embedding), D, atol=1e-10)

    def test_equals_pca_scores_up_to_sign(self):
        X = correlated_data(n=25, d=3)
        embedding = MDS(n_components=2).fit_transform(cdist(X, X))
        scores = PCA(2).fit_transform(X)
        match_up_to_sign(embedding.T, scores.T, atol=1e-8)

    def test_euclidean_dissimilarity_takes_points(self):
        X = np.random.default_rng(3).normal(size=(15, 2))
        a = MDS(2, dissimilarity="euclidean").fit_transform(X)
        b = MDS(2).fit_transform(cdist(X, X))
        np.testing.assert_allclose(a, b, atol=1e-10)

    def test_non_euclidean_eigenvalues_clipped(self):
        # Four points with a triangle-violating distance have a negative eigenvalue.
        D = np.array([[0, 1, 1, 3], [1, 0, 1, 1], [1, 1, 0, 1], [3, 1, 1, 0.0]])
        mds = MDS(n_components=4).fit(D)
        assert np.all(mds.eigenvalues_ >= 0)
        assert np.all(np.isfinite(mds.embedding_))

    def test_bad_inputs(self):
        with pytest.raises(ValueError, match="square"):
            MDS().fit(np.zeros((3, 4)))
        with pytest.raises(ValueError, match="symmetric"):
            MDS().fit(np.array([[0, 1.0], [2, 0]]))
        with pytest.raises(ValueError, match="diagonal"):
            MDS().fit(np.array([[1, 1.0], [1, 0]]))
        with pytest.raises(ValueError, match="negative"):
            MDS().fit(np.array([[0, -1.0], [-1, 0]]))
        with pytest.raises(ValueError, match="dissimilarity"):
            MDS(dissimilarity="cosine").fit(np.zeros((2, 2)))


def test_cca_transform_keeps_float32_for_both_views():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    Y = (X[:, :2] + rng.normal(size=(20, 2))).astype(np.float32)
    U, V = CCA(1).fit(X, Y).transform(X, Y)
    assert U.dtype == np.float32 and V.dtype == np.float32  # V was float64


def test_a_numpy_float_fraction_of_components_is_a_fraction():
    """PCA(np.float32(0.5)) failed inside slicing (only a Python float was read as one)."""
    X = np.random.default_rng(0).standard_normal((20, 4)) * [3.0, 2.0, 1.0, 0.5]
    assert PCA(np.float32(0.5)).fit(X).n_components_ == PCA(0.5).fit(X).n_components_
