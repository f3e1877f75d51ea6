"""ssd_prior_boxes, AnchorGenerator, kmeans_anchors and fpn_level against SPEC vectors and loops."""
import math

import numpy as np
import pytest

from tinydl.vision import AnchorGenerator, fpn_level, kmeans_anchors, ssd_prior_boxes

VOC300 = dict(image_size=300, feature_maps=[38, 19, 10, 5, 3, 1], steps=[8, 16, 32, 64, 100, 300],
              min_sizes=[30, 60, 111, 162, 213, 264], max_sizes=[60, 111, 162, 213, 264, 315],
              aspect_ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])


def loop_priors(image_size, feature_maps, steps, min_sizes, max_sizes, aspect_ratios, clip=True):
    """ssd.pytorch's PriorBox.forward, written as its nested loops."""
    out = []
    for k, f in enumerate(feature_maps):
        for i in range(f):
            for j in range(f):
                f_k = image_size / steps[k]
                cx, cy = (j + 0.5) / f_k, (i + 0.5) / f_k
                s_k = min_sizes[k] / image_size
                out.append([cx, cy, s_k, s_k])
                s_prime = math.sqrt(s_k * (max_sizes[k] / image_size))
                out.append([cx, cy, s_prime, s_prime])
                for ar in aspect_ratios[k]:
                    out.append([cx, cy, s_k * math.sqrt(ar), s_k / math.sqrt(ar)])
                    out.append([cx, cy, s_k / math.sqrt(ar), s_k * math.sqrt(ar)])
    out = np.array(out)
    return np.clip(out, 0, 1) if clip else out


def test_ssd_voc300_spec_vectors():
    priors = ssd_prior_boxes(**VOC300)
    assert priors.shape == (8732, 4) and priors.dtype == np.float32
    np.testing.assert_allclose(priors[0], [0.013333, 0.013333, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(priors[1], [0.013333, 0.013333, 0.141421, 0.141421], atol=1e-6)
    np.testing.assert_allclose(priors[-1], [0.5, 0.5, 0.622254, 1.0], atol=1e-6)


def test_ssd_matches_reference_loops():
    np.testing.assert_allclose(ssd_prior_boxes(**VOC300), loop_priors(**VOC300), rtol=1e-6, atol=1e-7)
    unclipped = ssd_prior_boxes(**VOC300, clip=False)
    np.testing.assert_allclose(unclipped, loop_priors(**VOC300, clip=False), rtol=1e-6, atol=1e-7)
    assert unclipped.max() > 1


def test_ssd_bad_configuration():
    bad = dict(VOC300, steps=[8, 16])
    with pytest.raises(ValueError, match="ssd_prior_boxes"):
        ssd_prior_boxes(**bad)
    with pytest.raises(ValueError, match="ssd_prior_boxes.*min_sizes"):
        ssd_prior_boxes(**dict(VOC300, min_sizes=[0, 60, 111, 162, 213, 264]))


def test_anchor_generator_base_anchors():
    gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((0.5, 1.0, 2.0),))
    np.testing.assert_array_equal(gen.cell_anchors[0],
                                  [[-23, -11, 23, 11], [-16, -16, 16, 16], [-11, -23, 11, 23]])
    assert gen.num_anchors_per_location() == [3]


def test_anchor_generator_ratio_major_and_rounding():
    base = AnchorGenerator.base_anchors((16, 32), (0.5, 2.0))
    # Ratio-major: both sizes of ratio .5 first. Widths 16*sqrt(2) = 22.63 -> half 11.31 -> 11.
    w = base[:, 2] - base[:, 0]
    h = base[:, 3] - base[:, 1]
    np.testing.assert_array_equal(w, [22, 46, 12, 22])
    np.testing.assert_array_equal(h, [12, 22, 22, 46])
    # Half to even: 2.5 -> 2 (size 5, ratio 1).
    np.testing.assert_array_equal(AnchorGenerator.base_anchors((5,), (1.0,)), [[-2, -2, 2, 2]])


def test_anchor_generator_grid_layout():
    gen = AnchorGenerator(sizes=(16, 64), aspect_ratios=(0.5, 1.0, 2.0))  # flat: one size per level
    assert len(gen.cell_anchors) == 2 and gen.num_anchors_per_location() == [3, 3]
    grids = [(4, 5), (2, 3)]
    anchors = gen((64, 80), grids)
    expected = []
    for (gh, gw), base in zip(grids, gen.cell_anchors):
        sy, sx = 64 // gh, 80 // gw
        for i in range(gh):
            for j in range(gw):
                for a in base:
                    expected.append(a + [j * sx, i * sy, j * sx, i * sy])
    np.testing.assert_array_equal(anchors, np.array(expected))


def test_anchor_generator_errors():
    with pytest.raises(ValueError, match="AnchorGenerator"):
        AnchorGenerator(sizes=((32,), (64,)), aspect_ratios=((1.0,), (1.0,), (1.0,)))
    gen = AnchorGenerator(sizes=((32,),), aspect_ratios=((1.0,),))
    with pytest.raises(ValueError, match="AnchorGenerator.*feature maps"):
        gen((64, 64), [(2, 2), (1, 1)])
    with pytest.raises(ValueError, match="AnchorGenerator: sizes must give at least one level"):
        AnchorGenerator((), ())  # was accepted, then a bare NumPy error at the first call


def wh_iou(wh, c):
    inter = np.minimum(wh[:, None, 0], c[None, :, 0]) * np.minimum(wh[:, None, 1], c[None, :, 1])
    return inter / (wh.prod(1)[:, None] + c.prod(1)[None, :] - inter)


def test_kmeans_anchors_recovers_separated_clusters():
    rng = np.random.default_rng(0)
    truth = np.array([[10.0, 20.0], [60.0, 30.0], [150.0, 200.0]])
    wh = np.concatenate([t * np.exp(rng.normal(0, 0.05, (40, 2))) for t in truth])
    centroids, mean_iou = kmeans_anchors(wh, 3, seed=1, return_iou=True)
    np.testing.assert_allclose(centroids, truth, rtol=0.05)
    areas = centroids.prod(1)
    assert (np.diff(areas) > 0).all()
    assert mean_iou == pytest.approx(wh_iou(wh, centroids).max(1).mean())
    assert mean_iou > 0.85


@pytest.mark.parametrize("center", ["median", "mean"])
def test_kmeans_anchors_is_a_fixed_point(center):
    rng = np.random.default_rng(5)
    wh = np.exp(rng.uniform(np.log(4), np.log(300), (300, 2)))
    centroids = kmeans_anchors(wh, 6, seed=3, center=center)
    assignment = np.argmin(1 - wh_iou(wh, centroids), axis=1)
    reduce = np.median if center == "median" else np.mean
    for c in range(6):
        members = wh[assignment == c]
        assert len(members), f"cluster {c} empty"
        np.testing.assert_allclose(reduce(members, axis=0), centroids[c], rtol=1e-12)


@pytest.mark.parametrize("center", ["median", "mean"])
def test_kmeans_anchors_empty_cluster_is_reseeded(center):
    # Small integer boxes where, from several of these Forgy starts, an update leaves a
    # cluster empty (found by tracing the re-seed branch).
    wh = np.array([[2, 4], [5, 4], [6, 4], [2, 6], [4, 5], [4, 4]], dtype=float)
    for seed in range(30):
        centroids = kmeans_anchors(wh, 4, seed=seed, center=center)
        assignment = np.argmin(1 - wh_iou(wh, centroids), axis=1)
        assert np.bincount(assignment, minlength=4).min() > 0, f"seed {seed}: a cluster is empty"
        reduce = np.median if center == "median" else np.mean
        for c in range(4):
            np.testing.assert_allclose(reduce(wh[assignment == c], axis=0), centroids[c])


def test_kmeans_anchors_seeded():
    rng = np.random.default_rng(2)
    wh = rng.uniform(1, 100, (200, 2))
    np.testing.assert_array_equal(kmeans_anchors(wh, 5, seed=4), kmeans_anchors(wh, 5, seed=4))


def test_kmeans_anchors_errors():
    with pytest.raises(ValueError, match="kmeans_anchors.*> 0"):
        kmeans_anchors([[1, 2], [0, 3], [4, 5]], 2)
    with pytest.raises(ValueError, match=r"kmeans_anchors.*\(n, 2\)"):
        kmeans_anchors(np.ones((5, 3)), 2)
    with pytest.raises(ValueError, match="kmeans_anchors.*k"):
        kmeans_anchors([[1, 2], [1, 2], [3, 4]], 3)


def test_fpn_level_spec_vectors():
    sides = np.array([224, 112, 56, 28, 448, 896, 1], dtype=np.float64)
    boxes = np.stack([np.zeros_like(sides), np.zeros_like(sides), sides, sides], axis=1)
    levels = fpn_level(boxes)
    assert levels.dtype == np.int64
    assert levels.tolist() == [4, 3, 2, 2, 5, 5, 2]


def test_fpn_level_formula_and_clamp():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (100, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 1000, (100, 2))], axis=1)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    expected = np.clip(np.floor(4 + np.log2(np.sqrt(area) / 224) + 1e-6), 2, 5)
    np.testing.assert_array_equal(fpn_level(boxes), expected)
    assert fpn_level(boxes, k_min=3, k_max=6).min() >= 3
    assert fpn_level([[0, 0, 0, 5]]).tolist() == [2]  # zero area goes to k_min
    with pytest.raises(ValueError, match="fpn_level"):
        fpn_level([[0, 0, 1]])
