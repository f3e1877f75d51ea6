"""tinydl.rl without gymnasium at import, the install hint, and greedy evaluation."""
import subprocess
import sys

import numpy as np
import pytest

from tinydl.rl import evaluate, make_env, require_gymnasium


def test_import_does_not_load_gymnasium():
    code = "import sys, tinydl.rl; print('gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_missing_gymnasium_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # makes `import gymnasium` fail
    with pytest.raises(ImportError, match=r'pip install "tinydl\[rl\]"'):
        require_gymnasium("test")
    with pytest.raises(ImportError, match=r"tinydl\[rl\]"):
        make_env("CartPole-v1")


class _AlwaysLeft:
    def act(self, obs):
        return 0


def test_evaluate_is_reproducible_and_scores_returns():
    pytest.importorskip("gymnasium")
    env = make_env("CartPole-v1")
    mean, std = evaluate(_AlwaysLeft(), env, episodes=20, seed=3)
    # Pushing left every step topples the pole in about ten steps.
    assert 5 <= mean <= 20 and std >= 0
    assert evaluate(_AlwaysLeft(), "CartPole-v1", episodes=20, seed=3) == (mean, std)
    returns = []
    for i in range(20):
        env.reset(seed=3 + i)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(0)
            total, done = total + r, term or trunc
        returns.append(total)
    assert mean == pytest.approx(np.mean(returns)) and std == pytest.approx(np.std(returns))
    with pytest.raises(ValueError, match="evaluate"):
        evaluate(_AlwaysLeft(), env, episodes=0)
