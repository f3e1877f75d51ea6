"""tinydl.gan: losses, Lipschitz constraints, AdaIN and sample-quality metrics for GANs.

- ``gan_losses`` (losses.py): minimax, nonsaturating, WGAN, hinge, RSGAN and RaGAN from logits.
- ``gradient_penalty``, ``clip_weights`` (penalty.py): WGAN-GP and the original WGAN clipping.
- ``adain`` (style.py): adaptive instance normalisation.
- ``ACGANGenerator``, ``ACGANDiscriminator``, ``acgan_losses``, ``mode_seeking_loss``,
  ``minibatch_stddev`` (acgan.py): class-conditional GANs with an auxiliary classifier.
- ``perceptual_path_length`` (ppl.py): StyleGAN's perceptual path length.
- ``frechet_distance``, ``inception_score`` (metrics.py): FID's distance and the IS.

Spectral normalisation lives with the other weight reparameterisations in
``tinydl.nn.utils.spectral_norm``.
"""
from tinydl.gan.acgan import (ACGANDiscriminator, ACGANGenerator, acgan_losses,
                              minibatch_stddev, mode_seeking_loss)
from tinydl.gan.losses import GAN_LOSS_KINDS, gan_losses
from tinydl.gan.metrics import frechet_distance, inception_score
from tinydl.gan.penalty import clip_weights, gradient_penalty
from tinydl.gan.ppl import perceptual_path_length
from tinydl.gan.style import adain

__all__ = ["ACGANDiscriminator", "ACGANGenerator", "GAN_LOSS_KINDS", "acgan_losses", "adain",
           "clip_weights", "frechet_distance", "gan_losses", "gradient_penalty",
           "inception_score", "minibatch_stddev", "mode_seeking_loss", "perceptual_path_length"]
