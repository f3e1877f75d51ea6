"""gan_losses: each kind against its formula written independently with scipy.special.log_expit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_expit

import tinydl
from tinydl.gan import GAN_LOSS_KINDS, gan_losses


def reference(l_r, l_f, kind):
    """(d_loss, g_loss) in terms of log D = log sigmoid(l) and log(1 - D) = log sigmoid(-l)."""
    if kind == "minimax":
        d = -np.mean(log_expit(l_r)) - np.mean(log_expit(-l_f))
        return d, np.mean(log_expit(-l_f))
    if kind == "nonsaturating":
        d = -np.mean(log_expit(l_r)) - np.mean(log_expit(-l_f))
        return d, -np.mean(log_expit(l_f))
    if kind == "wgan":
        return np.mean(l_f) - np.mean(l_r), -np.mean(l_f)
    if kind == "hinge":
        d = np.mean(np.maximum(0, 1 - l_r)) + np.mean(np.maximum(0, 1 + l_f))
        return d, -np.mean(l_f)
    if kind == "rsgan":
        return -np.mean(log_expit(l_r - l_f)), -np.mean(log_expit(l_f - l_r))
    # ragan: D(x_r, x_f) = sigmoid(l_r - mean l_f), D(x_f, x_r) = sigmoid(l_f - mean l_r)
    d = -np.mean(log_expit(l_r - l_f.mean())) - np.mean(log_expit(-(l_f - l_r.mean())))
    g = -np.mean(log_expit(l_f - l_r.mean())) - np.mean(log_expit(-(l_r - l_f.mean())))
    return d, g


@pytest.mark.parametrize("kind", GAN_LOSS_KINDS)
def test_matches_formula_on_random_logits(kind):
    rng = np.random.default_rng(1)
    l_r, l_f = rng.normal(0, 3, 16), rng.normal(0, 3, 16)
    d, g = gan_losses(tinydl.Tensor(l_r), tinydl.Tensor(l_f), kind)
    d_ref, g_ref = reference(l_r, l_f, kind)
    assert d.shape == () and g.shape == ()
    np.testing.assert_allclose(d.item(), d_ref, rtol=1e-12, err_msg=f"{kind} d_loss")
    np.testing.assert_allclose(g.item(), g_ref, rtol=1e-12, err_msg=f"{kind} g_loss")


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_log_sigmoid_form_agrees_with_probabilities_at_moderate_logits(kind):
    # The textbook form: D = -E log D(x) - E log(1 - D(G(z))), in probabilities.
    rng = np.random.default_rng(2)
    l_r, l_f = rng.normal(size=8), rng.normal(size=8)
    p_r, p_f = 1 / (1 + np.exp(-l_r)), 1 / (1 + np.exp(-l_f))
    d, g = gan_losses(tinydl.Tensor(l_r), tinydl.Tensor(l_f), kind)
    np.testing.assert_allclose(d.item(), -np.mean(np.log(p_r)) - np.mean(np.log(1 - p_f)),
                               rtol=1e-10)
    g_ref = np.mean(np.log(1 - p_f)) if kind == "minimax" else -np.mean(np.log(p_f))
    np.testing.assert_allclose(g.item(), g_ref, rtol=1e-10)


@pytest.mark.parametrize("kind", GAN_LOSS_KINDS)
def test_gradients_pass_gradcheck(kind):
    rng = np.random.default_rng(3)
    # Keep hinge logits away from its kinks at +-1, where finite differences straddle them.
    l_r = tinydl.Tensor(rng.uniform(1.2, 3, 5) * rng.choice([-1, 1], 5), requires_grad=True)
    l_f = tinydl.Tensor(rng.uniform(1.2, 3, 5) * rng.choice([-1, 1], 5), requires_grad=True)
    assert tinydl.gradcheck(lambda a, b: gan_losses(a, b, kind)[0], [l_r, l_f])
    assert tinydl.gradcheck(lambda a, b: gan_losses(a, b, kind)[1], [l_r, l_f])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", GAN_LOSS_KINDS)
def test_finite_at_extreme_logits(kind, dtype):
    extremes = np.array([-1e4, 1e4, 1e4, -1e4], dtype=dtype)
    for l_r, l_f in [(extremes, extremes[::-1].copy()), (extremes, extremes)]:
        a = tinydl.Tensor(l_r, requires_grad=True)
        b = tinydl.Tensor(l_f, requires_grad=True)
        for i, loss in enumerate(gan_losses(a, b, kind)):
            ga, gb = tinydl.grad(loss, [a, b], retain_graph=True, allow_unused=True)
            assert np.isfinite(loss.item()), f"{kind} loss {i} not finite"
            for gr in (ga, gb):
                assert gr is None or np.all(np.isfinite(gr.data)), f"{kind} loss {i} grad"
            d_ref, g_ref = reference(l_r.astype(np.float64), l_f.astype(np.float64), kind)
            np.testing.assert_allclose(loss.item(), (d_ref, g_ref)[i], rtol=1e-6)


def test_saturation_is_visible_in_minimax_but_not_nonsaturating():
    # When D confidently rejects the fakes (l_f very negative) the minimax generator gradient
    # vanishes while the nonsaturating one is ~ -1/N per sample: the reason the trick exists.
    l_r = tinydl.Tensor(np.full(4, 20.0))
    l_f = tinydl.Tensor(np.full(4, -20.0), requires_grad=True)
    (g_minimax,) = tinydl.grad(gan_losses(l_r, l_f, "minimax")[1], [l_f])
    (g_nonsat,) = tinydl.grad(gan_losses(l_r, l_f, "nonsaturating")[1], [l_f])
    assert np.all(np.abs(g_minimax.data) < 1e-8)
    np.testing.assert_allclose(g_nonsat.data, -0.25, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(GAN_LOSS_KINDS),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seed=st.integers(0, 2**16))
def test_any_batch_shape_reduces_to_a_scalar_mean(kind, shape, seed):
    rng = np.random.default_rng(seed)
    l_r, l_f = rng.normal(0, 5, shape), rng.normal(0, 5, shape)
    d, g = gan_losses(l_r, l_f, kind)
    d_ref, g_ref = reference(l_r.ravel(), l_f.ravel(), kind)
    np.testing.assert_allclose([d.item(), g.item()], [d_ref, g_ref], rtol=1e-10, atol=1e-12)


def test_float32_in_float32_out():
    d, g = gan_losses(np.zeros(3, np.float32), np.ones(3, np.float32), "ragan")
    assert d.dtype == np.float32 and g.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="gan_losses.*kind"):
        gan_losses(np.zeros(2), np.zeros(2), "lsgan")
    with pytest.raises(ValueError, match=r"gan_losses.*\(3,\).*\(2,\)"):
        gan_losses(np.zeros(3), np.zeros(2), "rsgan")
    with pytest.raises(TypeError, match="gan_losses.*d_real"):
        gan_losses(np.zeros(2, np.int64), np.zeros(2), "wgan")
    with pytest.raises(ValueError, match="gan_losses.*d_fake.*empty"):
        gan_losses(np.zeros(2), np.zeros(0), "hinge")
