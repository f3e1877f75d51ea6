"""tinydl/ops/numeric.py through the op table: NumPy's diff, trapezoid (torch's trapz), cov,
corrcoef, vander, bincount; torch's histc and renorm. Then the NumPy calls on tensors, dtypes,
edge cases (empty, NaN, degrees of freedom, the histogram's bin edges) and errors, each
against NumPy or torch."""
import warnings

import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, integers, positive, torch


def uniform_ints(low, high):
    """Floats with integer values in [low, high): repeated values for histograms."""
    def sample(rng, shape):
        return rng.integers(low, high, shape).astype(np.float64)
    return sample


def with_a_zero(rng, shape):
    x = rng.standard_normal(shape)
    x.flat[:1] = 0.0
    return x


def norms_around_one(axis, p):
    """Slices along ``axis`` of p-norms 0.5 and 2 in turn: well on both sides of renorm's
    maxnorm 1, never at its kink."""
    def sample(rng, shape):
        x = np.moveaxis(rng.standard_normal(shape), axis, 0)
        norms = np.linalg.norm(x.reshape(x.shape[0], -1), ord=p, axis=1)
        scale = np.where(np.arange(x.shape[0]) % 2, 0.5, 2.0) / norms
        return np.moveaxis(x * scale.reshape((-1,) + (1,) * (x.ndim - 1)), 0, axis)
    return sample


FW = np.array([1, 3, 2, 1, 2])


CASES = [
    OpCase("diff", td.diff, np.diff, [(3, 5)], torch=lambda x: torch.diff(x),
           empty=[(3, 0)]),
    OpCase("diff_n2_axis0", lambda x: td.diff(x, 2, axis=0), lambda x: np.diff(x, 2, axis=0),
           [(4, 3)], torch=lambda x: torch.diff(torch.diff(x, dim=0), dim=0)),
    OpCase("diff_n_past_the_length", lambda x: td.diff(x, 5), lambda x: np.diff(x, 5), [(2, 3)],
           torch=lambda x: torch.diff(x, 5)),
    OpCase("diff_prepend_append", lambda x, p, a: td.diff(x, dim=1, prepend=p, append=a),
           lambda x, p, a: np.diff(x, axis=1, prepend=p, append=a), [(2, 3), (2, 1), (2, 2)],
           torch=lambda x, p, a: torch.diff(x, dim=1, prepend=p, append=a)),
    OpCase("diff_prepend_scalar_method", lambda x, p: x.diff(prepend=p),
           lambda x, p: np.diff(x, prepend=p), [(2, 3), ()]),
    OpCase("trapezoid", td.trapezoid, np.trapezoid, [(3, 4)],
           torch=lambda y: torch.trapezoid(y), empty=[(2, 0)]),
    OpCase("trapezoid_dx_axis0", lambda y: td.trapezoid(y, dx=0.5, axis=0),
           lambda y: np.trapezoid(y, dx=0.5, axis=0), [(3, 4)],
           torch=lambda y: torch.trapezoid(y, dx=0.5, dim=0)),
    OpCase("trapezoid_x_1d", lambda y, x: td.trapezoid(y, x, dim=1),
           lambda y, x: np.trapezoid(y, x, axis=1), [(2, 4), (4,)],
           torch=lambda y, x: torch.trapezoid(y, x, dim=1)),
    OpCase("trapezoid_x_broadcast", td.trapezoid, np.trapezoid, [(2, 4), (1, 4)],
           torch=lambda y, x: torch.trapezoid(y, x)),
    OpCase("trapz", lambda y, x: td.trapz(y, x, axis=0), lambda y, x: np.trapezoid(y, x, axis=0),
           [(3, 2), (3, 2)], torch=lambda y, x: torch.trapz(y, x, dim=0)),
    OpCase("cov", td.cov, np.cov, [(3, 5)], torch=lambda m: torch.cov(m)),
    OpCase("cov_1d", td.cov, np.cov, [(5,)], torch=lambda m: torch.cov(m)),
    OpCase("cov_rowvar_bias", lambda m: td.cov(m, rowvar=False, bias=True),
           lambda m: np.cov(m, rowvar=False, bias=True), [(5, 2)],
           torch=lambda m: torch.cov(m.T, correction=0)),
    OpCase("cov_correction", lambda m: td.cov(m, correction=2), lambda m: np.cov(m, ddof=2),
           [(2, 5)], torch=lambda m: torch.cov(m, correction=2)),
    OpCase("cov_y", lambda m, y: td.cov(m, y), lambda m, y: np.cov(m, y), [(2, 4), (4,)]),
    OpCase("cov_weights", lambda m, a: td.cov(m, fweights=FW, aweights=a, ddof=1),
           lambda m, a: np.cov(m, fweights=FW, aweights=a, ddof=1),
           [(3, 5), Arg((5,), positive)],
           torch=lambda m, a: torch.cov(m, fweights=torch.from_numpy(FW), aweights=a)),
    OpCase("cov_fweights_ddof0", lambda m: td.cov(m, fweights=FW, ddof=0),
           lambda m: np.cov(m, fweights=FW, ddof=0), [(2, 5)],
           torch=lambda m: torch.cov(m, correction=0, fweights=torch.from_numpy(FW))),
    OpCase("cov_method", lambda m, a: m.cov(correction=0, aweights=a),
           lambda m, a: np.cov(m, ddof=0, aweights=a), [(2, 4), Arg((4,), positive)],
           torch=lambda m, a: m.cov(correction=0, aweights=a)),
    OpCase("corrcoef", td.corrcoef, np.corrcoef, [(3, 5)], torch=lambda m: torch.corrcoef(m)),
    OpCase("corrcoef_method", lambda m: m.corrcoef(), np.corrcoef, [(2, 4)],
           torch=lambda m: m.corrcoef()),
    OpCase("corrcoef_y_columns", lambda m, y: td.corrcoef(m, y, rowvar=False),
           lambda m, y: np.corrcoef(m, y, rowvar=False), [(4, 2), (4, 1)]),
    # vander: a cumulative product, exact at 0 (torch's own vander fails in backward)
    OpCase("vander", td.vander, np.vander, [Arg((4,), with_a_zero)], empty=[(0,)]),
    OpCase("vander_N_increasing", lambda x: td.vander(x, N=5, increasing=True),
           lambda x: np.vander(x, 5, increasing=True), [(3,)]),
    OpCase("vander_N0", lambda x: td.vander(x, 0), lambda x: np.vander(x, 0), [(3,)],
           empty=[(3,)]),
    OpCase("bincount_weights", lambda i, w: td.bincount(i, w, minlength=7),
           lambda i, w: np.bincount(i, w, minlength=7),
           [Arg((9,), integers(0, 5), grad=False), (9,)]),
    OpCase("bincount", lambda i: td.bincount(i), np.bincount, [Arg((9,), integers(0, 5))],
           grad=False, out_dtype=np.int64, torch=lambda i: torch.bincount(i)),
    OpCase("histc", lambda x: td.histc(x, bins=6), lambda x: _histc(x, 6), [(4, 5)],
           grad=False, torch=lambda x: torch.histc(x, bins=6)),
    OpCase("histc_range", lambda x: td.histc(x, 4, -1, 2), lambda x: _histc(x, 4, -1, 2),
           [Arg((30,), uniform_ints(-2, 4))], grad=False, rtol32=0, atol32=0,
           torch=lambda x: torch.histc(x, 4, -1, 2)),
    OpCase("renorm", lambda x: td.renorm(x, 2, 0, 1.0), lambda x: _renorm(x, 2, 0, 1.0),
           [Arg((4, 3), norms_around_one(0, 2))], torch=lambda x: torch.renorm(x, 2, 0, 1.0)),
    OpCase("renorm_p1_dim1", lambda x: x.renorm(1, -1, 1.0), lambda x: _renorm(x, 1, -1, 1.0),
           [Arg((4, 2, 3), norms_around_one(-1, 1))], torch=lambda x: x.renorm(1, -1, 1.0)),
    OpCase("renorm_inf", lambda x: td.renorm(x, np.inf, 1, 1.0),
           lambda x: _renorm(x, np.inf, 1, 1.0), [Arg((2, 4), norms_around_one(1, np.inf))],
           torch=lambda x: torch.renorm(x, float("inf"), 1, 1.0)),
]


def _histc(x, bins, low=0.0, high=0.0):
    """torch.histc from its definition: equal bins over [low, high] (the data's range when
    low == high), the top edge in the last bin, values outside not counted."""
    x = np.asarray(x).reshape(-1)
    if low == high:
        low, high = x.min(), x.max()
    counts, _ = np.histogram(x, bins=bins, range=(low, high))
    return counts.astype(np.float64)


def _renorm(x, p, axis, maxnorm):
    """Each slice along ``axis`` with p-norm above ``maxnorm`` scaled by maxnorm / (norm+1e-7)."""
    moved = np.moveaxis(x, axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    norms = np.linalg.norm(flat, ord=p, axis=1)
    factor = np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return np.moveaxis(moved * factor.reshape((-1,) + (1,) * (moved.ndim - 1)), 0, axis)


class TestNumeric(OpTable):
    cases = CASES


def _t(a, grad=False):
    return td.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_numpy_functions_on_tensors_run_these_ops():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    t = _t(a, grad=True)
    for fn in (lambda x: np.diff(x, axis=0, append=x[:1]), lambda x: np.trapezoid(x, dx=2.0),
               lambda x: np.cov(x, ddof=0), lambda x: np.corrcoef(x[:2], x[2]),
               lambda x: np.vander(x[0], 3)):
        out = fn(t)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, fn(a), rtol=1e-12)
        assert td.gradcheck(fn, [t])
    # np.bincount: a Tensor with a gradient where the weights have one (NumPy's float64)
    w = td.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    out = np.bincount(np.array([0, 2, 2]), weights=w)
    assert out.dtype == np.float64 and out.data.tolist() == [1.0, 0.0, 5.0]
    out.sum().backward()
    assert w.grad.data.tolist() == [1.0, 1.0, 1.0]


def test_integer_inputs_give_torchs_float32_and_keep_integers_where_torch_does():
    i = td.tensor([[1, 2, 4], [3, 1, 0]])
    ti = torch.tensor([[1, 2, 4], [3, 1, 0]])
    for fn, torch_fn in ((td.cov, torch.cov), (td.corrcoef, torch.corrcoef),
                         (td.trapezoid, torch.trapezoid), (td.diff, torch.diff),
                         (lambda x: td.vander(x[0]), lambda x: torch.vander(x[0]))):
        out, want = fn(i), torch_fn(ti)
        assert out.dtype == want.numpy().dtype, fn
        np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-6)
    b = td.tensor([True, False, False, True])
    assert td.diff(b).data.tolist() == np.diff(b.data).tolist() == [True, False, True]
    assert td.vander(b).dtype == np.int64
    u = td.tensor(np.array([2, 1], np.uint8))  # wraps, as NumPy and torch
    assert td.diff(u).data.tolist() == [255]


def test_bincount_dtypes_are_torchs():
    index = td.tensor([0, 2, 2])
    for weights, want in ((td.tensor([1.0, 2.0, 3.0]), np.float32),
                          (td.tensor(np.array([1.0, 2.0, 3.0])), np.float64),
                          (td.tensor([1, 2, 3]), np.float64)):
        out = td.bincount(index, weights)
        assert out.dtype == want == torch.bincount(torch.from_numpy(index.data),
                                                   torch.from_numpy(weights.data)).numpy().dtype
    assert td.bincount(td.tensor(np.zeros(0, np.int64)), minlength=3).data.tolist() == [0] * 3
    assert td.bincount([]).shape == (0,)


def test_histc_bins_match_torch_at_the_edges_in_float32():
    """torch computes the bin of v as int((v - min) * bins / (max - min)) in the input's dtype:
    float32 rounding puts some values next to an edge in the bin above NumPy's."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-1, 1, 500), np.linspace(0, 1, 101), [-1.5, 2.0, np.nan,
                                                                          np.inf]])
    for dtype in (np.float32, np.float64):
        for bins, low, high in ((10, 0, 1), (7, -1, 1), (13, -0.3, 0.9), (4, 0, 0)):
            data = x[np.isfinite(x)] if low == high else x
            out = td.histc(td.tensor(data.astype(dtype)), bins, low, high)
            want = torch.histc(torch.from_numpy(data.astype(dtype)), bins, low, high)
            assert out.dtype == dtype
            np.testing.assert_array_equal(out.data, want.numpy(), err_msg=f"{bins, low, high}")


def test_histc_ranges_from_the_data_as_torch():
    for values, bins, low, high in (([2.0, 2.0], 4, 0, 0), ([1.0, 5.0], 4, 2, 2),
                                    ([], 3, 0, 0), ([1.0, 5.0], 4, 0, 0)):
        out = td.histc(td.tensor(values), bins, low, high)
        want = torch.histc(torch.tensor(values), bins, low, high)
        np.testing.assert_array_equal(out.data, want.numpy())
    assert not td.histc(td.tensor([1.0, 2.0], requires_grad=True)).requires_grad


def test_cov_edge_cases_as_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for shape, kw in (((2, 1), {}), ((2, 0), {}), ((2, 3), {"ddof": 4})):
            m = np.arange(float(np.prod(shape))).reshape(shape)
            out, want = td.cov(_t(m), **kw), np.cov(m, **kw)
            np.testing.assert_array_equal(out.data, want)
        assert td.cov(_t(np.zeros((0, 3)))).shape == np.cov(np.zeros((0, 3))).shape == (0, 0)
        c = td.corrcoef(_t([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
        np.testing.assert_array_equal(c.data, np.corrcoef([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]))
    with pytest.warns(RuntimeWarning, match="cov: degrees of freedom <= 0"):
        td.cov(_t([[1.0, 2.0]]), ddof=2)
    # fweights as whole floats are NumPy's (torch wants an integer dtype)
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(td.cov(_t(m), fweights=np.array([1.0, 2.0, 1.0])).data,
                               np.cov(m, fweights=np.array([1.0, 2.0, 1.0])), rtol=1e-12)


def test_renorm_in_place_and_below_the_bound():
    x = _t(np.array([[3.0, 4.0], [0.3, 0.4]]))
    y = x * 1.0
    y.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(y.data, torch.renorm(torch.from_numpy(x.data), 2, 0, 1.0))
    np.testing.assert_array_equal(y.data[1], [0.3, 0.4])  # below maxnorm: unchanged


@pytest.mark.parametrize("call, torch_call, match", [
    (lambda: td.diff(td.ones(3), n=-1), lambda: torch.diff(torch.ones(3), n=-1),
     "diff: order n must be non-negative"),
    (lambda: td.diff(td.tensor(1.0)), lambda: torch.diff(torch.tensor(1.0)),
     "diff: needs a tensor of at least 1 dimension"),
    (lambda: td.diff(td.ones(2, 3), prepend=td.ones(2)),
     lambda: torch.diff(torch.ones(2, 3), prepend=torch.ones(2)),
     r"diff: prepend of shape \(2,\) needs the 2 dimensions"),
    (lambda: td.trapezoid(td.ones(2, 3), td.tensor([0.0, 1.0])),
     lambda: torch.trapezoid(torch.ones(2, 3), torch.tensor([0.0, 1.0])),
     "trapezoid: x has 2 points and y 3 samples"),
    (lambda: td.trapezoid(td.tensor(1.0)), lambda: torch.trapezoid(torch.tensor(1.0)),
     "trapezoid: needs a tensor of at least 1 dimension"),
    (lambda: td.cov(td.ones(2, 2, 2)), lambda: torch.cov(torch.ones(2, 2, 2)),
     "cov: expects at most 2 dimensions"),
    (lambda: td.cov(td.ones(2, 3), fweights=td.tensor([1, -1, 1])),
     lambda: torch.cov(torch.ones(2, 3), fweights=torch.tensor([1, -1, 1])),
     "cov: fweights cannot be negative"),
    (lambda: td.cov(td.ones(2, 3), aweights=td.tensor([1.0, 1.0])),
     lambda: torch.cov(torch.ones(2, 3), aweights=torch.tensor([1.0, 1.0])),
     "cov: 2 aweights for 3 observations"),
    (lambda: td.cov(td.ones(2, 3), fweights=np.array([1.5, 1, 1])),
     lambda: torch.cov(torch.ones(2, 3), fweights=torch.tensor([1.5, 1, 1])),
     "cov: fweights must hold whole numbers"),
    (lambda: td.cov(td.ones(2, 3), correction=0.5),
     lambda: torch.cov(torch.ones(2, 3), correction=0.5), "cov: ddof .* must be an integer"),
    (lambda: td.vander(td.ones(2, 2)), lambda: torch.vander(torch.ones(2, 2)),
     "vander: x must be 1-D"),
    (lambda: td.vander(td.ones(2), N=-1), lambda: torch.vander(torch.ones(2), N=-1),
     "vander: N must be a non-negative int"),
    (lambda: td.bincount(td.tensor([0, -1])), lambda: torch.bincount(torch.tensor([0, -1])),
     "bincount: x must be non-negative"),
    (lambda: td.bincount(td.tensor([[0]])), lambda: torch.bincount(torch.tensor([[0]])),
     "bincount: x must be 1-D"),
    (lambda: td.bincount(td.tensor([0.0])), lambda: torch.bincount(torch.tensor([0.0])),
     "bincount: x must hold integers"),
    (lambda: td.bincount(td.tensor([0, 1]), td.ones(3)),
     lambda: torch.bincount(torch.tensor([0, 1]), torch.ones(3)),
     "bincount: weights of shape"),
    (lambda: td.bincount(td.tensor([0]), minlength=-1),
     lambda: torch.bincount(torch.tensor([0]), minlength=-1), "bincount: minlength"),
    (lambda: td.histc(td.tensor([1, 2])), lambda: torch.histc(torch.tensor([1, 2])),
     "histc: expects a floating-point tensor"),
    (lambda: td.histc(td.ones(3), bins=0), lambda: torch.histc(torch.ones(3), bins=0),
     "histc: bins must be a positive int"),
    (lambda: td.histc(td.ones(3), 4, 3, 2), lambda: torch.histc(torch.ones(3), 4, 3, 2),
     "histc: max 2 must be larger than min 3"),
    (lambda: td.histc(td.tensor([1.0, np.nan])),
     lambda: torch.histc(torch.tensor([1.0, np.nan])), "histc: range .* is not finite"),
    (lambda: td.renorm(td.ones(3), 2, 0, 1.0), lambda: torch.renorm(torch.ones(3), 2, 0, 1.0),
     "renorm: needs at least 2 dimensions"),
    (lambda: td.renorm(td.ones(2, 2), 0, 0, 1.0),
     lambda: torch.renorm(torch.ones(2, 2), 0, 0, 1.0), "renorm: p must be positive"),
    (lambda: td.renorm(td.ones(2, 2), 2, 0, -1.0),
     lambda: torch.renorm(torch.ones(2, 2), 2, 0, -1.0), "renorm: maxnorm must be non-negative"),
    (lambda: td.renorm(td.ones(2, 2, dtype=np.int64), 2, 0, 1.0),
     lambda: torch.renorm(torch.ones(2, 2, dtype=torch.long), 2, 0, 1.0),
     "renorm: expects a floating-point tensor"),
])
def test_errors_name_the_op_where_torch_raises(call, torch_call, match):
    with pytest.raises((RuntimeError, TypeError, IndexError, ValueError, NotImplementedError)):
        torch_call()
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()



@pytest.mark.parametrize("shape", [(1, 3), (1, 1), (3,), (2, 3)])
def test_cov_and_corrcoef_with_rowvar_false_transpose_a_single_row_as_numpy(shape):
    """NumPy transposes any 2-D m with rowvar=False; a (1, N) m was kept as one variable of N
    observations (shape () instead of (N, N))."""
    m = np.random.default_rng(0).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for ours, theirs in ((td.cov, np.cov), (td.corrcoef, np.corrcoef)):
            got, want = ours(td.tensor(m), rowvar=False).data, theirs(m, rowvar=False)
            assert got.shape == want.shape, (ours.__name__, shape)
            np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
