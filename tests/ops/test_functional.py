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


TARGET = Arg((N,), integers(0, C), grad=False)
IGNORED = Arg((N,), fixed([1, 0, 3, 1]), grad=False)  # class 1 is the ignore_index below
CLASS_WEIGHT = Arg((C,), positive, grad=False)
# samples either side of the kinks of l1 (0), smooth_l1 (beta = 1) and huber (delta = 2)
NEAR_ZERO = Arg(X, uniform(-0.05, 0.05), grad=False)


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


class TestFunctional(OpTable):
    cases = CASES
