"""The rl_cartpole_dqn example in fast mode: it trains briefly, plots, saves and reloads."""
import numpy as np
import pytest

from tests.examples._load import load_example

pytest.importorskip("gymnasium")


def test_rl_cartpole_dqn_fast_mode(tmp_path, capsys):
    example = load_example("rl_cartpole_dqn")
    result = example.main(["--fast", "--out", str(tmp_path)])
    assert np.isfinite(result["mean"]) and result["std"] >= 0
    assert result["reload_same"], "the reloaded agent must act as the saved one"
    assert (tmp_path / "rl_cartpole_dqn.png").stat().st_size > 1000
    assert (tmp_path / "rl_cartpole_dqn.npz").exists()
    assert "greedy return" in capsys.readouterr().out
