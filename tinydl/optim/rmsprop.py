"""RMSprop (Hinton, Coursera lecture 6e), torch.optim.RMSprop's rule.

Divide the gradient by a running RMS of recent gradients; ``centered`` subtracts the
squared running mean (a variance estimate); ``momentum`` accumulates the normalised step::

    g <- g + wd * theta
    v <- a * v + (1 - a) * g^2
    centered: gbar <- a * gbar + (1 - a) * g ;  avg = sqrt(v - gbar^2) + eps
    else:                                        avg = sqrt(v) + eps
    momentum > 0: b <- mu * b + g / avg ; theta <- theta - lr * b
    else:         theta <- theta - lr * g / avg
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, _lerp_, torch_flags


class RMSprop(Optimizer):
    """RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False).

    State per parameter: ``step`` (int), ``square_avg`` (v), plus ``momentum_buffer`` (b)
    when momentum > 0 and ``grad_avg`` (gbar) when centered.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, **torch_options):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered,
                        **torch_flags("RMSprop", torch_options))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("RMSprop", lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                            weight_decay=group["weight_decay"], momentum=group["momentum"])

    def _init_state(self, param, group):
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        mu = float(group["momentum"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = square_avg - grad_avg * grad_avg
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg)
        avg += float(group["eps"])
        if mu > 0:
            # setdefault: a scheduler may switch momentum on after the first step.
            buf = state.setdefault("momentum_buffer", np.zeros_like(param))
            buf *= mu
            buf += grad / avg
            param -= lr * buf
        else:
            np.divide(grad, avg, out=avg)
            avg *= lr
            param -= avg
