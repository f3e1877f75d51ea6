"""Receiver operating characteristic: `roc_curve` and `roc_auc_score` (binary).

Convention of scikit-learn's `_binary_clf_curve` (SPEC.md section 5): scores sorted in
descending order (stable), one ROC point per distinct score, counts accumulated, the
point (0, 0) prepended with threshold +inf. Tied scores form one step, so the area
counts a tied positive/negative pair as 1/2: AUC = Mann-Whitney U / (n_pos n_neg).
"""
import numpy as np

from tinydl.ml.base import unique_labels


def _check_binary(y_true, y_score, pos_label, where):
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.ndim != 1 or y_score.ndim != 1:
        raise ValueError(f"{where}: y_true and y_score must be 1-D, got shapes "
                         f"{y_true.shape} and {y_score.shape}")
    if y_true.shape != y_score.shape:
        raise ValueError(f"{where}: y_true has {y_true.size} entries but y_score has "
                         f"{y_score.size}")
    if y_score.dtype == np.bool_:  # scikit-learn takes them (as 0 and 1)
        y_score = y_score.astype(np.int64)
    if y_score.dtype == object or not np.issubdtype(y_score.dtype, np.number):
        raise TypeError(f"{where}: y_score must be numeric, got dtype {y_score.dtype}")
    # Integer scores stay integers: float64 would merge those past 2**53 into ties.
    if y_score.dtype.kind == "f":
        y_score = y_score.astype(np.float64)
    if not np.all(np.isfinite(y_score)):
        raise ValueError(f"{where}: y_score contains NaN or infinity")
    if np.issubdtype(y_true.dtype, np.floating) and not np.all(np.isfinite(y_true)):
        raise ValueError(f"{where}: y_true contains NaN or infinity")
    classes = unique_labels(y_true, where)
    if classes.size > 2:
        raise ValueError(f"{where}: y_true has {classes.size} classes {classes.tolist()}; "
                         "only binary labels are supported")
    if pos_label is None:
        if not (set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}):
            raise ValueError(f"{where}: labels {classes.tolist()} are not {{0, 1}} or "
                             "{-1, 1}; pass pos_label")
        pos_label = 1
    elif classes.size and pos_label not in classes.tolist():
        # Else every sample reads as negative, and the message would blame the data.
        raise ValueError(f"{where}: pos_label={pos_label!r} is not among y_true's labels "
                         f"{classes.tolist()}")
    return y_true == pos_label, y_score


def _cumulative_counts(positive, score):
    """(false positives, true positives, thresholds) at each distinct score, descending."""
    order = np.argsort(score)[::-1]  # descending (no -score: it overflows int64's minimum)
    score, positive = score[order], positive[order]
    # The last index of each run of equal scores closes one step of the curve.
    ends = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    tps = np.cumsum(positive)[ends]
    fps = (ends + 1) - tps
    return fps, tps, score[ends]


def _roc_counts(y_true, y_score, pos_label, where):
    """Validated inputs -> (fps, tps, thresholds, n_neg, n_pos)."""
    positive, score = _check_binary(y_true, y_score, pos_label, where)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if positive.size == 0:
        raise ValueError(f"{where}: y_true and y_score are empty; the ROC curve needs samples "
                         "of both classes")
    if n_pos == 0 or n_neg == 0:
        present = "positive" if n_neg == 0 else "negative"
        raise ValueError(f"{where}: y_true contains only {present} samples (one class); "
                         "the ROC curve needs both classes")
    return (*_cumulative_counts(positive, score), n_neg, n_pos)


def roc_curve(y_true, y_score, pos_label=None, drop_intermediate=True):
    """ROC curve of binary labels y_true (n,) against scores y_score (n,), higher meaning
    more positive.

    Returns (fpr, tpr, thresholds), each of length m + 1 for m kept distinct scores:
    fpr_k = FP_k / n_neg and tpr_k = TP_k / n_pos when predicting positive for
    score >= thresholds_k; thresholds[0] = +inf gives the point (0, 0).
    pos_label: the positive label (default 1 for labels in {0, 1} or {-1, 1}).
    drop_intermediate: drop points on straight segments of the curve (as scikit-learn;
    the area is unchanged). Raises ValueError when y_true has only one class.
    """
    fps, tps, thresholds, n_neg, n_pos = _roc_counts(y_true, y_score, pos_label,
                                                     "roc_curve")
    if drop_intermediate and fps.size > 2:
        # Keep the endpoints and every point where the slope changes.
        bend = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
        fps, tps, thresholds = fps[bend], tps[bend], thresholds[bend]
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc_score(y_true, y_score, pos_label=None):
    """Area under the ROC curve, trapezoid(tpr, fpr), a float in [0, 1].

    Equals the probability that a random positive scores above a random negative, ties
    counting 1/2. Binary labels only; raises ValueError when y_true has one class.
    Example (SPEC.md): y = [0, 0, 1, 1], s = [.1, .4, .35, .8] -> 0.75.
    """
    fps, tps, _, n_neg, n_pos = _roc_counts(y_true, y_score, pos_label, "roc_auc_score")
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)
