"""L-BFGS (Liu & Nocedal 1989) with an optional strong-Wolfe line search, torch.optim.LBFGS's rule.

A quasi-Newton method: from the last m steps s_i = theta_{i+1} - theta_i and gradient
changes y_i = g_{i+1} - g_i it applies an approximation H of the inverse Hessian to the
gradient without ever forming it (the two-loop recursion, Nocedal & Wright, Algorithm 7.4)::

    q <- -g
    for i = k-1 .. k-m:  a_i = rho_i s_i.q ;  q <- q - a_i y_i        (rho_i = 1 / y_i.s_i)
    r <- gamma q,  gamma = s_{k-1}.y_{k-1} / y_{k-1}.y_{k-1}           (H_diag)
    for i = k-m .. k-1:  b_i = rho_i y_i.r ;  r <- r + (a_i - b_i) s_i
    d = r                                                              (the search direction)

A pair (s, y) enters the history only when y.s > 1e-10 (the curvature condition, which
keeps H positive definite); the oldest is dropped past ``history_size``. The very first
direction is -g with step t = min(1, 1 / sum|g|) * lr; later ones take t = lr. Without a
line search theta <- theta + t d; with ``line_search_fn='strong_wolfe'`` t is chosen to
satisfy the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9) by bracketing and cubic
interpolation (Nocedal & Wright, Algorithms 3.5 and 3.6).

One ``step(closure)`` runs up to ``max_iter`` such iterations (and ``max_eval`` loss
evaluations), stopping early when max|g| <= tolerance_grad, when max|t d| or the change of
the loss falls under tolerance_change, or when d is no longer a descent direction. The
closure re-evaluates the loss and its gradient; it is called several times per step. All
parameters are treated as one flat vector, so there is one parameter group, and the state
(kept, as torch keeps it, under the first parameter) holds flat vectors.
"""
import numpy as np

from tinydl.autograd import bump_version
from tinydl.optim.optimizer import Optimizer, _check_non_negative

_COUNTS = ("func_evals", "n_iter")  # state entries that are ints
_FLAT = ("d", "prev_flat_grad")  # state entries that are flat vectors
_FLAT_LISTS = ("old_dirs", "old_stps")  # lists of flat vectors (the y's and s's)
_SCALAR_LISTS = ("ro", "al")  # lists of scalars (al holds None where not yet used)


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    ``bounds`` (by default the interval between x1 and x2); the middle of the bounds when the
    cubic has no minimum (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if not disc >= 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, max_ls, tolerance_change=1e-9, c1=1e-4, c2=0.9):
    """A step t along d with f(t) <= f + c1 t gtd and |f'(t)| <= c2 |gtd| (strong Wolfe).

    ``evaluate(t)`` gives (loss, flat gradient) at theta + t d. Phase 1 grows t (cubic
    extrapolation, at most 10x per try) until an interval [a, b] holds an acceptable point;
    phase 2 shrinks it by cubic interpolation, kept at least 10% away from the ends, until
    max|d| times its width falls under ``tolerance_change``. At most ``max_ls`` evaluations.
    Returns (loss, gradient, t, evaluations) at the best point found.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # the bracket, ends, holds [point, loss, gradient, slope] for each of its ends
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            ends = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            ends, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            ends = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:  # the budget is spent: no zoom follows, so no slopes are needed
        ends = [[0, f, g, None], [t, f_new, g_new, None]]

    insufficient_progress = False
    low, high = (0, 1) if ends[0][1] <= ends[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (a, f_a, _, gtd_a), (b, f_b, _, gtd_b) = ends
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(a, f_a, gtd_a, b, f_b, gtd_b)
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:  # too close to an end
            if insufficient_progress or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= ends[low][1]:  # sufficient decrease fails
            ends[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if ends[0][1] <= ends[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (ends[high][0] - ends[low][0]) >= 0:
                ends[high] = ends[low]
            ends[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = ends[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None).

    ``max_eval`` defaults to ``max_iter * 5 // 4``; ``line_search_fn`` is None or
    ``'strong_wolfe'``. ``step(closure)`` needs the closure (it clears the gradients, computes
    the loss, calls ``backward()`` and returns the loss) and returns its first loss. One
    parameter group only, and none of torch's flags (maximize, foreach, ...), as torch.

    State (under the first parameter): ``func_evals``, ``n_iter`` (ints, over all steps),
    ``d``, ``t`` (last direction and step), ``old_dirs``, ``old_stps`` (the y's and s's),
    ``ro``, ``al`` (the rho's and a's), ``H_diag`` (gamma), ``prev_flat_grad``, ``prev_loss``.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """The first group only: L-BFGS treats all parameters as one vector."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             "give all parameters in one group")
        super().add_param_group(param_group)

    def _check_group(self, group):
        for key in ("max_iter", "history_size"):
            value = group[key]
            if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                    and value >= 1):
                raise ValueError(f"LBFGS: {key} must be an int >= 1, got {value!r}")
        _check_non_negative("LBFGS", lr=group["lr"], max_eval=group["max_eval"],
                            tolerance_grad=group["tolerance_grad"],
                            tolerance_change=group["tolerance_change"])
        if not group["max_eval"] >= 1:  # the first loss evaluation is one
            raise ValueError(f"LBFGS: max_eval must be >= 1, got {group['max_eval']!r}")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError("LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    # --- the parameters as one flat vector ------------------------------------------------

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    def _flat_dtype(self):
        return np.result_type(*[p.data.dtype for p in self._params])

    def _gather_flat_grad(self):
        return np.concatenate([np.zeros(p.data.size, p.data.dtype) if p.grad is None
                               else p.grad.data.reshape(-1) for p in self._params])

    def _add_grad(self, t, d):
        """theta <- theta + t d, written into every parameter's array."""
        offset = 0
        for p in self._params:
            p.data[...] += t * d[offset:offset + p.data.size].reshape(p.data.shape)
            offset += p.data.size
            bump_version(p)

    def _set_params(self, arrays):
        for p, a in zip(self._params, arrays):
            p.data[...] = a
            bump_version(p)

    def _directional_evaluate(self, closure, x, t, d):
        """(loss, flat gradient) at x + t d; the parameters are put back to x after."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # --- one step: up to max_iter L-BFGS iterations ---------------------------------------

    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; returns the loss the first closure call gave."""
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that re-evaluates the model: "
                            "def closure(): optimizer.zero_grad(); loss = loss_fn(...); "
                            "loss.backward(); return loss; then optimizer.step(closure)")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        self._step_calls += 1

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss  # already optimal

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y @ s
                if ys > 1e-10:  # curvature condition: keep the pair
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / (y @ y)
                al = state.setdefault("al", [None] * group["history_size"])
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = (old_stps[i] @ q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = (old_dirs[i] @ d) * ro[i]
                    d += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad @ d
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_func_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.data.copy() for p in self._params]
                # torch leaves the search's tolerance_change at its default, 1e-9, whatever
                # the group's (a larger one would stop the zoom early)
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    lambda step: self._directional_evaluate(closure, x_init, step, d),
                    t, d, loss, flat_grad, gtd, max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # the next iteration needs the new gradient
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if (n_iter == max_iter or current_evals >= max_eval or opt_cond
                    or np.abs(d * t).max() <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # --- checkpoints: the state is flat vectors, not arrays shaped as a parameter ----------

    def _saved_state(self, p, saved):
        return saved

    def _restore_state_value(self, key, value, p):
        if value is None:
            return None
        dtype = self._flat_dtype()
        if key in _COUNTS:
            return int(np.asarray(value).item())
        if key == "prev_loss":
            return float(np.asarray(value).item())
        if key in _FLAT:
            return self._restore_flat(key, value, dtype)
        if key in _FLAT_LISTS:
            return [self._restore_flat(key, v, dtype) for v in value]
        if key in _SCALAR_LISTS:
            return [None if v is None else dtype.type(np.asarray(v).item()) for v in value]
        return dtype.type(np.asarray(value).item())  # t, H_diag

    def _restore_flat(self, key, value, dtype):
        array = np.array(value, dtype=dtype, copy=True)
        size = sum(p.data.size for p in self._params)
        if array.shape != (size,):
            raise ValueError(f"LBFGS.load_state_dict: state {key!r} has shape {array.shape}, "
                             f"but the parameters hold {size} numbers (expected ({size},))")
        return array
