"""Module backward hooks (register_full_backward_hook / _pre_hook): torch's semantics, checked
against closed forms and, where installed, against torch itself."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn

try:
    import torch
except ImportError:
    torch = None

RNG = np.random.default_rng(7)


def _linear_pair(n_in=4, n_out=3):
    """A float64 tinydl Linear and (with torch) the same torch Linear."""
    ours = nn.Linear(n_in, n_out).double()
    if torch is None:
        return ours, None
    theirs = torch.nn.Linear(n_in, n_out).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    return ours, theirs


def _record(calls):
    def hook(module, grad_input, grad_output):
        calls.append(([None if g is None else np.array(g.numpy()) for g in grad_input],
                      [None if g is None else np.array(g.numpy()) for g in grad_output]))
    return hook


def test_the_hook_gets_the_gradients_of_inputs_and_outputs():
    """Linear: grad_output = dL/dy, grad_input = (dL/dy W,); the closed form and torch's."""
    layer, theirs = _linear_pair()
    x = RNG.standard_normal((5, 4))
    w_out = RNG.standard_normal((5, 3))
    calls = []
    handle = layer.register_full_backward_hook(_record(calls))
    xt = tinydl.tensor(x, requires_grad=True)
    (layer(xt) * tinydl.tensor(w_out)).sum().backward()
    assert len(calls) == 1
    (grad_in,), (grad_out,) = calls[0]
    np.testing.assert_allclose(grad_out, w_out, rtol=1e-14)
    np.testing.assert_allclose(grad_in, w_out @ layer.weight.numpy(), rtol=1e-14)
    np.testing.assert_allclose(xt.grad.numpy(), grad_in, rtol=1e-14)
    if theirs is not None:
        their_calls = []
        theirs.register_full_backward_hook(_record(their_calls))
        xtt = torch.tensor(x, requires_grad=True)
        (theirs(xtt) * torch.tensor(w_out)).sum().backward()
        for ours_, theirs_ in zip(calls[0], their_calls[0]):
            np.testing.assert_allclose(ours_[0], theirs_[0], rtol=1e-14)
    handle.remove()
    layer(xt).sum().backward()
    assert len(calls) == 1  # removed: not called again


def test_a_hook_that_replaces_grad_input_changes_what_flows_on():
    """Guided backpropagation's idiom: a ReLU hook keeping only positive gradients."""
    x = RNG.standard_normal((4, 6))
    g = RNG.standard_normal((4, 6))

    def guided(module, grad_input, grad_output):
        return (grad_input[0].clamp(min=0),)

    relu = nn.ReLU()
    relu.register_full_backward_hook(guided)
    xt = tinydl.tensor(x, requires_grad=True)
    (relu(xt) * tinydl.tensor(g)).sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), np.maximum(g * (x > 0), 0))
    if torch is not None:
        relu_t = torch.nn.ReLU()
        relu_t.register_full_backward_hook(guided)
        xtt = torch.tensor(x, requires_grad=True)
        (relu_t(xtt) * torch.tensor(g)).sum().backward()
        np.testing.assert_array_equal(xt.grad.numpy(), xtt.grad.numpy())


def test_a_pre_hook_that_replaces_grad_output_scales_every_gradient_below():
    layer, theirs = _linear_pair()
    x = RNG.standard_normal((5, 4))
    seen = []

    def double(module, grad_output):
        seen.append(grad_output[0].numpy().copy())
        return (grad_output[0] * 2,)

    layer.register_full_backward_pre_hook(double)
    xt = tinydl.tensor(x, requires_grad=True)
    layer(xt).sum().backward()
    np.testing.assert_array_equal(seen[0], np.ones((5, 3)))
    np.testing.assert_allclose(layer.bias.grad.numpy(), [10.0, 10.0, 10.0], rtol=1e-15)
    np.testing.assert_allclose(layer.weight.grad.numpy(), 2 * np.ones((3, 5)) @ x, rtol=1e-14)
    if theirs is not None:
        theirs.register_full_backward_pre_hook(double)
        xtt = torch.tensor(x, requires_grad=True)
        theirs(xtt).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), xtt.grad.numpy(), rtol=1e-14)
        np.testing.assert_allclose(layer.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-14)


class _TwoWay(nn.Module):
    """Two positional tensors and a number in; a tuple out: (a * b * k, a - b, (a,), 3)."""

    def forward(self, a, k, b):
        return a * b * k, a - b, (a,), 3


@pytest.mark.parametrize("b_requires_grad", [True, False])
def test_several_inputs_and_outputs_reach_one_call_of_the_hook(b_requires_grad):
    """grad_input has one entry per positional argument (None for the number, zeros for a
    tensor that does not require grad, as torch's); grad_output one per top-level output
    (None for a non-tensor; the nested tuple's tensor gets none, as torch's)."""
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    results = {}
    for lib, module in [(tinydl, _TwoWay())] + ([(torch, None)] if torch is not None else []):
        if module is None:
            class TwoWay(torch.nn.Module):
                forward = _TwoWay.forward
            module = TwoWay()
        calls = []
        module.register_full_backward_hook(_record(calls))
        at = lib.tensor(a, requires_grad=True)
        bt = lib.tensor(b, requires_grad=b_requires_grad)
        prod, diff, nested, three = module(at, 2.0, bt)
        assert three == 3 and isinstance(nested, tuple)
        (prod.sum() + (diff * diff).sum()).backward()
        assert len(calls) == 1
        results[lib.__name__] = calls[0]
    grad_in, grad_out = results["tinydl"]
    assert [g is None for g in grad_in] == [False, True, False]
    assert [g is None for g in grad_out] == [False, False, True, True]
    np.testing.assert_allclose(grad_in[0], 2 * b + 2 * (a - b), rtol=1e-14)
    np.testing.assert_allclose(grad_in[2], 2 * a - 2 * (a - b) if b_requires_grad else 0,
                               rtol=1e-14)
    if torch is not None:
        for ours_, theirs_ in zip(results["tinydl"], results["torch"]):
            assert len(ours_) == len(theirs_)
            for o, t in zip(ours_, theirs_):
                assert (o is None) == (t is None)
                if o is not None:
                    np.testing.assert_allclose(o, t, rtol=1e-14)


def test_with_no_input_requiring_grad_the_hook_runs_with_nones():
    """The first layer (data that does not require grad): the hook still runs, with
    grad_input (None,), and must not return gradients (torch's rule)."""
    layer, _ = _linear_pair()
    calls = []
    layer.register_full_backward_hook(_record(calls))
    layer(tinydl.tensor(RNG.standard_normal((2, 4)))).sum().backward()
    assert calls[0][0] == [None] and np.array_equal(calls[0][1][0], np.ones((2, 3)))
    layer.register_full_backward_hook(lambda m, gi, go: (tinydl.ones(2, 4),))
    with pytest.raises(RuntimeError, match="none of whose inputs requires grad must return"):
        layer(tinydl.tensor(RNG.standard_normal((2, 4)))).sum().backward()


@pytest.mark.parametrize("result, match", [
    (lambda gi: (gi[0], gi[0]), "returned 2 gradients, expected 1"),
    (lambda gi: (gi[0][:1],), r"of shape \(1, 4\) for one of shape \(2, 4\)"),
])
def test_a_hook_returning_the_wrong_gradients_raises(result, match):
    layer, _ = _linear_pair()
    layer.register_full_backward_hook(lambda m, gi, go: result(gi))
    x = tinydl.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    with pytest.raises(RuntimeError, match=match):
        layer(x).sum().backward()


def test_an_in_place_op_on_a_hooked_input_raises_as_torchs():
    """The module computes on views of its inputs: ReLU(inplace=True) would change them
    behind the hook's node (torch raises too, "a view ... being modified inplace")."""
    relu = nn.ReLU(inplace=True)
    relu.register_full_backward_hook(lambda m, gi, go: None)
    x = tinydl.tensor(RNG.standard_normal(4), requires_grad=True)
    with pytest.raises(RuntimeError, match="view"):
        relu(x * 1.0)


def test_hooks_do_not_change_values_gradients_or_double_backward():
    """A hook returning None changes nothing: the output, the parameters' gradients and a
    gradient penalty's second derivative are those of the hook-free module."""
    layer, _ = _linear_pair()
    x = RNG.standard_normal((3, 4))
    results = []
    for hooked in (False, True):
        layer.zero_grad()
        handles = []
        if hooked:
            handles = [layer.register_full_backward_hook(lambda m, gi, go: None),
                       layer.register_full_backward_pre_hook(lambda m, go: None)]
        xt = tinydl.tensor(x, requires_grad=True)
        y = layer(xt).tanh()
        (gx,) = tinydl.autograd.grad(y.sum(), [xt], create_graph=True)
        ((gx * gx).sum() + y.sum()).backward()
        results.append((y.numpy(), layer.weight.grad.numpy().copy(), xt.grad.numpy()))
        for h in handles:
            h.remove()
    for plain, hooked in zip(*results):
        np.testing.assert_allclose(hooked, plain, rtol=1e-14)


def test_inputs_of_different_dtypes_are_refused_with_the_reason():
    module = _TwoWay()
    module.register_full_backward_hook(lambda m, gi, go: None)
    a = tinydl.tensor(np.ones(2), requires_grad=True)
    b = tinydl.tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(NotImplementedError, match="share one dtype"):
        module(a, 1.0, b)


def test_no_hook_machinery_under_no_grad():
    layer, _ = _linear_pair()
    layer.register_full_backward_hook(lambda m, gi, go: None)
    x = tinydl.tensor(np.ones((1, 4)))
    with tinydl.no_grad():
        y = layer(x)
    assert y._ctx is None and y.shape == (1, 3)


class _Cube(nn.Module):
    def forward(self, x):
        return x ** 3


def test_hooks_run_once_per_pass_through_the_outputs():
    """A double backward reaches the inputs' node again without passing the outputs: the
    hooks do not run there (torch's rule). They ran again with the first pass's grad_output,
    and a hook scaling grad_input by 10 scaled the second derivative by 100 (torch: 10)."""
    x0 = np.array([[1.0, -2.0, 3.0], [0.5, 1.0, -1.0]])
    results = []
    for lib, module in [(tinydl, _Cube())] + (
            [(torch, type("Cube", (torch.nn.Module,), {"forward": _Cube.forward})())]
            if torch is not None else []):
        calls = []

        def times_ten(m, grad_input, grad_output, calls=calls):
            calls.append(1)
            return (grad_input[0] * 10,)

        module.register_full_backward_hook(times_ten)
        x = lib.tensor(x0, requires_grad=True)
        (g,) = (tinydl.autograd.grad if lib is tinydl else torch.autograd.grad)(
            module(x).sum(), [x], create_graph=True)
        g.sum().backward()
        results.append((len(calls), x.grad.detach().numpy() if lib is torch else x.grad.numpy()))
    assert results[0][0] == 1
    np.testing.assert_allclose(results[0][1], 60 * x0, rtol=1e-14)
    if torch is not None:
        assert results[1][0] == 1
        np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-14)


def test_a_second_backward_through_the_outputs_runs_the_hooks_again():
    layer, _ = _linear_pair()
    calls = []
    layer.register_full_backward_hook(_record(calls))
    y = layer(tinydl.tensor(RNG.standard_normal((2, 4)), requires_grad=True)).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(calls) == 2


class _ListOut(nn.Module):
    def forward(self, a):
        return [a * 2]


def test_list_outputs_are_not_hooked_as_torchs():
    """torch hooks a tensor or a tuple of outputs only: with a list the hooks do not run
    (they ran with grad_output None, so a hook reading grad_output[0] raised)."""
    module = _ListOut()
    calls = []
    module.register_full_backward_hook(_record(calls))
    a = tinydl.tensor([1.0, 2.0], requires_grad=True)
    module(a)[0].sum().backward()
    assert calls == [] and a.grad.tolist() == [2.0, 2.0]


def _two_heads(lib_nn):
    """A module with two outputs from two layers, (a(x), b(x)), in tinydl.nn or torch.nn."""
    class TwoHeads(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = lib_nn.Linear(2, 2), lib_nn.Linear(2, 2)

        def forward(self, x):
            return self.a(x), self.b(x)

    return TwoHeads()


def test_an_unused_output_gets_none_and_its_branch_no_gradient():
    """An output the loss does not use: None in grad_output, and nothing flows back through
    it, so the parameters behind it keep .grad None and an optimizer with weight decay leaves
    them (the zeros that flowed back there made them .grad zeros, and AdamW moved them)."""
    module = _two_heads(nn)
    seen = []
    module.register_full_backward_pre_hook(lambda m, go: seen.append([g is None for g in go]))
    module.register_full_backward_hook(lambda m, gi, go: None)
    opt = tinydl.optim.SGD(module.parameters(), lr=0.1, weight_decay=0.5)
    before = module.b.weight.numpy().copy()
    x = tinydl.tensor(np.ones((1, 2), np.float32), requires_grad=True)
    first, _ = module(x)
    first.sum().backward()
    opt.step()
    assert seen == [[False, True]]
    assert module.b.weight.grad is None and module.a.weight.grad is not None
    np.testing.assert_array_equal(module.b.weight.numpy(), before)
    if torch is not None:
        theirs = _two_heads(torch.nn)
        their_seen = []
        theirs.register_full_backward_pre_hook(
            lambda m, go: their_seen.append([g is None for g in go]))
        first, _ = theirs(torch.ones((1, 2), requires_grad=True))
        first.sum().backward()
        assert their_seen == seen and theirs.b.weight.grad is None


def test_the_hooks_that_run_are_those_registered_when_the_module_was_called():
    """torch takes the hooks as of the call: one added between forward and backward does not
    run, one removed then still does (register, forward, remove, backward)."""
    layer, _ = _linear_pair()
    calls = []
    early = layer.register_full_backward_hook(lambda m, gi, go: calls.append("early"))
    y = layer(tinydl.tensor(np.ones((1, 4)), requires_grad=True))
    layer.register_full_backward_hook(lambda m, gi, go: calls.append("late"))
    layer.register_full_backward_pre_hook(lambda m, go: calls.append("late pre-hook"))
    early.remove()
    y.sum().backward()
    assert calls == ["early"]


def test_prepend_puts_a_hook_first():
    layer, _ = _linear_pair()
    calls = []
    layer.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    layer.register_full_backward_hook(lambda m, gi, go: calls.append(0), prepend=True)
    layer.register_full_backward_pre_hook(lambda m, go: calls.append("b"))
    layer.register_full_backward_pre_hook(lambda m, go: calls.append("a"), prepend=True)
    layer(tinydl.tensor(np.ones((1, 4)), requires_grad=True)).sum().backward()
    assert calls == ["a", "b", 0, 1]


def test_the_in_place_error_names_the_hooks():
    relu = nn.ReLU(inplace=True)
    relu.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(RuntimeError, match="made by a module's full backward hooks"):
        relu(tinydl.tensor(RNG.standard_normal(4), requires_grad=True) * 1.0)
    layer, _ = _linear_pair()
    layer.register_full_backward_hook(lambda m, gi, go: None)
    out = layer(tinydl.tensor(np.ones((1, 4)), requires_grad=True))
    with pytest.raises(RuntimeError, match="made by a module's full backward hooks"):
        out.mul_(2)
