"""Silent failures and rough edges of tinydl.nn, each pinned by a regression test.

Losses on degenerate batches (every target ignored, N = 0), class-score and target dtypes,
gradients to probability targets, layers fed another dtype than their parameters',
zero-size linear layers, transposed convolutions with output_padding >= stride, argument
validation and ``Module.to``. torch is the oracle where it is installed; every test that
needs it says so with ``pytest.importorskip``.
"""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def T(a, grad=False, dtype=np.float64):
    return tinydl.Tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 3))
PROBS = RNG.dirichlet(np.ones(3), size=4)


# ============================================================ cross_entropy / nll_loss
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_all_ignored_mean_is_nan_with_zero_gradient(label_smoothing):
    x = T(LOGITS, True, np.float32)
    loss = F.cross_entropy(x, np.full(4, -100), label_smoothing=label_smoothing)
    loss.backward()
    assert np.isnan(loss.item()), "cross_entropy: the mean over no kept target is NaN, as torch"
    assert np.array_equal(x.grad.data, np.zeros((4, 3))), \
        f"cross_entropy: all targets ignored must give a zero gradient, got {x.grad.data}"


def test_nll_loss_all_ignored_mean_is_nan_with_zero_gradient():
    x = T(LOGITS, True, np.float32)
    loss = F.nll_loss(x, np.array([7, 7, 7, 7]), ignore_index=7)
    loss.backward()
    assert np.isnan(loss.item())
    assert np.array_equal(x.grad.data, np.zeros((4, 3))), "nll_loss: gradient must be zero"


def test_cross_entropy_partly_ignored_keeps_finite_gradient_on_kept_rows_only():
    x = T(LOGITS, True)
    F.cross_entropy(x, np.array([0, -100, 2, -100])).backward()
    assert np.all(np.isfinite(x.grad.data))
    assert np.array_equal(x.grad.data[[1, 3]], np.zeros((2, 3)))


def _empty_losses(reduction):
    """(name, loss, leaf) for every class-target loss on an empty batch (N = 0)."""
    cases = []
    for name, fn, target in [
            ("cross_entropy", F.cross_entropy, np.zeros(0, np.int64)),
            ("cross_entropy probs", F.cross_entropy, np.zeros((0, 3), np.float32)),
            ("cross_entropy smoothed", lambda x, t, reduction: F.cross_entropy(
                x, t, reduction=reduction, label_smoothing=0.1), np.zeros(0, np.int64)),
            ("nll_loss", F.nll_loss, np.zeros(0, np.int64))]:
        x = T(np.zeros((0, 3)), True, np.float32)
        cases.append((name, fn(x, target, reduction=reduction), x))
    return cases


def test_class_losses_on_an_empty_batch_mean_nan_sum_zero_and_backward_runs():
    for reduction, check in [("mean", np.isnan), ("sum", lambda v: v == 0.0)]:
        for name, loss, x in _empty_losses(reduction):
            assert loss.shape == () and check(loss.item()), \
                f"{name} reduction={reduction!r} on N=0 gave {loss.item()}"
            loss.backward()
            assert x.grad.shape == (0, 3), f"{name} {reduction}: gradient shape {x.grad.shape}"
    for name, loss, _ in _empty_losses("none"):
        assert loss.shape == (0,), f"{name} reduction='none' on N=0 has shape {loss.shape}"


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_logits_raise_a_type_error_naming_the_loss(dtype):
    scores = tinydl.Tensor(np.ones((2, 3), dtype=dtype))
    with pytest.raises(TypeError, match="cross_entropy.*floating"):
        F.cross_entropy(scores, np.array([0, 1]))
    with pytest.raises(TypeError, match="nll_loss.*floating"):
        F.nll_loss(scores, np.array([0, 1]))


def test_float_target_of_the_class_index_shape_says_indices_must_be_integers():
    with pytest.raises(ValueError, match=r"class-index targets must be integers") as info:
        F.cross_entropy(T(np.ones((4, 3)), dtype=np.float32), np.zeros(4, np.float32))
    message = str(info.value)
    assert "cross_entropy" in message and "(4,)" in message and "(4, 3)" in message


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_probability_targets_get_their_gradient_gradcheck(reduction, label_smoothing):
    x, p = T(LOGITS, True), T(PROBS, True)
    weight = np.array([0.5, 1.0, 2.0])
    fn = lambda x, p: F.cross_entropy(x, p, reduction=reduction, weight=weight,
                                      label_smoothing=label_smoothing)
    assert tinydl.gradcheck(fn, (x, p))
    fn(x, p).sum().backward()
    assert p.grad is not None, "cross_entropy: a probability target that requires grad got none"
    assert tinydl.gradgradcheck(fn, (x, p))


def test_probability_target_gradient_against_the_closed_form():
    x, p = T(LOGITS), T(PROBS, True)
    F.cross_entropy(x, p).backward()
    logp = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(p.grad.data, -logp / 4, rtol=1e-12,
                               err_msg="cross_entropy: dL/dp = -log_softmax(x) / N")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_probability_target_gradients_against_torch(reduction, label_smoothing):
    torch = pytest.importorskip("torch")
    logits = RNG.standard_normal((3, 4, 2, 2))
    probs = RNG.dirichlet(np.ones(4), size=(3, 2, 2)).transpose(0, 3, 1, 2).copy()
    weight = np.array([0.5, 1.0, 2.0, 1.5])
    upstream = RNG.standard_normal((3, 2, 2)) if reduction == "none" else 1.0
    x, p = T(logits, True), T(probs, True)
    loss = F.cross_entropy(x, p, reduction=reduction, weight=weight,
                           label_smoothing=label_smoothing)
    loss.backward(T(upstream))
    tx = torch.tensor(logits, requires_grad=True)
    tp = torch.tensor(probs, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tx, tp, reduction=reduction,
                                           weight=torch.tensor(weight),
                                           label_smoothing=label_smoothing)
    tl.backward(torch.as_tensor(upstream, dtype=torch.float64))
    np.testing.assert_allclose(loss.data, tl.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12,
                               err_msg=f"cross_entropy target grad, reduction={reduction}")


@pytest.mark.parametrize("case", ["all ignored", "partly ignored", "zero weight", "empty"])
@pytest.mark.parametrize("loss_name", ["cross_entropy", "cross_entropy smoothed", "nll_loss"])
def test_degenerate_class_targets_against_torch(case, loss_name):
    torch = pytest.importorskip("torch")
    logits = LOGITS if case != "empty" else np.zeros((0, 3))
    target = {"all ignored": [-100] * 4, "partly ignored": [0, -100, 2, 1],
              "zero weight": [0, 0, 0, -100], "empty": []}[case]
    weight = np.array([0.0, 1.0, 2.0])
    kw = {"weight": weight} if case == "zero weight" else {}
    if loss_name == "cross_entropy smoothed":
        kw["label_smoothing"] = 0.1

    def run(module, x, t, w):
        fn = module.cross_entropy if loss_name.startswith("cross") else module.nll_loss
        return fn(x, t, **{**kw, **({"weight": w} if "weight" in kw else {})})

    x = T(logits, True)
    loss = run(F, x, np.array(target, np.int64), weight)
    loss.backward()
    tx = torch.tensor(logits, requires_grad=True)
    tl = run(torch.nn.functional, tx, torch.tensor(target, dtype=torch.long),
             torch.tensor(weight))
    tl.backward()
    np.testing.assert_array_equal(np.isnan(loss.data), np.isnan(tl.detach().numpy()))
    np.testing.assert_allclose(loss.data, tl.detach().numpy(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12,
                               equal_nan=True, err_msg=f"{loss_name} {case}: gradient")


# ============================================================ elementwise losses, zero size
ELEMENTWISE_LOSSES = {
    "mse_loss": (F.mse_loss, {}),
    "l1_loss": (F.l1_loss, {}),
    "smooth_l1_loss": (F.smooth_l1_loss, {}),
    "huber_loss": (F.huber_loss, {}),
    "binary_cross_entropy": (F.binary_cross_entropy, {}),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, {}),
    "hinge_loss": (F.hinge_loss, {}),
    "kl_div": (F.kl_div, {}),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_LOSSES))
def test_elementwise_losses_on_zero_size_input(name):
    fn, kw = ELEMENTWISE_LOSSES[name]
    for reduction in ("mean", "sum", "none"):
        x = T(np.zeros((0, 3)), True, np.float32)
        with np.errstate(all="ignore"):
            loss = fn(x, T(np.zeros((0, 3)), dtype=np.float32), reduction=reduction, **kw)
        expected = {"mean": "nan", "sum": 0.0, "none": (0, 3)}[reduction]
        if reduction == "none":
            assert loss.shape == expected, f"{name} 'none' on zero size: shape {loss.shape}"
            loss.sum().backward()
        else:
            value = loss.item()
            ok = np.isnan(value) if expected == "nan" else value == expected
            assert ok, f"{name} reduction={reduction!r} on zero-size input gave {value}"
            loss.backward()
        assert x.grad is not None and x.grad.shape == (0, 3), f"{name} {reduction}: grad"


def test_kl_div_batchmean_on_an_empty_batch_is_nan():
    x = T(np.zeros((0, 3)), True)
    loss = F.kl_div(x, T(np.zeros((0, 3))), reduction="batchmean")
    assert np.isnan(loss.item())
    loss.backward()
    assert x.grad.shape == (0, 3)


def test_zero_size_regression_losses_against_torch():
    torch = pytest.importorskip("torch")
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        fn = ELEMENTWISE_LOSSES[name][0]
        ours = fn(T(np.zeros((0, 2))), T(np.zeros((0, 2))))
        theirs = getattr(torch.nn.functional, name)(torch.zeros(0, 2), torch.zeros(0, 2))
        assert np.isnan(ours.item()) and np.isnan(theirs.item()), name


# ============================================================ layer input dtypes
def _layers():
    return {
        "Linear": (nn.Linear(3, 2), (4, 3)),
        "Conv1d": (nn.Conv1d(2, 3, 3), (1, 2, 7)),
        "Conv2d": (nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
        "ConvTranspose1d": (nn.ConvTranspose1d(2, 3, 3), (1, 2, 5)),
        "ConvTranspose2d": (nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
    }


@pytest.mark.parametrize("name", sorted(_layers()))
def test_float32_layer_refuses_float64_input(name):
    layer, shape = _layers()[name]
    with pytest.raises(TypeError, match=f"{name}.*float64.*float32"):
        layer(tinydl.Tensor(np.ones(shape, np.float64)))
    with pytest.raises(TypeError, match=f"{name}.*float64.*float32"):
        layer(np.ones(shape, np.float64))


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
@pytest.mark.parametrize("name", sorted(_layers()))
def test_float32_layer_refuses_integer_input_and_says_call_float(name, dtype):
    layer, shape = _layers()[name]
    with pytest.raises(TypeError, match=rf"{name}.*{np.dtype(dtype).name}.*float32.*\.float\(\)"):
        layer(tinydl.Tensor(np.ones(shape, dtype)))


@pytest.mark.parametrize("name", sorted(_layers()))
def test_layers_accept_their_own_dtype_after_a_cast(name):
    layer, shape = _layers()[name]
    assert layer(tinydl.Tensor(np.ones(shape, np.float32))).dtype == np.float32
    layer.double()
    out = layer(tinydl.Tensor(np.ones(shape, np.float64), requires_grad=True))
    assert out.dtype == np.float64
    with pytest.raises(TypeError, match=f"{name}.*float32.*float64"):
        layer(tinydl.Tensor(np.ones(shape, np.float32)))


def test_bilinear_refuses_mixed_dtypes_and_negative_sizes():
    layer = nn.Bilinear(2, 3, 4)
    x1, x2 = np.ones((5, 2), np.float32), np.ones((5, 3), np.float32)
    assert layer(tinydl.Tensor(x1), tinydl.Tensor(x2)).dtype == np.float32
    with pytest.raises(TypeError, match="Bilinear.*float64.*float32"):
        layer(tinydl.Tensor(x1), tinydl.Tensor(x2.astype(np.float64)))
    with pytest.raises(ValueError, match="Bilinear: out_features.*-4"):
        nn.Bilinear(2, 3, -4)


def test_linear_still_takes_float_lists_and_float32_arrays():
    layer = nn.Linear(2, 1)
    assert layer([[1.0, 2.0]]).dtype == np.float32
    assert layer(np.ones((3, 2), np.float32)).shape == (3, 1)


def test_functional_forms_refuse_mixed_float_dtypes():
    x64 = tinydl.Tensor(np.ones((1, 2, 4, 4)))
    w32 = tinydl.Tensor(np.ones((3, 2, 3, 3), np.float32))
    with pytest.raises(TypeError, match="linear.*float64.*float32"):
        F.linear(tinydl.Tensor(np.ones((2, 3))), tinydl.Tensor(np.ones((2, 3), np.float32)))
    with pytest.raises(TypeError, match="conv2d.*float64.*float32"):
        F.conv2d(x64, w32)
    with pytest.raises(TypeError, match="conv_transpose2d.*float64.*float32"):
        F.conv_transpose2d(x64, tinydl.Tensor(np.ones((2, 3, 3, 3), np.float32)))


def test_dtype_mismatch_against_torch_which_raises_too():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=torch.float64))
    with pytest.raises(TypeError):
        nn.Linear(3, 2)(tinydl.Tensor(np.ones((4, 3))))


# ============================================================ zero-size linear, flatten
def test_linear_with_zero_in_features_forward_and_backward():
    layer = nn.Linear(0, 3)
    with tinydl.no_grad():
        layer.bias.data[...] = [1.0, 2.0, 3.0]
    x = T(np.zeros((2, 0)), True, np.float32)
    out = layer(x)
    np.testing.assert_array_equal(out.data, [[1, 2, 3], [1, 2, 3]])
    out.sum().backward()
    assert x.grad.shape == (2, 0) and layer.weight.grad.shape == (3, 0)
    np.testing.assert_array_equal(layer.bias.grad.data, [2, 2, 2])


@pytest.mark.parametrize("batch,in_features,out_features", [(2, 0, 3), (0, 4, 3), (2, 3, 0),
                                                            (0, 0, 0)])
def test_zero_size_linear_against_torch(batch, in_features, out_features):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x_data = rng.standard_normal((batch, in_features))
    w_data = rng.standard_normal((out_features, in_features))
    b_data = rng.standard_normal(out_features)
    g_data = rng.standard_normal((batch, out_features))
    x, w, b = T(x_data, True), T(w_data, True), T(b_data, True)
    F.linear(x, w, b).backward(T(g_data))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))
    torch.nn.functional.linear(tx, tw, tb).backward(torch.tensor(g_data))
    for ours, theirs, what in [(x, tx, "x"), (w, tw, "weight"), (b, tb, "bias")]:
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12,
                                   err_msg=f"linear grad {what} {batch, in_features}")


def test_linear_with_zero_in_features_create_graph():
    x, w, b = T(np.zeros((2, 0)), True), T(np.zeros((3, 0)), True), T(np.ones(3), True)
    gw, gb = tinydl.grad(F.linear(x, w, b).sum(), (w, b), create_graph=True)
    assert gw.shape == (3, 0)
    np.testing.assert_array_equal(gb.data, [2, 2, 2])


def test_flatten_on_an_empty_batch():
    out = nn.Flatten()(tinydl.zeros(0, 3, 4))
    assert out.shape == (0, 12)
    x = T(np.zeros((0, 2, 3)), True)
    nn.Sequential(nn.Flatten(), nn.Linear(6, 2).double())(x).sum().backward()
    assert x.grad.shape == (0, 2, 3)


@pytest.mark.parametrize("layer", [nn.GroupNorm(2, 4), nn.Flatten(), nn.Conv2d(4, 2, 3),
                                   nn.AvgPool2d(2), nn.LayerNorm((4, 3, 3))],
                         ids=lambda layer: type(layer).__name__)
def test_layers_on_an_empty_batch(layer):
    x = T(np.zeros((0, 4, 3, 3)), True, np.float32)
    out = layer(x)
    assert out.shape[0] == 0, f"{type(layer).__name__} on N=0: shape {out.shape}"
    out.sum().backward()
    assert x.grad.shape == x.shape


# ============================================================ conv_transpose output_padding
def test_conv_transpose2d_output_padding_below_dilation_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    y = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal(2)
    kw = dict(stride=1, padding=(0, 1), output_padding=1, dilation=2)
    ty, tw, tb = (torch.tensor(a, requires_grad=True) for a in (y, w, b))
    expected = torch.nn.functional.conv_transpose2d(ty, tw, tb, **kw)
    g = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(g))
    oy, ow, ob = T(y, True), T(w, True), T(b, True)
    out = F.conv_transpose2d(oy, ow, ob, **kw)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.backward(T(g))
    for ours, theirs, what in [(oy, ty, "input"), (ow, tw, "weight"), (ob, tb, "bias")]:
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"conv_transpose2d output_padding grad {what}")


def test_conv_transpose1d_and_layer_output_padding_below_dilation_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    y = rng.standard_normal((1, 2, 6))
    w = rng.standard_normal((2, 3, 3))
    ours = F.conv_transpose1d(T(y), T(w), None, stride=2, output_padding=2, dilation=3)
    theirs = torch.nn.functional.conv_transpose1d(torch.tensor(y), torch.tensor(w), stride=2,
                                                  output_padding=2, dilation=3)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)

    layer = nn.ConvTranspose2d(2, 3, 2, stride=1, output_padding=1, dilation=2)
    tlayer = torch.nn.ConvTranspose2d(2, 3, 2, stride=1, output_padding=1, dilation=2).double()
    with torch.no_grad():
        tlayer.weight.copy_(torch.tensor(layer.weight.data))
        tlayer.bias.copy_(torch.tensor(layer.bias.data))
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    out = layer(tinydl.Tensor(x))
    assert out.shape == (1, 3, 6, 6)
    np.testing.assert_allclose(out.data, tlayer(torch.tensor(x, dtype=torch.float64))
                               .detach().numpy(), rtol=1e-5, atol=1e-6)


def test_conv_transpose2d_output_padding_shape_and_gradcheck():
    # Without torch: stride 1, dilation 2, kernel 2, output_padding 1 on a 3x3 input gives
    # (3-1) + 2 + 1 + 1 = 6; the last row and column are past the kernel's reach: bias only.
    rng = np.random.default_rng(4)
    y, w, b = T(rng.standard_normal((1, 1, 3, 3)), True), T(rng.standard_normal((1, 2, 2, 2)),
                                                              True), T([0.5, -1.0], True)
    out = F.conv_transpose2d(y, w, b, output_padding=1, dilation=2)
    assert out.shape == (1, 2, 6, 6)
    np.testing.assert_allclose(out.data[0, :, -1, :], [[0.5] * 6, [-1.0] * 6])
    np.testing.assert_allclose(out.data[0, :, :, -1], [[0.5] * 6, [-1.0] * 6])
    assert tinydl.gradcheck(lambda y, w, b: F.conv_transpose2d(y, w, b, output_padding=1,
                                                               dilation=2), (y, w, b))


def test_output_padding_at_least_stride_and_dilation_still_raises():
    x = tinydl.randn(1, 3, 5, 5)
    with pytest.raises(ValueError, match="conv_transpose2d: output_padding.*stride.*dilation"):
        F.conv_transpose2d(x, tinydl.randn(3, 2, 3, 3), stride=1, dilation=2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2d: output_padding"):
        nn.ConvTranspose2d(3, 2, 3, stride=2, output_padding=2)


# ============================================================ argument validation
@pytest.mark.parametrize("args,match", [((-1, 3), r"Linear: in_features.*-1"),
                                        ((3, -2), r"Linear: out_features.*-2")])
def test_linear_refuses_negative_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        nn.Linear(*args)


def test_linear_refuses_non_integer_sizes():
    with pytest.raises(TypeError, match=r"Linear: in_features.*2\.5"):
        nn.Linear(2.5, 3)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.BatchNorm1d(2.5), r"BatchNorm1d: num_features must be an integer, got 2.5"),
    (lambda: nn.GroupNorm(2, 4.0), r"GroupNorm: num_channels must be an integer, got 4.0"),
    (lambda: nn.LayerNorm((3, 2.5)),
     r"LayerNorm: normalized_shape \(3, 2.5\): each entry must be an integer, got 2.5"),
    (lambda: nn.Embedding(3, True), r"Embedding: embedding_dim must be an integer, got True"),
    (lambda: nn.LayerNorm(True), r"LayerNorm: normalized_shape \(True,\): each entry must be an "
                                 "integer, got True"),  # was normalized_shape (1,)
    (lambda: nn.LayerNorm(2.5), r"LayerNorm: normalized_shape \(2.5,\): each entry must be an "
                                "integer"),  # was 'float' object is not iterable
])
def test_normalisation_and_embedding_layers_refuse_non_integer_sizes(make, match):
    """A TypeError naming the layer and the value, as torch raises one (the negative sizes:
    tests/core/test_torch_habits.py)."""
    with pytest.raises(TypeError, match=match):
        make()


def test_size_arguments_become_python_ints():
    assert type(nn.BatchNorm2d(np.int64(3)).num_features) is int
    assert nn.GroupNorm(np.int32(2), 4).num_groups == 2
    assert nn.Embedding(np.int64(5), 2).weight.shape == (5, 2)


@pytest.mark.parametrize("layer", [nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d])
@pytest.mark.parametrize("args,match", [((0, 3, 3), "in_channels.*0"),
                                        ((2, -3, 3), "out_channels.*-3"),
                                        ((2, 3, 0), "kernel_size.*0"),
                                        ((2, 3, -1), "kernel_size.*-1")])
def test_conv_layers_refuse_non_positive_channels_and_kernels(layer, args, match):
    with pytest.raises(ValueError, match=f"{layer.__name__}: {match}"):
        layer(*args)


def test_avg_pool2d_refuses_a_zero_divisor_override():
    x = tinydl.Tensor(np.ones((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="avg_pool2d: divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="AvgPool2d: divisor must be not zero"):
        nn.AvgPool2d(2, divisor_override=0)
    np.testing.assert_allclose(F.avg_pool2d(x, 2, divisor_override=-2).data, -2.0)


# ============================================================ Module.to / double / float
def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_module_to_cpu_is_a_no_op_returning_self():
    model = _model()
    before = {name: p.data for name, p in model.named_parameters()}
    assert model.to("cpu") is model and model.to(device="cpu") is model
    assert model.cpu() is model
    assert all(p.data is before[name] for name, p in model.named_parameters())


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", 0])
def test_module_to_another_device_says_cpu_only(device):
    with pytest.raises(RuntimeError, match="CPU only"):
        _model().to(device)
    with pytest.raises(ValueError, match="CPU only"):
        _model().to(device=device)


def test_module_double_casts_parameters_and_float_buffers_in_place():
    model = _model()
    params = list(model.parameters())
    optimizer = tinydl.optim.SGD(model.parameters(), lr=0.1)
    bn = model[1]
    assert model.double() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert bn.running_mean.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64, "integer buffers are left alone"
    x = tinydl.Tensor(np.random.default_rng(5).standard_normal((5, 3)))
    before = params[0].data.copy()
    (model(x) ** 2).sum().backward()
    optimizer.step()
    assert not np.array_equal(params[0].data, before), "an optimizer built before .double()"
    assert model.float() is model
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert bn.running_mean.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64


def test_module_to_dtype_keyword_and_gradients_follow():
    model = nn.Linear(3, 2)
    model(tinydl.Tensor(np.ones((1, 3), np.float32))).sum().backward()
    assert model.to(dtype=np.float64) is model
    assert model.weight.dtype == np.float64 and model.weight.grad.dtype == np.float64
    assert model.to("cpu", np.float32).weight.dtype == np.float32
    assert model.to(tinydl.Tensor(np.zeros(1))).weight.dtype == np.float64
    assert model.to("float32").weight.dtype == np.float32


def test_module_to_integer_dtype_raises():
    with pytest.raises(TypeError, match="Linear.to.*floating"):
        nn.Linear(2, 2).to(np.int64)


def test_module_to_matches_torch_dtypes():
    torch = pytest.importorskip("torch")
    ours = _model().double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.Linear(4, 2)).double()
    assert ours.to(torch.float32) is ours
    theirs = theirs.to(torch.float32)
    ours_dtypes = {k: str(v.dtype) for k, v in ours.state_dict().items()}
    theirs_dtypes = {k: str(v.dtype).replace("torch.", "") for k, v in theirs.state_dict().items()}
    assert ours_dtypes == theirs_dtypes
