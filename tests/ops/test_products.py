"""tinydl/ops/products.py through the op table: torch's fused products (addmm, addmv, addbmm,
baddbmm, addr: beta * input + alpha * product; addcmul, addcdiv), NumPy's vdot and cross,
torch's ger and Tensor.cross; then beta = 0 with NaN input, integer scalars, the in-place
forms and the errors, each against torch."""
import warnings

import numpy as np
import pytest

import tinydl as td
from tests.ops._table import Arg, OpCase, OpTable, positive, torch


def fused(name, fn, ref, shapes, torch_fn, **kw):
    return OpCase(name, fn, ref, shapes, torch=torch_fn, **kw)


CASES = [
    fused("addmm", td.addmm, lambda i, a, b: i + a @ b, [(3, 2), (3, 4), (4, 2)],
          lambda i, a, b: torch.addmm(i, a, b), empty=[(3, 2), (3, 0), (0, 2)]),
    fused("addmm_scaled_broadcast", lambda i, a, b: td.addmm(i, a, b, beta=0.5, alpha=-2),
          lambda i, a, b: 0.5 * i + -2 * (a @ b), [(2,), (3, 4), (4, 2)],
          lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=-2)),
    fused("addmm_beta0", lambda i, a, b: td.addmm(i, a, b, beta=0, alpha=3),
          lambda i, a, b: 3 * (a @ b) + 0 * i, [(3, 2), (3, 4), (4, 2)],
          lambda i, a, b: torch.addmm(i, a, b, beta=0, alpha=3)),
    fused("addmm_method", lambda i, a, b: i.addmm(a, b, alpha=0.5),
          lambda i, a, b: i + 0.5 * (a @ b), [(1, 2), (3, 4), (4, 2)],
          lambda i, a, b: i.addmm(a, b, alpha=0.5)),
    fused("addmv", lambda i, a, v: td.addmv(i, a, v, beta=2), lambda i, a, v: 2 * i + a @ v,
          [(3,), (3, 4), (4,)], lambda i, a, v: torch.addmv(i, a, v, beta=2)),
    fused("addmv_scalar_input", td.addmv, lambda i, a, v: i + a @ v, [(), (3, 4), (4,)],
          lambda i, a, v: torch.addmv(i, a, v)),
    fused("baddbmm", lambda i, a, b: td.baddbmm(i, a, b, beta=-1, alpha=0.5),
          lambda i, a, b: -i + 0.5 * (a @ b), [(2, 3, 2), (2, 3, 4), (2, 4, 2)],
          lambda i, a, b: torch.baddbmm(i, a, b, beta=-1, alpha=0.5)),
    fused("baddbmm_broadcast", td.baddbmm, lambda i, a, b: i + a @ b,
          [(1, 2), (2, 3, 4), (2, 4, 2)], lambda i, a, b: torch.baddbmm(i, a, b)),
    fused("addbmm", lambda i, a, b: td.addbmm(i, a, b, alpha=2),
          lambda i, a, b: i + 2 * np.einsum("bnk,bkm->nm", a, b),
          [(3, 2), (4, 3, 5), (4, 5, 2)], lambda i, a, b: torch.addbmm(i, a, b, alpha=2),
          empty=[(3, 2), (0, 3, 5), (0, 5, 2)]),
    fused("addr", lambda i, u, v: td.addr(i, u, v, beta=0.5, alpha=2),
          lambda i, u, v: 0.5 * i + 2 * np.outer(u, v), [(3, 4), (3,), (4,)],
          lambda i, u, v: torch.addr(i, u, v, beta=0.5, alpha=2)),
    fused("addcmul", lambda i, a, b: td.addcmul(i, a, b, value=-0.5),
          lambda i, a, b: i + -0.5 * a * b, [(3, 1), (1, 4), (3, 4)],
          lambda i, a, b: torch.addcmul(i, a, b, value=-0.5), zero_d=True,
          empty=[(0, 1), (1, 4), (0, 4)]),
    fused("addcmul_method", lambda i, a, b: i.addcmul(a, b), lambda i, a, b: i + a * b,
          [(3, 4), (3, 4), (4,)], lambda i, a, b: i.addcmul(a, b)),
    OpCase("addcdiv", lambda i, a, b: td.addcdiv(i, a, b, value=2),
           lambda i, a, b: i + 2 * a / b, [(3, 4), (3, 4), Arg((4,), positive)],
           torch=lambda i, a, b: torch.addcdiv(i, a, b, value=2), zero_d=True),
    # vdot: NumPy's (flattened, same size); torch.vdot is the 1-D case
    OpCase("vdot", td.vdot, np.vdot, [(2, 3), (6,)],
           torch=lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), zero_d=True,
           empty=[(0, 2), (0,)]),
    OpCase("ger", td.ger, np.outer, [(3,), (4,)], torch=lambda a, b: torch.ger(a, b),
           empty=[(0,), (4,)]),
    # cross: NumPy's last axis; axis/dim; axisa/axisb/axisc; broadcasting
    OpCase("cross", td.cross, np.cross, [(3,), (3,)],
           torch=lambda a, b: torch.linalg.cross(a, b)),
    OpCase("cross_broadcast", td.cross, np.cross, [(2, 1, 3), (4, 3)],
           torch=lambda a, b: torch.linalg.cross(a, b[None]), empty=[(0, 1, 3), (4, 3)]),
    OpCase("cross_dim", lambda a, b: td.cross(a, b, dim=0),
           lambda a, b: np.cross(a, b, axis=0), [(3, 4), (3, 4)],
           torch=lambda a, b: torch.cross(a, b, dim=0)),
    OpCase("cross_axes", lambda a, b: td.cross(a, b, axisa=0, axisb=1, axisc=0),
           lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0), [(3, 2), (2, 3)]),
    OpCase("cross_method_first_length_3", lambda a, b: a.cross(b),
           lambda a, b: np.cross(a, b, axis=0), [(3, 4), (3, 4)],
           torch=lambda a, b: torch.cross(a, b, dim=0)),
]


class TestProducts(OpTable):
    cases = CASES


def _t(a, grad=False):
    return td.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ----------------------------------------------------------------------------- beta = 0
@pytest.mark.parametrize("op, out_shape, args", [
    ("addmm", (2, 2), [(2, 3), (3, 2)]), ("addmv", (2,), [(2, 3), (3,)]),
    ("addr", (2, 2), [(2,), (2,)]), ("baddbmm", (1, 2, 2), [(1, 2, 3), (1, 3, 2)]),
    ("addbmm", (2, 2), [(1, 2, 3), (1, 3, 2)])])
def test_beta_zero_ignores_nan_and_inf_in_the_input_as_torch(op, out_shape, args):
    rng = np.random.default_rng(0)
    operands = [rng.standard_normal(s) for s in args]
    bad = np.full(out_shape, np.nan)
    bad.flat[0] = np.inf
    x = _t(bad, grad=True)
    out = getattr(td, op)(x, *map(_t, operands), beta=0)
    want = getattr(torch, op)(torch.from_numpy(bad), *map(torch.from_numpy, operands), beta=0)
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros_like(bad))


# ----------------------------------------------------------------------------- dtypes
def test_integer_operands_stay_integer_and_take_integer_scalars_only():
    i, a, b = td.ones(2, 2, dtype=np.int64), td.ones(2, 3, dtype=np.int64), td.ones(3, 2,
                                                                                   dtype=np.int64)
    out = td.addmm(i, a, b, beta=2, alpha=3)
    want = torch.addmm(*(torch.ones(s, dtype=torch.long) for s in ((2, 2), (2, 3), (3, 2))),
                       beta=2, alpha=3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, want.numpy())
    # torch truncates a fractional scalar to 0 here (silently); tinydl refuses
    with pytest.raises(TypeError, match="addmm: alpha=0.5 would make the int64 result"):
        td.addmm(i, a, b, alpha=0.5)
    with pytest.raises(TypeError, match="addcmul: value=0.5"):
        td.addcmul(i, i, i, value=0.5)
    # an integer input with float tensors is a float result (torch's promotion)
    out = td.addcmul(td.zeros(3, dtype=np.int64), td.ones(3), td.ones(3), value=0.5)
    assert out.dtype == np.float32 and out.data.tolist() == [0.5] * 3


def test_addcdiv_refuses_integer_division_as_torch():
    i = td.zeros(3, dtype=np.int64)
    with pytest.raises(RuntimeError):
        torch.addcdiv(*(torch.zeros(3, dtype=torch.long),) * 3)
    with pytest.raises(TypeError, match="addcdiv: integer division"):
        td.addcdiv(i, i, i)
    with np.errstate(divide="ignore"):  # inf, as torch
        assert np.isinf(td.addcdiv(td.zeros(3), td.ones(3), td.zeros(3)).data).all()


def test_addr_of_booleans_is_torchs_logical_form():
    rng = np.random.default_rng(1)
    i, u, v = rng.random((3, 4)) < 0.5, rng.random(3) < 0.5, rng.random(4) < 0.5
    for beta, alpha in ((1, 1), (0, 1), (1, 0), (True, False)):
        out = td.addr(td.tensor(i), td.tensor(u), td.tensor(v), beta=beta, alpha=alpha)
        want = torch.addr(*map(torch.from_numpy, (i, u, v)), beta=beta, alpha=alpha)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out.data, want.numpy())


# ----------------------------------------------------------------------------- in place
@pytest.mark.parametrize("name, shape, args, kw", [
    ("addmm_", (3, 2), [(3, 4), (4, 2)], {"beta": 0.5, "alpha": 2}),
    ("addmv_", (3,), [(3, 4), (4,)], {}),
    ("baddbmm_", (3, 3, 2), [(3, 3, 4), (3, 4, 2)], {"alpha": -1}),
    ("addbmm_", (3, 2), [(2, 3, 4), (2, 4, 2)], {}),
    ("addr_", (3, 2), [(3,), (2,)], {"beta": 2}),
    ("addcmul_", (3, 2), [(3, 2), (2,)], {"value": 0.5}),
    ("addcdiv_", (3, 2), [(3, 2), (2,)], {"value": -2}),
])
def test_in_place_forms_write_into_the_tensor_with_torchs_values_and_gradients(name, shape,
                                                                                args, kw):
    rng = np.random.default_rng(2)
    base = rng.standard_normal(shape)
    operands = [rng.uniform(0.5, 2.0, s) for s in args]
    x = _t(base, grad=True)
    y = x * 1.0
    alias = y
    result = getattr(y, name)(*[_t(o, grad=True) for o in operands], **kw)
    assert result is y is alias
    tx = torch.from_numpy(base).requires_grad_()
    ty = tx * 1.0
    getattr(ty, name)(*map(torch.from_numpy, operands), **kw)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- cross
def test_cross_of_two_vectors_and_its_deprecation_of_length_two():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(td.cross(_t(a), _t(b)).data, np.cross(a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for u, v in ((a[:2], b[:2]), (a[:2], b), (a, b[:2])):
            want = np.cross(u, v)
            with pytest.warns(DeprecationWarning, match="length 2"):
                got = td.cross(_t(u), _t(v))
            np.testing.assert_array_equal(got.data, want)


def test_cross_method_without_dim_is_torchs_first_length_3_axis_or_asks():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation of the default dim
        want = torch.cross(torch.from_numpy(a), torch.from_numpy(b))
    np.testing.assert_allclose(_t(a).cross(_t(b)).data, want.numpy(), rtol=1e-12)
    # (3, 3): torch's deprecated default takes axis 0, its future one (and NumPy) axis 1
    square = rng.standard_normal((3, 3))
    with pytest.raises(ValueError, match=r"cross: .* pass dim=0 or dim=-1"):
        _t(square).cross(_t(square))
    np.testing.assert_allclose(_t(square).cross(_t(square.T), dim=-1).data,
                               np.cross(square, square.T), rtol=1e-12)


@pytest.mark.parametrize("call, torch_call, match", [
    (lambda: td.addmm(td.ones(3), td.ones(2, 3), td.ones(3, 2)),
     lambda: torch.addmm(torch.ones(3), torch.ones(2, 3), torch.ones(3, 2)),
     r"addmm: input of shape \(3,\) does not broadcast to the shape \(2, 2\)"),
    (lambda: td.addmm(td.ones(2, 2), td.ones(2, 3), td.ones(2, 2)),
     lambda: torch.addmm(torch.ones(2, 2), torch.ones(2, 3), torch.ones(2, 2)),
     r"addmm: expected matrices \(n, k\) and \(k, m\), got shapes \(2, 3\) and \(2, 2\)"),
    (lambda: td.addmv(td.ones(2), td.ones(2, 3), td.ones(2)),
     lambda: torch.addmv(torch.ones(2), torch.ones(2, 3), torch.ones(2)), "addmv: expected"),
    (lambda: td.baddbmm(td.ones(5, 2, 2), td.ones(4, 2, 3), td.ones(4, 3, 2)),
     lambda: torch.baddbmm(torch.ones(5, 2, 2), torch.ones(4, 2, 3), torch.ones(4, 3, 2)),
     r"baddbmm: input of shape \(5, 2, 2\)"),
    (lambda: td.addbmm(td.ones(2, 2), td.ones(4, 2, 3), td.ones(3, 3, 2)),
     lambda: torch.addbmm(torch.ones(2, 2), torch.ones(4, 2, 3), torch.ones(3, 3, 2)),
     "addbmm: expected batches"),
    (lambda: td.addr(td.ones(2, 3), td.ones(2, 1), td.ones(3)),
     lambda: torch.addr(torch.ones(2, 3), torch.ones(2, 1), torch.ones(3)),
     "addr: expected vectors"),
    (lambda: td.addcmul(td.ones(3), td.ones(2), td.ones(3)),
     lambda: torch.addcmul(torch.ones(3), torch.ones(2), torch.ones(3)),
     "cannot be broadcast"),
    (lambda: td.vdot(td.ones(2, 3), td.ones(5)),
     lambda: torch.vdot(torch.ones(6), torch.ones(5)), "vdot: shapes .* hold 6 and 5"),
    (lambda: td.ger(td.ones(2, 2), td.ones(2)),
     lambda: torch.ger(torch.ones(2, 2), torch.ones(2)), "ger: expected 1-D vectors"),
    (lambda: td.cross(td.ones(4), td.ones(4)),
     lambda: torch.linalg.cross(torch.ones(4), torch.ones(4)),
     "cross: the vectors must have length 2 or 3"),
    (lambda: td.cross(td.ones(2, 3), td.ones(4, 3)),
     lambda: torch.linalg.cross(torch.ones(2, 3), torch.ones(4, 3)),
     r"cross: the shapes \(2,\) and \(4,\) beside"),
    (lambda: td.ones(2, 4).cross(td.ones(2, 4)),
     lambda: torch.ones(2, 4).cross(torch.ones(2, 4)), "cross: no axis of length 3"),
    (lambda: td.ones(3, 2).cross(td.ones(3, 2), dim=1),
     lambda: torch.ones(3, 2).cross(torch.ones(3, 2), dim=1), "must have length 3 along dim 1"),
])
def test_errors_name_the_op_and_shapes_where_torch_raises(call, torch_call, match):
    with pytest.raises(RuntimeError):
        torch_call()
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("name, shapes", [
    ("addmm", [(1, 2), (1, 2), (2, 2)]), ("addmv", [(1,), (1, 2), (2,)]),
    ("addbmm", [(1, 2), (1, 1, 2), (1, 2, 2)]), ("baddbmm", [(1, 1, 2), (1, 1, 2), (1, 2, 2)]),
    ("addr", [(1, 2), (1,), (2,)])])
def test_alpha_zero_drops_the_product_where_torch_does(name, shapes):
    """torch's addmm, addmv and addbmm skip the product at alpha = 0, so inf there does not
    reach the output (tinydl gave NaN); its baddbmm and addr multiply by 0 (NaN), as here."""
    torch = pytest.importorskip("torch")
    args = [np.ones(s) for s in shapes]
    args[1].flat[0] = np.inf
    with np.errstate(invalid="ignore"):
        out = getattr(td, name)(*(td.tensor(a) for a in args), alpha=0)
    want = getattr(torch, name)(*(torch.tensor(a) for a in args), alpha=0)
    np.testing.assert_array_equal(out.data, want.numpy())
