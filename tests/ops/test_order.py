"""tinydl/ops/order.py through the op table: torch's kthvalue, mode, aminmax, msort; NumPy's
nanquantile and nanmedian (and torch's nanmedian as the method). Then indices, ties, NaN,
empty slices, integer inputs, the torch spellings that raise, and errors, each against torch
or NumPy."""
import warnings

import numpy as np
import pytest
from scipy import stats

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, torch

X, X3 = (3, 4), (2, 3, 4)


def with_nans(rng, shape):
    """Standard normal with NaN at every third element (every slice keeps some numbers)."""
    x = rng.standard_normal(shape)
    x.flat[1::3] = np.nan
    return x


def small_integers(rng, shape):
    """Floats 0..3: slices with repeated values (ties of the mode)."""
    return rng.integers(0, 4, shape).astype(np.float64)


def _nan_lower_median(x, axis=None):
    """torch.nanmedian from its definition: the lower middle of the sorted non-NaN values."""
    return np.nanquantile(x, 0.5, axis=axis, method="lower")


QS = [0.0, 0.2, 0.5, 0.75, 1.0]

CASES = [
    OpCase("kthvalue", lambda x: td.kthvalue(x, 2).values,
           lambda x: np.sort(x, axis=-1)[..., 1], [X], torch=lambda x: torch.kthvalue(x, 2)[0],
           empty=[(0, 3)], zero_d=False),
    OpCase("kthvalue_dim0_keepdim", lambda x: td.kthvalue(x, 3, dim=0, keepdim=True).values,
           lambda x: np.sort(x, axis=0)[2:3], [X3[1:]],
           torch=lambda x: torch.kthvalue(x, 3, 0, True)[0]),
    OpCase("kthvalue_method_0d", lambda x: x.kthvalue(1).values, lambda x: x, [()],
           torch=lambda x: x.kthvalue(1)[0], zero_d=True),
    OpCase("mode_distinct", lambda x: td.mode(x).values, lambda x: x.min(axis=-1), [X3],
           torch=lambda x: torch.mode(x)[0], empty=[(0, 3, 4)]),
    OpCase("mode_ties", lambda x: x.mode(0).values,
           lambda x: stats.mode(x, axis=0, keepdims=False).mode, [Arg((7, 5), small_integers)],
           torch=lambda x: x.mode(0)[0], gradcheck=False, non_contiguous=False),
    OpCase("aminmax", td.aminmax, lambda x: (x.min(), x.max()), [X],
           torch=lambda x: tuple(torch.aminmax(x)), zero_d=True),
    OpCase("aminmax_dim", lambda x: x.aminmax(dim=1, keepdim=True),
           lambda x: (x.min(1, keepdims=True), x.max(1, keepdims=True)), [X3],
           torch=lambda x: tuple(x.aminmax(dim=1, keepdim=True)), empty=[(0, 3, 4)]),
    OpCase("msort", td.msort, lambda x: np.sort(x, axis=0), [X3], exact=True,
           torch=lambda x: torch.msort(x), empty=[(0, 2)]),
    OpCase("nanquantile", lambda x: td.nanquantile(x, 0.3), lambda x: np.nanquantile(x, 0.3),
           [Arg(X, with_nans)], torch=lambda x: torch.nanquantile(x, 0.3)),
    *[OpCase(f"nanquantile_{m}_dim1", lambda x, m=m: td.nanquantile(x, QS, dim=1, method=m),
             lambda x, m=m: np.nanquantile(x, QS, axis=1, method=m), [Arg(X3, with_nans)],
             torch=lambda x, m=m: torch.nanquantile(x, torch.tensor(QS, dtype=x.dtype), 1,
                                                    interpolation=m))
      for m in ("linear", "lower", "higher", "nearest", "midpoint")],
    OpCase("nanquantile_axes_keepdims",
           lambda x: td.nanquantile(x, [0.25, 0.6], axis=(0, 2), keepdims=True),
           lambda x: np.nanquantile(x, [0.25, 0.6], axis=(0, 2), keepdims=True),
           [Arg(X3, with_nans)]),
    OpCase("nanquantile_method", lambda x: x.nanquantile(0.6, 0, True),
           lambda x: np.nanquantile(x, 0.6, axis=0, keepdims=True), [Arg(X, with_nans)],
           torch=lambda x: x.nanquantile(0.6, 0, True)),
    OpCase("nanquantile_no_nans", lambda x: td.nanquantile(x, 0.8, axis=-1),
           lambda x: np.quantile(x, 0.8, axis=-1), [X3],
           torch=lambda x: torch.quantile(x, 0.8, -1), zero_d=False),
    OpCase("nanmedian", td.nanmedian, np.nanmedian, [Arg(X, with_nans)]),
    OpCase("nanmedian_axis0", lambda x: td.nanmedian(x, axis=0),
           lambda x: np.nanmedian(x, axis=0), [Arg((4, 5), with_nans)]),
    # the method is torch's: the lower middle value
    OpCase("nanmedian_method", lambda x: x.nanmedian(), _nan_lower_median, [Arg(X, with_nans)],
           torch=lambda x: x.nanmedian()),
    OpCase("nanmedian_method_dim", lambda x: x.nanmedian(dim=1),
           lambda x: _nan_lower_median(x, axis=1), [Arg((3, 5), with_nans)],
           torch=lambda x: x.nanmedian(dim=1).values),
]


class TestOrder(OpTable):
    cases = CASES


def _t(a, grad=False):
    return td.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_kthvalue_and_mode_indices_and_namedtuples():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5))
    out = td.kthvalue(_t(x), 4, axis=1)
    want = torch.kthvalue(torch.from_numpy(x), 4, 1)
    assert out.indices.dtype == np.int64 and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.indices.data, want.indices.numpy())
    values, indices = td.kthvalue(_t(x), 1, dim=0, keepdim=True)
    assert values.shape == indices.shape == (1, 5)
    np.testing.assert_array_equal(indices.data[0], x.argmin(0))
    assert td.mode(_t(x))._fields == ("values", "indices")


def test_kthvalue_ties_take_the_stable_order_and_nan_sorts_last():
    x = _t([3.0, 1.0, 2.0, 1.0, 3.0, 1.0], grad=True)
    assert [td.kthvalue(x, k).indices.item() for k in range(1, 7)] == [1, 3, 5, 2, 0, 4]
    td.kthvalue(x, 2).values.backward()
    assert x.grad.data.tolist() == [0, 0, 0, 1, 0, 0]
    y = td.kthvalue(_t([3.0, np.nan, 2.0, 1.0]), 4)
    w = torch.kthvalue(torch.tensor([3.0, np.nan, 2.0, 1.0], dtype=torch.float64), 4)
    assert np.isnan(y.values.item()) and y.indices.item() == w.indices.item() == 1


def test_mode_is_the_smallest_most_frequent_value_at_its_last_position_as_torch():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 9, 16):  # torch's index is the last position on slices this short
        x = rng.integers(0, 3, (20, n)).astype(np.float64)
        got = td.mode(_t(x), dim=1)
        want = torch.mode(torch.from_numpy(x), 1)
        np.testing.assert_array_equal(got.values.data, want.values.numpy())
        np.testing.assert_array_equal(got.indices.data, want.indices.numpy())
    x = rng.integers(0, 3, (4, 40))  # longer: the same values; the index is the last position
    got = td.mode(td.tensor(x), 1)
    np.testing.assert_array_equal(got.values.data, torch.mode(torch.from_numpy(x), 1)[0])
    for row, value, index in zip(x, got.values.data, got.indices.data):
        assert index == np.flatnonzero(row == value)[-1]
    assert got.values.dtype == np.int64
    b = td.mode(td.tensor([True, False, False]))
    assert b.values.item() is False and b.indices.item() == 2


def test_mode_counts_nans_as_one_value():
    out = td.mode(_t([np.nan, 1.0, np.nan, 2.0]))
    assert np.isnan(out.values.item()) and out.indices.item() == 2
    out = td.mode(_t([np.nan, np.nan, 1.0, 1.0]))
    assert out.values.item() == 1.0 and out.indices.item() == 3


def test_empty_slices_raise_as_torch_and_empty_others_give_empty_results():
    for fn, torch_fn in ((lambda x: td.kthvalue(x, 1, 0), lambda x: torch.kthvalue(x, 1, 0)),
                         (lambda x: td.mode(x, 0), lambda x: torch.mode(x, 0))):
        with pytest.raises(IndexError):
            torch_fn(torch.zeros(0, 3))
        with pytest.raises(IndexError, match="axis 0 of shape .* is empty"):
            fn(td.zeros(0, 3))
    values, indices = td.mode(td.zeros(0, 3), 1)
    assert values.shape == indices.shape == tuple(torch.mode(torch.zeros(0, 3), 1)[0].shape)
    with pytest.raises(ValueError, match="amin|min"):
        td.aminmax(td.zeros(0))


def test_nan_slices_and_empty_inputs_give_nan():
    x = _t([[1.0, np.nan, 3.0, 2.0], [np.nan] * 4], grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(td.nanmedian(x, axis=1).data,
                                      np.nanmedian(x.data, axis=1))
        np.testing.assert_array_equal(td.nanquantile(x, [0.1, 0.9], axis=1).data,
                                      np.nanquantile(x.data, [0.1, 0.9], axis=1))
        assert np.isnan(td.nanquantile(td.zeros(0), 0.5).item())
        assert np.isnan(np.nanquantile(np.zeros(0), 0.5))
    assert np.isnan(td.nanmedian(td.zeros(0)).item())
    assert np.isnan(torch.nanmedian(torch.zeros(0)).item())
    # an all-NaN slice: the gradient goes to its first NaN, as torch.nanquantile's
    td.nanquantile(x[1], 0.3).backward()
    assert x.grad.data[1].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_nanmedian_of_an_even_count_is_numpys_mean_and_the_method_torchs_lower():
    x = _t([4.0, np.nan, 1.0, 3.0, np.nan, 2.0], grad=True)
    assert td.nanmedian(x).item() == np.nanmedian(x.data) == 2.5
    assert x.nanmedian().item() == torch.nanmedian(torch.from_numpy(x.data)).item() == 2.0
    td.nanmedian(x).backward()
    assert x.grad.data.tolist() == [0.0, 0.0, 0.0, 0.5, 0.0, 0.5]
    inf = _t([np.inf, np.inf, 1.0, np.nan])  # the mean of the middle: inf, not inf - inf
    assert td.nanmedian(inf).item() == np.nanmedian(inf.data) == np.inf


def test_integer_inputs():
    i = td.tensor([[3, 1, 2, 4], [5, 5, 0, 1]])
    ti = torch.from_numpy(i.data)
    assert i.nanmedian().dtype == np.int64 and i.nanmedian().item() == torch.nanmedian(ti).item()
    assert td.nanmedian(i).dtype == np.float32 and td.nanmedian(i).item() == np.median(i.data)
    assert td.nanquantile(i, 0.5, axis=1).dtype == np.float32
    for fn, torch_fn in ((lambda x: td.kthvalue(x, 2), lambda x: torch.kthvalue(x, 2)),
                         (lambda x: td.mode(x, 1), lambda x: torch.mode(x, 1)),
                         (lambda x: td.aminmax(x, dim=0), lambda x: torch.aminmax(x, dim=0))):
        for got, want in zip(fn(i), torch_fn(ti)):
            assert got.dtype == want.numpy().dtype
            np.testing.assert_array_equal(got.data, want.numpy())


def test_torch_spellings_that_would_get_numpys_answer_raise():
    x = _t([[1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(TypeError, match="nanmedian: dim= is torch's spelling"):
        td.nanmedian(x, dim=1)
    with pytest.raises(TypeError, match="cannot unpack"):
        values, indices = x.nanmedian(1)
    assert x.nanmedian(1).item() == 2.0 and td.nanmedian(x, axis=1).item() == 2.5


def test_numpy_functions_on_tensors_run_these_ops():
    rng = np.random.default_rng(2)
    a = with_nans(rng, (3, 4))
    t = _t(a, grad=True)
    for fn in (lambda x: np.nanmedian(x, axis=1), lambda x: np.nanquantile(x, [0.2, 0.7]),
               lambda x: np.nanquantile(x, 0.4, axis=0, method="nearest", keepdims=True)):
        out = fn(t)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, fn(a), rtol=1e-12)
        assert td.gradcheck(fn, [t])
    with pytest.raises(TypeError, match="numpy.nanquantile .*method='weibull'"):
        np.nanquantile(t, 0.5, method="weibull")


@pytest.mark.parametrize("call, torch_call, match", [
    (lambda: td.kthvalue(td.ones(3), 4), lambda: torch.kthvalue(torch.ones(3), 4),
     r"kthvalue: k must be an int in \[1, 3\]"),
    (lambda: td.kthvalue(td.ones(3), 0), lambda: torch.kthvalue(torch.ones(3), 0),
     r"kthvalue: k must be an int in \[1, 3\]"),
    (lambda: td.kthvalue(td.ones(3), 1, 1), lambda: torch.kthvalue(torch.ones(3), 1, 1),
     "kthvalue: axis 1 is out of bounds"),
    (lambda: td.mode(td.ones(2, 3), 2), lambda: torch.mode(torch.ones(2, 3), 2),
     "mode: axis 2 is out of bounds"),
    (lambda: td.nanquantile(td.ones(3), 1.5), lambda: torch.nanquantile(torch.ones(3), 1.5),
     r"nanquantile: q must lie in \[0, 1\]"),
    (lambda: td.nanquantile(td.ones(3), 0.5, method="cubic"),
     lambda: torch.nanquantile(torch.ones(3), 0.5, interpolation="cubic"),
     "nanquantile: method must be one of"),
])
def test_errors_name_the_op_where_torch_raises(call, torch_call, match):
    with pytest.raises((RuntimeError, IndexError, ValueError)):
        torch_call()
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()


@pytest.mark.parametrize("shape", [(5,), (4, 6), (3, 4, 5), ()])
def test_integer_median_methods_pick_the_exact_element_beyond_2_53(shape):
    # through float64 an int64 above 2**53 came back rounded: 2**60 + 1, + 3, + 5 gave 2**60
    assert td.tensor([2**60 + 1, 2**60 + 3, 2**60 + 5]).median().item() == 2**60 + 3
    x = np.random.default_rng(0).integers(-2**62, 2**62, shape)
    whole = td.tensor(x).median()
    assert whole.dtype == np.int64 and whole.item() == int(np.sort(x, axis=None)[(x.size - 1) // 2])
    for dim in range(-len(shape), len(shape)):
        for keepdim in (False, True):
            for method in ("median", "nanmedian"):
                got = getattr(td.tensor(x), method)(dim, keepdim=keepdim)
                want = np.take(np.sort(x, axis=dim), [(x.shape[dim] - 1) // 2], axis=dim)
                want = want if keepdim else np.squeeze(want, axis=dim)
                assert got.dtype == np.int64 and np.array_equal(got.data, want), (method, dim)
                if torch is not None:
                    theirs = getattr(torch.tensor(x), method)(dim, keepdim=keepdim).values
                    assert np.array_equal(got.data, theirs.numpy())
    with pytest.raises(ValueError, match="median: cannot take the median of an empty slice"):
        td.zeros(0, dtype=np.int64).median()
