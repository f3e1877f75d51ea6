"""examples/lr_finder_demo.py in fast mode: a sane suggestion, training at it works, the PNG."""
import re

import numpy as np

from tests.examples._load import load_example


def test_lr_finder_demo_fast(tmp_path, capsys):
    example = load_example("lr_finder_demo")
    suggested, history = example.main(["--out", str(tmp_path), "--fast"])
    # The sweep runs from 1e-5 to 10 (SGD, momentum 0.9, a 16-unit tanh MLP on two moons):
    # the steepest descent is at 6.3e-2. A suggestion at either end of the sweep (where the
    # loss has not started falling, or is exploding) is outside [1e-3, 1].
    assert 1e-3 <= suggested <= 1.0, f"suggested lr {suggested:.3g}"
    # Two epochs at the suggested rate: the loss (log 2 = 0.69 at chance) falls to 0.27 and
    # the accuracy reaches 87%; at a rate from the flat start of the sweep neither moves.
    assert len(history) == 2 and np.all(np.isfinite(history))
    assert history[1] < history[0] < 0.45, f"training losses {history}"
    printed = capsys.readouterr().out
    accuracies = [float(a) for a in re.findall(r"accuracy (\d\.\d+)", printed)]
    assert len(accuracies) == 2 and accuracies[-1] > 0.8, printed
    assert "suggested lr" in printed
    png = tmp_path / "lr_finder_demo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
