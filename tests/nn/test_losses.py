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
