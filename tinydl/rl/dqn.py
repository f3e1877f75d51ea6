"""Deep Q-Network (Mnih et al. 2015) with the Double-DQN option (van Hasselt et al. 2016).

A network Q(s, . ; theta) regresses on the one-step Bellman optimality target computed with a
slowly moving copy theta^- (the target network), on mini-batches from a replay buffer::

    y = r + gamma (1 - terminated) max_a' Q(s', a'; theta^-)                (DQN)
    y = r + gamma (1 - terminated) Q(s', argmax_a' Q(s', a'; theta); theta^-)  (Double DQN)
    loss = mean over the batch of l(Q(s, a; theta) - y),  l = squared error or Huber

Only ``terminated`` stops the bootstrap: a transition cut by a time limit (``truncated``)
still bootstraps from s', which the replay buffer stores as the true last observation.
Defaults follow CleanRL's ``dqn.py`` for CartPole (120-84 ReLU network, Adam lr 2.5e-4,
batch 128, gamma 0.99, hard target copy every 500 environment steps = 50 updates at one
update per 10 steps, epsilon 1 -> 0.05, buffer 10,000, learning starts at 10,000 steps).
"""
import time

import numpy as np

from tinydl.autograd import no_grad
from tinydl.nn import MLP
from tinydl.nn import functional as F
from tinydl.optim import Adam
from tinydl.random import seeded as _rng
from tinydl.rl.buffers import ReplayBuffer
from tinydl.rl.common import (action_indices, check_batch, check_solved, off_policy_step,
                               parameter_pairs, polyak_average, positive_int)
from tinydl.rl.exploration import linear_schedule
from tinydl.tensor import Tensor

__all__ = ["DQN", "train_dqn"]


class DQN:
    """DQN(obs_dim, n_actions, hidden=(120, 84), lr=2.5e-4, gamma=0.99, tau=1.0,
    target_update_interval=50, double=False, loss='mse', seed=None).

    ``act(obs, epsilon=0.0)`` -> int action (epsilon-greedy; greedy by default);
    ``update(batch)`` one gradient step on a replay batch -> loss; the target network is
    Polyak-averaged with ``tau`` every ``target_update_interval`` updates (tau = 1: copy).
    ``loss``: 'mse' or 'huber' (smooth L1 with delta 1, as in the Nature paper's clipping).
    """

    def __init__(self, obs_dim, n_actions, hidden=(120, 84), lr=2.5e-4, gamma=0.99, tau=1.0,
                 target_update_interval=50, double=False, loss="mse", seed=None):
        if loss not in ("mse", "huber"):
            raise ValueError(f"DQN: loss must be 'mse' or 'huber', got {loss!r}")
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.gamma, self.tau, self.double, self.loss = float(gamma), float(tau), bool(double), loss
        self.target_update_interval = positive_int(target_update_interval, "DQN",
                                                   "target_update_interval")
        sizes = [self.obs_dim, *hidden, self.n_actions]
        self.q = MLP(sizes)
        self.q_target = MLP(sizes)
        self._target_pairs = parameter_pairs(self.q_target, self.q)
        polyak_average(self._target_pairs, 1.0)
        self.optimizer = Adam(self.q.parameters(), lr=lr)
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)
        self.updates = 0

    def q_values(self, obs):
        """Q(s, .) as an (N, n_actions) array for (N, obs_dim) or (obs_dim,) observations."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        with no_grad():
            return self.q(Tensor(obs)).data

    def act(self, obs, epsilon=0.0):
        """epsilon-greedy action for one observation: uniform with probability epsilon, else
        argmax_a Q(s, a) (the network is skipped when the coin says explore)."""
        if epsilon > 0 and self.rng.random() < epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.q_values(obs)[0]))

    def compute_target(self, batch):
        """y = r + gamma (1 - terminated) Q_target(s', a*), a* = argmax of Q_target (DQN) or of
        the online Q (Double DQN). Returns a (B,) float32 array."""
        next_obs = Tensor(np.asarray(batch["next_obs"], dtype=np.float32))
        with no_grad():
            q_next = self.q_target(next_obs).data
            if self.double:
                best = np.argmax(self.q(next_obs).data, axis=1)
            else:
                best = np.argmax(q_next, axis=1)
        bootstrap = q_next[np.arange(len(best)), best]
        rewards = np.asarray(batch["rewards"], dtype=np.float32)
        not_terminal = 1.0 - np.asarray(batch["terminated"], dtype=np.float32)
        return (rewards + self.gamma * not_terminal * bootstrap).astype(np.float32)

    def update(self, batch):
        """One Adam step on the TD loss of ``batch`` (a ``ReplayBuffer.sample`` dict); returns
        the loss as a float. Syncs the target network on schedule."""
        batch = check_batch(batch, "DQN.update", self.obs_dim, ())
        target = Tensor(self.compute_target(batch))
        actions = action_indices(batch["actions"], self.n_actions, "DQN.update")
        q_all = self.q(Tensor(np.asarray(batch["obs"], dtype=np.float32)))
        q_taken = q_all[np.arange(len(actions)), actions]
        if self.loss == "mse":
            loss = F.mse_loss(q_taken, target)
        else:
            loss = F.smooth_l1_loss(q_taken, target, beta=1.0)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.target_update_interval == 0:
            polyak_average(self._target_pairs, self.tau)
        return float(loss.data)

    def state_dict(self):
        """Online and target network weights plus the update count (for ``tinydl.save``)."""
        return {"q": self.q.state_dict(), "q_target": self.q_target.state_dict(),
                "updates": self.updates}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        self.q.load_state_dict(state["q"])
        self.q_target.load_state_dict(state["q_target"])
        self.updates = int(state["updates"])


def train_dqn(agent, env, total_steps=300_000, seed=0, buffer_size=10_000, batch_size=128,
              learning_starts=10_000, train_frequency=10, start_e=1.0, end_e=0.05,
              exploration_steps=None, solved=None, check_every=10_000, eval_episodes=100,
              log=None, log_every=10_000):
    """CleanRL's DQN loop on a single Gymnasium env; returns a history dict.

    epsilon decays linearly from ``start_e`` to ``end_e`` over ``exploration_steps`` (default
    half of ``total_steps``); one update every ``train_frequency`` steps after
    ``learning_starts``. With ``solved`` (a return), training stops early once a greedy
    evaluation over ``eval_episodes`` episodes reaches it, checked at the first episode end
    after every ``check_every`` steps (see ``check_solved``). History: ``episode_steps``,
    ``episode_returns`` (training episodes, exploring), ``evaluations`` [(step, mean, std)], ``steps``,
    ``cpu_seconds`` (process time, evaluations included), ``solved_at`` (step or None).
    """
    exploration_steps = exploration_steps or total_steps // 2
    buffer = ReplayBuffer(buffer_size, env.observation_space.shape, seed=seed)
    history = {"episode_steps": [], "episode_returns": [], "evaluations": [], "solved_at": None}
    start = time.process_time()
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    episode_return, last_check = 0.0, learning_starts
    for step in range(1, total_steps + 1):
        epsilon = linear_schedule(start_e, end_e, exploration_steps, step)
        action = agent.act(obs, epsilon)
        obs, episode_return, ended = off_policy_step(env, buffer, obs, action, step,
                                                     episode_return, history)
        if ended and solved is not None and step - last_check >= check_every:
            last_check = step
            if check_solved(agent, env, solved, eval_episodes, seed, step, history, log):
                break
            obs, _ = env.reset()
        if step > learning_starts and step % train_frequency == 0:
            agent.update(buffer.sample(batch_size))
        if log and step % log_every == 0 and history["episode_returns"]:
            log(f"step {step}: mean of the last 10 training returns "
                f"{np.mean(history['episode_returns'][-10:]):.1f}, epsilon {epsilon:.3f}, "
                f"cpu {time.process_time() - start:.1f} s")
    history["steps"] = step
    history["cpu_seconds"] = time.process_time() - start
    return history

