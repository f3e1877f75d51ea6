"""The one seeded random generator behind every random call in tinydl.

``manual_seed(seed)`` replaces it; ``get_generator()`` returns it. Initialisers, dropout,
data shuffling and the factories ``randn``/``rand`` all draw from it, so one seed makes a
whole run reproducible.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed tinydl's generator (as ``torch.manual_seed``); returns the new generator."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator():
    """The ``np.random.Generator`` every random call in tinydl uses."""
    return _generator
