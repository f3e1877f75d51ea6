"""Every optimizer's update rule: SPEC.md section 7 values, closed forms, torch.optim.

The torch comparisons run ~20 steps in float64 over two parameters for each option
combination and require agreement to 1e-6 relative (observed: float64 round-off).
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl
from tinydl import optim
from tests.optim._reference import (assert_matches_torch, assert_paths_close, one_param_run,
                                    tinydl_trajectory, torch_trajectory)

STEPS = 20


# --- SPEC.md section 7 test values ----------------------------------------------------

def test_sgd_nesterov_spec_value():
    assert one_param_run(optim.SGD, 0.0, [1, 1], lr=0.1, momentum=0.9, nesterov=True) == \
        pytest.approx(-0.461, abs=1e-12)


def test_sgd_dampening_spec_value():
    assert one_param_run(optim.SGD, 0.0, [1, 1], lr=0.1, momentum=0.9, dampening=0.5) == \
        pytest.approx(-0.24, abs=1e-12)


def test_adam_spec_value():
    assert one_param_run(optim.Adam, 1.0, [0.5], lr=0.1) == pytest.approx(0.900000002, abs=1e-12)


def test_adamw_spec_value():
    assert one_param_run(optim.AdamW, 1.0, [0.5], lr=0.1, weight_decay=0.01) == \
        pytest.approx(0.899000002, abs=1e-12)


def test_nadam_spec_value():
    assert one_param_run(optim.NAdam, 0.0, [1.0]) == pytest.approx(-0.0021129035355817, abs=1e-15)


# --- closed forms worked out by hand ----------------------------------------------------

def test_sgd_plain_is_gradient_step():
    assert one_param_run(optim.SGD, 2.0, [3.0, -1.0], lr=0.1) == pytest.approx(2.0 - 0.3 + 0.1)


def test_sgd_momentum_heavy_ball_sum():
    # b1 = g, b2 = mu g + g, b3 = mu^2 g + mu g + g: theta = -lr g (3 + 2 mu + mu^2)
    mu = 0.5
    assert one_param_run(optim.SGD, 0.0, [1, 1, 1], lr=0.1, momentum=mu) == \
        pytest.approx(-0.1 * (3 + 2 * mu + mu * mu))


def test_sgd_weight_decay_adds_to_gradient():
    assert one_param_run(optim.SGD, 2.0, [0.0], lr=0.1, weight_decay=0.5) == pytest.approx(2.0 - 0.1)


def test_adagrad_closed_form():
    # S = S0 + g1^2 + g2^2 after two steps; step 2 uses lr / (1 + lr_decay)
    lr, decay, s0, eps = 0.5, 0.1, 0.2, 1e-10
    s1 = s0 + 4.0
    s2 = s1 + 1.0
    expected = 1.0 - lr * 2.0 / (math.sqrt(s1) + eps) - lr / (1 + decay) * 1.0 / (math.sqrt(s2) + eps)
    assert one_param_run(optim.Adagrad, 1.0, [2.0, 1.0], lr=lr, lr_decay=decay,
                         initial_accumulator_value=s0) == pytest.approx(expected, rel=1e-14)


def test_adagrad_makes_its_state_in_the_constructor_as_torch():
    """torch's Adagrad fills every given parameter's state at construction (step 0, S at
    the initial value): a state_dict before the first step, or of a parameter that never
    gets a gradient, holds it. A parameter added later gets its state at its first step."""
    used = tinydl.Tensor(np.zeros(3), requires_grad=True)
    unused = tinydl.Tensor(np.zeros(()), requires_grad=True)
    opt = optim.Adagrad([used, unused], initial_accumulator_value=0.25)
    state = opt.state_dict()["state"]
    assert sorted(state) == [0, 1] and state[0]["step"] == 0 and state[1]["step"] == 0
    np.testing.assert_array_equal(state[0]["sum"], [0.25] * 3)
    assert np.shape(state[1]["sum"]) == () and state[1]["sum"] == 0.25
    used.grad = tinydl.Tensor(np.full(3, 2.0))
    opt.step()
    state = opt.state_dict()["state"]
    np.testing.assert_array_equal(state[0]["sum"], [4.25] * 3)
    assert state[0]["step"] == 1 and state[1]["step"] == 0
    later = tinydl.Tensor(np.zeros(2), requires_grad=True)
    opt.add_param_group({"params": [later]})
    assert 2 not in opt.state_dict()["state"]


def test_adadelta_first_step():
    # v = (1 - rho) g^2, d = sqrt(eps) / sqrt(v + eps) g
    rho, eps, g = 0.9, 1e-6, 2.0
    d = math.sqrt(eps) / math.sqrt((1 - rho) * g * g + eps) * g
    assert one_param_run(optim.Adadelta, 0.0, [g], lr=1.0) == pytest.approx(-d, rel=1e-14)


def test_rmsprop_first_step_centered():
    # v = (1-a) g^2, gbar = (1-a) g, avg = sqrt(v - gbar^2) + eps
    a, g, lr, eps = 0.99, 3.0, 0.01, 1e-8
    avg = math.sqrt((1 - a) * g * g - ((1 - a) * g) ** 2) + eps
    assert one_param_run(optim.RMSprop, 0.0, [g], lr=lr, centered=True) == \
        pytest.approx(-lr * g / avg, rel=1e-12)


def test_adam_first_step_is_sign_step():
    # Bias correction makes mhat = g and vhat = g^2 at t = 1: the step is lr g / (|g| + eps).
    for g in (1e-3, -7.0, 42.0):
        assert one_param_run(optim.Adam, 0.0, [g], lr=0.01) == \
            pytest.approx(-0.01 * g / (abs(g) + 1e-8), rel=1e-12)


def test_adam_amsgrad_uses_running_max():
    # A large then a small gradient: amsgrad's denominator keeps the large v.
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    m, v, vmax, theta = 0.0, 0.0, 0.0, 0.0
    for t, g in enumerate([10.0, 0.1, 0.1], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        theta -= lr / (1 - b1 ** t) * m / (math.sqrt(vmax) / math.sqrt(1 - b2 ** t) + eps)
    assert one_param_run(optim.Adam, 0.0, [10.0, 0.1, 0.1], lr=lr, amsgrad=True) == \
        pytest.approx(theta, rel=1e-13)


# --- torch.optim as an oracle over 20 steps --------------------------------------------

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3, weight_decay=0.01)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.02)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.02)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.02, eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.85, 0.995), weight_decay=0.02)),
    # beta1 (alpha) <= 0.5: torch's lerp then works from the gradient's side
    ("Adam", dict(lr=0.01, betas=(0.0, 0.99))),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.99))),
    ("AdamW", dict(lr=0.01, betas=(0.0, 0.9))),
    ("NAdam", dict(lr=0.01, betas=(0.0, 0.999))),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),
    # torch's maximize (the gradient negated first), on every optimizer; decoupled weight
    # decay as an option of Adam (AdamW's rule) and NAdam (NAdamW)
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.01, maximize=True)),
    ("Adadelta", dict(lr=0.5, weight_decay=0.02, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.02, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.02, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("name, kw", CASES, ids=[f"{n}-{sorted(k.items())}" for n, k in CASES])
def test_matches_torch(name, kw):
    assert_matches_torch(name, kw, STEPS)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_match_torch(name):
    """Two groups with their own options, as torch.optim's per-group dicts."""
    torch = pytest.importorskip("torch")
    extra = {"SGD": dict(momentum=0.9, nesterov=True), "Adam": dict(amsgrad=True),
             "RMSprop": dict(centered=True)}[name]

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.003, **extra}]

    ours = tinydl_trajectory(lambda ps: getattr(optim, name)(groups(ps), lr=0.02), STEPS)
    theirs = torch_trajectory(
        torch, lambda ps: getattr(torch.optim, name)(groups(ps), lr=0.02, foreach=False), STEPS)
    assert_paths_close(ours, theirs, what=f"{name} groups")


@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                      ("Adam", dict(lr=0.01, amsgrad=True)),
                                      ("NAdam", dict(lr=0.01)),
                                      ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True))])
def test_float32_params_stay_float32_and_track_float64(name, kw):
    ours32 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), STEPS, dtype=np.float32)
    ours64 = tinydl_trajectory(lambda ps: getattr(optim, name)(ps, **kw), STEPS)
    assert all(a.dtype == np.float32 for step in ours32 for a in step)
    assert_paths_close(ours32, ours64, rtol=1e-4, atol=1e-5, what=f"{name} float32")


@pytest.mark.parametrize("numba", [True, False])
@pytest.mark.parametrize("name, kw, key", [
    ("Adam", dict(betas=(0.0, 0.99)), "exp_avg"), ("AdamW", dict(betas=(0.0, 0.99)), "exp_avg"),
    ("NAdam", dict(betas=(0.0, 0.99)), "exp_avg"),
    ("RMSprop", dict(alpha=0.0, centered=True), "grad_avg")])
def test_an_average_with_no_memory_is_the_gradient_exactly(name, kw, key, numba):
    """beta1 = 0 (a GAN's usual Adam) or alpha = 0: the running average is the gradient
    itself. Written m + (1 - b1)(g - m), a small g after a large one was lost to rounding
    (m stayed 0 after 1e17 then 1 in float64; 0.01000977 instead of 0.01 after 1000 then
    0.01 in float32); torch's lerp gives g."""
    for dtype, grads in ((np.float64, (1e17, 1.0)), (np.float32, (1000.0, 0.01))):
        p = tinydl.Tensor(np.zeros(3, dtype), requires_grad=True)
        opt = getattr(optim, name)([p], lr=0.1, **kw)
        with tinydl.backends.flags(numba=numba):
            for g in grads:
                p.grad = tinydl.Tensor(np.full(3, g, dtype))
                opt.step()
        np.testing.assert_array_equal(opt.state[p][key], np.full(3, grads[-1], dtype))


# --- argument checks --------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=-1.0),
    lambda ps: optim.SGD(ps, lr=0.1, nesterov=True),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
    lambda ps: optim.Adam(ps, betas=(0.9, 1.0)),
    lambda ps: optim.AdamW(ps, eps=-1e-8),
    lambda ps: optim.NAdam(ps, momentum_decay=-1.0),
    lambda ps: optim.Adadelta(ps, rho=1.5),
    lambda ps: optim.Adagrad(ps, lr_decay=-0.1),
    lambda ps: optim.RMSprop(ps, alpha=-0.5),
])
def test_bad_hyperparameters_raise(make):
    with pytest.raises(ValueError):
        make([tinydl.Tensor(np.zeros(2), requires_grad=True)])


# --- shapes: the update is elementwise for any parameter shape ---------------------------

ELEMENTWISE = [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
               (optim.Adagrad, dict(lr=0.1, lr_decay=0.1)),
               (optim.Adadelta, dict(weight_decay=0.1)),
               (optim.RMSprop, dict(momentum=0.5, centered=True)),
               (optim.Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
               (optim.AdamW, dict(lr=0.1)),
               (optim.NAdam, dict(lr=0.1)),
               (optim.RAdam, dict(lr=0.1, weight_decay=0.1)),
               (optim.Adamax, dict(lr=0.1)),
               (optim.Rprop, dict(lr=0.1)),
               (optim.ASGD, dict(lr=0.1, t0=1))]


@settings(max_examples=20, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), seed=st.integers(0, 2 ** 16),
       which=st.integers(0, len(ELEMENTWISE) - 1))
def test_update_is_elementwise_for_any_shape(shape, seed, which):
    """Any shape (0-d included) gives the same numbers as each element optimised alone."""
    cls, kw = ELEMENTWISE[which]
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=shape)
    grads = [rng.normal(size=shape) for _ in range(3)]
    p = tinydl.Tensor(theta.copy(), requires_grad=True)
    opt = cls([p], **kw)
    for g in grads:
        p.grad = tinydl.Tensor(g.copy())
        opt.step()
    assert p.data.shape == shape
    alone = [one_param_run(cls, theta.flat[i], [g.flat[i] for g in grads], **kw)
             for i in range(theta.size)]
    np.testing.assert_allclose(p.data.reshape(-1), alone, rtol=1e-12, atol=1e-15,
                               err_msg=f"{cls.__name__} shape {shape}")


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=None),
    lambda ps: optim.SGD(ps, lr=0.1, weight_decay=True),
    lambda ps: optim.Adam(ps, lr=None),
    lambda ps: optim.Adagrad([{"params": ps, "initial_accumulator_value": None}]),
    lambda ps: optim.RMSprop(ps, eps="1e-8"),
])
def test_hyperparameters_that_are_not_numbers_raise_at_construction(make):
    """None or a bool failed later inside the update (or, for True, counted as 1.0)."""
    with pytest.raises(TypeError, match="must be a real number"):
        make([tinydl.Tensor(np.zeros(2), requires_grad=True)])


def test_number_like_hyperparameters_are_accepted():
    p = tinydl.Tensor(np.zeros(2), requires_grad=True)
    optim.SGD([p], lr=np.float32(0.1), momentum=np.array(0.9))
    optim.Adam([p], lr=tinydl.tensor(0.01))
