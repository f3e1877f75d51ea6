"""Functional losses. Regression and margin losses are compositions of core ops (so they are
differentiable to any order); the softmax and binary cross-entropies are one Function each,
in ``tinydl.ops.loss``, with the target and reduction checks every loss here shares.
"""
import math

import numpy as np

import tinydl
from tinydl.ops._checks import _tensor
from tinydl.ops import relu, softplus, where
from tinydl.ops.loss import (_check_scores, _class_targets, _divide_where,  # noqa: F401
                             _mean_of_nothing, _pair_of, _reduce, _target_weights,
                             binary_cross_entropy, cross_entropy, _elementwise_weight)
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
    return smooth_l1_loss(input, target, reduction, beta=delta) * delta


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood ``-w[y] * logp[y]`` of class indices, from log-probabilities.

    input (N, C) or (N, C, d1, ...) or (C,) (floating point); target (N,) / (N, d1, ...) /
    () integers; entries equal to ``ignore_index`` count nowhere. 'mean' divides by the sum
    of the kept targets' weights; with no kept target it is NaN (gradient zero), as torch.
    """
    x = _tensor(input, "nll_loss")
    _check_scores(x, "nll_loss")
    t = _class_targets(x, target, "nll_loss")
    onehot, target_w, _, valid, class_axis = _target_weights(x, t, weight, ignore_index,
                                                             "nll_loss")
    q = onehot * np.expand_dims(target_w, class_axis)
    if reduction == "mean":
        q = _divide_where(q, target_w.sum(), onehot & np.expand_dims(valid, class_axis))
    # Only the targets' entries count: a select, so a -inf log-probability elsewhere (a
    # masked class) adds 0 rather than 0 * -inf = NaN, and gets a zero gradient (torch's).
    with np.errstate(invalid="ignore"):  # the discarded 0 * -inf
        terms = where(q != 0, x * Tensor._wrap(q.astype(x.dtype)), 0.0)
    if reduction == "mean":
        loss = -terms.sum()
        return loss if valid.any() else _mean_of_nothing(loss)
    return _reduce(-terms.sum(axis=class_axis), reduction, "nll_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula, from logits x.

    ``loss = (1 - y) x + (1 + (pos_weight - 1) y) * softplus(-x)``, softplus evaluated as
    ``max(z, 0) + log1p(exp(-|z|))`` so logits of +-1e4 give finite losses and gradients.
    """
    x, t = _pair_of(input, target, "binary_cross_entropy_with_logits")
    soft = softplus(-x, threshold=math.inf)
    if pos_weight is not None:
        pos_weight = _elementwise_weight(pos_weight, x, "binary_cross_entropy_with_logits",
                                         "pos_weight")
        soft = soft * (1.0 + (pos_weight - 1.0) * t)
    loss = (1.0 - t) * x + soft
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
    (the true KL); 'mean' averages over every element, as torch.
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
