"""Weight averaging: ``AveragedModel`` (SWA and EMA) and ``update_bn``, as ``torch.optim.swa_utils``.

Stochastic Weight Averaging (Izmailov et al. 2018) keeps the running mean of the weights
visited late in training; an exponential moving average (EMA, Polyak averaging with a
decay, as in Tan & Le's EfficientNet or the "mean teacher") keeps
``w_ema <- decay w_ema + (1 - decay) w``. Both are one ``AveragedModel``, differing only in
the averaging function::

    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
    for xb, yb in loader:
        ... optimizer.step()
        ema.update_parameters(model)
    evaluate(ema)            # ema(x) runs the averaged copy

With ``use_buffers=False`` (SWA's default) BatchNorm statistics are not averaged: run
``update_bn(loader, swa_model)`` once at the end to recompute them for the averaged weights.
``SWALR`` anneals the learning rate to the constant SWA learning rate while averaging starts.
"""
import copy
import math
import numbers

import numpy as np

from tinydl.autograd import no_grad
from tinydl.nn import Module
from tinydl.nn.normalization import _BatchNorm
from tinydl.optim.lr_scheduler import LRScheduler, _per_group
from tinydl.tensor import Tensor


def get_ema_avg_fn(decay=0.999):
    """avg_fn(w_ema, w, n) = decay w_ema + (1 - decay) w, on one array (torch's name)."""
    _check_decay(decay, "get_ema_avg_fn")

    def ema_update(averaged, current, num_averaged):
        return decay * averaged + (1.0 - decay) * current
    return ema_update


def get_ema_multi_avg_fn(decay=0.999):
    """multi_avg_fn updating every array in place: w_ema += (1 - decay)(w - w_ema) (a lerp)."""
    _check_decay(decay, "get_ema_multi_avg_fn")

    def ema_update(averaged_list, current_list, num_averaged):
        for averaged, current in zip(averaged_list, current_list):
            averaged += (1.0 - decay) * (current - averaged)
    return ema_update


def get_swa_avg_fn():
    """avg_fn(w_swa, w, n) = w_swa + (w - w_swa) / (n + 1): the running mean of n + 1 models."""
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (num_averaged + 1)
    return swa_update


def get_swa_multi_avg_fn():
    """multi_avg_fn form of ``get_swa_avg_fn``: every array updated in place."""
    def swa_update(averaged_list, current_list, num_averaged):
        for averaged, current in zip(averaged_list, current_list):
            averaged += (current - averaged) / (num_averaged + 1)
    return swa_update


def _check_decay(decay, where):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"{where}: decay must be in [0, 1], got {decay!r}")


class AveragedModel(Module):
    """A deep copy of ``model`` whose weights are an average of the weights it is shown.

    ``AveragedModel(model, avg_fn=None, multi_avg_fn=None, use_buffers=False)``, torch's
    semantics: the first ``update_parameters(model)`` copies the weights; each later one
    averages them in with ``multi_avg_fn(averaged_arrays, current_arrays, n)`` (in place),
    else ``avg_fn(averaged, current, n)`` (returns the new value), else the running mean
    (SWA). ``n_averaged`` (a buffer) counts the updates. With ``use_buffers=True`` the
    floating buffers (BatchNorm running statistics) are averaged with the parameters;
    integer ones (``num_batches_tracked``) are copied from ``model``. With
    ``use_buffers=False`` every buffer is copied from ``model`` at each update (torch does
    the same), so call ``update_bn`` before evaluating. ``forward`` runs the copy.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a Module, got {type(model).__name__}")
        if device not in (None, "cpu"):
            raise ValueError(f"AveragedModel: tinydl runs on the CPU, got device={device!r}")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _pairs(self, model):
        ours = list(self.module.parameters())
        theirs = list(model.parameters())
        if self.use_buffers:
            ours += [b for b in self.module.buffers() if b is not None]
            theirs += [b for b in model.buffers() if b is not None]
        if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
            raise ValueError(f"AveragedModel.update_parameters: {type(model).__name__} does not "
                             "have the averaged model's parameters (count or shapes differ)")
        return ours, theirs

    @no_grad()
    def update_parameters(self, model):
        """Average ``model`` 's current weights into this copy (the first call copies them)."""
        ours, theirs = self._pairs(model)
        n = int(self.n_averaged.data)
        averaged, current = [], []
        for mine, other in zip(ours, theirs):
            if n == 0 or not np.issubdtype(mine.data.dtype, np.floating):
                mine.data[...] = other.data
            else:
                averaged.append(mine.data)
                current.append(other.data)
        if n > 0:
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(averaged, current, n)
            elif self.avg_fn is not None:
                for mine, other in zip(averaged, current):
                    mine[...] = self.avg_fn(mine, other, n)
            else:
                get_swa_multi_avg_fn()(averaged, current, n)
        if not self.use_buffers:
            for mine, other in zip(self.module.buffers(), model.buffers()):
                if mine is not None and other is not None:
                    mine.data[...] = other.data
        self.n_averaged.data[...] = n + 1


@no_grad()
def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    Each BatchNorm's running mean and variance are reset and re-estimated as the plain
    average over the batches (momentum None), with ``model`` in training mode; the
    momenta and the training flag are restored afterwards (torch's ``update_bn``). A batch
    that is a tuple or list feeds its first element to the model. Does nothing if the model
    has no BatchNorm.

    Every batch-norm layer counts, ``SyncBatchNorm`` included (torch selects by its
    ``_BatchNorm`` base too); instance norms, which also may keep running statistics, do not.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = {}
    for bn in norms:
        bn.reset_running_stats()
        momenta[bn] = bn.momentum
        bn.momentum = None
    was_training = model.training
    model.train()
    for batch in loader:
        if isinstance(batch, list | tuple):
            batch = batch[0]
        model(batch)
    for bn in norms:
        bn.momentum = momenta[bn]
    model.train(was_training)


class SWALR(LRScheduler):
    """torch's ``SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos')``: over
    ``anneal_epochs`` steps each group's lr moves from its lr to ``swa_lr`` (a number, or one
    per group), then stays there.

    Step ``s`` (0 at construction) sets ``lr = swa_lr a(t) + base (1 - a(t))`` with
    ``t = min(1, s / anneal_epochs)`` and ``a(t) = (1 - cos(pi t)) / 2`` ('cos') or ``t``
    ('linear'). ``base`` is read back from the group's current lr through the previous step's
    ``a`` (``base = (lr - a swa_lr) / (1 - a)``), as torch does, so the schedule starts from
    whatever lr the group had when it began (after another scheduler, say). With
    ``anneal_epochs=0`` the first step sets ``swa_lr`` at once.
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        name = "SWALR"
        swa_lrs = _per_group(f"{name} swa_lr", optimizer, swa_lr)
        for value in swa_lrs:
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name}: swa_lr must be a non-negative number, got {value!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        if (isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, numbers.Integral)
                or anneal_epochs < 0):
            raise ValueError(f"{name}: anneal_epochs must be a non-negative int, got "
                             f"{anneal_epochs!r}")
        for group, value in zip(optimizer.param_groups, swa_lrs):
            group["swa_lr"] = float(value)
        self.anneal_epochs, self.anneal_strategy = int(anneal_epochs), anneal_strategy
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t):
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        before = self._anneal(min(1.0, max(0.0, (step - 1) / span)))
        now = self._anneal(min(1.0, max(0.0, step / span)))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            base = swa_lr if before == 1 else (group["lr"] - before * swa_lr) / (1 - before)
            lrs.append(swa_lr * now + base * (1 - now))
        return lrs
