"""Dropout layers, torch's: ``Dropout`` (elements), ``Dropout1d/2d/3d`` (whole channels),
``AlphaDropout`` and ``FeatureAlphaDropout`` (for SELU networks).

Each is its functional form (``F.dropout`` ...) called with the layer's ``p``, ``inplace``
and training mode; the masks are drawn from ``tinydl.random.get_generator()``, so
``tinydl.manual_seed`` makes them reproducible. All are the identity in eval mode.
"""
from tinydl.nn import functional as F
from tinydl.nn.module import Module


class _DropoutNd(Module):
    """The dropout layers' shared ``p`` (checked) and ``inplace``."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: probability p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each entry with probability ``p`` in training (scaling the rest by 1/(1-p)).

    Identity in eval mode. The mask is drawn from ``tinydl.random.get_generator()``, so
    ``tinydl.manual_seed`` makes it reproducible.
    """

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` in training,
    scaling the rest by 1/(1-p) (``F.dropout1d``)."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input with probability ``p`` in training, scaling
    the rest by 1/(1-p) (``F.dropout2d``: a 3-D input is read as (N, C, L), as torch)."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p`` in
    training, scaling the rest by 1/(1-p) (``F.dropout3d``)."""

    def forward(self, x):
        return F.dropout3d(x, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (Klambauer et al. 2017) for SELU networks: keeps zero mean and unit
    variance (``F.alpha_dropout``)."""

    def forward(self, x):
        return F.alpha_dropout(x, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of (N, C, *) input (``F.feature_alpha_dropout``)."""

    def forward(self, x):
        return F.feature_alpha_dropout(x, self.p, self.training, self.inplace)
