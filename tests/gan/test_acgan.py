"""tinydl.gan.acgan: the auxiliary head returns logits, the losses match their formulas, and
the anti-collapse pieces (minibatch stddev, mode seeking) compute what their papers say."""
import numpy as np
import pytest

import tinydl
from tinydl.gan import (ACGANDiscriminator, ACGANGenerator, acgan_losses, gan_losses,
                        minibatch_stddev, mode_seeking_loss)


def np_log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def np_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@pytest.mark.parametrize("mbstd_group", [0, 4])
def test_auxiliary_head_returns_logits(mbstd_group):
    # A softmax output is invariant to adding one constant to every class score; logits move
    # with it. Shifting the class head's bias by 5 must shift every class output by 5.
    tinydl.manual_seed(0)
    disc = ACGANDiscriminator(n_classes=10, hidden=32, mbstd_group=mbstd_group)
    x = tinydl.rand(8, 1, 8, 8)
    with tinydl.no_grad():
        source, logits = disc(x)
        disc.class_head.bias.data[...] += 5.0
        _, shifted = disc(x)
    assert source.shape == (8,) and logits.shape == (8, 10)
    np.testing.assert_allclose(shifted.numpy() - logits.numpy(), 5.0, rtol=0, atol=1e-5)
    assert not np.allclose(logits.numpy().sum(axis=1), 1.0, atol=1e-3)


def test_losses_match_the_paper_formula():
    rng = np.random.default_rng(1)
    s_r, s_f = rng.normal(size=6), rng.normal(size=6)
    c_r, c_f = 3 * rng.normal(size=(6, 4)), 3 * rng.normal(size=(6, 4))
    y_r, y_f = rng.integers(4, size=6), rng.integers(4, size=6)
    d_loss, g_loss = acgan_losses(*(tinydl.Tensor(a) for a in (s_r, s_f, c_r, c_f)), y_r, y_f,
                                  aux_weight=0.7)
    ce_r = -np_log_softmax(c_r)[np.arange(6), y_r].mean()
    ce_f = -np_log_softmax(c_f)[np.arange(6), y_f].mean()
    d_source = np_softplus(-s_r).mean() + np_softplus(s_f).mean()
    np.testing.assert_allclose(d_loss.item(), d_source + 0.7 * (ce_r + ce_f), rtol=1e-6)
    np.testing.assert_allclose(g_loss.item(), np_softplus(-s_f).mean() + 0.7 * ce_f, rtol=1e-6)
    # Any gan_losses kind is the source loss.
    d_h, g_h = acgan_losses(s_r, s_f, c_r, c_f, y_r, y_f, kind="hinge", aux_weight=0.0)
    ref_d, ref_g = gan_losses(s_r, s_f, "hinge")
    np.testing.assert_allclose([d_h.item(), g_h.item()], [ref_d.item(), ref_g.item()])


def test_generator_gradient_on_class_logits_is_softmax_minus_one_hot():
    # The gradient of CE on logits: (softmax - one_hot) / N. After a softmax in front of the
    # loss it would be far smaller (the bug this guards against); here it must be exact.
    rng = np.random.default_rng(2)
    c_f = tinydl.Tensor(4 * rng.normal(size=(5, 3)), requires_grad=True)
    y_f = np.array([0, 1, 2, 2, 1])
    _, g_loss = acgan_losses(np.zeros(5), np.zeros(5), rng.normal(size=(5, 3)), c_f, y_f, y_f,
                             aux_weight=2.0)
    g_loss.backward()
    p = np.exp(np_log_softmax(c_f.numpy()))
    expected = 2.0 * (p - np.eye(3)[y_f]) / 5
    np.testing.assert_allclose(c_f.grad.numpy(), expected, rtol=1e-6, atol=1e-12)


def test_probabilities_are_refused():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 10))
    probs = np.exp(np_log_softmax(logits))
    y = np.arange(4)
    with pytest.raises(ValueError, match="acgan_losses: every row of class_fake is a "
                                         "probability vector"):
        acgan_losses(np.zeros(4), np.zeros(4), logits, probs, y, y)
    with pytest.raises(ValueError, match="labels for class_real"):
        acgan_losses(np.zeros(4), np.zeros(4), logits, logits, y[:3], y)
    with pytest.raises(ValueError, match="kind"):
        acgan_losses(np.zeros(4), np.zeros(4), logits, logits, y, y, kind="lsgan")


def test_generator_is_conditioned_and_in_range():
    tinydl.manual_seed(4)
    gen = ACGANGenerator(latent_dim=6, n_classes=10, hidden=16)
    z = tinydl.randn(10, 6)
    with tinydl.no_grad():
        a, b = gen(z, np.zeros(10, dtype=np.int64)), gen(z, np.arange(10))
    assert a.shape == (10, 1, 8, 8)
    assert a.numpy().min() >= 0 and a.numpy().max() <= 1
    assert np.abs(a.numpy()[1:] - b.numpy()[1:]).max() > 1e-4  # the class changes the image
    np.testing.assert_array_equal(a.numpy()[0], b.numpy()[0])  # same noise, same class
    with pytest.raises(ValueError, match="ACGANGenerator: z"):
        gen(tinydl.randn(10, 5), np.arange(10))
    with pytest.raises(ValueError, match="ACGANGenerator: labels"):
        gen(z, np.arange(9))


def test_minibatch_stddev_matches_numpy_and_sees_collapse():
    rng = np.random.default_rng(5)
    h = rng.normal(size=(8, 3))
    got = minibatch_stddev(tinydl.Tensor(h), 4).numpy()
    groups = h.reshape(2, 4, 3)
    per_group = np.sqrt(groups.var(axis=1) + 1e-8).mean(axis=1)
    np.testing.assert_allclose(got, np.repeat(per_group, 4)[:, None], rtol=1e-10)
    collapsed = np.repeat(h[:2], 4, axis=0)  # every group holds one row four times
    assert minibatch_stddev(tinydl.Tensor(collapsed), 4).numpy().max() < 1e-3
    x = tinydl.Tensor(collapsed, requires_grad=True)
    minibatch_stddev(x, 4).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    with pytest.raises(ValueError, match="minibatch_stddev"):
        minibatch_stddev(tinydl.Tensor(h), 3)


def test_mode_seeking_loss_formula():
    rng = np.random.default_rng(6)
    xa, xb = rng.uniform(size=(4, 1, 8, 8)), rng.uniform(size=(4, 1, 8, 8))
    za, zb = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    got = mode_seeking_loss(*(tinydl.Tensor(a) for a in (xa, xb, za, zb))).item()
    ratio = np.abs(xa - xb).mean() / np.abs(za - zb).mean()
    np.testing.assert_allclose(got, 1 / (ratio + 1e-5), rtol=1e-10)
    with pytest.raises(ValueError, match="mode_seeking_loss"):
        mode_seeking_loss(tinydl.Tensor(xa), tinydl.Tensor(xb[:3]), tinydl.Tensor(za),
                          tinydl.Tensor(zb))
