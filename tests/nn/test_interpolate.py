"""F.interpolate's 'linear', 'bilinear' and 'bicubic' modes (and nn.Upsample) against torch,
forward and gradient in float64, plus gradcheck/gradgradcheck of the interpolation matrices."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

_SHAPES = {"linear": (2, 3, 7), "bilinear": (2, 3, 5, 6), "bicubic": (2, 3, 5, 6),
           "trilinear": (1, 2, 4, 3, 5)}
_SIZES = [
    dict(size=None, scale_factor=2.5),
    dict(size=None, scale_factor=0.6),
    dict(size=None, scale_factor=1.0),
    dict(size=None, scale_factor=3),
    dict(size=None, scale_factor=1.7, recompute_scale_factor=True),
    dict(size="up"), dict(size="down"), dict(size="one"),
]


def _size_kw(mode, kw):
    kw = dict(kw)
    n = len(_SHAPES[mode]) - 2
    pick = {"up": (11, 9, 6), "down": (3, 2, 2), "one": (1, 1, 1)}
    if isinstance(kw.get("size"), str):
        kw["size"] = pick[kw["size"]][:n] if n >= 2 else pick[kw["size"]][0]
        kw.pop("scale_factor", None)
    if kw.get("size") is None:
        kw.pop("size", None)
    return kw


@pytest.mark.parametrize("mode", ["linear", "bilinear", "bicubic", "trilinear"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kw", _SIZES)
def test_interpolate_matches_torch_forward_and_gradient(mode, align_corners, kw):
    torch = pytest.importorskip("torch")
    kw = _size_kw(mode, kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(_SHAPES[mode])
    xt = tinydl.Tensor(x, requires_grad=True)
    out = F.interpolate(xt, mode=mode, align_corners=align_corners, **kw)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.interpolate(tx, mode=mode, align_corners=align_corners, **kw)
    assert out.shape == tuple(tout.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=0, atol=1e-6)
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["linear", "bilinear", "bicubic"])
def test_interpolate_float32_matches_torch(mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal(_SHAPES[mode]).astype(np.float32)
    out = F.interpolate(tinydl.Tensor(x), scale_factor=1.5, mode=mode)
    tout = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.5, mode=mode)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["linear", "bilinear", "bicubic", "trilinear"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_gradcheck_and_gradgradcheck(mode, align_corners):
    rng = np.random.default_rng(2)
    x = tinydl.Tensor(rng.standard_normal(_SHAPES[mode][:-1] + (4,)), requires_grad=True)
    for kw in (dict(scale_factor=1.75), dict(size=(3,) * (x.ndim - 2))):
        fn = lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **kw)
        assert tinydl.gradcheck(fn, (x,))
        assert tinydl.gradgradcheck(fn, (x,))


def test_interpolate_non_contiguous_input():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 5)).swapaxes(-1, -2)
    out = F.interpolate(tinydl.Tensor(x), size=(7, 4), mode="bicubic", align_corners=True)
    tout = torch.nn.functional.interpolate(torch.tensor(x), size=(7, 4), mode="bicubic",
                                           align_corners=True)
    np.testing.assert_allclose(out.data, tout.numpy(), atol=1e-12)


def test_interpolate_constant_is_preserved_and_identity_size():
    x = tinydl.Tensor(np.full((1, 1, 4, 5), 2.5))
    for mode in ("bilinear", "bicubic"):
        np.testing.assert_allclose(F.interpolate(x, size=(9, 3), mode=mode).data, 2.5)
    y = np.random.default_rng(4).standard_normal((1, 2, 4, 5))
    for mode in ("bilinear", "bicubic"):
        for ac in (False, True):
            out = F.interpolate(tinydl.Tensor(y), size=(4, 5), mode=mode, align_corners=ac)
            np.testing.assert_allclose(out.data, y, atol=1e-12)


@pytest.mark.parametrize("mode,align_corners", [("bilinear", False), ("bicubic", True),
                                                ("nearest", None)])
def test_upsample_layer_matches_torch(mode, align_corners):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((1, 2, 3, 4))
    layer = nn.Upsample(scale_factor=2, mode=mode, align_corners=align_corners)
    tlayer = torch.nn.Upsample(scale_factor=2, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(layer(tinydl.Tensor(x)).data, tlayer(torch.tensor(x)).numpy(),
                               atol=1e-12)
    assert "mode=" in repr(layer)


def test_interpolate_bad_arguments_raise_clear_errors():
    x3 = tinydl.Tensor(np.zeros((1, 1, 4)))
    x4 = tinydl.Tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="interpolate.*bilinear"):
        F.interpolate(x3, scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="interpolate.*linear"):
        F.interpolate(x4, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match=r"trilinear.*\(N, C, D, H, W\)"):
        F.interpolate(x4, scale_factor=2, mode="trilinear")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(x4, scale_factor=2, mode="lanczos")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x4, scale_factor=2, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x4, scale_factor=2, mode="nearest", align_corners=True)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x4, mode="bicubic")
    with pytest.raises(TypeError, match="float"):
        F.interpolate(tinydl.Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), scale_factor=2,
                      mode="bilinear")
    with pytest.raises(ValueError, match="Upsample"):
        nn.Upsample(scale_factor=2, mode="lanczos")


@pytest.mark.parametrize("shape,kw", [((2, 3, 7), dict(size=3)), ((2, 3, 7, 5), dict(size=(3, 4))),
                                      ((1, 2, 5, 6, 7), dict(size=(2, 3, 4))),
                                      ((2, 3, 7, 5), dict(size=(9, 11))),
                                      ((1, 2, 7, 6), dict(scale_factor=0.5)),
                                      ((1, 2, 7, 6), dict(scale_factor=1.5))])
def test_interpolate_area_is_torchs_adaptive_average(shape, kw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal(shape)
    xt, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = F.interpolate(xt, mode="area", **kw), torch.nn.functional.interpolate(
        tx, mode="area", **kw)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-14)
    g = np.cos(expected.detach().numpy())
    out.backward(tinydl.Tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), atol=1e-14)
    np.testing.assert_allclose(nn.Upsample(mode="area", **kw)(tinydl.Tensor(x)).data, out.data)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
def test_interpolate_to_the_same_size_returns_a_new_tensor(mode):
    # It returned the input itself (or a view): up += skip then changed h and its gradient.
    x = tinydl.Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    h = x * 2.0
    up = F.interpolate(h, size=(4, 4), mode=mode)
    assert up is not h and not np.may_share_memory(up.data, h.data)
    up += 1.0
    np.testing.assert_array_equal(h.data, 2 * np.arange(16.0).reshape(1, 1, 4, 4))
    (h * up).sum().backward()
    torch = pytest.importorskip("torch")
    tx = torch.arange(16.0, dtype=torch.float64).reshape(1, 1, 4, 4).requires_grad_()
    th = tx * 2.0
    tup = torch.nn.functional.interpolate(th, size=(4, 4), mode=mode)
    tup += 1.0
    (th * tup).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("shape, size", [((2, 3, 7), (11,)), ((2, 3, 7), (4,)),
                                         ((1, 2, 5, 6), (9, 4)), ((1, 2, 4, 3, 5), (7, 3, 8))])
def test_nearest_modes_match_torch_in_1d_2d_3d(mode, shape, size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal(shape)
    xt = tinydl.Tensor(x, requires_grad=True)
    out = F.interpolate(xt, size=size, mode=mode)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.interpolate(tx, size=size, mode=mode)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("mode,kw", [("bilinear", dict(size=(9, 12))),
                                     ("bicubic", dict(scale_factor=2)),
                                     ("bilinear", dict(size=(3, 5), align_corners=True))])
def test_a_nan_input_reaches_only_the_outputs_whose_taps_read_it(mode, kw):
    """One NaN pixel makes NaN only the outputs that weigh it (products with the whole
    interpolation matrices made every output NaN: 0 * NaN); an inf output gradient likewise
    reaches only the inputs its output reads."""
    from tinydl.nn.functional.misc import _interp_matrix

    x_data = np.random.default_rng(6).standard_normal((1, 2, 6, 5))
    x_data[0, 0, 2, 3] = np.nan
    x = tinydl.Tensor(x_data, requires_grad=True)
    y = F.interpolate(x, mode=mode, **kw)
    out_h, out_w = y.shape[-2:]
    corners = bool(kw.get("align_corners", False))
    scales = (1 / kw["scale_factor"],) * 2 if "scale_factor" in kw else (6 / out_h, 5 / out_w)
    rows = _interp_matrix(6, out_h, scales[0], mode, corners, np.float64)
    cols = _interp_matrix(5, out_w, scales[1], mode, corners, np.float64)
    reads = (rows[:, 2] != 0)[:, None] & (cols[:, 3] != 0)[None, :]
    np.testing.assert_array_equal(np.isnan(y.data[0, 0]), reads)
    assert np.isfinite(y.data[0, 1]).all()
    g = np.ones(y.shape)
    g[0, 1, 0, 0] = np.inf
    y.backward(tinydl.Tensor(g))
    read_by_first = (rows[0] != 0)[:, None] & (cols[0] != 0)[None, :]
    np.testing.assert_array_equal(np.isinf(x.grad.data[0, 1]), read_by_first)
    assert np.isfinite(x.grad.data[0, 0]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_reads_torch_pixel_at_every_size(mode, dtype):
    """The source index rounds as torch's (float32 or float64 arithmetic, fused multiply-add,
    float32 floor): in float64, 49 * 8/196 fell just below 2 and read pixel 1 (torch: 2).
    Every output size 1-200 of lengths 1-24 and fractional scale factors, forward and
    gradient (the gradient of a gather sums into the pixels read)."""
    torch = pytest.importorskip("torch")
    for n in range(1, 25):
        x = np.arange(n).astype(dtype).reshape(1, 1, n)
        calls = [dict(size=m) for m in range(1, 201)] + [
            dict(scale_factor=f, recompute_scale_factor=r)
            for f in (1.1, 1.3, 2.5, 3.7, 0.77, 0.3, 3, 7) for r in (None, True)]
        for kw in calls:
            try:
                want = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
            except RuntimeError:  # an empty output: tinydl raises too
                continue
            got = F.interpolate(tinydl.Tensor(x), mode=mode, **kw)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got.data, want, err_msg=f"n={n} {kw}")
    x = np.arange(11.0 * 11).reshape(1, 1, 11, 11)
    xt, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.interpolate(xt, scale_factor=3.7, mode=mode)
    tout = torch.nn.functional.interpolate(tx, scale_factor=3.7, mode=mode)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode,shape", [("linear", (1, 2, 5)), ("bilinear", (1, 2, 4, 5)),
                                        ("trilinear", (1, 1, 2, 3, 4))])
@pytest.mark.parametrize("factor", [1.1, 1.3, (2, 1.1), (1.2, 2.0)])
def test_linear_modes_copy_an_axis_of_unchanged_size(mode, shape, factor):
    """floor(in * 1.1) == in: torch copies that axis rather than resample it at scale 1/1.1."""
    torch = pytest.importorskip("torch")
    n = len(shape) - 2
    if isinstance(factor, tuple):
        factor = (factor * 2)[:n]
    x = np.random.default_rng(0).standard_normal(shape)
    xt, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.interpolate(xt, scale_factor=factor, mode=mode)
    tout = torch.nn.functional.interpolate(tx, scale_factor=factor, mode=mode)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=0, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale_factor", [1.1, 1.3, (1.1, 2.0), 2.05, (2.05, 1.05), (0.7, 2.2)])
def test_nearest_2d_copies_a_kept_axis_and_halves_a_doubled_one_as_torch(scale_factor):
    """torch's 2-d 'nearest' kernel copies an axis whose size does not change and reads o // 2
    on one that exactly doubles, whatever the scale factor (its 1-d and 3-d kernels do not);
    floor(o / 1.1) read pixels 0, 0, 1, 2 of 4 where torch copies them. Hand-made
    expectations, and torch's own output where torch is installed."""
    x = np.arange(5.0 * 4).reshape(1, 1, 5, 4)
    out = F.interpolate(tinydl.Tensor(x), scale_factor=scale_factor, mode="nearest").data
    factors = scale_factor if isinstance(scale_factor, tuple) else (scale_factor,) * 2
    rows, cols = (int(np.floor(n * f)) for n, f in zip((5, 4), factors))
    assert out.shape == (1, 1, rows, cols)
    read_rows, read_cols = out[0, 0, :, 0] // 4, out[0, 0, 0] % 4  # x[r, c] = 4 r + c
    for read, size, n in ((read_rows, rows, 5), (read_cols, cols, 4)):
        if size == n:
            np.testing.assert_array_equal(read, np.arange(n))
        elif size == 2 * n:
            np.testing.assert_array_equal(read, np.arange(2 * n) // 2)
    try:
        import torch
    except ImportError:
        return
    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=scale_factor,
                                           mode="nearest").numpy()
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("mode,n", [("nearest", 1), ("nearest-exact", 1), ("linear", 1),
                                    ("nearest", 2), ("nearest-exact", 2), ("bilinear", 2),
                                    ("bicubic", 2), ("nearest", 3), ("trilinear", 3)])
def test_numpy_float32_scale_factors_are_taken_as_python_floats_as_torch(mode, n):
    """10 * np.float32(0.7) is 7.0 in float32 (NumPy keeps the type) but 6.99999988 with the
    factor as a double, as torch takes it: 7 pixels where torch gives 6 (13 for 12 with 1.3).
    Sizes 1-20 (1-8 in 3-d), the factor alone, in a tuple and in a list; float32 input."""
    x10 = tinydl.Tensor(np.zeros((1, 1, 10), np.float32))
    assert F.interpolate(x10, scale_factor=np.float32(0.7)).shape == (1, 1, 6)
    assert F.interpolate(x10, scale_factor=np.float32(1.3), mode="linear").shape == (1, 1, 12)
    assert nn.Upsample(scale_factor=np.float32(0.7))(x10).shape == (1, 1, 6)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for size in range(1, 21 if n < 3 else 9):
        x = rng.standard_normal((1, 2) + (size,) * n).astype(np.float32)
        for f in np.float32([0.3, 0.55, 0.7, 1.3, 1.7, 2.1, 2.5, 3.3]):
            for factor in (f, (f,) * n, [f] * n):
                try:
                    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor,
                                                           mode=mode).numpy()
                except RuntimeError:  # an empty output: tinydl raises too
                    with pytest.raises(ValueError, match="empty output"):
                        F.interpolate(tinydl.Tensor(x), scale_factor=factor, mode=mode)
                    continue
                got = F.interpolate(tinydl.Tensor(x), scale_factor=factor, mode=mode)
                msg = f"{mode} size={size} scale_factor={factor!r}"
                assert got.shape == want.shape, msg
                np.testing.assert_allclose(got.data, want, rtol=0, atol=1e-5, err_msg=msg)
    layer = nn.Upsample(scale_factor=np.float32(1.3), mode=mode, recompute_scale_factor=True)
    x = rng.standard_normal((1, 2) + (10,) * n).astype(np.float32)
    want = torch.nn.Upsample(scale_factor=np.float32(1.3), mode=mode,
                             recompute_scale_factor=True)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(layer(tinydl.Tensor(x)).data, want, rtol=0, atol=1e-5)
