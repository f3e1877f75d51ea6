"""The detection toolbox of tinydl.vision on a synthetic scene, in one figure.

``detection_toolbox.png`` has six panels:

* SSD's default boxes (the VOC300 configuration, 8732 priors) at three grid cells of three
  pyramid levels;
* FPN anchors of torchvision's ``AnchorGenerator`` (one size per level, ratios .5, 1, 2)
  at the centre cell of each level, and the ground-truth boxes coloured by ``fpn_level``;
* a detector's raw output (jittered boxes around each object plus false alarms), the
  boxes kept by NMS at IoU .5, and the Soft-NMS rescored boxes (Gaussian, sigma .5; line
  opacity is the new score);
* the precision-recall curve of NMS-filtered detections over a set of synthetic images,
  with its VOC2010 envelope and the VOC07, VOC and COCO mAP of ``evaluate_detections``.

    python examples/detection_toolbox.py [--out DIR] [--fast]

``--out`` defaults to ``output/`` beside this file.

``--fast`` (or ``TINYDL_FAST=1``) uses fewer images for the precision-recall curve.
"""

import argparse
import os
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import tinydl  # noqa: E402
from tinydl.vision import (AnchorGenerator, box_iou, evaluate_detections, fpn_level, nms,  # noqa: E402
                           soft_nms, ssd_prior_boxes)

SIZE = 300
VOC300 = dict(image_size=SIZE, feature_maps=[38, 19, 10, 5, 3, 1], steps=[8, 16, 32, 64, 100, 300],
              min_sizes=[30, 60, 111, 162, 213, 264], max_sizes=[60, 111, 162, 213, 264, 315],
              aspect_ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]])
LEVEL_COLOURS = {2: "tab:blue", 3: "tab:green", 4: "tab:orange", 5: "tab:red"}


def make_scene(rng, n_objects=5):
    """A smooth background with non-overlapping coloured rectangles; returns
    (image (H, W, 3), gt boxes xyxy)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    image = np.stack([0.85 - 0.2 * yy, 0.9 - 0.1 * xx, 0.95 - 0.15 * xx * yy], axis=-1)
    boxes = np.zeros((0, 4))
    # Rejection sampling: a handful of boxes, so a loop of tries is cheap.
    for _ in range(200):
        side = np.exp(rng.uniform(np.log(20), np.log(170), 2))
        corner = rng.uniform(0, 1, 2) * (SIZE - side)
        box = np.round(np.concatenate([corner, corner + side]))[None]
        if not len(boxes) or box_iou(box, boxes).max() == 0:
            boxes = np.concatenate([boxes, box])
        if len(boxes) == n_objects:
            break
    for box in boxes:
        x1, y1, x2, y2 = box.astype(int)
        image[y1:y2, x1:x2] = 0.3 + 0.6 * rng.random(3)
    return np.clip(image, 0, 1), boxes


def fake_detector(rng, gt_boxes, per_object=25, false_alarms=12, miss_rate=0.1):
    """Boxes jittered around each object (closer boxes tend to score higher; some objects
    are missed) plus random false alarms with scores up to 0.9."""
    seen = np.flatnonzero(rng.random(len(gt_boxes)) >= miss_rate)
    owner = np.repeat(seen, per_object)
    wh = gt_boxes[owner, 2:] - gt_boxes[owner, :2]
    noise = rng.normal(0, 0.08, (len(owner), 4))
    boxes = gt_boxes[owner] + noise * np.concatenate([wh, wh], axis=1)
    scores = np.exp(-4 * np.abs(noise).mean(axis=1)) * rng.uniform(0.6, 1.0, len(owner))
    xy = rng.uniform(0, SIZE - 60, (false_alarms, 2))
    alarms = np.concatenate([xy, xy + rng.uniform(20, 60, (false_alarms, 2))], axis=1)
    boxes = np.concatenate([boxes, alarms])
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    scores = np.concatenate([scores, rng.uniform(0.05, 0.9, false_alarms)])
    return np.clip(boxes, 0, SIZE), scores


def draw_boxes(ax, boxes, colour, alpha=None, width=1.0):
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        a = 1.0 if alpha is None else float(alpha[k])
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, alpha=a, lw=width))


def show(ax, image, title):
    ax.imshow(image, extent=(0, SIZE, SIZE, 0))
    ax.set_xlim(-40, SIZE + 40)
    ax.set_ylim(SIZE + 40, -40)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def ssd_panel(ax, image):
    priors = ssd_prior_boxes(**VOC300)
    counts = [f * f * (2 + 2 * len(ar)) for f, ar in zip(VOC300["feature_maps"], VOC300["aspect_ratios"])]
    starts = np.cumsum([0] + counts[:-1])
    show(ax, image, f"SSD300 priors ({len(priors)}): 3 cells of levels 1, 3, 6")
    for level, (i, j), colour in ((0, (8, 9), "tab:blue"), (2, (6, 6), "tab:green"), (5, (0, 0), "tab:red")):
        f = VOC300["feature_maps"][level]
        per_cell = counts[level] // (f * f)
        first = starts[level] + (i * f + j) * per_cell
        cx, cy, w, h = (priors[first:first + per_cell] * SIZE).T
        draw_boxes(ax, np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1), colour)
        ax.plot(cx[0], cy[0], "o", color=colour, ms=3)


def fpn_panel(ax, image, gt_boxes):
    generator = AnchorGenerator(sizes=(32, 64, 128, 256), aspect_ratios=(0.5, 1.0, 2.0))
    grids = [(SIZE // s, SIZE // s) for s in (4, 8, 16, 32)]
    anchors = generator((SIZE, SIZE), grids)
    show(ax, image, f"FPN anchors ({len(anchors)}); GT coloured by fpn_level")
    start = 0
    for (gh, gw), n_base, level in zip(grids, generator.num_anchors_per_location(), (2, 3, 4, 5)):
        centre = ((gh // 2) * gw + gw // 2) * n_base
        draw_boxes(ax, anchors[start + centre:start + centre + n_base], LEVEL_COLOURS[level], width=0.8)
        start += gh * gw * n_base
    # With the canonical 224 px at level 4, objects of this small image map to levels 2-4.
    for box, level in zip(gt_boxes, fpn_level(gt_boxes)):
        draw_boxes(ax, box[None], LEVEL_COLOURS[int(level)], width=2.5)
        ax.text(box[0], box[1] - 3, f"P{level}", color=LEVEL_COLOURS[int(level)], fontsize=8)


def pr_curve(detections, ground_truths, threshold=0.5):
    """Precision and recall of all detections pooled over images (VOC matching, one class)."""
    scores, hits = [], []
    npos = sum(len(g["boxes"]) for g in ground_truths)
    for d, g in zip(detections, ground_truths):
        order = np.argsort(-d["scores"], kind="stable")
        iou = box_iou(d["boxes"][order], g["boxes"])
        taken = np.zeros(len(g["boxes"]), dtype=bool)
        for row in iou:
            best = int(np.argmax(row))
            hit = row[best] > threshold and not taken[best]
            taken[best] |= hit
            hits.append(hit)
        scores.append(d["scores"][order])
    order = np.argsort(-np.concatenate(scores), kind="stable")
    tp = np.cumsum(np.asarray(hits)[order])
    return tp / np.arange(1, len(tp) + 1), tp / npos


def pr_panel(ax, rng, n_images):
    detections, ground_truths = [], []
    for _ in range(n_images):
        _, gt_boxes = make_scene(rng)
        boxes, scores = fake_detector(rng, gt_boxes)
        keep = nms(boxes, scores, 0.5)
        detections.append({"boxes": boxes[keep], "scores": scores[keep], "labels": np.zeros(len(keep), int)})
        ground_truths.append({"boxes": gt_boxes, "labels": np.zeros(len(gt_boxes), int)})
    precision, recall = pr_curve(detections, ground_truths)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    maps = {m: evaluate_detections(detections, ground_truths, method=m)["map"]
            for m in ("voc07", "voc", "coco")}
    ax.plot(recall, precision, color="0.6", lw=1, label="precision")
    ax.step(recall, envelope, where="post", color="tab:blue", lw=2, label="VOC envelope")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"after NMS, {n_images} images: VOC07 {maps['voc07']:.3f}, "
                 f"VOC {maps['voc']:.3f}, COCO {maps['coco']:.3f}", fontsize=9)
    ax.legend(loc="lower left", fontsize=8)


def figure(out, fast):
    rng = tinydl.random.get_generator()
    image, gt_boxes = make_scene(rng)
    boxes, scores = fake_detector(rng, gt_boxes, miss_rate=0.0)
    fig, axes = plt.subplots(2, 3, figsize=(15, 10))
    ssd_panel(axes[0, 0], image)
    fpn_panel(axes[0, 1], image, gt_boxes)

    show(axes[0, 2], image, f"detector output: {len(boxes)} boxes")
    draw_boxes(axes[0, 2], boxes, "tab:red", alpha=0.3 + 0.7 * scores / scores.max(), width=0.7)

    keep = nms(boxes, scores, 0.5)
    show(axes[1, 0], image, f"NMS at IoU 0.5: {len(keep)} kept")
    draw_boxes(axes[1, 0], boxes[keep], "tab:red", width=1.5)

    soft_keep, soft_scores = soft_nms(boxes, scores, sigma=0.5, score_threshold=0.05)
    show(axes[1, 1], image, f"Soft-NMS (Gaussian, sigma 0.5): {len(soft_keep)} above 0.05")
    draw_boxes(axes[1, 1], boxes[soft_keep], "tab:purple", alpha=soft_scores / soft_scores.max(), width=1.5)

    pr_panel(axes[1, 2], rng, 4 if fast else 40)
    fig.tight_layout()
    path = os.path.join(out, "detection_toolbox.png")
    fig.savefig(path, dpi=80 if fast else 110)
    plt.close(fig)
    return path


def main(argv=None):
    """Parse --out / --fast and write the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"),
                        help="folder for the PNG")
    parser.add_argument("--fast", action="store_true", help="fewer images (also TINYDL_FAST=1)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    os.makedirs(args.out, exist_ok=True)
    tinydl.manual_seed(0)
    start = time.perf_counter()
    print(f"wrote {figure(args.out, fast)}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
