"""tinydl/ops/nanreduce.py and tinydl/ops/numpy_math.py through the op table: NumPy's
nanmax, nanmin, nanprod, nancumsum, nancumprod, nanvar, nanstd, percentile, nanpercentile,
ptp, average, nan_to_num, cbrt, modf, divmod (NumPy as the reference, torch where it has the
op). Then all-NaN slices (NaN without warnings, nanargmax's ValueError), the integer results,
the NumPy interop and the errors."""
import warnings

import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, off_zero, positive, torch
from tests.ops.test_order import with_nans

X, X3 = (3, 4), (2, 3, 4)


def with_specials(rng, shape):
    """Standard normal with NaN, +inf and -inf among the values."""
    x = rng.standard_normal(shape)
    x.flat[1::4] = np.nan
    x.flat[2::5] = np.inf
    x.flat[3::7] = -np.inf
    return x


def nan_row(name, fn, ref, shape=X, torch=None, zero_d=True, empty=None, **kw):
    """A row for an op of one input holding NaN."""
    return OpCase(name, fn, ref, [Arg(shape, with_nans)], torch=torch, zero_d=zero_d,
                  empty=None if empty is None else [empty], **kw)


PS = [0.0, 10.0, 50.0, 75.0, 100.0]

CASES = [
    nan_row("nanmax", td.nanmax, np.nanmax),
    nan_row("nanmax_dim1_keepdim", lambda x: td.nanmax(x, dim=1, keepdim=True),
            lambda x: np.nanmax(x, 1, keepdims=True), X3, zero_d=False),
    nan_row("nanmin", td.nanmin, np.nanmin),
    nan_row("nanmin_axes", lambda x: td.nanmin(x, axis=(0, 2)),
            lambda x: np.nanmin(x, (0, 2)), X3, zero_d=False),
    nan_row("nanprod", td.nanprod, np.nanprod, empty=(0, 3)),
    nan_row("nanprod_axis0", lambda x: td.nanprod(x, axis=0), lambda x: np.nanprod(x, 0),
            zero_d=False, empty=(0, 3)),
    nan_row("nancumsum", td.nancumsum, np.nancumsum, empty=(0, 3)),
    nan_row("nancumsum_dim1", lambda x: td.nancumsum(x, dim=1), lambda x: np.nancumsum(x, 1),
            X3, zero_d=False, empty=(2, 0, 3)),
    nan_row("nancumprod", td.nancumprod, np.nancumprod, empty=(0, 3)),
    nan_row("nancumprod_dim1", lambda x: td.nancumprod(x, dim=1),
            lambda x: np.nancumprod(x, 1), X3, zero_d=False, empty=(2, 0, 3)),
    nan_row("nanvar", td.nanvar, np.nanvar, empty=(0, 3)),
    nan_row("nanvar_axis1_ddof1", lambda x: td.nanvar(x, axis=1, ddof=1),
            lambda x: np.nanvar(x, 1, ddof=1), X3, zero_d=False),
    nan_row("nanvar_correction_keepdim",
            lambda x: td.nanvar(x, dim=0, correction=1, keepdim=True),
            lambda x: np.nanvar(x, 0, ddof=1, keepdims=True), zero_d=False),
    nan_row("nanstd", td.nanstd, np.nanstd),
    nan_row("nanstd_axis0", lambda x: td.nanstd(x, axis=0, keepdims=True),
            lambda x: np.nanstd(x, 0, keepdims=True), zero_d=False),
    OpCase("percentile", lambda x: td.percentile(x, 30), lambda x: np.percentile(x, 30), [X],
           torch=lambda x: torch.quantile(x, 0.3), zero_d=True),
    *[OpCase(f"percentile_{m}_dim1", lambda x, m=m: td.percentile(x, PS, dim=1, method=m),
             lambda x, m=m: np.percentile(x, PS, axis=1, method=m), [X3],
             torch=lambda x, m=m: torch.quantile(x, torch.tensor(PS, dtype=x.dtype) / 100, 1,
                                                 interpolation=m))
      for m in ("linear", "lower", "higher", "nearest", "midpoint")],
    OpCase("percentile_axes_keepdims",
           lambda x: td.percentile(x, [25, 60], axis=(0, 2), keepdims=True),
           lambda x: np.percentile(x, [25, 60], axis=(0, 2), keepdims=True), [X3]),
    nan_row("nanpercentile", lambda x: td.nanpercentile(x, 40),
            lambda x: np.nanpercentile(x, 40), torch=lambda x: torch.nanquantile(x, 0.4)),
    nan_row("nanpercentile_axis0_nearest",
            lambda x: td.nanpercentile(x, PS, axis=0, method="nearest"),
            lambda x: np.nanpercentile(x, PS, axis=0, method="nearest"), zero_d=False,
            torch=lambda x: torch.nanquantile(x, torch.tensor(PS, dtype=x.dtype) / 100, 0,
                                              interpolation="nearest")),
    OpCase("ptp", td.ptp, np.ptp, [X], zero_d=True),
    OpCase("ptp_axis1_keepdims", lambda x: td.ptp(x, axis=1, keepdims=True),
           lambda x: np.ptp(x, 1, keepdims=True), [X3]),
    OpCase("average", td.average, np.average, [X], zero_d=True),
    OpCase("average_weights", lambda x, w: td.average(x, weights=w),
           lambda x, w: np.average(x, weights=w), [X, Arg(X, positive)], zero_d=True),
    OpCase("average_weights_1d_axis", lambda x, w: td.average(x, 1, w, keepdims=True),
           lambda x, w: np.average(x, 1, w, keepdims=True), [X3, Arg((3,), positive)]),
    OpCase("average_weights_2_axes", lambda x, w: td.average(x, (2, 0), w),
           lambda x, w: np.average(x, (2, 0), w), [X3, Arg((4, 2), positive)]),
    OpCase("average_returned", lambda x, w: td.average(x, 0, w, returned=True),
           lambda x, w: np.average(x, 0, w, returned=True), [X, Arg(X, positive)]),
    # (the default +-inf limits are the dtype's: tested below, the table's float32 check
    # compares with a float64 reference)
    OpCase("nan_to_num", td.nan_to_num, np.nan_to_num, [Arg(X3, with_nans)],
           torch=lambda x: torch.nan_to_num(x), zero_d=True, empty=[(0, 3)]),
    OpCase("nan_to_num_values", lambda x: td.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-7.0),
           lambda x: np.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-7.0),
           [Arg(X3, with_specials)],
           torch=lambda x: torch.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-7.0)),
    OpCase("nan_to_num_method", lambda x: x.nan_to_num(2.0, 3.0, -4.0),
           lambda x: np.nan_to_num(x, nan=2.0, posinf=3.0, neginf=-4.0),
           [Arg(X, with_specials)], torch=lambda x: x.nan_to_num(2.0, 3.0, -4.0)),
    OpCase("cbrt", td.cbrt, np.cbrt, [Arg(X3, off_zero)], zero_d=True, empty=[(0, 3)]),
    OpCase("modf", td.modf, np.modf, [Arg(X3, lambda rng, s: 3 * off_zero(rng, s))],
           torch=lambda x: (torch.frac(x), torch.trunc(x)), zero_d=True, empty=[(0, 3)]),
    OpCase("divmod", td.divmod, np.divmod, [X3, Arg(X3, positive)],
           torch=lambda a, b: (torch.div(a, b, rounding_mode="floor"), torch.remainder(a, b)),
           zero_d=True),
]


class TestNanReduce(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- all-NaN slices
ALL_NAN = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, -2.0]])


@pytest.mark.parametrize("name", ["nanmax", "nanmin", "nanvar", "nanstd", "nanpercentile"])
def test_an_all_nan_slice_gives_nan_without_warnings_and_no_gradient(name):
    x = td.Tensor(ALL_NAN, requires_grad=True)
    extra = (50,) if name == "nanpercentile" else ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(np, name)(ALL_NAN, *extra, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(td, name)(x, *extra, axis=1)
        out.sum().backward() if name != "nanpercentile" else out[1].backward()
    np.testing.assert_allclose(out.data, expected, equal_nan=True, rtol=1e-12)
    assert not x.grad.data[0].any() and not x.grad.data[:, 1].any()
    assert np.isfinite(x.grad.data).all()


def test_nanmax_gradient_goes_to_the_maximum_and_ties_share_it():
    x = td.Tensor(np.array([[np.nan, 3.0, 3.0, 1.0]]), requires_grad=True)
    td.nanmax(x).backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.5, 0.5, 0.0]])
    # a -inf maximum: shared by the -inf entries only, not by the NaNs read as -inf
    x = td.Tensor(np.array([-np.inf, np.nan, -np.inf]), requires_grad=True)
    td.nanmax(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 0.5])


def test_nanargmax_nanargmin_match_numpy_and_raise_on_all_nan_slices():
    rng = np.random.default_rng(3)
    x = with_nans(rng, X3)
    for name in ("nanargmax", "nanargmin"):
        for kw in ({}, {"axis": 1}, {"axis": -1, "keepdims": True}):
            out = getattr(td, name)(td.Tensor(x), **kw)
            assert out.dtype == np.int64 and not out.requires_grad
            np.testing.assert_array_equal(out.data, getattr(np, name)(x, **kw))
        assert getattr(td, name)(td.Tensor(x), dim=2).shape == (2, 3)
        with pytest.raises(ValueError, match=f"{name}: All-NaN slice encountered"):
            getattr(td, name)(td.Tensor(ALL_NAN), axis=1)
        with pytest.raises(ValueError, match=f"{name}: All-NaN slice encountered"):
            getattr(td, name)(td.Tensor(np.full(3, np.nan)))
        some = ALL_NAN[:, [0, 2]]  # a NaN in every column, no column of NaNs only
        np.testing.assert_array_equal(getattr(td, name)(td.Tensor(some), axis=0).data,
                                      getattr(np, name)(some, axis=0))
        with pytest.raises(ValueError, match=f"{name}: reduction over a zero-length axis"):
            getattr(td, name)(td.zeros(0, 3), axis=0)


def test_integer_inputs_follow_numpy_where_it_has_no_nans():
    a = np.array([[3, 1, 4], [1, 5, 9]])
    t = td.Tensor(a)
    assert td.nanmax(t, axis=1).dtype == np.int64
    np.testing.assert_array_equal(td.nanmax(t, axis=1).data, np.nanmax(a, axis=1))
    np.testing.assert_array_equal(td.nanargmin(t, axis=0).data, np.nanargmin(a, axis=0))
    np.testing.assert_array_equal(td.nanprod(t).data, np.nanprod(a))
    np.testing.assert_array_equal(td.nancumsum(t).data, np.nancumsum(a))
    np.testing.assert_array_equal(td.nancumprod(t).data, np.nancumprod(a))
    np.testing.assert_allclose(td.nanvar(t, axis=1).data, np.nanvar(a, axis=1), rtol=1e-6)
    np.testing.assert_array_equal(td.ptp(t, axis=0).data, np.ptp(a, axis=0))
    assert td.ptp(t).dtype == np.int64
    np.testing.assert_allclose(td.average(t, axis=0, weights=[1, 3]).data,
                               np.average(a, axis=0, weights=[1, 3]), rtol=1e-6)
    np.testing.assert_allclose(td.cbrt(td.Tensor(np.array([-8, 27]))).data, [-2.0, 3.0])
    np.testing.assert_array_equal(td.nan_to_num(t).data, a)


def test_empty_and_degenerate_slices_as_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(td.nanvar(td.Tensor([1.0, np.nan]), ddof=1).item())  # dof = 0
        assert td.nanprod(td.Tensor([np.nan, np.nan])).item() == 1.0
        assert td.nanstd(td.Tensor(np.array([2.0, 2.0, np.nan]))).item() == 0.0
    with pytest.raises(ValueError, match="max: reduction over a zero-length axis"):
        td.nanmax(td.zeros(0, 3), axis=0)
    with pytest.raises(ValueError, match="ptp|max"):
        td.ptp(td.zeros(0))


def test_nanstd_of_a_constant_slice_has_zero_gradient():
    x = td.Tensor(np.array([2.0, np.nan, 2.0]), requires_grad=True)
    td.nanstd(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_modf_signed_zeros_and_infinities_as_numpy():
    x = np.array([-8.0, -0.0, 0.0, np.inf, -np.inf, np.nan, -2.5])
    t = td.Tensor(x, requires_grad=True)
    frac, whole = td.modf(t)
    ef, ew = np.modf(x)
    np.testing.assert_array_equal(frac.data, ef)
    np.testing.assert_array_equal(np.signbit(frac.data), np.signbit(ef))
    np.testing.assert_array_equal(whole.data, ew)
    frac.sum().backward()
    np.testing.assert_array_equal(t.grad.data, [1, 1, 1, 0, 0, 1, 1])


def test_nan_to_num_gradient_and_float32_limits_as_torch():
    x = np.array([1.0, np.nan, np.inf, -np.inf], np.float32)
    t = td.Tensor(x, requires_grad=True)
    out = td.nan_to_num(t)
    assert out.dtype == np.float32
    if torch is not None:
        np.testing.assert_array_equal(out.data, torch.nan_to_num(torch.tensor(x)).numpy())
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.data, [1, 0, 0, 0])


def test_numpy_functions_on_tensors_run_these_ops():
    rng = np.random.default_rng(5)
    x = with_nans(rng, X)
    t = td.Tensor(x, requires_grad=True)
    for name in ("nanmax", "nanmin", "nanprod", "nanvar", "nanstd", "nancumsum", "nancumprod",
                 "ptp"):
        out = getattr(np, name)(t, axis=1)
        assert isinstance(out, td.Tensor) and out.requires_grad, name
        np.testing.assert_allclose(out.data, getattr(np, name)(x, axis=1), rtol=1e-12)
    out = np.nanpercentile(t, [20, 80], axis=0)
    assert out.requires_grad
    np.testing.assert_allclose(out.data, np.nanpercentile(x, [20, 80], axis=0), rtol=1e-12)
    y = rng.standard_normal(X)
    assert np.percentile(td.Tensor(y), 30).item() == pytest.approx(np.percentile(y, 30))
    avg, scale = np.average(td.Tensor(y, requires_grad=True), 1, [1.0, 2, 3, 4], True)
    assert avg.requires_grad
    np.testing.assert_allclose(avg.data, np.average(y, 1, [1.0, 2, 3, 4]), rtol=1e-12)
    np.testing.assert_array_equal(scale.data, [10.0] * 3)
    assert np.nanargmax(t, axis=0).data.tolist() == np.nanargmax(x, axis=0).tolist()
    assert np.nan_to_num(t).requires_grad and np.cbrt(t).requires_grad
    frac, whole = np.modf(t)
    assert frac.requires_grad and isinstance(whole, td.Tensor)
    with pytest.raises(TypeError, match="numpy.percentile"):
        np.percentile(td.Tensor(y), 30, method="weibull")


def test_errors_name_the_op():
    x = td.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"percentile: percentiles must lie in \[0, 100\]"):
        td.percentile(x, 120)
    with pytest.raises(ValueError, match=r"nanpercentile: percentiles must lie in \[0, 100\]"):
        td.nanpercentile(x, -1)
    with pytest.raises(ValueError, match="percentile: tinydl computes the methods"):
        td.percentile(x, 50, method="hazen")
    with pytest.raises(ZeroDivisionError, match="average: weights sum to zero"):
        td.average(x, axis=1, weights=[1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match=r"average: weights of shape \(2,\) do not fit"):
        td.average(x, axis=1, weights=[1.0, 2.0])
    with pytest.raises(TypeError, match="average: weights of shape"):
        td.average(x, weights=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="ptp: boolean"):
        td.ptp(td.Tensor(np.array([True, False])))
    # torch's nan_to_num(x, 1.0) is nan=1.0; NumPy's second positional is copy: refused
    with pytest.raises(TypeError, match="nan_to_num: the second argument is NumPy's copy"):
        td.nan_to_num(x, 1.0)
    with pytest.raises(ValueError, match="nan_to_num: copy=False"):
        td.nan_to_num(x, copy=False)
    with pytest.raises(TypeError, match="nanvar: got both 'ddof'"):
        td.nanvar(x, ddof=1, correction=1)
