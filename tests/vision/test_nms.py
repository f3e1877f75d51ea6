"""nms (Numba kernel and NumPy twin), batched_nms, soft_nms against brute-force references."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl
from tests.vision._reference import scalar_iou
from tinydl.kernels.nms import nms_kernel, nms_numpy
from tinydl.vision import batched_nms, nms, soft_nms

SPEC_BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float64)
SPEC_SCORES = np.array([0.9, 0.8, 0.7])


def brute_force_nms(boxes, scores, threshold, labels=None):
    """A box survives iff no higher-ranked survivor (of its label) overlaps it by > threshold."""
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(scalar_iou(boxes[i], boxes[j]) <= threshold
               for j in kept if labels is None or labels[i] == labels[j]):
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def brute_force_soft_nms(boxes, scores, sigma, nt, score_threshold, method):
    """Bodla et al.'s pseudo-code, one box at a time."""
    scores = [float(s) for s in scores]
    alive = [i for i in range(len(boxes)) if scores[i] >= score_threshold]
    keep, kept_scores = [], []
    while alive:
        best = max(alive, key=lambda i: (scores[i], -i))
        keep.append(best)
        kept_scores.append(scores[best])
        alive.remove(best)
        for i in alive:
            iou = scalar_iou(boxes[best], boxes[i])
            if method == "gaussian":
                scores[i] *= math.exp(-iou * iou / sigma)
            elif iou > nt:
                scores[i] *= 1 - iou
        alive = [i for i in alive if scores[i] >= score_threshold]
    return np.array(keep, dtype=np.int64), np.array(kept_scores)


def random_boxes(rng, n, clustered=False):
    if clustered:
        centres = rng.uniform(0, 200, (max(n // 10, 1), 2))
        owner = rng.integers(0, len(centres), n)
        xy = centres[owner] + rng.normal(0, 3, (n, 2))
        wh = rng.uniform(15, 30, (n, 2))
    else:
        xy = rng.uniform(0, 100, (n, 2))
        wh = rng.uniform(1, 40, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.integers(0, 10, n) / 10.0  # many ties
    return boxes, scores


def sorted_columns(boxes, scores):
    order = np.argsort(-scores, kind="stable")
    return order, np.ascontiguousarray(boxes[order].T)


@pytest.fixture(params=[True, False], ids=["numba", "numpy"])
def backend(request):
    with tinydl.backends.flags(numba=request.param):
        yield request.param


def test_spec_thresholds(backend):
    assert nms(SPEC_BOXES, SPEC_SCORES, 0.5).tolist() == [0, 2]
    assert nms(SPEC_BOXES, SPEC_SCORES, 0.7).tolist() == [0, 1, 2]
    # IoU 81/119 = 0.68067...: kept just above it, suppressed just below.
    assert nms(SPEC_BOXES, SPEC_SCORES, 81 / 119 + 1e-9).tolist() == [0, 1, 2]
    assert nms(SPEC_BOXES, SPEC_SCORES, 81 / 119 - 1e-9).tolist() == [0, 2]


def test_iou_equal_to_threshold_is_kept(backend):
    boxes = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype=np.float64)  # IoU exactly 0.5
    assert nms(boxes, [0.9, 0.8], 0.5).tolist() == [0, 1]
    assert nms(boxes, [0.9, 0.8], 0.49).tolist() == [0]


def test_empty_and_single(backend):
    out = nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert out.dtype == np.int64 and out.shape == (0,)
    out = nms([[1, 2, 3, 4]], [0.3], 0.5)
    assert out.dtype == np.int64 and out.tolist() == [0]


def test_order_is_descending_score_with_stable_ties(backend):
    boxes = np.array([[0, 0, 1, 1], [10, 10, 11, 11], [20, 20, 21, 21], [30, 30, 31, 31]], dtype=float)
    assert nms(boxes, [0.5, 0.9, 0.5, 0.9], 0.5).tolist() == [1, 3, 0, 2]
    # Identical boxes with equal scores: the lower index survives.
    assert nms(np.repeat(boxes[:1], 3, axis=0), [0.4, 0.4, 0.4], 0.5).tolist() == [0]


@pytest.mark.parametrize("clustered", [False, True], ids=["uniform", "clustered"])
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_agrees_with_brute_force(backend, clustered, threshold):
    rng = np.random.default_rng(int(threshold * 10) + 100 * clustered)
    for n in (2, 17, 120):
        boxes, scores = random_boxes(rng, n, clustered)
        expected = brute_force_nms(boxes, scores, threshold)
        np.testing.assert_array_equal(nms(boxes, scores, threshold), expected)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 12), threshold=st.sampled_from([0.0, 0.25, 0.5, 1.0]), seed=st.integers(0, 2 ** 16))
def test_small_inputs_with_degenerate_boxes(n, threshold, seed):
    rng = np.random.default_rng(seed)
    # Integer corners on a small grid: exact ties in IoU and scores, zero-area boxes.
    corners = rng.integers(0, 4, (n, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1).astype(np.float64)
    scores = rng.integers(0, 3, n).astype(np.float64)
    expected = brute_force_nms(boxes, scores, threshold)
    _, columns = sorted_columns(boxes, scores)
    order = np.argsort(-scores, kind="stable")
    np.testing.assert_array_equal(order[nms_kernel(*columns, threshold)], expected)
    np.testing.assert_array_equal(order[nms_numpy(*columns, threshold)], expected)
    np.testing.assert_array_equal(nms(boxes, scores, threshold), expected)


def test_kernel_equals_numpy_twin():
    rng = np.random.default_rng(7)
    for n, clustered in [(1, False), (300, False), (600, True), (1500, True)]:
        boxes, scores = random_boxes(rng, n, clustered)
        _, columns = sorted_columns(boxes, scores)
        for threshold in (0.7, 0.5, 0.2):
            twin = nms_numpy(*columns, threshold)
            np.testing.assert_array_equal(nms_kernel(*columns, threshold), twin)
    # Enough suppression in the last set to exercise the kernel's tail compaction.
    assert len(twin) < n // 4


def test_zero_area_boxes_do_not_suppress_each_other(backend):
    boxes = np.array([[5, 5, 5, 5], [5, 5, 5, 5], [0, 0, 10, 10]], dtype=float)
    assert nms(boxes, [0.9, 0.8, 0.7], 0.0).tolist() == [0, 1, 2]


def test_backends_switch_is_read_at_call_time(monkeypatch):
    import tinydl.vision.boxes as boxes_module

    calls = []
    monkeypatch.setattr(boxes_module, "nms_numpy", lambda *a: calls.append("numpy") or nms_numpy(*a))
    with tinydl.backends.flags(numba=False):
        nms(SPEC_BOXES, SPEC_SCORES, 0.5)
    with tinydl.backends.flags(numba=True):
        nms(SPEC_BOXES, SPEC_SCORES, 0.5)
    assert calls == ["numpy"]


@pytest.mark.parametrize("fn", ["nms", "batched_nms", "soft_nms"])
def test_bad_input_raises(fn):
    call = {
        "nms": lambda b, s, t=0.5: nms(b, s, t),
        "batched_nms": lambda b, s, t=0.5: batched_nms(b, s, np.zeros(len(np.asarray(s)), int), t),
        "soft_nms": lambda b, s, t=0.5: soft_nms(b, s, iou_threshold=t),
    }[fn]
    with pytest.raises(ValueError, match=fn + r".*\(N, 4\)"):
        call(np.zeros((2, 3)), [0.1, 0.2])
    with pytest.raises(ValueError, match=fn + ".*x2 < x1"):
        call([[2, 0, 1, 1]], [0.1])
    with pytest.raises(ValueError, match=fn + ".*NaN"):
        call(SPEC_BOXES, [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match=fn + ".*>= 0"):
        call(SPEC_BOXES, SPEC_SCORES, -0.1)
    with pytest.raises(ValueError, match=fn + r".*\(3,\)"):
        call(SPEC_BOXES, [0.1, 0.2])


def test_batched_nms_equals_per_class_brute_force():
    rng = np.random.default_rng(3)
    boxes, scores = random_boxes(rng, 150, clustered=True)
    # Negative coordinates: the offset trick with a wrong stride would merge classes here.
    boxes -= 120
    labels = rng.integers(0, 4, 150)
    expected = brute_force_nms(boxes, scores, 0.4, labels)
    expected = expected[np.argsort(-scores[expected], kind="stable")]
    np.testing.assert_array_equal(batched_nms(boxes, scores, labels, 0.4), expected)


def test_batched_nms_classes_do_not_interact():
    labels = np.array([0, 1, 0])
    assert batched_nms(SPEC_BOXES, SPEC_SCORES, labels, 0.5).tolist() == [0, 1, 2]
    assert batched_nms(SPEC_BOXES, SPEC_SCORES, np.zeros(3, int), 0.5).tolist() == [0, 2]
    assert batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).dtype == np.int64


def test_soft_nms_spec_scores():
    boxes, scores = SPEC_BOXES[:2], np.array([0.9, 0.8])
    keep, new = soft_nms(boxes, scores, method="linear", iou_threshold=0.3)
    assert keep.tolist() == [0, 1]
    np.testing.assert_allclose(new, [0.9, 0.8 * (1 - 81 / 119)])
    assert new[1] == pytest.approx(0.255462, abs=1e-6)
    keep, new = soft_nms(boxes, scores, sigma=0.5)
    assert new[1] == pytest.approx(0.316709, abs=1e-6)
    np.testing.assert_allclose(new[1], 0.8 * np.exp(-(81 / 119) ** 2 / 0.5))


def test_soft_nms_linear_leaves_low_overlap_alone():
    _, new = soft_nms(SPEC_BOXES[:2], [0.9, 0.8], method="linear", iou_threshold=0.7)
    np.testing.assert_allclose(new, [0.9, 0.8])


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_matches_brute_force(method):
    rng = np.random.default_rng(11)
    boxes, scores = random_boxes(rng, 60, clustered=True)
    scores = scores + 0.05
    keep, new = soft_nms(boxes, scores, sigma=0.5, iou_threshold=0.3, score_threshold=0.05, method=method)
    ref_keep, ref_scores = brute_force_soft_nms(boxes, scores, 0.5, 0.3, 0.05, method)
    np.testing.assert_array_equal(keep, ref_keep)
    np.testing.assert_allclose(new, ref_scores, rtol=1e-12)
    assert len(keep) < 60  # some boxes fell below the score threshold


def test_soft_nms_bad_method():
    with pytest.raises(ValueError, match="soft_nms.*method"):
        soft_nms(SPEC_BOXES, SPEC_SCORES, method="hard")
    with pytest.raises(ValueError, match="soft_nms.*sigma"):
        soft_nms(SPEC_BOXES, SPEC_SCORES, sigma=0)


@settings(max_examples=40, deadline=None)
@given(scores=hnp.arrays(np.float32, st.integers(0, 60),
                         elements=st.sampled_from([0.0, -0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(
                             -1, 1, width=32)))
def test_descending_order_equals_stable_argsort(scores):
    from tinydl.vision.boxes import descending_order
    np.testing.assert_array_equal(descending_order(scores), np.argsort(-scores, kind="stable"))
