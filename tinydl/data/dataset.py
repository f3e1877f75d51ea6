"""Datasets, batching and per-channel statistics, after ``torch.utils.data``.

A dataset is anything with ``len(ds)`` and ``ds[i]``; a ``DataLoader`` walks it in batches
and collates each batch the way torch's ``default_collate`` does: items that are tuples give
a tuple of batches, arrays and numbers are stacked into one ``tinydl.Tensor`` per field.
Datasets that can cut a whole batch at once (``TensorDataset``) offer ``get_batch(indices)``,
so the loader never loops over samples in Python for them. ``Subset``, ``random_split``,
``ConcatDataset``, ``StackDataset``, ``IterableDataset`` and ``ChainDataset`` combine datasets
as torch's do; the samplers live in ``tinydl.data.sampler``.
"""

import bisect
import copy
import math
import numbers
import warnings

import numpy as np

from tinydl.data._random import resolve_generator, resolve_torch_generator
from tinydl.tensor import Tensor


class Dataset:
    """Base class of map-style datasets: ``ds[i]`` is sample ``i``, ``len(ds)`` the count.

    Subclasses implement ``__getitem__`` and ``__len__``; they may override ``get_batch`` when
    they can fetch many samples faster than one by one.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def get_batch(self, indices):
        """Collated batch of the samples at ``indices`` (a 1-D integer array)."""
        return default_collate([self[int(i)] for i in indices])

    def __add__(self, other):
        """``a + b`` is ``ConcatDataset([a, b])``, as in torch."""
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Dataset over arrays that share their first dimension: ``ds[i] = (a[i], b[i], ...)``.

    ``TensorDataset(*tensors, transform=None, target_transform=None)`` takes
    ``tinydl.Tensor`` s or NumPy arrays (or anything ``np.asarray`` accepts) of shapes
    ``(N, ...)``; they are kept as NumPy arrays in ``.tensors`` (a Tensor's data is shared,
    not copied) and items are tuples of NumPy arrays or scalars, as in
    ``torch.utils.data.TensorDataset``. ``transform`` (torchvision's argument, e.g. a
    ``tinydl.data.transforms.Compose``) is applied to the first field of every item as it is
    fetched, ``target_transform`` to the last (with two or more fields); a random transform
    draws anew on every fetch, so each epoch sees other augmentations.
    """

    def __init__(self, *tensors, transform=None, target_transform=None):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        arrays = tuple(t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        for a in arrays:
            if a.ndim == 0:
                raise ValueError("TensorDataset: every tensor needs a first (sample) dimension, "
                                 "got a 0-d one")
        if len({a.shape[0] for a in arrays}) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset: all tensors must have the same first dimension, "
                             f"got shapes {shapes}")
        self.tensors = arrays
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"TensorDataset: {name} must be callable, got {type(fn).__name__}")
        if target_transform is not None and len(arrays) < 2:
            raise ValueError("TensorDataset: target_transform needs a second (target) tensor")
        self.transform = transform
        self.target_transform = target_transform

    def __getitem__(self, index):
        item = [a[index] for a in self.tensors]
        if self.transform is not None:
            item[0] = self.transform(item[0])
        if self.target_transform is not None:
            item[-1] = self.target_transform(item[-1])
        return tuple(item)

    def __len__(self):
        return self.tensors[0].shape[0]

    def get_batch(self, indices):
        """Tuple of Tensors ``(a[indices], b[indices], ...)``, collated as ``default_collate``.

        With a transform the samples are transformed one by one, then stacked.
        """
        if self.transform is not None or self.target_transform is not None:
            return default_collate([self[int(i)] for i in indices])
        return tuple(_batch_tensor(a[indices], sample_ndim=a.ndim - 1) for a in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``Subset(ds, idx)[i] = ds[idx[i]]``.

    A list index gives ``dataset[[idx[i] for i in index]]``, as torch. Batches go through the
    parent's ``get_batch`` when it has one, so a subset of a ``TensorDataset`` stays fast.
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        """The parent's batch at ``self.indices[indices]``."""
        get_batch = _own_get_batch(self.dataset)
        if get_batch is None:
            return default_collate([self[int(i)] for i in indices])
        positions = np.asarray(indices)
        if isinstance(self.indices, np.ndarray):
            return get_batch(_index_array(self.indices, "Subset")[positions])
        # A list (random_split's): only the batch's entries, read as they are now, so an epoch
        # does not convert the whole list once per batch (a 100,000-sample subset took 4.6 s an
        # epoch that way, against 0.01 s).
        picked = [self.indices[i] for i in positions.tolist()]
        return get_batch(_index_array(picked, "Subset") if picked else
                         np.zeros(0, np.int64))


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset`` s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1: then each
    length is ``floor(N * fraction)`` and the ``N - sum`` left over are handed out one each
    to the splits in order, round-robin (torch's rule: 7 split [0.5, 0.5] gives 4 and 3).
    The indices are one permutation of ``range(N)``, cut at the cumulative lengths, drawn
    from ``generator``: ``None`` (tinydl's global generator, ``tinydl.manual_seed``), an int
    seed, or an ``np.random.Generator`` (tinydl has no ``torch.Generator``).
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, "
                                 f"got {frac}")
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this "
                              f"might result in an empty dataset", stacklevel=2)
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {sum(lengths)} does not equal "
                         f"the length of the input dataset ({n})")
    order = resolve_torch_generator(generator, "random_split").permutation(n).tolist()
    starts = np.cumsum([0] + lengths).tolist()
    return [Subset(dataset, order[a:b]) for a, b in zip(starts[:-1], starts[1:])]


class ConcatDataset(Dataset):
    """Datasets one after another: ``len`` is the sum, index ``i`` falls in the first dataset
    whose ``cumulative_sizes`` entry exceeds it. Negative indices count from the end."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use "
                                "ChainDataset)")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not "
                                 f"exceed dataset length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


class StackDataset(Dataset):
    """Datasets of equal length side by side: ``StackDataset(a, b)[i] = (a[i], b[i])``, or
    ``StackDataset(x=a, y=b)[i] = {"x": a[i], "y": b[i]}`` (positional or keyword, not both).
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets either positionally (tuple items) or "
                             "by keyword (dict items), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets = args or kwargs
        sizes = [len(d) for d in (args or kwargs.values())]
        if len(set(sizes)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets, lengths {sizes}")
        self._length = sizes[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class IterableDataset:
    """Base class of stream datasets: subclasses implement ``__iter__`` (yielding samples).

    A ``DataLoader`` batches the stream in iteration order (no sampler, no shuffle);
    ``a + b`` is ``ChainDataset([a, b])``.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another; ``len`` is the sum of theirs (when they have one).
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")
            total += len(d)
        return total


def get_worker_info():
    """Always ``None``: tinydl's ``DataLoader`` loads every batch in the main process (as
    torch's with ``num_workers=0``), so code written for workers takes its one-process path.
    """
    return None


def _batch_tensor(batch, sample_ndim):
    """Wrap a stacked batch as a Tensor; integer scalar fields (labels) become int64."""
    if sample_ndim == 0 and np.issubdtype(batch.dtype, np.integer):
        batch = batch.astype(np.int64)
    return Tensor(batch)


def _sample_array(value):
    """One sample field as an ndarray: Python floats become float32, Python ints int64."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value)
    if isinstance(value, bool):
        return np.asarray(value)
    if isinstance(value, numbers.Integral):
        return np.asarray(value, dtype=np.int64)
    if isinstance(value, numbers.Real):
        return np.asarray(value, dtype=np.float32)
    raise TypeError(f"default_collate: cannot batch a sample field of type "
                    f"{type(value).__name__}; expected a Tensor, an ndarray, a number, "
                    f"a str, or a tuple/list/dict of those")


def default_collate(samples):
    """Merge a list of samples into one batch, following torch's ``default_collate``.

    - tuples/lists of fields -> a tuple with one batch per field (a namedtuple stays one);
    - dicts -> a dict with one batch per key (of the samples' mapping type);
    - strings and bytes -> a list of them;
    - Tensors, ndarrays, NumPy scalars, ints, floats -> ``np.stack`` along a new first axis,
      returned as a ``tinydl.Tensor``: arrays keep their dtype, Python floats become float32,
      integer scalars (labels) become int64. Tensors that require grad are stacked as a
      graph node (``tinydl.stack``), so gradients reach them through the batch (torch's).

    ``samples`` must be non-empty and every field must have the same shape in every sample.
    """
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, tuple | list):
        widths = {len(s) for s in samples}
        if len(widths) != 1:
            raise ValueError(f"default_collate: samples have different numbers of fields "
                             f"{sorted(widths)}")
        fields = (default_collate([s[k] for s in samples]) for k in range(len(first)))
        if hasattr(first, "_fields"):  # a namedtuple stays one (batch.x works, as torch)
            return type(first)(*fields)
        return tuple(fields)
    if isinstance(first, dict):
        keys = first.keys()
        if any(s.keys() != keys for s in samples):
            raise ValueError("default_collate: dict samples have different keys")
        batch = {k: default_collate([s[k] for s in samples]) for k in keys}
        if type(first) is dict:
            return batch
        try:  # an OrderedDict stays one; a defaultdict too (its constructor takes a factory
            # first: type(first)(batch) raised a bare TypeError), as torch's copy and update
            clone = copy.copy(first)
            clone.update(batch)
            return clone
        except TypeError:
            return batch
    if isinstance(first, str | bytes):
        return list(samples)
    arrays = [_sample_array(s) for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"default_collate: cannot stack samples of different shapes "
                         f"{sorted(shapes)}")
    if any(isinstance(s, Tensor) and s.requires_grad for s in samples):
        # torch's default_collate stacks with torch.stack, which keeps the graph: stacking
        # the arrays would drop it, and with it every gradient through the batch, silently
        from tinydl.ops.shape import stack
        return stack([s if isinstance(s, Tensor) else Tensor._wrap(a)
                      for s, a in zip(samples, arrays)])
    batch = np.stack(arrays)
    if batch.dtype == np.float64 and all(a.dtype != np.float64 for a in arrays):
        # int64 labels beside float32 values ([1, 2.5]) promote to float64 in NumPy; a field
        # of Python numbers stays tinydl's default float, float32, as Tensor([1, 2.5]) does
        # (torch's default_collate gives float64 when the first value is a float).
        batch = batch.astype(np.float32)
    return _batch_tensor(batch, sample_ndim=arrays[0].ndim)


class DataLoader:
    """Iterate over a dataset in batches, optionally shuffled, as ``torch.utils.data.DataLoader``.

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, seed=None)``

    Each pass (epoch) visits every sample exactly once: in order, or in a fresh random
    permutation when ``shuffle`` is true. ``len(loader)`` is ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last=True`` (the short last batch is dropped).
    With ``seed`` given the loader owns ``np.random.default_rng(seed)`` and draws one
    permutation from it per epoch, so epoch ``e`` is the same in every run and differs from
    epoch ``e + 1``; with ``seed=None`` permutations come from tinydl's global generator
    (``tinydl.manual_seed``). The permutation is drawn when ``iter(loader)`` is called.
    Batches are collated by the dataset's ``get_batch`` when it has one (and a subclass has
    not overridden ``__getitem__`` below it), else by ``default_collate``.

    torch's keyword arguments: ``sampler`` (an iterable of indices with ``len()``, such as
    ``tinydl.distributed.DistributedSampler``; it replaces ``shuffle``), ``batch_sampler``
    (an iterable of index lists; it replaces ``batch_size``, ``shuffle``, ``sampler`` and
    ``drop_last``), ``collate_fn`` (replaces the collation above), ``num_workers`` (batches are
    always loaded in this process; any count is accepted), and ``pin_memory``, ``timeout``,
    ``prefetch_factor``, ``persistent_workers`` (no effect on the CPU, accepted). The fourth
    positional argument is ``drop_last`` (tinydl's API); torch's is ``sampler``, so a
    non-bool there raises. An ``IterableDataset`` is batched in its iteration order,
    ``batch_size`` samples at a time (``shuffle``, ``sampler``, ``batch_sampler`` raise).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, *,
                 sampler=None, batch_sampler=None, collate_fn=None, num_workers=0,
                 pin_memory=False, timeout=0, prefetch_factor=None, persistent_workers=False):
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            # a stream has no indices to sample or shuffle: torch refuses these options
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value is not None and value is not False:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
        elif not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must support len() and indexing, got "
                            f"{type(dataset).__name__}")
        if not isinstance(drop_last, (bool, np.bool_)) and drop_last not in (0, 1):
            raise TypeError(f"DataLoader: drop_last must be a bool, got "
                            f"{type(drop_last).__name__} (tinydl's fourth positional argument "
                            "is drop_last; torch's is sampler: pass sampler= by keyword)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
        elif (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative int, got "
                             f"{num_workers!r}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.sampler, self.batch_sampler, self.collate_fn = sampler, batch_sampler, collate_fn
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self._generator = None if seed is None else resolve_generator(seed, "DataLoader")

    def __len__(self):
        if self._iterable:
            if not hasattr(self.dataset, "__len__"):
                raise TypeError(f"DataLoader: the IterableDataset {type(self.dataset).__name__} "
                                f"has no len(), so neither has the loader")
            n = len(self.dataset)
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        if self._iterable:
            return self._stream_batches()
        collate = self._collator()
        if self.batch_sampler is not None:
            return (collate(_index_array(list(b), "DataLoader: batch_sampler"))
                    for b in self.batch_sampler)
        if self.sampler is not None:
            order = _index_array(list(self.sampler), "DataLoader: sampler")
        elif self.shuffle:
            generator = self._generator or resolve_generator(None, "DataLoader")
            order = generator.permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        return self._batches(order, collate)

    def _batches(self, order, collate):
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield collate(order[start:start + self.batch_size])

    def _stream_batches(self):
        """Batches of an IterableDataset: ``batch_size`` samples at a time, in stream order."""
        collate = self.collate_fn or default_collate
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def _collator(self):
        """How an array of indices becomes a batch, chosen once an epoch: ``collate_fn``, the
        dataset's own ``get_batch``, or ``default_collate`` of the samples."""
        dataset = self.dataset
        if self.collate_fn is not None:
            return lambda indices: self.collate_fn([dataset[int(i)] for i in indices])
        get_batch = _own_get_batch(dataset)
        if get_batch is not None:
            return get_batch
        return lambda indices: default_collate([dataset[int(i)] for i in indices])


def _index_array(values, where):
    """Sample indices as an int64 array; floats and bools raise, as torch's indexing does
    (``int(1.5)`` and a cast made them rows 1 and 0, 1 without a word)."""
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iu":
        raise IndexError(f"{where}: sample indices must be integers, got {array.dtype} "
                         f"({array.ravel()[:4].tolist()}...)")
    return array.astype(np.int64, copy=False)


def _own_get_batch(dataset):
    """The dataset's ``get_batch``, unless a subclass overrides ``__getitem__`` below the class
    that defines it (an augmenting ``TensorDataset`` subclass: its ``__getitem__`` must run)."""
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is None:
        return None
    mro = type(dataset).__mro__
    batch_owner = next((k for k in mro if "get_batch" in k.__dict__), None)
    item_owner = next((k for k in mro if "__getitem__" in k.__dict__), None)
    if batch_owner is None or item_owner is None or issubclass(batch_owner, item_owner):
        return get_batch
    return None


def mean_std(dataset):
    """Per-channel mean and standard deviation of a dataset's images.

    ``dataset`` is an array or Tensor of shape ``(N, C, ...)`` (e.g. ``(N, C, H, W)``), or a
    dataset whose items are images of shape ``(C, ...)`` or tuples whose first field is such
    an image (``(image, label)``). The channel axis is axis 1 of the batch, axis 0 of each
    image (torch's NCHW). Returns ``(mean, std)``, two float32 arrays of shape ``(C,)``:

        mean_c = sum(x[:, c]) / M,   std_c = sqrt(sum((x[:, c] - mean_c)^2) / M)

    over all ``M = N * H * W`` values of channel ``c`` (population std, ddof=0) -- the
    statistics ``Normalize(mean, std)`` needs to give every channel zero mean and unit
    variance. (The common ``get_mean_and_std`` recipe averages per-image stds instead; that
    misses the spread between images, so it comes out smaller.)
    Batches are merged in float64 with Chan et al.'s pairwise update (1979), so the result
    does not lose precision to ``E[x^2] - E[x]^2`` cancellation.
    """
    if isinstance(dataset, Tensor | np.ndarray):
        batches = [dataset.data if isinstance(dataset, Tensor) else dataset]
    elif not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"mean_std: expected an array, a Tensor or a dataset, got "
                        f"{type(dataset).__name__}")
    else:
        batches = (batch[0] if isinstance(batch, tuple) else batch
                   for batch in DataLoader(dataset, batch_size=512))
    count, mean, m2 = 0, None, None
    for batch in batches:
        x = np.asarray(batch.data if isinstance(batch, Tensor) else batch)
        if x.ndim < 2:
            raise ValueError(f"mean_std: images need a channel axis, got a batch of shape "
                             f"{x.shape} (expected (N, C, ...))")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise TypeError(f"mean_std: images must be numeric, got dtype {x.dtype}")
        if x.size == 0:  # (reshape's -1 cannot be inferred for a size-0 array)
            continue
        x = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
        batch_count = x.shape[0] * x.shape[2]
        batch_mean = x.mean(axis=(0, 2))
        batch_m2 = ((x - batch_mean[:, None]) ** 2).sum(axis=(0, 2))
        if mean is None:
            count, mean, m2 = batch_count, batch_mean, batch_m2
            continue
        if batch_mean.shape != mean.shape:
            raise ValueError(f"mean_std: images have {batch_mean.shape[0]} channels after "
                             f"{mean.shape[0]} in earlier ones")
        total = count + batch_count
        delta = batch_mean - mean
        mean = mean + delta * (batch_count / total)
        m2 = m2 + batch_m2 + delta ** 2 * (count * batch_count / total)
        count = total
    if mean is None:
        raise ValueError("mean_std: the dataset is empty")
    return mean.astype(np.float32), np.sqrt(m2 / count).astype(np.float32)
