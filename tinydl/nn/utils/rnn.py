"""Variable-length sequences for the recurrent layers (``torch.nn.utils.rnn`` names).

A batch of sequences of lengths ``l_0 >= l_1 >= ... >= l_{B-1}`` is *packed* into one
``(sum_b l_b, *)`` Tensor holding, time step after time step, the rows of the sequences still
running at that step: ``batch_sizes[t]`` = number of b with ``l_b > t``, so the rows of step t
are the first ``batch_sizes[t]`` sequences' elements t. Sequences given in any other order are
first sorted by decreasing length, stably (sequences of equal length keep their order; torch's
CPU sort does so only for batches of up to 16, so for larger ones with tied lengths
``sorted_indices`` and the row order of ``data`` can differ from torch's, while everything
unpacked, RNN outputs and final states included, is the same); ``sorted_indices[j]`` is the
original position of the j-th sorted sequence and ``unsorted_indices`` is its inverse, used to
give results back in the original order.

Packing, padding and unpadding are gathers (one integer-array index) and concatenations of
tinydl Tensors, so gradients of every order flow back to the padded input or the sequences.
The recurrent layers (``tinydl.nn.RNN``, ``LSTM``, ``GRU``) take a ``PackedSequence`` and run
each sequence for its own length only.
"""
from collections import namedtuple

import numpy as np

from tinydl.ops import concatenate
from tinydl.ops._checks import _check_fill_fits
from tinydl.ops._util import ShapeError
from tinydl.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


def _int64_tensor(values):
    values = values.data if isinstance(values, Tensor) else np.asarray(values)
    return Tensor._wrap(np.asarray(values, dtype=np.int64))


def invert_permutation(permutation):
    """The inverse permutation ``q`` with ``q[p[i]] = i`` as an int64 Tensor; None for None."""
    if permutation is None:
        return None
    p = permutation.data if isinstance(permutation, Tensor) else np.asarray(permutation)
    inverse = np.empty(len(p), dtype=np.int64)
    inverse[p] = np.arange(len(p))
    return Tensor._wrap(inverse)


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Sequences packed step by step (see the module docstring), as torch's namedtuple.

    ``data`` (sum of lengths, *) Tensor; ``batch_sizes`` (max length,) int64 Tensor;
    ``sorted_indices`` and ``unsorted_indices`` (batch,) int64 Tensors, or None when the
    sequences were given sorted. Build it with ``pack_padded_sequence`` or ``pack_sequence``
    rather than by hand. ``unsorted_indices`` defaults to the inverse of ``sorted_indices``.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # torch's older form: PackedSequence((data, batch_sizes))
            if not (isinstance(data, (tuple, list)) and len(data) == 2):
                raise TypeError("PackedSequence: expected data and batch_sizes, got "
                                f"{type(data).__name__} alone")
            data, batch_sizes = data
        data = data if isinstance(data, Tensor) else Tensor._wrap(np.asarray(data))
        if sorted_indices is not None:
            sorted_indices = _int64_tensor(sorted_indices)
            if unsorted_indices is None:
                unsorted_indices = invert_permutation(sorted_indices)
        if unsorted_indices is not None:
            unsorted_indices = _int64_tensor(unsorted_indices)
        return super().__new__(cls, data, _int64_tensor(batch_sizes), sorted_indices,
                               unsorted_indices)

    def to(self, *args, **kwargs):
        """The same sequences with ``data.to(*args, **kwargs)`` (a dtype; 'cpu' is a no-op);
        itself when data is unchanged, as torch."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    def cpu(self):
        """Itself: tinydl tensors always live on the CPU."""
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    @property
    def is_cuda(self):
        """False: tinydl computes on the CPU."""
        return False


def _tensor(value, caller, what="input"):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, (list, tuple)) or np.isscalar(value):
        return Tensor(value)
    raise TypeError(f"{caller}: {what} must be a Tensor or an array, got {type(value).__name__}")


def _lengths(lengths, caller):
    """``lengths`` (list, array or Tensor) as a 1-D int64 array; integral floats are taken."""
    values = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if values.ndim != 1:
        raise ShapeError(f"{caller}: lengths must be 1-D (one length per sequence), got shape "
                         f"{values.shape}")
    if values.dtype.kind not in "iu":
        if values.dtype.kind != "f" or not np.array_equal(values, np.floor(values)):
            raise TypeError(f"{caller}: lengths must be integers, got {values.tolist()}")
    return values.astype(np.int64)


def _pack(x, lengths, batch_first, enforce_sorted, caller):
    """The PackedSequence of the padded Tensor ``x``; see ``pack_padded_sequence``."""
    if x.ndim < 2:
        layout = "(B, T, *)" if batch_first else "(T, B, *)"
        raise ShapeError(f"{caller}: expected a padded input of shape {layout}, got {x.shape}")
    steps, batch = x.shape[:2][::-1] if batch_first else x.shape[:2]
    if len(lengths) != batch:
        raise ShapeError(f"{caller}: expected one length per sequence, got {len(lengths)} "
                         f"lengths for a batch of {batch}")
    if batch == 0:
        raise ShapeError(f"{caller}: cannot pack an empty batch (input of shape {x.shape})")
    if lengths.min() <= 0:
        raise ShapeError(f"{caller}: every length must be greater than 0, got "
                         f"{lengths.tolist()}")
    if lengths.max() > steps:
        raise ShapeError(f"{caller}: lengths {lengths.tolist()} exceed the {steps} time steps "
                         f"of the input of shape {x.shape}")
    if enforce_sorted:
        if np.any(lengths[:-1] < lengths[1:]):
            raise ShapeError(f"{caller}: lengths must be sorted in decreasing order when "
                             f"enforce_sorted=True, got {lengths.tolist()}; pass "
                             "enforce_sorted=False to pack sequences in any order")
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = order
    sorted_lengths = lengths[order]
    running = sorted_lengths[None, :] > np.arange(sorted_lengths[0])[:, None]  # (T, B)
    # np.nonzero walks (t, j) in row-major order: step after step, sorted sequences in turn
    t, j = np.nonzero(running)
    data = x[(order[j], t) if batch_first else (t, order[j])]
    return PackedSequence(data, running.sum(axis=1), sorted_indices)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch: ``input`` (T, B, *) (``batch_first``: (B, T, *)) whose sequence b
    is ``input[:lengths[b], b]``.

    ``lengths`` (list, array or Tensor of B ints, each in 1..T). With ``enforce_sorted``
    (default) they must be non-increasing; with ``enforce_sorted=False`` any order, and the
    result remembers the sorting permutation. Returns a ``PackedSequence`` whose data are
    the gathered rows (differentiable with respect to ``input``).
    """
    caller = "pack_padded_sequence"
    return _pack(_tensor(input, caller), _lengths(lengths, caller), batch_first,
                 enforce_sorted, caller)


def _batch_sizes(sequence, caller):
    """The checked batch sizes of a PackedSequence, as an int64 array."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{caller}: expected a tinydl PackedSequence, got "
                        f"{type(sequence).__module__}.{type(sequence).__name__}")
    sizes, rows = sequence.batch_sizes.data, sequence.data.shape
    if sizes.ndim != 1 or not len(sizes) or sizes.min() <= 0 or np.any(sizes[:-1] < sizes[1:]):
        raise ShapeError(f"{caller}: batch_sizes must be a non-empty, non-increasing list of "
                         f"positive counts, got {sizes.tolist()}")
    if not rows or rows[0] != sizes.sum():
        raise ShapeError(f"{caller}: data of shape {rows} does not hold sum(batch_sizes) = "
                         f"{sizes.sum()} rows")
    order = sequence.sorted_indices
    if order is not None and sorted(order.data.tolist()) != list(range(sizes[0])):
        raise ShapeError(f"{caller}: sorted_indices {order.data.tolist()} are not a "
                         f"permutation of the {sizes[0]} sequences")
    return sizes


def _gather_padded(rows, index, padding_value, caller):
    """``rows[index]`` with every ``index == -1`` giving ``padding_value`` (one gather from
    ``rows`` with one padding row appended; the gradient reaches ``rows`` only). A padding
    value the dtype cannot hold (NaN in int64, 1e300 in float32) is refused, as torch."""
    _check_fill_fits(padding_value, rows.dtype, caller)
    padding = np.full((1,) + rows.shape[1:], padding_value, dtype=rows.dtype)
    return concatenate([rows, Tensor._wrap(padding)])[np.where(index < 0, len(rows), index)]


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: returns ``(padded, lengths)``.

    padded (T, B, *) (``batch_first``: (B, T, *)), with T the longest length or
    ``total_length`` when given (it must be at least that), entries past each sequence's end
    equal to ``padding_value``, the batch in the original order; lengths (B,) int64 Tensor.
    """
    caller = "pad_packed_sequence"
    sizes = _batch_sizes(sequence, caller)
    steps, batch = len(sizes), int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"{caller}: total_length={total_length} is shorter than the "
                             f"longest sequence ({steps} steps)")
        steps = int(total_length)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    index = np.full((steps, batch), -1, dtype=np.int64)  # (T, B): the row of data, or -1
    t, j = np.nonzero(np.arange(batch)[None, :] < sizes[:, None])
    index[t, j] = offsets[t] + j
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices.data  # column b is sorted column unsorted[b]
        index, lengths = index[:, unsorted], lengths[unsorted]
    padded = _gather_padded(sequence.data, index.T if batch_first else index, padding_value,
                            caller)
    return padded, Tensor._wrap(lengths.astype(np.int64))


def _sequences(sequences, caller):
    """The sequences as a list of Tensors of one dtype and equal trailing shapes."""
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])] if sequences.ndim else None
    if not isinstance(sequences, (list, tuple)):
        raise TypeError(f"{caller}: expected a list of Tensors, got {type(sequences).__name__}")
    if not sequences:
        raise ValueError(f"{caller}: received an empty list of sequences")
    tensors = [_tensor(s, caller, f"sequence {i}") for i, s in enumerate(sequences)]
    first = tensors[0]
    for i, s in enumerate(tensors):
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise ShapeError(f"{caller}: sequences must be (L_i, *) with the same * shape, got "
                             f"shapes {[s.shape for s in tensors]}")
        if s.dtype != first.dtype:
            raise TypeError(f"{caller}: sequences must share one dtype, got {first.dtype} "
                            f"(sequence 0) and {s.dtype} (sequence {i})")
    return tensors


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into one (T, B, *) Tensor (``batch_first``:
    (B, T, *)), T = max L_i, the missing steps filled with ``padding_value`` after each
    sequence (``padding_side='right'``) or before it (``'left'``)."""
    caller = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise ValueError(f"{caller}: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    tensors = _sequences(sequences, caller)
    lengths = np.array([s.shape[0] for s in tensors], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(lengths.max())[:, None]  # (T, 1)
    if padding_side == "left":
        steps = steps - (lengths.max() - lengths)  # step t of the output is step t - pad
    index = np.where((steps >= 0) & (steps < lengths), starts + steps, -1)  # (T, B)
    rows = concatenate(tensors) if len(tensors) > 1 else tensors[0]
    return _gather_padded(rows, index.T if batch_first else index, padding_value,
                          "pad_sequence")


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Undo ``pad_sequence`` (right padding): the list of ``padded[:lengths[b], b]``
    (``batch_first``: ``padded[b, :lengths[b]]``). Unlike torch, never modifies the input."""
    caller = "unpad_sequence"
    x = _tensor(padded_sequences, caller)
    lengths = _lengths(lengths, caller)
    if x.ndim < 2:
        raise ShapeError(f"{caller}: expected a padded input of at least 2 dimensions, got "
                         f"{x.shape}")
    steps, batch = x.shape[:2][::-1] if batch_first else x.shape[:2]
    if len(lengths) != batch or (batch and (lengths.min() < 0 or lengths.max() > steps)):
        raise ShapeError(f"{caller}: expected {batch} lengths in 0..{steps} for the padded "
                         f"input of shape {x.shape}, got {lengths.tolist()}")
    if batch_first:
        return [x[b, :n] for b, n in enumerate(lengths.tolist())]
    return [x[:n, b] for b, n in enumerate(lengths.tolist())]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(sequences),
    lengths, enforce_sorted=enforce_sorted)``; with ``enforce_sorted`` the L_i must be
    non-increasing."""
    caller = "pack_sequence"
    tensors = _sequences(sequences, caller)
    lengths = np.array([s.shape[0] for s in tensors], dtype=np.int64)
    return _pack(pad_sequence(tensors), lengths, False, enforce_sorted, caller)


def unpack_sequence(packed_sequences):
    """Undo ``pack_sequence``: the list of sequences (L_i, *), in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
