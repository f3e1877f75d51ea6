"""A2C and DDPG: n-step returns by hand, sampling, DDPG's target, Polyak, reloads."""
import numpy as np
import pytest

import tinydl as td
from tinydl.rl import (A2C, DDPG, GaussianNoise, hard_update, make_vector_env, nstep_returns,
                       parameter_pairs, polyak_average, polyak_update, train_a2c)


def test_nstep_returns_by_hand():
    rewards = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 1.0]])
    dones = np.array([[0, 0], [1, 0], [0, 0]])
    returns = nstep_returns(rewards, dones, last_values=np.array([10.0, -2.0]), gamma=0.5)
    # env 0: the episode ends at t=1, so R_1 = 2 and R_0 = 1 + 0.5 * 2; R_2 = 3 + 0.5 * 10.
    # env 1: no end: R_2 = 1 + 0.5 * -2 = 0, R_1 = 1 + 0, R_0 = 0 + 0.5 * 1.
    np.testing.assert_allclose(returns, [[2.0, 0.5], [2.0, 1.0], [8.0, 0.0]])
    with pytest.raises(ValueError, match="nstep_returns"):
        nstep_returns(rewards, dones[:2], np.zeros(2), 0.9)


def test_a2c_sampling_follows_the_policy_and_update_runs():
    td.manual_seed(0)
    agent = A2C(4, 3, seed=0)
    obs = np.tile(np.array([[0.5, -1.0, 0.2, 0.3]], np.float32), (30000, 1))
    probs = agent.probabilities(obs[:1])[0]
    freq = np.bincount(agent.sample(obs), minlength=3) / len(obs)
    np.testing.assert_allclose(freq, probs, atol=0.01)
    assert agent.act(obs[0]) == int(np.argmax(probs))
    rng = np.random.default_rng(0)
    rollout = {"obs": rng.standard_normal((5, 2, 4)).astype(np.float32),
               "actions": rng.integers(0, 3, (5, 2)), "rewards": np.ones((5, 2), np.float32),
               "dones": np.zeros((5, 2), np.float32), "last_obs": np.zeros((2, 4), np.float32)}
    before = agent.critic.state_dict()["0.weight"].numpy().copy()
    losses = agent.update(rollout)
    assert set(losses) == {"policy_loss", "value_loss", "entropy"}
    assert 0 < losses["entropy"] <= np.log(3) + 1e-6
    assert not np.array_equal(before, agent.critic.state_dict()["0.weight"].numpy())


def _ddpg(seed):
    td.manual_seed(seed)
    return DDPG(3, [-2.0], [2.0], seed=seed)


def test_ddpg_actions_in_bounds_and_target_as_written():
    agent = _ddpg(0)
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((50, 3)).astype(np.float32) * 10
    noise = GaussianNoise(1, sigma=5.0, seed=0)
    for o in obs:
        a = agent.act(o, noise)
        assert a.shape == (1,) and -2.0 <= a[0] <= 2.0
    batch = {"obs": obs[:4], "actions": rng.uniform(-2, 2, (4, 1)).astype(np.float32),
             "rewards": np.array([1.0, -1.0, 0.0, 2.0], np.float32), "next_obs": obs[4:8],
             "terminated": np.array([0.0, 1.0, 0.0, 1.0], np.float32)}
    with td.no_grad():
        mu = np.tanh(agent.actor_target[:-1](td.tensor(obs[4:8])).numpy()) * 2.0
        q = agent.critic_target(td.tensor(np.concatenate([obs[4:8], mu], 1))).numpy()[:, 0]
    expected = batch["rewards"] + 0.99 * (1 - batch["terminated"]) * q
    np.testing.assert_allclose(agent.compute_target(batch), expected, rtol=1e-5, atol=1e-6)
    losses = agent.update(batch)
    assert "actor_loss" not in losses and agent.update(batch).keys() >= {"actor_loss"}


def test_polyak_update_is_exact():
    source, target = _ddpg(0).critic, _ddpg(1).critic
    src0 = [p.numpy().copy() for p in source.parameters()]
    tgt0 = [p.numpy().copy() for p in target.parameters()]
    polyak_update(target, source, 0.25)
    for t, t0, s0 in zip(target.parameters(), tgt0, src0):
        np.testing.assert_array_equal(t.numpy(), t0 * np.float32(0.75) + np.float32(0.25) * s0)
    pairs = parameter_pairs(target, source)
    polyak_average(pairs, 0.0)
    for t, t0, s0 in zip(target.parameters(), tgt0, src0):
        np.testing.assert_array_equal(t.numpy(), t0 * np.float32(0.75) + np.float32(0.25) * s0)
    hard_update(target, source)
    for t, s in zip(target.parameters(), source.parameters()):
        np.testing.assert_array_equal(t.numpy(), s.numpy())
        assert t.data is not s.data
    with pytest.raises(ValueError, match="tau"):
        polyak_update(target, source, 1.5)
    with pytest.raises(ValueError, match="same parameters"):
        polyak_update(_ddpg(0).actor, source, 0.5)


@pytest.mark.parametrize("kind", ["a2c", "ddpg"])
def test_saved_agent_reloads_to_same_actions(tmp_path, kind):
    make = (lambda s: (td.manual_seed(s), A2C(3, 2, seed=s))[1]) if kind == "a2c" else _ddpg
    agent, clone = make(0), make(1)
    td.save(agent.state_dict(), tmp_path / "agent.npz")
    clone.load_state_dict(td.load(tmp_path / "agent.npz"))
    obs = np.random.default_rng(2).standard_normal((100, 3)).astype(np.float32)
    actions = [agent.act(o) for o in obs]
    assert len(set(np.asarray(actions).ravel().tolist())) > 1, "the test needs varied actions"
    np.testing.assert_array_equal(np.asarray([clone.act(o) for o in obs]), np.asarray(actions))


def test_a2c_bootstraps_truncated_episodes_through_the_critic():
    pytest.importorskip("gymnasium")
    td.manual_seed(0)
    agent = A2C(4, 2, n_steps=4, gamma=0.9, seed=0)
    envs = make_vector_env("CartPole-v1", 2, max_episode_steps=3)
    rollouts, bootstraps = [], []
    value, update = agent.value, agent.update

    def spy_value(obs):
        out = value(obs)
        bootstraps.append(out)
        return out

    agent.value = spy_value
    agent.update = lambda rollout: (rollouts.append(rollout), bootstraps.append(None),
                                    update(rollout))[2]
    history = train_a2c(agent, envs, total_steps=16, seed=0)
    # A 3-step limit truncates both envs at t=2 of the first rollout (CartPole cannot fail in
    # 3 steps from its start): reward 1 plus gamma V(final observation), and the chain is cut.
    first = rollouts[0]
    np.testing.assert_array_equal(first["dones"], [[0, 0], [0, 0], [1, 1], [0, 0]])
    np.testing.assert_allclose(first["rewards"][2], 1 + 0.9 * bootstraps[0], rtol=1e-6)
    np.testing.assert_array_equal(first["rewards"][[0, 1, 3]], 1.0)
    assert history["episode_returns"][:2] == [3.0, 3.0]


def test_train_a2c_refuses_a_next_step_autoreset_vector_env():
    """Gymnasium 1.x's default vector env (NEXT_STEP) spends the step after an episode's end
    on a reset (action ignored, reward 0, not done): train_a2c trained on those as real
    transitions, silently, until a truncation's bare KeyError('final_obs')."""
    gym = pytest.importorskip("gymnasium")
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    assert envs.metadata["autoreset_mode"] != gym.vector.AutoresetMode.SAME_STEP
    with pytest.raises(ValueError, match="train_a2c: the vector env resets .* NEXT_STEP"):
        train_a2c(A2C(4, 2, seed=0), envs, total_steps=8)
    same = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    assert train_a2c(A2C(4, 2, n_steps=2, seed=0), same, total_steps=8)["steps"] == 8


def test_update_batches_are_checked_and_intervals_positive():
    rng = np.random.default_rng(0)
    batch = {"obs": rng.standard_normal((8, 3)), "next_obs": rng.standard_normal((8, 3)),
             "actions": rng.uniform(-1, 1, (8, 1)), "rewards": np.ones((8, 1)),
             "terminated": np.zeros(8)}
    agent = DDPG(3, [-1.0], [1.0], hidden=(8,), seed=0)
    # a (B, 1) reward column broadcast into a (B, 1, B) target, silently
    with pytest.raises(ValueError, match=r"DDPG.update: batch\['rewards'\] must have shape "
                                         r"\(8,\) \(batch of 8\), got \(8, 1\)"):
        agent.update(batch)
    with pytest.raises(ValueError, match="DDPG: policy_frequency must be a positive int"):
        DDPG(3, [-1.0], [1.0], policy_frequency=0)


def test_a2c_sample_refuses_a_policy_that_is_not_finite():
    agent = A2C(3, 2, hidden=(4,), seed=0)
    for p in agent.actor.parameters():
        p.data[...] = np.nan
    with pytest.raises(ValueError, match="A2C.sample: the policy's probabilities are not finite"):
        agent.sample(np.zeros((2, 3), np.float32))  # it gave action 0 every time
