"""nn.functional's small layers through the op table: hardshrink, softshrink, threshold, rrelu
(eval, and training with a fixed seed), channel_shuffle, pdist, and the deterministic cases
of the dropout family (eval mode, p = 0).

The random layers themselves (dropout masks, gumbel_softmax) are tested statistically in
tests/nn/test_layers_more.py.
"""
import numpy as np
from scipy.spatial import distance

from tests.ops._table import Arg, OpCase, OpTable, near, torch
import tinydl
from tinydl.nn import functional as F

X = (3, 4)


def tF():
    """torch.nn.functional (looked up when a torch check runs)."""
    return torch.nn.functional


# samples either side of the kinks at +-0.5 (hardshrink and softshrink) and of 1.2 / 0.2
AROUND_HALF = Arg(X, near([-1.0, -0.5, 0.0, 0.5, 1.0], 0.4))
AROUND_WIDE = Arg(X, near([-1.2, 0.0, 1.2, 2.0], 0.9))


def shrink_ref(x, lambd, soft):
    """The shrinkages by their definition: 0 on [-lambd, lambd], else x (hard) or x moved
    lambd towards 0 (soft)."""
    outside = np.abs(x) > lambd
    return np.where(outside, x - np.sign(x) * lambd if soft else x, 0.0)


def rrelu_train_ref(x, lower, upper, seed):
    """rrelu in training with tinydl's generator seeded ``seed``: its first draw is one
    U(lower, upper) slope per element (float64), used where x <= 0."""
    slopes = np.random.default_rng(seed).uniform(lower, upper, x.shape)
    return np.where(x <= 0, x * slopes, x)


def seeded(seed, fn):
    """``fn`` run right after ``tinydl.manual_seed(seed)``: every call draws the same numbers
    (gradcheck calls it many times)."""
    def run(*args):
        tinydl.manual_seed(seed)
        return fn(*args)
    return run


def channel_shuffle_ref(x, groups):
    """out[:, k * groups + g] = x[:, g * (C / groups) + k], one channel at a time."""
    c = x.shape[1]
    out = np.empty_like(x)
    for g in range(groups):
        for k in range(c // groups):
            out[:, k * groups + g] = x[:, g * (c // groups) + k]
    return out


def pdist_ref(x, p):
    """SciPy's condensed distances (p = inf: Chebyshev), in its (i < j, row-major) order."""
    if p == np.inf:
        return distance.pdist(x, "chebyshev")
    if p == 0:  # the number of differing components (SciPy's hamming counts a fraction)
        return distance.pdist(x, "hamming") * x.shape[1]
    return distance.pdist(x, "minkowski", p=p)


def duplicate_rows(rng, shape):
    """Rows with a repeat (a zero distance) and equal components (zero differences)."""
    x = rng.standard_normal(shape)
    x[2] = x[0]
    x[3, 1] = x[1, 1]
    return x


def small_integers(rng, shape):
    """Whole numbers in [-2, 2]: the largest |difference| of a pair is often tied."""
    return rng.integers(-2, 3, shape).astype(np.float64)


def pdist_row(p, **kw):
    return OpCase(f"pdist_p{p}", lambda x: F.pdist(x, p), lambda x: pdist_ref(x, p), [(4, 3)],
                  torch=lambda x: tF().pdist(x, p), empty=[(0, 3)], **kw)


CASES = [
    OpCase("hardshrink", F.hardshrink, lambda x: shrink_ref(x, 0.5, False), [AROUND_HALF],
           torch=lambda x: tF().hardshrink(x), zero_d=True, empty=[(0, 3)]),
    OpCase("hardshrink_lambd", lambda x: F.hardshrink(x, 1.2),
           lambda x: shrink_ref(x, 1.2, False), [AROUND_WIDE],
           torch=lambda x: tF().hardshrink(x, 1.2)),
    OpCase("softshrink", F.softshrink, lambda x: shrink_ref(x, 0.5, True), [AROUND_HALF],
           torch=lambda x: tF().softshrink(x), zero_d=True, empty=[(0, 3)]),
    OpCase("softshrink_lambd", lambda x: F.softshrink(x, 1.2),
           lambda x: shrink_ref(x, 1.2, True), [AROUND_WIDE],
           torch=lambda x: tF().softshrink(x, 1.2)),
    OpCase("threshold", lambda x: F.threshold(x, 0.2, -1.5),
           lambda x: np.where(x > 0.2, x, -1.5), [Arg(X, near([-1.0, 0.2, 1.0], 0.15))],
           torch=lambda x: tF().threshold(x, 0.2, -1.5), zero_d=True, empty=[(0, 3)]),
    OpCase("rrelu_eval", F.rrelu, lambda x: np.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2),
           [Arg(X, near([-1.0, 1.0], 0.9))], torch=lambda x: tF().rrelu(x), zero_d=True,
           empty=[(0, 3)]),
    OpCase("rrelu_eval_bounds", lambda x: F.rrelu(x, 0.1, 0.5),
           lambda x: np.where(x > 0, x, x * 0.3), [Arg(X, near([-1.0, 1.0], 0.9))],
           torch=lambda x: tF().rrelu(x, 0.1, 0.5)),
    OpCase("rrelu_training", seeded(5, lambda x: F.rrelu(x, 0.1, 0.6, training=True)),
           lambda x: rrelu_train_ref(x, 0.1, 0.6, 5), [Arg((2, 3, 4), near([-1.0, 1.0], 0.9))],
           zero_d=True, empty=[(0, 3)]),
    OpCase("channel_shuffle", lambda x: F.channel_shuffle(x, 3),
           lambda x: channel_shuffle_ref(x, 3), [(2, 6, 2, 3)],
           torch=lambda x: tF().channel_shuffle(x, 3), exact=True, empty=[(0, 6, 2)]),
    OpCase("channel_shuffle_3d", lambda x: F.channel_shuffle(x, 2),
           lambda x: channel_shuffle_ref(x, 2), [(2, 4, 5)],
           torch=lambda x: tF().channel_shuffle(x, 2), exact=True),
    pdist_row(2), pdist_row(1), pdist_row(3), pdist_row(1.5), pdist_row(0.7), pdist_row(np.inf),
    pdist_row(0, gradgrad=False),
    # a zero distance and zero differences: not differentiable there, so torch's choice is
    # the answer (gradient 0), not a finite difference
    OpCase("pdist_zero_distance", F.pdist, lambda x: pdist_ref(x, 2),
           [Arg((4, 3), duplicate_rows)], torch=lambda x: tF().pdist(x), gradcheck=False),
    OpCase("pdist_zero_distance_p0.7", lambda x: F.pdist(x, 0.7), lambda x: pdist_ref(x, 0.7),
           [Arg((4, 3), duplicate_rows)], torch=lambda x: tF().pdist(x, 0.7), gradcheck=False),
    OpCase("pdist_zero_distance_inf", lambda x: F.pdist(x, np.inf),
           lambda x: pdist_ref(x, np.inf), [Arg((4, 3), duplicate_rows)],
           torch=lambda x: tF().pdist(x, np.inf), gradcheck=False),
    # torch gives every tied largest component of a p = inf distance the whole gradient
    OpCase("pdist_inf_ties", lambda x: F.pdist(x, np.inf), lambda x: pdist_ref(x, np.inf),
           [Arg((5, 4), small_integers)], torch=lambda x: tF().pdist(x, np.inf),
           gradcheck=False),
    # the dropout family where it is deterministic: identity
    OpCase("dropout2d_eval", lambda x: F.dropout2d(x, 0.5, training=False), lambda x: x,
           [(2, 3, 2, 2)], torch=lambda x: tF().dropout2d(x, 0.5, training=False), exact=True),
    OpCase("dropout1d_p0", lambda x: F.dropout1d(x, 0.0), lambda x: x, [(2, 3, 4)],
           torch=lambda x: tF().dropout1d(x, 0.0), exact=True, empty=[(0, 3, 4)]),
    OpCase("alpha_dropout_default_eval", F.alpha_dropout, lambda x: x, [X],
           torch=lambda x: tF().alpha_dropout(x), exact=True, zero_d=True, empty=[(0, 3)]),
    OpCase("feature_alpha_dropout_p0", lambda x: F.feature_alpha_dropout(x, 0.0, True),
           lambda x: x, [(2, 3, 4)], torch=lambda x: tF().feature_alpha_dropout(x, 0.0, True),
           exact=True),
]


class TestFunctionalLayers(OpTable):
    cases = CASES
