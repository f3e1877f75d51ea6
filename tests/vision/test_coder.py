"""BoxCoder: the SPEC vector, round trips, the decode clamp, the (N, 4K) layout and errors."""
import math

import numpy as np
import pytest

from tinydl.vision import BoxCoder


def test_spec_vector():
    deltas = BoxCoder(weights=(10, 10, 5, 5)).encode([[1, 2, 11, 14]], [[0, 0, 10, 10]])
    np.testing.assert_allclose(deltas[0], [1.0, 3.0, 0.0, 5 * math.log(1.2)], rtol=1e-6)
    assert deltas[0, 3] == pytest.approx(0.911608, abs=1e-6)


@pytest.mark.parametrize("weights", [(1, 1, 1, 1), (10, 10, 5, 5)])
def test_round_trip(weights):
    rng = np.random.default_rng(0)
    anchors = np.concatenate([xy := rng.uniform(0, 100, (50, 2)), xy + rng.uniform(1, 50, (50, 2))], axis=1)
    gt = np.concatenate([xy := rng.uniform(0, 100, (50, 2)), xy + rng.uniform(1, 50, (50, 2))], axis=1)
    coder = BoxCoder(weights)
    deltas = coder.encode(gt, anchors)
    assert deltas.dtype == np.float64
    np.testing.assert_allclose(coder.decode(deltas, anchors), gt, rtol=1e-10, atol=1e-10)


def test_encode_formula_by_hand():
    anchor = np.array([[2.0, 4.0, 6.0, 12.0]])  # cx 4, cy 8, w 4, h 8
    gt = np.array([[1.0, 5.0, 9.0, 9.0]])  # cx 5, cy 7, w 8, h 4
    np.testing.assert_allclose(BoxCoder().encode(gt, anchor)[0],
                               [1 / 4, -1 / 8, math.log(2), math.log(0.5)])


def test_decode_clamps_only_from_above():
    coder = BoxCoder()
    anchors = np.array([[0.0, 0.0, 10.0, 10.0]] * 2)
    boxes = coder.decode(np.array([[0, 0, 20.0, -20.0], [0, 0, -3.0, 1.0]]), anchors)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    assert w[0] == pytest.approx(10 * 1000 / 16)  # exp(log(1000/16)) * 10
    assert h[0] == pytest.approx(10 * math.exp(-20))
    assert w[1] == pytest.approx(10 * math.exp(-3)) and h[1] == pytest.approx(10 * math.e)
    np.testing.assert_allclose((boxes[:, :2] + boxes[:, 2:]) / 2, 5.0)


def test_decode_several_boxes_per_anchor():
    coder = BoxCoder((10, 10, 5, 5))
    anchors = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 25.0, 15.0]])
    deltas = np.random.default_rng(1).normal(size=(2, 12))
    together = coder.decode(deltas, anchors)
    assert together.shape == (2, 12)
    for k in range(3):
        np.testing.assert_allclose(together[:, 4 * k:4 * k + 4],
                                   coder.decode(deltas[:, 4 * k:4 * k + 4], anchors))


def test_float32_stays_float32():
    coder = BoxCoder()
    anchors = np.array([[0, 0, 10, 10]], dtype=np.float32)
    assert coder.encode(anchors, anchors).dtype == np.float32
    assert coder.decode(np.zeros((1, 4), np.float32), anchors).dtype == np.float32


def test_errors():
    coder = BoxCoder()
    with pytest.raises(ValueError, match="BoxCoder.encode.*positive"):
        coder.encode([[0, 0, 0, 5]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="BoxCoder.encode.*must match"):
        coder.encode([[0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 2, 2]])
    with pytest.raises(ValueError, match="BoxCoder.decode"):
        coder.decode(np.zeros((1, 5)), [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="BoxCoder.decode.*NaN"):
        coder.decode([[np.nan, 0, 0, 0]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="BoxCoder.*weights"):
        BoxCoder((1, 1, 0, 1))


@pytest.mark.parametrize("k", [1, 2])
def test_decode_of_no_anchor_is_empty(k):
    # An image with no proposal left: decode raised NumPy's reshape error.
    out = BoxCoder((10, 10, 5, 5)).decode(np.zeros((0, 4 * k), np.float32),
                                          np.zeros((0, 4), np.float32))
    assert out.shape == (0, 4 * k) and out.dtype == np.float32
