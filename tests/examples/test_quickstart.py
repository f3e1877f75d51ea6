"""The quickstart in fast mode: it trains, reaches a sensible accuracy, saves and reloads."""
import numpy as np

import tinydl as td
from tests.examples._load import load_example


def test_quickstart_fast_mode(tmp_path, capsys):
    quickstart = load_example("quickstart")
    accuracy = quickstart.main(["--fast", "--out", str(tmp_path)])
    assert accuracy > 0.8, f"two epochs should already reach 80% on the digits, got {accuracy}"
    assert (tmp_path / "quickstart_curves.png").stat().st_size > 1000
    state = td.load(tmp_path / "quickstart_model.npz")
    with np.load(tmp_path / "quickstart_model.npz", allow_pickle=False) as archive:
        assert len(archive.files) > 0
    model = quickstart.build_model()
    model.load_state_dict(state)
    out = capsys.readouterr().out
    assert "test accuracy" in out and "samples/s" in out
