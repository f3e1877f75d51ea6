"""Adafactor (Shazeer & Stern 2018), torch.optim.Adafactor's rule.

An Adam-like second-moment method without momentum whose memory is sublinear: for a
parameter of two or more dimensions the running mean of g^2 over the last two dimensions
(R x C) is kept as its row means r (R x 1) and column means c (1 x C), and the full estimate
is rebuilt as their normalised outer product ``r c / mean(r)``. Vectors and scalars keep the
plain running mean v. The step size is relative to the parameter's RMS::

    t <- t + 1 ;  beta_t = t^beta2_decay          (the weight of the new g^2: 1 at t = 1)
    rho_t = min(lr, 1 / sqrt(t)) ;  alpha = max(eps2, rms(theta)) * rho_t   (theta before decay)
    theta <- theta * (1 - lr * wd)                 (decoupled weight decay)
    >= 2-d:  r <- lerp(r, mean_C(g^2), beta_t) ;  c <- lerp(c, mean_R(g^2), beta_t)
             vhat = r c / max(mean_R(r), eps1)
    else:    v <- lerp(v, g^2, beta_t) ;  vhat = v
    u = g / sqrt(max(vhat, eps1^2))
    theta <- theta - alpha / max(1, rms(u) / d) * u

``eps = (eps1, eps2)``; eps1 None means the parameter dtype's machine epsilon. ``d`` clips
the update's RMS. There is no first moment (torch's version, as the paper's beta1 = 0).
"""
import numpy as np

from tinydl.optim.optimizer import Optimizer, _check_non_negative, _lerp_, torch_flags


class Adafactor(Optimizer):
    """Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0, *, foreach=None, maximize=False).

    State per parameter: ``step`` (int) and, for a parameter of 2 or more dimensions,
    ``row_var`` (its shape with the last dimension 1) and ``col_var`` (the second-to-last
    dimension 1); for a vector or scalar, ``variance`` (its shape).
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay,
                        **torch_flags("Adafactor", dict(maximize=maximize)))
        super().__init__(params, defaults)

    def _check_group(self, group):
        lr = group["lr"]
        if getattr(lr, "size", 1) != 1:
            raise ValueError(f"Adafactor: a Tensor lr must have 1 element, got shape {lr.shape}")
        eps = group["eps"]
        if len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        _check_non_negative("Adafactor", lr=lr, weight_decay=group["weight_decay"],
                            eps2=eps[1])
        if eps[0] is not None:
            _check_non_negative("Adafactor", eps1=eps[0])
        if not group["beta2_decay"] <= 0.0:
            raise ValueError(f"Adafactor: invalid beta2_decay {group['beta2_decay']!r} "
                             "(must be <= 0)")
        if not group["d"] >= 1.0:
            raise ValueError(f"Adafactor: invalid clipping threshold d {group['d']!r} "
                             "(must be >= 1)")

    @staticmethod
    def _state_shapes(shape):
        """The shape of each state array for a parameter of ``shape``."""
        if len(shape) < 2:
            return {"variance": shape}
        return {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:]}

    def _init_state(self, param, group):
        state = {"step": 0}
        for key, shape in self._state_shapes(param.shape).items():
            state[key] = np.zeros(shape, dtype=param.dtype)
        return state

    def _follow_dtype(self, param, state):
        # The base class expects every state array in the parameter's shape; the factored
        # ones are not.
        for key, shape in self._state_shapes(param.shape).items():
            value = state.get(key)
            if value is None:
                raise ValueError(f"Adafactor.step: the state of a parameter of shape "
                                 f"{param.shape} lacks {key!r} (was the parameter's data "
                                 "replaced?); make a new optimizer")
            if value.shape != shape:
                raise ValueError(f"Adafactor.step: state {key!r} has shape {value.shape}, "
                                 f"expected {shape} for a parameter of shape {param.shape}")
            if value.dtype != param.dtype:
                state[key] = value.astype(param.dtype)

    def _restore_state_value(self, key, value, p):
        if key not in ("row_var", "col_var"):
            return super()._restore_state_value(key, value, p)
        array = np.array(value, dtype=p.data.dtype, copy=True)
        expected = self._state_shapes(p.data.shape).get(key)
        if array.shape != expected:
            raise ValueError(f"Adafactor.load_state_dict: state {key!r} has shape "
                             f"{array.shape}, expected {expected} for a parameter of shape "
                             f"{p.data.shape}")
        return array

    def _update(self, param, grad, state, group):
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        eps1 = np.finfo(param.dtype).eps if eps1 is None else float(eps1)
        state["step"] += 1
        t = float(state["step"])
        if param.size == 0:  # nothing to step (torch divides by zero here)
            return
        beta_t = t ** float(group["beta2_decay"])
        rho_t = min(lr, 1 / t ** 0.5)
        alpha = max(float(eps2), np.linalg.norm(param) / param.size ** 0.5) * rho_t
        wd = float(group["weight_decay"])
        if wd != 0:
            param *= 1 - lr * wd
        grad_sq = grad * grad
        if param.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            _lerp_(row_var, grad_sq.mean(axis=-1, keepdims=True), beta_t)
            _lerp_(col_var, grad_sq.mean(axis=-2, keepdims=True), beta_t)
            # r c / mean(r): the rank-1 estimate whose row and column means are r and c
            var_estimate = row_var * col_var
            var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            var_estimate = _lerp_(state["variance"], grad_sq, beta_t).copy()
        update = np.maximum(var_estimate, eps1 * eps1, out=var_estimate)
        np.sqrt(update, out=update)
        np.divide(grad, update, out=update)
        denom = max(1.0, np.linalg.norm(update) / (update.size ** 0.5 * float(group["d"])))
        update *= alpha / denom
        param -= update
