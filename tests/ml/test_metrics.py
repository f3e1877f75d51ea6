"""ROC curve and AUC: SPEC.md vectors, Mann-Whitney U, brute-force thresholds."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, stats

from tinydl.ml import roc_auc_score, roc_curve


@pytest.mark.parametrize("y,s,expected", [
    ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75),
    ([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], 0.875),
])
def test_spec_vectors(y, s, expected):
    assert roc_auc_score(y, s) == pytest.approx(expected, abs=1e-15)


def test_spec_curve_points():
    fpr, tpr, thresholds = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8],
                                     drop_intermediate=False)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_tie_forms_one_diagonal_step():
    fpr, tpr, thresholds = roc_curve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9],
                                     drop_intermediate=False)
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.5, 0.2])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=40))
def test_auc_is_mann_whitney_u(pairs):
    y = np.array([p[0] for p in pairs], dtype=int)
    s = np.array([p[1] for p in pairs], dtype=float)  # few values: many ties
    if y.min() == y.max():
        with pytest.raises(ValueError, match="one class"):
            roc_auc_score(y, s)
        return
    u = stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert roc_auc_score(y, s) == pytest.approx(u / (y.sum() * (1 - y).sum()), abs=1e-12)
    assert roc_auc_score(y, -s) == pytest.approx(1 - roc_auc_score(y, s), abs=1e-12)
    assert roc_auc_score(y, np.exp(s)) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(3, 50))
def test_curve_matches_brute_force_thresholds(seed, n):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    s = np.round(rng.normal(size=n), 1)
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(thresholds[1:], np.unique(s)[::-1])
    brute_tpr = [(s[y == 1] >= t).mean() for t in thresholds]
    brute_fpr = [(s[y == 0] >= t).mean() for t in thresholds]
    np.testing.assert_allclose(tpr, brute_tpr)
    np.testing.assert_allclose(fpr, brute_fpr)
    kept = roc_curve(y, s)
    area = integrate.trapezoid(tpr, fpr)
    assert integrate.trapezoid(kept[1], kept[0]) == pytest.approx(area)
    assert kept[0][0] == 0 and kept[0][-1] == 1 and kept[1][-1] == 1


def test_labels_and_pos_label():
    y = np.array(["spam", "ham", "spam", "ham"])
    s = [0.9, 0.2, 0.4, 0.5]
    assert roc_auc_score(y, s, pos_label="spam") == 0.75
    assert roc_auc_score([-1, -1, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    with pytest.raises(ValueError, match="pass pos_label"):
        roc_auc_score(y, s)
    # A pos_label not among the labels is named (it read as 'only negative samples').
    with pytest.raises(ValueError, match=r"roc_auc_score: pos_label=7 is not among y_true's "
                                         r"labels \[0, 1\]"):
        roc_auc_score([0, 1, 1], [0.1, 0.2, 0.35], pos_label=7)
    with pytest.raises(ValueError, match="roc_curve: pos_label='Spam'"):
        roc_curve(y, s, pos_label="Spam")


def test_errors():
    with pytest.raises(ValueError, match="roc_auc_score: y_true contains only positive"):
        roc_auc_score([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="roc_curve: y_true contains only negative"):
        roc_curve([0, 0], [0.2, 0.3])
    with pytest.raises(ValueError, match="3 entries but y_score has 2"):
        roc_auc_score([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="3 classes"):
        roc_auc_score([0, 1, 2], [0.2, 0.3, 0.1])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc_score([0, 1], [0.2, np.nan])


def test_integer_scores_past_2_53_stay_distinct():
    # Cast to float64 the four scores became one tie: AUC 0.5 and a 2-point curve.
    y = [0, 1, 0, 1]
    s = np.array([2 ** 60, 2 ** 60 + 1, 2 ** 60 + 2, 2 ** 60 + 3], dtype=np.int64)
    assert roc_auc_score(y, s) == 0.75  # the pairs (0,1), (0,3), (2,3) of 4 are ordered
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_array_equal(tpr, [0, 0.5, 0.5, 1, 1])
    low = np.array([np.iinfo(np.int64).min, 0, 1, np.iinfo(np.int64).max])
    assert roc_auc_score(y, low) == 0.75  # no -score overflow at int64's minimum


def test_empty_input_says_it_is_empty():
    with pytest.raises(ValueError, match="roc_auc_score: y_true and y_score are empty"):
        roc_auc_score([], [])


def test_bool_scores_and_mixed_label_types():
    # bool scores were refused (scikit-learn: 0.75); mixed labels gave NumPy's bare TypeError
    assert roc_auc_score([0, 1, 0, 1], np.array([False, True, True, True])) == 0.75
    with pytest.raises(ValueError, match="roc_curve: mix of label input types"):
        roc_curve(np.array(["a", 1, "a", 1], dtype=object), [0.1, 0.2, 0.3, 0.4], pos_label=1)
