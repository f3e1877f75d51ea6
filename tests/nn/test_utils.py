"""nn.utils: spectral normalisation (and its regulariser), gradient clipping, parameter vectors,
L1/L2 penalties."""
import math

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tinydl.nn import utils


def _diag_linear():
    layer = nn.Linear(2, 2, bias=False).double()
    layer.weight.data[...] = np.diag([3.0, 1.0])
    return layer


def test_spectral_norm_of_diag_3_1_is_3():
    tinydl.manual_seed(0)
    layer = utils.spectral_norm(_diag_linear(), n_power_iterations=30)
    out = layer(tinydl.Tensor(np.eye(2)))
    np.testing.assert_allclose(layer.weight.data, np.diag([1.0, 1 / 3]), atol=1e-10)
    np.testing.assert_allclose(out.data, np.diag([1.0, 1 / 3]), atol=1e-10)


def test_spectral_norm_negative_dim_counts_from_the_end_and_a_bad_dim_is_named():
    # dim=-1 registered, then the first forward failed in a transpose; dim=2 gave NumPy's AxisError
    tinydl.manual_seed(0)
    last = utils.spectral_norm(nn.Linear(5, 3), dim=-1, n_power_iterations=50)
    tinydl.manual_seed(0)
    one = utils.spectral_norm(nn.Linear(5, 3), dim=1, n_power_iterations=50)
    x = tinydl.Tensor(np.ones((2, 5), np.float32))
    np.testing.assert_allclose(last(x).data, one(x).data)
    for dim in (2, -3):
        with pytest.raises(IndexError, match=f"spectral_norm: dim {dim} is out of range"):
            utils.spectral_norm(nn.Linear(5, 3), dim=dim)


def test_spectral_norm_state_dict_and_training_only_power_iteration():
    tinydl.manual_seed(1)
    layer = utils.spectral_norm(nn.Linear(4, 3))
    assert list(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    u0 = layer.weight_u.data.copy()
    layer.eval()
    layer(tinydl.randn(2, 4))
    np.testing.assert_array_equal(layer.weight_u.data, u0)  # eval: u reused
    layer.train()
    layer(tinydl.randn(2, 4))
    assert not np.array_equal(layer.weight_u.data, u0)
    twin = utils.spectral_norm(nn.Linear(4, 3))
    twin.load_state_dict(layer.state_dict())
    layer.eval(), twin.eval()
    x = tinydl.randn(2, 4)
    np.testing.assert_array_equal(layer(x).data, twin(x).data)
    with pytest.raises(ValueError, match="already"):
        utils.spectral_norm(layer)


def test_spectral_norm_gradient_flows_through_sigma():
    tinydl.manual_seed(2)
    layer = utils.spectral_norm(nn.Linear(3, 4).double())
    layer(tinydl.randn(2, 3, dtype=np.float64))  # one power iteration
    layer.eval()
    x = tinydl.Tensor(np.random.default_rng(0).standard_normal((2, 3)))
    assert tinydl.gradcheck(lambda w: layer(x), (layer.weight_orig,))
    # the closed form: dL/dW = (G - <G, W_hat> u v^T) / sigma with u, v held fixed
    layer.zero_grad()
    out = layer(x)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    u, v = layer.weight_u.data, layer.weight_v.data
    w = layer.weight_orig.data
    sigma = u @ w @ v
    w_hat = w / sigma
    grad_w_hat = g.T @ x.data
    expected = (grad_w_hat - np.sum(grad_w_hat * w_hat) * np.outer(u, v)) / sigma
    np.testing.assert_allclose(layer.weight_orig.grad.data, expected, atol=1e-12)


def test_spectral_norm_matches_torch_from_the_same_u():
    torch = pytest.importorskip("torch")
    tinydl.manual_seed(3)
    ours = utils.spectral_norm(nn.Conv2d(2, 3, 3).double(), n_power_iterations=2)
    ref = torch.nn.Conv2d(2, 3, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.weight_orig.data))
        ref.bias.copy_(torch.tensor(ours.bias.data))
    ref = torch.nn.utils.spectral_norm(ref, n_power_iterations=2)
    with torch.no_grad():
        ref.weight_u.copy_(torch.tensor(ours.weight_u.data))
        ref.weight_v.copy_(torch.tensor(ours.weight_v.data))
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    for _ in range(2):
        np.testing.assert_allclose(ours(tinydl.Tensor(x)).data,
                                   ref(torch.tensor(x)).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight_u.data, ref.weight_u.numpy(), atol=1e-10)


def test_spectral_norm_two_forwards_before_one_backward_match_torch():
    """A critic's D(real) and D(fake) in one loss: the second forward's power iteration must
    not change the u, v the first one's backward uses (weight_orig.grad was 40% off)."""
    torch = pytest.importorskip("torch")
    tinydl.manual_seed(0)
    ours = utils.spectral_norm(nn.Linear(4, 3).double())
    ref = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3).double())
    with torch.no_grad():
        for name in ("weight_orig", "bias", "weight_u", "weight_v"):
            getattr(ref, name).copy_(torch.tensor(getattr(ours, name).data))
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    (ours(tinydl.Tensor(real)).mean() - ours(tinydl.Tensor(fake)).mean()).backward()
    (ref(torch.tensor(real)).mean() - ref(torch.tensor(fake)).mean()).backward()
    np.testing.assert_allclose(ours.weight_orig.grad.data, ref.weight_orig.grad.numpy(),
                               atol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.data, ref.bias.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("name, args", [("ConvTranspose1d", (2, 5, 3)),
                                        ("ConvTranspose2d", (2, 5, 3)),
                                        ("ConvTranspose3d", (2, 3, 2))])
def test_spectral_norm_of_every_transposed_conv_uses_dim_1_as_torch(name, args):
    """ConvTranspose3d got dim 0 (the rule listed the 1-d and 2-d layers only): another
    sigma, and u, v of other shapes, so torch's state_dict did not load."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.utils.spectral_norm(getattr(torch.nn, name)(*args).double())
    ours = utils.spectral_norm(getattr(nn, name)(*args).double())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, args[0]) + (3,) * int(name[-2]))
    np.testing.assert_allclose(ours(tinydl.Tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_spectral_norm_conv_transpose_uses_dim_1_and_remove():
    tinydl.manual_seed(4)
    layer = utils.spectral_norm(nn.ConvTranspose2d(2, 5, 3))
    assert layer.weight_u.shape == (5,) and layer.weight_v.shape == (2 * 9,)
    out = layer(tinydl.randn(1, 2, 4, 4))
    utils.remove_spectral_norm(layer)
    assert list(layer.state_dict()) == ["bias", "weight"]
    assert isinstance(layer.weight, nn.Parameter)
    layer.eval()
    assert layer(tinydl.randn(1, 2, 4, 4)).shape == out.shape
    with pytest.raises(ValueError, match="not found"):
        utils.remove_spectral_norm(layer)


def test_spectral_norm_regularizer_adds_lam_sigma_u_vT():
    tinydl.manual_seed(5)
    layer = _diag_linear()
    reg = utils.SpectralNormRegularizer(lam=0.1)
    for _ in range(30):  # the power iteration is persistent: it converges across steps
        layer.zero_grad()
        (layer(tinydl.Tensor(np.eye(2))) * 0).sum().backward()
        penalty = reg(layer)
    np.testing.assert_allclose(layer.weight.grad.data, 0.1 * 3.0 * np.diag([1.0, 0.0]), atol=1e-8)
    assert penalty == pytest.approx(0.5 * 0.1 * 9.0)
    # it equals the gradient of lam/2 * sigma^2 (sigma = top singular value), by finite differences
    w = np.random.default_rng(0).standard_normal((3, 4))
    layer = nn.Linear(4, 3, bias=False).double()
    layer.weight.data[...] = w
    for _ in range(50):
        layer.zero_grad()
        reg(layer)

    def penalty_of(m):
        return 0.05 * np.linalg.svd(m, compute_uv=False)[0] ** 2

    eps = 1e-6
    numeric = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[idx] = eps
        numeric[idx] = (penalty_of(w + d) - penalty_of(w - d)) / (2 * eps)
    np.testing.assert_allclose(layer.weight.grad.data, numeric, atol=1e-6)


def test_clip_grad_norm_against_closed_form_and_torch():
    p1 = tinydl.Tensor(np.array([3.0, 0.0]), requires_grad=True)
    p2 = tinydl.Tensor(np.array([[4.0]]), requires_grad=True)
    p1.grad, p2.grad = tinydl.Tensor(np.array([3.0, 0.0])), tinydl.Tensor(np.array([[4.0]]))
    total = utils.clip_grad_norm_([p1, p2], max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(p1.grad.data, [0.6, 0.0], rtol=1e-5)
    total = utils.clip_grad_norm_([p1, p2], max_norm=10.0, norm_type=math.inf)
    assert float(total) == pytest.approx(0.8, rel=1e-5)
    np.testing.assert_allclose(p2.grad.data, [[0.8]], rtol=1e-5)  # untouched: below max_norm
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0).standard_normal((3, 4))
    q = tinydl.Tensor(np.zeros((3, 4)), requires_grad=True)
    q.grad = tinydl.Tensor(g.copy())
    tq = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    tq.grad = torch.tensor(g.copy())
    for norm_type in (1.0, 3.0):
        assert float(utils.clip_grad_norm_(q, 0.5, norm_type)) == pytest.approx(
            float(torch.nn.utils.clip_grad_norm_(tq, 0.5, norm_type)), rel=1e-9)
    np.testing.assert_allclose(q.grad.data, tq.grad.numpy(), rtol=1e-9)
    assert float(utils.clip_grad_norm_([tinydl.zeros(2, requires_grad=True)], 1.0)) == 0.0


def test_clip_grad_norm_refuses_a_max_norm_that_is_not_a_number():
    # max_norm=None (meant as "do not clip") made every gradient NaN silently; torch raises.
    p = tinydl.Tensor(np.ones(3), requires_grad=True)
    p.grad = tinydl.Tensor(np.array([3.0, 4.0, 0.0]))
    with pytest.raises(TypeError, match="clip_grad_norm_: max_norm must be a real number"):
        utils.clip_grad_norm_([p], None)
    with pytest.raises(TypeError, match="clip_grads_with_norm_: max_norm"):
        utils.clip_grads_with_norm_([p], None, 5.0)
    with pytest.raises(TypeError, match="clip_grads_with_norm_: total_norm"):
        utils.clip_grads_with_norm_([p], 1.0, None)
    np.testing.assert_array_equal(p.grad.data, [3.0, 4.0, 0.0])  # untouched
    utils.clip_grad_norm_([p], tinydl.tensor(1.0))  # a 0-d Tensor and NumPy scalars still do
    utils.clip_grad_norm_([p], np.float32(1.0))
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8, 0.0], rtol=1e-5)


def test_clip_grad_norm_nan_and_minus_inf_as_torch():
    """A NaN gradient makes the total and every gradient NaN (torch's clamp keeps NaN, where
    min(1, nan) would skip the clipping); norm_type=-inf is the smallest |g|, not the largest."""
    def grads(*values):
        ps = []
        for v in values:
            p = tinydl.Tensor(np.zeros(len(v)), requires_grad=True)
            p.grad = tinydl.Tensor(np.array(v, dtype=float))
            ps.append(p)
        return ps

    ps = grads([np.nan, 1.0], [30.0, -40.0])
    assert math.isnan(float(utils.clip_grad_norm_(ps, 1.0)))
    assert np.isnan(ps[1].grad.data).all()
    ps = grads([1.0, 2.0], [np.nan])
    assert math.isnan(float(utils.clip_grad_norm_(ps, 1.0, norm_type=math.inf)))
    ps = grads([3.0, -0.5, 0.25])
    assert float(utils.clip_grad_norm_(ps, 0.05, norm_type=-math.inf)) == pytest.approx(0.25)
    np.testing.assert_allclose(ps[0].grad.data, np.array([3.0, -0.5, 0.25]) * 0.05 / (0.25 + 1e-6))
    torch = pytest.importorskip("torch")
    for norm_type in (-math.inf, math.inf, 2.0):
        for values in ([[np.nan, 1.0], [30.0, -40.0]], [[3.0, -0.5], [0.25, 7.0]]):
            ps = grads(*values)
            tps = [torch.zeros(len(v), dtype=torch.float64, requires_grad=True) for v in values]
            for tp, v in zip(tps, values):
                tp.grad = torch.tensor(v, dtype=torch.float64)
            ours = float(utils.clip_grad_norm_(ps, 0.05, norm_type))
            theirs = float(torch.nn.utils.clip_grad_norm_(tps, 0.05, norm_type))
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
            for p, tp in zip(ps, tps):
                np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_parameter_vectors():
    p = tinydl.Tensor(np.zeros(3), requires_grad=True)
    p.grad = tinydl.Tensor(np.array([-2.0, 0.5, 3.0]))
    utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.data, [-1.0, 0.5, 1.0])
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    vec = utils.parameters_to_vector(net.parameters())
    assert vec.shape == (2 * 3 + 3 + 3 + 1,)
    utils.vector_to_parameters(tinydl.Tensor(np.arange(13.0)), net.parameters())
    np.testing.assert_array_equal(net[0].weight.data, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(net[1].bias.data, [12.0])
    with pytest.raises(ValueError, match="length 5"):
        utils.vector_to_parameters(np.zeros(5), net.parameters())


def test_regularization_skips_norm_layers_by_default():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    for p in net.parameters():
        p.data[...] = 2.0
    # Linear: 6 entries of 2 -> L1 12, L2 24; BatchNorm weight/bias: 4 entries of 2
    assert utils.regularization(net, l1=1.0).item() == pytest.approx(12.0)
    assert utils.regularization(net, l2=0.5).item() == pytest.approx(12.0)
    assert utils.regularization(net, l1=1.0, skip_norm=False).item() == pytest.approx(20.0)
    penalty = utils.regularization(net, l2=1.0)
    penalty.backward()
    np.testing.assert_allclose(net[0].weight.grad.data, 4.0)
    assert net[1].weight.grad is None
    with pytest.raises(ValueError, match="non-negative"):
        utils.regularization(net, l1=-1.0)


def test_clip_grad_accepts_torch_foreach_keyword():
    for foreach in (None, True, False):
        p = tinydl.Tensor(np.zeros(2), requires_grad=True)
        p.grad = tinydl.Tensor(np.array([3.0, -4.0]))
        total = utils.clip_grad_norm_([p], 1.0, foreach=foreach)
        assert float(total) == pytest.approx(5.0)
        np.testing.assert_allclose(p.grad.data, [0.6, -0.8], rtol=1e-5)
        utils.clip_grad_value_([p], 0.5, foreach=foreach)
        np.testing.assert_allclose(p.grad.data, [0.5, -0.5])


def test_clip_grad_norm_total_has_the_gradients_promoted_dtype():
    """float32 and float64 gradients: torch's total is float64; it came back float32."""
    params = [nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(2))]
    for p in params:
        p.grad = tinydl.Tensor(p.data.copy())
    total = utils.clip_grad_norm_(params, 1.0)
    assert total.dtype == np.float64 and total.item() == pytest.approx(2.0)
