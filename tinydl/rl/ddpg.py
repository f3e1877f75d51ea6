"""Deep deterministic policy gradient, DDPG (Lillicrap et al. 2016).

A deterministic actor mu(s; phi) and a critic Q(s, a; theta), each with a Polyak-averaged
target copy (phi^-, theta^-), trained off-policy from a replay buffer::

    y          = r + gamma (1 - terminated) Q(s', mu(s'; phi^-); theta^-)
    critic     : minimise mean[(Q(s, a; theta) - y)^2]
    actor      : minimise -mean[Q(s, mu(s; phi); theta)]     (the deterministic policy gradient)
    targets    : theta^- <- tau theta + (1 - tau) theta^-,  phi^- likewise

Exploration adds noise to mu(s) (``GaussianNoise`` by default, ``OUNoise`` as in the paper)
and clips to the action bounds. Like a GAN, the two networks chase each other: the critic
judges, the actor climbs the critic's surface. Defaults follow CleanRL's ``ddpg_continuous_
action.py`` (Adam, gamma 0.99, tau 0.005, Gaussian noise 0.1 x the action scale, actor and
targets updated every second step) with the 64-64 networks and short warm-up that a 20,000-step
Pendulum budget asks for (CleanRL uses 256-256 and 25,000 random steps).
"""
import time

import numpy as np

from tinydl.autograd import no_grad
from tinydl.nn import MLP
from tinydl.nn import functional as F
from tinydl.ops.shape import concatenate
from tinydl.optim import Adam
from tinydl.random import seeded as _rng
from tinydl.rl.buffers import ReplayBuffer
from tinydl.rl.common import (check_batch, off_policy_step, parameter_pairs, polyak_average,
                               polyak_update, positive_int)
from tinydl.rl.exploration import GaussianNoise
from tinydl.tensor import Tensor

__all__ = ["DDPG", "train_ddpg"]


class DDPG:
    """DDPG(obs_dim, action_low, action_high, hidden=(64, 64), actor_lr=1e-3, critic_lr=1e-3,
    gamma=0.99, tau=0.005, policy_frequency=2, seed=None).

    ``action_low``/``action_high``: the Box bounds (arrays of the action shape); the actor's
    tanh output is rescaled onto them. ``act(obs, noise=None)`` -> action array (greedy unless
    a noise callable is given); ``update(batch)`` -> dict of losses.
    """

    def __init__(self, obs_dim, action_low, action_high, hidden=(64, 64), actor_lr=1e-3,
                 critic_lr=1e-3, gamma=0.99, tau=0.005, policy_frequency=2, seed=None):
        self.low = np.asarray(action_low, dtype=np.float32).reshape(-1)
        self.high = np.asarray(action_high, dtype=np.float32).reshape(-1)
        if self.low.shape != self.high.shape or np.any(self.low >= self.high):
            raise ValueError(f"DDPG: action bounds must have one shape with low < high, got "
                             f"{self.low} and {self.high}")
        self.obs_dim, self.action_dim = int(obs_dim), len(self.low)
        self.scale = (self.high - self.low) / 2
        self.center = (self.high + self.low) / 2
        self._scale_t, self._center_t = Tensor(self.scale), Tensor(self.center)
        self.gamma, self.tau = float(gamma), float(tau)
        self.policy_frequency = positive_int(policy_frequency, "DDPG", "policy_frequency")
        actor_sizes = [self.obs_dim, *hidden, self.action_dim]
        critic_sizes = [self.obs_dim + self.action_dim, *hidden, 1]
        self.actor = MLP(actor_sizes, output_activation="tanh")
        self.actor_target = MLP(actor_sizes, output_activation="tanh")
        self.critic = MLP(critic_sizes)
        self.critic_target = MLP(critic_sizes)
        polyak_update(self.actor_target, self.actor, 1.0)
        polyak_update(self.critic_target, self.critic, 1.0)
        self._target_pairs = (parameter_pairs(self.actor_target, self.actor)
                              + parameter_pairs(self.critic_target, self.critic))
        self.actor_optimizer = Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_optimizer = Adam(self.critic.parameters(), lr=critic_lr)
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)
        self.updates = 0

    def _policy(self, actor, obs):
        # tanh keeps the action inside (-1, 1); the affine map puts it inside [low, high].
        return actor(obs) * self._scale_t + self._center_t

    def _q(self, critic, obs, action):
        # Kept (B, 1): a [:, 0] would add an indexing node, and its scatter, to every update.
        return critic(concatenate([obs, action], axis=1))

    def act(self, obs, noise=None):
        """mu(s) for one observation, plus ``noise()`` x the action scale when given, clipped
        to the bounds; returns a float32 array of the action shape."""
        obs = Tensor(np.asarray(obs, dtype=np.float32).reshape(1, self.obs_dim))
        with no_grad():
            action = self.actor(obs).data[0] * self.scale + self.center
        if noise is not None:
            action = action + noise() * self.scale
        return np.clip(action, self.low, self.high).astype(np.float32)

    def compute_target(self, batch):
        """y = r + gamma (1 - terminated) Q_target(s', mu_target(s')), a (B,) float32 array."""
        next_obs = Tensor(np.asarray(batch["next_obs"], dtype=np.float32))
        with no_grad():
            q_next = self._q(self.critic_target, next_obs,
                             self._policy(self.actor_target, next_obs)).data[:, 0]
        rewards = np.asarray(batch["rewards"], dtype=np.float32)
        not_terminal = 1.0 - np.asarray(batch["terminated"], dtype=np.float32)
        return (rewards + self.gamma * not_terminal * q_next).astype(np.float32)

    def update(self, batch):
        """A critic step every call; an actor step and the Polyak target updates every
        ``policy_frequency`` calls (CleanRL's schedule). Returns the losses as floats."""
        batch = check_batch(batch, "DDPG.update", self.obs_dim, (self.action_dim,))
        target = Tensor(self.compute_target(batch)[:, None])
        obs = Tensor(np.asarray(batch["obs"], dtype=np.float32))
        actions = Tensor(np.asarray(batch["actions"], dtype=np.float32))
        critic_loss = F.mse_loss(self._q(self.critic, obs, actions), target)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        self.updates += 1
        losses = {"critic_loss": float(critic_loss.data)}
        if self.updates % self.policy_frequency == 0:
            actor_loss = -self._q(self.critic, obs, self._policy(self.actor, obs)).mean()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            # The actor's backward also filled the critic's grads; the next critic step clears
            # them with zero_grad before its own backward, so they never leak into an update.
            polyak_average(self._target_pairs, self.tau)
            losses["actor_loss"] = float(actor_loss.data)
        return losses

    def state_dict(self):
        """All four networks and the update count (for ``tinydl.save``)."""
        return {"actor": self.actor.state_dict(), "actor_target": self.actor_target.state_dict(),
                "critic": self.critic.state_dict(),
                "critic_target": self.critic_target.state_dict(), "updates": self.updates}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        for name in ("actor", "actor_target", "critic", "critic_target"):
            getattr(self, name).load_state_dict(state[name])
        self.updates = int(state["updates"])


def train_ddpg(agent, env, total_steps=20_000, seed=0, buffer_size=100_000, batch_size=128,
               learning_starts=1_000, train_frequency=1, noise=None, log=None, log_every=2_000):
    """Off-policy loop: uniform random actions for ``learning_starts`` steps, then
    mu(s) + noise, one ``update`` every ``train_frequency`` steps (CleanRL: every step).
    Returns a history dict (keys as ``train_dqn``'s)."""
    noise = noise if noise is not None else GaussianNoise(agent.action_dim, 0.1, seed=seed)
    buffer = ReplayBuffer(buffer_size, env.observation_space.shape, seed=seed,
                          action_shape=(agent.action_dim,), action_dtype=np.float32)
    history = {"episode_steps": [], "episode_returns": [], "evaluations": [], "solved_at": None}
    start = time.process_time()
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    episode_return = 0.0
    for step in range(1, total_steps + 1):
        if step <= learning_starts:
            action = env.action_space.sample()
        else:
            action = agent.act(obs, noise)
        obs, episode_return, ended = off_policy_step(env, buffer, obs, action, step,
                                                     episode_return, history)
        if ended:
            noise.reset()
        if step > learning_starts and step % train_frequency == 0:
            agent.update(buffer.sample(batch_size))
        if log and step % log_every == 0 and history["episode_returns"]:
            log(f"step {step}: last episode return {history['episode_returns'][-1]:.1f}, "
                f"cpu {time.process_time() - start:.1f} s")
    history["steps"] = total_steps
    history["cpu_seconds"] = time.process_time() - start
    return history
