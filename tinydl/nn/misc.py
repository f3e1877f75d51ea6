"""Shape and lookup layers: ``Flatten``, ``Unflatten``, ``Embedding``, ``EmbeddingBag``,
``Upsample`` (and its fixed-mode ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``),
``PixelShuffle``, ``PixelUnshuffle``, ``ChannelShuffle``, ``Unfold``, ``Fold``."""

import numpy as np

from tinydl import ops
from tinydl.nn import functional as F
from tinydl.nn.functional.misc import _INTERP_NDIM, _padding_row
from tinydl.nn import init
from tinydl.nn.module import Module, Parameter, _check_size, _parameter_dtype
from tinydl.tensor import _check_device


class Flatten(Module):
    """Flatten axes ``start_dim`` .. ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: the inverse of ``Flatten``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)
        if not self.unflattened_size:  # () turned a size-1 axis into nothing; torch refuses
            raise ValueError("Unflatten: unflattened_size must be non-empty")

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:  # it wrapped: dim 3 of a 2-d input split dim 1
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of "
                             f"shape {x.shape}")
        dim = self.dim % x.ndim
        sizes = self.unflattened_size
        known = int(np.prod([s for s in sizes if s != -1]))
        fits = (known == x.shape[dim] if -1 not in sizes
                else sizes.count(-1) == 1 and known > 0 and x.shape[dim] % known == 0)
        if not fits:
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not multiply to "
                             f"dim {self.dim}'s size {x.shape[dim]} (input shape {x.shape})")
        return x.reshape(x.shape[:dim] + sizes + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _EmbeddingTable(Module):
    """What Embedding and EmbeddingBag share: the (num_embeddings, embedding_dim) ``weight``,
    drawn N(0, 1) with the ``padding_idx`` row zero, or given as ``_weight``, and torch's
    lookup options (see Embedding). Errors name the layer."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                 scale_grad_by_freq, sparse, _weight, _freeze, device, dtype):
        super().__init__()
        name = type(self).__name__
        if device is not None:
            _check_device(device, name)
        if sparse:
            raise NotImplementedError(f"{name}: sparse=True (a sparse gradient) is not "
                                      "implemented by tinydl; its gradients are dense")
        num_embeddings = _check_size(num_embeddings, name, "num_embeddings", 0)
        embedding_dim = _check_size(embedding_dim, name, "embedding_dim", 0)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_row(padding_idx, num_embeddings, name)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim),
                                             dtype=_parameter_dtype(dtype)),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"{name}: _weight of shape {tuple(_weight.shape)} does not "
                                 f"match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def _pretrained_shape(cls, embeddings):
        """(rows, dim) of the 2-D ``embeddings`` that ``from_pretrained`` was given."""
        if np.ndim(embeddings) != 2:
            raise ValueError(f"{cls.__name__}.from_pretrained: embeddings must be 2-D, got "
                             f"shape {np.shape(embeddings)}")
        return np.shape(embeddings)

    def reset_parameters(self):
        """Draw N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0


class Embedding(_EmbeddingTable):
    """A lookup table: integer indices (*) -> rows of ``weight`` (num_embeddings, embedding_dim).

    weight starts N(0, 1) with the ``padding_idx`` row zero; that row gets no gradient.
    torch's arguments, in torch's order: ``max_norm`` / ``norm_type`` (picked rows longer
    than max_norm are scaled back to it in place, at each forward), ``scale_grad_by_freq``
    (a row's gradient divided by how often the batch picks it), ``sparse`` (False only:
    gradients are dense), ``_weight`` / ``_freeze`` (an initial weight, as
    ``from_pretrained`` uses them), ``device`` (the CPU only) and ``dtype``.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=np.float32):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, _freeze, device, dtype)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (2-D; a Tensor's array is shared, as
        torch's), not trained when ``freeze``, as torch's."""
        rows, dim = cls._pretrained_shape(embeddings)
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class EmbeddingBag(_EmbeddingTable):
    """Bags of embedding rows reduced to one row each ('sum', 'mean' or 'max'), torch's
    ``nn.EmbeddingBag``: ``forward(input, offsets=None, per_sample_weights=None)`` ->
    (B, embedding_dim); see ``F.embedding_bag`` for the bags and the modes.

    weight starts N(0, 1) with the ``padding_idx`` row zero, as Embedding's; entries at
    ``padding_idx`` are left out of their bag. torch's arguments in torch's order
    (``padding_idx`` comes late here, unlike Embedding); ``sparse`` is False only.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=np.float32):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type,
                         scale_grad_by_freq, sparse, _weight, False, device, dtype)
        self.mode, self.include_last_offset = mode, include_last_offset

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is ``embeddings`` (2-D; a Tensor's array is shared),
        not trained when ``freeze``, as torch's."""
        rows, dim = cls._pretrained_shape(embeddings)
        bag = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Upsample(Module):
    """Resizing by ``scale_factor`` or to ``size`` (nearest, nearest-exact, linear, bilinear,
    bicubic, trilinear); see ``F.interpolate``.

    ``Upsample(scale_factor, mode='nearest')`` as tinydl's API contract gives it: the first
    positional argument is the scale factor, so ``Upsample(2)`` doubles the size. torch's
    first is ``size`` (its ``Upsample(2)`` resizes to 2 x 2); pass ``size=`` by name. A torch
    call with both positional (``Upsample(None, 2)``) fails on the mode, never silently.
    """

    def __init__(self, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None, *, size=None):
        super().__init__()
        modes = tuple(_INTERP_NDIM)  # interpolate's modes
        if mode not in modes:
            raise ValueError(f"Upsample: mode must be one of {modes}, got {mode!r}")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        if self.size is not None:
            text = f"size={self.size}, mode={self.mode!r}"
        else:
            text = f"scale_factor={self.scale_factor}, mode={self.mode!r}"
        return text + (f", align_corners={self.align_corners}"
                       if self.align_corners is not None else "")


class _Upsampling2d(Upsample):
    """torch's fixed-mode spellings of Upsample, with torch's argument order (``size``
    first) and repr (the scale factor a float; align_corners, which the mode fixes, left out)."""

    mode_fixed, align_corners_fixed = None, None

    def __init__(self, size=None, scale_factor=None):
        if scale_factor is not None:
            scale_factor = (tuple(float(f) for f in scale_factor)
                            if isinstance(scale_factor, (tuple, list)) else float(scale_factor))
        super().__init__(scale_factor, self.mode_fixed, self.align_corners_fixed, size=size)

    def extra_repr(self):
        what = (f"size={self.size}" if self.size is not None
                else f"scale_factor={self.scale_factor}")
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(_Upsampling2d):
    """Nearest-neighbour resizing of (N, C, H, W) to ``size`` or by ``scale_factor``:
    ``Upsample(mode='nearest')``."""

    mode_fixed = "nearest"


class UpsamplingBilinear2d(_Upsampling2d):
    """Bilinear resizing of (N, C, H, W) with ``align_corners=True`` (torch's choice for
    this layer: corner pixels map onto corner pixels)."""

    mode_fixed, align_corners_fixed = "bilinear", True


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r); see ``F.pixel_shuffle``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W); see ``F.pixel_unshuffle``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of (N, C, *) input across ``groups`` (ShuffleNet); see
    ``F.channel_shuffle``."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        return F.channel_shuffle(x, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class Unfold(Module):
    """Every ``kernel_size`` block of (N, C, H, W) (or (C, H, W)) as a column: (N, C*kh*kw, L);
    torch's argument order. ``F.unfold``, i.e. tinydl's ``im2col``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns (N, C*kh*kw, L) (or (C*kh*kw, L)) summed back into an image of ``output_size``,
    the adjoint of Unfold; torch's argument order. ``F.fold``, i.e. tinydl's ``col2im``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
