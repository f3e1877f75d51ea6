"""Module system: registration order, state_dict naming, strict loading, modes, containers, hooks."""
import copy

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("steps", tinydl.Tensor(np.zeros(1)))
        self.register_buffer("cache", tinydl.Tensor(np.zeros(2)), persistent=False)
        self.plain = 3

    def forward(self, x):
        return self.bn(self.conv(x)) * self.scale


def test_registration_order_and_state_dict_keys_follow_torch():
    net = nn.Sequential(Block(), nn.ReLU(), nn.Linear(2, 3))
    keys = list(net.state_dict())
    assert keys == ["0.scale", "0.steps", "0.conv.weight", "0.conv.bias", "0.bn.weight",
                    "0.bn.bias", "0.bn.running_mean", "0.bn.running_var",
                    "0.bn.num_batches_tracked", "2.weight", "2.bias"]
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.scale", "0.conv.weight", "0.conv.bias", "0.bn.weight", "0.bn.bias",
                     "2.weight", "2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["0.steps", "0.cache", "0.bn.running_mean",
                                                   "0.bn.running_var", "0.bn.num_batches_tracked"]
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 3
    assert net[0].plain == 3


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    net = nn.Sequential(layer, layer)
    assert len(list(net.parameters())) == 2


def test_state_dict_shares_memory_and_load_copies_in_place():
    a, b = Block(), Block()
    weight = b.conv.weight
    b.load_state_dict(a.state_dict())
    assert b.conv.weight is weight  # same Parameter object: an optimizer keeps working
    np.testing.assert_array_equal(b.conv.weight.data, a.conv.weight.data)
    sd = a.state_dict()
    a.conv.weight.data[...] = 5
    assert np.all(sd["conv.weight"].data == 5)
    assert sd["conv.weight"].requires_grad is False
    assert a.state_dict(keep_vars=True)["conv.weight"] is a.conv.weight


def test_load_state_dict_into_a_tensor_saved_for_backward_raises_at_backward():
    net = nn.Linear(2, 1, dtype=np.float64)
    y = (net.weight * net.weight).sum()
    versions = net.weight._version, net.bias._version
    net.load_state_dict({"weight": np.zeros((1, 2)), "bias": np.zeros(1)})
    assert (net.weight._version, net.bias._version) == (versions[0] + 1, versions[1] + 1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()  # torch raises too; the gradient would be 2 * the new (zero) weight


def test_load_state_dict_strict_names_every_bad_key():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = dict(net.state_dict())
    del sd["1.running_var"]
    sd["extra.weight"] = np.zeros(1)
    sd["0.weight"] = np.zeros((3, 3))
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    for key in ("'1.running_var'", "'extra.weight'", "'0.weight'", "(3, 3)", "(3, 2)"):
        assert key in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    sd["0.weight"] = np.zeros((3, 2))
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["extra.weight"]
    sd["0.weight"] = np.zeros((2, 2))
    with pytest.raises(nn.StateDictError, match="wrongly-shaped"):
        net.load_state_dict(sd, strict=False)


def test_train_eval_propagate_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)))
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(tinydl.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = tinydl.randn(2, 2)
    m.bias = None
    assert "bias" not in m.state_dict()

    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Bad()
    del m.weight
    assert "weight" not in m.state_dict()


def test_parameter_dtype_rules():
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert nn.Parameter(np.ones(2)).dtype == np.float64
    p = nn.Parameter(tinydl.randn(3))
    assert p.requires_grad and isinstance(p, tinydl.Tensor)
    assert type(p * 2) is tinydl.Tensor


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert len(seq[:2]) == 2 and list(seq[:2].state_dict()) == ["0.weight", "0.bias"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(tinydl.randn(5, 2)).shape == (5, 1)
    with pytest.raises(IndexError, match="Sequential"):
        seq[7]
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in ml] == ["Linear", "ReLU", "Linear", "Linear"]
    assert list(ml.state_dict())[-1] == "3.bias"
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b"] and "a.weight" in md.state_dict()
    od = nn.Sequential(dict(first=nn.Linear(1, 1)))
    assert list(od.state_dict()) == ["first.weight", "first.bias"]


def test_hooks_and_apply_and_double():
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    out = m(tinydl.ones(1, 2))
    np.testing.assert_allclose(out.data, m.bias.data[None], rtol=1e-6)
    assert seen == [(1, 2)]
    h1.remove(), h2.remove()
    m(tinydl.ones(1, 2))
    assert seen == [(1, 2)]
    visited = []
    nn.Sequential(m, nn.ReLU()).apply(lambda mod: visited.append(type(mod).__name__))
    assert visited == ["Linear", "ReLU", "Sequential"]
    assert m.double().weight.dtype == np.float64 and m.float().weight.dtype == np.float32
    assert "Linear(in_features=2, out_features=2, bias=True)" in repr(nn.Sequential(m))


def _scaled(lib_nn):
    """A module of tinydl.nn or torch.nn: forward(x, scale=1.0) = x * scale (0 raises)."""
    class Scaled(lib_nn.Module):
        def forward(self, x, scale=1.0):
            if scale == 0:
                raise ValueError("scale 0")
            return x * scale

    return Scaled()


def _forward_hook_events(lib, lib_nn):
    """What torch's forward-hook options do, run through ``lib``: the events and outputs."""
    m = _scaled(lib_nn)
    events = []
    m.register_forward_pre_hook(lambda mod, args: events.append("pre"))
    m.register_forward_pre_hook(lambda mod, args: events.append("first pre"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "scale": 3.0}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: events.append(
        ("kwargs", kwargs["scale"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: out + 1)
    always = m.register_forward_hook(lambda mod, args, out: events.append(("always", out)),
                                     always_call=True)
    out = m(lib.ones(2), scale=2.0)
    values = [float(v) for v in out.tolist()]
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 0}),
                                with_kwargs=True)
    with pytest.raises(ValueError, match="scale 0"):
        m(lib.ones(2))
    always.remove()
    with pytest.raises(ValueError, match="scale 0"):
        m(lib.ones(2))
    return [e if not isinstance(e, tuple) or e[0] != "always" or e[1] is None
            else ("always", "output") for e in events], values


def test_forward_hooks_take_torchs_options():
    """prepend, with_kwargs (pre-hooks may replace kwargs; hooks see them) and always_call
    (runs with output None when forward raises), as torch: the same events in both."""
    events, values = _forward_hook_events(tinydl, nn)
    assert values == [4.0, 4.0]  # scale 3 from the pre-hook, then + 1
    assert events == ["first pre", "pre", ("kwargs", 3.0), ("always", "output"),
                      "first pre", "pre", ("always", None), "first pre", "pre"]
    layer = nn.Linear(2, 2)
    with layer.register_forward_hook(lambda *a: None, with_kwargs=True):  # a context manager
        assert len(layer._forward_hooks) == len(layer._forward_hooks_with_kwargs) == 1
    assert not layer._forward_hooks and not layer._forward_hooks_with_kwargs
    try:
        import torch
    except ImportError:
        return
    assert _forward_hook_events(torch, torch.nn) == (events, values)


@pytest.mark.parametrize("failing", ["pre-hook", "forward hook"])
def test_always_called_forward_hooks_run_when_a_hook_raises(failing):
    """torch runs the always_call forward hooks that have not run when a pre-hook or an
    earlier forward hook raises, not only when forward does (with forward's output when it
    finished, else None); the same events in both."""
    def events(lib_nn, lib):
        m = _scaled(lib_nn)
        seen = []
        if failing == "pre-hook":
            m.register_forward_pre_hook(lambda mod, args: 1 / 0)
        else:
            m.register_forward_hook(lambda mod, args, out: 1 / 0)
        m.register_forward_hook(lambda mod, args, out: seen.append(out is None),
                                always_call=True)
        with pytest.raises(ZeroDivisionError):
            m(lib.ones(2))
        return seen

    assert events(nn, tinydl) == [failing == "pre-hook"]
    try:
        import torch
    except ImportError:
        return
    assert events(torch.nn, torch) == [failing == "pre-hook"]


def test_a_module_pickled_without_the_newer_hook_registries_still_runs():
    """An older tinydl's module lacks the backward and option registries: they are added
    empty on unpickling (torch's rule for its old checkpoints)."""
    layer = nn.Linear(2, 2)
    state = dict(layer.__dict__)
    for name in ("_backward_hooks", "_backward_pre_hooks", "_forward_hooks_always_called",
                 "_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs"):
        del state[name]
    old = nn.Linear.__new__(nn.Linear)
    old.__setstate__(state)
    assert old(tinydl.ones(1, 2)).shape == (1, 2)


def test_register_buffer_and_parameter_refuse_names_as_torch():
    """A name that would corrupt the registries raises KeyError (TypeError for a value of the
    wrong type), as torch: before, a buffer 'weight' silently removed the parameter."""
    m = nn.Linear(2, 2)
    buf = tinydl.Tensor(np.zeros(2))
    with pytest.raises(KeyError, match="register_buffer: attribute 'weight' already exists"):
        m.register_buffer("weight", buf)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.register_buffer("steps", buf)
    with pytest.raises(KeyError, match="register_parameter: attribute 'steps' already exists"):
        m.register_parameter("steps", nn.Parameter(np.zeros(2)))
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.plain = 3
    for register, value in [(m.register_buffer, buf), (m.register_parameter, None)]:
        for name in ["a.b", "", "plain", "training", "forward"]:
            with pytest.raises(KeyError):
                register(name, value)
        with pytest.raises(TypeError, match="name must be a string"):
            register(3, value)
    with pytest.raises(TypeError, match="register_buffer: 'cache' must be a Tensor or None, got "
                                        "ndarray"):
        m.register_buffer("cache", np.zeros(2))
    assert list(m.state_dict()) == ["weight", "bias", "steps"]
    # Registering an existing buffer or parameter again replaces it, as torch allows.
    m.register_buffer("steps", None)
    m.register_buffer("steps", tinydl.Tensor(np.ones(2)))
    new_weight = nn.Parameter(np.zeros((2, 2), np.float32))
    m.register_parameter("weight", new_weight)
    assert m.weight is new_weight and m._parameters["weight"] is new_weight
    np.testing.assert_array_equal(m.steps.data, 1)


def test_a_shared_child_is_one_child_and_apply_visits_it_once():
    """named_children listed a module held twice twice, so apply ran fn on it twice
    (spectral_norm through apply then raised 'already spectrally normalised')."""
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, layer)
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Sequential"] and [n for n, _ in model.named_children()] == ["0"]
    model.apply(lambda m: nn.utils.spectral_norm(m) if isinstance(m, nn.Linear) else None)


def test_a_module_cannot_replace_a_parameter_or_take_a_used_name():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a ReLU to parameter 'weight'"):
        m.weight = nn.ReLU()  # the weight silently vanished from parameters and state_dict
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    for name, error in (("forward", "already exists"), ("weight", "already exists"),
                        ("a.b", "can't contain '.'"), ("", "empty")):
        with pytest.raises(KeyError, match=error):
            nn.Linear(2, 2).add_module(name, nn.ReLU())
    seq = nn.Sequential(nn.ReLU())
    seq.add_module("0", nn.Tanh())  # replacing a child under its own name stays allowed
    assert isinstance(seq[0], nn.Tanh)


def test_train_calls_each_childs_own_train():
    """torch's train() recurses through child.train(mode): a child that overrides it (a
    frozen BatchNorm kept in eval, mmdetection's norm_eval) is obeyed. The flag was written
    on every module directly, so the BatchNorm kept training and its statistics moved."""

    class FrozenNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def train(self, mode=True):
            super().train(mode)
            self.bn.eval()
            return self

        def forward(self, x):
            return self.bn(x)

    net = nn.Sequential(FrozenNorm(), nn.ReLU())
    assert net.train() is net
    assert [m.training for m in net.modules()] == [True, True, False, True]
    net(tinydl.Tensor(np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)))
    np.testing.assert_array_equal(net[0].bn.running_mean.data, [0, 0])
    net.eval()
    assert not any(m.training for m in net.modules())


def test_containers_delete_and_replace_as_torch():
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Tanh())
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh"]
    assert list(seq._modules) == ["0", "1"] and list(seq.state_dict()) == ["0.weight", "0.bias"]
    seq[1] = nn.Sigmoid()
    assert isinstance(seq[1], nn.Sigmoid) and isinstance(seq._modules["1"], nn.Sigmoid)
    layers = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    del layers[0:2]
    assert len(layers) == 1 and isinstance(layers[0], nn.Sigmoid)
    named = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Tanh()})
    del named["a"]
    assert list(named) == ["b"] and not hasattr(named, "a")
    with pytest.raises(KeyError, match="ModuleDict: no module named 'z'"):
        del named["z"]
    with pytest.raises(TypeError, match="Sequential: indices must be ints or slices, got str '0'"):
        seq["0"]


def test_load_state_dict_refuses_values_that_are_not_numbers_before_copying_any():
    layer = nn.Linear(1, 2)
    before = layer.weight.data.copy()
    # an object array of None became NaN; a string array failed after 'weight' was copied
    with pytest.raises(nn.StateDictError,
                       match=r"values that are not numeric arrays: 'bias': ndarray of dtype <U1"):
        layer.load_state_dict({"weight": np.ones((2, 1)), "bias": np.array(["x", "y"])})
    np.testing.assert_array_equal(layer.weight.data, before)
    with pytest.raises(RuntimeError, match="'weight': ndarray of dtype object"):
        layer.load_state_dict({"weight": np.array([[None], [None]], dtype=object),
                               "bias": np.zeros(2)})


def test_dtype_casts_keep_the_grad_tensor():
    layer = nn.Linear(2, 2)
    layer.weight.grad = tinydl.Tensor(np.ones((2, 2), np.float32))
    grad = layer.weight.grad
    layer.double()
    assert layer.weight.grad is grad and grad.dtype == np.float64


def test_parameter_from_a_tensor_shares_its_array_as_torch():
    t = tinydl.Tensor([1.0, 2.0])
    p = nn.Parameter(t)
    with tinydl.no_grad():
        p.mul_(3)
    np.testing.assert_array_equal(t.data, [3.0, 6.0])  # torch's Parameter(t) shares storage
    a = np.ones(2, np.float32)
    assert not np.shares_memory(nn.Parameter(a).data, a)  # from an array: a copy, as Tensor
    assert nn.Parameter(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="Parameter: only floating-point tensors"):
        nn.Parameter(tinydl.Tensor([1, 2]))


def test_parameter_sharing_a_tensor_shares_its_version_counter():
    t = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    y = (t * t).sum()
    p = nn.Parameter(t)
    with tinydl.no_grad():
        p.mul_(10)  # changes the values y's backward saved: it must raise, not give [20, 40]
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_writing_the_registries_moves_the_attributes_too():
    # torch's surgery habits write the registries themselves. tinydl also keeps each entry as
    # a plain attribute (forward reads self.fc), so model._modules['2'] = new left forward on
    # the old layer while parameters() gave the optimizer the new one.
    import pickle
    tinydl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    new = nn.Linear(4, 5)
    model._modules["2"] = new
    assert model(tinydl.randn(2, 3)).shape == (2, 5)
    assert list(model.parameters())[-1] is new.bias
    lin = nn.Linear(3, 2)
    p = nn.Parameter(np.zeros((2, 3), np.float32))
    lin._parameters["weight"] = p
    assert lin.weight is p
    np.testing.assert_array_equal(lin(tinydl.ones(1, 3)).numpy(), lin.bias.numpy()[None])
    del lin._parameters["weight"]  # weight_norm's recipe: then a computed plain attribute
    assert not hasattr(lin, "weight") and [n for n, _ in lin.named_parameters()] == ["bias"]
    lin.weight = tinydl.ones(2, 3)
    np.testing.assert_allclose(lin(tinydl.ones(1, 3)).numpy(), 3 + lin.bias.numpy()[None])
    assert [n for n, _ in lin.named_parameters()] == ["bias"]
    bn = nn.BatchNorm1d(3)
    running = tinydl.zeros(3)
    bn._buffers.update(running_mean=running)
    assert bn.running_mean is running
    assert bn._buffers.pop("running_var") is not None and not hasattr(bn, "running_var")
    bn._buffers.setdefault("running_var", tinydl.ones(3))
    assert bn.running_var is bn._buffers["running_var"]
    # copies: a deep copy or a pickle owns its registries; a shallow copy shares them with
    # the original, as torch's, and both follow
    deep = copy.deepcopy(model)
    deep._modules["2"] = nn.Identity()
    assert type(deep[2]) is nn.Identity and type(model[2]) is nn.Linear
    unpickled = pickle.loads(pickle.dumps(model))
    unpickled._modules["1"] = nn.Tanh()
    assert type(unpickled.__dict__["1"]) is nn.Tanh and type(model[1]) is nn.ReLU
    shallow = copy.copy(model)
    shallow._modules["1"] = nn.Tanh()
    assert type(shallow.__dict__["1"]) is nn.Tanh and type(model.__dict__["1"]) is nn.Tanh
    del model[0]  # renumbering through the registry
    assert [type(m).__name__ for m in model] == ["Tanh", "Linear"]
    assert sorted(k for k in model.__dict__ if k.isdigit()) == ["0", "1"]


def test_deepcopy_of_a_trained_module_starts_without_gradients_as_torch():
    # torch's Parameter copy drops .grad; keeping it, the copy's next backward added into the
    # original's last gradients (a teacher = deepcopy(student) trained on stale gradients)
    lin = nn.Linear(2, 2)
    lin(tinydl.ones(1, 2)).sum().backward()
    twin = copy.deepcopy(lin)
    assert twin.weight.grad is None and twin.bias.grad is None
    assert type(twin.weight) is nn.Parameter and twin.weight.requires_grad
    assert not np.shares_memory(twin.weight.data, lin.weight.data)
    np.testing.assert_array_equal(twin.weight.numpy(), lin.weight.numpy())
    twin(tinydl.ones(1, 2)).sum().backward()
    np.testing.assert_array_equal(twin.bias.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(lin.bias.grad.numpy(), [1.0, 1.0])  # the original keeps its
    t = tinydl.tensor([1.0, 2.0], requires_grad=True)
    (t * 2).sum().backward()
    np.testing.assert_array_equal(copy.deepcopy(t).grad.numpy(), [2.0, 2.0])  # a Tensor's stays


def test_a_batchnorm_checkpoint_without_num_batches_tracked_loads_as_in_torch():
    bn = nn.BatchNorm2d(3)
    bn(tinydl.randn(4, 3, 2, 2))
    old = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    fresh = nn.BatchNorm2d(3)
    assert fresh.load_state_dict(old) == ([], [])  # torch's rule for pre-0.4.1 checkpoints
    np.testing.assert_array_equal(fresh.running_mean.numpy(), bn.running_mean.numpy())
    assert int(fresh.num_batches_tracked.item()) == 0  # its own count stays
    del old["running_var"]
    with pytest.raises(nn.StateDictError, match="missing keys: 'running_var'"):
        fresh.load_state_dict(old)


def test_only_a_norm_layers_num_batches_tracked_may_be_missing():
    """The pre-0.4.1 allowance is BatchNorm's (nested, too); another module's buffer of that
    name is missing like any other key (it was skipped by name alone), as in torch."""
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("num_batches_tracked", tinydl.Tensor(np.zeros((), np.int64)))
    with pytest.raises(nn.StateDictError, match="missing keys: 'num_batches_tracked'"):
        Counter().load_state_dict({})
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), Counter())
    state = {k: v for k, v in model.state_dict().items() if "num_batches" not in k}
    assert model.load_state_dict(state, strict=False) == (["2.num_batches_tracked"], [])
    bn = nn.BatchNorm1d(3)  # one layer under two names: excused under both, as before
    shared = nn.Sequential(bn, bn)
    state = {k: v for k, v in shared.state_dict().items() if "num_batches" not in k}
    assert shared.load_state_dict(state) == ([], [])


def test_get_parameter_of_a_none_parameter_raises_as_torch():
    with pytest.raises(AttributeError, match="'bias' of Linear '' is None"):
        nn.Linear(2, 2, bias=False).get_parameter("bias")
    m = nn.Module()
    m.register_buffer("b", None)
    assert m.get_buffer("b") is None


@pytest.mark.parametrize("replacement", [lambda: nn.Linear(1, 1),
                                         lambda: nn.Parameter(tinydl.zeros(1))])
def test_replacing_a_non_persistent_buffer_forgets_that_it_was(replacement):
    """A buffer put back under the name later was left out of state_dict (torch keeps it)."""
    m = nn.Module()
    m.register_buffer("x", tinydl.zeros(1), persistent=False)
    m.x = replacement()
    registry = m._modules if isinstance(m.x, nn.Module) else m._parameters
    del registry["x"]
    m._buffers["x"] = tinydl.ones(1)
    assert list(m.state_dict()) == ["x"]


class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.pl = nn.ParameterList([tinydl.zeros(2), tinydl.ones(3)])
        self.pd = nn.ParameterDict({"a": tinydl.zeros(1)})
        self.seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())


def test_parameter_containers_and_container_methods_as_in_torch():
    """torch's names that raised AttributeError: ParameterList/Dict, Sequential.extend/insert/
    pop, ModuleDict.update/pop/clear, get_submodule/get_parameter/get_buffer, half(). The key
    lists are torch 2.13's for the same calls."""
    m = _Holder()
    m.pl.append(tinydl.zeros(4))
    m.pd["b"] = tinydl.ones(2)
    m.pd.update({"c": tinydl.zeros(3)})
    m.seq.extend([nn.Linear(2, 1)])
    m.seq.insert(1, nn.Tanh())
    assert isinstance(m.seq.pop(1), nn.Tanh) and len(m.seq) == 3
    keys = ["pl.0", "pl.1", "pl.2", "pd.a", "pd.b", "pd.c", "seq.0.weight", "seq.0.bias",
            "seq.2.weight", "seq.2.bias"]
    assert list(m.state_dict()) == keys
    assert [name for name, _ in m.named_parameters()] == keys
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.pl)
    assert m.get_submodule("seq.2") is m.seq[2]
    assert m.get_parameter("seq.0.weight") is m.seq[0].weight
    assert m.get_parameter("pd.b") is m.pd["b"]
    with pytest.raises(AttributeError, match="get_submodule: _Holder.seq has no submodule '7'"):
        m.get_submodule("seq.7.weight")
    with pytest.raises(AttributeError, match="get_parameter: .* has no parameter 'bias'"):
        m.get_parameter("seq.1.bias")
    bn = nn.Sequential(nn.BatchNorm1d(2))
    assert bn.get_buffer("0.running_mean") is bn[0].running_mean
    assert m.pd.pop("a").shape == (1,) and list(m.pd) == ["b", "c"]
    del m.pd["b"]
    assert "b" not in m.pd and len(m.pd) == 1
    m.half()
    assert m.pl[0].dtype == np.float16 and m.seq[0].weight.dtype == np.float16
    d = nn.ModuleDict({"x": nn.ReLU()})
    d.update([("y", nn.Tanh())])
    assert isinstance(d.pop("x"), nn.ReLU) and list(d) == ["y"]
    d.clear()
    assert len(d) == 0 and list(d.state_dict()) == []
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter or a Tensor"):
        nn.ParameterList([[1.0, 2.0]])


def test_sequential_insert_and_pop_as_torch():
    """insert returned None and appended or prepended at an index out of range (torch returns
    the Sequential and raises IndexError); pop(slice) raised "indices must be ints or slices,
    got slice" (torch returns ``self[slice]``, a Sequential keeping the modules' names)."""
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid())

    def layout(seq):
        return [(name, type(m).__name__) for name, m in seq.named_children()]

    ours, theirs = build(tinydl), build(torch)
    assert ours.insert(-1, nn.ELU()) is ours
    assert theirs.insert(-1, torch.nn.ELU()) is theirs
    assert layout(ours) == layout(theirs)
    for index in (5, -5):
        with pytest.raises(IndexError):
            theirs.insert(index, torch.nn.ReLU())
        with pytest.raises(IndexError, match=f"Sequential.insert: index {index} is out of "
                                             r"range for 4 modules \(it must lie in \[-4, 4\]"):
            ours.insert(index, nn.ReLU())
    ours.insert(4, nn.Softsign()).insert(-5, nn.Hardtanh())  # the ends: append, prepend
    theirs.insert(4, torch.nn.Softsign()).insert(-5, torch.nn.Hardtanh())
    assert layout(ours) == layout(theirs)
    for index in (slice(1, 3), slice(None, None, 2), -1):
        popped, want = ours.pop(index), theirs.pop(index)
        assert type(popped).__name__ == type(want).__name__, index
        if isinstance(index, slice):
            assert layout(popped) == layout(want), index
        assert layout(ours) == layout(theirs), index
    with pytest.raises(TypeError, match="Sequential: indices must be ints or slices, got str"):
        ours.pop("0")
    # ModuleList: pop(slice) gives a ModuleList numbered afresh, as torch's
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    tml = torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid()])
    popped, want = ml.pop(slice(1, 3)), tml.pop(slice(1, 3))
    assert type(popped) is nn.ModuleList and layout(popped) == layout(want)
    assert layout(ml) == layout(tml)
    assert ml.insert(0, nn.ELU()) is None  # torch's ModuleList.insert returns nothing
    with pytest.raises(IndexError, match="ModuleList.insert: index 3"):
        ml.insert(3, nn.ReLU())


def test_named_members_remove_duplicate_false_lists_every_name_as_torch():
    def build(m):
        shared = m.Linear(2, 2)
        net = m.Sequential(shared, m.ReLU(), shared)
        net.add_module("tied", m.Linear(2, 2))
        net.tied.weight = net[0].weight
        net[1].register_buffer("b", None)
        return net

    ours = build(nn)
    every = ["0.weight", "0.bias", "2.weight", "2.bias", "tied.weight", "tied.bias"]
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == every
    assert [n for n, _ in ours.named_parameters()] == ["0.weight", "0.bias", "tied.bias"]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        ["", "0", "1", "2", "tied"]
    assert [n for n, _ in ours.named_modules()] == ["", "0", "1", "tied"]
    try:
        import torch
    except ImportError:
        return
    theirs = build(torch.nn)
    for rd in (True, False):
        assert [n for n, _ in ours.named_modules(remove_duplicate=rd)] == \
            [n for n, _ in theirs.named_modules(remove_duplicate=rd)]
        assert [n for n, _ in ours.named_parameters(remove_duplicate=rd)] == \
            [n for n, _ in theirs.named_parameters(remove_duplicate=rd)]


def test_load_state_dict_assign_puts_the_values_in_place_as_torch():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model[0].bias.requires_grad = False
    source = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).double()
    state = source.state_dict()
    assert model.load_state_dict(state, assign=True) == ([], [])
    weight = model[0].weight
    assert type(weight) is nn.Parameter and weight.dtype == np.float64 and weight.requires_grad
    assert np.shares_memory(weight.data, state["0.weight"].data)
    assert not model[0].bias.requires_grad  # the module's flag, as torch keeps it
    assert model[1].running_mean is state["1.running_mean"]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                        "1.bias"]
    assert model(tinydl.randn(4, 2, dtype=np.float64)).dtype == np.float64
    # the default copies into the module's own arrays, keeping their dtype
    copied = nn.Linear(2, 3)
    copied.load_state_dict(source[0].state_dict())
    assert copied.weight.dtype == np.float32


def test_sequential_and_module_list_operators_as_torch():
    def check(m):
        a, b = m.Sequential(m.ReLU()), m.Sequential(m.Tanh(), m.ELU())
        c, d = m.Sequential(m.ReLU()), m.Sequential(m.ReLU())
        c += b
        d *= 3
        listed = m.ModuleList([m.ReLU()])
        listed += [m.Tanh()]
        return ([type(x).__name__ for x in a + b], len(a * 3), len(2 * a), len(c), len(d),
                (a * 2)[0] is (a * 2)[1], len(listed), type(listed + [m.ELU()]).__name__)

    assert check(nn) == (["ReLU", "Tanh", "ELU"], 3, 2, 3, 3, True, 2, "ModuleList")
    with pytest.raises(ValueError, match="must be a Sequential"):
        nn.Sequential() + [nn.ReLU()]
    with pytest.raises(ValueError, match="positive int"):
        nn.Sequential(nn.ReLU()) * 0
    try:
        import torch
    except ImportError:
        return
    assert check(nn) == check(torch.nn)


def test_parameter_dict_from_a_plain_dict_is_in_sorted_key_order_as_torch():
    # torch sorts a plain mapping (an OrderedDict, a ParameterDict or pairs keep their
    # order): in insertion order, the parameters' order (optimizer state, vector layout)
    # differed from torch's for the same code.
    from collections import OrderedDict
    a, b = tinydl.randn(3), tinydl.randn(2)
    assert list(nn.ParameterDict({"b": b, "a": a}).keys()) == ["a", "b"]
    assert [n for n, _ in nn.ParameterDict({"b": b, "a": a}).named_parameters()] == ["a", "b"]
    assert list(nn.ParameterDict(OrderedDict([("b", b), ("a", a)])).keys()) == ["b", "a"]
    assert list(nn.ParameterDict([("b", b), ("a", a)]).keys()) == ["b", "a"]


def test_named_modules_takes_torchs_memo_of_modules():
    s = nn.Sequential(nn.Sequential(nn.ReLU()), nn.Tanh())
    assert [n for n, _ in s.named_modules(memo={s[0]})] == ["", "1"]  # the subtree skipped
    assert [n for n, _ in s.named_modules()] == ["", "0", "0.0", "1"]
