"""Adadelta (Zeiler 2012), torch.optim.Adadelta's rule.

The step is the gradient rescaled by the ratio of two running RMS values, the past
updates' over the past gradients', so that it carries the units of the parameter::

    g <- g + wd * theta
    v <- rho * v + (1 - rho) * g^2
    d = sqrt(u + eps) / sqrt(v + eps) * g
    u <- rho * u + (1 - rho) * d^2
    theta <- theta - lr * d
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, torch_flags


class Adadelta(Optimizer):
    """Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0).

    State per parameter: ``step`` (int), ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, **torch_options):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      **torch_flags("Adadelta", torch_options)))

    def _check_group(self, group):
        _check_non_negative("Adadelta", lr=group["lr"], eps=group["eps"],
                            weight_decay=group["weight_decay"])
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {group['rho']!r} (must be in [0, 1])")

    def _init_state(self, param, group):
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        rho = float(group["rho"])
        eps = float(group["eps"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        delta *= float(group["lr"])
        param -= delta
