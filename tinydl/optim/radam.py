"""RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate"), torch.optim's rule.

Early on, Adam's second moment rests on a handful of gradients and its adaptive step has a
large variance. RAdam estimates the length rho_t of the simple moving average that v_t
approximates and, while it is too short (rho_t <= 5), takes a plain momentum-SGD step;
afterwards it takes Adam's step scaled by a rectification factor r_t < 1::

    g <- g + wd * theta                     (or, decoupled: theta <- theta * (1 - lr * wd))
    m <- b1 * m + (1 - b1) * g ;  v <- b2 * v + (1 - b2) * g^2
    mhat = m / (1 - b1^t)
    rho_inf = 2 / (1 - b2) - 1 ;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
    rho_t > 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                theta <- theta - lr * mhat * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t
    otherwise:  theta <- theta - lr * mhat

With the default b2 = 0.999, rho_t passes 5 at the sixth step.
"""
import numpy as np

from tinydl.optim.optimizer import (Optimizer, _check_betas, _check_non_negative, _decayed,
                                    _lerp_, torch_flags)


class RAdam(Optimizer):
    """RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False).

    ``decoupled_weight_decay=True`` decays the weights directly, as AdamW (RAdamW).
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, **torch_options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=bool(decoupled_weight_decay))
        defaults.update(torch_flags("RAdam", torch_options))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("RAdam", lr=group["lr"], eps=group["eps"],
                            weight_decay=group["weight_decay"])
        _check_betas("RAdam", group["betas"])

    def _init_state(self, param, group):
        return {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        t = state["step"]
        grad = _decayed(param, grad, lr, wd, group["decoupled_weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction2 = 1 - beta2 ** t
        step = exp_avg / (1 - beta1 ** t)
        step *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
        if rho_t > 5.0:  # the variance of the adaptive lr is finite: rectify it
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denom = np.sqrt(exp_avg_sq)
            denom += float(group["eps"])
            np.divide(bias_correction2 ** 0.5, denom, out=denom)
            step *= denom
            step *= rect
        param -= step
