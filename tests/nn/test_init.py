"""Initialisers: torch.nn.init's gain and fan rules, distributions, seeding."""
import math
import re

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tinydl.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


def test_fans_and_torch_gain_against_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("tanh", None), ("leaky_relu", 0.3), ("relu", None), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    t = torch.empty(6, 4, 3, 2)
    assert init._calculate_fan_in_and_fan_out(np.empty((6, 4, 3, 2))) == \
        torch.nn.init._calculate_fan_in_and_fan_out(t)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.xavier_uniform_(tinydl.zeros(3))


def test_uniform_bounds_follow_fan_rules():
    tinydl.manual_seed(0)
    w = tinydl.zeros(64, 32, 3, 3)
    fan_in, fan_out = 32 * 9, 64 * 9
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.data).max() <= 1 / math.sqrt(fan_in) and w.dtype == np.float32
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert np.abs(w.data).max() <= math.sqrt(6 / fan_out)
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_normal_stds():
    tinydl.manual_seed(1)
    w = tinydl.zeros(400, 300, dtype=np.float64)
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)
    init.xavier_normal_(w)
    assert w.data.std() == pytest.approx(math.sqrt(2 / 700), rel=0.02)
    init.normal_(w, 3.0, 0.5)
    assert w.data.mean() == pytest.approx(3.0, abs=0.01)


def test_trunc_normal_bounds_and_moments():
    tinydl.manual_seed(2)
    w = tinydl.zeros(100000, dtype=np.float64)
    init.trunc_normal_(w, mean=0.0, std=1.0, a=-1.0, b=2.0)
    assert w.data.min() >= -1.0 and w.data.max() <= 2.0
    from scipy import stats

    assert w.data.mean() == pytest.approx(stats.truncnorm(-1, 2).mean(), abs=0.01)
    assert w.data.std() == pytest.approx(stats.truncnorm(-1, 2).std(), abs=0.01)


@pytest.mark.parametrize("a, b", [(10.0, 11.0), (-11.0, -10.0), (30.0, 31.0), (5.0, np.inf),
                                  (40.0, 41.0), (-41.0, -40.0), (-np.inf, -5.0)])
def test_trunc_normal_far_in_a_tail_draws_from_the_tail(a, b):
    """Phi(10) rounds to 1 in float64, so bounds [10, 11] filled every element with 11 (and
    [-11, -10] with -11), and Phi(-40) underflows to 0: the tails are taken in logs now."""
    tinydl.manual_seed(4)
    w = tinydl.zeros(20000, dtype=np.float64)
    init.trunc_normal_(w, a=a, b=b)
    from scipy import stats

    law = stats.truncnorm(a, b)
    assert a <= w.data.min() and w.data.max() <= b and np.unique(w.data).size > 19000
    assert w.data.mean() == pytest.approx(law.mean(), abs=5 * law.std() / np.sqrt(20000))
    assert w.data.std() == pytest.approx(law.std(), rel=0.05)


def test_orthogonal_is_orthogonal_with_gain():
    tinydl.manual_seed(3)
    for shape in [(5, 3), (3, 5), (4, 2, 3)]:
        w = tinydl.zeros(*shape, dtype=np.float64)
        init.orthogonal_(w, gain=2.0)
        m = w.data.reshape(shape[0], -1)
        small = m.T @ m if shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(small, 4.0 * np.eye(len(small)), atol=1e-12)


def test_eye_dirac_constant_sparse():
    w = tinydl.zeros(2, 3)
    np.testing.assert_array_equal(init.eye_(w).data, np.eye(2, 3))
    conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = tinydl.randn(2, 4, 5, 5)
    np.testing.assert_allclose(conv(x).data, x.data, atol=1e-6)
    grouped = tinydl.zeros(4, 2, 3)
    init.dirac_(grouped, groups=2)
    assert grouped.data[0, 0, 1] == 1 and grouped.data[2, 0, 1] == 1 and grouped.data.sum() == 4
    init.constant_(w, 0.3)
    assert np.all(w.data == np.float32(0.3))
    assert np.all(init.ones_(w).data == 1) and np.all(init.zeros_(w).data == 0)
    tinydl.manual_seed(4)
    s = tinydl.zeros(10, 6)
    init.sparse_(s, 0.3)
    assert np.all((s.data == 0).sum(axis=0) >= 3)
    with pytest.raises(ValueError, match="dirac_"):
        init.dirac_(tinydl.zeros(2, 2))


def test_seeded_reproducibility_and_generator_argument():
    tinydl.manual_seed(10)
    a = nn.Linear(3, 3).weight.data.copy()
    tinydl.manual_seed(10)
    b = nn.Linear(3, 3).weight.data.copy()
    np.testing.assert_array_equal(a, b)
    g1 = init.uniform_(tinydl.zeros(4), generator=np.random.default_rng(0)).data
    g2 = init.uniform_(tinydl.zeros(4), generator=np.random.default_rng(0)).data
    np.testing.assert_array_equal(g1, g2)


_FILLS = {
    "uniform_": lambda w: init.uniform_(w), "normal_": lambda w: init.normal_(w),
    "trunc_normal_": lambda w: init.trunc_normal_(w), "constant_": lambda w: init.constant_(w, 5),
    "ones_": init.ones_, "zeros_": init.zeros_, "eye_": init.eye_,
    "dirac_": lambda w: init.dirac_(w.reshape(3, 2, 1)),  # through a view: the same counter
    "orthogonal_": init.orthogonal_,
    "sparse_": lambda w: init.sparse_(w, 0.5), "xavier_uniform_": init.xavier_uniform_,
    "xavier_normal_": init.xavier_normal_, "kaiming_uniform_": init.kaiming_uniform_,
    "kaiming_normal_": init.kaiming_normal_,
}


@pytest.mark.parametrize("name", list(_FILLS))
def test_fill_of_a_tensor_saved_for_backward_raises_at_backward(name):
    w = nn.Parameter(np.arange(1.0, 7.0).reshape(3, 2))
    y = (w * w).sum()
    _FILLS[name](w)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_dirac_bumps_the_version_of_the_tensor_it_fills():
    w = nn.Parameter(np.ones((2, 2, 3)))
    y = (w * w).sum()
    init.dirac_(w)
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


_RANDOM = ["uniform_", "normal_", "trunc_normal_", "orthogonal_", "sparse_", "xavier_uniform_",
           "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("name", _RANDOM)
def test_random_fills_refuse_integer_and_bool_tensors(name, dtype):
    w = tinydl.Tensor(np.zeros((3, 2), dtype))
    with pytest.raises(TypeError, match=f"{name}: .*floating-point.*{np.dtype(dtype)}"):
        _FILLS[name](w)
    assert not w.data.any()


@pytest.mark.parametrize("name", ["constant_", "ones_", "zeros_", "eye_"])
def test_constant_fills_accept_integer_tensors_as_torch(name):
    w = tinydl.Tensor(np.full((3, 2), 7, np.int64))
    _FILLS[name](w)
    assert w.dtype == np.int64
    grouped = tinydl.Tensor(np.full((4, 2, 3), 7, np.int32))
    init.dirac_(grouped, groups=2)
    assert grouped.data.sum() == 4 and grouped.dtype == np.int32


@pytest.mark.parametrize("call, message", [
    (lambda w: init.normal_(w, std=-1.0), "normal_: expects std >= 0, got std=-1.0"),
    (lambda w: init.normal_(w, std=float("nan")), "normal_: expects std >= 0, got std=nan"),
    (lambda w: init.uniform_(w, 1.0, 0.0), "uniform_: expects finite bounds a <= b for U(a, b), "
                                           "got a=1.0, b=0.0"),
    (lambda w: init.uniform_(w, 0.0, math.inf), "uniform_: expects finite bounds"),
    (lambda w: init.xavier_uniform_(w, gain=-1.0), "xavier_uniform_: expects gain >= 0, got "
                                                   "gain=-1.0"),
    (lambda w: init.xavier_normal_(w, gain=-1.0), "xavier_normal_: expects gain >= 0"),
    (lambda w: init.trunc_normal_(w, a=2.0, b=-2.0), "trunc_normal_: expects the bounds a <= b, "
                                                     "got a=2.0, b=-2.0"),
    (lambda w: init.trunc_normal_(w, std=0.0), "trunc_normal_: expects a nonzero std"),
    (lambda w: init.sparse_(w, 0.5, std=-1.0), "sparse_: expects std >= 0, got std=-1.0"),
], ids=["normal_negative_std", "normal_nan_std", "uniform_a_above_b", "uniform_infinite",
        "xavier_uniform_negative_gain", "xavier_normal_negative_gain", "trunc_normal_a_above_b",
        "trunc_normal_zero_std", "sparse_negative_std"])
def test_bad_arguments_raise_value_errors_naming_the_function(call, message):
    w = tinydl.zeros(3, 2)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(w)
    assert not w.data.any()


def test_arguments_torch_accepts_stay_accepted():
    tinydl.manual_seed(5)
    w = tinydl.zeros(200, 300, dtype=np.float64)
    init.orthogonal_(w, gain=-1.0)
    np.testing.assert_allclose(w.data @ w.data.T, np.eye(200), atol=1e-12)
    assert np.all(init.uniform_(w, 0.5, 0.5).data == 0.5)
    assert np.all(init.trunc_normal_(w, a=1.0, b=1.0).data == 1.0)
    init.trunc_normal_(w, std=-1.0, a=-1.0, b=2.0)  # the same law as std=1
    assert w.data.min() >= -1.0 and w.data.max() <= 2.0 and w.data.std() > 0.5
    assert np.all(init.normal_(w, std=0.0).data == 0.0)


def test_generator_must_be_none_or_a_numpy_generator():
    # generator=0 was read as "no generator" (``generator or get_generator()``)
    w = tinydl.zeros(3, 3)
    with pytest.raises(TypeError, match="normal_: generator must be None or a np.random"):
        init.normal_(w, generator=0)
    with pytest.raises(TypeError, match="orthogonal_: generator must be None"):
        init.orthogonal_(w, generator=5)
    a = init.normal_(tinydl.zeros(3), generator=np.random.default_rng(1)).numpy()
    np.testing.assert_array_equal(a, np.random.default_rng(1).normal(0.0, 1.0, 3)
                                  .astype(np.float32))


@pytest.mark.filterwarnings("ignore::tinydl.ml.base.ConvergenceWarning")  # 3 passes: enough
def test_seed_none_means_tinydls_seeded_generator():
    # LinearSVC(random_state=None) and random_directions(seed=None) drew from OS entropy, so
    # manual_seed did not fix them
    from tinydl.ml import LinearSVC
    from tinydl.viz.landscape import random_directions
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    fits = []
    for _ in range(2):
        tinydl.manual_seed(3)
        fits.append(LinearSVC(random_state=None, max_iter=3).fit(X, y).coef_)
    np.testing.assert_array_equal(*fits)
    model = tinydl.nn.Linear(3, 2)
    drawn = []
    for _ in range(2):
        tinydl.manual_seed(3)
        drawn.append(random_directions(model, count=1, normalization=None, seed=None)[0])
    for name in drawn[0]:
        np.testing.assert_array_equal(drawn[0][name], drawn[1][name])


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                  "kaiming_normal_"])
def test_zero_size_weights_are_left_as_they_are(name):
    # xavier_* on a (0, 0) weight divided by fan_in + fan_out = 0: a bare ZeroDivisionError.
    for shape in [(0, 0), (0, 0, 3), (0, 5)]:
        w = tinydl.zeros(*shape)
        assert getattr(init, name)(w) is w and w.shape == shape
