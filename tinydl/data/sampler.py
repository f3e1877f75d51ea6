"""Samplers: which dataset indices a ``DataLoader`` visits, and in what order (torch's names).

A sampler is an iterable of indices with ``len()``; ``DataLoader(ds, sampler=...)`` batches
them, ``DataLoader(ds, batch_sampler=...)`` takes ready index lists. The random samplers take
torch's ``generator=`` argument as tinydl seeds things: ``None`` (tinydl's global generator,
fixed by ``tinydl.manual_seed``), an int seed (a local generator made once, so every epoch is
a new draw and the sequence of epochs is the same in every run) or an ``np.random.Generator``.
"""

import numbers

import numpy as np

from tinydl.data._random import resolve_torch_generator


def _positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")
    return int(value)


def _check_bool(value, name, where, error=TypeError):
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{where}: {name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class Sampler:
    """Base class of samplers: subclasses implement ``__iter__`` (and usually ``__len__``).

    ``data_source`` is accepted, and ignored, as in torch.
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices into ``data_source`` (``N = len(data_source)``).

    ``RandomSampler(data_source, replacement=False, num_samples=None, generator=None)``:
    without replacement each epoch is a permutation of ``range(N)``; a ``num_samples`` above
    ``N`` chains whole fresh permutations and a part of one more (so every index appears
    ``num_samples // N`` or one more times). With replacement the ``num_samples`` (default
    ``N``) indices are drawn independently and uniformly. A new draw is made on every
    ``iter()``.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        # num_samples as given, or len(data_source): torch checks both at construction (an
        # empty dataset with shuffle=True ran zero steps silently)
        _positive_int(self.num_samples if num_samples is None else num_samples, "num_samples",
                      "RandomSampler")
        self.generator = generator
        self._rng = resolve_torch_generator(generator, "RandomSampler")

    @property
    def num_samples(self):
        """``num_samples`` as given, else ``len(data_source)`` (read when asked, as torch)."""
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            if n == 0 and count:
                raise ValueError(f"RandomSampler: cannot draw {count} samples with replacement "
                                 "from an empty data source")
            return iter(self._rng.integers(0, max(n, 1), size=count).tolist())
        if n == 0:
            return iter(())
        orders = [self._rng.permutation(n) for _ in range(count // n)]
        orders.append(self._rng.permutation(n)[:count % n])
        return iter(np.concatenate(orders).tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order on every ``iter()``, without repeats.

    ``SubsetRandomSampler(indices, generator=None)``
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator
        self._rng = resolve_torch_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        return (self.indices[i] for i in self._rng.permutation(len(self.indices)).tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities ``p_i = weights[i] / sum(weights)``.

    ``WeightedRandomSampler(weights, num_samples, replacement=True, generator=None)``, as
    ``torch.multinomial``: with replacement the draws are independent; without, each index
    is drawn at most once (successive draws renormalise over the indices left), which needs
    ``num_samples <= len(weights)``; zero-weight indices come only after all positive ones.
    Weights need not sum to 1 but must be non-negative, finite and not all zero.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        where = "WeightedRandomSampler"
        self.num_samples = _positive_int(num_samples, "num_samples", where)
        self.replacement = _check_bool(replacement, "replacement", where, error=ValueError)
        data = getattr(weights, "data", weights)
        weights = np.asarray(data, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"{where}: weights should be a 1d sequence but given weights "
                             f"have shape {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
            raise ValueError(f"{where}: weights must be finite, non-negative and not all zero, "
                             f"got {weights}")
        if not self.replacement and self.num_samples > len(weights):
            raise ValueError(f"{where}: cannot draw num_samples={self.num_samples} indices "
                             f"without replacement from {len(weights)} weights")
        self.weights = weights
        self.generator = generator
        self._rng = resolve_torch_generator(generator, where)

    def __iter__(self):
        p = self.weights / self.weights.max()  # (scaled first: weights of 1e308 sum to inf)
        p /= p.sum()
        if self.replacement:
            return iter(self._rng.choice(len(p), size=self.num_samples, p=p).tolist())
        # torch.multinomial hands out the zero-weight indices only once the positive ones
        # are used up; their order among themselves is arbitrary (here: random)
        positive = np.count_nonzero(p)
        draws = self._rng.choice(len(p), size=min(self.num_samples, positive), replace=False,
                                 p=p)
        rest = self._rng.permutation(np.flatnonzero(p == 0))[:self.num_samples - len(draws)]
        return iter(np.concatenate([draws, rest]).tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    ``BatchSampler(sampler, batch_size, drop_last)``: the last list is shorter when
    ``batch_size`` does not divide ``len(sampler)``, or dropped with ``drop_last=True``.
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _check_bool(drop_last, "drop_last", "BatchSampler", error=ValueError)
        self.sampler = sampler

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
