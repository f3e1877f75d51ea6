"""embedding_bag (tinydl/nn/functional/bags.py) through the op table, then its edges: empty
bags, padding_idx, the 'max' rule for ties and NaN, max_norm, scale_grad_by_freq (where
torch's CPU gradient is wrong), and the errors. The reference (tests/_reference.py) reduces
one bag at a time."""
import numpy as np
import pytest

import tinydl as td
from tests import _reference as ref
from tests.ops._table import Arg, OpCase, OpTable, fixed, integers, torch
from tinydl.nn import functional as F

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")


def tF():
    """torch.nn.functional (looked up when a torch check runs)."""
    return torch.nn.functional


INDICES = Arg((8,), fixed([1, 2, 4, 4, 3, 0, 2, 2]), grad=False)
OFFSETS = Arg((4,), fixed([0, 2, 2, 5]), grad=False)  # bag 1 is empty
CSR = Arg((5,), fixed([0, 2, 2, 5, 8]), grad=False)   # the same bags, the end included
MATRIX = Arg((3, 4), fixed([[1, 2, 4, 4], [3, 0, 2, 2], [2, 2, 2, 2]]), grad=False)
WEIGHT = (5, 4)


def bag(name, indices, offsets=None, per_sample=False, empty=None, **options):
    """An embedding_bag row with keyword arguments ``options``: its inputs are indices, a
    weight, then the offsets and per_sample_weights (of the indices' shape) when given."""
    args = [indices, WEIGHT] + ([offsets] if offsets is not None else []) + (
        [Arg(indices.shape)] if per_sample else [])

    def split(inputs):
        rest = list(inputs[2:])
        o = rest.pop(0) if offsets is not None else None
        p = rest.pop(0) if per_sample else None
        return inputs[0], inputs[1], o, p

    def fn(*inputs):
        i, w, o, p = split(inputs)
        return F.embedding_bag(i, w, o, per_sample_weights=p, **options)

    def reference(*inputs):
        i, w, o, p = split(inputs)
        return ref.embedding_bag(i, w, o, per_sample_weights=p, **options)

    def theirs(*inputs):
        i, w, o, p = split(inputs)
        return tF().embedding_bag(i, w, o, per_sample_weights=p, **options)

    return OpCase(name, fn, reference, args, torch=theirs, empty=empty)


CASES = [
    bag("embedding_bag_sum", INDICES, OFFSETS, mode="sum"),
    bag("embedding_bag_mean", INDICES, OFFSETS),
    bag("embedding_bag_max", INDICES, OFFSETS, mode="max"),
    bag("embedding_bag_sum_per_sample_weights", INDICES, OFFSETS, per_sample=True, mode="sum"),
    bag("embedding_bag_mean_padding_idx", INDICES, OFFSETS, padding_idx=2),
    bag("embedding_bag_max_padding_idx", INDICES, OFFSETS, mode="max", padding_idx=4),
    bag("embedding_bag_sum_padding_and_weights", INDICES, OFFSETS, per_sample=True,
        mode="sum", padding_idx=4),
    bag("embedding_bag_include_last_offset", INDICES, CSR, mode="sum",
        include_last_offset=True),
    bag("embedding_bag_2d_mean", MATRIX),
    bag("embedding_bag_2d_max_padding_idx", MATRIX, mode="max", padding_idx=2),
    bag("embedding_bag_2d_weights", MATRIX, per_sample=True, mode="sum"),
    bag("embedding_bag_empty_bags", Arg((0,), integers(0, 5), grad=False),
        Arg((3,), fixed([0, 0, 0]), grad=False), mode="max"),
    bag("embedding_bag_2d_no_bags", Arg((2, 3), integers(0, 5), grad=False), mode="sum",
        empty=[(0, 3), (5, 4)]),
]


class TestBags(OpTable):
    cases = CASES


def T(a, grad=False):
    return td.Tensor(np.asarray(a), requires_grad=grad)


# ----------------------------------------------------------------------------- edges
@needs_torch
def test_max_takes_torchs_first_maximum_and_nan_rule():
    """torch reads a bag in order and replaces the running maximum only by a larger value:
    of equal maxima the first gets the gradient, a NaN first in its bag stays, a later NaN is
    passed over."""
    weight = np.array([[1.0, 2.0], [1.0, 3.0], [0.0, 3.0], [np.nan, 0.0], [5.0, np.nan]])
    for indices, offsets in [([0, 1, 2, 1], [0]), ([3, 0, 4, 1], [0, 2]), ([0, 3, 4, 2], [0]),
                             ([4, 3], [0, 1, 2])]:
        w = T(weight, True)
        out = F.embedding_bag(T(indices), w, T(offsets), mode="max")
        out.sum().backward()
        tw = torch.tensor(weight, requires_grad=True)
        theirs = tF().embedding_bag(torch.tensor(indices), tw, torch.tensor(offsets), mode="max")
        theirs.sum().backward()
        np.testing.assert_array_equal(out.data, theirs.detach().numpy(), err_msg=str(indices))
        np.testing.assert_array_equal(w.grad.data, tw.grad.numpy(), err_msg=str(indices))


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_max_norm_renormalises_every_picked_row_as_torch(mode):
    """The rows input picks (padding_idx included, as torch) are scaled back in place."""
    w0 = np.random.default_rng(0).standard_normal((6, 3)) * 3
    ours, theirs = T(w0.copy(), True), torch.tensor(w0.copy(), requires_grad=True)
    args = dict(max_norm=1.5, norm_type=3.0, mode=mode, padding_idx=5)
    out = F.embedding_bag(T([1, 2, 5, 5, 0]), ours, T([0, 3]), **args)
    expected = tF().embedding_bag(torch.tensor([1, 2, 5, 5, 0]), theirs, torch.tensor([0, 3]),
                                  **args)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)
    assert not np.allclose(ours.data, w0)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_by_how_often_the_input_picks_a_row(mode):
    """As F.embedding: row r's gradient divided by the count of r in the whole input. (torch's
    CPU embedding_bag gets this wrong: for input [2, 2, 4] in one bag it gives row 4, picked
    once, a gradient of 0.5; F.embedding gives 1.)"""
    indices, offsets = np.array([1, 2, 4, 4, 3, 0, 2, 2]), np.array([0, 2, 2, 5])
    v = np.random.default_rng(0).standard_normal((4, 3))
    scaled, plain = T(np.ones((5, 3)), True), T(np.ones((5, 3)), True)
    (F.embedding_bag(T(indices), scaled, T(offsets), mode=mode, scale_grad_by_freq=True)
     * T(v)).sum().backward()
    (F.embedding_bag(T(indices), plain, T(offsets), mode=mode) * T(v)).sum().backward()
    counts = np.bincount(indices, minlength=5)[:, None]
    np.testing.assert_allclose(scaled.grad.data, plain.grad.data / counts, rtol=1e-15)


def test_2d_input_of_empty_bags_gives_zeros():
    """(B, 0) input: B empty bags (torch raises "step must be nonzero")."""
    out = F.embedding_bag(T(np.zeros((3, 0), np.int64)), T(np.ones((5, 2))), mode="mean")
    np.testing.assert_array_equal(out.data, np.zeros((3, 2)))


def test_dtype_follows_the_weight():
    for dtype in (np.float32, np.float64):
        w = T(np.ones((5, 2), dtype), True)
        out = F.embedding_bag(T([[1, 2]]), w, mode="sum", per_sample_weights=T(
            np.ones((1, 2), dtype)))
        assert out.dtype == dtype
        out.sum().backward()
        assert w.grad.dtype == dtype


W_OK = np.zeros((5, 3))
BAD = [
    (dict(mode="avg"), ValueError, "mode must be one of"),
    (dict(input=[1, 2], offsets=None), ValueError, "needs offsets"),
    (dict(input=[[1, 2]], offsets=[0]), ValueError, "offsets must be None"),
    (dict(input=[[[1, 2]]]), RuntimeError, "1-D .* or 2-D"),
    (dict(input=[1.0, 2.0], offsets=[0]), TypeError, "integers"),
    (dict(offsets=[0.0, 1.0]), ValueError, "1-D integer"),
    (dict(offsets=[[0, 1]]), ValueError, "1-D integer"),
    (dict(offsets=[1, 2]), ValueError, r"offsets\[0\] must be 0"),
    (dict(offsets=[0, 3, 2]), ValueError, "non-decreasing"),
    (dict(offsets=[0, 4]), ValueError, "past the end"),
    (dict(offsets=[]), ValueError, "offsets is empty"),
    (dict(offsets=[0, 2], include_last_offset=True), ValueError, "must be len"),
    (dict(input=[1, 5, 0], offsets=[0]), ValueError, r"in \[0, 5\)"),
    (dict(input=[1, -1, 0], offsets=[0]), ValueError, r"in \[0, 5\)"),
    (dict(weight=np.zeros(5)), ValueError, "2-D"),
    (dict(weight=np.zeros((5, 3), np.int64)), TypeError, "floating point"),
    (dict(padding_idx=5), ValueError, "padding_idx 5 is out of range"),
    (dict(padding_idx=-6), ValueError, "padding_idx -6 is out of range"),
    (dict(mode="max", scale_grad_by_freq=True), ValueError, "does not support"),
    (dict(mode="max", sparse=True), ValueError, "does not support"),
    (dict(mode="mean", per_sample_weights=np.ones(3)), NotImplementedError, "mode='sum'"),
    (dict(mode="sum", per_sample_weights=np.ones(2)), ValueError, "input's shape"),
    (dict(mode="sum", per_sample_weights=np.ones(3, np.float32)), TypeError, "dtype"),
]


@pytest.mark.parametrize("change, error, message", BAD)
def test_bad_arguments_raise_where_torch_raises(change, error, message):
    args = dict(input=[1, 2, 0], weight=W_OK, offsets=[0, 1]) | change
    x, w, o = args.pop("input"), args.pop("weight"), args.pop("offsets")
    p = args.pop("per_sample_weights", None)
    with pytest.raises(error, match=message):
        F.embedding_bag(T(np.asarray(x)), T(w), None if o is None else T(
            np.asarray(o) if len(o) else np.zeros(0, np.int64)),
                        per_sample_weights=None if p is None else T(p), **args)
    if torch is not None and not (change.get("include_last_offset") or change.get("offsets")
                                  in ([], [0, 3, 2])):  # torch crashes or garbles those
        with pytest.raises((RuntimeError, ValueError, NotImplementedError, IndexError)):
            tF().embedding_bag(torch.tensor(x), torch.tensor(w),
                               None if o is None else torch.tensor(o),
                               per_sample_weights=None if p is None else torch.tensor(p),
                               **args)


def test_sparse_is_not_implemented():
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding_bag(T([1, 2]), T(W_OK), T([0]), mode="sum", sparse=True)
