"""The quickstart in fast mode: it trains, reaches a sensible accuracy, saves and reloads."""
import importlib.util
import pathlib

import numpy as np

import tinydl as td

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


def _load():
    spec = importlib.util.spec_from_file_location("quickstart_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_fast_mode(tmp_path, capsys):
    quickstart = _load()
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
