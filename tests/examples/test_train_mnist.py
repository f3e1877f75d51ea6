"""examples/train_mnist.py in fast mode, on tiny IDX files written here."""

import numpy as np
import pytest

from tests.examples._load import load_example
from tinydl.data import write_idx


def write_fake_mnist(directory, n_train=96, n_test=32):
    """28x28 uint8 images with a bright square whose place encodes the label; the training
    files gzipped and the test files plain, as both occur in the wild."""
    rng = np.random.default_rng(0)
    for split, n, suffix in (("train", n_train, ".gz"), ("t10k", n_test, "")):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        rows, cols = 2 + 12 * (labels // 5), 2 + 5 * (labels % 5)
        for offset_r in range(4):
            for offset_c in range(4):
                images[np.arange(n), rows + offset_r, cols + offset_c] = 255
        write_idx(directory / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{split}-labels-idx1-ubyte{suffix}", labels)


def test_train_mnist_fast(tmp_path, capsys):
    example = load_example("train_mnist")
    data, out = tmp_path / "mnist", tmp_path / "out"
    data.mkdir()
    write_fake_mnist(data, n_train=256, n_test=64)
    accuracy = example.main(["--data", str(data), "--out", str(out), "--fast"])
    # The square's place gives the label away: one epoch on 256 images reaches 97-100% over
    # seeds 0-5 (chance is 10%); a network that does not learn, or labels that do not follow
    # their images through the loader, stays near 10%.
    assert accuracy >= 0.8, f"one epoch should learn the square's place, got {accuracy}"
    printed = capsys.readouterr().out
    assert "epoch 1/1" in printed and "test accuracy" in printed
    for name in ("train_mnist_curves.png", "train_mnist_predictions.png"):
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_train_mnist_missing_files(tmp_path):
    example = load_example("train_mnist")
    with pytest.raises(SystemExit, match="train-images-idx3-ubyte"):
        example.main(["--data", str(tmp_path), "--out", str(tmp_path / "out"), "--fast"])
