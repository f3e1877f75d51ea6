"""Detection metrics: average precision in its PASCAL VOC 2007, VOC 2010+ and COCO forms.

Boxes are ``xyxy`` with continuous coordinates (no ``+1``, tinydl's convention), and every
score sort is stable (mergesort), as pycocotools sorts.
"""
import numpy as np

from tinydl.vision.boxes import _check_boxes, _check_scores, _intersection_union, _safe_divide

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
COCO_MAX_DETS = 100
COCO_AREA_RANGES = {"all": (0.0, 1e10), "small": (0.0, 32.0 ** 2),
                    "medium": (32.0 ** 2, 96.0 ** 2), "large": (96.0 ** 2, 1e10)}


def voc_ap(recall, precision, use_07_metric=False):
    """Average precision from a precision/recall curve (PASCAL VOC, py-faster-rcnn ``voc_ap``).

    VOC2010+ (default): the area under the precision envelope,
    ``sum_i (r_{i+1} - r_i) max_{r >= r_{i+1}} p(r)`` over the points where recall changes,
    with sentinels ``r = [0, rec, 1]``, ``p = [0, prec, 0]``. VOC2007 (``use_07_metric``):
    11-point interpolation ``sum_{t in 0, .1, ..., 1} max(p[r >= t]) / 11`` (0 where no
    point has ``r >= t``). ``recall`` and ``precision`` are ``(n,)``; returns a float.
    """
    recall = np.asarray(recall, dtype=np.float64)
    precision = np.asarray(precision, dtype=np.float64)
    if recall.ndim != 1 or recall.shape != precision.shape:
        raise ValueError(f"voc_ap: recall and precision must be 1-D of equal length, got {recall.shape} "
                         f"and {precision.shape}")
    if not (np.isfinite(recall).all() and np.isfinite(precision).all()):
        raise ValueError("voc_ap: recall and precision must be finite")
    if use_07_metric:
        # np.arange(0, 1.1, 0.1) exactly as VOC07 (its 0.30000000000000004 included).
        thresholds = np.arange(0.0, 1.1, 0.1)
        reached = recall[None, :] >= thresholds[:, None]
        best = np.where(reached, precision[None, :], -np.inf).max(axis=1, initial=-np.inf)
        return float(np.where(np.isfinite(best), best, 0.0).sum() / 11.0)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changes = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))


def _labels(array, n, fn, name):
    array = np.asarray(array)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.shape != (n,):
        raise ValueError(f"{fn}: {name} must have shape ({n},), got {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise TypeError(f"{fn}: {name} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _flags(entry, key, n, fn, where):
    if key not in entry or entry[key] is None:
        return np.zeros(n, dtype=bool)
    flags = np.asarray(entry[key])
    if flags.size == 0:
        flags = flags.astype(bool)
    if flags.shape != (n,):
        raise ValueError(f"{fn}: {where}['{key}'] must have shape ({n},), got {flags.shape}")
    if flags.dtype.kind not in "biu" or (flags.dtype.kind in "iu"
                                         and not np.isin(flags, (0, 1)).all()):
        # a string ('no') or a float would turn true, marking every box: refused
        raise ValueError(f"{fn}: {where}['{key}'] must hold bools (or 0/1), got "
                         f"{flags.tolist()!r}")
    return flags.astype(bool)


def _parse(detections, ground_truths, fn):
    """Validate the per-image lists and return them as float64/int64/bool arrays."""
    if not isinstance(detections, (list, tuple)) or not isinstance(ground_truths, (list, tuple)):
        raise TypeError(f"{fn}: detections and ground_truths must be lists with one dict per image")
    if len(detections) != len(ground_truths):
        raise ValueError(f"{fn}: got {len(detections)} detection entries for {len(ground_truths)} images")
    dets, gts = [], []
    for i, (det, gt) in enumerate(zip(detections, ground_truths)):
        for where, entry, keys in ((f"detections[{i}]", det, ("boxes", "scores", "labels")),
                                   (f"ground_truths[{i}]", gt, ("boxes", "labels"))):
            if not isinstance(entry, dict) or any(k not in entry for k in keys):
                raise ValueError(f"{fn}: {where} must be a dict with keys {keys}")
        boxes = _check_boxes(det["boxes"], fn, f"detections[{i}]['boxes']").astype(np.float64)
        scores = _check_scores(det["scores"], len(boxes), fn).astype(np.float64)
        labels = _labels(det["labels"], len(boxes), fn, f"detections[{i}]['labels']")
        dets.append((boxes, scores, labels))
        gt_boxes = _check_boxes(gt["boxes"], fn, f"ground_truths[{i}]['boxes']").astype(np.float64)
        n = len(gt_boxes)
        gts.append((gt_boxes, _labels(gt["labels"], n, fn, f"ground_truths[{i}]['labels']"),
                    _flags(gt, "difficult", n, fn, f"ground_truths[{i}]"),
                    _flags(gt, "iscrowd", n, fn, f"ground_truths[{i}]")))
    return dets, gts


def _box_iou64(a, b):
    inter, union = _intersection_union(a, b)
    return _safe_divide(inter, union)


def _voc_class_ap(dets, gts, label, iou_threshold, use_07_metric):
    """py-faster-rcnn ``voc_eval`` for one class; None when it has no non-difficult GT."""
    npos = sum(int(np.count_nonzero((g_labels == label) & ~difficult)) for _, g_labels, difficult, _ in gts)
    if npos == 0:
        return None
    scores, true_pos, false_pos = [], [], []
    for (boxes, det_scores, det_labels), (g_boxes, g_labels, difficult, _) in zip(dets, gts):
        mine = det_labels == label
        order = np.argsort(-det_scores[mine], kind="stable")
        d_boxes, d_scores = boxes[mine][order], det_scores[mine][order]
        g_mask = g_labels == label
        tp = np.zeros(len(d_boxes), dtype=bool)
        fp = np.ones(len(d_boxes), dtype=bool)
        if g_mask.any() and len(d_boxes):
            iou = _box_iou64(d_boxes, g_boxes[g_mask])
            target = np.argmax(iou, axis=1)
            hit = iou[np.arange(len(d_boxes)), target] > iou_threshold
            hit_difficult = hit & difficult[g_mask][target]
            hit_regular = hit & ~hit_difficult
            # VOC never falls back to the second-best GT, so among the detections whose best
            # GT is the same regular box only the first (highest score) is a true positive.
            regular_rows = np.flatnonzero(hit_regular)
            _, first = np.unique(target[regular_rows], return_index=True)
            tp[regular_rows[first]] = True
            fp = ~hit | (hit_regular & ~tp)
        scores.append(d_scores)
        true_pos.append(tp)
        false_pos.append(fp)
    scores = np.concatenate(scores)
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(np.concatenate(true_pos)[order])
    fp = np.cumsum(np.concatenate(false_pos)[order])
    recall = tp / npos
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(recall, precision, use_07_metric)


def _coco_evaluate_image(d_boxes, d_scores, g_boxes, crowd, area_range):
    """pycocotools ``COCOeval.evaluateImg`` for one image, category and area range.

    Returns ``(scores, matched (T, D), ignored (T, D), gt_ignored (G,))`` or None when the
    image has neither detections nor GT of the category.
    """
    if len(d_boxes) == 0 and len(g_boxes) == 0:
        return None
    order = np.argsort(-d_scores, kind="stable")[:COCO_MAX_DETS]
    d_boxes, d_scores = d_boxes[order], d_scores[order]
    g_area = (g_boxes[:, 2] - g_boxes[:, 0]) * (g_boxes[:, 3] - g_boxes[:, 1])
    d_area = (d_boxes[:, 2] - d_boxes[:, 0]) * (d_boxes[:, 3] - d_boxes[:, 1])
    lo, hi = area_range
    g_ignore = crowd | (g_area < lo) | (g_area > hi)
    g_order = np.argsort(g_ignore, kind="stable")
    g_boxes, crowd, g_ignore = g_boxes[g_order], crowd[g_order], g_ignore[g_order]

    n_thr, n_det, n_gt = len(COCO_IOU_THRESHOLDS), len(d_boxes), len(g_boxes)
    matched = np.zeros((n_thr, n_det), dtype=bool)
    ignored = np.zeros((n_thr, n_det), dtype=bool)
    if n_det and n_gt:
        inter, union = _intersection_union(d_boxes, g_boxes)
        # A crowd region may contain the detection: its IoU is over the detection alone.
        union = np.where(crowd[None, :], d_area[:, None], union)
        iou = _safe_divide(inter, union)
        thresholds = np.minimum(COCO_IOU_THRESHOLDS, 1 - 1e-10)[:, None]
        gt_taken = np.zeros((n_thr, n_gt), dtype=bool)
        reversed_cols = np.arange(n_gt)[::-1]
        # Greedy in score order, so one step per detection; all thresholds and GT at once.
        for d in range(n_det):
            candidate = ~(gt_taken & ~crowd[None, :]) & (iou[d][None, :] >= thresholds)
            regular = candidate & ~g_ignore[None, :]
            # pycocotools stops at the first ignored GT once a regular one has matched.
            use = np.where(regular.any(axis=1, keepdims=True), regular, candidate & g_ignore[None, :])
            found = use.any(axis=1)
            values = np.where(use, iou[d][None, :], -1.0)
            # Among equal IoUs the later GT wins (pycocotools updates on >=).
            best = reversed_cols[np.argmax(values[:, ::-1] == values.max(axis=1, keepdims=True), axis=1)]
            rows = np.flatnonzero(found)
            matched[rows, d] = True
            ignored[rows, d] = g_ignore[best[rows]]
            gt_taken[rows, best[rows]] = True
    outside = (d_area < lo) | (d_area > hi)
    ignored |= ~matched & outside[None, :]
    return d_scores, matched, ignored, g_ignore


def _coco_accumulate(per_image):
    """pycocotools ``COCOeval.accumulate`` for one category and area range: the ``(T, R)``
    interpolated precision, or None when there is no non-ignored GT."""
    per_image = [e for e in per_image if e is not None]
    if not per_image:
        return None
    scores = np.concatenate([e[0] for e in per_image])
    order = np.argsort(-scores, kind="stable")
    matched = np.concatenate([e[1] for e in per_image], axis=1)[:, order]
    ignored = np.concatenate([e[2] for e in per_image], axis=1)[:, order]
    n_positive = int(np.count_nonzero(~np.concatenate([e[3] for e in per_image])))
    if n_positive == 0:
        return None
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
    n_det = tp.shape[1]
    if n_det == 0:
        return np.zeros((len(COCO_IOU_THRESHOLDS), len(COCO_RECALL_THRESHOLDS)))
    recall = tp / n_positive
    precision = tp / (fp + tp + np.spacing(1))
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    out = np.zeros((len(COCO_IOU_THRESHOLDS), len(COCO_RECALL_THRESHOLDS)))
    for t in range(len(COCO_IOU_THRESHOLDS)):
        index = np.searchsorted(recall[t], COCO_RECALL_THRESHOLDS, side="left")
        inside = index < n_det
        out[t, inside] = precision[t, index[inside]]
    return out


def _coco(dets, gts):
    labels = np.unique(np.concatenate([g[1] for g in gts] + [np.zeros(0, np.int64)]))
    # precision[area][label] -> (T, R) array for the categories that have positives.
    precision = {area: {} for area in COCO_AREA_RANGES}
    for label in labels:
        images = []
        for (boxes, scores, det_labels), (g_boxes, g_labels, _, crowd) in zip(dets, gts):
            mine, g_mine = det_labels == label, g_labels == label
            images.append((boxes[mine], scores[mine], g_boxes[g_mine], crowd[g_mine]))
        for area, area_range in COCO_AREA_RANGES.items():
            result = _coco_accumulate([_coco_evaluate_image(*image, area_range) for image in images])
            if result is not None:
                precision[area][int(label)] = result

    def mean(area, threshold=None):
        # summarize(): the mean over every evaluated entry, -1 when there is none.
        tables = list(precision[area].values())
        if not tables:
            return -1.0
        stacked = np.stack(tables)
        return float((stacked if threshold is None else stacked[:, threshold]).mean())

    per_class = {label: float(table.mean()) for label, table in precision["all"].items()}
    tables = list(precision["all"].values())
    per_iou = (np.stack(tables).mean(axis=(0, 2)) if tables
               else np.full(len(COCO_IOU_THRESHOLDS), -1.0))
    return {"map": mean("all"), "ap_per_class": per_class, "map_50": mean("all", 0),
            "map_75": mean("all", 5), "map_small": mean("small"), "map_medium": mean("medium"),
            "map_large": mean("large"), "ap_per_iou": per_iou}


def evaluate_detections(detections, ground_truths, iou_threshold=0.5, method="voc"):
    """Mean average precision of detections against ground truth over a set of images.

    ``detections`` and ``ground_truths`` are lists with one dict per image: detections
    ``{'boxes': (D, 4), 'scores': (D,), 'labels': (D,)}``, ground truths
    ``{'boxes': (G, 4), 'labels': (G,)}`` plus optional ``'difficult'`` (VOC) and
    ``'iscrowd'`` (COCO) boolean ``(G,)``. Boxes are ``xyxy``.

    ``method='voc'`` / ``'voc07'``: py-faster-rcnn ``voc_eval`` without the ``+1``: each
    detection, by descending score, takes the GT of its image and class with the largest
    IoU; IoU ``> iou_threshold`` on an unmatched GT is a true positive, on a difficult GT it
    is ignored, otherwise it is a false positive; AP by ``voc_ap`` (VOC2010+ area or VOC07
    11-point). Classes are those with a non-difficult GT.

    ``method='coco'``: pycocotools ``COCOeval`` for boxes (``iou_threshold`` is not used):
    IoU thresholds ``.50:.05:.95``, 101 recall points, at most 100 detections per image and
    class, area ranges on the GT box area, crowd GT matched by many detections and ignored,
    and the ``-1`` of ``summarize`` where no category has a positive in that area range.

    Returns ``{'map': float, 'ap_per_class': {label: ap}}``; ``'coco'`` adds ``'map_50'``,
    ``'map_75'``, ``'map_small'``, ``'map_medium'``, ``'map_large'`` and ``'ap_per_iou'``
    ``(10,)``. ``'map'`` is the mean over the evaluated classes (-1.0 when there is none).
    """
    fn = "evaluate_detections"
    if method not in ("voc07", "voc", "coco"):
        raise ValueError(f"{fn}: method must be 'voc07', 'voc' or 'coco', got {method!r}")
    iou_threshold = float(iou_threshold)
    if not 0.0 <= iou_threshold < 1.0:
        raise ValueError(f"{fn}: iou_threshold must be in [0, 1), got {iou_threshold}")
    dets, gts = _parse(detections, ground_truths, fn)
    if method == "coco":
        return _coco(dets, gts)
    labels = np.unique(np.concatenate([g[1] for g in gts] + [np.zeros(0, np.int64)]))
    per_class = {}
    for label in labels:
        ap = _voc_class_ap(dets, gts, label, iou_threshold, method == "voc07")
        if ap is not None:
            per_class[int(label)] = ap
    mean_ap = float(np.mean(list(per_class.values()))) if per_class else -1.0
    return {"map": mean_ap, "ap_per_class": per_class}
