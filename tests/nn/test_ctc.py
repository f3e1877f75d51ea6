"""ctc_loss and CTCLoss: against a brute-force enumeration of alignments (tests/_reference.py),
against torch in float64 and float32, float64 gradcheck, extreme log-probabilities and errors.

Gradients are compared with torch through ``log_softmax`` (where torch's is the exact one); on
log_probs themselves torch adds ``exp(log_probs)`` to the exact gradient (pytorch#52241), which
``test_gradient_in_log_probs_is_torchs_less_its_softmax_term`` pins down.
"""
import inspect
import zlib

import numpy as np
import pytest
from scipy import special

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from tests import _reference as ref

REDUCTIONS = ("none", "sum", "mean")


def log_softmax(rng, shape):
    return special.log_softmax(rng.standard_normal(shape), axis=-1)


def min_frames(labels):
    """The fewest frames that fit a target: one per label, plus a blank between repeats."""
    return len(labels) + sum(a == b for a, b in zip(labels[:-1], labels[1:]))


def random_case(seed, steps=7, n=5, n_classes=4, blank=0):
    """A batch (T, N, C) with targets (N, S) that have repeated labels, an empty target, one
    with input length equal to its minimal feasible length, and one infeasible."""
    rng = np.random.default_rng(seed)
    labels = [c for c in range(n_classes) if c != blank]
    lists = [[labels[0], labels[0], labels[1]], [], [labels[1], labels[1], labels[1]],
             list(rng.choice(labels, 2)), [labels[-1]] * 3]
    lists = (lists * n)[:n]
    input_lengths = [steps, 3, min_frames(lists[2]),
                     int(rng.integers(min_frames(lists[3]), steps + 1)), 4][:n]
    # the last: 3 repeats need 5 frames, it gets 4 (infeasible)
    input_lengths += [steps] * (n - len(input_lengths))
    width = max(map(len, lists))
    padded = np.full((n, width), -1, dtype=np.int64)  # padding: ignored, even out of range
    for i, lst in enumerate(lists):
        padded[i, :len(lst)] = lst
    lp = log_softmax(rng, (steps, n, n_classes))
    return lp, padded, lists, np.array(input_lengths), np.array([len(x) for x in lists])


def brute_force(lp, lists, input_lengths, blank):
    """Per-sample losses (N,) and their gradients (T, N, C) by enumeration."""
    losses = np.empty(len(lists))
    grads = np.zeros(lp.shape)
    for i, (lst, length) in enumerate(zip(lists, input_lengths)):
        losses[i], grads[:length, i] = ref.ctc_brute_force(lp[:length, i], lst, blank)
    return losses, grads


# ----------------------------------------------------------------------- brute force
@pytest.mark.parametrize("blank", [0, 2])
def test_against_brute_force_enumeration(blank):
    lp, padded, lists, il, tl = random_case(1, steps=6, n=5, n_classes=3, blank=blank)
    expected, expected_grad = brute_force(lp, lists, il, blank)
    assert np.isinf(expected[4]) and np.isfinite(expected[:4]).all()
    x = tinydl.Tensor(lp, requires_grad=True)
    loss = F.ctc_loss(x, padded, il, tl, blank=blank, reduction="none")
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    loss[:4].sum().backward()  # the feasible ones
    np.testing.assert_allclose(x.grad.data[:, :4], expected_grad[:, :4], rtol=1e-10,
                               atol=1e-14)
    # the infeasible one: its output gradient 0 times a NaN over its frames, as torch
    assert np.isnan(x.grad.data[:il[4], 4]).all() and (x.grad.data[il[4]:, 4] == 0).all()
    for reduction, value in (("sum", expected[:4].sum()),
                             ("mean", np.mean(expected[:4] / np.maximum(tl[:4], 1)))):
        got = F.ctc_loss(lp[:, :4], padded[:4], il[:4], tl[:4], blank=blank, reduction=reduction)
        np.testing.assert_allclose(got.item(), value, rtol=1e-12)


def test_no_frames_and_unnormalised_log_probs_against_brute_force():
    rng = np.random.default_rng(2)
    lp = rng.standard_normal((4, 3, 3))  # not normalised: the sum over paths all the same
    lists, il = [[1, 2], [], [2]], [4, 0, 0]  # no frame: p = 1 for an empty target, else 0
    expected, expected_grad = brute_force(lp, lists, il, 0)
    np.testing.assert_array_equal(expected[1:], [0.0, np.inf])
    x = tinydl.Tensor(lp, requires_grad=True)
    loss = F.ctc_loss(x, np.array([1, 2, 2]), il, [2, 0, 1], reduction="none")
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    loss[:2].sum().backward()
    np.testing.assert_allclose(x.grad.data, expected_grad * [[1], [1], [0]], rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------- torch
def torch_ctc(lp, targets, il, tl, dtype, **kw):
    """torch's loss and the gradient of its sum in the logits behind ``lp`` (log_softmax'ed
    again, a no-op in value), and in ``lp`` itself."""
    torch = pytest.importorskip("torch")
    z = torch.tensor(lp, dtype=dtype, requires_grad=True)
    x = z.log_softmax(-1).detach().requires_grad_()
    out = torch.nn.functional.ctc_loss(z.log_softmax(-1), torch.as_tensor(targets), tuple(il),
                                       tuple(tl), **kw)
    raw = torch.nn.functional.ctc_loss(x, torch.as_tensor(targets), tuple(il), tuple(tl), **kw)
    out.sum().backward()
    raw.sum().backward()
    return out.detach().numpy(), z.grad.numpy(), x.grad.numpy()


def tinydl_ctc(lp, targets, il, tl, dtype, **kw):
    z = tinydl.Tensor(lp.astype(dtype), requires_grad=True)
    out = F.ctc_loss(F.log_softmax(z, dim=-1), targets, il, tl, **kw)
    out.sum().backward()
    return out, z.grad


CASES = [dict(reduction=r, zero_infinity=zi, blank=b, concatenated=c)
         for r in REDUCTIONS for zi in (False, True) for b, c in ((0, False), (3, True))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_against_torch(case, dtype):
    torch = pytest.importorskip("torch")
    kw = dict(case)
    concatenated = kw.pop("concatenated")
    lp, padded, lists, il, tl = random_case(zlib.crc32(str(case).encode()), blank=kw["blank"])
    targets = np.concatenate([np.asarray(x, np.int64) for x in lists]) if concatenated else padded
    torch_padded = np.where(padded < 0, 0, padded)  # torch reads only the first tl entries
    expected, expected_grad, _ = torch_ctc(lp, targets if concatenated else torch_padded, il, tl,
                                           getattr(torch, dtype), **kw)
    loss, grad = tinydl_ctc(lp, targets, il, tl, np.dtype(dtype), **kw)
    assert loss.dtype == dtype and grad.dtype == dtype
    assert loss.shape == expected.shape == ((5,) if kw["reduction"] == "none" else ())
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(loss.data, expected, **tol)
    if kw["reduction"] == "none" and not kw["zero_infinity"]:
        assert np.isinf(loss.data[4])  # the infeasible sample
    # the infeasible sample's gradient: NaN over its frames in both (0 with zero_infinity)
    np.testing.assert_allclose(grad.data, expected_grad, equal_nan=True, **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_in_log_probs_is_torchs_less_its_softmax_term(reduction):
    """On log_probs themselves torch gives the exact gradient plus ``w_n exp(log_probs)``
    (``w_n`` the output gradient of sample n) over each sample's frames; tinydl the exact one."""
    lp, padded, lists, il, tl = random_case(3)
    padded, il, tl = np.maximum(padded[:4], 0), il[:4], tl[:4]  # the feasible ones
    lp = lp[:, :4]
    _, _, torch_grad = torch_ctc(lp, padded, il, tl, pytest.importorskip("torch").float64,
                                 reduction=reduction)
    x = tinydl.Tensor(lp, requires_grad=True)
    F.ctc_loss(x, padded, il, tl, reduction=reduction).sum().backward()
    weight = {"none": np.ones(4), "sum": np.ones(4), "mean": 1 / (4 * np.maximum(tl, 1))}
    frames = np.arange(lp.shape[0])[:, None] < il
    softmax_term = np.exp(lp) * (weight[reduction] * frames)[..., None]
    np.testing.assert_allclose(x.grad.data + softmax_term, torch_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_against_torch(reduction):
    torch = pytest.importorskip("torch")
    lp = log_softmax(np.random.default_rng(4), (6, 4))
    for targets in ([1, 3, 3], [[1, 3, 3]]):
        x = tinydl.Tensor(lp, requires_grad=True)
        xt = torch.tensor(lp, requires_grad=True)
        got = F.ctc_loss(x, np.array(targets), (6,), (3,), reduction=reduction)
        want = torch.nn.functional.ctc_loss(xt, torch.tensor(targets), (6,), (3,),
                                            reduction=reduction)
        assert got.shape == () == tuple(want.shape)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
        got.backward()
        want.backward()
        weight = 1 / 3 if reduction == "mean" else 1  # the mean divides by the target length
        np.testing.assert_allclose(x.grad.data, xt.grad.numpy() - weight * np.exp(lp),
                                   rtol=1e-10, atol=1e-14)


def test_minus_inf_log_probs():
    """-inf entries (classes a model masks): torch's loss, and the exact gradient, 0 there
    (torch's is NaN at those entries), torch's elsewhere through log_softmax. All -inf: inf."""
    torch = pytest.importorskip("torch")
    lp, padded, lists, il, tl = random_case(5)
    padded, il, tl, lp = np.maximum(padded[:4], 0), il[:4], tl[:4], lp[:, :4].copy()
    lp[1, 0, 1] = lp[2, 1, 3] = lp[0, 2, 0] = -np.inf
    x = tinydl.Tensor(lp, requires_grad=True)
    loss = F.ctc_loss(x, padded, il, tl, reduction="sum")
    xt = torch.tensor(lp, requires_grad=True)
    want = torch.nn.functional.ctc_loss(xt, torch.tensor(padded), tuple(il), tuple(tl),
                                        reduction="sum")
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-12)
    loss.backward()
    want.backward()
    g, gt = x.grad.data, xt.grad.numpy()
    assert np.isfinite(g).all() and (g[np.isinf(lp)] == 0).all()
    assert np.isnan(gt[np.isinf(lp)]).all()
    finite = np.isfinite(lp)
    frames = (np.arange(lp.shape[0])[:, None] < il)[..., None] & finite
    np.testing.assert_allclose(g[finite], (gt - np.exp(lp) * frames)[finite], rtol=1e-10,
                               atol=1e-14)
    every = F.ctc_loss(np.full((3, 1, 3), -np.inf), [[1]], (3,), (1,), reduction="none")
    assert np.isposinf(every.data).all()


@pytest.mark.parametrize("shape,targets,il,tl", [
    ((5, 2, 4), np.zeros((2, 0), np.int64), (5, 3), (0, 0)),  # padded targets of width 0
    ((1, 2, 3), np.array([[1], [2]]), (1, 1), (1, 0)),  # one frame
    ((3, 1, 2), np.array([[1, 1]]), (3,), (2,)),  # a repeat in exactly its minimal frames
], ids=["no_labels", "one_frame", "two_classes"])
def test_edge_shapes_against_torch(shape, targets, il, tl):
    z = np.random.default_rng(14).standard_normal(shape)
    expected, expected_grad, _ = torch_ctc(z, targets, il, tl,
                                           pytest.importorskip("torch").float64, reduction="sum")
    loss, grad = tinydl_ctc(z, targets, il, tl, np.float64, reduction="sum")
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    np.testing.assert_allclose(grad.data, expected_grad, rtol=1e-10, atol=1e-14)


def test_nan_log_probs_give_nan_without_warnings():
    lp = np.log(np.full((3, 2, 3), 1 / 3))
    lp[1, 0, 1] = np.nan
    x = tinydl.Tensor(lp, requires_grad=True)
    with np.errstate(all="raise"):
        loss = F.ctc_loss(x, [[1], [2]], (3, 3), (1, 1), reduction="none")
        loss.sum().backward()
    assert np.isnan(loss.data[0]) and np.isfinite(loss.data[1])  # torch's NaN
    assert np.isfinite(x.grad.data[:, 1]).all()


def test_padding_frames_past_input_length_get_zero_gradient_whatever_they_hold():
    # Padding frames of a shorter sample holding NaN or inf gave NaN gradients there (torch: 0).
    lp = np.log(np.random.default_rng(3).dirichlet(np.ones(5), size=(6, 2)))
    lp[4:, 1, 0], lp[4:, 1, 1:] = np.inf, np.nan
    x = tinydl.Tensor(lp, requires_grad=True)
    targets, il, tl = np.array([[1, 2], [3, 3]]), [6, 4], [2, 2]
    with np.errstate(all="raise"):
        loss = F.ctc_loss(x, targets, il, tl, reduction="sum")
        loss.backward()
    assert np.all(x.grad.data[4:, 1] == 0)
    clean = lp.copy()
    clean[4:, 1] = 0.0  # what the padding holds does not change the loss or other gradients
    y = tinydl.Tensor(clean, requires_grad=True)
    F.ctc_loss(y, targets, il, tl, reduction="sum").backward()
    np.testing.assert_allclose(loss.data, F.ctc_loss(clean, targets, il, tl, reduction="sum").data)
    np.testing.assert_array_equal(x.grad.data, y.grad.data)
    torch = pytest.importorskip("torch")
    t = torch.tensor(lp, requires_grad=True)
    torch.nn.functional.ctc_loss(t, torch.tensor(targets), il, tl, reduction="sum").backward()
    assert np.all(t.grad.numpy()[4:, 1] == 0)


def test_zero_infinity_gives_zero_loss_and_gradient():
    lp, padded, _, il, tl = random_case(6)
    x = tinydl.Tensor(lp, requires_grad=True)
    loss = F.ctc_loss(x, np.maximum(padded, 0), il, tl, reduction="none", zero_infinity=True)
    assert loss.data[4] == 0 and np.isfinite(loss.data).all()
    loss.sum().backward()
    assert (x.grad.data[:, 4] == 0).all() and np.isfinite(x.grad.data).all()
    y = tinydl.Tensor(lp, requires_grad=True)
    F.ctc_loss(y, np.maximum(padded, 0), il, tl, reduction="none")[4].backward()
    frames = np.arange(lp.shape[0]) < il[4]
    assert np.isnan(y.grad.data[frames, 4]).all() and (y.grad.data[~frames, 4] == 0).all()


def test_lengths_and_targets_in_every_form_agree():
    torch = pytest.importorskip("torch")
    lp, padded, lists, il, tl = random_case(7)
    padded = np.maximum(padded, 0)
    expected = F.ctc_loss(lp, padded, tuple(il), tuple(tl), reduction="none").data
    forms = [(list(il), list(tl)), (il.astype(np.int32), tl.astype(np.uint8)),
             (tinydl.Tensor(il), tinydl.Tensor(tl)), (tinydl.Tensor(il[None]), tl[:, None]),
             (torch.tensor(il).numpy(), tinydl.tensor(tl.tolist()))]
    for in_len, tgt_len in forms:
        np.testing.assert_array_equal(
            F.ctc_loss(lp, padded, in_len, tgt_len, reduction="none").data, expected)
    concatenated = np.concatenate([np.asarray(x, np.int64) for x in lists])
    for targets in (tinydl.Tensor(concatenated.astype(np.int32)), concatenated.tolist(),
                    tinydl.Tensor(padded)):
        np.testing.assert_array_equal(
            F.ctc_loss(tinydl.Tensor(lp), targets, il, tl, reduction="none").data, expected)


def test_float32_by_default_and_float64_kept():
    lp, padded, _, il, tl = random_case(8)
    padded = np.maximum(padded, 0)
    for dtype in (np.float32, np.float64):
        x = tinydl.Tensor(lp.astype(dtype), requires_grad=True)
        loss = F.ctc_loss(x, padded, il, tl, zero_infinity=True)
        loss.backward()
        assert loss.dtype == dtype and x.grad.dtype == dtype
    assert F.ctc_loss(tinydl.tensor(lp.tolist()), padded, il, tl).dtype == np.float32


# ----------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_float64(reduction):
    lp, padded, lists, il, tl = random_case(9, steps=6, n=5, n_classes=4, blank=1)
    concatenated = np.concatenate([np.asarray(x, np.int64) for x in lists])
    rng = np.random.default_rng(10)
    for x in (lp, rng.standard_normal(lp.shape)):  # normalised, and not
        for targets in (padded, concatenated):
            tensor = tinydl.Tensor(x, requires_grad=True)
            assert tinydl.gradcheck(
                lambda a: F.ctc_loss(a, targets, il, tl, blank=1, reduction=reduction,
                                     zero_infinity=True), (tensor,))


def test_second_derivative_raises():
    lp, padded, _, il, tl = random_case(11)
    x = tinydl.Tensor(lp, requires_grad=True)
    loss = F.ctc_loss(x, np.maximum(padded, 0), il, tl, zero_infinity=True)
    with pytest.raises(RuntimeError, match="CTCNegLogLikelihood.*create_graph"):
        tinydl.grad(loss, x, create_graph=True)


# ----------------------------------------------------------------------- errors
LP = log_softmax(np.random.default_rng(12), (5, 2, 4))
PADDED = np.array([[1, 1, 2], [3, 0, 0]])


def call(lp=LP, targets=PADDED, il=(5, 4), tl=(3, 1), **kw):
    return lambda module: module(lp, targets, il, tl, **kw)


# (case, tinydl's error and message, whether torch raises too)
ERRORS = [
    ("input_length_above_T", call(il=(6, 4)), ValueError, r"input_lengths.*\[0, T=5\].*6", True),
    ("negative_input_length", call(il=(-1, 4)), ValueError, r"input_lengths.*-1", True),
    ("negative_target_length", call(tl=(-1, 1)), ValueError, r"target_lengths.*-1", True),
    ("target_length_above_S", call(tl=(4, 1)), ValueError, r"target_lengths.*4.*S=3", True),
    ("concatenated_too_short", call(targets=np.array([1, 1, 2])), ValueError,
     r"sum\(target_lengths\) = 4.*got 3", True),
    ("blank_is_C", call(blank=4), ValueError, r"blank.*\[0, 4\).*4", True),
    ("blank_negative", call(blank=-1), ValueError, r"blank.*-1", True),
    ("input_lengths_count", call(il=(5, 4, 3)), ValueError, r"input_lengths.*one length.*\(2\)",
     True),
    ("target_lengths_count", call(tl=(3,)), ValueError, r"target_lengths.*one length", True),
    ("targets_rows", call(targets=PADDED[:1]), ValueError, r"targets of shape \(1, 3\).*\(2\)",
     True),
    ("targets_3d", call(targets=PADDED[None]), ValueError, r"targets.*\(1, 2, 3\)", True),
    ("log_probs_4d", call(lp=LP[None]), ValueError, r"log_probs.*\(1, 5, 2, 4\)", True),
    ("log_probs_1d", call(lp=LP[:, 0, 0]), ValueError, r"log_probs.*\(5,\)", True),
    ("empty_batch", call(lp=LP[:, :0], targets=PADDED[:0], il=(), tl=()), ValueError,
     r"empty.*\(5, 0, 4\)", True),
    ("integer_log_probs", call(lp=LP.astype(np.int64)), TypeError, r"float32 or float64.*int64",
     True),
    ("float_lengths", call(il=np.array([5.0, 4.0])), TypeError, r"input_lengths.*float64", True),
    ("bad_reduction", call(reduction="avg"), ValueError, r"reduction.*'avg'", True),
    # torch computes a meaningless number for these, silently
    ("target_is_blank", call(targets=np.array([[0, 1, 2], [3, 0, 0]])), ValueError,
     r"target 0 .*blank \(0\)", False),
    ("target_out_of_range", call(targets=np.array([[5, 1, 2], [3, 0, 0]])), ValueError,
     r"target 5 .*\[0, 4\)", False),
    # torch casts floating targets; tinydl's class indices are integers
    ("float_targets", call(targets=PADDED.astype(np.float64)), TypeError,
     r"targets.*integer.*float64", False),
]


@pytest.mark.parametrize("case,fn,error,match,torch_raises", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(case, fn, error, match, torch_raises):
    with pytest.raises(error, match="ctc_loss: .*" + match):
        fn(lambda lp, targets, il, tl, **kw: F.ctc_loss(
            tinydl.Tensor(lp) if isinstance(lp, np.ndarray) else lp, targets, il, tl, **kw))
    torch = pytest.importorskip("torch")

    def torch_call(lp, targets, il, tl, **kw):
        return torch.nn.functional.ctc_loss(torch.as_tensor(lp), torch.as_tensor(targets),
                                            torch.as_tensor(il), torch.as_tensor(tl), **kw)
    if torch_raises:
        with pytest.raises((RuntimeError, ValueError, TypeError, NotImplementedError)):
            fn(torch_call)
    else:
        fn(torch_call)


# ----------------------------------------------------------------------- module
def test_module_matches_functional_and_torch():
    torch = pytest.importorskip("torch")
    lp, padded, _, il, tl = random_case(13)
    padded = np.maximum(padded, 1)
    for kw in ({}, dict(blank=0, reduction="sum", zero_infinity=True)):
        module, reference = nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
        x, xt = tinydl.Tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
        got = module(F.log_softmax(x, dim=-1), padded, il, tl)
        want = reference(xt.log_softmax(-1), torch.tensor(padded), tuple(il), tuple(tl))
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
        np.testing.assert_array_equal(got.data, F.ctc_loss(lp, padded, il, tl, **kw).data)
        if np.isfinite(got.data):
            got.backward()
            want.backward()
            np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
        assert (module.blank, module.reduction, module.zero_infinity) == (
            reference.blank, reference.reduction, reference.zero_infinity)
    assert list(nn.CTCLoss().parameters()) == [] and nn.CTCLoss().state_dict() == {}
    assert repr(nn.CTCLoss(blank=2)) == "CTCLoss(blank=2, zero_infinity=False, reduction='mean')"
    ours, theirs = inspect.signature(nn.CTCLoss), inspect.signature(torch.nn.CTCLoss)
    assert list(ours.parameters) == list(theirs.parameters)
    assert [p.default for p in ours.parameters.values()] == [
        p.default for p in theirs.parameters.values()]
    assert list(inspect.signature(F.ctc_loss).parameters) == list(
        inspect.signature(torch.nn.functional.ctc_loss).parameters)
    with pytest.raises(ValueError, match="CTCLoss.*reduction"):
        nn.CTCLoss(reduction="avg")
