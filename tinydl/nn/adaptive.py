"""Adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs"), torch's
``nn.AdaptiveLogSoftmaxWithLoss``.

For a large vocabulary sorted by frequency, the classes are split by ``cutoffs`` into a
shortlist ``[0, c_0)`` and clusters ``[c_0, c_1), ..., [c_{k-1}, n_classes)``. The *head*
scores the shortlist and one entry per cluster; cluster i's *tail* (a projection to
``in_features // div_value^(i+1)`` features, then to the cluster's classes) scores the
classes inside it::

    log p(y) = log softmax(head(x))[y]                                  y in the shortlist
    log p(y) = log softmax(head(x))[c_0 + i] + log softmax(tail_i(x))[y - c_i]   y in cluster i

Training evaluates only the tail of each row's own cluster, so rare classes cost little.
"""
import collections
import numbers

import numpy as np

from tinydl import ops
from tinydl.autograd import no_grad
from tinydl.nn import functional as F
from tinydl.nn.linear import Linear
from tinydl.nn.module import Module, ModuleList, Sequential, _check_size, _parameter_dtype
from tinydl.ops._checks import _index_array
from tinydl.ops._util import ShapeError
from tinydl.tensor import Tensor, _check_device

_ASMoutput = collections.namedtuple("_ASMoutput", ["output", "loss"])

_NAME = "AdaptiveLogSoftmaxWithLoss"


class AdaptiveLogSoftmaxWithLoss(Module):
    """AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=4.0,
    head_bias=False, device=None, dtype=None).

    ``forward(input, target)`` with input (N, in_features) and integer target (N,), or
    (in_features,) and a 0-d target, returns ``(output, loss)`` (a namedtuple): output the
    log-probability of each row's target, shape (N,) (or 0-d), and loss ``mean(-output)``.
    ``log_prob(input)`` (N, in_features) -> (N, n_classes), every class's log-probability;
    ``predict(input)`` -> (N,) int64, the most probable class.

    Parameters as torch's (a torch state_dict loads): ``head`` (Linear(in_features,
    cutoffs[0] + n_clusters, bias=head_bias)) and ``tail`` (a ModuleList of
    Sequential(Linear(in_features, h_i, bias=False), Linear(h_i, cluster size, bias=False))
    with ``h_i = in_features // div_value^(i+1)``), all initialised as Linear.
    Errors: ValueError for cutoffs that are not unique increasing integers in
    [1, n_classes - 1]; a ShapeError (a ValueError and a RuntimeError) for mismatched shapes
    or targets outside [0, n_classes - 1].
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        if device is not None:
            _check_device(device, _NAME)
        self.in_features = _check_size(in_features, _NAME, "in_features", 0)
        self.n_classes = _check_size(n_classes, _NAME, "n_classes", 0)
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError(f"{_NAME}: cutoffs must be a non-empty sequence, got {cutoffs!r}")
        if (any(not isinstance(c, numbers.Real) or isinstance(c, bool) or int(c) != c
                for c in cutoffs)
                or cutoffs != sorted(set(cutoffs)) or cutoffs[0] <= 0
                or cutoffs[-1] > n_classes - 1):
            raise ValueError(f"{_NAME}: cutoffs must be unique positive integers in increasing "
                             f"order, each between 1 and n_classes - 1 = {n_classes - 1}; got "
                             f"{cutoffs!r}")
        dtype = _parameter_dtype(dtype)
        self.cutoffs = [int(c) for c in cutoffs] + [self.n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(self.in_features, self.head_size, bias=head_bias, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(self.in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(self.in_features, hidden, bias=False, dtype=dtype),
                                        Linear(hidden, size, bias=False, dtype=dtype)))

    def reset_parameters(self):
        """Re-draw every weight with Linear's default initialisation."""
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input, target):
        x = input if isinstance(input, Tensor) else Tensor(input)
        t = _index_array(target, _NAME)
        scalar = t.ndim == 0
        if t.ndim == 1:
            if x.ndim != 2 or x.shape[0] != t.shape[0]:
                raise ShapeError(f"{_NAME}: a target of shape {t.shape} needs input of shape "
                                 f"({t.shape[0]}, {self.in_features}), got {x.shape}")
        elif t.ndim == 0:
            if x.ndim != 1:
                raise ShapeError(f"{_NAME}: a 0-d target needs input of shape "
                                 f"({self.in_features},), got {x.shape}")
            x, t = x.reshape(1, -1), t.reshape(1)
        else:
            raise ShapeError(f"{_NAME}: target must be 0-d or 1-d (one class per row), got "
                             f"shape {t.shape}")
        if t.size and (t.min() < 0 or t.max() >= self.n_classes):
            raise ShapeError(f"{_NAME}: target values must lie in [0, {self.n_classes - 1}], "
                             f"got values in [{t.min()}, {t.max()}]")
        # cluster[r]: which part row r's target falls in (0 the shortlist, i + 1 cluster i)
        cluster = np.searchsorted(self.cutoffs, t, side="right")
        head_index = np.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        head_logprob = F.log_softmax(self.head(x), axis=1)
        output = ops.take_along_axis(head_logprob, head_index[:, None], axis=1).reshape(-1)
        for i in range(self.n_clusters):
            rows = np.flatnonzero(cluster == i + 1)
            if rows.size == 0:
                continue
            cluster_logprob = F.log_softmax(self.tail[i](x[rows]), axis=1)
            inside = (t[rows] - self.cutoffs[i])[:, None]
            output = output.index_add(
                0, rows, ops.take_along_axis(cluster_logprob, inside, axis=1).reshape(-1))
        loss = (-output).mean()
        return _ASMoutput(output.reshape(()) if scalar else output, loss)

    def _full_log_prob(self, x, head_output):
        """(N, n_classes) log-probabilities from the input rows and their head scores."""
        head_logprob = F.log_softmax(head_output, axis=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster_logprob = F.log_softmax(projection(x), axis=1)
            column = self.shortlist_size + i
            parts.append(cluster_logprob + head_logprob[:, column:column + 1])
        return ops.concatenate(parts, axis=1)

    def _check_rows(self, x, caller):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"{_NAME}.{caller}: input must have shape (N, {self.in_features}), "
                             f"got {x.shape}")
        return x

    def log_prob(self, input):
        """Every class's log-probability: (N, in_features) -> (N, n_classes)."""
        x = self._check_rows(input, "log_prob")
        return self._full_log_prob(x, self.head(x))

    def predict(self, input):
        """The most probable class of each row, (N, in_features) -> (N,) int64: the same as
        ``log_prob(input).argmax(1)``, but the tails are evaluated only for rows whose best
        head entry is a cluster (a shortlist class that beats every cluster's total
        probability beats each class inside it)."""
        x = self._check_rows(input, "predict")
        with no_grad():
            head_output = self.head(x)
            best = np.argmax(head_output.data, axis=1)
            rows = np.flatnonzero(best >= self.shortlist_size)
            if rows.size:
                full = self._full_log_prob(x[rows], head_output[rows])
                best[rows] = np.argmax(full.data, axis=1)
        return Tensor(best.astype(np.int64))

    def extra_repr(self):
        return (f"in_features={self.in_features}, n_classes={self.n_classes}, "
                f"cutoffs={self.cutoffs[:-1]}, div_value={self.div_value}, "
                f"head_bias={self.head_bias}")
