"""Dataset, TensorDataset, DataLoader, default_collate and mean_std."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl
from tinydl.data import DataLoader, Dataset, TensorDataset, default_collate, mean_std


class ListDataset(Dataset):
    """A dataset without get_batch, so the loader collates sample by sample."""

    def __init__(self, items):
        self.items = items

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)


def epoch_ids(loader):
    """The sample ids a loader yields in one epoch, batch by batch."""
    return [batch[0].numpy().tolist() for batch in loader]


# --- TensorDataset -----------------------------------------------------------------------

def test_tensor_dataset_items_and_len():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = tinydl.Tensor(np.array([3, 1, 4, 1]))
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi, x[2])
    assert yi == 4
    # A Tensor's data is shared, not copied.
    assert ds.tensors[1] is y.data


def test_tensor_dataset_first_dimension_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"TensorDataset.*\(3, 2\).*\(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_tensor_dataset_rejects_empty_and_scalars():
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset()
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset(np.float32(1.0))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        len(Dataset())


# --- DataLoader: coverage of each epoch ---------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_each_sample_exactly_once_per_epoch(n, batch_size, shuffle, drop_last, seed):
    ds = TensorDataset(np.arange(n))
    loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                        seed=seed)
    expected_batches = n // batch_size if drop_last else math.ceil(n / batch_size)
    assert len(loader) == expected_batches
    for _ in range(2):
        batches = epoch_ids(loader)
        assert len(batches) == expected_batches
        sizes = [len(b) for b in batches]
        if drop_last:
            assert all(s == batch_size for s in sizes)
        else:
            assert all(s == batch_size for s in sizes[:-1])
            assert sum(sizes) == n
        seen = [i for b in batches for i in b]
        assert len(seen) == len(set(seen)), "a sample was visited twice in one epoch"
        if drop_last:
            assert len(seen) == n - n % batch_size
        else:
            assert sorted(seen) == list(range(n))
        if not shuffle:
            assert seen == list(range(len(seen)))


@pytest.mark.parametrize("n, batch_size, drop_last, expected",
                         [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3),
                          (9, 3, False, 3), (2, 5, True, 0), (2, 5, False, 1), (0, 4, False, 0)])
def test_len_counts(n, batch_size, drop_last, expected):
    loader = DataLoader(TensorDataset(np.zeros((n, 2))), batch_size=batch_size,
                        drop_last=drop_last)
    assert len(loader) == expected
    assert len(list(loader)) == expected


def test_generic_dataset_matches_tensor_dataset():
    """The sample-by-sample path and the get_batch fast path give the same batches."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 2, 3)).astype(np.float32)
    y = rng.integers(0, 5, size=23).astype(np.int32)
    fast = DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, seed=3)
    slow = DataLoader(ListDataset(list(zip(x, y))), batch_size=5, shuffle=True, seed=3)
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        assert isinstance(xf, tinydl.Tensor) and isinstance(xs, tinydl.Tensor)
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        assert xf.dtype == xs.dtype == np.float32
        assert yf.dtype == ys.dtype == np.int64


def test_plain_list_dataset_works():
    items = [(np.full(2, i, dtype=np.float32), i) for i in range(7)]
    batches = list(DataLoader(items, batch_size=3))
    assert [b[0].shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][1].numpy(), [3, 4, 5])


# --- DataLoader: shuffling ---------------------------------------------------------------

def test_seeded_shuffle_reproducible_and_changes_each_epoch():
    ds = TensorDataset(np.arange(50))
    first = DataLoader(ds, batch_size=50, shuffle=True, seed=11)
    second = DataLoader(ds, batch_size=50, shuffle=True, seed=11)
    epochs_a = [epoch_ids(first)[0] for _ in range(3)]
    epochs_b = [epoch_ids(second)[0] for _ in range(3)]
    assert epochs_a == epochs_b
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    # The documented contract: epoch e is the e-th permutation drawn from default_rng(seed).
    reference = np.random.default_rng(11)
    for epoch in epochs_a:
        assert epoch == reference.permutation(50).tolist()


def test_different_seeds_give_different_orders():
    ds = TensorDataset(np.arange(50))
    a = epoch_ids(DataLoader(ds, batch_size=50, shuffle=True, seed=1))
    b = epoch_ids(DataLoader(ds, batch_size=50, shuffle=True, seed=2))
    assert a != b


def test_unseeded_shuffle_follows_global_generator():
    ds = TensorDataset(np.arange(40))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    tinydl.manual_seed(5)
    a = epoch_ids(loader)
    tinydl.manual_seed(5)
    b = epoch_ids(loader)
    assert a == b
    assert epoch_ids(loader) != b, "the global generator should have moved on"


def test_no_shuffle_does_not_consume_randomness():
    ds = TensorDataset(np.arange(10))
    tinydl.manual_seed(0)
    expected = tinydl.random.get_generator().random()
    tinydl.manual_seed(0)
    list(DataLoader(ds, batch_size=3))
    assert tinydl.random.get_generator().random() == expected


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4"])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="DataLoader.*batch_size"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=batch_size)


def test_bad_dataset_and_seed():
    with pytest.raises(TypeError, match="DataLoader"):
        DataLoader(42)
    with pytest.raises(TypeError, match="DataLoader.*seed"):
        DataLoader(TensorDataset(np.zeros(3)), shuffle=True, seed="x")


# --- default_collate ---------------------------------------------------------------------

def test_collate_tuples_dtypes():
    samples = [(np.ones((2, 2), dtype=np.float64), 3, 0.5, np.int32(7), True)
               for _ in range(4)]
    x, label, weight, other, flag = default_collate(samples)
    assert x.shape == (4, 2, 2) and x.dtype == np.float64
    assert label.shape == (4,) and label.dtype == np.int64
    assert weight.dtype == np.float32
    assert other.dtype == np.int64
    assert flag.dtype == np.bool_
    np.testing.assert_array_equal(label.numpy(), [3, 3, 3, 3])


def test_collate_integer_arrays_keep_dtype():
    batch = default_collate([np.zeros((3, 3), dtype=np.uint8)] * 2)
    assert batch.dtype == np.uint8 and batch.shape == (2, 3, 3)


def test_collate_tensors_dicts_strings():
    samples = [{"x": tinydl.Tensor(np.full(3, i, dtype=np.float32)), "name": f"s{i}"}
               for i in range(3)]
    batch = default_collate(samples)
    assert batch["name"] == ["s0", "s1", "s2"]
    np.testing.assert_array_equal(batch["x"].numpy()[:, 0], [0, 1, 2])


def test_collate_keeps_the_graph_of_tensors_that_require_grad():
    # torch's default_collate stacks with torch.stack: gradients reach the samples
    w = tinydl.tensor([1.0, 2.0], requires_grad=True)
    samples = [(w * k, k) for k in range(3)]
    batch, labels = default_collate(samples)
    assert batch.requires_grad and batch.shape == (3, 2) and labels.dtype == np.int64
    (batch * tinydl.tensor([[1.0], [10.0], [100.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [210.0, 210.0])  # 0 * 1 + 1 * 10 + 2 * 100


def test_collate_errors():
    with pytest.raises(ValueError, match=r"default_collate.*shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="default_collate"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match="default_collate"):
        default_collate([])
    with pytest.raises(TypeError, match="default_collate.*object"):
        default_collate([object(), object()])


def test_collate_matches_torch_default_collate():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    rng = np.random.default_rng(1)
    samples = [(rng.standard_normal((3, 4)).astype(np.float32), int(rng.integers(10)))
               for _ in range(5)]
    ours = default_collate(samples)
    theirs = torch_collate(samples)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert theirs[1].dtype == torch.int64 and ours[1].dtype == np.int64


# --- mean_std ----------------------------------------------------------------------------

def reference_mean_std(x):
    x = np.asarray(x, dtype=np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    return x.mean(axis=axes), x.std(axis=axes)


def test_mean_std_of_array_and_tensor():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((20, 3, 5, 4)) * [[[2.0]], [[0.5]], [[1.0]]]
         + np.array([1.0, -3.0, 0.0])[:, None, None]).astype(np.float32)
    ref_mean, ref_std = reference_mean_std(x)
    for source in (x, tinydl.Tensor(x)):
        mean, std = mean_std(source)
        assert mean.shape == std.shape == (3,)
        assert mean.dtype == std.dtype == np.float32
        np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(std, ref_std, rtol=1e-6)


def test_mean_std_streams_over_many_batches():
    """Over 512 samples the loader splits the data; the merge must equal the one-shot value,
    even with a large offset that would ruin E[x^2] - E[x]^2."""
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((1100, 2, 2, 2))).astype(np.float32)
    labels = rng.integers(0, 10, size=1100)
    ref_mean, ref_std = reference_mean_std(x)
    mean, std = mean_std(TensorDataset(x, labels))
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-7)
    np.testing.assert_allclose(std, ref_std, rtol=1e-4)
    # Items that are bare images (not tuples) work too.
    mean, std = mean_std(ListDataset(list(x)))
    np.testing.assert_allclose(std, ref_std, rtol=1e-4)


def test_mean_std_constant_channel_and_uint8():
    x = np.zeros((4, 2, 3, 3), dtype=np.uint8)
    x[:, 1] = 255
    mean, std = mean_std(x)
    np.testing.assert_array_equal(mean, [0.0, 255.0])
    np.testing.assert_array_equal(std, [0.0, 0.0])


def test_mean_std_errors():
    with pytest.raises(ValueError, match=r"mean_std.*channel.*\(5,\)"):
        mean_std(np.zeros(5))
    with pytest.raises(ValueError, match="mean_std.*empty"):
        mean_std(TensorDataset(np.zeros((0, 3, 2, 2))))
    with pytest.raises(TypeError, match="mean_std.*int"):
        mean_std(3)


@pytest.mark.parametrize("shape", [(0, 3, 2, 2), (4, 3, 0, 2)])
def test_mean_std_of_no_values_says_the_dataset_is_empty(shape):
    # A bare NumPy reshape error before.
    with pytest.raises(ValueError, match="mean_std: the dataset is empty"):
        mean_std(np.zeros(shape, np.float32))


def test_collate_keeps_torchs_float_and_container_types():
    import collections

    assert default_collate([1, 2.5]).dtype == np.float32  # int64 with float32 made float64
    assert default_collate([(0, 1), (1, 0.5)])[1].dtype == np.float32
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(batch, Point) and batch.x.data.tolist() == [1, 3]
    ordered = default_collate([collections.OrderedDict(a=1)])
    assert type(ordered) is collections.OrderedDict
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]
    assert default_collate([np.float64(1.0), np.float64(2.0)]).dtype == np.float64


# --- torch's DataLoader arguments and habits ---------------------------------------------
def test_a_tensor_dataset_subclass_that_overrides_getitem_is_used_by_the_loader():
    """get_batch sliced the arrays directly, so an augmenting __getitem__ never ran."""
    class Scaled(TensorDataset):
        def __getitem__(self, index):
            (x,) = super().__getitem__(index)
            return (x * 10,)

    batch, = next(iter(DataLoader(Scaled(np.arange(4.0, dtype=np.float32)), batch_size=4)))
    np.testing.assert_array_equal(batch.numpy(), [0.0, 10.0, 20.0, 30.0])

    class Batched(TensorDataset):  # a subclass with its own get_batch keeps it
        def get_batch(self, indices):
            return ("mine", indices.tolist())

    assert next(iter(DataLoader(Batched(np.arange(4.0)), batch_size=2))) == ("mine", [0, 1])


def test_torchs_fourth_positional_argument_is_refused_not_read_as_drop_last():
    """DataLoader(ds, 4, False, [0, 1]) is torch's sampler; it was read as drop_last=True."""
    with pytest.raises(TypeError, match="fourth positional argument is drop_last; torch's is "
                                        "sampler"):
        DataLoader(TensorDataset(np.arange(4.0)), 4, False, [0, 1])


def test_sampler_batch_sampler_and_collate_fn_as_torch():
    ds = TensorDataset(np.arange(6.0))
    loader = DataLoader(ds, 2, sampler=[5, 0, 3])
    assert epoch_ids(loader) == [[5.0, 0.0], [3.0]] and len(loader) == 2
    assert len(DataLoader(ds, 2, sampler=[5, 0, 3], drop_last=True)) == 1
    loader = DataLoader(ds, batch_sampler=[[5, 0], [3], [1, 2, 4]])
    assert epoch_ids(loader) == [[5.0, 0.0], [3.0], [1.0, 2.0, 4.0]] and len(loader) == 3
    sizes = DataLoader(ds, 4, collate_fn=lambda samples: len(samples), num_workers=2,
                       pin_memory=True)
    assert list(sizes) == [4, 2]
    from tinydl.distributed import DistributedSampler
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    assert epoch_ids(DataLoader(ds, 8, sampler=sampler)) == [[1.0, 3.0, 5.0]]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, 2, shuffle=True, sampler=[0])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, 2, batch_sampler=[[0]])


def test_defaultdict_samples_and_an_empty_dataset_with_shuffle():
    import collections

    from tinydl.data import RandomSampler
    # a defaultdict sample raised "first argument must be callable or None"
    batch = default_collate([collections.defaultdict(int, a=i) for i in (1, 2)])
    assert isinstance(batch, collections.defaultdict) and batch.default_factory is int
    np.testing.assert_array_equal(batch["a"].data, [1, 2])
    # RandomSampler([]) gave an empty epoch silently; torch raises at construction
    with pytest.raises(ValueError, match="RandomSampler: num_samples should be a positive"):
        RandomSampler([])
