"""tinydl.rl: reinforcement learning on tinydl's autograd (Gymnasium through the ``rl`` extra).

- ``tinydl.rl.tabular``: exact dynamic programming on finite MDPs (Bellman expectation and
  optimality equations; ``bellman_solve``, ``policy_evaluation``, ``value_iteration``,
  ``policy_iteration``, ``q_from_v``), with models read from Gymnasium's toy-text envs.
- ``ReplayBuffer``, epsilon schedules, ``GaussianNoise`` / ``OUNoise``.
- Agents with ``act`` / ``update`` / ``state_dict`` / ``load_state_dict``: ``DQN`` (and Double
  DQN), ``A2C`` (synchronous A3C over a Gymnasium vector env), ``DDPG``; their training loops
  ``train_dqn``, ``train_a2c``, ``train_ddpg``; ``evaluate`` scores a greedy policy and
  ``plot_learning_curve`` draws a training history.

Nothing here imports gymnasium at import time; the helpers that need it (``make_env``,
``make_vector_env``, ``evaluate`` given an id) raise ImportError naming ``pip install
"tinydl[rl]"`` when it is missing.
"""
from tinydl.rl.a2c import A2C, make_vector_env, nstep_returns, train_a2c
from tinydl.rl.buffers import ReplayBuffer
from tinydl.rl.common import (evaluate, hard_update, make_env, parameter_pairs, polyak_average,
                              polyak_update, require_gymnasium)
from tinydl.rl.ddpg import DDPG, train_ddpg
from tinydl.rl.dqn import DQN, train_dqn
from tinydl.rl.exploration import GaussianNoise, OUNoise, exponential_schedule, linear_schedule
from tinydl.rl.plotting import plot_learning_curve
from tinydl.rl.tabular import (bellman_solve, finite_horizon_return, greedy_policy,
                               model_from_env, policy_evaluation, policy_iteration,
                               policy_matrix, q_from_v, value_iteration)

__all__ = ["A2C", "DDPG", "DQN", "GaussianNoise", "OUNoise", "ReplayBuffer", "bellman_solve",
           "evaluate", "exponential_schedule", "finite_horizon_return", "greedy_policy",
           "hard_update", "linear_schedule", "make_env", "make_vector_env", "model_from_env",
           "nstep_returns", "parameter_pairs", "plot_learning_curve", "polyak_average", "polyak_update", "policy_evaluation", "policy_iteration",
           "policy_matrix", "q_from_v", "require_gymnasium", "train_a2c", "train_ddpg",
           "train_dqn", "value_iteration"]
