"""FrozenLake by exact dynamic programming: the Bellman equations solved, iterated and checked.

The 4x4 slippery FrozenLake-v1 (each move goes where asked with probability 1/3 and slips to
either side otherwise) is read as arrays from ``env.unwrapped.P``. With gamma = 0.99:

- the random policy's value by iterative policy evaluation equals the linear solve
  (I - gamma P_pi)^-1 r_pi;
- value iteration and policy iteration give the same greedy policy, whose value equals its
  linear solve;
- the probability that this policy reaches the goal within the 100-step time limit is computed
  exactly by propagating the state distribution, and checked by Monte Carlo on the real env.

Saves a value heat map with the greedy policy's arrows and the convergence of value iteration.

    python examples/rl_frozenlake.py [--episodes 2000] [--out examples/output] [--fast]
"""
import argparse
import os
import pathlib
import time

import numpy as np

from tinydl.rl import (bellman_solve, finite_horizon_return, make_env, model_from_env,
                       policy_evaluation, policy_iteration, policy_matrix, q_from_v,
                       value_iteration)

GAMMA = 0.99
ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # left, down, right, up as (dx, dy)


def value_of(P, R, policy, gamma=GAMMA):
    """v_pi by the linear solve, for any (S,) or (S, A) policy."""
    pi = policy_matrix(policy, *R.shape)
    return bellman_solve(np.einsum("sa,sat->st", pi, P), np.einsum("sa,sa->s", pi, R), gamma)


def monte_carlo_success(env, policy, episodes, seed=0):
    """Fraction of ``episodes`` (reset with seeds seed, seed+1, ...) that reach the goal,
    and its standard error sqrt(p (1 - p) / n)."""
    wins = 0.0
    for i in range(episodes):
        state, _ = env.reset(seed=seed + i)
        done, reward = False, 0.0
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            done = terminated or truncated
        wins += reward
    p = wins / episodes
    return p, np.sqrt(p * (1 - p) / episodes)


def value_iteration_errors(P, R, v_star, sweeps):
    """max_s |v_k(s) - v*(s)| after each of the first ``sweeps`` value-iteration sweeps."""
    v, errors = np.zeros(len(v_star)), []
    for _ in range(sweeps):
        v = q_from_v(P, R, v, GAMMA).max(axis=1)
        errors.append(np.max(np.abs(v - v_star)))
    return np.array(errors)


def plot(desc, v_star, policy, errors, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = desc.shape
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
    image = ax1.imshow(v_star.reshape(rows, cols), cmap="viridis")
    fig.colorbar(image, ax=ax1, label="v*(s)")
    for s in range(rows * cols):
        r, c = divmod(s, cols)
        tile = desc[r, c]
        if tile in "HG":
            ax1.text(c, r, tile, ha="center", va="center", color="white", fontsize=14)
        else:
            dx, dy = ARROWS[int(policy[s])]
            ax1.arrow(c - 0.25 * dx, r - 0.25 * dy, 0.3 * dx, 0.3 * dy, head_width=0.15,
                      color="white")
    ax1.set(title="optimal value and greedy policy", xticks=[], yticks=[])
    ax2.semilogy(np.arange(1, len(errors) + 1), errors)
    ax2.set(title="value iteration (gamma 0.99)", xlabel="sweep",
            ylabel="max |v_k - v*|")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000, help="Monte Carlo episodes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "output"))
    parser.add_argument("--fast", action="store_true", help="300 Monte Carlo episodes")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("TINYDL_FAST") == "1"
    episodes = 300 if fast else args.episodes
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    env = make_env("FrozenLake-v1", is_slippery=True)
    P, R, d0 = model_from_env(env)
    random_policy = np.full(R.shape, 1.0 / R.shape[1])
    iterated = policy_evaluation(P, R, random_policy, GAMMA, tol=1e-12)
    gap_random = np.max(np.abs(iterated - value_of(P, R, random_policy)))
    print(f"random policy: v(start) = {iterated[0]:.6f}; iterative vs linear solve, "
          f"max gap {gap_random:.1e}")

    v_vi, pi_vi, sweeps = value_iteration(P, R, GAMMA, tol=1e-12)
    gap_vi = np.max(np.abs(v_vi - value_of(P, R, pi_vi)))
    v_pi, pi_pi, rounds = policy_iteration(P, R, GAMMA)
    same = np.array_equal(pi_vi, pi_pi)
    print(f"value iteration: {sweeps} sweeps, v*(start) = {v_vi[0]:.6f}, gap to the linear "
          f"solve of its policy {gap_vi:.1e}")
    print(f"policy iteration: {rounds} rounds; same greedy policy as value iteration: {same}")

    horizon = env.spec.max_episode_steps
    exact = finite_horizon_return(P, R, pi_vi, horizon, d0)
    start = time.process_time()
    estimate, stderr = monte_carlo_success(env, pi_vi, episodes, seed=args.seed)
    print(f"success within {horizon} steps: exact {exact:.4f}; Monte Carlo over {episodes} "
          f"episodes {estimate:.4f} +- {stderr:.4f} (|difference| = "
          f"{abs(estimate - exact) / stderr:.2f} standard errors, "
          f"{time.process_time() - start:.1f} s CPU)")

    desc = np.asarray(env.unwrapped.desc).astype(str)
    plot(desc, v_vi, pi_vi, value_iteration_errors(P, R, v_vi, sweeps), out / "rl_frozenlake.png")
    print(f"value map and convergence: {out / 'rl_frozenlake.png'}")
    return {"gap_random": gap_random, "gap_vi": gap_vi, "same_policy": same, "exact": exact,
            "monte_carlo": estimate, "stderr": stderr}


if __name__ == "__main__":
    main()
