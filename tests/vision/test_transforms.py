"""Box-aware augmentation: after each transform the boxes still frame the drawn objects."""
import numpy as np
import pytest

from tinydl.vision.transforms import ColorJitter, Compose, RandomCrop, RandomHorizontalFlip


def _scene(boxes, size=(40, 60)):
    """A black image with box ``k`` drawn in channel ``k`` (integer corners), so that the
    blurred edges of one rectangle never look like another."""
    image = np.zeros((3,) + size, np.float32)
    for k, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, int)):
        image[k, y1:y2, x1:x2] = 1.0
    return image


def _extent(image, k):
    """Tight xyxy box of the pixels of channel ``k`` above one half (the edge's half level)."""
    ys, xs = np.nonzero(image[k] > 0.5)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def test_flip_moves_boxes_with_the_pixels():
    boxes = np.array([[5, 4, 20, 30], [30, 10, 58, 20]], np.float32)
    image = _scene(boxes)
    flipped, new_boxes, labels = RandomHorizontalFlip(p=1.0)(image, boxes, np.array([0, 1]))
    for k, box in enumerate(new_boxes):
        np.testing.assert_array_equal(_extent(flipped, k), box)
    np.testing.assert_array_equal(labels, [0, 1])
    back, back_boxes, _ = RandomHorizontalFlip(p=1.0)(flipped, new_boxes, labels)
    np.testing.assert_array_equal(back, image)
    np.testing.assert_array_equal(back_boxes, boxes)
    same = RandomHorizontalFlip(p=0.0)(image, boxes, labels)
    np.testing.assert_array_equal(same[1], boxes)


@pytest.mark.parametrize("seed", range(6))
def test_crop_clips_and_rescales_boxes_with_the_image(seed):
    boxes = np.array([[2, 3, 22, 25], [30, 8, 56, 36]], np.float32)
    image = _scene(boxes)
    crop = RandomCrop(min_scale=0.5, p=1.0, seed=seed)
    out, new_boxes, labels = crop(image, boxes, np.array([4, 7]))
    assert out.shape == image.shape and len(new_boxes) == len(labels) >= 1
    assert set(labels) <= {4, 7}
    for box, label in zip(new_boxes, labels):
        k = [4, 7].index(label)
        # The resampled rectangle's half-level extent matches its box, up to the pixel grid.
        extent = _extent(out, k)
        assert (extent[:2] >= box[:2] - 1).all() and (extent[2:] <= box[2:] + 1).all(), (extent, box)
        assert (np.abs(extent - box) <= 2.5).all(), (extent, box)
    assert (new_boxes >= 0).all() and (new_boxes[:, 2] <= 60).all() and (new_boxes[:, 3] <= 40).all()


def test_crop_rounds_integer_boxes_to_the_nearest_pixel():
    # VOC's integer pixel boxes: a cast alone floored every coordinate (up to a pixel off,
    # always the same way); now they are the float boxes rounded.
    image = np.zeros((1, 60, 80), np.float32)
    for seed in range(10):
        as_int = RandomCrop(0.5, p=1.0, seed=seed)(image, np.array([[20, 10, 50, 40]]), np.array([1]))[1]
        as_float = RandomCrop(0.5, p=1.0, seed=seed)(image, np.array([[20., 10., 50., 40.]]), np.array([1]))[1]
        assert as_int.dtype == np.int64
        np.testing.assert_array_equal(as_int, np.rint(as_float))


def test_crop_drops_boxes_whose_centre_falls_outside():
    boxes = np.array([[0, 0, 6, 6], [20, 10, 40, 30]], np.float32)
    image = _scene(boxes)
    dropped = 0
    for seed in range(30):
        _, new_boxes, labels = RandomCrop(min_scale=0.5, p=1.0, seed=seed)(image, boxes, np.array([0, 1]))
        dropped += 0 not in labels
        assert len(new_boxes) == len(labels)
    assert dropped > 0


def test_color_jitter_keeps_boxes_and_range():
    rng = np.random.default_rng(0)
    image = rng.random((3, 16, 16)).astype(np.float32)
    boxes, labels = np.array([[1, 2, 9, 10]], np.float32), np.array([2])
    out, out_boxes, out_labels = ColorJitter(0.4, 0.4, 0.4, seed=1)(image, boxes, labels)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert not np.allclose(out, image)
    np.testing.assert_array_equal(out_boxes, boxes)
    identity = ColorJitter(0, 0, 0, seed=1)(image, boxes, labels)[0]
    np.testing.assert_allclose(identity, image, atol=1e-6)
    # Saturation blends each pixel with its own grey level, so the luma is unchanged.
    mid = rng.uniform(0.3, 0.7, (3, 8, 8)).astype(np.float32)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    saturated = Compose([ColorJitter(0, 0, 0.5, seed=2)])(mid, boxes, labels)[0]
    assert not np.allclose(saturated, mid)
    np.testing.assert_allclose(np.tensordot(luma, saturated, axes=1), np.tensordot(luma, mid, axes=1), atol=1e-5)


def test_color_jitter_clips_after_every_step_as_torchvision():
    """torchvision clamps each adjustment to [0, 1] before the next; one clip at the end gave
    pixels up to 0.08 away (seed 3: brightness 0.59, contrast 0.74, saturation 1.30)."""
    image = np.random.default_rng(0).uniform(0, 1, (3, 4, 4)).astype(np.float32)
    out = ColorJitter(0.5, 0.5, 0.5, seed=3)(image, np.zeros((0, 4)), np.zeros(0))[0]
    draws = np.random.default_rng(3)
    factors = [np.float32(draws.uniform(0.5, 1.5)) for _ in range(3)]
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    expected = image.copy()
    for step in draws.permutation(3):
        f = factors[step]
        grey = np.tensordot(luma, expected, axes=1)
        blend = {0: 0.0, 1: grey.mean(), 2: grey[None]}[step]
        expected = np.clip(f * expected + (1 - f) * blend, 0, 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_seeded_transforms_repeat_and_errors_are_named():
    boxes = np.array([[2, 3, 22, 25]], np.float32)
    image = _scene(boxes)
    first = RandomCrop(p=1.0, seed=3)(image, boxes, np.array([0]))
    second = RandomCrop(p=1.0, seed=3)(image, boxes, np.array([0]))
    np.testing.assert_array_equal(first[0], second[0])
    with pytest.raises(ValueError, match="RandomHorizontalFlip: boxes must be"):
        RandomHorizontalFlip()(image, np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="RandomCrop: min_scale"):
        RandomCrop(min_scale=0)
