"""The one seeded random generator behind every random call in tinydl.

``manual_seed(seed)`` reseeds it in place (as torch reseeds its default generator), so an
object that kept a reference to it (a transform, an agent, a user's ``g = get_generator()``)
follows the new seed too; ``get_generator()`` returns it. Initialisers, dropout, data
shuffling, the random transforms and agents and the factories ``randn``/``rand`` all draw
from it, so one seed makes a whole run reproducible.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed tinydl's generator in place (as ``torch.manual_seed``); returns it."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    # The state of a freshly seeded generator, copied in: replacing the object left whoever
    # held the old one (a transform built before the call) drawing unseeded numbers.
    _generator.bit_generator.state = np.random.default_rng(int(seed)).bit_generator.state
    return _generator


def get_generator():
    """The ``np.random.Generator`` every random call in tinydl uses."""
    return _generator


def seeded(seed):
    """The generator of an object built with ``seed``: tinydl's own when ``seed`` is None
    (so ``manual_seed`` fixes it, as API.md promises for every random call), else
    ``np.random.default_rng(seed)``."""
    return _generator if seed is None else np.random.default_rng(seed)


def below(values, high, dtype):
    """``values`` (drawn below ``high`` in float64 or as integers) cast to ``dtype`` and kept
    under ``high``: rounding to a narrower float can reach ``high`` itself (float16
    U(0, 1) gave 1.0 about 250 times in 10^6, randint(0, 4000) as float16 gave 4000), which a
    half-open range excludes, as torch's samplers do. Those become the largest ``dtype`` value
    below ``high`` (below the range's low end too when ``dtype`` holds no value inside it)."""
    dtype = np.dtype(dtype)
    out = np.asarray(values).astype(dtype, copy=False)
    if dtype.kind != "f" or not out.size:
        return out
    cap = np.asarray(high, dtype=dtype)
    if float(cap) >= high:
        cap = np.nextafter(cap, np.asarray(-np.inf, dtype=dtype))
    over = out >= high
    if over.any():
        out = np.where(over, cap, out)
    return out


def uniform(rng, a, b, shape, dtype):
    """Samples of U(a, b) from ``rng``, as ``dtype`` holds them and all below ``b`` (``below``);
    ``a == b`` gives ``a`` everywhere, drawing nothing."""
    if a == b:
        return np.full(shape, a, dtype)
    return below(rng.uniform(a, b, shape), b, dtype)
