"""tinydl/ops/elementwise.py through the op table, plus broadcasting drawn by hypothesis and the
cases a table row cannot state (gradient ties, dtype casts, error messages)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

import tinydl as td
from tests.ops._table import (SAME, Arg, OpCase, OpTable, booleans, check_drawn_view,
                              drawn_arrays, near, normal, off_zero, positive, rows_by_name,
                              tensors, torch)

X, ROW = (3, 4), (1, 4)


def unary(name, fn, ref, sample=normal, torch=None, **kw):
    """A row for an op of one input: (3, 4) drawn by ``sample``; defined on 0-d and (0, 3)."""
    return OpCase(name, fn, ref, [Arg(X, sample)], torch=torch, zero_d=True, empty=[(0, 3)],
                  **kw)


def binary(name, fn, ref, sample_a=normal, sample_b=normal, torch=None, **kw):
    """A row for a broadcasting op of two inputs, (3, 4) with (1, 4)."""
    return OpCase(name, fn, ref, [Arg(X, sample_a), Arg(ROW, sample_b)], torch=torch,
                  zero_d=True, empty=[(0, 4), (1, 4)], **kw)


def _clip_sample(rng, shape):
    # Either side of both bounds (-0.5, 0.7), never within 0.05 of them.
    return near([-1.5, -0.2, 0.3, 1.5], 0.05)(rng, shape)


def _np_where(c, a, b):
    return np.where(c, a, b)


CASES = [
    # arithmetic (operators; the function names are checked against them below)
    binary("add", lambda a, b: a + b, np.add, torch=SAME),
    binary("subtract", lambda a, b: a - b, np.subtract, torch=SAME),
    binary("multiply", lambda a, b: a * b, np.multiply, torch=SAME),
    binary("divide", lambda a, b: a / b, np.divide, sample_b=positive, torch=SAME),
    binary("power", lambda a, b: a ** b, np.power, sample_a=positive, torch=SAME),
    unary("negative", lambda x: -x, np.negative, torch=SAME),
    unary("add_scalar", lambda x: x + 2.0, lambda x: x + 2.0, torch=SAME),
    unary("radd", lambda x: 2.0 + x, lambda x: 2.0 + x, torch=SAME),
    unary("rsub", lambda x: 3.0 - x, lambda x: 3.0 - x, torch=SAME),
    unary("rmul", lambda x: 3.0 * x, lambda x: 3.0 * x, torch=SAME),
    unary("rdiv", lambda x: 3.0 / x, lambda x: 3.0 / x, positive, torch=SAME),
    unary("pow_scalar", lambda x: x ** 2.5, lambda x: x ** 2.5, positive, torch=SAME),
    unary("pow_int", lambda x: x ** 3, lambda x: x ** 3, torch=SAME),
    unary("rpow", lambda x: 1.7 ** x, lambda x: 1.7 ** x, torch=SAME),
    # one input used twice: gradients from both uses accumulate
    unary("cube_self", lambda x: x * x * x, lambda x: x ** 3, torch=SAME),
    unary("divide_self", lambda x: x / (x * x + 1), lambda x: x / (x * x + 1), torch=SAME),
    unary("power_self", lambda x: (x * x) ** 1.5, lambda x: np.abs(x) ** 3, torch=SAME),
    # exp / log family
    unary("exp", td.exp, np.exp, torch=lambda x: torch.exp(x)),
    unary("log", td.log, np.log, positive, torch=lambda x: torch.log(x)),
    unary("log_of_square", lambda x: td.log(x * x + 1), lambda x: np.log(x * x + 1)),
    unary("sqrt", td.sqrt, np.sqrt, positive, torch=lambda x: torch.sqrt(x)),
    unary("sqrt_of_square", lambda x: td.sqrt(x * x + 1), lambda x: np.sqrt(x * x + 1)),
    unary("abs", td.abs, np.abs, off_zero, torch=lambda x: torch.abs(x)),
    unary("sin", td.sin, np.sin, torch=lambda x: torch.sin(x)),
    unary("cos", td.cos, np.cos, torch=lambda x: torch.cos(x)),
    unary("erf", td.erf, special.erf, torch=lambda x: torch.erf(x)),
    # activations
    unary("tanh", td.tanh, np.tanh, torch=lambda x: torch.tanh(x)),
    unary("sigmoid", td.sigmoid, special.expit, torch=lambda x: torch.sigmoid(x)),
    unary("relu", td.relu, lambda x: np.maximum(x, 0), off_zero, torch=lambda x: torch.relu(x)),
    unary("leaky_relu", td.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), off_zero,
          torch=lambda x: torch.nn.functional.leaky_relu(x)),
    unary("leaky_relu_slope", lambda x: td.leaky_relu(x, 0.1),
          lambda x: np.where(x > 0, x, 0.1 * x), off_zero,
          torch=lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    unary("elu", td.elu, lambda x: np.where(x > 0, x, np.expm1(x)), off_zero,
          torch=lambda x: torch.nn.functional.elu(x)),
    unary("elu_alpha", lambda x: td.elu(x, 1.3), lambda x: np.where(x > 0, x, 1.3 * np.expm1(x)),
          off_zero, torch=lambda x: torch.nn.functional.elu(x, 1.3)),
    unary("gelu", td.gelu, lambda x: x * special.ndtr(x),
          torch=lambda x: torch.nn.functional.gelu(x)),
    unary("softplus", td.softplus, lambda x: np.logaddexp(0, x),
          torch=lambda x: torch.nn.functional.softplus(x)),
    unary("softplus_beta", lambda x: td.softplus(x, beta=2.0), lambda x: np.logaddexp(0, 2 * x) / 2,
          torch=lambda x: torch.nn.functional.softplus(x, beta=2.0)),
    # beyond the threshold softplus is the identity, as in torch (samples either side of 20)
    unary("softplus_threshold", td.softplus,
          lambda x: np.where(x > 20, x, np.logaddexp(0, x)), near([18.0, 22.0], 1.0),
          torch=lambda x: torch.nn.functional.softplus(x)),
    unary("clip", lambda x: td.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), _clip_sample,
          torch=lambda x: torch.clamp(x, -0.5, 0.7)),
    unary("clip_min", lambda x: td.clip(x, -0.5, None), lambda x: np.maximum(x, -0.5),
          _clip_sample, torch=lambda x: torch.clamp(x, min=-0.5)),
    unary("clip_max", lambda x: td.clip(x, None, 0.7), lambda x: np.minimum(x, 0.7),
          _clip_sample, torch=lambda x: torch.clamp(x, max=0.7)),
    binary("maximum", td.maximum, np.maximum, torch=lambda a, b: torch.maximum(a, b)),
    binary("minimum", td.minimum, np.minimum, torch=lambda a, b: torch.minimum(a, b)),
    OpCase("where", td.where, _np_where,
           [Arg(X, booleans, grad=False), Arg(X), Arg(ROW)],
           torch=lambda c, a, b: torch.where(c, a, b), zero_d=True,
           empty=[(0, 4), (0, 4), (1, 4)]),
    OpCase("where_broadcast_condition", td.where, _np_where,
           [Arg((3, 1), booleans, grad=False), Arg(ROW), Arg(X)],
           torch=lambda c, a, b: torch.where(c, a, b)),
    # casts and copies (gradcheck of a cast to float64 is the identity: the casts back to
    # float32 are checked below)
    unary("astype_float64", lambda x: td.astype(x, np.float64), lambda x: x.astype(np.float64),
          out_dtype=np.float64, exact=True, torch=lambda x: x.to(torch.float64)),
    unary("copy", td.copy, np.copy, exact=True, torch=lambda x: x.clone()),
    OpCase("add_alpha", lambda a, b: td.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b,
           [(3, 4), (1, 4)], torch=lambda a, b: torch.add(a, b, alpha=2.5), zero_d=True),
    OpCase("sub_alpha_method", lambda a, b: a.sub(b, alpha=-0.5), lambda a, b: a + 0.5 * b,
           [(3, 4), (1, 4)], torch=lambda a, b: a.sub(b, alpha=-0.5), zero_d=True),
    OpCase("mul_div_methods", lambda a, b: a.mul(b).div(b.add(3.0)), lambda a, b: a * b / (b + 3),
           [(3, 4), (1, 4)], torch=lambda a, b: a.mul(b).div(b.add(3.0)), zero_d=True),
]
BY_NAME = rows_by_name(CASES)
BROADCASTING = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum"]


class TestElementwise(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- hypothesis
@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       name=st.sampled_from(BROADCASTING))
def test_binary_ops_broadcast_like_numpy(shapes, name):
    row = BY_NAME[name]
    rng = np.random.default_rng(0)
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = row.args[0].sample(rng, sa), row.args[1].sample(rng, sb)
    out = row.fn(td.Tensor(a), td.Tensor(b))
    assert out.shape == out_shape == np.broadcast_shapes(sa, sb), name
    np.testing.assert_allclose(out.data, row.ref(a, b), rtol=1e-12, err_msg=name)
    # Gradients come back in each input's own shape, summed over the broadcast axes.
    assert td.gradcheck(row.fn, tensors(row, [a, b]))


@settings(max_examples=20, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                max_side=3))
def test_where_broadcasts_all_three_operands(shapes):
    row = BY_NAME["where"]
    rng = np.random.default_rng(0)
    c, a, b = (np.asarray(arg.sample(rng, s)) for arg, s in zip(row.args, shapes.input_shapes))
    out = row.fn(td.Tensor(c), td.Tensor(a), td.Tensor(b))
    assert out.shape == shapes.result_shape
    np.testing.assert_array_equal(out.data, np.where(c, a, b))
    assert td.gradcheck(row.fn, tensors(row, [c, a, b]))


UNARY_ANY_SHAPE = ["negative", "exp", "tanh", "sigmoid", "sin", "softplus", "gelu", "erf",
                   "relu", "abs"]


@settings(max_examples=30, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(UNARY_ANY_SHAPE))
def test_unary_ops_on_drawn_non_contiguous_inputs(arr, name):
    # relu and abs: forward only, hypothesis draws 0 and its neighbours, where they have a kink
    check_drawn_view(BY_NAME[name], arr, gradcheck=name not in ("relu", "abs"))


# ----------------------------------------------------------------------------- beyond a row
def test_function_names_are_the_operators():
    rng = np.random.default_rng(0)
    a, b = td.Tensor(rng.uniform(0.5, 2, X)), td.Tensor(rng.uniform(0.5, 2, ROW))
    for fn, op in [(td.add, a + b), (td.subtract, a - b), (td.multiply, a * b),
                   (td.divide, a / b), (td.power, a ** b)]:
        np.testing.assert_array_equal(fn(a, b).data, op.data, err_msg=fn.__name__)
    np.testing.assert_array_equal(td.negative(a).data, (-a).data)


def test_astype_casts_gradient_back():
    x = td.Tensor(np.array([0.1, 0.2]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    x32 = td.Tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    (td.astype(x32, np.float64) * 2).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad.data, [2.0, 2.0])


def test_astype_to_own_dtype_and_copy_do_not_alias():
    x = td.Tensor(np.arange(3.0), requires_grad=True)
    assert td.astype(x, np.float64) is x  # NumPy's astype(copy=False) habit: nothing to do
    c = td.copy(x)
    assert c.data is not x.data and not np.shares_memory(c.data, x.data)


def test_maximum_and_minimum_ties_share_gradient():
    for fn, grads in [(td.maximum, ([0.5, 0.0], [0.5, 1.0])),
                      (td.minimum, ([0.5, 1.0], [0.5, 0.0]))]:
        a = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        b = td.Tensor(np.array([1.0, 3.0]), requires_grad=True)
        fn(a, b).sum().backward()
        np.testing.assert_array_equal(a.grad.data, grads[0], err_msg=fn.__name__)
        np.testing.assert_array_equal(b.grad.data, grads[1], err_msg=fn.__name__)


def test_binary_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        td.Tensor(np.zeros((2, 3))) + td.Tensor(np.zeros(4))


def test_stable_at_extreme_inputs():
    x = td.Tensor(np.array([[-1e4, 0.0, 1e4]]), requires_grad=True)
    for fn in (td.softplus, td.sigmoid):
        out = fn(x)
        out.sum().backward()
        assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all(), fn.__name__
        x.grad = None


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_maximum_minimum_gradients_select_as_torch(name, create_graph):
    """The loser of each pair gets exactly 0 even for an inf or NaN gradient, ties split it,
    and where either input is NaN both get it (torch's rule), with broadcasting."""
    a_data = np.array([[1.0, np.nan, 3.0, 2.0, 5.0]], np.float32)
    b_data = np.array([[2.0, 1.0, 3.0, np.nan, 4.0], [3.0, 3.0, 3.0, 3.0, 3.0]], np.float32)
    upstream = np.array([[np.inf, 1.0, 1.0, 1.0, np.nan], [2.0, np.inf, np.inf, 2.0, 1.0]],
                        np.float32)
    a = td.Tensor(a_data, requires_grad=True)
    b = td.Tensor(b_data, requires_grad=True)
    out = getattr(td, name)(a, b)
    ga, gb = td.grad(out, [a, b], grad_outputs=[td.Tensor(upstream, requires_grad=create_graph)],
                     create_graph=create_graph)
    a_wins = a_data > b_data if name == "maximum" else a_data < b_data
    b_wins = b_data > a_data if name == "maximum" else b_data < a_data
    scale = np.where(a_data == b_data, 0.5, 1.0)
    np.testing.assert_array_equal(ga.data, np.where(b_wins, 0.0, upstream * scale).sum(0,
                                  keepdims=True))
    np.testing.assert_array_equal(gb.data, np.where(a_wins, 0.0, upstream * scale))
    if torch is not None:
        ta = torch.tensor(a_data, requires_grad=True)
        tb = torch.tensor(b_data, requires_grad=True)
        getattr(torch, name)(ta, tb).backward(torch.tensor(upstream))
        np.testing.assert_array_equal(ga.data, ta.grad.numpy())
        np.testing.assert_array_equal(gb.data, tb.grad.numpy())


def test_clamp_with_a_nan_tensor_bound_gives_nan_as_torch():
    """A NaN in a tensor bound makes that entry NaN with no gradient (torch's clamp); the
    comparison with NaN is False, so the bound used to be ignored there."""
    x = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    low = td.tensor([np.nan, 0.0, 5.0], requires_grad=True)
    y = x.clamp(low, None)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [np.nan, 2.0, 5.0])
    assert x.grad.tolist() == [0.0, 1.0, 0.0] and low.grad.tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(td.clip(td.tensor([1.0, 2.0]), None, td.tensor(np.nan)).numpy()).all()


def test_integer_division_by_a_python_int_keeps_the_dtype():
    a = td.Tensor(np.array([7, -7, 9], np.int32))
    q = td.div(a, 3, rounding_mode="trunc")
    assert q.dtype == np.int32 and q.tolist() == [2, -2, 3]
    assert td.div(-7, 2, rounding_mode="trunc").item() == -3


def test_sign_gradient_of_a_0d_nan():
    """|x| and norm at a 0-d NaN: the gradient is NaN (norm, as torch) or 0 (abs, torch's
    sgn), not a TypeError from writing into a NumPy scalar."""
    x = td.Tensor(np.float32(np.nan), requires_grad=True)
    td.abs(x).backward()
    assert x.grad.item() == 0.0
    x = td.Tensor(np.float32(np.nan), requires_grad=True)
    td.norm(x).backward()
    assert np.isnan(x.grad.item())


_FLOAT_OPS = {"divide": (td.divide, "true_divide"), "true_divide": (td.true_divide, "true_divide"),
              "arctan2": (td.arctan2, "atan2"), "copysign": (td.copysign, "copysign"),
              "xlogy": (td.xlogy, "xlogy"), "hypot": (td.hypot, None)}


@pytest.mark.parametrize("name", sorted(_FLOAT_OPS))
@pytest.mark.parametrize("swap", [False, True])
def test_float_valued_ops_of_two_integers_keep_a_0d_operands_value(name, swap):
    """Two integral operands were promoted together first, so a 0-d int64 -2 beside a uint8
    tensor took uint8 and was 254 before the float op (u / z gave 3 / 254)."""
    ours, theirs = _FLOAT_OPS[name]
    u, z = np.array([3, 200], np.uint8), np.array(-2)
    a, b = (z, u) if swap else (u, z)
    out = ours(td.tensor(a), td.tensor(b))
    assert out.dtype == np.float32
    if theirs is None:  # (torch's hypot refuses integers)
        want = np.hypot(a.astype(np.float64), b.astype(np.float64))
    else:
        torch = pytest.importorskip("torch")
        want = getattr(torch, theirs)(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(out.data, want, rtol=1e-6)
