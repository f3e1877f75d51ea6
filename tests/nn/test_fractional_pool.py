"""FractionalMaxPool2d/3d and F.fractional_max_pool2d/3d(_with_indices): equal to torch given
the same _random_samples (outputs, indices, gradients), samples drawn from tinydl's generator
otherwise, NaN/-inf windows, and errors where torch raises. The functions' gradcheck rows are
in tests/ops/test_functional.py."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n,kw,x_shape", [
    (2, dict(kernel_size=(3, 2), output_size=(4, 5)), (2, 3, 9, 8)),
    (2, dict(kernel_size=2, output_ratio=0.5), (3, 10, 7)),  # unbatched
    (3, dict(kernel_size=(2, 1, 3), output_size=(2, 3, 4)), (2, 2, 5, 6, 8)),
    (3, dict(kernel_size=2, output_ratio=(0.5, 0.6, 0.7)), (1, 2, 6, 5, 7)),
])
def test_fractional_max_pool_module_matches_torch(n, kw, x_shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    batch = x_shape[0] if len(x_shape) == n + 2 else 1
    samples = rng.random((batch, x_shape[-n - 1], n))
    ours = getattr(nn, f"FractionalMaxPool{n}d")(return_indices=True,
                                                 _random_samples=tinydl.Tensor(samples), **kw)
    theirs = getattr(torch.nn, f"FractionalMaxPool{n}d")(
        return_indices=True, _random_samples=torch.tensor(samples), **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    tx, px = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (out, idx), (tout, tidx) = ours(tx), theirs(px)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    assert idx.dtype == np.int64
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(tx.grad.data, px.grad.numpy())


def test_nan_and_minus_inf_windows_as_torch():
    x = np.array([[[[1.0, np.nan, 1, 2], [np.nan, 0, 3, 3], [-np.inf] * 4, [-np.inf] * 4]]])
    s = np.full((1, 1, 2), 0.3)
    out, idx = F.fractional_max_pool2d(x, 2, 2, return_indices=True, _random_samples=s)
    tout, tidx = torch.nn.functional.fractional_max_pool2d(
        torch.tensor(x), 2, 2, return_indices=True, _random_samples=torch.tensor(s))
    np.testing.assert_array_equal(out.data, tout.numpy())
    np.testing.assert_array_equal(idx.data, tidx.numpy())


def test_samples_drawn_from_tinydl_generator():
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 9)).astype(np.float32)
    tinydl.manual_seed(7)
    drawn = F.fractional_max_pool2d(tinydl.Tensor(x), 2, output_ratio=0.6, return_indices=True)
    tinydl.manual_seed(7)
    samples = tinydl.random.get_generator().random((2, 3, 2), dtype=np.float32)
    given = F.fractional_max_pool2d(tinydl.Tensor(x), 2, output_ratio=0.6, return_indices=True,
                                    _random_samples=samples)
    assert drawn[0].dtype == np.float32 and drawn[0].shape == (2, 3, 5, 5)
    np.testing.assert_array_equal(drawn[1].data, given[1].data)
    layer = nn.FractionalMaxPool2d(2, output_size=4, return_indices=True)
    draws = {layer(tinydl.Tensor(x))[1].data.tobytes() for _ in range(5)}
    assert len(draws) > 1  # a fresh draw every call


def test_sizes_dtype_and_repr():
    x = tinydl.Tensor(np.zeros((2, 3, 5, 5)))
    assert F.fractional_max_pool2d(x, 2, output_size=(0, 3)).shape == (2, 3, 0, 3)
    assert F.fractional_max_pool2d(x, 1, output_size=5).shape == (2, 3, 5, 5)  # 2-D: <= fits
    layer = nn.FractionalMaxPool3d(2, output_ratio=0.5)
    assert layer.kernel_size == (2, 2, 2) and layer.output_ratio == (0.5, 0.5, 0.5)
    assert repr(layer) == "FractionalMaxPool3d(kernel_size=(2, 2, 2), output_ratio=(0.5, 0.5, 0.5))"
    assert list(layer.state_dict()) == []


def test_errors_where_torch_raises():
    x = tinydl.Tensor(np.zeros((1, 2, 7, 9)))
    with pytest.raises(ValueError, match="fractional_max_pool2d requires specifying"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="fractional_max_pool2d: kernel_size 2 with output size "
                                         "7 too large"):
        F.fractional_max_pool2d(x, 2, output_size=(7, 4))
    with pytest.raises(ValueError, match="fractional_max_pool3d: kernel_size 1 with output size "
                                         "5 too large"):  # torch's 3-D bound is strict
        F.fractional_max_pool3d(tinydl.Tensor(np.zeros((1, 5, 6, 9))), 1, output_size=(5, 2, 7))
    with pytest.raises(TypeError, match="_random_samples must have the input's dtype float64"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=np.zeros((1, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"_random_samples must have shape \(N, C, 2\)"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match=r"_random_samples must lie in \[0, 1\)"):
        F.fractional_max_pool2d(x, 2, 3, _random_samples=np.full((1, 2, 2), 1.0))
    with pytest.raises(ValueError, match="non-zero spatial sizes"):
        F.fractional_max_pool2d(tinydl.Tensor(np.zeros((1, 2, 0, 9))), 2, 1)
    with pytest.raises(TypeError, match="must be floating point"):
        F.fractional_max_pool2d(tinydl.Tensor(np.zeros((1, 2, 7, 9), np.int64)), 2, 3)
    with pytest.raises(ValueError, match="FractionalMaxPool2d requires specifying either"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    for bad in (1.0, 0, (0.5, 1.0)):
        with pytest.raises(ValueError, match="output_ratio must be"):
            nn.FractionalMaxPool2d(2, output_ratio=bad)
        with pytest.raises(ValueError):
            torch.nn.FractionalMaxPool2d(2, output_ratio=bad)
