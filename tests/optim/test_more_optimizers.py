"""RAdam, Adamax, Rprop and ASGD: closed forms, torch.optim over 30 steps, state, errors.

The torch comparisons run 30 steps in float64 over two parameters (the gradient field of
``tests.optim._reference``) and require agreement to 1e-12 relative (observed: a few ulps;
torch's ``add_(x, alpha=a)`` is a fused multiply-add, NumPy's ``p - a * x`` is not).
"""
import numpy as np
import pytest

import tinydl
from tinydl import optim
from tests.optim._reference import (as_numpy, assert_matches_torch, assert_paths_close,
                                    grad_field, initial_params, one_param_run,
                                    tinydl_trajectory, torch_float64)

STEPS = 30


# --- closed forms worked out by hand ---------------------------------------------------

def test_radam_is_momentum_sgd_until_rho_t_passes_5_then_rectified():
    # A constant gradient makes mhat = g exactly; rho_t (b2 = 0.999) is <= 5 for t <= 5,
    # so those steps are -lr g; step 6 is Adam's (vhat = g^2) times r_6.
    lr, g, b2 = 0.1, 2.0, 0.999
    theta = one_param_run(optim.RAdam, 1.0, [g] * 5, lr=lr)
    assert theta == pytest.approx(1.0 - 5 * lr * g, rel=1e-14)
    rho_inf = 2 / (1 - b2) - 1
    rho_6 = rho_inf - 2 * 6 * b2 ** 6 / (1 - b2 ** 6)
    assert rho_6 > 5 > rho_inf - 2 * 5 * b2 ** 5 / (1 - b2 ** 5)
    r_6 = np.sqrt((rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6))
    # v_6 = g^2 (1 - b2^6): the adaptive lr sqrt(1 - b2^6) / (sqrt(v_6) + eps)
    bc2 = 1 - b2 ** 6
    expected = theta - lr * g * np.sqrt(bc2) / (abs(g) * np.sqrt(bc2) + 1e-8) * r_6
    assert one_param_run(optim.RAdam, 1.0, [g] * 6, lr=lr) == pytest.approx(expected, rel=1e-12)


def test_adamax_first_steps():
    # t = 1: m = (1-b1) g, u = |g| + eps, step lr / (1-b1) * m / u = lr g / (|g| + eps).
    assert one_param_run(optim.Adamax, 0.0, [-3.0], lr=0.1) == \
        pytest.approx(0.1 * 3.0 / (3.0 + 1e-8), rel=1e-14)
    # t = 2 with a smaller gradient: u keeps b2 |g1| (the decayed maximum).
    b1, b2, eps = 0.9, 0.999, 1e-8
    m = b1 * (1 - b1) * 4.0 + (1 - b1) * 1.0
    u = max(b2 * (4.0 + eps), 1.0 + eps)
    expected = -0.1 * 4.0 / (4.0 + eps) - 0.1 / (1 - b1 ** 2) * m / u
    assert one_param_run(optim.Adamax, 0.0, [4.0, 1.0], lr=0.1) == \
        pytest.approx(expected, rel=1e-14)


def test_rprop_step_sizes_grow_shrink_and_rest():
    lr = 0.1
    # Same sign three times: steps lr, 1.2 lr, 1.44 lr.
    assert one_param_run(optim.Rprop, 0.0, [1.0, 2.0, 0.5], lr=lr) == \
        pytest.approx(-lr * (1 + 1.2 + 1.44), rel=1e-14)
    # A flip at step 3: its step size halves (1.2 lr -> 0.6 lr) and it rests; step 4 (g_prev
    # is 0 then) moves by 0.6 lr in the new direction.
    assert one_param_run(optim.Rprop, 0.0, [1.0, 1.0, -1.0, -1.0], lr=lr) == \
        pytest.approx(-lr - 1.2 * lr + 0.6 * lr, rel=1e-14)
    # The bounds: step_sizes clip every step size.
    assert one_param_run(optim.Rprop, 0.0, [1.0] * 4, lr=lr, step_sizes=(0, 0.11)) == \
        pytest.approx(-lr - 3 * 0.11, rel=1e-14)


def test_asgd_average_is_the_mean_of_the_iterates_after_t0():
    p = tinydl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    t0 = 3
    opt = optim.ASGD([p], lr=0.05, lambd=1e-3, t0=t0)
    iterates = []
    for t in range(1, 11):
        p.grad = tinydl.Tensor(np.sin(3 * p.data) + 0.1 * t)
        opt.step()
        iterates.append(p.data.copy())
        state = opt.state[p]
        # step t uses mu = 1 / max(1, t - 1 - t0): ax is the iterate through step t0 + 2,
        # then the mean of the iterates from step t0 + 2 on (iterates[i] is step i + 1's)
        start = t - 1 if t <= t0 + 2 else t0 + 1
        np.testing.assert_allclose(state["ax"], np.mean(iterates[start:], axis=0), rtol=1e-14)
        assert state["eta"] == pytest.approx(0.05 / (1 + 1e-3 * 0.05 * t) ** 0.75, rel=1e-15)
        assert state["mu"] == 1 / max(1, t - t0)


# --- torch.optim as an oracle over 30 steps --------------------------------------------

CASES = [
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, maximize=True)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5))),  # rho_inf = 3: never rectified
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.05)),
    ("Adamax", dict(lr=0.01, betas=(0.0, 0.99), eps=1e-3, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=5, weight_decay=0.01)),
    ("ASGD", dict(lr=0.05, t0=3, weight_decay=0.02, maximize=True)),
]


@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{sorted(k.items())}" for n, k in CASES])
def test_matches_torch(name, kw):
    assert_matches_torch(name, kw, STEPS, rtol=1e-12, atol=1e-15)


STATE_CASES = [("RAdam", dict(lr=0.01, weight_decay=0.01)), ("Adamax", dict(lr=0.01)),
               ("Rprop", dict(lr=0.02)), ("ASGD", dict(lr=0.05, t0=4))]


@pytest.mark.parametrize("name, kw", STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_state_and_torch_state_dict_load(name, kw):
    """After 10 steps our state has torch's keys and values (ASGD's 'ax' average included);
    torch's state_dict, as arrays, loads into a fresh optimizer that continues as torch."""
    torch = pytest.importorskip("torch")
    with torch_float64(torch):
        theirs = [torch.tensor(a, requires_grad=True) for a in initial_params()]
        torch_opt = getattr(torch.optim, name)(theirs, **kw)
    ours = [tinydl.Tensor(a, requires_grad=True) for a in initial_params()]
    opt = getattr(optim, name)(ours, **kw)

    def run(steps, start):
        with torch_float64(torch):
            for t in range(start, start + steps):
                for p, g in zip(ours, grad_field([p.data for p in ours], t)):
                    p.grad = tinydl.Tensor(g)
                opt.step()
                for p, g in zip(theirs, grad_field([p.detach().numpy() for p in theirs], t)):
                    p.grad = torch.tensor(g)
                torch_opt.step()

    run(10, 0)
    ours_sd, theirs_sd = opt.state_dict(), as_numpy(torch_opt.state_dict())
    for i in range(2):
        assert sorted(ours_sd["state"][i]) == sorted(theirs_sd["state"][i]), name
        for key, value in theirs_sd["state"][i].items():
            np.testing.assert_allclose(ours_sd["state"][i][key], value, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{name} state {key!r}")
    ours = [tinydl.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in theirs]
    opt = getattr(optim, name)(ours, **kw)
    opt.load_state_dict(theirs_sd)
    run(10, 10)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name} resumed from torch's state_dict")


@pytest.mark.parametrize("name, kw", STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_float32_params_stay_float32_and_track_float64(name, kw):
    ours32 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), 20, dtype=np.float32)
    ours64 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), 20)
    assert all(a.dtype == np.float32 for step in ours32 for a in step)
    assert_paths_close(ours32, ours64, rtol=1e-4, atol=1e-5, what=f"{name} float32")


# --- argument checks --------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda ps: optim.RAdam(ps, lr=-1.0), "invalid lr"),
    (lambda ps: optim.RAdam(ps, betas=(0.9, 1.0)), "RAdam: betas"),
    (lambda ps: optim.RAdam(ps, eps=-1.0), "invalid eps"),
    (lambda ps: optim.Adamax(ps, betas=(-0.1, 0.9)), "Adamax: betas"),
    (lambda ps: optim.Adamax(ps, weight_decay=-1e-2), "invalid weight_decay"),
    (lambda ps: optim.Rprop(ps, etas=(1.5, 1.2)), "eta- < 1 < eta+"),
    (lambda ps: optim.Rprop(ps, etas=(0.5, 1.0)), "eta- < 1 < eta+"),
    (lambda ps: optim.Rprop(ps, step_sizes=(1.0, 0.1)), "min <= max"),
    (lambda ps: optim.ASGD(ps, lr=-0.1), "invalid lr"),
    (lambda ps: optim.ASGD(ps, weight_decay=-0.1), "invalid weight_decay"),
    (lambda ps: optim.ASGD(ps, differentiable=True), "ASGD: differentiable=True"),
])
def test_bad_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([tinydl.Tensor(np.zeros(2), requires_grad=True)])


@pytest.mark.parametrize("cls", [optim.RAdam, optim.Adamax, optim.Rprop])
def test_torch_keyword_options_are_taken(cls):
    p = tinydl.Tensor(np.zeros(2), requires_grad=True)
    opt = cls([p], lr=0.1, maximize=False, foreach=None, capturable=False, differentiable=False)
    assert opt.param_groups[0]["maximize"] is False
    with pytest.raises(ValueError, match=f"{cls.__name__}: differentiable=True"):
        cls([p], lr=0.1, differentiable=True)
    with pytest.raises(TypeError, match=f"{cls.__name__}.__init__.* 'maximise'"):
        cls([p], lr=0.1, maximise=True)


def test_flags_that_torch_takes_positionally():
    """torch's Adamax takes foreach as its 6th positional argument, ASGD foreach, maximize,
    differentiable, capturable as 7th to 10th."""
    p = tinydl.Tensor(np.zeros(2), requires_grad=True)
    optim.Adamax([p], 2e-3, (0.9, 0.999), 1e-8, 0, None)
    opt = optim.ASGD([p], 1e-2, 1e-4, 0.75, 1e6, 0, None, True, False, False)
    assert opt.param_groups[0]["maximize"] is True
    with pytest.raises(TypeError, match="fused"):
        optim.ASGD([p], fused=None)  # torch's ASGD has no fused either


@pytest.mark.parametrize("grads", [([np.inf, 1.0], [1.0, 1.0], [1.0, 1.0]),
                                   ([1.0, 1.0], [np.nan, 1.0], [1.0, 1.0], [-1.0, 1.0]),
                                   ([1.0, 1.0], [-np.inf, 1.0], [1.0, -1.0], [1.0, 1.0])])
def test_rprop_with_a_nan_or_inf_gradient_steps_as_torch(grads):
    # One NaN or inf gradient (inf beside a previous 0 makes a NaN product) made the
    # parameter NaN for good; torch's sign(nan) is 0: it skips that coordinate once.
    torch = pytest.importorskip("torch")
    a = tinydl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ours, theirs = optim.Rprop([a], lr=0.1), torch.optim.Rprop([b], lr=0.1)
    for g in grads:
        a.grad, b.grad = tinydl.Tensor(np.array(g)), torch.tensor(g, dtype=torch.float64)
        with np.errstate(all="raise"):
            ours.step()
        theirs.step()
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-15)
