"""Losses: closed forms, torch as an optional oracle, gradcheck, and stability for logits of +-1e4."""
import warnings

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def T(a, grad=False):
    return tinydl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((4, 3))


def test_regression_losses_closed_forms():
    d = X - Y
    assert np.isclose(F.mse_loss(T(X), T(Y)).item(), np.mean(d ** 2))
    assert np.isclose(F.l1_loss(T(X), T(Y), reduction="sum").item(), np.abs(d).sum())
    beta = 0.7
    smooth = np.where(np.abs(d) < beta, 0.5 * d ** 2 / beta, np.abs(d) - 0.5 * beta)
    np.testing.assert_allclose(F.smooth_l1_loss(T(X), T(Y), "none", beta).data, smooth)
    np.testing.assert_allclose(F.huber_loss(T(X), T(Y), "none", 0.7).data, 0.7 * smooth)


def test_smooth_l1_beta_zero_is_l1_and_negative_beta_raises():
    assert F.smooth_l1_loss(T(X), T(Y), beta=0.0).item() == F.l1_loss(T(X), T(Y)).item()
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(T(X), T(Y), beta=-1.0)


@pytest.mark.parametrize("fn,slope", [(lambda x, t: F.smooth_l1_loss(x, t, reduction="sum"), 1.0),
                                      (lambda x, t: F.huber_loss(x, t, reduction="sum",
                                                                 delta=0.7), 0.7)])
def test_smooth_l1_and_huber_gradients_are_finite_at_infinite_differences(fn, slope):
    """At a difference of +-inf the loss's slope is +-1 (+-delta for huber), as torch's; the
    square of the discarded quadratic branch made it 0 * inf = NaN."""
    x = T([np.inf, -np.inf, 0.5, -3.0], grad=True)
    fn(x, T(np.zeros(4))).backward()
    np.testing.assert_array_equal(x.grad.data, [slope, -slope, 0.5, -slope])


@pytest.mark.parametrize("fn", [F.smooth_l1_loss,
                                lambda x, t, beta: F.huber_loss(x, t, delta=beta)])
def test_smooth_l1_and_huber_with_a_tiny_beta_are_finite(fn):
    """0.5 / beta overflowed for beta 1e-40 in float32, and 0 * inf made the loss NaN at a
    zero difference (torch: 0.5 for the pair below, huber 5e-41)."""
    x = tinydl.tensor([0.0, 1.0], requires_grad=True)
    loss = fn(x, tinydl.zeros(2), beta=1e-40)
    assert np.isfinite(loss.item()) and loss.item() > 0
    loss.backward()
    assert np.isfinite(x.grad.data).all()


def test_hinge_loss_is_mean_of_max_zero_one_minus_yf():
    f = np.array([2.0, 0.5, -0.3, -2.0])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    assert np.isclose(F.hinge_loss(T(f), T(y)).item(), np.mean(np.maximum(0, 1 - y * f)))
    with pytest.raises(ValueError, match="hinge_loss"):
        F.hinge_loss(T(f), T([0.0, 1.0, 1.0, 1.0]))


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_cross_entropy_and_nll_closed_form():
    t = np.array([0, 2, 1, 2])
    logp = _log_softmax(X)
    expected = -np.mean(logp[np.arange(4), t])
    assert np.isclose(F.cross_entropy(T(X), t).item(), expected)
    assert np.isclose(F.nll_loss(T(logp), t).item(), expected)
    assert np.isclose(nn.CrossEntropyLoss()(T(X), t).item(), expected)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(ignore_index=2),
    dict(label_smoothing=0.2),
    dict(label_smoothing=0.1, ignore_index=1, weight=np.array([0.2, 1.0, 3.0])),
    dict(weight=np.array([0.5, 2.0, 1.0]), reduction="sum"),
    dict(label_smoothing=0.3, reduction="none", ignore_index=0),
])
def test_cross_entropy_against_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3, 2))
    t = rng.integers(0, 3, size=(6, 2))
    t[0, 0] = kw.get("ignore_index", 0)
    ours = F.cross_entropy(T(x), t, **kw)
    tkw = dict(kw)
    if "weight" in tkw:
        tkw["weight"] = torch.tensor(tkw["weight"])
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t), **tkw)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)
    ours_nll = F.nll_loss(T(_log_softmax(x)), t, kw.get("weight"), kw.get("ignore_index", -100),
                          kw.get("reduction", "mean"))
    theirs_nll = torch.nn.functional.nll_loss(torch.tensor(_log_softmax(x)), torch.tensor(t),
                                              tkw.get("weight"),
                                              ignore_index=kw.get("ignore_index", -100),
                                              reduction=kw.get("reduction", "mean"))
    np.testing.assert_allclose(ours_nll.data, theirs_nll.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", ["all kept", "some ignored", "all ignored", "no rows"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_class_targets_on_2d_scores_against_torch(reduction, targets, dtype):
    """(N, C) scores with class targets and no weight or smoothing (the one-hot shortcut):
    loss and gradient as torch's, ignored rows included (all ignored: NaN under 'mean' with a
    zero gradient)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    n = 0 if targets == "no rows" else 9
    x = (rng.standard_normal((n, 5)) * 3).astype(dtype)
    t = rng.integers(0, 5, n)
    if targets == "some ignored":
        t[[1, 4]] = -100
    elif targets == "all ignored":
        t[:] = -100
    ours = tinydl.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours, t, reduction=reduction)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(t), reduction=reduction)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    (loss.sum() if reduction == "none" else loss).backward()
    (expected.sum() if reduction == "none" else expected).backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_cross_entropy_names_the_first_bad_class_target_of_2d_scores():
    x = T(np.zeros((4, 3)))
    for t, bad in [([0, 3, -1, 2], 3), ([0, -2, 5, 2], -2), ([-100, 1, 7, -100], 7)]:
        with pytest.raises(ValueError, match=f"cross_entropy: target {bad} is out of bounds "
                                             "for 3 classes"):
            F.cross_entropy(x, np.array(t))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_masked_classes_with_minus_inf_scores_add_nothing(reduction):
    """A class masked with a -inf logit (or log-probability) that is not the target adds 0 to
    the loss and gets a zero gradient, as in torch (0 * -inf made both NaN); an ignored row
    gets a zero gradient even with NaN logits."""
    logits = np.array([[-np.inf, -0.5, 0.2], [0.1, -np.inf, 0.3], [np.nan, 1.0, 2.0]])
    target = np.array([2, 0, -100])
    p = np.exp(logits[:2] - logits[:2].max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    ce = -np.log(p[[0, 1], [2, 0]])
    with np.errstate(divide="ignore"):
        logp = np.log(p)  # -inf at the masked classes
    scale = 0.5 if reduction == "mean" else 1.0
    for fn, scores, expected_grad in [
            (F.cross_entropy, logits, (p - np.eye(3)[[2, 0]]) * scale),
            (F.nll_loss, np.vstack([logp, logits[2:]]), -np.eye(3)[[2, 0]] * scale)]:
        x = T(scores, grad=True)
        loss = fn(x, target, reduction=reduction)
        expected = {"mean": ce.mean(), "sum": ce.sum(), "none": np.append(ce, 0.0)}[reduction]
        np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
        (loss.sum() if reduction == "none" else loss).backward()
        np.testing.assert_allclose(x.grad.data[:2], expected_grad, rtol=1e-12, atol=1e-300)
        np.testing.assert_array_equal(x.grad.data[2], 0.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(3, 3), (3, 3, 2)])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_a_zero_class_weight_does_not_hide_nan_scores(fn, shape, reduction):
    """A row of NaN scores whose target's class weight is 0: torch's -w[y] logp[y] is
    0 * NaN = NaN; selecting the entries where the weighted target is not 0 skipped that row
    and gave a finite loss. That row's gradient stays 0, tinydl's rule for rows without
    target mass (ignored ones too; torch's cross_entropy gives NaN there, its nll_loss 0); the
    other rows' are torch's."""
    try:
        import torch
    except ImportError:
        torch = None
    scores = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 7
    scores[1] = np.nan
    target = np.array([0, 1, 2]) if len(shape) == 2 else np.array([[0, 2], [1, 1], [2, 0]])
    weight = np.array([1.0, 0.0, 2.0])
    x = T(scores, grad=True)
    loss = getattr(F, fn)(x, target, weight=weight, reduction=reduction)
    nan_rows = np.isnan(loss.data)
    assert nan_rows.all() if reduction != "none" else nan_rows.tolist() == (
        [False, True, False] if len(shape) == 2 else [[False, False], [True, True], [False, False]])
    (loss.sum() if reduction == "none" else loss).backward()
    if torch is not None:
        tx = torch.tensor(scores, requires_grad=True)
        theirs = getattr(torch.nn.functional, fn)(tx, torch.tensor(target), reduction=reduction,
                                                  weight=torch.tensor(weight))
        np.testing.assert_allclose(loss.data, theirs.detach().numpy(), rtol=1e-12)
        (theirs.sum() if reduction == "none" else theirs).backward()
        np.testing.assert_allclose(x.grad.data, np.nan_to_num(tx.grad.numpy(), nan=0.0),
                                   rtol=1e-12)
    np.testing.assert_array_equal(x.grad.data[1], 0.0)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_label_smoothing_does_not_hide_a_zero_weight_targets_minus_inf(reduction):
    """With label smoothing the entries read were those where the smoothed target is not 0,
    which skipped a target whose class weight is 0: its -inf log-probability gave a finite
    loss (torch: 0 * -inf = NaN)."""
    scores = np.arange(12, dtype=np.float64).reshape(4, 3) / 5
    scores[2, 2] = -np.inf
    target, weight = np.array([0, 1, 2, 0]), np.array([1.0, 0.5, 0.0])
    loss = F.cross_entropy(T(scores), target, weight=weight, label_smoothing=0.1,
                           reduction=reduction).data
    assert np.isnan(loss).all() if reduction == "mean" else np.isnan(loss).tolist() == [
        False, False, True, False]
    try:
        import torch
    except ImportError:
        return
    theirs = torch.nn.functional.cross_entropy(
        torch.tensor(scores), torch.tensor(target), weight=torch.tensor(weight),
        label_smoothing=0.1, reduction=reduction).numpy()
    np.testing.assert_allclose(loss, theirs, rtol=1e-12)


def test_cross_entropy_probability_targets_against_torch():
    torch = pytest.importorskip("torch")
    p = np.random.default_rng(2).dirichlet(np.ones(3), size=4)
    ours = F.cross_entropy(T(X), p, label_smoothing=0.1)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(X), torch.tensor(p), label_smoothing=0.1)
    assert np.isclose(ours.item(), theirs.item(), rtol=1e-12)


def test_cross_entropy_with_wider_probability_targets_takes_their_dtype():
    """float32 logits with float64 probabilities: a float64 loss, as torch (it was float32);
    the logits' gradient keeps their dtype."""
    x = tinydl.zeros((2, 3), requires_grad=True)
    loss = F.cross_entropy(x, tinydl.tensor(np.full((2, 3), 1 / 3)))
    assert loss.dtype == np.float64
    np.testing.assert_allclose(loss.item(), np.log(3.0), rtol=1e-15)
    loss.backward()
    assert x.grad.dtype == np.float32
    assert F.cross_entropy(T(X), np.full((4, 3), 1 / 3, np.float32)).dtype == np.float64


@pytest.mark.parametrize("call", [
    lambda x, t, w: F.cross_entropy(x, t, weight=w),
    lambda x, t, w: F.cross_entropy(x, np.full((4, 3), 1 / 3), weight=w),
    lambda x, t, w: F.nll_loss(x, t, weight=w)])
def test_a_class_weight_that_requires_grad_raises_instead_of_getting_none(call):
    """torch refuses; tinydl silently left weight.grad None (an optimizer then skipped it)."""
    x, t = T(X, grad=True), np.array([0, 1, 2, 1])
    w = T([1.0, 2.0, 0.5], grad=True)
    with pytest.raises(RuntimeError, match="weight requires grad, but it gets no gradient"):
        call(x, t, w)
    call(x, t, w.detach()).backward()
    with tinydl.no_grad():
        call(x, t, w)


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match="out of bounds"):
        F.cross_entropy(T(X), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(T(X), np.array([0, 1]))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(T(X), np.array([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(T(X), np.array([0, 1, 2, 0]), reduction="avg")


def test_binary_cross_entropy_pair_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, 2)) * 3
    y = rng.integers(0, 2, (5, 2)).astype(np.float64)
    w = rng.random((5, 2))
    pw = np.array([2.0, 0.5])
    ours = F.binary_cross_entropy_with_logits(T(z), T(y), weight=w, pos_weight=pw)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(z), torch.tensor(y), weight=torch.tensor(w), pos_weight=torch.tensor(pw))
    assert np.isclose(ours.item(), theirs.item(), rtol=1e-12)
    p = 1 / (1 + np.exp(-z))
    ours = F.binary_cross_entropy(T(p), T(y), reduction="sum")
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(y),
                                                      reduction="sum")
    assert np.isclose(ours.item(), theirs.item(), rtol=1e-12)
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(T(z), T(y))


@pytest.mark.filterwarnings("ignore:reduction")
def test_kl_div_against_closed_form_and_torch():
    torch = pytest.importorskip("torch")
    q = np.random.default_rng(4).dirichlet(np.ones(3), size=2)
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    ours = F.kl_div(T(np.log(q)), T(p), reduction="batchmean")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nansum(np.where(p > 0, p * np.log(p / q), 0.0)) / 2
    assert np.isclose(ours.item(), expected, rtol=1e-12)
    for reduction in ("mean", "sum", "none"):
        theirs = torch.nn.functional.kl_div(torch.tensor(np.log(q)), torch.tensor(p),
                                            reduction=reduction)
        np.testing.assert_allclose(F.kl_div(T(np.log(q)), T(p), reduction).data, theirs.numpy(),
                                   atol=1e-12)
    theirs = torch.nn.functional.kl_div(torch.tensor(np.log(q)), torch.tensor(np.log(q[::-1])),
                                        reduction="sum", log_target=True)
    assert np.isclose(F.kl_div(T(np.log(q)), T(np.log(q[::-1])), "sum", True).item(), theirs.item())
    # A negative target (not a distribution) gives NaN, as torch's xlogy: never a finite number.
    bad = np.array([-0.5, 0.0, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = F.kl_div(T(np.array([-1.0, -2.0, -0.5])), T(bad), reduction="none").data
    theirs = torch.nn.functional.kl_div(torch.tensor([-1.0, -2.0, -0.5], dtype=torch.float64),
                                        torch.tensor(bad), reduction="none").numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert np.isnan(ours[0])


LOSSES = {
    "mse": lambda x: F.mse_loss(x, T(Y)),
    "l1": lambda x: F.l1_loss(x, T(Y)),
    "smooth_l1": lambda x: F.smooth_l1_loss(x, T(Y), beta=0.5),
    "huber": lambda x: F.huber_loss(x, T(Y), delta=0.5),
    "nll": lambda x: F.nll_loss(tinydl.log_softmax(x, axis=1), np.array([0, 2, 1, 1])),
    "cross_entropy": lambda x: F.cross_entropy(x, np.array([0, 2, 1, 1]), label_smoothing=0.1,
                                               weight=np.array([1.0, 2.0, 0.5])),
    "cross_entropy_none": lambda x: F.cross_entropy(x, np.array([0, 2, 1, 1]), reduction="none"),
    "bce": lambda x: F.binary_cross_entropy(tinydl.sigmoid(x), T(Y > 0)),
    "bce_logits": lambda x: F.binary_cross_entropy_with_logits(x, T(Y > 0), pos_weight=np.full(3, 2.0)),
    "hinge": lambda x: F.hinge_loss(x, T(np.sign(Y))),
    "kl_div": lambda x: F.kl_div(tinydl.log_softmax(x, axis=1), T(np.full((4, 3), 1 / 3)), "batchmean"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_passes_gradcheck(name):
    assert tinydl.gradcheck(LOSSES[name], (T(X, grad=True),)), name


def test_cross_entropy_second_derivative():
    assert tinydl.gradgradcheck(LOSSES["cross_entropy"], (T(X, grad=True),))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_second_derivative_spatial_and_probability_targets(reduction):
    """create_graph through ops.loss's gradient node: in the logits, the targets and g."""
    rng = np.random.default_rng(1)
    x = T(rng.standard_normal((2, 3, 4)), grad=True)
    t = rng.integers(0, 3, (2, 4))
    p = rng.random((2, 3, 4))
    p = T(p / p.sum(axis=1, keepdims=True), grad=True)
    assert tinydl.gradgradcheck(
        lambda x: F.cross_entropy(x, t, reduction=reduction, label_smoothing=0.2), (x,)), reduction
    assert tinydl.gradgradcheck(
        lambda x, p: F.cross_entropy(x, p, reduction=reduction, label_smoothing=0.1,
                                     weight=np.array([1.0, 2.0, 0.5])), (x, p)), reduction


def test_binary_cross_entropy_second_derivative_in_input_and_target():
    rng = np.random.default_rng(2)
    p, y = T(rng.uniform(0.1, 0.9, (3, 4)), grad=True), T(rng.uniform(0, 1, (3, 4)), grad=True)
    assert tinydl.gradgradcheck(lambda p, y: F.binary_cross_entropy(p, y), (p, y))


@pytest.mark.parametrize("name", ["cross_entropy", "nll", "bce_logits", "bce", "hinge", "kl_div"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_are_finite_for_huge_logits(name, dtype):
    x = tinydl.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4],
                                [1e4, 1e4, -1e4]], dtype=dtype), requires_grad=True)
    loss = LOSSES[name](x)
    loss.backward()
    assert np.isfinite(loss.data).all(), name
    assert np.isfinite(x.grad.data).all(), name


def test_cross_entropy_value_for_huge_logits():
    x = T([[1e4, -1e4], [0.0, 1e4]])
    # sample 0 is certain and right (loss 0), sample 1 is certain and wrong (loss 1e4)
    assert np.isclose(F.cross_entropy(x, np.array([0, 0])).item(), 0.5e4)
    assert np.isclose(F.binary_cross_entropy_with_logits(T([-1e4]), T([1.0])).item(), 1e4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_is_accurate_for_confident_logits(dtype, pos_weight):
    """Value and gradient to a few ulps of the exact ones (SciPy's expit/log_expit in
    float64) for confident logits of either label and for a soft label. The form
    (1 - y) x + softplus(-x) gave a gradient 1 - sigmoid(-x) that cancelled to 0 in float32
    from x = -17 for a negative (17% off at -15), and a value that cancelled likewise."""
    from scipy.special import expit, log_expit
    x = np.array([-1e4, -40.0, -20.0, -17.0, -15.0, -10.0, 0.0, 3.0, 17.0, 40.0, 1e4], dtype)
    lw = 1.0 if pos_weight is None else pos_weight
    kwargs = {} if pos_weight is None else {"pos_weight": np.full(x.shape, lw, dtype)}
    x64 = x.astype(np.float64)
    for label in (0.0, 1.0, 0.3):
        logits = tinydl.Tensor(x, requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(logits, tinydl.Tensor(np.full_like(x, label)),
                                                  reduction="none", **kwargs)
        loss.sum().backward()
        value = -(1 - label) * log_expit(-x64) - lw * label * log_expit(x64)
        grad = (1 - label) * expit(x64) - lw * label * expit(-x64)
        rtol = 5e-7 if dtype == np.float32 else 1e-15
        assert loss.dtype == dtype and logits.grad.dtype == dtype
        np.testing.assert_allclose(loss.data, value, rtol=rtol, atol=0)
        np.testing.assert_allclose(logits.grad.data, grad, rtol=rtol, atol=0)
    # The gradient in the target, -x + (w - 1) softplus(-x), near x = 0 too (as a difference
    # of two softplus values it was 1.5e-4 off in float32 at x = 1e-3), and in pos_weight.
    small = np.array([1e-3, -2e-4, 0.05, -3.0, 20.0], dtype)
    target = tinydl.Tensor(np.array([0.3, 0.6, 0.5, 1.0, 0.0], dtype), requires_grad=True)
    pw = tinydl.Tensor(np.full(5, lw, dtype), requires_grad=True)
    F.binary_cross_entropy_with_logits(tinydl.Tensor(small), target, reduction="sum",
                                       pos_weight=pw).backward()
    s64 = small.astype(np.float64)
    np.testing.assert_allclose(target.grad.data, -s64 - (lw - 1) * log_expit(s64),
                               rtol=rtol, atol=0)
    np.testing.assert_allclose(pw.grad.data, -target.data.astype(np.float64) * log_expit(s64),
                               rtol=rtol, atol=1e-300)


def test_loss_modules_match_functional():
    t = np.array([0, 2, 1, 1])
    assert nn.NLLLoss(weight=[1.0, 2.0, 3.0])(T(_log_softmax(X)), t).item() == pytest.approx(
        F.nll_loss(T(_log_softmax(X)), t, weight=[1.0, 2.0, 3.0]).item())
    assert nn.MSELoss(reduction="sum")(T(X), T(Y)).item() == pytest.approx(((X - Y) ** 2).sum())
    assert nn.BCEWithLogitsLoss(pos_weight=[2.0, 2.0, 2.0])(T(X), T(Y > 0)).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(T(X), T(Y > 0), pos_weight=np.full(3, 2.0)).item())
    assert nn.HingeLoss()(T(X), T(np.sign(Y))).item() == pytest.approx(
        np.mean(np.maximum(0, 1 - np.sign(Y) * X)))
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="bad")
    with pytest.raises(ValueError, match="differ"):
        F.mse_loss(T(X), T(Y[:, :1]))


def test_a_tensor_in_the_reduction_position_names_the_keyword():
    """torch's F.cross_entropy(x, y, w) passes the class weight third; tinydl's third is
    reduction (the API), so the tensor gets a clear error, not a NumPy comparison error."""
    x, y = T(np.zeros((4, 3))), np.array([0, 1, 2, 0])
    with pytest.raises(TypeError, match="cross_entropy: reduction .* pass weight= and reduction="):
        F.cross_entropy(x, y, T(np.ones(3)))
    with pytest.raises(TypeError, match="mse_loss: reduction"):
        F.mse_loss(x, x, T(np.ones(3)))
    with pytest.raises(ValueError, match="got 'avg'"):
        F.cross_entropy(x, y, "avg")


def test_binary_cross_entropy_weights_must_broadcast_to_the_input():
    """A weight larger than the input broadcast the loss up: 'sum' silently counted every
    element several times (torch raises)."""
    p, y = T([0.2, 0.7, 0.9]), T([0.0, 1.0, 1.0])
    w = np.array([[1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(3, 1\) "
                                         r"does not broadcast to the input's shape \(3,\)"):
        F.binary_cross_entropy(p, y, weight=w, reduction="sum")
    for key in ("weight", "pos_weight"):
        with pytest.raises(ValueError, match=f"with_logits: {key} of shape"):
            F.binary_cross_entropy_with_logits(p, y, reduction="sum", **{key: w})
    # A list is an array like any other (pos_weight - 1 on a list was a bare TypeError).
    ours = F.binary_cross_entropy_with_logits(p, y, pos_weight=[2.0, 1.0, 0.5])
    want = F.binary_cross_entropy_with_logits(p, y, pos_weight=np.array([2.0, 1.0, 0.5]))
    assert ours.item() == want.item()


@pytest.mark.parametrize("call", [
    lambda x, y, w: F.binary_cross_entropy(x.sigmoid(), y, weight=w),
    lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, weight=w),
    lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, pos_weight=w),
    lambda x, y, w: nn.BCEWithLogitsLoss(pos_weight=[3.0, 1.0])(x, y),
    lambda x, y, w: nn.BCELoss(weight=[3.0, 1.0])(x.sigmoid(), y)])
def test_a_float64_weight_keeps_a_float32_loss(call):
    x = tinydl.Tensor(np.zeros((2, 2), np.float32), requires_grad=True)
    y = tinydl.Tensor(np.ones((2, 2), np.float32))
    loss = call(x, y, tinydl.Tensor(np.array([3.0, 1.0])))
    assert loss.dtype == np.float32  # torch's dtype; NumPy's promotion made it float64
    loss.backward()
    assert x.grad.dtype == np.float32


def test_binary_cross_entropy_refuses_nan_and_out_of_range_targets():
    # NaN slipped through the min/max range test; targets were not checked at all.
    with pytest.raises(ValueError, match="input must hold probabilities .* found nan"):
        F.binary_cross_entropy(T([0.5, np.nan]), T([0.0, 1.0]))
    with pytest.raises(ValueError, match="target must hold probabilities .* found 2.0"):
        F.binary_cross_entropy(T([0.5, 0.2]), T([0.0, 2.0]))


def test_cross_entropy_refuses_ignore_index_for_probability_targets():
    with pytest.raises(ValueError, match="ignore_index .* not supported for probability"):
        F.cross_entropy(T(np.zeros((2, 3))), np.full((2, 3), 1 / 3), ignore_index=1)
    F.cross_entropy(T(np.zeros((2, 3))), np.full((2, 3), 1 / 3), ignore_index=-1)  # torch too


def test_probability_targets_check_the_weights_shape_and_huber_names_itself():
    x, probs = T(np.zeros((2, 3))), np.full((2, 3), 1 / 3)
    for weight in (np.ones(4), np.ones((1, 3))):  # a bare reshape error; (1, 3) was taken
        with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(3,\)"):
            F.cross_entropy(x, probs, weight=weight)
    with pytest.raises(ValueError, match="huber_loss: input of shape"):  # said smooth_l1_loss
        F.huber_loss(T(np.zeros(3)), T(np.zeros(2)))


def test_normalize_over_a_tuple_of_dims_as_torch():
    # dim=(1, 2) raised "too many values to unpack"
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(2).standard_normal((2, 3, 4))
    for dim, p in (((1, 2), 2.0), ((2, 0), 1.0), ((), 2.0), ((1,), 3.0)):
        x, tx = T(x0), torch.tensor(x0, requires_grad=True)
        x.requires_grad_(True)
        y, ty = F.normalize(x, p=p, dim=dim), torch.nn.functional.normalize(tx, p=p, dim=dim)
        np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-14)
        y.backward(T(np.cos(x0)))
        ty.backward(torch.tensor(np.cos(x0)))
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), atol=1e-14)
    assert float(F.normalize(T(np.float64(-3.0)), dim=0)) == -1.0  # a 0-d tensor, as torch


@pytest.mark.parametrize("shape,target", [((0, 0), []), ((2, 0), [-100, -100])])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_no_class_at_all_gives_torchs_values(shape, target, smoothing, reduction):
    """C = 0 raised ZeroDivisionError or IndexError; torch gives NaN for 'mean' (and with
    label smoothing, 0/0, everywhere), 0 otherwise; the gradient is empty."""
    x = T(np.zeros(shape), grad=True)
    t = np.array(target, np.int64)
    probs = np.zeros(shape)
    results = [F.cross_entropy(x, t, reduction, label_smoothing=smoothing),
               F.cross_entropy(x, probs, reduction, label_smoothing=smoothing)]
    if not smoothing:
        results.append(F.nll_loss(x, t, reduction=reduction))
    nan = reduction == "mean" or smoothing
    for loss in results:
        assert loss.shape == ((shape[0],) if reduction == "none" else ())
        assert np.all(np.isnan(loss.data)) if nan else np.all(loss.data == 0)
        loss.sum().backward()
        assert x.grad.shape == shape
    torch = pytest.importorskip("torch")
    theirs = torch.nn.functional.cross_entropy(torch.zeros(shape), torch.tensor(t), reduction=reduction,
                                               label_smoothing=smoothing)
    np.testing.assert_array_equal(np.isnan(theirs.numpy()), np.isnan(results[0].data))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_index_cross_entropy_fast_path_equals_the_general_one(reduction):
    """Class indices with no weight or smoothing take a path that reads log softmax only at
    each row's target and keeps the softmax for backward; with a weight of ones the general
    path builds Q and sums over every class. Same losses and gradients (also a second
    backward through the kept softmax), and the first gradient as the one create_graph
    records (which computes the softmax afresh); with an ignored row and -inf logits (a
    masked class, and for 'none' a target whose logit is -inf)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 5, 6)
    y[2] = -100
    x[0, (y[0] + 1) % 5] = -np.inf
    if reduction == "none":  # (a total would be inf whatever the other rows hold)
        x[4, y[4]] = -np.inf
    g_rows = rng.standard_normal(6)  # the output gradient for reduction='none'
    results = []
    for weight in (None, np.ones(5)):
        xt = tinydl.Tensor(x, requires_grad=True)
        loss = F.cross_entropy(xt, tinydl.Tensor(y), reduction=reduction,
                               weight=None if weight is None else tinydl.Tensor(weight))
        g = tinydl.Tensor(g_rows) if loss.ndim else None
        with np.errstate(invalid="ignore"):
            loss.backward(g, retain_graph=True)
            first = xt.grad.data.copy()
            loss.backward(g)
        results.append((loss.data, first, xt.grad.data - first))
        # the gradient that create_graph records computes the softmax afresh
        xt.grad = None
        again = F.cross_entropy(xt, tinydl.Tensor(y), reduction=reduction,
                                weight=None if weight is None else tinydl.Tensor(weight))
        with np.errstate(invalid="ignore"):
            (recorded,) = tinydl.autograd.grad(again, (xt,), g, create_graph=True)
        np.testing.assert_allclose(first, recorded.data, rtol=1e-12, atol=1e-12)
    for fast, general, what in zip(*results, ("loss", "grad", "second grad")):
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12, err_msg=what)


# ------------------------------------------------------------ margin and likelihood losses
def _torch_or_skip():
    return pytest.importorskip("torch")


R = np.random.default_rng(11)
SIGNS6 = R.choice([-1.0, 1.0], 6)
LISTS = np.array([[2, 0, -1, 3], [1, 1, -1, 0], [-1, 2, 2, 2], [3, 2, 1, 0], [0, -1, 3, 3],
                  [3, -1, -1, -1]])
# class name, constructor arguments (torch's too), forward inputs: (array, requires grad)
MODULE_CASES = {
    "MarginRankingLoss": (dict(margin=0.4), [(R.standard_normal(6), True),
                                             (R.standard_normal(6), True), (SIGNS6, False)]),
    "HingeEmbeddingLoss": (dict(margin=0.8), [(R.standard_normal((6, 3)), True),
                                              (np.resize([1.0, -1.0, 0.0], (6, 3)), False)]),
    "SoftMarginLoss": ({}, [(R.standard_normal((6, 3)), True),
                            (R.choice([-1.0, 1.0], (6, 3)), False)]),
    "MultiLabelSoftMarginLoss": (dict(weight=R.random(4) + 0.5),
                                 [(R.standard_normal((6, 4)), True),
                                  (R.integers(0, 2, (6, 4)).astype(float), False)]),
    "MultiMarginLoss": (dict(p=2, margin=0.7, weight=R.random(4) + 0.5),
                        [(R.standard_normal((6, 4)), True), (R.integers(0, 4, 6), False)]),
    "MultiLabelMarginLoss": ({}, [(R.standard_normal((6, 4)), True), (LISTS, False)]),
    "CosineEmbeddingLoss": (dict(margin=0.3), [(R.standard_normal((6, 4)), True),
                                               (R.standard_normal((6, 4)), True),
                                               (SIGNS6, False)]),
    "TripletMarginLoss": (dict(margin=0.5, p=1.5, eps=1e-5, swap=True),
                          [(R.standard_normal((6, 4)), True)] * 3),
    "TripletMarginWithDistanceLoss": (dict(margin=2.0, swap=True),
                                      [(R.standard_normal((6, 4)), True)] * 3),
    "PoissonNLLLoss": (dict(log_input=False, full=True, eps=1e-6),
                       [(R.uniform(0.5, 3, (6, 3)), True),
                        (R.choice([0.0, 1.0, 2.0, 5.0], (6, 3)), False)]),
    # variances per vector, two of them below eps: clamped values, unclamped gradients
    "GaussianNLLLoss": (dict(full=True, eps=1e-3),
                        [(R.standard_normal((6, 3)), True), (R.standard_normal((6, 3)), True),
                         (np.array([0.5, 1e-5, 0.0, 2.0, 0.1, 1.5]), True)]),
}


def _l1_distance(u, v):
    return (u - v).abs().sum(-1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(MODULE_CASES))
def test_margin_and_likelihood_loss_modules_match_torch(name, reduction):
    """Each module against torch's with the same arguments: loss and every input's gradient,
    float64; the (weight) buffers as torch's state_dict."""
    torch = _torch_or_skip()
    kwargs, inputs = MODULE_CASES[name]
    ours_kw, theirs_kw = dict(kwargs, reduction=reduction), dict(kwargs, reduction=reduction)
    if "weight" in kwargs:
        theirs_kw["weight"] = torch.tensor(kwargs["weight"])
    if name == "TripletMarginWithDistanceLoss":
        ours_kw["distance_function"] = theirs_kw["distance_function"] = _l1_distance
    ours, theirs = getattr(nn, name)(**ours_kw), getattr(torch.nn, name)(**theirs_kw)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    xs = [tinydl.Tensor(a.copy(), requires_grad=g) for a, g in inputs]
    ts = [torch.tensor(a.copy(), requires_grad=g) for a, g in inputs]
    loss, expected = ours(*xs), theirs(*ts)
    assert loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(0).standard_normal(loss.shape)
    (loss * T(v)).sum().backward()
    (expected * torch.tensor(v)).sum().backward()
    for x, t in zip(xs, ts):
        if t.requires_grad:
            np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MODULE_CASES))
def test_margin_and_likelihood_loss_modules_defaults_are_torchs(name):
    torch = _torch_or_skip()
    ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
    settings = ("margin", "p", "eps", "swap", "log_input", "full", "reduction")
    for key in settings:
        assert getattr(ours, key, None) == getattr(theirs, key, None), (name, key)
    assert repr(ours).startswith(name + "(") and "reduction='mean'" in repr(ours)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # no weight: no buffer


def _x(*shape):
    return T(np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.margin_ranking_loss(_x(4), _x(), _x(4)), ValueError,
     r"margin_ranking_loss: the inputs must have the same number of dimensions, got input1 "
     r"of shape \(4,\), input2 of shape \(\)"),
    (lambda: F.margin_ranking_loss(_x(4), _x(3), _x(4)), ValueError,
     r"margin_ranking_loss: .*cannot be broadcast"),
    (lambda: F.hinge_embedding_loss(_x(4), _x(3)), ValueError, "hinge_embedding_loss: .* differ"),
    (lambda: F.soft_margin_loss(_x(4, 1), _x(4)), ValueError, "soft_margin_loss: .* differ"),
    (lambda: F.soft_margin_loss(tinydl.tensor([1, 2]), _x(2)), TypeError,
     "soft_margin_loss: input must be floating point"),
    (lambda: F.soft_margin_loss(_x(2), _x(2), reduction="avg"), ValueError,
     "soft_margin_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.multilabel_soft_margin_loss(_x(), _x()), ValueError, "class axis"),
    (lambda: F.multilabel_soft_margin_loss(_x(2, 3), _x(2, 3), weight=np.ones(4)), ValueError,
     r"multilabel_soft_margin_loss: weight of shape \(4,\) does not broadcast"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0, 1]), p=3), ValueError,
     "only p = 1 and p = 2"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0, 3])), ValueError,
     "multi_margin_loss: target 3 is out of bounds for 3 classes"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([-1, 0])), ValueError, "target -1 is out"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0.0, 1.0])), TypeError,
     "multi_margin_loss: indices must be integers"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0, 1, 2])), ValueError,
     r"multi_margin_loss: target of shape \(3,\) does not fit input of shape \(2, 3\)"),
    (lambda: F.multi_margin_loss(_x(3), np.array([0, 1])), ValueError, "does not fit"),
    (lambda: F.multi_margin_loss(_x(2, 3, 4), np.zeros(2, int)), ValueError,
     r"input must be \(C,\) or \(N, C\) with C > 0, got shape \(2, 3, 4\)"),
    (lambda: F.multi_margin_loss(_x(2, 0), np.zeros(2, int)), ValueError, "C > 0"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0, 1]), weight=np.ones(4)), ValueError,
     r"weight must have shape \(3,\), got \(4,\)"),
    (lambda: F.multi_margin_loss(_x(2, 3), np.array([0, 1]), weight=T(np.ones(3), grad=True)),
     RuntimeError, "weight requires grad"),
    (lambda: F.multilabel_margin_loss(_x(2, 3), np.array([[0, 3, -1], [1, -1, 0]])), ValueError,
     r"multilabel_margin_loss: target 3 is out of bounds: entries must lie in \[-1, 3\)"),
    # torch checks the entries after a row's -1 too
    (lambda: F.multilabel_margin_loss(_x(2, 3), np.array([[0, -1, 5], [1, -1, 0]])), ValueError,
     "target 5 is out of bounds"),
    (lambda: F.multilabel_margin_loss(_x(2, 3), np.array([[0, -2, 1], [1, -1, 0]])), ValueError,
     "target -2 is out of bounds"),
    (lambda: F.multilabel_margin_loss(_x(2, 3), np.array([[0, 1, -1]])), ValueError,
     r"target of shape \(1, 3\) does not fit input of shape \(2, 3\)"),
    (lambda: F.multilabel_margin_loss(_x(2, 3), np.zeros((2, 3))), TypeError, "integers"),
    (lambda: F.cosine_embedding_loss(_x(4), _x(4), np.array([1])), ValueError,
     r"cosine_embedding_loss: expected inputs \(N, D\) with target \(N,\) or inputs \(D,\)"),
    (lambda: F.cosine_embedding_loss(_x(2, 3), _x(2, 3), np.ones((2, 1))), ValueError,
     "expected inputs"),
    (lambda: F.cosine_embedding_loss(_x(2, 3), _x(2, 4), np.ones(2)), ValueError,
     "cannot be broadcast"),
    (lambda: F.cosine_embedding_loss(_x(2, 3), _x(2, 3), np.ones(3)), ValueError,
     r"target of shape \(3,\) does not fit inputs of shape \(2, 3\)"),
    (lambda: F.triplet_margin_loss(_x(2, 3), _x(3), _x(2, 3)), ValueError,
     "triplet_margin_loss: the inputs must have the same number of dimensions"),
    (lambda: F.triplet_margin_loss(_x(2, 3), _x(2, 4), _x(2, 3)), ValueError,
     "triplet_margin_loss: .* cannot be broadcast"),
    (lambda: F.triplet_margin_loss(_x(2, 3), _x(2, 3), _x(2, 3), margin=0), ValueError,
     "triplet_margin_loss: margin must be greater than 0, got 0"),
    (lambda: F.triplet_margin_loss(_x(2, 3), _x(2, 3), _x(2, 3), reduction="avg"), ValueError,
     "triplet_margin_loss: reduction"),
    (lambda: F.triplet_margin_with_distance_loss(_x(2, 3), _x(2, 3), _x(2, 3), margin=-1.0),
     ValueError, "triplet_margin_with_distance_loss: margin must be greater than 0"),
    (lambda: F.triplet_margin_with_distance_loss(_x(2, 3), _x(2, 3), _x(3)), ValueError,
     "the anchor, positive and negative must have the same number of dimensions"),
    (lambda: F.poisson_nll_loss(_x(2, 3), _x(3, 2)), ValueError, "poisson_nll_loss: .* differ"),
    (lambda: F.gaussian_nll_loss(_x(2, 3), _x(2, 3), -0.5), ValueError,
     r"gaussian_nll_loss: var has a negative entry \(-0.5\)"),
    (lambda: F.gaussian_nll_loss(_x(2, 3), _x(2, 3), np.array([[1.0, -1.0, 1.0]] * 2)),
     ValueError, "var has negative entries"),
    (lambda: F.gaussian_nll_loss(_x(2, 3), _x(2, 3), np.ones(3)), ValueError,
     r"gaussian_nll_loss: var of shape \(3,\) does not fit input of shape \(2, 3\)"),
    (lambda: F.gaussian_nll_loss(_x(2, 3, 4), _x(2, 3, 4), np.ones((2, 1, 1))), ValueError,
     "does not fit"),
    (lambda: F.gaussian_nll_loss(_x(2, 3), _x(2, 3), np.array(1.0)), ValueError, "does not fit"),
    (lambda: F.gaussian_nll_loss(_x(2, 3), _x(2, 3), np.ones((2, 3)), reduction="avg"),
     ValueError, "gaussian_nll_loss: reduction"),
    (lambda: nn.MultiMarginLoss(p=3), ValueError, "MultiMarginLoss: only p = 1 and p = 2"),
    (lambda: nn.MultiMarginLoss(weight=np.ones((2, 2))), ValueError,
     r"MultiMarginLoss: weight must be None or 1-D, got shape \(2, 2\)"),
    (lambda: nn.TripletMarginLoss(margin=0.0), ValueError,
     "TripletMarginLoss: margin must be greater than 0"),
    (lambda: nn.TripletMarginWithDistanceLoss(margin=-1), ValueError,
     "TripletMarginWithDistanceLoss: margin must be greater than 0"),
    (lambda: nn.GaussianNLLLoss(reduction="avg"), ValueError, "reduction"),
])
def test_margin_and_likelihood_losses_refuse_bad_input(call, error, match):
    """Where torch raises (and, for input-target pairs of different shapes, where tinydl's
    losses raise rather than broadcast): the op and the shapes or values at fault."""
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_soft_margin_losses_are_finite_for_huge_logits(dtype):
    """log(1 + exp(-y x)) with a stable softplus: exactly -y x where that is large. torch's
    soft_margin_loss overflows to inf there (with a NaN gradient); multilabel_soft_margin_loss
    is finite in both."""
    x = tinydl.Tensor(np.array([1e4, -1e4, 0.0, 1e4], dtype), requires_grad=True)
    y = tinydl.Tensor(np.array([1.0, 1.0, -1.0, -1.0], dtype))
    loss = F.soft_margin_loss(x, y, reduction="none")
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, [0.0, 1e4, np.log(2.0), 1e4], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, -1.0, 0.5, 1.0], rtol=1e-6)
    torch = _torch_or_skip()
    logits, labels = np.array([[1e4, -1e4, 3.0]], dtype), np.array([[0.0, 1.0, 1.0]], dtype)
    ours = tinydl.Tensor(logits, requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = F.multilabel_soft_margin_loss(ours, tinydl.Tensor(labels))
    expected = torch.nn.functional.multilabel_soft_margin_loss(theirs, torch.tensor(labels))
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-6)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6)


EMPTY_CALLS = {
    "margin_ranking_loss": lambda lib, r: lib.margin_ranking_loss(
        *_empty(lib, (0,), (0,), (0,)), reduction=r),
    "hinge_embedding_loss": lambda lib, r: lib.hinge_embedding_loss(
        *_empty(lib, (0, 3), (0, 3)), reduction=r),
    "soft_margin_loss": lambda lib, r: lib.soft_margin_loss(*_empty(lib, (0, 3), (0, 3)),
                                                            reduction=r),
    "multilabel_soft_margin_loss": lambda lib, r: lib.multilabel_soft_margin_loss(
        *_empty(lib, (0, 3), (0, 3)), reduction=r),
    "multi_margin_loss": lambda lib, r: lib.multi_margin_loss(
        *_empty(lib, (0, 3), ("int", 0)), reduction=r),
    "multilabel_margin_loss": lambda lib, r: lib.multilabel_margin_loss(
        *_empty(lib, (0, 3), ("int", 0, 3)), reduction=r),
    "cosine_embedding_loss": lambda lib, r: lib.cosine_embedding_loss(
        *_empty(lib, (0, 3), (0, 3), (0,)), reduction=r),
    "triplet_margin_loss": lambda lib, r: lib.triplet_margin_loss(
        *_empty(lib, (0, 3), (0, 3), (0, 3)), reduction=r),
    "poisson_nll_loss": lambda lib, r: lib.poisson_nll_loss(
        *_empty(lib, (0, 3), (0, 3)), full=True, reduction=r),
    "gaussian_nll_loss": lambda lib, r: lib.gaussian_nll_loss(
        *_empty(lib, (0, 3), (0, 3), (0,)), reduction=r),
}


def _empty(lib, *shapes):
    """Empty inputs of the given shapes (("int", ...) for class targets) for tinydl's F or
    torch's, the first one requiring grad."""
    arrays = [np.zeros(s[1:], np.int64) if s[:1] == ("int",) else np.zeros(s) for s in shapes]
    if lib is F:
        return [tinydl.Tensor(a, requires_grad=not i) for i, a in enumerate(arrays)]
    import torch
    return [torch.tensor(a, requires_grad=not i) for i, a in enumerate(arrays)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(EMPTY_CALLS))
def test_margin_and_likelihood_losses_of_an_empty_batch(name, reduction):
    """N = 0: 'mean' is NaN, 'sum' 0, 'none' empty, and backward runs; torch's shapes (its
    multi_margin and multilabel_margin read uninitialised memory for 'mean' and 'sum')."""
    torch = _torch_or_skip()
    loss = EMPTY_CALLS[name](F, reduction)
    assert loss.shape == tuple(EMPTY_CALLS[name](torch.nn.functional, reduction).shape)
    if reduction == "mean":
        assert np.isnan(loss.item())
    elif reduction == "sum":
        assert loss.item() == 0.0
    loss.sum().backward()


@pytest.mark.parametrize("name,args,kwargs", [
    ("margin_ranking_loss", [(), (), [-1.0]], {}),
    ("hinge_embedding_loss", [(), [-1.0]], dict(margin=2.0)),
    ("soft_margin_loss", [(), [1.0]], {}),
    ("multilabel_soft_margin_loss", [(4,), [0.0, 1.0, 1.0, 0.0]], {}),
    ("multi_margin_loss", [(4,), [2]], {}),
    ("multi_margin_loss", [(4,), np.array(2)], dict(p=2)),
    ("multi_margin_loss", [(), np.array(0)], {}),
    ("multilabel_margin_loss", [(4,), np.array([3, 1, -1, 0])], {}),
    ("multilabel_margin_loss", [(), np.array(0)], {}),
    ("multilabel_margin_loss", [(), np.array(-1)], {}),
    ("cosine_embedding_loss", [(4,), (4,), np.array(-1)], dict(margin=-0.9)),
    ("triplet_margin_loss", [(), (), ()], dict(margin=3.0)),
    ("triplet_margin_loss", [(4,), (4,), (4,)], dict(margin=3.0, swap=True)),
    ("triplet_margin_with_distance_loss", [(), (), ()], dict(margin=3.0)),
    ("poisson_nll_loss", [(), [3.0]], dict(full=True)),
    ("gaussian_nll_loss", [(), (), [0.5]], {}),
    ("gaussian_nll_loss", [(4,), (4,), [0.5]], dict(full=True)),
])
def test_margin_and_likelihood_losses_of_unbatched_inputs_match_torch(name, args, kwargs):
    """1-D and 0-d inputs (a shape draws normal values, a list or array is the value; [v] for
    a 0-d value): loss for 'none' and gradients as torch's."""
    torch = _torch_or_skip()
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(a) if isinstance(a, tuple) else
              np.asarray(a[0] if isinstance(a, list) and len(a) == 1 else a) for a in args]
    ours = [tinydl.Tensor(a, requires_grad=isinstance(s, tuple)) for a, s in zip(arrays, args)]
    theirs = [torch.tensor(a, requires_grad=isinstance(s, tuple)) for a, s in zip(arrays, args)]
    loss = getattr(F, name)(*ours, reduction="none", **kwargs)
    expected = getattr(torch.nn.functional, name)(*theirs, reduction="none", **kwargs)
    assert loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    loss.sum().backward()
    expected.sum().backward()
    for x, t in zip(ours, theirs):
        if t.requires_grad:
            np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("var", [0.0, 1e-9, 0.3, np.array([[0.0], [2.0]]),
                                 np.array([1e-9, 4.0])])
def test_gaussian_nll_clamps_the_variance_value_not_its_gradient(var):
    """var below eps counts as eps in the loss, while its gradient is that of the clamped
    loss passed through unchanged (torch clamps under no_grad); a Python number is a variance
    for every element."""
    torch = _torch_or_skip()
    x, y = np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
    is_number = isinstance(var, float)
    ours_v = var if is_number else T(var, grad=True)
    theirs_v = var if is_number else torch.tensor(var, requires_grad=True)
    loss = F.gaussian_nll_loss(T(x), T(y), ours_v, eps=1e-6, reduction="sum")
    expected = torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), theirs_v,
                                                     eps=1e-6, reduction="sum")
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    if not is_number:
        loss.backward()
        expected.backward()
        np.testing.assert_allclose(ours_v.grad.data, theirs_v.grad.numpy(), rtol=1e-12)


def test_poisson_nll_full_target_gradient_is_finite_at_zero_counts():
    """The Stirling term counts only where y > 1; at y = 0 the target's gradient is that of
    exp(x) - y x alone, -x (torch's is NaN there: its masked-out log(0) leaks into it)."""
    x = T([0.3, -0.2, 0.5, 0.1])
    y = T([0.0, 1.0, 0.5, 4.0], grad=True)
    F.poisson_nll_loss(x, y, full=True, reduction="sum").backward()
    expected = -x.data + np.array([0, 0, 0, np.log(4.0) + 1 / 8])  # d/dy Stirling at y = 4
    np.testing.assert_allclose(y.grad.data, expected, rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda x, ints: F.margin_ranking_loss(x[0], x[1], ints[0] * 2 - 1),
    lambda x, ints: F.hinge_embedding_loss(x, ints * 2 - 1),
    lambda x, ints: F.soft_margin_loss(x, ints * 2 - 1),
    lambda x, ints: F.multilabel_soft_margin_loss(x, ints, weight=np.array([1.0, 2.0, 3.0])),
    lambda x, ints: F.multi_margin_loss(x, ints[0], weight=np.array([1.0, 2.0, 3.0])),
    lambda x, ints: F.multilabel_margin_loss(x, ints),
    lambda x, ints: F.cosine_embedding_loss(x, x * 2, ints[0] * 2 - 1),
    lambda x, ints: F.triplet_margin_loss(x, x * 2, x * 3, swap=True),
    lambda x, ints: F.poisson_nll_loss(x, ints, full=True),
    lambda x, ints: F.gaussian_nll_loss(x, ints, np.ones(3, np.float32), full=True),
    lambda x, ints: F.gaussian_nll_loss(x, ints, 0.5),
])
def test_margin_and_likelihood_losses_keep_float32_with_integer_targets(call):
    """float32 scores with int64 targets (and float64 class weights): a float32 loss and
    gradient, as torch's."""
    x = tinydl.Tensor(np.random.default_rng(2).standard_normal((3, 3)).astype(np.float32),
                      requires_grad=True)
    ints = tinydl.Tensor(np.array([[1, 0, 2], [0, 1, 1], [1, 1, 0]]))
    loss = call(x, ints)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_triplet_margin_with_distance_loss_module_keeps_a_module_distance_as_submodule():
    """A Module as distance_function is the loss's child, its parameters in the state_dict
    under ``distance_function.`` (as in torch), and it gets gradients through the loss."""
    proj = nn.Linear(4, 2)
    loss_fn = nn.TripletMarginWithDistanceLoss(
        distance_function=_ProjectedDistance(proj), margin=5.0)
    assert sorted(loss_fn.state_dict()) == ["distance_function.proj.bias",
                                            "distance_function.proj.weight"]
    x = _x(3, 4).astype(np.float32)  # the layer's dtype
    loss = loss_fn(x, x * 2, x * -1)
    loss.backward()
    assert proj.weight.grad is not None and np.abs(proj.weight.grad.data).sum() > 0


class _ProjectedDistance(nn.Module):
    def __init__(self, proj):
        super().__init__()
        self.proj = proj

    def forward(self, u, v):
        return F.pairwise_distance(self.proj(u), self.proj(v))


# ----------------------------------------------------------------------------- sweep findings
def test_weighted_loss_modules_keep_the_weight_tensor_they_are_given():
    """The modules copied ``weight`` into a new buffer and passed its array: a weight that
    requires grad got none (torch: the multilabel soft margin's weight gets its gradient;
    cross-entropy's refuses, as its functional form does) and later edits went unseen."""
    torch = pytest.importorskip("torch")
    x = np.array([[-0.4, 0.3]])
    w = tinydl.tensor([1.2, 0.5], requires_grad=True)
    module = nn.MultiLabelSoftMarginLoss(weight=w)
    assert module.weight is w
    module(tinydl.tensor(x, requires_grad=True), tinydl.tensor([[0.0, 1.0]])).backward()
    tw = torch.tensor([1.2, 0.5], requires_grad=True)
    torch.nn.MultiLabelSoftMarginLoss(weight=tw)(torch.tensor(x, dtype=torch.float32),
                                                 torch.tensor([[0.0, 1.0]])).backward()
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="class weight requires grad"):
        nn.CrossEntropyLoss(weight=tinydl.tensor([1.0, 2.0], requires_grad=True))(
            tinydl.tensor(x), tinydl.tensor([1])).backward()
    plain = tinydl.tensor([1.0, 1.0])
    bce = nn.BCEWithLogitsLoss(weight=plain, pos_weight=plain)
    before = bce(tinydl.tensor(x), tinydl.tensor([[0.0, 1.0]])).item()
    with tinydl.no_grad():
        plain.mul_(2.0)
    assert bce(tinydl.tensor(x), tinydl.tensor([[0.0, 1.0]])).item() != before


def test_poisson_nll_loss_takes_torchs_positional_order():
    """torch: (input, target, log_input, full, size_average, eps, reduce, reduction); the
    fifth positional argument was read as eps (F.poisson_nll_loss(x, y, False, False, True)
    used eps = 1)."""
    torch = pytest.importorskip("torch")
    x, y = np.array([0.5, 2.0, 1.5]), np.array([1.0, 0.0, 3.0])
    with pytest.raises(TypeError, match="size_average and reduce"):
        F.poisson_nll_loss(tinydl.tensor(x), tinydl.tensor(y), False, False, True)
    with pytest.raises(TypeError, match="size_average and reduce"):
        nn.PoissonNLLLoss(False, False, False)
    ours = F.poisson_nll_loss(tinydl.tensor(x), tinydl.tensor(y), False, False, None, 0.5)
    theirs = torch.nn.functional.poisson_nll_loss(torch.tensor(x), torch.tensor(y), False, False,
                                                  None, 0.5)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    module = nn.PoissonNLLLoss(False, False, None, 0.5, None, "sum")
    np.testing.assert_allclose(module(tinydl.tensor(x), tinydl.tensor(y)).item(),
                               torch.nn.PoissonNLLLoss(False, False, None, 0.5, None, "sum")(
                                   torch.tensor(x), torch.tensor(y)).item(), rtol=1e-12)


@pytest.mark.parametrize("logit, label", [(-np.inf, 1.0), (np.inf, 0.0), (-np.inf, 0.0),
                                          (1e4, 1.0)])
def test_multilabel_soft_margin_loss_at_infinite_logits_as_torch(logit, label):
    """Through the binary cross-entropy's (1 - y) x, a logit of -inf with label 1 gave NaN
    where torch's term-by-term form gives inf."""
    torch = pytest.importorskip("torch")
    x, y = np.array([[logit, 2.0]]), np.array([[label, 0.0]])
    ours = F.multilabel_soft_margin_loss(tinydl.tensor(x), tinydl.tensor(y)).item()
    theirs = torch.nn.functional.multilabel_soft_margin_loss(torch.tensor(x),
                                                            torch.tensor(y)).item()
    np.testing.assert_equal(ours, theirs)


def test_a_bool_ignore_index_is_refused_it_is_torchs_legacy_size_average():
    """nn.CrossEntropyLoss(w, True) (torch's size_average in the second place) set
    ignore_index=True, which is 1: class 1 silently left out of the loss."""
    for cls in (nn.CrossEntropyLoss, nn.NLLLoss):
        with pytest.raises(TypeError, match=f"{cls.__name__}: ignore_index must be an int"):
            cls(None, True)
        assert cls(None, np.int64(3)).ignore_index == 3
    x, t = tinydl.Tensor(np.zeros((2, 3), np.float32)), tinydl.tensor([0, 1])
    for value in (True, None, 1.5):  # torch's nll_loss(x, t, w, size_average, ...)
        with pytest.raises(TypeError, match="nll_loss: ignore_index must be an int"):
            F.nll_loss(x, t, None, value)
        with pytest.raises(TypeError, match="cross_entropy: ignore_index must be an int"):
            F.cross_entropy(x, t, ignore_index=value)
