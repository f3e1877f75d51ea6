"""tinydl/ops/reduce.py through the op table: sum, mean, max, min, var, std, logsumexp,
softmax, log_softmax, prod, any, all, count_nonzero, norm, median, quantile, nansum, nanmean,
with axis / keepdims variants and torch's dim / keepdim names."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import tinydl as td
from tests import _reference as ref
from tests.ops._table import (Arg, OpCase, OpTable, check_drawn_view, drawn_arrays,
                              first_and_second_derivatives, normal,
                              off_zero, rows_by_name, torch)

X, X3 = (3, 4), (2, 3, 4)


def reduction(name, fn, ref, shape=X, torch=None, zero_d=True, empty=None, sample=normal,
              **kw):
    """A row for an op of one (3, 4) or (2, 3, 4) input (standard normal unless ``sample``)."""
    return OpCase(name, fn, ref, [Arg(shape, sample)], torch=torch, zero_d=zero_d,
                  empty=None if empty is None else [empty], **kw)


def zeros_in_rows(rng, shape):
    """Standard normal with zeros: along the last axis the first row has none, the second one,
    the third two; a 3-D input has a row of zeros too."""
    x = rng.standard_normal(shape)
    if x.ndim >= 2 and x.shape[-2] >= 3 and x.shape[-1] >= 4:
        x[..., 1, 2] = x[..., 2, 0] = x[..., 2, 3] = 0.0
    if x.ndim == 3:
        x[1, 0] = 0.0
    return x


def one_zero(rng, shape):
    """Standard normal with exactly one zero."""
    x = rng.standard_normal(shape)
    x.flat[x.size // 2] = 0.0
    return x


def with_nans(rng, shape):
    """Standard normal with NaN at every fifth element (every slice keeps some numbers)."""
    x = rng.standard_normal(shape)
    x.flat[2::5] = np.nan
    return x


QS = [0.0, 0.1, 0.5, 0.55, 0.75, 1.0]
Q4 = None if torch is None else torch.tensor([0.0, 0.25, 0.7, 1.0], dtype=torch.float64)


CASES = [
    reduction("sum", td.sum, np.sum, torch=lambda x: x.sum(), empty=(0, 3)),
    reduction("sum_axis_keepdims", lambda x: x.sum(axis=-1, keepdims=True),
              lambda x: x.sum(-1, keepdims=True), zero_d=False, empty=(0, 3),
              torch=lambda x: x.sum(-1, keepdim=True)),
    reduction("sum_axes", lambda x: td.sum(x, axis=(0, 2)), lambda x: x.sum((0, 2)), X3,
              zero_d=False, empty=(2, 0, 4), torch=lambda x: x.sum((0, 2))),
    reduction("sum_torch_names", lambda x: td.sum(x, dim=1, keepdim=True),
              lambda x: x.sum(1, keepdims=True), X3, zero_d=False,
              torch=lambda x: x.sum(dim=1, keepdim=True)),
    # every axis but the channel axis: the per-channel sums of sum_arrays' two-step route
    reduction("sum_all_but_channel", lambda x: td.sum(x, axis=(0, 2, 3), keepdims=True),
              lambda x: x.sum((0, 2, 3), keepdims=True), (3, 4, 2, 5), zero_d=False,
              empty=(0, 4, 2, 5), torch=lambda x: x.sum((0, 2, 3), keepdim=True)),
    reduction("mean", td.mean, np.mean, torch=lambda x: x.mean(), empty=(0, 3)),
    reduction("mean_all_but_channel", lambda x: td.mean(x, axis=(0, 2, 3)),
              lambda x: x.mean((0, 2, 3)), (3, 4, 2, 5), zero_d=False,
              torch=lambda x: x.mean((0, 2, 3))),
    reduction("mean_axis0", lambda x: td.mean(x, axis=0), lambda x: x.mean(0), zero_d=False,
              empty=(3, 0), torch=lambda x: x.mean(0)),
    reduction("mean_axes_keepdims", lambda x: td.mean(x, axis=(-1, 0), keepdims=True),
              lambda x: x.mean((-1, 0), keepdims=True), X3, zero_d=False,
              torch=lambda x: x.mean((-1, 0), keepdim=True)),
    reduction("max", td.max, np.max, torch=lambda x: x.max()),
    reduction("max_axis", lambda x: td.max(x, axis=-1), lambda x: x.max(-1), zero_d=False,
              empty=(0, 3), torch=lambda x: x.amax(-1)),
    reduction("max_axes_keepdims", lambda x: td.max(x, axis=(0, 2), keepdims=True),
              lambda x: x.max((0, 2), keepdims=True), X3, zero_d=False,
              torch=lambda x: x.amax((0, 2), keepdim=True)),
    reduction("min", td.min, np.min, torch=lambda x: x.min()),
    reduction("min_axis0", lambda x: td.min(x, axis=0), lambda x: x.min(0), zero_d=False,
              empty=(3, 0), torch=lambda x: x.amin(0)),
    reduction("var", td.var, np.var, torch=lambda x: x.var(unbiased=False), empty=(0, 3)),
    reduction("var_axis0", lambda x: td.var(x, axis=0), lambda x: x.var(0), zero_d=False,
              torch=lambda x: x.var(0, unbiased=False)),
    reduction("var_ddof1_keepdims", lambda x: td.var(x, axis=(1, 2), ddof=1, keepdims=True),
              lambda x: x.var((1, 2), ddof=1, keepdims=True), X3, zero_d=False,
              torch=lambda x: x.var((1, 2), correction=1, keepdim=True)),
    reduction("std_ddof1", lambda x: td.std(x, ddof=1), lambda x: np.std(x, ddof=1),
              zero_d=False, torch=lambda x: x.std()),
    reduction("std_axis", lambda x: td.std(x, axis=-1), lambda x: x.std(-1), zero_d=False,
              empty=(3, 0), torch=lambda x: x.std(-1, correction=0)),
    reduction("logsumexp", td.logsumexp, special.logsumexp,
              torch=lambda x: torch.logsumexp(x.reshape(-1), 0)),
    reduction("logsumexp_axis", lambda x: td.logsumexp(x, axis=-1),
              lambda x: special.logsumexp(x, axis=-1), zero_d=False, empty=(0, 3),
              torch=lambda x: torch.logsumexp(x, -1)),
    reduction("logsumexp_axes_keepdims", lambda x: td.logsumexp(x, axis=(0, 1), keepdims=True),
              lambda x: special.logsumexp(x, axis=(0, 1), keepdims=True), X3, zero_d=False,
              torch=lambda x: torch.logsumexp(x, (0, 1), keepdim=True)),
    reduction("softmax", td.softmax, lambda x: special.softmax(x, axis=-1), zero_d=False,
              empty=(0, 3), torch=lambda x: torch.softmax(x, -1)),
    reduction("softmax_axis0", lambda x: td.softmax(x, axis=0),
              lambda x: special.softmax(x, axis=0), X3, zero_d=False,
              torch=lambda x: torch.softmax(x, 0)),
    reduction("log_softmax", td.log_softmax, lambda x: special.log_softmax(x, axis=-1),
              zero_d=False, empty=(0, 3), torch=lambda x: torch.log_softmax(x, -1)),
    reduction("log_softmax_axis0", lambda x: td.log_softmax(x, axis=0),
              lambda x: special.log_softmax(x, axis=0), zero_d=False,
              torch=lambda x: torch.log_softmax(x, 0)),
    reduction("log_softmax_torch_dim", lambda x: td.log_softmax(x, dim=1),
              lambda x: special.log_softmax(x, axis=1), X3, zero_d=False,
              torch=lambda x: torch.log_softmax(x, 1)),
    # indices of extrema: int64, no gradient
    reduction("argmax", td.argmax, np.argmax, out_dtype=np.int64, grad=False,
              torch=lambda x: torch.argmax(x)),
    reduction("argmax_axis", lambda x: td.argmax(x, axis=-1), lambda x: x.argmax(-1),
              zero_d=False, empty=(0, 3), out_dtype=np.int64, grad=False,
              torch=lambda x: torch.argmax(x, -1)),
    reduction("argmin_axis_keepdims", lambda x: td.argmin(x, axis=1, keepdims=True),
              lambda x: x.argmin(1, keepdims=True), X3, zero_d=False, out_dtype=np.int64,
              grad=False, torch=lambda x: torch.argmin(x, 1, keepdim=True)),
    # products: exact gradients with one zero (only it gets one) and with several (none does)
    reduction("prod", td.prod, np.prod, torch=lambda x: x.prod(), empty=(0, 3)),
    reduction("prod_axis1", lambda x: td.prod(x, axis=1), lambda x: x.prod(1), zero_d=False,
              empty=(3, 0), torch=lambda x: x.prod(1)),
    reduction("prod_axes_keepdims", lambda x: td.prod(x, axis=(0, 2), keepdims=True),
              lambda x: x.prod((0, 2), keepdims=True), X3, zero_d=False, empty=(2, 0, 4),
              torch=lambda x: x.prod(2, keepdim=True).prod(0, keepdim=True)),
    reduction("prod_zeros_dim1", lambda x: td.prod(x, dim=1), lambda x: x.prod(1), zero_d=False,
              sample=zeros_in_rows, torch=lambda x: x.prod(1)),
    reduction("prod_zeros_axes", lambda x: td.prod(x, axis=(0, 2)), lambda x: x.prod((0, 2)), X3,
              zero_d=False, sample=zeros_in_rows),
    reduction("prod_one_zero", td.prod, np.prod, zero_d=False, sample=one_zero,
              torch=lambda x: x.prod()),
    reduction("prod_two_zeros", td.prod, np.prod, zero_d=False, sample=zeros_in_rows,
              torch=lambda x: x.prod()),
    # logical reductions and counts: bool / int64, no gradient
    reduction("any", td.any, np.any, sample=zeros_in_rows, grad=False, out_dtype=np.bool_,
              empty=(0, 3), torch=lambda x: torch.any(x)),
    reduction("any_axis1", lambda x: td.any(x, axis=1), lambda x: np.any(x, 1), zero_d=False,
              sample=zeros_in_rows, grad=False, out_dtype=np.bool_, empty=(3, 0),
              torch=lambda x: torch.any(x, 1)),
    reduction("all_dim0_keepdim", lambda x: td.all(x, dim=0, keepdim=True),
              lambda x: np.all(x, 0, keepdims=True), zero_d=False, sample=zeros_in_rows,
              grad=False, out_dtype=np.bool_, empty=(0, 3),
              torch=lambda x: torch.all(x, 0, keepdim=True)),
    reduction("all", td.all, np.all, sample=zeros_in_rows, grad=False, out_dtype=np.bool_,
              empty=(0, 3), torch=lambda x: torch.all(x)),
    reduction("count_nonzero", td.count_nonzero, np.count_nonzero, sample=zeros_in_rows,
              grad=False, out_dtype=np.int64, empty=(0, 3),
              torch=lambda x: torch.count_nonzero(x)),
    reduction("count_nonzero_axes", lambda x: td.count_nonzero(x, axis=(0, 2)),
              lambda x: np.count_nonzero(x, axis=(0, 2)), X3, zero_d=False,
              sample=zeros_in_rows, grad=False, out_dtype=np.int64,
              torch=lambda x: torch.count_nonzero(x, (0, 2))),
    # norms: np.linalg.norm's ord / axis / keepdims; torch.linalg's vector and matrix norms
    reduction("norm", td.norm, np.linalg.norm, empty=(0, 3),
              torch=lambda x: torch.linalg.vector_norm(x)),
    reduction("norm_axis1", lambda x: td.norm(x, axis=1), lambda x: np.linalg.norm(x, axis=1),
              zero_d=False, empty=(3, 0), torch=lambda x: torch.linalg.vector_norm(x, dim=1)),
    reduction("norm_ord1_axis0_keepdims", lambda x: td.norm(x, 1, axis=0, keepdims=True),
              lambda x: np.linalg.norm(x, 1, axis=0, keepdims=True), zero_d=False,
              sample=off_zero, torch=lambda x: torch.linalg.vector_norm(x, 1, 0, keepdim=True)),
    reduction("norm_inf_axis1", lambda x: td.norm(x, np.inf, axis=1),
              lambda x: np.linalg.norm(x, np.inf, axis=1), zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, float("inf"), 1)),
    reduction("norm_neg_inf_axis1", lambda x: td.norm(x, -np.inf, axis=-1),
              lambda x: np.linalg.norm(x, -np.inf, axis=-1), X3, zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, float("-inf"), -1)),
    reduction("norm_ord3_axis1", lambda x: td.norm(x, 3, axis=1),
              lambda x: np.linalg.norm(x, 3, axis=1), zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, 3, 1)),
    reduction("norm_ord1.5_axis1", lambda x: td.norm(x, 1.5, axis=1),
              lambda x: np.linalg.norm(x, 1.5, axis=1), zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, 1.5, 1)),
    reduction("norm_ord0.5_axis0", lambda x: td.norm(x, 0.5, axis=0),
              lambda x: np.linalg.norm(x, 0.5, axis=0), zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, 0.5, 0)),
    reduction("norm_ord-2_axis1", lambda x: td.norm(x, -2, axis=1),
              lambda x: np.linalg.norm(x, -2, axis=1), zero_d=False, sample=off_zero,
              torch=lambda x: torch.linalg.vector_norm(x, -2, 1)),
    reduction("norm_ord0_axis1", lambda x: td.norm(x, 0, axis=1),
              lambda x: np.linalg.norm(x, 0, axis=1), zero_d=False, sample=zeros_in_rows,
              torch=lambda x: torch.linalg.vector_norm(x, 0, 1)),
    reduction("norm_vector_ord1", lambda x: td.norm(x, 1), lambda x: np.linalg.norm(x, 1), (7,),
              zero_d=False, sample=off_zero, empty=(0,),
              torch=lambda x: torch.linalg.vector_norm(x, 1)),
    reduction("norm_fro", lambda x: td.norm(x, "fro"), lambda x: np.linalg.norm(x, "fro"),
              zero_d=False, empty=(0, 3), torch=lambda x: torch.linalg.matrix_norm(x)),
    reduction("norm_fro_axes", lambda x: td.norm(x, "fro", axis=(2, 0), keepdims=True),
              lambda x: np.linalg.norm(x, "fro", axis=(2, 0), keepdims=True), X3, zero_d=False,
              torch=lambda x: torch.linalg.matrix_norm(x, dim=(2, 0), keepdim=True)),
    reduction("norm_matrix_ord1", lambda x: td.norm(x, ord=1), lambda x: np.linalg.norm(x, 1),
              zero_d=False, sample=off_zero, torch=lambda x: torch.linalg.matrix_norm(x, 1)),
    reduction("norm_matrix_ord-1", lambda x: td.norm(x, ord=-1), lambda x: np.linalg.norm(x, -1),
              zero_d=False, sample=off_zero, torch=lambda x: torch.linalg.matrix_norm(x, -1)),
    reduction("norm_matrix_inf_axes", lambda x: td.norm(x, ord=np.inf, axis=(2, 1)),
              lambda x: np.linalg.norm(x, np.inf, axis=(2, 1)), X3, zero_d=False,
              sample=off_zero,
              torch=lambda x: torch.linalg.matrix_norm(x, float("inf"), dim=(2, 1))),
    reduction("norm_matrix_neg_inf_keepdims",
              lambda x: td.norm(x, ord=-np.inf, axis=(0, 1), keepdims=True),
              lambda x: np.linalg.norm(x, -np.inf, (0, 1), True), zero_d=False,
              sample=off_zero,
              torch=lambda x: torch.linalg.matrix_norm(x, float("-inf"), keepdim=True)),
    reduction("norm_torch_names", lambda x: td.norm(x, p=2, dim=(0, 2), keepdim=True),
              lambda x: np.sqrt((x * x).sum((0, 2), keepdims=True)), X3, zero_d=False,
              torch=lambda x: torch.norm(x, p=2, dim=(0, 2), keepdim=True)),
    reduction("norm_torch_p1_flattens", lambda x: td.norm(x, p=1), lambda x: np.abs(x).sum(),
              zero_d=False, sample=off_zero, torch=lambda x: torch.norm(x, p=1)),
    # order statistics: NumPy's quantile (linear interpolation by default) and median
    reduction("median", td.median, np.median, torch=lambda x: torch.quantile(x, 0.5)),
    reduction("median_axis0_odd", lambda x: td.median(x, axis=0),
              lambda x: np.median(x, axis=0), zero_d=False,
              torch=lambda x: torch.median(x, 0).values),
    reduction("median_axis1_even_keepdims", lambda x: td.median(x, axis=1, keepdims=True),
              lambda x: np.median(x, axis=1, keepdims=True), zero_d=False,
              torch=lambda x: torch.quantile(x, 0.5, 1, keepdim=True)),
    # the method is torch's: the lower middle value (an element), as torch.median
    reduction("median_method_torchs", lambda x: x.median(),
              lambda x: np.sort(x, axis=None)[(x.size - 1) // 2],
              torch=lambda x: torch.median(x)),
    reduction("median_method_dim1_even_keepdim", lambda x: x.median(dim=1, keepdim=True),
              lambda x: np.sort(x, axis=1)[:, [(x.shape[1] - 1) // 2]], zero_d=False,
              torch=lambda x: torch.median(x, dim=1, keepdim=True).values),
    reduction("median_axes", lambda x: td.median(x, axis=(0, 2)),
              lambda x: np.median(x, axis=(0, 2)), X3, zero_d=False),
    reduction("quantile", lambda x: td.quantile(x, 0.3), lambda x: np.quantile(x, 0.3),
              torch=lambda x: torch.quantile(x, 0.3)),
    reduction("quantile_q_array_axis1", lambda x: td.quantile(x, [0.0, 0.25, 0.7, 1.0], axis=1),
              lambda x: np.quantile(x, [0.0, 0.25, 0.7, 1.0], axis=1), zero_d=False,
              torch=lambda x: torch.quantile(x, Q4, 1)),
    reduction("quantile_q_2d_keepdims", lambda x: td.quantile(x, [[0.1], [0.9]], axis=-1,
                                                             keepdims=True),
              lambda x: np.quantile(x, [[0.1], [0.9]], axis=-1, keepdims=True), X3,
              zero_d=False),
    *[reduction(f"quantile_{m}_dim0", lambda x, m=m: td.quantile(x, QS, dim=0, method=m),
                lambda x, m=m: np.quantile(x, QS, axis=0, method=m), X3, zero_d=False,
                torch=lambda x, m=m: torch.quantile(x, torch.tensor(QS, dtype=x.dtype), 0,
                                                    interpolation=m))
      for m in ("linear", "lower", "higher", "nearest", "midpoint")],
    reduction("quantile_interpolation_name", lambda x: td.quantile(x, 0.4, interpolation="lower"),
              lambda x: np.quantile(x, 0.4, method="lower"),
              torch=lambda x: torch.quantile(x, 0.4, interpolation="lower")),
    # NaN-ignoring sum and mean: NaN elements get no gradient
    reduction("nansum", td.nansum, np.nansum, sample=with_nans, empty=(0, 3),
              torch=lambda x: torch.nansum(x)),
    reduction("nansum_axis0_keepdims", lambda x: td.nansum(x, axis=0, keepdims=True),
              lambda x: np.nansum(x, 0, keepdims=True), zero_d=False, sample=with_nans,
              torch=lambda x: torch.nansum(x, 0, keepdim=True)),
    reduction("nanmean", td.nanmean, np.nanmean, sample=with_nans,
              torch=lambda x: torch.nanmean(x)),
    reduction("nanmean_dim", lambda x: td.nanmean(x, dim=(0, 2)),
              lambda x: np.nanmean(x, (0, 2)), X3, zero_d=False, sample=with_nans,
              torch=lambda x: torch.nanmean(x, (0, 2))),
    # torch's names: (std, mean) and (var, mean) with its correction=1; dist, a p-norm
    reduction("std_mean", td.std_mean, lambda x: (np.std(x, ddof=1), np.mean(x)), zero_d=False,
              torch=lambda x: torch.std_mean(x)),
    reduction("var_mean_dim_keepdim", lambda x: td.var_mean(x, 1, correction=0, keepdim=True),
              lambda x: (np.var(x, 1, keepdims=True), np.mean(x, 1, keepdims=True)), X3,
              zero_d=False, torch=lambda x: torch.var_mean(x, 1, correction=0, keepdim=True)),
    OpCase("dist", td.dist, lambda x, y: np.linalg.norm((x - y).ravel()), [X, (4,)],
           torch=lambda x, y: torch.dist(x, y)),
    OpCase("dist_p3", lambda x, y: td.dist(x, y, 3),
           lambda x, y: np.linalg.norm((x - y).ravel(), 3), [X, X],
           torch=lambda x, y: torch.dist(x, y, 3)),
]


BY_NAME = rows_by_name(CASES)


class TestReduce(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- beyond a row
def test_max_ties_share_gradient():
    x = td.Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    td.max(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])
    x = td.Tensor(np.array([[2.0, 1.0, 1.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    td.min(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_max_and_min_over_nothing_raise_naming_the_op():
    # NumPy refuses too (a maximum of no values has no identity); sum and mean answer 0, NaN.
    x = td.zeros(0, 3)
    for fn, name in [(td.max, "max"), (td.min, "min")]:
        for axis in (None, 0):
            with pytest.raises(ValueError, match=rf"{name}: .*zero-length axis.*\(0, 3\)"):
                fn(x, axis=axis)


def test_stable_at_extreme_logits():
    x = td.Tensor(np.array([[-1e4, 0.0, 1e4]]), requires_grad=True)
    for fn in (td.log_softmax, td.softmax, lambda t: td.logsumexp(t, axis=-1)):
        out = fn(x)
        out.sum().backward()
        assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
        x.grad = None
    np.testing.assert_allclose(td.log_softmax(x).data, [[-2e4, -1e4, 0.0]])


@settings(max_examples=20, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(["sum_axis_keepdims", "log_softmax", "mean",
                                                 "logsumexp_axis", "var"]))
def test_reductions_on_drawn_non_contiguous_inputs(arr, name):
    check_drawn_view(BY_NAME[name], arr)


_needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) missing")


@_needs_torch
@pytest.mark.parametrize("zeros", [[], [5], [0, 11], [3, 4, 7], list(range(12))])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_prod_gradients_at_zeros_match_torch(zeros, axis):
    # one zero: only it gets a gradient (the product of the others); several: none does; the
    # second derivatives (create_graph) as torch's too
    rng = np.random.default_rng(len(zeros))
    x = rng.standard_normal((3, 4))
    x.flat[zeros] = 0.0
    out_shape = () if axis is None else np.delete(x.shape, axis)
    v, w = rng.standard_normal(out_shape), rng.standard_normal(x.shape)
    got = first_and_second_derivatives(lambda t: td.prod(t, axis=axis), x, v, w, "td")
    want = first_and_second_derivatives(lambda t: t.prod() if axis is None else t.prod(axis),
                                        x, v, w, "torch")
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-14)


def test_prod_gradient_is_the_product_of_the_others():
    for x in (np.array([2.0, 0.0, 3.0, -1.5]), np.array([0.0, 2.0, 0.0]), np.arange(1.0, 6.0)):
        t = td.Tensor(x, requires_grad=True)
        td.prod(t).backward()
        np.testing.assert_allclose(t.grad.data, ref.product_of_others(x), rtol=1e-14)
    # over several axes at once, with zeros
    x = np.arange(24.0).reshape(2, 3, 4) % 5
    t = td.Tensor(x, requires_grad=True)
    td.prod(t, axis=(0, 2)).sum().backward()
    for j in range(3):
        np.testing.assert_allclose(t.grad.data[:, j, :].ravel(),
                                   ref.product_of_others(x[:, j, :].ravel()))
    assert td.gradgradcheck(lambda a: td.prod(a, axis=(0, 2)), [td.Tensor(x, requires_grad=True)])


def test_prod_and_counts_of_integers_and_bools():
    ints = td.Tensor(np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert td.prod(ints).dtype == np.int64 and td.prod(ints).item() == 24
    assert td.prod(ints, dtype=np.float64).dtype == np.float64
    flags = td.Tensor(np.array([[True, False], [True, True]]))
    np.testing.assert_array_equal(td.all(flags, axis=1).data, [False, True])
    np.testing.assert_array_equal(td.any(ints == 4, axis=0).data, [False, True])
    assert td.count_nonzero(flags).dtype == np.int64 and td.count_nonzero(flags).item() == 3


def test_logical_reductions_count_nan_as_true_and_give_no_gradient():
    x = td.Tensor(np.array([[np.nan, 0.0], [0.0, 0.0]]), requires_grad=True)
    np.testing.assert_array_equal(td.any(x, axis=1).data, [True, False])
    assert td.all(td.Tensor([np.nan, 1.0])).item() is True
    assert td.count_nonzero(x).item() == 1
    for out in (td.any(x), td.all(x), td.count_nonzero(x)):
        assert not out.requires_grad


@_needs_torch
def test_norm_gradient_is_zero_where_the_norm_is_zero_as_torch():
    for ord in (2, 3, 1.5, 0.5, 1, np.inf, -np.inf, -2, "fro"):
        for values in ([0.0, 0.0, 0.0], [0.0, 1.0, -2.0]):
            x = np.array(values)
            t = td.Tensor(x, requires_grad=True)
            (td.norm(t.reshape(1, 3), ord) if ord == "fro" else td.norm(t, ord)).backward()
            tt = torch.from_numpy(x).requires_grad_()
            p = 2 if ord == "fro" else ord
            torch.linalg.vector_norm(tt, p).backward()
            np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-12, atol=1e-15,
                                       err_msg=f"norm ord={ord} at {values}")


def test_norm_neither_overflows_nor_underflows():
    for scale in (1e200, 1e-200):
        x = td.Tensor(np.array([[3.0, 4.0], [0.0, 0.0]]) * scale, requires_grad=True)
        out = td.norm(x, axis=1)
        np.testing.assert_allclose(out.data, [5.0 * scale, 0.0], rtol=1e-14)
        out.sum().backward()
        np.testing.assert_allclose(x.grad.data, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-14)
    big = td.Tensor(np.array([3e30, 4e30], dtype=np.float32))
    assert td.norm(big).dtype == np.float32
    np.testing.assert_allclose(td.norm(big).data, 5e30, rtol=1e-6)
    np.testing.assert_allclose(td.norm(big, 3).data, np.cbrt(27 + 64) * 1e30, rtol=1e-6)


def test_norm_numpy_ord_against_torch_p():
    x = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert td.norm(td.Tensor(x), ord=1).item() == 6.0       # NumPy: max column sum
    assert td.norm(td.Tensor(x), p=1).item() == 10.0        # torch.norm: sum of |x|
    assert td.norm(td.Tensor(x), ord=np.inf).item() == 7.0  # NumPy: max row sum
    assert td.norm(td.Tensor(x), p=np.inf).item() == 4.0    # torch.norm: max |x|
    assert td.norm(td.Tensor(np.arange(3)), 1).dtype == np.float32


def test_norm_errors_name_the_op():
    x = td.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="norm: ord=1 with axis=None needs a 1-D or 2-D"):
        td.norm(x, 1)
    with pytest.raises(ValueError, match="norm: ord=2 over two axes .* tinydl.linalg"):
        td.norm(x, ord=2, axis=(0, 1))
    with pytest.raises(ValueError, match="norm: ord='nuc' over two axes"):
        td.norm(x, "nuc", axis=(0, 1))
    with pytest.raises(ValueError, match="norm: ord='fro' is a matrix norm"):
        td.norm(x, "fro", axis=1)
    with pytest.raises(ValueError, match="norm: invalid ord 'max'"):
        td.norm(x, "max")
    with pytest.raises(ValueError, match="norm: repeated axis"):
        td.norm(x, axis=(1, -2))
    with pytest.raises(TypeError, match="norm: got both 'ord' and torch's 'p'"):
        td.norm(x, 2, p=2)


@_needs_torch
def test_quantile_and_median_gradients_with_ties_match_torch():
    x = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 2.0])
    for q in (0.5, 0.3, 0.9, [0.2, 0.5, 0.5]):
        t = td.Tensor(x, requires_grad=True)
        out = td.quantile(t, q)
        tt = torch.from_numpy(x).requires_grad_()
        want = torch.quantile(tt, torch.tensor(q, dtype=torch.float64))
        np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-14)
        out.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(t.grad.data, tt.grad.numpy(), err_msg=f"q={q}")
    # the median of an even count is the mean of the two middle values: halves of g to each
    t = td.Tensor(np.array([4.0, 1.0, 3.0, 2.0]), requires_grad=True)
    out = td.median(t)
    out.backward()
    assert out.item() == 2.5
    np.testing.assert_array_equal(t.grad.data, [0.0, 0.0, 0.5, 0.5])


@_needs_torch
def test_quantile_of_a_slice_with_nan_is_nan_as_torch():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    t = td.Tensor(x, requires_grad=True)
    out = td.quantile(t, [0.25, 0.5], axis=1)
    tt = torch.from_numpy(x).requires_grad_()
    want = torch.quantile(tt, torch.tensor([0.25, 0.5], dtype=torch.float64), dim=1)
    np.testing.assert_array_equal(out.data, want.detach().numpy())
    np.testing.assert_array_equal(out.data, np.quantile(x, [0.25, 0.5], axis=1))
    (out * td.Tensor(np.ones((2, 2)))).sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(t.grad.data, tt.grad.numpy())
    assert np.isnan(td.median(t).item())


def test_quantile_of_infinities_and_integers():
    # Where v = q (n - 1) is a whole number no interpolation happens: the selected value, inf
    # included (NumPy and torch lerp inf with weight 0 and give NaN at q = 1). Between 2 and
    # inf, the lerp from the nearer end gives NaN, as theirs does.
    x = td.Tensor(np.array([1.0, np.inf, 2.0]))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(td.quantile(x, [0.0, 0.5, 0.75, 1.0]).data,
                                      [1.0, 2.0, np.nan, np.inf])
    ints = td.Tensor(np.array([1, 2, 3, 4]))
    assert td.median(ints).dtype == np.float32 and td.median(ints).item() == 2.5


def test_quantile_errors_name_the_op():
    x = td.zeros(2, 3)
    with pytest.raises(ValueError, match=r"quantile: q must lie in \[0, 1\], got 1.5"):
        td.quantile(x, 1.5)
    with pytest.raises(ValueError, match="quantile: q must lie"):
        td.quantile(x, [0.5, np.nan])
    with pytest.raises(ValueError, match="quantile: method must be one of"):
        td.quantile(x, 0.5, method="weibull")
    with pytest.raises(ValueError, match=r"quantile: the quantile of no elements \(shape"):
        td.median(td.zeros(0, 3), axis=0)
    with pytest.raises(ValueError, match="quantile: axis 2 is out of bounds"):
        td.quantile(x, 0.5, axis=2)


def test_nanmean_of_an_all_nan_slice_is_nan_without_warnings():
    x = td.Tensor(np.array([[np.nan, np.nan], [1.0, np.nan]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = td.nanmean(x, axis=1)
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [np.nan, 1.0])
    # NaN elements get no gradient, also where the whole slice is NaN (torch's is NaN there)
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0], [1.0, 0.0]])
    assert td.nansum(td.Tensor([np.nan, np.nan])).item() == 0.0
    assert td.nanmean(td.Tensor(np.array([1, 2]))).item() == 1.5


@settings(max_examples=20, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(["prod_axis1", "norm_axis1", "norm_ord3_axis1",
                                                 "median_axis0_odd", "quantile", "nansum"]))
def test_new_reductions_on_drawn_non_contiguous_inputs(arr, name):
    # Drawn values may tie or sit at a kink: forward only for the piecewise ones. Subnormals
    # become zeros: prod's gradient g y / x (torch's too) loses them to underflow.
    arr = np.where(np.abs(arr) < np.finfo(np.float64).tiny, 0.0, arr)
    check_drawn_view(BY_NAME[name], arr, gradcheck=name in ("prod_axis1", "nansum"))


@pytest.mark.parametrize("fn,torch_name", [(td.max, "max"), (td.min, "min")])
@pytest.mark.parametrize("create_graph", [False, True])
def test_extremum_gradient_is_exactly_zero_off_the_extremes(fn, torch_name, create_graph):
    """The gradient goes to the extreme (ties share it; a NaN extreme: the NaNs) and is +0.0
    everywhere else even when it is inf or NaN, as torch's max() / min() give."""
    rows = np.array([[1.0, 5.0, -3.0], [4.0, -2.0, 4.0], [-2.0, np.nan, 7.0]], np.float32)
    x = td.Tensor(rows, requires_grad=True)
    upstream = td.Tensor(np.array([np.inf, 2.0, np.nan], np.float32), requires_grad=create_graph)
    (g,) = td.grad(fn(x, dim=1), [x], grad_outputs=[upstream], create_graph=create_graph)
    extreme = 1 if torch_name == "max" else 2
    expected = np.zeros_like(rows)
    expected[0, extreme] = np.inf
    expected[1, [0, 2] if torch_name == "max" else 1] = 1.0 if torch_name == "max" else 2.0
    expected[2, 1] = np.nan  # the NaN is the extreme: it gets the (NaN) gradient
    np.testing.assert_array_equal(g.data, expected)
    assert not np.signbit(g.data).any()
    if torch is not None:  # torch's whole-tensor reduction selects (its amax(dim) multiplies)
        for row in rows:
            x = td.Tensor(row, requires_grad=True)
            fn(x).backward(td.Tensor(np.float32(np.inf)))
            tx = torch.tensor(row, requires_grad=True)
            getattr(torch, torch_name)(tx).backward(torch.tensor(np.inf))
            np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_std_gradient_is_zero_over_a_constant_slice(dtype):
    """Where every element equals the mean, std's gradient is 0 (torch's), not the NaN of
    sqrt's infinite slope times the variance's zero gradient; other slices are unchanged."""
    data = np.array([[2.0, 2.0, 2.0], [1.0, 3.0, 5.0]], dtype)
    x = td.Tensor(data, requires_grad=True)
    td.std(x, dim=1, ddof=1).sum().backward()
    row = data[1]
    expected = (row - row.mean()) / ((len(row) - 1) * row.std(ddof=1))
    np.testing.assert_array_equal(x.grad.data[0], 0.0)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(x.grad.data[1], expected, rtol=rtol)
    x = td.Tensor(np.full(4, 7.0, dtype), requires_grad=True)
    (g,) = td.grad(td.std(x), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, 0.0)


def test_per_channel_sums_round_less_than_numpys_row_after_row_sum():
    """Per-channel means of float32 values far from zero next to their spread (300 + 0.01 N),
    the statistics of a batch norm: within 1 ulp of the exact mean (NumPy's sum over the
    leading rows one after another was 1.1-1.8 ulp off on these shapes; its rounding shifts
    every normalised value by up to 0.3% here). Also through Tensor.mean."""
    from tinydl.ops._util import sum_arrays

    rng = np.random.default_rng(0)
    ulp = np.spacing(np.float32(300))
    for shape in ((128, 32, 4, 4), (32, 64, 16, 16)):
        x = (300 + 0.01 * rng.standard_normal(shape)).astype(np.float32)
        exact = x.astype(np.float64).mean(axis=(0, 2, 3))
        count = x.size // shape[1]
        mean = (sum_arrays(x, (0, 2, 3)) / np.float32(count)).astype(np.float32)
        assert np.abs(mean - exact).max() <= ulp, shape
        via_op = td.Tensor(x).mean(axis=(0, 2, 3)).data
        assert via_op.dtype == np.float32 and np.abs(via_op - exact).max() <= ulp, shape


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=5), data=st.data(),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]),
       keepdims=st.booleans(), transposed=st.booleans())
def test_sum_arrays_equals_numpys_sum(shape, data, dtype, keepdims, transposed):
    """The one sum under Sum, Mean and the normalisations: NumPy's result, shape and dtype
    for any axes, on contiguous and transposed arrays (the two-step route serves only a
    C-contiguous float array summed over every axis but an inner one; the test draws those
    most of the time). float16 is added in float32 and rounded once (torch's sum; NumPy's
    float16 sum does that only along the innermost axis)."""
    from tinydl.ops._util import sum_arrays

    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype)
    if transposed:
        x = x.T
    kept = data.draw(st.integers(-1, x.ndim - 1))  # -1: a random set of axes instead
    axes = (tuple(a for a in range(x.ndim) if a != kept) if kept >= 0 else
            tuple(sorted(data.draw(st.sets(st.integers(0, x.ndim - 1))))))
    wide = np.float32 if dtype == np.float16 and data.draw(st.booleans()) else None
    got = sum_arrays(x, axes, keepdims, dtype=wide)
    if dtype == np.float16 and wide is None:
        want = np.asarray(np.sum(x, axis=axes, keepdims=keepdims, dtype=np.float32)
                          ).astype(np.float16)
    else:
        want = np.sum(x, axis=axes, keepdims=keepdims, dtype=wide)
    assert np.shape(got) == want.shape and np.asarray(got).dtype == want.dtype, (axes, x.shape)
    np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == np.float16 else 1e-5,
                               atol=1e-4, err_msg=f"sum_arrays over {axes} of {x.shape}")


@pytest.mark.parametrize("value", [np.inf, np.nan, -3.0])
def test_product_of_one_factor_passes_the_gradient(value):
    """A product of one factor is that factor: dx = g, also at inf or NaN (g y / x gave NaN;
    torch gives 1 for a 0-d input)."""
    x = td.tensor(value, requires_grad=True)
    x.prod().backward()
    assert x.grad.item() == 1.0
    x = td.tensor([[value], [2.0]], requires_grad=True)
    x.prod(axis=1).sum().backward()
    assert x.grad.tolist() == [[1.0], [1.0]]


@pytest.mark.parametrize("op, data, expected", [
    ("var", [2e19, 0.0, -2e19], 8e38 / 3), ("std", [3e38, 1.0], 1.5e38),
    ("var", [3e38, 1.0], np.inf)])
def test_float32_variance_that_fits_does_not_overflow(op, data, expected):
    """The sum of squares overflows float32 where the variance (or the standard deviation)
    fits; torch accumulates in float64 and gives the finite value, so does tinydl now."""
    x = td.Tensor(np.array(data, np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the float32 attempt's overflow
        y = getattr(x, op)()
        y.backward()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.item(), expected, rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.skipif(torch is None, reason="needs torch's dtype objects")
@pytest.mark.parametrize("name", ["mean", "nanmean"])
def test_mean_takes_a_torch_dtype_as_sum_does(name):
    x = td.tensor([1, 2, 4])
    out = getattr(x, name)(dtype=torch.float64)
    assert out.dtype == np.float64 and out.item() == pytest.approx(7 / 3, rel=1e-15)
    with pytest.raises(TypeError, match=f"{name}: dtype=int64 is not a floating dtype"):
        getattr(x, name)(dtype=torch.int64)
