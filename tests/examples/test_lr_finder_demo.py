"""examples/lr_finder_demo.py in fast mode: a suggestion inside the sweep, and the PNG."""
import numpy as np

from tests.examples._load import load_example


def test_lr_finder_demo_fast(tmp_path, capsys):
    example = load_example("lr_finder_demo")
    suggested, history = example.main(["--out", str(tmp_path), "--fast"])
    assert 1e-5 <= suggested <= 10.0
    assert len(history) == 2 and np.all(np.isfinite(history))
    png = tmp_path / "lr_finder_demo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "suggested lr" in capsys.readouterr().out
