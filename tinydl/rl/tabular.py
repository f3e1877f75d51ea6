"""Exact dynamic programming on a finite MDP: the Bellman equations, solved and iterated.

A finite MDP is given as arrays (Sutton & Barto 2018, ch. 3-4)::

    P[s, a, s']  probability of moving s -> s' under action a and *continuing*
    R[s, a]      expected immediate reward  E[r | s, a]

Transitions that end the episode (Gymnasium's ``terminated``) carry their reward in ``R`` but
no mass in ``P``, so the rows of ``P`` sum to the probability of going on. Bootstrapping
stops there, as the Bellman equations below ask; a model whose terminal states loop on
themselves with zero reward (FrozenLake's ``env.unwrapped.P``) gives the same values.

The two Bellman expectation equations for a policy pi(a | s) and a discount gamma::

    v_pi(s)    = sum_a pi(a|s) [ R(s,a) + gamma sum_s' P(s'|s,a) v_pi(s') ]
    q_pi(s, a) = R(s,a) + gamma sum_s' P(s'|s,a) sum_a' pi(a'|s') q_pi(s', a')

In matrix form v_pi = r_pi + gamma P_pi v_pi with r_pi = sum_a pi R and P_pi = sum_a pi P,
so v_pi = (I - gamma P_pi)^-1 r_pi (``bellman_solve``); iterating the right-hand side is
``policy_evaluation``. The optimality equation replaces the mean over pi by a max over a
(``value_iteration``); ``policy_iteration`` alternates exact evaluation and greedy improvement.
"""
import numpy as np

__all__ = ["model_from_env", "policy_matrix", "bellman_solve", "policy_evaluation", "q_from_v",
           "greedy_policy", "value_iteration", "policy_iteration", "finite_horizon_return"]


def model_from_env(env):
    """(P, R, d0) from a Gymnasium toy-text environment's table ``env.unwrapped.P``.

    ``env.unwrapped.P[s][a]`` is a list of ``(prob, s', reward, terminated)``. Returns
    ``P`` (S, A, S) float64 with terminated transitions left out (see the module docstring),
    ``R`` (S, A) the expected reward, and ``d0`` (S,) the initial-state distribution
    (``initial_state_distrib`` where the environment has one, else uniform).
    """
    table = getattr(getattr(env, "unwrapped", env), "P", None)
    if not isinstance(table, dict):
        raise TypeError(f"model_from_env: {type(env).__name__} has no transition table "
                        "env.unwrapped.P (a toy-text environment such as FrozenLake-v1 has one)")
    n_states = len(table)
    n_actions = len(table[0])
    P = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s, by_action in table.items():
        for a, outcomes in by_action.items():
            for prob, s_next, reward, terminated in outcomes:
                R[s, a] += prob * reward
                if not terminated:
                    P[s, a, s_next] += prob
    d0 = getattr(getattr(env, "unwrapped", env), "initial_state_distrib", None)
    d0 = np.full(n_states, 1.0 / n_states) if d0 is None else np.asarray(d0, dtype=np.float64)
    return P, R, d0


def _check_model(P, R, caller):
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or R.shape != P.shape[:2]:
        raise ValueError(f"{caller}: P must be (S, A, S) and R (S, A), got {P.shape} and "
                         f"{R.shape}")
    rows = P.sum(axis=2)
    if np.any(P < 0) or np.any(rows > 1 + 1e-9):
        raise ValueError(f"{caller}: P must hold probabilities with rows summing to at most 1 "
                         f"(largest row sum {rows.max():.6g}, smallest entry {P.min():.3g})")
    return P, R


def _check_gamma(gamma, caller):
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"{caller}: gamma must be in [0, 1) for the infinite-horizon sums to "
                         f"converge, got {gamma}")


def policy_matrix(policy, n_states, n_actions):
    """pi as an (S, A) matrix of probabilities from either (S, A) probabilities or (S,) actions."""
    policy = np.asarray(policy)
    if policy.shape == (n_states,) and np.issubdtype(policy.dtype, np.integer):
        if policy.min() < 0 or policy.max() >= n_actions:
            raise ValueError(f"policy_matrix: actions must be in [0, {n_actions}), got "
                             f"{policy.min()}..{policy.max()}")
        return np.eye(n_actions)[policy]
    if policy.shape != (n_states, n_actions):
        raise ValueError(f"policy_matrix: policy must be (S,) ints or (S, A) probabilities "
                         f"with S={n_states}, A={n_actions}, got shape {policy.shape}")
    policy = policy.astype(np.float64)
    if np.any(policy < 0) or not np.allclose(policy.sum(axis=1), 1.0):
        raise ValueError("policy_matrix: each row of an (S, A) policy must be a distribution")
    return policy


def _under_policy(P, R, policy):
    pi = policy_matrix(policy, *R.shape)
    return np.einsum("sa,sat->st", pi, P), np.einsum("sa,sa->s", pi, R)


def bellman_solve(P_pi, r_pi, gamma):
    """v_pi = (I - gamma P_pi)^-1 r_pi, the Bellman expectation equation solved exactly.

    ``P_pi`` (S, S) is the state-to-state matrix under pi (rows summing to at most 1),
    ``r_pi`` (S,) the expected one-step reward. A linear solve, never an explicit inverse.
    """
    P_pi = np.asarray(P_pi, dtype=np.float64)
    r_pi = np.asarray(r_pi, dtype=np.float64)
    if P_pi.ndim != 2 or P_pi.shape[0] != P_pi.shape[1] or r_pi.shape != P_pi.shape[:1]:
        raise ValueError(f"bellman_solve: P_pi must be (S, S) and r_pi (S,), got {P_pi.shape} "
                         f"and {r_pi.shape}")
    _check_gamma(gamma, "bellman_solve")
    return np.linalg.solve(np.eye(len(r_pi)) - gamma * P_pi, r_pi)


def policy_evaluation(P, R, policy, gamma, tol=1e-12, max_iter=1_000_000):
    """v_pi by iterating v <- r_pi + gamma P_pi v (synchronous sweeps) from v = 0.

    Stops when a sweep changes v by less than ``tol (1 - gamma) / gamma`` in max norm, which
    bounds the distance to the fixed point by ``tol`` (the sweep is a gamma-contraction).
    ``policy``: (S,) actions or (S, A) probabilities. Returns v (S,) float64.
    """
    P, R = _check_model(P, R, "policy_evaluation")
    _check_gamma(gamma, "policy_evaluation")
    P_pi, r_pi = _under_policy(P, R, policy)
    stop = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    v = np.zeros(len(r_pi))
    for _ in range(max_iter):
        v_new = r_pi + gamma * P_pi @ v
        delta = np.max(np.abs(v_new - v))
        v = v_new
        if delta <= stop:
            return v
    raise RuntimeError(f"policy_evaluation: no convergence to tol={tol} in {max_iter} sweeps "
                       f"(last change {delta:.3g})")


def q_from_v(P, R, v, gamma):
    """q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) v(s'): (S, A) from v (S,)."""
    P, R = _check_model(P, R, "q_from_v")
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (P.shape[0],):
        raise ValueError(f"q_from_v: v must be ({P.shape[0]},), got {v.shape}")
    return R + gamma * P @ v


def greedy_policy(q, atol=1e-12):
    """argmax_a q(s, a) per state, (S,) ints; among actions within ``atol`` of the best the
    lowest index wins, so that two solvers that agree to rounding pick the same action."""
    q = np.asarray(q, dtype=np.float64)
    return np.argmax(q >= q.max(axis=1, keepdims=True) - atol, axis=1)


def value_iteration(P, R, gamma, tol=1e-12, max_iter=1_000_000):
    """v* by iterating the Bellman optimality equation v <- max_a [R + gamma P v].

    Stops when a sweep changes v by less than ``tol (1 - gamma) / gamma`` (so |v - v*| <= tol).
    Returns ``(v, policy, sweeps)``: v (S,), the greedy policy (S,) ints, the sweep count.
    """
    P, R = _check_model(P, R, "value_iteration")
    _check_gamma(gamma, "value_iteration")
    stop = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    v = np.zeros(P.shape[0])
    for sweep in range(1, max_iter + 1):
        v_new = (R + gamma * P @ v).max(axis=1)
        delta = np.max(np.abs(v_new - v))
        v = v_new
        if delta <= stop:
            return v, greedy_policy(q_from_v(P, R, v, gamma)), sweep
    raise RuntimeError(f"value_iteration: no convergence to tol={tol} in {max_iter} sweeps")


def policy_iteration(P, R, gamma, policy=None, max_iter=10_000):
    """Howard's policy iteration: exact evaluation (``bellman_solve``), then greedy improvement.

    Starts from ``policy`` (default: action 0 everywhere) and stops when the greedy policy
    no longer changes. Returns ``(v, policy, iterations)``.
    """
    P, R = _check_model(P, R, "policy_iteration")
    _check_gamma(gamma, "policy_iteration")
    policy = np.zeros(P.shape[0], dtype=np.int64) if policy is None else np.asarray(policy)
    for iteration in range(1, max_iter + 1):
        v = bellman_solve(*_under_policy(P, R, policy), gamma)
        improved = greedy_policy(q_from_v(P, R, v, gamma))
        if np.array_equal(improved, policy):
            return v, policy, iteration
        policy = improved
    raise RuntimeError(f"policy_iteration: the policy still changed after {max_iter} rounds")


def finite_horizon_return(P, R, policy, horizon, d0):
    """Expected undiscounted return over the first ``horizon`` steps from start distribution d0.

    sum_{t < horizon} d_t . r_pi with d_{t+1} = d_t P_pi: exact, by propagating the state
    distribution. With a reward of 1 on reaching a goal and 0 elsewhere (FrozenLake) this is
    the probability of reaching the goal within ``horizon`` steps.
    """
    P, R = _check_model(P, R, "finite_horizon_return")
    P_pi, r_pi = _under_policy(P, R, policy)
    d = np.asarray(d0, dtype=np.float64)
    if d.shape != r_pi.shape:
        raise ValueError(f"finite_horizon_return: d0 must be ({len(r_pi)},), got {d.shape}")
    total = 0.0
    for _ in range(int(horizon)):
        total += d @ r_pi
        d = d @ P_pi
    return float(total)
