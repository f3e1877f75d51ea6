"""conv3d / max_pool3d / avg_pool3d (functional and nn layers) against torch in float64,
forward and gradients, plus gradcheck/gradgradcheck."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def _torch_pair(rng, *arrays):
    torch = pytest.importorskip("torch")
    ours = [tinydl.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return torch, ours, theirs


@pytest.mark.parametrize("kw,w_shape,x_shape", [
    (dict(), (4, 3, 2, 3, 2), (2, 3, 5, 6, 7)),
    (dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(2, 1, 1)), (4, 3, 3, 2, 3),
     (2, 3, 6, 5, 7)),
    (dict(groups=3, padding="same"), (6, 1, 2, 3, 2), (2, 3, 5, 6, 7)),
    (dict(padding="same"), (4, 3, 3, 3, 3), (3, 5, 6, 7)),  # unbatched
    (dict(padding="valid", stride=2), (2, 3, 1, 1, 1), (1, 3, 4, 4, 4)),
])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv3d_matches_torch(kw, w_shape, x_shape):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
               rng.standard_normal(w_shape[0]))
    torch, (tx, tw, tb), (px, pw, pb) = _torch_pair(rng, x, w, b)
    out = F.conv3d(tx, tw, tb, **kw)
    tout = torch.nn.functional.conv3d(px, pw, pb, **kw)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    for ours, theirs in ((tx, px), (tw, pw), (tb, pb)):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-10)


def test_conv3d_gradcheck_gradgradcheck_and_layer():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = tinydl.Tensor(rng.standard_normal((1, 2, 3, 4, 3)), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(2), requires_grad=True)
    fn = lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1)
    assert tinydl.gradcheck(fn, (x, w, b))
    assert tinydl.gradgradcheck(fn, (x, w, b))
    layer = nn.Conv3d(2, 4, 3, stride=2, padding=1, dtype=np.float64)
    tlayer = torch.nn.Conv3d(2, 4, 3, stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        tlayer.weight.copy_(torch.tensor(layer.weight.data))
        tlayer.bias.copy_(torch.tensor(layer.bias.data))
    xs = rng.standard_normal((2, 2, 5, 6, 4))
    np.testing.assert_allclose(layer(tinydl.Tensor(xs)).data,
                               tlayer(torch.tensor(xs)).detach().numpy(), atol=1e-10)
    assert layer.weight.shape == (4, 2, 3, 3, 3) and layer.weight.dtype == np.float64
    bound = 1 / np.sqrt(2 * 27)
    assert np.abs(layer.weight.data).max() <= bound


def test_conv3d_float32_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 2, 3, 3)).astype(np.float32)
    out = F.conv3d(tinydl.Tensor(x), tinydl.Tensor(w), stride=(1, 2, 1), padding=1)
    assert out.dtype == np.float32
    tout = torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w), stride=(1, 2, 1),
                                      padding=1)
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-4, atol=1e-4)


def test_conv3d_bad_arguments():
    x = tinydl.Tensor(np.zeros((1, 2, 3, 3, 3)))
    with pytest.raises(ValueError, match="conv3d: weight"):
        F.conv3d(x, tinydl.Tensor(np.zeros((2, 2, 3, 3))))
    with pytest.raises(ValueError, match="conv3d: input of shape"):
        F.conv3d(x, tinydl.Tensor(np.zeros((2, 3, 1, 1, 1))))
    with pytest.raises(ValueError, match="kernel depth"):
        F.conv3d(x, tinydl.Tensor(np.zeros((2, 2, 4, 1, 1))))
    with pytest.raises(ValueError, match="same.*stride"):
        F.conv3d(x, tinydl.Tensor(np.zeros((2, 2, 1, 1, 1))), padding="same", stride=2)


_POOLS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), padding=(1, 1, 0), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3, 1), stride=1),
]


@pytest.mark.parametrize("kw", _POOLS)
def test_max_pool3d_matches_torch_with_ties_and_nan(kw):
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((2, 3, 7, 6, 5)))  # many ties
    x.flat[rng.integers(0, x.size, 15)] = np.nan
    torch, (tx,), (px,) = _torch_pair(rng, x)
    out = F.max_pool3d(tx, **kw)
    tout = torch.nn.functional.max_pool3d(px, **kw)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    # distinct powers of two: the sums are exact, so equal gradients mean equal routing
    g = 2.0 ** rng.integers(0, 30, out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(tx.grad.data, px.grad.numpy())


@pytest.mark.parametrize("kw", _POOLS + [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
])
def test_avg_pool3d_matches_torch(kw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6, 5))
    torch, (tx,), (px,) = _torch_pair(rng, x)
    out = F.avg_pool3d(tx, **kw)
    tout = torch.nn.functional.avg_pool3d(px, **kw)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(tx.grad.data, px.grad.numpy(), atol=1e-12)


def test_pool3d_gradchecks_unbatched_and_layers():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = tinydl.Tensor(rng.permutation(2 * 4 * 4 * 3).reshape(2, 4, 4, 3) / 7.0,
                      requires_grad=True)  # unbatched, distinct values
    for fn in (lambda t: F.max_pool3d(t, 2, 1, 1),
               lambda t: F.avg_pool3d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)):
        assert tinydl.gradcheck(fn, (x,))
        assert tinydl.gradgradcheck(fn, (x,))
    xs = rng.standard_normal((1, 2, 5, 4, 6))
    for ours, theirs in ((nn.MaxPool3d(2, 1), torch.nn.MaxPool3d(2, 1)),
                         (nn.AvgPool3d(3, 2, 1), torch.nn.AvgPool3d(3, 2, 1))):
        np.testing.assert_allclose(ours(tinydl.Tensor(xs)).data,
                                   theirs(torch.tensor(xs)).numpy(), atol=1e-12)
        assert "kernel_size" in repr(ours)
    # return_indices (once refused): torch's flat indices into each D*H*W volume
    _, idx = F.max_pool3d(x, 2, return_indices=True)
    np.testing.assert_array_equal(idx.data, torch.nn.functional.max_pool3d(
        torch.tensor(x.data), 2, return_indices=True)[1].numpy())
    with pytest.raises(ValueError, match="max_pool3d.*padding"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool3d.*does not fit"):
        F.avg_pool3d(x, (5, 1, 1))


@pytest.mark.parametrize("args", [((5, 1, 1), (3, 1, 1), 0, 1), (3, 3, 0, (2, 1, 1)),
                                  ((5, 2, 2), (3, 2, 2), (1, 0, 0), 1)])
def test_max_pool3d_ceil_mode_window_may_overhang_the_depth_as_torch(args):
    """It was refused along D while max_pool2d takes the same overhang along H and W."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4, 4))
    ours = tinydl.Tensor(x, requires_grad=True)
    out = F.max_pool3d(ours, *args, ceil_mode=True)
    out.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    want = torch.nn.functional.max_pool3d(theirs, *args, ceil_mode=True)
    want.sum().backward()
    np.testing.assert_array_equal(out.data, want.detach().numpy())
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parametrize("depths, kernel, stride, padding, expected", [
    ([-np.inf, 1.0], (2, 1, 1), 2, (1, 0, 0), [1, 1]),
    ([-np.inf, -np.inf, 1.0], (2, 1, 1), 1, (1, 0, 0), [2, 0, 2]),
])
def test_max_pool3d_window_of_minus_inf_into_the_depth_padding(depths, kernel, stride, padding,
                                                               expected):
    """A window -inf throughout that reaches into the depth padding: its gradient goes to
    its first position inside x (torch's scan starts there); the padding slice took it."""
    x = tinydl.Tensor(np.array(depths).reshape(1, 1, -1, 1, 1), requires_grad=True)
    F.max_pool3d(x, kernel, stride, padding).sum().backward()
    np.testing.assert_array_equal(x.grad.data.ravel(), expected)
    torch = pytest.importorskip("torch")
    t = torch.tensor(x.data, requires_grad=True)
    torch.nn.functional.max_pool3d(t, kernel, stride, padding).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy().ravel(), expected)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("kw", [dict(kernel_size=3, padding=1), dict(kernel_size=2, stride=2,
                                                                      ceil_mode=True)])
def test_max_pool3d_pads_integer_input_with_its_smallest_value(dtype, kw):
    """The depth padding was -inf, which an integer array cannot hold: NumPy's bare
    OverflowError "cannot convert float infinity to integer"."""
    torch = pytest.importorskip("torch")
    a = (np.arange(27).reshape(1, 1, 3, 3, 3) * 7 % 11).astype(dtype)
    out = F.max_pool3d(tinydl.Tensor(a), **kw)
    assert out.dtype == dtype
    want = torch.nn.functional.max_pool3d(torch.tensor(a.astype(np.int64)), **kw)
    np.testing.assert_array_equal(out.data, want.numpy())
