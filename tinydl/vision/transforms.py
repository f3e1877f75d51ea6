"""Data augmentation for detection that keeps the boxes right.

Every transform is called as ``t(image, boxes, labels)`` on one sample (``image``
``(C, H, W)`` float array in ``[0, 1]``, ``boxes`` ``(K, 4)`` ``xyxy`` pixels, ``labels``
``(K,)``) and returns the three transformed; ``Compose`` chains them. Random draws come from
``np.random.default_rng(seed)`` when a seed is given, else from tinydl's global generator
(``tinydl.manual_seed``), as ``DataLoader`` does. The recipes follow ssd.pytorch's
``utils/augmentations.py`` (``RandomMirror``, ``RandomSampleCrop``, the photometric
distortions) and torchvision's ``transforms.v2`` box handling.
"""
import numpy as np

from tinydl.data._random import resolve_generator


def _check_sample(image, boxes, labels, fn):
    image = np.asarray(image)
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) if np.size(boxes) == 0 else np.asarray(boxes)
    labels = np.asarray(labels)
    if image.ndim != 3:
        raise ValueError(f"{fn}: image must be (C, H, W), got shape {image.shape}")
    if boxes.ndim != 2 or boxes.shape[1] != 4 or labels.shape != (len(boxes),):
        raise ValueError(f"{fn}: boxes must be (K, 4) with labels (K,), got {boxes.shape} and {labels.shape}")
    return image, boxes, labels


class Compose:
    """Apply ``transforms`` in order: ``Compose([RandomHorizontalFlip(), ColorJitter()])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, boxes, labels):
        for t in self.transforms:
            image, boxes, labels = t(image, boxes, labels)
        return image, boxes, labels


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``: ``x1' = W - x2``, ``x2' = W - x1``."""

    def __init__(self, p=0.5, seed=None):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p, self.rng = p, resolve_generator(seed, "RandomHorizontalFlip")

    def __call__(self, image, boxes, labels):
        image, boxes, labels = _check_sample(image, boxes, labels, "RandomHorizontalFlip")
        if self.rng.random() >= self.p:
            return image, boxes, labels
        width = image.shape[2]
        flipped = boxes.copy()
        flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
        return np.ascontiguousarray(image[:, :, ::-1]), flipped, labels


def _resize_matrix(n_out, start, stop, n_in):
    """``(n_out, n_in)`` bilinear weights sampling ``[start, stop)`` of a 1-D signal at
    ``n_out`` evenly spaced pixel centres (the half-pixel convention of ``align_corners=False``)."""
    pos = np.clip(start + (np.arange(n_out) + 0.5) * (stop - start) / n_out - 0.5, 0, n_in - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    matrix = np.zeros((n_out, n_in), np.float32)
    rows = np.arange(n_out)
    np.add.at(matrix, (rows, low), 1 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


class RandomCrop:
    """Crop a random window and resize it back to the input size, clipping the boxes.

    With probability ``p`` a window of ``scale`` in ``[min_scale, 1]`` times each side
    (independently, so the aspect ratio changes by up to ``1 / min_scale``) is drawn
    uniformly inside the image; boxes whose centre lies outside it are dropped
    (ssd.pytorch's ``RandomSampleCrop`` rule), the others are clipped to it, shifted and
    rescaled with the image (bilinear, separable: ``out = R_y image R_x^T``). Up to
    ``max_tries`` windows are drawn until one keeps at least one box; otherwise the sample is
    returned unchanged. Boxes keep their dtype; integer boxes are rounded to the nearest pixel
    (torchvision's v2 transforms truncate them).
    """

    def __init__(self, min_scale=0.6, p=0.5, max_tries=10, seed=None):
        if not 0 < min_scale <= 1:
            raise ValueError(f"RandomCrop: min_scale must be in (0, 1], got {min_scale}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomCrop: p must be in [0, 1], got {p}")
        self.min_scale, self.p, self.max_tries = min_scale, p, int(max_tries)
        self.rng = resolve_generator(seed, "RandomCrop")

    def __call__(self, image, boxes, labels):
        image, boxes, labels = _check_sample(image, boxes, labels, "RandomCrop")
        if self.rng.random() >= self.p:
            return image, boxes, labels
        _, height, width = image.shape
        size = np.array([width, height], np.float64)
        for _ in range(self.max_tries):
            crop_wh = self.rng.uniform(self.min_scale, 1.0, 2) * size
            x0, y0 = self.rng.uniform(0, 1, 2) * (size - crop_wh)
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            inside = ((centres[:, 0] > x0) & (centres[:, 0] < x0 + crop_wh[0])
                      & (centres[:, 1] > y0) & (centres[:, 1] < y0 + crop_wh[1]))
            if inside.any():
                break
        else:
            return image, boxes, labels
        origin = np.array([x0, y0, x0, y0])
        factor = np.tile(size / crop_wh, 2)
        clipped = np.clip(boxes[inside], origin, origin + np.tile(crop_wh, 2))
        new_boxes = (clipped - origin) * factor
        if boxes.dtype.kind in "iu":  # integer pixel boxes: the nearest pixel, not the floor
            new_boxes = np.rint(new_boxes)  # (a cast alone shrank and shifted every box)
        new_boxes = new_boxes.astype(boxes.dtype)
        rows = _resize_matrix(height, y0, y0 + crop_wh[1], height)
        cols = _resize_matrix(width, x0, x0 + crop_wh[0], width)
        out = np.einsum("ia,cab,jb->cij", rows, image, cols, optimize=True).astype(image.dtype)
        return out, new_boxes, labels[inside]


class ColorJitter:
    """Random brightness, contrast and saturation, in a random order (boxes unchanged).

    Each factor is drawn from ``U[1 - a, 1 + a]`` (``a`` the argument, as torchvision's
    ``ColorJitter``): brightness scales the image, contrast blends it with its mean grey
    level, saturation with its per-pixel grey image (ITU-R 601 luma ``.299 R + .587 G +
    .114 B``); each step's result is clipped to ``[0, 1]`` (torchvision's rule: the next
    step sees the clipped image). Needs 3-channel RGB for saturation.
    """

    def __init__(self, brightness=0.2, contrast=0.2, saturation=0.2, seed=None):
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not 0 <= value <= 1:
                raise ValueError(f"ColorJitter: {name} must be in [0, 1], got {value}")
        self.amounts = (brightness, contrast, saturation)
        self.rng = resolve_generator(seed, "ColorJitter")

    def __call__(self, image, boxes, labels):
        image, boxes, labels = _check_sample(image, boxes, labels, "ColorJitter")
        if image.shape[0] != 3:
            raise ValueError(f"ColorJitter: image must be RGB (3, H, W), got {image.shape}")
        factors = [self.rng.uniform(1 - a, 1 + a) for a in self.amounts]
        out = image.astype(np.float32)
        luma = np.array([0.299, 0.587, 0.114], np.float32)
        for step in self.rng.permutation(3):
            f = np.float32(factors[step])
            if step == 0:
                out = out * f
            elif step == 1:
                out = f * out + (1 - f) * np.tensordot(luma, out, axes=1).mean()
            else:
                out = f * out + (1 - f) * np.tensordot(luma, out, axes=1)[None]
            out = np.clip(out, 0, 1)
        return out.astype(image.dtype), boxes, labels
