"""examples/loss_landscape.py in fast mode: trains both models, writes both figures, and
reports a finite sharpness ratio (the >= 5x of the full run needs full training)."""
import math

from tests.examples._load import load_example


def test_loss_landscape_fast(tmp_path, capsys):
    example = load_example("loss_landscape")
    ratio = example.main(["--fast", "--out", str(tmp_path)])
    assert math.isfinite(ratio) and ratio > 0
    for name in ("loss_landscape.png", "loss_landscape_3d.png"):
        assert (tmp_path / name).stat().st_size > 5000, name
    printed = capsys.readouterr().out
    assert "small batch (16)" in printed and "large batch (512)" in printed
    assert "sharpness" in printed
