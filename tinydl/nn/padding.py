"""Padding layers, torch's 15: ``{Zero,Constant,Reflection,Replication,Circular}Pad{1,2,3}d``.

One base, ``_PadNd``, does the work with ``F.pad``; each layer only names its mode and how
many trailing axes it pads (``dims``). ``padding`` is an int (every side) or a tuple of
2 * dims ints ordered as ``F.pad``'s, last axis first: ``(left, right)``, ``(left, right,
top, bottom)``, ``(left, right, top, bottom, front, back)``. Negative widths crop.

The input ranks and checks are torch's. Constant (and zero) padding takes any input with at
least ``dims`` axes. Reflection, replication and circular padding take a batched
(N, C, *spatial) or an unbatched (C, *spatial) input; reflection needs every width smaller
than its axis, circular at most its axis (one wrap), and both it and replication a
non-empty input (but for the batch axis). Negative widths may not crop more than the
axis holds. ``F.pad`` itself is laxer (NumPy's rules: its
reflection may be wider than the axis); these layers refuse what torch's refuse.
"""
import numbers

from tinydl.nn import functional as F
from tinydl.nn.module import Module
from tinydl.ops._checks import _tensor
from tinydl.ops._util import ShapeError


def _pad_widths(padding, dims, layer):
    """``padding`` (an int, or 2 * dims ints) as a tuple of 2 * dims ints, F.pad's order."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(padding):
        return (int(padding),) * (2 * dims)
    if isinstance(padding, (tuple, list)) and all(map(is_int, padding)):
        if len(padding) != 2 * dims:  # (torch pads more or fewer axes then, or fails later)
            raise ValueError(f"{layer}: padding must be an int or a tuple of {2 * dims} ints "
                             f"(two per padded axis), got {tuple(padding)}")
        return tuple(int(v) for v in padding)
    raise TypeError(f"{layer}: padding must be an int or a tuple of {2 * dims} ints, got "
                    f"{padding!r}")


def check_widths(name, mode, x, padding, dims):
    """torch's limits on the widths ``padding`` (F.pad's: (before, after) per axis, the last
    axis first) of the last ``dims`` axes of x in ``mode``, an error naming ``name`` otherwise
    (F.pad itself reflects and wraps again and again). The padding layers and the
    convolutions' padding_mode share them."""
    for i in range(dims):
        axis = x.ndim - 1 - i
        size, (before, after) = x.shape[axis], padding[2 * i:2 * i + 2]
        where = f"padding ({before}, {after}) on axis {axis} of size {size} (input shape " \
                f"{x.shape})"
        kept = size + min(before, 0) + min(after, 0)  # what the negative widths leave
        # (reflection and replication index the input by position, crops or not)
        if kept < 0 and mode in ("constant", "circular"):
            raise ShapeError(f"{name}: the padding crops more than the axis holds: {where}")
        if mode == "reflect" and max(before, after) >= size:
            raise ShapeError(f"{name}: reflection padding must be smaller than the padded "
                             f"axis, got {where}")
        # (torch checks the uncropped size; past what the crops leave it reads garbage)
        if mode == "circular" and max(before, after) > kept:
            raise ShapeError(f"{name}: circular padding can wrap around at most once "
                             f"(each width at most {kept}, what is left after cropping), "
                             f"got {where}")
        if size + before + after < 0:
            raise ShapeError(f"{name}: the padding crops more than the axis holds: {where}")


class _PadNd(Module):
    """Pad the last ``dims`` axes with ``F.pad(x, padding, mode)``; see the module docstring.

    Subclasses set ``mode`` ('constant', 'reflect', 'replicate' or 'circular') and ``dims``.
    """

    mode = None
    dims = None

    def __init__(self, padding):
        super().__init__()
        self.padding = _pad_widths(padding, self.dims, type(self).__name__)

    def _check(self, x):
        """torch's checks of the input's rank and, per padded axis, of the widths."""
        name, dims = type(self).__name__, self.dims
        if self.mode == "constant":
            if x.ndim < dims:
                raise ShapeError(f"{name}: expected an input of at least {dims} axes, got "
                                 f"shape {x.shape}")
        elif x.ndim not in (dims + 1, dims + 2):
            raise ShapeError(f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D "
                             f"(batched) input, got shape {x.shape}")
        elif self.mode != "circular" and 0 in x.shape[x.ndim - dims - 1:]:
            raise ShapeError(f"{name}: expected an input whose axes, but for the batch axis, "
                             f"are non-empty, got shape {x.shape}")
        check_widths(name, self.mode, x, self.padding, dims)
        out_sizes = [x.shape[-1 - i] + sum(self.padding[2 * i:2 * i + 2]) for i in range(dims)]
        # torch's reflection and replication refuse an output empty along every padded axis
        # (but take one empty along some of them)
        if self.mode in ("reflect", "replicate") and max(out_sizes) < 1:
            raise ShapeError(f"{name}: padding {self.padding} leaves nothing of the input of "
                             f"shape {x.shape}")

    def forward(self, x):
        x = _tensor(x, type(self).__name__)
        self._check(x)
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Pad with a constant ``value``."""

    mode = "constant"

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        x = _tensor(x, type(self).__name__)
        self._check(x)
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last axis with ``value``: (*, W) -> (*, W + left + right)."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two axes with ``value``: (*, H, W) -> (*, H + top + bottom, W + left +
    right)."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three axes with ``value``: (*, D, H, W) -> (*, D + front + back, ...)."""

    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    """Pad with zeros (a ConstantPad with value 0.0, as torch's)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    """Pad the last axis with zeros."""


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    """Pad the last two axes with zeros."""


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    """Pad the last three axes with zeros."""


class ReflectionPad1d(_PadNd):
    """Mirror the last axis of (N, C, W) or (C, W) about its end entries (not repeating them):
    [a b c d], padding 2 -> [c b a b c d c b]."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the last two axes of (N, C, H, W) or (C, H, W) (see ReflectionPad1d)."""

    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the last three axes of (N, C, D, H, W) or (C, D, H, W) (see ReflectionPad1d)."""

    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the end entries of the last axis of (N, C, W) or (C, W):
    [a b c d], padding 2 -> [a a a b c d d d]."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the border of the last two axes of (N, C, H, W) or (C, H, W)."""

    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the border of the last three axes of (N, C, D, H, W) or (C, D, H, W)."""

    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the last axis of (N, C, W) or (C, W) around (periodic):
    [a b c d], padding 2 -> [c d a b c d a b]."""

    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """Wrap the last two axes of (N, C, H, W) or (C, H, W) around (a torus)."""

    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    """Wrap the last three axes of (N, C, D, H, W) or (C, D, H, W) around."""

    mode, dims = "circular", 3
