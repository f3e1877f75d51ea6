"""tinydl.data.transforms: NumPy references on fixed inputs, determinism, identities, mixing."""
import colorsys

import numpy as np
import pytest

import tinydl as td
from tinydl.data import DataLoader, TensorDataset
from tinydl.data import transforms as T
from tinydl.nn import functional as F

RNG = np.random.default_rng(1234)
IMG = RNG.random((3, 7, 9)).astype(np.float32)                  # CHW float
IMG_U8 = RNG.integers(0, 256, (7, 9, 3)).astype(np.uint8)       # HWC uint8

RANDOM_TRANSFORMS = {
    "RandomCrop": lambda seed: T.RandomCrop(5, padding=2, seed=seed),
    "RandomHorizontalFlip": lambda seed: T.RandomHorizontalFlip(seed=seed),
    "RandomAffine": lambda seed: T.RandomAffine(25, (0.2, 0.1), (0.8, 1.2), (-5, 5, -3, 3),
                                                interpolation="bilinear", seed=seed),
    "ColorJitter": lambda seed: T.ColorJitter(0.4, 0.4, 0.4, 0.1, seed=seed),
    "RandomErasing": lambda seed: T.RandomErasing(p=0.7, value=7, seed=seed),
    "RandomErasing noise": lambda seed: T.RandomErasing(p=0.7, value="random", seed=seed),
    "GaussianBlur": lambda seed: T.GaussianBlur(3, sigma=(0.1, 2.0), seed=seed),
}


@pytest.mark.parametrize("name", sorted(RANDOM_TRANSFORMS))
def test_deterministic_under_a_seed(name):
    make = RANDOM_TRANSFORMS[name]
    for img in (IMG, IMG_U8) if name != "RandomErasing noise" else (IMG,):  # (float only)
        a = [make(7)(img) for _ in range(3)]
        b = [make(7)(img) for _ in range(3)]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y, err_msg=f"{name}: seed=7 twice")
        # tinydl's global generator: manual_seed replays the same stream.
        t = make(None)
        td.manual_seed(3)
        first = [t(img) for _ in range(4)]
        td.manual_seed(3)
        again = [t(img) for _ in range(4)]
        for x, y in zip(first, again):
            np.testing.assert_array_equal(x, y, err_msg=f"{name}: manual_seed(3) twice")
        # ... and the draws do vary from call to call.
        assert any(not np.array_equal(first[0], x) for x in first[1:]), f"{name} never varies"
        assert first[0].dtype == img.dtype, f"{name} changed the dtype"


def test_random_crop_matches_numpy_pad_and_slice():
    seed, size, pad = 5, (4, 6), 2
    out = T.RandomCrop(size, padding=pad, seed=seed)(IMG)
    rng = np.random.default_rng(seed)
    padded = np.pad(IMG, ((0, 0), (pad, pad), (pad, pad)))
    i = rng.integers(0, padded.shape[1] - size[0] + 1)
    j = rng.integers(0, padded.shape[2] - size[1] + 1)
    np.testing.assert_array_equal(out, padded[:, i:i + 4, j:j + 6])
    # uint8 HWC: the same window, in HWC.
    out8 = T.RandomCrop(size, padding=pad, padding_mode="reflect", seed=seed)(IMG_U8)
    ref8 = np.pad(IMG_U8, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")[i:i + 4, j:j + 6]
    np.testing.assert_array_equal(out8, ref8)
    with pytest.raises(ValueError, match="RandomCrop"):
        T.RandomCrop(20)(IMG)


def test_random_crop_fills_each_channel_with_its_own_value():
    # torchvision: a fill tuple gives one value per channel (R, G, B), padding only.
    img = np.zeros((7, 7, 3), np.uint8)
    out = T.RandomCrop(9, padding=1, fill=(255, 0, 7), seed=0)(img)
    ref = np.stack([np.pad(img[:, :, c], 1, constant_values=v)
                    for c, v in enumerate((255, 0, 7))], axis=-1)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, ref)
    # pad_if_needed pads with the same per-channel fill; one value serves every channel.
    fill = np.array([0.5, 0.25, 1.0], np.float32)[:, None, None]
    out = T.RandomCrop(3, pad_if_needed=True, fill=(0.5, 0.25, 1.0), seed=0)(IMG[:, :1, :1])
    assert out.shape == (3, 3, 3) and (out == fill).all(axis=0).sum() >= 8
    assert np.all((out == fill) | (out == IMG[:, :1, :1]))
    np.testing.assert_array_equal(T.RandomCrop(9, padding=1, fill=(3,))(img)[0], 3)
    with pytest.raises(ValueError, match=r"RandomCrop: fill must be one number or one per "
                                         r"channel \(3\), got \(255, 0\)"):
        T.RandomCrop(9, padding=1, fill=(255, 0))(img)


def test_flip_normalize_to_tensor_references():
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(IMG), IMG[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(IMG_U8), IMG_U8[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(IMG), IMG)
    x = T.ToTensor()(IMG_U8)
    assert isinstance(x, td.Tensor) and x.shape == (3, 7, 9) and x.dtype == np.float32
    np.testing.assert_allclose(x.data, IMG_U8.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    got = T.Normalize(mean, std)(x)
    ref = (x.data - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(got.data, ref, rtol=1e-6)
    with pytest.raises(TypeError, match="ToTensor first"):
        T.Normalize(mean, std)(IMG_U8)


def test_to_tensor_refuses_a_tensor_and_keeps_non_uint8_dtypes():
    # torchvision raises TypeError for a tensor; reading a CHW tensor as HWC scrambles it.
    chw = T.ToTensor()(IMG_U8)
    with pytest.raises(TypeError, match=r"ToTensor: .*tinydl.Tensor of shape \(3, 7, 9\)"):
        T.ToTensor()(chw)
    # Only uint8 is scaled (and becomes float32); other dtypes are transposed and kept.
    hwc = IMG.transpose(1, 2, 0).astype(np.float64)
    x = T.ToTensor()(hwc)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x.data, IMG.astype(np.float64))
    assert T.ToTensor()(IMG.transpose(1, 2, 0)).dtype == np.float32


def test_random_affine_with_zero_parameters_is_the_identity():
    for interpolation in ("nearest", "bilinear"):
        t = T.RandomAffine(0, translate=(0, 0), scale=(1, 1), shear=0, interpolation=interpolation)
        np.testing.assert_array_equal(t(IMG), IMG)
        np.testing.assert_array_equal(t(IMG_U8), IMG_U8)
        np.testing.assert_array_equal(t(IMG[0]), IMG[0])


def test_random_affine_rotation_and_translation_references():
    square = RNG.random((2, 6, 6)).astype(np.float32)
    rot = T.RandomAffine(degrees=(90, 90))(square)   # clockwise as displayed, torchvision's
    np.testing.assert_array_equal(rot, np.rot90(square, -1, axes=(1, 2)))
    # A pixel right of the centre ends below it (torchvision.transforms.functional.affine).
    dot = np.zeros((1, 7, 7))
    dot[0, 3, 5] = 1.0
    assert np.argwhere(T.RandomAffine(degrees=(90, 90))(dot)[0]).tolist() == [[5, 3]]
    # translate=(tx, ty) with a fixed draw: compare with a zero-filled shift.
    probe = T.RandomAffine(0, translate=(0.3, 0.3))
    seed = next(s for s in range(50)
                if 0 not in probe.get_params(np.random.default_rng(s), 7, 9)[1])
    t = T.RandomAffine(0, translate=(0.3, 0.3), seed=seed)
    angle, (dx, dy), scale, shear = t.get_params(np.random.default_rng(seed), 7, 9)
    out = t(IMG)
    dx, dy = int(dx), int(dy)
    ref = np.zeros_like(IMG)
    src = IMG[:, max(0, -dy):7 - max(0, dy), max(0, -dx):9 - max(0, dx)]
    ref[:, max(0, dy):max(0, dy) + src.shape[1], max(0, dx):max(0, dx) + src.shape[2]] = src
    assert (dx, dy) != (0, 0)
    np.testing.assert_array_equal(out, ref)


def bilinear_reference(img, matrix):
    """Inverse-map every output pixel and interpolate bilinearly, zeros outside (vectorised)."""
    c, h, w = img.shape
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    out = np.zeros((c, h, w))
    for oy in (0, 1):
        for ox in (0, 1):
            xi, yi = x0 + ox, y0 + oy
            wgt = (1 - np.abs(sx - xi)) * (1 - np.abs(sy - yi))
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            out += np.where(inside, img[:, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], 0) * wgt
    return out


def test_affine_warp_matches_bilinear_reference_and_matrix_convention():
    m = T.affine_matrix(angle=17.0, translate=(1.0, -2.0), scale=1.1, shear=(8.0, -4.0),
                        center=(4.0, 3.0))
    np.testing.assert_allclose(T.warp_affine(IMG, m, order=1), bilinear_reference(IMG, m),
                               atol=1e-6)
    # Shear along x only, clockwise as displayed: (x, y) -> (x - tan(sx) (y - cy), y).
    s = T.affine_matrix(0.0, (0, 0), 1.0, (30.0, 0.0), (4.0, 3.0))
    x, y = 2.0, 5.0
    np.testing.assert_allclose(s @ [x, y, 1], [x - np.tan(np.radians(30)) * (y - 3.0), y])


def torchvision_affine(img, angle, translate, scale, shear):
    """torchvision.transforms.functional.affine on a CHW float tensor, bilinear, rebuilt in torch:
    its closed-form inverse of T C R(a) S SHy(sy) SHx(sx) C^-1 (centre at the image centre),
    a grid over pixel centres and grid_sample (zeros outside, align_corners=False)."""
    torch = pytest.importorskip("torch")
    _, h, w = img.shape
    rot, sx, sy = np.radians(angle), np.radians(shear[0]), np.radians(shear[1])
    a = np.cos(rot - sy) / np.cos(sy)
    b = -(a * np.tan(sx) + np.sin(rot))
    c = np.sin(rot - sy) / np.cos(sy)
    d = np.cos(rot) - c * np.tan(sx)
    tx, ty = translate
    inv = np.array([[d, -b], [-c, a]]) / scale   # (scale R SHy SHx)^-1: det(R SHy SHx) = 1
    theta = np.hstack([inv, -inv @ np.array([[tx], [ty]])])
    ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h, dtype=torch.float64)
    xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    base = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(1, h * w, 3)
    rescaled = torch.tensor(theta).T / torch.tensor([0.5 * w, 0.5 * h], dtype=torch.float64)
    grid = (base @ rescaled).reshape(1, h, w, 2)
    out = torch.nn.functional.grid_sample(torch.tensor(img[None], dtype=torch.float64), grid,
                                          mode="bilinear", padding_mode="zeros",
                                          align_corners=False)
    return out[0].numpy()


@pytest.mark.parametrize("angle, translate, scale, shear", [
    (90.0, (0.0, 0.0), 1.0, (0.0, 0.0)),
    (17.0, (1.0, -2.0), 1.1, (0.0, 0.0)),
    (0.0, (0.0, 0.0), 1.0, (25.0, 0.0)),
    (0.0, (0.0, 0.0), 1.0, (0.0, 20.0)),
    (-33.0, (2.0, 1.0), 0.9, (12.0, -18.0)),
])
def test_affine_matches_torchvision_rebuilt_in_torch(angle, translate, scale, shear):
    _, h, w = IMG.shape
    m = T.affine_matrix(angle, translate, scale, shear, ((w - 1) / 2, (h - 1) / 2))
    np.testing.assert_allclose(T.warp_affine(IMG, m, order=1),
                               torchvision_affine(IMG, angle, translate, scale, shear),
                               atol=1e-5, err_msg=f"affine({angle}, {translate}, {scale}, {shear})")


def test_color_jitter_references():
    b = T.ColorJitter(brightness=(1.5, 1.5))(IMG)
    np.testing.assert_allclose(b, np.clip(IMG * 1.5, 0, 1), rtol=1e-6)
    gray = 0.2989 * IMG[0] + 0.587 * IMG[1] + 0.114 * IMG[2]  # torchvision's weights
    c = T.ColorJitter(contrast=(0.5, 0.5))(IMG)
    np.testing.assert_allclose(c, np.clip(0.5 * IMG + 0.5 * gray.mean(), 0, 1), rtol=1e-6)
    s = T.ColorJitter(saturation=(0.0, 0.0))(IMG)
    np.testing.assert_allclose(s, np.broadcast_to(gray, IMG.shape), rtol=1e-6)
    h = T.ColorJitter(hue=(0.2, 0.2))(IMG)
    ref = np.empty_like(IMG)
    for i in range(7):
        for j in range(9):
            hh, ss, vv = colorsys.rgb_to_hsv(*IMG[:, i, j])
            ref[:, i, j] = colorsys.hsv_to_rgb((hh + 0.2) % 1.0, ss, vv)
    np.testing.assert_allclose(h, ref, atol=1e-6)
    # One channel: saturation and hue do nothing.
    np.testing.assert_array_equal(T.ColorJitter(saturation=0.9, hue=0.4, seed=0)(IMG[:1]), IMG[:1])


def test_color_jitter_refuses_a_range_outside_its_bounds():
    # torchvision's _check_input: a number's range is clipped at 0, an explicit pair is not.
    assert T.ColorJitter(brightness=2).brightness == (0.0, 3.0)
    assert T.ColorJitter(contrast=(0, 2)).contrast == (0.0, 2.0)
    for name in ("brightness", "contrast", "saturation"):
        with pytest.raises(ValueError, match=rf"ColorJitter: {name} range \(-1.0, 2.0\)"):
            T.ColorJitter(**{name: (-1, 2)})
    with pytest.raises(ValueError, match="ColorJitter: hue"):
        T.ColorJitter(hue=(-0.6, 0.2))


def test_random_erasing_fills_one_rectangle():
    big = RNG.random((2, 20, 24)).astype(np.float32) + 1.0
    out = T.RandomErasing(p=1.0, scale=(0.05, 0.2), value=0.0, seed=4)(big)
    erased = np.all(out == 0.0, axis=0)
    rows, cols = np.nonzero(erased)
    assert rows.size > 0
    box = erased[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert box.all(), "the erased pixels do not form one rectangle"
    assert 0.05 * 480 * 0.5 <= box.size <= 0.2 * 480 * 1.5
    np.testing.assert_array_equal(out[:, ~erased], big[:, ~erased])
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(big), big)


def test_random_erasing_value_is_one_number_or_one_per_channel():
    img = RNG.random((3, 10, 12)).astype(np.float32) + 1.0
    out = T.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3), seed=0)(img)
    erased = out[0] != img[0]
    assert erased.any()
    np.testing.assert_allclose(out[:, erased], np.array([[0.1], [0.2], [0.3]]) * np.ones(
        erased.sum()), rtol=1e-6)
    # Three values for one channel: a clear error on every call, whatever p draws.
    for p in (1.0, 0.0):
        with pytest.raises(ValueError, match=r"RandomErasing: value must be one number or one "
                                             r"per channel \(1\), got \(0.1, 0.2, 0.3\)"):
            T.RandomErasing(p=p, value=(0.1, 0.2, 0.3), seed=0)(img[:1])
    with pytest.raises(ValueError, match="RandomErasing: value must be a number"):
        T.RandomErasing(value="noise")


@pytest.mark.parametrize("value, match", [
    (300, r"value 300 does not fit a uint8 image \(0..255\)"),
    (-1, r"value -1 does not fit a uint8 image"),
    ("random", r"value='random' draws N\(0, 1\) noise"),
])
def test_random_erasing_refuses_values_a_uint8_image_would_wrap(value, match):
    """300 was written as 44, -1 as 255, and 'random' noise as 0, 1, 254 and 255 (as
    RandomCrop's fill already refuses), on every call whatever p draws."""
    for p in (1.0, 0.0):
        with pytest.raises(ValueError, match=match):
            T.RandomErasing(p=p, value=value, seed=0)(IMG_U8)
    out = T.RandomErasing(p=1.0, value=(0, 128, 255), scale=(0.3, 0.3), seed=0)(IMG_U8)
    assert out.dtype == np.uint8 and {0, 128, 255} <= set(np.unique(out))


def test_gaussian_blur_matches_reflect_padded_sum():
    sigma, k = 0.8, 5
    out = T.GaussianBlur(k, sigma=sigma)(IMG)
    x = np.arange(k) - (k - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    padded = np.pad(IMG.astype(np.float64), ((0, 0), (2, 2), (2, 2)), mode="reflect")
    ref = np.zeros(IMG.shape)
    for a in range(k):
        for b in range(k):
            ref += g[a] * g[b] * padded[:, a:a + 7, b:b + 9]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_gaussian_blur_kernel_size_is_kx_ky_as_torchvision():
    # An impulse blurred with (kx, ky) = (5, 1) spreads along the width (x) only.
    dot = np.zeros((1, 9, 9))
    dot[0, 4, 4] = 1.0
    out = T.GaussianBlur((5, 1), sigma=1.0)(dot)[0]
    assert np.nonzero(out.sum(axis=1))[0].tolist() == [4]
    assert np.nonzero(out.sum(axis=0))[0].tolist() == [2, 3, 4, 5, 6]
    # torchvision's gaussian_blur rebuilt in torch: kernel2d = k_y k_x^T of shape (ky, kx),
    # reflect padding of kx // 2 left/right and ky // 2 top/bottom, a depthwise conv2d.
    torch = pytest.importorskip("torch")
    kx, ky, sigma = 5, 3, 0.9
    k_x = T.gaussian_kernel1d(kx, sigma)
    k_y = T.gaussian_kernel1d(ky, sigma)
    kernel = torch.tensor(np.outer(k_y, k_x)).expand(3, 1, ky, kx)
    x = torch.nn.functional.pad(torch.tensor(IMG[None], dtype=torch.float64),
                                (kx // 2, kx // 2, ky // 2, ky // 2), mode="reflect")
    ref = torch.nn.functional.conv2d(x, kernel, groups=3)[0].numpy()
    np.testing.assert_allclose(T.GaussianBlur((kx, ky), sigma=sigma)(IMG), ref, rtol=1e-5,
                               atol=1e-6)


def test_mixup_reference_and_cross_entropy_accepts_its_targets():
    x = RNG.standard_normal((6, 1, 4, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 1])
    xm, ym = T.mixup(td.Tensor(x), td.Tensor(y), alpha=0.4, num_classes=5, seed=9)
    rng = np.random.default_rng(9)
    lam, perm = rng.beta(0.4, 0.4), rng.permutation(6)
    np.testing.assert_allclose(xm.data, lam * x + (1 - lam) * x[perm], rtol=1e-6)
    onehot = np.eye(5)[y]
    np.testing.assert_allclose(ym.data, lam * onehot + (1 - lam) * onehot[perm], rtol=1e-6)
    logits = td.Tensor(RNG.standard_normal((6, 5)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, ym)
    logp = logits.data - np.log(np.exp(logits.data).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(-(ym.data * logp).sum(1).mean(), rel=1e-5)
    loss.backward()
    assert logits.grad is not None
    with pytest.raises(ValueError, match="num_classes"):
        T.mixup(x, y, alpha=0.4)


def test_cutmix_pastes_a_box_and_mixes_targets_by_area():
    n = 5
    x = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((n, 2, 8, 8), np.float32)
    y = np.arange(n)
    xm, ym = T.cutmix(x, y, alpha=1.0, num_classes=n, seed=2)
    rng = np.random.default_rng(2)
    rng.beta(1.0, 1.0)
    perm = rng.permutation(n)
    for i in range(n):
        from_other = xm.data[i, 0] != x[i, 0]
        if perm[i] == i:
            from_other[:] = False
        frac = from_other.mean()
        np.testing.assert_allclose(ym.data[i].sum(), 1.0, rtol=1e-6)
        if perm[i] != i:
            assert ym.data[i, perm[i]] == pytest.approx(frac, abs=1e-6)
            assert ym.data[i, i] == pytest.approx(1 - frac, abs=1e-6)


def test_dataset_transform_applies_per_fetch_and_is_reproducible():
    X = RNG.random((10, 1, 6, 6)).astype(np.float32)
    y = np.arange(10)
    ds = TensorDataset(X, y, transform=T.RandomHorizontalFlip(p=1.0))
    img, label = ds[3]
    np.testing.assert_array_equal(img, X[3][:, :, ::-1])
    assert label == 3
    aug = TensorDataset(X, y, transform=T.RandomAffine(30, seed=None))

    def epoch():
        td.manual_seed(0)
        return [xb.data.copy() for xb, _ in DataLoader(aug, batch_size=4, shuffle=True, seed=1)]
    a, b = epoch(), epoch()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert a[0].shape == (4, 1, 6, 6)
    with pytest.raises(TypeError, match="transform"):
        TensorDataset(X, y, transform=3)


def test_random_affine_bilinear_border_blends_fill_as_torchvision():
    """torchvision's affine warps with zeros outside, warps an all-ones mask m the same way,
    and gives m v + (1 - m) fill (its RandomAffine passes fill=0): a pixel half outside the
    image is darkened by m again. tinydl read fill as the value outside (v + (1 - m) fill):
    0.379 against torchvision's 0.143 in the corners of a 45 degree turn of ones."""
    ones = np.ones((2, 4, 4), np.float32)
    v = torchvision_affine(ones, 45.0, (0.0, 0.0), 1.0, (0.0, 0.0))
    m = v[:1]  # the warped all-ones image is the mask
    assert 0 < m.min() < 0.5  # some pixels are partly covered
    out = T.RandomAffine((45, 45), interpolation="bilinear", seed=0)(ones)
    np.testing.assert_allclose(out, m * v, atol=1e-6)
    fill = (0.25, 0.75)
    out = T.RandomAffine((45, 45), interpolation="bilinear", fill=fill, seed=0)(ones)
    np.testing.assert_allclose(out, m * v + (1 - m) * np.reshape(fill, (2, 1, 1)), atol=1e-6)
    # fill=None is the function's own default: zeros outside, no blend
    c = ((4 - 1) / 2, (4 - 1) / 2)
    np.testing.assert_allclose(T.warp_affine(ones, T.affine_matrix(45, (0, 0), 1, (0, 0), c), 1),
                               v, atol=1e-6)


def test_nearest_affine_fills_each_channel_with_its_own_value():
    img = np.full((7, 9, 3), 100, np.uint8)
    out = T.RandomAffine((30, 30), fill=(1, 2, 3), seed=0)(img)
    corner = out[0, 0]
    np.testing.assert_array_equal(corner, [1, 2, 3])
    assert (out == 100).all(axis=2).any()  # the middle keeps the image


@pytest.mark.parametrize("call, error, message", [
    (lambda: T.mixup(np.zeros((2, 1)), np.array([True, True]), num_classes=2, seed=0), TypeError,
     "mixup: targets must be integer class indices or float soft targets, got dtype bool"),
    (lambda: T.cutmix(np.zeros((2, 1, 4, 4)), np.array([True, False]), num_classes=2), TypeError,
     "cutmix: targets must be integer"),
    (lambda: T.mixup(np.zeros((2, 1), np.uint8), np.array([0, 1]), num_classes=2), TypeError,
     "mixup: expected floating point inputs, got dtype uint8"),
    (lambda: T.mixup(np.zeros((2, 1)), np.array([0, 1]), alpha=None, num_classes=2), TypeError,
     "mixup: alpha must be a positive number, got None"),
    (lambda: T.mixup(np.zeros((2, 1)), np.eye(2), num_classes=3), ValueError,
     r"mixup: soft targets of shape \(2, 2\) have 2 classes, but num_classes=3"),
    (lambda: T.ColorJitter(saturation=(0, 0))(np.zeros((4, 4, 4), np.uint8)), TypeError,
     r"ColorJitter: expected an image of 1 or 3 channels, got 4 \(shape \(4, 4, 4\)\)"),
    (lambda: T.RandomCrop(6, padding=1, fill=300)(np.zeros((4, 4, 3), np.uint8)), ValueError,
     r"RandomCrop: fill 300 does not fit a uint8 image \(0..255\)"),
    (lambda: T.RandomCrop(6, padding=1, fill=-1)(np.zeros((4, 4, 3), np.uint8)), ValueError,
     "does not fit a uint8 image"),
    (lambda: T.RandomCrop(4, padding=(1, 2, 3)), ValueError,
     r"RandomCrop: padding must be a non-negative int, .* got \(1, 2, 3\)"),
    (lambda: T.RandomCrop(4, padding=-1), ValueError, "padding must be a non-negative int"),
    (lambda: T.RandomCrop(4, padding=1.5), ValueError, "padding must be a non-negative int"),
    (lambda: T.RandomAffine(10, translate=(0.1,)), ValueError,
     r"RandomAffine: translate must be \(tx, ty\)"),
    (lambda: T.RandomAffine(10, fill=(1, 0))(np.zeros((4, 4, 3), np.uint8)), ValueError,
     r"warp_affine: fill must be one number or one per channel \(3\), got \(1, 0\)"),
    (lambda: T.RandomAffine(10, fill="a")(np.zeros((4, 4, 3), np.uint8)), ValueError,
     "warp_affine: fill must be one number or one per channel"),
    (lambda: T.GaussianBlur(3, sigma=(1, 2, 3)), ValueError, "GaussianBlur: sigma must be"),
    (lambda: T.RandomHorizontalFlip("a"), ValueError,
     r"RandomHorizontalFlip: p must be a probability in \[0, 1\], got 'a'"),
    (lambda: T.RandomErasing(p=1.5), ValueError, "RandomErasing: p must be a probability"),
])
def test_bad_arguments_raise_naming_the_transform(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("make", [
    lambda: T.RandomHorizontalFlip(p=1.0), lambda: T.ColorJitter(brightness=0.5),
    lambda: T.ToTensor(), lambda: T.RandomCrop(2),
])
def test_uint8_chw_image_is_refused(make):
    """torchvision.io.read_image gives uint8 CHW; read as HWC, a horizontal flip flipped its
    rows, silently."""
    chw = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    with pytest.raises(ValueError, match=r"a uint8 image is HWC .* shape \(3, 4, 5\) looks "
                                         r"CHW .*img\.transpose\(1, 2, 0\)"):
        make()(chw)
    hwc = chw.transpose(1, 2, 0)  # the same picture as HWC works, and so do HWC shapes
    assert np.array_equal(T.RandomHorizontalFlip(p=1.0)(hwc), hwc[:, ::-1])
    small = np.zeros((3, 5, 3), np.uint8)  # 3 rows of 3 channels: HWC, not refused
    assert T.RandomHorizontalFlip(p=1.0)(small).shape == (3, 5, 3)


def test_normalize_keeps_the_graph_and_the_others_refuse_an_image_that_requires_grad():
    # The transforms worked on the data: x.grad stayed None after backward, silently.
    x = td.tensor(np.random.default_rng(0).random((3, 4, 4)).astype(np.float32), requires_grad=True)
    y = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))(x.data),
                               rtol=1e-5, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data[:, 0, 0], [5.0, 4.0, 2.0], rtol=1e-6)
    gray = td.tensor(np.ones((4, 4)), requires_grad=True)
    T.Normalize((0.5,), (0.25,))(gray).sum().backward()
    assert np.all(gray.grad.data == 4.0)
    with pytest.raises(TypeError, match="RandomHorizontalFlip: the image requires grad"):
        T.RandomHorizontalFlip(1.0)(x)
    with td.no_grad():
        assert T.RandomHorizontalFlip(1.0)(x).shape == (3, 4, 4)
    assert T.RandomHorizontalFlip(1.0)(x.detach()).shape == (3, 4, 4)
