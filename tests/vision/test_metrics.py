"""voc_ap and evaluate_detections: closed forms, the SPEC COCO case, loop transcriptions of
py-faster-rcnn's voc_eval and pycocotools' COCOeval, and (when installed) pycocotools itself."""
import numpy as np
import pytest

from tinydl.vision import evaluate_detections, voc_ap


# ----------------------------------------------------------------------------- voc_ap
def test_voc_ap_closed_forms():
    assert voc_ap([1.0], [1.0]) == 1.0
    # Recall steps 0 -> .5 and .5 -> 1 under the envelope 1 and 2/3 (the .5 at recall .5 is
    # lifted by the later 2/3).
    assert voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert voc_ap([], []) == 0.0
    assert voc_ap([0.0, 0.0], [0.0, 0.0]) == 0.0


def test_voc07_uses_numpy_arange_thresholds():
    # np.arange(0, 1.1, .1)[3] is 0.30000000000000004 > 0.3, so recall 0.3 reaches only t = 0, .1, .2.
    assert voc_ap([0.3], [1.0], use_07_metric=True) == pytest.approx(3 / 11)
    assert voc_ap([1.0], [0.5], use_07_metric=True) == pytest.approx(0.5)
    assert voc_ap([0.5, 1.0], [1.0, 0.5], use_07_metric=True) == pytest.approx((6 * 1.0 + 5 * 0.5) / 11)
    assert voc_ap([], [], use_07_metric=True) == 0.0


def test_voc_ap_errors():
    with pytest.raises(ValueError, match="voc_ap"):
        voc_ap([0.1, 0.2], [1.0])
    with pytest.raises(ValueError, match="voc_ap"):
        voc_ap([np.nan], [1.0])


# ----------------------------------------------------------------------------- helpers
def det(boxes, scores, labels):
    return {"boxes": np.asarray(boxes, float).reshape(-1, 4), "scores": np.asarray(scores, float),
            "labels": np.asarray(labels, int)}


def gt(boxes, labels, **flags):
    out = {"boxes": np.asarray(boxes, float).reshape(-1, 4), "labels": np.asarray(labels, int)}
    out.update({k: np.asarray(v, bool) for k, v in flags.items()})
    return out


def scalar_iou(a, b, crowd=False):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    union = area_a if crowd else area_a + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def random_dataset(rng, n_images=4, n_classes=3, max_dets=25):
    dets, gts = [], []
    for _ in range(n_images):
        g = int(rng.integers(0, 7))
        xy = np.round(rng.uniform(0, 300, (g, 2)))
        wh = np.round(np.exp(rng.uniform(np.log(10), np.log(150), (g, 2))))
        labels = rng.integers(0, n_classes, g)
        gts.append(gt(np.c_[xy, xy + wh], labels, difficult=rng.random(g) < 0.2,
                      iscrowd=rng.random(g) < 0.15))
        d = int(rng.integers(0, max_dets))
        src = rng.integers(0, max(g, 1), d)
        if g:
            dxy = xy[src] + np.round(rng.normal(0, 0.15, (d, 2)) * wh[src])
            dwh = np.maximum(np.round(wh[src] * np.exp(rng.normal(0, 0.2, (d, 2)))), 1)
            dl = np.where(rng.random(d) < 0.8, labels[src], rng.integers(0, n_classes, d))
        else:
            dxy, dwh = rng.uniform(0, 300, (d, 2)), rng.uniform(5, 80, (d, 2))
            dl = rng.integers(0, n_classes, d)
        dets.append(det(np.c_[dxy, dxy + dwh], np.round(rng.random(d), 1), dl))  # score ties
    return dets, gts


# ----------------------------------------------------------------------------- VOC
def voc_eval_loops(dets, gts, label, threshold, use_07):
    """py-faster-rcnn voc_eval (no +1, stable sort), one detection at a time."""
    npos = 0
    for g in gts:
        difficult = g.get("difficult", np.zeros(len(g["labels"]), bool))
        npos += int(((g["labels"] == label) & ~difficult).sum())
    records = []
    for i, d in enumerate(dets):
        for b, s, lab in zip(d["boxes"], d["scores"], d["labels"]):
            if lab == label:
                records.append((i, b, s))
    order = np.argsort(-np.array([r[2] for r in records]), kind="stable")
    used = [np.zeros(len(g["labels"]), bool) for g in gts]
    tp, fp = np.zeros(len(records)), np.zeros(len(records))
    for rank, r in enumerate(order):
        image, box, _ = records[r]
        g = gts[image]
        difficult = g.get("difficult", np.zeros(len(g["labels"]), bool))
        best, best_j = -np.inf, -1
        for j, (gb, gl) in enumerate(zip(g["boxes"], g["labels"])):
            if gl == label:
                iou = scalar_iou(box, gb)
                if iou > best:
                    best, best_j = iou, j
        if best > threshold:
            if not difficult[best_j]:
                if not used[image][best_j]:
                    tp[rank] = 1
                    used[image][best_j] = True
                else:
                    fp[rank] = 1
        else:
            fp[rank] = 1
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec, use_07)


@pytest.mark.parametrize("method", ["voc", "voc07"])
def test_voc_matches_loop_transcription(method):
    rng = np.random.default_rng(0)
    for _ in range(8):
        dets, gts = random_dataset(rng)
        result = evaluate_detections(dets, gts, 0.5, method)
        for label, ap in result["ap_per_class"].items():
            assert ap == pytest.approx(voc_eval_loops(dets, gts, label, 0.5, method == "voc07"), abs=1e-12)
        assert result["map"] == pytest.approx(np.mean(list(result["ap_per_class"].values())))


def test_voc_by_hand():
    g = [gt([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], [1, 1, 1], difficult=[0, 0, 1])]
    d = [det([[0, 0, 10, 10], [0, 0, 10, 11], [50, 50, 60, 60], [100, 100, 110, 110], [20, 20, 30, 30]],
             [0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 1, 1, 1])]
    # TP, FP (duplicate), ignored (difficult), FP, TP: npos 2.
    # rec .5 .5 .5 .5 1; prec 1 .5 .5 1/3 .5 -> envelope 1 up to .5, .5 up to 1 -> .75.
    assert evaluate_detections(d, g, method="voc")["ap_per_class"] == {1: pytest.approx(0.75)}
    # VOC07: t <= .5 (6 points) -> 1, t > .5 (5 points) -> .5.
    assert evaluate_detections(d, g, method="voc07")["map"] == pytest.approx((6 + 2.5) / 11)


def test_voc_iou_threshold_is_strict():
    g = [gt([[0, 0, 2, 1]], [0])]
    d = [det([[0, 0, 1, 1]], [0.9], [0])]  # IoU exactly .5
    assert evaluate_detections(d, g, 0.5)["map"] == 0.0
    assert evaluate_detections(d, g, 0.49)["map"] == 1.0


def test_no_detections_gives_zero_and_only_difficult_is_skipped():
    g = [gt([[0, 0, 5, 5], [10, 10, 20, 20]], [3, 4], difficult=[0, 1])]
    result = evaluate_detections([det(np.zeros((0, 4)), [], [])], g, method="voc")
    assert result == {"map": 0.0, "ap_per_class": {3: 0.0}}


# ----------------------------------------------------------------------------- COCO
def test_coco_spec_case():
    g = [gt([[0, 0, 100, 100]], [1])]
    d = [det([[0, 0, 62, 100], [0, 0, 92, 100]], [0.9, 0.8], [1, 1])]  # IoU .62 and .92
    result = evaluate_detections(d, g, method="coco")
    np.testing.assert_allclose(result["ap_per_iou"], [1, 1, 1, .5, .5, .5, .5, .5, .5, 0], atol=1e-12)
    assert result["map"] == pytest.approx(0.6)
    assert result["map_50"] == pytest.approx(1.0) and result["map_75"] == pytest.approx(0.5)
    assert result["ap_per_class"] == {1: pytest.approx(0.6)}
    # GT area 10000 is "large"; both detections are smaller than 96^2 and, when unmatched,
    # are ignored in that range instead of counting as false positives.
    assert result["map_large"] == pytest.approx(0.9)
    assert result["map_small"] == -1.0 and result["map_medium"] == -1.0


def test_coco_crowd_absorbs_detections():
    g = [gt([[0, 0, 50, 50], [100, 100, 300, 300]], [0, 0], iscrowd=[0, 1])]
    # Two detections inside the crowd region (IoU over their own area = 1) are ignored,
    # not false positives; the regular GT is found at the lowest score.
    d = [det([[120, 120, 160, 160], [200, 200, 260, 260], [0, 0, 50, 50]], [0.9, 0.8, 0.7], [0, 0, 0])]
    assert evaluate_detections(d, g, method="coco")["map"] == pytest.approx(1.0)
    # Without the crowd flag they are false positives: precision 1/3 at recall 1.
    g_plain = [gt(g[0]["boxes"][:1], [0])]
    assert evaluate_detections(d, g_plain, method="coco")["map"] == pytest.approx(1 / 3)


def test_coco_iou_equal_to_threshold_matches():
    g = [gt([[0, 0, 20, 10]], [0])]
    d = [det([[0, 0, 10, 10]], [0.9], [0])]  # IoU exactly .5
    np.testing.assert_allclose(evaluate_detections(d, g, method="coco")["ap_per_iou"], [1] + [0] * 9)


def test_coco_equal_iou_goes_to_the_later_gt():
    # The first detection overlaps both GT with IoU 2/3; pycocotools gives it the later one
    # (B), so the second detection, a perfect fit to B, finds only A (IoU .43) left.
    g = [gt([[0, 0, 10, 10], [4, 0, 14, 10]], [0, 0])]
    d = [det([[2, 0, 12, 10], [4, 0, 14, 10]], [0.9, 0.8], [0, 0])]
    result = evaluate_detections(d, g, method="coco")
    # t <= .65: TP then FP, precision 1 up to recall .5 (51 of 101 recall points);
    # t >= .7: FP then TP, precision .5 up to recall .5.
    np.testing.assert_allclose(result["ap_per_iou"], [51 / 101] * 4 + [25.5 / 101] * 6, atol=1e-12)


def test_coco_regular_match_stops_before_ignored_gt():
    # The detection matches the regular GT (IoU .83) although the crowd region fits it better
    # (IoU 1 over the detection's area); above .83 only the crowd matches, which ignores it.
    g = [gt([[0, 0, 10, 10], [0, 0, 20, 20]], [0, 0], iscrowd=[0, 1])]
    d = [det([[0, 0, 10, 12]], [0.9], [0])]
    result = evaluate_detections(d, g, method="coco")
    np.testing.assert_allclose(result["ap_per_iou"], [1] * 7 + [0] * 3, atol=1e-12)


def test_coco_keeps_100_detections_per_image_and_class():
    g = [gt([[0, 0, 10, 10]], [0])]
    far = np.tile([[500.0, 500.0, 510.0, 510.0]], (100, 1))
    boxes = np.concatenate([far, [[0, 0, 10, 10]]])
    scores = np.concatenate([np.full(100, 0.9), [0.1]])
    assert evaluate_detections([det(boxes, scores, np.zeros(101, int))], g, method="coco")["map"] == 0.0
    # The same true positive among 99 false ones is found (precision 1/100 at recall 1).
    result = evaluate_detections([det(boxes[1:], scores[1:], np.zeros(100, int))], g, method="coco")
    assert result["map"] == pytest.approx(0.01)


def coco_eval_loops(dets, gts):
    """pycocotools COCOeval.evaluate/accumulate/summarize for boxes, as its nested loops."""
    thresholds = np.linspace(0.5, 0.95, 10)
    recall_points = np.linspace(0, 1, 101)
    ranges = [(0, 1e10), (0, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e10)]
    labels = sorted(set(np.concatenate([g["labels"] for g in gts]).tolist()))
    precision = -np.ones((10, 101, len(labels), 4))
    for k, label in enumerate(labels):
        for a, (lo, hi) in enumerate(ranges):
            evals = []
            for d, g in zip(dets, gts):
                gsel = g["labels"] == label
                gb = g["boxes"][gsel]
                crowd = g.get("iscrowd", np.zeros(len(g["labels"]), bool))[gsel]
                dsel = d["labels"] == label
                db, ds = d["boxes"][dsel], d["scores"][dsel]
                if len(gb) == 0 and len(db) == 0:
                    continue
                g_area = (gb[:, 2] - gb[:, 0]) * (gb[:, 3] - gb[:, 1])
                g_ig = [bool(crowd[i]) or g_area[i] < lo or g_area[i] > hi for i in range(len(gb))]
                g_order = np.argsort(g_ig, kind="mergesort")
                d_order = np.argsort(-ds, kind="mergesort")[:100]
                gt_m = np.zeros((10, len(gb)))
                dt_m = np.zeros((10, len(d_order)))
                dt_ig = np.zeros((10, len(d_order)))
                for t, thr in enumerate(thresholds):
                    for di, dj in enumerate(d_order):
                        iou, m = min(thr, 1 - 1e-10), -1
                        for gi in g_order:
                            if gt_m[t, gi] > 0 and not crowd[gi]:
                                continue
                            if m > -1 and not g_ig[m] and g_ig[gi]:
                                break
                            value = scalar_iou(db[dj], gb[gi], crowd[gi])
                            if value < iou:
                                continue
                            iou, m = value, gi
                        if m == -1:
                            continue
                        dt_ig[t, di] = g_ig[m]
                        dt_m[t, di] = 1
                        gt_m[t, m] = 1
                d_area = (db[d_order, 2] - db[d_order, 0]) * (db[d_order, 3] - db[d_order, 1])
                outside = (d_area < lo) | (d_area > hi)
                dt_ig = np.logical_or(dt_ig, np.logical_and(dt_m == 0, outside[None, :]))
                evals.append((ds[d_order], dt_m, dt_ig, np.array(g_ig, bool)))
            if not evals:
                continue
            scores = np.concatenate([e[0] for e in evals])
            inds = np.argsort(-scores, kind="mergesort")
            dtm = np.concatenate([e[1] for e in evals], axis=1)[:, inds]
            dtig = np.concatenate([e[2] for e in evals], axis=1)[:, inds]
            npig = np.count_nonzero(np.concatenate([e[3] for e in evals]) == 0)
            if npig == 0:
                continue
            tps = np.cumsum(np.logical_and(dtm, ~dtig), axis=1).astype(float)
            fps = np.cumsum(np.logical_and(dtm == 0, ~dtig), axis=1).astype(float)
            for t in range(10):
                tp, fp = tps[t], fps[t]
                nd = len(tp)
                rc = tp / npig
                pr = (tp / (fp + tp + np.spacing(1))).tolist()
                q = np.zeros(101)
                for i in range(nd - 1, 0, -1):
                    if pr[i] > pr[i - 1]:
                        pr[i - 1] = pr[i]
                for ri, pi in enumerate(np.searchsorted(rc, recall_points, side="left")):
                    if pi >= nd:
                        break
                    q[ri] = pr[pi]
                precision[t, :, k, a] = q

    def summarize(a, t=None):
        s = precision[:, :, :, a] if t is None else precision[t, :, :, a]
        return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0

    return [summarize(0), summarize(0, 0), summarize(0, 5), summarize(1), summarize(2), summarize(3)]


KEYS = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large"]


def test_coco_matches_loop_transcription():
    rng = np.random.default_rng(1)
    for _ in range(6):
        dets, gts = random_dataset(rng, n_images=3, max_dets=40)
        result = evaluate_detections(dets, gts, method="coco")
        np.testing.assert_allclose([result[k] for k in KEYS], coco_eval_loops(dets, gts), atol=1e-12)


def test_coco_matches_pycocotools():
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(2)
    for _ in range(5):
        dets, gts = random_dataset(rng, n_images=4, max_dets=150)
        annotations, results = [], []
        for image, (d, g) in enumerate(zip(dets, gts)):
            for box, label, crowd in zip(g["boxes"], g["labels"], g["iscrowd"]):
                w, h = box[2] - box[0], box[3] - box[1]
                annotations.append({"id": len(annotations) + 1, "image_id": image, "category_id": int(label),
                                    "bbox": [box[0], box[1], w, h], "area": w * h, "iscrowd": int(crowd)})
            for box, score, label in zip(d["boxes"], d["scores"], d["labels"]):
                results.append({"image_id": image, "category_id": int(label), "score": float(score),
                                "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
        if not annotations or not results:
            continue
        coco = COCO()
        coco.dataset = {"images": [{"id": i} for i in range(len(gts))], "annotations": annotations,
                        "categories": [{"id": c} for c in range(3)]}
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        result = evaluate_detections(dets, gts, method="coco")
        np.testing.assert_allclose([result[k] for k in KEYS], evaluator.stats[:6], atol=1e-12)


# ----------------------------------------------------------------------------- errors
def test_evaluate_detections_errors():
    g = [gt([[0, 0, 1, 1]], [0])]
    d = [det([[0, 0, 1, 1]], [0.5], [0])]
    with pytest.raises(ValueError, match="evaluate_detections.*method"):
        evaluate_detections(d, g, method="voc2012")
    with pytest.raises(ValueError, match="evaluate_detections.*images"):
        evaluate_detections(d + d, g)
    with pytest.raises(ValueError, match="evaluate_detections.*keys"):
        evaluate_detections([{"boxes": d[0]["boxes"]}], g)
    with pytest.raises(ValueError, match="evaluate_detections.*NaN"):
        evaluate_detections([det([[0, 0, 1, 1]], [np.nan], [0])], g)
    with pytest.raises(ValueError, match="evaluate_detections.*x2 < x1"):
        evaluate_detections([det([[3, 0, 1, 1]], [0.5], [0])], g)
    with pytest.raises(ValueError, match=r"evaluate_detections.*labels.*\(1,\)"):
        evaluate_detections([det([[0, 0, 1, 1]], [0.5], [0, 1])], g)


@pytest.mark.parametrize("flags", [["no"], [0.5], [2]])
def test_difficult_and_crowd_flags_must_be_bools(flags):
    """difficult=['no'] turned True: every ground truth became difficult and mAP was -1."""
    gt = [{"boxes": np.array([[0, 0, 1, 1.0]]), "labels": np.array([0]), "difficult": flags}]
    dt = [{"boxes": np.array([[0, 0, 1, 1.0]]), "scores": np.array([0.9]), "labels": np.array([0])}]
    with pytest.raises(ValueError, match=r"\['difficult'\] must hold bools \(or 0/1\)"):
        evaluate_detections(dt, gt)
    gt[0]["difficult"] = [0]
    assert evaluate_detections(dt, gt)["map"] == 1.0
