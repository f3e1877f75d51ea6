"""tinydl/ops/numpy_more.py: NumPy's append, insert, delete, atleast_1d/2d/3d,
broadcast_arrays, compress, extract, resize, rollaxis, trim_zeros and ediff1d through the op
table (NumPy the reference, torch where it has the op); then the builders (empty_like,
identity, geomspace, tri) and index routines (tril_indices, triu_indices, diag_indices,
indices, unravel_index, ravel_multi_index, flatnonzero) against NumPy, the NumPy calls on
tensors, and the errors."""
import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, booleans, fixed, off_zero, torch

X = (2, 3)


def moved(name, fn, ref, args=(X,), **kw):
    """A row for a routine that only moves values: exact against NumPy."""
    return OpCase(name, fn, ref, args, exact=True, **kw)


CASES = [
    moved("append_flat", td.append, np.append, [(2, 3), (4,)], empty=[(0, 3), (0,)]),
    moved("append_axis1", lambda a, b: td.append(a, b, axis=1),
          lambda a, b: np.append(a, b, axis=1), [(2, 3), (2, 2)], empty=[(2, 0), (2, 0)]),
    moved("append_0d", td.append, np.append, [(), ()], zero_d=True),
    moved("insert_scalar_obj_axis1", lambda a, v: td.insert(a, 1, v, axis=1),
          lambda a, v: np.insert(a, 1, v, axis=1), [(2, 3), (2,)]),
    moved("insert_list_obj_broadcast_value", lambda a, v: td.insert(a, [0, 2, 2], v, axis=0),
          lambda a, v: np.insert(a, [0, 2, 2], v, axis=0), [(2, 3), (1, 3)]),
    moved("insert_flat_slice", lambda a, v: td.insert(a, slice(1, 5, 2), v),
          lambda a, v: np.insert(a, slice(1, 5, 2), v), [(2, 3), ()], empty=[(0, 3), ()]),
    moved("delete_int_axis0", lambda a: td.delete(a, 1, axis=0),
          lambda a: np.delete(a, 1, axis=0), [(3, 4)], empty=[(3, 0)]),
    moved("delete_flat_list", lambda a: td.delete(a, [0, -1, 3]),
          lambda a: np.delete(a, [0, -1, 3]), [(2, 3)]),
    moved("delete_mask_axis1", lambda a: td.delete(a, [True, False, True], axis=1),
          lambda a: np.delete(a, [True, False, True], axis=1)),
    *[moved(f"atleast_{n}d_{len(shape)}", getattr(td, f"atleast_{n}d"),
            getattr(np, f"atleast_{n}d"), [shape], zero_d=True,
            torch=lambda x, n=n: getattr(torch, f"atleast_{n}d")(x))
      for n in (1, 2, 3) for shape in ((3,), (2, 3))],
    moved("atleast_2d_several", lambda a, b: td.atleast_2d(a, b),
          lambda a, b: np.atleast_2d(a, b), [(), (3,)], zero_d=True,
          torch=lambda a, b: torch.atleast_2d(a, b)),
    moved("broadcast_arrays", td.broadcast_arrays, np.broadcast_arrays, [(2, 1), (3,)],
          torch=lambda a, b: torch.broadcast_tensors(a, b), zero_d=True,
          empty=[(0, 1), (3,)]),
    moved("compress_axis1", lambda a: td.compress([True, False, True], a, axis=1),
          lambda a: np.compress([True, False, True], a, axis=1), empty=[(0, 3)]),
    moved("compress_flat_short", lambda a: td.compress([False, True, True], a),
          lambda a: np.compress([False, True, True], a)),
    moved("compress_method", lambda a: a.compress([1, 0], axis=0),
          lambda a: a.compress([1, 0], axis=0)),
    moved("extract", lambda c, a: td.extract(c, a), np.extract,
          [Arg((2, 3), booleans, grad=False), (2, 3)], empty=[(0, 3), (0, 3)]),
    moved("resize_grow", lambda a: td.resize(a, (3, 5)), lambda a: np.resize(a, (3, 5))),
    moved("resize_shrink_int", lambda a: td.resize(a, 4), lambda a: np.resize(a, 4)),
    moved("rollaxis", lambda a: td.rollaxis(a, 3, 1), lambda a: np.rollaxis(a, 3, 1),
          [(2, 3, 4, 5)], torch=lambda a: torch.movedim(a, 3, 1)),
    moved("rollaxis_forward", lambda a: td.rollaxis(a, -3, 3),
          lambda a: np.rollaxis(a, -3, 3), [(2, 3, 4)], empty=[(2, 0, 4)]),
    # zeros around nonzero values: finite differences then never move the cut
    *[moved(f"trim_zeros_{trim}",
            lambda z, x, t=trim: td.trim_zeros(td.concatenate([z, x, z]), t),
            lambda z, x, t=trim: np.trim_zeros(np.concatenate([z, x, z]), t),
            [Arg((2,), fixed(0.0), grad=False), Arg((3,), off_zero)])
      for trim in ("fb", "f", "b", "B")],
    OpCase("ediff1d", td.ediff1d, np.ediff1d, [(2, 3)], empty=[(0,)]),
    OpCase("ediff1d_ends", lambda a, b, e: td.ediff1d(a, to_end=e, to_begin=b),
           lambda a, b, e: np.ediff1d(a, to_end=e, to_begin=b), [(4,), (2,), ()]),
]


def _written(write):
    """An in-place NumPy write (returns None) as a function: ``write`` on a copy of ``a``."""
    def fn(a, *rest):
        out = a * 1
        assert write(out, *rest) is None
        return out
    return fn


def _np_written(write):
    def fn(a, *rest):
        out = a.copy()
        write(out, *rest)
        return out
    return fn


IDX = np.array([[2, 0], [1, 2]])  # no repeated position: gradcheck needs one writer
PICK = np.array([[0, 1, 2], [2, 2, 0]])

CASES += [
    moved("union1d", lambda a, b: td.union1d(a, b), np.union1d, [(2, 3), (4,)],
          empty=[(0,), (2,)]),
    moved("union1d_repeats", lambda a: td.union1d(a, a[:1]), lambda a: np.union1d(a, a[:1]),
          [(3,)]),
    moved("intersect1d", lambda a: td.intersect1d(a, td.flip(a[1:], 0)),
          lambda a: np.intersect1d(a, np.flip(a[1:], 0)), [(5,)], empty=[(0,)]),
    moved("intersect1d_return_indices",
          lambda a: td.intersect1d(a, a[::2], return_indices=True)[0],
          lambda a: np.intersect1d(a, a[::2], return_indices=True)[0], [(2, 3)]),
    moved("setdiff1d", lambda a: td.setdiff1d(a, a[1::2]),
          lambda a: np.setdiff1d(a, a[1::2]), [(2, 3)], empty=[(0,)]),
    moved("setdiff1d_assume_unique", lambda a: td.setdiff1d(a, a[:2], assume_unique=True),
          lambda a: np.setdiff1d(a, a[:2], assume_unique=True), [(5,)]),
    moved("choose", lambda a, b, c: td.choose(PICK, [a, b, c]),
          lambda a, b, c: np.choose(PICK, [a, b, c]), [(2, 3), (3,), (2, 1)]),
    moved("choose_method_clip", lambda a, b: td.tensor(PICK + 1).choose([a, b], mode="clip"),
          lambda a, b: np.choose(PICK + 1, [a, b], mode="clip"), [(2, 3), (2, 3)]),
    moved("choose_wrap", lambda a, b: td.choose(PICK - 4, [a, b], mode="wrap"),
          lambda a, b: np.choose(PICK - 4, [a, b], mode="wrap"), [(2, 3), (2, 3)]),
    moved("put_along_axis", _written(lambda a, v: td.put_along_axis(a, IDX, v, axis=1)),
          _np_written(lambda a, v: np.put_along_axis(a, IDX, v, axis=1)), [(2, 3), (2, 2)],
          torch=lambda a, v: torch.scatter(a, 1, torch.tensor(IDX), v)),
    moved("put_along_axis_broadcast_values",
          _written(lambda a, v: td.put_along_axis(a, IDX.T[:1], v, axis=0)),
          _np_written(lambda a, v: np.put_along_axis(a, IDX.T[:1], v, axis=0)),
          [(3, 2), (1, 1)]),
    moved("put_along_axis_flat", _written(lambda a, v: td.put_along_axis(a, [4, 0], v, None)),
          _np_written(lambda a, v: np.put_along_axis(a, np.array([4, 0]), v, None)),
          [(2, 3), (2,)]),
    moved("place", _written(lambda a, v: td.place(a, PICK == 2, v)),
          _np_written(lambda a, v: np.place(a, PICK == 2, v)), [(2, 3), (2,)]),
    moved("putmask", _written(lambda a, v: td.putmask(a, PICK == 2, v)),
          _np_written(lambda a, v: np.putmask(a, PICK == 2, v)), [(2, 3), (4,)]),
    moved("copyto_where", _written(lambda a, v: td.copyto(a, v, where=PICK > 0)),
          _np_written(lambda a, v: np.copyto(a, v, where=PICK > 0)), [(2, 3), (3,)],
          torch=lambda a, v: torch.where(torch.tensor(PICK > 0), v, a)),
    moved("copyto_all", _written(lambda a, v: td.copyto(a, v)),
          _np_written(lambda a, v: np.copyto(a, v)), [(2, 3), (2, 1)], zero_d=True),
    moved("partition", lambda a: td.partition(a, 2), lambda a: np.partition(a, 2), [(3, 5)],
          empty=[(0, 5)]),
    moved("partition_kths_axis0", lambda a: td.partition(a, (0, -1), axis=0),
          lambda a: np.partition(a, (0, -1), axis=0), [(4, 3)]),
    moved("partition_flat", lambda a: td.partition(a, 3, axis=None),
          lambda a: np.partition(a, 3, axis=None), [(2, 3)]),
    moved("block_2x2", lambda a, b, c, d: td.block([[a, b], [c, d]]),
          lambda a, b, c, d: np.block([[a, b], [c, d]]), [(2, 2), (2, 1), (1, 2), (1, 1)]),
    moved("block_mixed_ndim", lambda a, b: td.block([[a], [b]]),
          lambda a, b: np.block([[a], [b]]), [(3,), (2, 3)]),
    moved("block_3d", lambda a, b: td.block([[[a, b]]]), lambda a, b: np.block([[[a, b]]]),
          [(2, 1, 2), (2, 1, 1)], zero_d=[(), ()]),
    *[OpCase(f"convolve_{mode}_{n}_{m}", lambda a, v, mode=mode: td.convolve(a, v, mode),
             lambda a, v, mode=mode: np.convolve(a, v, mode), [(n,), (m,)])
      for mode in ("full", "same", "valid") for n, m in ((5, 3), (2, 4), (1, 3))],
    *[OpCase(f"correlate_{mode}_{n}_{m}", lambda a, v, mode=mode: td.correlate(a, v, mode),
             lambda a, v, mode=mode: np.correlate(a, v, mode), [(n,), (m,)])
      for mode in ("full", "same", "valid") for n, m in ((6, 3), (3, 4))],
    OpCase("correlate_default_valid", td.correlate, np.correlate, [(5,), (2,)],
           torch=lambda a, v: torch.nn.functional.conv1d(a[None, None], v[None, None])[0, 0]),
    *[OpCase(f"gradient_edge{e}", lambda f, e=e: td.gradient(f, edge_order=e),
             lambda f, e=e: np.gradient(f, edge_order=e), [(3, 4)],
             torch=lambda f, e=e: torch.gradient(f, edge_order=e)) for e in (1, 2)],
    *[OpCase(f"gradient_spacing_edge{e}", lambda f, e=e: td.gradient(f, 0.5, axis=-1,
                                                                     edge_order=e),
             lambda f, e=e: np.gradient(f, 0.5, axis=-1, edge_order=e), [(2, 5)],
             torch=lambda f, e=e: torch.gradient(f, spacing=0.5, dim=-1, edge_order=e)[0])
      for e in (1, 2)],
    *[OpCase(f"gradient_coordinates_edge{e}",
             lambda f, e=e: td.gradient(f, [0.0, 0.5, 2.0], [1.0, 1.3, 2.0, 4.0], edge_order=e),
             lambda f, e=e: np.gradient(f, [0.0, 0.5, 2.0], [1.0, 1.3, 2.0, 4.0],
                                        edge_order=e), [(3, 4)],
             torch=lambda f, e=e: torch.gradient(
                 f, spacing=(torch.tensor([0.0, 0.5, 2.0], dtype=f.dtype),
                             torch.tensor([1.0, 1.3, 2.0, 4.0], dtype=f.dtype)), edge_order=e),
             rtol=1e-10, atol=1e-12) for e in (1, 2)],
]


class TestNumpyManip(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- builders
def test_builders_match_numpy_with_float32_default():
    for got, want in ((td.identity(3), np.identity(3)), (td.tri(3, 4, -1), np.tri(3, 4, -1)),
                      (td.tri(2), np.tri(2)), (td.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4)),
                      (td.geomspace(-1, -16, 5, endpoint=False),
                       np.geomspace(-1, -16, 5, endpoint=False))):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got.data, want, rtol=1e-6)
    assert td.identity(2, dtype=np.int64).dtype == np.int64
    assert td.tri(2, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(td.geomspace(2, 32, 5, dtype=np.float64).data,
                                  np.geomspace(2, 32, 5))
    x = td.tensor(np.ones((2, 3)), requires_grad=True)
    e = td.empty_like(x)
    assert e.shape == (2, 3) and e.dtype == np.float64 and not e.requires_grad
    assert td.empty_like(x, dtype=np.int32, shape=(4,)).data.dtype == np.int32
    assert td.empty_like(td.tensor(1.0)).shape == ()
    with pytest.raises(ValueError, match="geomspace: start and stop must be nonzero"):
        td.geomspace(0, 1)
    with pytest.raises(ValueError, match="identity: n must be"):
        td.identity(-1)


def test_index_builders_match_numpy():
    cases = [(td.tril_indices(4, k=1, m=3), np.tril_indices(4, 1, 3)),
             (td.triu_indices(3), np.triu_indices(3)),
             (td.triu_indices(3, k=-1), np.triu_indices(3, -1)),
             (td.diag_indices(3, ndim=3), np.diag_indices(3, 3)),
             (td.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)),
             (td.unravel_index(td.tensor([5, 0, 11]), (3, 4)),
              np.unravel_index([5, 0, 11], (3, 4))),
             (td.unravel_index(7, (3, 4), order="F"), np.unravel_index(7, (3, 4), order="F"))]
    for got, want in cases:
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert isinstance(g, td.Tensor) and g.dtype == np.int64
            np.testing.assert_array_equal(g.data, w)
    grid = td.indices((2, 0, 3))
    assert grid.dtype == np.int64 and grid.shape == (3, 2, 0, 3)
    np.testing.assert_array_equal(td.indices((2, 3)).data, np.indices((2, 3)))
    flat = td.ravel_multi_index((td.tensor([0, 2, 5]), [1, 3, 0]), (3, 4), mode=("wrap", "clip"))
    np.testing.assert_array_equal(
        flat.data, np.ravel_multi_index(([0, 2, 5], [1, 3, 0]), (3, 4), mode=("wrap", "clip")))
    assert flat.dtype == np.int64
    x = np.array([[0.0, 1.5], [-2.0, 0.0]])
    nz = td.flatnonzero(td.tensor(x))
    assert nz.dtype == np.int64
    np.testing.assert_array_equal(nz.data, np.flatnonzero(x))


@pytest.mark.skipif(torch is None, reason="torch is the oracle")
def test_torch_index_builders_agree():
    got = td.unravel_index(td.tensor([3, 10]), (2, 3, 2))
    want = torch.unravel_index(torch.tensor([3, 10]), (2, 3, 2))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.data, w.numpy())
    # torch's tril_indices(row, col, offset) is NumPy's read with k= and m= by name
    np.testing.assert_array_equal(td.stack(td.tril_indices(4, k=-1, m=3)).data,
                                  torch.tril_indices(4, 3, -1).numpy())
    np.testing.assert_array_equal(td.stack(td.triu_indices(3, k=1, m=5)).data,
                                  torch.triu_indices(3, 5, 1).numpy())
    assert td.empty_like(td.zeros(2, 3)).dtype == torch.empty_like(torch.zeros(2, 3)).numpy().dtype


# ----------------------------------------------------------------------------- NumPy calls
def test_numpy_functions_on_tensors_stay_differentiable():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3))
    ta = td.tensor(a, requires_grad=True)
    for fn in (lambda x: np.append(x, x[0]), lambda x: np.insert(x, 2, x[:, 0], axis=1),
               lambda x: np.delete(x, 0, axis=1), lambda x: np.atleast_3d(x),
               lambda x: np.broadcast_arrays(x, x[0])[1], lambda x: np.compress([1, 1], x, 0),
               lambda x: np.extract(np.array([[1, 0, 1], [0, 1, 1]]), x),
               lambda x: np.resize(x, (4, 2)), lambda x: np.rollaxis(x, 1),
               lambda x: np.trim_zeros(x[0]), lambda x: np.ediff1d(x, to_end=[1.0])):
        out = fn(ta)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_array_equal(out.data, fn(a))
        assert td.gradcheck(fn, [ta])
    with pytest.raises(TypeError, match="numpy.compress.*out="):
        np.compress([1, 0], ta, axis=0, out=np.empty((1, 3)))


def test_gradients_of_repeats_accumulate():
    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    td.resize(x, 7).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 2.0, 2.0])
    v = td.tensor(5.0, requires_grad=True)
    td.insert(x, [0, 1, 3], v).sum().backward()
    assert v.grad.item() == 3.0


def test_dtypes():
    ints = td.tensor([[1, 2], [3, 4]])
    out = td.insert(ints, 1, td.tensor([9.7, 8.2]), axis=0)  # values take arr's dtype, as NumPy
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, np.insert([[1, 2], [3, 4]], 1, [9.7, 8.2], axis=0))
    assert td.delete(ints, 0).dtype == np.int64
    assert td.ediff1d(td.tensor([1, 4, 9])).dtype == np.int64
    assert td.append(td.tensor([True]), td.tensor([False])).dtype == np.bool_


def test_errors_name_the_op_and_shapes():
    x = td.zeros(2, 3)
    with pytest.raises(IndexError, match=r"delete: cannot delete 5 from shape \(2, 3\)"):
        td.delete(x, 5, axis=1)
    with pytest.raises(ValueError, match=r"insert: cannot insert values of shape \(4,\)"):
        td.insert(x, 1, td.zeros(4), axis=1)
    with pytest.raises(ValueError, match=r"append: arr has shape \(2, 3\) and values \(3,\)"):
        td.append(x, td.zeros(3), axis=0)
    with pytest.raises(ValueError, match=r"broadcast_arrays: shapes \[\(2, 3\), \(2,\)\]"):
        td.broadcast_arrays(x, td.zeros(2))
    with pytest.raises(ValueError, match="compress: condition must be 1-D"):
        td.compress([[True]], x)
    with pytest.raises(IndexError, match="compress: condition of length 4"):
        td.compress([1, 0, 0, 1], x, axis=1)
    with pytest.raises(ValueError, match="resize: all elements of new_shape"):
        td.resize(x, (-1, 2))
    with pytest.raises(np.exceptions.AxisError, match=r"rollaxis: axis 2 .*\(2, 3\)"):
        td.rollaxis(x, 2)
    with pytest.raises(np.exceptions.AxisError, match="rollaxis: start 3"):
        td.rollaxis(x, 0, 3)
    with pytest.raises(ValueError, match="trim_zeros: tinydl trims 1-D"):
        td.trim_zeros(x)
    with pytest.raises(ValueError, match="trim_zeros: trim must be"):
        td.trim_zeros(td.zeros(3), "x")
    with pytest.raises(TypeError, match="ediff1d: to_end of dtype float"):
        td.ediff1d(td.tensor([1, 2]), to_end=td.tensor([0.5]))
    with pytest.raises(ValueError, match="unravel_index: .*shape"):
        td.unravel_index(12, (3, 4))
    with pytest.raises(TypeError, match="unravel_index: indices must be integers"):
        td.unravel_index(td.tensor([1.0]), (3, 4))
    with pytest.raises(ValueError, match=r"ravel_multi_index: .*dims \(3, 4\)"):
        td.ravel_multi_index(([3], [0]), (3, 4))
    with pytest.raises(TypeError, match="atleast_1d: needs at least one"):
        td.atleast_1d()


def test_torch_spellings_of_tril_indices_raise():
    # torch.tril_indices(3, 3) is a 3x3 matrix's; NumPy's tril_indices(3, 3) has k=3
    for call in (lambda: td.tril_indices(3, 3), lambda: td.triu_indices(3, 3, 1),
                 lambda: td.tril_indices(row=3, col=3), lambda: td.triu_indices(3, offset=1)):
        with pytest.raises(TypeError, match="indices: tinydl.tri._indices is NumPy's"):
            call()


def test_empty_and_zero_d_routines():
    assert td.trim_zeros(td.zeros(4)).shape == (0,)
    assert td.resize(td.zeros(0), (2, 2)).shape == (2, 2)
    np.testing.assert_array_equal(td.resize(td.zeros(0), 3).data, np.resize(np.zeros(0), 3))
    assert td.resize(td.tensor(2.0), (2,)).data.tolist() == [2.0, 2.0]
    assert td.ediff1d(td.tensor(3.0)).shape == (0,)
    assert td.flatnonzero(td.tensor(0.0)).shape == (0,)
    assert td.delete(td.tensor([1.0]), []).shape == (1,)


# ----------------------------------------------------------------------------- more routines
def test_order_and_set_indices_match_numpy():
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 3, (3, 8))
    got = td.lexsort(td.tensor(keys))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.data, np.lexsort(keys))
    np.testing.assert_array_equal(td.lexsort([td.tensor(keys[0]), keys[1]]).data,
                                  np.lexsort([keys[0], keys[1]]))
    a = rng.standard_normal((4, 7))
    for kth, axis in ((3, -1), ((0, 2, 3), 0), (-1, 1), (5, None)):
        index = td.argpartition(td.tensor(a), kth, axis=axis)
        assert index.dtype == np.int64
        np.testing.assert_array_equal(index.data, np.argpartition(a, kth, axis=axis))
        # the partition property, checked against a sort (not only against NumPy's answer)
        part = td.partition(td.tensor(a), kth, axis=axis).data
        flat = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else axis
        ordered = np.sort(flat, axis=ax)
        for k in np.atleast_1d(kth):
            kk = k % flat.shape[ax]
            np.testing.assert_array_equal(np.take(part, kk, ax), np.take(ordered, kk, ax))
            assert np.all(np.take(part, range(kk), ax) <= np.expand_dims(np.take(part, kk, ax),
                                                                       ax))
            assert np.all(np.take(part, range(kk + 1, flat.shape[ax]), ax)
                          >= np.expand_dims(np.take(part, kk, ax), ax))
    np.testing.assert_array_equal(td.tensor(a).argpartition(2).data, np.argpartition(a, 2))
    x, y = np.array([5, 1, 3, 3, 9]), np.array([3, 9, 7, 5])
    values, i1, i2 = td.intersect1d(td.tensor(x), td.tensor(y), return_indices=True)
    for g, w in zip((values, i1, i2), np.intersect1d(x, y, return_indices=True)):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g.data, w)


def test_in_place_writes_follow_numpy_and_the_in_place_rules():
    a = td.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    alias = a
    assert td.put_along_axis(a, [[0], [2]], 0.0, axis=1) is None
    np.testing.assert_array_equal(alias.data, [[0, 2, 3], [4, 5, 0]])
    ref = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.put_along_axis(ref, np.array([[0], [2]]), 0.0, axis=1)
    for arr, value in ((a, td.tensor), (ref, np.asarray)):  # NumPy's calls, on both
        assert np.put_along_axis(arr, np.array([[1], [1]]), value(9.0), 1) is None
        assert np.place(arr, np.asarray(arr) > 5, [7.0, 8.0]) is None
        assert np.putmask(arr, np.asarray(arr) == 0, value([-1.0, -2.0])) is None
        assert np.copyto(arr, value([1.0, 1.5, 1.0]), where=np.asarray(arr) < -1) is None
    np.testing.assert_array_equal(a.data, ref)
    leaf = td.tensor([1.0, 2.0], requires_grad=True)
    for write in (lambda: td.put_along_axis(leaf, [0], 5.0, axis=0),
                  lambda: td.place(leaf, [True, False], [5.0]),
                  lambda: td.putmask(leaf, [True, False], 5.0),
                  lambda: td.copyto(leaf, 5.0)):
        with pytest.raises(RuntimeError, match="leaf"):
            write()
    ints = td.tensor([1, 2, 3])
    td.copyto(ints, td.tensor([7, 8, 9]), where=[True, False, True])
    np.testing.assert_array_equal(ints.data, [7, 2, 9])
    with pytest.raises(TypeError, match=r"copyto: src of dtype float32 cannot be cast to the "
                                        r"tensor's int64 \(casting='same_kind'\)"):
        td.copyto(ints, td.tensor([0.5, 1.0, 2.0]))
    td.copyto(ints, td.tensor([0.5, 1.0, 2.0]), casting="unsafe")
    np.testing.assert_array_equal(ints.data, [0, 1, 2])


def test_in_place_writes_cast_as_numpy_does_python_scalars_included():
    """NumPy 2 reads a Python number as a weak scalar in the target's dtype, and each writer
    has its own rule for arrays (put_along_axis unsafe, place and putmask safe, copyto its
    casting): copyto(uint8, 1) and putmask(int, m, 1.5) raised here."""
    def both(write, a, *args, **kw):
        ours, theirs = td.tensor(a.copy()), a.copy()
        write(td)(ours, *args, **kw)
        write(np)(theirs, *(x.numpy() if isinstance(x, td.Tensor) else x for x in args), **kw)
        np.testing.assert_array_equal(ours.numpy(), theirs)
        assert ours.dtype == theirs.dtype

    u8, i64 = np.zeros(3, np.uint8), np.zeros(3, np.int64)
    both(lambda m: m.copyto, u8, 1)
    both(lambda m: m.put_along_axis, u8, np.array([0]), 9, axis=0)
    both(lambda m: m.put_along_axis, i64, np.array([0]), td.tensor(np.array([2.7])), axis=0)
    both(lambda m: m.putmask, i64, i64 == 0, 1.5)
    both(lambda m: m.place, i64, i64 == 0, [1.5])
    for call, error in ((lambda: td.copyto(td.tensor(i64.copy()), 1.5), TypeError),
                        (lambda: td.copyto(td.tensor(u8.copy()), 300), ValueError),
                        (lambda: td.putmask(td.tensor(np.zeros(3, np.float32)),
                                            [True] * 3, td.tensor(np.array([1.5]))), TypeError)):
        with pytest.raises(error):
            call()
    # NumPy 2.4: place casts arrays 'safe' (int64 [300, 2**40] into int8 wrapped to 44, 0);
    # place and putmask convert Python values straight to the dtype (300 into int8 raises,
    # 3.5 truncates, 5 into bool is True); copyto refuses a float or int into bool
    i8, flags = np.zeros(3, np.int8), np.zeros(3, bool)
    both(lambda m: m.place, i8, i8 == 0, 3.5)
    both(lambda m: m.place, flags, ~flags, 5)
    both(lambda m: m.putmask, flags, ~flags, [5, 0])
    everywhere = np.ones(3, bool)
    for dtype, write in ((np.int8, lambda m, a: m.place(a, everywhere, np.array([300, 2**40]))),
                         (np.int8, lambda m, a: m.place(a, everywhere, [300])),
                         (np.int8, lambda m, a: m.putmask(a, everywhere, [300])),
                         (bool, lambda m, a: m.copyto(a, 1.0)),
                         (bool, lambda m, a: m.copyto(a, 5))):
        for m, wrap in ((np, np.asarray), (td, td.tensor)):
            with pytest.raises((TypeError, OverflowError)):
                write(m, wrap(np.zeros(3, dtype)))
    x = td.tensor([3.0, 1.0, 2.0])
    assert x.partition(0) is None
    np.testing.assert_array_equal(x.data, np.partition([3.0, 1.0, 2.0], 0))


@pytest.mark.skipif(torch is None, reason="torch is the oracle")
def test_torch_counterparts_agree():
    x = np.array([1.0, 4.0, 9.0, 16.0, 30.0])
    for kw, tkw in (({}, {}), ({"edge_order": 2}, {"edge_order": 2})):
        got = td.gradient(td.tensor(x), 2.0, **kw)
        np.testing.assert_allclose(got.data, torch.gradient(torch.tensor(x), spacing=2.0,
                                                            **tkw)[0].numpy())
    a, b = np.array([3, 1, 2]), np.array([[7], [8]])
    for g, w in zip(td.broadcast_arrays(td.tensor(a), td.tensor(b)),
                    torch.broadcast_tensors(torch.tensor(a), torch.tensor(b))):
        np.testing.assert_array_equal(g.data, w.numpy())


def test_numpy_calls_of_the_other_routines_stay_differentiable():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3))
    ta = td.tensor(a, requires_grad=True)
    for fn in (lambda x: np.union1d(x, x[0]), lambda x: np.intersect1d(x, x[1]),
               lambda x: np.setdiff1d(x, x[0]), lambda x: np.choose(PICK, [x, x * 2, -x]),
               lambda x: np.partition(x, 1, axis=1), lambda x: np.gradient(x, 0.5, axis=1),
               lambda x: np.convolve(x[0], x[1]), lambda x: np.correlate(x[0], x[1], "full"),
               lambda x: np.block([[x, x], [x, x]])):
        out = fn(ta)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, fn(a), rtol=1e-13)
        assert td.gradcheck(fn, [ta])
    with pytest.raises(TypeError, match="numpy.choose.*out="):
        np.choose(PICK, [ta, ta, ta], out=np.empty((2, 3)))


def test_errors_of_the_other_routines():
    x = td.zeros(2, 3)
    with pytest.raises(TypeError, match="choose: a must hold integers"):
        td.choose(td.tensor([0.5]), [x])
    with pytest.raises(ValueError, match=r"choose: a of shape \(2,\) and choices of shapes"):
        td.choose([0, 1], [x, x])
    with pytest.raises(ValueError, match="choose: .*3 choices"):
        td.choose([0, 3, 1], [td.zeros(3)] * 3)
    with pytest.raises(TypeError, match="choose: choices have dtypes"):
        td.choose([0, 1], [td.zeros(2), td.tensor([1, 2])])
    with pytest.raises(TypeError, match="put_along_axis: indices must be integers"):
        td.put_along_axis(x, [[0.5]], 1.0, axis=1)
    with pytest.raises(ValueError, match=r"put_along_axis: indices of shape \(3,\) on shape"):
        td.put_along_axis(x, [0, 1, 2], 1.0, axis=1)
    with pytest.raises(IndexError, match=r"put_along_axis: indices of shape \(2, 1\)"):
        td.put_along_axis(x, [[0], [3]], 1.0, axis=1)
    with pytest.raises(ValueError, match=r"put_along_axis: values of shape \(3,\) do not"):
        td.put_along_axis(x, [[0], [1]], td.zeros(3), axis=1)
    with pytest.raises(TypeError, match="put_along_axis: writes into a Tensor"):
        td.put_along_axis(np.zeros(3), [0], 1.0, axis=0)
    with pytest.raises(ValueError, match="place: mask has 2 elements and the array 6"):
        td.place(x, [True, False], [1.0])
    with pytest.raises(ValueError, match="place: cannot write 1 values from an empty"):
        td.place(td.zeros(2), [True, False], td.zeros(0))
    with pytest.raises(ValueError, match="putmask: cannot write from an empty"):
        td.putmask(td.zeros(2), [True, False], td.zeros(0))
    with pytest.raises(ValueError, match=r"copyto: src of shape \(4,\) or where"):
        td.copyto(x, td.zeros(4))
    with pytest.raises(ValueError, match=r"argpartition: .*kth=5"):
        td.argpartition(td.zeros(3), 5)
    with pytest.raises(ValueError, match="convolve: inputs cannot be empty"):
        td.convolve(td.zeros(0), td.zeros(2))
    with pytest.raises(ValueError, match=r"correlate: needs 1-D inputs, got shapes \(2, 3\)"):
        td.correlate(x, td.zeros(2))
    with pytest.raises(ValueError, match="convolve: mode must be"):
        td.convolve(td.zeros(2), td.zeros(2), "circular")
    with pytest.raises(ValueError, match="block: the lists at arrays nest to different"):
        td.block([x, [x]])
    with pytest.raises(ValueError, match=r"block: arrays\[0\] is an empty list"):
        td.block([[]])
    with pytest.raises(TypeError, match="block: arrays is a tuple"):
        td.block((x, x))
    with pytest.raises(ValueError, match=r"block: blocks of shapes \[\(2, 3\), \(1, 3\)\]"):
        td.block([x, td.zeros(1, 3)])
    with pytest.raises(ValueError, match="gradient: axis 1 has 2 points; edge_order=2"):
        td.gradient(td.zeros(3, 2), edge_order=2)
    with pytest.raises(ValueError, match="gradient: edge_order must be 1 or 2"):
        td.gradient(td.zeros(3), edge_order=3)
    with pytest.raises(ValueError, match="gradient: needs at least one dimension"):
        td.gradient(td.tensor(1.0))
    with pytest.raises(TypeError, match="gradient: 3 spacings given for 2 axes"):
        td.gradient(x, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="gradient: coordinates for axis 1 have 2 points"):
        td.gradient(x, 1.0, [0.0, 1.0])
    assert td.gradient(td.tensor([1, 4, 9])).dtype == np.float32


def test_torch_spellings_of_gradient_raise():
    # torch.gradient(x, spacing=2.0)[0] is the whole derivative; NumPy's [0] one element
    for kwargs in ({"spacing": 2.0}, {"dim": 0}):
        with pytest.raises(TypeError, match="gradient: unexpected .*NumPy's gradient"):
            td.gradient(td.tensor([1.0, 4.0, 9.0]), **kwargs)


def test_convolve_and_correlate_keep_a_nan_or_inf_where_numpy_has_it():
    """The Toeplitz product added 0 * v[j] for the padding: a NaN or inf in one input made
    every output NaN, where NumPy's sums without that term are finite."""
    cases = [(td.convolve, np.convolve, [2.0, 2.0, 5.0, 1.0], [1.5, np.nan], "full"),
             (td.convolve, np.convolve, [1.0, 2.0, 3.0], [1.0, np.inf], "full"),
             (td.correlate, np.correlate, [2.0, 2.0, 5.0, 1.0], [1.0, np.inf, 1.0], "full"),
             (td.correlate, np.correlate, [1.0, np.inf], [2.0, 2.0, 5.0, 1.0], "full"),
             (td.convolve, np.convolve, [1.0, np.nan, 3.0, 4.0], [1.0, 2.0], "same")]
    for ours, theirs, a, v, mode in cases:
        got = ours(td.tensor(np.array(a)), td.tensor(np.array(v)), mode).numpy()
        np.testing.assert_array_equal(got, theirs(a, v, mode))
