"""Rprop (Riedmiller & Braun 1993), torch.optim.Rprop's rule (the iRprop- variant).

Only the sign of the gradient is used. Each coordinate has its own step size, which grows
by eta+ while the gradient keeps its sign and shrinks by eta- when the sign flips (a
minimum was stepped over); after a flip the coordinate rests for one step::

    s = sign(g * g_prev)
    step_size <- clip(step_size * (eta+ if s > 0, eta- if s < 0, 1 if s = 0), min, max)
    g <- 0 where s < 0                     (and g_prev <- that g)
    theta <- theta - sign(g) * step_size

step_size starts at lr and g_prev at 0. Meant for full-batch gradients: mini-batch noise
flips signs at random. torch's Rprop has no weight decay, nor has this one.
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, torch_flags


class Rprop(Optimizer):
    """Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)).

    Args: lr: the initial step size (later changes of the group's lr do not reach the
    step sizes, as in torch). etas: (eta-, eta+) with 0 < eta- < 1 < eta+. step_sizes:
    (min, max), the bounds of every step size.

    State per parameter: ``step`` (int), ``prev`` (g_prev), ``step_size`` (array).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), **torch_options):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        **torch_flags("Rprop", torch_options))
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_non_negative("Rprop", lr=group["lr"])
        etas, sizes = group["etas"], group["step_sizes"]
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: etas must be (eta-, eta+) with 0 < eta- < 1 < eta+, "
                             f"got {etas!r}")
        # torch takes any pair (min > max then gives every step max); refuse the mistake
        if len(sizes) != 2 or not 0.0 <= sizes[0] <= sizes[1]:
            raise ValueError(f"Rprop: step_sizes must be (min, max) with 0 <= min <= max, "
                             f"got {sizes!r}")

    def _init_state(self, param, group):
        return {"step": 0, "prev": np.zeros_like(param),
                "step_size": np.full_like(param, float(group["lr"]))}

    def _update(self, param, grad, state, group):
        eta_minus, eta_plus = (float(e) for e in group["etas"])
        size_min, size_max = (float(s) for s in group["step_sizes"])
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        with np.errstate(invalid="ignore"):  # inf * 0: NaN, handled below
            product = grad * prev
        flipped = product < 0
        factor = np.ones_like(param)
        factor[product > 0] = eta_plus
        factor[flipped] = eta_minus
        # A NaN product (a NaN gradient, or an inf one beside a previous 0) keeps factor 1:
        # torch's sign(nan) is 0 on the CPU, so its step size stays and, below, that
        # coordinate does not move (NumPy's sign(nan) is NaN: one NaN or inf gradient made
        # the parameter NaN for good, where torch took a normal step).
        step_size *= factor
        np.clip(step_size, size_min, size_max, out=step_size)
        np.copyto(prev, grad)
        prev[flipped] = 0
        np.sign(prev, out=factor)
        factor[np.isnan(factor)] = 0.0
        factor *= step_size
        param -= factor
