"""``einsum`` (tinydl/ops/linalg.py) through the op table: subscript strings of every kind
NumPy accepts (implicit and explicit output, '...', repeated labels, summed labels, lengths 1
broadcasting, NumPy's sublist form), plus random expressions drawn by hypothesis against
NumPy and against the sum written out from its definition, and the error messages."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinydl as td
from tests import _reference as ref
from tests.ops._table import OpCase, OpTable, torch


def row(name, subscripts, *shapes, torch_ok=True, reference=None, **kw):
    """``einsum(subscripts, ...)`` on standard-normal operands of ``shapes``, against
    ``np.einsum`` (or ``reference``) and ``torch.einsum``."""
    return OpCase(name, lambda *xs: td.einsum(subscripts, *xs),
                  reference or (lambda *xs: np.einsum(subscripts, *xs)), list(shapes),
                  torch=(lambda *xs: torch.einsum(subscripts, *xs)) if torch_ok else None, **kw)


CASES = [
    # two operands
    row("matmul", "ij,jk->ik", (3, 4), (4, 5), empty=[(3, 0), (0, 5)]),
    row("matmul_implicit", "ij,jk", (3, 4), (4, 5), empty=[(0, 4), (4, 5)]),
    row("batched_matmul", "bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    row("inner", "i,i", (4,), (4,), empty=[(0,), (0,)]),
    row("outer", "i,j->ij", (3,), (4,)),
    row("hadamard", "ij,ij->ij", (3, 4), (3, 4)),
    row("hadamard_broadcast_ones", "ij,ij->ij", (3, 1), (1, 4)),  # lengths 1 broadcast
    row("sum_out_both", "ab,cd->", (2, 3), (4, 5)),
    row("implicit_order", "ba,AB", (2, 3), (3, 2)),  # upper case first: 'ABab'
    row("scalar_operand", ",i->i", (), (4,)),
    row("scalar_product", ",->", (), (), zero_d=True),
    # one operand: transposes, diagonals, traces, sums
    row("transpose", "ij->ji", (3, 4), empty=[(0, 4)]),
    row("permute", "ijk->kij", (2, 3, 4)),
    row("identity_implicit", "ij", (3, 4)),
    row("sum_all", "ij->", (3, 4), empty=[(0, 4)]),
    row("sum_axis", "ij->j", (3, 4)),
    row("trace", "ii", (4, 4), empty=[(0, 0)]),
    row("diagonal", "ii->i", (4, 4)),
    row("diagonal_of_3d", "iii->i", (3, 3, 3)),
    row("trace_3d", "iii", (3, 3, 3)),
    row("repeated_and_free", "iij->ji", (3, 3, 2)),
    row("repeated_kept_twice", "ijij->ij", (2, 3, 2, 3)),
    row("batched_trace", "bii->b", (2, 3, 3)),
    row("zero_d", "->", (), zero_d=True),
    # ellipsis
    row("ellipsis_matmul", "...ij,...jk->...ik", (2, 3, 4), (2, 4, 5)),
    row("ellipsis_broadcast", "...ij,...jk", (2, 1, 3, 4), (5, 4, 2)),
    row("ellipsis_middle", "i...j,j->i...", (2, 3, 4, 5), (5,)),
    row("ellipsis_diagonal", "i...i->...", (3, 2, 3)),
    row("ellipsis_of_nothing", "...ij->...ji", (3, 4)),
    row("ellipsis_transpose", "...ij->...ji", (2, 3, 4)),
    # an explicit output without '...' sums the '...' axes out: torch's reading (NumPy refuses)
    row("ellipsis_summed", "...i->i", (2, 3, 4),
        reference=lambda x: x.reshape(-1, x.shape[-1]).sum(axis=0)),
    # three operands; the larger ones go through NumPy's contraction-order optimizer
    row("bilinear", "bi,ij,bj->b", (2, 3), (3, 4), (2, 4)),
    row("chain", "ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    row("chain_optimized", "ij,jk,kl->il", (16, 20), (20, 12), (12, 10)),
    row("repeat_with_other", "ii,i->i", (3, 3), (3,)),
    row("one_operand_twice", "ij,ij->", (3, 4), (3, 4)),
    OpCase("sublist_form", lambda a, b: td.einsum(a, [0, 1], b, [1, 2], [0, 2]),
           lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), [(3, 4), (4, 2)],
           torch=lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2])),
    OpCase("sublist_ellipsis_implicit", lambda a, b: td.einsum(a, [Ellipsis, 0], b, [0]),
           lambda a, b: np.einsum(a, [Ellipsis, 0], b, [0]), [(2, 3), (3,)]),
    OpCase("same_tensor_twice", lambda x: td.einsum("ij,kj->ik", x, x),
           lambda x: x @ x.T, [(3, 4)], torch=lambda x: torch.einsum("ij,kj->ik", x, x)),
    OpCase("spaces", lambda a, b: td.einsum(" i j , j k -> i k ", a, b), np.matmul,
           [(3, 4), (4, 2)]),
]


class TestEinsum(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- hypothesis
@st.composite
def expressions(draw):
    """A random explicit einsum: 1 to 3 operands of 0 to 3 labels from 'abcd' (repeats
    allowed), each label of length 1 to 3 (an operand may have length 1 where others do not),
    and an output of distinct labels in any order."""
    length = {c: draw(st.integers(1, 3)) for c in "abcd"}
    terms = draw(st.lists(st.text("abcd", max_size=3), min_size=1, max_size=3))
    used = sorted(set("".join(terms)))
    output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
    shapes = [tuple(1 if draw(st.booleans()) and term.count(c) == 1 and draw(st.booleans())
                    else length[c] for c in term) for term in terms]
    return ",".join(terms) + "->" + output, shapes


@settings(max_examples=60, deadline=None)
@given(expr=expressions())
def test_random_expressions_match_numpy_and_the_definition(expr):
    subscripts, shapes = expr
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    out = td.einsum(subscripts, *[td.Tensor(a) for a in arrays])
    np.testing.assert_allclose(out.data, np.einsum(subscripts, *arrays), rtol=1e-12,
                               atol=1e-12, err_msg=subscripts)
    np.testing.assert_allclose(out.data, ref.einsum_loops(subscripts, *arrays), rtol=1e-12,
                               atol=1e-12, err_msg=subscripts)
    inputs = [td.Tensor(a, requires_grad=True) for a in arrays]
    assert td.gradcheck(lambda *xs: td.einsum(subscripts, *xs), inputs)


@settings(max_examples=15, deadline=None)
@given(expr=expressions())
def test_random_expressions_second_derivatives(expr):
    subscripts, shapes = expr
    rng = np.random.default_rng(1)
    inputs = [td.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert td.gradgradcheck(lambda *xs: td.einsum(subscripts, *xs), inputs)


# ----------------------------------------------------------------------------- beyond a row
def test_einsum_reference_agrees_with_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 3, 2)), rng.standard_normal((2, 1))
    np.testing.assert_allclose(ref.einsum_loops("iij,jk->ki", a, b),
                               np.einsum("iij,jk->ki", a, b), rtol=1e-12)


def test_gradient_of_a_repeated_label_lands_on_the_diagonal():
    x = td.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    td.einsum("ii", x).backward()
    np.testing.assert_array_equal(x.grad.data, np.eye(3))
    x.grad = None
    td.einsum("ii->i", x).backward(td.Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(x.grad.data, np.diag([1.0, 2.0, 3.0]))


def test_integer_operands_meet_floats_as_torch():
    a = td.Tensor(np.arange(6).reshape(2, 3))
    b = td.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    out = td.einsum("ij,jk->ik", a, b)
    assert out.dtype == np.float32
    out.sum().backward()
    assert b.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad.data, np.repeat([[3.0], [5.0], [7.0]], 2, axis=1))


def test_a_diagonal_is_a_view_that_shares_the_version_counter():
    x = td.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    y = x * 1.0
    z = y * y  # retains y
    d = td.einsum("ii->i", y)
    assert np.shares_memory(d.data, y.data)
    with td.no_grad():
        d += 1  # writes y's diagonal
    np.testing.assert_array_equal(np.diag(y.data), [1.0, 5.0, 9.0])
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


@pytest.mark.parametrize("subscripts, shapes, message", [
    ("ij,jk->ik", [(2, 3)], r"einsum: subscripts 'ij,jk->ik' name 2 operand\(s\), got 1"),
    ("ij->i", [(2, 3, 4)], r"einsum: operand 0 of shape \(2, 3, 4\) has 3 axes, but its "
                           r"subscripts 'ij' name 2"),
    ("ij,jk->ik", [(2, 3), (4, 5)], r"label 'j' has length 4 in operand 1 \(shape \(4, 5\)\) "
                                    r"but 3"),
    ("ii->i", [(2, 3)], r"label 'i' is repeated in operand 0 .* lengths 2 and 3"),
    ("ij->jj", [(2, 2)], r"output label 'j' appears more than once"),
    ("ij->k", [(2, 2)], r"output label 'k' of 'ij->k' is not in any operand"),
    ("i1->i", [(2, 2)], r"einsum: invalid subscript\(s\) '1'"),
    ("i....->i", [(2, 2)], r"einsum: invalid subscript\(s\) '.'"),
    ("...,...", [(3,), (2,)], r"an axis under '...' has length 2 in operand 1"),
])
def test_errors_name_the_op_and_the_fault(subscripts, shapes, message):
    with pytest.raises(ValueError, match=message):
        td.einsum(subscripts, *[td.zeros(*s) for s in shapes])


def test_needs_an_operand():
    with pytest.raises(ValueError, match="einsum: needs at least one operand"):
        td.einsum("")
