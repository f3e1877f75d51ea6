"""load_digits: the bundled UCI handwritten digits."""

import socket
from importlib import resources

import numpy as np
import pytest

from tinydl.data import load_digits

# Class distribution of the UCI optdigits test set (optdigits.tes), as published with the
# data set (https://archive.ics.uci.edu/dataset/80): digits 0..9.
UCI_TEST_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_digits tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_shapes_dtypes_range(no_network):
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    # Pixels are counts 0..16 divided by 16, so exactly multiples of 1/16.
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    assert set(np.unique(y)) == set(range(10))


def test_class_counts_match_uci():
    _, y = load_digits()
    np.testing.assert_array_equal(np.bincount(y), UCI_TEST_CLASS_COUNTS)


def test_flatten_is_row_major_view_of_images():
    X, y = load_digits()
    flat, flat_y = load_digits(flatten=True)
    assert flat.shape == (1797, 64) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat, X.reshape(1797, 64))
    np.testing.assert_array_equal(flat_y, y)


def test_labels_belong_to_their_images():
    """A nearest-class-mean classifier fitted on half the data scores well on the other
    half only if images and labels were stored in matching order."""
    X, y = load_digits(flatten=True)
    train, test = slice(0, 900), slice(900, None)
    centroids = np.stack([X[train][y[train] == k].mean(axis=0) for k in range(10)])
    distances = ((X[test][:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    accuracy = (distances.argmin(axis=1) == y[test]).mean()
    assert accuracy > 0.85


def test_licence_file_ships_with_the_data():
    package = resources.files("tinydl.data")
    assert package.joinpath("digits.npz").is_file()
    licence = package.joinpath("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in licence and "Alpaydin" in licence and "UCI" in licence


def test_archive_holds_plain_arrays():
    with resources.files("tinydl.data").joinpath("digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            assert sorted(npz.files) == ["images", "targets"]
            assert npz["images"].dtype == np.uint8 and npz["images"].shape == (1797, 8, 8)
            assert npz["images"].max() == 16
