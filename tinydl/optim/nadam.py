"""NAdam (Dozat 2016): Adam with Nesterov momentum, torch.optim.NAdam's rule.

The momentum coefficient warms up, mu_t = b1 (1 - 0.5 * 0.96^(t psi)) with psi the
momentum_decay, and the step mixes the current gradient with the *next* step's momentum::

    g <- g + wd * theta
    mu_t = b1 (1 - .5 * .96^(t psi)),  mu_next = b1 (1 - .5 * .96^((t + 1) psi))
    P <- P * mu_t                         (P, the product of the mu's, starts at 1)
    m <- b1 * m + (1 - b1) * g ;  v <- b2 * v + (1 - b2) * g^2
    denom = sqrt(v / (1 - b2^t)) + eps
    theta <- theta - lr (1 - mu_t) / (1 - P) * g / denom
    theta <- theta - lr mu_next / (1 - P mu_next) * m / denom

P is a Python float (float64); torch keeps it as a float32 scalar unless its default dtype is
float64, so float64 parameters differ from torch's by ~6e-8 relative there.
"""
import numpy as np

from tinydl.optim.optimizer import (Optimizer, _check_betas, _check_non_negative, _decayed,
                                    _lerp_, torch_flags)


class NAdam(Optimizer):
    """NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3).

    State per parameter: ``step`` (int), ``mu_product`` (float P), ``exp_avg`` (m),
    ``exp_avg_sq`` (v).
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, **torch_options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=False)
        defaults.update(torch_flags("NAdam", torch_options, ("decoupled_weight_decay",)))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("NAdam", lr=group["lr"], eps=group["eps"],
                            weight_decay=group["weight_decay"],
                            momentum_decay=group["momentum_decay"])
        _check_betas("NAdam", group["betas"])

    def _init_state(self, param, group):
        return {"step": 0, "mu_product": 1.0,
                "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        t = state["step"]
        grad = _decayed(param, grad, lr, wd, group.get("decoupled_weight_decay"))  # NAdamW
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = exp_avg_sq / (1 - beta2 ** t)
        np.sqrt(denom, out=denom)
        denom += float(group["eps"])
        param -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
