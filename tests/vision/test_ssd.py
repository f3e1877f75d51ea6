"""SSD matching, hard-negative mining, the MultiBox loss and detect, each against a
straightforward loop-based reference written here (ssd.pytorch's semantics)."""
import math

import numpy as np
import pytest

import tinydl as td
from tinydl.vision import nms
from tinydl.vision.ssd import MultiBoxLoss, detect, hard_negative_mining, match_priors, priors_to_xyxy


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _encode(g, p):
    """SSD encoding with variances (0.1, 0.2), p in (cx, cy, w, h)."""
    gcx, gcy, gw, gh = (g[0] + g[2]) / 2, (g[1] + g[3]) / 2, g[2] - g[0], g[3] - g[1]
    return [(gcx - p[0]) / (0.1 * p[2]), (gcy - p[1]) / (0.1 * p[3]),
            math.log(gw / p[2]) / 0.2, math.log(gh / p[3]) / 0.2]


def reference_match(gt, labels, priors, threshold):
    corners = [[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] for cx, cy, w, h in priors]
    best_truth, best_overlap = [], []
    for p in corners:
        overlaps = [_iou(g, p) for g in gt]
        j = max(range(len(gt)), key=lambda k: (overlaps[k], -k))      # first of the maxima
        best_truth.append(j)
        best_overlap.append(overlaps[j])
    for j, g in enumerate(gt):                                        # later truths win
        overlaps = [_iou(g, p) for p in corners]
        i = max(range(len(corners)), key=lambda k: (overlaps[k], -k))
        best_truth[i] = j
        best_overlap[i] = 2.0
    loc = np.zeros((len(priors), 4))
    conf = np.zeros(len(priors), dtype=np.int64)
    for i in range(len(priors)):
        if best_overlap[i] >= threshold:
            conf[i] = labels[best_truth[i]] + 1
            loc[i] = _encode(gt[best_truth[i]], priors[i])
    return loc, conf


def random_priors(rng, n):
    centres = rng.uniform(0.1, 0.9, (n, 2))
    return np.concatenate([centres, rng.uniform(0.1, 0.5, (n, 2))], axis=1).astype(np.float32)


def random_gt(rng, n):
    xy = rng.uniform(0, 0.6, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(0.1, 0.4, (n, 2))], axis=1).astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_match_priors_agrees_with_loop_reference(seed):
    rng = np.random.default_rng(seed)
    priors, gt = random_priors(rng, 60), random_gt(rng, int(rng.integers(1, 6)))
    labels = rng.integers(0, 3, len(gt))
    loc, conf = match_priors(gt, labels, priors, iou_threshold=0.4)
    ref_loc, ref_conf = reference_match(gt.tolist(), labels, priors.tolist(), 0.4)
    np.testing.assert_array_equal(conf, ref_conf)
    np.testing.assert_allclose(loc, ref_loc, rtol=1e-4, atol=1e-4)
    assert loc.dtype == np.float32 and conf.dtype == np.int64


def test_every_ground_truth_claims_its_best_prior_even_below_threshold():
    priors = np.array([[0.2, 0.2, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2], [0.7, 0.7, 0.6, 0.6]], np.float32)
    gt = np.array([[0.0, 0.0, 0.5, 0.5]], np.float32)        # IoU .16 with prior 0, 0 with the rest
    loc, conf = match_priors(gt, np.array([2]), priors, iou_threshold=0.5)
    np.testing.assert_array_equal(conf, [3, 0, 0])
    np.testing.assert_allclose(loc[0], _encode(gt[0], priors[0]), rtol=1e-5)
    np.testing.assert_array_equal(loc[1:], 0)
    # Two ground truths with the same best prior: the later one takes it (ssd.pytorch's loop).
    twins = np.array([[0.1, 0.1, 0.3, 0.3], [0.11, 0.1, 0.3, 0.3]], np.float32)
    _, conf = match_priors(twins, np.array([0, 1]), priors)
    assert conf[0] == 2
    empty_loc, empty_conf = match_priors(np.zeros((0, 4)), np.zeros(0, np.int64), priors)
    assert not empty_conf.any() and not empty_loc.any()
    # An image without objects written as box_iou and nms take it: [] boxes, float empty labels.
    for boxes, labels in (([], []), (np.zeros((0, 4)), np.zeros(0)), (np.zeros(0), [])):
        loc, conf = match_priors(boxes, labels, priors)
        assert conf.shape == (len(priors),) and not conf.any() and not loc.any()


def test_match_priors_rejects_bad_input():
    priors = np.array([[0.5, 0.5, 0.2, 0.2]], np.float32)
    with pytest.raises(ValueError, match="match_priors: gt_labels"):
        match_priors(np.zeros((2, 4)), np.zeros(3, np.int64), priors)
    with pytest.raises(ValueError, match="match_priors: gt_boxes need positive"):
        match_priors(np.array([[0.2, 0.2, 0.2, 0.4]]), np.array([0]), priors)
    with pytest.raises(ValueError, match="match_priors: priors"):
        match_priors(np.array([[0.2, 0.2, 0.3, 0.4]]), np.array([0]), priors[:, :3])


def reference_mining(loss, positives, ratio):
    out = np.zeros_like(positives)
    for b in range(len(loss)):
        n_pos = int(positives[b].sum())
        candidates = sorted((i for i in range(loss.shape[1]) if not positives[b, i]),
                            key=lambda i: (-loss[b, i], i))
        for i in candidates[:min(ratio * n_pos, loss.shape[1] - n_pos)]:
            out[b, i] = True
    return out


@pytest.mark.parametrize("ratio", [1, 3])
def test_hard_negative_mining_agrees_with_loop_reference(ratio):
    rng = np.random.default_rng(ratio)
    loss = rng.random((4, 30)).round(1)                     # rounding makes ties
    positives = rng.random((4, 30)) < 0.15
    positives[1] = False                                    # no positives: no negatives
    positives[2, :25] = True                                # too few priors left for 3:1
    got = hard_negative_mining(loss, positives, ratio)
    np.testing.assert_array_equal(got, reference_mining(loss, positives, ratio))
    assert not got[1].any() and got[2].sum() == min(ratio * 25, 5)
    assert not (got & positives).any()


def reference_multibox(loc, conf, gts, labels, priors, threshold=0.5, ratio=3):
    loss_l = loss_c = 0.0
    n_pos = 0
    ce = np.zeros(conf.shape[:2])
    targets = [reference_match(g.tolist(), lab, priors.tolist(), threshold) for g, lab in zip(gts, labels)]
    for b, (loc_t, conf_t) in enumerate(targets):
        for i in range(conf.shape[1]):
            row = conf[b, i]
            lse = math.log(sum(math.exp(v) for v in row))
            ce[b, i] = lse - row[conf_t[i]]
    positives = np.stack([t[1] > 0 for t in targets])
    background_ce = np.array([[math.log(sum(math.exp(v) for v in conf[b, i])) - conf[b, i, 0]
                               for i in range(conf.shape[1])] for b in range(len(conf))])
    negatives = reference_mining(background_ce, positives, ratio)
    for b, (loc_t, conf_t) in enumerate(targets):
        for i in range(conf.shape[1]):
            if positives[b, i]:
                n_pos += 1
                for k in range(4):
                    d = abs(loc[b, i, k] - loc_t[i, k])
                    loss_l += 0.5 * d * d if d < 1 else d - 0.5
            if positives[b, i] or negatives[b, i]:
                loss_c += ce[b, i]
    n_pos = max(n_pos, 1)
    return loss_l / n_pos, loss_c / n_pos


def _loss_case(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    priors = random_priors(rng, 24)
    gts = [random_gt(rng, 2), random_gt(rng, 1)]
    labels = [rng.integers(0, 2, 2), rng.integers(0, 2, 1)]
    loc = rng.normal(0, 1, (2, 24, 4)).astype(dtype)
    conf = rng.normal(0, 2, (2, 24, 3)).astype(dtype)
    return priors, gts, labels, loc, conf


@pytest.mark.parametrize("seed", range(3))
def test_multibox_loss_agrees_with_loop_reference(seed):
    priors, gts, labels, loc, conf = _loss_case(seed, np.float64)
    loss_l, loss_c = MultiBoxLoss(priors, iou_threshold=0.3)(td.Tensor(loc), td.Tensor(conf), gts, labels)
    ref_l, ref_c = reference_multibox(loc, conf, gts, labels, priors, threshold=0.3)
    assert loss_l.item() == pytest.approx(ref_l, rel=1e-5) and ref_l > 0
    assert loss_c.item() == pytest.approx(ref_c, rel=1e-6) and ref_c > 0


def test_multibox_loss_gradient_passes_gradcheck():
    priors, gts, labels, loc, conf = _loss_case(7, np.float64)
    criterion = MultiBoxLoss(priors, iou_threshold=0.3)
    loc_t, conf_t = td.Tensor(loc, requires_grad=True), td.Tensor(conf, requires_grad=True)
    assert td.gradcheck(lambda a, b: sum(criterion(a, b, gts, labels)), (loc_t, conf_t))
    # Positives and mined negatives receive gradient; the other priors' scores do not.
    loss_l, loss_c = criterion(loc_t, conf_t, gts, labels)
    (loss_l + loss_c).backward()
    _, targets = criterion.targets(gts, labels)
    assert np.abs(conf_t.grad.data).sum(axis=2).astype(bool).sum() == 4 * (targets > 0).sum()
    np.testing.assert_array_equal(np.abs(loc_t.grad.data).sum(axis=2) > 0, targets > 0)


def test_multibox_loss_rejects_mismatched_shapes():
    priors, gts, labels, loc, conf = _loss_case(0)
    with pytest.raises(ValueError, match=r"MultiBoxLoss: expected loc \(2, 24, 4\)"):
        MultiBoxLoss(priors)(td.Tensor(loc[:, :20]), td.Tensor(conf), gts, labels)


def reference_detect(loc, conf, priors, score_threshold, nms_threshold, top_k):
    from tinydl.vision import BoxCoder
    corners = priors_to_xyxy(priors.astype(np.float64))
    out = []
    for b in range(len(loc)):
        boxes = np.clip(BoxCoder((10, 10, 5, 5)).decode(loc[b].astype(np.float64), corners), 0, 1)
        probs = np.exp(conf[b] - conf[b].max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        kept = []
        for c in range(1, conf.shape[2]):
            idx = [i for i in range(len(boxes)) if probs[i, c] > score_threshold]
            if not idx:
                continue
            for k in nms(boxes[idx], probs[idx, c], nms_threshold):
                kept.append((probs[idx[k], c], c - 1, idx[k]))
        kept.sort(key=lambda t: -t[0])
        kept = kept[:top_k]
        out.append(([boxes[i] for _, _, i in kept], [s for s, _, _ in kept], [c for _, c, _ in kept]))
    return out


def test_detect_agrees_with_per_class_nms_reference():
    rng = np.random.default_rng(3)
    priors = random_priors(rng, 80)
    loc = rng.normal(0, 0.5, (2, 80, 4)).astype(np.float32)
    conf = rng.normal(0, 2, (2, 80, 4)).astype(np.float32)
    got = detect(loc, conf, priors, score_threshold=0.3, nms_threshold=0.45, top_k=25, scale=64)
    for image, (boxes, scores, labels) in zip(got, reference_detect(loc, conf, priors, 0.3, 0.45, 25)):
        assert len(image["scores"]) == len(scores) == 25
        np.testing.assert_allclose(image["scores"], scores, rtol=1e-6)
        np.testing.assert_array_equal(image["labels"], labels)
        np.testing.assert_allclose(image["boxes"], np.array(boxes) * 64, rtol=1e-5, atol=1e-4)
        assert set(image["labels"]) <= {0, 1, 2}
    assert detect(loc, conf - 100 * (np.arange(4) > 0), priors)[0]["boxes"].shape == (0, 4)


def test_detect_rejects_mismatched_priors():
    with pytest.raises(ValueError, match="detect: loc"):
        detect(np.zeros((1, 5, 4)), np.zeros((1, 5, 3)), np.zeros((4, 4)))


def test_detect_top_k_none_keeps_all_and_a_bad_top_k_is_refused():
    rng = np.random.default_rng(5)
    priors = random_priors(rng, 40)
    loc = rng.normal(0, 0.5, (1, 40, 4))
    conf = rng.normal(0, 2, (1, 40, 3))
    every = detect(loc, conf, priors, score_threshold=0.2, top_k=None)[0]["scores"]
    assert len(every) == len(detect(loc, conf, priors, score_threshold=0.2, top_k=10 ** 6)[0]["scores"])
    assert len(detect(loc, conf, priors, score_threshold=0.2, top_k=np.int64(3))[0]["scores"]) == 3
    assert len(detect(loc, conf, priors, score_threshold=0.2, top_k=0)[0]["scores"]) == 0
    # -1 read as "no limit" elsewhere (mmdet) dropped the last detection here silently.
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError, match="detect: top_k"):
            detect(loc, conf, priors, top_k=bad)
