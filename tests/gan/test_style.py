"""adain: per-channel style statistics, the InstanceNorm form, gradients."""
import numpy as np
import pytest

import tinydl
from tinydl.gan import adain


def test_output_has_style_mean_and_std_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.5, size=(3, 4, 6, 5))
    scale, bias = rng.uniform(0.5, 2.0, size=(3, 4)), rng.normal(size=(3, 4))
    out = adain(tinydl.Tensor(x), scale, bias, eps=1e-5).data
    np.testing.assert_allclose(out.mean(axis=(2, 3)), bias, atol=1e-12)
    # the biased variance with eps inside the sqrt: std = scale * sqrt(var / (var + eps))
    var = x.var(axis=(2, 3))
    np.testing.assert_allclose(out.std(axis=(2, 3)), scale * np.sqrt(var / (var + 1e-5)),
                               rtol=1e-12)
    np.testing.assert_allclose(out.std(axis=(2, 3)), scale, rtol=1e-5)


def test_matches_elementwise_formula_and_keeps_float32():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 4)).astype(np.float32)
    scale = rng.normal(size=(2, 3)).astype(np.float32)
    bias = rng.normal(size=(2, 3)).astype(np.float32)
    out = adain(x, scale, bias, eps=0.1)
    assert out.dtype == np.float32 and out.shape == x.shape
    x64 = x.astype(np.float64)
    mu, var = x64.mean(axis=(2, 3), keepdims=True), x64.var(axis=(2, 3), keepdims=True)
    ref = scale[:, :, None, None] * (x64 - mu) / np.sqrt(var + 0.1) + bias[:, :, None, None]
    np.testing.assert_allclose(out.data, ref, rtol=1e-5, atol=1e-5)


def test_matches_torch_instance_norm():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 5, 5))
    scale, bias = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    ref = torch.nn.functional.instance_norm(torch.tensor(x), eps=1e-5).numpy()
    ref = ref * scale[:, :, None, None] + bias[:, :, None, None]
    np.testing.assert_allclose(adain(x, scale, bias).data, ref, rtol=1e-10, atol=1e-12)


def test_gradients_in_all_inputs_and_any_spatial_rank():
    rng = np.random.default_rng(3)
    for shape in [(2, 2, 3, 3), (2, 3, 5)]:
        x = tinydl.Tensor(rng.normal(size=shape), requires_grad=True)
        scale = tinydl.Tensor(rng.normal(size=shape[:2]), requires_grad=True)
        bias = tinydl.Tensor(rng.normal(size=shape[:2]), requires_grad=True)
        weights = tinydl.Tensor(rng.normal(size=shape))
        assert tinydl.gradcheck(lambda a, s, b: (adain(a, s, b) * weights).sum(), [x, scale, bias])


def test_bad_shapes():
    x = np.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"adain: style_scale.*\(2, 3\).*\(3, 2\)"):
        adain(x, np.ones((3, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"adain: style_bias.*\(2,\)"):
        adain(x, np.ones((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="adain: x.*spatial"):
        adain(np.zeros((2, 3)), np.ones((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="adain: eps"):
        adain(x, np.ones((2, 3)), np.zeros((2, 3)), eps=0.0)
