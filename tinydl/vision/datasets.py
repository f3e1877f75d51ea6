"""Synthetic detection data that every machine can make: coloured shapes on textured noise.

``SyntheticShapes`` draws each image from its own seeded generator
(``np.random.default_rng([seed, index])``), so the same seed gives the same images, a
larger set begins with the images of a smaller one, and two seeds give independent sets
(a training set and a held-out test set).
"""
import numbers

import numpy as np

from tinydl.data.dataset import Dataset
from tinydl.tensor import Tensor

SHAPES = ("rectangle", "ellipse", "triangle")


def _bilinear_matrix(n_out, n_in):
    """``(n_out, n_in)`` matrix that resamples a 1-D signal bilinearly (half-pixel centres)."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    matrix = np.zeros((n_out, n_in))
    np.add.at(matrix, (np.arange(n_out), low), 1 - frac)
    np.add.at(matrix, (np.arange(n_out), high), frac)
    return matrix


def _shape_mask(kind, box, yy, xx, rng):
    """Boolean ``(S, S)`` mask of a filled shape whose tight bounding box is ``box`` (xyxy).

    Pixel ``(i, j)`` is inside when its centre ``(j + .5, i + .5)`` is. A rectangle touches
    all four sides of its box (whole-pixel corners); a triangle's slanted edges may stop a
    pixel or more short of them, so the dataset records the mask's own extent.
    """
    x1, y1, x2, y2 = box
    cx, cy = xx + 0.5, yy + 0.5
    if kind == "rectangle":
        return (cx >= x1) & (cx < x2) & (cy >= y1) & (cy < y2)
    if kind == "ellipse":
        a, b = (x2 - x1) / 2, (y2 - y1) / 2
        return ((cx - (x1 + a)) / a) ** 2 + ((cy - (y1 + b)) / b) ** 2 <= 1.0
    # Triangle: apex on the top (or, flipped, bottom) side at a random x, base on the other
    # side; inside means on the inner side of both slanted edges.
    apex = x1 + rng.uniform(0.2, 0.8) * (x2 - x1)
    down = rng.random() < 0.5
    t = (cy - y1) / (y2 - y1)
    if down:
        t = 1 - t
    left = apex + (x1 - apex) * t
    right = apex + (x2 - apex) * t
    return (cx >= left) & (cx < right) & (cy >= y1) & (cy < y2)


class SyntheticShapes(Dataset):
    """Images of filled rectangles, ellipses and triangles over a noisy, textured background.

    ``SyntheticShapes(n_images, image_size=64, max_objects=4, classes=('rectangle',
    'ellipse', 'triangle'), seed=0, transform=None)``

    Item ``i`` is ``(image, boxes, labels)``: ``image`` ``(3, S, S)`` float32 in ``[0, 1]``
    (RGB, channels first), ``boxes`` ``(K, 4)`` float32 ``xyxy`` in pixels (no ``+1``: a
    shape covering pixel columns ``x1 .. x2 - 1`` has ``x2`` as its right edge), ``labels``
    ``(K,)`` int64 indices into ``classes``, with ``1 <= K <= max_objects``. Each image has
    a smooth random colour field (a bilinearly upsampled 4x4 grid) plus Gaussian pixel noise;
    each shape has a random class, size (sides ``0.15 S`` to ``0.5 S``), position and a colour
    that stands out from the background; shapes do not overlap (rejection sampling). Images
    are stored quantised to 8 bits, as a photo would be. ``transform(image, boxes, labels)``
    (see ``tinydl.vision.transforms``) is applied on every access.

    Use ``collate`` (or the loader's ``get_batch``, which this class provides) to batch items
    with different numbers of boxes: images are stacked into one Tensor, boxes and labels
    stay lists of arrays.
    """

    def __init__(self, n_images, image_size=64, max_objects=4, classes=SHAPES, seed=0, transform=None):
        fn = "SyntheticShapes"
        if not isinstance(n_images, numbers.Integral) or n_images < 1:
            raise ValueError(f"{fn}: n_images must be a positive integer, got {n_images!r}")
        if not isinstance(image_size, numbers.Integral) or image_size < 16:
            raise ValueError(f"{fn}: image_size must be an integer >= 16, got {image_size!r}")
        if not isinstance(max_objects, numbers.Integral) or max_objects < 1:
            raise ValueError(f"{fn}: max_objects must be a positive integer, got {max_objects!r}")
        classes = tuple(classes)
        unknown = [c for c in classes if c not in SHAPES]
        if not classes or unknown or len(set(classes)) != len(classes):
            raise ValueError(f"{fn}: classes must be distinct names from {SHAPES}, got {classes}")
        self.image_size, self.max_objects, self.classes = int(image_size), int(max_objects), classes
        self.seed, self.transform = seed, transform
        made = [self._make(i) for i in range(int(n_images))]
        self.images = np.stack([m[0] for m in made])
        self.boxes = [m[1] for m in made]
        self.labels = [m[2] for m in made]

    def _make(self, index):
        """Image ``index`` as (uint8 ``(3, S, S)``, float32 boxes, int64 labels)."""
        rng = np.random.default_rng([int(self.seed), index])
        s = self.image_size
        up = _bilinear_matrix(s, 4)
        base = rng.uniform(0.25, 0.75, 3)
        field = base[:, None, None] + np.einsum("ia,cab,jb->cij", up, rng.normal(0, 0.12, (3, 4, 4)), up)
        image = field + rng.normal(0, 0.04, (3, s, s))
        # One noise draw serves every shape of the image (shapes do not overlap).
        shape_noise = rng.normal(0, 0.04, (3, s, s))
        yy, xx = np.mgrid[0:s, 0:s]
        boxes, labels = [], []
        n_objects = int(rng.integers(1, self.max_objects + 1))
        # A handful of shapes: a loop over tries is cheap, each try is vectorised.
        for _ in range(30 * n_objects):
            if len(boxes) == n_objects:
                break
            w, h = np.round(rng.uniform(0.15, 0.5, 2) * s)
            x1, y1 = rng.integers(0, s - w + 1), rng.integers(0, s - h + 1)
            box = np.array([x1, y1, x1 + w, y1 + h], dtype=np.float64)
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
                continue
            label = int(rng.integers(len(self.classes)))
            colour = rng.uniform(0, 1, 3)
            while np.abs(colour - base).max() < 0.35:
                colour = rng.uniform(0, 1, 3)
            mask = _shape_mask(self.classes[label], box, yy, xx, rng)
            # The box is the drawn pixels' extent: a triangle's slanted edges can stop short
            # of its nominal box's sides (by up to 3 px, IoU 0.85), which would be wrong
            # ground truth. (Within the nominal box, so shapes still do not overlap.)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if rows.size:
                box = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)
            image = np.where(mask, colour[:, None, None] + shape_noise, image)
            boxes.append(box)
            labels.append(label)
        image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        return image, np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"SyntheticShapes: index {index} out of range for {len(self)} images")
        image = self.images[index].astype(np.float32) / np.float32(255)
        boxes, labels = self.boxes[index].copy(), self.labels[index].copy()
        if self.transform is not None:
            image, boxes, labels = self.transform(image, boxes, labels)
        return image, boxes, labels

    def get_batch(self, indices):
        """``collate`` of the items at ``indices``: what a ``DataLoader`` yields."""
        return collate([self[int(i)] for i in indices])


def collate(samples):
    """Batch detection samples ``(image, boxes, labels)`` with any number of boxes each.

    Returns ``(images, boxes, labels)``: ``images`` a ``(B, 3, S, S)`` Tensor, ``boxes`` and
    ``labels`` lists of ``B`` arrays (``(K_i, 4)`` and ``(K_i,)``), as torchvision's detection
    references batch targets (a list, since the ``K_i`` differ).
    """
    if not samples:
        raise ValueError("collate: got an empty list of samples")
    shapes = {np.shape(s[0]) for s in samples}
    if len(shapes) != 1:
        raise ValueError(f"collate: images must share one shape to be stacked, got {sorted(shapes)}")
    images = np.stack([np.asarray(s[0], dtype=np.float32) for s in samples])
    return Tensor(images), [np.asarray(s[1]) for s in samples], [np.asarray(s[2]) for s in samples]
