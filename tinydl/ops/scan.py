"""Scans (cumulative ops along one axis): cumsum, cumprod, cummax, cummin, logcumsumexp.

``y_k = x_0 (op) x_1 (op) ... (op) x_k`` along ``axis``. As NumPy, ``axis=None`` scans the
flattened tensor; as torch, a 0-d tensor scanned along axis 0 (or -1) gives itself back. The
gradient of a scan runs the scan backwards: ``dx_i = sum_{k >= i} g_k dy_k/dx_i``, written
with the reverse scan (``reversed_along``, scan, ``reversed_along``) so that it is itself
differentiable.
"""
import collections

import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops._util import as_input, normalize_axes, torch_names
from tinydl.ops.elementwise import astype, exp, log, where
from tinydl.ops.index import getitem
from tinydl.ops.shape import reshape
from tinydl.tensor import Tensor

# torch's ``torch.return_types.cummax``: a tuple that also has ``.values`` and ``.indices``.
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def reversed_along(x, axis):
    """``x`` reversed along ``axis`` (a strided view; its gradient is flipped back)."""
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _scan_input(x, axis, op):
    """``(x, axis, restore)``: the tensor and the one non-negative axis to scan, and the shape to
    give the result back (``()`` for a 0-d input, else None)."""
    x = as_input(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor or an array, got {type(x).__name__}")
    if axis is None:  # NumPy: scan the flattened tensor
        return reshape(x, (-1,)), 0, None
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{op}: axis must be one int (a scan runs along one axis), got {axis!r}")
    if x.ndim == 0:  # torch: a 0-d tensor is a scan of one element
        normalize_axes(axis, 1, op)
        return reshape(x, (1,)), 0, ()
    return x, normalize_axes(axis, x.ndim, op)[0], None


def _restore(y, restore):
    return y if restore is None else reshape(y, restore)


# ----------------------------------------------------------------------------- cumsum
class CumSum(Function):
    """y_k = sum_{j<=k} x_j along an axis; dx_i = sum_{k>=i} g_k (the reversed cumsum of g)."""

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        return _accumulated(np.cumsum, x, axis)

    @staticmethod
    def backward(ctx, g):
        return (_reverse_cumsum(g, ctx.axis),)


def _accumulated(scan, x, axis):
    """``scan(x)`` in x's dtype, with the running total of a float16 or float32 x carried in
    float64, as torch's CPU scans carry it: in x's own dtype a float16 cumsum of 5,000 ones
    stopped at 2048, and a float32 one of a million 0.1s ended at 100958 (torch: 100000)."""
    if x.dtype in (np.float16, np.float32):
        with np.errstate(over="ignore"):  # a total past the dtype's range is inf, as torch's
            return scan(x, axis=axis, dtype=np.float64).astype(x.dtype)
    return scan(x, axis=axis, dtype=x.dtype)


def _reverse_cumsum(g, axis):
    """sum_{k>=i} g_k along ``axis``, differentiable."""
    return reversed_along(CumSum.apply(reversed_along(g, axis), axis=axis), axis)


@torch_names
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum ``y_k = x_0 + ... + x_k`` along ``axis`` (the flattened x when None).

    Shape: as x (1-D of x.size when ``axis`` is None). Integer and bool inputs give int64 (as
    torch; NumPy gives uint64 for unsigned ones), uint64 stays uint64; ``dtype`` casts the
    input first.
    """
    x, axis, restore = _scan_input(x, axis, "cumsum")
    x = _integer_scan_dtype(x, dtype)
    return _restore(CumSum.apply(x, axis=axis), restore)


def _integer_scan_dtype(x, dtype):
    """``x`` cast to ``dtype`` when given (the scan then keeps it: int8 wraps, as torch and
    NumPy with ``dtype=``); else integer and bool input cast to int64, as torch (NumPy's
    cumsum of uint8 is uint64). The scans run in their input's dtype."""
    if dtype is not None:
        return astype(x, dtype)
    if x.dtype.kind in "iub" and x.dtype not in (np.int64, np.uint64):
        return astype(x, np.int64)  # (uint64 stays: as int64 its top half wrapped negative)
    return x


# ----------------------------------------------------------------------------- cumprod
class CumProd(Function):
    """y_k = prod_{j<=k} x_j along an axis; dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        return _accumulated(np.cumprod, x, axis)

    @staticmethod
    def backward(ctx, g):
        x = ctx.inputs[0]
        if x.shape[ctx.axis] == 1:  # y = x: dx = g (revcumsum(g y) / x is NaN at inf or NaN)
            return (g,)
        return (_cumprod_grad(x, g, ctx.output, ctx.axis),)


def _cumprod_grad(x, g, y, axis):
    """dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j for ``y = cumprod(x)``, exact at zeros.

    Without zeros it is ``revcumsum(g y) / x`` (torch's formula). With zeros, each slice splits
    at its first zero z: before z the same formula holds (y_k = 0 for k >= z); at z the product
    skips x_z, which is ``revcumsum(g cumprod(x'))`` for x' = x with x_z set to 1; after z every
    product holds x_z, so the gradient is ``x_z`` times the gradient at x'. That last term is 0
    but not its derivative, so under ``create_graph`` the rule repeats on x' (once per zero of
    the slice with the most; torch's double-backward path is O(n^2)); otherwise it stops at
    the first zero.
    """
    total, factor = None, None
    while True:
        zero = x.data == 0
        if not zero.any():
            term = _reverse_cumsum(g * y, axis) / x
            break
        seen = np.cumsum(zero, axis=axis)
        before, first = seen == 0, zero & (seen == 1)
        after = ~before & ~first
        term = where(before, _reverse_cumsum(g * y, axis) / where(before, x, 1.0), 0.0)
        x_ones = where(first, 1.0, x)
        y = CumProd.apply(x_ones, axis=axis)
        if not is_grad_enabled():  # first order: the terms after z are exactly 0
            term = term + where(first, _reverse_cumsum(g * y, axis), 0.0)
            break
        total = term if total is None else total + factor * term
        x_z = where(first, x, 0.0).sum(axis=axis, keepdims=True)
        step = where(first, 1.0, where(after, x_z, 0.0))
        factor = step if factor is None else factor * step
        x = x_ones
    return term if total is None else total + factor * term


@torch_names
def cumprod(x, axis=None, dtype=None):
    """Cumulative product ``y_k = x_0 x_1 ... x_k`` along ``axis`` (the flattened x when None).

    Shape: as x (1-D of x.size when ``axis`` is None). Integer and bool inputs give int64 (as
    torch). The gradient is exact at zeros (one or several per slice), as torch's, including
    its second derivative.
    """
    x, axis, restore = _scan_input(x, axis, "cumprod")
    x = _integer_scan_dtype(x, dtype)
    return _restore(CumProd.apply(x, axis=axis), restore)


# ----------------------------------------------------------------------------- cummax, cummin
def _running_extremum(x, axis, op, accumulate):
    x, axis, restore = _scan_input(x, axis, op)
    data = x.data
    best = accumulate(data, axis=axis)
    # The index of y_k is the last i <= k where x_i reached the running extremum (torch's
    # ``>=`` / ``<=``: ties move it forward); a NaN always takes it (and the NaN propagates).
    record = data == best
    if data.dtype.kind == "f":
        record |= np.isnan(data)
    position = np.arange(data.shape[axis]).reshape((-1,) + (1,) * (data.ndim - axis - 1))
    indices = np.maximum.accumulate(np.where(record, position, 0), axis=axis).astype(np.int64)
    # The values are x picked at those indices: each gets the gradient of the outputs that
    # picked it (torch's scatter_add of g into the indices).
    grid = list(np.indices(data.shape, sparse=True))
    grid[axis] = indices
    values = getitem(x, tuple(grid))
    return ValuesIndices(_restore(values, restore),
                         _restore(Tensor._wrap(indices), restore))


@torch_names
def cummax(x, axis):
    """Running maximum along ``axis``: ``(values, indices)`` as torch.cummax.

    ``values_k = max(x_0..x_k)``, ``indices_k`` (int64) the position of the last element equal
    to it (ties take the later index, as torch; a NaN propagates and takes the index). The
    gradient of ``values_k`` goes to ``x[indices_k]``.
    """
    return _running_extremum(x, axis, "cummax", np.maximum.accumulate)


@torch_names
def cummin(x, axis):
    """Running minimum along ``axis``: ``(values, indices)`` as torch.cummin (see cummax)."""
    return _running_extremum(x, axis, "cummin", np.minimum.accumulate)


# ----------------------------------------------------------------------------- logcumsumexp
class LogCumSumExp(Function):
    """y_k = log sum_{j<=k} exp(x_j); dx_i = sum_{k>=i} g_k exp(x_i - y_k)."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.axis = axis
        if x.dtype == np.float16:  # in float32, rounded once (float16 steps stall at log 512)
            return np.logaddexp.accumulate(x.astype(np.float32), axis=axis).astype(np.float16)
        return np.logaddexp.accumulate(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        # exp(x_i + log sum_{k>=i} g_k exp(-y_k)), with the positive and the negative g_k in
        # two reverse log-cum-sum-exps so nothing overflows (torch's and TensorFlow's form).
        # The log of a g_k of the other sign is a floor far below any log|g| - y, yet finite
        # when a few floors are added together (as the second derivative does).
        x, y, axis = ctx.inputs[0], ctx.output, ctx.axis
        floor = np.asarray(np.finfo(g.dtype).min / 4, dtype=g.dtype)

        def part(mask, magnitude):
            log_g = where(mask, log(where(mask, magnitude, 1.0)), floor)
            shifted = reversed_along(log_g - y, axis)
            return exp(reversed_along(LogCumSumExp.apply(shifted, axis=axis), axis) + x)

        return (part(g.data > 0, g) - part(g.data < 0, -g),)


@torch_names
def logcumsumexp(x, axis):
    """``y_k = log(exp(x_0) + ... + exp(x_k))`` along ``axis``, computed pairwise with
    ``logaddexp`` so it never overflows. Shape: as x (torch.logcumsumexp)."""
    x, axis, restore = _scan_input(x, axis, "logcumsumexp")
    if x.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: expected a floating tensor, got {x.dtype}")
    return _restore(LogCumSumExp.apply(x, axis=axis), restore)
