"""tinydl.rl.tabular on FrozenLake-v1 (slippery, gamma 0.99) and on a hand-solved chain."""
import numpy as np
import pytest

from tinydl.rl.tabular import (_under_policy, bellman_solve, finite_horizon_return,
                               greedy_policy, model_from_env, policy_evaluation,
                               policy_iteration, policy_matrix, q_from_v, value_iteration)

gym = pytest.importorskip("gymnasium")
GAMMA = 0.99


@pytest.fixture(scope="module")
def frozenlake():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    return env, *model_from_env(env)


def test_model_from_frozenlake(frozenlake):
    _, P, R, d0 = frozenlake
    assert P.shape == (16, 4, 16) and R.shape == (16, 4)
    assert d0[0] == 1.0 and d0.sum() == 1.0
    # Holes (5, 7, 11, 12) and the goal (15) end the episode: no continuation mass there.
    np.testing.assert_array_equal(P[[5, 7, 11, 12, 15]].sum(axis=2), 0.0)
    # Only stepping into the goal pays: from 14 moving right lands on 15 with prob 1/3.
    assert R[14, 2] == pytest.approx(1 / 3) and R.sum() == pytest.approx(R[14].sum() + R[11].sum())


def test_random_policy_evaluation_matches_linear_solve(frozenlake):
    _, P, R, _ = frozenlake
    random_policy = np.full((16, 4), 0.25)
    iterated = policy_evaluation(P, R, random_policy, GAMMA, tol=1e-12)
    exact = bellman_solve(*_under_policy(P, R, random_policy), GAMMA)
    np.testing.assert_allclose(iterated, exact, rtol=0, atol=1e-10)
    assert 0 < exact[0] < exact[14] < 1


def test_value_iteration_policy_value_matches_linear_solve_and_policy_iteration(frozenlake):
    _, P, R, _ = frozenlake
    v_vi, pi_vi, _ = value_iteration(P, R, GAMMA, tol=1e-12)
    exact = bellman_solve(*_under_policy(P, R, pi_vi), GAMMA)
    np.testing.assert_allclose(v_vi, exact, rtol=0, atol=1e-10)
    np.testing.assert_allclose(policy_evaluation(P, R, pi_vi, GAMMA), exact, rtol=0, atol=1e-10)
    v_pi, pi_pi, _ = policy_iteration(P, R, GAMMA)
    np.testing.assert_array_equal(pi_pi, pi_vi)
    np.testing.assert_allclose(v_pi, exact, rtol=0, atol=1e-10)
    # The optimal value dominates the random policy's everywhere.
    random_v = bellman_solve(*_under_policy(P, R, np.full((16, 4), 0.25)), GAMMA)
    assert np.all(v_vi >= random_v - 1e-12)


def test_success_probability_exact_and_monte_carlo(frozenlake):
    env, P, R, d0 = frozenlake
    _, policy, _ = value_iteration(P, R, GAMMA)
    exact = finite_horizon_return(P, R, policy, env.spec.max_episode_steps, d0)
    assert abs(exact - 0.740) <= 0.002, f"exact success probability {exact}"
    episodes, wins = 2000, 0
    for i in range(episodes):
        state, _ = env.reset(seed=i)
        done = False
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            done = terminated or truncated
        wins += reward
    estimate = wins / episodes
    stderr = np.sqrt(estimate * (1 - estimate) / episodes)
    # One standard error is met at these seeds (see the example); the test allows three.
    assert abs(estimate - exact) < 3 * stderr, f"MC {estimate} +- {stderr} vs exact {exact}"


def test_hand_solved_chain():
    # 0 -a0-> 1 -a0-> terminal with reward 1; a1 stays put with reward 0.1.
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = 1.0
    P[0, 1, 0] = P[1, 1, 1] = 1.0
    R = np.array([[0.0, 0.1], [1.0, 0.1]])
    gamma = 0.5
    v, policy, _ = value_iteration(P, R, gamma)
    # Staying forever pays 0.1 / (1 - 0.5) = 0.2 < 1 at state 1; at 0: 0.5 * 1 = 0.5 > 0.2.
    np.testing.assert_allclose(v, [0.5, 1.0], atol=1e-12)
    np.testing.assert_array_equal(policy, [0, 0])
    np.testing.assert_allclose(q_from_v(P, R, v, gamma), [[0.5, 0.35], [1.0, 0.6]], atol=1e-12)
    np.testing.assert_allclose(policy_evaluation(P, R, [1, 1], gamma), [0.2, 0.2], atol=1e-12)
    assert finite_horizon_return(P, R, [0, 0], 1, [1.0, 0.0]) == 0.0
    assert finite_horizon_return(P, R, [0, 0], 2, [1.0, 0.0]) == 1.0


def test_greedy_ties_and_bad_inputs():
    np.testing.assert_array_equal(greedy_policy([[1.0, 1.0 + 1e-14, 0.0]]), [0])
    with pytest.raises(ValueError, match="policy_matrix"):
        policy_matrix(np.array([0, 4]), 2, 4)
    with pytest.raises(ValueError, match="bellman_solve"):
        bellman_solve(np.eye(2), np.zeros(3), 0.9)
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(np.zeros((2, 1, 2)), np.zeros((2, 1)), 1.0)
    with pytest.raises(ValueError, match="rows summing"):
        policy_evaluation(np.full((2, 1, 2), 0.9), np.zeros((2, 1)), [0, 0], 0.9)
    with pytest.raises(TypeError, match="model_from_env"):
        model_from_env(gym.make("CartPole-v1"))
