"""Recycled scratch buffers for the large temporaries of convolution.

A fresh ``np.empty`` of tens of megabytes is served by a new ``mmap``, and the first write
to each of its pages takes a page fault in which the kernel zeroes the page. For im2col's
column buffer (38 MB on a 32x32x32x32 batch with a 3x3 kernel) that cost 8 ms, more than
filling the buffer itself (6 ms). Convolution therefore takes its columns and Winograd tiles
from here and gives them back when the backward pass (or, without a graph, the forward) is
done with them, so a training loop reuses the same already-mapped memory at every step.

Only code that owns a buffer outright may give it back: nothing else may hold a view of it.
"""
import math
import threading

import numpy as np

MIN_BYTES = 1 << 20  # smaller arrays come from malloc's free lists quickly anyway
LIMIT_BYTES = 256 << 20  # most bytes kept idle; the least recently returned go first
_idle = []  # idle uint8 buffers, least recently returned first
_idle_bytes = 0
_lock = threading.Lock()


def take(shape, dtype):
    """A C-contiguous array of ``shape`` and ``dtype``, uninitialised (like ``np.empty``).

    Reuses an idle buffer of exactly the same byte size when there is one.
    """
    global _idle_bytes
    dtype = np.dtype(dtype)
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes < MIN_BYTES:
        return np.empty(shape, dtype)
    raw = None
    with _lock:
        for i in range(len(_idle) - 1, -1, -1):
            if _idle[i].nbytes == n_bytes:
                raw = _idle.pop(i)
                _idle_bytes -= n_bytes
                break
    if raw is None:
        raw = np.empty(n_bytes, np.uint8)
    return raw.view(dtype).reshape(shape)


def give(array):
    """Return a buffer from ``take`` (or a view of one) for reuse.

    Arrays that cannot have come from ``take`` (views of other memory, other dtypes, small
    ones) are ignored; the caller must own the buffer outright, as nothing checks that.
    """
    global _idle_bytes
    raw = array
    while isinstance(raw.base, np.ndarray):
        raw = raw.base
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.nbytes < MIN_BYTES or raw.base is not None:
        return
    if raw.nbytes > LIMIT_BYTES:
        return
    with _lock:
        _idle.append(raw)
        _idle_bytes += raw.nbytes
        while _idle_bytes > LIMIT_BYTES:
            _idle_bytes -= _idle.pop(0).nbytes


def clear():
    """Drop every idle buffer (their memory goes back to the system)."""
    global _idle_bytes
    with _lock:
        _idle.clear()
        _idle_bytes = 0
