"""Connectionist temporal classification (Graves et al. 2006): torch's ``F.ctc_loss``.

An alignment of a target ``l`` (length S) to T frames is a path of T symbols from the C classes
that collapses to ``l`` once repeats are merged and blanks dropped ("-aa-b" -> "ab"). The loss
of one sample is ``-log p(l | x) = -log sum_{paths} prod_t y_t(path_t)`` with
``y_t(c) = exp(log_probs[t, c])``. The sum runs over the extended label ``l'`` (S' = 2S + 1
symbols: a blank before, between and after the labels); ``alpha_t(s)``, the probability of the
prefixes that end at ``l'_s`` at frame t, obeys

    alpha_t(s) = y_t(l'_s) (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [skip_s] alpha_{t-1}(s-2))

where ``skip_s`` (jumping a blank) holds for a label position whose label differs from the one
two positions back, and ``p(l | x) = alpha_{T-1}(S'-1) + alpha_{T-1}(S'-2)``. ``beta_t(s)``, the
probability of the suffixes that leave ``l'_s`` at frame t (the frame's own y excluded), runs
the same recursion backwards; ``alpha_t(s) beta_t(s) / p`` is the posterior probability that
frame t emits ``l'_s``, and

    d loss / d log_probs[t, c] = -sum_{s: l'_s = c} alpha_t(s) beta_t(s) / p.

Both recursions run in log space (``logaddexp``), vectorised over the batch and the extended
labels, with a Python loop over the frames only. The Function ``CTCNegLogLikelihood`` gives
the per-sample losses; ``ctc_loss`` checks its arguments the way torch does and reduces with
tinydl ops. The backward is written on arrays: first derivatives only.
"""
import numbers

import numpy as np

from tinydl.autograd import Function, once_differentiable
from tinydl.ops._checks import _tensor
from tinydl.ops._util import DtypeError, ShapeError
from tinydl.ops.loss import _check_reduction
from tinydl.tensor import Tensor


def _extended_labels(targets, blank):
    """The extended label sequences ``l'`` (N, 2S + 1) of padded targets (N, S) (entries past
    a sample's length already set to the blank), and where a position may be reached by
    skipping the blank before it (a label that differs from the label before it)."""
    n, s = targets.shape
    ext = np.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 3::2] = targets[:, 1:] != targets[:, :-1]
    return ext, skip


def _step(prev, skip, shift):
    """One step of the recursion in log space: each position's own value plus its neighbour
    ``shift`` (1 or -1) positions back along the extended labels, plus the one two back where
    ``skip`` allows it (``skip`` aligned with the receiving position for alpha, with the
    sending one for beta)."""
    out = prev.copy()
    if shift == 1:  # alpha: s takes from s - 1 and s - 2
        out[:, 1:] = np.logaddexp(out[:, 1:], prev[:, :-1])
        out[:, 2:] = np.where(skip[:, 2:], np.logaddexp(out[:, 2:], prev[:, :-2]), out[:, 2:])
    else:  # beta: s takes from s + 1 and s + 2
        out[:, :-1] = np.logaddexp(out[:, :-1], prev[:, 1:])
        out[:, :-2] = np.where(skip[:, 2:], np.logaddexp(out[:, :-2], prev[:, 2:]), out[:, :-2])
    return out


class CTCNegLogLikelihood(Function):
    """Per-sample CTC losses ``-log p(l | x)`` (N,) of log_probs (T, N, C).

    Arguments (arrays): padded targets (N, S) with the blank past each sample's length,
    input_lengths and target_lengths (N,), the blank index and ``zero_infinity`` (an
    infeasible sample's loss inf becomes 0, its gradient 0). The forward keeps the log
    alphas; the backward runs beta and returns ``-g * posterior`` (the module docstring).
    """

    retain_inputs = ()  # backward reads the gathered log-probabilities kept on ctx
    retain_output = False

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        steps, n = log_probs.shape[:2]
        ext, skip = _extended_labels(targets, blank)
        # y_t(l'_s) for every frame, sample and extended position: (T, N, S')
        picked = np.take_along_axis(log_probs, np.broadcast_to(ext, (steps,) + ext.shape), 2)
        # Frames past a sample's input length are padding: -inf there, so that whatever they
        # hold (NaN, inf) gives them a zero posterior and gradient, as torch's, not NaN.
        # The alphas the loss reads (frames before the length) are unchanged.
        picked = np.where((np.arange(steps)[:, None] < input_lengths)[..., None], picked, -np.inf)
        alpha = np.full(picked.shape, -np.inf, dtype=log_probs.dtype)
        alpha[0, :, :2] = picked[0, :, :2]
        rows = np.arange(n)
        last = np.maximum(input_lengths - 1, 0)
        end = 2 * target_lengths
        has_label = target_lengths > 0
        # NaN log-probabilities give NaN losses, as torch's, without a warning per frame
        with np.errstate(invalid="ignore"):
            for t in range(1, steps):
                alpha[t] = _step(alpha[t - 1], skip, 1) + picked[t]
            log_p = alpha[last, rows, end]
            ending_on_label = np.logaddexp(log_p, alpha[last, rows, np.maximum(end - 1, 0)])
        log_p = np.where(has_label, ending_on_label, log_p)
        # no frame at all: the empty path, probability 1 for an empty target and 0 otherwise
        log_p = np.where(input_lengths == 0, np.where(has_label, -np.inf, 0.0), log_p)
        loss = (-log_p).astype(log_probs.dtype)
        infeasible = np.isposinf(loss)
        if zero_infinity:
            loss[infeasible] = 0
        if ctx.records:
            ctx.shape, ctx.zero_infinity = log_probs.shape, zero_infinity
            ctx.saved = (picked, alpha, ext, skip, input_lengths, target_lengths, log_p,
                         infeasible)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        picked, alpha, ext, skip, input_lengths, target_lengths, log_p, infeasible = ctx.saved
        steps, n, n_classes = ctx.shape
        rows = np.arange(n)
        end = 2 * target_lengths
        start = np.full(alpha.shape[1:], -np.inf, dtype=alpha.dtype)
        start[rows, end] = 0.0  # log 1: nothing left to emit after the last frame
        start[rows[target_lengths > 0], end[target_lengths > 0] - 1] = 0.0
        beta = np.empty_like(alpha)
        b = start
        # invalid: NaN inputs, and -inf - -inf for the infeasible samples (set below)
        with np.errstate(invalid="ignore"):
            for t in range(steps - 1, -1, -1):
                step = _step(b + picked[t + 1], skip, -1) if t < steps - 1 else b
                b = np.where((t == input_lengths - 1)[:, None], start,
                             np.where((t < input_lengths - 1)[:, None], step, -np.inf))
                beta[t] = b
            posterior = np.exp(alpha + beta - log_p[:, None])
        posterior[:, infeasible] = 0.0
        # sum the posteriors of the extended positions that share a class: one bincount
        flat = (np.arange(steps)[:, None, None] * n + rows[:, None]) * n_classes + ext
        grad = np.bincount(flat.ravel(), weights=posterior.ravel(),
                           minlength=steps * n * n_classes).reshape(ctx.shape)
        # an infeasible sample's loss is inf: its gradient NaN over its frames (as torch),
        # or 0 where zero_infinity replaced the loss by 0
        if not ctx.zero_infinity:
            frames = np.arange(steps)[:, None] < input_lengths
            grad[frames & infeasible] = np.nan
        grad *= -g.data[:, None]
        return grad.astype(alpha.dtype, copy=False), None, None, None, None, None


def _lengths(value, n, caller, name):
    """input_lengths or target_lengths as an int64 array (n,): a Tensor or an array of
    integers (any shape of n entries, as torch flattens them), a tuple or list of ints, or one
    int (for an unbatched input, or a batch of one)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        data = np.asarray([int(value)])
    elif isinstance(value, (Tensor, np.ndarray, tuple, list)):
        data = value.data if isinstance(value, Tensor) else np.asarray(value)
        if data.size == 0 and data.dtype.kind == "f":  # np.asarray(()) is float64
            data = data.astype(np.int64)
        if data.dtype.kind not in "iu":
            raise DtypeError(f"{caller}: {name} must hold integers, got dtype {data.dtype}")
    else:
        raise TypeError(f"{caller}: {name} must be a Tensor, an array, a tuple or list of ints, "
                        f"or an int, got {type(value).__name__}")
    data = data.reshape(-1).astype(np.int64)
    if data.size != n:
        raise ShapeError(f"{caller}: {name} must hold one length per sample ({n}), got "
                         f"{data.size} (shape {np.shape(value)})")
    return data


def _padded_targets(targets, target_lengths, n, caller):
    """Targets as a padded (N, S) int64 array: from (N, S) padded ones or the (sum of the
    target lengths,) concatenation of them."""
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise DtypeError(f"{caller}: targets must hold integer class indices, got dtype "
                         f"{t.dtype}")
    if t.ndim == 2:
        if t.shape[0] != n:
            raise ShapeError(f"{caller}: padded targets of shape {t.shape} must have one row per "
                             f"sample ({n})")
        if target_lengths.size and target_lengths.max() > t.shape[1]:
            raise ShapeError(f"{caller}: target_lengths ({int(target_lengths.max())} at most) "
                             f"exceed the padded targets' length S={t.shape[1]} (targets of "
                             f"shape {t.shape})")
        return t.astype(np.int64)
    if t.ndim != 1:
        raise ShapeError(f"{caller}: targets must be padded (N, S) or concatenated "
                         f"(sum(target_lengths),), got shape {t.shape}")
    total = int(target_lengths.sum())
    if t.shape[0] != total:
        raise ShapeError(f"{caller}: concatenated targets must hold sum(target_lengths) = {total} "
                         f"entries, got {t.shape[0]}")
    width = int(target_lengths.max()) if n else 0
    padded = np.zeros((n, width), dtype=np.int64)
    padded[np.arange(width) < target_lengths[:, None]] = t
    return padded


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss ``-log p(target | log_probs)`` (Graves et al.
    2006), summed over every alignment of each target to its frames (see the module docstring).

    log_probs: (T, N, C) log-probabilities (``log_softmax`` over C), or unbatched (T, C);
    float32 or float64. targets: class indices, padded (N, S) (entries past a sample's length
    ignored) or concatenated (sum(target_lengths),), or (S,) unbatched; none may be ``blank``.
    input_lengths, target_lengths: (N,) Tensors, arrays, tuples or lists of ints (frames used,
    from the start, and labels per sample). reduction: 'none' gives the (N,) losses, 'sum'
    their sum, 'mean' the batch mean of each loss divided by its target length (clamped to at
    least 1), torch's rule. A target that cannot fit its frames has loss inf, or 0 (and a zero
    gradient) with ``zero_infinity``.

    The gradient is the exact derivative in log_probs: ``-g`` times each frame's posterior
    class occupation. Through ``log_softmax`` it equals torch's; on log_probs themselves torch
    adds ``exp(log_probs)`` (it assumes the softmax, pytorch#52241) and gives NaN at entries
    of -inf, where this gives 0. First derivatives only: ``create_graph=True`` raises.
    """
    caller = "ctc_loss"
    x = _tensor(log_probs, caller, "log_probs")
    _check_reduction(reduction, caller)
    if x.dtype not in (np.float32, np.float64):
        raise DtypeError(f"{caller}: log_probs must be float32 or float64, got dtype {x.dtype}")
    if x.ndim not in (2, 3):
        raise ShapeError(f"{caller}: log_probs must be (T, N, C) or unbatched (T, C), got shape "
                         f"{x.shape}")
    if x.size == 0:
        raise ShapeError(f"{caller}: log_probs must not be empty, got shape {x.shape}")
    unbatched = x.ndim == 2
    if unbatched:  # one sample: targets (S,) (or (1, S)), one length each
        t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        x, targets = x.reshape((x.shape[0], 1, x.shape[1])), t[None] if t.ndim == 1 else t
    steps, n, n_classes = x.shape
    if not (isinstance(blank, numbers.Integral) and 0 <= blank < n_classes):
        raise ValueError(f"{caller}: blank must be a class index in [0, {n_classes}), got "
                         f"{blank!r}")
    in_len = _lengths(input_lengths, n, caller, "input_lengths")
    tgt_len = _lengths(target_lengths, n, caller, "target_lengths")
    if in_len.min() < 0 or in_len.max() > steps:
        bad = in_len[(in_len < 0) | (in_len > steps)][0]
        raise ValueError(f"{caller}: input_lengths must lie in [0, T={steps}], got {bad}")
    if tgt_len.min() < 0:
        raise ValueError(f"{caller}: target_lengths must be >= 0, got {tgt_len[tgt_len < 0][0]}")
    padded = _padded_targets(targets, tgt_len, n, caller)
    used = np.arange(padded.shape[1]) < tgt_len[:, None]
    labels = padded[used]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes or (labels == blank).any()):
        bad = labels[(labels < 0) | (labels >= n_classes) | (labels == blank)][0]
        raise ValueError(f"{caller}: target {int(bad)} is not a label: targets must lie in "
                         f"[0, {n_classes}) and differ from the blank ({blank})")
    padded = np.where(used, padded, blank)
    loss = CTCNegLogLikelihood.apply(x, padded, in_len, tgt_len, int(blank), bool(zero_infinity))
    if reduction == "mean":
        loss = (loss / Tensor._wrap(np.maximum(tgt_len, 1).astype(x.dtype))).mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss.reshape(()) if unbatched else loss
