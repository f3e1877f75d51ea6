"""tinydl/ops/scan.py through the op table: cumsum, cumprod (also at zeros), cummax, cummin,
logcumsumexp, plus what a row cannot state: gradients at zeros and their second derivatives
against torch, ties and NaN in cummax/cummin, 0-d and integer inputs, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl as td
from tests import _reference as ref
from tests.ops._table import (Arg, OpCase, OpTable, check_drawn_view, drawn_arrays,
                              first_and_second_derivatives,
                              rows_by_name, torch)

X, X3 = (3, 4), (2, 3, 4)


def scan(name, fn, ref_fn, shape=X, torch=None, zero_d=None, empty=None, sample=None, **kw):
    """A row for a scan of one (3, 4) or (2, 3, 4) input (standard normal unless ``sample``)."""
    arg = Arg(shape) if sample is None else Arg(shape, sample)
    return OpCase(name, fn, ref_fn, [arg], torch=torch, zero_d=zero_d,
                  empty=None if empty is None else [empty], **kw)


def with_zeros(rng, shape):
    """Standard normal with zeros placed so that, along the last axis, row 0 has none, row 1
    one and row 2 two (and along the first axis, some columns have one or two)."""
    x = rng.standard_normal(shape)
    if x.ndim == 2 and x.shape == X:
        x[1, 2] = x[2, 0] = x[2, 3] = 0.0
    elif x.ndim == 1:
        x[1::3] = 0.0
    return x


CASES = [
    # cumsum: NumPy's axis=None flattens; torch's dim is an alias
    scan("cumsum", td.cumsum, np.cumsum, zero_d=True, empty=(0, 3),
         torch=lambda x: torch.cumsum(x.reshape(-1), 0)),
    scan("cumsum_axis1", lambda x: td.cumsum(x, axis=1), lambda x: np.cumsum(x, 1),
         empty=(3, 0), torch=lambda x: torch.cumsum(x, 1)),
    scan("cumsum_dim0", lambda x: td.cumsum(x, dim=0), lambda x: np.cumsum(x, 0), X3,
         empty=(0, 2, 3), torch=lambda x: torch.cumsum(x, dim=0)),
    scan("cumsum_axis_neg", lambda x: td.cumsum(x, -1), lambda x: np.cumsum(x, -1), X3,
         torch=lambda x: torch.cumsum(x, -1)),
    scan("cumsum_0d_axis0", lambda x: td.cumsum(x, 0), lambda x: x.copy(), (),
         non_contiguous=False, torch=lambda x: torch.cumsum(x, 0)),
    # cumprod, also with one and with several zeros per slice
    scan("cumprod", td.cumprod, lambda x: np.cumprod(x), zero_d=True, empty=(0, 3),
         torch=lambda x: torch.cumprod(x.reshape(-1), 0)),
    scan("cumprod_axis1", lambda x: td.cumprod(x, axis=1), lambda x: np.cumprod(x, 1),
         empty=(3, 0), torch=lambda x: torch.cumprod(x, 1)),
    scan("cumprod_dim0", lambda x: td.cumprod(x, dim=0), lambda x: np.cumprod(x, 0), X3,
         torch=lambda x: torch.cumprod(x, 0)),
    scan("cumprod_zeros_axis1", lambda x: td.cumprod(x, axis=1), lambda x: np.cumprod(x, 1),
         sample=with_zeros, torch=lambda x: torch.cumprod(x, 1)),
    scan("cumprod_zeros_axis0", lambda x: td.cumprod(x, axis=0), lambda x: np.cumprod(x, 0),
         sample=with_zeros, torch=lambda x: torch.cumprod(x, 0)),
    scan("cumprod_zeros_flat", td.cumprod, lambda x: np.cumprod(x), (7,), sample=with_zeros,
         torch=lambda x: torch.cumprod(x, 0)),
    # cummax / cummin: (values, indices); the table checks each output as its own row
    scan("cummax_values", lambda x: td.cummax(x, 1).values,
         lambda x: ref.running_extremum(x, 1)[0], empty=(0, 3),
         torch=lambda x: torch.cummax(x, 1).values),
    scan("cummax_indices", lambda x: td.cummax(x, axis=1).indices,
         lambda x: ref.running_extremum(x, 1)[1], empty=(3, 0), out_dtype=np.int64,
         grad=False, exact=True, torch=lambda x: torch.cummax(x, 1).indices),
    scan("cummax_values_dim0", lambda x: td.cummax(x, dim=0)[0],
         lambda x: ref.running_extremum(x, 0)[0], X3,
         torch=lambda x: torch.cummax(x, 0)[0]),
    scan("cummin_values", lambda x: td.cummin(x, -1).values,
         lambda x: ref.running_extremum(x, -1, "min")[0], X3, empty=(2, 0, 3),
         torch=lambda x: torch.cummin(x, -1).values),
    scan("cummin_indices", lambda x: td.cummin(x, 0).indices,
         lambda x: ref.running_extremum(x, 0, "min")[1], out_dtype=np.int64, grad=False,
         exact=True, torch=lambda x: torch.cummin(x, 0).indices),
    scan("cummax_values_0d", lambda x: td.cummax(x, 0).values, lambda x: x.copy(), (),
         non_contiguous=False, torch=lambda x: torch.cummax(x, 0).values),
    # logcumsumexp
    scan("logcumsumexp_axis1", lambda x: td.logcumsumexp(x, 1),
         lambda x: ref.logcumsumexp(x, 1), empty=(0, 3),
         torch=lambda x: torch.logcumsumexp(x, 1)),
    scan("logcumsumexp_dim0", lambda x: td.logcumsumexp(x, dim=0),
         lambda x: ref.logcumsumexp(x, 0), X3, empty=(0, 3),
         torch=lambda x: torch.logcumsumexp(x, 0)),
    scan("logcumsumexp_0d", lambda x: td.logcumsumexp(x, -1), lambda x: x.copy(), (),
         non_contiguous=False, torch=lambda x: torch.logcumsumexp(x, -1)),
]

BY_NAME = rows_by_name(CASES)


class TestScan(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- beyond a row
_needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) missing")


@_needs_torch
@pytest.mark.parametrize("zeros", [[], [2], [0], [5], [1, 4], [0, 5], [2, 3], [1, 3, 4],
                                   [0, 1, 2, 3, 4, 5]])
def test_cumprod_gradients_at_zeros_match_torch(zeros):
    # One zero, several, at either end, adjacent, all: first and second derivatives as torch.
    rng = np.random.default_rng(len(zeros))
    x = rng.standard_normal(6)
    x[zeros] = 0.0
    v, w = rng.standard_normal(6), rng.standard_normal(6)
    got = first_and_second_derivatives(lambda t: td.cumprod(t, 0), x, v, w, "td")
    want = first_and_second_derivatives(lambda t: torch.cumprod(t, 0), x, v, w, "torch")
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-12)
    # the first derivative without create_graph takes the short path: the same values
    t = td.Tensor(x, requires_grad=True)
    (td.cumprod(t, 0) * td.Tensor(v)).sum().backward()
    np.testing.assert_allclose(t.grad.data, want[0], rtol=1e-12, atol=1e-12)


def test_cumprod_zeros_gradgradcheck_in_every_slice():
    x = np.array([[0.0, 1.5, 0.0, -2.0], [0.7, 0.0, 0.0, 0.0], [1.1, -0.4, 0.9, 1.3]])
    for axis in (0, 1):
        t = td.Tensor(x, requires_grad=True)
        assert td.gradgradcheck(lambda a: td.cumprod(a, axis), [t])


@_needs_torch
def test_cummax_cummin_ties_and_nan_match_torch():
    x = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 1.0, -1.0, -1.0])
    for name in ("cummax", "cummin"):
        t = td.Tensor(x, requires_grad=True)
        values, indices = getattr(td, name)(t, 0)
        tt = torch.from_numpy(x).requires_grad_()
        want = getattr(torch, name)(tt, 0)
        np.testing.assert_array_equal(values.data, want.values.detach().numpy())
        np.testing.assert_array_equal(indices.data, want.indices.numpy())
        assert indices.dtype == np.int64 and not indices.requires_grad
        v = np.arange(1.0, 11.0)
        (values * td.Tensor(v)).sum().backward()
        (want.values * torch.from_numpy(v)).sum().backward()
        np.testing.assert_array_equal(t.grad.data, tt.grad.numpy())
    # ties without NaN: the later index, as torch
    values, indices = td.cummin(td.Tensor([2.0, 1.0, 1.0, 3.0, 1.0]), 0)
    np.testing.assert_array_equal(indices.data, [0, 1, 2, 2, 4])


def test_cummax_result_is_a_named_pair():
    out = td.cummax(td.Tensor([[1.0, 0.0, 2.0]]), dim=1)
    values, indices = out
    assert isinstance(out, tuple) and out.values is values and out.indices is indices
    np.testing.assert_array_equal(indices.data, [[0, 0, 2]])


def test_integer_and_bool_scans_give_int64_as_torch():
    for data in (np.array([1, 2, 3], dtype=np.int32), np.array([True, False, True])):
        assert td.cumsum(td.Tensor(data), 0).dtype == np.int64
        assert td.cumprod(td.Tensor(data), 0).dtype == np.int64
    np.testing.assert_array_equal(td.cumsum(td.Tensor(np.array([True, True])), 0).data, [1, 2])
    out = td.cumsum(td.Tensor(np.array([1, 2], dtype=np.int64)), 0, dtype=np.float32)
    assert out.dtype == np.float32
    values, indices = td.cummax(td.Tensor(np.array([3, 1, 4, 4])), 0)
    np.testing.assert_array_equal(values.data, [3, 3, 4, 4])
    np.testing.assert_array_equal(indices.data, [0, 0, 2, 3])


@_needs_torch
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # torch's NaN, below
def test_logcumsumexp_is_stable_and_its_gradient_matches_torch():
    x = np.array([[1e4, -1e4, 3.0, 1e4 + 1.0], [-np.inf, 0.0, 1.0, 2.0]])
    t = td.Tensor(x, requires_grad=True)
    out = td.logcumsumexp(t, 1)
    tt = torch.from_numpy(x).requires_grad_()
    want = torch.logcumsumexp(tt, 1)
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-14)
    v = np.array([[1.0, -2.0, 0.5, 0.0], [0.5, -1.0, 2.0, 1.0]])
    (out * td.Tensor(v)).sum().backward()
    (want * torch.from_numpy(v)).sum().backward()
    # torch's gradient at a -inf that starts a slice is NaN (exp(-inf + inf)); so is ours
    np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_float32_logcumsumexp_stays_float32_and_finite():
    x = td.Tensor(np.array([80.0, 90.0, 100.0], dtype=np.float32), requires_grad=True)
    out = td.logcumsumexp(x, 0)
    out.sum().backward()
    assert out.dtype == np.float32 and np.isfinite(out.data).all()
    assert np.isfinite(x.grad.data).all()


def test_scan_errors_name_the_op():
    x = td.zeros(2, 3)
    with pytest.raises(ValueError, match="cumsum: axis 2 is out of bounds"):
        td.cumsum(x, 2)
    with pytest.raises(TypeError, match="cumprod: axis must be one int"):
        td.cumprod(x, (0, 1))
    with pytest.raises(ValueError, match="cummax: axis 1 is out of bounds"):
        td.cummax(td.tensor(1.0), 1)
    with pytest.raises(TypeError, match="logcumsumexp: expected a floating tensor"):
        td.logcumsumexp(td.tensor([1, 2]), 0)


def test_scans_retain_what_they_declare():
    # cumsum keeps nothing: a non-leaf input is freed; its backward still runs
    x = td.Tensor(np.arange(1.0, 5.0), requires_grad=True)
    y = td.cumsum(x * 2.0, 0)
    assert type(y._ctx.inputs[0]).__name__ == "_Edge"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [8.0, 6.0, 4.0, 2.0])


@settings(max_examples=20, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(["cumsum_axis1", "cumprod_axis1",
                                                 "logcumsumexp_axis1", "cummax_values"]))
def test_scans_on_drawn_non_contiguous_inputs(arr, name):
    # Drawn values may tie (cummax): its gradient is checked on the rows' untied draws.
    # Subnormals become zeros: cumprod's gradient g y / x (torch's too) loses them to underflow.
    arr = np.where(np.abs(arr) < np.finfo(np.float64).tiny, 0.0, arr)
    check_drawn_view(BY_NAME[name], arr, gradcheck=name != "cummax_values")


def test_scans_of_unsigned_and_bool_give_int64_as_torch():
    u8 = td.tensor(np.array([1, 2, 250], np.uint8))
    assert td.cumsum(u8, dim=0).dtype == np.int64 == td.cumprod(u8, dim=0).dtype
    np.testing.assert_array_equal(td.cumsum(u8, dim=0).numpy(), [1, 3, 253])
    assert td.cumsum(td.tensor([True, True]), dim=0).dtype == np.int64
    assert td.cumsum(u8, dim=0, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_cumprod_along_a_length_one_axis_passes_the_gradient(value):
    """cumprod over one element is the element: dx = g (revcumsum(g y) / x was NaN at inf;
    torch gives 1)."""
    x = td.tensor([[value, 2.0]], requires_grad=True)
    td.cumprod(x, 0).sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("scan", [td.cumsum, td.cumprod])
def test_integer_scans_keep_the_requested_dtype(scan):
    """dtype=int8 casts the input and the scan stays int8 (it wraps, as torch and NumPy with
    dtype=); NumPy's scan of an int8 array widened it to int64 silently. Without dtype=,
    integer and bool input scans in int64, as torch."""
    out = scan(td.tensor(np.array([100, 100, 1])), 0, dtype=np.int8)
    assert out.dtype == np.int8
    assert out.tolist() == np.asarray(getattr(np, scan.__name__)(
        np.array([100, 100, 1], np.int8), dtype=np.int8)).tolist()
    assert scan(td.Tensor(np.array([3, 4], np.int32)), 0, dtype=np.int32).dtype == np.int32
    for data in (np.array([3, 4], np.int32), np.array([200, 100], np.uint8), np.array([True])):
        assert scan(td.Tensor(data), 0).dtype == np.int64
