"""LinearLR, ConstantLR, SequentialLR and ChainedScheduler against torch.optim.lr_scheduler, step by step."""
import numpy as np
import pytest

import tinydl
from tinydl import optim
from tinydl.optim import lr_scheduler as sched
from tests.optim.test_lr_scheduler import lrs_over

STEPS = 30


def lrs_of(lib, tensor, make, steps=STEPS):
    """Every group's lr at construction and after each optimizer+scheduler step."""
    groups = [{"params": [tensor()]}, {"params": [tensor()], "lr": 0.2}]
    opt = lib.SGD(groups, lr=0.1, momentum=0.9)
    scheduler = make(lib.lr_scheduler, opt)
    seq = [[g["lr"] for g in opt.param_groups] + list(scheduler.get_last_lr())]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        seq.append([g["lr"] for g in opt.param_groups] + list(scheduler.get_last_lr()))
    return np.array(seq, dtype=np.float64)


CASES = {
    "LinearLR-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=7),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=9),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4),
    "Sequential-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
            m.CosineAnnealingLR(o, T_max=20, eta_min=0.001)], milestones=[5]),
    "Sequential-three": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=4, gamma=0.5)], milestones=[6, 15]),
    "Chained-linear-exponential": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=6), m.ExponentialLR(o, gamma=0.95)]),
    "Chained-cosine-multistep": lambda m, o: m.ChainedScheduler(
        [m.CosineAnnealingLR(o, T_max=8, eta_min=0.01), m.MultiStepLR(o, [4, 10, 10], 0.5)]),
    "Chained-step-constant-linear": lambda m, o: m.ChainedScheduler(
        [m.StepLR(o, 3, 0.7), m.ConstantLR(o, 0.5, 5), m.LinearLR(o, 0.5, 1.0, 10)]),
    # CyclicLR once overwrote 'initial_lr' with its base_lr, so the warm-up before it ran
    # at a tenth of the optimizer's lr
    "Sequential-warmup-cyclic": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=3),
            m.CyclicLR(o, base_lr=0.01, max_lr=0.05, step_size_up=2)], milestones=[3]),
    "Chained-with-sequential": lambda m, o: m.ChainedScheduler(
        [m.SequentialLR(o, [m.LinearLR(o, 0.25, total_iters=4), m.ExponentialLR(o, 0.9)], [4]),
         m.StepLR(o, step_size=10, gamma=0.5)]),
    "Chained-polynomial-multiplicative": lambda m, o: m.ChainedScheduler(
        [m.PolynomialLR(o, total_iters=10, power=0.5), m.MultiplicativeLR(o, lambda e: 0.97)]),
    "Sequential-warmup-polynomial": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4),
            m.PolynomialLR(o, total_iters=20, power=2.0)], milestones=[4]),
    # a multiplicative schedule started at a milestone multiplies by lr_lambda(0) there
    "Sequential-polynomial-multiplicative": lambda m, o: m.SequentialLR(
        o, [m.PolynomialLR(o, total_iters=6), m.MultiplicativeLR(o, lambda e: 0.5 + 0.1 * e)],
        milestones=[8]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch_step_by_step(case):
    torch = pytest.importorskip("torch")
    ours = lrs_of(optim, lambda: tinydl.Tensor(np.zeros(2), requires_grad=True), CASES[case])
    theirs = lrs_of(torch.optim, lambda: torch.zeros(2, requires_grad=True), CASES[case])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=case)


RESUMED = {
    # T_cur starts at last_epoch, more than a period in: it wraps by %, not by one period
    "CAWR-T0-5": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, last_epoch=9),
    "CAWR-Tmult-2": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                               last_epoch=5),
    # the cycle runs from base_lr, not from the group's 'initial_lr'
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.05, step_size_up=2,
                                        last_epoch=3, cycle_momentum=False),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=8, power=1.5, last_epoch=3),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9, last_epoch=3),
}


@pytest.mark.parametrize("case", sorted(RESUMED))
def test_resumed_schedules_match_torch(case):
    """A scheduler rebuilt with last_epoch (as after loading a checkpoint's optimizer, whose
    groups hold 'initial_lr') continues as torch's does."""
    torch = pytest.importorskip("torch")

    def lrs(lib, tensor):
        opt = lib.SGD([tensor()], lr=0.1, momentum=0.9)
        opt.param_groups[0]["initial_lr"] = 0.1
        scheduler = RESUMED[case](lib.lr_scheduler, opt)
        return lrs_over(scheduler, 12)

    ours = lrs(optim, lambda: tinydl.Tensor(np.zeros(2), requires_grad=True))
    theirs = lrs(torch.optim, lambda: torch.zeros(2, requires_grad=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=case)


def sgd(lr=1.0):
    return optim.SGD([tinydl.Tensor(np.zeros(1), requires_grad=True)], lr=lr)


def test_linear_warmup_closed_form_without_torch():
    got = lrs_over(sched.LinearLR(sgd(2.0), start_factor=0.25, total_iters=3), 5)
    np.testing.assert_allclose(got, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0], rtol=1e-14)


def test_two_recursive_schedules_multiply():
    opt = sgd(1.0)
    a = sched.ExponentialLR(opt, gamma=0.5)
    b = sched.StepLR(opt, step_size=2, gamma=0.1)
    chained = sched.ChainedScheduler([a, b])
    got = lrs_over(chained, 4)
    expected = [0.5 ** e * 0.1 ** (e // 2) for e in range(5)]
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_sequential_restarts_second_schedule_from_base_lr():
    opt = sgd(1.0)
    s = sched.SequentialLR(opt, [sched.ExponentialLR(opt, 0.5), sched.ExponentialLR(opt, 0.9)],
                           milestones=[3])
    got = lrs_over(s, 5)
    np.testing.assert_allclose(got, [1, .5, .25, 1, .9, .81], rtol=1e-14)


def test_state_dict_round_trip_of_sequential():
    def make(opt):
        return sched.SequentialLR(opt, [sched.LinearLR(opt, 0.1, total_iters=4),
                                        sched.CosineAnnealingLR(opt, T_max=10)], milestones=[4])
    opt = sgd(1.0)
    s = make(opt)
    lrs_over(s, 6)
    opt2 = sgd(1.0)
    s2 = make(opt2)
    s2.load_state_dict(s.state_dict())
    opt2.load_state_dict(opt.state_dict())
    assert lrs_over(s2, 8).tolist() == lrs_over(s, 8).tolist()


def test_bad_arguments():
    opt = sgd()
    with pytest.raises(ValueError, match="milestones"):
        sched.SequentialLR(opt, [sched.LinearLR(opt), sched.ExponentialLR(opt, 0.9)], [2, 4])
    with pytest.raises(ValueError, match="another optimizer"):
        sched.ChainedScheduler([sched.LinearLR(opt), sched.LinearLR(sgd())])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        sched.ChainedScheduler([sched.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="start_factor"):
        sched.LinearLR(opt, start_factor=0.0)
