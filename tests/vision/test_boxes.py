"""box_area, box_iou, generalized_box_iou: SPEC vectors, a scalar reference, shapes, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl
from tests.vision._reference import scalar_iou
from tinydl.vision import box_area, box_iou, generalized_box_iou, nms


def random_boxes(rng, n, scale=100.0):
    xy = rng.uniform(0, scale, (n, 2))
    wh = rng.uniform(0, scale / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def scalar_giou(a, b):
    cw = max(a[2], b[2]) - min(a[0], b[0])
    ch = max(a[3], b[3]) - min(a[1], b[1])
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return scalar_iou(a, b) - (cw * ch - union) / (cw * ch)


def test_box_iou_spec_vector():
    assert box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)


def test_generalized_box_iou_spec_vector():
    assert generalized_box_iou([[0, 0, 1, 1]], [[2, 0, 3, 1]])[0, 0] == pytest.approx(-1 / 3)


def test_box_area_no_plus_one():
    np.testing.assert_array_equal(box_area(np.array([[0, 0, 2, 3], [1, 1, 1, 5]], dtype=np.float64)), [6, 0])


def test_box_area_of_integer_boxes_is_exact_int64():
    area = box_area(np.array([[0, 0, 4097, 4097], [1, 2, 3, 5]]))
    assert area.dtype == np.int64  # torchvision's; float32 rounded 16785409 to 16785408
    np.testing.assert_array_equal(area, [4097 * 4097, 6])
    assert box_area(np.zeros((0, 4), np.int32)).shape == (0,)


def test_box_iou_matches_scalar_reference():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 13), random_boxes(rng, 9)
    expected = np.array([[scalar_iou(p, q) for q in b] for p in a])
    np.testing.assert_allclose(box_iou(a, b), expected, rtol=1e-12, atol=0)
    assert (expected > 0).any() and (expected == 0).any()


def test_generalized_box_iou_matches_scalar_reference():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 8), random_boxes(rng, 11)
    expected = np.array([[scalar_giou(p, q) for q in b] for p in a])
    got = generalized_box_iou(a, b)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert (got >= -1).all() and (got <= box_iou(a, b) + 1e-15).all()


def test_touching_and_degenerate_boxes_give_zero():
    assert box_iou([[0, 0, 1, 1]], [[1, 0, 2, 1]])[0, 0] == 0
    # Two zero-area boxes: 0/0 in torchvision, 0 here (documented).
    assert box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0
    assert generalized_box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0
    assert box_iou([[0, 0, 2, 2]], [[0, 0, 2, 2]])[0, 0] == 1


def test_dtypes():
    a = np.array([[0, 0, 2, 2]], dtype=np.float64)
    assert box_iou(a, a).dtype == np.float64
    assert box_iou(a.astype(np.float32), a.astype(np.float32)).dtype == np.float32
    assert box_iou(a.astype(np.int64), a.astype(np.int64)).dtype == np.float32


def test_float16_and_huge_integer_boxes_and_scores_stay_exact():
    """float16 areas overflowed (300 x 300 > 65504: IoU 0, GIoU NaN, area inf); integers
    above 2^24 merged in float32 (IoU 0 for boxes 5 apart at x = 1e9; a score of 2^24 + 1
    ranked as 2^24)."""
    a = np.array([[0, 0, 300, 300]], np.float16)
    b = np.array([[0, 0, 300, 150]], np.float16)
    assert box_iou(a, b)[0, 0] == pytest.approx(0.5)
    assert generalized_box_iou(a, b)[0, 0] == pytest.approx(0.5)
    assert box_area(a)[0] == pytest.approx(90000)
    big = np.array([[10 ** 9, 0, 10 ** 9 + 10, 10], [10 ** 9 + 5, 0, 10 ** 9 + 15, 10]], np.int64)
    assert box_iou(big, big)[0, 1] == pytest.approx(1 / 3)
    np.testing.assert_array_equal(nms(big, np.array([0.9, 0.8]), 0.3), [0])
    same = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    np.testing.assert_array_equal(nms(same, np.array([2 ** 24, 2 ** 24 + 1]), 0.5), [1])


def test_accepts_tensors():
    a = tinydl.Tensor(np.array([[0, 0, 2, 2]], dtype=np.float64))
    b = tinydl.Tensor(np.array([[1, 1, 3, 3]], dtype=np.float64))
    assert box_iou(a, b)[0, 0] == pytest.approx(1 / 7)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 5), m=st.integers(0, 5), seed=st.integers(0, 2 ** 16))
def test_shapes_and_symmetry(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, n), random_boxes(rng, m)
    iou, giou = box_iou(a, b), generalized_box_iou(a, b)
    assert iou.shape == giou.shape == (n, m)
    np.testing.assert_allclose(box_iou(b, a), iou.T)
    assert ((iou >= 0) & (iou <= 1)).all()
    assert box_area(a).shape == (n,)


@pytest.mark.parametrize("fn", [box_iou, generalized_box_iou])
def test_bad_boxes_raise(fn):
    good = [[0, 0, 1, 1]]
    with pytest.raises(ValueError, match=fn.__name__ + r".*\(N, 4\)"):
        fn([[0, 0, 1]], good)
    with pytest.raises(ValueError, match=fn.__name__ + ".*x2 < x1"):
        fn(good, [[2, 0, 1, 1]])
    with pytest.raises(ValueError, match=fn.__name__ + ".*x2 < x1 or y2 < y1"):
        fn(good, [[0, 2, 1, 1]])
    with pytest.raises(ValueError, match=fn.__name__ + ".*NaN"):
        fn([[0, 0, np.nan, 1]], good)
    with pytest.raises(ValueError, match="box_area"):
        box_area(np.zeros((3, 5)))


@pytest.mark.parametrize("side", [1e20, 1e-30])
def test_float32_boxes_whose_areas_leave_float32_still_have_iou_one(side):
    """Identical float32 boxes with sides of 1e20 (area overflows) or 1e-30 (underflows)
    had IoU 0; the areas are now taken in float64, as nms takes them."""
    boxes = np.array([[0.0, 0.0, side, side]], np.float32)
    for fn in (box_iou, generalized_box_iou):
        out = fn(boxes, boxes)
        assert out.dtype == np.float32 and out[0, 0] == 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(box_iou(np.array([[0.0, 0.0, 1e200, 1e200]]),
                                np.array([[0.0, 0.0, 1e200, 1e200]]))[0, 0])
