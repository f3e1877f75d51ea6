"""tinydl/ops/math.py through the op table (trigonometric, hyperbolic, log/exp, powers, arctan2,
hypot, lerp), plus broadcasting drawn by hypothesis and what a row cannot state: torch's
aliases, integer inputs, accuracy at extreme and tiny inputs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl as td
from tests.ops._table import (Arg, OpCase, OpTable, check_drawn_view, drawn_arrays, normal,
                              off_zero, positive, rows_by_name, tensors, torch, uniform)

X, ROW, COL = (3, 4), (1, 4), (3, 1)


def unary(name, fn, ref, sample=normal, torch=None, **kw):
    """A row for an op of one input: (3, 4) drawn by ``sample``; defined on 0-d and (0, 3)."""
    return OpCase(name, fn, ref, [Arg(X, sample)], torch=torch, zero_d=True, empty=[(0, 3)],
                  **kw)


def binary(name, fn, ref, sample_a=normal, sample_b=normal, torch=None, **kw):
    """A row for a broadcasting op of two inputs, (3, 4) with (1, 4)."""
    return OpCase(name, fn, ref, [Arg(X, sample_a), Arg(ROW, sample_b)], torch=torch,
                  zero_d=True, empty=[(0, 4), (1, 4)], **kw)


def _tiny(rng, shape):
    """|x| around 1e-10, where log(1 + x) and exp(x) - 1 lose every digit to cancellation."""
    return rng.uniform(-1e-10, 1e-10, shape)


def _lerp_ref(start, end, weight):
    return start + weight * (end - start)


inside_unit = uniform(-0.9, 0.9)

CASES = [
    # trigonometric
    unary("tan", td.tan, np.tan, uniform(-1.2, 1.2), torch=lambda x: torch.tan(x)),
    unary("arcsin", td.arcsin, np.arcsin, inside_unit, torch=lambda x: torch.asin(x)),
    unary("arccos", td.arccos, np.arccos, inside_unit, torch=lambda x: torch.acos(x)),
    unary("arctan", td.arctan, np.arctan, torch=lambda x: torch.atan(x)),
    binary("arctan2", td.arctan2, np.arctan2, torch=lambda y, x: torch.atan2(y, x)),
    OpCase("arctan2_column", td.arctan2, np.arctan2, [Arg(COL), Arg(X, off_zero)],
           torch=lambda y, x: torch.atan2(y, x)),
    # hyperbolic
    unary("sinh", td.sinh, np.sinh, torch=lambda x: torch.sinh(x)),
    unary("cosh", td.cosh, np.cosh, torch=lambda x: torch.cosh(x)),
    unary("arcsinh", td.arcsinh, np.arcsinh, uniform(-5, 5), torch=lambda x: torch.asinh(x)),
    unary("arccosh", td.arccosh, np.arccosh, uniform(1.2, 4.0), torch=lambda x: torch.acosh(x)),
    unary("arctanh", td.arctanh, np.arctanh, inside_unit, torch=lambda x: torch.atanh(x)),
    # log / exp
    unary("log2", td.log2, np.log2, positive, torch=lambda x: torch.log2(x)),
    unary("log10", td.log10, np.log10, positive, torch=lambda x: torch.log10(x)),
    unary("log1p", td.log1p, np.log1p, uniform(-0.9, 2.0), torch=lambda x: torch.log1p(x)),
    unary("log1p_tiny", td.log1p, np.log1p, _tiny, torch=lambda x: torch.log1p(x)),
    unary("exp2", td.exp2, np.exp2, torch=lambda x: torch.exp2(x)),
    unary("expm1", td.expm1, np.expm1, torch=lambda x: torch.expm1(x)),
    unary("expm1_tiny", td.expm1, np.expm1, _tiny, torch=lambda x: torch.expm1(x)),
    # powers
    unary("rsqrt", td.rsqrt, lambda x: 1 / np.sqrt(x), positive, torch=lambda x: torch.rsqrt(x)),
    unary("reciprocal", td.reciprocal, np.reciprocal, off_zero,
          torch=lambda x: torch.reciprocal(x)),
    unary("square", td.square, np.square, torch=lambda x: torch.square(x)),
    # binary
    binary("hypot", td.hypot, np.hypot, torch=lambda a, b: torch.hypot(a, b)),
    binary("hypot_scalar", lambda a, b: td.hypot(a, 2.0) * b, lambda a, b: np.hypot(a, 2.0) * b),
    OpCase("lerp", td.lerp, _lerp_ref, [Arg(X), Arg(ROW), Arg(COL, uniform(-0.5, 1.5))],
           torch=lambda s, e, w: torch.lerp(s, e, w), zero_d=True,
           empty=[(0, 4), (1, 4), (1, 1)]),
    binary("lerp_scalar_weight", lambda s, e: td.lerp(s, e, 0.75),
           lambda s, e: _lerp_ref(s, e, 0.75), torch=lambda s, e: torch.lerp(s, e, 0.75)),
    OpCase("lerp_weight_only", lambda w: td.lerp(-1.5, 2.0, w), lambda w: _lerp_ref(-1.5, 2, w),
           [Arg(X, uniform(-0.5, 1.5))], zero_d=True, empty=[(0, 3)]),
    binary("logaddexp", td.logaddexp, np.logaddexp, torch=lambda a, b: torch.logaddexp(a, b)),
    binary("logaddexp_far_apart", lambda a, b: td.logaddexp(a * 300, b),
           lambda a, b: np.logaddexp(a * 300, b), torch=lambda a, b: torch.logaddexp(a * 300, b)),
    binary("logaddexp2", td.logaddexp2, np.logaddexp2, torch=lambda a, b: torch.logaddexp2(a, b)),
]
BY_NAME = rows_by_name(CASES)


class TestMath(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- hypothesis
BROADCASTING = ["arctan2", "hypot", "lerp"]


@settings(max_examples=30, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                max_side=3),
       name=st.sampled_from(BROADCASTING))
def test_binary_ops_broadcast_like_numpy(shapes, name):
    row = BY_NAME[name]
    rng = np.random.default_rng(0)
    n = len(row.args)
    arrays = [arg.sample(rng, s) for arg, s in zip(row.args, shapes.input_shapes[:n])]
    out = row.fn(*[td.Tensor(a) for a in arrays])
    assert out.shape == np.broadcast_shapes(*shapes.input_shapes[:n]), name
    np.testing.assert_allclose(out.data, row.ref(*arrays), rtol=1e-12, atol=1e-15, err_msg=name)
    assert td.gradcheck(row.fn, tensors(row, arrays))


UNARY_ANY_SHAPE = ["arctan", "sinh", "cosh", "arcsinh", "exp2", "expm1", "square"]


@settings(max_examples=30, deadline=None)
@given(arr=drawn_arrays(), name=st.sampled_from(UNARY_ANY_SHAPE))
def test_unary_ops_on_drawn_non_contiguous_inputs(arr, name):
    check_drawn_view(BY_NAME[name], arr)


# ----------------------------------------------------------------------------- beyond a row
def test_torch_names_are_the_same_functions():
    for torch_name, numpy_name in [("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"),
                                   ("atan2", "arctan2"), ("asinh", "arcsinh"),
                                   ("acosh", "arccosh"), ("atanh", "arctanh")]:
        assert getattr(td, torch_name) is getattr(td, numpy_name), torch_name


@pytest.mark.parametrize("fn", [td.tan, td.arctan, td.sinh, td.exp2, td.expm1, td.log1p,
                                td.reciprocal, td.rsqrt, td.log2])
def test_integer_inputs_give_float32_as_torch(fn):
    out = fn(td.tensor([1, 2, 3]))
    assert out.dtype == np.float32, fn.__name__
    if torch is not None:
        want = getattr(torch, fn.__name__)(torch.tensor([1, 2, 3]))
        assert want.dtype == torch.float32
        np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-6, err_msg=fn.__name__)


def test_square_keeps_integers_and_float32():
    assert td.square(td.tensor([2, -3])).dtype == np.int64
    np.testing.assert_array_equal(td.square(td.tensor([2, -3])).data, [4, 9])
    x = td.tensor([1.5, -2.0], requires_grad=True)
    for fn in (td.square, td.tan, td.arcsinh, td.log1p, td.rsqrt, td.reciprocal):
        y = fn(x * x + 0.5)
        (g,) = td.grad(y.sum(), [x])
        assert y.dtype == g.dtype == np.float32, fn.__name__


def test_gradients_stay_finite_at_extreme_inputs():
    # arcsinh's 1 / sqrt(x^2 + 1) and arccosh's 1 / sqrt(x^2 - 1) overflow in x^2 written
    # naively; hypot and arctan2 take the same care in their forward.
    big = td.Tensor(np.array([1e200, -1e200]), requires_grad=True)
    (g,) = td.grad(td.arcsinh(big).sum(), [big])
    np.testing.assert_allclose(g.data, [1e-200, 1e-200], rtol=1e-12)
    big_pos = td.Tensor(np.array([1e200, 3e250]), requires_grad=True)
    (g,) = td.grad(td.arccosh(big_pos).sum(), [big_pos])
    np.testing.assert_allclose(g.data, 1 / big_pos.data, rtol=1e-12)
    a = td.Tensor(np.array([3e200]), requires_grad=True)
    b = td.Tensor(np.array([4e200]), requires_grad=True)
    out = td.hypot(a, b)
    np.testing.assert_allclose(out.data, [5e200], rtol=1e-15)
    ga, gb = td.grad(out.sum(), [a, b])
    np.testing.assert_allclose([ga.item(), gb.item()], [0.6, 0.8], rtol=1e-15)


def test_log1p_and_expm1_keep_tiny_inputs_exact():
    x = np.array([1e-18, -3e-17])
    np.testing.assert_allclose(td.log1p(td.Tensor(x)).data, x, rtol=1e-15)
    np.testing.assert_allclose(td.expm1(td.Tensor(x)).data, x, rtol=1e-15)


def test_exact_values_at_powers():
    np.testing.assert_array_equal(td.log2(td.Tensor(np.array([1.0, 8.0, 0.125]))).data,
                                  [0.0, 3.0, -3.0])
    np.testing.assert_array_equal(td.log10(td.Tensor(np.array([1.0, 1e5]))).data, [0.0, 5.0])
    np.testing.assert_array_equal(td.exp2(td.Tensor(np.array([-2.0, 10.0]))).data, [0.25, 1024])


def test_lerp_is_exact_at_the_ends_and_matches_torch_there():
    start = td.Tensor(np.array([0.1, -7.3, 1e16]), requires_grad=True)
    end = td.Tensor(np.array([0.7, 3.3, 1.0]), requires_grad=True)
    np.testing.assert_array_equal(td.lerp(start, end, 1.0).data, end.data)
    np.testing.assert_array_equal(td.lerp(start, end, 0.0).data, start.data)
    w = td.Tensor(np.array([0.3, 0.5, 1.0]), requires_grad=True)
    out = td.lerp(start, end, w)
    grads = td.grad(out.sum(), [start, end, w])
    np.testing.assert_allclose(grads[0].data, 1 - w.data)
    np.testing.assert_allclose(grads[1].data, w.data)
    np.testing.assert_allclose(grads[2].data, end.data - start.data)
    if torch is not None:
        want = torch.lerp(*(torch.from_numpy(t.data) for t in (start, end, w)))
        np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-15)  # torch may fuse


EDGES = {"arcsin": [-1.0, 1.0, 0.0, 1.5], "arccos": [-1.0, 1.0, 0.0, 1.5],
         "arctanh": [-1.0, 1.0, 0.0, 2.0], "arccosh": [1.0, -1.0, -2.0, 0.0, np.inf],
         "rsqrt": [0.0, -1.0, 1.0, np.inf], "reciprocal": [0.0, -0.0, np.inf, 2.0],
         "log1p": [-1.0, -2.0, 0.0, np.inf], "log2": [0.0, -1.0, np.inf, 1.0],
         "tan": [np.pi / 2, 0.0, -np.pi / 2, 1.0], "arcsinh": [-np.inf, 0.0, np.inf, 2.0]}


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
@pytest.mark.parametrize("name", sorted(EDGES))
def test_values_and_gradients_at_domain_edges_match_torch(name):
    # inf, NaN and signed zeros where torch has them (poles, domain ends, outside the domain);
    # at huge finite inputs tinydl is the more accurate (see the test above)
    x = td.Tensor(np.array(EDGES[name]), requires_grad=True)
    with np.errstate(all="ignore"):
        out = getattr(td, name)(x)
        (g,) = td.grad(out.sum(), [x])
    torch_name = {"arcsin": "asin", "arccos": "acos", "arctanh": "atanh",
                  "arccosh": "acosh", "arcsinh": "asinh"}.get(name, name)
    tx = torch.tensor(EDGES[name], dtype=torch.float64, requires_grad=True)
    t_out = getattr(torch, torch_name)(tx)
    (tg,) = torch.autograd.grad(t_out.sum(), [tx])
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-12, err_msg=f"{name} gradient")


@pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
@pytest.mark.parametrize("name", ["arctan2", "hypot"])
def test_binary_gradients_at_the_origin_match_torch(name):
    # torch: arctan2's gradient at (0, 0) is 0 (its recip is masked), hypot's is NaN (0 / 0)
    ys, xs = np.array([0.0, 0.0, -0.0, 1.0]), np.array([0.0, -0.0, 0.0, 0.0])
    y, x = td.Tensor(ys, requires_grad=True), td.Tensor(xs, requires_grad=True)
    with np.errstate(all="ignore"):
        out = getattr(td, name)(y, x)
        gy, gx = td.grad(out.sum(), [y, x])
    ty = torch.tensor(ys, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    t_out = getattr(torch, {"arctan2": "atan2"}.get(name, name))(ty, tx)
    tgy, tgx = torch.autograd.grad(t_out.sum(), [ty, tx])
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    np.testing.assert_array_equal(gy.data, tgy.numpy())
    np.testing.assert_array_equal(gx.data, tgx.numpy())


def test_shape_mismatch_names_op_and_shapes():
    for fn, name in ((td.arctan2, "arctan2"), (td.hypot, "hypot")):
        with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\)"):
            fn(td.Tensor(np.zeros((2, 3))), td.Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"lerp: shapes \(2, 3\) \(start\), \(3,\) \(end\) "
                                         r"and \(4,\) \(weight\)"):
        td.lerp(td.Tensor(np.zeros((2, 3))), td.Tensor(np.zeros(3)), td.Tensor(np.zeros(4)))


def test_output_kept_ops_free_their_input():
    # tan, exp2, expm1, rsqrt and reciprocal read their output in backward, not their input.
    for fn in (td.tan, td.exp2, td.expm1, td.rsqrt, td.reciprocal):
        x = td.Tensor(np.array([0.5, 0.7]), requires_grad=True)
        y = fn(x * 1.0)
        assert type(y._ctx.inputs[0]).__name__ == "_Edge", fn.__name__
        (g,) = td.grad(y.sum(), [x])
        assert np.isfinite(g.data).all()


@pytest.mark.parametrize("dtype, tiny", [(np.float32, 1e-40), (np.float64, 1e-310)])
def test_hypot_gradient_at_subnormal_inputs(dtype, tiny):
    """d hypot(a, b)/da = a / y: taken as g / y first it overflowed to inf at subnormal y
    (and b's 0 * inf to NaN); torch gives 1 and 0."""
    a = td.Tensor(np.array([tiny], dtype), requires_grad=True)
    b = td.Tensor(np.array([0.0], dtype), requires_grad=True)
    td.hypot(a, b).sum().backward()
    assert a.grad.tolist() == [1.0] and b.grad.tolist() == [0.0]
