"""``DistributedSampler``: each rank's share of a dataset's indices, per epoch (torch's rule)."""
import math
import numbers

import numpy as np


class DistributedSampler:
    """The indices rank ``rank`` of ``num_replicas`` visits in one epoch.

    ``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
    drop_last=False)``, as ``torch.utils.data.DistributedSampler``:

    * the epoch's order is ``arange(N)``, or with ``shuffle`` a permutation drawn from
      ``np.random.default_rng(seed + epoch)`` (a negative sum taken modulo 2**64), the
      same on every rank (call ``set_epoch(epoch)`` before each epoch, or every epoch
      repeats the first order);
    * without ``drop_last`` the order is padded by repeating its start up to a multiple of
      ``num_replicas`` (so a few samples are seen twice when K does not divide N); with it,
      the tail is dropped instead;
    * rank ``r`` takes positions ``r, r + K, r + 2K, ...``, so the ranks' shares are disjoint
      and together cover the epoch exactly once, each ``len(sampler)`` long.

    ``num_replicas`` and ``rank`` default to the process group's world size and rank.
    Iterating yields Python ints; ``indices()`` returns the same as an int64 array, which
    ``TensorDataset.get_batch`` takes directly.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from tinydl.distributed.process_group import get_rank, get_world_size
            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        for name, value in (("num_replicas", num_replicas), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"DistributedSampler: {name} must be an int, got {value!r}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: need num_replicas >= 1 and 0 <= rank < "
                             f"num_replicas, got num_replicas={num_replicas}, rank={rank}")
        self.dataset = dataset
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s permutation (seeded ``seed + epoch``) from now on."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, an int64 array of ``len(self)``."""
        n = len(self.dataset)
        if self.shuffle:
            seed = self.seed + self.epoch
            if seed < 0:  # torch takes negative seeds, NumPy's generator does not: wrap
                seed %= 2**64
            order = np.random.default_rng(seed).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:
            repeats = math.ceil((self.total_size - n) / max(n, 1))
            order = np.concatenate([order] + [order] * repeats)[:self.total_size]
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples
