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


@pytest.mark.parametrize("shape", [(0, 3, 6, 6), (2, 0, 6, 6)])
@pytest.mark.parametrize("numba", [True, False])
def test_max_pool_of_no_images_or_no_channels_has_empty_gradients(shape, numba):
    """The 2x2 kernels and the general ones alike: an empty batch or no channels gives empty
    outputs and gradients of the input's shape (a flattening with -1 once failed there)."""
    for k, s, p in [(2, 2, 0), (3, 1, 1)]:
        with tinydl.backends.flags(numba=numba):
            x = tinydl.Tensor(np.zeros(shape, np.float32), requires_grad=True)
            out = F.max_pool2d(x, k, s, padding=p)
            out.sum().backward()
        expected = shape[:2] + ((3, 3) if k == 2 else (6, 6))
        assert out.shape == expected and x.grad.shape == shape


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


# ----------------------------------------------------------------------------- adaptive max
# pooling, adaptive average pooling in 1-D and 3-D, LP pooling, *_with_indices, max_unpool1d/3d
def _against_torch(ours, theirs, x, seed=0, rtol=1e-12):
    """ours(Tensor) and theirs(torch tensor): every output (values and indices) and the input
    gradient of sum(g * first output) equal to torch's (NaN where torch has NaN)."""
    torch = pytest.importorskip("torch")
    xo = tinydl.Tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, t_out = ours(xo), theirs(xt)
    out = out if isinstance(out, tuple) else (out,)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    assert len(out) == len(t_out)
    for k, (o, t) in enumerate(zip(out, t_out)):
        t = t.detach().numpy()
        assert o.shape == t.shape and o.dtype == t.dtype, (k, o.shape, t.shape, o.dtype)
        np.testing.assert_allclose(o.data, t, rtol=rtol, atol=1e-12, err_msg=f"output {k}")
    g = np.random.default_rng(seed).standard_normal(out[0].shape)
    out[0].backward(tinydl.Tensor(g))
    t_out[0].backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=rtol, atol=1e-12,
                               err_msg="input gradient")


def _ties_nan_and_minus_inf(shape, seed):
    """Values rounded to whole numbers (ties in most bins), a few NaNs (two in one bin) and
    -inf, and one plane of -inf throughout."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape), 0)
    x.flat[rng.integers(0, x.size, 4)] = np.nan
    x.reshape(-1)[:2] = np.nan
    x.flat[rng.integers(0, x.size, 6)] = -np.inf
    x.reshape((-1,) + shape[-1:])[-1] = -np.inf
    return x


ADAPTIVE_CASES = [  # (n, input shape, output_size): divisible or not, more outputs than
    (1, (2, 3, 7), 3), (1, (3, 7), (10,)), (1, (2, 2, 6), 1),  # inputs, None, unbatched
    (2, (2, 3, 7, 5), (3, 2)), (2, (2, 5, 4), (2, None)), (2, (1, 2, 3, 4), (5, 7)),
    (2, (1, 2, 6, 4), 1), (3, (1, 2, 5, 4, 6), (2, None, 4)), (3, (2, 3, 4, 5), (3, 2, 1)),
    (3, (1, 1, 3, 2, 3), (4, 5, 3)),
]


@pytest.mark.parametrize("n, shape, size", ADAPTIVE_CASES)
def test_adaptive_max_pool_values_indices_and_gradient_as_torch(n, shape, size):
    """Ties go to the first element of the bin in row-major order, a NaN wins (the last
    one), a bin of -inf gives its first element: torch's scan. Indices are flat into the
    input's plane (volume); the gradient reaches each bin's winner, summed where bins
    overlap."""
    torch = pytest.importorskip("torch")
    name = f"adaptive_max_pool{n}d"
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    x = _ties_nan_and_minus_inf(shape, seed=len(ADAPTIVE_CASES) * n + len(shape))
    _against_torch(lambda t: ours(t, size, return_indices=True),
                   lambda t: theirs(t, size, return_indices=True), x)
    _against_torch(lambda t: getattr(F, name + "_with_indices")(t, size),
                   lambda t: getattr(torch.nn.functional, name + "_with_indices")(t, size), x)
    module = getattr(nn, f"AdaptiveMaxPool{n}d")(size)
    torch_module = getattr(torch.nn, f"AdaptiveMaxPool{n}d")(size)
    assert repr(module) == repr(torch_module)
    _against_torch(module, torch_module, np.random.default_rng(0).standard_normal(shape))


@pytest.mark.parametrize("n, shape, size", [c for c in ADAPTIVE_CASES if c[0] != 2])
def test_adaptive_avg_pool_1d_and_3d_as_torch(n, shape, size):
    torch = pytest.importorskip("torch")
    module = getattr(nn, f"AdaptiveAvgPool{n}d")(size)
    torch_module = getattr(torch.nn, f"AdaptiveAvgPool{n}d")(size)
    assert repr(module) == repr(torch_module)
    _against_torch(module, torch_module, np.random.default_rng(1).standard_normal(shape))


def test_adaptive_pooling_refuses_what_torch_refuses():
    x = tinydl.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"adaptive_max_pool2d: expected input of shape "
                                         r"\(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"):
        F.adaptive_max_pool2d(tinydl.zeros(4, 4), 2)
    with pytest.raises(ValueError, match=r"adaptive_max_pool3d: expected input with non-zero "
                                         r"depth, height and width, got shape \(1, 2, 0, 3, 3\)"):
        nn.AdaptiveMaxPool3d(2)(tinydl.zeros(1, 2, 0, 3, 3))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool1d: expected input with non-zero "
                                         r"length"):
        F.adaptive_avg_pool1d(tinydl.zeros(2, 3, 0), 2)
    for bad in [None, (None,), (2, 2), 2.0]:  # torch's 1-d pools take no None
        with pytest.raises(TypeError, match=r"adaptive_max_pool1d: output_size must be an int "
                                            r"or a tuple of 1 int"):
            F.adaptive_max_pool1d(tinydl.zeros(1, 2, 4), bad)
    with pytest.raises(TypeError, match=r"adaptive_max_pool2d: output_size must be an int or a "
                                        r"pair"):
        F.adaptive_max_pool2d(x, (2, 2, 2))
    with pytest.raises(ValueError, match="adaptive_max_pool2d: output_size must be positive"):
        F.adaptive_max_pool2d(x, (0, 2))
    # an empty batch pools to an empty output, as in torch; integers pool as integers
    out, idx = F.adaptive_max_pool3d(tinydl.zeros(0, 2, 3, 3, 3), 2, return_indices=True)
    assert out.shape == idx.shape == (0, 2, 2, 2, 2) and idx.dtype == np.int64
    ints = F.adaptive_max_pool1d(tinydl.Tensor(np.array([[[3, 1, 4, 1, 5]]])), 2)
    np.testing.assert_array_equal(ints.data, [[[4, 5]]])


def test_adaptive_max_pool_second_derivative_through_overlapping_bins():
    x = tinydl.Tensor(np.random.default_rng(2).permutation(60).reshape(1, 2, 5, 6) / 7.0,
                      requires_grad=True)
    for fn in (lambda t: F.adaptive_max_pool2d(t * t, (3, 4)),
               lambda t: F.adaptive_max_pool1d(t.reshape((2, 30)) ** 3, 7)):
        assert tinydl.gradcheck(fn, (x,))
        assert tinydl.gradgradcheck(fn, (x,))


LP_CASES = [(1, (2, 3, 9), dict(kernel_size=3)), (1, (3, 8), dict(kernel_size=2, stride=1)),
            (2, (2, 2, 7, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),
            (2, (2, 5, 6), dict(kernel_size=(2, 3), stride=(1, 2))),
            (3, (1, 2, 5, 4, 6), dict(kernel_size=2, stride=(1, 2, 2), ceil_mode=True)),
            (3, (2, 4, 4, 3), dict(kernel_size=(3, 2, 2)))]


@pytest.mark.parametrize("p", [1, 2, 3, 1.5, 0.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("n, shape, kw", LP_CASES)
def test_lp_pool_values_and_gradients_as_torch(n, shape, kw, p):
    """Including windows of zeros: torch's sign(m) * relu(|m|) gives them gradient 0 for
    p >= 1 and NaN for p < 1 (x^p's infinite slope at 0 times 0), and so do we; negative
    sums of odd p are NaN in both. Fractional p gets |x| (x^1.5 of a negative x is NaN)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(shape)
    if p in (1.5, 0.5):
        x = np.abs(x)
    x[..., :2] = 0.0  # whole windows of zeros, and zeros beside non-zeros
    name = f"lp_pool{n}d"
    module = getattr(nn, f"LPPool{n}d")(p, **kw)
    torch_module = getattr(torch.nn, f"LPPool{n}d")(p, **kw)
    assert repr(module) == repr(torch_module)
    with np.errstate(all="ignore"):  # (NumPy warns where torch's NaN and inf come from)
        _against_torch(module, torch_module, x, rtol=1e-10)
        _against_torch(lambda t: getattr(F, name)(t, p, **kw),
                       lambda t: getattr(torch.nn.functional, name)(t, p, **kw), x, rtol=1e-10)


def test_lp_pool_refuses_what_torch_refuses():
    x = tinydl.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="lp_pool2d: norm_type must be a non-zero number"):
        F.lp_pool2d(x, 0, 2)  # torch: ZeroDivisionError
    with pytest.raises(ValueError, match=r"lp_pool2d: kernel \(5, 5\) does not fit the input "
                                         r"of shape \(1, 1, 4, 4\)"):
        F.lp_pool2d(x, 2, 5)
    with pytest.raises(ValueError, match=r"lp_pool1d: expected input of shape \(N, C, L\)"):
        nn.LPPool1d(2, 2)(tinydl.zeros(4))
    with pytest.raises(TypeError, match="lp_pool3d: kernel_size must be"):
        F.lp_pool3d(tinydl.zeros(1, 1, 4, 4, 4), 2, (2, 2))
    out = F.lp_pool2d(tinydl.Tensor(np.ones((1, 1, 4, 4), np.int64)), 2, 2)
    assert out.dtype == np.float32  # as torch
    np.testing.assert_array_equal(out.data, 2.0)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0),
                                     dilation=(2, 1, 1)),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
@pytest.mark.parametrize("shape", [(2, 2, 6, 5, 7), (2, 5, 4, 6)])
def test_max_pool3d_return_indices_as_torch(kw, shape):
    """Flat (d*H + h)*W + w indices with ties, NaN, -inf and windows reaching into the depth
    padding; also through MaxPool3d and the *_with_indices name."""
    torch = pytest.importorskip("torch")
    x = _ties_nan_and_minus_inf(shape, seed=4)
    x[..., 0, :, :] = -np.inf  # windows whose only depths inside x are -inf
    _against_torch(lambda t: F.max_pool3d(t, return_indices=True, **kw),
                   lambda t: torch.nn.functional.max_pool3d(t, return_indices=True, **kw), x)
    _against_torch(lambda t: F.max_pool3d_with_indices(t, **kw),
                   lambda t: torch.nn.functional.max_pool3d_with_indices(t, **kw), x)
    _against_torch(nn.MaxPool3d(return_indices=True, **kw),
                   torch.nn.MaxPool3d(return_indices=True, **kw), x)


def test_max_pool_with_indices_names_return_both_whatever_return_indices_says():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 6))
    for n, shape in ((1, (2, 18, 6)), (2, x.shape), (3, x.shape)):
        name = f"max_pool{n}d_with_indices"
        _against_torch(lambda t: getattr(F, name)(t, 2, return_indices=False),
                       lambda t: getattr(torch.nn.functional, name)(t, 2, return_indices=False),
                       x.reshape(shape))


@pytest.mark.parametrize("n, shape, kw, output_size", [
    (1, (2, 3, 9), dict(kernel_size=2), None), (1, (3, 9), dict(kernel_size=3, stride=2,
                                                                 padding=1), (9,)),
    (1, (2, 3, 9), dict(kernel_size=2), (2, 3, 9)),
    (3, (2, 2, 6, 5, 4), dict(kernel_size=2), (6, 5, 4)),
    (3, (2, 5, 6, 4), dict(kernel_size=3, stride=2, padding=1), (5, 6, 4)),
    (3, (1, 2, 4, 4, 4), dict(kernel_size=(2, 1, 2)), None),
])
def test_max_unpool_1d_and_3d_invert_max_pool_as_torch(n, shape, kw, output_size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal(shape)
    pool = getattr(torch.nn.functional, f"max_pool{n}d")
    pooled, idx = pool(torch.tensor(x), return_indices=True, **kw)
    ours_idx = getattr(F, f"max_pool{n}d")(tinydl.Tensor(x), return_indices=True, **kw)[1]
    np.testing.assert_array_equal(ours_idx.data, idx.numpy())
    unpool = getattr(nn, f"MaxUnpool{n}d")(**kw)
    torch_unpool = getattr(torch.nn, f"MaxUnpool{n}d")(**kw)
    assert "kernel_size" in repr(unpool)
    _against_torch(lambda t: unpool(t, ours_idx, output_size),
                   lambda t: torch_unpool(t, idx, output_size), pooled.numpy())


@pytest.mark.parametrize("n, shape", [(1, (2, 2, 6)), (3, (1, 1, 2, 4, 2))])
def test_max_pool_and_unpool_1d_3d_end_to_end_to_second_order(n, shape):
    size = int(np.prod(shape))
    v = tinydl.Tensor(np.random.default_rng(7).permutation(size).reshape(shape) / 5.0,
                      requires_grad=True)  # distinct values: every window's maximum is unique
    unpool = getattr(nn, f"MaxUnpool{n}d")(2)
    fn = lambda t: unpool(*getattr(F, f"max_pool{n}d")(t * t, 2, return_indices=True))
    assert tinydl.gradcheck(fn, (v,))
    assert tinydl.gradgradcheck(fn, (v,))


def test_max_unpool_errors_name_the_op():
    x, idx = tinydl.zeros(1, 1, 2), tinydl.Tensor(np.array([[[0, 3]]]))
    with pytest.raises(ValueError, match=r"max_unpool1d: indices must be in \[0, 4\)"):
        F.max_unpool1d(x, idx + 2, 2)
    with pytest.raises(ValueError, match=r"max_unpool1d: output_size must have 1 or 3 "
                                         r"elements"):
        F.max_unpool1d(x, idx, 2, output_size=(4, 4))
    with pytest.raises(TypeError, match=r"max_unpool1d: output_size must be a sequence"):
        F.max_unpool1d(x, idx, 2, output_size=4)  # torch: TypeError too
    with pytest.raises(ValueError, match=r"max_unpool3d: output_size \(9, 4, 4\) must be "
                                         r"strictly between"):
        F.max_unpool3d(tinydl.zeros(1, 2, 2, 2), tinydl.Tensor(np.zeros((1, 2, 2, 2), np.int64)),
                       2, output_size=(9, 4, 4))
    with pytest.raises(ValueError, match=r"max_unpool3d: expected input of shape "
                                         r"\(N, C, D, H, W\) or \(C, D, H, W\)"):
        F.max_unpool3d(tinydl.zeros(2, 2, 2), tinydl.Tensor(np.zeros((2, 2, 2), np.int64)), 2)


_POOL_SHAPES = {1: (2, 3, 9), 2: (2, 3, 7, 6), 3: (1, 2, 5, 4, 6)}


@pytest.mark.parametrize("name, kw", [
    ("max_pool1d", dict(kernel_size=np.int64(3), stride=np.int32(2), padding=np.int64(1),
                        dilation=np.int64(1))),
    ("avg_pool1d", dict(kernel_size=np.int64(3), stride=np.int32(2), padding=np.int64(1))),
    ("max_pool2d", dict(kernel_size=2, stride=np.int64(2))),
    ("max_pool2d", dict(kernel_size=np.int64(3), stride=(np.int32(1), np.int64(2)),
                        padding=np.int64(1), dilation=np.int32(2))),
    ("avg_pool2d", dict(kernel_size=2, stride=np.int32(2))),
    ("avg_pool2d", dict(kernel_size=np.int64(3), stride=np.int64(2), padding=np.int32(1))),
    ("max_pool3d", dict(kernel_size=2, stride=np.int64(2))),
    ("max_pool3d", dict(kernel_size=np.int32(3), stride=np.int64(1), padding=np.int64(1),
                        dilation=np.int64(1))),
    ("avg_pool3d", dict(kernel_size=2, stride=np.int64(2))),
    ("avg_pool3d", dict(kernel_size=np.int64(3), stride=np.int32(2), padding=np.int64(1))),
    ("lp_pool1d", dict(norm_type=2, kernel_size=np.int64(3), stride=np.int64(2))),
    ("lp_pool2d", dict(norm_type=2, kernel_size=np.int64(2), stride=np.int64(2))),
    ("lp_pool3d", dict(norm_type=2, kernel_size=2, stride=np.int32(1))),
])
def test_pools_take_numpy_integer_sizes_as_torch(name, kw):
    """A NumPy integer stride made ``stride == ()`` an empty array, whose truth value NumPy
    refuses: a bare "truth value of an empty array is ambiguous" from every 2-D and 3-D pool."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal(_POOL_SHAPES[int(name[-2])])
    _against_torch(lambda t: getattr(F, name)(t, **kw),
                   lambda t: getattr(torch.nn.functional, name)(t, **kw), x)


@pytest.mark.parametrize("name, kw", [
    ("max_pool2d", dict(kernel_size=(2,))),
    ("max_pool2d", dict(kernel_size=[3], stride=(1,), padding=(1,), dilation=(2,))),
    ("max_pool2d", dict(kernel_size=2, stride=[])),
    ("max_pool2d", dict(kernel_size=(3, 2), stride=())),
    ("avg_pool2d", dict(kernel_size=(2,), stride=[1], padding=(1,))),
    ("avg_pool2d", dict(kernel_size=(3, 2), stride=[])),
    ("max_pool3d", dict(kernel_size=(2,), stride=(1,), padding=(1,), dilation=(1,))),
    ("max_pool3d", dict(kernel_size=2, stride=[])),
    ("avg_pool3d", dict(kernel_size=(2,))),
    ("avg_pool3d", dict(kernel_size=2, stride=[1], padding=(1,))),
    ("avg_pool3d", dict(kernel_size=(2, 3, 2), stride=[])),
    ("max_pool1d", dict(kernel_size=2, stride=[])),
    ("avg_pool1d", dict(kernel_size=2, stride=())),
    ("lp_pool1d", dict(norm_type=2, kernel_size=2, stride=[])),
    ("lp_pool2d", dict(norm_type=2, kernel_size=2, stride=(1,))),
    ("lp_pool3d", dict(norm_type=2, kernel_size=2, stride=[])),
])
def test_pools_take_torch_one_element_sizes_and_empty_stride(name, kw):
    """torch's pools take a 1-element tuple or list for all axes, and ``stride=[]`` or ``()``
    (its own default spelling) for the kernel size; tinydl raised TypeError."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal(_POOL_SHAPES[int(name[-2])])
    _against_torch(lambda t: getattr(F, name)(t, **kw),
                   lambda t: getattr(torch.nn.functional, name)(t, **kw), x)


def test_lp_pool_2d_3d_refuse_a_one_element_kernel_as_torch():
    """torch's lp_pool2d/3d unpack kernel_size into 2 or 3 sizes, so (2,) is an error there,
    though the pools they run take it."""
    with pytest.raises(TypeError, match=r"lp_pool2d: kernel_size must be an int or a tuple "
                                        r"of 2 ints, got \(2,\)"):
        F.lp_pool2d(tinydl.zeros(1, 1, 4, 4), 2, (2,))
    with pytest.raises(TypeError, match=r"lp_pool3d: kernel_size must be an int or a tuple "
                                        r"of 3 ints, got \[2\]"):
        F.lp_pool3d(tinydl.zeros(1, 1, 4, 4, 4), 2, [2])


@pytest.mark.parametrize("p", [2, 1.5, float("inf")])
@pytest.mark.parametrize("name, shape, kernel, stride", [
    ("lp_pool2d", (1, 1, 2, 6), (3, 2), (2, 1)),  # the report's case: torch gives (1, 1, 1, 5)
    ("lp_pool2d", (2, 3, 5, 2), (2, 3), 2),
    ("lp_pool1d", (2, 3, 2), 3, 2),
    ("lp_pool1d", (2, 3, 5), 3, 4),
])
def test_lp_pool_ceil_mode_takes_a_kernel_longer_than_the_input_as_torch(name, shape, kernel,
                                                                         stride, p):
    """It raised "kernel does not fit" where avg_pool and max_pool (and torch's lp_pool) make
    a window cut short by the edge; the sum over it is scaled up to a full window's."""
    x = np.abs(np.random.default_rng(7).standard_normal(shape)) + 0.1
    out = getattr(F, name)(tinydl.Tensor(x), p, kernel, stride, ceil_mode=True)
    if shape == (1, 1, 2, 6):
        assert out.shape == (1, 1, 1, 5)
    torch = pytest.importorskip("torch")
    _against_torch(lambda t: getattr(F, name)(t, p, kernel, stride, ceil_mode=True),
                   lambda t: getattr(torch.nn.functional, name)(t, p, kernel, stride,
                                                                 ceil_mode=True), x, rtol=1e-10)


def test_lp_pool3d_ceil_mode_kernel_longer_than_the_input_as_torch():
    """Along every axis lp_pool3d runs max_pool3d for p = inf, which takes such a kernel, and
    avg_pool3d otherwise, which refuses it (so does torch's); avg_pool3d had let one through
    along H and W (its avg_pool2d of each depth slice takes it)."""
    x = np.abs(np.random.default_rng(8).standard_normal((1, 2, 4, 2, 5))) + 0.1
    calls = [("lp_pool3d", lambda f, t: f.lp_pool3d(t, 2, (2, 3, 2), 2, ceil_mode=True)),
             ("avg_pool3d", lambda f, t: f.avg_pool3d(t, (2, 3, 2), 2, ceil_mode=True)),
             ("avg_pool3d", lambda f, t: f.avg_pool3d(t, (2, 3, 2), 1, padding=1))]
    for name, call in calls:
        with pytest.raises(ValueError, match=name + r": kernel \(2, 3, 2\) does not fit"):
            call(F, tinydl.Tensor(x))
    torch = pytest.importorskip("torch")
    for _, call in calls:
        with pytest.raises(RuntimeError, match="smaller than kernel size"):
            call(torch.nn.functional, torch.tensor(x))
    _against_torch(lambda t: F.lp_pool3d(t, float("inf"), (2, 3, 2), 2, ceil_mode=True),
                   lambda t: torch.nn.functional.lp_pool3d(t, float("inf"), (2, 3, 2), 2,
                                                           ceil_mode=True), x)
