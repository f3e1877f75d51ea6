"""The learning-rate range test (Smith 2017; the fastai ``lr_find`` recipe).

Train for a few batches while the learning rate grows exponentially from ``start_lr`` to
``end_lr``, record a smoothed loss, and stop once the loss explodes. A good learning rate
sits where the loss falls fastest, well before the minimum of the curve.
"""
import math

import numpy as np

from tinydl.tensor import Tensor


def _snapshot_model(model):
    """A deep copy of the model's weights and a function that puts them back in place."""
    if hasattr(model, "state_dict") and hasattr(model, "load_state_dict"):
        saved = {k: Tensor(v.data.copy()) if isinstance(v, Tensor) else np.array(v, copy=True)
                 for k, v in model.state_dict().items()}
        return lambda: model.load_state_dict(saved)
    if hasattr(model, "parameters"):
        params = list(model.parameters())
        saved = [p.data.copy() for p in params]

        def restore():
            # In place, so that the optimizer's references to p.data stay valid.
            for p, array in zip(params, saved):
                p.data[...] = array
        return restore
    raise TypeError("lr_finder: model needs parameters() or state_dict()/load_state_dict(), "
                    f"got a {type(model).__name__}")


def _endless(loader):
    """Batches from ``loader``, starting it over whenever it runs out."""
    served = 0
    while True:
        before = served
        for batch in loader:
            served += 1
            yield batch
        if served == before:
            if served:  # a generator or iterator: it cannot be started over
                raise ValueError(f"lr_finder: the loader ran out after {served} batches and "
                                 "cannot be started over (a generator or iterator?); pass a "
                                 "list or a DataLoader, or a smaller num_iter")
            raise ValueError("lr_finder: the loader yielded no batches")


def lr_finder(model, loss_fn, loader, optimizer, start_lr=1e-7, end_lr=10, num_iter=100,
              beta=0.98):
    """Run the LR range test and return ``(lrs, smoothed_losses)`` as two 1-D float64 arrays.

    At iteration i = 0, 1, ..., num_iter - 1 every parameter group gets
    ``lr_i = start_lr * (end_lr / start_lr) ** (i / num_iter)``; one batch is trained
    (``optimizer.zero_grad(); loss = loss_fn(model, batch); loss.backward();
    optimizer.step()``) and the loss is smoothed as ``a = beta a + (1 - beta) loss``,
    reported bias-corrected as ``a / (1 - beta^(i+1))``. The test stops before recording an
    iteration whose smoothed loss exceeds 4 x the best so far (or is not finite).
    The loader is started over when it runs out. The model trains in training mode
    (``model.train()``, as fastai and torch-lr-finder: dropout on, BatchNorm on batch
    statistics), and its mode is put back afterwards.

    Args:
        model: anything with ``state_dict()`` / ``load_state_dict()`` (an ``nn.Module``) or
            with ``parameters()``; its weights are restored afterwards.
        loss_fn: ``loss_fn(model, batch) -> scalar Tensor``, the training loss of one batch.
        loader: an iterable of batches (a DataLoader, a list, ...).
        optimizer: a ``tinydl.optim`` optimizer over the model's parameters; its state and
            learning rates are restored afterwards too.

    Returns:
        lrs: (n,) learning rates tried; losses: (n,) smoothed losses, n <= num_iter.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_finder: need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if not (isinstance(num_iter, int) and num_iter > 1):
        raise ValueError(f"lr_finder: num_iter must be an int > 1, got {num_iter!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"lr_finder: beta must be in [0, 1), got {beta}")
    restore_model = _snapshot_model(model)
    saved_optimizer = optimizer.state_dict()
    was_training = getattr(model, "training", None) if hasattr(model, "train") else None
    if was_training is not None:
        model.train()  # left in eval mode, the test ran without dropout or batch statistics
    lrs, losses = [], []
    avg, best = 0.0, math.inf
    batches = _endless(loader)
    try:
        for i in range(num_iter):
            lr = start_lr * (end_lr / start_lr) ** (i / num_iter)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = loss_fn(model, next(batches))
            value = float(loss.item())
            avg = beta * avg + (1 - beta) * value
            smoothed = avg / (1 - beta ** (i + 1))
            # 4 x best, measured from best up (the same for a positive loss; a negative best
            # made every step "diverge": smoothed > 4 * best holds for all smoothed > 4 best)
            if not math.isfinite(smoothed) or (i > 0 and smoothed > best + 3 * abs(best)):
                break
            best = min(best, smoothed)
            lrs.append(lr)
            losses.append(smoothed)
            loss.backward()
            optimizer.step()
    finally:
        restore_model()
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad()
        if was_training is not None:
            model.train(was_training)
    return np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)


def suggest_lr(lrs, losses):
    """The learning rate where the smoothed loss falls fastest against log10(lr).

    ``argmin`` of ``d loss / d log10(lr)`` (``np.gradient``, central differences), the
    "steepest descent" point of fastai's ``lr_find``, over the curve without its first tenth
    and its last 5 points as fastai trims it (kept where fewer than 3 points would remain):
    the first smoothed losses average only a batch or two, and batch noise there once read as
    the steepest descent and suggested ``start_lr`` itself. Needs at least 3 points, all
    finite.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != losses.shape:
        raise ValueError(f"suggest_lr: lrs and losses must be 1-D of one length, got shapes "
                         f"{lrs.shape} and {losses.shape}")
    if lrs.size < 3:
        raise ValueError(f"suggest_lr: need at least 3 points, got {lrs.size}")
    if np.any(lrs <= 0):
        raise ValueError("suggest_lr: learning rates must be positive")
    if not np.isfinite(losses).all():  # argmin would pick the NaN
        raise ValueError("suggest_lr: losses must be finite (lr_finder stops before a "
                         "non-finite one)")
    return float(lrs[_steepest_index(lrs, losses)])


def _steepest_index(lrs, losses):
    """Index of the steepest descent over fastai's trimmed range (see ``suggest_lr``)."""
    n = len(lrs)
    lo, hi = n // 10, n - 5
    if hi - lo < 3:
        lo, hi = (0, n) if n - n // 10 < 3 else (n // 10, n)
    slope = np.gradient(losses[lo:hi], np.log10(lrs[lo:hi]))
    return lo + int(np.argmin(slope))


def plot_lr_finder(lrs, losses, ax=None, suggestion=True):
    """Plot smoothed loss against lr (log x axis); mark ``suggest_lr`` with a red dot.

    Returns the matplotlib Axes (a new figure's when ``ax`` is None).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lrs, losses, color="C0")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed loss")
    if suggestion and len(lrs) >= 3:
        best = suggest_lr(lrs, losses)
        i = _steepest_index(np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64))
        ax.plot([best], [losses[i]], "o", color="red", label=f"suggested lr = {best:.2e}")
        ax.legend()
    return ax
