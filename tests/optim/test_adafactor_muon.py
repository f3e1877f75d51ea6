"""Adafactor and Muon: closed forms, torch.optim over 30 steps, state dicts, errors.

The torch comparisons run in float64 over parameters of several shapes (the gradient field
of ``tests.optim._reference``) and require agreement to 1e-12 relative (observed: ~1e-14).
torch's Muon orthogonalises in bfloat16; for the exact comparison its bfloat16 cast is made
a copy (float64 throughout, as tinydl computes), and a second test checks that the real
bfloat16 torch stays close.
"""
import numpy as np
import pytest

import tinydl
from tinydl import optim
from tests.optim import _reference
from tests.optim.test_optimizer import check_state_follows_the_parameters_to_float64
from tests.optim._reference import (as_numpy, assert_paths_close, grad_field, initial_params,
                                    tinydl_trajectory, torch_float64, torch_trajectory)

torch = pytest.importorskip("torch")

STEPS = 30
# Adafactor: a matrix and a 3-d tensor are factored, a vector and a scalar are not.
ADAFACTOR_SHAPES = [(3, 4), (2, 3, 5), (5,), ()]
MUON_SHAPES = [(3, 4), (6, 2)]  # wide and tall (the iteration runs on the transpose)


@pytest.fixture
def float64_newton_schulz(monkeypatch):
    """torch's Muon with its bfloat16 cast replaced by a copy: the same arithmetic in float64."""
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone())


def shapes(monkeypatch, shape_list):
    monkeypatch.setattr(_reference, "SHAPES", shape_list)


# --- closed forms worked out by hand ---------------------------------------------------

def test_adafactor_first_step_is_relative_sign_descent():
    # t = 1: beta_t = 1 so v = g^2 and u = g / |g| = sign(g) (rms 1, not clipped);
    # the step is max(eps2, rms(theta)) * min(lr, 1) along -sign(g).
    theta = np.array([0.3, -2.0, 1.0, 0.0])
    g = np.array([0.5, -1e-2, -3.0, 2.0])
    p = tinydl.Tensor(theta.copy(), requires_grad=True)
    opt = optim.Adafactor([p], lr=0.1)
    p.grad = tinydl.Tensor(g)
    opt.step()
    rms = np.sqrt(np.mean(theta ** 2))
    np.testing.assert_allclose(p.data, theta - 0.1 * rms * np.sign(g), rtol=1e-14)
    np.testing.assert_allclose(opt.state[p]["variance"], g ** 2, rtol=1e-15)


def test_adafactor_factored_estimate_is_exact_for_rank_one_squares():
    # g = a b^T: r = a^2 mean(b^2), c = mean(a^2) b^2, mean(r) = mean(a^2) mean(b^2), so the
    # rebuilt estimate r c / mean(r) is g^2 and the first step is again along -sign(g).
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.3, -1.0, 2.0, 4.0])
    g = np.outer(a, b)
    theta = np.arange(12.0).reshape(3, 4) / 10
    p = tinydl.Tensor(theta.copy(), requires_grad=True)
    opt = optim.Adafactor([p], lr=0.5, eps=(1e-30, 1e-3))
    p.grad = tinydl.Tensor(g)
    opt.step()
    state = opt.state[p]
    np.testing.assert_allclose(state["row_var"], (g ** 2).mean(1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(state["col_var"], (g ** 2).mean(0, keepdims=True), rtol=1e-15)
    rms = np.sqrt(np.mean(theta ** 2))
    np.testing.assert_allclose(p.data, theta - 0.5 * rms * np.sign(g), rtol=1e-14)


def test_muon_orthogonalises_and_scales_by_adjusted_lr():
    rng = np.random.default_rng(3)
    g = rng.normal(size=(8, 5))
    theta = rng.normal(size=(8, 5))
    p = tinydl.Tensor(theta.copy(), requires_grad=True)
    opt = optim.Muon([p], lr=0.1, weight_decay=0.2, momentum=0.0, ns_steps=8)
    p.grad = tinydl.Tensor(g)
    opt.step()
    # momentum 0: the update is NS(g); the step is theta (1 - lr wd) - lr sqrt(8/5) NS(g)
    update = (theta * (1 - 0.1 * 0.2) - p.data) / (0.1 * np.sqrt(8 / 5))
    u, s, vt = np.linalg.svd(g, full_matrices=False)
    singular = np.linalg.svd(update, compute_uv=False)
    assert 0.6 < singular.min() and singular.max() < 1.25, singular
    # same singular vectors as g: update = U diag(s') V^T
    np.testing.assert_allclose(u.T @ update @ vt.T, np.diag(np.diag(u.T @ update @ vt.T)),
                               atol=1e-12)


# --- torch.optim as an oracle over 30 steps --------------------------------------------

ADAFACTOR_CASES = [
    dict(),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.5, beta2_decay=-0.5, eps=(1e-6, 1e-2), d=1.5),  # rho_t = 1/sqrt(t) after t = 4
    dict(lr=0.02, eps=(1e-3, 0.0), maximize=True),
]


@pytest.mark.parametrize("kw", ADAFACTOR_CASES,
                         ids=[str(sorted(k.items())) for k in ADAFACTOR_CASES])
def test_adafactor_matches_torch(kw, monkeypatch):
    shapes(monkeypatch, ADAFACTOR_SHAPES)
    ours = tinydl_trajectory(lambda ps: optim.Adafactor(ps, **kw), STEPS)
    theirs = torch_trajectory(
        torch, lambda ps: torch.optim.Adafactor(ps, foreach=False, **kw), STEPS)
    assert_paths_close(ours, theirs, rtol=1e-12, atol=1e-15, what=f"Adafactor{kw}")


# Muon's Newton-Schulz steps are matrix products, which torch (MKL) and NumPy (OpenBLAS)
# round differently, and by how much depends on the CPU's kernels: on an AMD EPYC host an entry
# of 2.3e-4 (among entries of 0.2-0.7) differed from torch's by 2.2e-15 after the 20 steps of
# the param-groups test (its relative error 1e-11); on an Intel Xeon host it was within 1e-15.
MUON_ATOL = 1e-13

MUON_CASES = [
    dict(),
    dict(lr=0.05, momentum=0.9, nesterov=False, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.02, momentum=0.0, weight_decay=0.0, ns_steps=3, adjust_lr_fn="original"),
    dict(lr=0.02, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3),
]


@pytest.mark.parametrize("kw", MUON_CASES, ids=[str(sorted(k.items())) for k in MUON_CASES])
def test_muon_matches_torch_in_float64(kw, monkeypatch, float64_newton_schulz):
    shapes(monkeypatch, MUON_SHAPES)
    ours = tinydl_trajectory(lambda ps: optim.Muon(ps, **kw), STEPS)
    theirs = torch_trajectory(torch, lambda ps: torch.optim.Muon(ps, **kw), STEPS)
    assert_paths_close(ours, theirs, rtol=1e-12, atol=MUON_ATOL, what=f"Muon{kw}")


def test_muon_stays_close_to_torchs_bfloat16_iteration(monkeypatch):
    shapes(monkeypatch, MUON_SHAPES)
    kw = dict(lr=0.02)
    ours = tinydl_trajectory(lambda ps: optim.Muon(ps, **kw), STEPS)
    theirs = torch_trajectory(torch, lambda ps: torch.optim.Muon(ps, **kw), STEPS)
    start = initial_params()
    for i in range(len(MUON_SHAPES)):
        moved = np.abs(theirs[-1][i] - start[i]).max()  # about lr * steps
        assert np.abs(ours[-1][i] - theirs[-1][i]).max() < 0.02 * moved


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_param_groups_and_scheduler_match_torch(name, monkeypatch, float64_newton_schulz):
    shapes(monkeypatch, [(3, 4), (4, 2)])

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.03, "weight_decay": 0.05}]

    def make_scheduler(mod):
        return lambda opt: mod.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)

    ours = tinydl_trajectory(lambda ps: getattr(optim, name)(groups(ps), lr=0.2), STEPS,
                             make_scheduler=make_scheduler(optim))
    theirs = torch_trajectory(torch, lambda ps: getattr(torch.optim, name)(groups(ps), lr=0.2),
                              STEPS, make_scheduler=make_scheduler(torch.optim))
    assert_paths_close(ours, theirs, rtol=1e-12, atol=MUON_ATOL if name == "Muon" else 1e-15,
                       what=f"{name} groups + StepLR")


STATE_CASES = [("Adafactor", dict(lr=0.05, weight_decay=0.01), ADAFACTOR_SHAPES),
               ("Muon", dict(lr=0.02), MUON_SHAPES)]


@pytest.mark.parametrize("name, kw, shape_list", STATE_CASES, ids=[n for n, _, _ in STATE_CASES])
def test_state_and_torch_state_dict_load(name, kw, shape_list, monkeypatch,
                                         float64_newton_schulz):
    """After 10 steps our state has torch's keys, shapes and values and our group torch's
    options; torch's state_dict, as arrays, loads into a fresh optimizer that continues as
    torch; our own state_dict round trip continues identically."""
    shapes(monkeypatch, shape_list)
    with torch_float64(torch):
        theirs = [torch.tensor(a, requires_grad=True) for a in initial_params()]
        torch_opt = getattr(torch.optim, name)(theirs, **kw)
    ours = [tinydl.Tensor(a, requires_grad=True) for a in initial_params()]
    opt = getattr(optim, name)(ours, **kw)

    def step_ours(params, optimizer, start):
        for t in range(start, start + 10):
            for p, g in zip(params, grad_field([p.data for p in params], t)):
                p.grad = tinydl.Tensor(g)
            optimizer.step()

    def step_torch(start):
        with torch_float64(torch):
            for t in range(start, start + 10):
                for p, g in zip(theirs, grad_field([p.detach().numpy() for p in theirs], t)):
                    p.grad = torch.tensor(g)
                torch_opt.step()

    step_ours(ours, opt, 0)
    step_torch(0)
    ours_sd, theirs_sd = opt.state_dict(), as_numpy(torch_opt.state_dict())
    assert set(ours_sd["param_groups"][0]) <= set(theirs_sd["param_groups"][0]) | {"maximize"}
    for key, value in ours_sd["param_groups"][0].items():
        if key in theirs_sd["param_groups"][0]:
            assert theirs_sd["param_groups"][0][key] == value, key
    for i in range(len(shape_list)):
        assert sorted(ours_sd["state"][i]) == sorted(theirs_sd["state"][i]), name
        for key, value in theirs_sd["state"][i].items():
            assert np.shape(ours_sd["state"][i][key]) == np.shape(value), (name, key)
            np.testing.assert_allclose(ours_sd["state"][i][key], value, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{name} state {key!r}")
    copies = [tinydl.Tensor(p.data.copy(), requires_grad=True) for p in ours]
    resumed = getattr(optim, name)(copies, **kw)
    resumed.load_state_dict(ours_sd)
    from_torch = [tinydl.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in theirs]
    loaded = getattr(optim, name)(from_torch, **kw)
    loaded.load_state_dict(theirs_sd)
    for params, optimizer in [(ours, opt), (copies, resumed), (from_torch, loaded)]:
        step_ours(params, optimizer, 10)
    step_torch(10)
    for p, q in zip(copies, ours):
        np.testing.assert_array_equal(p.data, q.data, err_msg=f"{name} resumed, own state_dict")
    for p, q in zip(from_torch, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name} resumed from torch's state_dict")


def two_d(params):
    """The parameters Muon takes (the matrices) of a test_optimizer model."""
    return [p for p in params if p.ndim == 2]


@pytest.mark.parametrize("name, kw", [("Adafactor", dict(lr=0.05)), ("Muon", dict(lr=0.02))])
def test_exact_resume_through_save_and_load(name, kw, tmp_path):
    """Optimizer + StepLR saved mid-run with tinydl.save (None options included), loaded into
    fresh objects: the run continues bit for bit (float32)."""
    from tests.optim.test_optimizer import make_model, train
    select = two_d if name == "Muon" else list

    def fresh(params):
        opt = getattr(optim, name)(select(params), **kw)
        return opt, optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    params = make_model()
    train(params, *fresh(params), 10)
    params_a = make_model()
    opt_a, sched_a = fresh(params_a)
    train(params_a, opt_a, sched_a, 5)
    tinydl.save(opt_a.state_dict(), tmp_path / "opt.npz")
    params_b = [tinydl.Tensor(p.data.copy(), requires_grad=True) for p in params_a]
    opt_b, sched_b = fresh(params_b)
    opt_b.load_state_dict(tinydl.load(tmp_path / "opt.npz"))
    sched_b.load_state_dict(sched_a.state_dict())
    train(params_b, opt_b, sched_b, 5, start=5)
    for p, q in zip(params, params_b):
        assert p.data.dtype == q.data.dtype == np.float32
        np.testing.assert_array_equal(p.data, q.data, err_msg=f"{name}: resumed run differs")


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_state_follows_the_parameters_to_float64(name):
    """model.double() after some steps casts the (factored) state to float64, as loading the
    state into a float64 model does (Muon on the weight only: it takes 2-d parameters)."""
    select = two_d if name == "Muon" else list
    check_state_follows_the_parameters_to_float64(
        lambda params: getattr(optim, name)(select(params), lr=0.05))


def test_adafactor_steps_over_an_empty_parameter():
    # torch divides by its zero element count (ZeroDivisionError); there is nothing to update
    empty, full = (tinydl.Tensor(np.zeros(s), requires_grad=True) for s in [(0, 3), (2,)])
    opt = optim.Adafactor([empty, full])
    empty.grad, full.grad = tinydl.Tensor(np.zeros((0, 3))), tinydl.Tensor(np.ones(2))
    opt.step()
    assert opt.state[empty]["row_var"].shape == (0, 1) and full.data[0] < 0


def test_adafactor_state_of_wrong_shape_is_refused():
    p = tinydl.Tensor(np.zeros((3, 4)), requires_grad=True)
    opt = optim.Adafactor([p])
    p.grad = tinydl.Tensor(np.ones((3, 4)))
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["row_var"] = np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"Adafactor.load_state_dict: state 'row_var' has "
                                         r"shape \(4, 1\), expected \(3, 1\)"):
        optim.Adafactor([p]).load_state_dict(sd)


@pytest.mark.parametrize("name, kw, shape_list", STATE_CASES, ids=[n for n, _, _ in STATE_CASES])
def test_float32_params_stay_float32_and_track_float64(name, kw, shape_list, monkeypatch):
    shapes(monkeypatch, shape_list)
    ours32 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), 20, dtype=np.float32)
    ours64 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), 20)
    assert all(a.dtype == np.float32 for step in ours32 for a in step)
    assert_paths_close(ours32, ours64, rtol=1e-4, atol=1e-5, what=f"{name} float32")


# --- argument checks, raised where torch raises -----------------------------------------

@pytest.mark.parametrize("kw", [dict(lr=-1.0), dict(beta2_decay=0.5), dict(eps=(-1.0, 1e-3)),
                                dict(eps=(None, -1e-3)), dict(d=0.5),
                                dict(weight_decay=-0.1)])
def test_adafactor_bad_hyperparameters_raise_as_torch(kw):
    with pytest.raises(ValueError):
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError, match="Adafactor: invalid"):
        optim.Adafactor([tinydl.Tensor(np.zeros(2), requires_grad=True)], **kw)


@pytest.mark.parametrize("kw", [dict(lr=-1.0), dict(momentum=-0.1), dict(weight_decay=-0.1),
                                dict(adjust_lr_fn="sqrt")])
def test_muon_bad_hyperparameters_raise_as_torch(kw):
    with pytest.raises(ValueError):
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kw)
    with pytest.raises(ValueError, match="Muon: "):
        optim.Muon([tinydl.Tensor(np.zeros((2, 2)), requires_grad=True)], **kw)


@pytest.mark.parametrize("shape", [(3,), (), (2, 3, 4)])
def test_muon_refuses_parameters_that_are_not_2d(shape):
    with pytest.raises(ValueError, match="2D parameters"):
        torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
    with pytest.raises(ValueError, match=r"Muon only supports 2-d parameters .* shape "
                                         + str(shape).replace("(", r"\(").replace(")", r"\)")):
        optim.Muon([tinydl.Tensor(np.zeros(shape), requires_grad=True)])
    opt = optim.Muon([tinydl.Tensor(np.zeros((2, 2)), requires_grad=True)])
    with pytest.raises(ValueError, match="Muon only supports 2-d"):
        opt.add_param_group({"params": [tinydl.Tensor(np.zeros(shape), requires_grad=True)]})


@pytest.mark.parametrize("kw", [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))])
def test_muon_bad_iteration_options_are_refused_at_construction(kw):
    # torch accepts them and raises at the first step; tinydl where they enter.
    torch_opt = torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kw)
    torch_opt.param_groups[0]["params"][0].grad = torch.ones(2, 2)
    with pytest.raises(ValueError):
        torch_opt.step()
    with pytest.raises(ValueError, match="Muon: ns_"):
        optim.Muon([tinydl.Tensor(np.zeros((2, 2)), requires_grad=True)], **kw)


def test_keyword_options_as_torch():
    p = tinydl.Tensor(np.zeros((2, 2)), requires_grad=True)
    assert optim.Adafactor([p], foreach=None, maximize=True).param_groups[0]["maximize"] is True
    for bad in [dict(fused=True), dict(maximise=True)]:
        with pytest.raises(TypeError):
            torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **bad)
        with pytest.raises(TypeError, match="Adafactor"):
            optim.Adafactor([p], **bad)
    with pytest.raises(TypeError):
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], maximize=True)
    with pytest.raises(TypeError, match="maximize"):
        optim.Muon([p], maximize=True)
