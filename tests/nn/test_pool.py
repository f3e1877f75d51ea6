"""Pooling (tinydl.ops.pool and the functional/Module wrappers) against brute-force windows
and torch, plus gradients of every order. The Numba kernels against their NumPy twins are in
tests/kernels/test_pool_kernels.py."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def _brute_pool(x, k, s, p, reduce, pad_value):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=pad_value)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((n, c, ho, wo))
    for a in range(ho):
        for b in range(wo):
            out[:, :, a, b] = reduce(xp[:, :, a * s:a * s + k, b * s:b * s + k], axis=(2, 3))
    return out


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_max_and_avg_pool_match_brute_force(k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    out = F.max_pool2d(tinydl.Tensor(x), k, s, p)
    np.testing.assert_array_equal(out.data, _brute_pool(x, k, s, p, np.max, -np.inf))
    avg = F.avg_pool2d(tinydl.Tensor(x), k, s, p)
    np.testing.assert_allclose(avg.data, _brute_pool(x, k, s, p, np.sum, 0.0) / k ** 2, atol=1e-12)


def test_pool_gradients_of_first_and_second_order():
    rng = np.random.default_rng(1)
    # distinct values: the maximum of every window is unique, so max pooling is differentiable
    x = tinydl.Tensor(rng.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 7.0, requires_grad=True)
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1),
               lambda t: F.max_pool2d(t, 2, 1, dilation=2, ceil_mode=True),
               lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
               lambda t: F.adaptive_avg_pool2d(t, (3, 2))):
        assert tinydl.gradcheck(fn, (x,))
        assert tinydl.gradgradcheck(fn, (x,))


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = tinydl.Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0, 1], [0, 0]]]])


def test_max_pool_propagates_nan_like_torch():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    assert np.isnan(F.max_pool2d(tinydl.Tensor(x), 2).data).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,stride", [(2, 2), (3, 2)])
def test_max_pool_gradient_goes_where_torch_sends_it(kernel, stride, dtype):
    """Ties go to the first offset, NaN windows to the last NaN (torch's rule); float32 takes
    the Numba kernels (the 2x2 fast path for kernel 2), float64 the NumPy twin."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = np.round(rng.standard_normal((2, 3, 7, 8)), 0).astype(dtype)  # many ties
    x.flat[rng.integers(0, x.size, 12)] = np.nan
    x[0, 0, :2, :2] = [[np.nan, 1.0], [np.nan, np.nan]]
    xt = tinydl.Tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, kernel, stride)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(tinydl.Tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.max_pool2d(tx, kernel, stride)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [
    dict(kernel_size=2, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=5, stride=3, padding=2, dilation=2)])
def test_max_pool_windows_of_minus_inf_point_inside_the_input(kw, dtype):
    """A window whose values are all -inf gave an offset in the padding (also -inf): a
    negative or wrong index, and a lost gradient. torch's search starts at the window's
    first position inside the input. float32 runs the Numba kernel, float64 the twin."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 9, 10)).astype(dtype)
    x[rng.random(x.shape) < 0.6] = -np.inf
    x[0, 0] = -np.inf
    xt = tinydl.Tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(xt, return_indices=True, **kw)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(tinydl.Tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_idx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    np.testing.assert_array_equal(idx.data, t_idx.numpy())
    # Overlapping windows add gradients in another order: equal to rounding.
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kw", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=2),
])
def test_max_pool_with_indices_against_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 8))
    out, idx = F.max_pool2d(tinydl.Tensor(x), return_indices=True, **kw)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(out.data, t_out.numpy())
    np.testing.assert_array_equal(idx.data, t_idx.numpy())


@pytest.mark.parametrize("kw", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 1), count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
])
def test_avg_pool_divisors_against_torch(kw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((1, 2, 7, 6))
    ours = F.avg_pool2d(tinydl.Tensor(x), **kw)
    theirs = torch.nn.functional.avg_pool2d(torch.tensor(x), **kw)
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-12)


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 7), (2, None)])
def test_adaptive_avg_pool_against_torch(size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 5))
    ours = nn.AdaptiveAvgPool2d(size)(tinydl.Tensor(x))
    theirs = torch.nn.AdaptiveAvgPool2d(size)(torch.tensor(x))
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-12)


@pytest.mark.parametrize("size", [(3, 2), (4, 7), (2, 5)])
def test_adaptive_avg_pool_keeps_nan_and_inf_local(size):
    """A NaN input reaches only the outputs whose bins hold it, and an inf output gradient only
    its bin's inputs (a product with averaging matrices spread both everywhere: 0 * NaN)."""
    x_data = np.random.default_rng(5).standard_normal((1, 2, 7, 5))
    x_data[0, 0, 1, 2] = np.nan
    x = tinydl.Tensor(x_data, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, size)
    g = np.ones(y.shape)
    g[0, 1, 0, 0] = np.inf
    y.backward(tinydl.Tensor(g))
    rows, cols = [np.arange(n) for n in size]
    r_start, r_end = (rows * 7) // size[0], -((-(rows + 1) * 7) // size[0])
    c_start, c_end = (cols * 5) // size[1], -((-(cols + 1) * 5) // size[1])
    holds = (r_start[:, None] <= 1) & (1 < r_end[:, None]) & (c_start <= 2) & (2 < c_end)
    np.testing.assert_array_equal(np.isnan(y.data[0, 0]), holds)
    assert np.isfinite(y.data[0, 1]).all()
    in_first_bin = np.zeros((7, 5), bool)
    in_first_bin[r_start[0]:r_end[0], c_start[0]:c_end[0]] = True
    np.testing.assert_array_equal(np.isinf(x.grad.data[0, 1]), in_first_bin)
    assert np.isfinite(x.grad.data[0, 0]).all()


def test_adaptive_bins_cover_torch_ranges_by_hand():
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    out = F.adaptive_avg_pool2d(tinydl.Tensor(x), (1, 3))
    # bins [0, 2), [1, 4), [3, 5)
    np.testing.assert_allclose(out.data.ravel(), [0.5, 2.0, 3.5])


def test_pool_modules_and_1d_variants():
    x = tinydl.randn(2, 3, 8, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    seq = tinydl.Tensor(np.arange(6.0).reshape(1, 1, 6))
    np.testing.assert_array_equal(nn.MaxPool1d(2)(seq).data.ravel(), [1, 3, 5])
    np.testing.assert_array_equal(nn.AvgPool1d(3)(seq).data.ravel(), [1, 4])
    out, idx = nn.MaxPool2d(2, return_indices=True)(tinydl.randn(3, 4, 4))
    assert out.shape == (3, 2, 2) and idx.shape == (3, 2, 2)


def test_pool_errors():
    with pytest.raises(ValueError, match="max_pool2d: padding"):
        F.max_pool2d(tinydl.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: expected input"):
        F.avg_pool2d(tinydl.randn(4, 4), 2)
    with pytest.raises(ValueError, match="max_pool2d: kernel"):
        F.max_pool2d(tinydl.randn(1, 1, 2, 2), 3)


def test_float32_max_pool_layer_numba_and_numpy_paths_agree():
    x = np.round(np.random.default_rng(6).standard_normal((4, 3, 9, 9)), 1).astype(np.float32)
    results = []
    for numba in (True, False):
        with tinydl.backends.flags(numba=numba):
            xt = tinydl.Tensor(x, requires_grad=True)
            out = F.max_pool2d(xt, 3, 2, 1)
            out.backward(tinydl.Tensor(np.cos(out.data)))
        results.append((out.data, xt.grad.data))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-6)


def test_pool_functions_keep_no_input_values():
    """Max pooling keeps the winning offsets, sum pooling nothing: backward reads no input
    value and not the output (a non-leaf input may be freed), to second order."""
    from tinydl.ops import pool as opool

    for fn in (opool.MaxPool2d, opool.MaxUnpool2d, opool.SumPool2d, opool.SumPool2dAdjoint):
        assert fn.retain_inputs == () and fn.retain_output is False, fn.__name__
    x = tinydl.Tensor(np.random.default_rng(7).permutation(50).reshape(1, 2, 5, 5) / 7.0,
                      requires_grad=True)
    for pool in (lambda t: F.max_pool2d(t * 2.0, 3, 2, 1), lambda t: F.avg_pool2d(t * 2.0, 2)):
        assert tinydl.gradgradcheck(pool, (x,))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_integer_and_bool_input_is_averaged_in_float32_by_avg_and_adaptive_pool(dtype):
    """avg_pool2d and adaptive_avg_pool2d agree: integer and bool input is averaged as its
    float32 copy (before, the adaptive 1/k weights were cast to the integer dtype and gave
    zeros, bool gave bool, and avg_pool2d summed bools as a logical or)."""
    x = np.array([[[[1, 2, 5, 7], [3, 5, 0, 0], [9, 9, 1, 1], [8, 8, 1, 2]]]]).astype(dtype)
    as_float = tinydl.Tensor(x.astype(np.float32))
    cases = [lambda t: F.avg_pool2d(t, 2),
             lambda t: F.avg_pool2d(t, 3, 1, 1, count_include_pad=False),
             lambda t: nn.AdaptiveAvgPool2d(1)(t), lambda t: nn.AdaptiveAvgPool2d(2)(t),
             lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: F.adaptive_avg_pool2d(t, (2, 4))]
    for i, pool in enumerate(cases):
        out = pool(tinydl.Tensor(x))
        assert out.dtype == np.float32, (dtype, i)
        np.testing.assert_array_equal(out.data, pool(as_float).data, err_msg=f"case {i}")


def test_along_axis_refuses_integer_input_instead_of_truncating_its_weights():
    from tinydl.ops.linalg import AlongAxis

    with pytest.raises(TypeError, match="AlongAxis: x must be floating point, got dtype int64"):
        AlongAxis.apply(tinydl.Tensor(np.arange(4)), 0, np.full((2, 4), 0.25))


def test_adaptive_avg_pool_refuses_empty_planes_and_malformed_output_size_as_torch():
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: .*non-zero .*\(1, 1, 0, 4\)"):
        nn.AdaptiveAvgPool2d(2)(tinydl.Tensor(np.zeros((1, 1, 0, 4), np.float32)))
    with pytest.raises(ValueError, match="non-zero"):
        F.adaptive_avg_pool2d(tinydl.Tensor(np.zeros((2, 4, 0), np.float32)), 2)
    # An empty batch or channel axis is fine, as in torch.
    assert F.adaptive_avg_pool2d(tinydl.zeros(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)
    assert F.adaptive_avg_pool2d(tinydl.zeros(1, 0, 4, 4), 2).shape == (1, 0, 2, 2)
    x = tinydl.zeros(1, 1, 4, 4)
    for bad in [(2,), (2, 2, 2), None, 2.0, (2.0, 3), (True, 2)]:
        with pytest.raises(TypeError, match="adaptive_avg_pool2d: output_size must be"):
            nn.AdaptiveAvgPool2d(bad)(x)
    assert F.adaptive_avg_pool2d(x, [3, None]).shape == (1, 1, 3, 4)
    assert F.adaptive_avg_pool2d(x, (None, None)).shape == (1, 1, 4, 4)
