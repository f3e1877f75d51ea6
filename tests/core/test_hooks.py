"""Tensor.register_hook and register_post_accumulate_grad_hook, against torch's semantics."""
import numpy as np
import pytest

import tinydl as td

torch = pytest.importorskip("torch")


def _both(values):
    return (td.tensor(np.array(values, dtype=np.float64), requires_grad=True),
            torch.tensor(np.array(values, dtype=np.float64), requires_grad=True))


def test_leaf_and_non_leaf_hooks_replace_gradients_as_torch():
    x, tx = _both([1.0, -2.0, 3.0])
    for lib, v in ((td, x), (torch, tx)):
        v.register_hook(lambda g: g * 2)
        y = v * v
        y.register_hook(lambda g: g + 1)
        z = lib.sin(y)
        z.register_hook(lambda g: g * 3)
        z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_hook_returning_none_observes_and_remove_unregisters():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    handle.remove()
    (x * 3).sum().backward()
    assert len(seen) == 1


def test_hooks_apply_to_grad_captures_as_torch():
    x, tx = _both([0.5, 1.5])
    x.register_hook(lambda g: g * 5)
    (g,) = td.grad((x * x).sum(), x)
    tx.register_hook(lambda g: g * 5)
    (tg,) = torch.autograd.grad((tx * tx).sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.numpy())


def test_post_accumulate_hook_runs_once_per_backward_after_the_sum():
    w = td.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.numpy().copy()))
    (w * 2 + w * w).sum().backward()  # w reaches the loss along two paths
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [4.0, 6.0])
    (w * 1).sum().backward()  # accumulates: the hook sees the running .grad
    np.testing.assert_array_equal(calls[1], [5.0, 7.0])
    td.grad((w * w).sum(), w)  # grad() touches no .grad and calls no post-accumulate hook
    assert len(calls) == 2


def test_hook_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="does not require grad"):
        td.tensor([1.0]).register_hook(lambda g: g)
    x = td.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*shape \(\)"):
        (x * 2).sum().backward()


def test_a_hook_changing_the_gradient_dtype_raises_as_torch():
    """A leaf hook returning float32 left a float32 .grad on a float64 leaf; a non-leaf hook
    returning int64 truncated every gradient upstream."""
    x = td.tensor([1.5, 2.5], dtype=np.float64, requires_grad=True)
    x.register_hook(lambda g: g.astype(np.float32))
    with pytest.raises(RuntimeError, match="dtype from float64 to float32"):
        (x * 2).sum().backward()
    x = td.tensor([1.5, 2.5], dtype=np.float64, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: (g * 0.4).astype(np.int64))
    with pytest.raises(RuntimeError, match="dtype from float64 to int64"):
        (y * 1).sum().backward()


def test_retain_grad_on_a_tensor_without_grad_raises_as_torch():
    with pytest.raises(RuntimeError, match="retain_grad.*does not require grad"):
        td.ones(3).retain_grad()
    with td.no_grad():
        y = td.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="retain_grad"):
        y.retain_grad()
    leaf = td.ones(3, requires_grad=True)
    leaf.retain_grad()  # a leaf that requires grad keeps its .grad anyway: allowed
