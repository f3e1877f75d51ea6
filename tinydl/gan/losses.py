"""GAN objectives from discriminator logits (SPEC.md section 6).

Every loss here is written in terms of the logits ``l`` a discriminator (or critic) returns,
never in terms of probabilities: ``log sigmoid(l) = -sp(-l)`` and ``log(1 - sigmoid(l)) =
-sp(l)`` with the stable softplus ``sp(x) = max(x, 0) + log1p(exp(-|x|))``, so the losses and
their gradients stay finite for logits of +-1e4, where ``log(sigmoid(l))`` would give
``log(0)``.
"""
import numpy as np

from tinydl.ops import mean, relu, softplus
from tinydl.tensor import Tensor

GAN_LOSS_KINDS = ("minimax", "nonsaturating", "wgan", "hinge", "rsgan", "ragan")


def _sp(x):
    # threshold=inf keeps the exact formula max(x,0) + log1p(exp(-|x|)) everywhere, instead of
    # torch's switch to the identity above 20 (which the SPEC formula does not have).
    return softplus(x, threshold=np.inf)


def _as_logits(x, name):
    t = x if isinstance(x, Tensor) else Tensor(x)
    if not np.issubdtype(t.dtype, np.floating):
        raise TypeError(f"gan_losses: {name} must hold floating-point logits, got dtype {t.dtype}")
    if t.size == 0:
        raise ValueError(f"gan_losses: {name} is empty (shape {t.shape})")
    return t


def gan_losses(d_real, d_fake, kind):
    """Discriminator and generator losses ``(d_loss, g_loss)`` of a GAN, from logits.

    ``d_real`` are the discriminator's logits on a batch of real samples, ``d_fake`` on a batch
    of generated ones (any shapes; both losses are means, so they are scalars). ``sp`` is the
    stable softplus ``max(x, 0) + log1p(exp(-|x|))``; ``l_r``, ``l_f`` the logits:

    - ``'minimax'`` (Goodfellow et al. 2014): D = mean sp(-l_r) + mean sp(l_f), G = -mean sp(l_f)
      (G minimises log(1 - D(G(z))), which saturates when D wins).
    - ``'nonsaturating'`` (same paper, the -log D trick): same D, G = mean sp(-l_f).
    - ``'wgan'`` (Arjovsky et al. 2017, the paper's sign): D = mean l_f - mean l_r,
      G = -mean l_f; combine with ``clip_weights`` or ``gradient_penalty``.
    - ``'hinge'`` (Lim & Ye 2017; Miyato et al. 2018): D = mean relu(1 - l_r) + mean relu(1 + l_f),
      G = -mean l_f.
    - ``'rsgan'`` (Jolicoeur-Martineau 2018, relativistic standard GAN, pairs sample i of each
      batch with sample i of the other, so shapes must match): D = mean sp(-(l_r - l_f)),
      G = mean sp(-(l_f - l_r)).
    - ``'ragan'`` (same paper, relativistic average, without the division by 2 of some
      implementations): D = mean sp(-(l_r - mean l_f)) + mean sp(l_f - mean l_r),
      G = mean sp(-(l_f - mean l_r)) + mean sp(l_r - mean l_f).

    Both losses are built from both inputs where the formula uses them, so call it with the
    generated batch detached for the discriminator step and with ``d_real`` detached for the
    generator step. Returns two scalar Tensors.
    """
    if kind not in GAN_LOSS_KINDS:
        raise ValueError(f"gan_losses: kind must be one of {GAN_LOSS_KINDS}, got {kind!r}")
    l_r = _as_logits(d_real, "d_real")
    l_f = _as_logits(d_fake, "d_fake")
    if kind == "minimax":
        d_loss = mean(_sp(-l_r)) + mean(_sp(l_f))
        return d_loss, -mean(_sp(l_f))
    if kind == "nonsaturating":
        d_loss = mean(_sp(-l_r)) + mean(_sp(l_f))
        return d_loss, mean(_sp(-l_f))
    if kind == "wgan":
        return mean(l_f) - mean(l_r), -mean(l_f)
    if kind == "hinge":
        d_loss = mean(relu(1.0 - l_r)) + mean(relu(1.0 + l_f))
        return d_loss, -mean(l_f)
    if kind == "rsgan":
        if l_r.shape != l_f.shape:
            raise ValueError("gan_losses: 'rsgan' pairs real and fake samples one to one, so "
                             "d_real and d_fake need the same shape, got "
                             f"{l_r.shape} and {l_f.shape}")
        return mean(_sp(-(l_r - l_f))), mean(_sp(-(l_f - l_r)))
    mean_r, mean_f = mean(l_r), mean(l_f)
    d_loss = mean(_sp(-(l_r - mean_f))) + mean(_sp(l_f - mean_r))
    g_loss = mean(_sp(-(l_f - mean_r))) + mean(_sp(l_r - mean_f))
    return d_loss, g_loss
