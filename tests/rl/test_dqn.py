"""DQN: the TD target as written (terminated vs truncated), the loss, target syncs, reloads."""
import numpy as np
import pytest

import tinydl as td
from tinydl.rl import DQN, ReplayBuffer, train_dqn


def _linear_dqn(**kwargs):
    # hidden=() makes Q a single Linear layer, so Q(s) = W s + b can be set by hand.
    agent = DQN(2, 3, hidden=(), gamma=0.9, **kwargs)
    return agent


def _set_linear(module, weight, bias):
    module.load_state_dict({"0.weight": np.asarray(weight, np.float32),
                            "0.bias": np.asarray(bias, np.float32)})


# Three transitions: an ordinary step, a step into a terminal state (terminated=1) and a step
# cut by the time limit (truncated, stored with terminated=0: Gymnasium's convention is that
# the state after a truncation still has a value, so the target bootstraps from it).
BATCH = {"obs": np.array([[1, 0], [0, 1], [1, 1]], np.float32),
         "actions": np.array([0, 2, 1]),
         "rewards": np.array([1.0, -1.0, 0.5], np.float32),
         "next_obs": np.array([[0, 1], [1, 0], [2, 0]], np.float32),
         "terminated": np.array([0.0, 1.0, 0.0], np.float32)}
W_TARGET = [[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]
B_TARGET = [0.0, 0.0, 1.0]
# Q_target(s') rows: [0, 2, 1.5], [1, 0, 1.5], [2, 0, 2]; maxima 2, 1.5, 2.
EXPECTED_DQN = [1.0 + 0.9 * 2.0, -1.0, 0.5 + 0.9 * 2.0]


def test_dqn_target_by_hand():
    agent = _linear_dqn()
    _set_linear(agent.q_target, W_TARGET, B_TARGET)
    np.testing.assert_allclose(agent.compute_target(BATCH), EXPECTED_DQN, rtol=1e-6)


def test_double_dqn_target_uses_online_argmax():
    agent = _linear_dqn(double=True)
    _set_linear(agent.q_target, W_TARGET, B_TARGET)
    # Online Q(s') = s' @ [[0, 1, 0], [0, 0, 1]]^T... picks action 1 for s'=[2,0] and [1,0],
    # action 2 for s'=[0,1].
    _set_linear(agent.q, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0.0, 0.0, 0.0])
    # Q_target at those actions: s'=[0,1], a=2 -> 1.5; s'=[1,0] terminal; s'=[2,0], a=1 -> 0.
    expected = [1.0 + 0.9 * 1.5, -1.0, 0.5 + 0.9 * 0.0]
    np.testing.assert_allclose(agent.compute_target(BATCH), expected, rtol=1e-6)


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_update_minimises_the_written_loss(loss):
    agent = _linear_dqn(loss=loss, lr=1e-3, target_update_interval=1000)
    _set_linear(agent.q_target, W_TARGET, B_TARGET)
    W = np.array([[0.1, 0.2], [0.3, -0.4], [0.0, 0.5]], np.float32)
    _set_linear(agent.q, W, [0.0, 0.1, 0.2])
    q_taken = (BATCH["obs"] @ W.T + [0.0, 0.1, 0.2])[np.arange(3), BATCH["actions"]]
    diff = q_taken - np.array(EXPECTED_DQN)
    expected = np.mean(diff ** 2) if loss == "mse" else np.mean(
        np.where(np.abs(diff) < 1, 0.5 * diff ** 2, np.abs(diff) - 0.5))
    assert agent.update(BATCH) == pytest.approx(expected, rel=1e-5)
    assert agent.update(BATCH) < expected, "an Adam step on a fixed batch should lower the loss"


def test_target_network_synced_every_interval():
    agent = DQN(4, 2, target_update_interval=3, seed=0)
    batch = {"obs": np.ones((5, 4), np.float32), "actions": np.zeros(5, np.int64),
             "rewards": np.ones(5, np.float32), "next_obs": np.ones((5, 4), np.float32),
             "terminated": np.zeros(5, np.float32)}
    before = agent.q_target.state_dict()["0.weight"].numpy().copy()
    agent.update(batch), agent.update(batch)
    np.testing.assert_array_equal(agent.q_target.state_dict()["0.weight"].numpy(), before)
    agent.update(batch)
    for (name, t), s in zip(agent.q_target.state_dict().items(), agent.q.state_dict().values()):
        np.testing.assert_array_equal(np.asarray(t), np.asarray(s), err_msg=name)


def test_epsilon_greedy():
    agent = DQN(4, 3, seed=0)
    obs = np.array([0.1, -0.2, 0.3, 0.0], np.float32)
    greedy = int(np.argmax(agent.q_values(obs)[0]))
    assert all(agent.act(obs) == greedy for _ in range(10))
    counts = np.bincount([agent.act(obs, epsilon=1.0) for _ in range(3000)], minlength=3)
    assert counts.min() > 850, f"epsilon=1 should be uniform over 3 actions, got {counts}"


def test_saved_agent_reloads_to_same_actions(tmp_path):
    td.manual_seed(0)
    agent = DQN(4, 2, seed=0)
    batch = {"obs": np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32),
             "actions": np.arange(8) % 2, "rewards": np.ones(8, np.float32),
             "next_obs": np.zeros((8, 4), np.float32), "terminated": np.zeros(8, np.float32)}
    agent.update(batch)
    td.save(agent.state_dict(), tmp_path / "dqn.npz")
    td.manual_seed(1)
    clone = DQN(4, 2, seed=1)
    clone.load_state_dict(td.load(tmp_path / "dqn.npz"))
    obs = np.random.default_rng(1).standard_normal((200, 4)).astype(np.float32)
    np.testing.assert_array_equal(clone.q_values(obs), agent.q_values(obs))
    assert [clone.act(o) for o in obs] == [agent.act(o) for o in obs]
    assert clone.updates == 1


def test_train_dqn_bootstraps_through_truncation():
    gym = pytest.importorskip("gymnasium")
    # A 7-step time limit truncates every episode long before CartPole could fail.
    env = gym.make("CartPole-v1", max_episode_steps=7)
    td.manual_seed(0)
    agent = DQN(4, 2, seed=0)
    seen = {}
    original_add = ReplayBuffer.add

    def spy(self, obs, action, reward, next_obs, terminated):
        seen.setdefault("terminated", []).append(bool(terminated))
        original_add(self, obs, action, reward, next_obs, terminated)

    ReplayBuffer.add = spy
    try:
        history = train_dqn(agent, env, total_steps=70, learning_starts=20, train_frequency=5,
                            batch_size=8, seed=0, start_e=0.0, end_e=0.0)
    finally:
        ReplayBuffer.add = original_add
    assert history["episode_returns"] == [7.0] * 10
    assert not any(seen["terminated"]), "truncated steps must be stored as non-terminal"
    assert agent.updates == 10


def test_update_checks_the_batch_and_the_sync_interval():
    rng = np.random.default_rng(0)
    batch = {"obs": rng.standard_normal((8, 4)), "next_obs": rng.standard_normal((8, 4)),
             "actions": rng.integers(0, 2, (8, 1)), "rewards": np.ones(8),
             "terminated": np.zeros(8)}
    agent = DQN(4, 2, hidden=(8,), seed=0)
    with pytest.raises(ValueError, match=r"DQN.update: batch\['actions'\] must have shape "
                                         r"\(8,\)"):
        agent.update(batch)
    assert agent.updates == 0
    with pytest.raises(ValueError, match="DQN: target_update_interval must be a positive int"):
        DQN(4, 2, target_update_interval=0)


def test_updates_refuse_fractional_and_out_of_range_actions():
    """Float actions 0.9 and 1.7 were truncated to 0 and 1, and -1 picked the last action's
    value, silently (torch refuses float indices); whole floats (a float buffer) still work."""
    from tinydl.rl import A2C
    agent = DQN(3, 2, hidden=(8,), seed=0)
    batch = {"obs": np.zeros((2, 3), np.float32), "next_obs": np.zeros((2, 3), np.float32),
             "rewards": np.ones(2, np.float32), "terminated": np.zeros(2)}
    assert np.isfinite(agent.update(dict(batch, actions=np.array([0.0, 1.0]))))
    with pytest.raises(ValueError, match=r"DQN.update: actions must be whole numbers.*0.9"):
        agent.update(dict(batch, actions=np.array([0.9, 1.7])))
    for bad in ([-1, 1], [0, 2]):
        with pytest.raises(ValueError, match=r"DQN.update: actions must be in \[0, 2\)"):
            agent.update(dict(batch, actions=np.array(bad)))
    a2c = A2C(3, 2, n_steps=2, seed=0)
    rollout = {"obs": np.zeros((2, 1, 3), np.float32), "actions": np.array([[0], [-1]]),
               "rewards": np.ones((2, 1), np.float32), "dones": np.zeros((2, 1), np.float32),
               "last_obs": np.zeros((1, 3), np.float32)}
    with pytest.raises(ValueError, match=r"A2C.update: actions must be in \[0, 2\)"):
        a2c.update(rollout)
