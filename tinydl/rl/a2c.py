"""Advantage actor-critic (A2C), the synchronous form of A3C (Mnih et al. 2016).

N environments step in lockstep (Gymnasium's vector API) for n steps; the batch of N x n
transitions gives n-step returns bootstrapped from the critic, and one gradient step on::

    R_t   = r_t + gamma (1 - done_t) R_{t+1},      R_n = V(s_n)        (n-step return)
    A_t   = R_t - V(s_t)                                              (advantage)
    loss  = -mean[log pi(a_t | s_t) A_t]  +  c_v mean[(R_t - V(s_t))^2]  -  c_e mean[H(pi(.|s_t))]

with A_t held constant in the policy term. An episode cut by a time limit is not a terminal
state: its last reward is augmented by gamma V(s_final) before the chain is cut, so the return
still bootstraps through the truncation (Pardo et al. 2018). Defaults follow
Stable-Baselines3's A2C and the RL-Zoo's CartPole entry (8 envs, n = 5, separate 64-64 tanh
actor and critic, RMSprop lr 7e-4, alpha 0.99, eps 1e-5, c_v 0.5, c_e 0, gradient norm <= 0.5).
"""
import sys
import time

import numpy as np

from tinydl.autograd import no_grad
from tinydl.nn import MLP
from tinydl.nn import functional as F
from tinydl.nn.utils import clip_grad_norm_
from tinydl.optim import RMSprop
from tinydl.random import seeded as _rng
from tinydl.rl.common import action_indices, check_solved, require_gymnasium
from tinydl.tensor import Tensor

__all__ = ["A2C", "nstep_returns", "train_a2c"]


def nstep_returns(rewards, dones, last_values, gamma):
    """R_t = r_t + gamma (1 - done_t) R_{t+1} backwards from R_n = last_values.

    ``rewards`` and ``dones`` (T, N), ``last_values`` (N,) = V(s_T); returns (T, N) float32.
    ``done_t`` marks that the episode ended at step t (terminated or truncated; truncation's
    bootstrap is folded into r_t by the caller).
    """
    rewards = np.asarray(rewards, dtype=np.float32)
    dones = np.asarray(dones, dtype=np.float32)
    if rewards.ndim != 2 or dones.shape != rewards.shape or \
            np.shape(last_values) != rewards.shape[1:]:
        raise ValueError(f"nstep_returns: rewards and dones must be (T, N) and last_values (N,), "
                         f"got {rewards.shape}, {dones.shape}, {np.shape(last_values)}")
    returns = np.empty_like(rewards)
    running = np.asarray(last_values, dtype=np.float32)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * (1.0 - dones[t]) * running
        returns[t] = running
    return returns


class A2C:
    """A2C(obs_dim, n_actions, hidden=(64, 64), lr=7e-4, gamma=0.99, n_steps=5, vf_coef=0.5,
    ent_coef=0.0, max_grad_norm=0.5, seed=None).

    ``act(obs)`` -> the greedy (most probable) action for one observation;
    ``sample(obs_batch)`` -> (N,) actions drawn from pi; ``value(obs_batch)`` -> (N,) V(s);
    ``update(rollout)`` one RMSprop step, returns a dict of the loss terms.
    """

    def __init__(self, obs_dim, n_actions, hidden=(64, 64), lr=7e-4, gamma=0.99, n_steps=5,
                 vf_coef=0.5, ent_coef=0.0, max_grad_norm=0.5, seed=None):
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.gamma, self.n_steps = float(gamma), int(n_steps)
        self.vf_coef, self.ent_coef, self.max_grad_norm = vf_coef, ent_coef, max_grad_norm
        self.actor = MLP([self.obs_dim, *hidden, self.n_actions], activation="tanh")
        self.critic = MLP([self.obs_dim, *hidden, 1], activation="tanh")
        self.parameters = list(self.actor.parameters()) + list(self.critic.parameters())
        self.optimizer = RMSprop(self.parameters, lr=lr, alpha=0.99, eps=1e-5)
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)

    def _obs(self, obs):
        return Tensor(np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim))

    def probabilities(self, obs):
        """pi(. | s) as an (N, n_actions) array."""
        with no_grad():
            return F.softmax(self.actor(self._obs(obs)), axis=-1).data

    def act(self, obs):
        """argmax_a pi(a | s) for one observation (the greedy policy that ``evaluate`` scores)."""
        with no_grad():
            return int(np.argmax(self.actor(self._obs(obs)).data[0]))

    def sample(self, obs):
        """Actions drawn from pi(. | s), one per row of ``obs``, by inverting the CDF."""
        probs = self.probabilities(obs)
        if not np.all(np.isfinite(probs)):
            # NaN compares false everywhere below: action 0 every time, silently
            raise ValueError("A2C.sample: the policy's probabilities are not finite (NaN or "
                             "inf actor weights? a too large learning rate diverges)")
        cdf = np.cumsum(probs, axis=1)
        u = self.rng.random((len(cdf), 1)) * cdf[:, -1:]
        return np.minimum((cdf < u).sum(axis=1), self.n_actions - 1)

    def value(self, obs):
        """V(s) as an (N,) array."""
        with no_grad():
            return self.critic(self._obs(obs)).data[:, 0]

    def update(self, rollout):
        """One step on a rollout dict: ``obs`` (T, N, obs_dim), ``actions``, ``rewards``,
        ``dones`` (T, N) and ``last_obs`` (N, obs_dim). Returns the loss terms as floats."""
        obs = np.asarray(rollout["obs"], dtype=np.float32)
        T, N = obs.shape[:2]
        returns = nstep_returns(rollout["rewards"], rollout["dones"],
                                self.value(rollout["last_obs"]), self.gamma).reshape(-1)
        flat = Tensor(obs.reshape(T * N, self.obs_dim))
        actions = action_indices(rollout["actions"], self.n_actions, "A2C.update").reshape(-1)
        log_probs = F.log_softmax(self.actor(flat), axis=-1)
        values = self.critic(flat)[:, 0]
        advantages = Tensor(returns - values.data)
        policy_loss = -(log_probs[np.arange(T * N), actions] * advantages).mean()
        value_loss = F.mse_loss(values, Tensor(returns))
        entropy = -(log_probs.exp() * log_probs).sum(axis=1).mean()
        loss = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(self.parameters, self.max_grad_norm)
        self.optimizer.step()
        return {"policy_loss": float(policy_loss.data), "value_loss": float(value_loss.data),
                "entropy": float(entropy.data)}

    def state_dict(self):
        """Actor and critic weights (for ``tinydl.save``)."""
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict()}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])


def make_vector_env(env_id, num_envs, **kwargs):
    """A synchronous Gymnasium vector env that resets finished envs in the same step and hands
    the true last observation back in ``info['final_obs']`` (needed to bootstrap truncations).
    ``kwargs`` go to each environment (``max_episode_steps=...``, ...)."""
    gym = require_gymnasium("tinydl.rl.make_vector_env")
    if not hasattr(gym.vector, "AutoresetMode"):
        raise ImportError(f"tinydl.rl.make_vector_env needs gymnasium >= 1.1 (same-step "
                          f"autoreset), found {gym.__version__}: pip install -U \"tinydl[rl]\"")
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                        **kwargs)


def _check_same_step_autoreset(envs):
    """Refuse a vector env whose metadata names an autoreset mode other than SAME_STEP."""
    metadata = getattr(envs, "metadata", None)
    mode = metadata.get("autoreset_mode") if isinstance(metadata, dict) else None
    vector = getattr(sys.modules.get("gymnasium"), "vector", None)
    if (mode is None and vector is not None and not hasattr(vector, "AutoresetMode")
            and isinstance(envs, getattr(vector, "VectorEnv", ()))):
        mode = "NEXT_STEP (gymnasium < 1.1 has no other)"
    if mode is not None and getattr(mode, "name", str(mode)) != "SAME_STEP":
        raise ValueError(
            f"train_a2c: the vector env resets finished envs in mode "
            f"{getattr(mode, 'name', mode)}, where the step after an episode's end is a reset "
            "(action ignored, reward 0) that would be trained on as a transition; build it "
            "with tinydl.rl.make_vector_env, or pass vector_kwargs={'autoreset_mode': "
            "gymnasium.vector.AutoresetMode.SAME_STEP} to gymnasium.make_vec")


def train_a2c(agent, envs, total_steps=500_000, seed=0, solved=None, eval_env=None,
              check_every=10_000, eval_episodes=100, log=None, log_every=20_000):
    """Synchronous A2C on a vector env built by ``make_vector_env``; returns a history dict.

    ``total_steps`` counts single-environment steps (N per vector step). With ``solved`` and
    ``eval_env``, training stops early once a greedy evaluation over ``eval_episodes`` reaches
    ``solved``, checked every ``check_every`` steps (see ``check_solved``). History keys as
    ``train_dqn``'s.

    The vector env must reset a finished env in the same step (Gymnasium's
    ``AutoresetMode.SAME_STEP``, as ``make_vector_env`` builds it): a vector env in
    Gymnasium 1.x's default mode, NEXT_STEP, raises a ValueError, because its step after an
    episode's end is a reset (the action ignored, reward 0, not done) that would be trained
    on as a real transition.
    """
    _check_same_step_autoreset(envs)
    n = envs.num_envs
    history = {"episode_steps": [], "episode_returns": [], "evaluations": [], "solved_at": None}
    start = time.process_time()
    obs, _ = envs.reset(seed=seed)
    running = np.zeros(n)
    steps, last_check = 0, 0
    T = agent.n_steps
    while steps < total_steps:
        buf_obs = np.zeros((T, n, agent.obs_dim), dtype=np.float32)
        buf_act = np.zeros((T, n), dtype=np.int64)
        buf_rew = np.zeros((T, n), dtype=np.float32)
        buf_done = np.zeros((T, n), dtype=np.float32)
        for t in range(T):
            actions = agent.sample(obs)
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            buf_obs[t], buf_act[t] = obs, actions
            running += rewards
            rewards = rewards.astype(np.float32)
            cut = truncated & ~terminated
            if cut.any():
                final = np.stack(info["final_obs"][cut])
                rewards[cut] += agent.gamma * agent.value(final)
            done = terminated | truncated
            buf_rew[t], buf_done[t] = rewards, done
            obs = next_obs
            steps += n
            for i in np.flatnonzero(done):
                history["episode_steps"].append(steps)
                history["episode_returns"].append(float(running[i]))
                running[i] = 0.0
        agent.update({"obs": buf_obs, "actions": buf_act, "rewards": buf_rew, "dones": buf_done,
                      "last_obs": obs})
        if log and steps % log_every < n * T and history["episode_returns"]:
            log(f"step {steps}: mean of the last 10 training returns "
                f"{np.mean(history['episode_returns'][-10:]):.1f}, "
                f"cpu {time.process_time() - start:.1f} s")
        if (solved is not None and eval_env is not None and steps - last_check >= check_every):
            last_check = steps
            if check_solved(agent, eval_env, solved, eval_episodes, seed, steps, history, log):
                break
    history["steps"] = steps
    history["cpu_seconds"] = time.process_time() - start
    return history
