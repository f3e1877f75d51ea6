"""Bags of embeddings: ``embedding_bag``, torch's ``F.embedding_bag`` (the functional form of
``nn.EmbeddingBag``).

A bag is a run of indices whose embedding rows are reduced to one row (their sum, mean or
feature-wise maximum), as a bag-of-words model reads a sentence. It is a composition: the
lookup is ``embedding`` (with its max_norm and scale_grad_by_freq), the reductions
``index_add`` and ``take_along_axis``, so it is differentiable to any order with respect to
the weight and ``per_sample_weights``.
"""
import numpy as np

from tinydl.nn.functional.misc import _padding_row, _renormalize_rows, embedding
from tinydl.ops._checks import _index_array, _tensor
from tinydl.ops._util import DtypeError, ShapeError
from tinydl.ops.gather import index_add, take_along_axis
from tinydl.ops.shape import concatenate
from tinydl.tensor import Tensor

_MODES = ("sum", "mean", "max")


def _bag_bounds(idx, offsets, include_last_offset):
    """The flat indices and where each bag starts and ends in them.

    2-D ``idx`` (B, L): B bags of L indices (``offsets`` must be None; torch ignores
    ``include_last_offset`` there, and so do we). 1-D ``idx``: bag b is
    ``idx[offsets[b]:offsets[b + 1]]``, the last running to the end, or with
    ``include_last_offset`` to ``offsets[-1]``, which must then be len(idx) (CSR row pointers).
    """
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: 2-D input (B, L) is B bags of L indices, so offsets "
                             f"must be None, got offsets for input of shape {idx.shape}")
        starts = np.arange(idx.shape[0]) * idx.shape[1]
        return idx.reshape(-1), starts, starts + idx.shape[1]
    if idx.ndim != 1:
        raise ShapeError(f"embedding_bag: input must be 1-D (with offsets) or 2-D (B, L), got "
                         f"shape {idx.shape}")
    if offsets is None:
        raise ValueError("embedding_bag: 1-D input needs offsets (the start of each bag), got "
                         "None")
    offsets = offsets.data if isinstance(offsets, Tensor) else np.asarray(offsets)
    if offsets.dtype.kind not in "iu" or offsets.ndim != 1:
        raise ValueError(f"embedding_bag: offsets must be a 1-D integer tensor, got "
                         f"{offsets.dtype} of shape {offsets.shape}")
    n = idx.shape[0]
    if include_last_offset:
        if offsets.size == 0 or offsets[-1] != n:
            # torch ignores a smaller last offset (the last bag runs to the end anyway)
            raise ValueError(f"embedding_bag: with include_last_offset=True the last offset "
                             f"ends the last bag and must be len(input) = {n}, got offsets "
                             f"{offsets.tolist()}")
        starts, ends = offsets[:-1], offsets[1:]
    else:
        if offsets.size == 0:
            raise ValueError("embedding_bag: offsets is empty: it must hold the start of each "
                             "bag, the first 0")
        starts, ends = offsets, np.append(offsets[1:], n)
    if offsets[0] != 0:
        raise ValueError(f"embedding_bag: offsets[0] must be 0 (the first bag starts the "
                         f"input), got {offsets[0]}")
    if offsets[-1] > n:
        raise ValueError(f"embedding_bag: offsets[-1] = {offsets[-1]} is past the end of the "
                         f"input (length {n})")
    if np.any(np.diff(offsets) < 0):  # torch gives overlapping or garbled bags
        raise ValueError(f"embedding_bag: offsets must be non-decreasing, got "
                         f"{offsets.tolist()}")
    return idx, starts, ends


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """out[b] = reduce over the entries i of bag b of weight[input[i]], torch's
    ``F.embedding_bag``: (B, embedding_dim), weight's dtype.

    Bags: 2-D ``input`` (B, L) is B bags of L indices; 1-D ``input`` is cut at ``offsets``
    (B,), the start of each bag (``include_last_offset``: (B + 1,), the last being
    len(input), as CSR row pointers). ``mode``: 'sum', 'mean' or 'max' (each feature's
    maximum; its gradient goes to the first entry holding it, as torch's).
    ``per_sample_weights`` (input's shape, weight's dtype; 'sum' only, as torch) scale each
    entry's row: out[b] = sum_i w_i weight[input[i]]. Entries equal to ``padding_idx`` are
    left out of their bag: not summed, not counted in the mean, never the max. An empty bag
    gives zeros. ``max_norm`` / ``norm_type`` and ``scale_grad_by_freq`` are ``embedding``'s
    (renormalise the picked rows in place; divide a row's gradient by how often ``input``
    picks it; not with 'max', as torch). ``sparse=True`` is not implemented.

    Differences from torch, where torch's CPU kernel has no defined answer: a 2-D input with
    L = 0 gives B zero rows (torch raises), empty or decreasing offsets and, with
    include_last_offset, a last offset short of len(input) raise (torch crashes, garbles or
    ignores them); with 'max' a NaN first in its bag is the bag's value and a later one is
    passed over, as torch's.
    """
    if mode not in _MODES:
        raise ValueError(f"embedding_bag: mode must be one of {_MODES}, got {mode!r}")
    weight = _tensor(weight, "embedding_bag", "weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding_bag: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    if weight.dtype.kind != "f":
        raise DtypeError(f"embedding_bag: weight must be floating point, got {weight.dtype}")
    idx = _index_array(input, "embedding_bag")
    flat, starts, ends = _bag_bounds(idx, offsets, include_last_offset)
    rows_in_table = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= rows_in_table):
        raise ValueError(f"embedding_bag: indices must be in [0, {rows_in_table}), got range "
                         f"[{flat.min()}, {flat.max()}]")
    padding_idx = _padding_row(padding_idx, rows_in_table, "embedding_bag")
    if mode == "max" and (scale_grad_by_freq or sparse):
        raise ValueError("embedding_bag: mode='max' does not support "
                         + ("scale_grad_by_freq" if scale_grad_by_freq else "sparse weights"))
    if sparse:
        raise NotImplementedError("embedding_bag: sparse=True (a sparse gradient) is not "
                                  "implemented by tinydl; its gradients are dense")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights is only supported "
                                      f"with mode='sum' (as in torch), got mode={mode!r}")
        per_sample_weights = _tensor(per_sample_weights, "embedding_bag", "per_sample_weights")
        if per_sample_weights.shape != idx.shape:
            raise ValueError(f"embedding_bag: per_sample_weights of shape "
                             f"{per_sample_weights.shape} must have the input's shape "
                             f"{idx.shape}")
        if per_sample_weights.dtype != weight.dtype:
            raise DtypeError(f"embedding_bag: per_sample_weights ({per_sample_weights.dtype}) "
                             f"must have the weight's dtype ({weight.dtype})")
    if max_norm is not None:  # every picked row, padding included, as torch
        _renormalize_rows(weight, flat, max_norm, norm_type, "embedding_bag")
    count = len(starts)
    bag_of = np.repeat(np.arange(count), ends - starts)  # each entry's bag
    kept = (np.arange(flat.size) if padding_idx is None
            else np.flatnonzero(flat != padding_idx))
    rows = embedding(flat[kept], weight, scale_grad_by_freq=scale_grad_by_freq)
    bags = bag_of[kept]
    if mode == "max":
        return _bag_max(rows, bags, count)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[kept].reshape(-1, 1)
    half = rows.dtype == np.float16  # summed in float32, rounded once, as torch's bags
    if half:  # (float16 running sums stop at 2048 for ones: a mean of 5000 threes was 1.64)
        rows = rows.astype(np.float32)
    out = index_add(Tensor._wrap(np.zeros((count, weight.shape[1]), dtype=rows.dtype)), 0,
                    bags, rows)
    if mode == "mean":
        sizes = np.maximum(np.bincount(bags, minlength=count), 1)  # an empty bag stays 0
        out = out / Tensor._wrap(sizes.astype(out.dtype).reshape(-1, 1))
    return out.astype(np.float16) if half else out


def _bag_max(rows, bags, count):
    """Each bag's feature-wise maximum of ``rows`` (n, dim), ``bags`` (n,) sorted, by torch's
    rule: entries are read in order and one replaces the running maximum only when it is
    larger, so the first of equal maxima wins (and gets the gradient), a NaN first in its bag
    stays and a later one is passed over. An empty bag reads an appended row of zeros."""
    values = rows.data
    n, dim = values.shape
    choice = np.full((count, dim), n)
    if n:
        present, starts = np.unique(bags, return_index=True)
        comparable = np.where(np.isnan(values), -np.inf, values)
        peak = np.maximum.reduceat(comparable, starts, axis=0)
        rank = np.repeat(np.arange(len(present)), np.diff(np.append(starts, n)))
        position = np.where(comparable == peak[rank], np.arange(n)[:, None], n)
        first = np.minimum.reduceat(position, starts, axis=0)
        choice[present] = np.where(np.isnan(values[starts]), starts[:, None], first)
    padded = concatenate([rows, Tensor._wrap(np.zeros((1, dim), dtype=rows.dtype))], axis=0)
    return take_along_axis(padded, choice, axis=0)
