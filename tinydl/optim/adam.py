"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), torch.optim's rules.

Adam keeps exponential averages of the gradient (first moment m) and of its square
(second moment v), corrects both for their zero initialisation, and steps by their ratio::

    g <- g + wd * theta                     (Adam only: coupled L2 decay)
    theta <- theta * (1 - lr * wd)          (AdamW only: decoupled decay, first)
    m <- b1 * m + (1 - b1) * g              (torch's lerp: exactly g when b1 = 0)
    v <- b2 * v + (1 - b2) * g^2
    vmax <- max(vmax, v)                    (amsgrad, Reddi et al. 2018; used for v below)
    denom = sqrt(v) / sqrt(1 - b2^t) + eps
    theta <- theta - lr / (1 - b1^t) * m / denom

Loshchilov & Hutter write AdamW as ``theta -= eta_t (alpha mhat / (sqrt(vhat) + eps) +
w theta)`` with a schedule multiplier eta_t; torch's (and our) ``lr`` plays alpha * eta_t
and the decay coefficient is ``lr * weight_decay``.

Without amsgrad, a float32 or float64 update runs as one Numba kernel
(``tinydl.kernels.optim``): one pass over the arrays instead of 13, bit-for-bit the NumPy
lines of ``Adam._update``, which stay the rule with amsgrad (and with
``tinydl.backends.numba`` off).
"""
import numpy as np

from tinydl import backends
from tinydl.optim.optimizer import (Optimizer, _check_betas, _check_non_negative, _decayed,
                                    _kernel_ready, _lerp_, _lerp_weight, torch_flags)


class Adam(Optimizer):
    """Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False).

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq`` (vmax).
    """

    _decoupled_weight_decay = False  # AdamW's default for the option

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, **torch_options):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, decoupled_weight_decay=self._decoupled_weight_decay)
        defaults.update(torch_flags(type(self).__name__, torch_options,
                                    ("decoupled_weight_decay",)))
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        _check_non_negative(name, lr=group["lr"], eps=group["eps"],
                            weight_decay=group["weight_decay"])
        _check_betas(name, group["betas"])

    def _init_state(self, param, group):
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = float(group["weight_decay"])
        state["step"] += 1
        t = state["step"]
        grad = _decayed(param, grad, lr, wd,
                        group.get("decoupled_weight_decay", self._decoupled_weight_decay))
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if not group["amsgrad"] and _kernel_ready(param, grad, exp_avg, exp_avg_sq):
            kind = param.dtype.type  # the scalars in the arrays' dtype, as NumPy uses them
            step = backends.kernel_module("optim").adam_kernel
            c, toward = _lerp_weight(1 - beta1, param.dtype)
            step(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                 c, toward, kind(beta2), kind(1 - beta2), kind((1 - beta2 ** t) ** 0.5),
                 kind(float(group["eps"])), kind(lr / (1 - beta1 ** t)))
            return
        # The NumPy twin of that kernel (and the rule with amsgrad, or with Numba off):
        # one scratch array serves every intermediate, so a step allocates once.
        scratch = np.empty_like(param)
        _lerp_(exp_avg, grad, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq += scratch
        if group["amsgrad"]:
            # setdefault: amsgrad may be switched on by loading another group's options.
            second = state.setdefault("max_exp_avg_sq", np.zeros_like(param))
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        step_size = lr / (1 - beta1 ** t)
        np.sqrt(second, out=scratch)
        scratch /= (1 - beta2 ** t) ** 0.5
        scratch += float(group["eps"])
        np.divide(exp_avg, scratch, out=scratch)
        scratch *= step_size
        param -= scratch


class AdamW(Adam):
    """AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False).

    Adam with decoupled weight decay: ``theta *= 1 - lr * weight_decay`` before the Adam
    step, instead of adding ``weight_decay * theta`` to the gradient.
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, **torch_options):
        if "decoupled_weight_decay" in torch_options:  # torch's AdamW has no such argument;
            # it went through to Adam's, and False made this coupled-L2 Adam silently
            raise TypeError("AdamW: unexpected keyword argument 'decoupled_weight_decay' (AdamW "
                            "always decouples; Adam(..., decoupled_weight_decay=...) chooses)")
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, **torch_options)
