"""The bundled handwritten digits: 1,797 8x8 images, ten classes, usable offline.

The data is the test set of the UCI "Optical Recognition of Handwritten Digits" data set
(Alpaydin & Kaynak, 1998; CC BY 4.0), stored in ``digits.npz`` next to this file; source,
attribution and licence are in ``DIGITS_LICENSE.txt``.
"""

from importlib import resources

import numpy as np

_PIXEL_MAX = 16  # each pixel counts the on-pixels of a 4x4 block of a 32x32 bitmap


def load_digits(flatten=False):
    """Load the bundled UCI handwritten digits; no network, no extra dependency.

    Returns ``(X, y)``: ``X`` float32 images scaled to ``[0, 1]`` (the 0..16 pixel counts
    divided by 16), shape ``(1797, 1, 8, 8)`` -- NCHW, ready for ``Conv2d(1, ...)`` -- or
    ``(1797, 64)`` row-major pixels with ``flatten=True``; ``y`` int64 labels 0..9 of shape
    ``(1797,)``, about 180 per class. Samples are in the file's order (not shuffled).
    """
    archive = resources.files(__package__).joinpath("digits.npz")
    with archive.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        images = npz["images"]
        targets = npz["targets"]
    X = images.astype(np.float32) / np.float32(_PIXEL_MAX)
    X = X.reshape(len(X), 64) if flatten else X[:, None, :, :]
    return X, targets.astype(np.int64)
