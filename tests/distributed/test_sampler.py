"""DistributedSampler without MPI: shares cover every index once per epoch and reshuffle."""
import numpy as np
import pytest

from tinydl.data import TensorDataset
from tinydl.distributed import DistributedSampler


def _shares(n, ranks, **kwargs):
    data = TensorDataset(np.arange(n))
    return [DistributedSampler(data, num_replicas=ranks, rank=r, **kwargs) for r in range(ranks)]


@pytest.mark.parametrize("n, ranks", [(12, 4), (10, 4), (7, 2), (3, 4), (1, 3)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_index_exactly_once_per_epoch(n, ranks, shuffle):
    samplers = _shares(n, ranks, shuffle=shuffle, seed=3)
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert len({len(share) for share in shares}) == 1, f"unequal shares {shares}"
        assert all(len(share) == len(s) for share, s in zip(shares, samplers))
        everything = sorted(i for share in shares for i in share)
        # Torch pads with the first indices when K does not divide n: padding is the only
        # repetition, and it is shorter than K.
        total = len(everything)
        assert total == -(-n // ranks) * ranks
        assert sorted(set(everything)) == list(range(n)), f"n={n} K={ranks}: missed indices"
        assert total - n < ranks


def test_drop_last_drops_the_tail_instead():
    samplers = _shares(10, 4, shuffle=True, drop_last=True)
    shares = [s.indices() for s in samplers]
    assert [len(s) for s in shares] == [2] * 4
    flat = np.concatenate(shares)
    assert len(set(flat.tolist())) == 8 and flat.max() < 10


def test_set_epoch_reshuffles_and_is_reproducible():
    a, b = _shares(50, 2, seed=7)
    first = a.indices()
    a.set_epoch(1)
    second = a.indices()
    assert not np.array_equal(first, second), "set_epoch did not change the order"
    a.set_epoch(0)
    np.testing.assert_array_equal(a.indices(), first)
    same = DistributedSampler(TensorDataset(np.arange(50)), num_replicas=2, rank=0, seed=7)
    np.testing.assert_array_equal(same.indices(), first)
    assert not np.array_equal(_shares(50, 2, seed=8)[0].indices(), first)
    unshuffled = _shares(9, 3, shuffle=False)
    assert [list(s) for s in unshuffled] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_bad_rank_is_refused():
    with pytest.raises(ValueError, match="rank=2"):
        DistributedSampler(TensorDataset(np.arange(4)), num_replicas=2, rank=2)


def test_negative_seeds_give_a_reproducible_order_as_in_torch():
    # torch takes any int seed; NumPy's generator refused seed + epoch < 0.
    a, b = _shares(20, 2, seed=-5)
    a.set_epoch(2)
    b.set_epoch(2)
    first = a.indices()
    assert sorted(np.concatenate([first, b.indices()]).tolist()) == list(range(20))
    np.testing.assert_array_equal(_shares(20, 2, seed=-3)[0].indices(), first)  # -5 + 2
    assert not np.array_equal(_shares(20, 2, seed=-4)[0].indices(), first)
    # Non-negative seeds keep the order they always had.
    np.testing.assert_array_equal(_shares(20, 2, seed=3)[0].indices(),
                                  np.random.default_rng(3).permutation(20)[0::2])
