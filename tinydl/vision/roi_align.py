"""RoIAlign (He et al., Mask R-CNN 2017) with torchvision's semantics, differentiable in tinydl.

RoIAlign is linear in the feature map: every output value is a fixed weighted sum of input
pixels (bilinear weights of regularly placed sample points, averaged per bin). So the op is
one sparse matrix ``M`` of shape ``(K*ph*pw, N*H*W)`` built from the RoIs alone:
forward ``y = M x``, backward ``dx = M^T dy`` (the scatter of ``grad * w / count`` to the four
neighbours of each sample), and the backward of the backward is ``M`` again, so gradients of
any order come for free. The matrix is built for all RoIs at once with NumPy and applied
with ``scipy.sparse``; there is no Python loop over RoIs, bins or samples.
"""
import numpy as np

from tinydl.autograd import Function
from tinydl.tensor import Tensor


def _pair(output_size):
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in output_size):
        raise ValueError(f"roi_align: output_size must be a positive int or a pair of them, "
                         f"got {output_size!r}")
    return int(output_size[0]), int(output_size[1])


def _ragged_arange(counts):
    """``concatenate([arange(c) for c in counts])`` and the owner of each entry, without a loop."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - starts[owner], owner


def _axis_weights(coord, size):
    """torchvision's bilinear rule along one axis for sample positions ``coord``.

    Returns ``(low, high, w_low, w_high, valid)``: a sample outside ``[-1, size]`` is invalid
    (it contributes 0 but still counts in the bin average); inside, it is clamped to
    ``[0, size - 1]`` and split between its two neighbouring pixels.
    """
    valid = (coord >= -1.0) & (coord <= size)
    coord = np.maximum(coord, 0.0)
    low = np.floor(coord).astype(np.int64)
    at_edge = low >= size - 1
    low = np.where(at_edge, size - 1, low)
    high = np.where(at_edge, size - 1, low + 1)
    coord = np.where(at_edge, low, coord)
    frac = coord - low
    return low, high, 1.0 - frac, frac, valid


def roi_align_matrix(rois, input_shape, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False,
                     dtype=np.float64):
    """The sparse ``(K*ph*pw, N*H*W)`` matrix with ``roi_align(x) = M x`` (see ``roi_align``).

    Rows are ``(roi, bin_y, bin_x)`` and columns ``(batch, y, x)``, both row-major; the
    weights are computed in float64 and stored as ``dtype`` (float16 as float32: scipy.sparse
    has no float16).
    """
    n, _, height, width = input_shape
    ph, pw = output_size
    k = rois.shape[0]
    offset = 0.5 if aligned else 0.0
    batch = rois[:, 0].astype(np.int64)
    start_x = rois[:, 1] * spatial_scale - offset
    start_y = rois[:, 2] * spatial_scale - offset
    roi_w = rois[:, 3] * spatial_scale - offset - start_x
    roi_h = rois[:, 4] * spatial_scale - offset - start_y
    if not aligned:
        # Legacy (Detectron) behaviour: force malformed RoIs to be at least 1x1.
        roi_w, roi_h = np.maximum(roi_w, 1.0), np.maximum(roi_h, 1.0)
    bin_w, bin_h = roi_w / pw, roi_h / ph
    if sampling_ratio > 0:
        grid_w = np.full(k, sampling_ratio, dtype=np.int64)
        grid_h = np.full(k, sampling_ratio, dtype=np.int64)
    else:
        grid_w = np.ceil(roi_w / pw).astype(np.int64)
        grid_h = np.ceil(roi_h / ph).astype(np.int64)
    count = np.maximum(grid_h * grid_w, 1)

    # One entry per (roi, bin_y, bin_x, iy, ix) sample; RoIs have different grids, so the
    # samples are laid out ragged and decomposed back into their indices.
    local, roi = _ragged_arange(ph * pw * grid_h * grid_w)
    gw, gh = grid_w[roi], grid_h[roi]
    ix, rest = local % gw, local // gw
    iy, rest = rest % gh, rest // gh
    bx, by = rest % pw, rest // pw
    y = start_y[roi] + by * bin_h[roi] + (iy + 0.5) * bin_h[roi] / gh
    x = start_x[roi] + bx * bin_w[roi] + (ix + 0.5) * bin_w[roi] / gw
    y_low, y_high, hy, ly, valid_y = _axis_weights(y, height)
    x_low, x_high, hx, lx, valid_x = _axis_weights(x, width)
    scale = (valid_y & valid_x) / count[roi]

    rows = np.tile((roi * ph + by) * pw + bx, 4)
    base = batch[roi] * (height * width)
    cols = np.concatenate([base + y_low * width + x_low, base + y_low * width + x_high,
                           base + y_high * width + x_low, base + y_high * width + x_high])
    values = np.concatenate([hy * hx, hy * lx, ly * hx, ly * lx]) * np.tile(scale, 4)
    # A sample outside the image reads no pixel (torchvision returns 0 for it); kept with a
    # zero weight against the clamped border pixel, an inf or NaN there made it NaN.
    inside = np.tile(valid_y & valid_x, 4)
    rows, cols, values = rows[inside], cols[inside], values[inside]
    import scipy.sparse  # imported on first use: 0.08 s of import tinydl.vision

    # Duplicate (row, col) pairs are summed by the conversion to CSR.
    matrix = scipy.sparse.coo_matrix((values, (rows, cols)), shape=(k * ph * pw, n * height * width))
    return matrix.tocsr().astype(np.promote_types(dtype, np.float32))


def _apply(matrix, x, out_shape):
    """``matrix`` acting on the ``(rows, C)`` view of an ``(A, C, B, D)`` array (C last)."""
    a, c, b, d = x.shape
    # float16 is carried in float32 (scipy.sparse has no float16), the result cast back.
    columns = x.transpose(0, 2, 3, 1).reshape(a * b * d, c).astype(matrix.dtype, copy=False)
    result = np.asarray(matrix @ columns, dtype=x.dtype)
    rows_a, rows_b, rows_d = out_shape
    return np.ascontiguousarray(result.reshape(rows_a, rows_b, rows_d, c).transpose(0, 3, 1, 2))


class RoIAlign(Function):
    """``y = M x`` for a fixed RoIAlign matrix ``M``; its gradient is ``RoIAlignBackward``."""

    @staticmethod
    def forward(ctx, x, matrix=None, input_shape=None, output_shape=None):
        ctx.matrix, ctx.input_shape, ctx.output_shape = matrix, input_shape, output_shape
        k, _, ph, pw = output_shape
        return _apply(matrix, x, (k, ph, pw))

    @staticmethod
    def backward(ctx, grad):
        return (RoIAlignBackward.apply(grad, matrix=ctx.matrix, input_shape=ctx.input_shape,
                                       output_shape=ctx.output_shape),)


class RoIAlignBackward(Function):
    """``dx = M^T dy``: the scatter of each bin's gradient to the pixels it sampled. Linear in
    ``dy``, so its own gradient is ``RoIAlign`` again (double backward)."""

    @staticmethod
    def forward(ctx, grad_out, matrix=None, input_shape=None, output_shape=None):
        ctx.matrix, ctx.input_shape, ctx.output_shape = matrix, input_shape, output_shape
        n, _, height, width = input_shape
        return _apply(matrix.T, grad_out, (n, height, width))

    @staticmethod
    def backward(ctx, grad):
        return (RoIAlign.apply(grad, matrix=ctx.matrix, input_shape=ctx.input_shape,
                               output_shape=ctx.output_shape),)


def roi_align(input, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoIAlign pooling: ``(N, C, H, W)`` features and ``(K, 5)`` RoIs -> ``(K, C, ph, pw)``.

    Each RoI row is ``[batch_index, x1, y1, x2, y2]`` in image coordinates, mapped to the
    feature map by ``spatial_scale`` (and shifted by -0.5 pixel when ``aligned``, the
    pixel-centre fix of Detectron2; without it a RoI is at least 1x1). Each of the
    ``ph x pw`` bins averages ``grid_h x grid_w`` bilinear samples at the centres of a regular
    sub-grid, ``grid = sampling_ratio`` if > 0 else ``ceil(roi_size / bins)``; samples
    outside ``[-1, H] x [-1, W]`` are 0 but still counted. Follows torchvision
    ``csrc/ops/cpu/roi_align_kernel.cpp``. Differentiable with respect to ``input`` (to any
    order; the op is linear in it), not to the box coordinates. Returns a Tensor of the
    input's dtype.
    """
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input))
    if input.ndim != 4:
        raise ValueError(f"roi_align: input must have shape (N, C, H, W), got {input.shape}")
    if not np.issubdtype(input.dtype, np.floating):
        raise TypeError(f"roi_align: input must be a floating tensor, got dtype {input.dtype}")
    if 0 in input.shape[2:]:
        raise ValueError(f"roi_align: input of shape {input.shape} has an empty feature map "
                         "(H or W is 0): there is nothing to sample")
    rois = np.asarray(rois, dtype=np.float64)
    if rois.ndim == 1 and rois.size == 0:
        rois = rois.reshape(0, 5)
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(f"roi_align: rois must have shape (K, 5) [batch_index, x1, y1, x2, y2], "
                         f"got {rois.shape}")
    if not np.isfinite(rois).all():
        raise ValueError("roi_align: rois contain NaN or infinite values")
    batch = rois[:, 0]
    if (batch != np.round(batch)).any() or (batch < 0).any() or (batch >= input.shape[0]).any():
        raise ValueError(f"roi_align: rois[:, 0] must be integer batch indices in [0, {input.shape[0]}), "
                         f"got {np.unique(batch).tolist()}")
    if ((rois[:, 3] < rois[:, 1]) | (rois[:, 4] < rois[:, 2])).any():
        raise ValueError("roi_align: rois need x2 >= x1 and y2 >= y1")
    ph, pw = _pair(output_size)
    spatial_scale = float(spatial_scale)
    if not (np.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f"roi_align: spatial_scale must be a finite number > 0, got {spatial_scale}")
    if int(sampling_ratio) != sampling_ratio:
        raise ValueError(f"roi_align: sampling_ratio must be an integer (<= 0 for adaptive), "
                         f"got {sampling_ratio!r}")
    matrix = roi_align_matrix(rois, input.shape, (ph, pw), spatial_scale, int(sampling_ratio), bool(aligned),
                              input.dtype)
    output_shape = (rois.shape[0], input.shape[1], ph, pw)
    return RoIAlign.apply(input, matrix=matrix, input_shape=input.shape, output_shape=output_shape)
