"""Model ensembles: average the predictions of several trained models.

An ensemble of independently trained networks is one of the surest ways to lower test
error (Hansen & Salamon 1990; Lakshminarayanan et al. 2017 for deep ensembles): their
mistakes are partly independent, so averaging cancels some of them.
"""
import numpy as np

from tinydl.autograd import no_grad
from tinydl.nn.module import Module, ModuleList
from tinydl.ops.reduce import log_softmax, logsumexp, softmax
from tinydl.ops.shape import stack
from tinydl.tensor import Tensor

_REDUCTIONS = ("mean_prob", "mean_logit", "mean_log_prob", "vote")


class Ensemble(Module):
    """``Ensemble(models, reduction)(x)``: the combined prediction of ``models`` on ``x``.

    Each member maps x to logits (N, C). ``reduction``:

    - ``'mean_prob'``: mean of the softmax probabilities, (1/M) sum_m softmax(f_m(x)) — a
      probability (N, C) (the deep-ensembles rule);
    - ``'mean_log_prob'``: log of that mean, (N, C) log-probabilities (fit for ``nll_loss``);
    - ``'mean_logit'``: mean of the logits (N, C);
    - ``'vote'``: one-hot majority vote (N, C) counts / M; ties go to the lowest class.

    The members are registered as submodules (``members.0``, ...), so ``eval()``,
    ``state_dict()`` and ``parameters()`` cover them all. The output is differentiable
    through every member except for ``'vote'``.
    """

    def __init__(self, models, reduction="mean_prob"):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("ensemble: needs at least one model")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"ensemble: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        for i, m in enumerate(models):
            if not callable(m):
                raise TypeError(f"ensemble: models[{i}] ({type(m).__name__}) is not callable")
        self.members = ModuleList([m for m in models if isinstance(m, Module)])
        self._models = models
        self.reduction = reduction

    def forward(self, x):
        outputs = [m(x) for m in self._models]
        shapes = {o.shape for o in outputs}
        if len(shapes) != 1:
            raise ValueError(f"ensemble: members gave outputs of different shapes {sorted(shapes)}")
        if outputs[0].ndim != 2:
            raise ValueError(f"ensemble: members must return logits (N, C), got shape "
                             f"{outputs[0].shape}")
        m = len(outputs)
        if self.reduction == "mean_logit":
            return sum(outputs[1:], outputs[0]) / m
        if self.reduction == "vote":
            votes = np.zeros(outputs[0].shape, dtype=outputs[0].dtype)  # the members' dtype
            rows = np.arange(votes.shape[0])
            for o in outputs:
                votes[rows, o.data.argmax(axis=1)] += 1.0
            return Tensor(votes / m)
        if self.reduction == "mean_prob":
            probs = [softmax(o, axis=1) for o in outputs]
            return sum(probs[1:], probs[0]) / m
        # log of the mean probability, as logsumexp of the log-probabilities - log M, which
        # stays finite where a probability underflows to 0.
        logps = stack([log_softmax(o, axis=1) for o in outputs], axis=0)
        return logsumexp(logps, axis=0) - float(np.log(m))

    def extra_repr(self):
        return f"{len(self._models)} models, reduction={self.reduction!r}"


def ensemble(models, reduction="mean_prob"):
    """An ``Ensemble`` of ``models`` (a callable module): ``ensemble(models)(x)`` averages them.

    See ``Ensemble`` for the reductions; the default ``'mean_prob'`` returns the mean
    softmax probability (N, C), whose argmax is the ensemble's prediction.
    """
    return Ensemble(models, reduction)


@no_grad()
def ensemble_predict(models, x, reduction="mean_prob"):
    """The ensemble's output on ``x`` with every model in eval mode and no graph built."""
    for m in models:
        if isinstance(m, Module):
            m.eval()
    return Ensemble(models, reduction)(x)
