"""Fractional max pooling (Graham, 2014, "Fractional Max-Pooling"), torch's
``F.fractional_max_pool2d`` / ``fractional_max_pool3d`` and their ``_with_indices`` forms.

Each (sample, channel) plane is cut into ``output_size`` windows of size ``kernel_size`` whose
starts advance by a non-integer step ``alpha = (size - k) / (out - 1)``: start i is
``int((i + u) alpha) - int(u alpha)`` (the last one ``size - k``), with ``u`` in [0, 1) one
random number per plane and axis, computed in the input's dtype exactly as torch does, so
that given ``_random_samples`` the output equals torch's. The window starts are found in
NumPy; the output is the input gathered at each window's maximum (``take_along_axis``), so
the gradient reaches the winning entries only and higher orders come for free.
"""
import numpy as np

import tinydl
from tinydl.autograd import gradient_tied_to
from tinydl.ops._checks import _check_ndim, _tensor, _tuple
from tinydl.random import get_generator
from tinydl.tensor import Tensor


def _output_ratio(ratio, n, caller):
    """``output_ratio`` as n floats in (0, 1); torch's functional form wants a tuple, its
    module also a single number: both are accepted here."""
    ratio = tuple(ratio) if isinstance(ratio, (tuple, list)) else (ratio,) * n
    if len(ratio) != n or not all(0 < float(r) < 1 for r in ratio):
        raise ValueError(f"{caller}: output_ratio must be a number or {n} numbers between 0 and "
                         f"1 (exclusive), got {ratio!r}")
    return tuple(float(r) for r in ratio)


def _window_starts(samples, size, out, k, dtype):
    """(N, C, out) starts along one axis of length ``size`` from samples (N, C): torch's
    intervals, in ``dtype`` arithmetic so that float32 rounds as torch's float32 does."""
    starts = np.full(samples.shape + (out,), size - k, dtype=np.int64)
    if out > 1:
        alpha = dtype.type(size - k) / dtype.type(out - 1)
        steps = np.arange(out - 1, dtype=dtype)
        u = samples.astype(dtype)[..., None]
        # astype(int64) truncates toward zero, as C's cast does
        starts[..., :-1] = ((steps + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    return starts


def _samples(samples, x, n, caller):
    """The (N, C, n) random numbers, drawn from tinydl's generator when not given."""
    batch, channels = x.shape[:2]
    if samples is None:
        return get_generator().random((batch, channels, n), dtype=x.dtype)
    data = samples.data if isinstance(samples, Tensor) else np.asarray(samples)
    if data.dtype != x.dtype:
        raise TypeError(f"{caller}: _random_samples must have the input's dtype {x.dtype}, got "
                        f"{data.dtype}")
    # torch reads the first N rows of a larger batch of samples; a smaller one it overruns
    if data.ndim != 3 or data.shape[0] < batch or data.shape[1:] != (channels, n):
        raise ValueError(f"{caller}: _random_samples must have shape (N, C, {n}) = "
                         f"({batch}, {channels}, {n}) for an input of shape {x.shape}, got "
                         f"{data.shape}")
    if not np.all((data >= 0) & (data < 1)):
        raise ValueError(f"{caller}: _random_samples must lie in [0, 1)")
    return data[:batch]


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, samples, n, caller):
    """(output, indices) of n-D fractional max pooling; see the module docstring."""
    x = _tensor(input, caller)
    _check_ndim(x, (n + 1, n + 2), caller, "(N, C, D, H, W)" if n == 3 else "(N, C, H, W)")
    if x.dtype.kind != "f":
        raise TypeError(f"{caller}: input must be floating point, got dtype {x.dtype}")
    kernel = _tuple(kernel_size, n, caller, "kernel_size", 1)
    spatial = x.shape[-n:]
    if output_size is not None:
        output_size = _tuple(output_size, n, caller, "output_size", 0)
    elif output_ratio is not None:
        ratio = _output_ratio(output_ratio, n, caller)
        output_size = tuple(int(s * r) for s, r in zip(spatial, ratio))
    else:
        raise ValueError(f"{caller} requires specifying either an output_size or an "
                         "output_ratio")
    if 0 in spatial:
        raise ValueError(f"{caller}: expected an input with non-zero spatial sizes, got shape "
                         f"{x.shape}")
    # torch's bound: the windows must fit, and its 3-D form asks for one spare entry too
    spare = 1 if n == 3 else 0
    for axis, (k, out, size) in enumerate(zip(kernel, output_size, spatial)):
        if out + k - 1 + spare > size:
            raise ValueError(f"{caller}: kernel_size {k} with output size {out} too large for "
                             f"the input's spatial axis {axis} of size {size} (need "
                             f"output_size + kernel_size - 1 {'<' if spare else '<='} input "
                             "size, as torch)")
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x.reshape((1,) + x.shape)
    u = _samples(samples, x, n, caller)
    # torch's sample order: (w, h) for 2-D planes, (d, h, w) for volumes
    order = (1, 0) if n == 2 else (0, 1, 2)
    starts = [_window_starts(u[..., order[a]], spatial[a], output_size[a], kernel[a], x.dtype)
              for a in range(n)]
    # flat index into the plane of every (output position, kernel offset), by broadcasting:
    # axis a contributes (start + offset) * (product of the later spatial sizes)
    batch, channels = x.shape[:2]
    flat = np.zeros((batch, channels) + output_size + kernel, dtype=np.int64)
    for a in range(n):
        at = starts[a][..., None] + np.arange(kernel[a])  # (N, C, out_a, k_a)
        shape = [batch, channels] + [1] * (2 * n)
        shape[2 + a], shape[2 + n + a] = output_size[a], kernel[a]
        flat = flat + at.reshape(shape) * int(np.prod(spatial[a + 1:], dtype=np.int64))
    outputs, volume = int(np.prod(output_size, dtype=np.int64)), int(np.prod(kernel))
    flat = flat.reshape(batch, channels, outputs, volume)
    planes = x.reshape((batch, channels, int(np.prod(spatial))))
    plane = planes.data
    values = np.take_along_axis(plane, flat.reshape(batch, channels, outputs * volume), 2)
    values = values.reshape(flat.shape)
    # the first maximum of each window in (d, h, w) order; a NaN wins, the last one, as torch
    nans = np.isnan(values)
    winner = np.argmax(np.where(nans, -np.inf, values), axis=-1)
    if nans.any():
        last_nan = volume - 1 - np.argmax(nans[..., ::-1], axis=-1)
        winner = np.where(nans.any(axis=-1), last_nan, winner)
    indices = np.take_along_axis(flat, winner[..., None], -1)[..., 0]
    out = tinydl.take_along_axis(planes, Tensor._wrap(indices), 2)
    out = gradient_tied_to(out.reshape((batch, channels) + output_size), x)  # as torch's
    indices = indices.reshape(out.shape)
    if unbatched:
        out, indices = out.reshape(out.shape[1:]), indices[0]
    return out, Tensor._wrap(np.ascontiguousarray(indices))


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """(output, indices) of ``fractional_max_pool2d`` whatever ``return_indices`` says;
    indices are flat ``h*W + w`` into each input plane, int64, as torch's."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                _random_samples, 2, "fractional_max_pool2d")


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) to (..., Ho, Wo): the maximum of
    each kh x kw window at torch's pseudo-random starts. ``output_size`` (Ho, Wo), or
    ``output_ratio`` r in (0, 1) giving ``int(H r)``; ``_random_samples`` (N, C, 2) in [0, 1)
    (sample 0 drives the width, sample 1 the height, as torch) or drawn from tinydl's
    generator. With ``return_indices`` also the flat indices of the maxima."""
    out = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio,
                                             return_indices, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """(output, indices) of ``fractional_max_pool3d`` whatever ``return_indices`` says;
    indices are flat ``(d*H + h)*W + w`` into each input volume, int64, as torch's."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                _random_samples, 3, "fractional_max_pool3d")


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) to (..., Do, Ho, Wo), as
    ``fractional_max_pool2d`` with ``_random_samples`` (N, C, 3): samples 0, 1, 2 drive depth,
    height and width (torch's order)."""
    out = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio,
                                             return_indices, _random_samples)
    return out if return_indices else out[0]
