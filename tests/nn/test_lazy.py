"""Lazy modules (nn.LazyLinear, LazyConv*d, LazyConvTranspose*d, LazyBatchNorm*d,
LazyInstanceNorm*d) against torch's: placeholders and state_dict keys before the first call,
the eager class, repr and sizes after it, outputs and gradients in float64 once torch's
module holds the same parameters, torch's init rules, optimizers built before the first call,
copies, and errors."""
import copy
import pickle

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn

torch = pytest.importorskip("torch")

# (lazy class, constructor arguments, input shape, the eager constructor's first arguments)
CASES = [
    ("LazyLinear", (3,), {}, (2, 5, 4), (4, 3)),
    ("LazyConv1d", (4, 3), dict(stride=2, padding=1), (2, 3, 7), (3, 4, 3)),
    ("LazyConv2d", (4, 3), dict(groups=2, padding_mode="reflect", padding=1), (1, 2, 5, 6),
     (2, 4, 3)),
    ("LazyConv3d", (2, 2), {}, (3, 4, 3, 5), (3, 2, 2)),  # unbatched
    ("LazyConvTranspose1d", (2, 3), dict(stride=2, output_padding=1), (2, 3, 4), (3, 2, 3)),
    ("LazyConvTranspose2d", (4, 3), dict(groups=2, dilation=2), (2, 4, 3, 3), (4, 4, 3)),
    ("LazyConvTranspose3d", (2, 2), dict(stride=2, bias=False), (1, 3, 2, 2, 3), (3, 2, 2)),
    ("LazyBatchNorm1d", (), dict(momentum=0.3), (4, 3), (3,)),
    ("LazyBatchNorm2d", (), {}, (2, 3, 4, 4), (3,)),
    ("LazyBatchNorm3d", (), dict(affine=False), (2, 2, 3, 2, 2), (2,)),
    ("LazyInstanceNorm1d", (), dict(affine=True), (2, 3, 5), (3,)),
    ("LazyInstanceNorm2d", (), dict(affine=False, track_running_stats=False), (2, 3, 4, 4), (3,)),
    ("LazyInstanceNorm3d", (), dict(affine=True, track_running_stats=True), (2, 2, 3, 2, 2),
     (2,)),
]


@pytest.mark.parametrize("name,args,kw,x_shape,eager_args", CASES, ids=[c[0] for c in CASES])
@pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match num_features")
def test_lazy_modules_match_torch(name, args, kw, x_shape, eager_args):
    ours = getattr(nn, name)(*args, dtype=np.float64, **kw)
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64, **kw)
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith(f"{name}(" + ("in_features=0" if name == "LazyLinear" else "0"))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    for key, value in ours.state_dict(keep_vars=True).items():
        if key != "num_batches_tracked":
            assert type(value).__name__ == type(theirs.state_dict(keep_vars=True)[key]).__name__

    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    first = ours(tinydl.Tensor(x))
    theirs(torch.tensor(x))
    eager = getattr(nn, name[4:])
    assert type(ours) is eager and type(theirs) is getattr(torch.nn, name[4:])
    assert not hasattr(ours, "_initialize_hook") and not ours._forward_pre_hooks
    # the same repr as the eager layer built with the inferred size, and as torch's
    # (torch's lazy normalisations default to affine and track_running_stats, as BatchNorm)
    eager_kw = {"affine": True, "track_running_stats": True, **kw} if "Norm" in name else kw
    assert repr(ours) == repr(eager(*eager_args, dtype=np.float64, **eager_kw))
    if theirs.__dict__.get("num_features") != 0:
        assert repr(ours) == repr(theirs)
    # torch leaves num_features 0 when nothing was lazy (no affine, no running statistics);
    # tinydl's InstanceNorm checks the channel count, so it infers it all the same
    inferred = ("in_features" if name == "LazyLinear" else
                "num_features" if "Norm" in name else "in_channels")
    assert getattr(ours, inferred) == eager_args[0]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (key, ours_value), their_value in zip(ours.state_dict().items(),
                                              theirs.state_dict().values()):
        assert ours_value.shape == tuple(their_value.shape), key
        assert type(ours_value) in (tinydl.Tensor, nn.Parameter)

    # torch's module holding our parameters and statistics gives the same output and gradients
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(x_shape)
    tx, px = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(tx), theirs(px)
    assert first.shape == out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(tx.grad.data, px.grad.numpy(), atol=1e-10)
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), atol=1e-10, err_msg=key)
    for key, value in theirs.state_dict().items():  # running statistics moved alike
        np.testing.assert_allclose(ours.state_dict()[key].data, value.numpy(), atol=1e-12)


def test_init_rules_after_materialising():
    layer = nn.LazyLinear(400)
    layer(tinydl.Tensor(np.ones((2, 25), np.float32)))
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (400, 25)
    bound = 1 / np.sqrt(25)  # torch's U(+-1/sqrt(in_features)), from the inferred size
    for p in (layer.weight, layer.bias):
        assert bound * 0.95 < np.abs(p.data).max() <= bound
    conv = nn.LazyConvTranspose2d(6, 3, groups=2)
    conv(tinydl.Tensor(np.ones((1, 4, 3, 3), np.float32)))
    bound = 1 / np.sqrt(3 * 9)  # fan_in from the weight (4, 3, 3, 3), as torch
    assert bound * 0.9 < np.abs(conv.weight.data).max() <= bound
    norm = nn.LazyBatchNorm1d()
    norm.eval()
    norm(tinydl.Tensor(np.ones((2, 3), np.float32)))
    np.testing.assert_array_equal(norm.weight.data, np.ones(3))
    np.testing.assert_array_equal(norm.bias.data, np.zeros(3))
    np.testing.assert_array_equal(norm.running_var.data, np.ones(3))
    assert int(norm.num_batches_tracked.data) == 0


def test_placeholders_refuse_every_use():
    layer = nn.LazyLinear(3)
    weight = layer.weight
    assert isinstance(weight, nn.UninitializedParameter) and isinstance(weight, nn.Parameter)
    assert weight.requires_grad and weight.dtype == np.float32
    assert repr(weight) == "<UninitializedParameter>"
    for use in (lambda: weight + 1, lambda: weight.data, lambda: weight.numel(),
                lambda: tinydl.nn.functional.linear(tinydl.Tensor(np.ones((1, 2), np.float32)),
                                                    weight)):
        with pytest.raises(ValueError, match="uninitialized parameter"):
            use()  # (the error is a RuntimeError too: torch raises that for the shape)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        weight.shape
    buffer = nn.LazyBatchNorm2d().running_mean
    assert isinstance(buffer, nn.UninitializedBuffer) and not buffer.requires_grad
    with pytest.raises(ValueError, match="uninitialized"):
        buffer * 2


def test_bad_first_input_keeps_the_module_lazy():
    conv = nn.LazyConv2d(4, 3, groups=2)
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        conv(tinydl.Tensor(np.ones((1, 3, 5, 5), np.float32)))
    with pytest.raises(ValueError):  # torch raises there too
        torch.nn.LazyConv2d(4, 3, groups=2)(torch.ones(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match="LazyConv2d: expected a 3-D .* or 4-D"):
        conv(tinydl.Tensor(np.ones((3, 5), np.float32)))
    with pytest.raises(RuntimeError):
        torch.nn.LazyConv2d(4, 3)(torch.ones(3, 5))
    assert type(conv) is nn.LazyConv2d and conv.has_uninitialized_params()
    assert conv(tinydl.Tensor(np.ones((1, 4, 5, 5), np.float32))).shape == (1, 4, 3, 3)
    assert type(conv) is nn.Conv2d and conv.in_channels == 4


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop", "LBFGS"])
def test_optimizer_built_before_the_first_call_trains(optimizer):
    """As torch: the parameters are filled in place, so the optimizer holds the very objects
    that the first call sizes, and its steps move them."""
    layer = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(1))
    opt = getattr(tinydl.optim, optimizer)(layer.parameters(), lr=0.1)
    held = [p for group in opt.param_groups for p in group["params"]]
    x = tinydl.Tensor(np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32))

    def closure():
        opt.zero_grad()
        loss = (layer(x) ** 2).mean()
        loss.backward()
        return loss

    closure()
    assert [p is q for p, q in zip(held, layer.parameters())] == [True] * 4
    before = [p.data.copy() for p in held]
    opt.step(closure)
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, held))


def test_copies_pickles_and_instance_norm_without_batch():
    layer = nn.LazyLinear(2, dtype=np.float64)
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert type(twin) is nn.LazyLinear and twin.weight is not layer.weight
        assert twin.weight.dtype == np.float64
        twin(tinydl.Tensor(np.ones((1, 3))))
        assert type(twin) is nn.Linear and twin.weight.shape == (2, 3)
    assert type(layer) is nn.LazyLinear and layer.has_uninitialized_params()
    # the channel axis of one (C, L) sample is axis 0 (torch reads axis 1 and then fails)
    norm = nn.LazyInstanceNorm1d(affine=True)
    assert norm(tinydl.Tensor(np.ones((3, 5), np.float32))).shape == (3, 5)
    assert norm.num_features == 3 and norm.weight.shape == (3,)


@pytest.mark.parametrize("ours_cls, theirs_cls, args, x_shape", [
    ("LazyLinear", "Linear", (3,), (2, 4)),
    ("LazyConv2d", "Conv2d", (4, 3), (2, 2, 5, 5)),
    ("LazyBatchNorm2d", "BatchNorm2d", (), (4, 3, 2, 2)),
])
def test_a_checkpoint_loads_into_a_lazy_module_before_its_first_call_as_torch(
        ours_cls, theirs_cls, args, x_shape):
    """torch sizes a lazy module from the checkpoint (its lazy load hook); tinydl raised on
    the placeholders' shape. The loaded values are kept (not re-initialised) at the first
    call, which then sizes nothing but checks the input against them."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    eager_args = (x_shape[1] if ours_cls != "LazyLinear" else x_shape[-1],) + args
    if theirs_cls == "BatchNorm2d":
        eager_args = (x_shape[1],)
    theirs = getattr(torch.nn, theirs_cls)(*eager_args).double()
    theirs.train()(torch.tensor(rng.standard_normal(x_shape)))  # running statistics move
    ours = getattr(nn, ours_cls)(*args, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert not ours.has_uninitialized_params()
    theirs.eval(), ours.eval()
    np.testing.assert_allclose(ours(tinydl.Tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert type(ours).__name__ == theirs_cls
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].data, value.numpy(), err_msg=key)
    with pytest.raises(ValueError, match="LazyLinear: the loaded weight has shape"):
        lazy = nn.LazyLinear(3)
        lazy.load_state_dict({k: v.numpy() for k, v in torch.nn.Linear(4, 3).state_dict().items()})
        lazy(tinydl.Tensor(np.ones((2, 5), np.float32)))


def test_a_lazy_module_changes_dtype_before_its_first_call_as_torch():
    """.double(), .float() and .to(dtype) read the placeholders' values and raised; torch's
    lazy modules take the dtype and size their parameters in it at the first call."""
    for model, x in [(nn.LazyLinear(3).double(), np.ones((2, 5))),
                     (nn.LazyLinear(3).float(), np.ones((2, 5), np.float32)),
                     (nn.Sequential(nn.LazyConv2d(2, 1), nn.LazyBatchNorm2d()).to(np.float64),
                      np.ones((2, 3, 4, 4)))]:
        out = model(tinydl.Tensor(x))
        assert out.dtype == x.dtype
        assert all(t.dtype == x.dtype for t in model.state_dict().values()
                   if t.dtype.kind == "f")
