"""More products: torch's fused forms ``beta * input + alpha * product`` (``addmm``,
``addmv``, ``addbmm``, ``baddbmm``, ``addr``) and ``input + value * t1 * t2`` (``addcmul``,
``addcdiv``), NumPy's ``vdot`` and ``cross``, torch's ``ger``.

Each is a composition of tinydl's differentiable ops (matmul, multiply, add, where), so its
gradients of every order come for free. torch's rule for ``beta = 0``: the input is ignored,
NaN and inf in it included (it is not multiplied by 0), and its gradient is 0.
"""
import warnings

import numpy as np

from tinydl.ops._util import ShapeError, normalize_axes, operands
from tinydl.ops.elementwise import astype, where
from tinydl.ops.linalg import _strict_product, matmul, outer
from tinydl.ops.shape import broadcast_to, reshape, stack, transpose
from tinydl.tensor import Tensor


def _check_integral_scalars(op, dtype, **scalars):
    """torch's rule: integer tensors take integer ``alpha``/``beta``/``value`` (torch truncates
    0.5 to 0 there, silently; tinydl refuses)."""
    if dtype.kind not in "iub":
        return
    for name, value in scalars.items():
        if isinstance(value, Tensor):
            value = value.data
        if np.ndim(value) or float(value) != int(value):
            raise TypeError(f"{op}: {name}={value!r} would make the {dtype} result fractional "
                            "(integer tensors take an integer scalar, as in torch)")


def _fused(op, input, product, beta, alpha):
    """``beta * input + alpha * product``, ``input`` broadcast to the product's shape (as
    torch's ``expand``: the product is never broadcast to the input's)."""
    input = operands(input, product)[0]
    shape = product.shape
    if _broadcast_shape(input.shape, shape) != shape:
        raise ShapeError(f"{op}: input of shape {input.shape} does not broadcast to the shape "
                         f"{shape} of the product")
    _check_integral_scalars(op, np.result_type(input.dtype, product.dtype), beta=beta,
                            alpha=alpha)
    if alpha == 0 and op in ("addmm", "addmv", "addbmm"):
        # torch skips the product there (inf and NaN in the factors do not reach the output;
        # its baddbmm and addr multiply by 0 and give NaN, as this does for them)
        product = where(np.False_, product, Tensor._wrap(np.zeros((), product.dtype)))
    elif alpha != 1:
        product = product * alpha
    if beta == 0:  # not 0 * input: NaN and inf there must not reach the output
        return where(np.True_, product, broadcast_to(input, shape))
    return (input if beta == 1 else input * beta) + product


def _broadcast_shape(a, b):
    """``np.broadcast_shapes(a, b)``, or None where the shapes do not broadcast."""
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """torch.addmm: ``beta * input + alpha * (mat1 @ mat2)`` for matrices (n, k) and (k, m);
    ``input`` broadcasts to (n, m). ``beta=0`` ignores input (NaN there included)."""
    product = _strict_product("addmm", mat1, mat2,
                              lambda a, b: a.ndim == b.ndim == 2 and a.shape[1] == b.shape[0],
                              "matrices (n, k) and (k, m)")
    return _fused("addmm", input, product, beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """torch.addmv: ``beta * input + alpha * (mat @ vec)`` for (n, m) and (m,); ``input``
    broadcasts to (n,)."""
    product = _strict_product("addmv", mat, vec,
                              lambda a, v: a.ndim == 2 and v.ndim == 1 and a.shape[1] == v.shape[0],
                              "a matrix (n, m) and a vector (m,)")
    return _fused("addmv", input, product, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """torch.baddbmm: ``beta * input + alpha * (batch1 @ batch2)`` for batches (B, n, k) and
    (B, k, m) (one B, no broadcasting); ``input`` broadcasts to (B, n, m)."""
    product = _strict_product("baddbmm", batch1, batch2, _same_batches,
                              "batches (B, n, k) and (B, k, m)")
    return _fused("baddbmm", input, product, beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """torch.addbmm: ``beta * input + alpha * sum_b batch1[b] @ batch2[b]`` for batches
    (B, n, k) and (B, k, m); ``input`` broadcasts to (n, m). The sum over the batch is one
    matrix product, (n, B k) @ (B k, m)."""
    batch1, batch2 = operands(batch1, batch2)
    if not _same_batches(batch1, batch2):
        raise ValueError(f"addbmm: expected batches (B, n, k) and (B, k, m), got shapes "
                         f"{batch1.shape} and {batch2.shape}")
    b, n, k = batch1.shape
    rows = reshape(transpose(batch1, (1, 0, 2)), (n, b * k))
    product = matmul(rows, reshape(batch2, (b * k, batch2.shape[2])))
    return _fused("addbmm", input, product, beta, alpha)


def _same_batches(a, b):
    return a.ndim == b.ndim == 3 and a.shape[0] == b.shape[0] and a.shape[2] == b.shape[1]


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """torch.addr: ``beta * input + alpha * outer(vec1, vec2)`` for vectors (n,) and (m,);
    ``input`` broadcasts to (n, m). For bool tensors, torch's logical form:
    ``(beta and input) or (alpha and vec1[i] and vec2[j])``."""
    input, vec1, vec2 = operands(input, vec1, vec2)
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"addr: expected vectors (n,) and (m,), got shapes {vec1.shape} and "
                         f"{vec2.shape}")
    if input.dtype == vec1.dtype == vec2.dtype == np.bool_:
        both = np.logical_and.outer(vec1.data, vec2.data) & bool(alpha)
        return Tensor._wrap(both | (np.broadcast_to(input.data, both.shape) & bool(beta)))
    return _fused("addr", input, outer(vec1, vec2), beta, alpha)


def _in_result_dtype(input, tensor1, tensor2):
    """``tensor1`` and ``tensor2`` cast to the dtype of ``input + tensor1 + tensor2`` (tinydl's
    promotion, 0-d rules included, found on one-element stand-ins), where torch's addcmul and
    addcdiv compute ``value * tensor1 * tensor2``: in the operands' own dtype uint8 200 * 2
    wrapped to 144, and float16 products underflowed before meeting a float32 tensor."""
    if input.dtype is tensor1.dtype is tensor2.dtype:  # the usual call: nothing to cast
        return [tensor1, tensor2]
    stand_ins = [Tensor._wrap(np.zeros((1,) * t.ndim, t.dtype)) for t in (input, tensor1, tensor2)]
    common = (stand_ins[0] + stand_ins[1] + stand_ins[2]).dtype
    return [t if t.dtype == common else astype(t, common) for t in (tensor1, tensor2)]


def addcmul(input, tensor1, tensor2, *, value=1):
    """torch.addcmul: ``input + value * tensor1 * tensor2``, all three broadcast together (the
    product taken in the result's dtype, as torch's)."""
    input, tensor1, tensor2 = operands(input, tensor1, tensor2)
    _check_integral_scalars("addcmul", np.result_type(input.dtype, tensor1.dtype, tensor2.dtype),
                            value=value)
    tensor1, tensor2 = _in_result_dtype(input, tensor1, tensor2)
    return input + (tensor1 if value == 1 else value * tensor1) * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    """torch.addcdiv: ``input + value * tensor1 / tensor2``, all three broadcast together
    (true division; integer ``tensor1`` and ``tensor2`` raise, as in torch)."""
    input, tensor1, tensor2 = operands(input, tensor1, tensor2)
    if tensor1.dtype.kind in "iub" and tensor2.dtype.kind in "iub":
        raise TypeError(f"addcdiv: integer division ({tensor1.dtype} / {tensor2.dtype}) is not "
                        "supported, as in torch; cast tensor1 or tensor2 to a float dtype")
    _check_integral_scalars("addcdiv", input.dtype, value=value)
    tensor1, tensor2 = _in_result_dtype(input, tensor1, tensor2)
    return input + (tensor1 if value == 1 else value * tensor1) / tensor2


def vdot(a, b):
    """NumPy's ``vdot``: ``sum(a.flat * b.flat)`` of two tensors with the same number of
    elements, any shapes (torch.vdot takes 1-D vectors: the same value there). 0-d result."""
    a, b = operands(a, b)
    if a.size != b.size:
        raise ValueError(f"vdot: shapes {a.shape} and {b.shape} hold {a.size} and {b.size} "
                         "elements; they must hold the same number")
    return matmul(reshape(a, (-1,)), reshape(b, (-1,)))


def ger(vec1, vec2):
    """torch.ger (an old name of torch.outer): ``out[i, j] = vec1[i] * vec2[j]`` of two 1-D
    tensors (``tinydl.outer``, NumPy's, also flattens other shapes)."""
    vec1, vec2 = operands(vec1, vec2)
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"ger: expected 1-D vectors, got shapes {vec1.shape} and {vec2.shape}")
    return outer(vec1, vec2)


# ----------------------------------------------------------------------------- cross
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, *, dim=None):
    """Cross product of 3-vectors along an axis, as ``np.cross``: the vectors lie along
    ``axisa`` of ``a`` and ``axisb`` of ``b`` (``axis`` sets all three), the other axes
    broadcast, and the result's vectors lie along ``axisc``.

    ``c = (a1 b2 - a2 b1, a2 b0 - a0 b2, a0 b1 - a1 b0)``. torch's ``dim=`` is an alias of
    ``axis``. Without an axis this is NumPy's last axis, also where ``torch.cross(a, b)``
    (deprecated) takes the first axis of length 3: write ``dim=`` there. As NumPy, vectors of
    length 2 are read with a third component 0 (deprecated in NumPy 2, so it warns; torch
    refuses them), and two 2-vectors give the scalar ``a0 b1 - a1 b0``.
    """
    if dim is not None:
        if axis is not None:
            raise TypeError("cross: got both 'axis' and its torch alias 'dim'")
        axis = dim
    a, b = operands(a, b)
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise TypeError("cross: boolean tensors have no cross product (the difference of two "
                        "bools is not defined)")
    if axis is not None:
        axisa = axisb = axisc = axis
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"cross: needs tensors of at least 1 dimension, got shapes {a.shape} "
                         f"and {b.shape}")
    a = a.moveaxis(normalize_axes(axisa, a.ndim, "cross")[0], -1)
    b = b.moveaxis(normalize_axes(axisb, b.ndim, "cross")[0], -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: the vectors must have length 2 or 3, got {na} and {nb} (the "
                         "axes axisa, axisb, or dim)")
    if _broadcast_shape(a.shape[:-1], b.shape[:-1]) is None:
        raise ShapeError(f"cross: the shapes {a.shape[:-1]} and {b.shape[:-1]} beside the "
                         "vectors cannot be broadcast together")
    if na == 2 or nb == 2:
        warnings.warn("cross: vectors of length 2 are deprecated in NumPy 2 (and refused by "
                      "torch); give 3-vectors", DeprecationWarning, stacklevel=2)
    a0, a1, a2 = (a[..., i] if i < na else None for i in range(3))
    b0, b1, b2 = (b[..., i] if i < nb else None for i in range(3))
    z = a0 * b1 - a1 * b0
    if na == nb == 2:
        return z
    # a missing third component is 0: its terms are left out (not 0 * b, NaN for b = inf)
    out = stack([_minus(_times(a1, b2), _times(a2, b1)),
                 _minus(_times(a2, b0), _times(a0, b2)), z], axis=-1)
    return out.moveaxis(-1, normalize_axes(axisc, out.ndim, "cross")[0])


def _times(p, q):
    return None if p is None or q is None else p * q


def _minus(p, q):
    return p if q is None else -q if p is None else p - q


def torch_cross(a, b, dim=None):
    """torch's ``Tensor.cross(other, dim=None)``: the cross product of 3-vectors along ``dim``.

    Without ``dim``, torch (deprecated) takes the first axis of length 3; that axis is used
    here where it is the only candidate, and where the last axis also has length 3 (torch's
    future default, torch.linalg.cross's and NumPy's) the call is ambiguous and raises: pass
    ``dim``."""
    a, b = operands(a, b)
    shape = _broadcast_shape(a.shape, b.shape)
    if shape is None:
        raise ShapeError(f"cross: shapes {a.shape} and {b.shape} cannot be broadcast together")
    if dim is None:
        threes = [i for i, n in enumerate(shape) if n == 3]
        if not threes:
            raise ValueError(f"cross: no axis of length 3 in shapes {a.shape} and {b.shape}")
        if threes[0] != len(shape) - 1 and shape[-1] == 3:
            raise ValueError(
                f"cross: for shapes {a.shape} and {b.shape} torch's deprecated default takes "
                f"axis {threes[0]} (the first of length 3) and its future default, as NumPy's, "
                f"the last axis; pass dim={threes[0]} or dim=-1")
        dim = threes[0]
    dim = normalize_axes(dim, len(shape), "cross")[0]
    for name, t in (("input", a), ("other", b)):
        if t.ndim != len(shape) or t.shape[dim] != 3:
            raise ValueError(f"cross: {name} of shape {t.shape} must have length 3 along dim "
                             f"{dim} (torch takes 3-vectors of equal rank)")
    return cross(a, b, axis=dim)
