"""tinydl.autograd.functional (tinydl/functional_autograd.py): jacobian, hessian, vjp, jvp, vhp
and hvp against torch.autograd.functional in float64 (values, dtypes and the nesting of
tuples), create_graph (results differentiable again, as torch's), strict mode and errors;
and the Jacobian and Hessian against central finite differences, a reference that needs no
torch."""
import numpy as np
import pytest

import tinydl as td
import tinydl.autograd.functional as AF

try:
    import torch
    import torch.autograd.functional as TF
except ImportError:  # torch is an optional oracle
    torch = TF = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")
RNG = np.random.default_rng(0)
XA, YA = RNG.standard_normal(3), RNG.standard_normal(2)


def plain(value):
    """A nest of tuples of arrays from tinydl or torch results."""
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value.data)


def assert_same(ours, theirs, where=""):
    """Same nesting of tuples, shapes, dtypes and values (to 1e-10)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), (where, ours, theirs)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{k}]")
        return
    assert not isinstance(ours, tuple), (where, ours)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (where, ours, theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=where)


def both(arrays):
    """The same float64 values as tinydl and torch tensors (a tuple stays a tuple)."""
    if isinstance(arrays, tuple):
        pairs = [both(a) for a in arrays]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return td.tensor(np.array(arrays)), torch.tensor(np.array(arrays))


# Functions written once for both libraries (operators and methods they share).
def scalar_one(a):
    return (a ** 3).sum() + (a[0] * a[1]).sin()


def scalar_two(a, b):
    return (a[:2] * b).tanh().sum() * a.sum() + (b ** 2).sum()


def vector_one(a):
    return a.exp() * a[0]


def tuple_two(a, b):
    return a[:2] * b, (b ** 2).sum(), a.tanh()


def linear_in_b(a, b):
    return (a ** 2).sum() + b.sum() * 2


CASES = [  # (name, function, inputs as arrays, v for the outputs, v for the inputs)
    ("tensor_in_tensor_out", vector_one, XA, XA[::-1].copy(), YA[[0, 1, 0]]),
    ("tuple_of_one_in", vector_one, (XA,), XA * 2, (XA * 3,)),
    ("tuple_in_tuple_out", tuple_two, (XA, YA), (YA, np.array(1.5), XA), (XA * 2, YA * 3)),
    ("tuple_in_scalar_out", scalar_two, (XA, YA), np.array(0.5), (XA, YA)),
    ("tensor_in_scalar_out", scalar_one, XA, np.array(2.0), XA + 1),
]
SCALAR_CASES = [c for c in CASES if c[0].endswith("scalar_out")]


@needs_torch
@pytest.mark.parametrize("name, func, inputs, v_out, v_in", CASES, ids=[c[0] for c in CASES])
def test_first_order_as_torch(name, func, inputs, v_out, v_in):
    ours, theirs = both(inputs)
    assert_same(plain(AF.jacobian(func, ours)), plain(TF.jacobian(func, theirs)), "jacobian")
    (o_ours, o_theirs), (i_ours, i_theirs) = both(v_out), both(v_in)
    assert_same(plain(AF.vjp(func, ours, o_ours)), plain(TF.vjp(func, theirs, o_theirs)), "vjp")
    assert_same(plain(AF.jvp(func, ours, i_ours)), plain(TF.jvp(func, theirs, i_theirs)), "jvp")


@needs_torch
@pytest.mark.parametrize("name, func, inputs, v_out, v_in", SCALAR_CASES,
                         ids=[c[0] for c in SCALAR_CASES])
def test_second_order_as_torch(name, func, inputs, v_out, v_in):
    ours, theirs = both(inputs)
    assert_same(plain(AF.hessian(func, ours)), plain(TF.hessian(func, theirs)), "hessian")
    assert_same(plain(AF.vjp(func, ours)), plain(TF.vjp(func, theirs)), "vjp with v=None")
    i_ours, i_theirs = both(v_in)
    assert_same(plain(AF.vhp(func, ours, i_ours)), plain(TF.vhp(func, theirs, i_theirs)), "vhp")
    assert_same(plain(AF.hvp(func, ours, i_ours)), plain(TF.hvp(func, theirs, i_theirs)), "hvp")


@needs_torch
def test_single_element_input_takes_v_none_as_torch():
    ours, theirs = both(np.array([0.7]))
    for name in ("jvp", "vhp", "hvp"):
        assert_same(plain(getattr(AF, name)(scalar_one_element, ours)),
                    plain(getattr(TF, name)(scalar_one_element, theirs)), name)


def scalar_one_element(a):
    return (a ** 3).sum() * 2


@needs_torch
@pytest.mark.parametrize("which", ["jacobian", "hessian", "jvp", "vhp", "hvp"])
def test_create_graph_results_differentiate_again_as_torch(which):
    x, tx = td.tensor(XA, requires_grad=True), torch.tensor(XA, requires_grad=True)
    v, tv = both(XA[::-1].copy())
    calls = {"jacobian": lambda lib, a, w: lib.jacobian(vector_one, a, create_graph=True),
             "hessian": lambda lib, a, w: lib.hessian(scalar_one, a, create_graph=True),
             "jvp": lambda lib, a, w: lib.jvp(vector_one, a, w, create_graph=True)[1],
             "vhp": lambda lib, a, w: lib.vhp(scalar_one, a, w, create_graph=True)[1],
             "hvp": lambda lib, a, w: lib.hvp(scalar_one, a, w, create_graph=True)[1]}
    ours, theirs = calls[which](AF, x, v), calls[which](TF, tx, tv)
    assert ours.requires_grad and theirs.requires_grad
    g, = td.grad((ours ** 2).sum(), x)
    tg, = torch.autograd.grad((theirs ** 2).sum(), tx)
    assert_same(plain(g), plain(tg), which)


def test_results_are_detached_without_create_graph():
    x = td.tensor(XA, requires_grad=True)
    assert not AF.jacobian(vector_one, x).requires_grad
    assert not AF.hessian(scalar_one, x).requires_grad
    out, product = AF.vjp(vector_one, x, td.ones(3, dtype=np.float64))
    assert not out.requires_grad and not product.requires_grad
    assert x.grad is None and x.requires_grad and x.is_leaf  # the input is left alone
    # create_graph on an input that does not require grad: differentiable w.r.t. the stand-in
    assert AF.jacobian(vector_one, td.tensor(XA), create_graph=True).requires_grad


def test_runs_under_no_grad():
    with td.no_grad():
        J = AF.jacobian(vector_one, td.tensor(XA))
    assert np.allclose(J.data, finite_difference_jacobian(vector_one, XA))


# ----------------------------------------------------------------------------- finite differences
def finite_difference_jacobian(func, x, h=1e-6):
    """Central differences: column k is (f(x + h e_k) - f(x - h e_k)) / 2h."""
    def f(values):
        return np.asarray(func(td.tensor(values)).data, dtype=np.float64)

    columns = []
    for k in range(x.size):
        step = np.zeros_like(x)
        step.flat[k] = h
        columns.append(((f(x + step) - f(x - step)) / (2 * h)).ravel())
    return np.stack(columns, axis=-1).reshape(f(x).shape + x.shape)


def mixed(a):
    """A function with every element of the input in every output, and curvature."""
    return td.stack([(a * a[::-1]).sum(), a.sin().prod(), (a.exp() / (1 + a ** 2)).sum()])


@pytest.mark.parametrize("func", [vector_one, mixed, lambda a: a.reshape(3, 1) * a ** 2])
def test_jacobian_matches_finite_differences(func):
    J = AF.jacobian(func, td.tensor(XA))
    np.testing.assert_allclose(J.data, finite_difference_jacobian(func, XA), rtol=1e-6,
                               atol=1e-8)


def test_hessian_matches_finite_differences_of_the_gradient():
    def gradient(a):
        return AF.vjp(scalar_one, a)[1]

    H = AF.hessian(scalar_one, td.tensor(XA))
    np.testing.assert_allclose(H.data, finite_difference_jacobian(gradient, XA), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(H.data, H.data.T, rtol=1e-12)
    v = td.tensor(YA[[1, 0, 1]])
    np.testing.assert_allclose(AF.hvp(scalar_one, td.tensor(XA), v)[1].data, H.data @ v.data)
    np.testing.assert_allclose(AF.vhp(scalar_one, td.tensor(XA), v)[1].data, v.data @ H.data)


def test_dtypes_and_zeros_where_an_output_ignores_an_input():
    x32, y64 = td.tensor(XA.astype(np.float32)), td.tensor(YA)
    J = AF.jacobian(lambda a, b: (a * 2, (b * 3).astype(np.float32)), (x32, y64))
    assert [[j.dtype for j in row] for row in J] == [[np.float32, np.float64]] * 2
    assert np.array_equal(J[0][1].data, np.zeros((3, 2))) and J[0][1].shape == (3, 2)
    # an output with no path to the inputs (integer, or constant): zeros
    assert np.array_equal(AF.jacobian(lambda a: (a > 0).astype(np.int64), x32).data,
                          np.zeros((3, 3)))
    # empty input or output: zeros of the right shape (torch fails on stacking nothing)
    assert AF.jacobian(lambda a: a[:0], x32).shape == (0, 3)
    assert AF.jacobian(lambda a: a.sum() * 0 + 1, td.zeros(0)).shape == (0,)


# ----------------------------------------------------------------------------- strict mode
STRICT = [  # (name, call(lib, x, y)); torch and tinydl both raise in strict mode
    ("jacobian_unused_input", lambda F, x, y: F.jacobian(lambda a, b: a * 2, (x, y),
                                                         strict=True)),
    ("jacobian_constant_output", lambda F, x, y: F.jacobian(lambda a: a.detach() * 1, x,
                                                            strict=True)),
    ("vjp_unused_input", lambda F, x, y: F.vjp(lambda a, b: a.sum(), (x, y), strict=True)),
    ("jvp_unused_input", lambda F, x, y: F.jvp(lambda a, b: a * 2, (x, y), (x, y),
                                               strict=True)),
    ("jvp_constant_output", lambda F, x, y: F.jvp(lambda a: a.detach(), x, x, strict=True)),
    ("hessian_linear", lambda F, x, y: F.hessian(lambda a: a.sum(), x, strict=True)),
    ("hessian_linear_in_b", lambda F, x, y: F.hessian(linear_in_b, (x, y), strict=True)),
    ("hessian_unused_input", lambda F, x, y: F.hessian(lambda a, b: (a ** 2).sum(), (x, y),
                                                       strict=True)),
    ("vhp_linear", lambda F, x, y: F.vhp(lambda a: a.sum(), x, x, strict=True)),
    ("hvp_linear", lambda F, x, y: F.hvp(lambda a: a.sum(), x, x, strict=True)),
    ("vhp_unused_input", lambda F, x, y: F.vhp(lambda a, b: (a ** 2).sum(), (x, y), (x, y),
                                               strict=True)),
]


class Relaxed:
    """A functional module whose functions run with strict=False."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        function = getattr(self.module, name)
        return lambda *args, **kwargs: function(*args, **{**kwargs, "strict": False})


@needs_torch
@pytest.mark.parametrize("name, call", STRICT, ids=[s[0] for s in STRICT])
def test_strict_raises_as_torch_and_non_strict_gives_zeros(name, call):
    (x, y), (tx, ty) = both((XA, YA))
    with pytest.raises(RuntimeError):
        call(TF, tx, ty)
    with pytest.raises(RuntimeError, match="strict"):
        call(AF, x, y)
    assert_same(plain(call(Relaxed(AF), x, y)), plain(call(Relaxed(TF), tx, ty)), name)


# ----------------------------------------------------------------------------- errors
ERRORS = [  # (name, call(lib, x, y), the exception tinydl raises, a word of its message)
    ("inputs_list", lambda F, x, y: F.jacobian(lambda a: a, [x]), TypeError, "inputs"),
    ("inputs_number", lambda F, x, y: F.jacobian(lambda a: a, 3.0), TypeError, "inputs"),
    ("inputs_tuple_number", lambda F, x, y: F.jacobian(lambda a, b: a, (x, 3.0)), TypeError,
     "index 1"),
    ("outputs_int", lambda F, x, y: F.jacobian(lambda a: 3, x), TypeError, "outputs"),
    ("outputs_list", lambda F, x, y: F.vjp(lambda a: [a], x, x), TypeError, "outputs"),
    ("integer_input", lambda F, x, y: F.jacobian(lambda a: a, x.long()), RuntimeError,
     "floating"),
    ("vjp_v_none", lambda F, x, y: F.vjp(lambda a: a * 2, x), RuntimeError, "None"),
    ("vjp_v_shape", lambda F, x, y: F.vjp(lambda a: a * 2, x, y), RuntimeError, "size"),
    ("vjp_v_length", lambda F, x, y: F.vjp(lambda a: (a, a), x, (x,)), RuntimeError, "length"),
    ("vjp_v_list", lambda F, x, y: F.vjp(lambda a: a, x, [x]), TypeError, "v"),
    ("jvp_v_none", lambda F, x, y: F.jvp(lambda a: a * 2, x), RuntimeError, "None"),
    ("jvp_v_shape", lambda F, x, y: F.jvp(lambda a: a * 2, x, y), RuntimeError, "size"),
    ("jvp_v_length", lambda F, x, y: F.jvp(lambda a, b: a, (x, y), (x,)), RuntimeError,
     "length"),
    ("hessian_vector_output", lambda F, x, y: F.hessian(lambda a: a ** 2, x), RuntimeError,
     "single element"),
    ("hessian_tuple_output", lambda F, x, y: F.hessian(lambda a: ((a ** 2).sum(),), x),
     RuntimeError, "single Tensor"),
    ("vhp_v_none", lambda F, x, y: F.vhp(lambda a: a.sum(), x), RuntimeError, "None"),
    ("hvp_vector_output", lambda F, x, y: F.hvp(lambda a: a ** 2, x, x), RuntimeError,
     "single element"),
    ("forward_mode_needs_vectorize",
     lambda F, x, y: F.jacobian(vector_one, x, strategy="forward-mode"), NotImplementedError,
     "vectorize"),
    ("strict_and_vectorize", lambda F, x, y: F.jacobian(vector_one, x, strict=True,
                                                        vectorize=True), RuntimeError,
     "vectorize"),
    ("hessian_forward_mode", lambda F, x, y: F.hessian(
        scalar_one, x, outer_jacobian_strategy="forward-mode"), NotImplementedError,
     "vectorize"),
]


@needs_torch
@pytest.mark.parametrize("name, call, error, word", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_where_torch_raises(name, call, error, word):
    (x, y), (tx, ty) = both((XA, YA))
    with pytest.raises(Exception):
        call(TF, tx, ty)
    with pytest.raises(error, match=word):
        call(AF, x, y)


def test_unknown_strategy_and_accepted_options():
    x = td.tensor(XA)
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(vector_one, x, strategy="sideways")
    expected = AF.jacobian(vector_one, x).data
    # vectorize and forward-mode are accepted: the same values, computed in reverse mode
    assert np.array_equal(AF.jacobian(vector_one, x, vectorize=True).data, expected)
    assert np.array_equal(AF.jacobian(vector_one, x, vectorize=True,
                                      strategy="forward-mode").data, expected)


def test_reached_under_torch_spellings():
    import tinydl.autograd.functional as spelled
    from tinydl.autograd.functional import hessian

    assert spelled is td.autograd_functional is td.autograd.functional
    assert hessian is td.autograd_functional.hessian
