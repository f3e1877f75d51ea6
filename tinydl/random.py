"""The one seeded random generator behind every random call in tinydl.

``manual_seed(seed)`` reseeds it in place (as torch reseeds its default generator), so an
object that kept a reference to it (a transform, an agent, a user's ``g = get_generator()``)
follows the new seed too; ``get_generator()`` returns it. Initialisers, dropout, data
shuffling, the random transforms and agents and the factories ``randn``/``rand`` all draw
from it, so one seed makes a whole run reproducible.
"""
import numpy as np

def _entropy_seed():
    """A 64-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().entropy) % (1 << 64)


# Seeded from the operating system's entropy at import, as torch's default generator; the
# seed is kept for ``initial_seed``.
_initial_seed = _entropy_seed()
_generator = np.random.default_rng(_initial_seed)


def manual_seed(seed):
    """Reseed tinydl's generator in place (as ``torch.manual_seed``); returns it."""
    global _initial_seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    # The state of a freshly seeded generator, copied in: replacing the object left whoever
    # held the old one (a transform built before the call) drawing unseeded numbers.
    _generator.bit_generator.state = np.random.default_rng(int(seed)).bit_generator.state
    _initial_seed = int(seed)
    return _generator


def seed():
    """Reseed tinydl's generator from the operating system's entropy (``torch.seed``); returns
    the new seed (a 64-bit integer, which ``manual_seed`` takes back)."""
    new = _entropy_seed()
    manual_seed(new)
    return new


def initial_seed():
    """The seed the generator was last seeded with (``torch.initial_seed``): the last
    ``manual_seed``/``seed``, else the one drawn from the operating system at import."""
    return _initial_seed


# get_rng_state's bytes: a tag, then PCG64's 128-bit state and increment, its has_uint32 flag
# and its buffered 32-bit value (little-endian), as in ``bit_generator.state``.
_STATE_TAG = b"tinydl-PCG64-1"
_STATE_BYTES = len(_STATE_TAG) + 16 + 16 + 1 + 4


def get_rng_state():
    """The generator's state as a uint8 Tensor (``torch.get_rng_state``): save it with a
    checkpoint and give it to ``set_rng_state`` to continue the same random stream."""
    from tinydl.tensor import Tensor
    st = _generator.bit_generator.state
    raw = (_STATE_TAG + st["state"]["state"].to_bytes(16, "little")
           + st["state"]["inc"].to_bytes(16, "little") + bytes([st["has_uint32"]])
           + int(st["uinteger"]).to_bytes(4, "little"))
    return Tensor(np.frombuffer(raw, dtype=np.uint8).copy())


def set_rng_state(new_state):
    """Restore a state from ``get_rng_state`` (``torch.set_rng_state``); the generator object
    stays the same, so whoever holds it (``get_generator()``) follows."""
    from tinydl.tensor import Tensor
    data = new_state.data if isinstance(new_state, Tensor) else new_state
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.shape != (_STATE_BYTES,):
        raise ValueError(f"set_rng_state: expected the uint8 tensor of shape ({_STATE_BYTES},) "
                         f"that get_rng_state returns, got dtype {data.dtype} and shape "
                         f"{data.shape}")
    raw = data.tobytes()
    if not raw.startswith(_STATE_TAG):
        raise ValueError("set_rng_state: not a state from tinydl.get_rng_state (its tag "
                         "bytes differ; torch's generator states do not carry over)")
    raw = raw[len(_STATE_TAG):]
    if raw[32] not in (0, 1):
        raise ValueError(f"set_rng_state: corrupt state (has_uint32 byte {raw[32]})")
    _generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(raw[:16], "little"),
                  "inc": int.from_bytes(raw[16:32], "little")},
        "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:37], "little")}


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


def uniform(rng, a, b, shape, dtype, caller="uniform_"):
    """Samples of U(a, b) from ``rng``, as ``dtype`` holds them and all below ``b`` (``below``);
    ``a == b`` gives ``a`` everywhere, drawing nothing. Bounds past the largest finite value
    of a float ``dtype`` raise a ValueError naming ``caller`` (as torch's "from/to is out of
    bounds"): the samples would round to +-inf or be clamped outside [a, b)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        largest = float(np.finfo(dtype).max)
        if max(abs(a), abs(b)) > largest or b - a > largest:  # (the span too, as torch)
            raise ValueError(f"{caller}: the bounds a={a}, b={b} of U(a, b) are out of the "
                             f"range of {dtype} (largest finite value {largest:g}, for the "
                             "bounds and for b - a)")
    if a == b:
        return np.full(shape, a, dtype)
    return below(rng.uniform(a, b, shape), b, dtype)
