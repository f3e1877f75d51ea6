"""The two losses that are one Function each: softmax cross-entropy and binary cross-entropy.

``cross_entropy`` turns any target (class indices with weights, ``ignore_index`` and label
smoothing, or probabilities) into one target matrix Q, so one Function with one gradient
serves every case. Also here: the target and reduction checks the other losses of
``tinydl.nn.functional`` share.
"""
import math
import numbers

import numpy as np

from tinydl import backends
from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops._checks import _index_array, _tensor
from tinydl.ops._util import ShapeError, as_tensor, unbroadcast
from tinydl.ops.activation import _softplus_array, sigmoid, softplus
from tinydl.ops.elementwise import _select, clip
from tinydl.ops.reduce import log_softmax, softmax
from tinydl.tensor import Tensor


def _check_reduction(reduction, caller):
    """``reduction`` is 'mean', 'sum' or 'none'; a tensor there is torch's positional
    ``weight`` (``F.cross_entropy(x, y, w)``), which tinydl takes by keyword."""
    if not isinstance(reduction, str):
        raise TypeError(f"{caller}: reduction must be 'mean', 'sum' or 'none', got "
                        f"{type(reduction).__name__} (torch's losses take weight or "
                        "size_average in that position); pass weight= and reduction= by "
                        "keyword")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{caller}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")


def _reduce(loss, reduction, caller):
    _check_reduction(reduction, caller)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{caller}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _pair_of(input, target, caller):
    x = _tensor(input, caller)
    t = _tensor(target, caller, "target")
    if x.shape != t.shape:
        raise ValueError(f"{caller}: input of shape {x.shape} and target of shape {t.shape} "
                         "differ")
    return x, t


def _check_scores(x, caller):
    """Class scores must be floating point (torch has no log-softmax of integers), not a scalar."""
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: input must hold floating-point class scores, got dtype "
                        f"{x.dtype} (shape {x.shape}); call .float() on it")
    if x.ndim == 0:
        raise ValueError(f"{caller}: input must have a class axis, got a scalar")


def _class_targets(x, target, caller):
    """Check integer class targets against scores x (N, C, *) or (C,); returns the array."""
    t = _index_array(target, caller)
    expected = _class_target_shape(x)
    if t.shape != expected:
        raise ShapeError(f"{caller}: target of shape {t.shape} does not fit input of shape "
                         f"{x.shape} (expected {expected})")
    return t


def _class_target_shape(x):
    return x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()


def _check_class_bounds(classes, n_classes, caller):
    """Raise ValueError naming the first of the kept class targets ``classes`` outside
    [0, n_classes) (a min and a max first: the usual batch has none)."""
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        bad = classes[(classes < 0) | (classes >= n_classes)]
        raise ValueError(f"{caller}: target {int(bad[0])} is out of bounds for {n_classes} classes")


def _refuse_weight_grad(weight, caller):
    """Class weights are constants here: a ``weight`` that requires grad would silently get
    none, so it raises, as torch's does."""
    if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{caller}: the class weight requires grad, but it gets no gradient "
                           "(as in torch, the derivative for weight is not implemented); pass "
                           "weight.detach(), or multiply per-sample losses (reduction='none') "
                           "by the weights yourself")


def _target_weights(x, t, weight, ignore_index, caller):
    """Per-target class weights (0 where ignored) and the one-hot matrix Q, both shaped like x."""
    n_classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    _check_class_bounds(t[valid], n_classes, caller)
    class_axis = 1 if x.ndim >= 2 else 0
    shape = [1] * x.ndim
    shape[class_axis] = n_classes
    classes = np.arange(n_classes).reshape(shape)
    onehot = np.expand_dims(safe, class_axis) == classes
    _refuse_weight_grad(weight, caller)
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"{caller}: weight must have shape ({n_classes},), got {w.shape}")
    # With no class at all every target is ignored (or there is none): no weight to look up.
    target_w = w[safe] * valid if n_classes else np.zeros(t.shape)
    return onehot, target_w, w.reshape(shape), valid, class_axis


def _onehot_targets(x, t, ignore_index, mean, caller):
    """Q (N, C) in x's dtype for class targets t (N,) with no weights or smoothing: 1 at each
    kept row's target class (1/kept under 'mean'), 0 elsewhere; the count of kept rows; and
    where Q is not 0, as (rows, classes). The same Q as ``_target_weights`` and the general
    branch of ``cross_entropy`` give."""
    n, n_classes = x.shape
    valid = t != ignore_index
    kept = int(np.count_nonzero(valid))
    rows, classes = (np.arange(n), t) if kept == n else (np.flatnonzero(valid), t[valid])
    _check_class_bounds(classes, n_classes, caller)
    q = np.zeros(x.shape, x.dtype)
    q[rows, classes] = 1.0 / kept if mean and kept else 1.0
    return q, kept, (rows, classes)


def _row_max(x, axis):
    """The maximum along the class axis, kept; -inf for no class at all (NumPy's max of an
    empty axis raises)."""
    if x.shape[axis]:
        return x.max(axis=axis, keepdims=True)  # the method: a third less overhead than np.max
    return np.full(x.shape[:axis] + (1,) + x.shape[axis + 1:], -np.inf, x.dtype)


def _exp_shifted(x, axis):
    """The softmax's parts along the class axis: x - max (``shifted``), its exp, and the
    sum of that (kept), which the loss and its gradient both start from."""
    shifted = x - _row_max(x, axis)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


def _divide_where(q, denom, reached):
    """``q / denom`` at the entries some kept target reaches, 0 elsewhere.

    The mask is what keeps ignored targets out of the gradient: with every target ignored
    (or an empty batch) ``denom`` is 0 and an unmasked ``0 / 0`` would put NaN into every
    gradient entry, poisoning every parameter; torch gives those entries zero.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(q, denom, out=np.zeros(np.shape(q)), where=reached)


def _mean_of_nothing(loss):
    """The 'mean' over no target at all (all ignored, or N = 0) is 0/0: NaN, as in torch.

    Adding NaN makes the value NaN but passes the gradient through unchanged, so the
    (already zero) gradient stays zero instead of becoming NaN.
    """
    return loss + math.nan


class SoftmaxCrossEntropy(Function):
    """L = -sum_c Q_c log softmax(x)_c; dL/dx = softmax(x) sum_c Q_c - Q, dL/dQ = -log softmax(x).

    Along ``axis``, for a target matrix Q shaped like x; summed to a scalar when ``total``,
    else one loss per row. The gradient in x needs no log of a softmax, so it is finite for
    logits of any size; it is one node of its own (``SoftmaxCrossEntropyGrad``), as cheap as
    a NumPy backward and differentiable again. The gradient in Q serves probability targets
    that require grad. Both are times the output gradient.
    """

    retain_inputs = (0, 1)
    retain_output = False

    @staticmethod
    def forward(ctx, x, q, axis, total, picks=None):
        """``picks`` (rows, classes), for a 2-D x and a one-hot Q (class-index targets):
        where Q is not 0; the loss then reads only those entries of log softmax(x). Or a
        boolean mask shaped like x: the entries read (a kept target's class, also where its
        weight makes Q 0, so that NaN logits there give NaN as in torch). None: where Q is
        not 0."""
        ctx.axis, ctx.total = axis, total
        shifted, e, norm = _exp_shifted(x, axis)
        # divide: no class at all, log(0) over an empty axis. invalid: classes without target
        # mass add 0, also where their logit is -inf (a masked class): a select, as q * logp
        # would be 0 * -inf = NaN there (torch gives the finite loss for class-index
        # targets; for probability targets torch's sum gives NaN, tinydl the finite loss).
        with np.errstate(divide="ignore", invalid="ignore"):
            log_norm = np.log(norm)
            if type(picks) is tuple:
                rows, classes = picks
                losses = np.zeros(x.shape[0], x.dtype)
                losses[rows] = -q[rows, classes] * (shifted[rows, classes] - log_norm[rows, 0])
            else:
                losses = -_select(q * (shifted - log_norm), q != 0 if picks is None else picks
                                  ).sum(axis=axis)
            # the softmax, for a first-order backward (which would compute it again); not
            # when Q requires grad: that backward is written in tinydl ops and recomputes it
            ctx.softmax = e / norm if ctx.records and not ctx.needs_input_grad[1] else None
        return np.asarray(losses.sum(), dtype=x.dtype) if total else losses

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.inputs[:2]
        axis, total = ctx.axis, ctx.total
        need_x, need_q = ctx.needs_input_grad[:2]
        if not is_grad_enabled() and not need_q:  # first order: the gradient on arrays
            q = q.data if isinstance(q, Tensor) else q
            return (SoftmaxCrossEntropyGrad.compute(x.data, q, g.data, axis, total,
                                                    ctx.softmax)
                    if need_x else None, None, None, None, None)
        gx = SoftmaxCrossEntropyGrad.apply(x, q, g, axis, total) if need_x else None
        gq = -log_softmax(x, axis) * (g if total else g.expand_dims(axis)) if need_q else None
        return gx, gq, None, None, None


class SoftmaxCrossEntropyIndex(Function):
    """The usual classifier loss in one Numba kernel each way (``tinydl.kernels.loss``):
    float32 logits x (N, C), int64 class targets t (N,), no class weights or smoothing.

    The same loss and gradient as ``SoftmaxCrossEntropy`` with the one-hot Q that
    ``cross_entropy`` would build (its twin: ``cross_entropy`` takes that path with Numba
    off): 'mean' divides by the kept targets (NaN, with a zero gradient, when none is kept),
    ignored rows add 0 and get 0. A gradient being differentiated (``create_graph``) builds
    that Q and goes through ``SoftmaxCrossEntropyGrad``, so it stays differentiable.
    """

    retain_inputs = (0,)
    retain_output = False

    @staticmethod
    def forward(ctx, x, t, ignore_index, reduction):
        kernels = backends.kernel_module("loss")
        losses, p = np.empty(x.shape[0], x.dtype), np.empty(x.shape, x.dtype)
        kept = kernels.cross_entropy_kernel(x, t, ignore_index, losses, p)
        if kept < 0:
            raise ValueError(f"cross_entropy: target {int(t[-1 - kept])} is out of bounds for "
                             f"{x.shape[1]} classes")
        # the targets as they are now: the caller may refill its label buffer before backward
        ctx.t = t.copy() if ctx.records else None
        ctx.ignore_index, ctx.reduction, ctx.kept = ignore_index, reduction, kept
        ctx.softmax = p if ctx.records else None
        if reduction == "none":
            return losses
        total = float(losses.sum(dtype=np.float64))
        if reduction == "mean":
            total = total / kept if kept else math.nan  # torch: the mean of no target is NaN
        return np.asarray(total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        t, ignore_index, reduction, kept = ctx.t, ctx.ignore_index, ctx.reduction, ctx.kept
        if is_grad_enabled():  # create_graph: the gradient as a differentiable op
            q = _onehot_targets(x, t, ignore_index, reduction == "mean", "cross_entropy")[0]
            return (SoftmaxCrossEntropyGrad.apply(x, q, g, 1, reduction != "none"), None, None,
                    None)
        if reduction == "none":
            scale = g.data.astype(np.float64)
        else:  # 'mean' with nothing kept: every row is ignored and gets 0 whatever the scale
            scale = np.array([float(g.data) / (kept or 1) if reduction == "mean"
                              else float(g.data)])
        grad = np.empty(x.shape, x.dtype)
        backends.kernel_module("loss").cross_entropy_grad_kernel(
            ctx.softmax, t, ignore_index, scale, reduction == "none", grad)
        return grad, None, None, None


def _class_kernel_ready(x, t, ignore_index):
    """Whether ``SoftmaxCrossEntropyIndex`` takes logits x (N, C) and targets t (N,): Numba on,
    float32 C-contiguous logits of at least one row and 1 to ``_MAX_CLASSES`` classes, int64
    targets and an ``ignore_index`` an int64 holds (the kernels' one specialisation; other
    layouts, dtypes and values take the twin)."""
    return (backends.numba and x.dtype == np.float32 and t.dtype == np.int64
            and x.shape[0] > 0 and 0 < x.shape[1] <= _MAX_CLASSES and x.data.flags.c_contiguous
            and t.flags.c_contiguous and -2 ** 63 <= ignore_index < 2 ** 63)


_MAX_CLASSES = 32  # measured: from 32-64 classes the twin (vectorised exp) is as fast


def _ignore_index(value, caller):
    """A class index to skip: an int, not a bool or None (torch's nll_loss and its loss
    modules take the legacy size_average before ignore_index: ``nll_loss(x, t, w, True)`` or
    ``CrossEntropyLoss(w, True)`` would otherwise skip class 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{caller}: ignore_index must be an int, got {value!r}; torch's "
                        "legacy size_average comes before it there: pass ignore_index= and "
                        "reduction= by keyword")
    return int(value)


def cross_entropy(input, target, reduction="mean", label_smoothing=0.0, ignore_index=-100,
                  weight=None):
    """Softmax cross-entropy of logits ``input`` with class-index (or probability) targets.

    Class indices (integers): ``loss = (1-eps) * nll(log_softmax(x), y) + eps/C * sum_c -w_c
    logp_c`` with ``eps = label_smoothing``, ``ignore_index`` entries skipped and 'mean'
    dividing by the summed target weights, exactly torch's formula (NaN, with a zero
    gradient, when no target is kept). Probability targets (floating, same shape as input):
    ``-sum_c w_c ((1-eps) p_c + eps/C) logp_c``, 'mean' over samples; such a target that
    requires grad gets ``dL/dp_c = -(1-eps) w_c logp_c`` (times the reduction's scale).
    input (N, C) or (N, C, d1, ...) or (C,), floating point. Stable for logits of any magnitude.
    """
    x = _tensor(input, "cross_entropy")
    _check_scores(x, "cross_entropy")
    ignore_index = _ignore_index(ignore_index, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    _check_reduction(reduction, "cross_entropy")
    class_axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[class_axis]
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    share = label_smoothing / n_classes if n_classes else 0.0  # the mass each class gets
    picks = None  # where a one-hot Q is not 0, when it is one
    if target_data.dtype.kind == "f":
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index ({ignore_index}) is not supported "
                             "for probability (floating-point) targets, as in torch")
        if target_data.shape != x.shape:
            raise ShapeError(f"cross_entropy: target of dtype {target_data.dtype} and shape "
                             f"{target_data.shape} does not fit input of shape {x.shape}: "
                             f"class-index targets must be integers (of shape "
                             f"{_class_target_shape(x)}), probability targets must have the "
                             "input's shape")
        wider = np.promote_types(x.dtype, target_data.dtype)
        if wider != x.dtype:  # float32 logits, float64 probabilities: float64, as torch
            x = x.astype(wider)
        shape = [1] * x.ndim
        shape[class_axis] = n_classes
        _refuse_weight_grad(weight, "cross_entropy")
        w = np.ones(n_classes) if weight is None else np.asarray(weight, np.float64)
        if w.shape != (n_classes,):  # as the index targets' check (a (1, C) reshaped silently)
            raise ValueError(f"cross_entropy: weight must have shape ({n_classes},), got {w.shape}")
        w = w.reshape(shape)
        count = math.prod(_class_target_shape(x))
        scale = 1.0 / count if reduction == "mean" and count else 1.0
        coef = w * ((1 - label_smoothing) * scale)
        offset = w * (share * scale)
        if isinstance(target, Tensor) and target.requires_grad and is_grad_enabled():
            # Soft targets that want their gradient (a teacher's output, say) enter the
            # graph: Q is built with tinydl ops and the fused op hands back dL/dQ.
            q = target * Tensor._wrap(coef.astype(target.dtype)) + Tensor._wrap(
                offset.astype(target.dtype))
            q = q if q.dtype == x.dtype else q.astype(x.dtype)
        else:
            q = (coef * target_data + offset).astype(x.dtype)
        defined = (count > 0 and n_classes > 0) or reduction != "mean"  # torch: C = 0 is NaN
    elif x.ndim == 2 and weight is None and not label_smoothing:
        # The usual classifier loss: a one-hot Q written in place (the general branch below
        # builds it from a dozen small arrays, 70 us here for a batch of 128).
        t = _class_targets(x, target_data, "cross_entropy")
        if _class_kernel_ready(x, t, ignore_index):
            return SoftmaxCrossEntropyIndex.apply(x, t, ignore_index, reduction)
        q, kept, picks = _onehot_targets(x, t, ignore_index, reduction == "mean",
                                         "cross_entropy")
        defined = kept > 0 or reduction != "mean"
    else:
        t = _class_targets(x, target_data, "cross_entropy")
        onehot, target_w, w, valid, _ = _target_weights(x, t, weight, ignore_index,
                                                        "cross_entropy")
        kept = np.expand_dims(valid, class_axis)
        q = ((1 - label_smoothing) * onehot * np.expand_dims(target_w, class_axis)
             + share * w * kept)
        if reduction == "mean":
            q = _divide_where(q, target_w.sum(), kept)
        q = q.astype(x.dtype)
        # Each kept target's log-probability is read even where its class weight is 0:
        # torch's 0 * NaN is NaN for a row of NaN logits (q != 0 skipped that row); with
        # smoothing, also the classes the smoothing reaches.
        picks = onehot & kept if not label_smoothing else (onehot & kept) | (q != 0)
        defined = valid.any() or reduction != "mean"
    # No class at all: smoothing's share is 0/0, NaN in torch's loss whatever the reduction.
    defined = defined and not (n_classes == 0 and label_smoothing)
    loss = SoftmaxCrossEntropy.apply(x, q, class_axis, reduction != "none", picks)
    return loss if defined else _mean_of_nothing(loss)


class SoftmaxCrossEntropyGrad(Function):
    """dx = (softmax(x) sum_c Q_c - Q) g: the gradient of ``SoftmaxCrossEntropy`` in x, one op.

    With p = softmax(x), s = sum_c Q_c and h = gg g, its own gradients are
    d/dx = s (p h - p sum_c p h) (softmax's rule), d/dQ = sum_c p h - h and
    d/dg = gg (p s - Q) summed back to g's shape.
    """

    retain_inputs = (0, 1, 2)
    retain_output = False

    @staticmethod
    def forward(ctx, x, q, g, axis, total):
        ctx.axis, ctx.total = axis, total
        return SoftmaxCrossEntropyGrad.compute(x, q, g, axis, total)

    @staticmethod
    def compute(x, q, g, axis, total, p=None):
        """The forward on arrays (a first-order backward calls it directly, with the softmax
        ``p`` of x that the loss's forward kept)."""
        if p is None:
            _, e, norm = _exp_shifted(x, axis)
            with np.errstate(invalid="ignore"):  # no class at all: 0/0 over an empty axis
                p = e / norm
        g = g if total else np.expand_dims(g, axis)
        s = q.sum(axis=axis, keepdims=True)
        grad = (p * s - q) * g
        if not s.all():  # rows without target mass (ignored) get 0, even with NaN logits
            grad = _select(grad, np.broadcast_to(s != 0, grad.shape))
        return grad

    @staticmethod
    def backward(ctx, gg):
        x, q, g = ctx.inputs[:3]
        axis, total = ctx.axis, ctx.total
        need_x, need_q, need_g = ctx.needs_input_grad[:3]
        q = as_tensor(q)
        p = softmax(x, axis)
        s = q.sum(axis=axis, keepdims=True)
        h = gg * (g if total else g.expand_dims(axis))
        ph = p * h
        ph_sum = ph.sum(axis=axis, keepdims=True)
        gx = (ph - p * ph_sum) * s if need_x else None
        gq = ph_sum - h if need_q else None
        gg_g = None
        if need_g:
            gg_g = gg * (p * s - q)
            gg_g = gg_g.sum() if total else gg_g.sum(axis=axis)
        return gx, gq, gg_g, None, None


class BinaryCrossEntropy(Function):
    """L = -(y log p + (1 - y) log(1 - p)); dL/dp = (p - y) / max(p (1 - p), 1e-12).

    Both logs are clamped at -100 (torch's rule), and dL/dy = log(1 - p) - log(p) with the
    same clamps: loss and gradients stay finite even where p is exactly 0 or 1.
    """

    retain_inputs = (0, 1)
    retain_output = False

    @staticmethod
    def forward(ctx, p, y):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        return -(y * log_p + (1 - y) * log_q)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.inputs
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            gp = g * (p - y) / clip(p * (1.0 - p), 1e-12, None)
        if need_y:
            with np.errstate(divide="ignore"):
                gy = g * clip((1.0 - p).log(), -100.0, None) - g * clip(p.log(), -100.0, None)
        return gp, gy


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-(y log p + (1 - y) log(1 - p))`` for probabilities p in [0, 1]; logs clamped at -100.

    The clamp (torch's) keeps the loss and its gradient finite when p is exactly 0 or 1.
    """
    p, t = _pair_of(input, target, "binary_cross_entropy")
    # Written so that NaN fails too (NaN < 0 and NaN > 1 are both False); torch refuses it.
    for name, values in (("input", p.data), ("target", t.data)):
        if not np.all((values >= 0) & (values <= 1)):
            bad = values[~((values >= 0) & (values <= 1))].flat[0]
            raise ValueError(f"binary_cross_entropy: {name} must hold probabilities in [0, 1], "
                             f"found {bad}")
    loss = BinaryCrossEntropy.apply(p, t.astype(p.dtype) if t.dtype != p.dtype else t)
    if weight is not None:
        loss = loss * _elementwise_weight(weight, p, "binary_cross_entropy")
    return _reduce(loss, reduction, "binary_cross_entropy")


class BinaryCrossEntropyWithLogits(Function):
    """L = (1 - y) softplus(x) + w y softplus(-x), from logits x, targets y and the positive
    weight w (None: 1), elementwise; torch's ``(1 - y) x + (1 + (w - 1) y) softplus(-x)``.

    Each gradient has its own cancellation-free form: dL/dx = (1 - y) sigmoid(x) -
    w y sigmoid(-x) (torch's form, sigmoid(x) - y for w = 1, is 0 in float32 for a confident
    positive, x > 17, and torch's value there too; the softplus form was, for a confident
    negative), dL/dy = (w - 1) softplus(-x) - x (just -x for w = 1: as a difference of two
    softplus values it lost digits near x = 0), dL/dw = y softplus(-x). The backward is
    written in tinydl ops, so it is differentiable again.
    """

    retain_output = False

    @staticmethod
    def forward(ctx, x, y, w):
        positive = _softplus_array(-x) * (y if w is None else w * y)
        return (1 - y) * _softplus_array(x) + positive

    @staticmethod
    def backward(ctx, g):
        x, y, w = ctx.inputs
        need_x, need_y, need_w = ctx.needs_input_grad
        wy = y if w is None else w * y
        gx = g * ((1.0 - y) * sigmoid(x) - wy * sigmoid(-x)) if need_x else None
        gy = gw = None
        # softplus(-x) once, for the gradients in y (with a weight) and in w
        negative = (softplus(-x, threshold=math.inf)
                    if need_w or (need_y and w is not None) else None)
        if need_y:
            gy = -g * x if w is None else g * ((w - 1.0) * negative - x)
        if need_w:
            gw = unbroadcast(g * y * negative, w.shape)
        return gx, gy, gw


def _elementwise_weight(weight, x, caller, name="weight"):
    """``weight`` (a Tensor, array, number or list) as a Tensor of x's dtype that broadcasts
    to x's shape: a larger one would silently broadcast the loss up (torch raises)."""
    w = weight if isinstance(weight, Tensor) else Tensor._wrap(np.asarray(weight))
    if w.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {name} must be numeric, got dtype {w.dtype}")
    try:
        fits = np.broadcast_shapes(w.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{caller}: {name} of shape {w.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    return w if w.dtype == x.dtype else w.astype(x.dtype)  # a float64 weight keeps x's dtype
