"""Averaged SGD (Polyak & Juditsky 1992; the schedule of Bottou 2012), torch.optim.ASGD's rule.

Plain SGD with a slowly decaying step size eta_t and a weight-decay-like shrink lambd,
which also keeps a running average ``ax`` of the iterates from step t0 on. The average is
the estimate to use (copy it into the model for evaluation); the iterates themselves are
what the optimizer steps::

    g <- g + wd * theta
    theta <- theta * (1 - lambd * eta) - eta * g
    ax <- theta                      while mu = 1 (through step t0 + 2)
    ax <- ax + mu * (theta - ax)     afterwards: the mean of the iterates from step t0 + 2 on
    eta <- lr / (1 + lambd * lr * t)^alpha ;  mu <- 1 / max(1, t - t0)

eta starts at lr and mu at 1; eta and mu are updated after the step, so step t uses the
values of step t - 1. With torch's default t0 = 1e6 the averaging starts after a million
steps (``ax`` is then the last iterate); set t0 lower to average.

eta and mu are Python floats (float64); torch keeps them as float32 scalars unless its
default dtype is float64, so float64 parameters differ from torch's by ~1e-7 relative there
(equal to 1e-10 with ``torch.set_default_dtype(torch.float64)``).
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, torch_flags


class ASGD(Optimizer):
    """ASGD(params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0).

    State per parameter: ``step`` (int), ``eta`` (float), ``mu`` (float), ``ax`` (array,
    the averaged parameter).
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        # torch's flags are positional in its signature here; foreach and capturable ignored
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        **torch_flags("ASGD", dict(maximize=maximize,
                                                   differentiable=differentiable)))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("ASGD", lr=group["lr"], lambd=group["lambd"],
                            weight_decay=group["weight_decay"])

    def _init_state(self, param, group):
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0, "ax": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        lambd, alpha, t0 = float(group["lambd"]), float(group["alpha"]), float(group["t0"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            grad = grad + wd * param
        eta = state["eta"]
        param *= 1 - lambd * eta
        param -= eta * grad
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (param - ax) * state["mu"]
        else:
            np.copyto(ax, param)
        state["eta"] = lr / (1 + lambd * lr * t) ** alpha
        state["mu"] = 1 / max(1, t - t0)
