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


def test_off_policy_step_stores_transitions_and_closes_episodes():
    from tinydl.rl.common import off_policy_step

    class TwoStepEnv:
        """Observations count up; every second step ends the episode (truncated once)."""

        def __init__(self):
            self.t, self.resets = 0, 0

        def step(self, action):
            self.t += 1
            return float(self.t), 1.5, self.t == 2, self.t == 4, {}

        def reset(self):
            self.resets += 1
            return -1.0, {}

    class Buffer:
        def __init__(self):
            self.rows = []

        def add(self, *row):
            self.rows.append(row)

    env, buffer = TwoStepEnv(), Buffer()
    history = {"episode_steps": [], "episode_returns": []}
    obs, ret, ended = off_policy_step(env, buffer, 0.0, 7, 1, 0.0, history)
    assert (obs, ret, ended) == (1.0, 1.5, False) and env.resets == 0
    obs, ret, ended = off_policy_step(env, buffer, obs, 8, 2, ret, history)
    assert (obs, ret, ended) == (-1.0, 0.0, True) and env.resets == 1  # terminated
    assert history == {"episode_steps": [2], "episode_returns": [3.0]}
    # The stored transition has the real next observation, not the reset one.
    assert buffer.rows == [(0.0, 7, 1.5, 1.0, False), (1.0, 8, 1.5, 2.0, True)]
    obs, ret, _ = off_policy_step(env, buffer, obs, 9, 3, ret, history)
    obs, ret, ended = off_policy_step(env, buffer, obs, 9, 4, ret, history)
    assert ended and env.resets == 2 and history["episode_steps"] == [2, 4]  # truncated
    assert buffer.rows[-1][-1] is False  # truncation is not a terminal transition
