"""Tensor construction, dtype rules, conversions, repr, factories and seeding."""
import warnings

import numpy as np
import pytest

import tinydl as td


def test_python_data_follows_torch_tensor_dtypes():
    assert td.Tensor(1.5).dtype == np.float32
    assert td.Tensor([1, 2, 3]).dtype == np.int64
    assert td.Tensor(3).dtype == np.int64
    assert td.tensor([[1.0, 2.0]]).dtype == np.float32
    assert td.tensor([1, 2.5]).dtype == np.float32
    assert td.Tensor([True, False]).dtype == np.bool_


def test_numpy_arrays_keep_their_dtype_and_dtype_overrides():
    assert td.Tensor(np.zeros(2)).dtype == np.float64
    assert td.Tensor(np.zeros(2, dtype=np.int64)).dtype == np.int64
    assert td.Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert td.Tensor(np.zeros(2), dtype="float32").dtype == np.float32


def test_construction_copies_like_torch_tensor():
    a = np.zeros(3)
    t = td.Tensor(a)
    a[0] = 5
    assert t.data[0] == 0


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        td.Tensor(np.arange(3), requires_grad=True)


def test_array_protocol_and_attributes():
    t = td.Tensor(np.arange(6.0).reshape(2, 3))
    assert np.asarray(t) is t.data
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert t.T.shape == (3, 2)
    assert td.Tensor([3.0]).item() == 3.0
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]


def test_numpy_binary_operators_defer_to_tensor():
    t = td.Tensor(np.ones(2), requires_grad=True)
    out = np.array([2.0, 3.0]) * t
    assert isinstance(out, td.Tensor) and out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.data, [2.0, 3.0])


def test_repr_shows_data_dtype_and_op():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], dtype=float32, requires_grad=True)"
    assert "grad_fn=<Multiply>" in repr(x * 2)
    assert "dtype=float64" in repr(td.Tensor(np.zeros(1)))


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = td.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    np.testing.assert_array_equal((x == 2.0).data, [False, True, False])


def test_factories():
    assert td.zeros(2, 3).shape == (2, 3) and td.zeros((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(td.ones(2).data, [1, 1])
    np.testing.assert_array_equal(td.full((2,), 7.0).data, [7, 7])
    np.testing.assert_array_equal(td.eye(2).data, np.eye(2))
    assert td.arange(5).dtype == np.int64 and td.arange(0.0, 1.0, 0.25).dtype == np.float32
    x = td.Tensor(np.zeros((2, 2)))
    assert td.zeros_like(x).dtype == np.float64 and td.ones_like(x).shape == (2, 2)
    assert td.randn(3, 4, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="zeros"):
        td.zeros(-1)


def test_manual_seed_makes_randomness_reproducible():
    td.manual_seed(123)
    a = td.randn(5).data.copy(), td.rand(3).data.copy()
    td.manual_seed(123)
    b = td.randn(5).data, td.rand(3).data
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert td.random.get_generator() is td.random.get_generator()
    with pytest.raises(ValueError, match="manual_seed"):
        td.manual_seed(-1)


def test_item_of_many_elements_is_an_error():
    with pytest.raises(ValueError, match="one-element"):
        td.zeros(3).item()


# ---------------------------------------------------------------- found by a differential sweep
@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 63 + 5, [2 ** 64 - 1, 1], [[2 ** 63], [1]]])
def test_python_ints_past_int64_raise_as_in_torch(data):
    """They wrapped to negative int64 values or became float32 silently."""
    with pytest.raises(OverflowError, match="does not fit int64"):
        td.Tensor(data)
    assert td.Tensor([2 ** 63, 1.5]).dtype == np.float32  # a float list: floats, as torch


def test_numpy_arrays_inside_lists_decide_the_dtype_as_in_torch():
    a, b = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    t = td.Tensor([a, b])
    assert t.dtype == np.float64 and t.data[0, 0] == 0.1  # was float32, 0.1 off by 1.5e-9
    assert td.Tensor([np.array([1, 2], np.int32)]).dtype == np.int32
    assert td.Tensor([np.array([1.0], np.float16)]).dtype == np.float16
    assert td.Tensor([np.float32(1), 2.5]).dtype == np.float32
    assert td.Tensor([np.int32(1), 5]).dtype == np.int64
    assert td.nn.Parameter([a, b]).dtype == np.float64
    torch = pytest.importorskip("torch")
    assert torch.tensor(np.stack([a, b])).dtype == torch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: a list of arrays is slow
        assert torch.tensor([np.array([1, 2], np.int32)]).dtype == torch.int32


def test_copies_that_must_not_alias():
    x = td.Tensor([1.0, 2.0], requires_grad=True)
    for y in (x.to(x.dtype, copy=True), x.to(copy=True), x.astype(np.float32)):
        assert y is not x and not np.shares_memory(y.data, x.data)
        y.sum().backward()  # still in the graph
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert x.astype(np.float32, copy=False) is x and x.to(np.float32) is x  # torch's to()


def test_float16_mean_accumulates_wider():
    h = np.array([60000, 60000], np.float16)
    for axis in (None, 0):
        m = td.Tensor(h).mean(axis=axis)
        assert m.dtype == np.float16 and m.item() == np.mean(h)  # was inf


def test_every_reduction_takes_axis_0_of_a_0d_tensor_as_torch():
    z = td.Tensor(3.0)
    assert z.all(axis=0).item() and z.any(axis=0).item()
    assert z.argmax(axis=0).item() == 0 and z.argmin(dim=-1).item() == 0
    assert z.count_nonzero(axis=0).item() == 1
    with pytest.raises(IndexError, match="argmax"):
        z.argmax(axis=1)


def test_comparisons_name_the_operator_and_shapes():
    with pytest.raises(ValueError, match=r"tensor < other: shapes \(2,\) and \(3,\)"):
        td.Tensor([1.0, 2.0]) < td.Tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="tensor == other: cannot compare a float32 tensor"):
        td.Tensor([1.0]) == "a"


def test_join_takes_lists_and_numbers_as_numpy_does():
    # They raised a bare AttributeError ('list' object has no attribute 'dtype').
    np.testing.assert_array_equal(td.concatenate([td.Tensor([1.0]), [2.0]]).data, [1, 2])
    s = td.stack([td.Tensor(1.0, requires_grad=True), 2.0])
    assert s.dtype == np.float32 and s.shape == (2,) and s.requires_grad


def test_repr_of_an_empty_tensor_shows_its_shape():
    assert repr(td.Tensor(np.zeros((0, 3)))) == "tensor([], size=(0, 3), dtype=float64)"
    assert repr(td.Tensor(np.zeros(0))) == "tensor([], dtype=float64)"


def test_requires_grad_assignment_is_checked_as_requires_grad_():
    """``y.requires_grad = False`` on a computed tensor cut it out of the graph silently (a
    wrong x.grad); an integer tensor took ``requires_grad = True``. torch refuses both."""
    x = td.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="requires_grad: only a leaf.*detach"):
        y.requires_grad = False
    y.requires_grad = True  # a computed tensor already requires grad: no change
    (y * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0, 12.0])
    i = td.tensor([1, 2])
    with pytest.raises(TypeError, match="requires_grad: only floating-point.*int64"):
        i.requires_grad = True
    i.requires_grad = False
    leaf = td.tensor([1.0])
    with pytest.raises(TypeError, match="requires_grad: requires_grad must be a bool, got int"):
        leaf.requires_grad = 1  # as torch (RuntimeError there): a bool only
    leaf.requires_grad = np.bool_(True)
    assert leaf.requires_grad is True


def test_grad_assignment_checks_type_shape_and_dtype():
    """A (2, 3) .grad on a (3,) tensor was accepted and broadcast into, a float32 or int64
    .grad on a float64 tensor kept, an ndarray crashed the next backward; torch refuses."""
    x = td.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\.grad.*shape \(2, 3\).*shape \(3,\)"):
        x.grad = td.zeros(2, 3, dtype=np.float64)
    for dtype in (np.float32, np.int64):
        with pytest.raises(RuntimeError, match=rf"\.grad.*dtype {np.dtype(dtype)}.*float64"):
            x.grad = td.zeros(3, dtype=dtype)
    with pytest.raises(TypeError, match=r"\.grad.*Tensor or None.*ndarray"):
        x.grad = np.zeros(3)
    with pytest.raises(RuntimeError, match="its own gradient"):
        x.grad = x
    assert x.grad is None
    x.grad = td.ones(3, dtype=np.float64)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 3.0])
    x.grad = None
    assert x.grad is None


@pytest.mark.parametrize("call", [lambda: td.zeros(2, 3).reshape(4, 4),
                                  lambda: td.zeros(2, 3).view(4, 4),
                                  lambda: td.zeros(2, 3).permute(0, 0),
                                  lambda: td.nn.Linear(4, 2)(td.zeros(2, 3)),
                                  lambda: td.nn.Conv2d(3, 2, 3)(td.zeros(1, 4, 5, 5))])
def test_common_shape_errors_are_also_runtime_errors_as_the_readme_says(call):
    with pytest.raises(RuntimeError):  # torch's except clause (they were plain ValueErrors)
        call()
    with pytest.raises(ValueError):  # NumPy's
        call()


def test_tensors_inside_lists_decide_the_dtype_as_arrays_do():
    """0-d float64 Tensors in a list were read as Python floats and rounded to float32
    (0.1 came back 0.10000000149); torch keeps float64, as tinydl does for float64 arrays."""
    t = td.tensor([td.tensor(0.1, dtype="float64"), td.tensor(0.2, dtype="float64")])
    assert t.dtype == np.float64 and t.tolist() == [0.1, 0.2]
    assert td.tensor([td.tensor(1, dtype="int32"), td.tensor(2, dtype="int32")]).dtype == np.int32
    assert td.tensor([td.tensor(0.5), 1.0]).dtype == np.float32
