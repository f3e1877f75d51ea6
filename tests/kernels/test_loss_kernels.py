"""The cross-entropy kernels (``tinydl.kernels.loss``, through ``SoftmaxCrossEntropyIndex``)
against their twin, ``SoftmaxCrossEntropy`` with the one-hot target (``cross_entropy`` with
Numba off): loss and gradient for every reduction, ignored targets, edge logits, create_graph and
retain_graph, and the inputs the kernels leave to the twin."""
import numpy as np
import pytest

import tinydl
from tinydl.kernels import loss as kloss
from tinydl.nn import functional as F


def _loss_and_grad(logits, target, numba, **options):
    x = tinydl.Tensor(logits, requires_grad=True)
    with tinydl.backends.flags(numba=numba):
        loss = F.cross_entropy(x, target, **options)
        loss.backward(tinydl.Tensor(np.linspace(0.5, 2, loss.size, dtype=np.float32)
                                    .reshape(loss.shape)))
    return loss.data, x.grad.data


@pytest.fixture
def kernel_calls(monkeypatch):
    calls = []
    for name in ("cross_entropy_kernel", "cross_entropy_grad_kernel"):
        kernel = getattr(kloss, name)

        def counted(*args, kernel=kernel, name=name):
            calls.append(name)
            return kernel(*args)

        monkeypatch.setattr(kloss, name, counted)
    return calls


def _logits(n, c, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, c)) * 3).astype(np.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n, c, ignored", [(1, 1, ()), (7, 3, ()), (128, 10, ()), (9, 32, ()),
                                           (8, 5, (1, 6)), (8, 5, "all")])
def test_class_cross_entropy_kernels_match_the_twin(kernel_calls, reduction, n, c, ignored):
    logits = _logits(n, c)
    target = np.random.default_rng(1).integers(0, c, n)
    target[list(range(n)) if ignored == "all" else list(ignored)] = -100
    fused = _loss_and_grad(logits, target, True, reduction=reduction)
    assert kernel_calls == ["cross_entropy_kernel", "cross_entropy_grad_kernel"]
    kernel_calls.clear()
    twin = _loss_and_grad(logits, target, False, reduction=reduction)
    assert not kernel_calls
    for ours, theirs in zip(fused, twin):
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)
    if ignored == "all" and reduction == "mean":
        assert np.isnan(fused[0]) and not fused[1].any()  # torch: NaN, and a zero gradient


def test_class_cross_entropy_ignores_a_real_class_index(kernel_calls):
    logits, target = _logits(6, 4), np.array([0, 1, 2, 3, 2, 2])
    fused = _loss_and_grad(logits, target, True, ignore_index=2)
    twin = _loss_and_grad(logits, target, False, ignore_index=2)
    assert kernel_calls
    for ours, theirs in zip(fused, twin):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)
    assert not fused[1][[2, 4, 5]].any()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")  # the twin's
def test_class_cross_entropy_kernels_at_edge_logits(kernel_calls):
    big = np.float32(3e38)
    logits = np.array([[np.nan, 0, 1], [-np.inf, -np.inf, -np.inf], [-np.inf, 0, 1],
                       [big, -big, 0], [np.inf, 0, 0], [0, 0, 0]], np.float32)
    target = np.array([1, 0, 0, 1, 1, 2])
    fused = _loss_and_grad(logits, target, True, reduction="none")
    twin = _loss_and_grad(logits, target, False, reduction="none")
    assert kernel_calls
    for ours, theirs in zip(fused, twin):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)  # NaN where NaN
    losses, grad = fused
    assert np.isnan(losses[[0, 1, 4]]).all() and losses[2] == np.inf
    assert losses[3] == np.inf  # 3e38 - (-3e38) overflows float32
    np.testing.assert_allclose(losses[5], np.log(3), rtol=1e-7)
    np.testing.assert_allclose(grad[5], np.array([1, 1, -2]) / 3 * 2.0, rtol=1e-6)  # g = 2


def test_class_cross_entropy_out_of_bounds_target_names_it():
    logits = _logits(4, 3)
    for bad in (3, -1):
        for numba in (True, False):
            with tinydl.backends.flags(numba=numba), pytest.raises(
                    ValueError, match=f"cross_entropy: target {bad} is out of bounds for 3 "
                                      "classes"):
                F.cross_entropy(tinydl.Tensor(logits), np.array([0, bad, 1, 2]))


def test_class_cross_entropy_create_graph_and_retain_graph_match_the_twin(kernel_calls):
    logits, target = _logits(5, 4), np.array([0, 3, -100, 1, 1])
    results = []
    for numba in (True, False):
        x = tinydl.Tensor(logits, requires_grad=True)
        with tinydl.backends.flags(numba=numba):
            loss = F.cross_entropy(x, target)
            loss.backward(retain_graph=True)
            first = x.grad.data.copy()
            loss.backward()  # the softmax the forward kept serves a second backward too
            np.testing.assert_allclose(x.grad.data, 2 * first, rtol=1e-6)
            (gx,) = tinydl.autograd.grad(F.cross_entropy(x, target), x, create_graph=True)
            (gxx,) = tinydl.autograd.grad((gx * gx).sum(), x)
        results.append((first, gx.data, gxx.data))
    assert kernel_calls
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)


def test_class_cross_entropy_leaves_other_inputs_to_the_twin(kernel_calls):
    logits = _logits(6, 40)
    cases = [(logits, np.arange(6) % 40, {}),  # more classes than the kernels take
             (logits[:, :5].astype(np.float64), np.arange(6) % 5, {}),  # float64
             (logits[:, :5], (np.arange(6) % 5).astype(np.int32), {}),  # int32 targets
             (logits[:, :5], np.arange(6) % 5, {"label_smoothing": 0.1}),
             (logits[:, :5], np.arange(6) % 5, {"weight": np.ones(5)}),
             (np.zeros((0, 5), np.float32), np.zeros(0, np.int64), {"reduction": "sum"}),
             (logits[:, :5], np.arange(6) % 5, {"ignore_index": 2 ** 63})]  # no int64
    with tinydl.backends.flags(numba=True):  # (also where TINYDL_NUMBA=0 turned it off)
        for x, t, options in cases:
            F.cross_entropy(tinydl.Tensor(x, requires_grad=True), t, **options).backward()
        # a transposed (not C-contiguous) view of logits
        base = tinydl.Tensor(logits[:5, :6].T.copy(), requires_grad=True)
        F.cross_entropy(base.T, np.arange(5)).backward()
    assert not kernel_calls


def test_class_cross_entropy_kernels_against_torch_at_large_logits(kernel_calls):
    torch = pytest.importorskip("torch")
    logits = np.array([[1e4, -1e4, 0], [-1e4, 1e4, 5], [3e38, 3e38, 0], [-np.inf, 0, 1],
                       [7, 7.5, 7], [-3e38, -3e38, -3e38]], np.float32)
    target = np.array([1, 1, 0, 2, 0, 2])
    for reduction in ("none", "mean"):
        ours = tinydl.Tensor(logits, requires_grad=True)
        with tinydl.backends.flags(numba=True):  # (also where TINYDL_NUMBA=0 turned it off)
            loss = F.cross_entropy(ours, target, reduction=reduction)
            (loss.sum() if reduction == "none" else loss).backward()
        theirs = torch.tensor(logits, requires_grad=True)
        expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(target),
                                                     reduction=reduction)
        np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-6)
        (expected.sum() if reduction == "none" else expected).backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert kernel_calls


def test_class_cross_entropy_backward_reads_the_targets_of_its_forward(kernel_calls):
    """A training loop that refills one label buffer before backward still gets the gradient
    of the labels the loss was computed with (as the twin, whose one-hot Q is made then)."""
    logits = _logits(4, 3)
    grads = []
    for numba in (True, False):
        labels = np.array([0, 1, 2, 1])
        x = tinydl.Tensor(logits, requires_grad=True)
        with tinydl.backends.flags(numba=numba):
            loss = F.cross_entropy(x, labels)
            labels[:] = [2, 2, 0, 0]
            loss.backward()
        grads.append(x.grad.data)
    assert kernel_calls
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-6, atol=1e-7)
    assert grads[0][0, 0] < 0 and grads[0][0, 2] > 0  # class 0 was the target of row 0
