"""The SSD training and inference pieces (Liu et al. 2016): prior matching, hard-negative
mining, the MultiBox loss and the detection post-processing.

Conventions follow ssd.pytorch (``layers/box_utils.py``, ``layers/modules/multibox_loss.py``,
``layers/functions/detection.py``): priors are ``(P, 4)`` normalised ``(cx, cy, w, h)`` as
``ssd_prior_boxes`` gives them, ground-truth boxes are normalised ``xyxy`` (divide pixels by
the image size), class 0 of the network's scores is the background and ground-truth label
``l`` (0-based) is class ``l + 1``; offsets are encoded with ``BoxCoder((10, 10, 5, 5))``,
i.e. SSD's variances ``(0.1, 0.2)``.
"""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn.module import Module
from tinydl.tensor import Tensor
from tinydl.vision.boxes import batched_nms, box_iou
from tinydl.vision.coder import BoxCoder

SSD_CODER = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))


def priors_to_xyxy(priors):
    """``(P, 4)`` ``(cx, cy, w, h)`` priors as ``(P, 4)`` ``xyxy`` corners (same units)."""
    priors = np.asarray(priors)
    if priors.ndim != 2 or priors.shape[1] != 4:
        raise ValueError(f"priors_to_xyxy: priors must have shape (P, 4) (cx, cy, w, h), got {priors.shape}")
    return np.concatenate([priors[:, :2] - priors[:, 2:] / 2, priors[:, :2] + priors[:, 2:] / 2], axis=1)


def match_priors(gt_boxes, gt_labels, priors, iou_threshold=0.5):
    """SSD matching of one image's ground truth to the priors: ``(loc_targets, conf_targets)``.

    Every prior takes the ground truth it overlaps most (IoU of ``xyxy`` corners); then each
    ground truth claims its own best prior whatever the IoU (a later ground truth wins a prior
    two of them claim, as ssd.pytorch's loop does), so every object has at least one
    positive. Priors whose best IoU is below ``iou_threshold`` (and were not claimed) are
    background.

    ``gt_boxes`` ``(G, 4)`` normalised ``xyxy`` with positive sides, ``gt_labels`` ``(G,)``
    0-based class indices, ``priors`` ``(P, 4)`` ``(cx, cy, w, h)``. Returns ``loc_targets``
    ``(P, 4)`` float32, the SSD-encoded offsets of each prior's matched box (zeros where it
    matched nothing), and ``conf_targets`` ``(P,)`` int64: ``label + 1`` for positives, 0 for
    background.
    """
    fn = "match_priors"
    gt_boxes = np.asarray(gt_boxes, dtype=np.float32)
    gt_labels = np.asarray(gt_labels)
    priors = np.asarray(priors, dtype=np.float32)
    if gt_boxes.ndim == 1 and gt_boxes.size == 0:  # [] for an image without objects, as box_iou
        gt_boxes = gt_boxes.reshape(0, 4)
    if gt_boxes.ndim != 2 or gt_boxes.shape[1] != 4:
        raise ValueError(f"{fn}: gt_boxes must have shape (G, 4), got {gt_boxes.shape}")
    if gt_labels.size == 0 and len(gt_boxes) == 0:
        gt_labels = gt_labels.astype(np.int64).reshape(0)  # [] and np.zeros(0) are float64
    if gt_labels.shape != (len(gt_boxes),) or not np.issubdtype(gt_labels.dtype, np.integer):
        raise ValueError(f"{fn}: gt_labels must be ({len(gt_boxes)},) integers to match gt_boxes "
                         f"{gt_boxes.shape}, got {gt_labels.shape} {gt_labels.dtype}")
    if priors.ndim != 2 or priors.shape[1] != 4:
        raise ValueError(f"{fn}: priors must have shape (P, 4) (cx, cy, w, h), got {priors.shape}")
    n_priors = len(priors)
    loc_targets = np.zeros((n_priors, 4), np.float32)
    conf_targets = np.zeros(n_priors, np.int64)
    if len(gt_boxes) == 0:
        return loc_targets, conf_targets
    if ((gt_boxes[:, 2] <= gt_boxes[:, 0]) | (gt_boxes[:, 3] <= gt_boxes[:, 1])).any():
        raise ValueError(f"{fn}: gt_boxes need positive widths and heights, got {gt_boxes.tolist()}")
    prior_boxes = priors_to_xyxy(priors)
    iou = box_iou(gt_boxes, prior_boxes)                       # (G, P)
    best_truth = iou.argmax(axis=0)                            # each prior's best ground truth
    best_overlap = iou[best_truth, np.arange(n_priors)]
    best_prior = iou.argmax(axis=1)                            # each ground truth's best prior
    # Repeated indices in an assignment leave the last value: a later ground truth wins.
    best_truth[best_prior] = np.arange(len(gt_boxes))
    best_overlap[best_prior] = 2.0
    positive = best_overlap >= iou_threshold
    conf_targets[positive] = gt_labels[best_truth[positive]] + 1
    loc_targets[positive] = SSD_CODER.encode(gt_boxes[best_truth[positive]], prior_boxes[positive])
    return loc_targets, conf_targets


def hard_negative_mining(conf_loss, positives, neg_pos_ratio=3):
    """Negatives kept for the classification loss: the ``neg_pos_ratio x positives`` hardest.

    ``conf_loss`` ``(B, P)`` the per-prior background cross-entropy (any score where a larger
    value means a harder negative), ``positives`` ``(B, P)`` bool. Per image, the priors that
    are not positive are ranked by ``conf_loss`` descending (stable: ties keep the lower
    index) and the first ``min(neg_pos_ratio * n_pos, P - n_pos)`` are kept, as ssd.pytorch
    and torchvision's SSD do; an image without positives keeps none. Returns ``(B, P)`` bool.
    """
    fn = "hard_negative_mining"
    conf_loss = np.asarray(conf_loss)
    positives = np.asarray(positives)
    if conf_loss.ndim != 2 or positives.shape != conf_loss.shape or positives.dtype != bool:
        raise ValueError(f"{fn}: conf_loss (B, P) and boolean positives of the same shape needed, got "
                         f"{conf_loss.shape} and {positives.shape} {positives.dtype}")
    if neg_pos_ratio < 0:
        raise ValueError(f"{fn}: neg_pos_ratio must be >= 0, got {neg_pos_ratio}")
    loss = np.where(positives, -np.inf, conf_loss.astype(np.float64))
    order = np.argsort(-loss, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(loss.shape[1])[None, :].repeat(len(loss), 0), axis=1)
    n_pos = positives.sum(axis=1, keepdims=True)
    n_neg = np.minimum(neg_pos_ratio * n_pos, loss.shape[1] - n_pos)
    return (rank < n_neg) & ~positives


class MultiBoxLoss(Module):
    """The SSD MultiBox loss of ssd.pytorch: ``(L_loc + L_conf) / N``.

    ``MultiBoxLoss(priors, iou_threshold=0.5, neg_pos_ratio=3)``; called as
    ``loss(loc, conf, gt_boxes, gt_labels)`` with ``loc`` ``(B, P, 4)`` predicted offsets,
    ``conf`` ``(B, P, C)`` class logits (class 0 = background) and per-image lists of
    normalised ``xyxy`` boxes and 0-based labels. Each image is matched with
    ``match_priors``; ``L_loc`` is the smooth L1 (beta 1) summed over the positives' four
    encoded offsets; ``L_conf`` is the cross-entropy summed over the positives and the
    ``hard_negative_mining`` negatives (ranked by the background cross-entropy, computed
    without gradient); ``N`` is the number of positives in the batch (1 if none).
    Returns ``(loss_loc, loss_conf)`` Tensors, both already divided by ``N``.
    """

    def __init__(self, priors, iou_threshold=0.5, neg_pos_ratio=3):
        super().__init__()
        self.priors = np.asarray(priors, dtype=np.float32)
        if self.priors.ndim != 2 or self.priors.shape[1] != 4:
            raise ValueError(f"MultiBoxLoss: priors must have shape (P, 4), got {self.priors.shape}")
        self.iou_threshold, self.neg_pos_ratio = float(iou_threshold), neg_pos_ratio

    def targets(self, gt_boxes, gt_labels):
        """Stacked ``match_priors`` targets of a batch: ``(B, P, 4)`` float32 and ``(B, P)`` int64."""
        if len(gt_boxes) != len(gt_labels):
            raise ValueError(f"MultiBoxLoss: got {len(gt_boxes)} box arrays and {len(gt_labels)} label arrays")
        matched = [match_priors(b, l, self.priors, self.iou_threshold) for b, l in zip(gt_boxes, gt_labels)]
        return np.stack([m[0] for m in matched]), np.stack([m[1] for m in matched])

    def forward(self, loc, conf, gt_boxes, gt_labels):
        batch, n_priors = len(gt_boxes), len(self.priors)
        if loc.shape != (batch, n_priors, 4) or conf.ndim != 3 or conf.shape[:2] != (batch, n_priors):
            raise ValueError(f"MultiBoxLoss: expected loc ({batch}, {n_priors}, 4) and conf ({batch}, "
                             f"{n_priors}, C) for {batch} images and {n_priors} priors, got {loc.shape} "
                             f"and {conf.shape}")
        loc_t, conf_t = self.targets(gt_boxes, gt_labels)
        positives = conf_t > 0
        logits = conf.data.astype(np.float64)
        top = logits.max(axis=2, keepdims=True)
        log_norm = np.log(np.exp(logits - top).sum(axis=2)) + top[..., 0]
        negatives = hard_negative_mining(log_norm - logits[..., 0], positives, self.neg_pos_ratio)
        n_pos = max(int(positives.sum()), 1)

        pos_idx = np.flatnonzero(positives)
        loc_flat = loc.reshape(batch * n_priors, 4)
        loss_loc = F.smooth_l1_loss(loc_flat[pos_idx], Tensor(loc_t.reshape(-1, 4)[pos_idx], dtype=loc.dtype),
                                    reduction="sum")
        used = np.flatnonzero(positives | negatives)
        conf_flat = conf.reshape(batch * n_priors, conf.shape[2])
        loss_conf = F.cross_entropy(conf_flat[used], conf_t.reshape(-1)[used], reduction="sum")
        return loss_loc / n_pos, loss_conf / n_pos


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def detect(loc, conf, priors, score_threshold=0.01, nms_threshold=0.45, top_k=200, scale=1.0):
    """SSD post-processing: decode, threshold, per-class NMS, keep the ``top_k`` best.

    ``loc`` ``(B, P, 4)`` offsets and ``conf`` ``(B, P, C)`` logits (Tensors or arrays; a
    softmax over ``C`` gives the class probabilities, class 0 the background), ``priors``
    ``(P, 4)`` ``(cx, cy, w, h)``. Per image: decode every prior's box with SSD's variances,
    clip to ``[0, 1]``, take every (prior, foreground class) pair whose probability exceeds
    ``score_threshold``, run ``batched_nms`` per class at ``nms_threshold`` and keep the
    ``top_k`` highest scores (None: all; ssd.pytorch's ``Detect``; torchvision's SSD applies
    the same steps, except that both first cut each class to its best candidates, 200 and 400:
    NMS here sees every candidate above the threshold, so a low-scoring box that those caps
    drop can survive). Returns one dict per image with ``'boxes'`` ``(K, 4)`` ``xyxy`` times
    ``scale`` (the image size turns them into pixels), ``'scores'`` ``(K,)`` and ``'labels'``
    ``(K,)`` 0-based classes (network class minus one), sorted by descending score.
    """
    fn = "detect"
    if top_k is not None and (isinstance(top_k, (bool, np.bool_))
                              or not isinstance(top_k, (int, np.integer)) or top_k < 0):
        raise ValueError(f"{fn}: top_k must be None (no limit) or an integer >= 0, got {top_k!r}")
    loc, conf = np.asarray(loc), np.asarray(conf)
    priors = np.asarray(priors, dtype=np.float32)
    if loc.ndim != 3 or loc.shape[2] != 4 or conf.ndim != 3 or conf.shape[:2] != loc.shape[:2] \
            or priors.shape != (loc.shape[1], 4):
        raise ValueError(f"{fn}: loc (B, P, 4), conf (B, P, C) and priors (P, 4) must agree, got "
                         f"{loc.shape}, {conf.shape}, {priors.shape}")
    if conf.shape[2] < 2:
        raise ValueError(f"{fn}: conf needs a background and at least one class, got C = {conf.shape[2]}")
    prior_boxes = priors_to_xyxy(priors)
    probs = _softmax(conf.astype(np.float64))
    results = []
    for image_loc, image_probs in zip(loc, probs):
        boxes = np.clip(SSD_CODER.decode(image_loc.astype(np.float64), prior_boxes), 0.0, 1.0)
        prior_idx, cls = np.nonzero(image_probs[:, 1:] > score_threshold)
        scores = image_probs[prior_idx, cls + 1]
        keep = batched_nms(boxes[prior_idx], scores, cls, nms_threshold)[:top_k]
        results.append({"boxes": (boxes[prior_idx[keep]] * scale).astype(np.float32),
                        "scores": scores[keep].astype(np.float32), "labels": cls[keep].astype(np.int64)})
    return results
