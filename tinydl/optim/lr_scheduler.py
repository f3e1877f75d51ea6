"""Learning-rate schedules with torch.optim.lr_scheduler's semantics.

(This file is longer than the 500 lines the package keeps to: it is torch's
``lr_scheduler`` namespace, fifteen schedules a reader compares side by side, each a short
class with its formula in its docstring, on one shared base class.)

Usage, in torch's call order::

    scheduler = StepLR(optimizer, step_size=30)   # construction performs step 0
    for epoch in range(n):                        # (or: for each batch, for the cyclic ones)
        train(...)                                # ... optimizer.step() ...
        scheduler.step()                          # after optimizer.step()

A scheduler counts its steps in ``last_epoch`` (0 after construction) and writes
``group['lr']`` of every parameter group. The first construction on an optimizer stores
each group's lr as ``group['initial_lr']``; these are the ``base_lrs`` the closed forms
start from.

Chaining. As in torch, ``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``,
``ExponentialLR``, ``MultiplicativeLR``, ``PolynomialLR`` and ``CosineAnnealingLR`` step in
*recursive* form: ``get_lr()`` multiplies (or, for the cosine, rescales) the lr the group has
now, not ``base_lr``. Two of them on one optimizer therefore compose (their factors
multiply), which is what ``ChainedScheduler`` relies on; ``SequentialLR`` hands the optimizer
from one schedule to the next at milestones. Each but ``MultiplicativeLR`` also keeps its
closed form in ``_get_closed_form_lr()`` (lr from ``base_lr`` and ``last_epoch``), used by
``step(epoch)`` and when ``SequentialLR`` starts a schedule. The others (``LambdaLR``, the
cyclic ones, warm restarts) are closed forms, as in torch, and overwrite what another
schedule wrote.

Warmup then cosine (the "Bag of Tricks" recipe, He et al. 2019)::

    warmup = LinearLR(optimizer, start_factor=0.1, total_iters=w)
    cosine = CosineAnnealingLR(optimizer, T_max=total - w)
    scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[w])
"""
import bisect
import math
import numbers
import types
import warnings

import numpy as np

from tinydl.optim.optimizer import Optimizer
from tinydl.tensor import Tensor


def _is_int(value):
    """An int for a count of steps: Python's or NumPy's (``np.int64(30)`` from arithmetic on
    an array), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _milestone(value, caller):
    """A milestone epoch as an int. A fractional one (``0.75 * 90`` = 67.5) is refused: torch
    compares it with the integer epoch and never fires it, int() would fire it at 67, and
    either way the schedule is not the one written."""
    if _is_int(value) or isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{caller}: milestone {value!r} is not a whole epoch (the epoch counter is "
                     "an int, so torch never reaches it); round it, e.g. int(0.75 * epochs)")


def _per_group(name, optimizer, value):
    """One value per parameter group: a list/tuple of the right length, or a scalar repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name}: expected {len(optimizer.param_groups)} values "
                             f"(one per parameter group), got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()``, ``load_state_dict()``.

    Subclasses implement ``get_lr()``, the lrs for the current ``last_epoch``.
    """

    # Attributes holding functions, which a checkpoint cannot store.
    _unsaved = ("lr_lambdas",)

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' "
                                   f"to resume from at last_epoch={last_epoch}")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._optimizer_steps_at_start = optimizer._step_calls
        self._initial_step()

    def _initial_step(self):
        """Step 0, done by construction (and by ``SequentialLR`` when a schedule starts)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rate of every group at step ``last_epoch``."""
        raise NotImplementedError

    def _group_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one step and write the new lr into every parameter group.

        ``step(epoch)`` (deprecated in torch, kept for its semantics) jumps to ``epoch`` and
        uses the closed form where the schedule has one.
        """
        self._warn_if_out_of_order()
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            lrs = closed_form() if closed_form is not None else self.get_lr()
        self._apply(lrs)

    def _warn_if_out_of_order(self):
        if self._step_count == 1 and self.optimizer._step_calls == self._optimizer_steps_at_start:
            warnings.warn(f"{type(self).__name__}.step() was called before optimizer.step(); "
                          "call them in the order optimizer.step(), scheduler.step(), or the "
                          "first value of the schedule is skipped", UserWarning, stacklevel=3)

    def _apply(self, lrs):
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            # torch raises too (a strict zip); leaving the new group's lr alone would be silent
            raise ValueError(f"{type(self).__name__}: the optimizer has {len(groups)} parameter "
                             f"groups but the schedule was built for {len(lrs)}: a group added "
                             "with add_param_group() after the scheduler was created is not "
                             "scheduled; create the scheduler after adding every group")
        for i, lr in enumerate(lrs):
            value = float(np.asarray(getattr(lr, "data", lr)))
            if not math.isfinite(value):
                # the optimizers refuse such an lr; a schedule must not hand them one (a NaN
                # gamma or lambda made every weight NaN two steps later). A negative lr stays
                # possible, as in torch (a chained cosine schedule can dip below 0).
                raise ValueError(f"{type(self).__name__}: the schedule gave lr={value} for "
                                 f"parameter group {i} at step {self.last_epoch}; its factors "
                                 "(gamma, the lambda's value, ...) must keep lr finite")
        for group, lr in zip(groups, lrs):
            current = group["lr"]
            if isinstance(current, Tensor) and current.ndim == 0:
                # torch fills a Tensor lr in place: the group keeps the user's object (and
                # one lr shared by two optimizers stays shared); it was replaced
                current.data[...] = np.asarray(getattr(lr, "data", lr))
            else:
                group["lr"] = lr
        self._last_lr = [group["lr"].clone() if isinstance(group["lr"], Tensor) else group["lr"]
                         for group in groups]

    def state_dict(self):
        """Every attribute except the optimizer. Functions cannot be saved: each one in
        ``_unsaved`` is stored as None, or, for a callable object (not a plain function or
        lambda), as a copy of its attributes, which ``load_state_dict`` puts back into the
        new scheduler's callable (torch's rule), so a stateful ``lr_lambda`` resumes."""
        state = {k: v for k, v in self.__dict__.items()
                 if k != "optimizer" and not callable(v) and k not in self._unsaved}
        for name in self._unsaved:
            if name in self.__dict__:
                fns = self.__dict__[name]
                state[name] = ([_attributes(f) for f in fns] if isinstance(fns, list)
                               else _attributes(fns))
        return state

    def load_state_dict(self, state_dict):
        """Restore attributes saved by ``state_dict()``; the scheduler keeps its own functions,
        whose attributes (if saved) are restored."""
        state = dict(state_dict)
        for name in self._unsaved:
            saved = state.pop(name, None)
            fns = self.__dict__.get(name)
            if saved is None or fns is None:
                continue
            pairs = zip(fns, saved) if isinstance(fns, list) else [(fns, saved)]
            for fn, attributes in pairs:
                if attributes is not None:
                    fn.__dict__.update(attributes)
        self.__dict__.update(state)


def _attributes(fn):
    """A copy of the attributes of a callable object, None for a function or lambda (whose
    state, if any, lives in its closure, which a checkpoint cannot store)."""
    if fn is None or isinstance(fn, (types.FunctionType, types.MethodType,
                                     types.BuiltinFunctionType)):
        return None
    attributes = getattr(fn, "__dict__", None)
    return None if attributes is None else dict(attributes)


def _lr_lambdas(name, optimizer, lr_lambda):
    """One function per parameter group (``lr_lambda`` is one, or a list with one per group)."""
    lr_lambdas = _per_group(name, optimizer, lr_lambda)
    if not all(callable(f) for f in lr_lambdas):
        raise TypeError(f"{name}: lr_lambda must be a function or a list of functions")
    return lr_lambdas


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); ``lr_lambda`` is a function or one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lr_lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]


class MultiplicativeLR(LRScheduler):
    """lr = lr_{epoch-1} * lr_lambda(epoch), i.e. base_lr * prod_{k=1..epoch} lr_lambda(k).

    ``lr_lambda`` is a function of the epoch or one per group; ``lambda e: 0.95`` gives
    ExponentialLR(gamma=0.95). Recursive (chainable) step, as torch: each step multiplies
    the lr the group has now, construction leaves it. It has no closed form: ``step(epoch)``
    multiplies once, by ``lr_lambda(epoch)``, as torch does.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambdas = _lr_lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * f(self.last_epoch) for lr, f in zip(self._group_lrs(), self.lr_lambdas)]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** floor(epoch / step_size).

    Recursive (chainable) step: the group's lr is multiplied by gamma at every non-zero
    multiple of step_size and left alone otherwise.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not (_is_int(step_size) and step_size > 0):
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch); a repeated milestone counts twice.

    Recursive (chainable) step: at a milestone met k times the group's lr is multiplied by
    gamma ** k.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(_milestone(m, "MultiStepLR") for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._group_lrs()
        return [lr * self.gamma ** hits for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]

    def load_state_dict(self, state_dict):
        """As every scheduler's; torch's state_dict holds ``milestones`` as a Counter
        (milestone -> times), read here as the sorted list with repeats (a Counter kept as
        is raised AttributeError at the next step)."""
        state = dict(state_dict)
        milestones = state.get("milestones")
        if isinstance(milestones, dict):
            state["milestones"] = sorted(int(m) for m, times in milestones.items()
                                         for _ in range(int(times)))
        super().load_state_dict(state)


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for epoch < total_iters, then base_lr.

    Recursive (chainable) step: multiply by ``factor`` at step 0, divide it out at
    ``total_iters``.
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor!r}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr / self.factor for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        factor = self.factor if self.last_epoch < self.total_iters else 1.0
        return [base * factor for base in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = base_lr * (s + (e - s) min(epoch, T) / T): linear warmup (or decay) over T steps.

    s = ``start_factor``, e = ``end_factor``, T = ``total_iters``; torch's defaults s = 1/3,
    e = 1, T = 5. Recursive (chainable) step, as torch: step 0 multiplies the group's lr by
    s, step k <= T by ``1 + (e - s) / (T s + (k - 1)(e - s))`` (the ratio of consecutive
    factors), later steps leave it alone. Linear warmup before another schedule is the
    "Bag of Tricks" warmup (He et al. 2019, after Goyal et al. 2017).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        if not (_is_int(total_iters) and total_iters > 0):
            raise ValueError(f"LinearLR: total_iters must be a positive int, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * slope)
        return [lr * ratio for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch; recursive (chainable) step: lr *= gamma."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = base_lr * (1 - min(epoch, T) / T) ** power: a decay to 0 at T = ``total_iters``.

    torch's defaults T = 5, power = 1 (a linear decay). Recursive (chainable) step, as
    torch: step k (0 < k <= T) multiplies the group's lr by ``((T - k) / (T - k + 1)) **
    power`` (computed as ``((1 - k/T) / (1 - (k-1)/T)) ** power``, torch's rounding);
    construction and the steps after T leave it.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        if isinstance(total_iters, bool) or not (isinstance(total_iters, numbers.Real)
                                                 and total_iters > 0):
            raise ValueError(f"PolynomialLR: total_iters must be a positive number, "
                             f"got {total_iters!r}")
        if isinstance(power, bool) or not (isinstance(power, numbers.Real) and power >= 0):
            raise ValueError(f"PolynomialLR: power must be a number >= 0, got {power!r}")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T = self.last_epoch, self.total_iters
        if self._is_initial or e > T:
            return self._group_lrs()
        factor = ((1.0 - e / T) / (1.0 - (e - 1) / T)) ** self.power
        return [lr * factor for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        remaining = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * remaining ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2 (Loshchilov & Hutter, SGDR).

    Past T_max the cosine continues, so lr climbs back up, as in torch. Recursive
    (chainable) step, as torch: the group's lr minus eta_min is rescaled by the ratio of
    consecutive cosine factors, ``(1 + cos(pi e / T)) / (1 + cos(pi (e - 1) / T))``; where
    the previous factor is 0 (the cosine's trough) the step adds
    ``(base_lr - eta_min)(1 - cos(pi / T)) / 2`` instead.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T = self.last_epoch, self.T_max
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:
            return self._get_closed_form_lr()
        if (e - 1 - T) % (2 * T) == 0:
            rise = (1 - math.cos(math.pi / T)) / 2
            return [lr + (base - self.eta_min) * rise
                    for base, lr in zip(self.base_lrs, self._group_lrs())]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self._group_lrs()]

    def _get_closed_form_lr(self):
        factor = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * factor for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``, as torch.

    ``SequentialLR(optimizer, schedulers, milestones)`` with ``len(milestones) ==
    len(schedulers) - 1``. Construction resets every group's lr to ``initial_lr``, takes back
    the step 0 each schedule made when it was built, and starts the first one. At a
    milestone m the next schedule restarts from its closed form at its step 0 (from
    ``base_lr``, not from the lr the previous one left); in between, the active schedule
    steps as usual. The schedules must share ``optimizer``.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers = list(schedulers)
        _check_members("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones (one fewer "
                             f"than the {len(schedulers)} schedulers), got {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = [_milestone(m, "SequentialLR") for m in milestones]
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in _leaves(schedulers):
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        """Step the schedule whose stretch ``last_epoch + 1`` falls in (restart it at a milestone)."""
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        """Own attributes plus every member schedule's ``state_dict()`` under ``_schedulers``."""
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved, members included."""
        _load_nested_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedules together on one optimizer, as torch: ``step()`` steps each in order.

    With recursive schedules their factors multiply, e.g. ``ChainedScheduler([LinearLR(o,
    0.1, total_iters=5), ExponentialLR(o, 0.9)])`` warms up while decaying. ``get_last_lr()``
    is the optimizer's lr after the last schedule.
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: needs at least one scheduler")
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        _check_members("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        """Step every member schedule, in the order given."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Own attributes plus every member schedule's ``state_dict()`` under ``_schedulers``."""
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved, members included."""
        _load_nested_state(self, state_dict)


def _check_members(name, optimizer, schedulers):
    if not schedulers:
        raise ValueError(f"{name}: expects at least one scheduler, got none")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{name}: schedulers[{i}] ({type(scheduler).__name__}) has no optimizer")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{name}: schedulers[{i}] is a ReduceLROnPlateau, whose step needs "
                             "a metric; step it yourself")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{name}: schedulers[{i}] ({type(scheduler).__name__}) belongs to "
                             "another optimizer; all must share one")


def _leaves(schedulers):
    """The plain schedules inside (possibly nested) Sequential/Chained schedules."""
    for scheduler in schedulers:
        if hasattr(scheduler, "_schedulers"):
            yield from _leaves(scheduler._schedulers)
        else:
            yield scheduler


def _nested_state(scheduler):
    state = {k: v for k, v in scheduler.__dict__.items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [s.state_dict() for s in scheduler._schedulers]
    return state


def _load_nested_state(scheduler, state_dict):
    state = dict(state_dict)
    members = state.pop("_schedulers")
    scheduler.__dict__.update(state)
    for s, member_state in zip(scheduler._schedulers, members):
        s.load_state_dict(member_state)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine annealing restarted every T_i steps, T_i = T_0 * T_mult^i.

    lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2 with T_cur the steps
    since the last restart. ``step(epoch)`` accepts a fractional epoch (``epoch + i / n``
    within an epoch), as torch does.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not (_is_int(T_0) and T_0 > 0):
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive int, got {T_0!r}")
        if not (_is_int(T_mult) and T_mult >= 1):
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got {T_mult!r}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a float or int, got "
                             f"{eta_min!r}")
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        factor = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * factor for base in self.base_lrs]

    def step(self, epoch=None):
        """Advance one step, or jump to ``epoch`` (a float is allowed)."""
        self._warn_if_out_of_order()
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                # % rather than -: a scheduler resumed with last_epoch past 2 T_0 - 1 starts
                # with T_cur = last_epoch, more than one period in (torch's rule)
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be >= 0, got {epoch!r}")
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_i, self.T_cur = self.T_0, epoch % self.T_0
        else:
            # Restarts happen at T_0 (T_mult^n - 1) / (T_mult - 1); find the last one passed.
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._apply(self.get_lr())


class _MomentumCycling:
    """Shared by CyclicLR and OneCycleLR: which group option carries the momentum."""

    def _init_momentum(self, optimizer, base_momentum, max_momentum, last_epoch):
        name = type(self).__name__
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError(f"{name}: cycle_momentum needs an optimizer with 'momentum' or "
                             f"'betas', {type(optimizer).__name__} has neither")
        self.use_beta1 = "betas" in optimizer.defaults
        self.base_momentums = _per_group(f"{name} base_momentum", optimizer, base_momentum)
        self.max_momentums = _per_group(f"{name} max_momentum", optimizer, max_momentum)
        if last_epoch == -1:
            for top, bottom, group in zip(self.max_momentums, self.base_momentums,
                                          optimizer.param_groups):
                self._set_momentum(group, top)
                group["max_momentum"] = top
                group["base_momentum"] = bottom

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value


class CyclicLR(_MomentumCycling, LRScheduler):
    """Cyclical learning rates (Smith 2017), stepped once per batch.

    With total = up + down and ratio = up / total::

        cycle = floor(1 + t / total),  x = 1 + t / total - cycle
        s = x / ratio  if x <= ratio  else (x - 1) / (ratio - 1)
        lr = base_lr + (max_lr - base_lr) * s * f

    f = 1 ('triangular'), 1 / 2^(cycle - 1) ('triangular2'), gamma^t ('exp_range'), or a
    custom ``scale_fn`` of the cycle (scale_mode='cycle') or of t ('iterations').
    With ``cycle_momentum`` the momentum ('momentum', or beta1 of 'betas') moves the other
    way, ``max_momentum - (max_momentum - base_momentum) * s * f``. Construction sets each
    group's lr to base_lr.
    """

    _unsaved = ("lr_lambdas", "scale_fn_custom")

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: {type(optimizer).__name__} is not an Optimizer")
        base_lrs = _per_group("CyclicLR base_lr", optimizer, base_lr)
        if last_epoch == -1:
            # base_lr replaces whatever lr the groups had: it is the schedule's starting point.
            # 'initial_lr' is left to the base class (set only where missing), as torch's: a
            # warm-up scheduler before this one in a SequentialLR still reads the optimizer's.
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if up <= 0 or down < 0:
            raise ValueError(f"CyclicLR: step sizes must be positive, got up={up}, down={down}")
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"CyclicLR: unknown mode {mode!r} and no scale_fn given")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self.scale_fn_custom = scale_fn
        # The built-in modes fix their own scale_mode, as in torch.
        if scale_fn is None:
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.scale_mode = scale_mode
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        # The cycle runs from base_lr whatever 'initial_lr' holds; set after the base class's
        # first step, as torch does (that step, a resume's first lr, uses 'initial_lr').
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The amplitude factor f at cycle number or iteration ``x``."""
        if self.scale_fn_custom is not None:
            return self.scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            rise = x / self.step_ratio
        else:
            rise = (x - 1) / (self.step_ratio - 1)
        factor = rise * self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * factor for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, bottom, top in zip(self.optimizer.param_groups, self.base_momentums,
                                          self.max_momentums):
                self._set_momentum(group, top - (top - bottom) * factor)
        return lrs


class OneCycleLR(_MomentumCycling, LRScheduler):
    """The 1cycle policy (Smith & Topin 2019, fastai's two-phase default), stepped per batch.

    initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor. Phase 1 goes
    initial -> max over steps 0 .. pct_start*T - 1, phase 2 max -> min up to step T - 1;
    with ``three_phase`` the second phase returns to initial_lr at 2 pct_start T - 2 and a
    third anneals to min_lr. Within a phase, 'cos' gives ``end + (start - end)/2 (1 +
    cos(pi p))`` and 'linear' ``start + (end - start) p``, p the fraction of the phase done.
    Momentum (or beta1) anneals the opposite way between max_momentum and base_momentum.
    Stepping past ``total_steps`` raises ValueError.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: {type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            if not (_is_int(total_steps) and total_steps > 0):
                raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not (_is_int(epochs) and epochs > 0 and _is_int(steps_per_epoch)
                    and steps_per_epoch > 0):
                raise ValueError("OneCycleLR: epochs and steps_per_epoch must be positive ints, "
                                 f"got {epochs!r} and {steps_per_epoch!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not (isinstance(pct_start, float) and 0.0 <= pct_start <= 1.0):
            raise ValueError(f"OneCycleLR: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        warmup_end = float(pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        # (end step, lr from, lr to, momentum from, momentum to), names of group entries
        if three_phase:
            self.phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (last, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (last, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        max_lrs = _per_group("OneCycleLR max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end_step or i == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start_step = end_step
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` when a metric has stopped improving for ``patience`` steps.

    ``step(metric)`` once per evaluation. "Better" is ``a < best (1 - threshold)`` (mode
    'min', threshold_mode 'rel'), ``a < best - threshold`` ('min', 'abs'), mirrored for
    'max'. After more than ``patience`` steps without improvement each group's lr becomes
    ``max(lr * factor, min_lr)`` (only if that changes it by more than ``eps``) and
    ``cooldown`` steps follow in which bad steps are not counted.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer")
        if not 0.0 <= factor < 1.0:  # (torch checks < 1 only: a negative factor gave lr 0)
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if not value >= 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be >= 0, got {value!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lrs = _per_group("ReduceLROnPlateau min_lr", optimizer, min_lr)
        # One number covers groups added later (torch's rule); a list cannot.
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    @property
    def in_cooldown(self):
        """True while lr reductions are paused after the last one."""
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        """Whether metric value ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics, epoch=None):
        """Record one value of the monitored metric and reduce lr if it has plateaued.
        ``epoch`` (deprecated in torch, with the same warning here) sets the step count."""
        current = float(metrics)
        if epoch is None:
            self.last_epoch += 1
        else:
            warnings.warn("ReduceLROnPlateau.step: the epoch argument is deprecated (as in "
                          "torch); call step(metrics) once per evaluation",
                          DeprecationWarning, stacklevel=2)
            self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            groups = self.optimizer.param_groups
            if len(self.min_lrs) != len(groups):
                if self.default_min_lr is None:
                    raise RuntimeError(
                        f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups "
                        f"but min_lr lists {len(self.min_lrs)} (a group was added after the "
                        "scheduler was created); give min_lr as one number to cover added "
                        "groups, or one value per group when creating the scheduler")
                self.min_lrs = [self.default_min_lr] * len(groups)
            for group, min_lr in zip(groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
