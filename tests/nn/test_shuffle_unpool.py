"""pixel_shuffle / pixel_unshuffle and max_unpool2d (functional and nn layers) against torch,
plus gradcheck/gradgradcheck in float64."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


@pytest.mark.parametrize("shape,r", [((2, 12, 3, 4), 2), ((18, 2, 3), 3), ((2, 3, 4, 2, 1), 2),
                                     ((1, 5, 2, 2), 1), ((0, 4, 2, 3), 2)])
def test_pixel_shuffle_matches_torch_and_unshuffle_inverts_it(shape, r):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    xt = tinydl.Tensor(x, requires_grad=True)
    out = F.pixel_shuffle(xt, r)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.pixel_shuffle(tx, r)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    if x.size:  # torch's backward rejects size-0 gradients of pixel_shuffle
        tout.backward(torch.tensor(g))
        np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())
    assert xt.grad.shape == x.shape
    back = F.pixel_unshuffle(out, r)
    np.testing.assert_array_equal(back.data, x)
    if x.size:  # torch's pixel_unshuffle returns a size-0 input unchanged (wrong shape)
        np.testing.assert_array_equal(
            back.data, torch.nn.functional.pixel_unshuffle(tout.detach(), r).numpy())


def test_pixel_unshuffle_matches_torch_non_contiguous_and_float32():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 9, 6)).astype(np.float32).swapaxes(2, 3)
    out = F.pixel_unshuffle(tinydl.Tensor(x), 3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data,
                                  torch.nn.functional.pixel_unshuffle(torch.tensor(x), 3).numpy())


def test_pixel_shuffle_gradcheck_and_layers():
    x = tinydl.Tensor(np.random.default_rng(2).standard_normal((1, 8, 2, 4)), requires_grad=True)
    assert tinydl.gradcheck(lambda t: F.pixel_shuffle(t, 2), (x,))
    assert tinydl.gradgradcheck(lambda t: F.pixel_unshuffle(t, 2) * t.sum(), (x,))
    up, down = nn.PixelShuffle(2), nn.PixelUnshuffle(2)
    assert up(x).shape == (1, 2, 4, 8)
    np.testing.assert_array_equal(down(up(x)).data, x.data)
    assert "upscale_factor=2" in repr(up) and "downscale_factor=2" in repr(down)


@pytest.mark.parametrize("op", [lambda t: F.pixel_shuffle(t, 1), lambda t: F.pixel_unshuffle(t, 1),
                                lambda t: F.channel_shuffle(t, 1), lambda t: F.channel_shuffle(t, 4)])
def test_shuffles_that_move_nothing_still_return_a_new_tensor(op):
    # A factor of 1 (or one group) returned a view: an in-place op on it wrote into the input.
    x = tinydl.Tensor(np.arange(16.0).reshape(1, 4, 2, 2))
    y = op(x)
    y += 1.0
    np.testing.assert_array_equal(x.data, np.arange(16.0).reshape(1, 4, 2, 2))
    np.testing.assert_array_equal(y.data, x.data + 1.0)


def test_pixel_shuffle_bad_arguments():
    with pytest.raises(ValueError, match="pixel_shuffle.*divisible"):
        F.pixel_shuffle(tinydl.Tensor(np.zeros((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match="pixel_unshuffle.*divisible"):
        F.pixel_unshuffle(tinydl.Tensor(np.zeros((1, 1, 5, 4))), 2)
    with pytest.raises(ValueError, match="upscale_factor"):
        F.pixel_shuffle(tinydl.Tensor(np.zeros((1, 4, 2, 2))), 0)
    with pytest.raises(ValueError, match="at least 3 axes"):
        F.pixel_shuffle(tinydl.Tensor(np.zeros((4, 2))), 2)


@pytest.mark.parametrize("kw,output_size", [
    (dict(kernel_size=2), None),
    (dict(kernel_size=3, stride=2, padding=1), (7, 6)),
    (dict(kernel_size=(2, 3), stride=(2, 1)), None),
    (dict(kernel_size=2, stride=2), (2, 3, 7, 6)),
])
def test_max_unpool2d_matches_torch(kw, output_size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    pooled, idx = F.max_pool2d(tinydl.Tensor(x), return_indices=True, **kw)
    tpooled, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.data, tidx.numpy())
    p = tinydl.Tensor(pooled.data, requires_grad=True)
    out = F.max_unpool2d(p, idx, output_size=output_size, **kw)
    tp = tpooled.detach().requires_grad_(True)
    tout = torch.nn.functional.max_unpool2d(tp, tidx, output_size=output_size, **kw)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())


def test_max_unpool2d_unbatched_layer_and_gradcheck():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.permutation(3 * 6 * 4).reshape(3, 6, 4) / 5.0
    pool = nn.MaxPool2d(2, return_indices=True)
    unpool = nn.MaxUnpool2d(2)
    pooled, idx = pool(tinydl.Tensor(x))
    out = unpool(pooled, idx)
    tp, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(out.data, torch.nn.MaxUnpool2d(2)(tp, ti).numpy())
    assert "kernel_size=2" in repr(unpool)
    v = tinydl.Tensor(pooled.data, requires_grad=True)
    assert tinydl.gradcheck(lambda t: F.max_unpool2d(t, idx, 2), (v,))
    assert tinydl.gradgradcheck(lambda t: F.max_unpool2d(t * t, idx, 2), (v,))
    # through the pool too: the pair is differentiable end to end
    xt = tinydl.Tensor(x[None], requires_grad=True)
    fn = lambda t: unpool(*F.max_pool2d(t, 2, return_indices=True))
    assert tinydl.gradcheck(fn, (xt,))


def test_max_unpool2d_index_past_the_default_output_raises_like_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((1, 1, 7, 6))
    pooled, idx = F.max_pool2d(tinydl.Tensor(x), 3, 2, 1, return_indices=True)
    with pytest.raises(ValueError, match="indices must be in"):
        F.max_unpool2d(pooled, idx, 3, 2, 1)  # default output (7, 5) is narrower than (7, 6)
    tp, ti = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    with pytest.raises(RuntimeError):
        torch.nn.functional.max_unpool2d(tp, ti, 3, 2, 1)


def test_max_unpool2d_bad_arguments():
    x = tinydl.Tensor(np.zeros((1, 1, 2, 2)))
    idx = np.zeros((1, 1, 2, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="max_unpool2d.*indices must be in"):
        F.max_unpool2d(x, idx + 99, 2)
    with pytest.raises(ValueError, match="max_unpool2d.*shape"):
        F.max_unpool2d(x, idx[..., :1], 2)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool2d(x, idx, 2, output_size=(9, 4))
    with pytest.raises(TypeError, match="integers"):
        F.max_unpool2d(x, idx.astype(float), 2)
