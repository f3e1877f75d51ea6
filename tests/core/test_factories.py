"""Factories and the seeded generator: the cases a differential sweep against torch found."""
import numpy as np
import pytest

import tinydl as td
from tinydl.rl.buffers import ReplayBuffer
from tinydl.rl.exploration import GaussianNoise


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_rand_stays_below_one(dtype):
    """Drawn in float64 and cast, values within half an ulp of 1 became exactly 1.0 (32 of
    100,000 in float16)."""
    td.manual_seed(0)
    x = td.rand(200_000, dtype=dtype).data
    assert x.dtype == dtype and x.max() < 1 and x.min() >= 0
    assert x.max() == np.nextafter(dtype(1), dtype(0)) or dtype == np.float32


def test_manual_seed_reseeds_objects_that_kept_the_generator():
    """manual_seed replaced the generator object: a transform or agent built before the
    call kept drawing from the old, unseeded one."""
    import tinydl.vision.transforms as VT

    flip = VT.RandomHorizontalFlip()
    noise = GaussianNoise(2)  # seed=None: tinydl's generator (it took fresh OS entropy)
    img = np.zeros((3, 8, 8), np.float32)
    boxes, labels = np.array([[1, 1, 5, 6.0]], np.float32), np.array([1])

    def run():
        return [int(flip(img, boxes, labels)[1][0, 0]) for _ in range(8)] + list(noise())

    td.manual_seed(0)
    first = run()
    td.manual_seed(0)
    assert run() == first
    g = td.random.get_generator()
    td.manual_seed(3)
    assert g is td.random.get_generator()


def test_replay_buffer_and_random_search_follow_manual_seed():
    def sample():
        buffer = ReplayBuffer(10, (1,))
        for i in range(10):
            buffer.add(np.array([i], np.float32), 0, 0.0, np.array([i], np.float32), False)
        return buffer.sample(4)["obs"].ravel().tolist()

    td.manual_seed(1)
    a = sample()
    td.manual_seed(1)
    assert sample() == a
    from tinydl.tune import random_search, uniform

    def trials():
        td.manual_seed(2)
        return [t["x"] for t in random_search(lambda x: x, {"x": uniform(0, 1)}, 3)]

    assert trials() == trials()


@pytest.mark.parametrize("call,match", [
    (lambda: td.randint(0, 2 ** 40, (5,), dtype=np.int32), "does not fit dtype int32"),
    (lambda: td.randint(0, 5, (5,), dtype=np.bool_), "does not fit dtype bool"),
    (lambda: td.randint(0, 2 ** 40, (5,), dtype=np.float16), "does not fit dtype float16"),
    (lambda: td.full((2,), float("nan"), dtype=np.int64), "does not fit dtype int64"),
    (lambda: td.full_like(td.tensor([1, 2]), 1e30), "does not fit dtype int64"),
    (lambda: td.full((2,), 1e40), "overflows dtype float32"),
])
def test_values_a_dtype_cannot_hold_are_refused(call, match):
    # randint and full cast unsafely: wrapped ints, inf, int64's minimum for NaN.
    with pytest.raises((ValueError, OverflowError), match=match):
        call()


@pytest.mark.parametrize("fill", [None, 1 + 2j, [1, 2, 3], "a"])
def test_full_takes_one_real_number(fill):
    with pytest.raises(TypeError, match="full: fill_value must be a real number"):
        td.full((2, 3), fill)


def test_full_like_takes_a_0d_tensor_fill():
    out = td.full_like(td.zeros(2), td.tensor(3.0))
    assert out.dtype == np.float32 and out.data.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("call", [lambda: td.rand(4, dtype=np.int64),
                                  lambda: td.randn(4, dtype=np.bool_),
                                  lambda: td.rand_like(td.tensor([1, 2])),
                                  lambda: td.randn_like(td.zeros(4), dtype=np.int64)])
def test_random_floats_refuse_integer_dtypes(call):
    with pytest.raises(TypeError, match="dtype must be floating point"):  # zeros before
        call()


def test_arange_with_only_stop_honours_step():
    np.testing.assert_array_equal(td.arange(5, step=2).data, [0, 2, 4])  # was [0..4]
    np.testing.assert_allclose(td.arange(2.0, step=0.5).data, [0, 0.5, 1, 1.5])


def test_like_factories_read_lists_by_tensor_rules_and_sizes_refuse_bools():
    assert td.zeros_like([1.0, 2.0]).dtype == np.float32  # was float64
    assert td.ones_like([1, 2]).dtype == np.int64
    with pytest.raises(ValueError, match="zeros: shape entries"):
        td.zeros(True)
    with pytest.raises(ValueError, match="eye: n must be"):
        td.eye(True)


@pytest.mark.parametrize("args", [(0, 5, 1.5), (0, 1, 0.1), (10, 0, -2.5), (5.5,)])
def test_arange_with_an_integer_dtype_and_a_fractional_bound_or_step_raises(args):
    """torch truncates the step (0.1 then raises), NumPy steps by a truncated difference,
    and casting the float range rounds each value: arange(0, 5, 1.5) gave [0, 1, 3, 4], torch
    [0, 1, 2, 3, 4]. No single answer, so an error."""
    with pytest.raises(ValueError, match="fractional"):
        td.arange(*args, dtype=td.int64)
    assert td.arange(0, 5.0, 2, dtype=np.int32).tolist() == [0, 2, 4]


def test_factories_take_torchs_size_keyword():
    """torch.zeros(size=(2, 3)), torch.rand(size=...), torch.randint(high=5, size=(3,)):
    they raised TypeError."""
    for make in (td.zeros, td.ones, td.empty, td.rand, td.randn):
        assert make(size=(2, 3)).shape == (2, 3)
        assert make(size=[4]).shape == (4,) and make(size=3).shape == (3,)
        with pytest.raises(TypeError, match="both positionally"):
            make(2, size=(2,))
    draws = td.randint(high=5, size=(1000,))
    assert draws.dtype == np.int64 and draws.shape == (1000,)
    assert set(np.unique(draws.data)) == {0, 1, 2, 3, 4}
    assert td.randint(low=2, high=3, size=(2,)).tolist() == [2, 2]
    with pytest.raises(TypeError, match="give high"):
        td.randint(size=(2,))
    with pytest.raises(ValueError, match="zeros: shape entries must be non-negative"):
        td.zeros(size=2.5)
    assert td.full(size=(2, 3), fill_value=1.5).tolist() == [[1.5] * 3] * 2
    assert td.full((2,), 7).dtype == np.int64
    with pytest.raises(TypeError, match="full: give the shape"):
        td.full(size=(2,))
