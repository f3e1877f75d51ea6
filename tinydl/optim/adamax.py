"""Adamax (Kingma & Ba 2015, section 7.1), torch.optim.Adamax's rule.

Adam's second moment generalised from the L2 to the L-infinity norm: the root of an EMA of
g^2 becomes a running, exponentially decayed maximum of |g|, which needs no bias
correction (only the first moment is corrected)::

    g <- g + wd * theta
    m <- b1 * m + (1 - b1) * g             (torch's lerp, as Adam's)
    u <- max(b2 * u, |g| + eps)
    theta <- theta - lr / (1 - b1^t) * m / u

(eps sits inside the maximum, as in torch, so u > 0 from the first step on.)
"""
import numpy as np

from tinydl.optim.optimizer import (Optimizer, _check_betas, _check_non_negative, _lerp_,
                                    torch_flags)


class Adamax(Optimizer):
    """Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0).

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, **torch_options):
        # foreach is positional in torch's signature; like the flags, it is accepted and ignored
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        **torch_flags("Adamax", torch_options))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("Adamax", lr=group["lr"], eps=group["eps"],
                            weight_decay=group["weight_decay"])
        _check_betas("Adamax", group["betas"])

    def _init_state(self, param, group):
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_inf": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * param
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        bound = np.abs(grad)
        bound += float(group["eps"])
        np.maximum(exp_inf, bound, out=exp_inf)
        clr = float(group["lr"]) / (1 - beta1 ** state["step"])
        np.divide(exp_avg, exp_inf, out=bound)
        bound *= clr
        param -= bound
