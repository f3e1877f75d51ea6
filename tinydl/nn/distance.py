"""Distance layers, torch's: ``CosineSimilarity`` and ``PairwiseDistance`` (their functional
forms in ``tinydl.nn.functional.distance``)."""
from tinydl.nn import functional as F
from tinydl.nn.module import Module


class CosineSimilarity(Module):
    """Cosine similarity of two inputs along ``dim``, norms clamped below at ``eps``
    (``F.cosine_similarity``): (*, D, *), (*, D, *) -> (*, *)."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` over the last axis (``F.pairwise_distance``); torch keeps ``p``
    as the attribute ``norm``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
