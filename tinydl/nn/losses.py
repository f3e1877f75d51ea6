"""Loss modules (torch's class names and arguments) over ``tinydl.nn.functional``'s losses."""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn.functional.loss import _refuse_legacy
from tinydl.nn.module import Module
from tinydl.ops.loss import _ignore_index
from tinydl.tensor import Tensor


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


def _kept(value):
    """A loss's weight as torch keeps it: the Tensor given (its requires_grad and later
    in-place edits count; a copy of its array gave a weight that requires grad no gradient,
    silently), an array or list wrapped once."""
    return value if value is None or isinstance(value, Tensor) else Tensor(np.asarray(value))


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _kept(weight))

    def _weight(self):
        return self.weight


class MSELoss(_Loss):
    """Mean squared error; see ``functional.mse_loss``."""

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error; see ``functional.l1_loss``."""

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1 with threshold ``beta``; see ``functional.smooth_l1_loss``."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``; see ``functional.huber_loss``."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices from log-probabilities; see ``F.nll_loss``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = _ignore_index(ignore_index, "NLLLoss")

    def forward(self, input, target):
        return F.nll_loss(input, target, self._weight(), self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from logits; see ``functional.cross_entropy``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index = _ignore_index(ignore_index, "CrossEntropyLoss")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.reduction, self.label_smoothing,
                               self.ignore_index, self._weight())


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities; see ``functional.binary_cross_entropy``."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self._weight(), self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Stable sigmoid + binary cross-entropy; see ``F.binary_cross_entropy_with_logits``."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _kept(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self._weight(), self.reduction,
                                                  self.pos_weight)


class HingeLoss(_Loss):
    """SVM hinge loss ``max(0, margin - y f)`` for y in {-1, 1}; see ``functional.hinge_loss``."""

    def __init__(self, reduction="mean", margin=1.0):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_loss(input, target, self.reduction, self.margin)


class KLDivLoss(_Loss):
    """KL divergence, input as log-probabilities; see ``functional.kl_div``."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)


# ------------------------------------------------------------ margin and likelihood losses
def _settings(loss, *names):
    """The repr's arguments: the named hyperparameters, then the reduction."""
    return ", ".join([f"{name}={getattr(loss, name)!r}" for name in names]
                     + [_Loss.extra_repr(loss)])


class MarginRankingLoss(_Loss):
    """``max(0, -y (x1 - x2) + margin)``; see ``functional.margin_ranking_loss``."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)

    def extra_repr(self):
        return _settings(self, "margin")


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, ``max(0, margin - x)`` where y = -1; see ``F.hinge_embedding_loss``."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)

    def extra_repr(self):
        return _settings(self, "margin")


class SoftMarginLoss(_Loss):
    """Logistic loss ``log(1 + exp(-y x))``; see ``functional.soft_margin_loss``."""

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-vs-all logistic loss, mean over classes; see ``F.multilabel_soft_margin_loss``."""

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self._weight(), self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss; see ``functional.multi_margin_loss``."""

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p = 1 and p = 2 are supported, got {p!r}")
        if weight is not None and np.ndim(weight) != 1:
            raise ValueError(f"MultiMarginLoss: weight must be None or 1-D, got shape "
                             f"{np.shape(weight)}")
        super().__init__(weight, reduction)
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self._weight(),
                                   self.reduction)

    def extra_repr(self):
        return _settings(self, "p", "margin")


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss, -1-terminated target lists; see ``F.multilabel_margin_loss``."""

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``1 - cos`` where y = 1, ``max(0, cos - margin)`` where y = -1; see
    ``functional.cosine_embedding_loss``."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)

    def extra_repr(self):
        return _settings(self, "margin")


def _positive_margin(margin, name):
    if not margin > 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    return margin


class TripletMarginLoss(_Loss):
    """Triplet loss with the p-norm distance; see ``functional.triplet_margin_loss``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        super().__init__(reduction)
        self.margin = _positive_margin(margin, "TripletMarginLoss")
        self.p, self.eps, self.swap = p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, self.reduction)

    def extra_repr(self):
        return _settings(self, "margin", "p", "eps", "swap")


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet loss with any distance (default ``pairwise_distance``); see
    ``functional.triplet_margin_with_distance_loss``. A Module as ``distance_function`` is a
    submodule (its parameters are the loss's)."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction)
        self.margin = _positive_margin(margin, "TripletMarginWithDistanceLoss")
        self.distance_function, self.swap = distance_function, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)

    def extra_repr(self):
        return _settings(self, "margin", "swap")


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood; see ``functional.poisson_nll_loss``."""

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        # torch's positional order: eps comes after the legacy size_average
        _refuse_legacy(size_average, reduce, "PoissonNLLLoss")
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)

    def extra_repr(self):
        return _settings(self, "log_input", "full", "eps")


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variances; see
    ``functional.gaussian_nll_loss``."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)

    def extra_repr(self):
        return _settings(self, "full", "eps")


class CTCLoss(_Loss):
    """Connectionist temporal classification loss over all alignments of each target to its
    frames; see ``functional.ctc_loss``. Called as ``loss(log_probs, targets, input_lengths,
    target_lengths)``."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)

    def extra_repr(self):
        return _settings(self, "blank", "zero_infinity")
