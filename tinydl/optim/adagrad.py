"""Adagrad (Duchi, Hazan & Singer 2011), torch.optim.Adagrad's rule.

Every coordinate is divided by the root of its own accumulated squared gradients, so
coordinates that have moved a lot take small steps::

    g <- g + wd * theta
    clr = lr / (1 + (t - 1) * lr_decay)
    S <- S + g^2                    (S starts at initial_accumulator_value)
    theta <- theta - clr * g / (sqrt(S) + eps)
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, _working_view, torch_flags


class Adagrad(Optimizer):
    """Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10).

    State per parameter: ``step`` (int), ``sum`` (array S). A group's own
    ``initial_accumulator_value`` starts its parameters' S (torch 2.13 starts every S at the
    constructor's value and ignores the group's). As torch's, the constructor makes the
    state of every parameter it is given (so a ``state_dict`` taken before the first step,
    or of a parameter that never gets a gradient, holds ``step`` 0 and the initial S);
    parameters of a later ``add_param_group`` get theirs at their first step.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, **torch_options):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        **torch_flags("Adagrad", torch_options))
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(_working_view(p.data), group)

    def _check_group(self, group):
        _check_non_negative("Adagrad", lr=group["lr"], lr_decay=group["lr_decay"],
                            weight_decay=group["weight_decay"], eps=group["eps"],
                            initial_accumulator_value=group["initial_accumulator_value"])

    def _init_state(self, param, group):
        return {"step": 0,
                "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group):
        wd = float(group["weight_decay"])
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * param
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        accum = state["sum"]
        accum += grad * grad
        denom = np.sqrt(accum)
        denom += float(group["eps"])
        np.divide(grad, denom, out=denom)
        denom *= clr
        param -= denom
