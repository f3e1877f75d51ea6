"""tinydl/ops/binning.py: interp and histogram's weights through the op table (NumPy as the
reference; neither has a torch twin), then searchsorted (against NumPy and torch), digitize,
histogram's counts, edges and dtypes, Tensor.histogram against torch, the NumPy interop and
the errors."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, positive, torch, uniform

SAMPLES = np.random.default_rng(11).standard_normal(40)  # histogram's (constant) values


def increasing(rng, shape):
    """Sorted, spaced sample points on [-2, 2] (interp's xp)."""
    return np.sort(rng.uniform(-2.0, 2.0, shape)) + 0.1 * np.arange(shape[0])


CASES = [
    OpCase("interp", td.interp, np.interp,
           [Arg((3, 5), uniform(-3.0, 3.0)), Arg((6,), increasing), (6,)],
           empty=[(0,), (6,), (6,)]),
    OpCase("interp_left_right", lambda x, xp, fp: td.interp(x, xp, fp, left=-4.0, right=5.0),
           lambda x, xp, fp: np.interp(x, xp, fp, left=-4.0, right=5.0),
           [Arg((12,), uniform(-3.0, 3.0)), Arg((6,), increasing), (6,)]),
    OpCase("interp_period", lambda x, fp: td.interp(x, [0.125, 0.5, 0.875, 1.25], fp, period=1.5),
           lambda x, fp: np.interp(x, [0.125, 0.5, 0.875, 1.25], fp, period=1.5),
           [Arg((10,), uniform(-3.0, 3.0)), (4,)]),
    OpCase("histogram_weights", lambda w: td.histogram(SAMPLES, 6, weights=w)[0],
           lambda w: np.histogram(SAMPLES, 6, weights=w)[0], [(40,)]),
    OpCase("histogram_weights_density",
           lambda w: td.histogram(SAMPLES.reshape(5, 8), [-1.0, 0.0, 0.3, 2.0], density=True,
                                  weights=w)[0],
           lambda w: np.histogram(SAMPLES.reshape(5, 8), [-1.0, 0.0, 0.3, 2.0], density=True,
                                  weights=w)[0], [Arg((5, 8), positive)]),
]


class TestBinning(OpTable):
    cases = CASES


def test_interp_at_the_knots_and_nan_as_numpy():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([2.0, -1.0, 4.0])
    x = np.array([0.0, 1.0, 3.0, -1.0, 5.0, np.nan, 2.0])
    np.testing.assert_array_equal(td.interp(x, xp, fp).data, np.interp(x, xp, fp))
    assert td.interp(x, xp, fp).dtype == np.float64  # float64 arrays stay float64
    assert td.interp([0.5], [0.0, 1.0], [2.0, 3.0]).dtype == np.float32  # lists: float32
    np.testing.assert_array_equal(td.interp(x, xp[:1], fp[:1]).data, np.interp(x, xp[:1], fp[:1]))
    t = td.Tensor(np.array([0.5, 2.0, 4.0]), requires_grad=True)
    td.interp(t, xp, fp).sum().backward()
    np.testing.assert_allclose(t.grad.data, [-3.0, 2.5, 0.0])  # the slopes; 0 outside


def test_searchsorted_matches_numpy_and_torch():
    rng = np.random.default_rng(2)
    a = np.sort(rng.integers(0, 6, 9).astype(np.float64))  # with repeats
    v = rng.integers(-1, 7, (3, 4)).astype(np.float64)
    for side in ("left", "right"):
        out = td.searchsorted(td.Tensor(a), td.Tensor(v), side)
        assert out.dtype == np.int64 and not out.requires_grad
        np.testing.assert_array_equal(out.data, np.searchsorted(a, v, side))
        if torch is not None:
            np.testing.assert_array_equal(
                td.searchsorted(a, v, right=side == "right").data,
                torch.searchsorted(torch.tensor(a), torch.tensor(v), right=side == "right"))
    perm = rng.permutation(9)
    np.testing.assert_array_equal(td.searchsorted(a[perm], v, sorter=np.argsort(a[perm])).data,
                                  np.searchsorted(a[perm], v, sorter=np.argsort(a[perm])))
    assert td.searchsorted(a, 2.5).shape == ()
    assert td.searchsorted(a, v, out_int32=True).dtype == np.int32
    rows, vals = np.sort(rng.standard_normal((2, 3, 5)), -1), rng.standard_normal((2, 3, 4))
    expected = np.stack([np.searchsorted(r, w) for r, w in zip(rows.reshape(6, 5),
                                                             vals.reshape(6, 4))])
    np.testing.assert_array_equal(td.searchsorted(rows, vals).data, expected.reshape(2, 3, 4))
    if torch is not None:
        np.testing.assert_array_equal(
            td.searchsorted(rows, vals, side="right", right=False).data,
            torch.searchsorted(torch.tensor(rows), torch.tensor(vals), side="right"))
    with pytest.raises(ValueError, match="searchsorted: side='left' and right=True"):
        td.searchsorted(a, v, "left", right=True)
    with pytest.raises(ValueError, match="searchsorted: side must be"):
        td.searchsorted(a, v, "middle")
    with pytest.raises(ValueError, match=r"searchsorted: a sequence of shape \(2, 3, 5\)"):
        td.searchsorted(rows, v)


def test_digitize_matches_numpy():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 4, (3, 5))
    x[0, :3] = [0.0, 1.0, 3.0]
    for bins in ([0.0, 1.0, 2.5, 3.0], [3.0, 2.5, 1.0, 0.0]):
        for right in (False, True):
            out = td.digitize(td.Tensor(x), bins, right)
            assert out.dtype == np.int64
            np.testing.assert_array_equal(out.data, np.digitize(x, bins, right))
    with pytest.raises(ValueError, match="digitize: bins must be monotonically"):
        td.digitize(x, [0.0, 2.0, 1.0])


@pytest.mark.parametrize("kw", [{}, {"bins": 5}, {"bins": [-1.0, 0.0, 0.5, 2.0]},
                                {"range": (-1.0, 1.0)}, {"density": True}, {"bins": "auto"},
                                {"bins": 3, "range": (0.0, 0.0)}])
def test_histogram_counts_and_edges_match_numpy(kw):
    hist, edges = td.histogram(td.Tensor(SAMPLES), **kw)
    expected_hist, expected_edges = np.histogram(SAMPLES, **kw)
    assert hist.dtype == expected_hist.dtype and not hist.requires_grad
    np.testing.assert_allclose(hist.data, expected_hist, rtol=1e-12)
    np.testing.assert_array_equal(edges.data, expected_edges)


def test_histogram_dtypes_and_integers():
    ints = np.array([1, 2, 2, 5])
    hist, edges = td.histogram(ints, 2)
    np.testing.assert_array_equal(hist.data, np.histogram(ints, 2)[0])
    assert edges.dtype == np.float64  # NumPy's edges for integers
    x32 = SAMPLES.astype(np.float32)
    assert td.histogram(x32)[1].dtype == np.float32
    assert td.histogram(x32, weights=np.ones(40, np.float32))[0].dtype == np.float32
    empty_hist, empty_edges = td.histogram(np.zeros(0))
    np.testing.assert_array_equal(empty_hist.data, np.histogram(np.zeros(0))[0])
    np.testing.assert_array_equal(empty_edges.data, np.histogram(np.zeros(0))[1])


@pytest.mark.skipif(torch is None, reason="torch is the oracle")
def test_tensor_histogram_is_torchs():
    x = SAMPLES.astype(np.float32)
    w = np.abs(x)
    out = td.Tensor(x).histogram(7, range=(-2.0, 2.0), weight=td.Tensor(w), density=True)
    expected = torch.tensor(x).histogram(7, range=(-2.0, 2.0), weight=torch.tensor(w),
                                         density=True)
    assert out.hist.dtype == np.float32 and out.bin_edges.dtype == np.float32
    np.testing.assert_allclose(out.hist.data, expected.hist.numpy(), rtol=1e-5)
    np.testing.assert_allclose(out.bin_edges.data, expected.bin_edges.numpy(), rtol=1e-6)
    hist, edges = td.Tensor(x).histogram()  # torch's 100 bins
    np.testing.assert_array_equal(hist.data, torch.tensor(x).histogram().hist.numpy())
    with pytest.raises(TypeError, match="histogram: torch's histogram takes a floating"):
        td.Tensor(np.array([1, 2])).histogram()


def test_numpy_functions_on_tensors():
    w = td.Tensor(np.ones(40), requires_grad=True)
    hist, edges = np.histogram(td.Tensor(SAMPLES), 4, weights=w)
    assert isinstance(hist, td.Tensor) and hist.requires_grad
    np.testing.assert_array_equal(hist.data, np.histogram(SAMPLES, 4)[0])
    hist[0].backward()
    np.testing.assert_array_equal(w.grad.data, np.digitize(SAMPLES, edges.data[1:-1]) == 0)
    fp = td.Tensor(np.array([1.0, 3.0]), requires_grad=True)
    out = np.interp(td.Tensor(np.array([0.25])), [0.0, 1.0], fp)
    assert isinstance(out, td.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(fp.grad.data, [0.75, 0.25])
    assert np.searchsorted(td.Tensor(np.array([1.0, 2.0])), 1.5) == 1  # a query: NumPy's


def test_errors_name_the_op():
    with pytest.raises(ValueError, match="interp: xp .3. and fp .2. differ in length"):
        td.interp([0.5], [0.0, 1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="interp: xp .the sample points. is empty"):
        td.interp([0.5], [], [])
    with pytest.raises(ValueError, match="interp: period must be a non-zero value"):
        td.interp([0.5], [0.0, 1.0], [1.0, 2.0], period=0)
    with pytest.raises(ValueError, match="histogram: max must be larger than min"):
        td.histogram(SAMPLES, 3, range=(1.0, 0.0))
    with pytest.raises(ValueError, match="histogram: weights of shape"):
        td.histogram(SAMPLES, 3, weights=np.ones(3))
    with pytest.raises(ValueError, match="histogram: `bins` must increase monotonically"):
        td.histogram(SAMPLES, [0.0, 1.0, 0.5])


def test_interp_with_infinite_fp_or_xp_gives_numpys_values():
    """inf * 0 made NaN where NumPy falls back to the line through the segment's other end,
    to fp[j] when both ends are equal, and to fp[j] exactly at a knot."""
    for x, xp, fp in (([0.0, 0.5, 1.0, 1.5, 2.0], [0.0, 1.0, 2.0], [0.0, np.inf, 3.0]),
                      ([0.0, 1.0], [0.0, 1.0], [-np.inf, 5.0]),
                      ([-np.inf, -5.0, 0.5], [-np.inf, 0.0, 1.0], [1.0, 2.0, 3.0])):
        got = td.interp(*(td.tensor(np.array(v)) for v in (x, xp, fp))).numpy()
        np.testing.assert_array_equal(got, np.interp(x, xp, fp))
