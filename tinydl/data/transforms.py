"""Image transforms with torchvision's names and semantics, on NumPy image arrays.

An image is a NumPy array (or a ``tinydl.Tensor``, which comes back as one) in one of the two
layouts torchvision users meet: **CHW float** (a tensor image, values in [0, 1] where a
transform needs a range) or **HWC uint8** (a decoded picture, values 0..255); a 2-D array is
one channel, HW. Every transform returns the layout and dtype it was given, except
``ToTensor`` (HWC -> CHW, uint8 to float32) and ``Normalize`` (float only). A uint8 array
shaped like CHW (1 or 3 leading entries, more than 4 trailing: ``torchvision.io.read_image``'s
output) is refused rather than read as HWC with its axes scrambled.

Randomness: a random transform built with ``seed=None`` draws from tinydl's one global
generator at call time, so ``tinydl.manual_seed(s)`` makes a whole augmented run
reproducible; ``seed=int`` gives the transform its own ``np.random.default_rng(seed)``.
The parameters are drawn as torchvision draws them (same distributions and ranges), from
NumPy rather than torch, so the numbers differ from torchvision's but not their law.

Batch-level ``mixup`` (Zhang et al. 2018) and ``cutmix`` (Yun et al. 2019) live in
``tinydl/data/mixing.py`` and are re-exported here.

This file is a little over the 500 lines the package keeps to: it is torchvision's
``transforms`` namespace, nine classes a user looks up side by side, and the layout helpers
they share sit at its top.
"""
import math
import numbers

import numpy as np

from tinydl.autograd import is_grad_enabled
from tinydl.data._random import resolve_generator
from tinydl.tensor import Tensor


# --- layouts -------------------------------------------------------------------------------

def _unwrap(img, where):
    """(array, was_tensor): the image's array, checked to be 2-D or 3-D."""
    was_tensor = isinstance(img, Tensor)
    if was_tensor and img.requires_grad and is_grad_enabled():
        # the transforms work on the data: the graph (an input-gradient loop's) was dropped
        # silently, and x.grad stayed None
        raise TypeError(f"{where}: the image requires grad, and this transform works on its "
                        "data, so the gradient would be lost; transform x.detach(), or write "
                        "the step with tinydl ops (Normalize keeps the graph)")
    a = img.data if was_tensor else np.asarray(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"{where}: expected an image of shape (C, H, W), (H, W, C) or (H, W), "
                         f"got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.floating) or a.dtype == np.uint8):
        raise TypeError(f"{where}: images are float (CHW) or uint8 (HWC), got dtype {a.dtype}")
    _check_hwc(a, where)
    return a, was_tensor


def _check_hwc(a, where):
    """Refuse a uint8 image that is CHW (torchvision.io.read_image's layout): read as HWC,
    its axes were scrambled silently (a horizontal flip flipped the rows). Judged by shape:
    1 or 3 leading entries and a last axis that no picture's channels have."""
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (
            1, 2, 3, 4):
        raise ValueError(f"{where}: a uint8 image is HWC (a decoded picture), but shape "
                         f"{a.shape} looks CHW (torchvision.io.read_image's layout); pass "
                         f"img.transpose(1, 2, 0), or a float CHW image (img / 255)")


def _wrap(a, was_tensor):
    return Tensor(a) if was_tensor else a


def _chw(a):
    """A CHW view of an image: float arrays are CHW already, uint8 ones HWC, 2-D ones HW."""
    if a.ndim == 2:
        return a[None]
    if a.dtype == np.uint8:
        return a.transpose(2, 0, 1)
    return a


def _from_chw(chw, like):
    """Back to the layout (not the dtype) of ``like``."""
    if like.ndim == 2:
        return chw[0]
    if like.dtype == np.uint8:
        return chw.transpose(1, 2, 0)
    return chw


def _to_unit_float(a):
    """Values in [0, 1] as float32 (uint8 / 255), for the colour transforms."""
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a


def _from_unit_float(f, like):
    if like.dtype == np.uint8:
        return np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8)
    return f.astype(like.dtype, copy=False)


def _generator(transform):
    """The transform's own generator, or tinydl's global one (looked up at call time)."""
    return transform._rng if transform._rng is not None else resolve_generator(None, "transforms")


def _own_generator(seed, where):
    return None if seed is None else resolve_generator(seed, where)


def _pair(value, where, name="size", form="(h, w)"):
    if isinstance(value, numbers.Number):
        return int(value), int(value)
    if len(value) != 2:
        raise ValueError(f"{where}: {name} must be an int or {form}, got {value!r}")
    return int(value[0]), int(value[1])


def _range(value, where, name, center=0.0, lower=-math.inf):
    """torchvision's convention: a number v means [max(lower, center - v), center + v], else
    (lo, hi), which must have lower <= lo <= hi (torchvision clips the number, not the pair)."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{where}: {name} must be non-negative, got {value!r}")
        return max(center - value, lower), center + value
    if len(value) != 2:
        raise ValueError(f"{where}: {name} must be a number or (min, max), got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if lo > hi:
        raise ValueError(f"{where}: {name} range ({lo}, {hi}) has min > max")
    if lo < lower:
        raise ValueError(f"{where}: {name} range ({lo}, {hi}) must lie within [{lower}, inf)")
    return lo, hi


def _probability(p, where):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _padding(padding, where):
    """torchvision's padding forms as (left, top, right, bottom) non-negative ints."""
    p = (padding,) * 4 if isinstance(padding, numbers.Number) else tuple(padding)
    if len(p) == 2:
        p = (p[0], p[1], p[0], p[1])
    if len(p) != 4 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                              and v >= 0 for v in p):
        raise ValueError(f"{where}: padding must be a non-negative int, (left/right, "
                         f"top/bottom) or (left, top, right, bottom), got {padding!r}")
    return tuple(int(v) for v in p)


def _fill(fill, chw, where, name="fill"):
    """``fill`` (a number or one per channel) as a (C,) float64 array, checked to fit the
    image's dtype (a uint8 fill of 300 or -1 would wrap); ``name`` is the argument's, for
    the messages."""
    try:
        values = np.asarray(fill, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        values = np.zeros(0)  # not numbers: the message below
    if values.size not in (1, chw.shape[0]):
        raise ValueError(f"{where}: {name} must be one number or one per channel "
                         f"({chw.shape[0]}), got {fill!r}")
    if chw.dtype == np.uint8 and np.any((values < 0) | (values > 255)):
        raise ValueError(f"{where}: {name} {fill!r} does not fit a uint8 image (0..255)")
    return np.broadcast_to(values, chw.shape[:1])


# --- the transforms ------------------------------------------------------------------------

class Compose:
    """Apply ``transforms`` in order: ``Compose([t1, t2])(x) = t2(t1(x))``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """HWC (or HW) array or PIL image -> CHW ``tinydl.Tensor`` (torchvision's rule).

    uint8 becomes float32 divided by 255; any other dtype (float64 included) is only
    transposed, unscaled and kept. A ``tinydl.Tensor`` is refused, as torchvision refuses a
    tensor: it is taken to be CHW already, and reading it as HWC would scramble its axes.
    """

    def __call__(self, img):
        if isinstance(img, Tensor):
            raise TypeError(f"ToTensor: pic should be an (H, W, C) ndarray or a PIL image, got a "
                            f"tinydl.Tensor of shape {img.shape} (a tensor image is CHW already; "
                            f"apply ToTensor once)")
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise ValueError(f"ToTensor: expected an (H, W, C) or (H, W) image, got shape {a.shape}")
        _check_hwc(a, "ToTensor")
        chw = a.transpose(2, 0, 1)
        if a.dtype == np.uint8:
            return Tensor(chw.astype(np.float32) / 255.0)
        return Tensor(np.ascontiguousarray(chw))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """out_c = (x_c - mean_c) / std_c for each channel c of a CHW float image."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} values, std {self.std.size}")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std.tolist()}")

    def __call__(self, img):
        if isinstance(img, Tensor) and img.requires_grad and is_grad_enabled():
            return self._differentiable(img)
        a, was_tensor = _unwrap(img, "Normalize")
        if a.dtype == np.uint8:
            raise TypeError("Normalize: expects a CHW float image; apply ToTensor first")
        chw = _chw(a)
        self._check_channels(chw.shape[0])
        shape = (-1, 1, 1)
        out = (chw - self.mean.reshape(shape)) / self.std.reshape(shape)
        return _wrap(_from_chw(out.astype(a.dtype), a), was_tensor)

    def _check_channels(self, channels):
        if self.mean.size not in (1, channels):
            raise ValueError(f"Normalize: {self.mean.size} means for an image of "
                             f"{channels} channels")

    def _differentiable(self, img):
        """(x - mean) / std with tinydl ops, for an image that requires grad (torchvision's
        Normalize of a tensor is differentiable): CHW or HW, floating."""
        if img.dtype.kind != "f" or img.ndim not in (2, 3):
            raise TypeError(f"Normalize: expects a CHW or HW float image, got {img.dtype} of "
                            f"shape {img.shape}")
        self._check_channels(img.shape[0] if img.ndim == 3 else 1)
        shape = (-1, 1, 1) if img.ndim == 3 else ()
        mean = Tensor(self.mean.reshape(shape).astype(img.dtype))
        std = Tensor(self.std.reshape(shape).astype(img.dtype))
        return (img - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Pad by ``padding`` (then to ``size`` if ``pad_if_needed``), crop a random ``size`` window.

    ``padding``: int (all sides), (left/right, top/bottom) or (left, top, right, bottom), as
    torchvision; ``padding_mode`` 'constant' (with ``fill``: a number, or one per channel such
    as (R, G, B)), 'edge', 'reflect' or 'symmetric'. The window's top-left corner is uniform
    over all positions that fit.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 seed=None):
        self.size = _pair(size, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self._padding = None if padding is None else _padding(padding, "RandomCrop")
        self.fill, self.padding_mode = fill, padding_mode
        self._rng = _own_generator(seed, "RandomCrop")

    def _pad(self, chw, left, top, right, bottom):
        widths = ((top, bottom), (left, right))
        if self.padding_mode != "constant":
            return np.pad(chw, ((0, 0), *widths), mode=self.padding_mode)
        fill = _fill(self.fill, chw, "RandomCrop")
        return np.stack([np.pad(ch, widths, constant_values=v) for ch, v in zip(chw, fill)])

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "RandomCrop")
        chw = _chw(a)
        if self._padding is not None:
            chw = self._pad(chw, *self._padding)
        th, tw = self.size
        h, w = chw.shape[1:]
        if self.pad_if_needed and (h < th or w < tw):
            dw, dh = max(tw - w, 0), max(th - h, 0)
            chw = self._pad(chw, dw, dh, dw, dh)
            h, w = chw.shape[1:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) "
                             f"image {(h, w)}")
        rng = _generator(self)
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        out = chw[:, i:i + th, j:j + tw]
        return _wrap(np.ascontiguousarray(_from_chw(out, a)), was_tensor)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5, seed=None):
        self.p = _probability(p, "RandomHorizontalFlip")
        self._rng = _own_generator(seed, "RandomHorizontalFlip")

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "RandomHorizontalFlip")
        if _generator(self).random() < self.p:
            a = np.ascontiguousarray(_from_chw(_chw(a)[:, :, ::-1], a))
        return _wrap(a, was_tensor)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def affine_matrix(angle, translate, scale, shear, center):
    """The 2x3 forward map (x, y) -> (x', y') of an affine transform, in pixel coordinates.

    x is the column, y the row (rows point down, as an image is displayed). The convention is
    ``torchvision.transforms.functional.affine``'s (its ``_get_inverse_affine_matrix`` with
    ``inverted=False``): ``angle`` (degrees) rotates clockwise as displayed, and ``shear`` =
    (sx, sy) degrees shears along x then y, also clockwise:
    ``p' = center + translate + scale R(a) SHy(sy) SHx(sx) (p - center)``, with
    R(a) = [[cos a, -sin a], [sin a, cos a]], SHx(s) = [[1, -tan s], [0, 1]] and
    SHy(s) = [[1, 0], [-tan s, 1]]. So a pixel right of the centre ends below it at +90.
    """
    a = math.radians(angle)
    sx, sy = (math.radians(v) for v in shear)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shear_x = np.array([[1.0, -math.tan(sx)], [0.0, 1.0]])
    shear_y = np.array([[1.0, 0.0], [-math.tan(sy), 1.0]])
    m = scale * rot @ shear_y @ shear_x
    c = np.asarray(center, dtype=np.float64)
    t = c + np.asarray(translate, dtype=np.float64) - m @ c
    return np.hstack([m, t[:, None]])


def warp_affine(img_chw, matrix, order=0, fill=None):
    """Apply the forward 2x3 map ``matrix`` (from ``affine_matrix``) to a CHW image.

    Each output pixel p takes the input at M^-1 (p - t), interpolated by ``scipy.ndimage.
    affine_transform`` (``order`` 0 nearest, 1 bilinear) with zeros outside the input, and
    ``fill`` (a number or one per channel) blended in as torchvision's ``affine`` does: with
    m the same interpolation of an all-ones image, ``m v + (1 - m) fill`` for bilinear, and
    ``fill`` where m < 1/2 for nearest. ``fill=None`` leaves the zeros (torchvision's default
    for the function; its ``RandomAffine`` passes 0, which darkens bilinear borders by m).
    Exact half-pixel ties of nearest (a 90 degree turn of an image whose H - W is odd) round
    up here, to even in torchvision.
    """
    m, t = matrix[:, :2], matrix[:, 2]
    inv = np.linalg.inv(m)
    # scipy indexes (channel, row, col) = (c, y, x): swap x/y of the map and leave c alone.
    swap = np.array([[0, 1], [1, 0]])
    inv_rc = swap @ inv @ swap
    offset_rc = -(inv_rc @ (swap @ t))
    full = np.eye(3)
    full[1:, 1:] = inv_rc
    from scipy import ndimage  # imported on first use: 0.1 s of import tinydl.data

    offset = np.concatenate([[0.0], offset_rc])

    def warp(image):
        return ndimage.affine_transform(image, full, offset=offset, order=order,
                                        mode="grid-constant", cval=0.0, prefilter=False)

    out = warp(img_chw.astype(np.float64, copy=False))
    if fill is None:
        return out
    fill = _fill(fill, img_chw, "warp_affine").reshape(-1, 1, 1)
    if order == 0 and not np.any(fill):
        return out  # nearest with fill 0: the zeros outside are the fill already
    inside = warp(np.ones((1,) + img_chw.shape[1:]))
    if order == 0:
        return np.where(inside < 0.5, fill, out)
    return inside * out + (1.0 - inside) * fill


class RandomAffine:
    """Random rotation, translation, scale and shear about the image centre (torchvision's).

    angle ~ U(degrees range); translation (dx, dy) = round(U(-tx W, tx W)), round(U(-ty H,
    ty H)) for ``translate=(tx, ty)``; scale ~ U(scale range); shear: a number s or (a, b)
    draws sx ~ U(-s, s) or U(a, b) with sy = 0, four numbers draw both; angle and shear
    turn clockwise as displayed, as in torchvision. The centre is
    ((W - 1)/2, (H - 1)/2); ``interpolation`` 'nearest' (torchvision's default) or
    'bilinear'; ``fill`` (a number or one per channel) outside the image, blended at the
    border as torchvision blends it (see ``warp_affine``). See ``affine_matrix`` for the map.
    With all ranges zero (degrees=0, no translate/scale/shear) it returns the image unchanged.
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation="nearest",
                 fill=0, seed=None):
        self.degrees = _range(degrees, "RandomAffine", "degrees")
        if translate is not None and not (len(translate) == 2
                                          and all(0 <= v <= 1 for v in translate)):
            raise ValueError(f"RandomAffine: translate must be (tx, ty), fractions in [0, 1], "
                             f"got {translate!r}")
        if scale is not None and not (len(scale) == 2 and 0 < scale[0] <= scale[1]):
            raise ValueError(f"RandomAffine: scale must be (min, max) with 0 < min <= max, "
                             f"got {scale!r}")
        if shear is not None and not isinstance(shear, numbers.Number) and len(shear) == 4:
            self.shear = (_range(shear[:2], "RandomAffine", "shear"),
                          _range(shear[2:], "RandomAffine", "shear"))
        elif shear is not None:
            self.shear = (_range(shear, "RandomAffine", "shear"), (0.0, 0.0))
        else:
            self.shear = None
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"RandomAffine: interpolation must be 'nearest' or 'bilinear', "
                             f"got {interpolation!r}")
        self.translate, self.scale = translate, scale
        self.order = 0 if interpolation == "nearest" else 1
        self.fill = fill
        self._rng = _own_generator(seed, "RandomAffine")

    def get_params(self, rng, height, width):
        """(angle, (dx, dy), scale, (sx, sy)) drawn as torchvision draws them."""
        angle = float(rng.uniform(*self.degrees))
        dx = dy = 0.0
        if self.translate is not None:
            dx = float(np.round(rng.uniform(-self.translate[0] * width, self.translate[0] * width)))
            dy = float(np.round(rng.uniform(-self.translate[1] * height,
                                            self.translate[1] * height)))
        scale = float(rng.uniform(*self.scale)) if self.scale is not None else 1.0
        shear = (0.0, 0.0)
        if self.shear is not None:
            shear = (float(rng.uniform(*self.shear[0])), float(rng.uniform(*self.shear[1])))
        return angle, (dx, dy), scale, shear

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "RandomAffine")
        chw = _chw(a)
        h, w = chw.shape[1:]
        angle, translate, scale, shear = self.get_params(_generator(self), h, w)
        matrix = affine_matrix(angle, translate, scale, shear, ((w - 1) / 2, (h - 1) / 2))
        out = warp_affine(chw, matrix, self.order, self.fill)
        if a.dtype == np.uint8:
            out = np.clip(np.rint(out), 0, 255)
        return _wrap(np.ascontiguousarray(_from_chw(out.astype(a.dtype), a)), was_tensor)

    def __repr__(self):
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear})")


def _grayscale(chw):
    """Luma 0.2989 R + 0.587 G + 0.114 B (torchvision's rgb_to_grayscale, ITU-R 601 with its
    0.299 rounded as torchvision rounds it), (1, H, W)."""
    if chw.shape[0] == 1:
        return chw
    return (0.2989 * chw[0] + 0.587 * chw[1] + 0.114 * chw[2])[None]


def _blend(a, b, ratio):
    return np.clip(ratio * a + (1.0 - ratio) * b, 0.0, 1.0)


def _shift_hue(chw, shift):
    """Rotate the hue of an RGB image by ``shift`` turns (HSV round trip, vectorised)."""
    r, g, b = chw
    maxc, minc = chw.max(axis=0), chw.min(axis=0)
    delta = maxc - minc
    safe = np.where(delta > 0, delta, 1.0)
    h = np.where(maxc == r, ((g - b) / safe) % 6.0,
                 np.where(maxc == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = np.where(delta > 0, h / 6.0, 0.0)
    h = (h + shift) % 1.0
    s = np.where(maxc > 0, delta / np.where(maxc > 0, maxc, 1.0), 0.0)
    v = maxc
    # HSV -> RGB through the standard k-offset form: c_n = v - v s max(0, min(k, 4 - k, 1)).
    out = np.empty_like(chw)
    for i, n in enumerate((5.0, 3.0, 1.0)):
        k = (n + h * 6.0) % 6.0
        out[i] = v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return out


class ColorJitter:
    """Random brightness, contrast, saturation and hue, in a random order (torchvision's).

    Factors: brightness b ~ U(max(0, 1 - B), 1 + B) and ``x b``; contrast c likewise and
    ``c x + (1 - c) mean(gray(x))``; saturation s and ``s x + (1 - s) gray(x)``; hue
    h ~ U(-H, H) turns added to the HSV hue (H <= 0.5). A (min, max) pair is taken as given
    and must lie in [0, inf) ([-0.5, 0.5] for hue), as torchvision. Results are clipped to [0, 1]
    (float images are taken to lie in [0, 1]). Saturation and hue leave one-channel
    images unchanged; an image of other than 1 or 3 channels (RGBA) is refused, as
    torchvision refuses it. A uint8 image is converted to float once and rounded once at the
    end (torchvision's uint8 path truncates after each step: up to 2 levels apart).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, seed=None):
        self.brightness = _range(brightness, "ColorJitter", "brightness", 1.0, 0.0)
        self.contrast = _range(contrast, "ColorJitter", "contrast", 1.0, 0.0)
        self.saturation = _range(saturation, "ColorJitter", "saturation", 1.0, 0.0)
        self.hue = _range(hue, "ColorJitter", "hue")
        if not -0.5 <= self.hue[0] <= self.hue[1] <= 0.5:
            raise ValueError(f"ColorJitter: hue must lie in [-0.5, 0.5], got {hue!r}")
        self._active = (self.brightness, self.contrast, self.saturation, self.hue) != (
            (1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (0.0, 0.0))
        self._rng = _own_generator(seed, "ColorJitter")

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "ColorJitter")
        f = _to_unit_float(_chw(a))
        if f.shape[0] not in (1, 3) and self._active:
            # Saturation and hue need RGB, contrast reads channels 0-2 as RGB: on RGBA they
            # skipped or misread channels silently.
            raise TypeError(f"ColorJitter: expected an image of 1 or 3 channels, got "
                            f"{f.shape[0]} (shape {a.shape}); drop the alpha channel first")
        rng = _generator(self)
        order = rng.permutation(4)
        ranges = (self.brightness, self.contrast, self.saturation, self.hue)
        identity = ((1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (0.0, 0.0))
        factors = [None if r == same else rng.uniform(*r) for r, same in zip(ranges, identity)]
        for k in order:
            factor = factors[k]
            if factor is None:
                continue
            if k == 0:
                f = np.clip(f * factor, 0.0, 1.0)
            elif k == 1:
                f = _blend(f, _grayscale(f).mean(), factor)
            elif k == 2 and f.shape[0] == 3:
                f = _blend(f, _grayscale(f), factor)
            elif k == 3 and f.shape[0] == 3:
                f = _shift_hue(f, factor)
        out = _from_unit_float(f, a)
        return _wrap(np.ascontiguousarray(_from_chw(out, a)), was_tensor)

    def __repr__(self):
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class RandomErasing:
    """Erase a random rectangle (Zhong et al. 2020; Cutout, DeVries & Taylor 2017), torchvision's.

    With probability ``p``: up to 10 tries draw area fraction ~ U(scale) and log aspect ratio
    ~ U(log ratio), h = round(sqrt(A r)), w = round(sqrt(A / r)); the first that fits is
    filled with ``value`` (a number, one number per channel, or 'random' for N(0, 1) noise).
    If none fits the image comes back unchanged. On a uint8 image the value must lie in
    0..255, and 'random' is refused (the noise would wrap around).
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, seed=None):
        p = _probability(p, "RandomErasing")
        if not (0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1]):
            raise ValueError(f"RandomErasing: bad scale {scale!r} or ratio {ratio!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', "
                             f"got {value!r}")
        self.p, self.scale, self.ratio, self.value = p, scale, ratio, value
        self._rng = _own_generator(seed, "RandomErasing")

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "RandomErasing")
        # Checked on every call, not only when p lets an erasure through, so that a wrong
        # value fails at once rather than at random.
        if isinstance(self.value, str):
            if a.dtype == np.uint8:  # N(0, 1) noise cast to uint8 wraps to 0, 1, 254, 255
                raise ValueError("RandomErasing: value='random' draws N(0, 1) noise, for "
                                 "normalised float images; a uint8 image would wrap it: erase "
                                 "after ToTensor/Normalize, or give a value in 0..255")
            values = None
        else:  # one number or one per channel, within a uint8 image's range (300 wrapped)
            values = _fill(self.value, _chw(a), "RandomErasing", "value")
        rng = _generator(self)
        if rng.random() >= self.p:
            return _wrap(a, was_tensor)
        chw = _chw(a).copy()
        c, h, w = chw.shape
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            area = h * w * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            eh, ew = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if not (eh < h and ew < w):
                continue
            i, j = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            if values is None:
                patch = rng.standard_normal((c, eh, ew))
            else:
                patch = np.broadcast_to(values.reshape(-1, 1, 1), (c, eh, ew))
            chw[:, i:i + eh, j:j + ew] = patch
            break
        return _wrap(np.ascontiguousarray(_from_chw(chw, a)), was_tensor)

    def __repr__(self):
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio})"


def gaussian_kernel1d(kernel_size, sigma):
    """k_i = exp(-x_i^2 / (2 sigma^2)) / sum, x_i = i - (kernel_size - 1) / 2 (torchvision's)."""
    x = np.arange(kernel_size, dtype=np.float64) - (kernel_size - 1) / 2
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


class GaussianBlur:
    """Blur with a separable Gaussian of odd ``kernel_size``, sigma ~ U(sigma range).

    ``kernel_size`` is an int or (kx, ky), torchvision's order: kx taps along x (the width,
    the last axis of a CHW image), ky along y (the height). Borders are reflected without
    repeating the edge (NumPy's 'reflect', torchvision's padding). ``sigma`` is a number
    (fixed) or (min, max), torchvision's default (0.1, 2.0); as in torchvision's class, one
    draw serves both axes.
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0), seed=None):
        self.kernel_size = _pair(kernel_size, "GaussianBlur", "kernel_size", "(kx, ky)")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"GaussianBlur: kernel_size must be positive and odd, got {kernel_size!r}")
        self.sigma = (float(sigma),) * 2 if isinstance(sigma, numbers.Number) else tuple(sigma)
        if len(self.sigma) != 2 or not 0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"GaussianBlur: sigma must be positive with min <= max, got {sigma!r}")
        self._rng = _own_generator(seed, "GaussianBlur")

    def __call__(self, img):
        a, was_tensor = _unwrap(img, "GaussianBlur")
        sigma = float(_generator(self).uniform(*self.sigma))
        out = _chw(a).astype(np.float64)
        # scipy's 'mirror' is NumPy's 'reflect' (the edge pixel is not repeated).
        kx, ky = self.kernel_size
        from scipy import ndimage  # imported on first use: 0.1 s of import tinydl.data
        out = ndimage.correlate1d(out, gaussian_kernel1d(kx, sigma), axis=2, mode="mirror")
        out = ndimage.correlate1d(out, gaussian_kernel1d(ky, sigma), axis=1, mode="mirror")
        if a.dtype == np.uint8:
            out = np.clip(np.rint(out), 0, 255)
        return _wrap(np.ascontiguousarray(_from_chw(out.astype(a.dtype), a)), was_tensor)

    def __repr__(self):
        return f"GaussianBlur(kernel_size={self.kernel_size}, sigma={self.sigma})"


# Batch-level mixing lives in tinydl/data/mixing.py; torchvision users look for it here too.
from tinydl.data.mixing import cutmix, mixup  # noqa: E402

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomAffine",
           "ColorJitter", "RandomErasing", "GaussianBlur", "affine_matrix", "warp_affine",
           "gaussian_kernel1d", "mixup", "cutmix"]
