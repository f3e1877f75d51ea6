"""Anchor-relative box encoding of Faster R-CNN (Ren et al. 2015), as torchvision's ``BoxCoder``."""
import math

import numpy as np

from tinydl.vision.boxes import _as_float, _check_boxes


def _centre_size(boxes):
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights, widths, heights


class BoxCoder:
    """Encode boxes as offsets from anchors and back.

    With ``w_a = x2 - x1``, ``cx_a = x1 + w_a / 2`` (same for the target box ``g`` and for
    heights) and weights ``(wx, wy, ww, wh)``:
    ``t_x = wx (cx_g - cx_a) / w_a``, ``t_y = wy (cy_g - cy_a) / h_a``,
    ``t_w = ww log(w_g / w_a)``, ``t_h = wh log(h_g / h_a)``.
    ``decode`` divides by the weights, clamps ``t_w, t_h`` from above at ``clip``
    (``log(1000 / 16)``, so one step cannot blow a box up), and inverts the formulas. The RPN
    uses weights ``(1, 1, 1, 1)``; the R-CNN heads and SSD use ``(10, 10, 5, 5)`` (SSD's
    variances ``0.1, 0.2``). Follows torchvision ``models/detection/_utils.py``.
    """

    def __init__(self, weights=(1.0, 1.0, 1.0, 1.0), clip=math.log(1000.0 / 16)):
        weights = tuple(float(w) for w in weights)
        if len(weights) != 4 or not all(np.isfinite(w) and w > 0 for w in weights):
            raise ValueError(f"BoxCoder: weights must be four positive numbers, got {weights}")
        self.weights = weights
        self.clip = float(clip)

    def encode(self, gt, anchors):
        """Regression targets ``(N, 4)`` ``(t_x, t_y, t_w, t_h)`` of ``gt`` boxes w.r.t. ``anchors``.

        ``gt`` and ``anchors`` are ``(N, 4)`` ``xyxy`` with positive widths and heights.
        """
        gt = _check_boxes(gt, "BoxCoder.encode", "gt")
        anchors = _check_boxes(anchors, "BoxCoder.encode", "anchors")
        if gt.shape != anchors.shape:
            raise ValueError(f"BoxCoder.encode: gt {gt.shape} and anchors {anchors.shape} must match")
        for name, boxes in (("gt", gt), ("anchors", anchors)):
            if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
                raise ValueError(f"BoxCoder.encode: {name} need positive widths and heights "
                                 f"(the log of a zero size is -inf)")
        dtype = np.result_type(gt.dtype, anchors.dtype)
        cxg, cyg, wg, hg = _centre_size(gt.astype(dtype))
        cxa, cya, wa, ha = _centre_size(anchors.astype(dtype))
        wx, wy, ww, wh = self.weights
        return np.stack([wx * (cxg - cxa) / wa, wy * (cyg - cya) / ha,
                         ww * np.log(wg / wa), wh * np.log(hg / ha)], axis=1).astype(dtype)

    def decode(self, deltas, anchors):
        """Boxes ``xyxy`` from ``deltas`` ``(N, 4 K)`` (K boxes per anchor, e.g. one per class)
        and ``anchors`` ``(N, 4)``; returns ``(N, 4 K)``."""
        anchors = _check_boxes(anchors, "BoxCoder.decode", "anchors")
        deltas = _as_float(deltas)
        if deltas.ndim != 2 or deltas.shape[0] != anchors.shape[0] or deltas.shape[1] % 4:
            raise ValueError(f"BoxCoder.decode: deltas must have shape ({anchors.shape[0]}, 4 K) to match "
                             f"anchors {anchors.shape}, got {deltas.shape}")
        if not np.isfinite(deltas).all():
            raise ValueError("BoxCoder.decode: deltas contain NaN or infinite values")
        dtype = np.result_type(deltas.dtype, anchors.dtype)
        cxa, cya, wa, ha = (v[:, None] for v in _centre_size(anchors.astype(dtype)))
        wx, wy, ww, wh = self.weights
        dx, dy = deltas[:, 0::4] / wx, deltas[:, 1::4] / wy
        dw = np.minimum(deltas[:, 2::4] / ww, self.clip)
        dh = np.minimum(deltas[:, 3::4] / wh, self.clip)
        cx, cy = dx * wa + cxa, dy * ha + cya
        w, h = np.exp(dw) * wa, np.exp(dh) * ha
        boxes = np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=2)
        return boxes.reshape(deltas.shape).astype(dtype)  # (-1 is undefined for 0 rows)

    def __repr__(self):
        return f"BoxCoder(weights={self.weights}, clip={self.clip:.6g})"
