"""The activations of tinydl/ops/activation.py added with torch's full set (hardtanh, relu6,
hardsigmoid, hardswish, selu, celu, mish, softsign, tanhshrink, softmin, glu, prelu; silu and
logsigmoid have their smooth rows in test_functional.py) through the op table, then what a row
cannot state: float32 values at extreme inputs and second derivatives at the kinks against
torch, retention declarations on non-leaf inputs, in-place forms and errors.

Smooth rows draw inputs away from every kink (``either_side``) so that finite differences never
straddle one. The ``*_kinks`` rows put inputs exactly on the kinks (0, +-1, +-3, 6, ...) and at
+-1e4: there the gradient is a convention, not a derivative, so those rows skip gradcheck and
are checked against torch's gradient instead.
"""
import warnings

import numpy as np
import pytest
from scipy import special

import tinydl as td
from tests import _reference as ref
from tests.ops._table import Arg, OpCase, OpTable, fixed, normal, off_zero, torch
from tinydl.nn import functional as F

X = (3, 4)
# Every kink of the ops below (and of hardtanh(-0.5, 2), celu(alpha=0.5)), -0.0, and extremes.
KINKS = [-1e4, -100.0, -20.0, -6.0, -3.5, -3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0,
         6.0, 20.0, 100.0, 1e4]
AT_KINKS = Arg((len(KINKS),), fixed(KINKS))


def tF():
    """torch.nn.functional (looked up when a torch check runs)."""
    return torch.nn.functional


def either_side(kinks, low=0.1, high=1.5):
    """A kink plus or minus U(low, high): both sides of each kink, never within ``low`` of it."""
    def sample(rng, shape):
        side = rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)
        return rng.choice(kinks, shape) + side
    return sample


def unary(name, fn, reference, torch_fn, sample=normal, **kw):
    """Two rows for an op of one input: (3, 4) drawn by ``sample`` (also 0-d and (0, 3)), and
    the same op exactly on the kinks and at the extremes, gradient against torch only."""
    return [OpCase(name, fn, reference, [Arg(X, sample)], torch=torch_fn, zero_d=True,
                   empty=[(0, 3)], **kw),
            OpCase(name + "_kinks", fn, reference, [AT_KINKS], torch=torch_fn, gradcheck=False,
                   **kw)]


def prelu_ref(x, w):
    return ref.prelu(x, w)


CASES = [
    *unary("relu6", td.relu6, lambda x: np.clip(x, 0, 6), lambda x: tF().relu6(x),
           either_side([0.0, 6.0])),
    *unary("hardtanh", td.hardtanh, lambda x: np.clip(x, -1, 1), lambda x: tF().hardtanh(x),
           either_side([-1.0, 1.0], high=0.9)),
    *unary("hardtanh_bounds", lambda x: td.hardtanh(x, -0.5, 2.0),
           lambda x: np.clip(x, -0.5, 2.0), lambda x: tF().hardtanh(x, -0.5, 2.0),
           either_side([-0.5, 2.0], high=1.2)),
    # torch's hardsigmoid_backward multiplies by 1/6 rounded to float32 (``1.0f / 6.0f``) in
    # any dtype, a relative 3e-8 off; ours is 1/6 in the input's dtype
    *unary("hardsigmoid", td.hardsigmoid, ref.hardsigmoid, lambda x: tF().hardsigmoid(x),
           either_side([-3.0, 3.0], high=2.0), rtol=1e-7),
    *unary("hardswish", td.hardswish, ref.hardswish, lambda x: tF().hardswish(x),
           either_side([-3.0, 3.0], high=2.0)),
    *unary("selu", td.selu, ref.selu, lambda x: tF().selu(x), off_zero),
    *unary("celu", td.celu, ref.celu, lambda x: tF().celu(x), off_zero),
    *unary("celu_alpha", lambda x: td.celu(x, 0.5), lambda x: ref.celu(x, 0.5),
           lambda x: tF().celu(x, 0.5), off_zero),
    *unary("mish", td.mish, ref.mish, lambda x: tF().mish(x)),
    *unary("softsign", td.softsign, lambda x: x / (1 + np.abs(x)), lambda x: tF().softsign(x),
           off_zero),
    *unary("tanhshrink", td.tanhshrink, lambda x: x - np.tanh(x), lambda x: tF().tanhshrink(x)),
    # silu and logsigmoid: the smooth rows are in test_functional.py; here their extremes
    OpCase("silu_kinks", td.silu, ref.silu, [AT_KINKS], torch=lambda x: tF().silu(x),
           gradcheck=False),
    OpCase("logsigmoid_kinks", td.logsigmoid, lambda x: -np.logaddexp(0, -x), [AT_KINKS],
           torch=lambda x: tF().logsigmoid(x), gradcheck=False),
    OpCase("softmin", td.softmin, lambda x: special.softmax(-x, axis=-1), [X],
           torch=lambda x: tF().softmin(x, dim=-1), empty=[(0, 3)]),
    OpCase("softmin_dim", lambda x: F.softmin(x, dim=1),
           lambda x: special.softmax(-x, axis=1), [(2, 3, 4)],
           torch=lambda x: tF().softmin(x, dim=1)),
    OpCase("glu", td.glu, ref.glu, [(3, 4)], torch=lambda x: tF().glu(x),
           empty=[(0, 4)]),
    OpCase("glu_dim", lambda x: F.glu(x, dim=1), lambda x: ref.glu(x, axis=1), [(2, 6, 3)],
           torch=lambda x: tF().glu(x, dim=1), empty=[(2, 0, 3)]),
    OpCase("prelu_per_channel", F.prelu, prelu_ref, [Arg((2, 3, 4), off_zero), (3,)],
           torch=lambda x, w: tF().prelu(x, w), empty=[(0, 3, 4), (3,)]),
    OpCase("prelu_shared", F.prelu, prelu_ref, [Arg((2, 3, 2, 2), off_zero), (1,)],
           torch=lambda x, w: tF().prelu(x, w)),
    OpCase("prelu_1d", F.prelu, prelu_ref, [Arg((5,), off_zero), (1,)],
           torch=lambda x, w: tF().prelu(x, w), zero_d=[(), (1,)]),
    OpCase("prelu_2d", F.prelu, prelu_ref, [Arg((4, 3), off_zero), (3,)],
           torch=lambda x, w: tF().prelu(x, w)),
    # at x = 0 the input's gradient is the slope and the slope's is 0, as torch's
    OpCase("prelu_kinks", F.prelu, prelu_ref,
           [Arg((2, 3), fixed([[0.0, -1.0, 2.0], [-0.0, 0.0, 3.0]])), (3,)],
           torch=lambda x, w: tF().prelu(x, w), gradcheck=False),
]


class TestActivation(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- beyond a row
TORCH_OPS = {
    "relu6": lambda t: tF().relu6(t), "hardtanh": lambda t: tF().hardtanh(t),
    "hardsigmoid": lambda t: tF().hardsigmoid(t), "hardswish": lambda t: tF().hardswish(t),
    "selu": lambda t: tF().selu(t), "celu": lambda t: tF().celu(t),
    "celu_alpha": lambda t: tF().celu(t, 0.5), "silu": lambda t: tF().silu(t),
    "mish": lambda t: tF().mish(t), "softsign": lambda t: tF().softsign(t),
    "tanhshrink": lambda t: tF().tanhshrink(t), "logsigmoid": lambda t: tF().logsigmoid(t),
}
OURS = {
    "relu6": td.relu6, "hardtanh": td.hardtanh, "hardsigmoid": td.hardsigmoid,
    "hardswish": td.hardswish, "selu": td.selu, "celu": td.celu,
    "celu_alpha": lambda x: td.celu(x, 0.5), "silu": td.silu, "mish": td.mish,
    "softsign": td.softsign, "tanhshrink": td.tanhshrink, "logsigmoid": td.logsigmoid,
}
# torch differentiates softsign as the quotient x / (|x| + 1), which cancels in float32 for
# |x| >= 100 (a relative error of 1e-4 at 1e4); ours is the closed form 1 / (1 + |x|)^2, so
# its float32 gradient is checked against torch's float64 one instead.
LESS_ACCURATE_IN_TORCH = {"softsign"}


def _value_and_grad(fn, x, create_graph=False):
    y = fn(x)
    (g,) = td.grad(y.sum(), [x], create_graph=create_graph)
    return y, g


def _torch_value_and_grad(fn, x, create_graph=False):
    y = fn(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=create_graph)
    return y, g


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
@pytest.mark.parametrize("name", sorted(OURS))
def test_float32_values_and_gradients_at_kinks_and_extremes_match_torch(name):
    x32 = np.array(KINKS, np.float32)
    y, g = _value_and_grad(OURS[name], td.Tensor(x32, requires_grad=True))
    ty, tg = _torch_value_and_grad(TORCH_OPS[name], torch.tensor(x32, requires_grad=True))
    assert y.dtype == g.dtype == np.float32, name
    assert np.isfinite(y.data).all() and np.isfinite(g.data).all(), name
    # atol: torch and NumPy may differ in flushing float32 subnormals (1e-42) to zero
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=2e-6, atol=1e-37,
                               err_msg=f"{name}: float32 values vs torch")
    if name in LESS_ACCURATE_IN_TORCH:
        x64 = torch.tensor(x32.astype(np.float64), requires_grad=True)
        tg = _torch_value_and_grad(TORCH_OPS[name], x64)[1]
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=2e-6, atol=1e-37,
                               err_msg=f"{name}: float32 gradients vs torch")


# Second derivatives torch defines at the kinks (hardsigmoid's double backward is not
# implemented in torch; it is 0 here, the derivative of a constant mask).
SECOND_ORDER = ["relu6", "hardtanh", "hardswish", "selu", "celu", "celu_alpha", "silu", "mish",
                "softsign", "tanhshrink", "logsigmoid"]


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_at_the_kinks_match_torch(name):
    # mish's second derivative in torch is NaN at 1e4 (inf * 0 in its formula): kinks only
    points = np.array([p for p in KINKS if abs(p) <= 20])
    x = td.Tensor(points, requires_grad=True)
    _, g = _value_and_grad(OURS[name], x, create_graph=True)
    gg = td.grad(g.sum(), [x], allow_unused=True)[0] if g.requires_grad else None
    gg = np.zeros_like(points) if gg is None else gg.data
    tx = torch.tensor(points, requires_grad=True)
    _, tg = _torch_value_and_grad(TORCH_OPS[name], tx, create_graph=True)
    tgg = torch.autograd.grad(tg.sum(), tx, allow_unused=True)[0] if tg.requires_grad else None
    tgg = np.zeros_like(points) if tgg is None else tgg.numpy()
    np.testing.assert_allclose(gg, tgg, rtol=1e-10, atol=1e-14,
                               err_msg=f"{name}: second derivative at the kinks vs torch")


# The gated gradients select, as torch's threshold_backward and clamp_backward do: where the
# gate is shut the input's gradient is 0 even when the upstream gradient is inf or NaN
# (multiplying by a 0/1 mask gave NaN there). At a NaN input each gate is open or shut as
# torch's (relu, relu6, hardtanh and hardswish pass the gradient; clip and hardsigmoid don't).
# name: (tinydl op, torch op, where its gate is open, the gradient's factor there)
GATES = {"relu": (td.relu, lambda t: torch.relu(t), lambda x: ~(x <= 0), None),
         "relu6": (F.relu6, lambda t: tF().relu6(t), lambda x: ~((x <= 0) | (x >= 6)), None),
         "hardtanh": (lambda x: td.hardtanh(x, -0.9, 0.9), lambda t: tF().hardtanh(t, -0.9, 0.9),
                      lambda x: ~((x <= -0.9) | (x >= 0.9)), None),
         "clip": (lambda x: td.clip(x, -0.9, 0.9), lambda t: torch.clamp(t, -0.9, 0.9),
                  lambda x: (x >= -0.9) & (x <= 0.9), None),
         "hardsigmoid": (td.hardsigmoid, lambda t: tF().hardsigmoid(t),
                         lambda x: (x > -3) & (x < 3), lambda x: x.dtype.type(1 / 6)),
         "hardswish": (td.hardswish, lambda t: tF().hardswish(t), lambda x: ~(x <= -3),
                       lambda x: np.where(x < 3, x / 3 + 0.5, 1.0).astype(x.dtype))}
GATE_X = [-1.0, 2.0, -3.0, 0.5, 0.5, -1.0, 7.0, 0.25, -4.0, -5.0, np.nan]
GATE_G = [np.inf, 1.0, np.nan, -np.inf, np.nan, 2.0, np.inf, -0.0, np.inf, -np.inf, 3.0]


@pytest.mark.parametrize("name", sorted(GATES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("create_graph", [False, True])
def test_gated_gradients_are_zero_where_shut_even_for_inf_and_nan(name, dtype, create_graph):
    fn, torch_fn, is_open, factor = GATES[name]
    x = td.Tensor(np.array(GATE_X, dtype), requires_grad=True)
    upstream = td.Tensor(np.array(GATE_G, dtype), requires_grad=create_graph)
    (g,) = td.grad(fn(x), [x], grad_outputs=[upstream], create_graph=create_graph)
    gate = is_open(x.data)
    passed = np.array(GATE_G, dtype) * (1 if factor is None else factor(x.data))
    expected = np.where(gate, passed, 0.0).astype(dtype)
    assert g.dtype == dtype
    np.testing.assert_array_equal(g.data, expected)
    assert not np.signbit(g.data[~gate]).any(), "shut entries are +0.0"
    if torch is not None:
        tx = torch.tensor(np.array(GATE_X, dtype), requires_grad=True)
        (tg,) = torch.autograd.grad(torch_fn(tx), tx, torch.tensor(np.array(GATE_G, dtype)))
        # rtol: torch's hardsigmoid multiplies by 1/6 rounded to float32 in float64 too
        np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-7, atol=0)


# At a NaN input these take torch's side of their kink: abs's sgn(NaN) = 0, and the ELU family
# the linear side's slope (its scale), where the exponential side gave NaN.
AT_NAN = {"abs": (td.abs, lambda t: torch.abs(t), 0.0),
          "elu": (td.elu, lambda t: tF().elu(t), 1.0),
          "celu": (lambda x: td.celu(x, 0.5), lambda t: tF().celu(t, 0.5), 1.0),
          "selu": (td.selu, lambda t: tF().selu(t), 1.0507009873554805)}


@pytest.mark.parametrize("name", sorted(AT_NAN))
@pytest.mark.parametrize("create_graph", [False, True])
def test_gradient_at_a_nan_input_is_torchs(name, create_graph):
    fn, torch_fn, at_nan = AT_NAN[name]
    points = np.array([np.nan, -1.0, 2.0], np.float32)
    x = td.Tensor(points, requires_grad=True)
    (g,) = td.grad(fn(x).sum(), [x], create_graph=create_graph)
    np.testing.assert_allclose(g.data[0], at_nan, rtol=1e-6)
    assert np.isfinite(g.data).all()
    if torch is not None:
        tx = torch.tensor(points, requires_grad=True)
        (tg,) = torch.autograd.grad(torch_fn(tx).sum(), tx)
        np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OURS) + ["prelu", "glu", "softmin"])
def test_declared_retention_holds_on_non_leaf_inputs(name):
    """Inputs made by another op (here ``x * 1``, which keeps nothing) are dropped to graph
    edges unless declared retained: first and second derivatives must still run and agree with
    those of a leaf input."""
    rng = np.random.default_rng(0)
    leaf_data = either_side([-3.0, 0.0, 3.0, 6.0], 0.1, 1.0)(rng, (4, 6))
    slopes = td.Tensor(np.array([0.2, -0.3, 0.5, 1.5, 0.0, 1.0]))
    extra = {"prelu": lambda x: td.prelu(x, slopes),
             "glu": td.glu, "softmin": td.softmin}
    fn = OURS.get(name) or extra[name]
    results = []
    for through_op in (False, True):
        leaf = td.Tensor(leaf_data, requires_grad=True)
        x = leaf * 1.0 if through_op else leaf
        (g,) = td.grad((fn(x) * fn(x)).sum(), [leaf], create_graph=True)
        (gg,) = td.grad((g * g).sum(), [leaf], allow_unused=True)
        results.append((g.data, None if gg is None else gg.data))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, err_msg=name)
    if results[0][1] is not None:
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, err_msg=name)


def test_fused_ops_are_one_node_each():
    x = td.Tensor(np.linspace(-2, 2, 5), requires_grad=True)
    for fn, op in [(F.silu, "SiLU"), (F.logsigmoid, "LogSigmoid"), (F.mish, "Mish"),
                   (F.hardswish, "Hardswish"), (F.selu, "SELU"), (F.celu, "CELU"),
                   (F.softsign, "Softsign"), (F.tanhshrink, "Tanhshrink")]:
        y = fn(x)
        assert y._ctx.fn.__name__ == op, op
        (g,) = td.grad(y.sum(), [x], create_graph=True)
        assert g._ctx.fn.__name__ in (op + "Backward", "ELUBackward", "Multiply", "Divide"), op


def test_float_ops_promote_integers_and_clamps_keep_them():
    ints = td.Tensor(np.array([-4, -1, 0, 2, 7]))
    np.testing.assert_array_equal(td.relu6(ints).data, [0, 0, 0, 2, 6])
    assert td.relu6(ints).dtype == ints.dtype and td.hardtanh(ints).dtype == ints.dtype
    for fn in (td.softsign, td.tanhshrink, td.selu, td.silu, td.mish, td.hardswish):
        assert fn(ints).dtype == np.float32, fn.__name__  # torch's default float
    np.testing.assert_allclose(td.softsign(ints).data, [-0.8, -0.5, 0, 2 / 3, 0.875], rtol=1e-6)


def test_inplace_forms_write_into_the_input():
    x = td.Tensor(np.array([-7.0, -1.0, 2.0, 8.0]))
    y = F.relu6(x, inplace=True)
    assert y is x
    np.testing.assert_array_equal(x.data, [0.0, 0.0, 2.0, 6.0])
    leaf = td.Tensor(np.array([-1.0, 0.5, 4.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.hardswish(leaf, inplace=True)
    h = leaf * 2.0
    out = F.selu(h, inplace=True)
    assert out is h
    out.sum().backward()
    np.testing.assert_allclose(
        leaf.grad.data, 2 * np.where(leaf.data > 0, ref.SELU_SCALE,
                                     ref.SELU_SCALE * ref.SELU_ALPHA * np.exp(2 * leaf.data)))


def test_torch_argument_names():
    rng = np.random.default_rng(0)
    x = td.Tensor(rng.standard_normal((2, 4, 3)))
    np.testing.assert_allclose(td.glu(x, dim=1).data, ref.glu(x.data, axis=1))
    np.testing.assert_allclose(td.softmin(x, dim=0).data, td.softmax(-x, axis=0).data)
    out = F.softmin(x.astype(np.float32), dim=1, dtype=np.float64)
    assert out.dtype == np.float64


@pytest.mark.parametrize("call, match", [
    (lambda: td.hardtanh(td.ones(3), 2.0, 1.0), "hardtanh: min_val cannot be greater"),
    (lambda: td.celu(td.ones(3), 0.0), "celu: alpha cannot be 0"),
    (lambda: td.glu(td.ones((2, 3)), dim=1), r"glu: .*axis 1 .*\(2, 3\) has length 3"),
    (lambda: td.glu(td.ones(())), "glu: a 0-d tensor"),
    (lambda: td.glu(td.ones((2, 4)), dim=2), "glu: axis 2 is out of bounds"),
    (lambda: td.softmin(td.ones((2, 4)), dim=-3), "softmin: axis -3 is out of bounds"),
    (lambda: td.prelu(td.ones((2, 3)), td.ones(2)), r"prelu: weight has 2 .*\(2, 3\) has 3"),
    (lambda: td.prelu(td.ones(()), td.ones(2)), r"prelu: weight has 2 .* no channels"),
    (lambda: td.prelu(td.ones((2, 3)), td.ones((1, 3))), r"prelu: weight must be 0-d or 1-D"),
    (lambda: td.prelu(td.ones((2, 3)), td.Tensor(np.ones(3))), "prelu: input of dtype float32"),
    (lambda: td.selu("x"), "selu: input must be a Tensor"),
])
def test_bad_arguments_name_the_op(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------- found by a differential sweep
def test_elu_gradient_far_left_of_zero_is_exact_as_torch():
    """The gradient was rebuilt from the output as y + alpha, which cancels: 44% off at
    x = -17 in float32 and exactly 0 from x = -18; its second derivative at 0 was alpha."""
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        x = np.array([-10, -17, -20, -40, 0.5], dtype)
        ours = td.Tensor(x, requires_grad=True)
        F.elu(ours, alpha=1.5).sum().backward()
        theirs = torch.tensor(x, requires_grad=True)
        torch.nn.functional.elu(theirs, alpha=1.5).sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6)
    x = td.Tensor(np.zeros(1), requires_grad=True)
    (g,) = td.grad(F.elu(x, alpha=2.0).sum(), x, create_graph=True)
    (gg,) = td.grad(g.sum(), x)
    assert gg.item() == 0.0  # torch's double backward at the kink (celu and selu agree)


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "silu"])
def test_float16_activations_stay_float16(name):
    x = td.Tensor(np.array([-1.0, 0.5], np.float16))
    assert getattr(F, name)(x).dtype == np.float16  # was float64


def test_functional_activations_take_torchs_arguments():
    x = td.Tensor(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(F.relu(x, inplace=False).data, [0, 2])
    np.testing.assert_array_equal(F.leaky_relu(x, 0.5, False).data, [-0.5, 2])
    y = td.Tensor(np.array([-1.0, 2.0]))
    assert F.elu(y, 1.0, inplace=True) is y and y.data[0] == np.expm1(-1.0)
    assert F.softmax(td.Tensor(np.zeros(2, np.float32)), dim=0, dtype=np.float64).dtype == np.float64
    assert F.log_softmax(td.Tensor(np.zeros(2, np.float32)), 0, dtype=np.float64).dtype == np.float64
    assert td.nn.Softmax(dim=1).dim == 1 and td.nn.LogSoftmax(dim=0).dim == 0
    assert (td.nn.ReLU6().min_val, td.nn.ReLU6().max_val) == (0.0, 6.0)


def test_activations_of_lists_and_bools():
    for fn in (F.leaky_relu, F.elu, F.softplus):  # a bare TypeError from the list before
        out = fn([-1.5, 2.0])
        assert isinstance(out, td.Tensor) and out.dtype == np.float32
    with pytest.raises(TypeError, match="relu: boolean input"):
        F.relu(td.Tensor([True, False]))  # torch refuses; it gave int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(3, 70001), (64, 6, 24, 24), (16383,), (1 << 16,)])
def test_relu_of_large_arrays_is_numpys_maximum_blockwise(dtype, shape):
    # Large contiguous inputs go through np.maximum in blocks against zeros (a faster loop
    # than against the scalar 0): every element, the last partial block, NaN and infinities
    # included, must come out as np.maximum(x, 0) gives it; a strided view takes the plain
    # call.
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[[0, 5, -1, flat.size // 2]] = [np.nan, -np.inf, np.inf, np.nan]
    for data in (x, x[..., ::2]):
        y = F.relu(td.Tensor(data)).data
        assert y.dtype == dtype and y.shape == data.shape
        np.testing.assert_array_equal(y, np.maximum(data, 0))
    if torch is not None:
        want = torch.relu(torch.from_numpy(x)).numpy()
        np.testing.assert_array_equal(F.relu(td.Tensor(x)).data, want)


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
@pytest.mark.parametrize("name", ["hardswish", "silu", "mish"])
def test_non_finite_inputs_give_torchs_values_and_gradients_without_warnings(name):
    """At -inf these are -inf * 0 (NaN in torch too): the same NaN, and no NumPy
    RuntimeWarning that torch would not print."""
    x32 = np.array([-np.inf, np.inf, np.nan, -1e30, 1e30, 0.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, g = _value_and_grad(OURS[name], td.Tensor(x32, requires_grad=True))
    ty, tg = _torch_value_and_grad(TORCH_OPS[name], torch.tensor(x32, requires_grad=True))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("call", [
    lambda x: F.leaky_relu(x, np.float64(0.2)), lambda x: F.elu(x, np.float64(0.5)),
    lambda x: F.celu(x, np.float64(0.5)), lambda x: F.softplus(x, np.float64(2.0), np.float64(20)),
    lambda x: F.hardtanh(x, np.float64(-0.5), np.float64(0.5)),
    lambda x: td.nn.LeakyReLU(np.linspace(0.01, 0.3, 3)[1])(x), lambda x: td.nn.ELU(np.float64(1.5))(x)])
def test_numpy_scalar_hyperparameters_keep_float32(call):
    # np.float64 slopes and bounds made a float32 activation's output float64 (torch: float32);
    # the next Linear then blamed its own input's dtype
    x = td.Tensor(np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = call(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_ops_along_one_axis_refuse_none_or_a_tuple_with_their_name():
    # softmax/log_softmax/softmin raised "tuple indices must be integers"; glu halved axis 0
    # silently; gumbel_softmax said "too many values to unpack"
    x = td.Tensor(np.ones((2, 4), np.float32))
    for name, call in (("softmax", lambda a: F.softmax(x, a)), ("log_softmax", lambda a: F.log_softmax(x, a)),
                       ("softmin", lambda a: F.softmin(x, a)), ("glu", lambda a: F.glu(x, a)),
                       ("gumbel_softmax", lambda a: F.gumbel_softmax(x, dim=a)),
                       ("softmax", lambda a: td.softmax(x, a))):
        for axis in (None, (0, 1), [1]):
            with pytest.raises(TypeError, match=f"{name}: axis \\(dim\\) must be one int"):
                call(axis)
    assert F.softmax(x, dim=None).shape == (2, 4) and td.nn.Softmax()(x).shape == (2, 4)  # -1
    assert F.softmax(x, np.int64(0)).shape == (2, 4)
