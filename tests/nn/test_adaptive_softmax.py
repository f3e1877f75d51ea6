"""nn.AdaptiveLogSoftmaxWithLoss against torch's with the same parameters (float64): outputs,
loss, gradients, log_prob, predict; parameter names, shapes and init; errors as torch's."""
import numpy as np
import pytest

import tinydl
from tinydl import nn

torch = pytest.importorskip("torch")
# torch's Linear warns when it initialises a zero-feature tail projection (div_value cuts
# in_features to 0), as with cutoffs [3, 6] and in_features 8
pytestmark = pytest.mark.filterwarnings("ignore:Initializing zero-element tensors:UserWarning")

CONFIGS = [
    dict(in_features=8, n_classes=10, cutoffs=[3, 6]),  # second tail has 0 hidden features
    dict(in_features=16, n_classes=20, cutoffs=[4, 9, 15], div_value=2.0, head_bias=True),
    dict(in_features=5, n_classes=4, cutoffs=[1]),
]
IDS = ["two-clusters", "three-clusters-bias", "one-cluster"]


def pair(config, seed=0):
    """A torch module (float64, its own init) and ours holding the same parameters."""
    torch.manual_seed(seed)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(**config).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(**config, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def targets_covering_every_part(config, n, seed=1):
    rng = np.random.default_rng(seed)
    bounds = [0] + config["cutoffs"] + [config["n_classes"]]
    firsts = [rng.integers(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    rest = rng.integers(0, config["n_classes"], size=n - len(firsts))
    return rng.permutation(np.concatenate([firsts, rest])).astype(np.int64)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_parameters_as_torch(config):
    tinydl.manual_seed(0)
    ours = nn.AdaptiveLogSoftmaxWithLoss(**config)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(**config)
    ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert ours_shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    for attr in ["cutoffs", "shortlist_size", "n_clusters", "head_size", "div_value",
                 "head_bias", "in_features", "n_classes"]:
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    # Linear's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (head.bias: fan_in = in_features);
    # pooled and scaled by sqrt(fan_in), the draws are U(-1, 1)
    scaled = []
    for name, p in ours.named_parameters():
        assert p.dtype == np.float32, name
        fan_in = p.shape[1] if p.ndim == 2 else config["in_features"]
        scaled.append(np.abs(p.data.ravel()) * np.sqrt(fan_in))
    scaled = np.concatenate(scaled)
    assert scaled.max() <= 1 and scaled.max() > 0.9 and 0.35 < scaled.mean() < 0.65
    assert "cutoffs=" + str(config["cutoffs"]) in repr(ours)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_forward_loss_and_gradients_match_torch(config):
    ours, theirs = pair(config)
    x = np.random.default_rng(2).normal(size=(9, config["in_features"]))
    t = targets_covering_every_part(config, 9)
    xo = tinydl.Tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, loss = ours(xo, t)
    out_t, loss_t = theirs(xt, torch.tensor(t))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=1e-12)
    # a loss that weighs each row's output differently, so every output's gradient counts
    weights = np.linspace(0.5, 2.0, len(t))
    (loss + (out * tinydl.Tensor(weights)).sum()).backward()
    (loss_t + (out_t * torch.tensor(weights)).sum()).backward()
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        expected = theirs_params[name].grad
        expected = np.zeros(p.shape) if expected is None else expected.numpy()
        got = np.zeros(p.shape) if p.grad is None else p.grad.data
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13, err_msg=name)


def test_output_is_log_prob_at_target_and_probabilities_sum_to_one():
    config = CONFIGS[1]
    ours, _ = pair(config)
    x = np.random.default_rng(3).normal(size=(12, config["in_features"]))
    t = targets_covering_every_part(config, 12)
    full = ours.log_prob(x).data
    np.testing.assert_allclose(np.exp(full).sum(1), 1.0, rtol=1e-13)
    out, loss = ours(x, t)
    np.testing.assert_allclose(out.data, full[np.arange(12), t], rtol=1e-13)
    assert loss.item() == pytest.approx(-full[np.arange(12), t].mean(), rel=1e-13)


def test_gradcheck_of_loss_in_input():
    config = CONFIGS[0]
    ours, _ = pair(config)
    t = targets_covering_every_part(config, 5)
    x = tinydl.Tensor(np.random.default_rng(4).normal(size=(5, 8)), requires_grad=True)
    assert tinydl.gradcheck(lambda x: ours(x, t).loss, (x,))


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_log_prob_and_its_gradient_match_torch(config):
    ours, theirs = pair(config)
    x = np.random.default_rng(5).normal(size=(7, config["in_features"]))
    xo = tinydl.Tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    lo, lt = ours.log_prob(xo), theirs.log_prob(xt)
    np.testing.assert_allclose(lo.data, lt.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = np.random.default_rng(6).normal(size=lo.shape)
    (lo * tinydl.Tensor(w)).sum().backward()
    (lt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_single_example_with_0d_target():
    ours, theirs = pair(CONFIGS[0])
    x = np.random.default_rng(7).normal(size=8)
    for target in [1, 4, 8]:
        out, loss = ours(tinydl.Tensor(x), np.array(target))
        out_t, loss_t = theirs(torch.tensor(x), torch.tensor(target))
        assert out.shape == () and loss.shape == ()
        np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(loss.data, loss_t.detach().numpy(), rtol=1e-12)


def test_float32_by_default():
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    out, loss = m(tinydl.Tensor(np.ones((2, 8), dtype=np.float32)), np.array([0, 9]))
    assert out.dtype == np.float32 and loss.dtype == np.float32
    assert m.log_prob(np.ones((2, 8), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("which", ["mixed", "all-shortlist", "all-clusters"])
def test_predict_matches_torch_and_log_prob_argmax(which):
    config = CONFIGS[1]
    ours, theirs = pair(config)
    # feature 0 moves every row's head scores towards the clusters (entries shortlist_size
    # and up) or away from them, by its sign
    head = theirs.head.weight.detach().numpy().copy()
    head[config["cutoffs"][0]:, 0] += 5.0
    with torch.no_grad():
        theirs.head.weight.copy_(torch.tensor(head))
    ours.head.weight.data[...] = head
    x = np.random.default_rng(8).normal(size=(40, config["in_features"]))
    x[:, 0] = {"mixed": np.resize([2.0, -2.0], 40), "all-shortlist": -2.0,
               "all-clusters": 2.0}[which]
    got = ours.predict(tinydl.Tensor(x))
    expected = theirs.predict(torch.tensor(x)).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.data, expected)
    np.testing.assert_array_equal(got.data, ours.log_prob(x).data.argmax(1))
    in_shortlist = (got.data < config["cutoffs"][0]).mean()
    assert {"mixed": 0 < in_shortlist < 1, "all-shortlist": in_shortlist == 1,
            "all-clusters": in_shortlist == 0}[which], in_shortlist


# --- errors, raised where torch raises ---------------------------------------------------

@pytest.mark.parametrize("cutoffs", [[], [6, 3], [0, 3], [3, 10], [3, 3], [2.5]])
def test_bad_cutoffs(cutoffs):
    with pytest.raises((ValueError, TypeError)):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    with pytest.raises(ValueError, match="AdaptiveLogSoftmaxWithLoss: cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)


@pytest.mark.parametrize("x_shape, target, match", [
    ((2, 8), [0, 10], r"target values must lie in \[0, 9\], got values in \[0, 10\]"),
    ((2, 8), [-1, 3], r"target values must lie in \[0, 9\]"),
    ((3, 8), [0, 1], r"a target of shape \(2,\) needs input of shape \(2, 8\)"),
    ((2, 2, 8), [0, 1], r"a target of shape \(2,\) needs input of shape \(2, 8\), got \(2, 2, 8\)"),
    ((2, 8), np.array(1), r"a 0-d target needs input of shape \(8,\)"),
    ((2, 8), [[0, 1]], r"target must be 0-d or 1-d"),
])
def test_bad_forward_inputs(x_shape, target, match):
    m_t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    with pytest.raises(RuntimeError):
        m_t(torch.zeros(x_shape), torch.tensor(target))
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    for kind in (RuntimeError, ValueError):  # tinydl's ShapeError is both
        with pytest.raises(kind, match="AdaptiveLogSoftmaxWithLoss: " + match):
            m(tinydl.Tensor(np.zeros(x_shape, dtype=np.float32)), np.array(target))


def test_bad_log_prob_input_and_float_target():
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    for method in ("log_prob", "predict"):
        with pytest.raises(RuntimeError, match=rf"\.{method}: input must have shape \(N, 8\)"):
            getattr(m, method)(np.zeros(8, dtype=np.float32))
    with pytest.raises(TypeError, match="AdaptiveLogSoftmaxWithLoss: indices must be integers"):
        m(np.zeros((2, 8), dtype=np.float32), np.array([0.0, 1.0]))
