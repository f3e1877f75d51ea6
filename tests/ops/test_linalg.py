"""tinydl/ops/linalg.py through the op table: ``matmul`` (``@``: vectors, matrices and
batches that broadcast as NumPy's ``matmul`` does; batch shapes drawn by hypothesis) and the
products ``dot``, ``inner``, ``outer``, ``tensordot``, ``kron`` (``einsum`` has its own file,
tests/ops/test_einsum.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl as td
from tests.ops._table import SAME, OpCase, OpTable, torch


def matmul(name, a, b, **kw):
    """``a @ b`` for standard-normal operands of shapes ``a`` and ``b``."""
    return OpCase(name, lambda x, y: x @ y, np.matmul, [a, b], torch=SAME, **kw)


CASES = [
    matmul("vector_vector", (4,), (4,), empty=[(0,), (0,)]),
    matmul("vector_matrix", (3,), (3, 4)),
    matmul("vector_batch", (3,), (2, 3, 4)),
    matmul("matrix_vector", (3, 4), (4,)),
    matmul("matrix_matrix", (3, 4), (4, 5), empty=[(3, 0), (0, 5)]),  # zeros (3, 5)
    matmul("batched", (2, 3, 4), (2, 4, 5), empty=[(0, 3, 4), (0, 4, 5)]),
    matmul("batch_broadcast", (2, 1, 3, 4), (3, 4, 2)),
    matmul("matrix_batch", (3, 4), (2, 4, 5)),
    matmul("batch_matrix", (2, 3, 4), (4, 3)),
    matmul("stack_matrix", (2, 3, 2, 4), (4, 5), empty=[(2, 0, 2, 4), (4, 5)]),
    matmul("batch_vector", (2, 3, 4), (4,)),
    OpCase("function_form", td.matmul, np.matmul, [(3, 4), (4, 2)],
           torch=lambda a, b: torch.matmul(a, b)),
    # torch's shape-checked spellings: mm (matrices), mv (matrix, vector), bmm (batches)
    OpCase("mm", td.mm, np.matmul, [(3, 4), (4, 2)], torch=lambda a, b: torch.mm(a, b)),
    OpCase("mv", td.mv, np.matmul, [(3, 4), (4,)], torch=lambda a, v: torch.mv(a, v)),
    OpCase("bmm", td.bmm, np.matmul, [(2, 3, 4), (2, 4, 5)],
           torch=lambda a, b: torch.bmm(a, b)),
    # one input on both sides: x x^T, whose gradient is (G + G^T) x
    OpCase("self_gram", lambda x: x @ x.T, lambda x: x @ x.T, [(3, 4)], torch=SAME),
    # dot: NumPy's rules (torch.dot is the vector case, torch.matmul the 1-D/2-D ones)
    OpCase("dot_vectors", td.dot, np.dot, [(4,), (4,)], torch=lambda a, b: torch.dot(a, b),
           empty=[(0,), (0,)]),
    OpCase("dot_matrices", td.dot, np.dot, [(3, 4), (4, 2)],
           torch=lambda a, b: torch.matmul(a, b), empty=[(3, 0), (0, 2)]),
    OpCase("dot_matrix_vector", td.dot, np.dot, [(3, 4), (4,)]),
    OpCase("dot_scalar", td.dot, np.dot, [(), (3, 2)], zero_d=True),
    OpCase("dot_nd_vector", td.dot, np.dot, [(2, 3, 4), (4,)]),
    OpCase("dot_nd_nd", td.dot, np.dot, [(2, 3, 4), (5, 4, 2)],
           torch=lambda a, b: torch.tensordot(a, b, dims=([2], [1]))),
    # inner: over the last axes
    OpCase("inner_vectors", td.inner, np.inner, [(4,), (4,)],
           torch=lambda a, b: torch.inner(a, b), zero_d=True, empty=[(0,), (0,)]),
    OpCase("inner_nd", td.inner, np.inner, [(2, 3), (4, 5, 3)],
           torch=lambda a, b: torch.inner(a, b)),
    # outer: of the flattened operands (torch.outer: 1-D only)
    OpCase("outer", td.outer, np.outer, [(3,), (4,)], torch=lambda a, b: torch.outer(a, b),
           zero_d=True, empty=[(0,), (4,)]),
    OpCase("outer_flattens", td.outer, np.outer, [(2, 3), (2,)]),
    # tensordot
    OpCase("tensordot_default", td.tensordot, np.tensordot, [(2, 3, 4), (3, 4, 5)],
           torch=lambda a, b: torch.tensordot(a, b), empty=[(0, 3, 4), (3, 4, 5)]),
    OpCase("tensordot_int", lambda a, b: td.tensordot(a, b, axes=1),
           lambda a, b: np.tensordot(a, b, axes=1), [(2, 3), (3, 4)],
           torch=lambda a, b: torch.tensordot(a, b, dims=1)),
    OpCase("tensordot_zero_axes", lambda a, b: td.tensordot(a, b, axes=0),
           lambda a, b: np.tensordot(a, b, axes=0), [(2, 3), (4,)],
           torch=lambda a, b: torch.tensordot(a, b, dims=0), zero_d=True),
    OpCase("tensordot_pairs", lambda a, b: td.tensordot(a, b, axes=([0, 2], [2, 0])),
           lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)],
           torch=lambda a, b: torch.tensordot(a, b, dims=([0, 2], [2, 0]))),
    OpCase("tensordot_dims_alias", lambda a, b: td.tensordot(a, b, dims=([-1], [0])),
           lambda a, b: np.tensordot(a, b, axes=([-1], [0])), [(2, 3), (3, 4)]),
    # kron: blocks a[i] * b
    OpCase("kron_matrices", td.kron, np.kron, [(2, 3), (3, 2)],
           torch=lambda a, b: torch.kron(a, b), zero_d=True, empty=[(0, 3), (3, 2)]),
    OpCase("kron_mixed_ndim", td.kron, np.kron, [(3,), (2, 2)],
           torch=lambda a, b: torch.kron(a, b)),
    OpCase("kron_3d", td.kron, np.kron, [(2, 1, 2), (1, 3, 2)],
           torch=lambda a, b: torch.kron(a, b)),
]


class TestLinalg(OpTable):
    cases = CASES


@settings(max_examples=25, deadline=None)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3))
def test_matmul_batch_broadcasting_like_numpy(batch, n, k, m):
    rng = np.random.default_rng(0)
    sa, sb = batch.input_shapes
    a, b = rng.standard_normal(sa + (n, k)), rng.standard_normal(sb + (k, m))
    out = td.matmul(td.Tensor(a), td.Tensor(b))
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12)
    assert td.gradcheck(td.matmul, [td.Tensor(a, requires_grad=True),
                                    td.Tensor(b, requires_grad=True)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_stack_times_a_matrix_is_one_product_of_the_stacks_rows(dtype):
    """(..., m, k) @ (k, n) runs as (rows, k) @ (k, n) (``ops._util.matmul_arrays``; NumPy
    runs a stack as one BLAS call per matrix): the same bits as that product, strided stacks
    included, and the matrix's gradient the rows' product g^T a, not a sum of per-matrix
    products."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((4, 8, 2 * 40)).astype(dtype)
    b = rng.standard_normal((40, 24)).astype(dtype)
    for a in (np.ascontiguousarray(base[..., ::2]), base[..., ::2]):
        ta, tb = td.Tensor(a, requires_grad=True), td.Tensor(b, requires_grad=True)
        out = ta @ tb
        rows = np.ascontiguousarray(a).reshape(32, 40)
        np.testing.assert_array_equal(out.data, (rows @ b).reshape(4, 8, 24))
        g = rng.standard_normal((4, 8, 24)).astype(dtype)
        out.backward(td.Tensor(g))
        np.testing.assert_array_equal(tb.grad.data, rows.T @ g.reshape(32, 24))
        np.testing.assert_array_equal(ta.grad.data, (g.reshape(32, 24) @ b.T).reshape(a.shape))


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        td.matmul(td.zeros(2, 3), td.zeros(4, 5))
    for k in (1, 3):
        with pytest.raises(ValueError, match=rf"matmul: the batch axes of shapes \(2, 4, {k}\) "
                                             rf"and \(3, {k}, 5\) do not broadcast"):
            td.matmul(td.zeros(2, 4, k), td.zeros(3, k, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("sa, sb", [((5, 1), (1, 7)), ((2, 1, 4, 1), (3, 1, 6)),
                                    ((4, 1), (2, 1, 3)), ((0, 1), (1, 3))])
def test_matmul_with_an_inner_dimension_of_one_is_numpys_bit_for_bit(dtype, sa, sb):
    """An inner dimension of 1 takes np.multiply (NumPy's matmul loop is slow there): the
    same values, dtype and shape, batch axes broadcast; the gradient of a float32 product is
    float32, C-contiguous, and NumPy's sums up to round-off."""
    rng = np.random.default_rng(3)
    a, b = ((rng.standard_normal(s) * 4).astype(dtype) for s in (sa, sb))
    special = a.copy()
    if dtype == np.float32:  # infinities and NaN: single products, as NumPy's
        special[..., :1, :] = np.inf
        special[..., 1:2, :] = np.nan
    out = td.Tensor(special) @ td.Tensor(b)
    expected = np.matmul(special, b)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    if dtype == np.float32:
        x, w = (td.Tensor(v, requires_grad=True) for v in (a, b))
        (x @ w).sum().backward()
        np.testing.assert_allclose(w.grad.data, np.matmul(  # sums over rows and batch axes
            np.swapaxes(a, -1, -2), np.ones(expected.shape, np.float32)).sum(
            axis=tuple(range(expected.ndim - w.ndim))).reshape(w.shape), rtol=1e-6)
        assert w.grad.dtype == np.float32 and w.grad.data.flags.c_contiguous


@pytest.mark.parametrize("call, message", [
    (lambda: td.dot(td.zeros(2, 3), td.zeros(4, 5)),
     r"dot: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 \(axis 1\) != 4 \(axis 0\)"),
    (lambda: td.dot(td.zeros(2, 3, 4), td.zeros(5, 3, 2)),
     r"dot: shapes \(2, 3, 4\) and \(5, 3, 2\) are not aligned: 4 \(axis 2\) != 3"),
    (lambda: td.inner(td.zeros(2, 3), td.zeros(4)), r"inner: the last axes of shapes"),
    (lambda: td.tensordot(td.zeros(2, 3), td.zeros(4, 3), axes=([1], [0])),
     r"tensordot: shape mismatch: axis 1 of a \(shape \(2, 3\)\) has length 3, axis 0 of b"),
    (lambda: td.tensordot(td.zeros(2, 3), td.zeros(3, 3), axes=3),
     r"tensordot: axes=3 must be in \[0, 2\]"),
    (lambda: td.tensordot(td.zeros(2, 3), td.zeros(3, 3), axes=([0, 1], [0])),
     r"tensordot: 2 axes of a \[0, 1\] against 1 of b"),
    (lambda: td.tensordot(td.zeros(2, 3), td.zeros(3, 3), axes=([5], [0])),
     r"tensordot: axis 5 is out of bounds for a, which has 2 dimensions"),
])
def test_product_errors_name_the_op_and_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
