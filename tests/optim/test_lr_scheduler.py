"""Schedules: SPEC.md section 8 closed forms and torch.optim.lr_scheduler over ~30 steps."""
import math
import warnings

import numpy as np
import pytest

import tinydl
from tinydl import optim
from tinydl.optim import lr_scheduler as sched

STEPS = 30


def sgd(lr=0.1, momentum=0.9, groups=1):
    params = [tinydl.Tensor(np.zeros(2), requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)


def lrs_over(scheduler, steps):
    """lr at construction (step 0) and after each of ``steps`` optimizer+scheduler steps."""
    out = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return np.array(out)


# --- SPEC.md section 8 values and closed forms -------------------------------------------

def test_construction_performs_step_zero():
    opt = sgd(lr=0.3)
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    assert s.last_epoch == 0 and s.get_last_lr() == [0.3]
    assert opt.param_groups[0]["initial_lr"] == 0.3


def test_steplr_closed_form():
    got = lrs_over(sched.StepLR(sgd(lr=0.2), step_size=3, gamma=0.5), 10)
    np.testing.assert_allclose(got, [0.2 * 0.5 ** (e // 3) for e in range(11)], rtol=1e-15)


def test_multisteplr_closed_form_with_repeated_milestone():
    got = lrs_over(sched.MultiStepLR(sgd(lr=1.0), milestones=[5, 2, 5], gamma=0.1), 7)
    np.testing.assert_allclose(got, [1, 1, .1, .1, .1, 1e-3, 1e-3, 1e-3], rtol=1e-12)


def test_exponentiallr_closed_form():
    got = lrs_over(sched.ExponentialLR(sgd(lr=0.5), gamma=0.9), 10)
    np.testing.assert_allclose(got, 0.5 * 0.9 ** np.arange(11), rtol=1e-13)


def test_lambdalr_per_group():
    opt = sgd(lr=0.1, groups=2)
    s = sched.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: e])
    for _ in range(3):
        opt.step()
        s.step()
    assert s.get_last_lr() == pytest.approx([0.1 / 4, 0.1 * 3])


def test_cosine_spec_value():
    got = lrs_over(sched.CosineAnnealingLR(sgd(lr=0.1), T_max=10), 10)
    assert got[5] == pytest.approx(0.05, abs=1e-15)
    assert got[0] == 0.1 and got[10] == pytest.approx(0.0, abs=1e-17)


def test_cosine_warm_restarts_closed_form():
    got = lrs_over(sched.CosineAnnealingWarmRestarts(sgd(lr=1.0), T_0=2, T_mult=2, eta_min=0.1), 14)
    # restarts at 2 and 2 + 4 = 6 and 6 + 8 = 14
    cycles = [(0, 2), (2, 4), (6, 8), (14, 16)]
    expected = []
    for e in range(15):
        start, period = max(c for c in cycles if c[0] <= e)
        expected.append(0.1 + 0.9 * (1 + math.cos(math.pi * (e - start) / period)) / 2)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_multiplicative_and_polynomial_closed_forms():
    got = lrs_over(sched.MultiplicativeLR(sgd(lr=0.5), lambda e: 1 / (e + 1)), 5)
    # base * prod_{k=1..e} 1 / (k + 1) = base / (e + 1)!
    np.testing.assert_allclose(got, [0.5 / math.factorial(e + 1) for e in range(6)], rtol=1e-14)
    got = lrs_over(sched.PolynomialLR(sgd(lr=0.5), total_iters=4, power=2.0), 6)
    np.testing.assert_allclose(got, [0.5 * (1 - min(e, 4) / 4) ** 2 for e in range(7)],
                               rtol=1e-14, atol=1e-17)


def test_cyclic_spec_values():
    s = sched.CyclicLR(sgd(), base_lr=0.1, max_lr=1.0, step_size_up=2, cycle_momentum=False)
    np.testing.assert_allclose(lrs_over(s, 4), [0.1, 0.55, 1.0, 0.55, 0.1], rtol=1e-14)


def test_cyclic_triangular2_halves_amplitude():
    s = sched.CyclicLR(sgd(), base_lr=0.0, max_lr=1.0, step_size_up=1, mode="triangular2",
                       cycle_momentum=False)
    np.testing.assert_allclose(lrs_over(s, 6), [0, 1, 0, 0.5, 0, 0.25, 0], atol=1e-15)


def test_onecycle_spec_values():
    s = sched.OneCycleLR(sgd(), max_lr=1.0, total_steps=10, cycle_momentum=False)
    got = lrs_over(s, 9)
    np.testing.assert_allclose(got[[0, 1, 2, 9]], [0.04, 0.52, 1.0, 4e-6], rtol=1e-12)


def test_onecycle_stepping_past_total_raises():
    opt = sgd()
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):  # torch allows last_epoch == total_steps
        opt.step()
        s.step()
    opt.step()
    with pytest.raises(ValueError, match="total_steps"):
        s.step()


def test_plateau_reduces_after_patience_and_respects_cooldown_and_min_lr():
    opt = sgd(lr=1.0)
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5, 5, 5, 5, 5, 5, 5, 5, 5]:
        s.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    # bad count: 0, 1, 2 -> cut; cooldown step; 1, 2 -> cut; cooldown; 1, 2 -> floor 0.2
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]


def test_scheduler_before_optimizer_warns():
    opt = sgd()
    s = sched.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        s.step()
    opt2 = sgd()
    s2 = sched.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        sched.CyclicLR(sgd(), 0.1, 1.0, mode="square")
    with pytest.raises(ValueError):
        sched.CyclicLR(optim.Adagrad([tinydl.Tensor(np.zeros(1), requires_grad=True)]), 0.1, 1.0)
    with pytest.raises(ValueError):
        sched.OneCycleLR(sgd(), max_lr=1.0)
    with pytest.raises(ValueError):
        sched.ReduceLROnPlateau(sgd(), factor=1.5)
    with pytest.raises(ValueError):
        sched.CosineAnnealingWarmRestarts(sgd(), T_0=0)
    with pytest.raises(ValueError, match="eta_min must be a float or int"):
        sched.CosineAnnealingWarmRestarts(sgd(), T_0=3, eta_min=None)
    with pytest.raises(TypeError):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(TypeError, match="MultiplicativeLR: lr_lambda must be a function"):
        sched.MultiplicativeLR(sgd(), 0.9)
    with pytest.raises(ValueError, match="MultiplicativeLR: expected 1 values"):
        sched.MultiplicativeLR(sgd(), [lambda e: 0.9, lambda e: 0.8])
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be a positive"):
        sched.PolynomialLR(sgd(), total_iters=0)
    with pytest.raises(ValueError, match="PolynomialLR: power must be a number >= 0"):
        sched.PolynomialLR(sgd(), power=-1.0)


def test_state_dict_resume():
    opt = sgd(lr=1.0)
    s = sched.CyclicLR(opt, base_lr=0.1, max_lr=1.0, step_size_up=3, mode="exp_range", gamma=0.9)
    for _ in range(5):
        opt.step()
        s.step()
    opt2 = sgd(lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    s2 = sched.CyclicLR(opt2, base_lr=0.1, max_lr=1.0, step_size_up=3, mode="exp_range", gamma=0.9)
    s2.load_state_dict(s.state_dict())
    opt2.load_state_dict(opt.state_dict())
    assert lrs_over(s2, 8).tolist() == lrs_over(s, 8).tolist()


@pytest.mark.parametrize("make", [
    lambda o: sched.LambdaLR(o, lambda e: 0.5 ** e),
    lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=4),
    lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2),
    lambda o: sched.StepLR(o, step_size=1)], ids=["lambda", "cawr", "cyclic", "step"])
def test_group_added_after_the_scheduler(make):
    """torch raises (a strict zip) for the closed-form schedules rather than leave the new
    group's lr alone; the recursive ones (StepLR) scale whatever groups there are."""
    opt = sgd()
    s = make(opt)
    opt.add_param_group({"params": [tinydl.Tensor(np.zeros(2), requires_grad=True)], "lr": 1.0})
    opt.step()
    if isinstance(s, sched.StepLR):
        s.step()
        assert s.get_last_lr() == pytest.approx([0.01, 0.1])
    else:
        with pytest.raises(ValueError, match="2 parameter groups but the schedule was built for 1"):
            s.step()


def test_plateau_with_a_group_added_later():
    """A scalar min_lr covers the new group (which is reduced too); a list cannot (torch raises)."""
    def run(min_lr):
        opt = sgd(lr=0.1)
        s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=min_lr)
        opt.add_param_group({"params": [tinydl.Tensor(np.zeros(2), requires_grad=True)],
                             "lr": 0.01})
        for _ in range(6):
            opt.step()
            s.step(1.0)
        return [g["lr"] for g in opt.param_groups]

    assert run(0.0) == pytest.approx([0.025, 0.0025])
    with pytest.raises(RuntimeError, match="min_lr lists 1"):
        run([0.0])


def test_multisteplr_resumes_from_a_torch_state_dict():
    # torch keeps milestones as a Counter; kept as is, the next step raised AttributeError
    torch = pytest.importorskip("torch")
    to = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ts = torch.optim.lr_scheduler.MultiStepLR(to, milestones=[2, 4, 4], gamma=0.5)
    do = sgd(lr=1.0)
    ds = sched.MultiStepLR(do, milestones=[9], gamma=0.5)
    for _ in range(3):
        to.step()
        ts.step()
    ds.load_state_dict(ts.state_dict())
    do.param_groups[0]["lr"] = to.param_groups[0]["lr"]
    assert ds.milestones == [2, 4, 4]
    for _ in range(3):
        to.step(), do.step()
        ts.step(), ds.step()
        assert do.param_groups[0]["lr"] == to.param_groups[0]["lr"]


class _Decay:
    """A stateful lr_lambda / scale_fn: its attribute ``k`` changes during training."""

    def __init__(self):
        self.k = 1.0

    def __call__(self, e):
        return self.k * 0.9 ** e


@pytest.mark.parametrize("kind", ["lambda", "cyclic"])
def test_stateful_callable_attributes_are_saved(kind):
    """torch keeps a callable object's attributes in the scheduler's state_dict (a plain
    function is saved as None); a resumed schedule then continues with them."""
    def make(opt, fn):
        if kind == "lambda":
            return sched.LambdaLR(opt, fn)
        return sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=fn,
                              scale_mode="iterations")

    fn = _Decay()
    opt = sgd()
    s = make(opt, fn)
    for _ in range(3):
        opt.step()
        s.step()
    fn.k = 0.5
    state = s.state_dict()
    fresh = _Decay()
    opt2 = sgd()
    s2 = make(opt2, fresh)
    s2.load_state_dict(state)
    assert fresh.k == 0.5
    assert s2.lr_lambdas[0] is fresh if kind == "lambda" else s2.scale_fn_custom is fresh
    assert lrs_over(s2, 4).tolist() == lrs_over(s, 4).tolist()
    plain = sched.LambdaLR(sgd(), lambda e: 1.0)
    assert plain.state_dict()["lr_lambdas"] == [None]


# --- torch.optim.lr_scheduler as an oracle ----------------------------------------------

def run_pair(torch, make_ours, make_theirs, opt_name="SGD", opt_kw=None, steps=STEPS,
             metrics=None):
    """(lr, momentum) of every group at construction and after each step, for both."""
    opt_kw = opt_kw or dict(lr=0.1, momentum=0.9)
    mom = "betas" if opt_name in ("Adam", "AdamW", "NAdam") else "momentum"

    def record(opt):
        return [(g["lr"], g[mom][0] if mom == "betas" else g[mom]) for g in opt.param_groups]

    out = []
    for lib, make, tensor in ((optim, make_ours, lambda: tinydl.Tensor(np.zeros(2), requires_grad=True)),
                              (torch.optim, make_theirs, lambda: torch.zeros(2, requires_grad=True))):
        groups = [{"params": [tensor()]}, {"params": [tensor()], "lr": opt_kw["lr"] * 2}]
        opt = getattr(lib, opt_name)(groups, **opt_kw)
        s = make(lib.lr_scheduler, opt)
        seq = [record(opt)]
        for t in range(steps):
            opt.step()
            s.step(metrics[t]) if metrics is not None else s.step()
            seq.append(record(opt))
        out.append(np.array(seq, dtype=np.float64))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-15)


TORCH_CASES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e + (e % 3)),
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.7),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=12, eta_min=0.01),
    "CAWR": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
    "CAWR-Tmult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "Cyclic-triangular": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                 cycle_momentum=False),
    "Cyclic-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=3,
                                                  step_size_down=5, mode="triangular2"),
    "Cyclic-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range",
                                                gamma=0.95, base_momentum=0.7, max_momentum=0.95),
    "Cyclic-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                               scale_fn=lambda x: 1 / (1 + 0.1 * x), scale_mode="iterations"),
    "OneCycle-cos": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS),
    "OneCycle-linear": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], epochs=3, steps_per_epoch=10,
                                                 anneal_strategy="linear", pct_start=0.25),
    "OneCycle-three_phase": lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS,
                                                      three_phase=True, div_factor=10.0,
                                                      final_div_factor=100.0),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 + 0.02 * (e % 4)),
    "MultiplicativeLR-groups": lambda m, o: m.MultiplicativeLR(
        o, [lambda e: 0.95, lambda e: 1.0 - 0.01 * e]),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o),
    "PolynomialLR-power": lambda m, o: m.PolynomialLR(o, total_iters=12, power=2.5),
    "PolynomialLR-root": lambda m, o: m.PolynomialLR(o, total_iters=40, power=0.5),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch_sgd(case):
    torch = pytest.importorskip("torch")
    make = TORCH_CASES[case]
    run_pair(torch, make, make)


@pytest.mark.parametrize("case", ["Cyclic-exp_range", "OneCycle-cos", "OneCycle-three_phase"])
def test_cycle_momentum_moves_adam_beta1_as_torch(case):
    torch = pytest.importorskip("torch")
    make = TORCH_CASES[case]
    run_pair(torch, make, make, opt_name="Adam", opt_kw=dict(lr=0.01))


def test_cawr_fractional_epochs_match_torch():
    torch = pytest.importorskip("torch")
    epochs = [0.25 * k for k in range(40)] + [3.0, 27.5, 1.0]
    out = []
    for lib, tensor in ((optim, lambda: tinydl.Tensor(np.zeros(1), requires_grad=True)),
                        (torch.optim, lambda: torch.zeros(1, requires_grad=True))):
        opt = lib.SGD([tensor()], lr=0.5)
        s = lib.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3)
        seq = []
        for e in epochs:
            opt.step()
            s.step(e)
            seq.append(s.get_last_lr()[0])
        out.append(seq)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


def test_step_with_epoch_matches_torch():
    """step(epoch): PolynomialLR jumps by its closed form (past total_iters too),
    MultiplicativeLR, which has none, multiplies once by lr_lambda(epoch)."""
    torch = pytest.importorskip("torch")
    epochs = [2, 7, 3, 12, 4, 0]
    out = []
    for lib, tensor in ((optim, lambda: tinydl.Tensor(np.zeros(1), requires_grad=True)),
                        (torch.optim, lambda: torch.zeros(1, requires_grad=True))):
        seq = []
        for make in (lambda o: lib.lr_scheduler.PolynomialLR(o, total_iters=5, power=1.5),
                     lambda o: lib.lr_scheduler.MultiplicativeLR(o, lambda e: 0.9 ** e)):
            opt = lib.SGD([tensor()], lr=0.5)
            s = make(opt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch deprecates step(epoch)
                for e in epochs:
                    opt.step()
                    s.step(e)
                    seq.append(s.get_last_lr()[0])
        out.append(seq)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-13, atol=1e-17)


PLATEAU_METRICS = [10, 9, 9, 9, 8.9995, 9, 9, 9, 9, 7, 7.5, 7, 7, 7, 6.9, 7, 7, 7, 7, 7,
                   7, 7, 7, 7, 7, 7, 7, 7, 7, 7]


@pytest.mark.parametrize("kw", [
    dict(patience=2),
    dict(patience=1, threshold=1e-3, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=2, factor=0.5),
    dict(mode="max", threshold_mode="abs", threshold=0.5, patience=0, min_lr=[0.02, 0.05]),
    dict(patience=0, factor=0.5, min_lr=0.09, eps=0.02),
], ids=str)
def test_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    make = lambda m, o: m.ReduceLROnPlateau(o, **kw)  # noqa: E731
    run_pair(torch, make, make, metrics=PLATEAU_METRICS)


@pytest.mark.parametrize("make", [
    lambda o: sched.MultiStepLR(o, milestones=[2.5, 4]),
    lambda o: sched.SequentialLR(o, [sched.ConstantLR(o), sched.ExponentialLR(o, 0.9)],
                                 milestones=[67.5]),
], ids=["MultiStepLR", "SequentialLR"])
def test_a_fractional_milestone_is_refused(make):
    # torch never reaches 67.5 (= 0.75 * 90: the epoch counter is an int) and int() fired it
    # at 67: either way not the schedule written
    with pytest.raises(ValueError, match="milestone .* is not a whole epoch"):
        make(sgd(lr=0.1))


def test_numpy_integer_counts_and_integral_float_milestones_are_accepted():
    o = sgd(lr=1.0)
    assert sched.MultiStepLR(o, [2.0, np.int64(4)]).milestones == [2, 4]
    assert np.array_equal(lrs_over(sched.StepLR(sgd(lr=1.0), np.int64(2), gamma=0.5), 5),
                          lrs_over(sched.StepLR(sgd(lr=1.0), 2, gamma=0.5), 5))
    sched.LinearLR(sgd(lr=1.0), total_iters=np.int64(4))
    sched.OneCycleLR(sgd(lr=1.0), max_lr=1.0, epochs=np.int64(2), steps_per_epoch=np.int32(3))
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        sched.SequentialLR(o, [], [])


def test_reduce_on_plateau_takes_torchs_deprecated_epoch_argument():
    s = sched.ReduceLROnPlateau(sgd(lr=1.0))
    with pytest.warns(DeprecationWarning, match="epoch argument is deprecated"):
        s.step(1.0, 5)
    assert s.last_epoch == 5
    s.step(1.0)
    assert s.last_epoch == 6


def test_a_tensor_lr_is_filled_in_place_as_torch():
    # The group's 0-d Tensor lr was replaced: code holding it (or an lr shared by two
    # optimizers) kept reading the first value.
    p = tinydl.Tensor(np.ones(2), requires_grad=True)
    lr = tinydl.tensor(np.float64(0.1))
    opt = optim.SGD([p], lr=lr)
    sched = optim.lr_scheduler.StepLR(opt, 1, 0.5)
    for _ in range(2):
        p.grad = tinydl.Tensor(np.ones(2))
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] is lr and float(lr) == 0.025
    assert float(sched.get_last_lr()[0]) == 0.025
    np.testing.assert_allclose(p.data, 1 - 0.1 - 0.05)


def test_adamw_has_no_decoupled_weight_decay_argument():
    # AdamW(..., decoupled_weight_decay=False) became coupled-L2 Adam silently; torch raises
    with pytest.raises(TypeError, match="AdamW: unexpected keyword argument"):
        optim.AdamW([tinydl.Tensor(np.ones(2), requires_grad=True)], decoupled_weight_decay=False)
