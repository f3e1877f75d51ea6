"""roi_align: SPEC vectors, a scalar transcription of torchvision's CPU kernel, gradients."""
import math

import numpy as np
import pytest

import tinydl
from tinydl.vision import roi_align


def bilinear_terms(y, x, height, width):
    """torchvision's bilinear_interpolate: [(y, x, weight)] of the four neighbours, or []."""
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return []
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return [(y_low, x_low, hy * hx), (y_low, x_high, hy * lx),
            (y_high, x_low, ly * hx), (y_high, x_high, ly * lx)]


def reference_terms(roi, height, width, ph, pw, scale, sampling_ratio, aligned):
    """For each bin (i, j): the list of (y, x, weight / count) it reads, as loops."""
    offset = 0.5 if aligned else 0.0
    start_w, start_h = roi[1] * scale - offset, roi[2] * scale - offset
    roi_w, roi_h = roi[3] * scale - offset - start_w, roi[4] * scale - offset - start_h
    if not aligned:
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph)
    grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw)
    count = max(grid_h * grid_w, 1)
    out = {}
    for i in range(ph):
        for j in range(pw):
            terms = []
            for iy in range(grid_h):
                y = start_h + i * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = start_w + j * bin_w + (ix + 0.5) * bin_w / grid_w
                    terms += [(a, b, w / count) for a, b, w in bilinear_terms(y, x, height, width)]
            out[i, j] = terms
    return out


def reference_forward(x, rois, ph, pw, scale, sampling_ratio, aligned):
    out = np.zeros((len(rois), x.shape[1], ph, pw))
    for k, roi in enumerate(rois):
        b = int(roi[0])
        for (i, j), terms in reference_terms(roi, x.shape[2], x.shape[3], ph, pw, scale, sampling_ratio,
                                             aligned).items():
            for a, c, w in terms:
                out[k, :, i, j] += w * x[b, :, a, c]
    return out


def reference_backward(grad, rois, shape, scale, sampling_ratio, aligned):
    dx = np.zeros(shape)
    ph, pw = grad.shape[2:]
    for k, roi in enumerate(rois):
        b = int(roi[0])
        for (i, j), terms in reference_terms(roi, shape[2], shape[3], ph, pw, scale, sampling_ratio,
                                             aligned).items():
            for a, c, w in terms:
                dx[b, :, a, c] += w * grad[k, :, i, j]
    return dx


def ramp():
    y, x = np.mgrid[0:4, 0:4]
    return tinydl.Tensor((4.0 * y + x).reshape(1, 1, 4, 4))


@pytest.mark.parametrize("box, aligned, expected", [
    ([0, 0, 3, 3], False, 7.5),
    ([0, 0, 3, 3], True, 5.0),
    ([0, 0, 4, 4], False, 9.375),
])
def test_spec_vectors(box, aligned, expected):
    out = roi_align(ramp(), np.array([[0, *box]], dtype=float), 1, aligned=aligned)
    assert out.shape == (1, 1, 1, 1)
    assert out.item() == pytest.approx(expected, abs=1e-12)


ROIS = np.array([
    [0, 0.3, 1.2, 4.5, 5.5],
    [1, -2.0, -1.0, 3.0, 2.5],     # partly outside: samples below -1 count as zeros
    [1, 2.0, 2.0, 9.0, 8.0],       # past the right and bottom edges
    [0, 1.0, 1.0, 1.5, 1.2],       # smaller than a pixel: clamped to 1x1 unless aligned
    [1, 5.0, 3.0, 5.0, 3.0],       # zero size
])


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 2, 3])
def test_matches_reference_kernel(aligned, sampling_ratio):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    rois = ROIS * np.array([1, 1.7, 1.7, 1.7, 1.7])  # spatial_scale brings them back
    out = roi_align(tinydl.Tensor(x), rois, (2, 3), spatial_scale=1 / 1.7,
                    sampling_ratio=sampling_ratio, aligned=aligned)
    expected = reference_forward(x, rois, 2, 3, 1 / 1.7, sampling_ratio, aligned)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    grad = rng.normal(size=expected.shape)
    xt = tinydl.Tensor(x, requires_grad=True)
    roi_align(xt, rois, (2, 3), 1 / 1.7, sampling_ratio, aligned).backward(tinydl.Tensor(grad))
    np.testing.assert_allclose(xt.grad.data,
                               reference_backward(grad, rois, x.shape, 1 / 1.7, sampling_ratio, aligned),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
def test_gradcheck(aligned, sampling_ratio):
    rng = np.random.default_rng(1)
    x = tinydl.Tensor(rng.normal(size=(2, 2, 6, 5)), requires_grad=True)
    rois = ROIS[:4]
    assert tinydl.gradcheck(lambda t: roi_align(t, rois, (2, 2), 0.8, sampling_ratio, aligned), (x,))


def test_gradgradcheck():
    rng = np.random.default_rng(2)
    x = tinydl.Tensor(rng.normal(size=(2, 2, 5, 5)), requires_grad=True)
    assert tinydl.gradgradcheck(lambda t: roi_align(t, ROIS[:3], 2, 1.0, -1, True) ** 2, (x,))


def test_dtype_shapes_and_empty():
    x = tinydl.Tensor(np.ones((1, 4, 8, 8), dtype=np.float32), requires_grad=True)
    out = roi_align(x, [[0, 0, 0, 8, 8]], (3, 2), sampling_ratio=2)
    assert out.shape == (1, 4, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, 1.0, rtol=1e-6)
    empty = roi_align(x, np.zeros((0, 5)), 2)
    assert empty.shape == (0, 4, 2, 2)


def test_float16_runs_in_float32_and_returns_float16():
    # scipy.sparse has no float16: the op computes in float32 and casts back (it raised a
    # SciPy dtype error), forward and backward.
    rng = np.random.default_rng(3)
    x32 = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    x16 = tinydl.Tensor(x32.astype(np.float16), requires_grad=True)
    out = roi_align(x16, ROIS[:3], 2, sampling_ratio=2)
    want = roi_align(tinydl.Tensor(x16.data.astype(np.float32)), ROIS[:3], 2, sampling_ratio=2)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.data, want.data.astype(np.float16), rtol=1e-3, atol=1e-3)
    out.sum().backward()
    assert x16.grad.dtype == np.float16 and x16.grad.shape == x16.shape


@pytest.mark.parametrize("shape", [(1, 1, 0, 4), (1, 1, 4, 0)])
def test_an_empty_feature_map_is_refused_clearly(shape):
    with pytest.raises(ValueError, match="roi_align: input of shape .* empty feature map"):
        roi_align(np.zeros(shape), np.array([[0, 0, 0, 2, 2.0]]), 2)  # was a SciPy error


def test_errors():
    x = tinydl.Tensor(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"roi_align.*\(N, C, H, W\)"):
        roi_align(tinydl.Tensor(np.zeros((1, 4, 4))), [[0, 0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match=r"roi_align.*\(K, 5\)"):
        roi_align(x, [[0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match="roi_align.*batch"):
        roi_align(x, [[2, 0, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match="roi_align.*x2 >= x1"):
        roi_align(x, [[0, 3, 0, 1, 1]], 2)
    with pytest.raises(ValueError, match="roi_align.*output_size"):
        roi_align(x, [[0, 0, 0, 1, 1]], 0)
    with pytest.raises(ValueError, match="roi_align.*spatial_scale"):
        roi_align(x, [[0, 0, 0, 1, 1]], 2, spatial_scale=0)


def test_samples_outside_the_image_read_no_pixel_even_an_infinite_one():
    """torchvision's bilinear_interpolate returns 0 for a sample outside the image without
    reading a pixel; kept with weight 0 against the clamped border pixel, 0 * inf made NaN."""
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 0, 0] = np.inf
    out = roi_align(x, np.array([[0.0, -5.0, -5.0, -2.0, -2.0]]), 2, sampling_ratio=2)
    np.testing.assert_array_equal(out.data, np.zeros((1, 1, 2, 2)))
