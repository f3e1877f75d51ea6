"""Values that a dtype rule must not change: integer inputs of float-valued ops, Python floats
beside float64 tensors, unsigned scans, float16 counts, Python numbers as inputs.

Each case is one a differential sweep against NumPy 2.4 found silently different."""
import numpy as np
import pytest

import tinydl as td

# Consecutive integers near 1.7e9 (timestamps): float32's spacing there is 128, so a float32
# copy of them has no differences left.
BIG = np.array([1700000001, 1700000002, 1700000004, 1700000007])

FLOAT_OF_INTEGERS = {
    "mean": lambda m, x: m.mean(x),
    "var": lambda m, x: m.var(x),
    "var_ddof": lambda m, x: m.var(x, ddof=1),
    "std": lambda m, x: m.std(x),
    "nanvar": lambda m, x: m.nanvar(x),
    "nanstd": lambda m, x: m.nanstd(x),
    "nanmean": lambda m, x: m.nanmean(x),
    "median": lambda m, x: m.median(x),
    "nanmedian": lambda m, x: m.nanmedian(x),
    "quantile": lambda m, x: m.quantile(x, [0.3, 0.5]),
    "nanquantile": lambda m, x: m.nanquantile(x, 0.3),
    "percentile": lambda m, x: m.percentile(x, 30),
    "nanpercentile": lambda m, x: m.nanpercentile(x, 30),
    "average": lambda m, x: m.average(x, weights=np.array([1, 2, 3, 4])),
    "gradient": lambda m, x: m.gradient(x),
    "trapezoid": lambda m, x: m.trapezoid(x - 1700000000, x),
    "cov": lambda m, x: m.cov(m.stack([x, x[::-1]])),
    "corrcoef": lambda m, x: m.corrcoef(m.stack([x, x[::-1]])),
    "interp": lambda m, x: m.interp(x[:3] + 1, x, np.arange(4)),
}


@pytest.mark.parametrize("name", sorted(FLOAT_OF_INTEGERS))
def test_integer_input_is_computed_exactly_then_given_as_float32(name):
    # (in float32 first, var was 0, the correlation NaN, gradient 0, interp 1 for 0.5)
    op = FLOAT_OF_INTEGERS[name]
    expected = np.asarray(op(np, BIG))
    got = op(td, td.Tensor(BIG))
    assert got.dtype == np.float32, (name, got.dtype)
    np.testing.assert_array_equal(got.numpy(), expected.astype(np.float32), err_msg=name)


def test_integer_input_beside_float64_gives_float64():
    got = td.average(td.Tensor(BIG), weights=np.ones(4))
    assert got.dtype == np.float64 and got.item() == np.average(BIG)
    assert td.var(td.Tensor(BIG), ddof=1).dtype == np.float32
    assert td.mean(td.Tensor(BIG), dtype=np.float64).item() == np.mean(BIG)


def test_mean_refuses_an_integer_dtype():
    # NumPy truncates (1 for [1, 2]); tinydl gave the float32 mean 1.5 under dtype=int64
    for op in (td.mean, td.nanmean):
        with pytest.raises(TypeError, match="not a floating dtype"):
            op(td.Tensor(np.array([1, 2])), dtype=np.int64)
    assert td.nanmean(td.Tensor(np.array([1.0, np.nan])), dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "nancumsum"])
def test_uint64_scans_stay_uint64(op):
    # (cast to int64 first, 2**63 + 5 wrapped negative)
    u = np.array([2**63 + 5, 1, 2], dtype=np.uint64)
    got = getattr(td, op)(td.Tensor(u))
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got.numpy(), getattr(np, op)(u))
    assert td.cumsum(td.Tensor(np.array([1, 2], np.uint8))).dtype == np.int64  # torch's rule


def _f64(*values):
    return td.Tensor(np.array(values, dtype=np.float64))


PYTHON_FLOATS_BESIDE_FLOAT64 = {
    "add": lambda: _f64(0.0, 0.0) + [0.1, 0.2],
    "radd": lambda: [0.1, 0.2] + _f64(0.0, 0.0),
    "maximum": lambda: td.maximum(_f64(0.0, 0.0), [0.1, 0.2]),
    "where": lambda: td.where(np.array([False, False]), _f64(0.0, 0.0), [0.1, 0.2]),
    "concatenate": lambda: td.concatenate([_f64(), [0.1, 0.2]]),
    "stack": lambda: td.stack([_f64(0.0, 0.0), [0.1, 0.2]])[1],
    "append": lambda: td.append(_f64(), [0.1, 0.2]),
    "append_number": lambda: td.append(_f64(0.1), 0.2),
    "insert": lambda: td.insert(_f64(0.1), 1, 0.2),
    "convolve": lambda: td.convolve(_f64(1.0), [0.1, 0.2]),
    "correlate": lambda: td.correlate([0.1, 0.2], _f64(1.0), mode="full"),
}


A = np.array([1.3, 2.7, -0.45])
L = [0.1, 0.2, 0.3]
MORE_BESIDE_FLOAT64 = {  # (ours, NumPy's) on the same float64 values; a list or tuple operand
    "matmul": (lambda: td.Tensor(A) @ L, lambda: A @ L),
    "rmatmul": (lambda: L @ td.Tensor(A), lambda: np.dot(L, A)),
    "mm": (lambda: td.mm(td.Tensor(np.eye(3)), [[0.1], [0.2], [0.3]]),
           lambda: np.eye(3) @ [[0.1], [0.2], [0.3]]),
    "vdot": (lambda: td.vdot(td.Tensor(A), L), lambda: np.vdot(A, L)),
    "ger": (lambda: td.ger(td.Tensor(A), L), lambda: np.outer(A, L)),
    "cross": (lambda: td.cross(td.Tensor(A), L), lambda: np.cross(A, L)),
    "arctan2": (lambda: td.arctan2(td.Tensor(A), L), lambda: np.arctan2(A, L)),
    "hypot": (lambda: td.hypot(L, td.Tensor(A)), lambda: np.hypot(L, A)),
    "logaddexp": (lambda: td.logaddexp(td.Tensor(A), L), lambda: np.logaddexp(A, L)),
    "copysign": (lambda: td.copysign(L, td.Tensor(A)), lambda: np.copysign(L, A)),
    "add_alpha": (lambda: td.add(td.Tensor(A), L, alpha=0.1), lambda: A + 0.1 * np.array(L)),
    "lerp_weight": (lambda: td.lerp(td.Tensor(A), td.Tensor(2 * A), L),
                    lambda: A + np.array(L) * A),
    "logaddexp2": (lambda: td.logaddexp2(td.Tensor(A), L), lambda: np.logaddexp2(A, L)),
    "float_power": (lambda: td.float_power(td.Tensor(np.abs(A)), L),
                    lambda: np.float_power(np.abs(A), L)),
    "addcmul": (lambda: td.addcmul(td.Tensor(A), td.Tensor(A), L),
                lambda: A + A * np.array(L)),
    "concatenate_tuple": (lambda: td.concatenate([td.Tensor(A), (0.1, 0.2)]),
                          lambda: np.concatenate([A, (0.1, 0.2)])),
    "append_list_first": (lambda: td.append(L, td.Tensor(A)), lambda: np.append(L, A)),
    "convolve_tuple": (lambda: td.convolve(td.Tensor(A), (0.1, 0.2)),
                       lambda: np.convolve(A, (0.1, 0.2))),
    "union1d": (lambda: td.union1d(td.Tensor(np.array([0.1, 1.3])), [0.1]),
                lambda: np.union1d([0.1, 1.3], [0.1])),
    "setdiff1d": (lambda: td.setdiff1d(td.Tensor(np.array([0.1, 1.3])), [0.1]),
                  lambda: np.setdiff1d([0.1, 1.3], [0.1])),
    "intersect1d": (lambda: td.intersect1d([0.1], td.Tensor(np.array([0.1, 1.3]))),
                    lambda: np.intersect1d([0.1], [0.1, 1.3])),
    "interp_number": (lambda: td.interp(0.15, td.Tensor(np.array(L)), td.Tensor(A)),
                      lambda: np.interp(0.15, L, A)),
    "cov_list": (lambda: td.cov(td.Tensor(A), L), lambda: np.cov(A, L)),
    "corrcoef_list": (lambda: td.corrcoef(td.Tensor(A), L), lambda: np.corrcoef(A, L)),
    "trapezoid_list_x": (lambda: td.trapezoid(td.Tensor(A), x=L), lambda: np.trapezoid(A, x=L)),
}


@pytest.mark.parametrize("name", sorted(MORE_BESIDE_FLOAT64))
def test_lists_and_tuples_beside_float64_in_products_sets_and_statistics(name):
    # (each went through float32 first: the set operations gave wrong answers outright,
    # union1d(float64 [0.1, 1.3], [0.1]) held 0.1 twice and intersect1d was empty)
    ours, numpy = MORE_BESIDE_FLOAT64[name]
    got = ours()
    assert got.dtype == np.float64
    # float64 rounding (logaddexp2 goes through base e), far below float32's ~1e-8
    np.testing.assert_allclose(got.numpy(), numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", sorted(PYTHON_FLOATS_BESIDE_FLOAT64))
def test_python_floats_beside_float64_are_not_rounded_to_float32(name):
    # (a list went through tinydl.tensor's float32 first: 0.1 became 0.10000000149)
    got = PYTHON_FLOATS_BESIDE_FLOAT64[name]()
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.numpy(), [0.1, 0.2])


def test_weighted_average_with_a_list_of_weights_is_exact_in_float64():
    x = np.array([1.0, 2.0])
    assert td.average(td.Tensor(x), weights=[1 / 3, 2 / 3]).item() == np.average(
        x, weights=[1 / 3, 2 / 3])


@pytest.mark.parametrize("writer", ["copyto", "place", "putmask"])
def test_python_floats_written_into_float64_are_exact(writer):
    t = _f64(0.0, 0.0)
    if writer == "copyto":
        td.copyto(t, [0.1, 0.2])
    else:
        getattr(td, writer)(t, [True, True], [0.1, 0.2])
    np.testing.assert_array_equal(t.numpy(), [0.1, 0.2])


def test_python_floats_beside_float32_stay_float32():
    # the weak rule: the tensor's dtype, not NumPy's float64 for a list
    assert (td.zeros(2) + [0.1, 0.2]).dtype == np.float32
    assert td.concatenate([td.zeros(2), [0.1]]).dtype == np.float32
    assert td.append(td.zeros(1), 0.1).dtype == np.float32
    assert (td.zeros(2, dtype="int32") + [0.5, 1.5]).dtype == np.float32


def test_putmask_converts_lists_to_the_tensors_dtype_as_numpy():
    t, a = td.Tensor(np.zeros(3, np.int8)), np.zeros(3, np.int8)
    td.putmask(t, [True, False, True], [1, 2])
    np.putmask(a, [True, False, True], [1, 2])
    np.testing.assert_array_equal(t.numpy(), a)


def test_insert_of_an_integer_out_of_range_raises_naming_insert():
    with pytest.raises(OverflowError, match="insert: .*uint8"):
        td.insert(td.Tensor(np.zeros(2, np.uint8)), 0, -1)


def test_float16_nan_reductions_count_past_65504():
    # (the count cast to float16 was inf: NaN out; NumPy's float16 sum overflows to inf)
    h = np.ones(70000, np.float16)
    h[3] = np.nan
    assert td.nanmean(td.Tensor(h)).item() == 1.0
    assert td.nanvar(td.Tensor(h)).item() == 0.0
    assert td.nanmean(td.Tensor(h)).dtype == np.float16


def test_average_sums_float16_weights_in_the_wider_float():
    # (summed in float16 the weights overflowed past 65504: an average of 0)
    x, w = np.ones(70000, np.float32), np.ones(70000, np.float16)
    avg, scale = td.average(td.Tensor(x), weights=td.Tensor(w), returned=True)
    expected = np.average(x, weights=w, returned=True)
    assert avg.item() == expected[0] and scale.item() == expected[1]
    assert avg.dtype == np.float32


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "max", "min", "var", "std", "nansum",
                                  "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd",
                                  "nanmedian", "median", "average", "ptp", "nan_to_num",
                                  "cumsum", "nancumsum"])
def test_python_numbers_as_input(name):
    # (a bare AttributeError: 'float' object has no attribute 'ndim')
    got = getattr(td, name)(2.5)
    np.testing.assert_allclose(got.numpy(), getattr(np, name)(2.5))
    assert isinstance(got, td.Tensor)


def test_python_numbers_as_input_of_percentiles_and_tiling():
    assert td.percentile(2.5, 50).item() == 2.5
    assert td.quantile(3, 0.5).item() == 3.0
    np.testing.assert_array_equal(td.tile(5, 2).numpy(), np.tile(5, 2))
    np.testing.assert_array_equal(td.repeat(5, 2).numpy(), np.repeat(5, 2))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_of_large_integers_keeps_their_differences(name):
    # (in float32 first, six integers near 1.7e9 became equal: softmax 1/6 each)
    special = pytest.importorskip("scipy.special")
    reference = {"softmax": special.softmax, "log_softmax": special.log_softmax,
                 "softmin": lambda x: special.softmax(-x)}[name]
    x = np.array([0, 1, 2, 3, 5, 8]) + 1_700_000_000
    for op in (getattr(td, name), getattr(td.nn.functional, name)):
        got = op(td.Tensor(x), dim=0)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(), reference(x.astype(np.float64)), rtol=1e-6)


def test_lists_beside_float16_and_0d_tensors_keep_the_list_rule():
    # the weak rule never narrows below a list's own float32 (float16 + [70000.] was inf),
    # and a 0-d tensor does not widen a list (tinydl's 0-d rule)
    f16 = td.Tensor(np.zeros(2, np.float16))
    got = f16 + [70000.0, 0.1]
    assert got.dtype == np.float32 and got.numpy().tolist() == [70000.0, np.float32(0.1)]
    assert td.concatenate([f16, [70000.0]]).dtype == np.float32
    assert (td.Tensor(np.float64(1.0)) + [0.1, 0.2]).dtype == np.float32
    assert np.isfinite(td.cov(f16 + 1, [0.1, 70000.0]).numpy()).all()


def test_integer_lists_and_tuples_in_the_integer_rule():
    # an int list among the data counts as float64 for a float list beside it
    assert td.trapezoid([1, 2, 3], x=[0.1, 0.2, 0.3]).item() == np.float32(
        np.trapezoid([1, 2, 3], x=[0.1, 0.2, 0.3]))
    assert td.average(td.tensor([1.0, 2.0]), weights=(1, 2)).item() == pytest.approx(5 / 3)


def test_numpy_integer_division_keeps_numpys_dtypes():
    # the zero check must not route through tinydl's 0-d rule (np.array(300) into int8)
    i8 = td.Tensor(np.array([100, -100], np.int8))
    for ufunc in (np.floor_divide, np.remainder, np.fmod):
        got = ufunc(i8, np.array(300))
        expected = ufunc(i8.numpy(), np.array(300))
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.numpy(), expected)


def test_matmul_errors_name_matmul():
    with pytest.raises(TypeError, match="matmul: operands must be"):
        td.matmul(td.ones(2), None)


def test_tuples_follow_the_list_rule():
    # a tuple reached NumPy as a float64 or int64 array: f32 + (1, 2) was float64
    f32, i64 = td.zeros(2), td.Tensor(np.array([1, 2]))
    for tensor, values in ((f32, (1, 2)), (i64, (0.5, 1.5)), (f32, (True, False))):
        assert (tensor + values).dtype == (tensor + list(values)).dtype == np.float32
    assert td.maximum(i64, (0.5, 0.5)).dtype == np.float32
    assert (td.zeros(2, dtype=np.float64) + (0.1, 0.2)).numpy().tolist() == [0.1, 0.2]


@pytest.mark.parametrize("name, call", [
    ("add", lambda x: x + 1000), ("multiply", lambda x: x * 300),
    ("add", lambda x: x.add_(1000)), ("maximum", lambda x: td.maximum(x, 1000)),
    ("floor_divide", lambda x: x.abs() // -300),
])
def test_a_python_int_outside_an_integer_tensors_dtype_names_the_op(name, call):
    """NumPy 2 refuses int8 + 1000 with a bare 'Python integer out of bounds' error; it now
    names the op and the way out (torch wraps it around)."""
    with pytest.raises(OverflowError, match=f"{name}: Python integer .* out of bounds for "
                                            "int8: the number must fit"):
        call(td.tensor(np.array([1, 2], np.int8)))
