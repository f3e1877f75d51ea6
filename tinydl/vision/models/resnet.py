"""A small CIFAR-style ResNet with basic blocks, and the parameter groups of "no bias decay".

``resnet_tiny`` follows He et al. 2016 (the CIFAR variant: a 3x3 stem and three stages of
basic blocks, widths w, 2w, 4w, the later stages halving the resolution), optionally with
a stride-2 stem so that 32x32 inputs cost what 16x16 ones would. Two of the "Bag of
Tricks" (He et al. 2019) live here: ``zero_init_residual`` (zero-gamma: the last
BatchNorm of every residual block starts with weight 0, so each block starts as the
identity) and ``param_groups_no_decay`` (weight decay on conv/linear weights only).
"""
from tinydl import nn
from tinydl.nn import functional as F
from tinydl.nn.normalization import NORM_TYPES


class BasicBlock(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3x3 convolutions.

    ``shortcut`` is the identity, or a strided 1x1 conv + BN when the shape changes
    (torchvision's option B). ``bn2`` is the block's last BatchNorm, the one zero-gamma
    initialisation zeroes.
    """

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetTiny(nn.Module):
    """stem conv-BN-ReLU, stages of ``BasicBlock`` s, global average pool, linear head.

    Input (N, in_channels, H, W) -> logits (N, num_classes). Stage i has width
    ``width * 2**i`` and ``blocks[i]`` blocks; stages after the first start with stride 2.
    """

    def __init__(self, num_classes=10, in_channels=1, width=16, blocks=(1, 1, 1), stem_stride=1,
                 zero_init_residual=False):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU())
        layers, channels = [], width
        for i, n_blocks in enumerate(blocks):
            out_channels = width * 2 ** i
            for j in range(n_blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        if zero_init_residual:
            zero_gamma_(self)

    def forward(self, x):
        x = self.pool(self.layers(self.stem(x)))
        return self.fc(x.reshape(x.shape[0], -1))


def resnet_tiny(num_classes=10, in_channels=1, width=16, blocks=(1, 1, 1), stem_stride=1,
                zero_init_residual=False):
    """A small ResNet of basic blocks (He et al. 2016, CIFAR layout), see ``ResNetTiny``.

    ``zero_init_residual=True`` is the zero-gamma trick of "Bag of Tricks" (He et al. 2019,
    section 3.1; torchvision's argument of the same name): every block's last BatchNorm
    weight starts at 0. ``stem_stride=2`` halves the resolution in the stem.
    """
    return ResNetTiny(num_classes, in_channels, width, tuple(blocks), stem_stride,
                      zero_init_residual)


def zero_gamma_(model):
    """Set the weight (gamma) of the last BatchNorm of every ``BasicBlock`` in ``model`` to 0.

    Each residual block then outputs relu(shortcut(x)) at the start, so the network begins
    shallower and trains as if it had fewer layers (Goyal et al. 2017). Returns ``model``.
    """
    found = 0
    for module in model.modules():
        if isinstance(module, BasicBlock):
            module.bn2.weight.data[...] = 0
            found += 1
    if found == 0:
        raise ValueError(f"zero_gamma_: {type(model).__name__} has no BasicBlock to initialise")
    return model




def param_groups_no_decay(model, weight_decay):
    """Two optimizer parameter groups: weights with ``weight_decay``, the rest without.

    "No bias decay" (He et al. 2019, section 3.1; Jia et al. 2018): L2 regularisation is
    applied to the weights of two or more dimensions (convolution, linear, embedding); biases
    and the scale and shift of every normalisation layer (``nn.normalization.NORM_TYPES``:
    BatchNorm, InstanceNorm, LayerNorm, GroupNorm, RMSNorm, whatever their shape) get
    ``weight_decay=0``. Returns
    ``[{'params': decay, 'weight_decay': weight_decay}, {'params': rest, 'weight_decay': 0.0}]``,
    ready for any tinydl (or torch) optimizer; every trainable parameter is in exactly one.
    """
    norm_params = set()
    for module in model.modules():
        if isinstance(module, NORM_TYPES):
            norm_params.update(id(p) for p in module.parameters(recurse=False))
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if id(param) in norm_params or name.endswith("bias") or param.ndim <= 1:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]
