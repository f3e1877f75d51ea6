"""Regression tests for the PyTorch habits that used to fail silently in tinydl.

In-place ops and the version counter, private leaf gradients, torch's dtype rules for Python
data, gradient bugs at the edges (x**0 at 0, empty means, boolean masks), a stable log_softmax,
zero-size inputs, the torch-habit names, and clear errors where NumPy's would be bare. Where
torch is installed it is the oracle.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl as td
from tinydl import nn
from tinydl.nn import functional as F

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def f64(*values):
    return td.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ============================================================================ 1. in-place ops
def test_sgd_by_hand_updates_the_parameter_in_place():
    model = nn.Linear(3, 2)
    weight = model.weight
    before = weight.data.copy()
    loss = model(td.ones(4, 3)).sum()
    loss.backward()
    with td.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert model.weight is weight
    np.testing.assert_allclose(model.weight.data, before - 0.1 * weight.grad.data, rtol=1e-6)


@pytest.mark.parametrize("op, expected", [
    (lambda t: t.__iadd__(2.0), [3.0, 4.0]),
    (lambda t: t.__isub__(td.tensor([1.0, 1.0])), [0.0, 1.0]),
    (lambda t: t.__imul__(3.0), [3.0, 6.0]),
    (lambda t: t.__itruediv__(2.0), [0.5, 1.0]),
    (lambda t: t.add_(td.tensor([1.0, 2.0]), alpha=2), [3.0, 6.0]),
    (lambda t: t.sub_(1.0), [0.0, 1.0]),
    (lambda t: t.mul_(td.tensor([2.0, 0.5])), [2.0, 1.0]),
    (lambda t: t.div_(4.0), [0.25, 0.5]),
    (lambda t: t.zero_(), [0.0, 0.0]),
    (lambda t: t.fill_(7.0), [7.0, 7.0]),
    (lambda t: t.copy_(td.tensor([5.0, 6.0])), [5.0, 6.0]),
    (lambda t: t.copy_(np.array(9.0)), [9.0, 9.0]),
    (lambda t: t.clamp_(1.5, None), [1.5, 2.0]),
    (lambda t: t.clip_(None, 1.5), [1.0, 1.5]),
    (lambda t: t.pow_(2), [1.0, 4.0]),
])
def test_in_place_ops_change_the_array_that_aliases_share(op, expected):
    t = td.tensor([1.0, 2.0])
    alias, view = t, t.numpy()
    out = op(t)
    assert out is t and alias is t
    np.testing.assert_allclose(view, expected)
    assert t._version == 1


def test_random_in_place_fills_use_the_seeded_generator():
    t, u = td.zeros(1000), td.zeros(1000)
    td.manual_seed(3)
    t.normal_(2.0, 0.5)
    td.manual_seed(3)
    u.normal_(2.0, 0.5)
    np.testing.assert_array_equal(t.data, u.data)
    assert abs(t.data.mean() - 2.0) < 0.1 and abs(t.data.std() - 0.5) < 0.05
    t.uniform_(-1.0, 3.0)
    assert t.data.min() >= -1.0 and t.data.max() < 3.0 and t.data.mean() > 0.5


@pytest.mark.parametrize("op", [
    lambda t: t.__iadd__(1.0), lambda t: t.__isub__(1.0), lambda t: t.__imul__(1.0),
    lambda t: t.__itruediv__(1.0), lambda t: t.add_(1.0), lambda t: t.zero_(),
    lambda t: t.fill_(1.0), lambda t: t.copy_(td.ones(2)), lambda t: t.clamp_(0, 1),
    lambda t: t.normal_(), lambda t: t.uniform_(), lambda t: t.__setitem__(0, 1.0),
])
def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad(op):
    w = td.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place.*no_grad"):
        op(w)
    np.testing.assert_array_equal(w.data, [1.0, 1.0])
    with td.no_grad():
        op(w)  # allowed there, as in torch


def test_overwriting_a_value_saved_for_backward_raises_at_backward():
    x = f64(0.5, 1.5)
    h = x * 2.0
    s = h.sin()          # sin keeps h for its gradient
    with td.no_grad():
        h += 1.0         # ... which this overwrites
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*Sin"):
        s.sum().backward()
    c = td.Tensor(np.array([1.0, 2.0]))  # a constant that a recorded op keeps
    y = (x * c).sum()
    c += 1.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*Multiply"):
        y.backward()


def test_overwriting_an_output_read_by_backward_raises():
    x = f64(0.5, 1.5)
    y = x.exp()          # exp's gradient reads its output
    with td.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_in_place_on_a_non_leaf_is_recorded_and_differentiable():
    x, y = f64(0.5, -1.0, 2.0), f64(1.0, 2.0, 3.0)
    h = x * x
    h += y
    h *= 3.0
    (h * h).sum().backward()
    expected_h = 3.0 * (x.data ** 2 + y.data)
    np.testing.assert_allclose(h.data, expected_h)
    np.testing.assert_allclose(x.grad.data, 2 * expected_h * 3.0 * 2 * x.data)
    np.testing.assert_allclose(y.grad.data, 2 * expected_h * 3.0)


@pytest.mark.parametrize("op,expected", [
    (lambda y: y.__iadd__(y), lambda a: 4 + 0 * a),           # y = 2a, y += y: 4a
    (lambda y: y.__isub__(y), lambda a: 0 * a),
    (lambda y: y.mul_(y), lambda a: 8 * a),                   # (2a)^2
    (lambda y: y.sub_(y, alpha=0.5), lambda a: 1 + 0 * a),    # 2a - a
    (lambda y: y.mul_(y.detach()), lambda a: 2 * (2 * a)),    # c * 2a, c = old y
    (lambda y: y.add_(y.data), lambda a: 2 + 0 * a),          # a constant equal to old y
    (lambda y: y.pow_(y.detach()), lambda a: 2 * (2 * a) * (2 * a) ** (2 * a - 1)),
], ids=["iadd-self", "isub-self", "mul_-self", "sub_-self-alpha", "mul_-detached-alias",
        "add_-array-alias", "pow_-detached-alias"])
def test_in_place_whose_operand_is_the_tensor_itself_or_its_array(op, expected):
    """The operand is the value before the write: y += y gave a.grad 2 (the self edge was lost),
    y.mul_(y.detach()) read the overwritten array in its backward."""
    a0 = np.array([0.5, -1.0, 2.0])
    a = td.tensor(a0, requires_grad=True)
    y = op(a * 2)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), expected(a0), rtol=1e-12)


def test_in_place_on_a_plain_tensor_with_a_grad_operand_joins_the_graph():
    w = f64(1.0, 2.0)
    buf = td.zeros(2, dtype=np.float64)
    buf += w * 3.0
    assert buf.requires_grad
    buf.sum().backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 3.0])


def test_a_constant_made_to_require_grad_in_place_stays_a_constant_where_used_before():
    """``s = b + w`` used w as a constant; ``w.add_(x)`` then made w require grad. s's graph
    sent x a gradient of 1 (torch: none; only ops after the write see x)."""
    b, x = f64(1.0), f64(3.0)
    w = td.tensor([2.0], dtype=np.float64)
    s = b + w
    used_before = b * w          # Mul keeps w's value: the write must make it raise
    w.add_(x)
    assert w.requires_grad
    (s + w * 10.0).sum().backward()
    np.testing.assert_allclose(b.grad.data, [1.0])
    np.testing.assert_allclose(x.grad.data, [10.0])  # only through w * 10, after the write
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        used_before.sum().backward()
    h = td.zeros(1, dtype=np.float64)   # an accumulator used, then accumulated into
    y = b * 2.0 + h
    h += x
    g = td.grad((y + h).sum(), [b, x])
    np.testing.assert_allclose([g[0].item(), g[1].item()], [2.0, 1.0])


def test_a_leaf_made_to_require_grad_after_an_op_used_it_gets_no_gradient_from_that_op():
    """s = b * w; w.requires_grad_(); s.backward() gave w a gradient of 2 (torch: None, the op
    recorded w as a constant); ops recorded after the switch do send it one."""
    b = f64(2.0)
    w = td.tensor([3.0], dtype=np.float64)
    s = b * w
    w.requires_grad_()
    t = w * 5.0
    (s + t).sum().backward()
    np.testing.assert_allclose(b.grad.data, [3.0])
    np.testing.assert_allclose(w.grad.data, [5.0])  # from t only
    frozen = td.tensor([1.0], dtype=np.float64)
    u = b * frozen
    frozen.requires_grad = True  # the property, too
    u.sum().backward()
    assert frozen.grad is None
    c = td.tensor([1.0], dtype=np.float64)
    v = (b * c).sum()
    c.requires_grad_()
    with pytest.raises(RuntimeError, match="was not used to compute the outputs"):
        td.grad(v, [c])  # torch: "appears to not have been used in the graph"
    # switched off and on again inside one graph (a GAN's D frozen for one term): the ops
    # recorded while it required grad still send it theirs, as torch's
    w = f64(2.0)
    first = (w * b).sum()
    w.requires_grad_(False)
    second = (w * b * 10.0).sum()
    w.requires_grad_(True)
    b.grad = None
    (first + second).backward()
    np.testing.assert_allclose(w.grad.data, [2.0])  # b, from `first` only
    np.testing.assert_allclose(b.grad.data, [22.0])


def test_a_constant_with_live_views_refuses_to_be_made_to_require_grad_in_place():
    """``v = b.unsqueeze(0); b.mul_(x)`` left v without a gradient (torch rebases it: x.grad
    [5, 12] below); tinydl refuses while such a view lives, and goes on once it is gone."""
    x = f64(3.0, 4.0)
    b = td.tensor([1.0, 2.0], dtype=np.float64)
    v = b.unsqueeze(0)
    with pytest.raises(RuntimeError, match="mul_: .* views of it taken before"):
        b.mul_(x)
    np.testing.assert_array_equal(b.numpy(), [1.0, 2.0])  # nothing written
    del v
    b.mul_(x)
    (b.unsqueeze(0) * td.tensor([[5.0, 6.0]], dtype=np.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 12.0])
    c = td.tensor([1.0, 2.0])
    first_row = c.reshape(1, 2)
    c.mul_(3.0)  # nothing recorded: views are fine
    np.testing.assert_array_equal(first_row.numpy(), [[3.0, 6.0]])


def test_a_saved_value_written_under_no_grad_is_caught_after_a_recorded_in_place_op():
    """``y = x.exp()`` saves y; a write under no_grad changes it; a recorded ``y.add_(1)``
    then rebased y onto a copy of the changed value, and backward gave 3 e^2 (torch raises)."""
    x = f64(2.0)
    y = x.exp()
    with td.no_grad():
        y.mul_(3.0)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    x = f64(2.0)
    y = x.exp()
    y.add_(1.0)
    y.mul_(3.0)   # recorded writes alone are fine
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0 * np.exp(2.0)])


def test_in_place_that_would_truncate_or_broadcast_the_target_raises():
    t = td.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast.*int64"):
        t += 0.5
    with pytest.raises(RuntimeError, match="shape"):
        td.zeros(2).add_(td.ones(3, 2))
    np.testing.assert_array_equal(t.data, [1, 2])


def test_setitem_bumps_the_version_and_is_refused_inside_a_graph():
    t = td.zeros(3)
    t[1] = 5.0
    assert t._version == 1 and t.data[1] == 5
    h = f64(1.0, 2.0) * 2.0
    with pytest.raises(RuntimeError, match="no_grad"):
        h[0] = 3.0


@needs_torch
def test_in_place_chain_matches_torch():
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((2, 3, 4))
    a, b = td.Tensor(a0, requires_grad=True), td.Tensor(b0, requires_grad=True)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
    for lib, (p, q) in ((td, (a, b)), (torch, (ta, tb))):
        h = p * 1.0
        h.add_(q, alpha=0.5)
        h.sub_(0.25)
        h.mul_(q)
        h.div_(2.0)
        h.clamp_(-0.3, 0.4)
        (h * p).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       st.sampled_from(["__iadd__", "__isub__", "__imul__", "__itruediv__"]))
def test_in_place_equals_out_of_place_when_the_result_fits(shapes, method):
    left, right = shapes.input_shapes
    if np.broadcast_shapes(left, right) != tuple(left):
        left = shapes.result_shape
    rng = np.random.default_rng(1)
    a = td.Tensor(rng.uniform(1, 2, left))
    b = td.Tensor(rng.uniform(1, 2, right))
    expected = getattr(td.Tensor(a.data.copy()), method.replace("__i", "__"))(b).data
    getattr(a, method)(b)
    np.testing.assert_allclose(a.data, expected)


# ============================================================================ 2. private grads
def test_leaf_gradients_are_private_writable_arrays():
    a, b = f64(1.0, 2.0), f64(3.0, 4.0)
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    assert not np.shares_memory(a.grad.data, b.grad.data)
    x = f64(1.0, 2.0, 3.0)
    x.sum().backward()
    assert x.grad.data.flags.writeable
    x.grad.data[0] = 5.0  # a broadcast view would refuse this
    np.testing.assert_array_equal(x.grad.data, [5.0, 1.0, 1.0])


def test_clip_grad_norm_scales_shared_gradients_once():
    a, b = f64(1.0, 2.0), f64(3.0, 4.0)
    (10.0 * (a + b)).sum().backward()
    nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    joint = np.sqrt((a.grad.data ** 2).sum() + (b.grad.data ** 2).sum())
    assert joint == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_value_and_zero_grad_work_on_broadcast_gradients():
    x = f64(1.0, 2.0, 3.0)
    (x.sum() * 4.0).backward()
    nn.utils.clip_grad_value_([x], 1.5)
    np.testing.assert_array_equal(x.grad.data, [1.5, 1.5, 1.5])
    opt = td.optim.SGD([x], lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_a_gradient_passed_to_backward_is_not_aliased_by_a_leaf():
    x = f64(1.0, 2.0)
    g = td.Tensor(np.array([1.0, 1.0]))
    x.backward(g)
    x.grad.data *= 3.0
    np.testing.assert_array_equal(g.data, [1.0, 1.0])


def test_gradients_accumulate_into_the_same_array():
    x = f64(1.0, 2.0)
    (x * 2.0).sum().backward()
    held = x.grad
    (x * 3.0).sum().backward()
    assert x.grad is held
    np.testing.assert_allclose(held.data, [5.0, 5.0])


# ============================================================================ 3. dtypes
def test_python_data_takes_torch_dtypes():
    assert td.tensor([0, 1, 2]).dtype == np.int64
    assert td.tensor([True]).dtype == np.bool_
    assert td.tensor([0.5]).dtype == np.float32
    assert td.full((2,), 4).dtype == np.int64
    assert td.full((2,), 4.0).dtype == np.float32
    assert td.full((2,), True).dtype == np.bool_
    assert td.arange(3).dtype == np.int64


@pytest.mark.parametrize("make", [
    lambda i: i * 0.5, lambda i: 0.5 + i, lambda i: i / 2, lambda i: i / td.Tensor(np.array([2, 4])),
    lambda i: i - td.tensor([0.5, 0.5]), lambda i: td.maximum(i, 0.5), lambda i: i ** 0.5,
])
def test_integer_tensors_with_floats_give_float32(make):
    assert make(td.Tensor(np.array([1, 2]))).dtype == np.float32


def test_integer_tensor_with_a_float64_tensor_takes_float64():
    assert (td.tensor([1, 2]) * td.Tensor(np.ones(2))).dtype == np.float64


# ============================================================================ 4. gradient bugs
@needs_torch
@pytest.mark.parametrize("base, exponent", [
    ([0.0, 1.0, 2.0], [0.0, 0.0, 0.0]),      # x ** 0 at x = 0
    ([0.0, 0.0, 3.0], [-1.0, 2.0, -0.5]),    # 0 ** negative
    ([0.0, 2.0, 0.5], [0.5, 1.0, 3.0]),
])
def test_power_gradients_at_zero_match_torch(base, exponent):
    x, y = f64(*base), f64(*exponent)
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (base, exponent))
    with np.errstate(divide="ignore"):
        (x ** y).sum().backward()
    (tx ** ty).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.data, ty.grad.numpy())


def test_power_by_a_python_zero_has_zero_gradient_at_zero():
    x = f64(0.0, 3.0)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_power_mixed_partial_at_a_zero_exponent_is_the_true_one():
    """d2(x ** y)/dy dx at y = 0 is 1/x (the y-derivative of y x^(y-1)); the x-gradient was
    a constant 0 there, so this mixed partial came out 0 (torch's too) while the other order
    gave 1/x: the Hessian was not symmetric."""
    x = td.tensor(np.array([2.0, 0.5, 3.0]), requires_grad=True)
    y = td.tensor(np.array([0.0, 0.0, 0.5]), requires_grad=True)
    gx, gy = td.grad((x ** y).sum(), [x, y], create_graph=True)
    np.testing.assert_array_equal(gx.numpy()[:2], [0.0, 0.0])
    d_gx_dy, = td.grad(gx.sum(), [y], retain_graph=True)
    d_gy_dx, = td.grad(gy.sum(), [x])
    xs, ys = x.numpy(), y.numpy()
    truth = xs ** (ys - 1) * (1 + ys * np.log(xs))
    np.testing.assert_allclose(d_gx_dy.numpy(), truth, rtol=1e-14)
    np.testing.assert_allclose(d_gy_dx.numpy(), truth, rtol=1e-14)


@pytest.mark.parametrize("exponent", [0, np.zeros(2), "tensor"])
def test_power_by_zero_has_zero_second_derivative_at_zero(exponent):
    """x ** 0 is constant: its second derivative at x = 0 was NaN (the masked first
    derivative 0 * 0 ** -1 differentiated to 0 * inf); torch's is 0."""
    x = f64(0.0, 3.0)
    if isinstance(exponent, str):
        exponent = td.zeros(2, dtype=np.float64, requires_grad=True)
    g, = td.grad((x ** exponent).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0])
    g2, = td.grad(g.sum(), [x], allow_unused=True)
    np.testing.assert_array_equal(g2.data, [0.0, 0.0])


def test_std_of_a_constant_slice_has_finite_second_derivatives():
    """std's gradient is gated to 0 over a constant slice; the gradient of that gradient was
    NaN there (0 times the gate's unselected g / 0; torch gives 0 in the first case below)."""
    x = f64(1.6)
    s = x.reshape(1, 1).std(axis=-1, keepdims=True)   # one element: std 0
    g, = td.grad((s * x).sum() + (x * 0.3).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, [0.3])
    h, = td.grad(g.sum(), [x], allow_unused=True)
    np.testing.assert_array_equal(h.data, [0.0])
    x = td.Tensor(np.array([[2.0, 2.0], [1.0, 3.0]]), requires_grad=True)
    g, = td.grad((x.std(axis=1, ddof=1) * x[:, 0]).sum(), [x], create_graph=True)
    h, = td.grad(g.sum(), [x])
    np.testing.assert_allclose(h.data, [[0.0, 0.0], [-0.5 ** 0.5, 0.5 ** 0.5]], rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((0, 3), None), ((2, 0), 1), ((0, 3), 0)])
def test_mean_over_no_elements_is_nan_and_differentiable(shape, axis):
    x = td.Tensor(np.zeros(shape), requires_grad=True)
    m = x.mean(axis=axis)
    expected_shape = () if axis is None else tuple(n for i, n in enumerate(shape) if i != axis)
    assert np.all(np.isnan(m.data)) and m.shape == expected_shape
    m.sum().backward()
    assert x.grad.shape == shape


def test_a_boolean_mask_of_the_wrong_length_raises():
    with pytest.raises(IndexError, match="boolean mask of shape \\(2,\\)"):
        td.ones(10, 11)[td.tensor([True, False])]
    with pytest.raises(IndexError, match="boolean mask"):
        td.ones(3, 4)[:, np.array([True, False])]
    picked = td.ones(3, 4)[..., np.array([True, False, True, False])]
    assert picked.shape == (3, 2)


def test_repeated_indices_in_a_nested_tuple_accumulate():
    x = td.Tensor(np.arange(3.0), requires_grad=True)
    x[((0, 0),)].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 0.0])


# ============================================================================ 5. log_softmax
@needs_torch
@pytest.mark.parametrize("offset", [0.0, 1e2, 1e4, 1e5, 1e6])
def test_log_softmax_is_exact_at_large_offsets(offset):
    logits = (np.array([0.3, -0.2, 1.1, 0.0], dtype=np.float32) + np.float32(offset))
    reference = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), 0).numpy()
    ours = [td.log_softmax(td.tensor(logits)), td.tensor(logits).log_softmax(dim=0),
            nn.LogSoftmax(axis=0)(td.tensor(logits)), F.log_softmax(td.tensor(logits), dim=0)]
    torch_f32 = torch.log_softmax(torch.tensor(logits), 0).numpy()
    for out in ours:
        assert out.dtype == np.float32
        assert np.abs(out.data - reference).max() <= 1e-6
        np.testing.assert_allclose(out.data, torch_f32, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_non_finite_rows_is_torchs(dtype):
    """A row holding +inf is NaN throughout, value and gradient, as torch's and as
    tinydl's softmax (it came out [nan, -inf, -inf, -inf]); -inf entries, all--inf and NaN
    rows as torch's too; finite rows beside them are untouched."""
    rows = [[np.inf, 0, 1, 2], [np.inf, np.inf, 0, 0], [-np.inf] * 4, [np.nan, 0, 1, 2],
            [-np.inf, 0, 1, 2], [0, 1, 2, 3]]
    x = np.array(rows, dtype)
    g = np.arange(x.size, dtype=dtype).reshape(x.shape)
    ours = td.tensor(x, requires_grad=True)
    out = td.log_softmax(ours, axis=1)
    out.backward(td.tensor(g))
    theirs = torch.tensor(x, requires_grad=True)
    want = torch.log_softmax(theirs, 1)
    want.backward(torch.tensor(g))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6,
                               equal_nan=True)


@needs_torch
def test_clone_keeps_the_layout_as_torchs():
    """clone() of a transpose is a transpose (torch's preserve_format), so .contiguous() and
    .reshape() of it copy and writes there leave the clone alone, as in torch (a C-ordered
    clone made both views, silently changing it), and .view(-1) refuses as torch's."""
    base = np.arange(6.0).reshape(2, 3)
    for lib, make in (("td", td.tensor), ("torch", torch.tensor)):
        c = make(base).mT.clone()
        c.contiguous()[0, 0] = 100.0
        c.reshape(-1)[1] = 200.0
        assert c.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]], lib
        assert tuple(c.stride()) == (1, 3), lib
    with pytest.raises(RuntimeError, match="view"):
        td.tensor(base).mT.clone().view(-1)
    # Step slices, flips and expands: torch's strides where torch has them; NumPy's copy
    # and tinydl.copy / Tensor.copy are C-ordered as NumPy's ndarray.copy().
    assert td.tensor(base)[:, ::2].clone().stride() == (2, 1)
    assert td.tensor(base[0]).expand(2, 3).clone().stride() == (3, 1)
    assert td.tensor(base).mT.copy().stride() == (2, 1) == td.copy(td.tensor(base).mT).stride()
    assert np.copy(td.tensor(base).mT).stride() == (1, 3)  # NumPy's order='K'
    assert td.tensor(base).mT.clone(memory_format=torch.contiguous_format).stride() == (2, 1)
    with pytest.raises(ValueError, match="memory_format"):
        td.tensor(base).clone(memory_format=torch.channels_last)
    x = td.tensor(base, requires_grad=True)
    (x.mT.clone() * td.tensor(base.T)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, base)


_MIXED_SCALED = {
    "add_ uint8 alpha": lambda L, T: L.zeros(1).add_(T(np.array([200], np.uint8)), alpha=2),
    "sub_ float16 alpha": lambda L, T: L.zeros(1).sub_(T(np.array([1e-4], np.float16)),
                                                      alpha=1e-4),
    "add float16 alpha": lambda L, T: L.add(L.zeros(1), T(np.array([1e-4], np.float16)),
                                            alpha=1e-4),
    "add int64 uint8": lambda L, T: L.add(T(np.array([1])), T(np.array([200], np.uint8)),
                                          alpha=2),
    "add float64 float32": lambda L, T: L.add(T(np.array([1.0])),
                                              T(np.array([0.1], np.float32)), alpha=3),
    "add 0-d float64": lambda L, T: L.add(T(np.array([1.0], np.float32)),
                                          T(np.array(0.1)), alpha=3),
    "addcmul_ uint8": lambda L, T: L.zeros(1).addcmul_(T(np.array([200], np.uint8)),
                                                       T(np.array([2], np.uint8))),
    "addcmul_ float16": lambda L, T: L.zeros(1).addcmul_(
        T(np.array([1e-4], np.float16)), T(np.array([1e-4], np.float16)), value=1e-3),
    "addcdiv_ float16": lambda L, T: L.zeros(1).addcdiv_(
        T(np.array([1e-3], np.float16)), T(np.array([1e3], np.float16)), value=0.01),
    "addcdiv uint8": lambda L, T: L.addcdiv(L.zeros(1), T(np.array([200], np.uint8)),
                                            T(np.array([0.5], np.float32)), value=2),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(_MIXED_SCALED))
def test_scaled_operands_are_scaled_in_the_results_dtype_as_torch(name):
    """alpha * other and value * t1 * t2 in the dtype of the result, as torch computes them:
    in the operands' own dtype uint8 200 * 2 wrapped to 144 and float16 products of a
    mixed-precision step (p.add_(g16, alpha=-lr), v.addcmul_(g16, g16, value=1-b2))
    underflowed to 0 before they met the float32 tensor."""
    ours = _MIXED_SCALED[name](td, td.tensor)
    theirs = _MIXED_SCALED[name](torch, torch.tensor)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_a_scaled_mixed_dtype_operand_keeps_its_gradient_dtype():
    x = td.tensor(np.array([1.0, 2.0]), requires_grad=True)
    g = td.tensor(np.array([1e-4, 2e-4], np.float16), requires_grad=True)
    t = td.tensor(np.array([3.0, 4.0], np.float16), requires_grad=True)
    (td.add(x, g, alpha=1e-4) + td.addcmul(x, g, t, value=0.5)).sum().backward()
    assert g.grad.dtype == np.float16 and t.grad.dtype == np.float16
    np.testing.assert_allclose(g.grad.data.astype(np.float64), 1e-4 + 0.5 * t.data, rtol=1e-3)
    np.testing.assert_allclose(t.grad.data.astype(np.float64), 0.5 * g.data, rtol=1e-3)


# ============================================================================ 6. zero size
def test_zero_size_reductions_follow_numpy_and_torch():
    z = td.Tensor(np.zeros((3, 0)), requires_grad=True)
    np.testing.assert_array_equal(td.logsumexp(z, axis=1).data, [-np.inf] * 3)
    assert td.softmax(z, axis=1).shape == (3, 0)
    assert td.log_softmax(z, axis=1).shape == (3, 0)
    td.logsumexp(z, axis=1).sum().backward()
    assert z.grad.shape == (3, 0)
    e = td.Tensor(np.zeros((0, 3)), requires_grad=True)
    assert e.max(axis=1).shape == (0,) and e.min(axis=1).shape == (0,)
    e.max(axis=1).sum().backward()
    with pytest.raises(ValueError, match="zero-length axis"):
        e.max(axis=0)


def test_zero_size_shapes_split_flatten_and_index():
    assert [p.shape for p in td.split(td.zeros(0, 2), 2)] == [(0, 2), (0, 2)]
    assert td.flatten(td.zeros(0, 3, 4), 1).shape == (0, 12)
    assert td.zeros(0, 3, 4).flatten(start_dim=1).shape == (0, 12)
    x = td.ones(4, requires_grad=True)
    picked = x[[]]
    assert picked.shape == (0,)
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))


# ============================================================================ habits
def test_torch_habit_methods():
    x = td.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.permute(1, 0).shape == (3, 2)
    assert x.unsqueeze(0).shape == (1, 2, 3)
    assert x.numel() == 6 and x.dim() == 2
    np.testing.assert_array_equal(x.clamp(1, 4).data, np.clip(x.data, 1, 4))
    np.testing.assert_array_equal(x.pow(2).data, x.data ** 2)
    assert x.long().dtype == np.int64 and x.int().dtype == np.int32
    assert x.bool().dtype == np.bool_ and x.long().float().dtype == np.float32
    assert x.to(np.float32).dtype == np.float32 and x.to("cpu") is x
    assert x.to(td.zeros(1)).dtype == np.float32
    with pytest.raises(td.DeviceError, match="CPU only"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):  # also a RuntimeError, as torch raises
        x.cuda()
    assert x.type_as(td.zeros(1)).dtype == np.float32
    assert x.new_zeros(2, 2).dtype == np.float64 and x.new_ones((3,)).shape == (3,)
    assert x[:, :1].expand(2, 4).shape == (2, 4) and x[:1].expand(-1, 3).shape == (1, 3)
    assert x.contiguous() is x and x.T.contiguous().data.flags.c_contiguous
    np.testing.assert_array_equal(x.masked_fill(x > 2, -1.0).data, np.where(x.data > 2, -1, x.data))
    np.testing.assert_array_equal(x.argmax(dim=1).data, [2, 2])
    assert x.argmax(dim=1).dtype == np.int64


def test_masked_fill_with_a_tensor_value_passes_its_gradient():
    pt = pytest.importorskip("torch")
    x0 = np.arange(6.0).reshape(2, 3)
    mask = x0 > 2.5
    x, v = td.tensor(x0, requires_grad=True), td.tensor(7.0, dtype=np.float64, requires_grad=True)
    tx, tv = pt.tensor(x0, requires_grad=True), pt.tensor(7.0, dtype=pt.float64, requires_grad=True)
    out, tout = x.masked_fill(td.tensor(mask), v), tx.masked_fill(pt.tensor(mask), tv)
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert float(v.grad) == float(tv.grad) == 42.0
    assert x.float().masked_fill(td.tensor(mask), v).dtype == np.float32
    with pytest.raises(ValueError, match="0-dimensional"):
        x.masked_fill(td.tensor(mask), td.ones(3))


@pytest.mark.parametrize("call", [
    lambda x: x.sum(dim=1, keepdim=True), lambda x: x.mean(dim=0), lambda x: x.max(dim=1),
    lambda x: x.min(dim=1, keepdim=True), lambda x: x.var(dim=1, correction=1),
    lambda x: x.std(dim=0, unbiased=False),
    lambda x: x.logsumexp(dim=1), lambda x: x.softmax(dim=0), lambda x: x.log_softmax(dim=1),
    lambda x: td.sum(x, dim=1), lambda x: td.concatenate([x, x], dim=1), lambda x: td.cat([x, x], dim=0),
    lambda x: td.stack([x, x], dim=1), lambda x: x.split(1, dim=1)[0],
    lambda x: x.expand_dims(0).squeeze(dim=0), lambda x: x.expand_dims(dim=0), lambda x: x.flatten(start_dim=0),
    lambda x: td.swapaxes(x, dim0=0, dim1=1),
])
def test_dim_and_keepdim_are_accepted_and_differentiable(call):
    x = td.Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    td.gradcheck(lambda t: call(t).sum(), [x])


@pytest.mark.parametrize("call", [
    lambda x: x.var(dim=1), lambda x: x.std(dim=0), lambda x: td.var(x, dim=(0, 1)),
    lambda x: x.std(1, keepdim=True), lambda x: x.var(dim=1, keepdim=True),
])
def test_var_and_std_in_torch_spelling_need_the_correction_said(call):
    # torch's x.var(dim=1) is unbiased, NumPy's ddof=0: the torch spelling alone would give
    # NumPy's answer to torch's question, (n - 1) / n of it, silently.
    x = td.Tensor(np.random.default_rng(0).standard_normal((2, 3)))
    with pytest.raises(TypeError, match="correction=1 .*unbiased=True"):
        call(x)


def test_var_and_std_with_the_correction_said_match_torch_and_numpy():
    pt = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((4, 5))
    x, tx = td.Tensor(a), pt.tensor(a)
    for kwargs in [dict(correction=1), dict(unbiased=True), dict(correction=0),
                   dict(unbiased=False), dict(correction=1, keepdim=True)]:
        for name in ("var", "std"):
            got = getattr(x, name)(dim=1, **kwargs).numpy()
            np.testing.assert_allclose(got, getattr(tx, name)(dim=1, **kwargs).numpy(), rtol=1e-12)
    # NumPy's spellings keep NumPy's default: positional or axis= (keepdim alone beside axis=)
    np.testing.assert_allclose(x.var(1).numpy(), a.var(1), rtol=1e-12)
    np.testing.assert_allclose(x.std(axis=0, keepdim=True).numpy(), a.std(0, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(x.var(1, 1).numpy(), a.var(1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(np.var(x, axis=1).numpy(), a.var(1), rtol=1e-12)


def test_giving_both_axis_and_dim_raises():
    with pytest.raises(TypeError, match="both 'axis' and its torch alias 'dim'"):
        td.sum(td.ones(2, 2), axis=0, dim=1)


def test_module_level_torch_names():
    arr = np.zeros(3, dtype=np.float32)
    shared = td.from_numpy(arr)
    arr[0] = 4.0
    assert shared.data[0] == 4.0
    assert td.as_tensor(arr).data is arr and td.as_tensor([1, 2]).dtype == np.int64
    td.manual_seed(0)
    r = td.randint(0, 5, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 0 and r.data.max() < 5
    assert td.randint(3, (2, 2)).shape == (2, 2)
    np.testing.assert_allclose(td.linspace(0, 1, 5).data, np.linspace(0, 1, 5))
    np.testing.assert_allclose(td.logspace(0, 2, 3).data, [1, 10, 100])
    assert td.empty(2, 3).shape == (2, 3) and td.empty(2).dtype == np.float32
    assert td.full_like(td.zeros(2, dtype=np.float64), 3).data.tolist() == [3.0, 3.0]
    assert td.rand_like(td.zeros(4)).shape == (4,) and td.randn_like(td.zeros(2, 2)).shape == (2, 2)
    x = td.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert td.argmax(x, dim=1).tolist() == [1, 0] and td.argmin(x).item() == 0
    assert td.cat([x, x], dim=0).shape == (4, 2)
    w = td.ones(2, requires_grad=True)
    with td.inference_mode():
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_size_is_numpys_count_and_calling_it_explains():
    x = td.zeros(3, 4)
    assert x.size == 12
    with pytest.raises(TypeError, match="x.shape\\[0\\]"):
        x.size(0)


# ============================================================================ clear errors
@pytest.mark.parametrize("call, error, message", [
    (lambda: td.tensor(3.0).sum(axis=1), IndexError, "sum: axis 1 does not fit a 0-d tensor"),
    (lambda: td.ones(2, 3).squeeze(0), ValueError, "squeeze: axis 0 .* length 2"),
    (lambda: td.Tensor([[1, 2], [3]]), ValueError, "Tensor: .*ragged"),
    (lambda: td.Tensor(["a", "b"]), TypeError, "Tensor: cannot build"),
    (lambda: td.Tensor(np.array(["a"])), TypeError, "Tensor: cannot build"),
    (lambda: td.Tensor(np.array([1, 2], dtype=object)), TypeError, "Tensor: cannot build"),
    (lambda: td.arange(0, 10, 0), ValueError, "arange: step must be nonzero"),
    (lambda: td.eye(-2), ValueError, "eye: n must be a non-negative integer, got -2"),
    (lambda: td.sum(td.ones(2, 2), axis=1.5), TypeError, "sum: axis .* got 1.5"),
    (lambda: td.tensor([2]) ** -1, ValueError, "power: Integers to negative"),
])
def test_bad_input_gets_an_error_naming_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("size", [3, 5000])
def test_in_place_on_a_tensor_other_ops_already_used_raises_instead_of_misrouting(size):
    x = td.Tensor(np.ones(size), requires_grad=True)
    h = x * 2.0
    a = h + 1.0          # Add keeps no value of h, so no version check would catch this
    with pytest.raises(RuntimeError, match="already used by other recorded ops"):
        h *= 3.0
    (a + h).sum().backward()   # the graph is untouched: da/dx + dh/dx = 2 + 2
    np.testing.assert_allclose(x.grad.data, np.full(size, 4.0))


@pytest.mark.parametrize("make_view", [
    lambda a: a[1:], lambda a: a.reshape(3, 1), lambda a: a[None], lambda a: a[::2]])
@pytest.mark.parametrize("op", [
    lambda v: v.mul_(2.0), lambda v: v.zero_(), lambda v: v.add_(1.0), lambda v: v.clamp_(0, 1),
    lambda v: v.__imul__(2.0)])
def test_in_place_on_a_view_inside_a_graph_raises_instead_of_a_wrong_gradient(make_view, op):
    """The write would reach the viewed tensor's array but not its graph node (torch rebases
    it; tinydl refuses): x.grad of (a*a).sum() after a[1:] *= 2 was [2, 8, 12], torch
    [2, 16, 24]. Views of a leaf that requires grad, and views of a constant written with a
    gradient-carrying operand, refuse the same way; with nothing recorded the write goes
    through."""
    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1.0
    with pytest.raises(RuntimeError, match="view .* of another tensor's array"):
        op(make_view(a))
    with pytest.raises(RuntimeError, match="view .* of another tensor's array"):
        op(make_view(x))
    w = td.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view .* of another tensor's array"):
        make_view(td.tensor([1.0, 1.0, 1.0])).mul_(w)
    plain = td.tensor([0.5, 2.0, -3.0])
    expected = plain.numpy().copy()
    view = make_view(plain)
    op(view)
    np.put(expected, np.arange(3)[make_view(np.arange(3)).ravel()], view.numpy().ravel())
    np.testing.assert_array_equal(plain.numpy(), expected)  # the base sees the write
    (a * a).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0, 6.0])  # a's graph untouched
    param = td.tensor([0.5, 2.0, -3.0], requires_grad=True)
    with td.no_grad():
        op(make_view(param))  # the SGD-by-hand habit on part of a parameter
    np.testing.assert_array_equal(param.numpy(), expected)


@pytest.mark.parametrize("make, shape", [
    (lambda x: x.t(), (-1,)), (lambda x: x.t(), (2, 3)), (lambda x: x[:, ::2], (4,)),
    (lambda x: x.permute(1, 0), (6,))])
def test_view_that_would_need_a_copy_raises_as_in_torch(make, shape):
    """``x.t().view(-1)`` silently copied, so a write through the "view" missed x."""
    x = td.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="view: shape .* cannot be viewed without a copy"):
        make(x).view(*shape)
    if torch is not None:
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            make(torch.arange(6.0).reshape(2, 3)).view(*shape)
    np.testing.assert_array_equal(make(x).reshape(*shape).numpy(),
                                  make(x).numpy().reshape(shape))


def test_view_shares_the_array_where_the_strides_allow():
    x = td.tensor(np.arange(6.0).reshape(2, 3))
    for v in (x.view(3, 2), x.view(-1), x.t().view(3, 1, 2), x[:, :1].view(2), x.view((6,))):
        assert np.shares_memory(v.data, x.data)
    x.view(-1).add_(1.0)
    np.testing.assert_array_equal(x.numpy().ravel(), np.arange(1.0, 7.0))
    assert td.zeros(0, 3).t().view(-1).shape == (0,)
    with pytest.raises(TypeError, match="view.*does not reinterpret .*to\\(dtype\\)"):
        x.view(np.int64)


def test_an_advanced_index_copy_is_not_a_view_and_takes_in_place_ops():
    x = td.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x[[1, 0]]
    y.mul_(3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 2), 3.0))


@pytest.mark.parametrize("op, start, expected", [
    (lambda t: t.__ifloordiv__(2), [-7, 7], [-4, 3]),
    (lambda t: t.__imod__(3), [-7, 7], [2, 1]),
    (lambda t: t.__iand__(td.tensor([6, 3])), [5, 5], [4, 1]),
    (lambda t: t.__ior__(2), [5, 1], [7, 3]),
    (lambda t: t.__ixor__(1), [5, 2], [4, 3]),
    (lambda t: t.__ilshift__(2), [1, 3], [4, 12]),
    (lambda t: t.__irshift__(1), [8, -8], [4, -4]),
])
def test_integer_augmented_assignments_write_in_place_as_torch(op, start, expected):
    """``t //= 2`` and friends: before, Python rebound the name and an alias kept the old
    values (torch writes in place)."""
    t = td.tensor(start)
    alias = t
    assert op(t) is t
    np.testing.assert_array_equal(alias.numpy(), expected)
    assert t._version == 1
    flags = td.tensor([True, True])
    same = flags
    flags &= td.tensor([True, False])
    np.testing.assert_array_equal(same.numpy(), [True, False])


@pytest.mark.parametrize("make, expected", [
    (lambda: td.tensor([1.0, 2.0]) * np.float64(0.5), "float32"),
    (lambda: np.float64(0.5) * td.tensor([1.0, 2.0]), "float32"),
    (lambda: td.tensor([1.0, 2.0]) / np.sqrt(4), "float32"),     # attention's x / sqrt(d)
    (lambda: np.exp(td.tensor([1.0, 2.0])) * np.float64(2.0), "float32"),
    (lambda: td.tensor([1.0, 2.0]) + td.tensor(np.float64(1.0)), "float32"),  # a 0-d tensor
    (lambda: td.tensor([1, 2], dtype="int32") + td.tensor(np.int64(1)), "int32"),
    (lambda: td.tensor([1, 2], dtype="int32") * np.int64(3), "int32"),
    (lambda: np.int64(3) * td.tensor([1, 2], dtype="int32"), "int32"),
    (lambda: td.tensor([1, 2]) * np.float64(0.5), "float32"),
    (lambda: np.float64(0.5) * td.tensor([1, 2]), "float32"),
    (lambda: td.tensor([1, 2]) + td.tensor(np.float64(0.5)), "float64"),  # higher category
    (lambda: td.tensor(np.float64(2.0)) * td.tensor(np.float32(3.0)), "float64"),  # both 0-d
    (lambda: td.tensor(np.ones(2)) * td.tensor(np.ones(2, np.float32)), "float64"),
])
def test_numpy_scalars_and_0d_tensors_do_not_widen_a_dtype(make, expected):
    """torch's rule: a 0-d tensor, or a NumPy scalar (which torch reads as a Python number),
    does not widen a tensor with dimensions within its category. NumPy 2 makes float32 *
    np.float64(0.5) float64, which then spread through a float32 model."""
    assert make().dtype == np.dtype(expected)


def test_dtype_of_mixed_arithmetic_is_torchs():
    torch = pytest.importorskip("torch")
    dtypes = ["bool", "uint8", "int32", "int64", "float32", "float64"]
    for a_dtype in dtypes:
        for b_dtype in dtypes:
            for a_shape, b_shape in [((3,), ()), ((), (3,)), ((3,), (3,))]:
                a, b = np.ones(a_shape, a_dtype), np.full(b_shape, 1, b_dtype)
                ours = (td.tensor(a) * td.tensor(b)).dtype
                theirs = (torch.from_numpy(a) * torch.from_numpy(b)).dtype
                assert str(theirs) == f"torch.{ours}", (a_dtype, a_shape, b_dtype, b_shape)


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "erf", "tanh", "sigmoid"])
def test_float_valued_ops_of_integer_tensors_are_float32(name):
    """torch.exp(torch.arange(5)) is float32; NumPy's float64 made one integer tensor (an
    arange for positions) turn the rest of a float32 model float64."""
    t = td.tensor([1, 4, 9])
    expected = getattr(np, name, None) or {"erf": __import__("scipy.special").special.erf,
                                           "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name]
    for out in (getattr(td, name)(t), getattr(t, name)()):
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), expected(np.array([1.0, 4.0, 9.0])), rtol=1e-6)
    if hasattr(np, name):
        assert getattr(np, name)(t).dtype == np.float32  # the ufunc route
    assert np.true_divide(t, td.tensor([2, 2, 2])).dtype == np.float32
    assert np.abs(t).dtype == np.int64  # integer-valued ops keep the integer dtype
    assert np.add(t, np.array([0.5, 1.5, 2.5])).dtype == np.float64  # a float64 array wins


def test_parameters_follow_the_0d_rule_as_plain_tensors_do():
    """A Parameter (a Tensor subclass) beside a 0-d tensor skipped the 0-d rule: a float32
    weight + a 0-d float64 tensor gave float64 (torch: float32), in both orders, and a
    float32 tensor times a 0-d float64 Parameter too."""
    torch = pytest.importorskip("torch")
    cases = [((2, 2), np.float32, (), np.float64), ((), np.float64, (2, 2), np.float32),
             ((3,), np.int32, (), np.int64), ((2,), np.float32, (2,), np.float64)]
    for a_shape, a_dtype, b_shape, b_dtype in cases:
        a, b = np.ones(a_shape, a_dtype), np.full(b_shape, 2, b_dtype)
        theirs = str((torch.from_numpy(a) * torch.from_numpy(b)).dtype)
        for wrap_a, wrap_b in [(nn.Parameter, td.tensor), (td.tensor, nn.Parameter),
                               (nn.Parameter, nn.Parameter)]:
            if "int" in str(a_dtype) and wrap_a is nn.Parameter or \
                    "int" in str(b_dtype) and wrap_b is nn.Parameter:
                continue  # integer parameters cannot require grad
            x, y = wrap_a(a), wrap_b(b)
            for out in (x * y, y + x):
                assert f"torch.{out.dtype}" == theirs, (a_shape, a_dtype, b_shape, b_dtype,
                                                       wrap_a.__name__, wrap_b.__name__)


def test_a_0d_parameter_of_another_float_dtype_still_learns():
    scale = td.tensor(np.float64(2.0), requires_grad=True)
    x = td.tensor([1.0, 3.0])
    y = x * scale
    assert y.dtype == np.float32
    y.sum().backward()
    assert scale.grad.dtype == np.float64 and scale.grad.item() == 4.0


def test_torch_spellings_that_raised_now_work():
    """t(), mm, bmm, amax/amin, var/std(unbiased=) and where(condition): common torch
    habits that raised AttributeError or TypeError."""
    rng = np.random.default_rng(0)
    a = td.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = td.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    np.testing.assert_array_equal(a.t().numpy(), a.numpy().T)
    np.testing.assert_array_equal(a[0].t().numpy(), a[0].numpy())  # a vector as it is
    np.testing.assert_allclose(td.mm(a, b).numpy(), a.numpy() @ b.numpy())
    assert td.gradcheck(lambda a, b: td.mm(a, b), (a, b))
    batch = td.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True)
    other = td.tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)
    np.testing.assert_allclose(td.bmm(batch, other).numpy(), batch.numpy() @ other.numpy())
    assert td.gradcheck(lambda x, y: td.bmm(x, y), (batch, other))
    np.testing.assert_array_equal(td.amax(a, dim=1).numpy(), a.numpy().max(1))
    np.testing.assert_array_equal(a.amin(0, keepdim=True).numpy(), a.numpy().min(0, keepdims=True))
    assert td.gradcheck(lambda x: td.amax(x, axis=0), (a,))
    np.testing.assert_allclose(a.var(dim=1, unbiased=True).numpy(), a.numpy().var(1, ddof=1))
    np.testing.assert_allclose(a.std(unbiased=False).numpy(), a.numpy().std())
    rows, cols = td.where(a > 0)
    np.testing.assert_array_equal(rows.numpy(), np.nonzero(a.numpy() > 0)[0])
    np.testing.assert_array_equal(cols.numpy(), np.nonzero(a.numpy() > 0)[1])
    for call, error in [(lambda: td.mm(a, a), ValueError), (lambda: batch.t(), ValueError),
                        (lambda: td.bmm(batch, b), ValueError),
                        (lambda: a.var(unbiased=True, ddof=1), TypeError),
                        (lambda: td.where(a > 0, a), TypeError)]:
        with pytest.raises(error):
            call()


# ----------------------------------------------------------------------------- torch's method forms
def test_transpose_with_two_dims_swaps_them_as_torch():
    """``x.transpose(0, 1)`` on a matrix is its transpose (torch), never NumPy's identity."""
    pt = pytest.importorskip("torch")
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(td.tensor(m).transpose(0, 1).numpy(), m.T)
    np.testing.assert_array_equal(td.tensor(m).transpose(dim0=1, dim1=0).numpy(), m.T)
    for dims in [(-2, -1), (0, -1), (-2, 1), (-1, -2), (1, -2), (0, 0), (-1, 1)]:
        t = td.tensor(m, requires_grad=True)
        out = t.transpose(*dims)
        want = pt.tensor(m).transpose(*dims).numpy()
        np.testing.assert_array_equal(out.numpy(), want, err_msg=str(dims))
        out.backward(td.tensor(np.arange(out.size, dtype=float).reshape(out.shape)))
        np.testing.assert_array_equal(t.grad.numpy().shape, m.shape)
        np.testing.assert_array_equal(
            t.grad.numpy(), pt.tensor(np.arange(6.0).reshape(want.shape)).transpose(*dims).numpy())
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    for dims in [(0, 2), (2, 1), (-1, 0)]:
        np.testing.assert_array_equal(td.tensor(x).transpose(*dims).numpy(),
                                      pt.tensor(x).transpose(*dims).numpy(), err_msg=str(dims))
    np.testing.assert_array_equal(td.tensor(x).transpose(2, 0, 1).numpy(), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(td.tensor(x).transpose().numpy(), x.T)


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_modes_match_torch(mode):
    pt = pytest.importorskip("torch")
    a, b = [-7, 7, -6, 5, -1, 0], [2, -2, 4, 5, 3, 7]
    got = td.tensor(a).div(td.tensor(b), rounding_mode=mode)
    want = pt.tensor(a).div(pt.tensor(b), rounding_mode=mode)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    fa, fb = np.array([-7.5, 7.25, 2.0]), np.array([2.0, -2.0, 0.5])
    np.testing.assert_array_equal(td.div(td.tensor(fa), td.tensor(fb), rounding_mode=mode).numpy(),
                                  pt.div(pt.tensor(fa), pt.tensor(fb), rounding_mode=mode).numpy())
    with pytest.raises(ValueError, match="rounding_mode"):
        td.tensor(a).div(2, rounding_mode="round")


def test_named_arithmetic_methods_exist_as_torch():
    x = td.tensor([1.0, 2.0])
    assert x.add(1).tolist() == [2.0, 3.0] and x.sub(1, alpha=2).tolist() == [-1.0, 0.0]
    assert x.mul(3).tolist() == [3.0, 6.0] and x.neg().tolist() == [-1.0, -2.0]
    assert x.where(x > 1, 0.0).tolist() == [0.0, 2.0]
    assert x.matmul(x).item() == 5.0 and x.half().dtype == np.float16


def test_axis_out_of_range_is_both_numpy_and_torch_error():
    with pytest.raises(IndexError, match="sum: axis 1 is out of bounds"):
        td.ones(3).sum(dim=1)
    with pytest.raises(ValueError, match="axis 1 is out of bounds"):
        td.ones(3).cumsum(axis=1)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "logsumexp", "amax", "softmax",
                                "log_softmax", "var"])
@pytest.mark.parametrize("dim", [0, -1])
def test_0d_tensor_takes_dim_0_or_minus_1_as_torch(op, dim):
    """torch wraps dims of a 0-d tensor as if it had one axis: x.sum(0) is x."""
    pt = pytest.importorskip("torch")
    value = np.array(1.75)
    td_fn = (lambda t, d: td.max(t, d)) if op == "amax" else getattr(td, op)
    pt_fn = (lambda t, d: pt.var(t, d, correction=0)) if op == "var" else getattr(pt, op)
    x = td.tensor(value, requires_grad=True)
    out = td_fn(x, dim)
    tx = pt.tensor(value, requires_grad=True)
    tout = pt_fn(tx, dim)
    assert out.shape == tuple(tout.shape) == ()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
    out.backward()
    tout.backward()
    np.testing.assert_allclose(x.grad.item(), tx.grad.item(), rtol=1e-12)


def test_in_place_op_on_one_indexed_element_writes_into_the_tensor():
    """``x[0, 1]`` is a 0-d view (NumPy's scalar would be a copy), so ``x[0, 1].add_(5)`` and
    ``x[1][2].fill_(7)`` change x as in torch; inside a graph the in-place op raises."""
    x = td.zeros(2, 3)
    x[0, 1].add_(5)
    x[1][2].fill_(7)
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 0], [0, 0, 7]])
    assert x[0, 1].shape == () and x[0, 1].item() == 5.0
    y = td.zeros(3)
    y[-1] += 2
    y[0].sub_(1)
    np.testing.assert_array_equal(y.numpy(), [-1, 0, 2])
    a = td.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view"):
        (a * 2)[0].mul_(3)


def test_dtypes_of_joins_clamps_wheres_and_float_ops_on_integers_as_torch():
    """Where NumPy widens to float64 and torch does not: an int tensor joined with a float32
    one, clamped by a Python float, two Python floats in where, softmax and friends of ints;
    and a list holding NumPy float64 scalars keeps float64 (it lost precision as float32)."""
    pt = pytest.importorskip("torch")
    i, f = td.tensor([1, 2]), td.tensor([1.5], dtype=np.float32)
    ti, tf = pt.tensor([1, 2]), pt.tensor([1.5])
    assert td.cat([i, f]).dtype == np.float32 == td.concatenate([f, i]).dtype
    assert str(pt.cat([ti, tf]).dtype) == "torch.float32"
    assert td.stack([i, td.tensor([0.5, 1.5])]).dtype == np.float32
    assert td.cat([i, f.double()]).dtype == np.float64
    assert td.cat([i, td.tensor([True])]).dtype == np.int64
    assert td.concatenate([td.ones(2, 2), td.ones(3)], axis=None).shape == (7,)
    cond = np.array([True, False])
    for a, b in [(1.5, 0), (1.5, 2.5), (1, 0), (True, False), (True, 0)]:
        ours, theirs = td.where(cond, a, b), pt.where(pt.tensor(cond), a, b)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (a, b)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = td.tensor([1, 2, 3])
    assert x.clamp(0.5).dtype == np.float32 and x.clamp(1, 2).dtype == np.int64
    np.testing.assert_array_equal(x.clamp(0.5, 2.5).numpy(), [1.0, 2.0, 2.5])
    for op in (lambda t: t.logsumexp(dim=0), lambda t: td.softmax(t, 0),
               lambda t: td.log_softmax(t, 0), lambda t: F.gelu(t), lambda t: F.elu(t),
               lambda t: F.softplus(t), lambda t: F.leaky_relu(t)):
        assert op(x).dtype == np.float32
    assert td.tensor([np.float64(1.5), 2.0]).dtype == np.float64
    assert td.tensor([[1.0], [np.sqrt(2.0)]]).dtype == np.float64
    assert td.tensor([1.5, np.float32(2.0)]).dtype == np.float32 == td.tensor([1.5]).dtype


def test_clamp_with_tensor_bounds_passes_their_gradients_as_torch():
    pt = pytest.importorskip("torch")
    x0, lo0 = np.array([0.0, 1.0, 2.0, 3.0, 1.5]), np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    for hi0 in (2.5, 0.5):  # 0.5: every bound below a_min, so everything is a_max
        x, lo, hi = (td.tensor(v, dtype=np.float64, requires_grad=True) for v in (x0, lo0, hi0))
        tx, tlo, thi = (pt.tensor(v, dtype=pt.float64, requires_grad=True)
                        for v in (x0, lo0, hi0))
        out, tout = x.clamp(min=lo, max=hi), tx.clamp(min=tlo, max=thi)
        np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
        (out * td.tensor(w)).sum().backward()
        (tout * pt.tensor(w)).sum().backward()
        for ours, theirs in ((x, tx), (lo, tlo), (hi, thi)):
            np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    arr = td.tensor(x0).clamp(min=lo0)  # an array bound
    np.testing.assert_array_equal(arr.numpy(), np.maximum(x0, lo0))
    # NaN stays NaN and gets no gradient, as with number bounds and in torch
    x = td.tensor([np.nan, 0.5], dtype=np.float64, requires_grad=True)
    out = x.clamp(min=td.tensor([-0.5, -0.5], dtype=np.float64), max=td.tensor(1.0))
    out.sum().backward()
    assert np.isnan(out.numpy()[0]) and x.grad.numpy().tolist() == [0.0, 1.0]


def test_argsort_dim_matmul_with_a_list_and_an_empty_split():
    x = td.tensor([[3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(x.argsort(dim=1).numpy(), [[1, 2, 0]])
    np.testing.assert_allclose((x @ [1.0, 2.0, 3.0]).numpy(), [11.0])
    with pytest.raises(TypeError, match="matmul: operands"):
        x @ 2
    pieces = td.arange(0).split(2)
    assert len(pieces) == 1 and pieces[0].shape == (0,)  # torch: one empty piece


# ============================================================ torch's (values, indices) pairs
@pytest.mark.parametrize("habit", [
    lambda x: tuple(x.max(dim=1)),  # values, indices = x.max(dim=1): two rows, silently
    lambda x: x.max(1, keepdim=True)[1],  # the old MNIST example's prediction
    lambda x: x.min(dim=0)[0],
    lambda x: td.max(x, dim=1)[1],
    lambda x: x.median(dim=1)[0],
    lambda x: x.max(dim=1).indices,
    lambda x: x.max(dim=1).values,
    # the axis given positionally, as torch also takes it: `_, pred = out.max(1)` gave the
    # second row's maximum as the "predictions" (a batch of two), silently
    lambda x: tuple(x.max(1)),
    lambda x: x.max(1)[1],
    lambda x: td.max(x, 1)[1],
    lambda x: x.min(1)[0],
    lambda x: td.median(x, 1)[1],
])
def test_torch_pair_habits_of_max_min_median_raise(habit):
    """With the axis given as torch also gives it (positionally, dim=, keepdim=) these give
    the values only (NumPy's meaning); unpacking or indexing them by one int would read rows
    of the values, so it raises."""
    x = td.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    with pytest.raises(TypeError, match=r"indices = x\.argmax\(1\)"):
        habit(x)


def test_values_of_max_with_dim_work_as_any_tensor():
    x = td.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    v = x.max(dim=1)
    assert v.tolist() == [5.0, 7.0] and v.shape[0] == 2 and v[:1].tolist() == [5.0]
    (v * 2)[0].backward()  # an op's result is a plain tensor again
    assert x.grad.tolist() == [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
    assert x.max(axis=1)[1].item() == 7.0 and x.max(axis=1, keepdims=True)[1].tolist() == [7.0]
    assert np.max(x, 1)[1].item() == 7.0  # NumPy's own function: NumPy's habits
    assert x.amax(dim=1)[0].item() == 5.0  # torch's amax gives the values alone too
    assert x.argmax(dim=1).tolist() == [1, 0]


# ================================================================ fill_ with a tensor value
def test_fill_with_a_tensor_value_passes_its_gradient():
    """torch's fill_ is differentiable in a 0-d tensor value; reading it with item() dropped
    the gradient silently (the value's grad stayed None and an optimizer skipped it)."""
    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = td.tensor(2.5, requires_grad=True)
    y = x * 1
    y.fill_(w)
    (y * y).sum().backward()
    assert w.grad.item() == 15.0 and x.grad.tolist() == [0.0, 0.0, 0.0]
    z = td.zeros(3)
    z.fill_(w)  # a plain tensor joins the graph
    z.sum().backward()
    assert w.grad.item() == 18.0
    with pytest.raises(ValueError, match="fill_: a Tensor value must be 0-dimensional"):
        td.zeros(3).fill_(td.ones(1))


def test_cat_with_an_axis_out_of_range_is_an_index_error():
    x = td.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(IndexError, match="concatenate: axis 4 is out of bounds for a tensor of 2"):
        td.cat([x, x], dim=4)  # a ShapeError about shapes "outside axis 4" before


def test_assigning_a_tensor_to_data_stores_its_array():
    # torch's manual update p.data = p.data - lr * p.grad: .data is a Tensor there. Stored as
    # it came, the Tensor sat where every op expects an array, and an optimizer's next step
    # failed deep inside NumPy.
    from tinydl.optim import SGD
    td.manual_seed(0)
    model = nn.Linear(3, 2)
    x = td.randn(5, 3)
    model(x).pow(2).mean().backward()
    expected = [p.data - 0.1 * p.grad.data for p in model.parameters()]
    for p in model.parameters():
        p.data = p.data - 0.1 * p.grad
    for p, e in zip(model.parameters(), expected):
        assert type(p.data) is np.ndarray and p.data.dtype == np.float32
        np.testing.assert_array_equal(p.data, e)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.zero_grad()
    model(x).pow(2).mean().backward()
    opt.step()  # raised before: np.subtract(..., out=a Tensor)
    shared = td.ones(2, 3)
    model.weight.data = shared  # shares the array, as torch's p.data = t shares t's storage
    assert model.weight.data is shared.data
    model.weight.data = np.float32(2.0)
    assert model.weight.data.shape == () and model.weight.data.dtype == np.float32


@pytest.mark.parametrize("value", [[1.0, 2.0], 3.0, None, "x"])
def test_assigning_anything_else_to_data_is_refused(value):
    t = td.ones(2)
    with pytest.raises(TypeError, match="Tensor.data must be a NumPy array or a Tensor, not"):
        t.data = value
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0])


# ======================================= torch spellings that NumPy's meaning answered silently
def test_torch_spellings_of_numpy_named_ops_raise_or_follow_torch():
    """Found by a differential sweep against torch 2.13: each of these gave NumPy's answer to
    torch's question without a word."""
    pt = pytest.importorskip("torch")
    a = np.array([[1.0, -2.0, 3.0, 0.5], [-4.0, 5.0, -6.0, 2.0]])
    x, t = td.tensor(a), pt.tensor(a)
    # x.norm(1): an ndarray has no .norm, so the method is torch's (the sum of |x|, not
    # NumPy's max column sum 9); the function's positional ord over two axes is ambiguous
    for args in [(1,), (np.inf,), (-np.inf,), (2,), (3,), ("fro",), (1, 1), (2, 0, True)]:
        np.testing.assert_allclose(x.norm(*args).numpy(), t.norm(*args).numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match=r"norm\(x, 1\) over two axes.*ord= or p="):
        td.norm(x, 1)
    assert td.norm(x, ord=1).item() == 9.0 and td.norm(x, p=1).item() == 23.5
    np.testing.assert_allclose(td.norm(x, 1, 1).numpy(), t.norm(1, 1).numpy())  # one axis: same
    # median: the method is torch's (the lower middle value); the function NumPy's, and
    # torch's dim= there raises
    assert x.median().item() == t.median().item() == 0.5
    np.testing.assert_array_equal(x.median(dim=1).numpy(), t.median(dim=1).values.numpy())
    assert td.tensor([[4, 1, 3, 2]]).median().dtype == np.int64
    assert td.median(x).item() == np.median(a)
    with pytest.raises(TypeError, match="median: dim= is torch's spelling"):
        td.median(x, dim=1)
    # split(x, n, dim=): NumPy's sections with torch's keyword
    with pytest.raises(TypeError, match="split: dim= is torch's spelling"):
        td.split(td.arange(6.0), 2, dim=0)
    assert [p.shape for p in td.split(td.arange(6.0), 2, axis=0)] == [(3,), (3,)]
    # meshgrid([a, b]): torch's form, torch's default indexing 'ij'
    g, h = td.arange(3.0), td.arange(2.0)
    with pytest.raises(TypeError, match="meshgrid.*indexing='ij'"):
        td.meshgrid([g, h])
    assert [m.shape for m in td.meshgrid([g, h], indexing="ij")] == [(3, 2), (3, 2)]
    assert [m.shape for m in td.meshgrid(g, h)] == [(2, 3), (2, 3)]  # NumPy's form and default
    # uint8 sums: torch's int64 (NumPy's uint64 wrapped images.sum() - 1000 to 1.8e19)
    u = td.tensor(np.array([0, 100, 200], np.uint8))
    assert (u.sum() - 1000).item() == -700 and u.sum().dtype == np.int64
    assert u.prod().dtype == np.int64 and td.nansum(u).dtype == np.int64
    assert u.sum(dtype=np.uint8).item() == 44  # wraps in the dtype asked for, as both
    # an integer tensor plus alpha * a number: float32, as torch (a float64 0-d stood between)
    assert td.tensor([1, 2, 3]).add(2.5, alpha=2).dtype == np.float32
    assert td.tensor([1, 2, 3]).sub(2.5, alpha=2).tolist() == [-4.0, -3.0, -2.0]
    # len() of max's values over a torch-spelled axis (torch's pair has length 2)
    with pytest.raises(TypeError, match="no len"):
        len(x.max(1))


def test_torch_elementwise_max_of_two_tensors_points_to_maximum():
    a, b = td.tensor([[1.0, 5.0]]), td.tensor([[2.0, 2.0]])
    with pytest.raises(TypeError, match=r"element-wise max\(a, b\) is tinydl.maximum"):
        td.max(a, b)
    with pytest.raises(TypeError, match=r"element-wise min\(a, b\) is tinydl.minimum"):
        a.min(b)
    assert td.maximum(a, b).tolist() == [[2.0, 5.0]]


# ============================================================================ dtype edges
_NUMBER_OPS = {"x / n": lambda x, n: x / n, "x * n": lambda x, n: x * n,
               "x - n": lambda x, n: x - n, "n * x": lambda x, n: n * x,
               "x + n": lambda x, n: x + n, "n / x": lambda x, n: n / x}


@pytest.mark.parametrize("op, number, expected", [
    ("x / n", 65536, [100 / 65536, 0.0]),   # 65536 itself overflowed float16: 0
    ("x * n", -1e9, [-np.inf, -0.0]),       # the attention-mask idiom: was [-inf, nan]
    ("x * n", 1e-7, [1e-5, 0.0]),
    ("x - n", 70000.5, [-np.inf, -np.inf]),
    ("n * x", 1e-7, [1e-5, 0.0]),
    ("x / n", 1e5, [1e-3, 0.0]),            # 1e5 overflowed float16: 100 / inf = 0
    ("x + n", 3.3, [103.3, 3.3]),
    ("n / x", 1e5, [1000.0, np.inf]),
])
@pytest.mark.parametrize("given_as", ["number", "float32", "float64"])
@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:overflow encountered in cast")
def test_float16_with_a_number_or_a_0d_tensor_is_computed_as_torch(op, number, expected,
                                                                    given_as):
    """A float16 tensor with a Python number: the number was rounded to float16 first
    (-1e9 -> -inf, so 0 * -1e9 was NaN); torch computes in float32 and rounds once. A 0-d
    float32 or float64 tensor is read so by torch's CPU kernels only as the second operand of
    * and / (``x * td.tensor(1e5)`` was inf in tinydl); elsewhere (+, -, as the first operand)
    torch casts it to float16 first, and so does tinydl."""
    def run(lib, x):
        n = number if given_as == "number" else lib.tensor(number, dtype=getattr(lib, given_as))
        return _NUMBER_OPS[op](x, n)
    out = run(td, td.tensor([100.0, 0.0], dtype=np.float16))
    assert out.dtype == np.float16
    if given_as != "number" and op not in ("x * n", "x / n"):  # the 0-d tensor cast first
        with np.errstate(divide="ignore", over="ignore"):
            expected = _NUMBER_OPS[op](np.array([100.0, 0.0], np.float16), np.float16(number))
    np.testing.assert_array_equal(out.numpy(), np.array(expected, np.float16))
    if torch is not None:
        theirs = run(torch, torch.tensor([100.0, 0.0], dtype=torch.float16)).numpy()
        np.testing.assert_array_equal(out.numpy(), theirs)


def test_float16_times_an_integer_0d_tensor_is_computed_as_torch():
    """An integer 0-d tensor was cast to float16 first: x16 * td.tensor(100000) gave inf
    where torch reads it in float32 (1e4 for 0.1)."""
    x = td.tensor(np.array([0.1, 3.0], np.float16))
    np.testing.assert_array_equal((x * td.tensor(100000)).numpy(),
                                  np.array([1e4, np.inf], np.float16))
    np.testing.assert_array_equal((x / td.tensor(100000)).numpy(),
                                  np.array([1e-6, 3e-5], np.float16))
    if torch is not None:
        tx = torch.tensor(np.array([0.1, 3.0], np.float16))
        np.testing.assert_array_equal((x * td.tensor(100000)).numpy(),
                                      (tx * torch.tensor(100000)).numpy())
        np.testing.assert_array_equal((x / td.tensor(100000)).numpy(),
                                      (tx / torch.tensor(100000)).numpy())


def test_float16_with_a_0d_tensor_that_requires_grad_gets_its_gradient():
    """A 0-d float32 operand that requires grad keeps the differentiable cast to float16 (its
    gradient in its own dtype); one that does not is read as a number, result float16."""
    x = td.tensor([100.0, 2.0], dtype=np.float16)
    s = td.tensor(0.5, requires_grad=True)
    y = x * s
    assert y.dtype == np.float16
    y.sum().backward()
    assert s.grad.dtype == np.float32 and s.grad.item() == 102.0
    assert (td.tensor(0.5, dtype=np.float64) + x).dtype == np.float16


def test_float_scans_carry_their_running_total_wide_as_torch():
    """cumsum/cumprod ran in the input's dtype: 5,000 float16 ones summed to 2048, a million
    float32 0.1s to 100958 (torch: 5000 and 100000); [3e38, 3e38, 0] ended in NaN."""
    assert td.ones(5000, dtype=np.float16).cumsum(0)[-1].item() == 5000.0
    assert td.full((10 ** 6,), 0.1).cumsum(0)[-1].item() == np.float32(100000.0)
    np.testing.assert_array_equal(td.tensor([3e38, 3e38, 0.0]).cumprod(0).numpy(),
                                  np.array([3e38, np.inf, 0.0], np.float32))
    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.cumsum(0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 2.0, 1.0])


def test_where_refuses_a_python_integer_its_integer_dtype_cannot_hold():
    """np.where wrapped it silently (300 -> 44 for int8); arithmetic refuses (torch too)."""
    t = td.tensor([1, 2], dtype=np.int8)
    with pytest.raises(OverflowError, match="where: Python integer 300 out of bounds for int8"):
        td.where(td.tensor([True, False]), t, 300)
    np.testing.assert_array_equal(td.where(td.tensor([True, False]), t, -128).numpy(), [1, -128])


def test_an_integer_result_written_into_another_integer_dtype_wraps_as_torch():
    """uint8 += int64 was refused as a truncation; torch wraps (a float into an int still
    raises)."""
    t = td.tensor([0, 250], dtype=np.uint8)
    t += td.tensor([1, 10])
    np.testing.assert_array_equal(t.numpy(), [1, 4])
    t.sub_(td.tensor([2, 2]))
    np.testing.assert_array_equal(t.numpy(), [255, 2])
    assert t.dtype == np.uint8
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        t /= 2


def test_an_integer_to_a_negative_power_is_a_value_error_not_a_shape_error():
    with pytest.raises(ValueError, match="negative integer power; make the base floating") as e:
        td.tensor([2, 3]) ** td.tensor([-1, 2])
    assert not isinstance(e.value, td.ops._util.ShapeError)
    np.testing.assert_allclose((td.tensor([2.0, 3.0]) ** td.tensor([-1, 2])).numpy(), [0.5, 9])


def test_rounding_a_bool_tensor_keeps_bool():
    b = td.tensor([True, False])
    for out in (b.round(), b.floor(), b.ceil(), b.trunc()):
        assert out.dtype == np.bool_  # round was float16 (NumPy's)


def test_the_sign_method_is_torchs_zero_at_nan():
    """x.sign() and x.sign_() kept NumPy's NaN where torch writes 0 (the function
    tinydl.sign stays NumPy's)."""
    x = td.tensor([np.nan, -1.5, 0.0, 2.0])
    np.testing.assert_array_equal(x.sign().data, [0, -1, 0, 1])
    np.testing.assert_array_equal(x.clone().sign_().data, [0, -1, 0, 1])
    assert np.isnan(td.sign(x).data[0])


@pytest.mark.parametrize("call, error, match", [
    # NumPy's argsort(a, axis, kind): a kind string read as descending=True
    (lambda a: td.argsort(a, -1, "stable"), TypeError, "argsort: descending must be True"),
    (lambda a: a.argsort(-1, "mergesort"), TypeError, "argsort: descending must be True"),
    (lambda a: td.sort(a, -1, "quicksort"), TypeError, "sort: descending must be True"),
    # ndarray.put(ind, v, mode): the mode string read as accumulate=True
    (lambda a: a.put(td.tensor([0, 1]), td.tensor([1.0, 2.0]), "raise"), TypeError,
     "put: accumulate must be True"),
    (lambda a: a.clone().put_(td.tensor([0]), td.tensor([1.0]), "clip"), TypeError,
     "put: accumulate must be True"),
    (lambda a: a.index_put((td.tensor([0]),), td.tensor(1.0), "wrap"), TypeError,
     "index_put: accumulate must be True"),
    # torch's F.softmax(input, dim, _stacklevel): the stack level read as dim
    (lambda a: F.softmax(a.reshape(1, 3), 0, 1), TypeError, "softmax: got both axis=0 and dim=1"),
    (lambda a: nn.Softmax(axis=0, dim=1), TypeError, "Softmax: got both axis=0 and dim=1"),
    (lambda a: a.reshape(1, 3).argsort(0, dim=1), TypeError, "Tensor.argsort: got both"),
    # NumPy's logspace(start, stop, num, endpoint): endpoint read as base 1 or 0
    (lambda a: td.logspace(0, 2, 3, True), TypeError, "logspace: base must be a number"),
])
def test_another_librarys_positional_order_raises_instead_of_meaning_something_else(
        call, error, match):
    """Found by comparing every public signature's positional order with NumPy's and torch's
    and calling each mismatch: these gave a different answer without a word."""
    with pytest.raises(error, match=match):
        call(td.tensor(np.array([3.0, 1.0, 2.0])))


def test_the_function_repeat_is_numpys_and_the_method_torchs():
    """tinydl.repeat was torch's tiling: NumPy's idiom repeat(labels, k) gave [a, b, a, b]
    and repeat(m, 2, 0) an empty tensor. The function is NumPy's now (as np.repeat on a
    Tensor already was); the method x.repeat(*sizes) stays torch's tiling."""
    labels = td.tensor(np.array([1, 2]))
    np.testing.assert_array_equal(td.repeat(labels, 3).numpy(), np.repeat([1, 2], 3))
    np.testing.assert_array_equal(np.repeat(labels, 3).numpy(), np.repeat([1, 2], 3))
    m = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(td.repeat(td.tensor(m), 2, 0).numpy(), np.repeat(m, 2, 0))
    np.testing.assert_array_equal(td.tensor(m).repeat(2, 1).numpy(), np.tile(m, (2, 1)))


@pytest.mark.parametrize("name, args", [
    ("max", ()), ("sum", ()), ("nanmean", ()), ("quantile", (0.5,)), ("nanmax", ()),
    ("percentile", (50,)), ("average", ()), ("ptp", ()), ("nan_to_num", ()), ("exp", ()),
])
def test_python_lists_are_taken_as_numpy_takes_them(name, args):
    """NumPy's functions take array_like input; tinydl.max([1, 2]) (and the other reductions)
    raised AttributeError: 'list' object has no attribute 'ndim'. A list follows
    tinydl.tensor's dtype rule (Python floats float32)."""
    data = [1.0, 4.0, 2.0]
    out = getattr(td, name)(data, *args)
    np.testing.assert_allclose(out.numpy(), getattr(np, name)(np.array(data), *args),
                               rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("make_index", [lambda: td.tensor(1), lambda: np.array(1),
                                        lambda: td.tensor([0, 3, 1]).argmax()],
                         ids=["0-d tensor", "0-d array", "argmax"])
def test_a_0d_integer_index_gives_a_view_that_in_place_ops_write_through(make_index):
    # torch reads a 0-d integer tensor as an int (a view); read as an index array it gave a
    # copy, and w[label].add_(...) lost the update silently
    w = td.zeros(3, 2)
    i = make_index()
    w[i].add_(5.0)
    w[i, 0].fill_(7.0)
    expected = [[0.0, 0.0], [7.0, 5.0], [0.0, 0.0]]
    assert w.tolist() == expected
    if torch is not None:
        wt = torch.zeros(3, 2)
        wt[torch.tensor(1)].add_(5.0)
        wt[torch.tensor(1), 0].fill_(7.0)
        assert wt.tolist() == expected
    x = td.arange(6.0, requires_grad=True)
    x.reshape(2, 3)[make_index()].sum().backward()
    assert x.grad.tolist() == [0, 0, 0, 1, 1, 1]


def test_a_uint8_tensor_index_is_refused_as_ambiguous():
    x = td.arange(12.0).reshape(3, 4)
    mask = td.tensor(np.array([1, 0, 1], np.uint8))
    with pytest.raises(IndexError, match="uint8 tensor .* ambiguous"):
        x[mask]
    with pytest.raises(IndexError, match="uint8 tensor .* ambiguous"):
        x[mask] = 0.0
    assert x[mask.bool()].shape == (2, 4) and x[mask.long()].shape == (3, 4)


def test_a_python_bool_in_an_index_takes_no_axis():
    x = td.arange(6.0).reshape(2, 3)
    assert x[True, td.tensor([True, False])].tolist() == [[0.0, 1.0, 2.0]]
    with pytest.raises(IndexError):
        x[True, td.tensor([True, True, False])]  # the mask covers axis 0, of length 2


@pytest.mark.parametrize("name, kwargs", [
    ("flip", {"dims": [1]}), ("flip", {"dims": (0, 2)}), ("permute", {"dims": (2, 0, 1)}),
    ("reshape", {"shape": (4, 6)}), ("view", {"size": (6, 4)}),
    ("expand", {"size": (2, 2, 3, 4)}), ("repeat", {"repeats": (1, 2, 1)}),
    ("tile", {"dims": (2, 1, 1)}), ("clip", {"min": 3, "max": 10}), ("clip", {"max": 4}),
    ("split", {"split_size": 2}),
])
def test_tensor_methods_take_torchs_keyword_names(name, kwargs):
    x = td.arange(24.0).reshape(2, 3, 4)
    ours = getattr(x, name)(**kwargs)
    want = {"flip": lambda: np.flip(x.data, kwargs.get("dims")),
            "permute": lambda: x.data.transpose(2, 0, 1),
            "reshape": lambda: x.data.reshape(4, 6), "view": lambda: x.data.reshape(6, 4),
            "expand": lambda: np.broadcast_to(x.data, (2, 2, 3, 4)),
            "repeat": lambda: np.tile(x.data, (1, 2, 1)),
            "tile": lambda: np.tile(x.data, (2, 1, 1)),
            "clip": lambda: np.clip(x.data, kwargs.get("min"), kwargs.get("max")),
            "split": lambda: np.split(x.data, [2], axis=0)}[name]()
    if name == "split":
        assert len(ours) == 1 and np.array_equal(ours[0].data, want[0])
    else:
        assert np.array_equal(ours.data, want)
    if torch is not None:
        theirs = getattr(torch.arange(24.0).reshape(2, 3, 4), name)(**kwargs)
        theirs = theirs[0] if name == "split" else theirs
        assert np.array_equal((ours[0] if name == "split" else ours).data, theirs.numpy())
    with pytest.raises(TypeError, match="unexpected keyword argument 'dimz'"):
        getattr(x, name)(**{"dimz": 1})


def test_new_factories_take_size_and_both_spellings_are_refused():
    x = td.zeros(2, dtype=np.float64)
    for name in ("new_zeros", "new_ones", "new_empty"):
        out = getattr(x, name)(size=(2, 3))
        assert out.shape == (2, 3) and out.dtype == np.float64
    with pytest.raises(TypeError, match="reshape: got shape= and positional sizes"):
        td.arange(6.0).reshape(2, 3, shape=(3, 2))
    with pytest.raises(TypeError, match="clip: got both 'a_min' and its torch alias 'min'"):
        x.clip(0.0, min=1.0)


def test_torch_only_names_bucketize_unique_consecutive_take_along_dim_maximum():
    b, v = np.array([1.0, 3, 5, 7]), np.array([[0.0, 1, 2], [3, 7, 8]])
    assert td.bucketize(td.tensor(v), td.tensor(b)).tolist() == [[0, 0, 1], [1, 3, 4]]
    assert td.bucketize(td.tensor(v), td.tensor(b), right=True).tolist() == [[0, 1, 1], [2, 4, 4]]
    z = td.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    values, inverse, counts = z.unique_consecutive(return_inverse=True, return_counts=True)
    assert values.tolist() == [1, 2, 3, 1, 2] and counts.tolist() == [2, 2, 1, 2, 1]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    rows = td.tensor([[1, 1], [1, 1], [0, 1], [1, 1]])
    assert td.unique_consecutive(rows, dim=0).tolist() == [[1, 1], [0, 1], [1, 1]]
    x = td.arange(12.0).reshape(3, 4)
    assert td.take_along_dim(x, td.tensor([[0], [1], [3]]), 1).tolist() == [[0], [5], [11]]
    assert td.take_along_dim(x, td.tensor([0, 5])).tolist() == [0, 5]  # dim=None flattens
    assert td.tensor([1.0, 5.0]).maximum(td.tensor([3.0, 2.0])).tolist() == [3, 5]
    assert td.tensor([1.0, 5.0]).minimum(td.tensor([3.0, 2.0])).tolist() == [1, 2]
    if torch is not None:
        for right in (False, True):
            assert np.array_equal(td.bucketize(td.tensor(v), td.tensor(b), right=right).data,
                                  torch.bucketize(torch.tensor(v), torch.tensor(b),
                                                  right=right).numpy())
        for got, want in zip(td.unique_consecutive(rows, True, True, 1),
                             torch.unique_consecutive(torch.tensor(rows.data), True, True, 1)):
            assert np.array_equal(got.data, want.numpy())
        f = np.array([1.0, np.nan, np.nan, 2.0])  # NaN equals nothing, as in torch
        assert td.tensor(f).unique_consecutive().shape == \
            tuple(torch.tensor(f).unique_consecutive().shape) == (4,)


def test_torch_spelled_methods_unique_and_tril_keep_torchs_meaning():
    """``x.unique()`` counts each NaN apart and ``v.tril()`` of a vector raises, as torch's
    methods (NumPy's equal_nan merged the NaNs: [0, 1, nan] with counts [2, 1, 2]; a vector
    became a square matrix); the functions stay NumPy's, as documented."""
    x = td.tensor([0.0, -0.0, np.nan, np.nan, 1.0])
    values, counts = x.unique(return_counts=True)
    np.testing.assert_array_equal(values.numpy(), [0.0, 1.0, np.nan, np.nan])
    assert counts.tolist() == [2, 1, 1, 1]
    assert td.unique(x).shape == (3,)  # NumPy's function: the NaNs as one
    v = td.tensor([1.0, 2.0, 3.0])
    for method in ("tril", "triu"):
        with pytest.raises(ValueError, match=f"{method}: the method .torch's. needs at least 2"):
            getattr(v, method)()
        assert getattr(td, method)(v).shape == (3, 3)
    if torch is not None:
        theirs = torch.tensor([0.0, -0.0, np.nan, np.nan, 1.0]).unique(return_counts=True)
        np.testing.assert_array_equal(values.numpy(), theirs[0].numpy())
        assert counts.tolist() == theirs[1].tolist()


def test_assigning_a_value_that_requires_grad_says_so():
    a = td.zeros(3)
    with pytest.raises(RuntimeError, match="assigning a value that requires grad"):
        a[1] = td.tensor(2.0, requires_grad=True)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: td.logical_and(x, None), TypeError, "logical_and: expects tensors, arrays or "
     "numbers, got NoneType"),                                        # was a tensor of Nones
    (lambda x: td.logical_or(x, "a"), TypeError, "logical_or: expects tensors"),
    (lambda x: td.logical_not(None), TypeError, "logical_not: expects tensors"),
    (lambda x: td.isin(x, None), TypeError, "isin: expects tensors"),  # was all False
    (lambda x: td.isfinite([[1.0, 2.0], [3.0]]), ValueError, "isfinite: cannot read list"),
    (lambda x: td.positive(None), TypeError, "positive: expects a tensor or a number"),
    (lambda x: td.empty_like(None), TypeError, "empty_like: expects a tensor or an array"),
    (lambda x: td.empty_like(None, dtype=np.float32), TypeError, "empty_like: expects"),
    (lambda x: td.positive(np.array(["a"])), TypeError, "positive: expects a numeric tensor"),
    (lambda x: td.cat(td.ones(2, 3)), TypeError, "concatenate: expects a sequence of tensors, "
     "got a single Tensor"),                                          # was the rows, flattened
    (lambda x: td.stack(td.ones(2, 3)), TypeError, "stack: expects a sequence of tensors"),
    (lambda x: td.nn.BatchNorm1d(3, momentum=float("nan")), ValueError,
     r"BatchNorm1d: momentum must be in \[0, 1\]"),                  # NaN running statistics
    (lambda x: td.nn.BatchNorm2d(3, momentum=1.5), ValueError, "BatchNorm2d: momentum must"),
    (lambda x: td.nn.BatchNorm2d(-3), ValueError,
     "BatchNorm2d: num_features must be non-negative, got -3"),
    (lambda x: td.nn.LayerNorm(-1), ValueError, r"LayerNorm: normalized_shape \(-1,\): each "
     "entry must be non-negative"),
    (lambda x: td.nn.RMSNorm((2, 3.5)), TypeError, r"RMSNorm: normalized_shape \(2, 3.5\): "
     "each entry must be an integer"),
    (lambda x: td.nn.GroupNorm(0, 4), ValueError, "GroupNorm: num_groups must be positive, "
     "got 0"),                                                        # was integer modulo by 0
    (lambda x: td.nn.Embedding(-1, 3), ValueError, "Embedding: num_embeddings must be "
     "non-negative"),
])
def test_inputs_numpy_would_turn_into_objects_or_rows_raise(call, error, match):
    """From a sweep of bad inputs (~2,800 calls): these were accepted silently (object
    tensors, a flattened single tensor, NaN running statistics) or raised from inside NumPy;
    torch raises for each."""
    with pytest.raises(error, match=match):
        call(td.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("name", ["exp", "sqrt", "arccos", "sigmoid", "nan_to_num", "sum",
                                  "mean", "reshape", "special.digamma", "special.i0"])
@pytest.mark.parametrize("bad", [None, "abc"])
def test_none_or_a_string_as_an_ops_input_names_the_op(name, bad):
    """NumPy's messages named no op ("loop of ufunc does not support argument 0 of type
    NoneType which has no callable arccos method", "data type 'abc' not understood")."""
    fn = td
    for part in name.split("."):
        fn = getattr(fn, part)
    op = name.split(".")[-1]
    with pytest.raises(TypeError, match=f"^{op}: expects a tensor, an array or a number, got "
                                        f"{type(bad).__name__}$"):
        fn(bad, -1) if op == "reshape" else fn(bad)


@pytest.mark.parametrize("make", [
    lambda opt: td.optim.lr_scheduler.StepLR(opt, 1, gamma=float("nan")),
    lambda opt: td.optim.lr_scheduler.ExponentialLR(opt, gamma=float("inf")),
    lambda opt: td.optim.lr_scheduler.LambdaLR(opt, lambda epoch: float("nan") if epoch else 1),
])
def test_a_schedule_that_reaches_a_non_finite_lr_raises(make):
    """A NaN gamma or lambda gave lr = NaN, and every weight was NaN two steps later; the
    optimizers refuse such an lr, so the schedule does too (a negative lr stays possible, as
    in torch: a chained cosine schedule can dip below 0)."""
    p = td.nn.Parameter(np.ones(3, np.float32))
    opt = td.optim.SGD([p], lr=0.1)
    scheduler = make(opt)
    with pytest.raises(ValueError, match="the schedule gave lr=(nan|inf) for parameter group 0"):
        for _ in range(3):
            opt.step()
            scheduler.step()
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        td.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=-0.5)
    with pytest.raises(ValueError, match="patience must be >= 0"):
        td.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=-1)


def test_count_nonzero_square_and_logit_methods_as_torchs():
    """From a sweep of torch.Tensor's 397 methods that tinydl has: x.count_nonzero(0, 1) read
    the 1 as NumPy's keepdims; a bool tensor's square() was int8 (x ** 2 int64); logit with a
    negative eps clamped to [eps, 1 - eps], giving finite gradients where the output is NaN
    (torch clamps nothing then)."""
    a = td.ones(2, 3, 4)
    assert a.count_nonzero(0, 1).tolist() == [6, 6, 6, 6]
    assert a.count_nonzero(0).shape == (3, 4) and td.count_nonzero(a, 0, True).shape == (1, 3, 4)
    assert td.tensor([True, False]).square().dtype == np.int64
    x = td.tensor([-0.5, 0.5, 1.5], requires_grad=True)
    out = x.logit(-1)
    out.sum().backward()
    assert np.isnan(out.numpy()[[0, 2]]).all() and np.isnan(x.grad.numpy()[[0, 2]]).all()
    assert x.grad.numpy()[1] == 4.0


def test_softmax_methods_take_torchs_dtype():
    """x.softmax(dim, dtype=...) and x.log_softmax(dim, dtype) (torch's spellings) raised
    TypeError; the dtype casts the input first, as F.softmax's does."""
    x = td.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x.softmax(-1, dtype=np.float64)
    z = x.log_softmax(1, np.float64)
    assert y.dtype == z.dtype == np.float64 and x.softmax(dim=1).dtype == np.float32
    np.testing.assert_allclose(y.numpy(), td.nn.functional.softmax(x, dim=-1,
                                                                   dtype=np.float64).numpy())
    (y.sum() + z.sum()).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 1 - 3 * y.numpy(), rtol=1e-6)


# ================================================== None and sizes where values are expected
@pytest.mark.parametrize("write", [
    lambda x: x.__setitem__(0, None),
    lambda x: x.__setitem__(slice(1, None), [None, 2.0]),
    lambda x: x.fill_(None),
    lambda x: x.copy_(None),
    lambda x: x.masked_fill_(x > 0, None),
])
def test_none_is_not_written_as_nan(write):
    """NumPy stores None as NaN in a float array; torch raises. An unset Optional became NaN
    with no message and spread into the loss."""
    x = td.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"^(__setitem__|fill_|copy_|masked_fill)"):
        write(x)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_fill_takes_a_number_or_a_0d_value_only():
    x = td.zeros(3)
    with pytest.raises(TypeError, match=r"fill_: the value must be a number or a 0-d tensor"):
        x.fill_([1.0, 2.0, 3.0])  # torch: TypeError; NumPy would broadcast it
    assert x.fill_(np.array(2.5)).tolist() == [2.5] * 3
    assert x.fill_(np.float32(1.5)).tolist() == [1.5] * 3


def test_lists_of_numbers_and_tensors_still_assign():
    x = td.zeros(4)
    x[:2] = [1, 2]
    x[2:] = (td.tensor(7.0), td.tensor(8.0))
    assert x.tolist() == [1.0, 2.0, 7.0, 8.0]


@pytest.mark.parametrize("args", [(3,), (2.5, 1), (2, 3)])
def test_torch_tensor_sizes_habit(args):
    """torch.Tensor(2, 3) makes an uninitialised (2, 3) tensor; tinydl's Tensor takes
    (data, requires_grad, dtype) as torch.tensor does. A size in requires_grad's place made
    Tensor(2.5, 1) a 0-d tensor that required grad; it now raises (torch: requires_grad must
    be bool). One size alone is data: a 0-d tensor, as torch.tensor(3)."""
    if len(args) == 1:
        assert td.Tensor(*args).shape == ()
        return
    with pytest.raises(TypeError, match=r"Tensor: requires_grad must be a bool, got int .*"
                                        r"tinydl\.empty / zeros\(\*sizes\)"):
        td.Tensor(*args)


@pytest.mark.parametrize("set_flag", [
    lambda x: x.requires_grad_(1),
    lambda x: setattr(x, "requires_grad", 1),
    lambda x: td.tensor(2.0, requires_grad=None),
])
def test_requires_grad_must_be_a_bool(set_flag):
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        set_flag(td.zeros(2))
    assert td.tensor(2.0, requires_grad=np.bool_(True)).requires_grad  # NumPy's bool is one


def test_copy_of_a_source_that_requires_grad_gives_the_old_value_zero_gradient():
    # As torch, and as copy_ of a constant does: None made optimizers skip the step.
    x = td.tensor([1.0, 2.0], requires_grad=True)
    s = td.tensor([5.0, 6.0], requires_grad=True)
    y = x * 1
    y.copy_(s)
    (y * td.tensor([2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and s.grad.tolist() == [2.0, 3.0]


def test_copy_of_a_source_that_broadcasts_past_the_shape_is_named():
    with pytest.raises(RuntimeError, match=r"copy_: a source of shape \(2, 1\) cannot be "
                                           r"broadcast to this tensor's shape \(1, 3\)"):
        td.zeros(1, 3).copy_(td.tensor([[4.0], [5.0]]))


@pytest.mark.parametrize("expr, op", [
    (lambda x: x + None, "add"),
    (lambda x: x * "2", "multiply"),
    (lambda x: x.add_(None), "add"),
])
def test_non_numeric_operands_name_the_op(expr, op):
    with pytest.raises(TypeError, match=rf"^{op}: unsupported operands \(an array of float32 "
                                        rf"and (NoneType|str)\)"):
        expr(td.zeros(3))


def test_max_over_dim_refuses_a_0d_integer_tensor_index():
    x = td.tensor([[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(TypeError, match=r"indices = x\.argmax\(1\)"):
        x.max(1)[td.tensor(1)]  # torch: the indices
    assert x.max(1)[1:].tolist() == [np.float32(0.8)]  # a slice of the values works (documented)


def test_transpose_function_takes_torch_two_dims():
    x = td.zeros(2, 3, 4)
    assert td.transpose(x, 0, 1).shape == (3, 2, 4)  # NumPy's function raises on this
    assert td.transpose(x, dim0=-1, dim1=0).shape == (4, 3, 2)
    assert td.transpose(x).shape == (4, 3, 2) and td.transpose(x, (1, 0, 2)).shape == (3, 2, 4)
    with pytest.raises(TypeError, match="transpose: torch's dim0 needs dim1"):
        td.transpose(x, dim0=1)


def test_torch_dtype_words():
    assert td.bool is np.bool_ and td.long is np.int64 and td.float is np.float32
    assert td.double is np.float64 and td.half is np.float16 and td.int is np.int32
    assert td.tensor([1, 0]).to(td.bool).dtype == np.bool_
    assert td.zeros(2, dtype=td.uint8).dtype == np.uint8
    names = {}
    exec("from tinydl import *", names)  # Python's bool, float and int stay Python's
    assert "bool" not in names and "float" not in names and "int" not in names


@pytest.mark.parametrize("equation, data, expected", [
    ("ij->", [[True, True], [True, False]], 3),  # NumPy's einsum: True (an or)
    ("ij->i", [[True, True], [True, False]], [2, 1]),
    ("ij->", np.full((2, 2), 100, np.int8), 400),  # NumPy's: -112 (int8 wrapped)
    ("ii", np.full((2, 2), 100, np.uint8), 200),
])
def test_einsum_sums_of_bool_and_narrow_integers_are_int64(equation, data, expected):
    out = td.einsum(equation, td.tensor(data))
    assert out.dtype == np.int64 and out.tolist() == expected
    assert td.einsum("ij->ji", td.tensor(data)).dtype == td.tensor(data).dtype  # no sum


@pytest.mark.parametrize("product", [
    lambda i, w: i @ w, lambda i, w: td.mm(i, w), lambda i, w: td.mv(i, w[0]),
    lambda i, w: td.dot(i[0], w[0]), lambda i, w: td.matmul(w, i),
])
def test_matmul_of_integer_and_float32_is_float32(product):
    # As int64 + float32 (torch's promotion, the README's); NumPy's matmul made float64.
    i = td.tensor([[1, 2], [3, 4]])
    w = td.tensor([[0.5, 1.0], [1.0, 2.0]], requires_grad=True)
    out = product(i, w)
    assert out.dtype == np.float32
    out.sum().backward()
    assert w.grad.dtype == np.float32


@pytest.mark.parametrize("expr", [
    lambda u: u >> -1, lambda u: u & -1, lambda u: u | 300, lambda u: td.bitwise_xor(u, 256),
])
def test_bitwise_with_a_number_outside_the_dtype_names_the_op(expr):
    u = td.tensor(np.array([1, 2], np.uint8))
    with pytest.raises(OverflowError, match=r"^(right_shift|bitwise_and|bitwise_or|"
                                            r"bitwise_xor): Python integer .* out of bounds "
                                            r"for uint8: the number must fit"):
        expr(u)


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "amax", "amin", "var",
                                  "std", "count_nonzero", "norm", "std_mean", "var_mean"])
def test_an_empty_dim_reduces_every_axis_as_torch(name):
    # x.sum(dim=()) returned x unchanged (NumPy's axis=()); torch gives the total.
    torch = pytest.importorskip("torch")
    x0 = np.arange(6.0).reshape(2, 3)
    kw = dict(correction=1) if name in ("var", "std") else {}
    for dim in ((), []):
        ours = getattr(td, name)(td.tensor(x0), dim=dim, **kw)
        theirs = getattr(torch, name)(torch.tensor(x0), dim=dim)
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                        theirs if isinstance(theirs, tuple) else (theirs,)):
            assert a.shape == tuple(b.shape) == ()
            np.testing.assert_allclose(float(a), float(b), rtol=1e-12)
        if hasattr(td.Tensor, name):
            method = getattr(td.tensor(x0), name)(dim=dim, **kw)
            assert (method[0] if isinstance(method, tuple) else method).shape == ()
    assert td.linalg.vector_norm(td.tensor(x0), dim=()).shape == ()
    # NumPy's spelling keeps NumPy's meaning, and torch's own no-axis ops stay so
    assert td.sum(td.tensor(x0), axis=()).shape == (2, 3)
    assert td.any(td.tensor(x0), dim=()).shape == (2, 3)


def test_alpha_on_integer_and_bool_tensors_as_torch():
    # bools with alpha=2 came back int64 [3, 2]; an int tensor with alpha=0.5 became float32
    a, b = td.tensor([True, False]), td.tensor([True, True])
    out = a.add(b, alpha=2)
    assert out.dtype == np.bool_ and out.tolist() == [True, True]
    assert a.add(b, alpha=0).tolist() == [True, False]
    with pytest.raises(TypeError, match="subtract"):
        a.sub(b, alpha=2)  # as a - b on bools (torch raises too)
    ints = td.tensor([1, 2, 3])
    for call in (lambda: ints.add(ints, alpha=0.5), lambda: ints.sub(ints, alpha=0.5),
                 lambda: ints.clone().add_(ints, alpha=0.5)):
        with pytest.raises(TypeError, match="alpha must not be a floating point number"):
            call()
    assert ints.add(ints, alpha=2).tolist() == [3, 6, 9]
    assert td.tensor([1.0, 2.0]).add(td.tensor([1, 2]), alpha=0.5).tolist() == [1.5, 3.0]


def test_median_of_bool_is_refused_and_of_nothing_is_nan_as_torch():
    for name in ("median", "nanmedian"):  # nanmedian returned a bool, median a float32
        with pytest.raises(TypeError, match=f"{name}: not defined for a bool tensor"):
            getattr(td.tensor([True, False]), name)()
        assert np.isnan(float(getattr(td.tensor(np.zeros(0)), name)()))  # it named quantile
    with pytest.raises(TypeError, match="scatter_reduce: reduce='mean'"):  # int8 before
        td.tensor([True, False]).scatter_reduce(0, td.tensor([0, 1]), td.tensor([True, True]),
                                                "mean")


_IDX = [[0], [1], [2]]
_NUMPY_SPELLED = [  # (name, is a method, positional args, keyword args with NumPy's names)
    ("topk", True, (2,), dict(axis=1)), ("kthvalue", True, (1,), dict(axis=0, keepdims=True)),
    ("mode", True, (), dict(axis=0)), ("split", True, (2,), dict(axis=1)),
    ("chunk", True, (2,), dict(axis=1)), ("unbind", True, (), dict(axis=1)),
    ("unsqueeze", True, (), dict(axis=0)), ("narrow", True, (), dict(axis=1, start=0, length=2)),
    ("select", True, (), dict(axis=1, index=0)), ("diff", True, (), dict(axis=0)),
    ("unique", True, (), dict(axis=0)), ("unique_consecutive", True, (), dict(axis=0)),
    ("tensor_split", True, (2,), dict(axis=1)), ("unflatten", True, (), dict(axis=1, sizes=(2, 2))),
    ("aminmax", True, (), dict(axis=0, keepdims=True)), ("repeat_interleave", True, (2,), dict(axis=0)),
    ("index_select", True, (), dict(axis=0, index=[0])), ("gather", True, (), dict(axis=1, index=_IDX)),
    ("scatter", True, (), dict(axis=1, index=_IDX, value=1.0)),
    ("scatter_add", True, (), dict(axis=1, index=_IDX, src="x")),
    ("scatter_reduce", True, (), dict(axis=1, index=_IDX, src="x", reduce="sum")),
    ("index_add", True, (), dict(axis=0, index=[0], source="x0")),
    ("index_fill", True, (), dict(axis=0, index=[0], value=2.0)),
    ("index_copy", True, (), dict(axis=0, index=[0], source="x0")),
    ("take_along_dim", True, (_IDX,), dict(axis=1)),
    ("std_mean", False, (), dict(axis=0, keepdims=True)), ("var_mean", False, (), dict(axis=0)),
    ("unique_consecutive", False, (), dict(axis=0)), ("take_along_dim", False, (_IDX,), dict(axis=1)),
    ("index_fill", False, (), dict(axis=0, index=[0], value=2.0)),
    ("index_copy", False, (), dict(axis=0, index=[0], source="x0"))]


@pytest.mark.parametrize("name,method,args,kwargs", _NUMPY_SPELLED)
def test_torch_named_ops_take_numpys_axis_and_keepdims_too(name, method, args, kwargs):
    # The API: NumPy's axis/keepdims everywhere, torch's dim/keepdim as aliases. These took
    # only dim= (Python's bare 'unexpected keyword argument').
    x = td.tensor(np.arange(12.0).reshape(3, 4))
    def resolve(v):
        if isinstance(v, str) and v in ("x", "x0"):
            return x if v == "x" else x[:1]
        return td.tensor(v) if isinstance(v, list) else v
    args = tuple(resolve(a) for a in args)
    numpy_kw = {k: resolve(v) for k, v in kwargs.items()}
    torch_kw = {{"axis": "dim", "keepdims": "keepdim"}.get(k, k): v for k, v in numpy_kw.items()}
    fn = getattr(x, name) if method else functools.partial(getattr(td, name), x)
    ours, theirs = fn(*args, **numpy_kw), fn(*args, **torch_kw)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                    theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert td.unflatten(x, dim=1, sizes=(2, 2)).shape == (3, 2, 2)  # and the reverse: dim=


def test_both_spellings_of_one_argument_are_refused():
    x = td.tensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(TypeError, match="topk: got both 'dim' and its NumPy spelling 'axis'"):
        x.topk(2, axis=1, dim=0)


def test_creation_keeps_array_dtypes_refuses_what_does_not_fit_and_reads_torch_dtypes():
    torch = pytest.importorskip("torch")
    # array-likes that are not ndarrays were read as Python lists
    assert td.tensor(torch.tensor([0.1], dtype=torch.float64)).dtype == np.float64
    assert td.tensor(torch.tensor([1], dtype=torch.int32)).dtype == np.int32
    assert td.tensor(torch.tensor([1], dtype=torch.uint8)).dtype == np.uint8  # OverflowError
    assert td.tensor(memoryview(np.array([1, 2], np.uint8))).dtype == np.uint8
    assert td.tensor([np.uint8(1), np.uint8(2)]).dtype == np.uint8  # 'does not fit int64'
    assert td.tensor([np.ones(2, np.uint8)] * 2).dtype == np.uint8
    with pytest.raises(OverflowError):
        td.tensor([2 ** 63])
    # linspace cast out-of-range ends and NaN silently (300 -> 44 in uint8)
    for args, dtype in (((-2.5, 10, 6), np.uint8), ((0, 300, 3), np.uint8), ((0, 1e20, 3), np.int64),
                        ((0, float("nan"), 3), np.int64), ((0, 1e5, 3), np.float16)):
        with pytest.raises(OverflowError, match="linspace: (start|end)"):
            td.linspace(*args, dtype=dtype)
    assert td.linspace(0, 10, 3, dtype=np.uint8).tolist() == [0, 5, 10]
    with pytest.raises(TypeError, match="fill_: a complex value"):  # its real part was kept
        td.zeros(2).fill_(2 + 3j)
    assert (td.tensor([3, 7]) / np.bool_(True)).dtype == np.float32  # float64 before
    stop, step = np.float32(0.3), np.float32(0.1)  # 0.30000001192..., read as doubles
    assert len(td.arange(0, stop, step)) == len(torch.arange(0, stop, step)) == 4
    assert len(td.arange(np.float16(0), np.float16(1), np.float16(0.1))) == 11
    # torch's dtype names in the factories, as .to() takes them; no objects or strings
    assert td.zeros(2, dtype=torch.float64).dtype == np.float64
    assert td.full((2,), 1, torch.int32).dtype == np.int32
    assert td.tensor([1.5], dtype=torch.float16).dtype == np.float16
    assert td.randn(2, dtype=torch.float64).dtype == np.float64
    for call in (lambda: td.zeros(2, dtype=object), lambda: td.ones(2, dtype="U3"),
                 lambda: td.zeros(2).astype(str), lambda: td.zeros(2).to(object)):
        with pytest.raises(TypeError, match="tensors hold numbers or booleans"):
            call()


def test_elementwise_edges_as_torch():
    torch = pytest.importorskip("torch")
    # nan_to_num(nan=None), torch's default spelling, left NaN in place
    assert td.nan_to_num(td.tensor([float("nan"), 1.0]), nan=None).tolist() == [0.0, 1.0]
    # x ** p with p = 0 requiring grad: x.grad NaN at a subnormal or NaN x (torch: 0)
    for x0 in (np.array([1e-39], np.float32), np.array([np.nan, 0.0, 2.0])):
        x = td.Tensor(x0, requires_grad=True)
        p = td.Tensor(np.zeros_like(x0), requires_grad=True)
        (x ** p).sum().backward()
        tx = torch.tensor(x0, requires_grad=True)
        tp = torch.zeros_like(tx, requires_grad=True)
        (tx ** tp).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-6)
    # np.reciprocal of an int tensor is NumPy's integer loop (1 // x); of 0 it gave int64's
    # minimum with a warning: refused as the other integer divisions by zero
    with pytest.raises(ZeroDivisionError, match="reciprocal"):
        np.reciprocal(td.tensor([0, 2, -3]))
    np.testing.assert_allclose(td.reciprocal(td.tensor([0, 2, -3])).data,
                               torch.reciprocal(torch.tensor([0, 2, -3])).numpy())
    # nextafter's gradient in a is 0 where a == b (torch's rule; it was 1)
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    td.nextafter(x, td.tensor(np.array([1.0, 3.0]))).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]
    # a float64 0-d weight made a float32 lerp float64 (torch's 0-d rule keeps float32)
    w = td.tensor(np.array(0.5), requires_grad=True)
    out = td.lerp(td.tensor([1.0, 2.0]), td.tensor([3.0, 4.0]), w)
    assert out.dtype == np.float32 and out.tolist() == [2.0, 3.0]
    out.sum().backward()
    assert w.grad.dtype == np.float64 and float(w.grad) == 4.0
