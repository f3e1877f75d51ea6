"""tinydl/ops/sort.py through the op table (sort, argsort, topk, nonzero, unique), plus what a
row cannot state: stability with ties, NaN placement, integer and boolean tensors, errors."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, booleans, normal, torch

X = (3, 5)


def ties(rng, shape):
    """Floats from {0, 1, 2}: many equal values, to see that the sort is stable."""
    return rng.integers(0, 3, shape).astype(np.float64)


def sparse(rng, shape):
    """Normal values, about half of them exactly 0 (nonzero's input)."""
    return np.where(rng.random(shape) < 0.5, 0.0, rng.standard_normal(shape))


def repeated_rows(rng, shape):
    """Rows drawn from three fixed rows of {0, 1, 2}: unique along axis 0 has work to do."""
    rows = rng.integers(0, 3, (3,) + tuple(shape[1:])).astype(np.float64)
    return rows[rng.integers(0, 3, shape[0])]


def descending_stable(x, axis):
    """argsort from the largest, equal values in their original order (sorting -x)."""
    return np.argsort(-x, axis=axis, kind="stable")


def keep_0d(ref):
    """``ref`` on a 0-d input as on its one-element 1-d form, the result 0-d again (torch's
    rule; NumPy refuses a 0-d sort, or gives a 1-d argsort)."""
    def fn(x):
        return ref(x) if x.ndim else ref(x.reshape(1)).reshape(())
    return fn


def values(name, fn, ref, sample=normal, torch=None, **kw):
    """A row for the differentiable output (the values) of a sort."""
    return OpCase(name, fn, ref, [Arg(X, sample)], torch=torch, exact=True, **kw)


def positions(name, fn, ref, sample=normal, torch=None, **kw):
    """A row for an int64 output (indices, positions, counts): no gradient."""
    return OpCase(name, fn, ref, [Arg(X, sample, grad=False)], torch=torch, exact=True,
                  grad=False, out_dtype=np.int64, **kw)


CASES = [
    values("sort_values", lambda x: td.sort(x).values, keep_0d(lambda x: np.sort(x, axis=-1)),
           torch=lambda x: torch.sort(x).values, zero_d=True, empty=[(3, 0)]),
    positions("sort_indices", lambda x: td.sort(x).indices,
              keep_0d(lambda x: np.argsort(x, axis=-1, kind="stable")),
              torch=lambda x: torch.sort(x, stable=True).indices, zero_d=True, empty=[(0, 5)]),
    values("sort_descending_axis0", lambda x: td.sort(x, axis=0, descending=True)[0],
           lambda x: -np.sort(-x, axis=0),
           torch=lambda x: torch.sort(x, dim=0, descending=True).values, empty=[(0, 5)]),
    # equal values: finite differences cannot follow an element across a tie, torch can
    values("sort_values_ties", lambda x: td.sort(x, descending=True).values,
           lambda x: -np.sort(-x, axis=-1), ties, gradcheck=False,
           torch=lambda x: torch.sort(x, descending=True, stable=True).values),
    positions("sort_indices_ties_descending", lambda x: td.sort(x, 0, descending=True)[1],
              lambda x: descending_stable(x, 0), ties,
              torch=lambda x: torch.sort(x, dim=0, descending=True, stable=True).indices),
    values("sort_flattened", lambda x: td.sort(x, axis=None).values,
           lambda x: np.sort(x, axis=None)),
    positions("argsort", td.argsort, keep_0d(lambda x: np.argsort(x, kind="stable")),
              torch=lambda x: torch.argsort(x), zero_d=True, empty=[(3, 0)]),
    positions("argsort_ties_descending_axis0",
              lambda x: td.argsort(x, axis=0, descending=True),
              lambda x: descending_stable(x, 0), ties,
              torch=lambda x: torch.argsort(x, dim=0, descending=True, stable=True)),
    positions("argsort_flattened", lambda x: td.argsort(x, axis=None),
              lambda x: np.argsort(x, axis=None, kind="stable")),
    values("topk_values", lambda x: td.topk(x, 3).values,
           lambda x: -np.sort(-x, axis=-1)[:, :3], torch=lambda x: torch.topk(x, 3).values,
           empty=[(0, 5)]),
    positions("topk_indices", lambda x: td.topk(x, 3).indices,
              lambda x: descending_stable(x, -1)[:, :3],
              torch=lambda x: torch.topk(x, 3).indices, empty=[(0, 5)]),
    values("topk_smallest_axis0", lambda x: td.topk(x, 2, axis=0, largest=False)[0],
           lambda x: np.sort(x, axis=0)[:2], torch=lambda x: torch.topk(x, 2, 0, False)[0]),
    positions("topk_smallest_axis0_indices", lambda x: td.topk(x, 2, dim=0, largest=False)[1],
              lambda x: np.argsort(x, axis=0, kind="stable")[:2],
              torch=lambda x: torch.topk(x, 2, 0, False)[1]),
    values("topk_k0", lambda x: td.topk(x, 0).values, lambda x: x[:, :0],
           torch=lambda x: torch.topk(x, 0).values),
    positions("nonzero_tuple", td.nonzero, lambda x: np.nonzero(np.atleast_1d(x)), sparse,
              torch=lambda x: torch.nonzero(x, as_tuple=True), zero_d=True, empty=[(0, 5)]),
    positions("nonzero_rows", lambda x: td.nonzero(x, as_tuple=False), np.argwhere, sparse,
              torch=lambda x: torch.nonzero(x), zero_d=True, empty=[(0, 5)]),
    OpCase("nonzero_bool", td.nonzero, np.nonzero, [Arg(X, booleans)], exact=True,
           grad=False, out_dtype=np.int64, torch=lambda x: torch.nonzero(x, as_tuple=True)),
    values("unique", td.unique, np.unique, ties, grad=False,
           torch=lambda x: torch.unique(x), zero_d=True, empty=[(0, 5)]),
    positions("unique_inverse", lambda x: td.unique(x, return_inverse=True)[1],
              lambda x: np.unique(x, return_inverse=True)[1].reshape(x.shape), ties,
              torch=lambda x: torch.unique(x, return_inverse=True)[1], zero_d=True),
    positions("unique_index_and_counts",
              lambda x: td.unique(x, return_index=True, return_counts=True)[1:],
              lambda x: np.unique(x, return_index=True, return_counts=True)[1:], ties),
    values("unique_rows", lambda x: td.unique(x, axis=0), lambda x: np.unique(x, axis=0),
           repeated_rows, grad=False, torch=lambda x: torch.unique(x, dim=0)),
    positions("unique_rows_inverse_counts",
              lambda x: td.unique(x, return_inverse=True, return_counts=True, dim=0)[1:],
              lambda x: np.unique(x, return_inverse=True, return_counts=True, axis=0)[1:],
              repeated_rows,
              torch=lambda x: torch.unique(x, return_inverse=True, return_counts=True,
                                           dim=0)[1:]),
]


class TestSort(OpTable):
    cases = CASES


def test_results_are_named_like_torchs():
    x = td.Tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    result = td.sort(x)
    np.testing.assert_array_equal(result.values.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(result.indices.data, [1, 2, 0])
    assert result.indices.dtype == np.int64 and not result.indices.requires_grad
    values, indices = td.topk(x, 1)
    np.testing.assert_array_equal(indices.data, [0])
    (values * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 0.0, 0.0])


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("descending", [False, True])
def test_nan_sorts_as_the_largest_value(descending):
    x = np.array([[1.0, np.nan, -2.0, np.nan, 0.5], [np.nan, 0.0, 0.0, 3.0, -1.0]])
    got = td.sort(td.Tensor(x), descending=descending)
    want = torch.sort(torch.tensor(x), descending=descending, stable=True)
    np.testing.assert_array_equal(got.values.data, want.values.numpy())
    np.testing.assert_array_equal(got.indices.data, want.indices.numpy())


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.bool_])
def test_descending_sort_of_integers_and_booleans(dtype):
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    data = (np.array([True, False, True, False]) if info is None
            else np.array([0, info.max, info.min, 1, info.min], dtype=dtype))
    values, indices = td.sort(td.Tensor(data), descending=True)
    order = sorted(range(len(data)), key=lambda i: (-int(data[i]), i))
    np.testing.assert_array_equal(indices.data, order)
    np.testing.assert_array_equal(values.data, data[order])
    assert values.dtype == dtype


def test_nonzero_forms_and_unique_on_integers():
    x = td.tensor([[0, 3], [2, 0]])
    rows, cols = td.nonzero(x)
    np.testing.assert_array_equal(rows.data, [0, 1])
    np.testing.assert_array_equal(cols.data, [1, 0])
    np.testing.assert_array_equal(td.nonzero(x, as_tuple=False).data, [[0, 1], [1, 0]])
    uniq, counts = td.unique(x, return_counts=True)
    np.testing.assert_array_equal(uniq.data, [0, 2, 3])
    np.testing.assert_array_equal(counts.data, [2, 1, 1])
    assert uniq.dtype == np.int64 and counts.dtype == np.int64


@pytest.mark.parametrize("call, error, message", [
    (lambda: td.topk(td.zeros(2, 3), 4), ValueError, r"topk: k must be an int in \[0, 3\]"),
    (lambda: td.topk(td.zeros(2, 3), -1, axis=0),
     ValueError, r"topk: k must be an int in \[0, 2\]"),
    (lambda: td.topk(td.tensor(1.5), 2), ValueError, "topk: k must be 0 or 1 for a 0-d"),
    (lambda: td.sort(td.zeros(2, 3), axis=2), ValueError, "sort: axis 2 is out of bounds"),
    (lambda: td.argsort(td.zeros(2, 3), axis=(0, 1)), TypeError, "argsort: axis must be an int"),
    (lambda: td.unique(td.zeros(2, 3), axis=-3), ValueError, "unique: axis -3 is out of bounds"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("k", [0, 1])
def test_topk_of_a_0d_tensor_is_its_element_as_torchs(k):
    """torch gives the one element, 0-d, for k = 0 as for k = 1 (k = 0 raised a reshape
    error the user never wrote)."""
    x = td.tensor(1.5, requires_grad=True)
    values, indices = td.topk(x, k)
    assert values.shape == () and indices.shape == () and values.item() == 1.5
    assert indices.item() == 0 and indices.dtype == np.int64
    values.backward()
    assert x.grad.item() == 1.0
