"""The ReLU kernels (``tinydl.kernels.activation``) against their NumPy twins in
``tinydl.ops.activation``: bit for bit, through ``tinydl.relu`` forward and backward, with
the edge values (NaN, infinities, signed zeros) and the layouts the kernels refuse."""
import numpy as np
import pytest

import tinydl
from tinydl.kernels import activation as kact
from tinydl.ops.activation import _relu_array

EDGES = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.4e38, -2.5],
                 np.float32)


def _relu_and_grad(x, g, numba):
    t = tinydl.Tensor(x, requires_grad=True)
    with tinydl.backends.flags(numba=numba):
        y = tinydl.relu(t)
        y.backward(tinydl.Tensor(g))
    return y.data, t.grad.data


@pytest.mark.parametrize("shape", [(), (0,), (10,), (64, 6, 24, 24), (3, 70001)])
def test_relu_kernels_match_numpy_twins_exactly(monkeypatch, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    k = EDGES.size
    if x.size >= 2 * k:
        flat_x, flat_g = x.reshape(-1), g.reshape(-1)
        flat_x[:k], flat_g[:k] = EDGES, np.inf  # shut gates give 0, not inf * 0
        flat_x[k:2 * k], flat_g[k:2 * k] = 1, EDGES  # open gates pass the edge values
    calls = []
    for name in ("relu_kernel", "relu_grad_kernel"):
        kernel = getattr(kact, name)
        monkeypatch.setattr(kact, name, lambda *a, kernel=kernel: calls.append(kernel(*a)))
    fused = _relu_and_grad(x, g, True)
    assert len(calls) == 2  # both kernels ran: the comparison below is not twin against twin
    calls.clear()
    twin = _relu_and_grad(x, g, False)
    assert not calls
    for ours, theirs in zip(fused, twin):
        assert ours.dtype == np.float32 and ours.shape == shape
        np.testing.assert_array_equal(ours.view(np.int32), theirs.view(np.int32))  # bits


def test_relu_kernel_values_at_the_edges():
    y, grad = _relu_and_grad(EDGES, np.full(EDGES.shape, 7, np.float32), True)
    want = np.array([np.nan, np.nan, np.inf, 0, 0, 0, 1e-45, 0, 3.4e38, 0], np.float32)
    np.testing.assert_array_equal(y, want)
    assert not np.signbit(y[3:8]).any()  # +0.0, as np.maximum(x, 0) gives
    np.testing.assert_array_equal(grad, [7, 7, 7, 0, 0, 0, 7, 0, 7, 0])  # NaN passes, as torch


def test_relu_kernels_leave_other_layouts_and_dtypes_to_the_twins(monkeypatch):
    calls = []
    for name in ("relu_kernel", "relu_grad_kernel"):
        monkeypatch.setattr(kact, name, lambda *a, name=name: calls.append(name))
    base = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    with tinydl.backends.flags(numba=True):  # (also where TINYDL_NUMBA=0 turned it off)
        for x in (base.T, base[:, ::2]):  # the forward of a transposed or strided view
            np.testing.assert_array_equal(_relu_array(x), np.maximum(x, 0))
        t = tinydl.Tensor(base.astype(np.float64), requires_grad=True)  # float64, both ways
        y = tinydl.relu(t)
        y.backward(tinydl.ones_like(y))  # (a contiguous gradient: not sum()'s broadcast one)
    np.testing.assert_array_equal(t.grad.data, base > 0)
    assert not calls
