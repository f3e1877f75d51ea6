"""The FrozenLake example in fast mode: exact checks hold and the value map is written."""
import pytest

from tests.examples._load import load_example

pytest.importorskip("gymnasium")


def test_rl_frozenlake_fast_mode(tmp_path, capsys):
    example = load_example("rl_frozenlake")
    result = example.main(["--fast", "--out", str(tmp_path)])
    assert result["gap_random"] < 1e-10 and result["gap_vi"] < 1e-10
    assert result["same_policy"]
    assert abs(result["exact"] - 0.740) <= 0.002
    # 300 episodes in fast mode: allow three standard errors.
    assert abs(result["monte_carlo"] - result["exact"]) < 3 * result["stderr"]
    assert (tmp_path / "rl_frozenlake.png").stat().st_size > 1000
    assert "policy iteration" in capsys.readouterr().out
