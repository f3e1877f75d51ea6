"""The Optimizer base: groups, zero_grad, skipping, checkpoints (exact resume), accumulation."""
import io

import numpy as np
import pytest

import tinydl
from tinydl import optim
from tinydl.optim import lr_scheduler

ALL = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (optim.Adagrad, dict(lr=0.05, lr_decay=0.01)),
    (optim.Adadelta, dict()),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.NAdam, dict(lr=0.01)),
    (optim.RAdam, dict(lr=0.01, weight_decay=1e-3)),
    (optim.Adamax, dict(lr=0.01)),
    (optim.Rprop, dict(lr=0.01)),
    (optim.ASGD, dict(lr=0.05, t0=3)),
]
IDS = [cls.__name__ for cls, _ in ALL]


def tensor(*shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return tinydl.Tensor(rng.normal(size=shape).astype(dtype), requires_grad=True)


# --- a small model from plain Tensors -------------------------------------------------

def make_model(dtype=np.float32):
    return [tensor(4, 8, dtype=dtype, seed=1), tensor(8, dtype=dtype, seed=2),
            tensor(8, 1, dtype=dtype, seed=3)]


def make_data(n=32, dtype=np.float32):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 4)).astype(dtype)
    y = np.sin(x.sum(axis=1, keepdims=True)).astype(dtype)
    return x, y


def mse(params, x, y):
    w1, b1, w2 = params
    hidden = (tinydl.Tensor(x) @ w1 + b1).tanh()
    return ((hidden @ w2 - tinydl.Tensor(y)) ** 2).mean()


def train(params, optimizer, scheduler, steps, start=0):
    x, y = make_data()
    for step in range(start, start + steps):
        batch = slice(8 * (step % 4), 8 * (step % 4) + 8)
        optimizer.zero_grad()
        mse(params, x[batch], y[batch]).backward()
        optimizer.step()
        scheduler.step()


def through_npz(tree):
    """Flatten a nested dict to an .npz in memory and read it back, as a checkpoint file would."""
    flat = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}/")
        elif isinstance(node, list) and all(isinstance(v, dict) for v in node) and node:
            for i, v in enumerate(node):
                walk(v, f"{prefix}#{i}/")
        else:
            flat[prefix[:-1]] = np.asarray(node)

    walk(tree, "")
    buffer = io.BytesIO()
    np.savez(buffer, **flat)
    buffer.seek(0)
    loaded = np.load(buffer)
    out = {}
    for key in loaded.files:
        node = out
        parts = key.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = loaded[key]

    def unlist(node):
        if isinstance(node, dict):
            if node and all(k.startswith("#") for k in node):
                return [unlist(node[f"#{i}"]) for i in range(len(node))]
            return {k: unlist(v) for k, v in node.items()}
        return node
    return unlist(out)


def only_plain_data(value):
    if isinstance(value, dict):
        return all(only_plain_data(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(only_plain_data(v) for v in value)
    return value is None or isinstance(value, (np.ndarray, int, float, bool, str))


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_exact_resume_bit_for_bit(cls, kw):
    """Save optimizer + scheduler + model mid-run, reload into fresh objects, continue."""
    params = make_model()
    opt = cls(params, **kw)
    sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    train(params, opt, sched, 10)

    params_a = make_model()
    opt_a = cls(params_a, **kw)
    sched_a = lr_scheduler.StepLR(opt_a, step_size=3, gamma=0.5)
    train(params_a, opt_a, sched_a, 5)
    checkpoint = {"model": [p.data.copy() for p in params_a], "optimizer": opt_a.state_dict(),
                  "scheduler": sched_a.state_dict()}
    assert only_plain_data(checkpoint["optimizer"])
    checkpoint["optimizer"] = through_npz(checkpoint["optimizer"])

    params_b = [tinydl.Tensor(a, requires_grad=True) for a in checkpoint["model"]]
    # torch's idiom: build everything fresh, then load each state dict.
    opt_b = cls(params_b, **kw)
    sched_b = lr_scheduler.StepLR(opt_b, step_size=3, gamma=0.5)
    opt_b.load_state_dict(checkpoint["optimizer"])
    sched_b.load_state_dict(checkpoint["scheduler"])
    train(params_b, opt_b, sched_b, 5, start=5)
    for p, q in zip(params, params_b):
        assert p.data.dtype == q.data.dtype == np.float32
        assert np.array_equal(p.data, q.data), f"{cls.__name__}: resumed run differs"


def test_state_dict_is_a_deep_copy_with_index_keys():
    params = make_model()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}])
    for p in params:
        p.grad = tinydl.Tensor(np.ones_like(p.data))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1, 2] and sd["state"][2]["step"] == 1
    sd["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(opt.state[params[0]]["exp_avg"] == 123.0)


def test_load_state_dict_rejects_mismatches():
    params = make_model()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = tinydl.Tensor(np.ones_like(p.data))
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameters"):
        optim.SGD(params[:2], lr=0.1).load_state_dict(sd)
    swapped = [params[2], params[1], params[0]]
    with pytest.raises(ValueError, match="shape"):
        optim.SGD(swapped, lr=0.1, momentum=0.9).load_state_dict(sd)


def test_params_without_grad_are_skipped():
    a, b = tensor(3), tensor(3, seed=1)
    before = b.data.copy()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tinydl.Tensor(np.ones(3, dtype=np.float32))
    opt.step()
    assert np.array_equal(b.data, before) and b not in opt.state and a in opt.state
    assert np.allclose(a.data, tensor(3).data - 0.1, atol=1e-6)


def test_zero_grad_sets_none_or_zero():
    a = tensor(3)
    opt = optim.SGD([a], lr=0.1)
    a.grad = tinydl.Tensor(np.ones(3, dtype=np.float32))
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(a.grad.data, np.zeros(3))
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_fill_defaults_and_reject_duplicates():
    a, b, c = tensor(2), tensor(2), tensor(2)
    opt = optim.SGD([{"params": [a]}, {"params": b, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.5
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="did you mean 'momentum'"):
        optim.SGD([{"params": [tensor(2)], "momentun": 0.9}])


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(tensor(2))
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(2)])
    with pytest.raises(TypeError, match="floating"):
        optim.SGD([tinydl.Tensor(np.zeros(2, dtype=np.int64))])
    a = tensor(3)
    with pytest.raises(RuntimeError, match=r"\.grad: the assigned gradient has shape \(4,\)"):
        a.grad = tinydl.Tensor(np.ones(4, dtype=np.float32))  # refused where it is assigned
    a._grad = tinydl.Tensor(np.ones(4, dtype=a.dtype))  # past that check, step() still checks
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([a], lr=0.1).step()


def test_step_with_closure_returns_loss():
    a = tinydl.Tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([a], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and a.data[0] == pytest.approx(3.0 - 0.25 * 6.0)


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_gradient_accumulation_equals_full_batch(cls, kw):
    """k micro-batches with loss / k accumulate to the full batch's gradient and update."""
    k = 4
    x, y = make_data(n=32, dtype=np.float64)
    full, accum = make_model(np.float64), make_model(np.float64)
    opt_full, opt_accum = cls(full, **kw), cls(accum, **kw)
    for _ in range(3):
        opt_full.zero_grad()
        mse(full, x, y).backward()
        opt_full.step()
        opt_accum.zero_grad()
        for part in range(k):
            rows = slice(part * 8, part * 8 + 8)
            (mse(accum, x[rows], y[rows]) / k).backward()
        for p, q in zip(full, accum):
            np.testing.assert_allclose(q.grad.data, p.grad.data, rtol=1e-10, atol=1e-14)
        opt_accum.step()
    for p, q in zip(full, accum):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-9, atol=1e-12)


def test_zero_dim_parameter_updates_in_place_and_round_trips():
    p = tinydl.Tensor(np.array(2.0), requires_grad=True)
    data = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = tinydl.Tensor(np.array(0.5))
    opt.step()
    assert p.data is data and p.data.shape == () and p.data == pytest.approx(1.9, abs=1e-7)
    q = tinydl.Tensor(p.data.copy(), requires_grad=True)
    other = optim.Adam([q], lr=0.1)
    other.load_state_dict(through_npz(opt.state_dict()))
    for opt_, param in ((opt, p), (other, q)):
        param.grad = tinydl.Tensor(np.array(-1.0))
        opt_.step()
    assert q.data == p.data


def test_non_leaf_parameter_is_refused():
    x = tensor(2)
    with pytest.raises(ValueError, match=r"SGD: can't optimize a non-leaf Tensor \(params\[1\]"):
        optim.SGD([tensor(2), x * 2], lr=0.1)


def test_tensor_option_is_saved_as_an_array_and_restored(tmp_path):
    """A 0-d Tensor lr (torch allows it) survives state_dict, tinydl.save/load and loading."""
    p = tensor(3)
    opt = optim.Adam([p], lr=tinydl.tensor(0.1))
    p.grad = tinydl.Tensor(np.ones(3, dtype=np.float32))
    opt.step()
    sd = opt.state_dict()
    lr = sd["param_groups"][0]["lr"]
    assert isinstance(lr, np.ndarray) and lr.shape == () and lr == np.float32(0.1)
    lr[...] = 5.0  # a copy: the optimizer's Tensor is untouched
    assert opt.param_groups[0]["lr"].item() == pytest.approx(0.1)
    tinydl.save(opt.state_dict(), tmp_path / "adam.npz")
    loaded = tinydl.load(tmp_path / "adam.npz")
    as_tensor = optim.Adam([tensor(3)], lr=tinydl.tensor(0.5))
    as_tensor.load_state_dict(loaded)
    restored = as_tensor.param_groups[0]["lr"]
    assert isinstance(restored, tinydl.Tensor) and restored.item() == pytest.approx(0.1)
    as_number = optim.Adam([tensor(3)], lr=0.5)
    as_number.load_state_dict(loaded)
    assert isinstance(as_number.param_groups[0]["lr"], float)
    assert as_number.param_groups[0]["lr"] == pytest.approx(0.1)
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = tinydl.tensor(0.2)  # a Tensor in a hand-made state dict
    as_number.load_state_dict(sd)
    assert as_number.param_groups[0]["lr"] == pytest.approx(0.2)
    sd["param_groups"][0]["lr"] = {0.2}
    with pytest.raises(TypeError, match=r"Adam\.load_state_dict: option 'lr' holds a set"):
        as_number.load_state_dict(sd)


def test_extra_group_keys_are_kept_as_torch_keeps_them(tmp_path):
    p = tensor(2)
    opt = optim.SGD([{"params": [p], "initial_lr": 0.1, "name": "head", "max_momentum": 0.95}],
                    lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["name"] == "head"
    p.grad = tinydl.Tensor(np.ones(2, dtype=np.float32))
    opt.step()
    tinydl.save(opt.state_dict(), tmp_path / "sgd.npz")
    other = optim.SGD([tensor(2)], lr=0.5, momentum=0.9)
    other.load_state_dict(tinydl.load(tmp_path / "sgd.npz"))
    group = other.param_groups[0]
    assert (group["initial_lr"], group["name"], group["max_momentum"]) == (0.1, "head", 0.95)
    other.load_state_dict(through_npz(opt.state_dict()))
    assert other.param_groups[0]["name"] == "head"
    for cls, key, option in ((optim.SGD, "weight_decy", "weight_decay"),
                             (optim.Adam, "beta", "betas"), (optim.RMSprop, "centred", "centered")):
        with pytest.raises(ValueError, match=f"{cls.__name__}.add_param_group: unknown option "
                                             f"'{key}'; did you mean '{option}'"):
            cls([{"params": [tensor(2)], key: 0.5}])
    with pytest.raises(ValueError, match="'decoupled_weight_decay' is not implemented"):
        optim.SGD([{"params": [tensor(2)], "decoupled_weight_decay": True}])


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.Adadelta, optim.RMSprop,
                                 optim.Adam, optim.AdamW, optim.NAdam])
def test_torch_keyword_options_are_taken(cls):
    """torch code passes maximize=False, foreach=None, fused=None, capturable=False explicitly;
    they raised a TypeError. differentiable=True and a misspelt keyword still raise."""
    opt = cls([tensor(2)], lr=0.1, maximize=False, foreach=None, fused=None, capturable=False,
              differentiable=False)
    assert opt.param_groups[0]["maximize"] is False
    with pytest.raises(ValueError, match=f"{cls.__name__}: differentiable=True"):
        cls([tensor(2)], lr=0.1, differentiable=True)
    with pytest.raises(TypeError, match=f"{cls.__name__}.__init__.* 'maximise'"):
        cls([tensor(2)], lr=0.1, maximise=True)


def test_a_checkpoint_from_before_an_option_loads_with_its_default():
    p = tensor(2)
    opt = optim.Adam([p], lr=0.1)
    saved = opt.state_dict()
    for group in saved["param_groups"]:
        del group["maximize"], group["decoupled_weight_decay"]
    other = optim.AdamW([tensor(2)], lr=0.1)
    other.load_state_dict(saved)
    assert other.param_groups[0]["maximize"] is False
    assert other.param_groups[0]["decoupled_weight_decay"] is True  # AdamW's own default


def test_step_lr_resumes_from_initial_lr_in_group():
    """torch: StepLR(SGD([{..., 'initial_lr': 0.1}], lr=0.1), 3, last_epoch=5) -> [0.01]."""
    opt = optim.SGD([{"params": [tensor(2)], "initial_lr": 0.1}], lr=0.1)
    sched = lr_scheduler.StepLR(opt, 3, last_epoch=5)
    assert sched.get_last_lr() == pytest.approx([0.01], rel=1e-15)


def test_zero_dim_state_is_saved_in_the_parameter_shape():
    p = tinydl.Tensor(np.array(1.0), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = tinydl.Tensor(np.array(0.5))
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["exp_avg"].shape == sd["state"][0]["exp_avg_sq"].shape == ()
    for shape in ((), (1,)):  # torch's shape, and older tinydl checkpoints'
        sd["state"][0]["exp_avg"] = np.full(shape, 0.25)
        other = optim.Adam([tinydl.Tensor(np.array(1.0), requires_grad=True)], lr=0.1)
        other.load_state_dict(sd)
        assert other.state_dict()["state"][0]["exp_avg"] == 0.25
    sd["state"][0]["exp_avg"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"state 'exp_avg' has shape \(2,\), its parameter \(\)"):
        other.load_state_dict(sd)


def test_state_reads_as_torchs_defaultdict():
    """state[p] before the first step was a KeyError naming the parameter's address; torch's
    state is a defaultdict(dict), with values() and get()."""
    p = tinydl.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    assert opt.state.get(p) is None and opt.state[p] == {}
    p.grad = tinydl.Tensor(np.ones(2))
    opt.step()  # the empty dict that reading state[p] made is filled, not taken as state
    assert "momentum_buffer" in opt.state[p]
    assert opt.state.keys() == [p] and opt.state.values() == [opt.state[p]]
    torch = pytest.importorskip("torch")
    q = torch.ones(2, requires_grad=True)
    assert torch.optim.SGD([q], lr=0.1).state[q] == {}


def check_state_follows_the_parameters_to_float64(make_optimizer):
    """Two steps in float32, ``model.double()``, three more steps: the same parameters as a
    float64 twin that loaded the optimizer's state, and every state array float64.
    ``make_optimizer(parameters)`` builds the optimizer (on the parameters it should train)."""
    import tinydl.nn as nn
    x = tinydl.Tensor(np.random.default_rng(3).standard_normal((8, 4)))

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            (model(x.astype(model.weight.dtype)) ** 2).mean().backward()
            opt.step()

    tinydl.manual_seed(0)
    model = nn.Linear(4, 3)
    opt = make_optimizer(list(model.parameters()))
    steps(model, opt, 2)
    twin = nn.Linear(4, 3).double()
    twin.load_state_dict(model.state_dict())
    twin_opt = make_optimizer(list(twin.parameters()))
    twin_opt.load_state_dict(opt.state_dict())  # casts the state to float64
    model.double()
    steps(model, opt, 3)
    steps(twin, twin_opt, 3)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert all(v.dtype == np.float64 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))


@pytest.mark.parametrize("cls, kw", ALL, ids=IDS)
def test_state_follows_the_parameters_to_float64(cls, kw):
    # model.double() after some steps: the float32 moments must become float64, as they do
    # when the state is reloaded into a float64 model (torch raises at the step instead), or
    # every later update is rounded to float32 without a word.
    check_state_follows_the_parameters_to_float64(lambda params: cls(params, **kw))


def test_state_of_another_shape_than_its_parameter_is_refused():
    p = tensor(2, 3)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tinydl.ones(2, 3)
    opt.step()
    p.data = np.zeros((3, 2), np.float32)
    p.grad = tinydl.ones(3, 2)
    with pytest.raises(ValueError, match=r"SGD.step: state 'momentum_buffer' has shape \(2, 3\) "
                                         r"but its parameter has shape \(3, 2\)"):
        opt.step()


def test_named_parameters_are_taken_as_torch_2_takes_them():
    """optim.SGD(model.named_parameters()) raised "can only optimize Tensors, got tuple"."""
    from tinydl import nn
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    params = opt.param_groups[0]["params"]
    assert len(params) == 2 and params[0] is model.weight and params[1] is model.bias
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    model(tinydl.ones(1, 3)).sum().backward()
    before = model.bias.numpy().copy()
    opt.step()
    np.testing.assert_allclose(model.bias.numpy(), before - 0.1)
    with pytest.raises(TypeError, match=r"\(name, Tensor\) pairs, all of them"):
        optim.SGD([("weight", model.weight), model.bias], lr=0.1)
