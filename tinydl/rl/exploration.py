"""Exploration: epsilon schedules for discrete actions, action noise for continuous ones."""
import numpy as np

from tinydl.random import seeded as _rng

__all__ = ["linear_schedule", "exponential_schedule", "GaussianNoise", "OUNoise"]


def linear_schedule(start, end, duration, t):
    """epsilon(t) = start + (end - start) min(1, t / duration): CleanRL's DQN schedule
    (start 1.0, end 0.05 over half the run), constant at ``end`` afterwards."""
    if duration <= 0:
        raise ValueError(f"linear_schedule: duration must be positive, got {duration}")
    if t >= duration:
        return end  # exactly (start + (end - start) * 1 rounds: 0.050000000000000044)
    return start + (end - start) * (t / duration)


def exponential_schedule(start, end, decay, t):
    """epsilon(t) = end + (start - end) exp(-t / decay), the DQN-tutorial decay."""
    if decay <= 0:
        raise ValueError(f"exponential_schedule: decay must be positive, got {decay}")
    return end + (start - end) * np.exp(-t / decay)


class GaussianNoise:
    """Independent N(0, sigma^2) noise per action dimension (TD3, Fujimoto et al. 2018, and
    CleanRL's DDPG use it with sigma = 0.1 x the action bound instead of OU noise)."""

    def __init__(self, action_dim, sigma=0.1, seed=None):
        self.action_dim = int(action_dim)
        self.sigma = np.asarray(sigma, dtype=np.float64)
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)

    def reset(self):
        """Nothing to reset: the noise has no state (kept so both noises swap freely)."""

    def __call__(self):
        return (self.sigma * self.rng.standard_normal(self.action_dim)).astype(np.float32)


class OUNoise:
    """Ornstein-Uhlenbeck noise, the temporally correlated exploration of DDPG (Lillicrap et
    al. 2016), discretised with Euler-Maruyama:

        x <- x + theta (mu - x) dt + sigma sqrt(dt) N(0, I)

    Defaults theta = 0.15, sigma = 0.2, dt = 1e-2 as in the paper's and the common
    implementations; ``reset()`` puts x back to mu at the start of each episode.
    """

    def __init__(self, action_dim, mu=0.0, theta=0.15, sigma=0.2, dt=1e-2, seed=None):
        self.action_dim = int(action_dim)
        self.mu = np.full(self.action_dim, mu, dtype=np.float64)
        self.theta, self.sigma, self.dt = float(theta), float(sigma), float(dt)
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)
        self.reset()

    def reset(self):
        """Back to the mean, so episodes do not inherit each other's drift."""
        self.x = self.mu.copy()

    def __call__(self):
        noise = self.rng.standard_normal(self.action_dim)
        self.x = self.x + self.theta * (self.mu - self.x) * self.dt \
            + self.sigma * np.sqrt(self.dt) * noise
        return self.x.astype(np.float32)
