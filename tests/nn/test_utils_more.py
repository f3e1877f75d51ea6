"""nn.utils against torch: get_total_norm / clip_grads_with_norm_, weight_norm (hook form),
parametrize (register / remove / cached / right_inverse), parametrizations.weight_norm,
spectral_norm and orthogonal, BatchNorm fusion, skip_init and stateless.functional_call.

Each module test copies torch's parameters (float64) into tinydl and compares outputs,
gradients to the new parameters, state_dict keys and the result of ``remove_*``."""
import math
import warnings

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tinydl.nn import utils
from tinydl.nn.utils import parametrizations, parametrize
from tinydl.nn.utils.parametrizations import _householder_product, _matrix_exp

torch = pytest.importorskip("torch")
tparam = torch.nn.utils.parametrize
tparams = torch.nn.utils.parametrizations

RNG = np.random.default_rng(0)


def _t(array):
    return torch.tensor(np.asarray(array, dtype=np.float64))


def _copy_from_torch(ours, ref):
    """Load torch's state_dict into ``ours`` (same keys required)."""
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)


def _close(ours, ref, atol=1e-10, what=""):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    ours = ours.data if isinstance(ours, tinydl.Tensor) else np.asarray(ours)
    assert ours.shape == ref.shape, what
    np.testing.assert_allclose(ours, ref, atol=atol, rtol=1e-9, err_msg=what)


def _forward_backward(ours, ref, x):
    """Both modules on ``x`` with the same upstream gradient; outputs compared."""
    y_ref = ref(_t(x))
    y = ours(tinydl.Tensor(x))
    _close(y, y_ref, what="output")
    g = RNG.standard_normal(y.shape)
    y_ref.backward(_t(g))
    y.backward(tinydl.Tensor(g))


def _grads_match(ours, ref):
    ref_params = dict(ref.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(ref_params)
    for name, p in ours.named_parameters():
        _close(p.grad, ref_params[name].grad, what=f"gradient of {name}")


# ------------------------------------------------------------------ get_total_norm, clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, 0.0])
def test_get_total_norm_matches_torch(norm_type):
    arrays = [RNG.standard_normal((3, 2)), RNG.standard_normal(4).astype(np.float32)]
    ours = utils.get_total_norm([tinydl.Tensor(a) for a in arrays], norm_type)
    ref = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type)
    assert ours.dtype == np.float64 and ref.dtype == torch.float64
    assert float(ours) == pytest.approx(float(ref), rel=1e-6)
    single = utils.get_total_norm(tinydl.Tensor(arrays[1]), norm_type)
    assert single.dtype == np.float32
    assert float(single) == pytest.approx(
        float(torch.nn.utils.get_total_norm(torch.tensor(arrays[1]), norm_type)), rel=1e-6)


def test_get_total_norm_empty_nonfinite_and_bad_input():
    assert float(utils.get_total_norm([])) == 0.0
    bad = [tinydl.Tensor([1.0, math.inf])]
    assert float(utils.get_total_norm(bad)) == math.inf
    with pytest.raises(RuntimeError, match="get_total_norm.*inf"):
        utils.get_total_norm(bad, error_if_nonfinite=True)
    with pytest.raises(TypeError, match="get_total_norm"):
        utils.get_total_norm([1.0, 2.0])


@pytest.mark.parametrize("total", [0.5, 5.0, math.nan])
def test_clip_grads_with_norm_matches_torch(total):
    grads = [RNG.standard_normal((2, 3)), RNG.standard_normal(3)]
    ours = [tinydl.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    refs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, r, g in zip(ours, refs, grads):
        p.grad, r.grad = tinydl.Tensor(g.copy()), _t(g)
    assert utils.clip_grads_with_norm_(ours, 1.0, tinydl.Tensor(total)) is None
    torch.nn.utils.clip_grads_with_norm_(refs, 1.0, torch.tensor(total))
    for p, r in zip(ours, refs):
        np.testing.assert_allclose(p.grad.data, r.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_is_get_total_norm_then_clip():
    grads = [RNG.standard_normal((4, 3)) * 3, RNG.standard_normal(5)]
    first = [tinydl.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    second = [tinydl.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for a, b, g in zip(first, second, grads):
        a.grad, b.grad = tinydl.Tensor(g.copy()), tinydl.Tensor(g.copy())
    total = utils.clip_grad_norm_(first, 2.0, norm_type=3.0)
    total2 = utils.get_total_norm([b.grad for b in second], 3.0)
    utils.clip_grads_with_norm_(second, 2.0, total2)
    assert float(total) == float(total2)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.grad.data, b.grad.data)


# ------------------------------------------------------------------ weight_norm (hook form)
def _pair(factory_ours, factory_ref):
    ref = factory_ref().double()
    ours = factory_ours().double()
    _copy_from_torch(ours, ref)
    return ours, ref


@pytest.mark.parametrize("dim", [0, 1, None, -2])
def test_weight_norm_hook_matches_torch(dim):
    ours, ref = _pair(lambda: nn.Conv2d(3, 4, 3), lambda: torch.nn.Conv2d(3, 4, 3))
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(ref, dim=dim)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight_g", "weight_v"]
    _close(ours.weight_g, ref.weight_g, what="weight_g")
    with torch.no_grad():  # move g off ||v|| so the gradients are generic
        ref.weight_g.mul_(1.5)
    _copy_from_torch(ours, ref)
    _forward_backward(ours, ref, RNG.standard_normal((2, 3, 5, 5)))
    _grads_match(ours, ref)
    utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(ref)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    assert isinstance(ours.weight, nn.Parameter)
    _close(ours.weight, ref.weight, what="weight after remove_weight_norm")


def test_weight_norm_hook_errors():
    layer = nn.Linear(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        utils.weight_norm(layer)
        with pytest.raises(RuntimeError, match="weight_norm: cannot register two"):
            utils.weight_norm(layer)
        with pytest.raises(IndexError, match="weight_norm: dim 5"):
            utils.weight_norm(nn.Linear(3, 2), dim=5)
        with pytest.raises(AttributeError, match="weight_norm: Linear has no parameter 'foo'"):
            utils.weight_norm(nn.Linear(3, 2), name="foo")
    with pytest.raises(ValueError, match="remove_weight_norm: weight_norm of 'weight' not found"):
        utils.remove_weight_norm(nn.Linear(2, 2))


# ------------------------------------------------------------------ parametrize
class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).swapaxes(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class TorchSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    def forward(self, X):
        return X * 2.0

    def right_inverse(self, A):
        return A / 2.0


class TorchScale(torch.nn.Module):
    def forward(self, X):
        return X * 2.0

    def right_inverse(self, A):
        return A / 2.0


def test_register_parametrization_chain_matches_torch():
    ours, ref = _pair(lambda: nn.Linear(4, 4), lambda: torch.nn.Linear(4, 4))
    weight = ours.weight
    parametrize.register_parametrization(ours, "weight", Symmetric())
    parametrize.register_parametrization(ours, "weight", Scale())
    tparam.register_parametrization(ref, "weight", TorchSymmetric())
    tparam.register_parametrization(ref, "weight", TorchScale())
    assert type(ours).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(ours) is nn.Linear
    assert isinstance(ours, nn.Linear)
    assert parametrize.is_parametrized(ours) and parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "bias", "parametrizations.weight.original"]
    assert ours.parametrizations.weight.original is weight  # the optimizer's Parameter
    _close(ours.parametrizations.weight.original, ref.parametrizations.weight.original)
    _close(ours.weight, ref.weight, what="parametrized weight")
    _forward_backward(ours, ref, RNG.standard_normal((3, 4)))
    _grads_match(ours, ref)
    # assignment goes through the right inverses
    value = RNG.standard_normal((4, 4))
    value = value + value.T
    ours.weight = tinydl.Tensor(value)
    with torch.no_grad():
        ref.weight = _t(value)
    assert ours.parametrizations.weight.original is weight
    _close(ours.weight, value)
    _close(ours.parametrizations.weight.original, ref.parametrizations.weight.original)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_matches_torch(leave):
    ours, ref = _pair(lambda: nn.Linear(3, 3), lambda: torch.nn.Linear(3, 3))
    weight = ours.weight
    parametrize.register_parametrization(ours, "weight", Symmetric())
    tparam.register_parametrization(ref, "weight", TorchSymmetric())
    parametrize.remove_parametrizations(ours, "weight", leave_parametrized=leave)
    tparam.remove_parametrizations(ref, "weight", leave_parametrized=leave)
    assert type(ours) is nn.Linear and not hasattr(ours, "parametrizations")
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    assert ours.weight is weight and ours._parameters["weight"] is weight
    _close(ours.weight, ref.weight)
    assert "weight" not in vars(nn.Linear)  # the property went with the subclass


def test_parametrize_buffer_and_two_names():
    bn, ref = _pair(lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3))
    parametrize.register_parametrization(bn, "running_var", Scale())
    tparam.register_parametrization(ref, "running_var", TorchScale())
    assert list(bn.state_dict()) == list(ref.state_dict())
    assert "original" in bn.parametrizations.running_var._buffers
    _close(bn.running_var, np.full(3, 2.0 * 0.5))
    parametrize.register_parametrization(bn, "weight", Scale())
    parametrize.remove_parametrizations(bn, "running_var")
    assert type(bn).__name__ == "ParametrizedBatchNorm1d"
    parametrize.remove_parametrizations(bn, "weight")
    assert type(bn) is nn.BatchNorm1d and "running_var" in bn._buffers


class FirstRow(nn.Module):
    def forward(self, X):
        return X[0]


def test_parametrize_errors_as_torch():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="register_parametrization: .*shape.*unsafe=True"):
        parametrize.register_parametrization(layer, "weight", FirstRow())
    assert not parametrize.is_parametrized(layer) and "weight" in layer._parameters
    parametrize.register_parametrization(layer, "weight", FirstRow(), unsafe=True)
    assert layer.weight.shape == (3,)
    with pytest.raises(ValueError, match="register_parametrization: Linear has no .*'foo'"):
        parametrize.register_parametrization(nn.Linear(2, 2), "foo", Scale())
    with pytest.raises(TypeError, match="register_parametrization: .*Module"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", lambda x: x)
    with pytest.raises(ValueError, match="remove_parametrizations: Linear has no "
                                         "parametrization on 'weight'"):
        parametrize.remove_parametrizations(nn.Linear(2, 2), "weight")
    wn = parametrizations.weight_norm(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="leave_parametrized=False"):
        parametrize.remove_parametrizations(wn, "weight", leave_parametrized=False)
    no_inverse = nn.Linear(2, 2)
    parametrize.register_parametrization(no_inverse, "weight", FirstRow(), unsafe=True)
    with pytest.raises(RuntimeError, match="FirstRow does not implement right_inverse"):
        no_inverse.weight = tinydl.zeros(2)


def test_parametrized_deepcopy_is_independent_and_parameter_assignment_refused():
    import copy

    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    parametrizations.orthogonal(model[0])
    twin = copy.deepcopy(model)
    x = tinydl.randn(2, 3)
    np.testing.assert_array_equal(twin(x).data, model(x).data)
    parametrize.remove_parametrizations(twin[0], "weight")
    assert type(twin[0]) is nn.Linear and model[0].weight.shape == (3, 3)  # original intact
    assert parametrize.type_before_parametrizations(model[0]) is nn.Linear
    with pytest.raises(KeyError, match="cannot assign a Parameter to the parametrized tensor"):
        model[0].weight = nn.Parameter(tinydl.randn(3, 3))


class Counting(nn.Module):
    calls = 0

    def forward(self, X):
        Counting.calls += 1
        return X * 1.0


def test_cached_computes_once_per_block():
    layer = nn.Linear(2, 2)
    parametrize.register_parametrization(layer, "weight", Counting())
    Counting.calls = 0
    layer.weight, layer.weight
    assert Counting.calls == 2
    with parametrize.cached():
        first = layer.weight
        with parametrize.cached():
            assert layer.weight is first
        assert layer.weight is first
    assert Counting.calls == 3 and not parametrize._cache
    assert layer.weight is not first
    Counting.calls = 0
    layer(tinydl.randn(3, 2))  # one evaluation per forward, as torch's layers read it once
    assert Counting.calls == 1


# ------------------------------------------------------------------ parametrizations.*
@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm_matches_torch(dim):
    ours, ref = _pair(lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3))
    parametrizations.weight_norm(ours, dim=dim)
    tparams.weight_norm(ref, dim=dim)
    assert list(ours.state_dict()) == list(ref.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    _close(ours.parametrizations.weight.original0, ref.parametrizations.weight.original0)
    with torch.no_grad():
        ref.parametrizations.weight.original0.mul_(0.7)
    _copy_from_torch(ours, ref)
    _forward_backward(ours, ref, RNG.standard_normal((2, 2, 4, 4)))
    _grads_match(ours, ref)
    parametrize.remove_parametrizations(ours, "weight")
    tparam.remove_parametrizations(ref, "weight")
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    assert isinstance(ours.weight, nn.Parameter)
    _close(ours.weight, ref.weight)


def test_a_hook_style_weight_norm_checkpoint_loads_into_the_parametrization():
    """torch renames weight_g / weight_v to parametrizations.weight.original0 / original1 in
    a load pre-hook; tinydl reported them unexpected and, with strict=False, kept its own
    initial weights without a word."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation of the hook style
        source = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2))
    old = {k: v.detach().numpy() for k, v in source.state_dict().items()}
    assert sorted(old) == ["bias", "weight_g", "weight_v"]
    ours = nn.Sequential(nn.ReLU(), parametrizations.weight_norm(nn.Linear(3, 2)))
    assert ours.load_state_dict({f"1.{k}": v for k, v in old.items()}) == ([], [])
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours[1](tinydl.tensor(x)).data,
                               source(torch.tensor(x)).detach().numpy(), atol=1e-6)
    # one layer under two names: renamed under both
    shared = parametrizations.weight_norm(nn.Linear(3, 2))
    both = {f"{i}.{k}": v for i in (0, 1) for k, v in old.items()}
    assert nn.Sequential(shared, shared).load_state_dict(both) == ([], [])
    # the new layout still loads, and an unrelated model still reports the old keys
    assert ours.load_state_dict(ours.state_dict()) == ([], [])
    plain = nn.Linear(3, 2)
    assert plain.load_state_dict(old, strict=False).unexpected_keys == ["weight_g", "weight_v"]


@pytest.mark.parametrize("make", ["linear", "conv_transpose", "bias"])
def test_parametrizations_spectral_norm_matches_torch(make):
    if make == "conv_transpose":  # default dim 1
        ours, ref = _pair(lambda: nn.ConvTranspose2d(3, 2, 3),
                          lambda: torch.nn.ConvTranspose2d(3, 2, 3))
        x, name = RNG.standard_normal((2, 3, 4, 4)), "weight"
    else:
        ours, ref = _pair(lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3))
        x, name = RNG.standard_normal((2, 4)), "weight" if make == "linear" else "bias"
    parametrizations.spectral_norm(ours, name, n_power_iterations=2)
    tparams.spectral_norm(ref, name, n_power_iterations=2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    _copy_from_torch(ours, ref)  # the same u, v: power iteration now agrees step by step
    for _ in range(2):  # two training forwards before one backward
        _forward_backward(ours, ref, x)
    _grads_match(ours, ref)
    state = ref.state_dict()
    for key, value in ours.state_dict().items():
        _close(value, state[key], what=key)
    ours.eval(), ref.eval()
    _forward_backward(ours, ref, x)
    parametrize.remove_parametrizations(ours, name)
    tparam.remove_parametrizations(ref, name)
    assert list(ours.state_dict()) == list(ref.state_dict())
    _close(getattr(ours, name), getattr(ref, name))


def test_parametrizations_spectral_norm_errors():
    with pytest.raises(IndexError, match="spectral_norm: dim 3"):
        parametrizations.spectral_norm(nn.Linear(3, 2), dim=3)
    with pytest.raises(ValueError, match="spectral_norm: n_power_iterations must be positive"):
        parametrizations.spectral_norm(nn.Linear(3, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="spectral_norm: Linear has no parameter or buffer"):
        parametrizations.spectral_norm(nn.Linear(3, 2), name="foo")


@pytest.mark.parametrize("shape,orthogonal_map,trivial", [
    ((4, 4), None, True), ((5, 3), None, True), ((3, 5), None, True),
    ((4, 4), "cayley", True), ((5, 3), "matrix_exp", True), ((3, 5), "cayley", True),
    ((5, 3), "householder", False), ((3, 5), "householder", False),
    ((4, 4), "matrix_exp", False), ((5, 3), "cayley", False)])
def test_parametrizations_orthogonal_matches_torch(shape, orthogonal_map, trivial):
    ours, ref = _pair(lambda: nn.Linear(shape[1], shape[0], bias=False),
                      lambda: torch.nn.Linear(shape[1], shape[0], bias=False))
    parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=trivial)
    tparams.orthogonal(ref, orthogonal_map=orthogonal_map, use_trivialization=trivial)
    assert list(ours.state_dict()) == list(ref.state_dict())
    # the starting weight is deterministic (a QR factor; the random completion of a
    # non-square base only touches columns the weight does not use)
    _close(ours.weight, ref.weight, what="initial weight")
    with torch.no_grad():  # a generic original, away from -I
        ref.parametrizations.weight.original.add_(_t(0.2 * RNG.standard_normal(shape)))
    _copy_from_torch(ours, ref)
    _forward_backward(ours, ref, RNG.standard_normal((2, shape[1])))
    _grads_match(ours, ref)
    square = shape[0] == shape[1]
    if (orthogonal_map or ("matrix_exp" if square else "householder")) != "householder":
        # (householder: a diagonal sign of the moved original may truncate to 0, as torch's)
        w = ours.weight.data
        gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)


def test_orthogonal_default_map_assignment_and_errors():
    layer = parametrizations.orthogonal(nn.Linear(3, 3).double())
    assert layer.parametrizations.weight[0].orthogonal_map == "matrix_exp"
    assert parametrizations.orthogonal(nn.Linear(2, 4)).parametrizations.weight[0] \
        .orthogonal_map == "householder"
    q = np.linalg.qr(RNG.standard_normal((3, 3)))[0]
    layer.weight = tinydl.Tensor(q)  # right_inverse: the new base, original back to -I
    _close(layer.weight, q)
    _close(layer.parametrizations.weight.original, -np.eye(3))
    with pytest.raises(ValueError, match="orthogonal: expected a matrix .*1 dimensions"):
        parametrizations.orthogonal(nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match="orthogonal: orthogonal_map must be one of"):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match=r"orthogonal: expected .* shape \(3, 3\)"):
        layer.weight = tinydl.zeros(2, 2, dtype=np.float64)


def test_matrix_exp_and_householder_product_against_torch_and_gradcheck():
    a = RNG.standard_normal((2, 4, 4)) * 3.0
    _close(_matrix_exp(tinydl.Tensor(a)), torch.linalg.matrix_exp(_t(a)), atol=1e-11)
    A, tau = RNG.standard_normal((5, 3)), RNG.standard_normal(3)
    _close(_householder_product(tinydl.Tensor(A), tinydl.Tensor(tau)),
           torch.linalg.householder_product(_t(A), _t(tau)), atol=1e-12)
    assert tinydl.gradcheck(_matrix_exp, (tinydl.Tensor(a[0] / 3, requires_grad=True),))
    assert tinydl.gradcheck(_householder_product, (tinydl.Tensor(A, requires_grad=True),
                                                   tinydl.Tensor(tau, requires_grad=True)))


# ------------------------------------------------------------------ fusion
def _eval_bn(ours_bn, ref_bn):
    with torch.no_grad():
        n = ref_bn.num_features
        ref_bn.running_mean.copy_(_t(RNG.standard_normal(n)))
        ref_bn.running_var.copy_(_t(RNG.uniform(0.5, 2.0, n)))
        ref_bn.weight.copy_(_t(RNG.standard_normal(n)))
        ref_bn.bias.copy_(_t(RNG.standard_normal(n)))
    _copy_from_torch(ours_bn, ref_bn)
    ours_bn.eval(), ref_bn.eval()


@pytest.mark.parametrize("transpose,bias", [(False, True), (False, False), (True, True)])
def test_fuse_conv_bn_eval_matches_torch(transpose, bias):
    if transpose:
        conv, ref_conv = _pair(lambda: nn.ConvTranspose2d(3, 4, 3, bias=bias),
                               lambda: torch.nn.ConvTranspose2d(3, 4, 3, bias=bias))
    else:
        conv, ref_conv = _pair(lambda: nn.Conv2d(3, 4, 3, bias=bias),
                               lambda: torch.nn.Conv2d(3, 4, 3, bias=bias))
    bn, ref_bn = _pair(lambda: nn.BatchNorm2d(4), lambda: torch.nn.BatchNorm2d(4))
    _eval_bn(bn, ref_bn)
    conv.eval(), ref_conv.eval()
    fused = utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    ref = torch.nn.utils.fuse_conv_bn_eval(ref_conv, ref_bn, transpose=transpose)
    assert type(fused) is type(conv) and fused is not conv
    _close(fused.weight, ref.weight), _close(fused.bias, ref.bias)
    assert fused.bias.requires_grad == ref.bias.requires_grad == bias
    x = tinydl.Tensor(RNG.standard_normal((2, 3, 5, 5)))
    _close(fused(x), bn(conv(x)).data)


@pytest.mark.parametrize("num_features", [3, 1])
def test_fuse_linear_bn_eval_matches_torch(num_features):
    linear, ref_linear = _pair(lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3))
    bn, ref_bn = _pair(lambda: nn.BatchNorm1d(num_features),
                       lambda: torch.nn.BatchNorm1d(num_features))
    _eval_bn(bn, ref_bn)
    linear.eval(), ref_linear.eval()
    fused = utils.fuse_linear_bn_eval(linear, bn)
    ref = torch.nn.utils.fuse_linear_bn_eval(ref_linear, ref_bn)
    _close(fused.weight, ref.weight), _close(fused.bias, ref.bias)


def test_fuse_weights_dtypes_and_errors():
    w, b = utils.fuse_conv_bn_weights(tinydl.Tensor(RNG.standard_normal((4, 3, 3, 3))),
                                      tinydl.zeros(4), tinydl.zeros(4), tinydl.ones(4), 1e-5,
                                      None, None)
    assert isinstance(w, nn.Parameter) and w.dtype == np.float64 and b.dtype == np.float32
    assert not w.requires_grad and not b.requires_grad  # (as torch: from plain tensors)
    bn = nn.BatchNorm2d(4)
    with pytest.raises(AssertionError, match="fuse_conv_bn_eval: fusion is only for eval"):
        utils.fuse_conv_bn_eval(nn.Conv2d(3, 4, 1), bn.eval())
    with pytest.raises(ValueError, match=r"linear.out_features \(3\) must equal "
                                         r"bn.num_features \(5\)"):
        utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(5).eval())
    with pytest.raises(ValueError, match="running_mean and bn.running_var must not be None"):
        utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(),
                                  nn.BatchNorm1d(3, track_running_stats=False).eval())


# ------------------------------------------------------------------ skip_init
def test_skip_init_draws_no_random_numbers():
    tinydl.manual_seed(3)
    expected = tinydl.randn(4).data
    tinydl.manual_seed(3)
    layer = utils.skip_init(nn.Linear, 5, 2, bias=False)
    assert isinstance(layer, nn.Linear) and layer.weight.shape == (2, 5) and layer.bias is None
    np.testing.assert_array_equal(tinydl.randn(4).data, expected)
    with pytest.raises(RuntimeError, match="skip_init: expected a Module class"):
        utils.skip_init(lambda: None)


# ------------------------------------------------------------------ functional_call
class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)
        self.b.weight = self.a.weight

    def forward(self, x, scale=1.0):
        return self.b(self.a(x)) * scale


class TorchTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
        self.b.weight = self.a.weight

    def forward(self, x, scale=1.0):
        return self.b(self.a(x)) * scale


def test_functional_call_matches_torch_and_restores():
    ours, ref = _pair(Tied, TorchTied)
    before = {k: v.data.copy() for k, v in ours.state_dict().items()}
    w, bias = RNG.standard_normal((2, 2)), RNG.standard_normal(2)
    x = RNG.standard_normal((3, 2))
    new_w = tinydl.Tensor(w, requires_grad=True)
    new_b = tinydl.Tensor(bias, requires_grad=True)
    ref_w, ref_b = _t(w).requires_grad_(), _t(bias).requires_grad_()
    out = nn.utils.stateless.functional_call(ours, {"a.weight": new_w, "b.bias": new_b},
                                             (tinydl.Tensor(x),), {"scale": 2.0})
    ref_out = torch.func.functional_call(ref, {"a.weight": ref_w, "b.bias": ref_b}, (_t(x),),
                                         {"scale": 2.0})
    _close(out, ref_out)
    out.sum().backward(), ref_out.sum().backward()
    _close(new_w.grad, ref_w.grad), _close(new_b.grad, ref_b.grad)
    assert ours.a.weight.grad is None and ours.b.bias.grad is None  # (replaced for the call)
    _close(ours.a.bias.grad, ref.a.bias.grad)
    untied = nn.utils.stateless.functional_call(
        ours, {"a.weight": new_w, "b.weight": tinydl.Tensor(np.eye(2))}, tinydl.Tensor(x),
        tie_weights=False)
    ref_untied = torch.func.functional_call(
        ref, {"a.weight": ref_w, "b.weight": torch.eye(2, dtype=torch.float64)}, _t(x),
        tie_weights=False)
    _close(untied, ref_untied)
    with pytest.raises(ValueError, match=r"multiple values for keys \['a.weight', 'b.weight'\]"):
        nn.utils.stateless.functional_call(
            ours, {"a.weight": new_w, "b.weight": tinydl.Tensor(np.eye(2))}, tinydl.Tensor(x))
    with pytest.raises(RuntimeError, match="unexpected key.*'zzz'.*missing key.*'a.bias'"):
        nn.utils.stateless.functional_call(ours, {"a.weight": new_w, "zzz": new_w},
                                           tinydl.Tensor(x), strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        nn.utils.stateless.functional_call(ours, ({"a.weight": new_w}, {"a.weight": new_w}),
                                           tinydl.Tensor(x))
    with pytest.raises(TypeError):  # an error inside forward: everything is put back
        nn.utils.stateless.functional_call(ours, {"a.weight": new_w, "a.bias": new_b}, "x")
    assert ours.a.weight is ours._modules["a"]._parameters["weight"] is ours.b.weight
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])
    assert not hasattr(ours, "zzz")


def test_functional_call_buffer_updated_in_place_as_torch():
    bn = nn.BatchNorm1d(2).double()
    ref = torch.nn.BatchNorm1d(2).double()
    mean, ref_mean = tinydl.zeros(2, dtype=np.float64), torch.zeros(2, dtype=torch.float64)
    x = RNG.standard_normal((4, 2))
    nn.utils.stateless.functional_call(bn, {"running_mean": mean}, (tinydl.Tensor(x),))
    torch.func.functional_call(ref, {"running_mean": ref_mean}, (_t(x),))
    _close(mean, ref_mean)
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(2))


@pytest.mark.parametrize("which", ["weight_norm", "spectral_norm", "orthogonal"])
def test_functional_call_replaces_a_parametrized_tensor_as_torch_documents(which):
    """{'weight': W} for a parametrized weight was ignored (the property computed the weight
    from its originals). torch's documentation: the value given replaces the parametrized
    tensor, the parametrization is disabled for the call; torch 2.13 does so for weight_norm
    (compared here) but not for spectral_norm and orthogonal (it gives neither W nor the
    parametrization of W), where tinydl follows the documentation. Afterwards the
    parametrization is back."""
    from torch.func import functional_call as torch_call

    theirs = getattr(torch.nn.utils.parametrizations, which)(torch.nn.Linear(3, 3).double())
    ours = getattr(parametrizations, which)(nn.Linear(3, 3).double())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    w, x = np.arange(9.0).reshape(3, 3), np.ones((2, 3))
    got = utils.stateless.functional_call(ours, {"weight": tinydl.Tensor(w)}, (tinydl.Tensor(x),))
    np.testing.assert_allclose(got.data, x @ w.T + ours.bias.data, rtol=1e-12)
    if which == "weight_norm":
        want = torch_call(theirs, {"weight": torch.tensor(w)}, (torch.tensor(x),))
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    theirs.eval(), ours.eval()  # (no power iteration: the stored u and v as they are)
    np.testing.assert_allclose(ours(tinydl.Tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert "_functional_call_values" not in ours.__dict__


def test_householder_orthogonal_of_a_non_finite_weight_is_nan_not_a_scipy_error():
    """scipy.linalg.qr raised its 'array must not contain infs or NaNs' from inside; torch
    registers the parametrization and gives a weight with NaN (LAPACK's)."""
    layer = nn.Linear(4, 3).double()
    layer.weight.data[...] = np.where(np.eye(3, 4) > 0, np.inf, 1.0)
    parametrizations.orthogonal(layer, orthogonal_map="householder", use_trivialization=False)
    assert np.isnan(layer.weight.data).any()


def test_functional_call_with_a_new_name_restores_the_module():
    """A name the module lacks (an extra attribute for the call) beside a replaced weight:
    the restore raised TypeError on it and left the replacement installed, so later calls
    silently used it; torch returns the output and restores everything."""
    from tinydl.nn.utils.stateless import functional_call
    lin = nn.Linear(3, 2)
    own = lin.weight
    out = functional_call(lin, {"weight": tinydl.zeros((2, 3)), "extra": tinydl.ones(2)},
                          (tinydl.ones((1, 3)),))
    np.testing.assert_allclose(out.data, lin.bias.data[None, :])
    assert lin.weight is own and not hasattr(lin, "extra")
    assert "weight" in dict(lin.named_parameters())


def test_fusing_a_bias_free_linear_with_a_one_feature_batchnorm_gives_a_callable_layer():
    """The fused bias was (1,), which tinydl's linear refuses (torch's broadcasts it)."""
    from tinydl.nn.utils.fusion import fuse_linear_bn_eval
    tinydl.manual_seed(0)
    linear, bn = nn.Linear(4, 4, bias=False).eval(), nn.BatchNorm1d(1).eval()
    bn.running_mean.data[...], bn.running_var.data[...] = 0.3, 2.0
    bn.weight.data[...], bn.bias.data[...] = 1.5, -0.2
    fused = fuse_linear_bn_eval(linear, bn)
    x = tinydl.randn(2, 4)
    assert fused.bias.shape == (4,)
    np.testing.assert_allclose(fused(x).data, bn(linear(x).reshape(8, 1)).reshape(2, 4).data,
                               rtol=1e-5, atol=1e-6)
