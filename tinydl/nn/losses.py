"""Loss modules (torch's class names and arguments) over ``tinydl.nn.functional``'s losses."""
import numpy as np

from tinydl.nn import functional as F
from tinydl.nn.module import Module
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


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None else Tensor(np.asarray(weight)))

    def _weight(self):
        return None if self.weight is None else self.weight.data


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
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self._weight(), self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from logits; see ``functional.cross_entropy``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

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
        self.register_buffer("pos_weight",
                             None if pos_weight is None else Tensor(np.asarray(pos_weight)))

    def forward(self, input, target):
        pos_weight = None if self.pos_weight is None else self.pos_weight.data
        return F.binary_cross_entropy_with_logits(input, target, self._weight(), self.reduction,
                                                  pos_weight)


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
