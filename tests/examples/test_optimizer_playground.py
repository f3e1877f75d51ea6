"""examples/optimizer_playground.py in fast mode: every optimizer's path, and the PNG."""
import numpy as np
import pytest

import tinydl
from tests.examples._load import load_example
from tinydl.optim import testfns

LABELS = ["SGD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "NAdam", "AdamW"]


def test_playground_fast_with_cyclic(tmp_path, capsys):
    example = load_example("optimizer_playground")
    paths = example.main(["--function", "himmelblau", "--start", "0", "0", "--steps", "30",
                          "--lr", "0.01", "--cyclic", "--out", str(tmp_path), "--fast"])
    assert sorted(paths) == sorted(LABELS + [f"{label} + cyclic" for label in LABELS])
    for label, path in paths.items():
        assert path.shape == (31, 2) and np.array_equal(path[0], [0.0, 0.0]), label
    # plain SGD on Himmelblau from the origin heads for the (3, 2) minimum
    assert np.abs(paths["SGD"][-1] - [3.0, 2.0]).max() < 0.05
    png = tmp_path / "optimizer_playground_himmelblau.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "AdamW" in capsys.readouterr().out


@pytest.mark.parametrize("function", ["monkey_saddle", "rosenbrock"])
def test_playground_other_surfaces_fast(tmp_path, monkeypatch, function):
    monkeypatch.setenv("TINYDL_FAST", "1")
    example = load_example("optimizer_playground")
    paths = example.main(["--function", function, "--out", str(tmp_path)])
    assert len(paths) == 8 and all(p.shape == (41, 2) for p in paths.values())
    assert (tmp_path / f"optimizer_playground_{function}.png").stat().st_size > 0
    fn = getattr(testfns, function)
    for label, path in paths.items():
        with tinydl.no_grad(), np.errstate(all="ignore"):
            values = np.array([fn(tinydl.Tensor(point)).item() for point in path])
        # The monkey saddle is unbounded below: a path may run off to infinity (Nesterov
        # does), so judge the last finite value.
        start, end = values[0], values[np.isfinite(values)][-1]
        if function == "rosenbrock":
            # 40 steps from (-1.5, 2), f = 12.5: every optimizer gets below 6 (Nesterov 0.53)
            assert end < 0.5 * start, f"{label}: f went {start:.3g} -> {end:.3g}"
        else:
            # from (0.6, 0.05), f = 0.21, beside the saddle: every optimizer goes downhill
            assert end < start - 0.1, f"{label}: f went {start:.3g} -> {end:.3g}"
