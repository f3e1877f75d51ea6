"""``ReplayBuffer``: a fixed-size NumPy ring buffer of transitions with uniform sampling.

Experience replay (Lin 1992; Mnih et al. 2015, the DQN paper): store transitions
(s, a, r, s', terminated) as they come, overwrite the oldest once full, and train on
mini-batches drawn uniformly from what is stored, which breaks the correlation between
consecutive steps. Only ``terminated`` is kept, not ``truncated``: a time limit is not a
property of the state, so the learner bootstraps through it (Gymnasium's convention;
Pardo et al. 2018, "Time limits in reinforcement learning").
"""
import numpy as np

from tinydl.random import seeded as _rng
from tinydl.rl.common import positive_int

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """ReplayBuffer(capacity, obs_shape, seed=None, action_shape=(), action_dtype=np.int64).

    Preallocated arrays: ``obs`` and ``next_obs`` (capacity, *obs_shape) float32, ``actions``
    (capacity, *action_shape) (int64 for discrete actions, pass ``action_dtype=np.float32``
    and ``action_shape=(d,)`` for continuous ones), ``rewards`` and ``terminated`` (capacity,)
    float32. ``add`` writes at ``pos`` and advances it modulo capacity; ``sample(batch_size)``
    draws indices uniformly with replacement from the ``len(buffer)`` stored transitions
    (as CleanRL and Stable-Baselines3 do) using the buffer's own seeded generator.
    """

    def __init__(self, capacity, obs_shape, seed=None, action_shape=(), action_dtype=np.int64):
        if int(capacity) != capacity or capacity < 1:
            raise ValueError(f"ReplayBuffer: capacity must be a positive int, got {capacity!r}")
        self.capacity = int(capacity)
        self.obs_shape = tuple(int(n) for n in np.atleast_1d(obs_shape))
        # an int d means (d,), as obs_shape takes it
        self.action_shape = ((int(action_shape),) if np.ndim(action_shape) == 0
                             else tuple(int(n) for n in action_shape))
        self.obs = np.zeros((self.capacity, *self.obs_shape), dtype=np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros((self.capacity, *self.action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0
        self.rng = _rng(seed)  # None: tinydl's generator (manual_seed)

    def __len__(self):
        return self.size

    def add(self, obs, action, reward, next_obs, terminated):
        """Store one transition; once full, the oldest one is overwritten.

        Every field must have its slot's exact shape (nothing is broadcast) and a dtype that
        casts to the buffer's within its kind (a float action does not go into an int64 action
        buffer). All are checked before anything is written, so a refused transition leaves
        the buffer as it was.
        """
        fields = {"obs": (obs, self.obs), "action": (action, self.actions),
                  "reward": (reward, self.rewards), "next_obs": (next_obs, self.next_obs),
                  "terminated": (terminated, self.terminated)}
        values = []
        for name, (value, store) in fields.items():
            value = np.asarray(value)
            if value.shape != store.shape[1:]:
                raise ValueError(f"ReplayBuffer.add: {name} must have shape {store.shape[1:]}, "
                                 f"got shape {value.shape}")
            if not np.can_cast(value.dtype, store.dtype, casting="same_kind"):
                raise TypeError(f"ReplayBuffer.add: {name} of dtype {value.dtype} does not fit "
                                f"the buffer's {store.dtype}")
            values.append((store, value))
        i = self.pos
        for store, value in values:
            store[i] = value
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """A dict of arrays with ``batch_size`` rows: obs, actions, rewards, next_obs, terminated."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        batch_size = positive_int(batch_size, "ReplayBuffer.sample", "batch_size")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return {"obs": self.obs[idx], "actions": self.actions[idx], "rewards": self.rewards[idx],
                "next_obs": self.next_obs[idx], "terminated": self.terminated[idx]}
