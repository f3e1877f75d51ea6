"""gradient_penalty and clip_weights: closed forms, the interpolation, second-order gradients."""
import numpy as np
import pytest

import tinydl
from tinydl.gan import clip_weights, gradient_penalty


@pytest.mark.parametrize("w", [[0.3, -0.4], [1.0, 2.0, -2.0], [0.6, 0.8]])
def test_linear_critic_closed_form(w):
    # D(x) = w.x has gradient w everywhere: GP = lam (||w|| - 1)^2 for any eps,
    # dGP/dw = 2 lam (||w|| - 1) w / ||w||.
    w_np = np.array(w)
    w_t = tinydl.Tensor(w_np, requires_grad=True)
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(7, len(w))), rng.normal(size=(7, len(w)))
    tinydl.manual_seed(0)
    gp = gradient_penalty(lambda x: x @ w_t, real, fake, lam=10.0)
    gp.backward()
    norm = np.linalg.norm(w_np)
    np.testing.assert_allclose(gp.item(), 10.0 * (norm - 1) ** 2, rtol=1e-9, atol=1e-12)
    # atol: the norm carries a 1e-12 under its square root (so a zero gradient has no NaN)
    np.testing.assert_allclose(w_t.grad.data, 20.0 * (norm - 1) * w_np / norm, rtol=1e-9,
                               atol=1e-10)


def test_norm_is_over_all_non_batch_axes():
    # A critic on (N, 2, 3) inputs, D(x) = sum(W * x): the gradient is W, its norm the
    # Frobenius norm of W (not a per-row norm).
    w_np = np.arange(6.0).reshape(2, 3) / 10
    w_t = tinydl.Tensor(w_np, requires_grad=True)
    real, fake = np.ones((4, 2, 3)), np.zeros((4, 2, 3))
    gp = gradient_penalty(lambda x: (x * w_t).sum(axis=(1, 2)), real, fake, lam=2.0)
    gp.backward()
    norm = np.linalg.norm(w_np)
    np.testing.assert_allclose(gp.item(), 2.0 * (norm - 1) ** 2, rtol=1e-9)
    np.testing.assert_allclose(w_t.grad.data, 4.0 * (norm - 1) * w_np / norm, rtol=1e-9)


def test_quadratic_critic_matches_reference_with_the_seen_interpolates():
    # D(x) = ||x||^2 / 2 has gradient x itself: GP = lam mean (||xhat_i|| - 1)^2, with xhat the
    # points the critic was actually called on; those must lie on the segments real_i--fake_i,
    # one eps in [0, 1] per sample.
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(64, 3, 2)), rng.normal(size=(64, 3, 2))
    seen = []

    def critic(x):
        seen.append(x.data.copy())
        return 0.5 * (x * x).sum(axis=(1, 2))

    gp = gradient_penalty(critic, real, fake, lam=3.0)
    xhat = seen[0]
    norms = np.linalg.norm(xhat.reshape(64, -1), axis=1)
    np.testing.assert_allclose(gp.item(), 3.0 * np.mean((norms - 1) ** 2), rtol=1e-9)
    # eps_i = (xhat_i - fake_i) / (real_i - fake_i), the same for every coordinate of sample i
    eps = (xhat - fake) / (real - fake)
    np.testing.assert_allclose(eps, np.broadcast_to(eps[:, :1, :1], eps.shape), rtol=1e-8)
    eps = eps[:, 0, 0]
    assert np.all((eps >= 0) & (eps <= 1))
    assert np.unique(eps).size == 64, "eps must be drawn per sample"
    assert 0.3 < eps.mean() < 0.7, "eps should look uniform on [0, 1]"


def test_interpolation_follows_tinydl_seed():
    seen = []

    def critic(x):
        seen.append(x.data.copy())
        return x.sum(axis=1)

    real, fake = np.ones((5, 2)), np.zeros((5, 2))
    for _ in range(2):
        tinydl.manual_seed(123)
        gradient_penalty(critic, real, fake)
    gradient_penalty(critic, real, fake)
    np.testing.assert_array_equal(seen[0], seen[1])
    assert not np.array_equal(seen[1], seen[2])


def test_penalty_gradient_wrt_critic_weights_passes_gradcheck():
    # A small smooth float64 MLP critic written with Tensor ops; the penalty is a function of
    # its weights through a second-order gradient. Reseeding fixes eps between evaluations.
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    params = [tinydl.Tensor(rng.normal(size=s), requires_grad=True) for s in [(3, 4), (4,), (4, 1)]]

    def penalty(w1, b1, w2):
        tinydl.manual_seed(7)
        return gradient_penalty(lambda x: (x @ w1 + b1).tanh() @ w2, real, fake, lam=5.0)

    assert tinydl.gradcheck(penalty, params)


def test_penalty_gradient_through_elu_and_softplus_critic():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    params = [tinydl.Tensor(rng.normal(size=s), requires_grad=True) for s in [(2, 5), (5, 1)]]

    def penalty(w1, w2):
        tinydl.manual_seed(11)
        return gradient_penalty(lambda x: tinydl.softplus(tinydl.elu(x @ w1) @ w2), real, fake)

    assert tinydl.gradcheck(penalty, params)


def test_fake_and_real_are_detached():
    # The penalty constrains only the critic: nothing flows back into a generator.
    theta = tinydl.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    z = tinydl.Tensor(np.random.default_rng(4).normal(size=(3, 1)))
    fake = z @ theta.reshape(1, 2)
    real = tinydl.Tensor(np.ones((3, 2)), requires_grad=True)
    w = tinydl.Tensor(np.array([2.0, 1.0]), requires_grad=True)
    gp = gradient_penalty(lambda x: (x * x) @ w, real, fake)
    gp.backward()
    assert theta.grad is None and real.grad is None
    assert w.grad is not None and np.all(np.isfinite(w.grad.data))


def test_works_under_no_grad_and_with_dead_relu_critic():
    w = tinydl.Tensor(np.array([[1.0], [1.0]]), requires_grad=True)
    real = -np.ones((4, 2))  # every ReLU is off: the input gradient is exactly zero
    with tinydl.no_grad():
        gp = gradient_penalty(lambda x: (x @ w).relu(), real, real * 2, lam=10.0)
    assert gp.requires_grad
    np.testing.assert_allclose(gp.item(), 10.0, rtol=1e-5)  # (0 - 1)^2, up to the 1e-12 in the sqrt
    gp.backward()
    # The input gradient is 0 for every w near this one (all units stay off), so the penalty
    # does not depend on w there: its gradient is exactly 0 (finite, no NaN from the norm at 0).
    np.testing.assert_array_equal(w.grad.data, np.zeros((2, 1)))


def test_dtype_follows_input():
    w = tinydl.Tensor(np.ones(2, np.float32), requires_grad=True)
    real, fake = np.zeros((3, 2), np.float32), np.ones((3, 2), np.float32)
    gp = gradient_penalty(lambda x: x @ w, real, fake)
    assert gp.dtype == np.float32


def test_bad_input():
    w = tinydl.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient_penalty.*\(3, 2\).*\(4, 2\)"):
        gradient_penalty(lambda x: x @ w, np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="gradient_penalty.*callable"):
        gradient_penalty(w, np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="gradient_penalty.*depend"):
        gradient_penalty(lambda x: w.sum(), np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="gradient_penalty.*batch"):
        gradient_penalty(lambda x: x @ w, np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="gradient_penalty.*lam"):
        gradient_penalty(lambda x: x @ w, np.zeros((3, 2)), np.zeros((3, 2)), lam=-1.0)


def test_clip_weights_clamps_in_place():
    a = tinydl.Tensor(np.array([-0.5, -0.005, 0.0, 0.003, 2.0]), requires_grad=True)
    b = tinydl.Tensor(np.array([[0.02, -0.02]], np.float32), requires_grad=True)
    a_data = a.data
    clip_weights([a, b], c=0.01)
    assert a.data is a_data
    np.testing.assert_array_equal(a.data, [-0.01, -0.005, 0.0, 0.003, 0.01])
    np.testing.assert_array_equal(b.data, np.array([[0.01, -0.01]], np.float32))
    assert b.dtype == np.float32


def test_clip_weights_bad_input():
    with pytest.raises(ValueError, match="clip_weights.*c"):
        clip_weights([], c=0.0)
    with pytest.raises(TypeError, match="clip_weights"):
        clip_weights([np.zeros(2)])


# ----------------------------------------------------------------------------- nn critics
def mlp_critic(spectral=False):
    from tinydl import nn
    first, last = nn.Linear(3, 6), nn.Linear(5, 1)
    model = nn.Sequential(first, nn.LeakyReLU(0.2), nn.Linear(6, 5), nn.Tanh(), last).double()
    if spectral:
        nn.utils.spectral_norm(first)
        nn.utils.spectral_norm(last)
    return model


def conv_critic(spectral=False):
    from tinydl import nn
    conv = nn.Conv2d(2, 3, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), nn.Conv2d(3, 2, 3, stride=2), nn.Tanh(),
                          nn.Flatten(), nn.Linear(8, 1)).double()
    if spectral:
        nn.utils.spectral_norm(conv)
    return model


CRITICS = {
    "mlp": (mlp_critic, False, (5, 3)),
    "mlp-spectral": (mlp_critic, True, (5, 3)),
    "conv": (conv_critic, False, (3, 2, 5, 5)),
    "conv-spectral": (conv_critic, True, (3, 2, 5, 5)),
}


@pytest.mark.parametrize("name", CRITICS)
def test_nn_critic_penalty_gradient_passes_gradcheck(name):
    build, spectral, shape = CRITICS[name]
    tinydl.manual_seed(0)
    model = build(spectral)
    if spectral:
        model.eval()  # u, v frozen, so the penalty is a fixed function of the weights
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=shape), rng.normal(size=shape)

    def penalty(*params):  # gradcheck perturbs the module's own parameter arrays in place
        tinydl.manual_seed(1)
        return gradient_penalty(model, real, fake, lam=10.0)

    params = list(model.parameters())
    assert len(params) >= 4 and all(p.dtype == np.float64 for p in params)
    assert tinydl.gradcheck(penalty, params)


def torch_twin(model, torch):
    """The same critic in torch, with our weights and spectral-norm vectors copied in."""
    from tinydl import nn
    layers = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            twin = torch.nn.Linear(layer.in_features, layer.out_features).double()
        elif isinstance(layer, nn.Conv2d):
            twin = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   stride=layer.stride, padding=layer.padding).double()
        else:
            twin = {nn.ReLU: torch.nn.ReLU(), nn.Tanh: torch.nn.Tanh(),
                    nn.LeakyReLU: torch.nn.LeakyReLU(0.2),
                    nn.Flatten: torch.nn.Flatten()}[type(layer)]
            layers.append(twin)
            continue
        spectral = hasattr(layer, "weight_orig")
        if spectral:
            twin = torch.nn.utils.spectral_norm(twin)
            twin.weight_orig.data = torch.tensor(layer.weight_orig.data)
            twin.weight_u.data = torch.tensor(layer.weight_u.data)
            twin.weight_v.data = torch.tensor(layer.weight_v.data)
        else:
            twin.weight.data = torch.tensor(layer.weight.data)
        twin.bias.data = torch.tensor(layer.bias.data)
        layers.append(twin)
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("name", CRITICS)
def test_nn_critic_penalty_matches_torch(name):
    torch = pytest.importorskip("torch")
    build, spectral, shape = CRITICS[name]
    tinydl.manual_seed(2)
    model = build(spectral)  # training mode: spectral norm runs one power iteration
    twin = torch_twin(model, torch)
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=shape), rng.normal(size=shape)
    seen = []

    def critic(x):
        seen.append(x.data.copy())
        return model(x)

    gp = gradient_penalty(critic, real, fake, lam=10.0)
    gp.backward()

    xhat = torch.tensor(seen[0], requires_grad=True)
    (g,) = torch.autograd.grad(twin(xhat).sum(), xhat, create_graph=True)
    gp_ref = 10.0 * ((g.reshape(len(g), -1).norm(dim=1) - 1) ** 2).mean()
    gp_ref.backward()
    np.testing.assert_allclose(gp.item(), gp_ref.item(), rtol=1e-9)
    ours = dict(model.named_parameters())
    for key, p in twin.named_parameters():
        if p.grad is None:  # the output bias does not move the input gradient
            assert ours[key].grad is None or not np.any(ours[key].grad.data), key
            continue
        np.testing.assert_allclose(ours[key].grad.data, p.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"{name}: gradient of {key}")


def test_clip_weights_on_a_module_clips_every_parameter():
    from tinydl import nn
    tinydl.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    before = [p.data.copy() for p in model.parameters()]
    clip_weights(model, c=0.05)
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(p.data, np.clip(b, -0.05, 0.05))
    assert any(np.any(np.abs(b) > 0.05) for b in before)  # the clamp did something
