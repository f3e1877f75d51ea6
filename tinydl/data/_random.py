"""Where the random numbers of tinydl.data come from.

A seed gives a local ``np.random.default_rng(seed)``, so a seeded call never disturbs (and
is never disturbed by) anything else; ``seed=None`` draws from tinydl's one global generator,
so ``tinydl.manual_seed`` makes the whole program reproducible.
"""

import numbers

import numpy as np

from tinydl.random import seeded


def resolve_generator(seed, where):
    """Return the ``np.random.Generator`` that ``where`` should draw from.

    ``seed`` is ``None`` (tinydl's global generator, ``tinydl.random.get_generator()``) or a
    non-negative int (a fresh local ``np.random.default_rng(seed)``).
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise TypeError(f"{where}: seed must be None or a non-negative int, got {seed!r}")
    return seeded(None if seed is None else int(seed))


def resolve_torch_generator(generator, where):
    """The generator behind torch's ``generator=`` argument (samplers, ``random_split``).

    tinydl has no ``torch.Generator``; it takes what it seeds with: ``None`` (tinydl's global
    generator, so ``tinydl.manual_seed`` fixes the draw), a non-negative int (a fresh local
    ``np.random.default_rng(seed)``) or an ``np.random.Generator`` (used as given).
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is not None and (isinstance(generator, bool)
                                  or not isinstance(generator, numbers.Integral) or generator < 0):
        raise TypeError(f"{where}: generator must be None, a non-negative int seed or an "
                        f"np.random.Generator, got {generator!r}")
    return seeded(None if generator is None else int(generator))
