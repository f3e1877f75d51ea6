"""SyntheticShapes: seeded, well-formed boxes that fit the drawn shapes, and collation."""
import numpy as np
import pytest

import tinydl as td
from tinydl.data import DataLoader
from tinydl.vision.datasets import SyntheticShapes, collate


def test_same_seed_same_data_and_other_seeds_differ():
    a, b = SyntheticShapes(6, seed=5), SyntheticShapes(10, seed=5)
    c = SyntheticShapes(6, seed=6)
    for i in range(6):
        np.testing.assert_array_equal(a[i][0], b[i][0])      # a smaller set is a prefix
        np.testing.assert_array_equal(a[i][1], b[i][1])
        np.testing.assert_array_equal(a[i][2], b[i][2])
    assert not np.array_equal(a.images, c.images)


def test_items_are_well_formed():
    data = SyntheticShapes(40, image_size=48, max_objects=3, seed=1)
    counts = []
    for image, boxes, labels in (data[i] for i in range(len(data))):
        assert image.shape == (3, 48, 48) and image.dtype == np.float32
        assert 0 <= image.min() and image.max() <= 1
        assert boxes.dtype == np.float32 and labels.dtype == np.int64
        assert boxes.shape == (len(labels), 4) and 1 <= len(labels) <= 3
        sides = boxes[:, 2:] - boxes[:, :2]
        assert (boxes >= 0).all() and (boxes <= 48).all()
        assert (sides >= 0.15 * 48 - 0.5).all() and (sides <= 0.5 * 48 + 0.5).all()
        # Shapes never overlap.
        for i in range(len(boxes)):
            for j in range(i):
                overlap = np.minimum(boxes[i, 2:], boxes[j, 2:]) - np.maximum(boxes[i, :2], boxes[j, :2])
                assert (overlap <= 0).any()
        counts.append(len(labels))
    assert set(counts) == {1, 2, 3}
    assert set(np.concatenate(data.labels)) == {0, 1, 2}


def test_boxes_are_tight_around_the_drawn_shapes():
    """Inside each box, the rows and columns at its edges hold shape-coloured pixels; the
    rectangle fills its box, so its mean colour differs from the ring of pixels just outside."""
    data = SyntheticShapes(30, seed=2, classes=("rectangle",))
    for image, boxes, _ in (data[i] for i in range(len(data))):
        for x1, y1, x2, y2 in boxes.astype(int):
            inside = image[:, y1:y2, x1:x2]
            spread = np.abs(inside - inside.mean(axis=(1, 2), keepdims=True)).mean()
            assert spread < 0.06, "a rectangle's box should hold one noisy colour"
            if x2 < 64:
                outside = image[:, y1:y2, x2]
                assert np.abs(outside.mean(axis=1) - inside.mean(axis=(1, 2))).max() > 0.1


def test_every_box_is_the_extent_of_its_drawn_mask(monkeypatch):
    """Triangles too: their slanted edges may stop short of the nominal box (65% of them,
    by up to 3 px), so the recorded box is the mask's own extent."""
    from tinydl.vision import datasets

    masks = []
    real = datasets._shape_mask

    def recording(*args):
        masks.append(real(*args))
        return masks[-1]

    monkeypatch.setattr(datasets, "_shape_mask", recording)
    data = SyntheticShapes(40, seed=1, classes=("triangle", "ellipse", "rectangle"))
    drawn = iter(masks)
    for i in range(len(data)):
        for box in data.boxes[i]:
            mask = next(drawn)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            np.testing.assert_array_equal(box, [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])


def test_collate_and_loader_keep_variable_box_counts():
    data = SyntheticShapes(10, seed=0)
    images, boxes, labels = collate([data[i] for i in range(4)])
    assert isinstance(images, td.Tensor) and images.shape == (4, 3, 64, 64)
    assert [len(b) for b in boxes] == [len(data[i][1]) for i in range(4)]
    batches = list(DataLoader(data, batch_size=4, shuffle=True, seed=0))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert sum(len(lab) for b in batches for lab in b[2]) == sum(len(lab) for lab in data.labels)
    with pytest.raises(ValueError, match="collate: images must share one shape"):
        collate([data[0], (np.zeros((3, 32, 32)), data[1][1], data[1][2])])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="SyntheticShapes: classes"):
        SyntheticShapes(2, classes=("circle",))
    with pytest.raises(ValueError, match="SyntheticShapes: n_images"):
        SyntheticShapes(0)
    with pytest.raises(IndexError, match="SyntheticShapes: index 3"):
        SyntheticShapes(3)[3]
