"""tinydl.vision.models: small networks to train on the bundled and synthetic data."""
from tinydl.vision.models.resnet import (BasicBlock, ResNetTiny, param_groups_no_decay,
                                         resnet_tiny, zero_gamma_)
from tinydl.vision.models.ssd import SSDLite, prior_config

__all__ = ["BasicBlock", "ResNetTiny", "param_groups_no_decay", "resnet_tiny", "zero_gamma_",
           "SSDLite", "prior_config"]
