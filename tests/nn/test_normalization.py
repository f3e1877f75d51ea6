"""The normalisation layers added after the first four: BatchNorm3d, InstanceNorm3d, RMSNorm
and LocalResponseNorm (and the ``bias`` keyword of batch, instance and group norms) against
torch's modules: outputs and gradients in float64, parameters, buffers, state_dict keys,
defaults, repr, running statistics in training and evaluation, and errors. Their functional
forms go through the op table (tests/ops/test_functional.py)."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

torch = pytest.importorskip("torch")


def T(a, grad=False):
    return tinydl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def copy_parameters(ours, theirs, rng):
    """Random values into torch's parameters (so a swapped weight and bias would show), then
    the same values into ours."""
    for name, p in theirs.named_parameters():
        with torch.no_grad():
            p.copy_(torch.tensor(rng.standard_normal(p.shape)))
        getattr(ours, name).data[...] = p.detach().numpy()


def check_step(ours, theirs, x, rng):
    """One forward and backward: outputs, input and parameter gradients as torch's."""
    xo, xt = T(x, grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    g = rng.standard_normal(yt.shape)
    yo.backward(tinydl.Tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-9)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-9, err_msg=name)
        p.grad = None
    ours.zero_grad()


def check_state(ours, theirs, what):
    """The same state_dict keys, and values, as torch's."""
    mine, torch_state = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(torch_state), what
    for name, value in torch_state.items():
        np.testing.assert_allclose(np.asarray(mine[name].data), value.numpy(), rtol=1e-12,
                                   atol=1e-12, err_msg=f"{what}: {name}")


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("name, kw, shape", [
    ("BatchNorm3d", {}, (3, 2, 3, 2, 4)),
    ("BatchNorm3d", dict(bias=False), (2, 2, 3, 2, 2)),
    ("BatchNorm3d", dict(affine=False), (2, 2, 3, 2, 2)),
    ("InstanceNorm3d", dict(affine=True, track_running_stats=True), (2, 2, 3, 2, 4)),
    ("InstanceNorm3d", dict(affine=True, track_running_stats=True), (2, 3, 2, 4)),  # unbatched
    ("InstanceNorm3d", dict(affine=True, bias=False), (2, 2, 3, 2, 2)),
])
def test_3d_batch_and_instance_norm_train_and_evaluate_as_torch(name, kw, shape, momentum):
    """Two training steps (outputs, gradients, running statistics, num_batches_tracked: the
    cumulative average when momentum is None, for batch norm) and then evaluation."""
    rng = np.random.default_rng(0)
    ours = getattr(nn, name)(2, momentum=momentum, **kw).double()
    theirs = getattr(torch.nn, name)(2, momentum=momentum, **kw).double()
    copy_parameters(ours, theirs, rng)
    for step in range(2):
        check_step(ours, theirs, rng.standard_normal(shape) * 2 + 1, rng)
        check_state(ours, theirs, f"{name} {kw} after training step {step}")
    ours.eval(), theirs.eval()
    check_step(ours, theirs, rng.standard_normal(shape), rng)
    check_state(ours, theirs, f"{name} {kw} after evaluation")


@pytest.mark.parametrize("name, kw", [
    ("BatchNorm3d", {}), ("BatchNorm3d", dict(affine=False, track_running_stats=False)),
    ("BatchNorm3d", dict(bias=False, eps=1e-3, momentum=None)), ("BatchNorm2d", dict(bias=False)),
    ("InstanceNorm3d", {}), ("InstanceNorm3d", dict(affine=True, track_running_stats=True)),
    ("InstanceNorm1d", dict(affine=True, bias=False)),
])
def test_3d_norms_and_the_bias_keyword_have_torch_parameters_buffers_and_repr(name, kw):
    ours, theirs = getattr(nn, name)(4, **kw), getattr(torch.nn, name)(4, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    check_state(ours, theirs, f"{name} {kw} as built")  # weight 1, bias 0, mean 0, var 1
    assert repr(ours) == repr(theirs)
    assert all(p.dtype == np.float32 for p in ours.parameters())
    ours.reset_parameters()  # a missing bias is skipped
    check_state(ours, theirs, f"{name} {kw} after reset_parameters")


@pytest.mark.parametrize("kw", [{}, dict(bias=False), dict(affine=False, bias=False)])
def test_group_norm_bias_keyword_as_torch(kw):
    """GroupNorm had no ``bias=`` (torch 2.13's keyword-only argument): with bias=False the
    state_dict holds only 'weight', and the output is the normalised input times it."""
    rng = np.random.default_rng(0)
    ours, theirs = nn.GroupNorm(2, 4, **kw), torch.nn.GroupNorm(2, 4, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    check_state(ours, theirs, f"GroupNorm {kw} as built")
    assert repr(ours) == repr(theirs)
    assert (ours.bias is None) == (theirs.bias is None)
    ours.double(), theirs.double()
    copy_parameters(ours, theirs, rng)
    check_step(ours, theirs, rng.standard_normal((3, 4, 5)) * 2 + 1, rng)
    with pytest.raises(TypeError):
        nn.GroupNorm(2, 4, 1e-5, True, None, None, False)  # keyword-only, as torch


def test_3d_norms_refuse_inputs_of_another_rank_and_other_channels():
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected input of shape "
                                         r"\(N, C, D, H, W\), got \(2, 3, 4, 4\)"):
        nn.BatchNorm3d(3)(tinydl.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"InstanceNorm3d: expected input of shape "
                                         r"\(N, C, D, H, W\) or \(C, D, H, W\)"):
        nn.InstanceNorm3d(3)(tinydl.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="BatchNorm3d: expected 3 channels"):
        nn.BatchNorm3d(3)(tinydl.zeros(2, 4, 2, 2, 2))
    with pytest.raises(TypeError, match="BatchNorm3d: input of dtype float64"):
        nn.BatchNorm3d(3)(T(np.zeros((2, 3, 2, 2, 2))))  # a float32 layer, as BatchNorm2d


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_instance_norm_with_eps_0_gives_0_on_a_constant_instance_as_torch(dtype):
    """torch's batch-norm kernel (instance norm's) takes 1/sqrt(var + eps) as 0 when both are
    0: a constant instance normalises to 0 (the bias) with no gradient; it was NaN here."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    x[1], x[0, 1] = 2.5, 0.0  # four constant instances beside two that vary
    w, b, g = (rng.standard_normal(s).astype(dtype) for s in (3, 3, x.shape))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.instance_norm(xt, weight=wt, bias=bt, eps=0)
    (y * torch.tensor(g)).sum().backward()
    xd, wd, bd = (tinydl.Tensor(a, requires_grad=True) for a in (x, w, b))
    yd = F.instance_norm(xd, weight=wd, bias=bd, eps=0)
    (yd * tinydl.Tensor(g)).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert yd.dtype == dtype and not np.isnan(yd.data).any()
    for ours, theirs in ((yd, y), (xd.grad, xt.grad), (wd.grad, wt.grad), (bd.grad, bt.grad)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **tol)
    # second order, through the create_graph backward
    xt, xd = torch.tensor(x, requires_grad=True), tinydl.Tensor(x, requires_grad=True)
    gt, = torch.autograd.grad((torch.nn.functional.instance_norm(xt, eps=0) ** 3).sum(), xt,
                              create_graph=True)
    gd, = tinydl.autograd.grad((F.instance_norm(xd, eps=0) ** 3).sum(), xd, create_graph=True)
    (gt * gt).sum().backward()
    (gd * gd).sum().backward()
    np.testing.assert_allclose(xd.grad.data, xt.grad.numpy(), **tol)


@pytest.mark.parametrize("shape, kw", [
    ((4,), {}), ((3, 4), dict(eps=1e-3)), ([4], dict(elementwise_affine=False)),
    (4, dict(eps=0.5)),
])
def test_rmsnorm_matches_torch(shape, kw):
    rng = np.random.default_rng(1)
    ours, theirs = nn.RMSNorm(shape, **kw), torch.nn.RMSNorm(shape, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    check_state(ours, theirs, f"RMSNorm({shape}, {kw}) as built")  # weight 1
    assert repr(ours) == repr(theirs)
    assert ours.eps == theirs.eps and ours.normalized_shape == theirs.normalized_shape
    ours.double(), theirs.double()
    copy_parameters(ours, theirs, rng)
    check_step(ours, theirs, rng.standard_normal((2, 3, 3, 4)), rng)
    # rows of zeros: 0 and the finite gradient weight / sqrt(eps), eps float64's by default
    check_step(ours, theirs, np.zeros((2, 3, 4)), rng)
    if ours.weight is not None:
        ours.reset_parameters()
        np.testing.assert_array_equal(ours.weight.data, 1.0)


def test_rms_norm_default_eps_is_the_dtypes_and_float16_runs_in_float32_as_torch():
    x = np.full((2, 4), 1e-4)
    for dtype, torch_dtype in ((np.float32, torch.float32), (np.float64, torch.float64),
                               (np.float16, torch.float16)):
        ours = F.rms_norm(tinydl.Tensor(x.astype(dtype)), (4,))
        theirs = torch.nn.functional.rms_norm(torch.tensor(x, dtype=torch_dtype), (4,))
        assert ours.dtype == dtype
        # 1e-4 / sqrt(1e-8 + eps): 1.0 (float64's eps), 0.28 (float32's, float16's too: it
        # runs in float32), 0.0032 had float16 used its own epsilon
        np.testing.assert_allclose(ours.data.astype(np.float64), theirs.numpy(), rtol=2e-3)
    layer = nn.RMSNorm(4)
    assert layer(tinydl.Tensor(x.astype(np.float32))).dtype == np.float32


def test_rms_norm_errors_name_the_op_and_the_shapes():
    x = tinydl.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"rms_norm: input of shape \(2, 3, 4\) does not end "
                                         r"with normalized_shape \(3,\)"):
        F.rms_norm(x, (3,))
    with pytest.raises(ValueError, match=r"rms_norm: normalized_shape must be at least 1-D"):
        F.rms_norm(x, ())
    with pytest.raises(ValueError, match=r"RMSNorm: normalized_shape must be at least 1-D"):
        nn.RMSNorm(())
    with pytest.raises(TypeError, match=r"rms_norm: input of dtype int64 .* floating point"):
        F.rms_norm(tinydl.Tensor(np.ones((2, 4), np.int64)), (4,))
    with pytest.raises(ValueError, match=r"rms_norm: weight of shape \(3,\)"):
        F.rms_norm(x, (4,), tinydl.ones(3))
    with pytest.raises(ValueError, match=r"rms_norm: .*does not end with"):
        nn.RMSNorm(4)(tinydl.zeros(2, 3))
    with pytest.raises(TypeError, match=r"RMSNorm: input of dtype float64"):
        nn.RMSNorm(4)(T(np.zeros((2, 4))))  # float32 weight, as LayerNorm


@pytest.mark.parametrize("shape, kw", [
    ((2, 5, 3), dict(size=2)), ((2, 6, 3, 2), dict(size=3, alpha=0.5, beta=0.6, k=2.0)),
    ((1, 4, 2, 3, 2), dict(size=4, alpha=1.0)), ((2, 3, 4), dict(size=7, alpha=2.0)),
])
def test_local_response_norm_matches_torch(shape, kw):
    rng = np.random.default_rng(2)
    ours, theirs = nn.LocalResponseNorm(**kw), torch.nn.LocalResponseNorm(**kw)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == []
    check_step(ours, theirs, rng.standard_normal(shape), rng)


def test_local_response_norm_keeps_a_nan_in_its_window_and_refuses_what_torch_refuses():
    x = np.random.default_rng(3).standard_normal((1, 6, 2))
    x[0, 2, 1] = np.nan
    ours = F.local_response_norm(T(x), 3, alpha=1.0).data
    theirs = torch.nn.functional.local_response_norm(torch.tensor(x), 3, alpha=1.0).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))  # channels 1 to 3
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(ValueError, match=r"local_response_norm: .*3 or more axes, got shape "
                                         r"\(2, 3\)"):
        F.local_response_norm(tinydl.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="local_response_norm: size must be positive, got 0"):
        nn.LocalResponseNorm(0)(tinydl.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="local_response_norm: size must be an int"):
        F.local_response_norm(tinydl.zeros(2, 3, 4), 2.0)  # torch: TypeError too
    empty = tinydl.zeros(0, 3, 4)
    assert F.local_response_norm(empty, 2) is empty  # as torch: the input itself
    ints = F.local_response_norm(tinydl.Tensor(np.ones((1, 3, 2), np.int64)), 2)
    assert ints.dtype == np.float32  # as torch


def test_regularization_skips_the_rmsnorm_scale_as_other_norm_layers():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.RMSNorm(2), nn.BatchNorm3d(2))
    net[0].weight.data[...] = 1.0
    net[1].weight.data[...] = 3.0
    assert float(nn.utils.regularization(net, l1=1.0).data) == 4.0  # the Linear's 4 ones only
    assert float(nn.utils.regularization(net, l1=1.0, skip_norm=False).data) == 4 + 6 + 2
