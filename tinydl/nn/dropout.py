"""``Dropout``: inverted dropout driven by tinydl's seeded generator."""
from tinydl.nn import functional as F
from tinydl.nn.module import Module


class Dropout(Module):
    """Zero each entry with probability ``p`` in training (scaling the rest by 1/(1-p)).

    Identity in eval mode. The mask is drawn from ``tinydl.random.get_generator()``, so
    ``tinydl.manual_seed`` makes it reproducible.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
