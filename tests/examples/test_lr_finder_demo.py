"""examples/lr_finder_demo.py in fast mode: a suggestion inside the sweep, and the PNG."""
import importlib.util
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lr_finder_demo.py"


def load_example():
    spec = importlib.util.spec_from_file_location("lr_finder_demo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lr_finder_demo_fast(tmp_path, capsys):
    example = load_example()
    suggested, history = example.main(["--out", str(tmp_path), "--fast"])
    assert 1e-5 <= suggested <= 10.0
    assert len(history) == 2 and np.all(np.isfinite(history))
    png = tmp_path / "lr_finder_demo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "suggested lr" in capsys.readouterr().out
