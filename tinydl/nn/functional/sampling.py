"""Spatial transformer sampling (Jaderberg et al. 2015): torch's ``F.affine_grid`` and
``F.grid_sample``.

A grid holds, for each output pixel, the normalised position in the input to read: its last
axis is (x, y) for an (N, C, H, W) input, x along W and y along H, or (x, y, z) for
(N, C, D, H, W), z along D. -1 and 1 are the centres of the corner pixels with
``align_corners=True`` and their outer edges with ``align_corners=False`` (the default), so a
normalised g becomes the pixel position

    src = (g + 1) / 2 * (size - 1)         (align_corners=True)
    src = ((g + 1) * size - 1) / 2         (align_corners=False)

``affine_grid`` is a ``matmul`` (differentiable to any order). ``grid_sample`` is one Function,
``GridSample``: its forward gathers the taps of every output position at once (2 or 4 per axis,
no loop over pixels), and its backward is written in tinydl ops, so second derivatives (a
gradient penalty through a spatial transformer, say) follow.
"""
import itertools
import warnings

import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.nn.functional.misc import _cubic_tap_slopes, _cubic_taps
from tinydl.ops._checks import _tensor
from tinydl.ops._util import DtypeError, ShapeError
from tinydl.ops.elementwise import where
from tinydl.ops.gather import Gather, ScatterAdd
from tinydl.ops.shape import concatenate, stack
from tinydl.tensor import Tensor

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")


def _align_corners(align_corners, caller):
    """``align_corners`` as a bool; None means False, with torch's warning that it does."""
    if align_corners is None:
        warnings.warn(f"{caller}: align_corners=None means align_corners=False (torch's default "
                      "since 1.3.0, when -1 and 1 became the outer edges of the corner pixels "
                      "rather than their centres); pass align_corners=True for the old "
                      "behaviour, or False to silence this warning", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


# ----------------------------------------------------------------------------- affine_grid
def _base_coordinates(n, align_corners):
    """The normalised positions of the n pixel centres along one axis: linspace(-1, 1, n),
    scaled by (n - 1) / n without align_corners (-1 and 1 then are the outer edges); 0 when
    n is 1."""
    if n == 1:
        return np.zeros(1)
    line = np.linspace(-1.0, 1.0, n)
    return line if align_corners else line * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps, torch's ``F.affine_grid``.

    ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)``, where (x_w, y_h) is the normalised position
    of output pixel (h, w) (see the module docstring; ``align_corners=None`` warns and means
    False). ``theta`` (N, 2, 3) with ``size`` (N, C, H, W) gives (N, H, W, 2);
    ``theta`` (N, 3, 4) with ``size`` (N, C, D, H, W) gives (N, D, H, W, 3). The grid has
    theta's dtype and is differentiable (to any order) with respect to theta.
    """
    align_corners = _align_corners(align_corners, "affine_grid")
    theta = _tensor(theta, "affine_grid", "theta")
    if theta.dtype.kind != "f":
        raise ValueError(f"affine_grid: theta must be floating point, got dtype {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"affine_grid: size must be (N, C, H, W) for a 2-d transform or (N, C, D, H, W) "
            f"for a 3-d one, got {size}")
    d = len(size) - 2
    if theta.ndim != 3 or theta.shape[1:] != (d, d + 1):
        raise ValueError(f"affine_grid: for size {size} theta must be a batch of {d}-d affine "
                         f"matrices of shape (N, {d}, {d + 1}), got shape {theta.shape}")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(f"affine_grid: size {size} has an axis of length 1, whose one position "
                      "is 0 (the centre) with align_corners=True, as in torch since 1.3.0 "
                      "(before, it was -1); a unit-size grid is not what affine_grid is for",
                      UserWarning, stacklevel=2)
    elif min(size) <= 0:  # torch skips this check in the case above, and so do we
        raise ValueError(f"affine_grid: size must be positive, got {size}")
    if theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: theta holds {theta.shape[0]} matrices (shape "
                         f"{theta.shape}) for a batch of {size[0]} (size {size})")
    axes = np.meshgrid(*[_base_coordinates(n, align_corners) for n in spatial], indexing="ij")
    # (x, y[, z], 1) per output pixel: x runs along the last axis, so the axes come reversed
    base = np.stack(list(axes[::-1]) + [np.ones(spatial)], axis=-1).reshape(1, -1, d + 1)
    grid = Tensor._wrap(base.astype(theta.dtype)) @ theta.swapaxes(1, 2)
    return grid.reshape((size[0],) + spatial + (d,))


# ----------------------------------------------------------------------------- grid_sample
def _clip(src, size):
    """Border padding: ``src`` clamped to [0, size - 1], and d clamped / d src: 1 strictly
    inside, 0 where it was clamped and on the bounds themselves (torch's convention)."""
    inside = (src > 0) & (src < size - 1)
    return np.clip(src, 0, size - 1), inside.astype(src.dtype)


def _reflect(src, size, align_corners):
    """Reflection padding: ``src`` folded back into the input by reflections about the corner
    pixels' centres (align_corners) or their outer edges (-0.5 and size - 0.5; the result is
    then clamped to [0, size - 1]); and d folded / d src, +-1 (the sign flips at each
    reflection) or 0 where clamped. NaN and +-inf fold to NaN."""
    low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
    span = high - low
    if span == 0:  # one pixel with align_corners: every position is that pixel
        return np.zeros_like(src), np.zeros_like(src)
    shifted = src - src.dtype.type(low)
    distance = np.abs(shifted)
    odd = np.fmod(np.floor(distance / span), 2) == 1  # an odd number of reflections
    folded = np.where(odd, span - np.fmod(distance, span), np.fmod(distance, span)) + low
    clipped, slope = _clip(folded.astype(src.dtype), size)
    return clipped, np.where((shifted < 0) != odd, -slope, slope)


def _pad(src, size, padding_mode, align_corners):
    """``src`` with ``padding_mode`` applied and its derivative (None for 'zeros': 1)."""
    if padding_mode == "border":
        return _clip(src, size)
    if padding_mode == "reflection":
        return _reflect(src, size, align_corners)
    return src, None


def _unnormalize(coord, size, align_corners, fused):
    """The pixel position of normalised ``coord`` (see the module docstring), rounded as
    torch rounds it, and d position / d coord.

    Without align_corners torch's 2-d CPU kernel for 'bilinear' and 'nearest' computes
    (g + 1) * (size / 2) - 0.5 with one rounding (a fused multiply-add: ``fused``), its 3-d
    kernel and its 'bicubic' ((g + 1) * size - 1) / 2 with two. Where the two fall on either
    side of a whole or half pixel they decide which pixel 'nearest' reads (and which cell's
    slope a gradient takes), so both are followed; torch's second derivatives, computed by
    its two-rounding fallback kernel, may take the other cell there. The fused form is exact
    here: for float32 through float64, for float64 by splitting g + 1 into two halves of 26
    bits (Dekker), whose products with size / 2 are exact for sizes below 2**26.
    """
    a = coord + 1
    if align_corners:
        return a * ((size - 1) / 2), (size - 1) / 2
    if not fused:
        return (a * size - 1) / 2, size / 2
    if coord.dtype != np.float64:  # float32 (or 16) products are exact in float64
        return (a.astype(np.float64) * (size / 2) - 0.5).astype(coord.dtype), size / 2
    split = a * 134217729.0  # 2**27 + 1
    high = split - (split - a)
    fused = (high * (size / 2) - 0.5) + (a - high) * (size / 2)
    # +-inf and huge g overflow the split: those positions are far outside, where one
    # rounding more changes nothing
    return np.where(np.isfinite(fused), fused, a * (size / 2) - 0.5), size / 2


def _axis_taps(coord, size, mode, padding_mode, align_corners, fused):
    """One spatial axis: the pixel positions its taps read (J, N, P) (whole numbers, or NaN,
    +-inf or out of range where a tap reads nothing), the fraction t = src - floor(src) and
    d src / d coord (both (N, P); None for 'nearest').

    'nearest' reads the pixel nearest to the padded src (halves to even, as torch's
    nearbyint); 'bilinear' floor(src) and floor(src) + 1 of the padded src; 'bicubic' the 4
    pixels floor(src) - 1 .. floor(src) + 2 of the unpadded src, padding each of them.
    """
    src, scale = _unnormalize(coord, size, align_corners, fused)
    slope = np.full(coord.shape, scale, dtype=coord.dtype)
    if mode != "bicubic":
        src, padding_slope = _pad(src, size, padding_mode, align_corners)
        if padding_slope is not None:
            slope = slope * padding_slope
    if mode == "nearest":
        return np.rint(src)[None], None, None
    low = np.floor(src)
    offsets = (0, 1) if mode == "bilinear" else (-1, 0, 1, 2)
    positions = np.stack([low + k for k in offsets])
    if mode == "bicubic":
        positions = _pad(positions, size, padding_mode, align_corners)[0]
    return positions, src - low, slope


class _Taps:
    """Every tap of every output position of a grid, over the flattened input pixels.

    ``index`` (T, N, P): the pixel each tap reads, P_in (one past the last pixel: the zero
    that ``_with_zero_pixel`` appends) where it falls outside the input; ``combos`` (T tuples):
    which 1-d tap of each axis (x first) a tap combines; ``t`` and ``slope``: per axis, the
    fraction and d src / d grid (see ``_axis_taps``).
    """

    def __init__(self, grid, in_spatial, mode, padding_mode, align_corners):
        n, d = grid.shape[0], grid.shape[-1]
        coords = grid.reshape(n, int(np.prod(grid.shape[1:-1])), d)
        sizes = in_spatial[::-1]  # x indexes the last input axis
        strides = np.cumprod((1,) + sizes[:-1])
        fused = d == 2 and mode != "bicubic"  # as torch rounds (see _unnormalize)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf positions
            axes = [_axis_taps(coords[..., k], sizes[k], mode, padding_mode, align_corners,
                               fused) for k in range(d)]
        self.t = [t for _, t, _ in axes]
        self.slope = [slope for _, _, slope in axes]
        inside, flat = [], []
        for (positions, _, _), size, stride in zip(axes, sizes, strides):
            ok = (positions >= 0) & (positions <= size - 1)  # False for NaN
            inside.append(ok)
            flat.append(np.where(ok, positions, 0).astype(np.int64) * stride)
        # x varies fastest across taps, as torch orders the corners (nw, ne, sw, se)
        self.combos = [c[::-1] for c in itertools.product(*[range(len(p)) for p, _, _
                                                           in axes[::-1]])]
        pixels = int(np.prod(in_spatial))
        index = np.empty((len(self.combos),) + coords.shape[:2], dtype=np.int64)
        for j, combo in enumerate(self.combos):
            ok = np.logical_and.reduce([inside[k][i] for k, i in enumerate(combo)])
            index[j] = np.where(ok, sum(flat[k][i] for k, i in enumerate(combo)), pixels)
        self.index = index

    def weights(self, factors):
        """Each tap's weight: the product over axes of its 1-d factor (arrays or Tensors)."""
        out = []
        for combo in self.combos:
            w = factors[0][combo[0]]
            for k in range(1, len(combo)):
                w = w * factors[k][combo[k]]
            out.append(w)
        return out


def _factors(t, mode):
    """The 1-d weights of one axis's taps at fraction t: (1 - t, t) or Keys' cubic (4)."""
    return [1 - t, t] if mode == "bilinear" else _cubic_taps(t)


def _factor_slopes(t, mode):
    """d/dt of ``_factors``."""
    return [-1.0, 1.0] if mode == "bilinear" else _cubic_tap_slopes(t)


def _with_zero_pixel(x):
    """x (N, C, *spatial) as (N, C, P_in + 1): its pixels flattened and a zero appended, the
    value of every tap outside the input (a tap outside reads an exact 0, never a clamped
    NaN or inf pixel, and its gradient lands on no real pixel). x is an array or a Tensor."""
    n, c = x.shape[:2]
    flat = x.reshape(n, c, int(np.prod(x.shape[2:])))
    zero = np.zeros((n, c, 1), dtype=x.dtype)
    if isinstance(x, Tensor):
        return concatenate([flat, Tensor._wrap(zero)], axis=2)
    return np.concatenate([flat, zero], axis=2)


class GridSample(Function):
    """out[n, c, p] = sum over taps k of w_k(grid[n, p]) * x[n, c, tap_k(grid[n, p])].

    Gradients: dx scatters g * w_k back to the taps (ScatterAdd); dgrid[n, p, axis] =
    slope * sum_k dw_k/dt_axis * sum_c g[n, c, p] x[n, c, tap_k] (zero for 'nearest', as in
    torch), where slope = d src / d grid (the unnormalising scale, times +-1 or 0 from the
    padding). Written in tinydl ops: the weights are Tensors of the grid (``_fractions``), the
    taps a Gather of x, so the gradient can be differentiated again.
    """

    retain_inputs = True  # backward gathers x's taps again and differentiates through grid
    retain_output = False

    @staticmethod
    def forward(ctx, x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
        taps = _Taps(grid, x.shape[2:], mode, padding_mode, align_corners)
        ctx.taps, ctx.mode = taps, mode
        n, c = x.shape[:2]
        pixels = _with_zero_pixel(x)
        weights = None if mode == "nearest" else taps.weights([_factors(t, mode)
                                                               for t in taps.t])
        out = np.zeros((n, c, taps.index.shape[2]), dtype=x.dtype)
        for k, index in enumerate(taps.index):
            values = np.take_along_axis(pixels, index[:, None, :], axis=2)
            out += values if weights is None else weights[k][:, None, :] * values
        return out.reshape((n, c) + grid.shape[1:-1])

    @staticmethod
    def backward(ctx, g):
        x, grid = ctx.inputs
        taps, mode = ctx.taps, ctx.mode
        n, c = x.shape[:2]
        count, _, p = taps.index.shape
        g = g.reshape(n, c, 1, p)
        # every tap's pixel, tap after tap, for each channel: (N, C, T * P)
        index = np.broadcast_to(taps.index.transpose(1, 0, 2).reshape(n, 1, count * p),
                                (n, c, count * p))
        weights = None
        if mode != "nearest":
            fractions = _fractions(taps, grid)
            factors = [_factors(t, mode) for t in fractions]
            weights = stack(taps.weights(factors), axis=1)  # (N, T, P)
        grad_x = grad_grid = None
        if x.requires_grad:
            spread = (g.broadcast_to((n, c, count, p)) if weights is None
                      else g * weights.reshape(n, 1, count, p))
            pixels = int(np.prod(x.shape[2:])) + 1  # the zero pixel's gradient is dropped
            zeros = Tensor._wrap(np.zeros((n, c, pixels), dtype=g.dtype))
            grad_x = ScatterAdd.apply(zeros, spread.reshape(n, c, count * p), index=index,
                                      axis=2)[:, :, :-1].reshape(x.shape)
        if grid.requires_grad:
            if weights is None:
                grad_grid = Tensor._wrap(np.zeros(grid.shape, dtype=grid.dtype))
            else:
                values = Gather.apply(_with_zero_pixel(x), index=index, axis=2)
                # dL/dw_k: how the loss moves with each tap's weight, (N, T, P)
                per_tap = (values.reshape(n, c, count, p) * g).sum(axis=1)
                slopes = [_factor_slopes(t, mode) for t in fractions]
                columns = []
                for axis in range(len(factors)):
                    # d w_k / d t_axis: the axis's factor replaced by its slope
                    moved = taps.weights([slopes[a] if a == axis else f
                                          for a, f in enumerate(factors)])
                    total = (stack(moved, axis=1) * per_tap).sum(axis=1)
                    columns.append(total * Tensor._wrap(taps.slope[axis]))
                grad_grid = stack(columns, axis=-1).reshape(grid.shape)
        return grad_x, grad_grid


def _fractions(taps, grid):
    """Each axis's fraction t as a Tensor: the forward's value and, when a graph is being
    recorded, the derivative d t / d grid = slope (the unnormalising and the padding are
    piecewise linear, the floor constant), as t + slope * (grid - grid.detach()). Non-finite
    coordinates are kept out of that difference (inf - inf would turn a clamped t into NaN)."""
    ts = [Tensor._wrap(t) for t in taps.t]
    if not (is_grad_enabled() and grid.requires_grad):
        return ts
    n, p = taps.index.shape[1:]
    coords = grid.reshape(n, p, len(ts))
    finite = np.isfinite(coords.data)
    out = []
    for k, t in enumerate(ts):
        change = where(finite[..., k], coords[..., k] - coords.data[..., k], 0.0)
        out.append(t + Tensor._wrap(taps.slope[k]) * change)
    return out


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Read ``input`` at the positions of ``grid``, torch's ``F.grid_sample``.

    ``input`` (N, C, H, W) with ``grid`` (N, H_out, W_out, 2) gives (N, C, H_out, W_out);
    ``input`` (N, C, D, H, W) with ``grid`` (N, D_out, H_out, W_out, 3) gives
    (N, C, D_out, H_out, W_out). Positions are normalised (see the module docstring;
    ``align_corners=None`` warns and means False).

    ``mode``: 'bilinear' (trilinear on 5-d input), 'nearest' (the nearest pixel, halves to
    even) or 'bicubic' (Keys' cubic convolution, A = -0.75; 4-d input only, as torch).
    ``padding_mode`` says what positions outside the input read: 'zeros' (pixels outside are
    0), 'border' (the position is clamped to the edge pixels), 'reflection' (it is reflected
    back, about the corner centres with align_corners and about the outer edges without, then
    clamped). Differentiable to any order with respect to ``input`` and ``grid`` ('nearest':
    the grid's gradient is zero, as in torch); at a clamping bound the position's gradient is
    0, as torch's.

    Non-finite grid values. Where torch's 2-d kernel defines the result, the same: with
    'zeros', NaN and +-inf give NaN ('bilinear', 'bicubic') or 0 ('nearest'), and the grid's
    gradient there is NaN or 0 as torch's; with 'border', +-inf reads the edge ('bilinear',
    'nearest') or gives NaN ('bicubic'). Elsewhere torch reads an arbitrary pixel or crashes
    (its 2-d kernel moves a NaN position to pixel 0 in the forward and crashes in the
    backward, its 3-d kernel gives 0 with 'zeros' and reads a stray pixel otherwise); here a
    position with no place (NaN, or +-inf with 'reflection') reads nothing: NaN for
    'bilinear' and 'bicubic', 0 for 'nearest'. With 'reflection' positions beyond about
    1e15 pixels, where a float64 no longer resolves a pixel, fold to arbitrary pixels
    (torch's 2-d kernel to others than ours).
    """
    if mode not in _MODES:
        raise ValueError(f"grid_sample: mode must be one of {_MODES}, got {mode!r}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"grid_sample: padding_mode must be one of {_PADDING_MODES}, got "
                         f"{padding_mode!r}")
    align_corners = _align_corners(align_corners, "grid_sample")
    x = _tensor(input, "grid_sample")
    grid = _tensor(grid, "grid_sample", "grid")
    if x.ndim not in (4, 5) or grid.ndim != x.ndim:
        raise ShapeError(f"grid_sample: expected input (N, C, H, W) with grid "
                         f"(N, H_out, W_out, 2), or input (N, C, D, H, W) with grid "
                         f"(N, D_out, H_out, W_out, 3); got input of shape {x.shape} and grid "
                         f"of shape {grid.shape}")
    d = x.ndim - 2
    if grid.shape[0] != x.shape[0] or grid.shape[-1] != d:
        raise ShapeError(f"grid_sample: grid of shape {grid.shape} does not fit input of shape "
                         f"{x.shape}: it must have the input's batch size {x.shape[0]} first "
                         f"and {d} coordinates last")
    if 0 in x.shape[2:]:
        raise ShapeError(f"grid_sample: input of shape {x.shape} has an empty spatial axis: "
                         "there is nothing to read")
    if mode == "bicubic" and d == 3:
        raise NotImplementedError(f"grid_sample: mode='bicubic' takes 4-d input (N, C, H, W) "
                                  f"only, as torch's; got shape {x.shape}")
    if x.dtype.kind != "f" or grid.dtype != x.dtype:
        raise DtypeError(f"grid_sample: input and grid must be floating point of one dtype, "
                         f"got {x.dtype} and {grid.dtype}")
    return GridSample.apply(x, grid, mode=mode, padding_mode=padding_mode,
                            align_corners=align_corners)
