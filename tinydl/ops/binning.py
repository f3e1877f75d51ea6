"""Sorted-sequence search, binning and piecewise-linear interpolation, as NumPy:
searchsorted (with torch's ``right=`` and batched sequences), digitize, histogram and interp.

Indices and counts are integer results outside the graph. ``histogram`` is differentiable in
its ``weights`` (a weighted count is a sum of weights), ``interp`` in ``x``, ``xp`` and ``fp``
(it is composed of ``getitem`` and arithmetic: fp[j] + (x - xp[j]) (fp[j+1] - fp[j]) /
(xp[j+1] - xp[j]) on the segment j holding x).
"""
import collections

import numpy as np

from tinydl.ops._util import DEFAULT_FLOAT, as_tensor, exact_for_integers
from tinydl.ops.elementwise import astype, where
from tinydl.ops.index import getitem
from tinydl.ops.numeric import bincount
from tinydl.ops.shape import concatenate
from tinydl.tensor import Tensor


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def searchsorted(a, v, side=None, sorter=None, *, right=False, out_int32=False):
    """Indices where the values ``v`` would be inserted into the sorted ``a`` to keep it sorted
    (``np.searchsorted``): ``side='left'`` the first such index (a[i-1] < v <= a[i]),
    ``'right'`` the last (a[i-1] <= v < a[i]). ``sorter``: indices that sort ``a``.
    ``side=None`` is 'left' (NumPy's default), or 'right' with torch's ``right=True``
    (``side='left', right=True`` raises, as torch; a given side wins over right=False), and as
    torch.searchsorted ``a`` may be N-D: each row of its last axis is searched for the same row
    of ``v`` (leading shapes equal). int64 (int32 with ``out_int32``), no gradient; a scalar
    ``v`` gives a 0-d result."""
    if side is None:
        side = "right" if right else "left"
    elif right and side == "left":
        raise ValueError("searchsorted: side='left' and right=True contradict each other")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq, values = _array(a), _array(v)
    order = None if sorter is None else _array(sorter).astype(np.int64)
    if seq.ndim == 0:
        raise ValueError("searchsorted: the sorted sequence must have at least one dimension, "
                         "got a 0-d one")
    if order is not None and order.shape != seq.shape:
        raise ValueError(f"searchsorted: sorter of shape {order.shape} does not match the "
                         f"sequence's {seq.shape}")
    if order is not None:
        seq = np.take_along_axis(seq, order, axis=-1)
    if seq.ndim == 1:
        out = np.searchsorted(seq, values, side=side)
    else:
        if values.shape[:-1] != seq.shape[:-1]:
            raise ValueError(f"searchsorted: a sequence of shape {seq.shape} needs values with "
                             f"the same leading shape {seq.shape[:-1]}, got {values.shape}")
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(len(rows), -1)
        out = np.stack([np.searchsorted(r, w, side=side) for r, w in zip(rows, vals)])
        out = out.reshape(values.shape)
    return Tensor._wrap(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002 (torch's)
    """torch's ``bucketize``: the bucket of each value of ``input`` among the sorted 1-d
    ``boundaries``, i with ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``:
    ``boundaries[i-1] <= x < boundaries[i]``); ``searchsorted`` with the arguments the other
    way round. int64 (int32 with ``out_int32``), no gradient."""
    if np.ndim(_array(boundaries)) != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape "
                         f"{np.shape(_array(boundaries))}")
    return searchsorted(boundaries, input, right=right, out_int32=out_int32)


def digitize(x, bins, right=False):
    """Index of the bin of each value of ``x`` (``np.digitize``): for increasing ``bins``,
    i with bins[i-1] <= x < bins[i] (``right=True``: bins[i-1] < x <= bins[i]); 0 below the
    first edge, len(bins) past the last; decreasing bins likewise, mirrored. int64, no
    gradient."""
    edges = _array(bins)
    if edges.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-D, got shape {edges.shape}")
    if edges.size > 1 and not (np.all(edges[1:] >= edges[:-1])
                               or np.all(edges[1:] <= edges[:-1])):
        raise ValueError("digitize: bins must be monotonically increasing or decreasing")
    return Tensor._wrap(np.asarray(np.digitize(_array(x), edges, right), dtype=np.int64))


def histogram(a, bins=10, range=None, density=False, weights=None):  # noqa: A002
    """``(hist, bin_edges)`` of the values of ``a`` (flattened), as ``np.histogram``: ``bins``
    an int (that many equal bins over ``range``, by default (min, max) of a), a string of
    NumPy's estimators, or the increasing edges; every bin is half-open [e_i, e_i+1) but the
    last, which holds its right edge; values outside are left out. ``weights`` (a's shape)
    sum instead of counting, ``density`` divides by (total * bin width). hist is int64 counts,
    else a float (the weights' dtype; with density the edges'), edges a's float dtype
    (float64 for integers, as NumPy). Differentiable in ``weights``; constant in a."""
    data = _array(a).ravel()
    if data.dtype.kind == "b":
        raise TypeError("histogram: boolean input has no bins; cast it first")
    if isinstance(bins, Tensor):
        bins = bins.data
    w = None
    if weights is not None:
        w = weights if isinstance(weights, Tensor) else Tensor(weights)
        if w.shape != _array(a).shape:
            raise ValueError(f"histogram: weights of shape {w.shape} differ from a's "
                             f"{_array(a).shape}")
        w = w.reshape(-1)
    try:
        edges = np.histogram_bin_edges(data, bins, range, None if w is None else w.data)
    except (ValueError, TypeError) as err:  # NumPy's checks of bins and range, named
        raise type(err)(f"histogram: {err}") from None
    if w is None:
        hist = Tensor._wrap(np.histogram(data, edges)[0].astype(np.int64))
    else:
        n = len(edges) - 1
        index = np.searchsorted(edges, data, side="right") - 1
        index[data == edges[-1]] = n - 1  # the last bin holds its right edge
        keep = (data >= edges[0]) & (data <= edges[-1])
        if w.dtype.kind in "iub":
            w = astype(w, np.float64)
        hist = bincount(index[keep], getitem(w, np.flatnonzero(keep)), n)
    if density:
        total = hist.sum()
        if hist.dtype.kind != "f":
            hist = astype(hist, edges.dtype)
            total = astype(total, edges.dtype)
        hist = hist / (total * Tensor._wrap(np.diff(edges).astype(hist.dtype)))
    return hist, Tensor._wrap(edges)


HistogramResult = collections.namedtuple("histogram", ["hist", "bin_edges"])


def torch_histogram(x, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """torch.histogram (``Tensor.histogram``): ``histogram`` with torch's names (``weight``,
    100 bins by default), a float input only, and the counts in the input's dtype, returned
    as ``(hist, bin_edges)``."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"histogram: torch's histogram takes a floating tensor, got {x.dtype}")
    hist, edges = histogram(x, bins, range, density, weight)
    return HistogramResult(astype(hist, x.dtype), astype(edges, x.dtype))


@exact_for_integers("x", "xp", "fp")
def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through (xp, fp) at x (``np.interp``): on the segment
    xp[j] <= x <= xp[j+1], fp[j] + (x - xp[j]) (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]); below
    xp[0] ``left`` (default fp[0]), above xp[-1] ``right`` (default fp[-1]). ``period``:
    x and xp are taken modulo it (left/right are then unused). xp must increase (not checked,
    as NumPy). Float result (float32 unless an input is float64); differentiable in x, xp and
    fp (the gradient of x is the segment's slope, 0 outside)."""
    x, xp, fp = (t if isinstance(t, Tensor) else Tensor(t) for t in (x, xp, fp))
    dtype = np.result_type(*[t.dtype if t.dtype.kind == "f" else DEFAULT_FLOAT
                             for t in (x, xp, fp)])
    x, xp, fp = (t if t.dtype == dtype else astype(t, dtype) for t in (x, xp, fp))
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError(f"interp: xp and fp must be 1-D, got shapes {xp.shape} and {fp.shape}")
    if xp.shape != fp.shape:
        raise ValueError(f"interp: xp ({xp.shape[0]}) and fp ({fp.shape[0]}) differ in length")
    if xp.shape[0] == 0:
        raise ValueError("interp: xp (the sample points) is empty")
    if period is not None:
        if period == 0:
            raise ValueError("interp: period must be a non-zero value")
        period = abs(period)
        x, xp = x % period, xp % period
        order = np.argsort(xp.data, kind="stable")
        xp, fp = getitem(xp, order), getitem(fp, order)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
        left = right = None
    n = xp.shape[0]
    if n == 1:
        inner = fp[0] + Tensor._wrap(np.zeros(x.shape, dtype))  # fp[0] everywhere, NaN x too
    else:
        j = np.clip(np.searchsorted(xp.data, x.data, side="right") - 1, 0, n - 2)
        lo_x, hi_x, lo_f, hi_f = getitem(xp, j), getitem(xp, j + 1), getitem(fp, j), \
            getitem(fp, j + 1)
        # NumPy's fallbacks where an infinite fp or xp makes the first form NaN: the same
        # line through the segment's right end, then fp[j] when both ends are equal, and
        # fp[j] exactly at a knot (inf * 0 gave NaN there)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (hi_f - lo_f) / (hi_x - lo_x)
            inner = lo_f + slope * (x - lo_x)
            if np.isnan(inner.data).any():
                inner = where(np.isnan(inner.data), hi_f + slope * (x - hi_x), inner)
                inner = where(np.isnan(inner.data) & (lo_f.data == hi_f.data), lo_f, inner)
        inner = where(x.data == lo_x.data, lo_f, inner)
        inner = where(x.data == xp.data[-1], fp[-1], inner)  # NumPy's exact last value
    below = fp[0] if left is None else left
    above = fp[-1] if right is None else right
    return where(x.data > xp.data[-1], above, where(x.data < xp.data[0], below, inner))

