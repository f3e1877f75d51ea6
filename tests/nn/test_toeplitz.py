"""Toeplitz teaching helpers reproduce scipy.signal.convolve / convolve2d."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from tinydl.nn.toeplitz import doubly_block_toeplitz, toeplitz_1d


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 6), st.sampled_from(["full", "valid"]),
       st.integers(0, 1000))
def test_toeplitz_1d_matches_scipy_convolve(n, k, mode, seed):
    rng = np.random.default_rng(seed)
    x, h = rng.standard_normal(n), rng.standard_normal(k)
    np.testing.assert_allclose(toeplitz_1d(h, n, mode) @ x, signal.convolve(x, h, mode),
                               atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(["full", "valid"]), st.integers(0, 1000))
def test_doubly_block_toeplitz_matches_scipy_convolve2d(h, w, kh, kw, mode, seed):
    big_enough = (h >= kh and w >= kw) or (h <= kh and w <= kw)
    if mode == "valid" and not big_enough:
        with pytest.raises(ValueError):
            doubly_block_toeplitz(np.ones((kh, kw)), (h, w), mode)
        return
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    expected = signal.convolve2d(x, k, mode)
    np.testing.assert_allclose(doubly_block_toeplitz(k, (h, w), mode) @ x.ravel(),
                               expected.ravel(), atol=1e-12)


def test_toeplitz_structure():
    t = toeplitz_1d([1.0, 2.0, 3.0], 4)
    assert t.shape == (6, 4)
    np.testing.assert_array_equal(t[:, 0], [1, 2, 3, 0, 0, 0])
    for d in range(-3, 3):  # constant along every diagonal
        assert len(set(np.diagonal(t, d))) == 1
    big = doubly_block_toeplitz(np.arange(4.0).reshape(2, 2), (3, 3))
    assert big.shape == (16, 9)
    with pytest.raises(ValueError, match="mode"):
        toeplitz_1d([1.0], 3, "same")


def test_bad_sizes_name_the_function():
    with pytest.raises(TypeError, match="toeplitz_1d: n must be an int"):
        toeplitz_1d([1.0, 2.0], 2.5)  # a bare IndexError before
    with pytest.raises(ValueError, match=r"doubly_block_toeplitz: input_shape must be \(H, W\)"):
        doubly_block_toeplitz(np.ones((2, 2)), (3,))
