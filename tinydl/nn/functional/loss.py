"""Functional losses. Regression and margin losses are compositions of core ops (so they are
differentiable to any order); the softmax and binary cross-entropies are one Function each,
in ``tinydl.ops.loss``, with the target and reduction checks every loss here shares.
"""
import math
import numbers

import numpy as np

import tinydl
from tinydl.ops._checks import _index_array, _tensor
from tinydl.ops import clip, logsigmoid, minimum, relu, softplus, where
from tinydl.ops.loss import (_check_scores, _class_targets, _divide_where,  # noqa: F401
                             _mean_of_nothing, _pair_of, _reduce, _target_weights,
                             binary_cross_entropy, cross_entropy, _elementwise_weight,
                             BinaryCrossEntropyWithLogits)
from tinydl.ops.loss import (_check_class_bounds, _check_reduction, _ignore_index,
                             _refuse_weight_grad)
from tinydl.ops._util import ShapeError
from tinydl.nn.functional.distance import pairwise_distance
from tinydl.tensor import Tensor


def mse_loss(input, target, reduction="mean"):
    """Mean squared error ``(x - y)^2``, reduced."""
    x, t = _pair_of(input, target, "mse_loss")
    diff = x - t
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error ``|x - y|``, reduced."""
    x, t = _pair_of(input, target, "l1_loss")
    return _reduce((x - t).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1 (Girshick 2015): ``0.5 d^2 / beta`` if |d| < beta else ``|d| - beta/2``.

    ``beta = 0`` is exactly the L1 loss; ``beta < 0`` raises.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, t = _pair_of(input, target, "smooth_l1_loss")
    diff = x - t
    if beta == 0:
        return _reduce(diff.abs(), reduction, "smooth_l1_loss")
    small = Tensor._wrap(np.abs(diff.data) < beta)
    # The square only of the small differences: at an inf one, inf * inf in the branch that
    # where() discards would still send 0 * inf = NaN into the gradient (torch gives +-1).
    inner = tinydl.where(small, diff, 0.0)
    # (d times d / 2 / beta: 0.5 / beta overflows for a beta below ~1e-38 in float32, and
    # 0 * inf would make the loss, or its gradient, NaN where the difference is 0)
    loss = tinydl.where(small, inner * (inner * 0.5 / beta), diff.abs() - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: ``0.5 d^2`` if |d| < delta else ``delta (|d| - delta/2)`` (delta * smooth L1)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, t = _pair_of(input, target, "huber_loss")  # its errors name huber_loss
    return smooth_l1_loss(x, t, reduction, beta=delta) * delta


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood ``-w[y] * logp[y]`` of class indices, from log-probabilities.

    input (N, C) or (N, C, d1, ...) or (C,) (floating point); target (N,) / (N, d1, ...) /
    () integers; entries equal to ``ignore_index`` count nowhere. 'mean' divides by the sum
    of the kept targets' weights; with no kept target it is NaN (gradient zero), as torch.
    """
    x = _tensor(input, "nll_loss")
    _check_scores(x, "nll_loss")
    ignore_index = _ignore_index(ignore_index, "nll_loss")
    t = _class_targets(x, target, "nll_loss")
    onehot, target_w, _, valid, class_axis = _target_weights(x, t, weight, ignore_index,
                                                             "nll_loss")
    q = onehot * np.expand_dims(target_w, class_axis)
    picked = onehot & np.expand_dims(valid, class_axis)  # each kept target's entry
    if reduction == "mean":
        q = _divide_where(q, target_w.sum(), picked)
    # Only the kept targets' entries count: a select, so a -inf log-probability elsewhere (a
    # masked class) adds 0 rather than 0 * -inf = NaN, and gets a zero gradient (torch's).
    # A target whose class weight is 0 is still read: a NaN there gives NaN, as torch's
    # -w[y] * logp[y] does (selecting where q != 0 hid it).
    with np.errstate(invalid="ignore"):  # the discarded 0 * -inf
        terms = where(picked, x * Tensor._wrap(q.astype(x.dtype)), 0.0)
    if reduction == "mean":
        loss = -terms.sum()
        return loss if valid.any() else _mean_of_nothing(loss)
    return _reduce(-terms.sum(axis=class_axis), reduction, "nll_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable Function, from logits x.

    ``loss = (1 - y) x + (1 + (pos_weight - 1) y) * softplus(-x)`` (torch's), evaluated as
    ``(1 - y) softplus(x) + pos_weight y softplus(-x)`` with softplus as
    ``max(z, 0) + log1p(exp(-|z|))``, so logits of +-1e4 give finite losses and gradients,
    and the loss and its gradients in x, y and pos_weight stay within a few ulps of the exact
    values for confident logits of either label (``ops.loss.BinaryCrossEntropyWithLogits``:
    torch's own gradient in x is 0 in float32 for a confident positive, x > 17).
    """
    x, t = _pair_of(input, target, "binary_cross_entropy_with_logits")
    if t.dtype.kind != "f" or (x.dtype.kind == "f" and t.dtype != x.dtype):
        common = np.result_type(x.dtype, t.dtype) if t.dtype.kind == "f" else x.dtype
        x = x if x.dtype == common else x.astype(common)
        t = t if t.dtype == common else t.astype(common)
    if pos_weight is not None:
        pos_weight = _elementwise_weight(pos_weight, x, "binary_cross_entropy_with_logits",
                                         "pos_weight")
    loss = BinaryCrossEntropyWithLogits.apply(x, t, pos_weight)
    if weight is not None:
        loss = loss * _elementwise_weight(weight, x, "binary_cross_entropy_with_logits")
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def hinge_loss(input, target, reduction="mean", margin=1.0):
    """SVM hinge loss ``max(0, margin - y f)`` for labels y in {-1, +1} and scores f."""
    f, y = _pair_of(input, target, "hinge_loss")
    if not np.all(np.isin(y.data, (-1, 1))):
        raise ValueError("hinge_loss: target labels must be -1 or +1")
    return _reduce(relu(margin - y * f), reduction, "hinge_loss")


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence with torch's convention: ``input`` holds log-probabilities log q.

    Pointwise ``y (log y - log q)`` (0 where y = 0, NaN where y < 0, torch's ``xlogy``) or,
    with ``log_target``, ``exp(y) (y - log q)``. 'batchmean' divides the sum by the batch size
    (the true KL); 'mean' averages over every element, as torch. Where the target is
    differentiated, its gradient at y = 0 is ``-log q``: the ``log y + 1`` of ``y log y``
    (-inf there) is left out, as the 0 of ``0 log 0`` is taken (torch gives NaN).
    """
    x, t = _pair_of(input, target, "kl_div")
    if log_target:
        loss = t.exp() * (t - x)
    else:
        zero = Tensor._wrap(t.data == 0)
        with np.errstate(invalid="ignore"):  # a negative target: NaN, as torch's
            loss = t * tinydl.where(zero, 1.0, t).log() - t * x
    if reduction == "batchmean":
        batch = x.shape[0] if x.ndim else 1
        # An empty batch gives 0/0 = NaN, as torch (and not a ZeroDivisionError).
        return loss.sum() * (1.0 / batch if batch else math.nan)
    return _reduce(loss, reduction, "kl_div")


# ------------------------------------------------------------ margin and likelihood losses
# torch's remaining losses, each a composition of core ops (differentiable to any order). Where
# torch takes its kink with ``clamp_min`` the gradient at the kink passes (``clip``), where its
# kernel tests ``z > 0`` it does not (``relu``), so the two agree with torch there too.
def _floating(value, caller, name="input"):
    """``value`` as a Tensor that must be floating point (torch has none of these losses for
    integer scores)."""
    x = _tensor(value, caller, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: {name} must be floating point, got dtype {x.dtype} (shape "
                        f"{x.shape}); call .float() on it")
    return x


def _as_values(target, x, caller, name="target"):
    """A target of labels or counts as a floating Tensor: integers and booleans in x's dtype
    (float32 scores stay float32, as torch's), floating ones as they are."""
    t = _tensor(target, caller, name)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {name} must be numeric, got dtype {t.dtype}")
    return t if t.dtype.kind == "f" else t.astype(x.dtype)


def _input_and_target(input, target, caller):
    """A floating input and a target of the same shape (tinydl's rule for every loss of a pair,
    where torch broadcasts some of them silently), the target as values of x's dtype."""
    x, t = _pair_of(input, target, caller)
    return _floating(x, caller), _as_values(t, x, caller)


def _broadcast_inputs(caller, **named):
    """torch's rule for the losses of several inputs: as many dimensions each, then
    broadcasting; returns the broadcast shape."""
    shapes = ", ".join(f"{name} of shape {t.shape}" for name, t in named.items())
    if len({t.ndim for t in named.values()}) > 1:
        raise ShapeError(f"{caller}: the inputs must have the same number of dimensions, got "
                         f"{shapes}")
    try:
        return np.broadcast_shapes(*(t.shape for t in named.values()))
    except ValueError:
        raise ShapeError(f"{caller}: {shapes} cannot be broadcast together") from None


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """``max(0, -y (x1 - x2) + margin)``: x1 should rank above x2 where y = 1, below where
    y = -1 (other y scale the difference as they are, as in torch).

    input1, input2, target: the same number of dimensions, broadcast ((N,) or () usually).
    """
    caller = "margin_ranking_loss"
    x1, x2 = _floating(input1, caller, "input1"), _floating(input2, caller, "input2")
    y = _as_values(target, x1, caller)
    _broadcast_inputs(caller, input1=x1, input2=x2, target=y)
    return _reduce(clip(margin - y * (x1 - x2), 0.0, None), reduction, caller)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """``x`` where y = 1, ``max(0, margin - x)`` where y = -1 (x a distance, y: similar or not).

    torch's rule for other labels: a y that is not 1 adds the margin term and a y that is not
    -1 adds x, so a label 0 (or 2) counts both. input and target of one shape, any.
    """
    x, y = _input_and_target(input, target, "hinge_embedding_loss")
    dissimilar = where(Tensor._wrap(y.data != 1), clip(margin - x, 0.0, None), 0.0)
    return _reduce(dissimilar + where(Tensor._wrap(y.data != -1), x, 0.0), reduction,
                   "hinge_embedding_loss")


def soft_margin_loss(input, target, reduction="mean"):
    """Logistic loss of labels y in {-1, 1}: ``log(1 + exp(-y x))``, averaged over elements.

    A stable softplus: finite (and exact, ``-y x``) where -y x is large; torch's own
    ``log(1 + exp(-y x))`` overflows to inf there (from |x| ~ 89 in float32, 710 in float64).
    """
    x, y = _input_and_target(input, target, "soft_margin_loss")
    return _reduce(softplus(-y * x, threshold=math.inf), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """One-vs-all logistic loss: the mean over classes (the last axis) of
    ``-w (y log sigmoid(x) + (1 - y) log sigmoid(-x))``, then reduced over samples.

    input and target (N, C) (or (C,), or (N, ..., C)); weight broadcasts to the input ((C,)
    per class, say) and gets its gradient if it asks. Stable for logits of any size; torch's
    form term by term, so an infinite logit gives torch's inf (or NaN) and not the NaN of the
    binary cross-entropy's ``(1 - y) x`` at y = 1.
    """
    caller = "multilabel_soft_margin_loss"
    x, y = _input_and_target(input, target, caller)
    _check_scores(x, caller)
    w = None if weight is None else _elementwise_weight(weight, x, caller)
    with np.errstate(invalid="ignore"):  # 0 * -inf: NaN, as torch's
        loss = -(y * logsigmoid(x) + (1.0 - y) * logsigmoid(-x))
    if w is not None:
        loss = loss * w
    return _reduce(loss.mean(axis=-1), reduction, caller)


def _class_rows(x, caller):
    """Scores (C,) or (N, C) (a 0-d x is one class) as (n, C), C > 0, as torch's multi-class
    margin losses take them."""
    _floating(x, caller)
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise ShapeError(f"{caller}: input must be (C,) or (N, C) with C > 0, got shape "
                         f"{x.shape}")
    n_classes = x.shape[-1] if x.ndim else 1
    return x.reshape((-1, n_classes)), n_classes


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge loss (Weston & Watkins): per sample with class y,
    ``sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C``, p = 1 or 2.

    input (N, C) with target (N,), or unbatched (C,) with target () (or (1,)); integer
    classes in [0, C). ``weight`` (C,) weighs each sample by its class (a constant, as torch:
    one that requires grad raises).
    """
    caller = "multi_margin_loss"
    if p not in (1, 2):
        raise ValueError(f"{caller}: only p = 1 and p = 2 are supported, got p={p!r}")
    x = _tensor(input, caller)
    rows, n_classes = _class_rows(x, caller)
    t = _index_array(target, caller)
    n = rows.shape[0]
    if (x.ndim == 2 and t.shape != (n,)) or (x.ndim < 2 and (t.ndim > 1 or t.size != 1)):
        raise ShapeError(f"{caller}: target of shape {t.shape} does not fit input of shape "
                         f"{x.shape} (expected ({n},) for (N, C) scores, () for (C,))")
    labels = t.reshape(-1)
    _check_class_bounds(labels, n_classes, caller)
    picked = rows[np.arange(n), labels]
    z = relu(margin - picked.expand_dims(1) + rows)
    others = np.arange(n_classes) != labels[:, None]
    loss = where(others, z * z if p == 2 else z, 0.0).sum(axis=1)
    if weight is not None:
        _refuse_weight_grad(weight, caller)
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
        if w.shape != (n_classes,):
            raise ShapeError(f"{caller}: weight must have shape ({n_classes},), got {w.shape}")
        loss = loss * Tensor._wrap(w[labels].astype(x.dtype))
    loss = (loss * (1.0 / n_classes)).reshape(t.shape)
    return _reduce(loss, reduction, caller)


def multilabel_margin_loss(input, target, reduction="mean"):
    """Multi-label hinge loss: per sample, ``sum_j sum_{i not a target} max(0, 1 - (x_{y_j} -
    x_i)) / C`` over the listed targets y_j.

    target: integers of the input's shape, (N, C) or (C,), each row listing its target classes
    up to the first -1 (the rest ignored); a class listed twice counts twice, as in torch.
    Every entry must lie in [-1, C).
    """
    caller = "multilabel_margin_loss"
    x = _tensor(input, caller)
    rows, n_classes = _class_rows(x, caller)
    t = _index_array(target, caller)
    if t.shape != x.shape:
        raise ShapeError(f"{caller}: target of shape {t.shape} does not fit input of shape "
                         f"{x.shape} (they must be equal)")
    lists = t.reshape(rows.shape)
    if lists.size and (lists.min() < -1 or lists.max() >= n_classes):
        bad = lists[(lists < -1) | (lists >= n_classes)][0]
        raise ValueError(f"{caller}: target {int(bad)} is out of bounds: entries must lie in "
                         f"[-1, {n_classes}) (-1 ends a row's list)")
    n = rows.shape[0]
    listed = np.cumprod(lists != -1, axis=1).astype(bool)  # up to each row's first -1
    # Only as many list positions as the longest list: (n, k, C) terms, not (n, C, C).
    k = int(listed.sum(axis=1).max()) if n else 0
    listed, labels = listed[:, :k], np.where(listed, lists, 0)[:, :k]
    is_target = np.zeros(rows.shape, bool)
    is_target[np.nonzero(listed)[0], labels[listed]] = True
    picked = rows[np.arange(n)[:, None], labels]
    z = relu(1.0 - picked.expand_dims(2) + rows.expand_dims(1))
    counted = listed[:, :, None] & ~is_target[:, None, :]
    loss = where(counted, z, 0.0).sum(axis=(1, 2)) * (1.0 / n_classes)
    return _reduce(loss.reshape(x.shape[:-1]), reduction, caller)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """``1 - cos(x1, x2)`` where y = 1, ``max(0, cos(x1, x2) - margin)`` where y = -1 (0 for
    any other y, as torch).

    Vectors along the last axis: input1, input2 (N, D) (broadcast) with target (N,), or (D,)
    with target (). torch's cosine: ``x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))``, so a
    zero vector has cosine 0 (and a finite gradient).
    """
    caller = "cosine_embedding_loss"
    x1, x2 = _floating(input1, caller, "input1"), _floating(input2, caller, "input2")
    y = _tensor(target, caller, "target")
    if y.ndim > 1 or x1.ndim != y.ndim + 1 or x2.ndim != y.ndim + 1:
        raise ShapeError(f"{caller}: expected inputs (N, D) with target (N,) or inputs (D,) with "
                         f"target (), got input1 {x1.shape}, input2 {x2.shape}, target "
                         f"{y.shape}")
    shape = _broadcast_inputs(caller, input1=x1, input2=x2)
    if shape[:-1] != y.shape:
        raise ShapeError(f"{caller}: target of shape {y.shape} does not fit inputs of shape "
                         f"{shape} (expected {shape[:-1]})")
    eps = 1e-12
    cos = (x1 * x2).sum(axis=-1) / (((x1 * x1).sum(axis=-1) + eps)
                                    * ((x2 * x2).sum(axis=-1) + eps)).sqrt()
    labels = y.data
    loss = (where(labels == 1, 1.0 - cos, 0.0)
            + where(labels == -1, clip(cos - margin, 0.0, None), 0.0))
    return _reduce(loss, reduction, caller)


def _default_distance(p=2.0, eps=1e-6):
    """``pairwise_distance`` with ``p`` and ``eps``, as a function of the two inputs."""
    return lambda x1, x2: pairwise_distance(x1, x2, p, eps)


def _check_margin(margin, caller):
    if not margin > 0:
        raise ValueError(f"{caller}: margin must be greater than 0, got {margin}")


def _triplet(a, pos, neg, distance, margin, swap, reduction, caller):
    """``max(0, margin + d(a, p) - d(a, n))``, d(a, n) swapped for d(p, n) where smaller."""
    _check_margin(margin, caller)
    _check_reduction(reduction, caller)
    if len({a.ndim, pos.ndim, neg.ndim}) > 1:
        raise ShapeError(f"{caller}: the anchor, positive and negative must have the same "
                         f"number of dimensions, got {a.shape}, {pos.shape} and {neg.shape}")
    d_pos, d_neg = distance(a, pos), distance(a, neg)
    if swap:
        d_neg = minimum(d_neg, distance(pos, neg))
    return _reduce(clip(margin + d_pos - d_neg, 0.0, None), reduction, caller)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    """Triplet loss ``max(0, margin + d(a, p) - d(a, n))`` (Schroff et al., FaceNet) with
    ``d = ||x1 - x2 + eps||_p`` (``pairwise_distance``) over the last axis; with ``swap``,
    d(a, n) becomes min(d(a, n), d(p, n)) (Balntas et al. 2016).

    anchor, positive, negative: (N, D) or (D,) (or 0-d), the same number of dimensions,
    broadcast; margin > 0.
    """
    caller = "triplet_margin_loss"
    named = {name: _floating(v, caller, name) for name, v in
             (("anchor", anchor), ("positive", positive), ("negative", negative))}
    _broadcast_inputs(caller, **named)
    return _triplet(*named.values(), _default_distance(p, eps), margin, swap, reduction, caller)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``triplet_margin_loss`` with any distance ``distance_function(x1, x2)`` (a callable
    returning one distance per pair; default ``pairwise_distance``)."""
    caller = "triplet_margin_with_distance_loss"
    distance = _default_distance() if distance_function is None else distance_function
    return _triplet(_tensor(anchor, caller, "anchor"), _tensor(positive, caller, "positive"),
                    _tensor(negative, caller, "negative"), distance, margin, swap, reduction,
                    caller)


def _refuse_legacy(size_average, reduce, caller):
    """torch's deprecated ``size_average`` and ``reduce`` (where a real argument follows them,
    they are taken so that it lands where torch's does): given, they raise."""
    if size_average is not None or reduce is not None:
        raise TypeError(f"{caller}: size_average and reduce are torch's deprecated arguments; "
                        "pass reduction='mean', 'sum' or 'none' (by keyword)")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood of counts y: ``exp(x) - y x`` for a log-rate x
    (``log_input``), else ``x - y log(x + eps)`` for a rate x.

    ``full`` adds Stirling's approximation of log(y!), ``y log y - y + log(2 pi y) / 2``, where
    y > 1 (0 elsewhere, as torch); its gradient in y is finite at y = 0 (torch's is NaN).
    """
    _refuse_legacy(size_average, reduce, "poisson_nll_loss")
    x, y = _input_and_target(input, target, "poisson_nll_loss")
    if log_input:
        loss = x.exp() - y * x
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # rate <= 0: -inf, NaN as torch
            loss = x - y * (x + eps).log()
    if full:
        counted = Tensor._wrap(y.data > 1)
        # y only where the term counts (1 elsewhere): the logs of the discarded branch of a
        # count 0 would be -inf, and 0 * -inf = NaN in the gradient.
        safe = where(counted, y, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(counted, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def _variance(var, x, caller):
    """``var`` for ``gaussian_nll_loss`` as torch takes it: a non-negative number, or a Tensor
    of the input's shape, or of that shape without its last axis or with it 1, or with one
    other axis 1 (broadcast); returned shaped to broadcast against the input."""
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{caller}: var has a negative entry ({var})")
        return Tensor._wrap(np.full(x.shape, var, x.dtype))
    v = _tensor(var, caller, "var")
    if v.dtype.kind != "f":
        v = v.astype(x.dtype)
    if np.any(v.data < 0):
        raise ValueError(f"{caller}: var has negative entries (e.g. {v.data[v.data < 0][0]})")
    if v.shape == x.shape:
        return v
    if v.shape == x.shape[:-1]:  # one variance per vector (homoscedastic)
        return v.expand_dims(-1)
    if v.ndim == x.ndim and sum(a for a, b in zip(v.shape, x.shape) if a != b) == 1:
        return v  # one axis of length 1 (torch's test), broadcast
    raise ShapeError(f"{caller}: var of shape {v.shape} does not fit input of shape {x.shape} "
                     f"(expected {x.shape}, {x.shape[:-1]}, or one axis of length 1)")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ``(log v + (x - y)^2 / v) / 2`` (+ ``log(2 pi) / 2``
    with ``full``) of targets y under means x and variances v.

    input and target of one shape; ``var`` of that shape, or without its last axis or with one
    axis of length 1 (a variance shared along it), or a number; negative entries raise. v is
    clamped to at least ``eps`` as torch does it: the value is clamped, the gradient passes to
    ``var`` as if it were not.
    """
    caller = "gaussian_nll_loss"
    x, y = _input_and_target(input, target, caller)
    v = _variance(var, x, caller)
    lift = np.maximum(eps - v.data, 0)  # a constant: the clamp outside the graph
    v = v + Tensor._wrap(lift.astype(v.dtype, copy=False))
    loss = 0.5 * (v.log() + (x - y) * (x - y) / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, caller)
