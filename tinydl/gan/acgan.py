"""ACGAN: class-conditional generation with an auxiliary classifier (Odena et al. 2017).

The generator draws ``x = G(z, c)`` from noise ``z`` and a class ``c``; the discriminator
returns two heads from one body: a *source* logit (real or generated?) and *class* logits
(which of the K classes?). Both players are trained on the source loss of a GAN plus the
log-likelihood of the right class (the paper's ``L_S`` and ``L_C``):

    D minimises  L_S(D) + w (CE(class_real, y_real) + CE(class_fake, y_fake))
    G minimises  L_S(G) + w CE(class_fake, y_fake)

Both heads return **logits**. A softmax in front of the cross-entropy is ACGAN code's most
reported bug (the loss then applies a second softmax and its gradient all but vanishes), so
``acgan_losses`` refuses class scores whose rows are probability vectors.

Within-class collapse and the remedies offered here. The term ``CE(class_fake, y_fake)`` is
minimised by *both* players, so nothing stops G from drawing, for each class, the few images
the classifier is surest of: ACGAN is biased towards low conditional entropy (Shu et al.
2017; Gong et al. 2019, TAC-GAN). Measured with ``examples/acgan_digits.py`` (generated /
real mean pairwise L2 within a class): early in training the samples of a class are nearly
alike (mean 0.20-0.31 after 300 steps at lr 1e-3-2e-3, classes already right 81-86% of the
time); with that example's MLPs and 5,000 steps the ratio
recovers to 0.55-0.61 (worst class) with or without a remedy, so on these digits the collapse
is a phase rather than the end state. Two standard counter-measures are offered:

- ``ACGANDiscriminator(..., mbstd_group=g)``: the minibatch standard deviation feature of
  ProGAN (Karras et al. 2018), the example's default. D sees, for each group of ``g``
  samples, the mean over features of their standard deviation; a collapsed generator gives a
  tell-tale small value, so D can penalise collapse itself instead of judging samples one by
  one. It was chosen because it adds no term to balance against the GAN loss (one number
  per group, learned like any feature). Groups are consecutive rows, so feed real and
  generated batches sorted into same-class groups to make it measure *within-class* spread.
- ``mode_seeking_loss``: MSGAN's regulariser (Mao et al. 2019) added to G's loss; it rewards
  two noises of the same class for giving different images, in proportion to how far apart
  the noises are. Its weight needs care: at weight 1 on the digits it dominated the loss
  (about 10x the GAN terms) and the samples lost their classes (accuracy 0.11).
"""
import numpy as np

from tinydl import nn, ops
from tinydl.gan.losses import GAN_LOSS_KINDS, gan_losses
from tinydl.nn.functional import cross_entropy, one_hot
from tinydl.tensor import Tensor


def _hidden_stack(sizes, slope, dropout=0.0):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(slope)]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class ACGANGenerator(nn.Module):
    """``G(z, c)``: noise ``(N, latent_dim)`` and classes ``(N,)`` -> images ``(N, *image_shape)``.

    The class enters as a one-hot vector concatenated to the noise (the conditioning of
    Mirza & Osindero 2014); an MLP of ``depth`` hidden LeakyReLU(0.2) layers of ``hidden``
    units follows, and a sigmoid maps to pixel intensities in [0, 1] (the range of
    ``tinydl.data.load_digits``).
    """

    def __init__(self, latent_dim=32, n_classes=10, image_shape=(1, 8, 8), hidden=256, depth=2):
        super().__init__()
        self.latent_dim, self.n_classes = int(latent_dim), int(n_classes)
        self.image_shape = tuple(int(s) for s in image_shape)
        pixels = int(np.prod(self.image_shape))
        self.body = _hidden_stack([self.latent_dim + self.n_classes] + [hidden] * depth, 0.2)
        self.to_pixels = nn.Linear(hidden, pixels)

    def forward(self, z, labels):
        z = z if isinstance(z, Tensor) else Tensor(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"ACGANGenerator: z must be (N, {self.latent_dim}), got {z.shape}")
        codes = one_hot(labels, self.n_classes)
        if codes.shape != (z.shape[0], self.n_classes):
            raise ValueError(f"ACGANGenerator: labels must be ({z.shape[0]},) class indices, "
                             f"got shape {tuple(codes.shape[:-1])}")
        h = self.body(ops.concatenate([z, codes.astype(z.dtype)], axis=1))
        return ops.sigmoid(self.to_pixels(h)).reshape(z.shape[0], *self.image_shape)


def minibatch_stddev(h, group):
    """ProGAN's minibatch standard deviation feature: ``(N, F)`` -> ``(N, 1)``.

    Rows are split into ``N / group`` consecutive groups; each row gets its group's mean over
    features of the (biased) standard deviation over the group, ``mean_f std_g h[g, f]``.
    """
    n, f = h.shape
    if group < 2 or n % group:
        raise ValueError(f"minibatch_stddev: the batch ({n}) must split into groups of "
                         f"{group} >= 2 samples")
    grouped = h.reshape(n // group, group, f)
    centred = grouped - grouped.mean(axis=1, keepdims=True)
    # 1e-8 inside the root: the gradient of sqrt stays finite for a fully collapsed group.
    spread = ops.sqrt((centred * centred).mean(axis=1) + 1e-8).mean(axis=1, keepdims=True)
    return ops.broadcast_to(spread.reshape(n // group, 1, 1), (n // group, group, 1)
                            ).reshape(n, 1)


class ACGANDiscriminator(nn.Module):
    """``D(x)`` -> ``(source_logits (N,), class_logits (N, n_classes))``, both raw logits.

    An MLP body of ``depth`` LeakyReLU(0.2) layers (with ``dropout`` after each) on the
    flattened image; with ``mbstd_group > 1`` the minibatch standard deviation of groups of
    that many consecutive samples (``minibatch_stddev``) is appended to the body's features
    before the two linear heads. No softmax or sigmoid: ``acgan_losses`` works on logits.
    """

    def __init__(self, n_classes=10, image_shape=(1, 8, 8), hidden=256, depth=2, dropout=0.0,
                 mbstd_group=0):
        super().__init__()
        self.n_classes, self.mbstd_group = int(n_classes), int(mbstd_group)
        self.image_shape = tuple(int(s) for s in image_shape)
        pixels = int(np.prod(self.image_shape))
        self.body = _hidden_stack([pixels] + [hidden] * depth, 0.2, dropout)
        features = hidden + (1 if self.mbstd_group > 1 else 0)
        self.source_head = nn.Linear(features, 1)
        self.class_head = nn.Linear(features, self.n_classes)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"ACGANDiscriminator: images must be (N, *{self.image_shape}), "
                             f"got {x.shape}")
        h = self.body(x.reshape(x.shape[0], -1))
        if self.mbstd_group > 1:
            h = ops.concatenate([h, minibatch_stddev(h, self.mbstd_group)], axis=1)
        return self.source_head(h).reshape(-1), self.class_head(h)


def _check_class_logits(scores, labels, name):
    scores = scores if isinstance(scores, Tensor) else Tensor(scores)
    if scores.ndim != 2:
        raise ValueError(f"acgan_losses: {name} must be (N, n_classes) logits, got {scores.shape}")
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if labels.shape != (scores.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"acgan_losses: labels for {name} must be ({scores.shape[0]},) integers, "
                         f"got shape {labels.shape} and dtype {labels.dtype}")
    s = scores.data
    if np.all(s >= 0) and np.all(s <= 1) and np.allclose(s.sum(axis=1), 1.0, atol=1e-4):
        # Rows that are probability vectors: softmax was applied before the loss, which
        # would apply it again. Logits with this property are practically never met.
        raise ValueError(f"acgan_losses: every row of {name} is a probability vector; the "
                         "auxiliary head must return logits (drop the softmax), cross_entropy "
                         "applies log_softmax itself")
    return scores, labels


def acgan_losses(source_real, source_fake, class_real, class_fake, labels_real, labels_fake,
                 kind="nonsaturating", aux_weight=1.0):
    """Discriminator and generator losses ``(d_loss, g_loss)`` of an ACGAN, from logits.

    ``source_*`` are the source logits (any shape, as ``gan_losses``), ``class_*`` the
    ``(N, K)`` class logits of the real and generated batches, ``labels_*`` their ``(N,)``
    classes (the data's labels, and the classes the generator was asked for). With
    ``L_S = gan_losses(source_real, source_fake, kind)`` and ``CE`` the mean softmax
    cross-entropy (Odena et al. 2017, with the paper's non-saturating source loss by default):

        d_loss = L_S(D) + aux_weight (CE(class_real, labels_real) + CE(class_fake, labels_fake))
        g_loss = L_S(G) + aux_weight CE(class_fake, labels_fake)

    As with ``gan_losses``, call it with the generated batch detached for D's step and with the
    real logits detached for G's step. Raises ValueError when a class-score row is a
    probability vector (a softmax before the loss). Returns two scalar Tensors.
    """
    if kind not in GAN_LOSS_KINDS:
        raise ValueError(f"acgan_losses: kind must be one of {GAN_LOSS_KINDS}, got {kind!r}")
    class_real, labels_real = _check_class_logits(class_real, labels_real, "class_real")
    class_fake, labels_fake = _check_class_logits(class_fake, labels_fake, "class_fake")
    if class_real.shape[1] != class_fake.shape[1]:
        raise ValueError(f"acgan_losses: class_real {class_real.shape} and class_fake "
                         f"{class_fake.shape} have different numbers of classes")
    d_source, g_source = gan_losses(source_real, source_fake, kind)
    aux_real = cross_entropy(class_real, labels_real)
    aux_fake = cross_entropy(class_fake, labels_fake)
    return d_source + aux_weight * (aux_real + aux_fake), g_source + aux_weight * aux_fake


def mode_seeking_loss(images_a, images_b, z_a, z_b, eps=1e-5):
    """MSGAN's mode-seeking regulariser (Mao et al. 2019), to add to the generator's loss.

    For two batches generated with the same classes from noises ``z_a``, ``z_b``:
    ``1 / (mean|G(z_a) - G(z_b)| / mean|z_a - z_b| + eps)``, the means over all elements as in
    the paper's code. Minimising it pushes the images apart where the noises are apart, which
    is what a generator collapsed within classes does not do. Returns a scalar Tensor.
    """
    if images_a.shape != images_b.shape or z_a.shape != z_b.shape:
        raise ValueError(f"mode_seeking_loss: pairs must match, got images {images_a.shape} and "
                         f"{images_b.shape}, noises {z_a.shape} and {z_b.shape}")
    z_gap = ops.abs(z_a - z_b).mean()
    return 1.0 / (ops.abs(images_a - images_b).mean() / z_gap + eps)
