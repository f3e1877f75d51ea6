"""Anchor (prior) boxes: SSD's priors, torchvision's multi-level AnchorGenerator, YOLO's
k-means anchors, and the FPN rule that assigns a box to a pyramid level."""
import numbers

import numpy as np

from tinydl.vision.boxes import _check_boxes


def _positive_list(values, fn, name):
    values = [float(v) for v in values]
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{fn}: {name} must be a non-empty sequence of positive numbers, got {values}")
    return values


def ssd_prior_boxes(image_size, feature_maps, steps, min_sizes, max_sizes, aspect_ratios, clip=True):
    """SSD default boxes (Liu et al. 2016) as ``(P, 4)`` normalised ``(cx, cy, w, h)``, float32.

    Level ``k`` has a ``feature_maps[k]`` square grid, rows outer and columns inner, with
    centres ``((j + .5) / f_k, (i + .5) / f_k)`` where ``f_k = image_size / steps[k]``. Each
    cell emits ``[s, s]`` with ``s = min_sizes[k] / image_size``, then ``[s', s']`` with
    ``s' = sqrt(s * max_sizes[k] / image_size)``, then for each ``ar`` in ``aspect_ratios[k]``
    ``[s sqrt(ar), s / sqrt(ar)]`` and ``[s / sqrt(ar), s sqrt(ar)]``. ``clip`` clamps all four
    numbers to ``[0, 1]``. Follows ssd.pytorch ``layers/functions/prior_box.py``; the VOC300
    configuration gives 8732 priors. The sizes encode the paper's linear scale rule
    ``s_k = s_min + (s_max - s_min)(k - 1)/(m - 1)``.
    """
    fn = "ssd_prior_boxes"
    if not isinstance(image_size, numbers.Real) or image_size <= 0:
        raise ValueError(f"{fn}: image_size must be a positive number (square images), got {image_size!r}")
    n_levels = len(feature_maps)
    lengths = {len(steps), len(min_sizes), len(max_sizes), len(aspect_ratios)}
    if n_levels == 0 or lengths != {n_levels}:
        raise ValueError(f"{fn}: feature_maps, steps, min_sizes, max_sizes and aspect_ratios need one "
                         f"entry per level, got lengths {n_levels}, {len(steps)}, {len(min_sizes)}, "
                         f"{len(max_sizes)}, {len(aspect_ratios)}")
    steps = _positive_list(steps, fn, "steps")
    min_sizes = _positive_list(min_sizes, fn, "min_sizes")
    max_sizes = _positive_list(max_sizes, fn, "max_sizes")
    priors = []
    for k, f in enumerate(feature_maps):
        if int(f) != f or f <= 0:
            raise ValueError(f"{fn}: feature_maps[{k}] must be a positive integer, got {f!r}")
        ratios = _positive_list(aspect_ratios[k], fn, f"aspect_ratios[{k}]") if len(aspect_ratios[k]) else []
        f_k = image_size / steps[k]
        s = min_sizes[k] / image_size
        s_prime = np.sqrt(s * (max_sizes[k] / image_size))
        wh = [(s, s), (s_prime, s_prime)]
        for ar in ratios:
            wh += [(s * np.sqrt(ar), s / np.sqrt(ar)), (s / np.sqrt(ar), s * np.sqrt(ar))]
        wh = np.asarray(wh)
        rows, cols = np.meshgrid(np.arange(int(f)), np.arange(int(f)), indexing="ij")
        centres = np.stack([(cols.ravel() + 0.5) / f_k, (rows.ravel() + 0.5) / f_k], axis=1)
        level = np.concatenate(np.broadcast_arrays(centres[:, None, :], wh[None, :, :]), axis=2)
        priors.append(level.reshape(-1, 4))
    priors = np.concatenate(priors)
    if clip:
        priors = np.clip(priors, 0.0, 1.0)
    return priors.astype(np.float32)


def _nested(values, n_levels=None):
    """torchvision's argument rule: a flat sequence of sizes means one size per level, a flat
    sequence of ratios is shared by every level."""
    values = tuple(values)
    if values and not isinstance(values[0], (list, tuple, np.ndarray)):
        return tuple((v,) for v in values) if n_levels is None else (values,) * n_levels
    return tuple(tuple(v) for v in values)


class AnchorGenerator:
    """Multi-level anchors in torchvision's layout (``models/detection/anchor_utils.py``).

    ``sizes[l]`` and ``aspect_ratios[l]`` (ratio = h / w) give level ``l``'s base anchors:
    ``h_ratio = sqrt(r)``, ``w_ratio = 1 / h_ratio``, ``ws = w_ratio x sizes`` (ratio-major),
    ``base = round([-ws, -hs, ws, hs] / 2)`` (half to even, computed in float32 as torchvision
    does). A flat ``sizes`` tuple means one size per level; a flat ``aspect_ratios`` is
    shared by all levels. ``anchors(image_size, feature_map_sizes)`` (also ``__call__``)
    shifts each level's base anchors by ``arange(grid) * (image // grid)`` (no half-cell
    offset), in the order rows, columns, base anchors, and concatenates the levels into one
    ``(sum_l H_l W_l A_l, 4)`` ``xyxy`` array.
    """

    def __init__(self, sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)):
        self.sizes = _nested(sizes)
        if not self.sizes:
            raise ValueError("AnchorGenerator: sizes must give at least one level, got ()")
        self.aspect_ratios = _nested(aspect_ratios, len(self.sizes))
        if len(self.sizes) != len(self.aspect_ratios):
            raise ValueError(f"AnchorGenerator: sizes and aspect_ratios need one entry per level, got "
                             f"{len(self.sizes)} and {len(self.aspect_ratios)}")
        for level, (s, r) in enumerate(zip(self.sizes, self.aspect_ratios)):
            _positive_list(s, "AnchorGenerator", f"sizes[{level}]")
            _positive_list(r, "AnchorGenerator", f"aspect_ratios[{level}]")
        self.cell_anchors = [self.base_anchors(s, r) for s, r in zip(self.sizes, self.aspect_ratios)]

    @staticmethod
    def base_anchors(sizes, aspect_ratios):
        """Zero-centred ``(len(ratios) * len(sizes), 4)`` anchors of one level, float32."""
        scales = np.asarray(sizes, dtype=np.float32)
        h_ratios = np.sqrt(np.asarray(aspect_ratios, dtype=np.float32))
        w_ratios = np.float32(1) / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).ravel()
        hs = (h_ratios[:, None] * scales[None, :]).ravel()
        return np.round(np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2))

    def num_anchors_per_location(self):
        """Number of base anchors at each grid cell, per level."""
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios)]

    def anchors(self, image_size, feature_map_sizes):
        """All anchors for an image of ``image_size = (H, W)`` and one ``(h, w)`` grid per level.

        Returns ``(sum_l h_l w_l A_l, 4)`` float32 ``xyxy`` anchors, level by level.
        """
        if len(feature_map_sizes) != len(self.cell_anchors):
            raise ValueError(f"AnchorGenerator: got {len(feature_map_sizes)} feature maps for "
                             f"{len(self.cell_anchors)} anchor levels")
        image_h, image_w = (int(v) for v in image_size)
        out = []
        for (grid_h, grid_w), base in zip(feature_map_sizes, self.cell_anchors):
            grid_h, grid_w = int(grid_h), int(grid_w)
            if grid_h <= 0 or grid_w <= 0:
                raise ValueError(f"AnchorGenerator: feature map sizes must be positive, "
                                 f"got {(grid_h, grid_w)}")
            shift_y, shift_x = np.meshgrid(np.arange(grid_h) * (image_h // grid_h),
                                           np.arange(grid_w) * (image_w // grid_w), indexing="ij")
            shifts = np.stack([shift_x, shift_y, shift_x, shift_y], axis=-1).reshape(-1, 1, 4)
            out.append((shifts.astype(np.float32) + base[None]).reshape(-1, 4))
        return np.concatenate(out)

    __call__ = anchors

    def __repr__(self):
        return f"AnchorGenerator(sizes={self.sizes}, aspect_ratios={self.aspect_ratios})"


def _wh_iou(wh, centroids):
    """IoU of ``(n, 2)`` widths/heights against ``(k, 2)`` centroids, boxes sharing a corner."""
    inter = (np.minimum(wh[:, None, 0], centroids[None, :, 0])
             * np.minimum(wh[:, None, 1], centroids[None, :, 1]))
    union = (wh[:, 0] * wh[:, 1])[:, None] + (centroids[:, 0] * centroids[:, 1])[None, :] - inter
    return inter / union


def kmeans_anchors(wh, k, iters=300, seed=0, center="median", return_iou=False):
    """YOLOv2 anchor clustering (Redmon & Farhadi 2017): k-means on box sizes with ``d = 1 - IoU``.

    IoU is taken with both boxes sharing a corner: ``inter = min(w, w_c) min(h, h_c)``.
    Forgy initialisation (``k`` distinct rows drawn with ``np.random.default_rng(seed)``, or
    tinydl's generator when ``seed`` is None), assignment to the nearest centroid (ties to
    the lowest index), centroid update by the per-cluster ``center`` (``'median'`` or
    ``'mean'``), until the assignment repeats or ``iters`` updates. An empty cluster is
    re-seeded with the box farthest from its centroid (taken from a cluster of two or more).
    ``wh`` ``(n, 2)`` positive widths and heights; returns ``(k, 2)`` centroids sorted by
    area, and the mean best IoU ``mean_i max_c IoU(wh_i, c)`` too when ``return_iou``.
    """
    fn = "kmeans_anchors"
    wh = np.asarray(wh)
    if wh.ndim != 2 or wh.shape[1] != 2:
        raise ValueError(f"{fn}: wh must have shape (n, 2) [width, height], got {wh.shape}")
    wh = wh.astype(wh.dtype if np.issubdtype(wh.dtype, np.floating) else np.float32)
    if not np.isfinite(wh).all() or (wh <= 0).any():
        raise ValueError(f"{fn}: every width and height must be finite and > 0 "
                         f"(zero-size boxes have no IoU)")
    if center not in ("median", "mean"):
        raise ValueError(f"{fn}: center must be 'median' or 'mean', got {center!r}")
    distinct = np.unique(wh, axis=0)
    if int(k) != k or not 1 <= k <= len(distinct):
        raise ValueError(f"{fn}: k must be an integer in [1, {len(distinct)}] (the number of distinct "
                         f"boxes), got {k!r}")
    if int(iters) != iters or iters < 1:
        raise ValueError(f"{fn}: iters must be a positive integer, got {iters!r}")
    k = int(k)
    if seed is None:
        from tinydl.random import get_generator
        rng = get_generator()
    else:
        rng = np.random.default_rng(seed)
    reduce = np.median if center == "median" else np.mean

    centroids = distinct[rng.choice(len(distinct), size=k, replace=False)]
    rows = np.arange(len(wh))
    assignment = None
    for _ in range(int(iters)):
        distance = 1.0 - _wh_iou(wh, centroids)
        new_assignment = np.argmin(distance, axis=1)
        if assignment is not None and np.array_equal(new_assignment, assignment):
            break
        assignment = new_assignment
        sizes = np.bincount(assignment, minlength=k)
        # Re-seed each empty cluster with the worst-fitted box of a cluster that can spare one
        # (there is one: n >= k), before any centroid moves, so that a converged result is
        # a true fixed point.
        for c in np.flatnonzero(sizes == 0):
            fit = np.where(sizes[assignment] > 1, distance[rows, assignment], -np.inf)
            farthest = int(np.argmax(fit))
            sizes[assignment[farthest]] -= 1
            assignment[farthest] = c
            sizes[c] = 1
        # One step per cluster (k is small); each step is a vectorised reduction.
        centroids = np.stack([reduce(wh[assignment == c], axis=0) for c in range(k)]).astype(wh.dtype)
    order = np.argsort(centroids[:, 0] * centroids[:, 1], kind="stable")
    centroids = centroids[order]
    if return_iou:
        return centroids, float(_wh_iou(wh, centroids).max(axis=1).mean())
    return centroids


def fpn_level(boxes, k_min=2, k_max=5, canonical_scale=224, canonical_level=4):
    """FPN level of each RoI (Lin et al. 2017, eq. 1): ``floor(k0 + log2(sqrt(wh) / 224) + 1e-6)``.

    Clamped to ``[k_min, k_max]``; returns the level number itself (int64, e.g. 2..5), not a
    0-based index. ``boxes`` ``(N, 4)`` ``xyxy`` -> ``(N,)``. The ``1e-6`` follows torchvision's
    ``LevelMapper`` (``ops/poolers.py``), so a 224-pixel box lands exactly on ``k0``.
    Zero-area boxes go to ``k_min``.
    """
    boxes = _check_boxes(boxes, "fpn_level")
    if k_min > k_max:
        raise ValueError(f"fpn_level: k_min must be <= k_max, got {k_min} > {k_max}")
    if canonical_scale <= 0:
        raise ValueError(f"fpn_level: canonical_scale must be > 0, got {canonical_scale}")
    area = (boxes[:, 2] - boxes[:, 0]).astype(np.float64) * (boxes[:, 3] - boxes[:, 1])
    with np.errstate(divide="ignore"):
        level = np.floor(canonical_level + np.log2(np.sqrt(area) / canonical_scale) + 1e-6)
    return np.clip(level, k_min, k_max).astype(np.int64)
