"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

torch.optim.SGD's single-tensor rule (Sutskever et al. 2013 form of momentum, in which
the learning rate multiplies the buffer rather than entering it)::

    g <- g + wd * theta                        (coupled weight decay)
    b <- g                  at the first step
    b <- mu * b + (1 - tau) * g                afterwards
    g <- g + mu * b  if nesterov  else  b
    theta <- theta - lr * g

With momentum, no dampening and no Nesterov (the usual case), from the second step on, a
float32 or float64 update runs as one Numba kernel (``tinydl.kernels.optim``): one pass over
the arrays instead of three, bit-for-bit the NumPy lines of ``_update``, which stay the rule
for every other case (and with ``tinydl.backends.numba`` off).
"""
import numpy as np

from tinydl import backends
from tinydl.optim.optimizer import Optimizer, _check_non_negative, _kernel_ready, torch_flags


class SGD(Optimizer):
    """SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False).

    Args:
        params: iterable of Tensors or of parameter-group dicts.
        lr: learning rate. momentum: mu. dampening: tau, scales the new gradient in the
        buffer from the second step on. weight_decay: L2 coefficient added to the gradient.
        nesterov: use ``g + mu * b`` (needs momentum > 0 and dampening == 0).

    State per parameter: ``momentum_buffer`` (array, created at the first step when
    momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 **torch_options):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov,
                        **torch_flags("SGD", torch_options))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("SGD", lr=group["lr"], momentum=group["momentum"],
                            dampening=group["dampening"], weight_decay=group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and zero dampening, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        mu = float(group["momentum"])
        tau = float(group["dampening"])
        wd = float(group["weight_decay"])
        if wd != 0:
            grad = grad + wd * param
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            elif tau == 0 and not group["nesterov"] and _kernel_ready(param, grad, buf):
                kind = param.dtype.type  # lr and mu in the arrays' dtype, as NumPy uses them
                step = backends.kernel_module("optim").sgd_momentum_kernel
                step(param.reshape(-1), grad.reshape(-1), buf.reshape(-1), kind(lr), kind(mu))
                return
            else:
                buf *= mu
                if tau == 0:
                    buf += grad
                else:
                    buf += (1 - tau) * grad
            if group["nesterov"]:
                grad = grad + mu * buf
            else:
                grad = buf
        # One temporary for lr * g; the subtraction itself writes into the parameter.
        np.subtract(param, lr * grad, out=param)
