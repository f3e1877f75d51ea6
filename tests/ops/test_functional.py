"""tinydl.nn.functional's compositions and Functions through the op table: linear, the
losses, the activations nn.functional adds, the normalisations, embedding and dropout at p=0.

References are in tests/_reference.py. Convolution and pooling rows are not here: see
tests/ops/test_conv.py.
"""
import numpy as np
from scipy import special

from tests import _reference as ref
from tests.ops._table import (Arg, OpCase, OpTable, fixed, integers, near, off_zero, positive,
                              torch, uniform)
from tinydl.nn import functional as F

N, C = 4, 5
X = (3, 4)


def tF():
    """torch.nn.functional (looked up when a torch check runs)."""
    return torch.nn.functional


def probabilities(rng, shape):
    """Rows (along axis 1) of positive numbers summing to 1."""
    return special.softmax(rng.standard_normal(shape), axis=1)


def log_probabilities(rng, shape):
    return special.log_softmax(rng.standard_normal(shape), axis=1)


def signs(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def cycled(values):
    """``values`` repeated (flattened, NumPy's ``resize``) to fill any shape, empty included:
    labels or target lists that must hold given entries."""
    def sample(rng, shape):
        return np.resize(np.asarray(values), shape)
    return sample


def counts(rng, shape):
    """Poisson-like counts: 0 and 0.5 (no Stirling term) and some above 1 (never 1, where
    the term jumps)."""
    return rng.choice([0.0, 0.5, 2.0, 3.0, 7.0], shape)


TARGET = Arg((N,), integers(0, C), grad=False)
IGNORED = Arg((N,), fixed([1, 0, 3, 1]), grad=False)  # class 1 is the ignore_index below
CLASS_WEIGHT = Arg((C,), positive, grad=False)
# samples either side of the kinks of l1 (0), smooth_l1 (beta = 1) and huber (delta = 2)
NEAR_ZERO = Arg(X, uniform(-0.05, 0.05), grad=False)
# target class lists of multilabel_margin_loss: ended by -1 (the entries after it ignored), a
# repeated class, an empty list, a full one
LABEL_LISTS = Arg((N, C), cycled([[3, 0, -1, 1, 2], [1, 1, -1, 0, 0], [-1, 0, 0, 0, 0],
                                  [4, 3, 2, 1, 0]]), grad=False)


def loss(name, fn, reference, args, torch=None, **kw):
    return OpCase(name, fn, reference, args, torch=torch, **kw)


CASES = [
    # linear
    OpCase("linear", F.linear, lambda x, w, b: x @ w.T + b, [X, (5, 4), (5,)],
           torch=lambda x, w, b: tF().linear(x, w, b), empty=[(0, 4), (5, 4), (5,)]),
    OpCase("linear_no_bias_batched", F.linear, lambda x, w: x @ w.T, [(2, 3, 4), (5, 4)],
           torch=lambda x, w: tF().linear(x, w)),
    # classification losses
    loss("cross_entropy", F.cross_entropy, ref.cross_entropy, [(N, C), TARGET],
         torch=lambda x, t: tF().cross_entropy(x, t), empty=[(0, C), (0,)]),
    loss("cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
         lambda x, t: ref.cross_entropy(x, t, reduction="sum"), [(N, C), TARGET],
         torch=lambda x, t: tF().cross_entropy(x, t, reduction="sum")),
    loss("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"),
         lambda x, t: ref.cross_entropy(x, t, reduction="none"), [(N, C), TARGET],
         torch=lambda x, t: tF().cross_entropy(x, t, reduction="none")),
    loss("cross_entropy_label_smoothing", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
         lambda x, t: ref.cross_entropy(x, t, label_smoothing=0.1), [(N, C), TARGET],
         torch=lambda x, t: tF().cross_entropy(x, t, label_smoothing=0.1)),
    loss("cross_entropy_weight_ignore",
         lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.2),
         lambda x, t, w: ref.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.2),
         [(N, C), IGNORED, CLASS_WEIGHT],
         torch=lambda x, t, w: tF().cross_entropy(x, t, weight=w, ignore_index=1,
                                                  label_smoothing=0.2)),
    loss("cross_entropy_spatial", F.cross_entropy, ref.cross_entropy,
         [(2, C, 3), Arg((2, 3), integers(0, C), grad=False)],
         torch=lambda x, t: tF().cross_entropy(x, t)),
    loss("cross_entropy_probabilities", F.cross_entropy, ref.cross_entropy_probabilities,
         [(N, C), Arg((N, C), probabilities)], torch=lambda x, p: tF().cross_entropy(x, p)),
    loss("nll_loss", F.nll_loss, ref.nll_loss, [Arg((N, C), log_probabilities), TARGET],
         torch=lambda x, t: tF().nll_loss(x, t), empty=[(0, C), (0,)]),
    loss("nll_loss_weight_ignore_sum",
         lambda x, t, w: F.nll_loss(x, t, weight=w, ignore_index=1, reduction="sum"),
         lambda x, t, w: ref.nll_loss(x, t, weight=w, ignore_index=1, reduction="sum"),
         [(N, C), IGNORED, CLASS_WEIGHT],
         torch=lambda x, t, w: tF().nll_loss(x, t, weight=w, ignore_index=1, reduction="sum")),
    loss("binary_cross_entropy", F.binary_cross_entropy, ref.binary_cross_entropy,
         [Arg(X, uniform(0.05, 0.95)), Arg(X, uniform(0, 1), grad=False)],
         torch=lambda p, y: tF().binary_cross_entropy(p, y), zero_d=True,
         empty=[(0, 4), (0, 4)]),
    loss("binary_cross_entropy_weight_sum",
         lambda p, y, w: F.binary_cross_entropy(p, y, weight=w, reduction="sum"),
         lambda p, y, w: ref.binary_cross_entropy(p, y, weight=w, reduction="sum"),
         [Arg(X, uniform(0.05, 0.95)), Arg(X, uniform(0, 1), grad=False),
          Arg((1, 4), positive, grad=False)],
         torch=lambda p, y, w: tF().binary_cross_entropy(p, y, weight=w, reduction="sum")),
    loss("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
         ref.binary_cross_entropy_with_logits, [X, Arg(X, uniform(0, 1))],
         torch=lambda x, y: tF().binary_cross_entropy_with_logits(x, y), zero_d=True,
         empty=[(0, 4), (0, 4)]),
    loss("binary_cross_entropy_with_logits_pos_weight",
         lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                             reduction="none"),
         lambda x, y, pw: ref.binary_cross_entropy_with_logits(x, y, pos_weight=pw,
                                                               reduction="none"),
         [X, Arg(X, uniform(0, 1)), Arg((4,), positive, grad=False)],
         torch=lambda x, y, pw: tF().binary_cross_entropy_with_logits(
             x, y, pos_weight=pw, reduction="none")),
    # regression losses
    loss("mse_loss", F.mse_loss, lambda x, y: np.mean((x - y) ** 2), [X, X],
         torch=lambda x, y: tF().mse_loss(x, y), zero_d=True, empty=[(0, 4), (0, 4)]),
    loss("mse_loss_sum", lambda x, y: F.mse_loss(x, y, reduction="sum"),
         lambda x, y: np.sum((x - y) ** 2), [X, X],
         torch=lambda x, y: tF().mse_loss(x, y, reduction="sum")),
    loss("mse_loss_none", lambda x, y: F.mse_loss(x, y, reduction="none"),
         lambda x, y: (x - y) ** 2, [X, X],
         torch=lambda x, y: tF().mse_loss(x, y, reduction="none")),
    loss("l1_loss", F.l1_loss, lambda x, y: np.mean(np.abs(x - y)), [Arg(X, off_zero), NEAR_ZERO],
         torch=lambda x, y: tF().l1_loss(x, y), zero_d=True),
    loss("smooth_l1_loss", F.smooth_l1_loss, ref.smooth_l1,
         [Arg(X, near([-2.5, -0.5, 0.5, 2.5], 0.3)), NEAR_ZERO],
         torch=lambda x, y: tF().smooth_l1_loss(x, y)),
    loss("smooth_l1_loss_beta", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="sum"),
         lambda x, y: ref.smooth_l1(x, y, beta=0.5, reduction="sum"),
         [Arg(X, near([-1.2, -0.2, 0.2, 1.2], 0.15)), NEAR_ZERO],
         torch=lambda x, y: tF().smooth_l1_loss(x, y, beta=0.5, reduction="sum")),
    loss("huber_loss", lambda x, y: F.huber_loss(x, y, delta=2.0),
         lambda x, y: ref.huber(x, y, delta=2.0),
         [Arg(X, near([-3.0, -1.0, 1.0, 3.0], 0.4)), NEAR_ZERO],
         torch=lambda x, y: tF().huber_loss(x, y, delta=2.0)),
    loss("kl_div", lambda q, p: F.kl_div(q, p, reduction="sum"),
         lambda q, p: ref.kl_div(q, p, reduction="sum"),
         [Arg((N, C), log_probabilities), Arg((N, C), probabilities)],
         torch=lambda q, p: tF().kl_div(q, p, reduction="sum")),
    loss("hinge_loss", F.hinge_loss, ref.hinge,
         [Arg(X, near([-2.0, -0.5, 0.5, 2.0], 0.3)), Arg(X, signs, grad=False)]),
    # margin and likelihood losses
    loss("margin_ranking_loss", lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.3),
         lambda a, b, y: ref.reduce(np.maximum(0, 0.3 - y * (a - b)), "mean"),
         [(N,), (N,), Arg((N,), signs, grad=False)],
         torch=lambda a, b, y: tF().margin_ranking_loss(a, b, y, margin=0.3), zero_d=True,
         empty=[(0,), (0,), (0,)]),
    loss("margin_ranking_loss_broadcast_none",
         lambda a, b, y: F.margin_ranking_loss(a, b, y, reduction="none"),
         lambda a, b, y: np.maximum(0, -y * (a - b)), [X, (1, 4), Arg(X, signs)],
         torch=lambda a, b, y: tF().margin_ranking_loss(a, b, y, reduction="none")),
    loss("hinge_embedding_loss", F.hinge_embedding_loss, ref.hinge_embedding,
         [Arg(X, near([-0.5, 0.5, 1.5], 0.3)), Arg(X, signs, grad=False)],
         torch=lambda x, y: tF().hinge_embedding_loss(x, y), zero_d=True,
         empty=[(0, 4), (0, 4)]),
    loss("hinge_embedding_loss_any_label_sum",
         lambda x, y: F.hinge_embedding_loss(x, y, margin=0.5, reduction="sum"),
         lambda x, y: ref.hinge_embedding(x, y, margin=0.5, reduction="sum"),
         [Arg(X, near([-0.5, 1.0], 0.3)), Arg(X, cycled([1.0, -1.0, 0.0, 2.0]), grad=False)],
         torch=lambda x, y: tF().hinge_embedding_loss(x, y, margin=0.5, reduction="sum")),
    loss("soft_margin_loss", F.soft_margin_loss, lambda x, y: np.mean(np.logaddexp(0, -y * x)),
         [X, Arg(X, signs, grad=False)], torch=lambda x, y: tF().soft_margin_loss(x, y),
         zero_d=True, empty=[(0, 4), (0, 4)]),
    loss("multilabel_soft_margin_loss", F.multilabel_soft_margin_loss, ref.multilabel_soft_margin,
         [(N, C), Arg((N, C), uniform(0, 1))],
         torch=lambda x, y: tF().multilabel_soft_margin_loss(x, y), empty=[(0, C), (0, C)]),
    loss("multilabel_soft_margin_loss_weight_none",
         lambda x, y, w: F.multilabel_soft_margin_loss(x, y, weight=w, reduction="none"),
         lambda x, y, w: ref.multilabel_soft_margin(x, y, weight=w, reduction="none"),
         [(N, C), Arg((N, C), uniform(0, 1), grad=False), Arg((C,), positive)],
         torch=lambda x, y, w: tF().multilabel_soft_margin_loss(x, y, weight=w,
                                                                reduction="none")),
    loss("multi_margin_loss", F.multi_margin_loss, ref.multi_margin, [(N, C), TARGET],
         torch=lambda x, t: tF().multi_margin_loss(x, t), empty=[(0, C), (0,)]),
    loss("multi_margin_loss_p2_weight_sum",
         lambda x, t, w: F.multi_margin_loss(x, t, p=2, margin=0.5, weight=w, reduction="sum"),
         lambda x, t, w: ref.multi_margin(x, t, p=2, margin=0.5, weight=w, reduction="sum"),
         [(N, C), TARGET, CLASS_WEIGHT],
         torch=lambda x, t, w: tF().multi_margin_loss(x, t, p=2, margin=0.5, weight=w,
                                                      reduction="sum")),
    loss("multi_margin_loss_unbatched_none",
         lambda x, t: F.multi_margin_loss(x, t, reduction="none"),
         lambda x, t: ref.multi_margin(x, t, reduction="none"),
         [(C,), Arg((), fixed(0), grad=False)],
         torch=lambda x, t: tF().multi_margin_loss(x, t, reduction="none"), zero_d=True),
    loss("multilabel_margin_loss", F.multilabel_margin_loss, ref.multilabel_margin,
         [(N, C), LABEL_LISTS], torch=lambda x, y: tF().multilabel_margin_loss(x, y),
         empty=[(0, C), (0, C)]),
    loss("multilabel_margin_loss_unbatched_none",
         lambda x, y: F.multilabel_margin_loss(x, y, reduction="none"),
         lambda x, y: ref.multilabel_margin(x, y, reduction="none"),
         [(C,), Arg((C,), cycled([2, 4, -1, 0, 3]), grad=False)],
         torch=lambda x, y: tF().multilabel_margin_loss(x, y, reduction="none")),
    loss("cosine_embedding_loss", lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.2),
         lambda a, b, y: ref.cosine_embedding(a, b, y, margin=0.2),
         [(N, C), (N, C), Arg((N,), cycled([1, -1, 0, -1]), grad=False)],
         torch=lambda a, b, y: tF().cosine_embedding_loss(a, b, y, margin=0.2),
         empty=[(0, C), (0, C), (0,)]),
    loss("cosine_embedding_loss_broadcast_sum",
         lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=-0.5, reduction="sum"),
         lambda a, b, y: ref.cosine_embedding(a, b, y, margin=-0.5, reduction="sum"),
         [(N, C), (1, C), Arg((N,), cycled([1.0, -1.0]), grad=False)],
         torch=lambda a, b, y: tF().cosine_embedding_loss(a, b, y, margin=-0.5, reduction="sum")),
    loss("cosine_embedding_loss_unbatched_none",
         lambda a, b, y: F.cosine_embedding_loss(a, b, y, reduction="none"),
         lambda a, b, y: ref.cosine_embedding(a, b, y, reduction="none"),
         [(C,), (C,), Arg((), fixed(1), grad=False)],
         torch=lambda a, b, y: tF().cosine_embedding_loss(a, b, y, reduction="none")),
    loss("triplet_margin_loss", F.triplet_margin_loss, ref.triplet_margin, [(N, C)] * 3,
         torch=lambda a, p, n: tF().triplet_margin_loss(a, p, n), zero_d=True,
         empty=[(0, C)] * 3),
    loss("triplet_margin_loss_p1_swap_broadcast_none",
         lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True,
                                               reduction="none"),
         lambda a, p, n: ref.triplet_margin(a, p, n, margin=2.0, p=1, swap=True,
                                            reduction="none"),
         [(N, C), (1, C), (N, C)],
         torch=lambda a, p, n: tF().triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True,
                                                        reduction="none")),
    loss("triplet_margin_with_distance_loss_cosine_swap",
         lambda a, p, n: F.triplet_margin_with_distance_loss(
             a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v),
             margin=0.5, swap=True),
         lambda a, p, n: ref.triplet_margin(
             a, p, n, margin=0.5, swap=True, distance=lambda u, v: 1 - (u * v).sum(-1) / (
                 np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))),
         [(N, C)] * 3,
         torch=lambda a, p, n: tF().triplet_margin_with_distance_loss(
             a, p, n, distance_function=lambda u, v: 1 - tF().cosine_similarity(u, v),
             margin=0.5, swap=True)),
    loss("poisson_nll_loss", F.poisson_nll_loss, ref.poisson_nll, [X, Arg(X, counts, grad=False)],
         torch=lambda x, y: tF().poisson_nll_loss(x, y), zero_d=True, empty=[(0, 4), (0, 4)]),
    # (targets above 0: torch's gradient in a target 0 is NaN with full=True, tinydl's finite)
    loss("poisson_nll_loss_full_none",
         lambda x, y: F.poisson_nll_loss(x, y, full=True, reduction="none"),
         lambda x, y: ref.poisson_nll(x, y, full=True, reduction="none"),
         [X, Arg(X, uniform(0.2, 6.0))],
         torch=lambda x, y: tF().poisson_nll_loss(x, y, full=True, reduction="none")),
    loss("poisson_nll_loss_rates_sum",
         lambda x, y: F.poisson_nll_loss(x, y, log_input=False, reduction="sum"),
         lambda x, y: ref.poisson_nll(x, y, log_input=False, reduction="sum"),
         [Arg(X, positive), Arg(X, counts)],
         torch=lambda x, y: tF().poisson_nll_loss(x, y, log_input=False, reduction="sum")),
    loss("gaussian_nll_loss", F.gaussian_nll_loss, ref.gaussian_nll, [X, X, Arg(X, positive)],
         torch=lambda x, y, v: tF().gaussian_nll_loss(x, y, v), zero_d=True,
         empty=[(0, 4)] * 3),
    loss("gaussian_nll_loss_var_per_vector_full_none",
         lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True, reduction="none"),
         lambda x, y, v: ref.gaussian_nll(x, y, v, full=True, reduction="none"),
         [X, X, Arg((3,), positive)],
         torch=lambda x, y, v: tF().gaussian_nll_loss(x, y, v, full=True, reduction="none")),
    loss("gaussian_nll_loss_var_broadcast_sum",
         lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="sum"),
         lambda x, y, v: ref.gaussian_nll(x, y, v, reduction="sum"),
         [X, X, Arg((1, 4), positive)],
         torch=lambda x, y, v: tF().gaussian_nll_loss(x, y, v, reduction="sum")),
    # activations
    OpCase("softmax_dim", lambda x: F.softmax(x, dim=1), lambda x: special.softmax(x, axis=1),
           [(2, 3, 4)], torch=lambda x: tF().softmax(x, dim=1)),
    OpCase("log_softmax", F.log_softmax, lambda x: special.log_softmax(x, axis=-1), [X],
           torch=lambda x: tF().log_softmax(x, dim=-1), empty=[(0, 3)]),
    OpCase("gelu", F.gelu, lambda x: x * special.ndtr(x), [X], torch=lambda x: tF().gelu(x),
           zero_d=True, empty=[(0, 3)]),
    OpCase("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), ref.gelu_tanh, [X],
           torch=lambda x: tF().gelu(x, approximate="tanh"), zero_d=True, empty=[(0, 3)]),
    OpCase("silu", F.silu, ref.silu, [X], torch=lambda x: tF().silu(x), zero_d=True,
           empty=[(0, 3)]),
    OpCase("logsigmoid", F.logsigmoid, special.log_expit, [X],
           torch=lambda x: tF().logsigmoid(x), zero_d=True, empty=[(0, 3)]),
    # normalisation
    OpCase("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
           lambda x, w, b: ref.layer_norm(x, 1, w, b), [(2, 3, 4), (4,), (4,)],
           torch=lambda x, w, b: tF().layer_norm(x, (4,), w, b), rtol32=1e-4, atol32=1e-5),
    OpCase("layer_norm_2d_plain", lambda x: F.layer_norm(x, (3, 4)),
           lambda x: ref.layer_norm(x, 2), [(2, 3, 4)],
           torch=lambda x: tF().layer_norm(x, (3, 4)), rtol32=1e-4, atol32=1e-5),
    OpCase("batch_norm_training", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           ref.batch_norm_training, [(4, 3, 2), (3,), (3,)],
           torch=lambda x, w, b: tF().batch_norm(x, None, None, w, b, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("batch_norm_training_2d",
           lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           ref.batch_norm_training, [(5, 3), (3,), (3,)],
           torch=lambda x, w, b: tF().batch_norm(x, None, None, w, b, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("batch_norm_training_4d",
           lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           ref.batch_norm_training, [(3, 2, 3, 2), (2,), (2,)],
           torch=lambda x, w, b: tF().batch_norm(x, None, None, w, b, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("batch_norm_training_bias_only",
           lambda x, b: F.batch_norm(x, None, None, None, b, training=True),
           lambda x, b: ref.batch_norm_training(x, np.ones(x.shape[1]), b),
           [(4, 3, 2), (3,)],
           torch=lambda x, b: tF().batch_norm(x, None, None, None, b, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("batch_norm_training_plain",
           lambda x: F.batch_norm(x, None, None, training=True),
           lambda x: ref.batch_norm_training(x, np.ones(x.shape[1]), np.zeros(x.shape[1])),
           [(4, 3, 2, 2)], torch=lambda x: tF().batch_norm(x, None, None, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b),
           lambda x, w, b: ref.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)],
           torch=lambda x, w, b: tF().group_norm(x, 2, w, b), rtol32=1e-4, atol32=1e-5),
    OpCase("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
           ref.instance_norm, [(2, 3, 2, 3), (3,), (3,)],
           torch=lambda x, w, b: tF().instance_norm(x, weight=w, bias=b),
           rtol32=1e-4, atol32=1e-5),
    # lookup and dropout
    OpCase("embedding", F.embedding, lambda i, w: w[i],
           [Arg((2, 3), fixed([[0, 2, 2], [4, 0, 2]]), grad=False), (C, 4)],
           torch=lambda i, w: tF().embedding(i, w)),
    OpCase("embedding_padding_idx", lambda i, w: F.embedding(i, w, padding_idx=2),
           lambda i, w: w[i], [Arg((2, 3), fixed([[0, 2, 2], [4, 0, 2]]), grad=False), (C, 4)],
           torch=lambda i, w: tF().embedding(i, w, padding_idx=2), gradcheck=False),
    OpCase("dropout_p0", lambda x: F.dropout(x, p=0.0, training=True), lambda x: x, [X],
           torch=lambda x: tF().dropout(x, p=0.0, training=True), exact=True, zero_d=True,
           empty=[(0, 3)]),
]


# ----------------------------------------------------------------------------- more
# normalisation and pooling: RMS and local response norm, 3-d batch and instance norm,
# adaptive max/avg pooling, LP pooling, the *_with_indices names and max unpooling
def unpool_indices(pooled, kernel):
    """Flat indices into the unpooled plane (volume) of one element of each disjoint window
    of ``kernel`` (stride = kernel), as max pooling returns them: the window's corner plus a
    random offset inside it."""
    rng = np.random.default_rng(0)
    n = len(kernel)
    sizes = [p * k for p, k in zip(pooled[-n:], kernel)]
    corners = np.meshgrid(*[np.arange(p) * k for p, k in zip(pooled[-n:], kernel)],
                          indexing="ij")
    flat = np.zeros(pooled, dtype=np.int64)
    for corner, size, k in zip(corners, sizes, kernel):
        flat = flat * size + corner + rng.integers(0, k, pooled)
    return flat


UNPOOL1D = Arg((2, 3, 4), fixed(unpool_indices((2, 3, 4), (2,))), grad=False)
UNPOOL3D = Arg((1, 2, 2, 3, 2), fixed(unpool_indices((1, 2, 2, 3, 2), (2, 2, 2))), grad=False)
VOLUME = (1, 2, 5, 4, 3)

CASES += [
    OpCase("rms_norm", lambda x, w: F.rms_norm(x, (4,), w), lambda x, w: ref.rms_norm(x, 1, w),
           [(2, 3, 4), (4,)], torch=lambda x, w: tF().rms_norm(x, (4,), w),
           empty=[(0, 4), (4,)]),
    OpCase("rms_norm_2d_eps", lambda x: F.rms_norm(x, (3, 4), eps=0.1),
           lambda x: ref.rms_norm(x, 2, eps=0.1), [(2, 3, 4)],
           torch=lambda x: tF().rms_norm(x, (3, 4), eps=0.1)),
    OpCase("local_response_norm_3d", lambda x: F.local_response_norm(x, 3, alpha=0.5),
           lambda x: ref.local_response_norm(x, 3, alpha=0.5), [(2, 5, 3)],
           torch=lambda x: tF().local_response_norm(x, 3, alpha=0.5), empty=[(0, 5, 3)]),
    OpCase("local_response_norm_4d_even_size",
           lambda x: F.local_response_norm(x, 4, alpha=1.0, beta=0.6, k=2.0),
           lambda x: ref.local_response_norm(x, 4, alpha=1.0, beta=0.6, k=2.0), [(2, 6, 3, 2)],
           torch=lambda x: tF().local_response_norm(x, 4, alpha=1.0, beta=0.6, k=2.0)),
    OpCase("local_response_norm_5d_defaults", lambda x: F.local_response_norm(x, 2),
           lambda x: ref.local_response_norm(x, 2), [(1, 4, 2, 2, 3)],
           torch=lambda x: tF().local_response_norm(x, 2)),
    OpCase("batch_norm_training_5d",
           lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           ref.batch_norm_training, [(3, 2, 2, 3, 2), (2,), (2,)],
           torch=lambda x, w, b: tF().batch_norm(x, None, None, w, b, training=True),
           rtol32=1e-4, atol32=1e-5),
    OpCase("instance_norm_5d", lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
           ref.instance_norm, [(2, 3, 2, 3, 2), (3,), (3,)],
           torch=lambda x, w, b: tF().instance_norm(x, weight=w, bias=b),
           rtol32=1e-4, atol32=1e-5),
    OpCase("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3),
           lambda x: ref.adaptive_pool(x, (3,), np.mean), [(2, 3, 7)],
           torch=lambda x: tF().adaptive_avg_pool1d(x, 3), empty=[(0, 3, 7)]),
    OpCase("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, None, 2)),
           lambda x: ref.adaptive_pool(x, (2, 4, 2), np.mean), [VOLUME],
           torch=lambda x: tF().adaptive_avg_pool3d(x, (2, None, 2))),
    OpCase("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3),
           lambda x: ref.adaptive_pool(x, (3,), np.max), [(2, 3, 7)],
           torch=lambda x: tF().adaptive_max_pool1d(x, 3), empty=[(0, 3, 7)]),
    OpCase("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)),
           lambda x: ref.adaptive_pool(x, (3, 2), np.max), [(2, 2, 7, 5)],
           torch=lambda x: tF().adaptive_max_pool2d(x, (3, 2))),
    OpCase("adaptive_max_pool2d_upsampling_unbatched",
           lambda x: F.adaptive_max_pool2d(x, (4, None)),
           lambda x: ref.adaptive_pool(x, (4, 2), np.max), [(2, 3, 2)],
           torch=lambda x: tF().adaptive_max_pool2d(x, (4, None))),
    OpCase("adaptive_max_pool2d_with_indices",
           lambda x: F.adaptive_max_pool2d_with_indices(x, 2)[0],
           lambda x: ref.adaptive_pool(x, (2, 2), np.max), [(1, 2, 5, 3)],
           torch=lambda x: tF().adaptive_max_pool2d_with_indices(x, 2)[0]),
    OpCase("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, (2, 3, 2)),
           lambda x: ref.adaptive_pool(x, (2, 3, 2), np.max), [VOLUME],
           torch=lambda x: tF().adaptive_max_pool3d(x, (2, 3, 2))),
    OpCase("lp_pool1d_p2", lambda x: F.lp_pool1d(x, 2, 3),
           lambda x: ref.lp_pool(x, 2, (3,), (3,)), [(2, 3, 7)],
           torch=lambda x: tF().lp_pool1d(x, 2, 3)),
    OpCase("lp_pool2d_p1_stride", lambda x: F.lp_pool2d(x, 1, (2, 3), (1, 2)),
           lambda x: ref.lp_pool(x, 1, (2, 3), (1, 2)), [Arg((2, 2, 5, 6), positive)],
           torch=lambda x: tF().lp_pool2d(x, 1, (2, 3), (1, 2))),
    OpCase("lp_pool2d_p1.5_ceil_mode", lambda x: F.lp_pool2d(x, 1.5, 3, 2, ceil_mode=True),
           lambda x: ref.lp_pool(x, 1.5, (3, 3), (2, 2), ceil_mode=True),
           [Arg((1, 2, 6, 7), positive)],
           torch=lambda x: tF().lp_pool2d(x, 1.5, 3, 2, ceil_mode=True)),
    OpCase("lp_pool3d_p3", lambda x: F.lp_pool3d(x, 3, 2, 1),
           lambda x: ref.lp_pool(x, 3, (2, 2, 2), (1, 1, 1)), [Arg(VOLUME, positive)],
           torch=lambda x: tF().lp_pool3d(x, 3, 2, 1)),
    OpCase("max_pool1d_with_indices", lambda x: F.max_pool1d_with_indices(x, 3, 2, 1)[0],
           lambda x: ref.max_pool(x, (3,), (2,), (1,)), [(2, 3, 8)],
           torch=lambda x: tF().max_pool1d_with_indices(x, 3, 2, 1)[0]),
    OpCase("max_pool2d_with_indices", lambda x: F.max_pool2d_with_indices(x, 2)[0],
           lambda x: ref.max_pool(x, (2, 2), (2, 2), (0, 0)), [(2, 2, 4, 6)],
           torch=lambda x: tF().max_pool2d_with_indices(x, 2)[0]),
    OpCase("max_pool3d_with_indices", lambda x: F.max_pool3d_with_indices(x, 2, 1, 1)[0],
           lambda x: ref.max_pool(x, (2, 2, 2), (1, 1, 1), (1, 1, 1)), [(1, 2, 3, 2, 2)],
           torch=lambda x: tF().max_pool3d_with_indices(x, 2, 1, 1)[0]),
    OpCase("max_unpool1d", lambda x, i: F.max_unpool1d(x, i, 2),
           lambda x, i: ref.max_unpool(x, i, (8,)), [(2, 3, 4), UNPOOL1D],
           torch=lambda x, i: tF().max_unpool1d(x, i, 2)),
    OpCase("max_unpool3d", lambda x, i: F.max_unpool3d(x, i, 2),
           lambda x, i: ref.max_unpool(x, i, (4, 6, 4)), [(1, 2, 2, 3, 2), UNPOOL3D],
           torch=lambda x, i: tF().max_unpool3d(x, i, 2)),
]


# transposed 3-D convolution against its definition (tests/_reference.py)
CASES += [
    OpCase("conv_transpose3d_stride_padding_output_padding",
           lambda x, w, b: F.conv_transpose3d(x, w, b, (2, 1, 2), (1, 0, 1), (1, 0, 0)),
           lambda x, w, b: ref.conv_transpose(x, w, b, (2, 1, 2), (1, 0, 1), (1, 0, 0), 1,
                                              (1, 1, 1)),
           [(2, 2, 2, 2, 3), (2, 3, 3, 2, 2), (3,)],
           torch=lambda x, w, b: tF().conv_transpose3d(x, w, b, (2, 1, 2), (1, 0, 1), (1, 0, 0)),
           empty=[(0, 2, 2, 2, 3), (2, 3, 3, 2, 2), (3,)]),
    OpCase("conv_transpose3d_groups_dilation_unbatched",
           lambda x, w: F.conv_transpose3d(x, w, None, 1, (1, 0, 0), (1, 0, 1), 2, (2, 1, 2)),
           lambda x, w: ref.conv_transpose(x[None], w, None, (1, 1, 1), (1, 0, 0), (1, 0, 1), 2,
                                           (2, 1, 2))[0],
           [(4, 2, 2, 2), (4, 1, 2, 2, 2)],
           torch=lambda x, w: tF().conv_transpose3d(x, w, None, 1, (1, 0, 0), (1, 0, 1), 2,
                                                    (2, 1, 2))),
]


# fractional max pooling at given samples against tests/_reference.py (which takes the samples
# in spatial-axis order: torch's 2-D form reads them (w, h)) and torch, which must agree exactly
SAMPLES_2D, SAMPLES_3D = Arg((2, 3, 2), uniform(0, 1), grad=False), Arg((1, 2, 3), uniform(0, 1),
                                                                        grad=False)
CASES += [
    OpCase("fractional_max_pool2d",
           lambda x, s: F.fractional_max_pool2d(x, (2, 3), (3, 2), _random_samples=s),
           lambda x, s: ref.fractional_max_pool(x, (2, 3), (3, 2), s[..., ::-1])[0],
           [(2, 3, 6, 7), SAMPLES_2D],
           torch=lambda x, s: tF().fractional_max_pool2d(x, (2, 3), (3, 2), _random_samples=s),
           empty=[(0, 3, 6, 7), (0, 3, 2)]),
    OpCase("fractional_max_pool2d_ratio_unbatched",
           lambda x, s: F.fractional_max_pool2d_with_indices(x, 2, output_ratio=(0.5, 0.7),
                                                             _random_samples=s)[0],
           lambda x, s: ref.fractional_max_pool(x[None], (2, 2), (3, 4), s[..., ::-1])[0][0],
           [(3, 6, 6), Arg((1, 3, 2), uniform(0, 1), grad=False)],
           torch=lambda x, s: tF().fractional_max_pool2d_with_indices(
               x, 2, output_ratio=(0.5, 0.7), _random_samples=s)[0]),
    OpCase("fractional_max_pool3d",
           lambda x, s: F.fractional_max_pool3d(x, (2, 1, 2), (2, 3, 2), _random_samples=s),
           lambda x, s: ref.fractional_max_pool(x, (2, 1, 2), (2, 3, 2), s)[0],
           [(1, 2, 4, 5, 4), SAMPLES_3D],
           torch=lambda x, s: tF().fractional_max_pool3d(x, (2, 1, 2), (2, 3, 2),
                                                         _random_samples=s)),
]


# ctc_loss of log_softmax(logits) (torch's gradient is the exact one through log_softmax; see
# tests/nn/test_ctc.py) against the enumeration of every alignment in tests/_reference.py
def ctc_row(name, shape, lists, input_lengths, concatenated=False, **kw):
    targets = np.zeros((len(lists), max(map(len, lists))), np.int64)
    for i, labels in enumerate(lists):
        targets[i, :len(labels)] = labels
    if concatenated:
        targets = np.concatenate([np.asarray(t, np.int64) for t in lists])
    lengths = [len(t) for t in lists]
    if len(shape) == 2:  # unbatched: one target (S,)
        targets = targets[0]
    return OpCase(
        name,
        lambda z: F.ctc_loss(F.log_softmax(z, dim=-1), targets, input_lengths, lengths, **kw),
        lambda z: ref.ctc_loss(special.log_softmax(z, -1).reshape(shape[0], -1, shape[-1]),
                               lists, input_lengths, **kw),
        [shape],
        torch=lambda z: tF().ctc_loss(z.log_softmax(-1), torch.from_numpy(targets),
                                      tuple(input_lengths), tuple(lengths), **kw),
        gradgrad=False)  # first derivatives only


CASES += [
    ctc_row("ctc_loss", (4, 2, 3), [[1, 1], [2]], (4, 3)),
    ctc_row("ctc_loss_sum_concatenated_blank", (4, 3, 3), [[0, 1], [], [0, 0]], (4, 2, 3),
            concatenated=True, blank=2, reduction="sum"),
    ctc_row("ctc_loss_none_zero_infinity", (4, 2, 3), [[1, 1, 1], [2, 1]], (4, 3),
            reduction="none", zero_infinity=True),
    ctc_row("ctc_loss_unbatched", (5, 3), [[1, 2, 2]], (5,)),
]

# multi_head_attention_forward (sequence-first) against tests/_reference.py; masks keep key 0
# of every query (a fully masked query is NaN in torch, zero in tinydl: tests/nn)
def mha_row(name, shapes, masks=(), bias=True, separate=False, unbatched=False, e=4, heads=2):
    """Inputs: query, key, value, in_proj_weight (or with ``separate`` q/k/v_proj_weight),
    [in_proj_bias], out_proj_weight, [out_proj_bias] (with ``bias``), then ``masks``."""
    def parse(args):
        args = list(args)
        q, k, v = args[:3]
        w_in, rest = args[3:6] if separate else args[3:4], args[6 if separate else 4:]
        b_in = rest.pop(0) if bias else None
        w_out = rest.pop(0)
        b_out = rest.pop(0) if bias else None
        return q, k, v, w_in, b_in, w_out, b_out, dict(zip(masks, rest))

    def run(functional, *args):
        q, k, v, w_in, b_in, w_out, b_out, extra = parse(args)
        if separate:
            extra.update(use_separate_proj_weight=True, q_proj_weight=w_in[0],
                         k_proj_weight=w_in[1], v_proj_weight=w_in[2])
        return functional(q, k, v, e, heads, None if separate else w_in[0], b_in, None, None,
                          False, 0.0, w_out, b_out, **extra)

    def split(w):
        return None if w is None else (w[:e], w[e:2 * e], w[2 * e:])

    def reference(*args):
        q, k, v, w_in, b_in, w_out, b_out, extra = parse(args)
        w_in = tuple(w_in) if separate else split(w_in[0])
        if unbatched:
            q, k, v = q[:, None], k[:, None], v[:, None]
            extra = {n: m[None] if n == "key_padding_mask" else m for n, m in extra.items()}
        out, weights = ref.multi_head_attention(q, k, v, heads, w_in, split(b_in), w_out, b_out,
                                                **extra)
        return (out[:, 0], weights[0]) if unbatched else (out, weights)

    return OpCase(name, lambda *a: run(F.multi_head_attention_forward, *a), reference, shapes,
                  torch=lambda *a: run(tF().multi_head_attention_forward, *a))


KPM = Arg((2, 5), fixed(np.where([[0, 1, 0, 0, 1], [0, 0, 0, 1, 0]], -np.inf, 0.0)),
          grad=False)  # float, as the float attn_mask beside it (torch deprecates mixing)
CAUSAL = Arg((3, 5), fixed(np.triu(np.ones((3, 5), bool), 1)), grad=False)
CASES += [
    mha_row("multi_head_attention_forward",
            [(3, 2, 4), (5, 2, 4), (5, 2, 4), (12, 4), (12,), (4, 4), (4,)]),
    mha_row("multi_head_attention_forward_kpm_float_mask_separate",
            [(3, 2, 4), (5, 2, 3), (5, 2, 2), (4, 4), (4, 3), (4, 2), (12,), (4, 4), (4,), KPM,
             (3, 5)], masks=("key_padding_mask", "attn_mask"), separate=True),
    mha_row("multi_head_attention_forward_unbatched_causal_no_bias",
            [(3, 4), (5, 4), (5, 4), (12, 4), (4, 4), CAUSAL], masks=("attn_mask",),
            bias=False, unbatched=True),
]

class TestFunctional(OpTable):
    cases = CASES
