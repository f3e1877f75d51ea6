"""SSDLite: a small single-shot detector for 64-pixel images (Liu et al. 2016, scaled down).

A plain conv-BN-ReLU backbone halves the resolution four times; the 16x16, 8x8 and 4x4 maps
(for a 64-pixel input) each feed a 3x3 convolution that predicts, for every prior of every
cell, four box offsets and ``num_classes`` class logits. The priors come from
``ssd_prior_boxes`` with sizes that cover objects of roughly 10 to 40 pixels.
"""
import numbers

import numpy as np

from tinydl import concatenate, nn
from tinydl.grad_mode import no_grad
from tinydl.tensor import Tensor
from tinydl.vision.anchors import ssd_prior_boxes
from tinydl.vision.ssd import detect


def _conv_bn(in_channels, out_channels, stride):
    return [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU()]


def prior_config(image_size=64):
    """The ``ssd_prior_boxes`` arguments of SSDLite: three levels at strides 4, 8 and 16.

    Square priors of ``11/64 S``, ``18/64 S`` and ``29/64 S`` (``S`` the image size), the
    in-between square ``sqrt(s_k s_{k+1})`` (the last level's upper size is ``40/64 S``) and
    2:1 / 1:2 boxes: 4 priors per cell, 1,344 in all at ``S = 64``. On ``SyntheticShapes``
    (sides ``0.15 S`` to ``0.5 S``) every object has a prior with IoU > 0.4, 97% one with
    IoU >= 0.5; a stride-8 first level leaves 30% of the objects without one.
    """
    s = float(image_size)
    return dict(image_size=s, feature_maps=[image_size // 4, image_size // 8, image_size // 16],
                steps=[4, 8, 16], min_sizes=[11 / 64 * s, 18 / 64 * s, 29 / 64 * s],
                max_sizes=[18 / 64 * s, 29 / 64 * s, 40 / 64 * s], aspect_ratios=[[2], [2], [2]])


class SSDLite(nn.Module):
    """A small SSD: ``SSDLite(num_classes, image_size=64, width=16)``.

    ``num_classes`` counts the background (class 0) as torchvision's and ssd.pytorch's SSDs
    do: three shape classes need ``num_classes=4``. ``image_size`` must be a multiple of 16.
    The backbone is five 3x3 conv-BN-ReLU blocks with ``width x (1, 2, 3, 4, 6)`` channels
    and strides ``(2, 2, 1, 2, 2)``; the outputs of the last three (strides 4, 8 and 16)
    are the detection scales, each with a 3x3 convolution predicting four offsets and
    ``num_classes`` logits per prior. ``forward(x)`` takes ``(B, 3, S, S)`` images and
    returns ``(loc, conf)``: ``(B, P, 4)`` offsets and ``(B, P, num_classes)`` logits, prior
    ``p`` being ``self.priors[p]`` (``(P, 4)`` normalised ``(cx, cy, w, h)``).
    """

    def __init__(self, num_classes, image_size=64, width=16):
        super().__init__()
        if not isinstance(num_classes, numbers.Integral) or num_classes < 2:
            raise ValueError(f"SSDLite: num_classes (background included) must be an integer >= 2, "
                             f"got {num_classes!r}")
        if not isinstance(image_size, numbers.Integral) or image_size < 16 or image_size % 16:
            raise ValueError(f"SSDLite: image_size must be a positive multiple of 16, got {image_size!r}")
        self.num_classes, self.image_size = int(num_classes), int(image_size)
        w = int(width)
        channels = (3 * w, 4 * w, 6 * w)
        # Two stride-2 blocks first: full-resolution convolutions would cost most of the time
        # and 16x16 maps of 3w channels still tell the shapes apart.
        self.stages = nn.ModuleList([
            nn.Sequential(*_conv_bn(3, w, 2), *_conv_bn(w, 2 * w, 2), *_conv_bn(2 * w, channels[0], 1)),
            nn.Sequential(*_conv_bn(channels[0], channels[1], 2)),
            nn.Sequential(*_conv_bn(channels[1], channels[2], 2))])
        config = prior_config(self.image_size)
        self.priors = ssd_prior_boxes(**config)
        self.num_anchors = 2 + 2 * len(config["aspect_ratios"][0])
        self.loc_heads = nn.ModuleList([nn.Conv2d(c, self.num_anchors * 4, 3, padding=1) for c in channels])
        self.conf_heads = nn.ModuleList([nn.Conv2d(c, self.num_anchors * self.num_classes, 3, padding=1)
                                         for c in channels])

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, self.image_size, self.image_size):
            raise ValueError(f"SSDLite: expected images (B, 3, {self.image_size}, {self.image_size}), "
                             f"got {tuple(x.shape)}")
        features = x
        locs, confs = [], []
        for stage, loc_head, conf_head in zip(self.stages, self.loc_heads, self.conf_heads):
            features = stage(features)
            batch = features.shape[0]
            # (B, A*4, H, W) -> (B, H, W, A*4) -> (B, H*W*A, 4): rows, columns, then priors,
            # the order ssd_prior_boxes lists them in.
            locs.append(loc_head(features).transpose((0, 2, 3, 1)).reshape(batch, -1, 4))
            confs.append(conf_head(features).transpose((0, 2, 3, 1)).reshape(batch, -1, self.num_classes))
        return concatenate(locs, axis=1), concatenate(confs, axis=1)

    @no_grad()
    def predict(self, images, score_threshold=0.01, nms_threshold=0.45, top_k=200, batch_size=64):
        """Detections in pixels for ``(B, 3, S, S)`` images (array or Tensor), in eval mode.

        Runs the network in batches of ``batch_size`` under ``no_grad`` and ``detect``; returns
        one dict per image (``'boxes'`` ``xyxy`` pixels, ``'scores'``, ``'labels'`` 0-based).
        The module's train/eval mode is restored afterwards.
        """
        images = np.asarray(images, dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            results = []
            for start in range(0, len(images), batch_size):
                loc, conf = self(Tensor(images[start:start + batch_size]))
                results += detect(loc.data, conf.data, self.priors, score_threshold, nms_threshold, top_k,
                                  scale=self.image_size)
        finally:
            self.train(was_training)
        return results
