"""Box geometry and non-maximum suppression on ``(N, 4)`` ``xyxy`` boxes.

Coordinates are continuous pixels: a box ``[x1, y1, x2, y2]`` has area
``(x2 - x1) * (y2 - y1)`` with no ``+1`` (torchvision's convention, not py-faster-rcnn's).
Every function takes NumPy arrays (or anything ``np.asarray`` accepts, tinydl Tensors
included) and returns NumPy arrays.
"""

import numpy as np

from tinydl import backends
from tinydl.kernels.nms import nms_kernel, nms_numpy


def _as_float(array):
    """float32 and float64 arrays keep their dtype; float16 becomes float32 (as torchvision
    computes it: an area of 300 x 300 overflows float16's 65504); integers become float32,
    or float64 where a value exceeds 2^24 (float32 would merge neighbouring coordinates or
    scores there and silently change an IoU or a ranking)."""
    array = np.asarray(array)
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype.kind in "iub" and array.size and np.abs(array).max() > 2 ** 24:
        return array.astype(np.float64)
    return array.astype(np.float32)


def _check_boxes(boxes, fn, name="boxes"):
    """Return ``boxes`` as a float ``(N, 4)`` array, or raise naming ``fn`` and what is wrong.

    An empty 1-D array is accepted as zero boxes. Non-finite coordinates and boxes with
    ``x2 < x1`` or ``y2 < y1`` are rejected.
    """
    boxes = _as_float(boxes)
    if boxes.ndim == 1 and boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{fn}: {name} must have shape (N, 4) [x1, y1, x2, y2], got {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{fn}: {name} contain NaN or infinite coordinates")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{fn}: {name}[{i}] = {boxes[i].tolist()} has x2 < x1 or y2 < y1")
    return boxes


def _check_scores(scores, n, fn):
    """Return ``scores`` as a finite float 1-D array of length ``n``."""
    scores = _as_float(scores)
    if scores.ndim != 1 or scores.shape[0] != n:
        raise ValueError(f"{fn}: scores must have shape ({n},) to match the boxes, got {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"{fn}: scores contain NaN or infinite values")
    return scores


def _check_threshold(value, fn, name):
    """A threshold must be a finite number >= 0."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value}")
    return value


def box_area(boxes):
    """Area of each box: ``(x2 - x1) * (y2 - y1)``.

    ``boxes`` is ``(N, 4)`` ``xyxy``; returns ``(N,)``: int64 and exact for integer boxes
    (as torchvision; float32 rounds areas past 2^24, e.g. a 4097 x 4097 box), else float.
    """
    given = np.asarray(boxes)
    boxes = _check_boxes(boxes, "box_area")
    if given.dtype.kind in "iub":
        boxes = given.astype(np.int64).reshape(boxes.shape)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _intersection_union(a, b):
    """Pairwise intersection and union areas of ``(N, 4)`` and ``(M, 4)`` boxes, each ``(N, M)``,
    in float64 (float32 boxes' areas overflowed past sides of 1.8e19 and underflowed below
    1e-19, giving IoU 0 for identical boxes; and ``nms`` computes in float64 too, so the two
    agree at an IoU within an ulp of the threshold)."""
    a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return inter, union


def _safe_divide(num, den):
    """``num / den`` with 0 where ``den == 0`` (two zero-area boxes have IoU 0, not 0/0), and
    NaN where an area overflowed even float64 (sides past 1e154), as torchvision's NaN."""
    out = np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape, dtype=num.dtype),
                    where=den > 0)
    overflowed = ~np.isfinite(den)
    if overflowed.any():
        out[overflowed] = np.nan
    return out


def box_iou(boxes1, boxes2):
    """Pairwise intersection over union: ``IoU = |A n B| / |A u B|``.

    ``boxes1`` ``(N, 4)`` and ``boxes2`` ``(M, 4)`` ``xyxy``; returns ``(N, M)``. Touching
    boxes give 0, and so do two zero-area boxes (where torchvision would return 0/0).
    Follows torchvision ``ops.box_iou``.
    """
    a = _check_boxes(boxes1, "box_iou", "boxes1")
    b = _check_boxes(boxes2, "box_iou", "boxes2")
    inter, union = _intersection_union(a, b)
    return _safe_divide(inter, union).astype(np.result_type(a, b), copy=False)


def generalized_box_iou(boxes1, boxes2):
    """Pairwise generalised IoU (Rezatofighi et al. 2019): ``GIoU = IoU - (|C| - |A u B|) / |C|``.

    ``C`` is the smallest box enclosing ``A`` and ``B``. ``boxes1`` ``(N, 4)``, ``boxes2``
    ``(M, 4)``; returns ``(N, M)`` in ``[-1, 1]``. Where ``|C| = 0`` (the enclosing box is
    flat: two points, or flat boxes on one line, such as ``[0, 0, 2, 0]`` and ``[3, 0, 5, 0]``)
    the penalty term is taken as 0, so GIoU is 0 there (torchvision: NaN); flat boxes on two
    different lines, or two different points, enclose an area and give -1.
    """
    a = _check_boxes(boxes1, "generalized_box_iou", "boxes1")
    b = _check_boxes(boxes2, "generalized_box_iou", "boxes2")
    dtype = np.result_type(a, b)
    a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)  # (as below)
    inter, union = _intersection_union(a, b)
    iou = _safe_divide(inter, union)
    lt = np.minimum(a[:, None, :2], b[None, :, :2])
    rb = np.maximum(a[:, None, 2:], b[None, :, 2:])
    wh = rb - lt
    enclosing = wh[..., 0] * wh[..., 1]
    return (iou - _safe_divide(enclosing - union, enclosing)).astype(dtype, copy=False)


def nms(boxes, scores, iou_threshold):
    """Greedy non-maximum suppression; returns the kept indices (int64) by descending score.

    Boxes are visited in stable descending-score order (equal scores: lower index first);
    a box not yet suppressed is kept and suppresses every later box whose IoU with it is
    ``> iou_threshold`` (equal IoU is kept). ``boxes`` ``(N, 4)`` ``xyxy``, ``scores``
    ``(N,)``; returns ``(K,)`` original indices. No score threshold is applied. IoU is taken
    in float64 (as ``box_iou``, which rounds it to the boxes' dtype only at the end), so an
    IoU within a float32 ulp of the threshold may fall the other way from torchvision's
    float32 kernel. Follows
    torchvision's CPU kernel (``csrc/ops/cpu/nms_kernel.cpp``). Runs the Numba kernel in
    ``kernels/nms.py`` unless ``tinydl.backends.numba`` is off, which selects its NumPy twin.
    """
    boxes = _check_boxes(boxes, "nms")
    scores = _check_scores(scores, boxes.shape[0], "nms")
    iou_threshold = _check_threshold(iou_threshold, "nms", "iou_threshold")
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    order = descending_order(scores)
    # The kernel reads each coordinate as one contiguous float64 run in score order, so its
    # inner loop is a branch-free sweep the compiler can vectorise.
    columns = np.asarray(boxes, dtype=np.float64).T
    x1, y1, x2, y2 = (np.take(columns[k], order) for k in range(4))
    kernel = nms_kernel if backends.numba else nms_numpy
    kept = kernel(x1, y1, x2, y2, iou_threshold)
    return order[kept].astype(np.int64)


def descending_order(scores):
    """Indices sorting ``scores`` descending, ties by ascending index.

    Equals ``np.argsort(-scores, kind='stable')``. Without ties every correct sort gives that
    one order, so NumPy's faster default sort is tried first (2-3x quicker on 5,000 scores);
    only when equal scores occur is the stable sort needed.
    """
    order = np.argsort(-scores)
    ranked = scores[order]
    if (ranked[1:] == ranked[:-1]).any():
        order = np.argsort(-scores, kind="stable")
    return order


def batched_nms(boxes, scores, idxs, iou_threshold):
    """Non-maximum suppression run separately per category, merged by descending score.

    Boxes with different ``idxs`` never suppress each other. ``boxes`` ``(N, 4)``,
    ``scores`` ``(N,)``, ``idxs`` ``(N,)`` integer categories; returns int64 indices sorted
    by descending score (stable). Equal to torchvision ``ops.batched_nms``; each category
    is run on its own boxes instead of the coordinate-offset trick, so the IoUs are exactly
    those ``nms`` sees.
    """
    boxes = _check_boxes(boxes, "batched_nms")
    scores = _check_scores(scores, boxes.shape[0], "batched_nms")
    idxs = np.asarray(idxs)
    if idxs.shape != (boxes.shape[0],):
        raise ValueError(f"batched_nms: idxs must have shape ({boxes.shape[0]},), got {idxs.shape}")
    if idxs.size and not np.issubdtype(idxs.dtype, np.integer):
        raise TypeError(f"batched_nms: idxs must be integers, got dtype {idxs.dtype}")
    iou_threshold = _check_threshold(iou_threshold, "batched_nms", "iou_threshold")
    kept = [np.zeros(0, dtype=np.int64)]
    for category in np.unique(idxs):
        members = np.flatnonzero(idxs == category)
        kept.append(members[nms(boxes[members], scores[members], iou_threshold)])
    kept = np.sort(np.concatenate(kept))
    return kept[np.argsort(-scores[kept], kind="stable")]


def soft_nms(boxes, scores, sigma=0.5, iou_threshold=0.3, score_threshold=0.001, method="gaussian"):
    """Soft-NMS (Bodla et al. 2017): decay overlapping scores instead of discarding boxes.

    Repeatedly select the remaining box with the highest current score (ties: lower index)
    and rescale every other remaining box by ``w(iou)`` with the selected one:
    ``'gaussian'``: ``w = exp(-iou^2 / sigma)``; ``'linear'``: ``w = 1 - iou`` if
    ``iou > iou_threshold`` else 1. A box whose score is below ``score_threshold`` is
    dropped (one that starts below it is never selected). ``boxes`` ``(N, 4)``, ``scores``
    ``(N,)``; returns ``(keep, new_scores)``: int64 original indices in selection order and
    their final scores. No ``+1`` in the IoU (tinydl's convention).
    """
    boxes = _check_boxes(boxes, "soft_nms")
    scores = _check_scores(scores, boxes.shape[0], "soft_nms")
    if method not in ("gaussian", "linear"):
        raise ValueError(f"soft_nms: method must be 'gaussian' or 'linear', got {method!r}")
    sigma = float(sigma)
    if method == "gaussian" and not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"soft_nms: sigma must be a finite number > 0, got {sigma}")
    iou_threshold = _check_threshold(iou_threshold, "soft_nms", "iou_threshold")
    score_threshold = _check_threshold(score_threshold, "soft_nms", "score_threshold")

    boxes = boxes.astype(np.float64)
    current = scores.astype(np.float64)
    remaining = np.flatnonzero(current >= score_threshold)
    keep, kept_scores = [], []
    # One pass per selected box; the decay of all remaining boxes is vectorised.
    while remaining.size:
        # `remaining` stays in ascending index order, so argmax's first hit is the lowest index.
        best = int(np.argmax(current[remaining]))
        chosen = remaining[best]
        keep.append(chosen)
        kept_scores.append(current[chosen])
        remaining = np.delete(remaining, best)
        if not remaining.size:
            break
        inter, union = _intersection_union(boxes[chosen][None], boxes[remaining])
        iou = _safe_divide(inter, union)[0]
        if method == "gaussian":
            weight = np.exp(-iou * iou / sigma)
        else:
            weight = np.where(iou > iou_threshold, 1.0 - iou, 1.0)
        current[remaining] *= weight
        remaining = remaining[current[remaining] >= score_threshold]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=scores.dtype)
