"""ReplayBuffer: ring-buffer overwrite, capacity, uniform sampling; exploration helpers."""
import numpy as np
import pytest

from tinydl.rl import GaussianNoise, OUNoise, ReplayBuffer, exponential_schedule, linear_schedule


def _fill(buffer, n, start=0):
    for i in range(start, start + n):
        buffer.add(np.full(3, i), i % 2, float(i), np.full(3, i + 1), i % 5 == 0)


def test_capacity_respected_and_oldest_overwritten():
    buffer = ReplayBuffer(7, (3,), seed=0)
    _fill(buffer, 5)
    assert len(buffer) == 5 and buffer.pos == 5
    _fill(buffer, 6, start=5)  # 11 transitions into 7 slots
    assert len(buffer) == 7 and buffer.pos == 11 % 7
    assert sorted(buffer.rewards.tolist()) == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    # Slot i holds the latest transition written there, with every field kept together.
    np.testing.assert_array_equal(buffer.obs[:, 0], buffer.rewards)
    np.testing.assert_array_equal(buffer.next_obs[:, 0], buffer.rewards + 1)
    np.testing.assert_array_equal(buffer.terminated, buffer.rewards % 5 == 0)


def test_sampling_is_uniform_over_stored_transitions():
    buffer = ReplayBuffer(50, (3,), seed=1)
    _fill(buffer, 20)  # not full: only the 20 stored rows may be drawn
    draws = np.concatenate([buffer.sample(256)["rewards"] for _ in range(400)])
    assert draws.min() >= 0 and draws.max() <= 19
    counts = np.bincount(draws.astype(int), minlength=20)
    expected = len(draws) / 20
    chi2 = ((counts - expected) ** 2 / expected).sum()
    # 19 degrees of freedom: P(chi2 > 43.8) = 0.001 under uniform sampling.
    assert chi2 < 43.8, f"chi-square {chi2:.1f} with counts {counts}"
    batch = buffer.sample(32)
    assert batch["obs"].shape == (32, 3) and batch["obs"].dtype == np.float32
    np.testing.assert_array_equal(batch["next_obs"][:, 0], batch["rewards"] + 1)


def test_sampling_is_reproducible_and_errors():
    a, b = ReplayBuffer(10, 3, seed=5), ReplayBuffer(10, 3, seed=5)
    _fill(a, 10), _fill(b, 10)
    np.testing.assert_array_equal(a.sample(8)["rewards"], b.sample(8)["rewards"])
    with pytest.raises(ValueError, match="ReplayBuffer.add"):
        a.add(np.zeros(4), 0, 0.0, np.zeros(4), False)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(3, 2).sample(1)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, 2)
    for bad in (-1, 2.5, 0):  # a bare NumPy error, and 2.5 silently drew 2
        with pytest.raises(ValueError, match="ReplayBuffer.sample: batch_size must be a "
                                             "positive int"):
            a.sample(bad)


def test_add_checks_every_field_before_writing_any():
    buffer = ReplayBuffer(2, (3,), seed=0, action_shape=(2,), action_dtype=np.float32)
    buffer.add(np.zeros(3), [1.0, 1.0], 1.0, np.zeros(3), False)
    buffer.add(np.zeros(3), [2.0, 2.0], 2.0, np.zeros(3), False)  # full: the next add hits slot 0
    before = {name: getattr(buffer, name).copy()
              for name in ("obs", "next_obs", "actions", "rewards", "terminated")}
    bad = [((np.full(3, 9.0), [0.5, 0.5, 0.5], 9.0, np.full(3, 9.0), True),
            ValueError, r"ReplayBuffer.add: action must have shape \(2,\), got shape \(3,\)"),
           ((np.full(3, 9.0), 0.5, 9.0, np.full(3, 9.0), True),   # a scalar is not broadcast
            ValueError, r"action must have shape \(2,\), got shape \(\)"),
           ((np.full(3, 9.0), [0.5, 0.5], [9.0], np.full(3, 9.0), True),
            ValueError, r"reward must have shape \(\), got shape \(1,\)"),
           ((np.full(3, 9.0), [0.5, 0.5], 9.0, np.full(3, 9.0), [True, False]),
            ValueError, "terminated must have shape"),
           ((np.full(3, 9.0), [0.5, 0.5], 9.0, np.zeros(4), True),
            ValueError, r"next_obs must have shape \(3,\), got shape \(4,\)"),
           ((np.full(3, 9.0), [0.5, 0.5j], 9.0, np.full(3, 9.0), True),
            TypeError, "ReplayBuffer.add: action of dtype complex128")]
    for args, error, message in bad:
        with pytest.raises(error, match=message):
            buffer.add(*args)
        for name, array in before.items():
            np.testing.assert_array_equal(getattr(buffer, name), array,
                                          err_msg=f"a refused add changed {name}")
        assert buffer.pos == 0 and len(buffer) == 2
    # A discrete (int64) buffer refuses a float action rather than truncating it.
    discrete = ReplayBuffer(2, (3,))
    with pytest.raises(TypeError, match="action of dtype float64 does not fit the buffer's int64"):
        discrete.add(np.zeros(3), 1.7, 0.0, np.zeros(3), False)
    discrete.add(np.zeros(3), np.int32(1), 1, np.zeros(3, np.float64), np.bool_(True))
    assert discrete.actions[0] == 1 and discrete.terminated[0] == 1.0


def test_schedules():
    assert linear_schedule(1.0, 0.05, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.05, 100, 50) == pytest.approx(0.525)
    assert linear_schedule(1.0, 0.05, 100, 1000) == 0.05  # exactly (was 0.050000000000000044)
    assert linear_schedule(1.0, 0.05, 100, 100) == 0.05
    assert exponential_schedule(1.0, 0.1, 10, 10) == pytest.approx(0.1 + 0.9 / np.e)


def test_noises():
    gaussian = GaussianNoise(2, sigma=0.3, seed=0)
    samples = np.stack([gaussian() for _ in range(20000)])
    np.testing.assert_allclose(samples.std(axis=0), 0.3, rtol=0.03)
    ou = OUNoise(1, theta=0.15, sigma=0.2, dt=1e-2, seed=0)
    path = np.array([ou()[0] for _ in range(20000)])
    # Stationary OU variance sigma^2 / (2 theta), lag-1 autocorrelation 1 - theta dt.
    corr = np.corrcoef(path[:-1], path[1:])[0, 1]
    assert corr == pytest.approx(1 - 0.15 * 1e-2, abs=2e-3)
    ou.reset()
    np.testing.assert_array_equal(ou.x, [0.0])


def test_action_shape_may_be_an_int_as_obs_shape():
    buffer = ReplayBuffer(4, 3, action_shape=2, action_dtype=np.float32)
    assert buffer.actions.shape == (4, 2)
    assert ReplayBuffer(4, 3).actions.shape == (4,)
