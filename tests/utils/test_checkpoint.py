"""tinydl.utils.checkpoint: a checkpointed block gives the outputs and gradients (of its
arguments and of the parameters it reads) of the same block run plainly, in float64, through
backward() and tinydl.grad; it frees the block's intermediate values, recomputes once per
backward with the same random draws, and refuses what it cannot differentiate."""
import collections
import weakref

import numpy as np
import pytest

import tinydl as td
from tinydl import nn
from tinydl.utils.checkpoint import checkpoint, checkpoint_sequential

X = np.random.default_rng(0).standard_normal((6, 4))


def model():
    td.manual_seed(0)
    return nn.Linear(4, 5).double(), nn.Linear(5, 3).double(), nn.Dropout(0.5)


def gradients(use_checkpoint, preserve_rng_state=True, via_grad=False):
    """Output, input gradient and parameter gradients of a two-layer block with dropout fed
    a non-leaf (x * 2), checkpointed or not, after seeding the dropout."""
    lin1, lin2, drop = model()

    def block(h):
        return lin2(drop(lin1(h).tanh()))

    x = td.tensor(X, requires_grad=True)
    params = [*lin1.parameters(), *lin2.parameters()]
    td.manual_seed(1)
    h = x * 2
    y = (checkpoint(block, h, preserve_rng_state=preserve_rng_state) if use_checkpoint
         else block(h))
    after = td.randn(4).data  # a draw after the block: the recomputation must not change it
    loss = (y ** 2).sum()
    if via_grad:
        grads = td.grad(loss, [x, *params])
    else:
        loss.backward()
        grads = [x.grad, *(p.grad for p in params)]
    later = td.randn(4).data  # nor the draws after backward
    return [y.data, after, later] + [g.data for g in grads]


@pytest.mark.parametrize("via_grad", [False, True], ids=["backward", "grad"])
def test_same_outputs_and_gradients_as_the_plain_block(via_grad):
    plain, checked = gradients(False, via_grad=via_grad), gradients(True, via_grad=via_grad)
    for k, (a, b) in enumerate(zip(plain, checked)):
        np.testing.assert_allclose(b, a, rtol=1e-12, err_msg=f"entry {k}")


def test_without_preserve_rng_state_the_recomputed_mask_differs():
    plain, checked = gradients(False), gradients(True, preserve_rng_state=False)
    assert np.array_equal(plain[0], checked[0])  # the forward is the same
    assert not np.allclose(plain[4], checked[4])  # lin1's weight gradient used another mask


def test_intermediate_values_are_freed_and_recomputed_once():
    calls, refs = [], []

    def block(h):
        calls.append(1)
        inner = (h * 3).sin()
        refs.append(weakref.ref(inner))
        return (inner * inner).sum(axis=1)  # the product keeps its inputs for backward

    x = td.tensor(X, requires_grad=True)
    y = checkpoint(block, x)
    assert len(calls) == 1 and refs[0]() is None  # nothing of the block's graph is kept
    kept = block(x)
    assert refs[1]() is not None  # (the plain block keeps it: the check can fail)
    del kept
    y.sum().backward()
    assert len(calls) == 3  # the recomputation
    np.testing.assert_allclose(x.grad.data, 3 * np.sin(6 * X))  # d sin^2(3x) / dx


def test_shared_weights_across_chained_blocks():
    """A recurrent cell checkpointed step by step: the weight is read by every block and by
    the history of each block's argument."""
    td.manual_seed(2)
    cell = nn.Linear(4, 4).double()

    def run(use_checkpoint):
        cell.zero_grad()
        h = td.tensor(X, requires_grad=True)
        for _ in range(3):
            h = checkpoint(lambda a: cell(a).tanh(), h) if use_checkpoint else cell(h).tanh()
        h.sum().backward()
        return cell.weight.grad.data.copy(), cell.bias.grad.data.copy()

    for a, b in zip(run(False), run(True)):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_nested_outputs_keyword_tensors_and_mixed_dtypes():
    Pair = collections.namedtuple("Pair", "first second")
    w = td.tensor(X[:, :2].copy(), requires_grad=True)

    def block(a, scale=1.0, weight=None):
        return [Pair(a.sin() * scale, (a * weight.sum()).astype(np.float32)),
                {"total": (a ** 2).sum(), "count": 7, "constant": td.ones(2)}]

    x = td.tensor(X, requires_grad=True)
    out = checkpoint(block, x, scale=2.0, weight=w)
    expected = block(x, scale=2.0, weight=w)
    assert isinstance(out, list) and isinstance(out[0], Pair) and out[1]["count"] == 7
    assert out[0].second.dtype == np.float32 and out[0].first.dtype == np.float64
    assert not out[1]["constant"].requires_grad
    ours = td.grad(out[0].first.sum() + out[0].second.sum() + out[1]["total"], [x, w])
    theirs = td.grad(expected[0].first.sum() + expected[0].second.sum()
                     + expected[1]["total"], [x, w])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6)


def test_parameters_get_gradients_when_no_argument_requires_grad():
    lin1, _, _ = model()
    y = checkpoint(lin1, td.tensor(X))
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(lin1.weight.grad.data, np.tile(X.sum(axis=0), (5, 1)))
    assert checkpoint(lambda a: a * 2, td.tensor(X), use_reentrant=True).requires_grad is False


def test_checkpoint_sequential_matches_the_sequential():
    td.manual_seed(3)
    seq = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                        nn.Linear(8, 2)).double()
    results = []
    for segments in (None, 1, 2, 5):
        seq.zero_grad()
        x = td.tensor(X, requires_grad=True)
        y = seq(x) if segments is None else checkpoint_sequential(seq, segments, x)
        (y ** 2).sum().backward()
        results.append([y.data, x.grad.data, seq[0].weight.grad.data.copy()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(b, a, rtol=1e-12)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(seq, 6, td.tensor(X))


def test_under_no_grad_it_is_a_plain_call():
    with td.no_grad():
        out = checkpoint(lambda a: a * 2, td.tensor(X, requires_grad=True))
    assert not out.requires_grad and np.array_equal(out.data, 2 * X)


def test_refusals():
    x = td.tensor(X, requires_grad=True)
    outside = x * 3  # computed outside, read by closure
    with pytest.raises(RuntimeError, match="computed outside"):
        checkpoint(lambda a: a + outside, td.tensor(X, requires_grad=True))
    y = checkpoint(lambda a: a.sin(), x)
    with pytest.raises(RuntimeError, match="second derivative"):
        td.grad(y.sum(), x, create_graph=True)
    x = td.tensor(X, requires_grad=True)
    h = x * 1
    y = checkpoint(lambda a: a.exp(), h)
    with td.no_grad():
        h.add_(1)  # the argument changed before backward: the recomputation would differ
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        y.sum().backward()
    shapes = iter([(6, 4), (4, 6)])
    y = checkpoint(lambda a: a.reshape(next(shapes)) * 2, x)
    with pytest.raises(RuntimeError, match="recomputed"):
        y.sum().backward()
    with pytest.raises(ValueError, match="determinism_check"):
        checkpoint(lambda a: a, x, determinism_check="strict")
    with pytest.raises(TypeError, match="context_fn"):  # not passed on to the function
        checkpoint(lambda a: a, x, context_fn=None)


def test_in_place_op_on_the_argument_inside_the_block():
    x = td.tensor(X, requires_grad=True)
    h = x * 1
    y = checkpoint(lambda a: a.relu_() * 2, h)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * (X > 0))
    assert np.array_equal(h.data, X)  # the block wrote into its own copy


@pytest.mark.parametrize("write", [
    lambda x: x.mul_(2),
    lambda x: nn.Dropout(0.5, inplace=True)(x),
])
def test_in_place_write_into_an_argument_without_grad_raises(write):
    """Such an argument reaches the block as it is (no copy): the recomputation in backward
    wrote it a second time and differentiated the doubly written values, W.grad twice the
    plain run's, silently (torch raises in backward)."""
    td.manual_seed(0)
    lin = nn.Linear(4, 3).double()
    x = td.tensor(X)

    def block(a):
        write(a)
        return lin(a)

    with pytest.raises(RuntimeError, match=r"checkpoint: the function wrote in place into its "
                                           r"argument of shape \(6, 4\)"):
        checkpoint(block, x)
    # Out of place, or on a clone, it is the plain run's gradient.
    ones = td.tensor(np.ones((6, 4)))
    checkpoint(lambda a: lin(a.clone().mul_(2)), ones).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, np.full((3, 4), 12.0))
    assert np.array_equal(ones.data, np.ones((6, 4)))
