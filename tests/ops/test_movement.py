"""tinydl/ops/movement.py through the op table: flip, roll, repeat, tile, repeat_interleave,
tril, triu, diag, diagonal, trace, narrow, chunk, unbind, moveaxis/movedim, meshgrid; then the
argument conventions and errors a row cannot state. Every row but trace's is exact."""
import numpy as np
import pytest

import tinydl as td
from tests import _reference as ref
from tests.ops._table import Arg, OpCase, OpTable, booleans, torch

X3 = (2, 3, 4)


def move_op(name, fn, ref_fn, args=(X3,), **kw):
    """An exact row; inputs standard normal, (2, 3, 4) unless given."""
    return OpCase(name, fn, ref_fn, args, exact=True, **kw)


CASES = [
    # flip
    move_op("flip_all", td.flip, np.flip, torch=lambda x: torch.flip(x, tuple(range(x.ndim))),
            zero_d=True, empty=[(0, 3)]),
    move_op("flip_axis", lambda x: td.flip(x, 1), lambda x: np.flip(x, 1),
            torch=lambda x: torch.flip(x, [1]), empty=[(2, 0, 4)]),
    move_op("flip_dims", lambda x: td.flip(x, dims=(0, -1)) * 2,
            lambda x: np.flip(x, (0, -1)) * 2, torch=lambda x: torch.flip(x, (0, -1)) * 2),
    # roll
    move_op("roll_axis", lambda x: td.roll(x, 2, axis=1), lambda x: np.roll(x, 2, axis=1),
            torch=lambda x: torch.roll(x, 2, 1), empty=[(0, 3, 4)]),
    move_op("roll_flat", lambda x: td.roll(x, -5), lambda x: np.roll(x, -5),
            torch=lambda x: torch.roll(x, -5), zero_d=True, empty=[(0,)]),
    move_op("roll_shifts_dims", lambda x: td.roll(x, shifts=(1, -6), dims=(0, 2)),
            lambda x: np.roll(x, (1, -6), (0, 2)), torch=lambda x: torch.roll(x, (1, -6), (0, 2))),
    move_op("roll_one_shift_two_axes", lambda x: td.roll(x, 1, axis=(1, 2)),
            lambda x: np.roll(x, 1, (1, 2)), torch=lambda x: torch.roll(x, (1, 1), (1, 2))),
    # Tensor.repeat (torch's tiling) and tile (NumPy's)
    move_op("repeat", lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)),
            torch=lambda x: x.repeat(2, 1, 3)),
    move_op("repeat_leading_axes", lambda x: x.repeat((2, 3, 2)),
            lambda x: np.tile(x, (2, 3, 2)), [(4,)], torch=lambda x: x.repeat(2, 3, 2),
            zero_d=True, empty=[(0,)]),
    move_op("repeat_zero_times", lambda x: x.repeat(2, 0), lambda x: np.tile(x, (2, 0)),
            [(3, 4)], torch=lambda x: x.repeat(2, 0), empty=[(3, 4)]),
    move_op("repeat_ones", lambda x: x.repeat(1, 1), lambda x: np.tile(x, (1, 1)),
            [(3, 4)], torch=lambda x: x.repeat(1, 1)),
    move_op("tile", lambda x: td.tile(x, 2), lambda x: np.tile(x, 2),
            torch=lambda x: torch.tile(x, (2,)), zero_d=True, empty=[(0, 2)]),
    move_op("tile_longer_reps", lambda x: td.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)),
            [(3, 4)], torch=lambda x: torch.tile(x, (2, 1, 3))),
    # the function repeat (NumPy's np.repeat)
    move_op("numpy_repeat_flat", lambda x: td.repeat(x, 3), lambda x: np.repeat(x, 3),
            torch=lambda x: torch.repeat_interleave(x, 3), zero_d=True, empty=[(0, 2)]),
    move_op("numpy_repeat_axis", lambda x: td.repeat(x, 2, 0), lambda x: np.repeat(x, 2, 0),
            [(3, 4)], torch=lambda x: torch.repeat_interleave(x, 2, 0)),
    move_op("numpy_repeat_counts", lambda x: td.repeat(x, [1, 0, 2, 1], axis=1),
            lambda x: np.repeat(x, [1, 0, 2, 1], axis=1), [(3, 4)],
            torch=lambda x: torch.repeat_interleave(x, torch.tensor([1, 0, 2, 1]), 1)),
    # repeat_interleave (NumPy's np.repeat)
    move_op("repeat_interleave_axis", lambda x: td.repeat_interleave(x, 2, axis=1),
            lambda x: np.repeat(x, 2, axis=1), torch=lambda x: torch.repeat_interleave(x, 2, 1),
            empty=[(2, 0, 4)]),
    move_op("repeat_interleave_flat", lambda x: td.repeat_interleave(x, 3),
            lambda x: np.repeat(x, 3), torch=lambda x: torch.repeat_interleave(x, 3),
            zero_d=True, empty=[(0, 2)]),
    move_op("repeat_interleave_counts",
            lambda x: td.repeat_interleave(x, td.tensor([2, 0, 3]), dim=1),
            lambda x: np.repeat(x, [2, 0, 3], axis=1),
            torch=lambda x: torch.repeat_interleave(x, torch.tensor([2, 0, 3]), dim=1)),
    move_op("repeat_interleave_one_count", lambda x: td.repeat_interleave(x, [2], axis=-1),
            lambda x: np.repeat(x, [2], axis=-1),
            torch=lambda x: torch.repeat_interleave(x, torch.tensor([2]), dim=-1)),
    # triangles
    *[move_op(f"{name}_{k}", lambda x, f=f, k=k: f(x, k),
              lambda x, g=g, k=k: g(x, k), torch=lambda x, name=name, k=k:
              getattr(torch, name)(x, diagonal=k), empty=[(0, 3)])
      for name, f, g in (("tril", td.tril, np.tril), ("triu", td.triu, np.triu))
      for k in (0, 1, -2)],
    move_op("tril_diagonal_kw", lambda x: td.tril(x, diagonal=-1), lambda x: np.tril(x, -1),
            [(4, 3)], torch=lambda x: torch.tril(x, diagonal=-1), empty=[(2, 0, 3)]),
    move_op("triu_vector", td.triu, np.triu, [(4,)]),
    # diagonals
    *[move_op(f"diag_vector_{k}", lambda x, k=k: td.diag(x, k), lambda x, k=k: np.diag(x, k),
              [(4,)], torch=lambda x, k=k: torch.diag(x, k), empty=[(0,)]) for k in (0, 1, -2)],
    *[move_op(f"diag_matrix_{k}", lambda x, k=k: td.diag(x, k), lambda x, k=k: np.diag(x, k),
              [(3, 4)], torch=lambda x, k=k: torch.diag(x, k), empty=[(0, 3)])
      for k in (0, 2, -1)],
    move_op("diag_matrix_off_the_edge", lambda x: td.diag(x, diagonal=5),
            lambda x: np.diag(x, 5), [(3, 4)], torch=lambda x: torch.diag(x, 5)),
    move_op("diagonal", lambda x: td.diagonal(x), lambda x: np.diagonal(x),
            [(3, 4)], torch=lambda x: torch.diagonal(x), empty=[(0, 4)]),
    move_op("diagonal_axes", lambda x: td.diagonal(x, 1, 0, 2), lambda x: np.diagonal(x, 1, 0, 2),
            torch=lambda x: torch.diagonal(x, 1, 0, 2), empty=[(2, 0, 4)]),
    move_op("diagonal_torch_dims", lambda x: td.diagonal(x, offset=-1, dim1=2, dim2=1),
            lambda x: np.diagonal(x, -1, 2, 1),
            torch=lambda x: torch.diagonal(x, offset=-1, dim1=2, dim2=1)),
    OpCase("trace", td.trace, np.trace, [(3, 4)], torch=lambda x: torch.trace(x),
           empty=[(0, 3)]),
    OpCase("trace_batched", lambda x: td.trace(x, 1, 1, 2), lambda x: np.trace(x, 1, 1, 2),
           [X3], torch=lambda x: torch.diagonal(x, 1, 1, 2).sum(-1)),
    # pieces
    move_op("narrow", lambda x: td.narrow(x, 1, 1, 2), lambda x: x[:, 1:3],
            torch=lambda x: torch.narrow(x, 1, 1, 2), empty=[(0, 3, 4)]),
    move_op("narrow_negative", lambda x: td.narrow(x, dim=-1, start=-3, length=2),
            lambda x: x[..., 1:3], torch=lambda x: torch.narrow(x, -1, -3, 2)),
    move_op("narrow_to_nothing", lambda x: td.narrow(x, 2, 4, 0), lambda x: x[..., 4:4],
            torch=lambda x: torch.narrow(x, 2, 4, 0), empty=[X3]),
    move_op("chunk", lambda x: td.chunk(x, 3, axis=2), lambda x: ref.chunk(x, 3, 2),
            [(2, 3, 7)], torch=lambda x: torch.chunk(x, 3, 2), empty=[(2, 3, 0)]),
    move_op("chunk_fewer", lambda x: td.chunk(x, 4, dim=-1), lambda x: ref.chunk(x, 4, -1),
            [(3, 5)], torch=lambda x: torch.chunk(x, 4, -1)),
    move_op("chunk_even", lambda x: td.chunk(x, 2), lambda x: ref.chunk(x, 2),
            [(4, 3)], torch=lambda x: torch.chunk(x, 2)),
    move_op("unbind", lambda x: td.unbind(x, 1), lambda x: tuple(np.moveaxis(x, 1, 0)),
            torch=lambda x: torch.unbind(x, 1), empty=[(2, 3, 0)]),
    move_op("unbind_first", td.unbind, tuple, [(3, 4)], torch=lambda x: torch.unbind(x)),
    # axes
    move_op("moveaxis", lambda x: td.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
            torch=lambda x: torch.movedim(x, 0, -1), empty=[(0, 3, 4)]),
    move_op("movedim_many", lambda x: td.movedim(x, (0, 1), (2, 0)),
            lambda x: np.moveaxis(x, (0, 1), (2, 0)), [(2, 3, 4, 5)],
            torch=lambda x: torch.movedim(x, (0, 1), (2, 0))),
    # grids
    *[move_op(f"meshgrid_{indexing}",
              lambda a, b, c, i=indexing: td.meshgrid(a, b, c, indexing=i),
              lambda a, b, c, i=indexing: np.meshgrid(a, b, c, indexing=i),
              [(3,), (4,), (2,)], zero_d=True, empty=[(0,), (4,), (2,)],
              torch=lambda a, b, c, i=indexing: torch.meshgrid(a, b, c, indexing=i))
      for indexing in ("xy", "ij")],
    move_op("meshgrid_two", lambda a, b: td.meshgrid(a, b), lambda a, b: np.meshgrid(a, b),
            [(3,), (4,)], torch=lambda a, b: torch.meshgrid(a, b, indexing="xy")),
    move_op("meshgrid_one", lambda a: td.meshgrid(a), lambda a: np.meshgrid(a), [(3,)],
            torch=lambda a: torch.meshgrid(a, indexing="xy")),
    move_op("meshgrid_sparse", lambda a, b: td.meshgrid(a, b, sparse=True),
            lambda a, b: np.meshgrid(a, b, sparse=True), [(3,), (4,)]),
    move_op("meshgrid_list", lambda a, b: td.meshgrid([a, b], indexing="ij", copy=False),
            lambda a, b: np.meshgrid(a, b, indexing="ij"), [(3,), (4,)],
            torch=lambda a, b: torch.meshgrid([a, b], indexing="ij")),
    # torch's Tensor.unfold (sliding windows), unflatten, masked_select, split by sizes
    move_op("unfold_windows", lambda x: x.unfold(2, 2, 1), lambda x: np.moveaxis(
        np.stack([x[..., i:i + 2] for i in range(3)], axis=2), 3, 3),
        torch=lambda x: x.unfold(2, 2, 1), empty=[(0, 3, 4)]),
    move_op("unfold_strided", lambda x: x.unfold(1, 2, 2), lambda x: np.moveaxis(
        x[:, :2, :][:, None], 2, -1), torch=lambda x: x.unfold(1, 2, 2)),
    move_op("unflatten", lambda x: td.unflatten(x, 2, (2, -1)),
            lambda x: x.reshape(x.shape[:2] + (2, 2)),
            torch=lambda x: torch.unflatten(x, 2, (2, -1)), empty=[(0, 3, 4)]),
    OpCase("masked_select", lambda x, m: td.masked_select(x, m),
           lambda x, m: x[np.broadcast_to(m, x.shape)],
           [X3, Arg((3, 1), booleans, grad=False)],
           torch=lambda x, m: torch.masked_select(x, m), exact=True),
    move_op("split_sizes", lambda x: x.split([1, 3], dim=2), lambda x: (x[..., :1], x[..., 1:]),
            torch=lambda x: x.split([1, 3], dim=2)),
    move_op("split_size", lambda x: x.split(3, dim=2), lambda x: (x[..., :3], x[..., 3:]),
            torch=lambda x: x.split(3, dim=2)),
]


class TestMovement(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- conventions
def test_integer_and_bool_tensors_move_too():
    x = np.arange(12).reshape(3, 4)
    for fn, np_fn in ((td.flip, np.flip), (lambda t: td.roll(t, 1, 0), lambda a: np.roll(a, 1, 0)),
                      (lambda t: td.tile(t, 2), lambda a: np.tile(a, 2)),
                      (td.tril, np.tril), (td.diag, np.diag), (td.trace, np.trace),
                      (lambda t: td.repeat_interleave(t, 2, 0), lambda a: np.repeat(a, 2, 0))):
        out = fn(td.tensor(x))
        np.testing.assert_array_equal(out.data, np_fn(x))
        assert out.dtype == np_fn(x).dtype
    mask = td.tensor(x > 5)
    assert td.triu(mask).dtype == np.bool_


def test_torch_one_argument_repeat_interleave_gives_repeated_indices():
    out = td.repeat_interleave(td.tensor([2, 0, 1]))
    np.testing.assert_array_equal(out.data, [0, 0, 2])
    assert out.dtype == np.int64


def test_repeat_interleave_output_size_is_checked():
    x = td.ones(3)
    assert td.repeat_interleave(x, 2, output_size=6).shape == (6,)
    with pytest.raises(ValueError, match="repeat_interleave: output_size 5"):
        td.repeat_interleave(x, 2, output_size=5)


def test_tiling_by_ones_still_copies():
    x = td.ones(2, 3)
    for out in (x.repeat(1, 1), td.tile(x, 1), td.repeat_interleave(x, 1, axis=0),
                td.repeat(x, 1, 0)):
        assert out is not x and not np.shares_memory(out.data, x.data)


@pytest.mark.parametrize("tiling", [lambda x: x.repeat(4, 1), lambda x: td.tile(x, (3, 1)),
                                    lambda x: x.repeat(2, 1, 1),
                                    lambda x: x.repeat_interleave(3, dim=0)])
def test_tiling_only_unit_or_new_axes_is_a_new_writable_array(tiling):
    """Repeating only length-1 or new leading axes used to return a read-only broadcast view:
    a later write to the input showed through, and the result could not be written."""
    x = td.tensor([[1.0, 2.0, 3.0]])
    out = tiling(x)
    x.add_(10)
    np.testing.assert_array_equal(out.numpy().reshape(-1)[:3], [1.0, 2.0, 3.0])
    out.add_(1)
    np.testing.assert_array_equal(out.numpy().reshape(-1)[-3:], [2.0, 3.0, 4.0])


def test_flip_copies_and_diagonal_is_a_view_as_in_torch():
    """torch.flip copies (NumPy's is a view): an in-place op on a flipped tensor must leave the
    original alone, as it does in torch."""
    x = td.tensor(np.arange(12.0).reshape(3, 4))
    assert not np.shares_memory(td.flip(x).data, x.data)
    f = x.flip(0)
    f += 10
    f.add_(1)
    np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(3, 4))
    assert np.shares_memory(td.diagonal(x).data, x.data)
    assert not np.shares_memory(td.diag(x).data, x.data)  # torch's diag is a new tensor


def test_meshgrid_default_indexing_is_numpys():
    a, b = td.arange(3), td.arange(4)
    assert [g.shape for g in td.meshgrid(a, b)] == [(4, 3), (4, 3)]
    assert [g.shape for g in td.meshgrid(a, b, indexing="ij")] == [(3, 4), (3, 4)]


def test_unbind_and_chunk_return_what_torch_returns():
    x = td.zeros(3, 4)
    assert isinstance(td.unbind(x), tuple) and len(td.unbind(x)) == 3
    assert [p.shape for p in td.chunk(td.zeros(7), 4)] == [(2,), (2,), (2,), (1,)]
    assert [p.shape for p in td.chunk(td.zeros(0, 2), 3)] == [(0, 2)] * 3


def test_second_derivative_flows_through_a_movement_chain():
    x = td.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)

    def f(t):
        m = td.triu(td.roll(td.flip(t, 0), 1, 1)) * t
        return (td.trace(m.repeat(2, 1)[:, :3]) ** 2 + td.diag(m).sum() ** 3)

    assert td.gradcheck(f, [x]) and td.gradgradcheck(f, [x])


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: td.flip(td.ones(2, 3), 2), "flip: axis 2 is out of bounds"),
    (lambda: td.flip(td.ones(2, 3), 0, dims=1), "flip: got both"),
    (lambda: td.roll(td.ones(2, 3), (1, 2), axis=0), "roll: 2 shifts for one axis"),
    (lambda: td.roll(td.ones(2, 3), (1, 2), axis=(0, 1, 1)), "roll: 2 shifts for 3 axes"),
    (lambda: td.roll(td.ones(2, 3), 1.5), "roll: shift must be an int"),
    (lambda: td.ones(2, 3).repeat(2), r"repeat: 1 sizes \(2,\) for a tensor of shape"),
    (lambda: td.ones(2, 3).repeat(2, -1), "repeat: sizes must be non-negative"),
    (lambda: td.repeat(td.ones(2, 3), 2, 3), "repeat_interleave: axis 3"),  # torch's sizes
    (lambda: td.tile(td.ones(2), 1.5), "tile: reps must be integers"),
    (lambda: td.repeat_interleave(td.ones(3), [1, 2]), "repeat_interleave: 2 repeats for an "
                                                       "axis of length 3"),
    (lambda: td.repeat_interleave(td.ones(3), [1, -1, 2]), "repeats must be non-negative"),
    (lambda: td.repeat_interleave(td.ones(3), [1.0, 2.0, 1.0]), "repeats must be integers"),
    (lambda: td.tril(td.tensor(1.0)), "tril: needs a tensor of at least 1 dimension"),
    (lambda: td.triu(td.ones(2, 2), 1, diagonal=1), "triu: got both"),
    (lambda: td.diag(td.ones(2, 2, 2)), r"diag: needs a 1-d or 2-d tensor, got shape \(2, 2, 2\)"),
    (lambda: td.diagonal(td.ones(3)), "diagonal: needs at least 2 dimensions"),
    (lambda: td.diagonal(td.ones(3, 3), 0, 1, -1), "diagonal: axis1 and axis2 are the same"),
    (lambda: td.narrow(td.ones(3, 4), 1, 3, 2), "narrow: start 3 \\+ length 2 exceeds axis 1"),
    (lambda: td.narrow(td.ones(3, 4), 1, -5, 1), "narrow: start -5 is out of range"),
    (lambda: td.chunk(td.ones(3), 0), "chunk: chunks must be a positive int"),
    (lambda: td.chunk(td.tensor(1.0), 2), "chunk: axis 0 is out of bounds"),
    (lambda: td.unbind(td.ones(2), 1), "unbind: axis 1 is out of bounds"),
    (lambda: td.moveaxis(td.ones(2, 3), (0, 1), 0), "moveaxis: source .* same number"),
    (lambda: td.moveaxis(td.ones(2, 3), (0, 0), (0, 1)), "moveaxis: repeated axis in source"),
    (lambda: td.meshgrid(td.ones(2), indexing="yx"), "meshgrid: indexing must be"),
])
def test_errors_name_the_op_and_the_values(call, match):
    with pytest.raises((ValueError, TypeError, IndexError), match=match):
        call()


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (2, 3, 4), (3, 4, 5, 2)])
def test_diagonal_is_a_view_that_in_place_ops_write_through_as_torch(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    for a1 in range(len(shape)):
        for a2 in range(len(shape)):
            for offset in range(-5, 6):
                if a1 != a2:
                    got = td.tensor(x).diagonal(offset, a1, a2).data
                    assert np.array_equal(got, np.diagonal(x, offset, a1, a2))
    # torch's idiom: a covariance's diagonal jitter, a zeroed diagonal (NumPy's view refuses)
    a = td.ones(3, 3)
    a.diagonal().fill_(0.0)
    a.diagonal(1).add_(5.0)
    a.T.diagonal(-1).mul_(2.0)  # through a transpose: the same elements as diagonal(1)
    assert a.tolist() == [[0, 12, 1], [1, 0, 12], [1, 1, 0]]
    if torch is not None:
        t = torch.ones(3, 3)
        t.diagonal().fill_(0.0)
        t.diagonal(1).add_(5.0)
        t.T.diagonal(-1).mul_(2.0)
        assert t.tolist() == a.tolist()
