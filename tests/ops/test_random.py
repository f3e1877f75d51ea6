"""Random sampling (tinydl/ops/random.py, randperm and randint_like in tinydl/factories.py,
the Tensor fills): reproducibility under ``manual_seed``, shapes and dtypes, distribution
checks, gradients, in-place rules, and errors and integer ranges against torch.

The distribution checks draw many samples with a fixed seed and compare the sample mean (and
variance) with the distribution's within ``Z`` standard errors: loose enough not to depend on
the seed, tight enough that a wrong scale, rate or parametrisation fails by far.
"""
import math
import warnings

import numpy as np
import pytest

import tinydl as td
from tinydl.ops.random import DistributionError

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
N = 40_000  # samples per distribution check
Z = 5.0  # standard errors allowed


def near(samples, mean, var, what):
    """The sample mean within Z standard errors of ``mean``; with the variance, the sample
    variance within Z standard errors of ``var`` (its own standard error from the 4th moment)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    se = math.sqrt(var / x.size)
    assert abs(x.mean() - mean) < Z * se, f"{what}: mean {x.mean()} vs {mean} (se {se})"
    centered = (x - mean) ** 2
    se_var = centered.std() / math.sqrt(x.size)
    assert abs(centered.mean() - var) < Z * se_var, f"{what}: var {centered.mean()} vs {var}"


def fresh(shape=(N,), dtype=np.float32):
    return td.zeros(shape, dtype=dtype)


# ----------------------------------------------------------------------------- reproducibility
SAMPLERS = {
    "normal_tensors": lambda: td.normal(td.zeros(5), td.ones(5)),
    "normal_numbers": lambda: td.normal(1.0, 2.0, (5,)),
    "bernoulli": lambda: td.bernoulli(td.full((5,), 0.5)),
    "bernoulli_p": lambda: td.bernoulli(td.zeros(5), 0.3),
    "poisson": lambda: td.poisson(td.full((5,), 4.0)),
    "binomial": lambda: td.binomial(td.full((5,), 20.0), td.full((5,), 0.4)),
    "multinomial": lambda: td.multinomial(td.ones(10), 5),
    "multinomial_replacement": lambda: td.multinomial(td.ones(2, 10), 5, True),
    "randperm": lambda: td.randperm(10),
    "randint_like": lambda: td.randint_like(td.zeros(5), 100),
    "bernoulli_": lambda: fresh((5,)).bernoulli_(0.5),
    "exponential_": lambda: fresh((5,)).exponential_(),
    "geometric_": lambda: fresh((5,)).geometric_(0.2),
    "log_normal_": lambda: fresh((5,)).log_normal_(),
    "cauchy_": lambda: fresh((5,)).cauchy_(),
    "random_": lambda: fresh((5,)).random_(),
    "Tensor.bernoulli": lambda: td.full((5,), 0.5).bernoulli(),
    "Tensor.multinomial": lambda: td.ones(10).multinomial(3),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_manual_seed_reproduces_and_the_draw_advances_the_generator(name):
    td.manual_seed(7)
    first = SAMPLERS[name]().data
    again = SAMPLERS[name]().data
    td.manual_seed(7)
    assert np.array_equal(SAMPLERS[name]().data, first), name
    assert not np.array_equal(SAMPLERS[name]().data, first) or np.array_equal(again, first)
    assert not np.array_equal(again, first), f"{name}: two draws in a row were equal"


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_rng_state_round_trip_continues_the_same_stream(name, tmp_path):
    # torch's checkpoint habit: save get_rng_state() with the model, set_rng_state() on resume
    td.manual_seed(11)
    SAMPLERS[name]()
    state = td.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    expected = [SAMPLERS[name]().data for _ in range(2)]
    held = td.random.get_generator()  # an object that kept the generator follows too
    td.save({"rng": state}, tmp_path / "ckpt.npz")
    td.manual_seed(12)
    td.set_rng_state(td.load(tmp_path / "ckpt.npz")["rng"])
    assert held is td.random.get_generator()
    for want in expected:
        assert np.array_equal(SAMPLERS[name]().data, want), name


def test_rng_state_keeps_a_buffered_32_bit_draw():
    g = td.random.get_generator()
    td.manual_seed(0)
    g.integers(0, 10, dtype=np.int32)  # leaves half of a 64-bit word buffered
    state = td.get_rng_state()
    want = g.integers(0, 1 << 30, size=5, dtype=np.int32)
    td.manual_seed(1)
    td.set_rng_state(state)
    assert np.array_equal(g.integers(0, 1 << 30, size=5, dtype=np.int32), want)


def test_initial_seed_and_seed():
    td.manual_seed(123)
    assert td.initial_seed() == 123
    new = td.seed()
    assert isinstance(new, int) and 0 <= new < 2 ** 64 and td.initial_seed() == new
    after_seed = td.rand(4).data
    td.manual_seed(new)  # the seed torch.seed() returns reproduces the stream, as there
    assert np.array_equal(td.rand(4).data, after_seed)


def test_set_rng_state_refuses_what_is_not_a_state():
    state = td.get_rng_state()
    with pytest.raises(ValueError, match="set_rng_state: expected the uint8 tensor"):
        td.set_rng_state(td.zeros(state.shape[0]))
    with pytest.raises(ValueError, match="set_rng_state: expected the uint8 tensor"):
        td.set_rng_state(state.data[:-1])
    other = state.data.copy()
    other[0] ^= 1
    with pytest.raises(ValueError, match="not a state from tinydl.get_rng_state"):
        td.set_rng_state(other)
    if torch is not None:  # torch's state is 5056 bytes: refused by its length
        with pytest.raises(ValueError, match="set_rng_state"):
            td.set_rng_state(torch.get_rng_state().numpy())
    td.set_rng_state(state.data)  # a plain uint8 array is taken too


# ----------------------------------------------------------------------------- shapes, dtypes
def test_normal_forms_shapes_and_dtypes():
    f64 = td.zeros((3, 1), dtype=np.float64)
    assert td.normal(f64, td.ones(4)).shape == (3, 4)
    assert td.normal(f64, td.ones(4)).dtype == np.float64  # the mean tensor's dtype
    assert td.normal(td.zeros(3), td.ones(3, dtype=np.float64)).dtype == np.float32
    assert td.normal(0.0, td.ones(2, dtype=np.float64)).dtype == np.float64
    assert td.normal(td.zeros(2)).dtype == np.float32  # std defaults to 1
    out = td.normal(0.0, 1.0, (2, 3))
    assert out.shape == (2, 3) and out.dtype == np.float32 and not out.requires_grad
    out = td.normal(0.0, 1.0, [2], dtype=np.float64, requires_grad=True)
    assert out.dtype == np.float64 and out.requires_grad and out.is_leaf
    assert td.normal(0.0, 1.0, ()).shape == ()
    assert td.normal(td.zeros(0), 1.0).shape == (0,)
    assert np.array_equal(td.normal(td.arange(4.0), 0.0).data, np.arange(4.0))  # std 0: mean


def test_sampler_dtypes_follow_their_input():
    for dtype in (np.float32, np.float64):
        assert td.bernoulli(td.full((3,), 0.5, dtype=dtype)).dtype == dtype
        assert td.poisson(td.ones(3, dtype=dtype)).dtype == dtype
        assert td.binomial(td.ones(3, dtype=dtype), td.ones(3, dtype=dtype)).dtype == dtype
    assert td.bernoulli(td.tensor([1, 0]), 0.5).dtype == np.int64  # p given: any dtype
    assert td.bernoulli(td.tensor([True, False]), 0.5).dtype == np.bool_
    assert td.binomial(td.ones((2, 1)), td.full((3,), 0.5)).shape == (2, 3)  # broadcast
    m = td.multinomial(td.ones(2, 5, dtype=np.float64), 3)
    assert m.shape == (2, 3) and m.dtype == np.int64 and not m.requires_grad
    assert td.multinomial(td.ones(5), 7, replacement=True).shape == (7,)
    assert td.multinomial(td.ones(0, 4), 2).shape == (0, 2)


def test_randperm_and_randint_like_dtypes():
    assert td.randperm(5).dtype == np.int64
    assert td.randperm(0).shape == (0,)
    assert td.randperm(5, dtype=np.float32).dtype == np.float32
    assert td.randperm(256, dtype=np.uint8).dtype == np.uint8
    p = td.randperm(4, dtype=np.float64, requires_grad=True)
    assert p.requires_grad and p.is_leaf
    assert td.randint_like(td.zeros(3), 10).dtype == np.float32  # the input's dtype
    assert td.randint_like(td.zeros(3), 10, dtype=np.int64).dtype == np.int64
    assert td.randint_like(td.zeros((2, 3), dtype=np.uint8), 3, 10).shape == (2, 3)
    assert td.randint_like(td.zeros(3), 10, requires_grad=True).requires_grad
    values = td.randint_like(td.zeros(1000, dtype=np.int32), 3, 10).data
    assert values.dtype == np.int32 and values.min() == 3 and values.max() == 9
    values = td.randint_like(td.zeros(1000), low=-2, high=2).data
    assert set(np.unique(values)) == {-2, -1, 0, 1}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.uint8,
                                   np.bool_])
def test_fills_keep_the_tensor_and_its_dtype(dtype):
    t = td.zeros(50, dtype=dtype)
    fills = [lambda: t.bernoulli_(0.5), lambda: t.random_()]
    if dtype != np.bool_:
        fills.append(lambda: t.geometric_(0.5))
    if np.dtype(dtype).kind == "f":
        fills += [lambda: t.exponential_(), lambda: t.log_normal_(), lambda: t.cauchy_()]
    for fill in fills:
        array = t.data
        assert fill() is t and t.data is array and t.dtype == dtype


# ----------------------------------------------------------------------------- distributions
def test_normal_moments():
    td.manual_seed(0)
    near(td.normal(td.full((N,), 1.5), 2.0).data, 1.5, 4.0, "normal(tensor, float)")
    near(td.normal(-3.0, td.full((N,), 0.5, dtype=np.float64)).data, -3.0, 0.25,
         "normal(float, tensor)")
    near(td.normal(2.0, 3.0, (N,)).data, 2.0, 9.0, "normal(float, float, size)")
    # per-element parameters: standardised samples are N(0, 1)
    mean, std = td.linspace(-5, 5, N), td.linspace(0.1, 4, N)
    near((td.normal(mean, std).data - mean.data) / std.data, 0.0, 1.0, "normal elementwise")


def test_bernoulli_poisson_binomial_moments():
    td.manual_seed(1)
    near(td.bernoulli(td.full((N,), 0.3)).data, 0.3, 0.21, "bernoulli")
    near(td.bernoulli(td.zeros(N), 0.8).data, 0.8, 0.16, "bernoulli(input, p)")
    near(fresh().bernoulli_(0.25).data, 0.25, 0.1875, "bernoulli_")
    probs = td.tensor(np.tile([0.1, 0.9], N // 2))
    draws = fresh().bernoulli_(probs).data
    near(draws[0::2], 0.1, 0.09, "bernoulli_ tensor p (0.1)")
    near(draws[1::2], 0.9, 0.09, "bernoulli_ tensor p (0.9)")
    near(td.poisson(td.full((N,), 3.5)).data, 3.5, 3.5, "poisson")
    near(td.binomial(td.full((N,), 12.0), td.full((N,), 0.25)).data, 3.0, 2.25, "binomial")
    x = td.tensor([0.0, 1.0, 0.0, 1.0])
    assert np.array_equal(td.bernoulli(x).data, x.data)  # certain outcomes
    assert np.array_equal(td.poisson(td.zeros(3)).data, np.zeros(3))
    assert np.array_equal(td.binomial(td.full((2,), 7.0), td.tensor([0.0, 1.0])).data, [0, 7])


def test_fill_moments():
    td.manual_seed(2)
    near(fresh(dtype=np.float64).exponential_(4.0).data, 0.25, 1 / 16, "exponential_")
    near(fresh(dtype=np.float64).geometric_(0.2).data, 5.0, 0.8 / 0.04, "geometric_")
    near(fresh(dtype=np.int64).geometric_(0.6).data, 1 / 0.6, 0.4 / 0.36, "geometric_ int")
    near(np.log(fresh(dtype=np.float64).log_normal_(0.5, 0.7).data), 0.5, 0.49, "log_normal_")
    near(fresh(dtype=np.float64).random_(10).data, 4.5, 99 / 12, "random_(10)")
    near(fresh(dtype=np.float64).random_(-3, 5).data, 0.5, 63 / 12, "random_(-3, 5)")
    assert fresh(dtype=np.float64).geometric_(0.3).data.min() == 1  # trials, not failures
    c = fresh(dtype=np.float64).cauchy_(2.0, 3.0).data  # no mean: quartiles at median -+ sigma
    quartiles = np.quantile(c, [0.25, 0.5, 0.75])
    assert np.allclose(quartiles, [-1.0, 2.0, 5.0], atol=0.15), quartiles
    assert np.array_equal(fresh((4,)).exponential_(float("inf")).data, np.zeros(4))


def test_multinomial_frequencies_match_the_weights():
    td.manual_seed(3)
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    p = weights / weights.sum()
    draws = td.multinomial(td.tensor(np.tile(weights, (N // 10, 1))), 10, replacement=True)
    counts = np.bincount(draws.data.ravel(), minlength=4)
    assert counts[1] == 0  # zero weight: never drawn with replacement
    for i in (0, 2, 3):
        near((draws.data.ravel() == i).astype(float), p[i], p[i] * (1 - p[i]), f"category {i}")
    # without replacement the first draw follows the weights, the others the remaining ones
    rows = td.multinomial(td.tensor(np.tile(weights, (N, 1))), 2).data
    for i in (0, 2, 3):
        near((rows[:, 0] == i).astype(float), p[i], p[i] * (1 - p[i]), f"first draw {i}")
    # P(second = 0) = sum over first j != 0 of p_j * w_0 / (W - w_j)
    second = sum(p[j] * weights[0] / (weights.sum() - weights[j]) for j in (2, 3))
    near((rows[:, 1] == 0).astype(float), second, second * (1 - second), "second draw")


def test_multinomial_without_replacement_never_repeats():
    td.manual_seed(4)
    w = td.tensor(np.random.default_rng(0).random((500, 8)) ** 3)
    rows = td.multinomial(w, 6).data
    assert all(len(set(row)) == 6 for row in rows)
    full = td.multinomial(w, 8).data
    assert np.array_equal(np.sort(full, axis=1), np.tile(np.arange(8), (500, 1)))
    # once the positive weights are used up, zero-weight categories follow (as torch's)
    rows = td.multinomial(td.tensor([[0.0, 2.0, 0.0, 1.0]] * 100), 3).data
    assert set(map(tuple, rows[:, :2].tolist())) == {(1, 3), (3, 1)}
    assert set(rows[:, 2]) <= {0, 2}


@pytest.mark.parametrize("dtype, a, b", [(np.float16, 1e5, 1e5 + 1), (np.float16, -1e5, 1e5),
                                         (np.float16, -7e4, -69999.0), (np.float32, -1e39, 1e39)])
def test_uniform_bounds_past_the_dtype_raise_as_torchs(dtype, a, b):
    """torch: "from/to is out of bounds"; the samples were clamped to 65504 (outside
    [1e5, 1e5 + 1)) or rounded to -inf, with only a NumPy overflow warning."""
    with pytest.raises(ValueError, match=f"uniform_: the bounds .* out of the range of "
                                         f"{np.dtype(dtype).name}"):
        td.zeros(3, dtype=dtype).uniform_(a, b)
    with pytest.raises(ValueError, match="uniform_: the bounds"):
        td.nn.init.uniform_(td.zeros(3, dtype=dtype), a, b)
    inside = td.zeros(1000, dtype=np.float16).uniform_(-3e4, 3e4).data
    assert np.isfinite(inside).all() and -3e4 <= inside.min() and inside.max() < 3e4
    for a, b in ((-6e4, 6e4), (-1e308, 1e308)):  # the span b - a too, as torch
        with pytest.raises(ValueError, match="for the bounds and for b - a"):
            td.zeros(3, dtype=np.float16 if a > -1e5 else np.float64).uniform_(a, b)


def test_randperm_is_a_uniform_permutation():
    td.manual_seed(5)
    perms = np.stack([td.randperm(6).data for _ in range(3000)])
    assert (np.sort(perms, axis=1) == np.arange(6)).all()
    near(np.argmax(perms == 0, axis=1), 2.5, 35 / 12, "position of 0")


def test_random_default_ranges_per_dtype():
    td.manual_seed(6)
    assert set(np.unique(fresh((200,), np.bool_).random_().data)) == {False, True}
    u8 = fresh((5000,), np.uint8).random_().data
    assert u8.min() == 0 and u8.max() == 255
    f16 = fresh((20000,), np.float16).random_().data.astype(np.float64)
    assert f16.min() >= 0 and f16.max() <= 2048 and (f16 == np.round(f16)).all()
    f32 = fresh((2000,), np.float32).random_().data.astype(np.float64)
    assert f32.max() <= 2 ** 24 and f32.max() > 2 ** 23
    i64 = fresh((2000,), np.int64).random_().data
    assert i64.min() >= 0 and i64.max() > 2 ** 62
    assert fresh((2000,), np.int8).random_(-128, None).data.min() == -128  # from to the top
    assert fresh((2000,), np.int8).random_(100, None).data.max() == 127


# ----------------------------------------------------------------------------- gradients
@needs_torch
@pytest.mark.parametrize("case", ["normal_mean", "normal_std", "normal_both", "bernoulli",
                                  "poisson"])
def test_zero_gradient_through_samples_as_torch(case):
    """torch's samplers are not reparametrized: a parameter that requires grad gives a result
    that requires grad and a zero gradient."""
    def run(lib, tensor):
        p = tensor([0.2, 0.7], requires_grad=True)
        out = {"normal_mean": lambda: lib.normal(p, 1.0),
               "normal_std": lambda: lib.normal(0.0, p),
               "normal_both": lambda: lib.normal(p, p),
               "bernoulli": lambda: lib.bernoulli(p),
               "poisson": lambda: lib.poisson(p)}[case]()
        assert out.requires_grad
        (out * 3).sum().backward()
        return np.asarray(p.grad.detach().numpy() if lib is torch else p.grad.data)

    def ours(data, requires_grad):
        return td.tensor(np.array(data, np.float64), requires_grad=requires_grad)

    def theirs(data, requires_grad):
        return torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad)

    assert np.array_equal(run(td, ours), run(torch, theirs))
    assert np.array_equal(run(td, ours), np.zeros(2))


@needs_torch
@pytest.mark.parametrize("case", ["binomial", "bernoulli_p"])
def test_backward_raises_where_torch_has_no_derivative(case):
    calls = {"binomial": lambda lib, p: lib.binomial(p * 0 + 5, p),
             "bernoulli_p": lambda lib, p: lib.bernoulli(p, 0.5)}
    t = torch.tensor([0.2, 0.7], requires_grad=True)
    with pytest.raises(RuntimeError):
        calls[case](torch, t).sum().backward()
    p = td.tensor([0.2, 0.7], requires_grad=True)
    out = calls[case](td, p)
    assert out.requires_grad
    with pytest.raises(RuntimeError, match=case.split("_")[0] + ".*derivative"):
        out.sum().backward()


def test_samples_of_constants_do_not_require_grad():
    assert not td.normal(td.zeros(2), td.ones(2)).requires_grad
    assert not td.bernoulli(td.full((2,), 0.5)).requires_grad
    with td.no_grad():
        assert not td.poisson(td.ones(2, requires_grad=True)).requires_grad


# ----------------------------------------------------------------------------- in-place rules
FILLS = {"bernoulli_": (0.5,), "exponential_": (), "geometric_": (0.5,), "log_normal_": (),
         "cauchy_": (), "random_": ()}


@pytest.mark.parametrize("name", list(FILLS))
def test_fills_follow_the_in_place_rules(name):
    leaf = td.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(leaf, name)(*FILLS[name])
    with td.no_grad():
        getattr(leaf, name)(*FILLS[name])  # allowed: the update of a parameter
    assert leaf.requires_grad and leaf.is_leaf
    x = td.ones(3, requires_grad=True)
    y = x * 2
    getattr(y, name)(*FILLS[name])
    assert y.requires_grad and not y.is_leaf
    (y * 5).sum().backward()
    assert np.array_equal(x.grad.data, np.zeros(3))  # the old value was overwritten


@needs_torch
def test_fill_of_a_recorded_tensor_gives_zero_gradient_as_torch():
    t = torch.ones(3, requires_grad=True)
    y = t * 2
    y.exponential_()
    (y + t).sum().backward()
    x = td.ones(3, requires_grad=True)
    z = x * 2
    z.exponential_()
    (z + x).sum().backward()
    assert np.array_equal(x.grad.data, t.grad.numpy())


# ----------------------------------------------------------------------------- errors vs torch
def _error_cases():
    """(name, tinydl call, torch call, the exception tinydl raises, a word of its message)."""
    f, i = np.float32, np.int64
    tf, ti = (torch.float32, torch.int64) if torch is not None else (None, None)

    def both(name, ours, theirs, error, word):
        return pytest.param(ours, theirs, error, word, id=name)

    return [
        both("normal_negative_std", lambda: td.normal(td.zeros(2), -1.0),
             lambda: torch.normal(torch.zeros(2), -1.0), DistributionError, "std"),
        both("normal_nan_std", lambda: td.normal(td.zeros(2), td.tensor([1.0, np.nan])),
             lambda: torch.normal(torch.zeros(2), torch.tensor([1.0, np.nan])),
             DistributionError, "std"),
        both("normal_numbers_need_size", lambda: td.normal(0.0, 1.0),
             lambda: torch.normal(0.0, 1.0), TypeError, "size"),
        both("normal_size_with_tensor", lambda: td.normal(td.zeros(2), 1.0, size=(2,)),
             lambda: torch.normal(torch.zeros(2), 1.0, size=(2,)), TypeError, "size"),
        both("normal_integer_mean", lambda: td.normal(td.zeros(2, dtype=i), 1.0),
             lambda: torch.normal(torch.zeros(2, dtype=ti), 1.0), RuntimeError, "floating"),
        both("normal_shapes", lambda: td.normal(td.zeros(3), td.ones(2)),
             lambda: torch.normal(torch.zeros(3), torch.ones(2)), RuntimeError, "broadcast"),
        both("bernoulli_above_one", lambda: td.bernoulli(td.tensor([0.5, 1.5])),
             lambda: torch.bernoulli(torch.tensor([0.5, 1.5])), DistributionError, "[0, 1]"),
        both("bernoulli_nan", lambda: td.bernoulli(td.tensor([0.5, np.nan])),
             lambda: torch.bernoulli(torch.tensor([0.5, np.nan])), DistributionError, "[0, 1]"),
        both("bernoulli_integer_probs", lambda: td.bernoulli(td.tensor([1, 0])),
             lambda: torch.bernoulli(torch.tensor([1, 0])), RuntimeError, "floating"),
        both("bernoulli__p", lambda: td.zeros(3).bernoulli_(1.5),
             lambda: torch.zeros(3).bernoulli_(1.5), DistributionError, "[0, 1]"),
        both("bernoulli__shape", lambda: td.zeros(3).bernoulli_(td.tensor([0.1, 0.2])),
             lambda: torch.zeros(3).bernoulli_(torch.tensor([0.1, 0.2])), RuntimeError,
             "broadcast"),
        both("poisson_negative", lambda: td.poisson(td.tensor([-1.0, 2.0])),
             lambda: torch.poisson(torch.tensor([-1.0, 2.0])), DistributionError, "rates"),
        both("poisson_integer", lambda: td.poisson(td.tensor([1, 2])),
             lambda: torch.poisson(torch.tensor([1, 2])), RuntimeError, "floating"),
        both("binomial_integer_count", lambda: td.binomial(td.tensor([3, 4]), td.ones(2)),
             lambda: torch.binomial(torch.tensor([3, 4]), torch.ones(2)), TypeError,
             "floating"),
        both("binomial_dtypes",
             lambda: td.binomial(td.ones(2), td.ones(2, dtype=np.float64)),
             lambda: torch.binomial(torch.ones(2), torch.ones(2, dtype=torch.float64)),
             RuntimeError, "dtype"),
        both("multinomial_negative", lambda: td.multinomial(td.tensor([1.0, -2.0]), 1),
             lambda: torch.multinomial(torch.tensor([1.0, -2.0]), 1), DistributionError,
             "negative"),
        both("multinomial_inf", lambda: td.multinomial(td.tensor([1.0, np.inf]), 1),
             lambda: torch.multinomial(torch.tensor([1.0, np.inf]), 1), DistributionError,
             "inf"),
        both("multinomial_nan", lambda: td.multinomial(td.tensor([1.0, np.nan]), 1),
             lambda: torch.multinomial(torch.tensor([1.0, np.nan]), 1), DistributionError,
             "NaN"),
        both("multinomial_zero_sum", lambda: td.multinomial(td.zeros(3), 1, True),
             lambda: torch.multinomial(torch.zeros(3), 1, True), DistributionError, "sum"),
        both("multinomial_zero_row", lambda: td.multinomial(td.tensor([[1.0, 0], [0, 0]]), 1),
             lambda: torch.multinomial(torch.tensor([[1.0, 0], [0, 0]]), 1),
             DistributionError, "sum"),
        both("multinomial_too_many", lambda: td.multinomial(td.ones(3), 4),
             lambda: torch.multinomial(torch.ones(3), 4), DistributionError, "replacement"),
        both("multinomial_no_samples", lambda: td.multinomial(td.ones(3), 0),
             lambda: torch.multinomial(torch.ones(3), 0), DistributionError, "positive"),
        both("multinomial_3d", lambda: td.multinomial(td.ones(1, 1, 3), 1),
             lambda: torch.multinomial(torch.ones(1, 1, 3), 1), RuntimeError, "2-D"),
        both("multinomial_0d", lambda: td.multinomial(td.tensor(1.0), 1),
             lambda: torch.multinomial(torch.tensor(1.0), 1), RuntimeError, "1-D"),
        both("multinomial_integer", lambda: td.multinomial(td.tensor([1, 2]), 1),
             lambda: torch.multinomial(torch.tensor([1, 2]), 1), RuntimeError, "floating"),
        both("multinomial_float_count", lambda: td.multinomial(td.ones(2), 1.5),
             lambda: torch.multinomial(torch.ones(2), 1.5), TypeError, "int"),
        both("randperm_negative", lambda: td.randperm(-1), lambda: torch.randperm(-1),
             ValueError, "non-negative"),
        both("randperm_float_n", lambda: td.randperm(2.0), lambda: torch.randperm(2.0),
             TypeError, "int"),
        both("randperm_uint8_257", lambda: td.randperm(257, dtype=np.uint8),
             lambda: torch.randperm(257, dtype=torch.uint8), ValueError, "fit"),
        both("randperm_float16_2050", lambda: td.randperm(2050, dtype=np.float16),
             lambda: torch.randperm(2050, dtype=torch.float16), ValueError, "fit"),
        both("randperm_bool", lambda: td.randperm(3, dtype=np.bool_),
             lambda: torch.randperm(3, dtype=torch.bool), TypeError, "dtype"),
        both("randperm_int_requires_grad", lambda: td.randperm(3, requires_grad=True),
             lambda: torch.randperm(3, requires_grad=True), TypeError, "floating"),
        both("randint_like_uint8", lambda: td.randint_like(td.zeros(2, dtype=np.uint8), 300),
             lambda: torch.randint_like(torch.zeros(2, dtype=torch.uint8), 300),
             DistributionError, "out of bounds"),
        both("randint_like_empty_range", lambda: td.randint_like(td.zeros(2), 10, 3),
             lambda: torch.randint_like(torch.zeros(2), 10, 3), DistributionError, "from"),
        both("exponential__lambd", lambda: fresh((2,)).exponential_(0.0),
             lambda: torch.zeros(2).exponential_(0.0), DistributionError, "lambd"),
        both("exponential__integer", lambda: fresh((2,), i).exponential_(),
             lambda: torch.zeros(2, dtype=ti).exponential_(), TypeError, "floating"),
        both("geometric__p_one", lambda: fresh((2,)).geometric_(1.0),
             lambda: torch.zeros(2).geometric_(1.0), DistributionError, "(0, 1)"),
        both("geometric__p_zero", lambda: fresh((2,)).geometric_(0.0),
             lambda: torch.zeros(2).geometric_(0.0), DistributionError, "(0, 1)"),
        both("geometric__bool", lambda: fresh((2,), np.bool_).geometric_(0.5),
             lambda: torch.zeros(2, dtype=torch.bool).geometric_(0.5), RuntimeError, "bool"),
        both("log_normal__std", lambda: fresh((2,)).log_normal_(1.0, 0.0),
             lambda: torch.zeros(2).log_normal_(1.0, 0.0), DistributionError, "std"),
        both("log_normal__integer", lambda: fresh((2,), i).log_normal_(),
             lambda: torch.zeros(2, dtype=ti).log_normal_(), TypeError, "floating"),
        both("cauchy__sigma", lambda: fresh((2,)).cauchy_(0.0, -1.0),
             lambda: torch.zeros(2).cauchy_(0.0, -1.0), DistributionError, "sigma"),
        both("cauchy__integer", lambda: fresh((2,), i).cauchy_(),
             lambda: torch.zeros(2, dtype=ti).cauchy_(), TypeError, "floating"),
        both("random__float_bound", lambda: fresh((2,)).random_(1.5),
             lambda: torch.zeros(2).random_(1.5), TypeError, "int"),
        both("random__empty_range", lambda: fresh((2,)).random_(5, 2),
             lambda: torch.zeros(2).random_(5, 2), DistributionError, "from < to"),
        both("random__zero", lambda: fresh((2,)).random_(0),
             lambda: torch.zeros(2).random_(0), DistributionError, "from < to"),
        both("geometric__missing_p", lambda: fresh((2,), f).geometric_(),
             lambda: torch.zeros(2).geometric_(), TypeError, "p"),
    ]


@needs_torch
@pytest.mark.parametrize("ours, theirs, error, word", _error_cases())
def test_errors_where_torch_raises(ours, theirs, error, word):
    with pytest.raises(Exception):
        theirs()
    with pytest.raises(error) as info:
        ours()
    assert word in str(info.value)


def test_error_messages_name_the_op():
    for call, op in [(lambda: td.normal(td.zeros(2), -1.0), "normal"),
                     (lambda: td.multinomial(td.ones(3), 4), "multinomial"),
                     (lambda: fresh((2,)).geometric_(2.0), "geometric_"),
                     (lambda: td.zeros(2).random_(5, 2), "random_"),
                     (lambda: td.randint_like(td.zeros(2, dtype=np.int8), 200), "randint_like")]:
        with pytest.raises(Exception, match=op):
            call()


def test_deliberate_refusals_where_torch_returns_garbage():
    """torch returns -9.2e18 for an infinite Poisson rate and odd values for fractional or
    negative binomial counts; tinydl refuses them."""
    with pytest.raises(DistributionError, match="rates"):
        td.poisson(td.tensor([np.inf]))
    with pytest.raises(DistributionError, match="whole numbers"):
        td.binomial(td.tensor([2.5]), td.tensor([0.5]))
    with pytest.raises(DistributionError, match="whole numbers"):
        td.binomial(td.tensor([-2.0]), td.tensor([0.5]))
    with pytest.raises(DistributionError, match="prob"):
        td.binomial(td.tensor([2.0]), td.tensor([1.5]))
    u8 = fresh((200,), np.uint8).geometric_(1e-4).data  # saturates where torch wraps
    assert u8.max() == 255 and u8.min() >= 1


# ----------------------------------------------------------------------------- random_ ranges
RANGES = [(), (5,), (2, 5), (-3, 5), (0, 256), (0, 257), (-128, 0), (-129, 0),
          (0, 2 ** 11 + 1), (0, 2 ** 11 + 2), (0, 2 ** 24 + 1), (0, 2 ** 24 + 2),
          (0, 2 ** 31), (0, 2 ** 31 + 1), (-2 ** 31, 0), (-2 ** 31 - 1, 0),
          (0, 2 ** 53 + 2), (-1, None), (3, None)]
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_ranges_raise_and_warn_as_torch(dtype):
    """For each dtype and range: tinydl raises where torch raises, warns where torch warns
    (a float range beyond 2^mantissa), and otherwise draws within [from, to - 1]."""
    for args in RANGES:
        with warnings.catch_warnings(record=True) as theirs_warned:
            warnings.simplefilter("always")
            try:
                torch.zeros(3, dtype=getattr(torch, dtype)).random_(*args)
                theirs_ok = True
            except RuntimeError:
                theirs_ok = False
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            t = td.zeros(400, dtype=np.dtype(dtype))
            try:
                t.random_(*args)
                ours_ok = True
            except DistributionError:
                ours_ok = False
        assert ours_ok == theirs_ok, (dtype, args)
        assert bool(ours_warned) == bool(theirs_warned), (dtype, args)
        if ours_ok and len(args) == 2 and args[1] is not None:
            values = t.data.astype(np.float64)
            assert values.min() >= args[0] and values.max() <= args[1] - 1, (dtype, args)


@needs_torch
@pytest.mark.parametrize("n, dtype", [(256, "uint8"), (257, "uint8"), (2049, "float16"),
                                      (2050, "float16"), (128, "int8"), (129, "int8")])
def test_randperm_dtype_limits_as_torch(n, dtype):
    try:
        torch.randperm(n, dtype=getattr(torch, dtype))
        theirs_ok = True
    except RuntimeError:
        theirs_ok = False
    try:
        perm = td.randperm(n, dtype=np.dtype(dtype))
        assert np.array_equal(np.sort(perm.data.astype(np.int64)), np.arange(n))
        ours_ok = True
    except ValueError:
        ours_ok = False
    assert ours_ok == theirs_ok


def test_half_open_ranges_stay_open_after_rounding_to_the_dtype():
    # drawn in float64 (or as integers) and rounded to float16, samples reached the excluded
    # top: uniform_(0, 1) gave 1.0 about 250 times in 10^6, randint(0, 4000) gave 4000
    td.manual_seed(0)
    for fill in (lambda t: t.uniform_(0, 1), lambda t: td.nn.init.uniform_(t, -1, 1)):
        t = fill(td.zeros(10 ** 6, dtype=np.float16))
        assert t.data.max() < 1.0 and t.data.dtype == np.float16
    narrow = td.zeros(10 ** 5).uniform_(1, 1 + 2 ** -20)  # float32 spacing 2^-23 there
    assert narrow.data.max() < 1 + 2 ** -20 and narrow.data.min() >= 1
    ints = td.randint(0, 4000, (10 ** 5,), dtype=np.float16)
    assert ints.data.max() < 4000
    assert td.zeros(3).uniform_(2.0, 2.0).data.tolist() == [2.0, 2.0, 2.0]  # a == b: a


def test_randint_refuses_float_bounds_as_torch():
    # (NumPy truncates them: randint(2.7, 5) drew 2, below the bound)
    with pytest.raises(TypeError, match="randint: low must be an int"):
        td.randint(2.7, 5, (3,))
    with pytest.raises(TypeError, match="randint: high must be an int"):
        td.randint(0, 5.9, (3,))
    assert td.randint(0, td.tensor(5), (3,)).data.max() < 5  # an int tensor, as torch
    assert td.randint(np.int64(2), np.array(5), (3,)).data.min() >= 2


def test_poisson_of_a_0d_rate():
    td.manual_seed(0)
    sample = td.poisson(td.tensor(2.5))
    assert sample.shape == () and sample.dtype == np.float32


def test_gumbel_softmax_survives_an_exponential_draw_of_zero(monkeypatch):
    # NumPy's float32 exponential is exactly 0 about once in 10^7 draws; -log(0) made a
    # NaN row (torch's sampler never gives 0)
    import tinydl.nn.functional.activation as activation

    class Zeros:
        def standard_exponential(self, shape, dtype):
            return np.zeros(shape, dtype)

    monkeypatch.setattr(activation, "get_generator", lambda: Zeros())
    for hard in (False, True):
        y = td.nn.functional.gumbel_softmax(td.zeros(2, 5), hard=hard)
        assert np.isfinite(y.data).all()
        np.testing.assert_allclose(y.data.sum(axis=1), 1.0, rtol=1e-6)
