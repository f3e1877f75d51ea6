"""The ``Optimizer`` base class: parameter groups, per-parameter state, checkpoints.

An optimizer owns a list of *parameter groups*. Each group is a dict with the key
``'params'`` (a list of Tensors) and one entry per hyper-parameter (``'lr'``,
``'momentum'``, ``'betas'``, ...); options missing from a group are filled from the
optimizer's ``defaults``. Schedulers change ``group['lr']`` between steps. The state of
each parameter (momentum buffer, moment estimates, step count) lives in ``state[p]``.

``step()`` walks every parameter that has a gradient and hands its arrays to the
subclass's ``_update(param, grad, state, group)``, which changes ``param`` in place.
Parameters whose ``grad`` is None are skipped, as in torch.optim; so are their states.

Gradient accumulation
---------------------
``backward()`` adds into ``p.grad``, so a large batch can be processed as ``k``
micro-batches whose gradients are summed before one optimizer step. Dividing each
micro-batch loss by ``k`` makes the summed gradient equal the gradient of the mean loss
over the whole batch (up to float round-off)::

    optimizer.zero_grad()
    for micro_batch in split(batch, k):         # k equal parts
        loss = loss_fn(model, micro_batch) / k  # mean over the micro-batch, then / k
        loss.backward()                         # adds into p.grad
    optimizer.step()                            # one update, as for the full batch

(With unequal parts, weight micro-batch ``i`` by ``n_i / n`` instead of ``1 / k``.)
Gradient clipping, if wanted, goes between the loop and ``step()``
(``tinydl.nn.utils.clip_grad_norm_``).
"""
import difflib
import numbers

import numpy as np

from tinydl import backends
from tinydl.autograd import bump_version
from tinydl.tensor import Tensor


class _StateByParam:
    """Per-parameter state keyed by the parameter object itself.

    Tensors compare elementwise (``==`` returns a Tensor), so they are keyed by identity,
    which is what torch.optim does too. Like torch's ``defaultdict(dict)``, ``state[p]`` of a
    parameter without state yet is a new empty dict (the step fills it); also ``p in state``,
    ``len``, iteration over parameters, ``get``, ``keys``, ``values`` and ``items()``.
    """

    def __init__(self):
        self._entries = {}  # id(param) -> (param, state dict)

    def __getitem__(self, param):
        entry = self._entries.get(id(param))
        if entry is None:  # torch: {} (a bare KeyError named the parameter's address)
            entry = self._entries[id(param)] = (param, {})
        return entry[1]

    def get(self, param, default=None):
        """``param``'s state dict, or ``default`` when it has none yet."""
        entry = self._entries.get(id(param))
        return default if entry is None else entry[1]

    def keys(self):
        """The parameters that have state, in the order their states were created."""
        return [param for param, _ in self._entries.values()]

    def values(self):
        """The state dicts, in the order they were created."""
        return [state for _, state in self._entries.values()]

    def __setitem__(self, param, value):
        self._entries[id(param)] = (param, value)

    def __contains__(self, param):
        return id(param) in self._entries

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return (param for param, _ in self._entries.values())

    def items(self):
        """(parameter, state dict) pairs in the order the states were created."""
        return list(self._entries.values())

    def clear(self):
        """Forget every parameter's state."""
        self._entries.clear()


def _copy_value(value, where):
    """Deep copy of a state/option value made of arrays, numbers, None, lists, tuples, dicts.

    A Tensor (a learning rate given as a 0-d Tensor, as torch allows) is copied as its array.
    ``where`` starts the error message: the method and the entry, e.g. ``"Adam.state_dict:
    option 'lr'"``.
    """
    if isinstance(value, Tensor):
        return value.data.copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if value is None or isinstance(value, (numbers.Number, str, np.generic)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_value(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _copy_value(v, where) for k, v in value.items()}
    raise TypeError(f"{where} holds a {type(value).__name__}, which a state dict cannot hold "
                    "(only arrays, Tensors, numbers, strings, None, lists, tuples, dicts)")


def _restore_option(value, current, where):
    """A loaded group option, given back the Python type the running optimizer uses.

    A checkpoint that went through ``np.savez`` turns numbers into 0-d arrays and tuples
    into arrays; the current value of the same option says what it should be again. An
    option that is a Tensor now gets a new Tensor (its dtype) holding the loaded values.
    """
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(current, Tensor):
        return Tensor(np.array(value, dtype=current.data.dtype))
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(current, tuple) and isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_restore_option(v, c, where) for v, c in zip(value, current))
    if isinstance(current, bool):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return _copy_value(value, where)


# A torch option that changes the update rule, implemented here only by Adam and NAdam (an
# option of theirs): a group of another optimizer that sets it is refused rather than silently
# stepped without it.
_TORCH_ONLY_OPTIONS = ("decoupled_weight_decay",)


def torch_flags(optimizer, options, implemented=()):
    """The group defaults for torch's keyword options given to ``optimizer``'s constructor
    (``options``, a dict of keyword arguments): ``maximize`` (implemented by every optimizer:
    the gradient is negated before the update, torch's rule), the options in
    ``implemented`` (``decoupled_weight_decay`` for Adam and NAdam), and torch's switches
    between implementations with the same arithmetic, ``foreach``, ``fused`` and
    ``capturable``, which are accepted and ignored. ``differentiable=True`` (a step autograd
    could follow) is refused; any other keyword is a TypeError naming the optimizer."""
    options = dict(options)
    flags = {"maximize": bool(options.pop("maximize", False))}
    for key in implemented:
        if key in options:
            flags[key] = bool(options.pop(key))
    if options.pop("differentiable", False):
        raise ValueError(f"{optimizer}: differentiable=True is not implemented by tinydl (its "
                         "step updates the arrays outside the graph)")
    for key in ("foreach", "fused", "capturable"):
        options.pop(key, None)
    if options:
        raise TypeError(f"{optimizer}.__init__() got an unexpected keyword argument "
                        f"{next(iter(options))!r}")
    return flags


class Optimizer:
    """Base class of the first-order optimizers (torch.optim.Optimizer semantics).

    Args:
        params_or_groups: an iterable of Tensors, or of dicts (parameter groups) each with
            a ``'params'`` entry and any per-group options.
        defaults: option name -> default value for groups that do not set it.

    Subclasses implement ``_init_state(param, group) -> dict`` (the state before the first
    step) and ``_update(param, grad, state, group)`` (one step on NumPy arrays, in place).
    ``_scalar_state`` names the state entries that are Python numbers, not arrays.
    """

    _scalar_state = ("step",)

    def __init__(self, params_or_groups, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = _StateByParam()
        # Counted so that a scheduler can warn when it is stepped before the optimizer.
        self._step_calls = 0
        if isinstance(params_or_groups, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            "of dicts, got a single Tensor (wrap it in a list)")
        if isinstance(params_or_groups, dict):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            "of dicts, got a dict (wrap the group in a list)")
        groups = list(params_or_groups)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group ``{'params': [...], option: value, ...}``; missing options take defaults.

        Keys that are not options of this optimizer are kept, as torch keeps them (a
        scheduler's ``'initial_lr'``, a user's ``'name'``), except a likely misspelling of an
        option (``'momentun'``) and torch options that would change the update.

        Raises TypeError for non-Tensor or non-floating parameters and ValueError for a
        non-leaf parameter, a parameter already in another group, a misspelt option or
        ``decoupled_weight_decay`` set to true in an optimizer that does not implement it.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}.add_param_group: params must be an ordered collection, "
                            "not a set (its order changes between runs)")
        params = list(params)
        param_group = dict(param_group)
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                          for p in params):
            # model.named_parameters(), as torch 2 takes it: the names go in the group
            param_group["param_names"] = [p[0] for p in params]
            params = [p[1] for p in params]
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors (or (name, Tensor) pairs, "
                                f"all of them), got {type(p).__name__}")
            # p.dtype, not p.data.dtype: a lazy module's UninitializedParameter has a dtype
            # and no data yet; it is filled in place by its first forward, as torch's
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"{name}: can only optimize floating-point Tensors, got dtype "
                                f"{p.dtype}")
            # backward never fills the .grad of a computed tensor, so it would never train.
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (params[{i}] of the "
                                 f"group was computed by {p.grad_fn.__name__}; optimize the "
                                 "tensor it was computed from)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}.add_param_group: a parameter appears twice in one group")
        for key in param_group:
            self._check_extra_key(key, param_group[key])
        group = dict(self.defaults)
        group.update(param_group)
        group["params"] = params
        self._check_group(group)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError(f"{name}.add_param_group: some parameters appear in more than one "
                             "parameter group")
        self.param_groups.append(group)

    def _check_extra_key(self, key, value):
        """Refuse a group key that is not an option here but looks like a mistake."""
        name = type(self).__name__
        if key in self.defaults or key == "params" or not isinstance(key, str):
            return
        if key in _TORCH_ONLY_OPTIONS and value:
            raise ValueError(f"{name}.add_param_group: torch's option {key!r} is not "
                             f"implemented by tinydl (got {key}={value!r})")
        # A key holding a whole option name ('max_momentum', 'betas1') is a tag, not a typo.
        close = [option for option in difflib.get_close_matches(key, self.defaults, cutoff=0.75)
                 if option not in key]
        if close:
            raise ValueError(f"{name}.add_param_group: unknown option {key!r}; did you mean "
                             f"{close[0]!r}? (options: {sorted(self.defaults)})")

    def _check_group(self, group):
        """Validate one group's options (subclasses raise ValueError naming the bad value)."""

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every parameter: ``p.grad = None`` (default) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (it should call
        ``zero_grad`` and ``backward`` itself), as in torch.optim.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            maximize = group.get("maximize")  # torch: negated first, then weight decay etc.
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}.step: gradient shape {grad.shape} "
                                     f"differs from parameter shape {p.data.shape}")
                param, grad = _working_view(p.data), _working_view(grad)
                if grad.dtype != param.dtype:
                    grad = grad.astype(param.dtype)
                if maximize:
                    grad = -grad
                state = self.state.get(p)
                if not state:  # none yet, or the empty dict state[p] made
                    state = self.state[p] = self._init_state(param, group)
                else:
                    self._follow_dtype(param, state)
                self._update(param, grad, state, group)
                # An in-place write, as torch counts it: a graph that saved this parameter
                # (a GAN's generator loss through a discriminator just stepped) then refuses
                # to backward instead of giving gradients for weights it no longer has.
                bump_version(p)
        self._step_calls += 1
        return loss

    def _init_state(self, param, group):
        return {}

    def _follow_dtype(self, param, state):
        """Cast the state arrays to the parameter's dtype where it changed since they were made
        (``model.double()`` after some steps), as ``load_state_dict`` casts them: float32
        moments would otherwise keep a float64 model's updates at float32 precision without a
        word (torch raises at the step). A state array of another shape than its parameter's
        (``p.data`` replaced by one of another shape) is refused, naming both."""
        for key, value in state.items():
            if value.__class__ is not np.ndarray:
                continue
            if value.shape != param.shape:
                raise ValueError(
                    f"{type(self).__name__}.step: state {key!r} has shape {value.shape} but "
                    f"its parameter has shape {param.shape} (was the parameter's data "
                    "replaced?); make a new optimizer, or clear its state for the parameter")
            if value.dtype != param.dtype and value.dtype.kind == "f":
                state[key] = value.astype(param.dtype)

    def _update(self, param, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} does not define its update rule")

    def state_dict(self):
        """The optimizer's state as plain data, as torch.optim does it.

        Returns ``{'state': {index: {name: value}}, 'param_groups': [{option: value,
        'params': [index, ...]}]}`` where parameters are numbered 0, 1, ... in group order.
        Values are deep copies made only of NumPy arrays, Python numbers, strings, None,
        lists, tuples and dicts (a Tensor option is saved as its array), so the result can
        be written with ``tinydl.save``. State arrays have their parameter's shape.
        """
        name = type(self).__name__
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _copy_value(v, f"{name}.state_dict: option {k!r}")
                      for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                saved = _copy_value(s, f"{name}.state_dict: the state of parameter {index[id(p)]}")
                state[index[id(p)]] = self._saved_state(p, saved)
        return {"state": state, "param_groups": groups}

    def _saved_state(self, p, saved):
        """``p``'s state as ``state_dict`` saves it (``saved``, a copy): arrays in its shape.
        (LBFGS, whose state is flat vectors over all parameters, saves them as they are.)"""
        if p.data.ndim == 0:  # its state is kept as (1,) (see _working_view); save ()
            saved = {k: v.reshape(()) if isinstance(v, np.ndarray) else v
                     for k, v in saved.items()}
        return saved

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` into an optimizer over parameters of the same shapes.

        Group options come from the checkpoint; the parameters stay this optimizer's own.
        State arrays are copied and cast to their parameter's dtype. Keys of ``'state'``
        may be ints or their strings (as after a round trip through ``.npz``).
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the checkpoint has {len(saved_groups)} "
                             f"parameter groups, this optimizer {len(self.param_groups)}")
        by_index = {}
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: a group has {len(saved['params'])} "
                                 f"parameters in the checkpoint and {len(group['params'])} here")
            for i, p in zip(saved["params"], group["params"]):
                by_index[int(i)] = p
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {k: _restore_option(v, group.get(k),
                                            f"{name}.load_state_dict: option {k!r}")
                         for k, v in saved.items() if k != "params"}
            for key, value in self.defaults.items():  # an option the checkpoint predates
                new_group.setdefault(key, value)
            new_group["params"] = group["params"]
            new_groups.append(new_group)
        new_state = _StateByParam()
        for key, saved_state in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, "
                                 "which no group lists")
            new_state[p] = {k: self._restore_state_value(k, v, p) for k, v in saved_state.items()}
        self.param_groups = new_groups
        self.state = new_state

    def _restore_state_value(self, key, value, p):
        if value is None:
            return None
        if key in self._scalar_state:
            number = np.asarray(value).item()
            return int(number) if key == "step" else float(number)
        array = np.array(value, dtype=p.data.dtype, copy=True)
        # A 0-d parameter's state is saved as () (torch) or (1,) (older tinydl checkpoints).
        if array.shape != p.data.shape and not (p.data.ndim == 0 and array.shape == (1,)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state {key!r} has shape "
                             f"{array.shape}, its parameter {p.data.shape}")
        return _working_view(array)


def _working_view(array):
    """The array the update rules work on: itself, or a (1,) view of a 0-d array.

    NumPy turns the results of arithmetic on 0-d arrays into scalars, on which ``*=``
    rebinds instead of writing in place; a 1-element view keeps every update in place.
    State arrays of a 0-d parameter therefore have shape (1,); ``state_dict`` saves them as ().
    """
    return array.reshape(1) if array.ndim == 0 else array


_KERNEL_DTYPES = (np.float32, np.float64)  # what the kernels of tinydl.kernels.optim take


def _kernel_ready(param, *others):
    """Whether the one-pass Numba kernels of ``tinydl.kernels.optim`` can update ``param``
    and its companions (gradient, state arrays) in place: Numba on, float32 or float64, one
    dtype for all, all C-contiguous (so their flat views are the arrays themselves)."""
    return backends.flat_kernel_takes(_KERNEL_DTYPES, param, *others)


def _lerp_weight(weight, dtype):
    """``(c, toward)`` for ``lerp_(avg, target, weight)`` in ``dtype``: torch's two-sided form
    ``avg + weight (target - avg)`` for weight < 0.5 (c = weight, toward False), and
    ``target - (target - avg) (1 - weight)`` from 0.5 up (c = -(1 - weight), toward True), so
    that the result is the target exactly at weight 1 (Adam with beta1 = 0: the one-sided
    form rounds ``m + (g - m)`` and loses a small g beside a large m). c is in ``dtype``
    (1 - weight taken there, as torch)."""
    kind = np.dtype(dtype).type
    w = kind(weight)
    if abs(float(weight)) < 0.5:
        return w, False
    return -(kind(1) - w), True


def _lerp_(avg, target, weight, scratch=None):
    """``avg <- lerp(avg, target, weight)`` in place (torch's ``avg.lerp_(target, weight)``,
    the exponential averages of Adam, NAdam and centered RMSprop); ``scratch``, an array
    like avg, holds ``target - avg`` (one is made when None)."""
    c, toward = _lerp_weight(weight, avg.dtype)
    scratch = np.subtract(target, avg, out=scratch)
    scratch *= c
    if toward:
        np.add(target, scratch, out=avg)
    else:
        avg += scratch
    return avg


def _decayed(param, grad, lr, wd, decoupled):
    """Weight decay before an Adam-family update: decoupled (AdamW's) shrinks ``param`` in
    place by ``1 - lr wd``, else the L2 term ``wd param`` joins the gradient; returns the
    gradient to use (Adam, NAdam, RAdam)."""
    if wd != 0:
        if decoupled:
            param *= 1 - lr * wd
        else:
            grad = grad + wd * param
    return grad


def _check_betas(optimizer, betas):
    """Raise ValueError naming the optimizer unless ``betas`` is two numbers in [0, 1)."""
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"{optimizer}: betas must be two numbers in [0, 1), got {betas!r}")


def _check_non_negative(optimizer, **values):
    """Raise ValueError naming the optimizer and the first option that is negative, and
    TypeError for one that is not a real number (None, a bool: torch refuses
    ``weight_decay=True``; a 0-d Tensor or array is a number)."""
    for key, value in values.items():
        number = (isinstance(value, numbers.Real)
                  or (getattr(value, "ndim", None) == 0 and value.dtype.kind in "iuf"))
        if not number or isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{optimizer}: {key} must be a real number, got {value!r}")
        if not value >= 0.0:
            raise ValueError(f"{optimizer}: invalid {key} {value!r} (must be >= 0)")
