"""Tensor construction, dtype rules, conversions, repr, factories and seeding."""
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
