"""Subset, random_split, Concat/Stack/Chain datasets, IterableDataset, the samplers and the
DataLoader's sampler / batch_sampler / IterableDataset paths, against torch.utils.data."""

import warnings

import numpy as np
import pytest
import tinydl
from tinydl import data as tdata
from tinydl.distributed import DistributedSampler

torch = pytest.importorskip("torch")
tud = torch.utils.data


def ids_dataset(n):
    """A TensorDataset whose item i is (float id i, int label i)."""
    return tdata.TensorDataset(np.arange(n, dtype=np.float32), np.arange(n))


def batch_ids(loader):
    return [batch[0].numpy().tolist() for batch in loader]


class LenlessStream(tdata.IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class Stream(LenlessStream):
    def __len__(self):
        return len(self.items)


class TorchStream(tud.IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def raises_like_torch(torch_call, tinydl_call, error=None, match=None):
    """Both calls raise; tinydl with ``error`` (default: torch's exception type)."""
    with pytest.raises(Exception) as torch_info:
        torch_call()
    with pytest.raises(error or type(torch_info.value), match=match):
        tinydl_call()


# ---- Subset and random_split ---------------------------------------------------------------

def test_subset_items_len_and_list_index_as_torch():
    items = list(range(10, 20))
    ours, theirs = tdata.Subset(items, [3, 0, 7]), tud.Subset(items, [3, 0, 7])
    assert len(ours) == len(theirs) == 3
    assert [ours[i] for i in range(3)] == [theirs[i] for i in range(3)]
    assert ours[-1] == theirs[-1]
    arr = np.arange(10) * 2
    assert tdata.Subset(arr, [3, 0, 7])[[0, 2]].tolist() == [6, 14]


def test_subset_batches_through_the_parents_get_batch():
    ds = ids_dataset(10)
    sub = tdata.Subset(ds, [9, 4, 2, 7])
    assert batch_ids(tdata.DataLoader(sub, 3)) == [[9.0, 4.0, 2.0], [7.0]]
    labels = next(iter(tdata.DataLoader(sub, 4)))[1]
    assert labels.numpy().tolist() == [9, 4, 2, 7] and labels.dtype == np.int64


@pytest.mark.parametrize("n, lengths", [
    (10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (100, [0.7, 0.2, 0.1]), (5, [0.1, 0.9]),
    (11, [1 / 3, 1 / 3, 1 / 3]), (10, [3, 7]), (3, [1.0]), (1, [1]), (9, [0.25] * 4),
])
def test_random_split_lengths_as_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [len(s) for s in tud.random_split(range(n), lengths)]
        got = [len(s) for s in tdata.random_split(range(n), lengths, generator=0)]
    assert got == expected


def test_random_split_is_one_seeded_permutation_cut_in_order():
    splits = tdata.random_split(range(20), [0.5, 0.3, 0.2], generator=5)
    order = np.random.default_rng(5).permutation(20).tolist()
    assert [list(s) for s in splits] == [order[:10], order[10:16], order[16:]]
    again = tdata.random_split(range(20), [10, 6, 4], generator=np.random.default_rng(5))
    assert [s.indices for s in again] == [s.indices for s in splits]
    tinydl.manual_seed(3)
    first = [s.indices for s in tdata.random_split(range(20), [10, 10])]
    tinydl.manual_seed(3)
    assert [s.indices for s in tdata.random_split(range(20), [10, 10])] == first


def test_random_split_errors_and_warning_as_torch():
    raises_like_torch(lambda: tud.random_split(range(10), [3, 3]),
                      lambda: tdata.random_split(range(10), [3, 3]), match="sum of input lengths")
    raises_like_torch(lambda: tud.random_split(range(10), [0.5, 0.6]),
                      lambda: tdata.random_split(range(10), [0.5, 0.6]))
    with pytest.warns(UserWarning, match="index 2 is 0"):
        assert [len(s) for s in tdata.random_split(range(3), [0.5, 0.5, 0.0])] == [2, 1, 0]
    with pytest.raises(TypeError, match="generator"):
        tdata.random_split(range(4), [2, 2], generator=torch.Generator())


# ---- ConcatDataset, StackDataset ------------------------------------------------------------

def test_concat_dataset_as_torch():
    parts = [list(range(3)), list(range(10, 15)), [], list(range(20, 22))]
    ours, theirs = tdata.ConcatDataset(parts), tud.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert len(ours) == len(theirs) == 10
    assert [ours[i] for i in range(-10, 10)] == [theirs[i] for i in range(-10, 10)]
    raises_like_torch(lambda: theirs[-11], lambda: ours[-11], match="should not exceed")
    raises_like_torch(lambda: theirs[10], lambda: ours[10])
    both = ids_dataset(3) + ids_dataset(2)
    assert isinstance(both, tdata.ConcatDataset)
    assert batch_ids(tdata.DataLoader(both, 5)) == [[0.0, 1.0, 2.0, 0.0, 1.0]]


def test_concat_dataset_errors():
    with pytest.raises(ValueError, match="should not be an empty"):
        tdata.ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        tdata.ConcatDataset([Stream([1])])


def test_stack_dataset_as_torch():
    a, b = list(range(4)), list("abcd")
    assert [tdata.StackDataset(a, b)[i] for i in range(4)] == \
        [tud.StackDataset(a, b)[i] for i in range(4)]
    assert tdata.StackDataset(x=a, y=b)[2] == tud.StackDataset(x=a, y=b)[2] == \
        {"x": 2, "y": "c"}
    assert len(tdata.StackDataset(a, b)) == 4
    raises_like_torch(lambda: tud.StackDataset(a, x=b), lambda: tdata.StackDataset(a, x=b))
    raises_like_torch(lambda: tud.StackDataset(a, b[:3]), lambda: tdata.StackDataset(a, b[:3]),
                      match="size mismatch")
    raises_like_torch(tud.StackDataset, tdata.StackDataset)


# ---- IterableDataset, ChainDataset ----------------------------------------------------------

def test_chain_dataset_and_plus_as_torch():
    ours = tdata.ChainDataset([Stream([1, 2]), Stream([]), Stream([3])])
    theirs = tud.ChainDataset([TorchStream([1, 2]), TorchStream([]), TorchStream([3])])
    assert list(ours) == list(theirs) == [1, 2, 3]
    assert len(ours) == len(theirs) == 3
    assert list(Stream([1]) + Stream([2, 3])) == [1, 2, 3]
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(tdata.ChainDataset([[1, 2]]))
    with pytest.raises(NotImplementedError):
        iter(tdata.IterableDataset())


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (2, False), (2, True), (5, True)])
def test_loader_over_iterable_dataset_as_torch(batch_size, drop_last):
    items = [(float(i), i) for i in range(7)]
    ours = tdata.DataLoader(Stream(items), batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(TorchStream(items), batch_size=batch_size, drop_last=drop_last)
    assert batch_ids(ours) == [b[0].tolist() for b in theirs]
    assert len(ours) == len(theirs)
    got = tdata.DataLoader(Stream(items), 3, collate_fn=lambda b: [x[1] for x in b])
    assert list(got) == [[0, 1, 2], [3, 4, 5], [6]]


def test_loader_over_iterable_dataset_errors_as_torch():
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        raises_like_torch(lambda: tud.DataLoader(TorchStream([1]), **kwargs),
                          lambda: tdata.DataLoader(Stream([1]), **kwargs),
                          match="expected unspecified")
    with pytest.raises(TypeError, match="has no len"):
        len(tdata.DataLoader(LenlessStream([1])))
    assert list(tdata.DataLoader(LenlessStream([1, 2]), 2))[0].numpy().tolist() == [1, 2]


# ---- samplers -------------------------------------------------------------------------------

def test_sequential_sampler_and_base_as_torch():
    assert list(tdata.SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5)))
    assert len(tdata.SequentialSampler(range(5))) == 5
    with pytest.raises(NotImplementedError):
        iter(tdata.Sampler())


@pytest.mark.parametrize("generator", [0, np.random.default_rng(1)])
def test_random_sampler_without_replacement_is_a_permutation_per_epoch(generator):
    sampler = tdata.RandomSampler(range(50), generator=generator)
    epochs = [list(sampler) for _ in range(3)]
    assert all(sorted(e) == list(range(50)) for e in epochs)
    assert epochs[0] != epochs[1]
    assert all(type(i) is int for i in epochs[0])


def test_random_sampler_num_samples_chains_permutations():
    n = 7
    for count in (3, 7, 16, 21):
        order = list(tdata.RandomSampler(range(n), num_samples=count, generator=2))
        assert len(order) == count == len(tud.RandomSampler(range(n), num_samples=count))
        for start in range(0, count - count % n, n):
            assert sorted(order[start:start + n]) == list(range(n))
        tail = order[count - count % n:]
        assert len(set(tail)) == len(tail)


def test_random_sampler_with_replacement_is_uniform():
    draws = np.array(list(tdata.RandomSampler(range(4), replacement=True, num_samples=40000,
                                              generator=0)))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, 0.25, atol=0.015)
    # with replacement indices repeat within num_samples = N (a permutation would not)
    assert len(set(tdata.RandomSampler(range(100), replacement=True, generator=0))) < 100


def test_random_samplers_reproducible_with_seed_and_manual_seed():
    a = tdata.RandomSampler(range(30), generator=4)
    b = tdata.RandomSampler(range(30), generator=4)
    assert [list(a) for _ in range(2)] == [list(b) for _ in range(2)]
    tinydl.manual_seed(9)
    first = list(tdata.SubsetRandomSampler([5, 6, 7, 8]))
    tinydl.manual_seed(9)
    assert list(tdata.SubsetRandomSampler([5, 6, 7, 8])) == first


def test_random_sampler_len_and_errors_as_torch():
    for kw in ({}, {"num_samples": 12}, {"replacement": True, "num_samples": 3}):
        assert len(tdata.RandomSampler(range(5), **kw)) == len(tud.RandomSampler(range(5), **kw))
    for kw in ({"num_samples": 0}, {"num_samples": 2.5}, {"replacement": "yes"}):
        raises_like_torch(lambda: tud.RandomSampler(range(5), **kw),
                          lambda: tdata.RandomSampler(range(5), **kw))
    data = list(range(3))
    sampler = tdata.RandomSampler(data)
    data.append(3)  # num_samples follows the data source, as torch reads it lazily
    assert len(sampler) == 4 and sorted(sampler) == [0, 1, 2, 3]


def test_subset_random_sampler():
    idx = [10, 3, 42, 7, 8]
    sampler = tdata.SubsetRandomSampler(idx, generator=1)
    orders = [list(sampler) for _ in range(4)]
    assert all(sorted(o) == sorted(idx) for o in orders)
    assert len({tuple(o) for o in orders}) > 1
    assert len(sampler) == len(tud.SubsetRandomSampler(idx)) == 5


def test_weighted_sampler_frequencies_follow_the_weights():
    weights = [1.0, 2.0, 0.0, 5.0]
    draws = np.array(list(tdata.WeightedRandomSampler(weights, 40000, generator=0)))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, np.array(weights) / 8, atol=0.015)
    assert len(tdata.WeightedRandomSampler(torch.tensor(weights), 7)) == 7


def test_weighted_sampler_without_replacement_renormalises_each_draw():
    # P({1, 2}) drawing 2 of weights (1, 2, 7) one after another: .2 * 7/8 + .7 * 2/3
    sampler = tdata.WeightedRandomSampler([1.0, 2.0, 7.0], 2, replacement=False, generator=0)
    pairs = [frozenset(sampler) for _ in range(6000)]
    assert all(len(p) == 2 for p in pairs)
    rate = sum(p == frozenset({1, 2}) for p in pairs) / len(pairs)
    assert abs(rate - (0.2 * 7 / 8 + 0.7 * 2 / 3)) < 0.03
    torch.manual_seed(0)
    torch_pairs = [frozenset(tud.WeightedRandomSampler([1.0, 2.0, 7.0], 2, replacement=False))
                   for _ in range(6000)]
    assert abs(rate - sum(p == frozenset({1, 2}) for p in torch_pairs) / 6000) < 0.04


def test_weighted_sampler_without_replacement_takes_zero_weights_last_as_torch():
    weights = [0.0, 1.0, 0.0, 2.0, 0.0]
    torch_orders = [torch.multinomial(torch.tensor(weights), 5).tolist() for _ in range(5)]
    sampler = tdata.WeightedRandomSampler(weights, 5, replacement=False, generator=0)
    for ours, theirs in zip([list(sampler) for _ in range(5)], torch_orders):
        assert set(ours[:2]) == set(theirs[:2]) == {1, 3}
        assert set(ours[2:]) == set(theirs[2:]) == {0, 2, 4}
    assert set(tdata.WeightedRandomSampler([1.0, 0.0], 2, replacement=False)) == {0, 1}


def test_weighted_sampler_errors():
    raises_like_torch(lambda: tud.WeightedRandomSampler([[1.0]], 1),
                      lambda: tdata.WeightedRandomSampler([[1.0]], 1), match="1d sequence")
    raises_like_torch(lambda: tud.WeightedRandomSampler([1.0], 0),
                      lambda: tdata.WeightedRandomSampler([1.0], 0))
    raises_like_torch(lambda: tud.WeightedRandomSampler([1.0], 1, replacement=1),
                      lambda: tdata.WeightedRandomSampler([1.0], 1, replacement=1))
    # torch raises these when iterated (RuntimeError); tinydl at construction
    for weights, count, repl in (([1.0, 2.0], 3, False), ([-1.0, 2.0], 1, True),
                                 ([0.0, 0.0], 1, True), ([1.0, np.nan], 1, True)):
        with pytest.raises(RuntimeError):
            list(tud.WeightedRandomSampler(weights, count, replacement=repl))
        with pytest.raises(ValueError, match="WeightedRandomSampler"):
            tdata.WeightedRandomSampler(weights, count, replacement=repl)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True),
                                                     (9, 3, True), (2, 5, False), (0, 2, False)])
def test_batch_sampler_as_torch(n, batch_size, drop_last):
    ours = tdata.BatchSampler(range(n), batch_size, drop_last)
    theirs = tud.BatchSampler(range(n), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_batch_sampler_errors_as_torch():
    for args in ((0, False), (2.0, False), (True, False), (2, "no")):
        raises_like_torch(lambda: tud.BatchSampler(range(3), *args),
                          lambda: tdata.BatchSampler(range(3), *args))


# ---- DataLoader with samplers ---------------------------------------------------------------

def test_loader_with_each_sampler_kind():
    ds = ids_dataset(10)
    assert batch_ids(tdata.DataLoader(ds, 4, sampler=tdata.SequentialSampler(ds))) == \
        batch_ids(tdata.DataLoader(ds, 4))
    sampler = tdata.RandomSampler(ds, generator=3)
    order = list(tdata.RandomSampler(ds, generator=3))
    assert sum(batch_ids(tdata.DataLoader(ds, 4, sampler=sampler)), []) == order
    subset = tdata.SubsetRandomSampler([1, 5, 9], generator=0)
    assert sorted(sum(batch_ids(tdata.DataLoader(ds, 2, sampler=subset)), [])) == [1, 5, 9]
    weighted = tdata.WeightedRandomSampler([0.0] * 9 + [1.0], 6)
    assert batch_ids(tdata.DataLoader(ds, 4, sampler=weighted)) == [[9.0] * 4, [9.0] * 2]
    batches = tdata.BatchSampler(tdata.SequentialSampler(ds), 4, drop_last=True)
    loader = tdata.DataLoader(ds, batch_sampler=batches)
    assert batch_ids(loader) == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]] and len(loader) == 2


def test_loader_with_distributed_sampler_as_torch():
    ds = ids_dataset(11)
    for rank in range(3):
        for drop_last in (False, True):
            ours = DistributedSampler(ds, num_replicas=3, rank=rank, shuffle=False,
                                      drop_last=drop_last)
            theirs = tud.DistributedSampler(range(11), num_replicas=3, rank=rank, shuffle=False,
                                            drop_last=drop_last)
            loader = tdata.DataLoader(ds, 2, sampler=ours)
            assert sum(batch_ids(loader), []) == [float(i) for i in theirs]
            assert len(loader) == len(tud.DataLoader(range(11), 2, sampler=theirs))


def test_loader_sampler_exclusions_as_torch():
    ds = ids_dataset(4)
    for kwargs in ({"shuffle": True, "sampler": [0]}, {"batch_sampler": [[0]], "batch_size": 2},
                   {"batch_sampler": [[0]], "shuffle": True},
                   {"batch_sampler": [[0]], "sampler": [0]},
                   {"batch_sampler": [[0]], "drop_last": True}):
        raises_like_torch(lambda: tud.DataLoader(range(4), **kwargs),
                          lambda: tdata.DataLoader(ds, **kwargs), match="mutually exclusive")


def test_get_worker_info_is_none_in_the_main_process():
    assert tdata.get_worker_info() is None is tud.get_worker_info()


def test_float_and_bool_indices_are_refused_on_the_batched_paths_too():
    """A Subset of float indices, or a sampler yielding floats, was truncated (1.5 read as
    row 1) when the loader batched it; item access and torch raise."""
    ds = tdata.TensorDataset(np.arange(10, dtype=np.float32) * 10)
    for loader in (tdata.DataLoader(tdata.Subset(ds, [0.0, 1.5]), batch_size=2),
                   tdata.DataLoader(ds, sampler=[0.5, 1.9], batch_size=2),
                   tdata.DataLoader(ds, batch_sampler=[[0.5, 2.7]]),
                   tdata.DataLoader(tdata.Subset(ds, [True, False]), batch_size=2)):
        with pytest.raises(IndexError, match="sample indices must be integers"):
            list(loader)
    assert [b[0].data.tolist() for b in tdata.DataLoader(tdata.Subset(ds, np.array([3, 1])),
                                                     batch_size=2)] == [[30.0, 10.0]]


def test_huge_weights_still_sample():
    """Weights of 1e308 summed to inf and NumPy raised 'probabilities do not sum to 1'."""
    draws = list(tdata.WeightedRandomSampler([1e308, 1e308], 200, generator=0))
    assert set(draws) == {0, 1}


def test_subset_batches_read_list_indices_as_they_are_now():
    # a list (random_split's) is read per batch, entry by entry, not converted whole
    data = tdata.TensorDataset(np.arange(10.0).reshape(10, 1))
    sub = tdata.Subset(data, [9, 8, 7, 6])
    sub.indices[0] = 2
    batches = [b[0].data.ravel().tolist() for b in tdata.DataLoader(sub, batch_size=3)]
    assert batches == [[2.0, 8.0, 7.0], [6.0]]
    with pytest.raises(IndexError, match="Subset: sample indices must be integers"):
        next(iter(tdata.DataLoader(tdata.Subset(data, [1.5, 2]), batch_size=2)))


def test_random_sampler_with_replacement_from_nothing_says_so():
    with pytest.raises(ValueError, match="RandomSampler: cannot draw 3 samples with replacement"):
        list(tdata.RandomSampler([], replacement=True, num_samples=3))
