"""The quickstart in fast mode: it trains, reaches a sensible accuracy, saves and reloads."""
import re

import numpy as np

import tinydl as td
from tests.examples._load import load_example


def test_quickstart_fast_mode(tmp_path, capsys):
    quickstart = load_example("quickstart")
    accuracy = quickstart.main(["--fast", "--out", str(tmp_path)])
    assert accuracy > 0.8, f"two epochs should already reach 80% on the digits, got {accuracy}"
    assert (tmp_path / "quickstart_curves.png").stat().st_size > 1000
    state = td.load(tmp_path / "quickstart_model.npz")
    model = quickstart.build_model()
    model.load_state_dict(state)
    assert len(state) == len(model.state_dict()) > 0
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(state[name]), err_msg=name)
    out = capsys.readouterr().out
    assert "samples/s" in out
    # The model reloaded from the file gives exactly the trained one's logits (an equal
    # accuracy, checked before, would not mean equal predictions).
    assert re.search(r"^test accuracy (\S+%)", out, re.MULTILINE), "the accuracy line is missing"
    assert re.search(r"saved and reloaded .*: the same test logits: True", out), out
