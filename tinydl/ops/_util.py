"""Helpers shared by every op family: the one broadcasting reduction, axis normalisation."""
import numpy as np

from tinydl.tensor import Tensor


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes NumPy broadcasting added or stretched, so it has ``shape``.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, the
    gradient of ``x`` is the sum of ``grad`` over the broadcast axes. Written with tinydl ops,
    so it is itself differentiable. This is the only place that rule lives.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def as_tensor(x):
    """Wrap arrays (not Python scalars) as constant Tensors; leave Tensors alone."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return Tensor._wrap(np.asarray(x))
    return x


def shape_of(x):
    """Shape of a Tensor, array or Python scalar (``()`` for scalars)."""
    return x.shape if isinstance(x, (Tensor, np.ndarray, np.generic)) else ()


def normalize_axes(axis, ndim, op):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes; checks bounds."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of bounds for a tensor of {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def keepdims_shape(in_shape, axes):
    """The shape a reduction over ``axes`` has with ``keepdims=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


def expand_reduced(grad, in_shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:
        grad = grad.reshape(keepdims_shape(in_shape, axes))
    return grad.broadcast_to(in_shape)


def check_broadcast(op, a, b):
    """Raise a clear error naming ``op`` and both shapes when ``a`` and ``b`` do not broadcast."""
    sa, sb = shape_of(a), shape_of(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(f"{op}: shapes {sa} and {sb} cannot be broadcast together") from None
