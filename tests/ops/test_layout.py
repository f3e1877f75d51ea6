"""tinydl/ops/layout.py through the op table: NumPy's hstack, vstack (torch's row_stack),
dstack, column_stack, hsplit, vsplit, dsplit, array_split (torch's tensor_split), rot90,
fliplr, flipud, diagflat; torch's diag_embed and combinations. They move values without
arithmetic, so every row is exact; then the NumPy calls on tensors, dtypes and errors."""
import itertools

import numpy as np
import pytest

import tinydl as td
from tests.ops._table import OpCase, OpTable, torch

X3 = (2, 3, 4)


def layout(name, fn, ref, args=(X3,), **kw):
    return OpCase(name, fn, ref, args, exact=True, **kw)


def _stack_rows(name, shapes, empty=None):
    """td.<name> and torch.<name> of tensors of ``shapes`` against np.<name>."""
    np_name = "vstack" if name == "row_stack" else name
    return layout(name + "_" + "_".join(str(len(s)) for s in shapes),
                  lambda *xs: getattr(td, name)(list(xs)),
                  lambda *xs: getattr(np, np_name)(list(xs)), shapes,
                  torch=lambda *xs: getattr(torch, name)(list(xs)), empty=empty)


CASES = [
    _stack_rows("hstack", [(3,), (2,)], empty=[(0,), (2,)]),
    _stack_rows("hstack", [(2, 3), (2, 1)]),
    _stack_rows("vstack", [(3,), (3,), (2, 3)]),
    _stack_rows("row_stack", [(2, 3), (1, 3)]),
    _stack_rows("dstack", [(3,), (3,)]),
    _stack_rows("dstack", [(2, 3), (2, 3, 2)], empty=[(0, 3), (0, 3, 2)]),
    _stack_rows("column_stack", [(3,), (3, 2)]),
    layout("column_stack_0d", lambda a, b: td.column_stack([a, b]),
           lambda a, b: np.column_stack([a, b]), [(), ()], zero_d=True,
           torch=lambda a, b: torch.column_stack([a, b])),
    layout("hstack_0d", lambda a, b: td.hstack([a, b]), lambda a, b: np.hstack([a, b]),
           [(), ()], zero_d=True, torch=lambda a, b: torch.hstack([a, b])),
    layout("hsplit", lambda x: td.hsplit(x, 3), lambda x: np.hsplit(x, 3), [(2, 6)],
           torch=lambda x: torch.hsplit(x, 3)),
    layout("hsplit_1d", lambda x: td.hsplit(x, [1, 4]), lambda x: np.hsplit(x, [1, 4]), [(5,)],
           torch=lambda x: torch.hsplit(x, [1, 4])),
    layout("vsplit", lambda x: td.vsplit(x, [1]), lambda x: np.vsplit(x, [1]),
           torch=lambda x: torch.vsplit(x, [1])),
    layout("dsplit_method", lambda x: x.dsplit(2), lambda x: np.dsplit(x, 2),
           torch=lambda x: x.dsplit(2), empty=[(0, 3, 4)]),
    layout("array_split_uneven", lambda x: td.array_split(x, 3, axis=2),
           lambda x: np.array_split(x, 3, axis=2), [(2, 3, 7)],
           torch=lambda x: torch.tensor_split(x, 3, dim=2), empty=[(2, 3, 0)]),
    layout("array_split_more_sections_than_elements", lambda x: td.array_split(x, 4),
           lambda x: np.array_split(x, 4), [(3, 2)], torch=lambda x: torch.tensor_split(x, 4)),
    layout("tensor_split_indices", lambda x: td.tensor_split(x, [1, 5, 2], dim=1),
           lambda x: tuple(np.array_split(x, [1, 5, 2], axis=1)), [(3, 4)],
           torch=lambda x: torch.tensor_split(x, [1, 5, 2], dim=1)),
    layout("tensor_split_method_tensor", lambda x: x.tensor_split(td.tensor([1, 2]), -1),
           lambda x: tuple(np.array_split(x, [1, 2], axis=-1)),
           torch=lambda x: x.tensor_split(torch.tensor([1, 2]), -1)),
    *[layout(f"rot90_k{k}", lambda x, k=k: td.rot90(x, k), lambda x, k=k: np.rot90(x, k),
             torch=lambda x, k=k: torch.rot90(x, k), empty=[(0, 3, 2)])
      for k in (0, 1, 2, 3, -1, 5)],
    layout("rot90_axes", lambda x: td.rot90(x, 1, axes=(2, 0)),
           lambda x: np.rot90(x, 1, axes=(2, 0)), torch=lambda x: torch.rot90(x, 1, (2, 0))),
    layout("rot90_method_dims", lambda x: x.rot90(3, [-1, 1]),
           lambda x: np.rot90(x, 3, axes=(-1, 1)), torch=lambda x: x.rot90(3, [-1, 1])),
    layout("fliplr", td.fliplr, np.fliplr, torch=lambda x: torch.fliplr(x), empty=[(2, 0)]),
    layout("flipud", td.flipud, np.flipud, [(4,)], torch=lambda x: torch.flipud(x)),
    layout("flipud_method", lambda x: x.flipud(), np.flipud, torch=lambda x: x.flipud()),
    layout("diagflat", td.diagflat, np.diagflat, [(2, 2)], torch=lambda x: torch.diagflat(x),
           zero_d=True, empty=[(0,)]),
    layout("diagflat_k", lambda x: td.diagflat(x, -2), lambda x: np.diagflat(x, -2), [(3,)],
           torch=lambda x: torch.diagflat(x, -2)),
    layout("diagflat_offset", lambda x: x.diagflat(offset=1), lambda x: np.diagflat(x, 1),
           [(3,)], torch=lambda x: x.diagflat(offset=1)),
    layout("diag_embed", td.diag_embed,
           lambda x: np.einsum("...i,ij->...ij", x, np.eye(x.shape[-1])), [(2, 3)],
           torch=lambda x: torch.diag_embed(x), empty=[(2, 0)]),
    *[layout(f"diag_embed_{offset}_{d1}_{d2}",
             lambda x, o=offset, a=d1, b=d2: td.diag_embed(x, o, a, b),
             lambda x, o=offset, a=d1, b=d2: _diag_embed(x, o, a, b), [(2, 3, 4)],
             torch=lambda x, o=offset, a=d1, b=d2: torch.diag_embed(x, o, a, b))
      for offset, d1, d2 in ((1, 0, 2), (-2, 3, 1), (2, -1, -3))],
    layout("diag_embed_method", lambda x: x.diag_embed(-1), lambda x: _diag_embed(x, -1, -2, -1),
           [(4,)], torch=lambda x: x.diag_embed(-1)),
    layout("combinations", td.combinations,
           lambda x: np.array(list(itertools.combinations(x, 2))).reshape(-1, 2), [(4,)],
           torch=lambda x: torch.combinations(x), empty=[(1,)]),
    layout("combinations_r3_with_replacement",
           lambda x: td.combinations(x, 3, with_replacement=True),
           lambda x: np.array(list(itertools.combinations_with_replacement(x, 3))), [(3,)],
           torch=lambda x: torch.combinations(x, 3, with_replacement=True)),
    layout("combinations_r1", lambda x: td.combinations(x, r=1), lambda x: x[:, None], [(3,)],
           torch=lambda x: torch.combinations(x, r=1)),
]


def _diag_embed(x, offset, dim1, dim2):
    """The last axis of x on the ``offset`` diagonal of new (dim1, dim2) planes, written
    element by element: out[..., i, ..., i + offset, ...] = x[..., i]."""
    n = x.shape[-1] + abs(offset)
    ndim = x.ndim + 1
    a, b = dim1 % ndim, dim2 % ndim
    rest = [i for i in range(ndim) if i not in (a, b)]
    out = np.zeros([n if i in (a, b) else x.shape[rest.index(i)] for i in range(ndim)])
    for lead in np.ndindex(x.shape[:-1]):
        for i in range(x.shape[-1]):
            index = [0] * ndim
            for axis, j in zip(rest, lead):
                index[axis] = j
            index[a], index[b] = (i, i + offset) if offset >= 0 else (i - offset, i)
            out[tuple(index)] = x[lead + (i,)]
    return out


class TestLayout(OpTable):
    cases = CASES


def test_numpy_functions_on_tensors_run_these_ops():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    ta, tb = td.tensor(a, requires_grad=True), td.tensor(b, requires_grad=True)
    for fn in (lambda x, y: np.hstack([x, y]), lambda x, y: np.vstack((x, y)),
               lambda x, y: np.dstack([x, y]), lambda x, y: np.column_stack([x, y[:, 0]]),
               lambda x, y: np.hsplit(x, 3)[1] * np.vsplit(y, 2)[0],
               lambda x, y: np.array_split(x, 2, axis=1)[0], lambda x, y: np.rot90(x, 3),
               lambda x, y: np.fliplr(x) - np.flipud(y), lambda x, y: np.diagflat(x, 1)):
        out = fn(ta, tb)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_array_equal(out.data, fn(a, b))
        assert td.gradcheck(lambda x, y: fn(x, y), [ta, tb])
    with pytest.raises(TypeError, match="numpy.hstack .*dtype="):
        np.hstack([ta, tb], dtype=np.float32)


def test_joins_promote_as_torchs_cat_and_splits_are_views():
    out = td.hstack([td.tensor([1, 2]), td.tensor([0.5])])
    assert out.dtype == torch.hstack([torch.tensor([1, 2]), torch.tensor([0.5])]).numpy().dtype
    x = td.tensor(np.arange(12.0).reshape(3, 4))
    for piece in td.array_split(x, 3, axis=1) + td.hsplit(x, 2):
        assert np.shares_memory(piece.data, x.data)
    rotated = td.rot90(x)
    assert not np.shares_memory(rotated.data, x.data)  # a copy, as torch.rot90


def test_tensor_split_returns_a_tuple_and_array_split_a_list_as_their_libraries():
    x = td.arange(5)
    assert isinstance(td.tensor_split(x, 2), tuple) and isinstance(td.array_split(x, 2), list)
    assert isinstance(x.hsplit([2]), tuple) and isinstance(td.hsplit(x, [2]), list)
    assert [p.shape for p in td.tensor_split(x, sections=2)] == [(3,), (2,)]
    assert [p.data.tolist() for p in td.tensor_split(x, indices=[1, -1])] == [[0], [1, 2, 3],
                                                                              [4]]


def test_combinations_of_nothing():
    x = td.tensor([1.0, 2.0, 3.0])
    for r, with_replacement in ((0, False), (4, False), (0, True)):
        out = td.combinations(x, r, with_replacement)
        want = torch.combinations(torch.tensor([1.0, 2.0, 3.0]), r, with_replacement)
        assert out.shape == tuple(want.shape) and out.dtype == np.float32


@pytest.mark.parametrize("call, torch_call, match", [
    (lambda: td.hstack(td.ones(2, 3)), lambda: torch.hstack(torch.ones(2, 3)),
     "hstack: expects a sequence of tensors, got a single Tensor"),
    (lambda: td.vstack([]), lambda: torch.vstack([]), "vstack: need at least one tensor"),
    (lambda: td.hstack([td.ones(2, 3), td.ones(3, 3)]),
     lambda: torch.hstack([torch.ones(2, 3), torch.ones(3, 3)]), "concatenate: shapes"),
    (lambda: td.vsplit(td.ones(4), 2), lambda: torch.vsplit(torch.ones(4), 2),
     r"vsplit: needs a tensor of at least 2 dimensions, got shape \(4,\)"),
    (lambda: td.dsplit(td.ones(2, 4), 2), lambda: torch.dsplit(torch.ones(2, 4), 2),
     "dsplit: needs a tensor of at least 3 dimensions"),
    (lambda: td.hsplit(td.ones(2, 5), 2), lambda: torch.hsplit(torch.ones(2, 5), 2),
     "does not divide into 2 equal sections"),
    (lambda: td.hsplit(td.tensor(1.0), 1), lambda: torch.hsplit(torch.tensor(1.0), 1),
     "hsplit: needs a tensor of at least 1 dimension"),
    (lambda: td.array_split(td.ones(4), 0), lambda: torch.tensor_split(torch.ones(4), 0),
     "array_split: the number of sections must be positive"),
    (lambda: td.tensor_split(td.ones(4), 1.5), lambda: torch.tensor_split(torch.ones(4), 1.5),
     "tensor_split: indices_or_sections must be an int"),
    (lambda: td.tensor_split(td.ones(4), td.tensor([[1]])),
     lambda: torch.tensor_split(torch.ones(4), torch.tensor([[1]])), "0-d or 1-d integer"),
    (lambda: td.rot90(td.ones(3)), lambda: torch.rot90(torch.ones(3)),
     "rot90: needs at least 2 dimensions"),
    (lambda: td.rot90(td.ones(2, 3), axes=(1, -1)),
     lambda: torch.rot90(torch.ones(2, 3), 1, (1, -1)), "rot90: axes .* name the same axis"),
    (lambda: td.rot90(td.ones(2, 3), axes=(0, 1, 2)),
     lambda: torch.rot90(torch.ones(2, 3), 1, (0, 1, 2)), "rot90: axes must name 2 axes"),
    (lambda: td.fliplr(td.ones(3)), lambda: torch.fliplr(torch.ones(3)),
     "fliplr: needs at least 2 dimensions"),
    (lambda: td.flipud(td.tensor(1.0)), lambda: torch.flipud(torch.tensor(1.0)),
     "flipud: needs at least 1 dimension"),
    (lambda: td.diag_embed(td.ones(3), 0, 0, -2), lambda: torch.diag_embed(torch.ones(3), 0, 0, -2),
     "diag_embed: dim1 and dim2 name the same axis"),
    (lambda: td.diag_embed(td.tensor(1.0)), lambda: torch.diag_embed(torch.tensor(1.0)),
     "diag_embed: axis -2 is out of bounds"),
    (lambda: td.combinations(td.ones(2, 2)), lambda: torch.combinations(torch.ones(2, 2)),
     r"combinations: expects a 1-D tensor, got shape \(2, 2\)"),
    (lambda: td.combinations(td.ones(3), -1), lambda: torch.combinations(torch.ones(3), -1),
     "combinations: r must be a non-negative int"),
])
def test_errors_name_the_op_where_torch_raises(call, torch_call, match):
    with pytest.raises((RuntimeError, TypeError, IndexError, ValueError)):
        torch_call()
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()
