"""Products of tensors: ``matmul`` (NumPy's rules for 1-D operands and batched broadcasting),
``einsum`` (every subscript string NumPy accepts) and the products built on it or on the
elementwise ops: ``tensordot``, ``dot``, ``inner``, ``outer``, ``kron``; and ``AlongAxis``,
a constant sparse matrix applied along one axis (resampling and adaptive pooling).

The decompositions and solvers (``inv``, ``det``, ``svd``, ``eigh``...) are in ``tinydl/linalg.py``.
"""
import math

import numpy as np

from tinydl import threads
from tinydl.autograd import Function
from tinydl.ops import conv
from tinydl.ops._util import (ShapeError, as_rows, as_tensor, matmul_arrays, operands,
                              promote, unbroadcast)
from tinydl.tensor import Tensor


class MatMul(Function):
    """C = A @ B; dA = G @ B^T, dB = A^T @ G, summed over broadcast batch axes."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must be at least 1-D, got shapes {a.shape} "
                             f"and {b.shape}")
        try:
            return _product(a, b)
        except ValueError:
            inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
            if a.shape[-1] == inner_b:
                raise ShapeError(f"matmul: the batch axes of shapes {a.shape} and {b.shape} do "
                                 "not broadcast") from None
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({a.shape[-1]} != {inner_b})") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        a = as_tensor(a)
        b = as_tensor(b)
        if a.ndim == 1 and b.ndim == 1:  # inner product: g is a scalar
            return (g * b if a.requires_grad else None, g * a if b.requires_grad else None)
        # Promote 1-D operands to matrices so one rule covers every case.
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.expand_dims(-2)
        if b.ndim == 1:
            g2 = g2.expand_dims(-1)
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if b.requires_grad and b2.ndim == 2 < a2.ndim:
            # A matrix met every matrix of a stack: dB is one product of all their rows,
            # not a stack of products summed afterwards.
            gb = (as_rows(a2).swapaxes(0, 1) @ as_rows(g2)).reshape(b.shape)
        elif b.requires_grad:
            gb = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


_MATRIX_LIKE = (Tensor, np.ndarray, list, tuple)


def matmul(a, b):
    """Matrix product ``a @ b`` with NumPy's rules for 1-D and batched operands (a list is
    read as ``tinydl.tensor`` reads it, its floats in the other operand's float dtype)."""
    if not (isinstance(a, _MATRIX_LIKE) and isinstance(b, _MATRIX_LIKE)):
        raise TypeError(f"matmul: operands must be tensors, arrays or lists, got "
                        f"{type(a).__name__} and {type(b).__name__} (a scalar has no matrix "
                        "product; use *)")
    # torch's promotion, as in +: an integer tensor beside a float32 one makes float32 (NumPy's
    # matmul gave float64, and everything downstream followed).
    a, b = promote(*operands(a, b))
    threads.adapt()  # the BLAS pool follows the machine's load (tinydl.threads)
    return MatMul.apply(a, b)


SHARED_BLOCKS_PER_THREAD = 2  # blocks of a shared product per thread (see _shared_product)
STACK_MIN_WORK = 1 << 26  # multiply-adds from which a stack of products is shared


def _product(a, b):
    """``a @ b`` of arrays (a stack times a matrix as one product of the stack's rows, as
    ``matmul_arrays`` runs it): one BLAS call, or blocks that the task threads share
    (``_shared_product``) for

    - a large product on a busy machine, under the automatic thread policy
      (``tinydl.threads.shares_product``);
    - a stack of at least two matrices per task thread and ``STACK_MIN_WORK`` multiply-adds
      or more, whenever there is more than one task thread (``threads.task_threads``), in
      blocks of whole matrices. OpenBLAS splits each small product of a stack between its
      threads, which then wait for each other once per product. On an idle machine (2 cores,
      float32, each product allocating its output), 80 products (64,128,64) @ (64,64,128)
      took 37 ms shared, 47 on BLAS's two threads, 56 on one; 80 of (256,64,64) @
      (256,64,64): 30, 44 and 45; ten of (512,128,64) @ (512,64,128): 63, 144 and 93. Below
      ``STACK_MIN_WORK`` the hand-offs cost more than they gain: 160 of (16,128,128) @
      (16,128,128) 51, 45 and 59; 320 of (64,64,64) @ (64,64,64) 54, 45 and 45.
    """
    if (a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2] or a.dtype != b.dtype
            or a.dtype not in (np.float32, np.float64)):
        return matmul_arrays(a, b)
    if a.ndim > 2 and b.ndim == 2:  # one product of all the stack's rows (matmul_arrays)
        return _product(as_rows(a), b).reshape(a.shape[:-1] + b.shape[1:])
    work = _multiply_adds(a.shape, b.shape)
    if work >= STACK_MIN_WORK and (threads.shares_product(work) or _shares_stack(a, b)):
        return _shared_product(a, b)
    return matmul_arrays(a, b)


def _shares_stack(a, b):
    """Whether the product of ``a`` and ``b`` is a stack with at least
    ``SHARED_BLOCKS_PER_THREAD`` matrices per task thread along its first axis, and there
    are several task threads."""
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])  # as _shared_product reads it
    if not stack:
        return False
    count = threads.task_threads()
    return count > 1 and stack[0] >= SHARED_BLOCKS_PER_THREAD * count


def _shared_product(a, b):
    """``np.matmul(a, b)`` of float matrices (or stacks) in blocks that the task threads claim
    one at a time (``tinydl.ops.conv.in_parallel``, BLAS on one thread each): blocks of whole
    matrices of a stack whose first axis has a block for each, else of the output's rows, or
    of its columns where those are more. Each block is its own BLAS call whichever thread runs
    it, so the result is the same in every run.

    Two blocks per thread: four blocks of a 1024^3 product beside two busy loops took 51-66
    ms a call, two 52-100, six 56-73, sixteen 72-88 (2 cores). A stack of small matrices,
    (512,128,64) @ (512,64,128) beside them: 133 ms in blocks of matrices, 161 in blocks of
    rows, 198 on one BLAS thread and 586 on two (each product allocating its output)."""
    m, n = a.shape[-2], b.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (m, n)
    out = np.empty(shape, a.dtype)
    wanted = SHARED_BLOCKS_PER_THREAD * threads.task_threads()
    if len(shape) > 2 and shape[0] >= wanted:
        a = a[(np.newaxis,) * (len(shape) - a.ndim)]  # views with the output's axes
        b = b[(np.newaxis,) * (len(shape) - b.ndim)]

        def block(cut):  # an operand of length 1 there broadcasts
            return (a[cut] if a.shape[0] > 1 else a), (b[cut] if b.shape[0] > 1 else b), out[cut]
        length = shape[0]
    elif m >= n:
        def block(cut):
            return a[..., cut, :], b, out[..., cut, :]
        length = m
    else:
        def block(cut):
            return a, b[..., :, cut], out[..., :, cut]
        length = n
    count = min(length, wanted)
    bounds = [length * i // count for i in range(count + 1)]

    def part(claim):
        for i in iter(claim, None):
            x, y, into = block(slice(bounds[i], bounds[i + 1]))
            np.matmul(x, y, out=into)

    conv.in_parallel(part, count, _multiply_adds(a.shape, b.shape), min_work=0)
    return out


def _strict_product(op, a, b, fits, expected, note=""):
    """``matmul(a, b)`` for torch's shape-checked spellings, once ``fits(a, b)`` holds; else a
    ValueError naming ``op``, the ``expected`` shapes and the ones given."""
    a, b = operands(a, b)
    if not fits(a, b):
        raise ValueError(f"{op}: expected {expected}, got shapes {a.shape} and {b.shape}{note}")
    return matmul(a, b)


def mm(a, b):
    """torch.mm: the product of two matrices, (n, k) @ (k, m); other shapes raise."""
    return _strict_product(
        "mm", a, b, lambda a, b: a.ndim == b.ndim == 2 and a.shape[1] == b.shape[0],
        "matrices (n, k) and (k, m)", " (matmul takes batches and vectors)")


def mv(a, v):
    """torch.mv: a matrix times a vector, (n, m) @ (m,) -> (n,); other shapes raise."""
    return _strict_product(
        "mv", a, v, lambda a, v: a.ndim == 2 and v.ndim == 1 and a.shape[1] == v.shape[0],
        "a matrix (n, m) and a vector (m,)")


def bmm(a, b):
    """torch.bmm: a batch of matrix products, (B, n, k) @ (B, k, m) with one B, no
    broadcasting; other shapes raise."""
    return _strict_product(
        "bmm", a, b, lambda a, b: (a.ndim == b.ndim == 3 and a.shape[0] == b.shape[0]
                                   and a.shape[2] == b.shape[1]),
        "batches (B, n, k) and (B, k, m)", " (matmul broadcasts batches)")


def _multiply_adds(a_shape, b_shape):
    """Multiply-adds of ``matmul`` on these shapes: batch * m * k * n (the larger operand's
    batch, which the other broadcasts to)."""
    k = a_shape[-1]
    m = a_shape[-2] if len(a_shape) > 1 else 1
    n = b_shape[-1] if len(b_shape) > 1 else 1
    batch = max(math.prod(a_shape[:-2]), math.prod(b_shape[:-2]))
    return batch * m * k * n


# ----------------------------------------------------------------------------- einsum
# The labels NumPy accepts, in its order (a sublist's 0..25 are 'A'..'Z', 26..51 'a'..'z').
_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LABEL_SET = frozenset(_LABELS)


def _parse_einsum(subscripts, shapes):
    """``subscripts`` for operands of ``shapes`` in explicit form, each ellipsis spelled out in
    labels of its own: ``(input terms, output term, {label: length})``.

    An ellipsis stands for the leading axes an operand has beyond its labels; operands with
    fewer such axes are right-aligned against the others (NumPy's broadcasting), and lengths 1
    broadcast. The implicit output (no ``->``) is the ellipsis axes followed by the labels that
    occur once, in alphabetical order (upper case first), as in NumPy. An explicit output
    without ``...`` sums the ellipsis axes out (torch's reading; NumPy refuses it).
    """
    spec = "".join(subscripts.split())
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), "
                         f"got {len(shapes)}")
    for term in terms + ([rhs] if arrow else []):
        bad = set(term.replace("...", "", 1)) - _LABEL_SET
        if bad:
            raise ShapeError(f"einsum: invalid subscript(s) {''.join(sorted(bad))!r} in "
                             f"{subscripts!r}: labels are letters a-z and A-Z, with at most one "
                             "'...' per operand and one '->'")
    counts = {}
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." not in term and named != len(shape) or named > len(shape):
            raise ValueError(f"einsum: operand {len(counts)} of shape {tuple(shape)} has "
                             f"{len(shape)} axes, but its subscripts {term!r} name {named}")
        counts[len(counts)] = len(shape) - named
    n_ellipsis = max(counts.values(), default=0)
    ellipsis, expanded = "", terms
    if "..." in spec:
        free = [c for c in _LABELS if c not in spec]
        if n_ellipsis > len(free):
            raise ValueError(f"einsum: {subscripts!r} needs more than {len(_LABELS)} labels")
        ellipsis = "".join(free[:n_ellipsis])
        expanded = [term.replace("...", ellipsis[n_ellipsis - counts[i]:])
                    for i, term in enumerate(terms)]

    def describe(label):
        return "an axis under '...'" if label in ellipsis else f"label {label!r}"

    sizes = {}
    for i, (term, shape) in enumerate(zip(expanded, shapes)):
        own = {}
        for label, n in zip(term, shape):
            if own.setdefault(label, n) != n:
                raise ValueError(f"einsum: {describe(label)} is repeated in operand {i} "
                                 f"(subscripts {terms[i]!r}, shape {tuple(shape)}) with "
                                 f"different lengths {own[label]} and {n}")
            seen = sizes.get(label, 1)
            if seen != 1 and n not in (1, seen):
                raise ShapeError(f"einsum: {describe(label)} has length {n} in operand {i} "
                                 f"(shape {tuple(shape)}) but {seen} in an earlier operand, and "
                                 "lengths must match or be 1")
            sizes[label] = n if seen == 1 else seen
    if arrow:
        output = rhs.replace("...", ellipsis)
        for label in output:
            if output.count(label) > 1:
                raise ValueError(f"einsum: output label {label!r} appears more than once in "
                                 f"{subscripts!r}")
            if label not in sizes:
                raise ValueError(f"einsum: output label {label!r} of {subscripts!r} is not in "
                                 "any operand")
    else:
        named = "".join(terms).replace("...", "")
        output = ellipsis + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    return expanded, output, sizes


class Einsum(Function):
    """out = einsum(terms -> output); d operand_k = einsum(g and the other operands -> the
    labels of operand k), broadcast over the labels only operand k has and placed on the
    diagonal where operand k repeats a label."""

    retain_output = False

    @staticmethod
    def forward(ctx, *operands, terms=(), output="", optimize=False):
        ctx.terms, ctx.output_term = terms, output
        equation = ",".join(terms) + "->" + output
        if any(getattr(a, "dtype", None) == np.float16 for a in operands):
            # float16 summed in float32 and rounded once, as torch (and tinydl's matmul):
            # NumPy's float16 einsum keeps float16 running sums, 2048 for 5000 ones.
            wide = [a.astype(np.float32) if getattr(a, "dtype", None) == np.float16 else a
                    for a in operands]
            out = np.einsum(equation, *wide, optimize=optimize)
            return np.asarray(out).astype(np.result_type(*operands), copy=False)
        return np.einsum(equation, *operands, optimize=optimize)

    @staticmethod
    def backward(ctx, g):
        operands, terms = ctx.inputs, ctx.terms
        return tuple(_einsum_grad(g, operands, terms, ctx.output_term, k)
                     if isinstance(t, Tensor) and t.requires_grad else None
                     for k, t in enumerate(operands))


class UnaryEinsum(Einsum):
    """einsum of one operand that sums labels out (a trace, a sum): backward reads no values."""

    retain_inputs = ()


class EinsumView(UnaryEinsum):
    """einsum of one operand that keeps every label (a transpose, a diagonal): NumPy returns
    a view of the input."""

    view = True


def _einsum_grad(g, operands, terms, output, k):
    """The gradient of operand ``k`` of ``einsum(terms -> output)``, written as einsums."""
    term = terms[k]
    length = dict(zip(term, operands[k].shape))
    unique = "".join(dict.fromkeys(term))
    others = [j for j in range(len(terms)) if j != k]
    reachable = set(output).union(*(terms[j] for j in others))
    kept = "".join(c for c in unique if c in reachable)
    sources = [output] + [terms[j] for j in others]
    grad = g if sources == [kept] else einsum(",".join(sources) + "->" + kept, g,
                                               *[operands[j] for j in others])
    # Lengths 1 of operand k that broadcast against longer ones: sum their gradient back.
    stretched = tuple(i for i, c in enumerate(kept) if length[c] == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    # Labels that only operand k has were summed out of the output: each of their elements
    # received all of g, so the gradient is broadcast along them.
    grad = grad.reshape(tuple(grad.shape[kept.index(c)] if c in kept else 1 for c in unique))
    grad = grad.broadcast_to(tuple(length[c] for c in unique))
    if len(unique) == len(term):
        return grad
    # A label repeated in operand k read only its diagonal: the gradient goes back onto it,
    # each repeat tied to the first occurrence by an identity matrix.
    spare = iter(c for c in _LABELS if c not in term)
    target, ties, eyes = "", [], []
    for c in term:
        if c in target:
            tied = next(spare)
            target += tied
            ties.append(c + tied)
            eyes.append(np.eye(length[c], dtype=g.dtype))
        else:
            target += c
    return einsum(",".join([unique] + ties) + "->" + target, grad, *eyes)


def einsum(subscripts, *operands):
    """Einstein summation as ``np.einsum``: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

    Every subscript string NumPy accepts: implicit output (``'ij,jk'``: the labels that occur
    once, alphabetically, after the ``...`` axes), explicit output (``'->'``), ``'...'`` for
    leading axes that broadcast, a label repeated in one operand (``'ii->i'``: the diagonal,
    ``'ii'``: the trace), labels summed out, lengths 1 broadcasting against longer ones. Also
    NumPy's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` and torch's operands in one
    list (``einsum('ij,jk', [a, b])``). An explicit output without
    ``...`` sums the ``...`` axes out, as torch does.

    The gradient of each operand is another einsum, the subscripts re-ordered (see
    ``_einsum_grad``), so it is differentiable again. Integer operands meeting float ones are
    cast to the float dtype (torch's promotion); one bool or integer operand summed over a
    label adds up in int64, as torch's. Large products go through NumPy's
    contraction-order optimizer (``optimize='greedy'``: pairwise BLAS ``tensordot``).
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists((subscripts,) + operands)
    elif (len(operands) == 1 and isinstance(operands[0], (list, tuple))
          and "," in subscripts.split("->")[0]):
        # torch's einsum('ij,jk', [a, b]): the operands as one list (NumPy's bare
        # 'inhomogeneous shape' before); one subscript term with a list is that list's array
        operands = tuple(operands[0])
    operands = [o if isinstance(o, Tensor) else Tensor._wrap(np.asarray(o)) for o in operands]
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    floats = [o.dtype for o in operands if o.dtype.kind == "f"]
    if floats and len(floats) < len(operands):
        target = np.result_type(*floats)
        operands = [o if o.dtype.kind == "f" else Tensor._wrap(o.data.astype(target))
                    for o in operands]
    terms, output, sizes = _parse_einsum(subscripts, [o.shape for o in operands])
    if len(operands) == 1:
        if set(output) == set(terms[0]):
            return EinsumView.apply(operands[0], terms=tuple(terms), output=output)
        x = operands[0]
        if x.dtype.kind == "b" or x.dtype.kind in "iu" and x.dtype.itemsize < 8:
            # A sum: bool and narrow integers add up in int64, as torch's einsum and every
            # tinydl sum do (NumPy's einsum keeps the dtype: a mask summed to True, int8
            # wrapped). Integer tensors never require grad: the cast is a constant.
            x = Tensor._wrap(x.data.astype(np.int64))
        return UnaryEinsum.apply(x, terms=tuple(terms), output=output)
    # The contraction-order search costs ~20 us: worth it once the naive loop is longer.
    optimize = "greedy" if math.prod(sizes.values()) > 2**15 else False
    return Einsum.apply(*operands, terms=tuple(terms), output=output, optimize=optimize)


def _from_sublists(args):
    """NumPy's sublist form (operand, labels, operand, labels, ..., [output labels]) as a
    subscript string and the operands; a label is an int 0..51 or ``...``."""
    def term(labels):
        out = ""
        for s in labels:
            if s is Ellipsis:
                out += "..."
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LABELS):
                out += _LABELS[s]
            else:
                raise ValueError(f"einsum: sublist labels are ints in [0, {len(_LABELS)}) or "
                                 f"Ellipsis, got {s!r}")
        return out

    operands, terms = args[0:len(args) - len(args) % 2:2], args[1::2]
    subscripts = ",".join(term(t) for t in terms[:len(operands)])
    if len(args) % 2:
        subscripts += "->" + term(args[-1])
    return subscripts, operands


# ----------------------------------------------------------------------------- products
def _axis(axis, ndim, op, which):
    """One axis of operand ``which`` as a non-negative int (order kept, unlike normalize_axes)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not (
            -ndim <= axis < ndim):
        raise ValueError(f"{op}: axis {axis!r} is out of bounds for {which}, which has {ndim} "
                         "dimensions")
    return int(axis) % ndim


def tensordot(a, b, axes=2, *, dims=None):
    """Sum of products over ``axes`` (as ``np.tensordot``; ``dims`` is torch's name).

    ``axes=N``: the last N axes of ``a`` with the first N of ``b``; ``axes=(axes_a, axes_b)``:
    the listed axes, pairwise. The output has ``a``'s remaining axes, then ``b``'s. Written as
    an ``einsum``, whose gradient it has.
    """
    if dims is not None:
        if axes != 2:
            raise TypeError("tensordot: got both 'axes' and its torch alias 'dims'")
        axes = dims
    a, b = _as_operand(a), _as_operand(b)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} must be in [0, {min(a.ndim, b.ndim)}] for "
                             f"shapes {a.shape} and {b.shape}")
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of axis lists, got "
                             f"{axes!r}") from None
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: {len(axes_a)} axes of a {axes_a} against "
                             f"{len(axes_b)} of b {axes_b}")
        axes_a = [_axis(x, a.ndim, "tensordot", "a") for x in axes_a]
        axes_b = [_axis(x, b.ndim, "tensordot", "b") for x in axes_b]
        if len(set(axes_a)) < len(axes_a) or len(set(axes_b)) < len(axes_b):
            raise ValueError(f"tensordot: repeated axis in {axes!r}")
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shape mismatch: axis {i} of a (shape {a.shape}) has "
                             f"length {a.shape[i]}, axis {j} of b (shape {b.shape}) {b.shape[j]}")
    if a.ndim + b.ndim - len(axes_a) > len(_LABELS):
        raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} have too many axes")
    labels_a = _LABELS[:a.ndim]
    rest = iter(_LABELS[a.ndim:])
    labels_b = "".join(labels_a[axes_a[axes_b.index(j)]] if j in axes_b else next(rest)
                       for j in range(b.ndim))
    out = "".join(c for i, c in enumerate(labels_a) if i not in axes_a) + "".join(
        c for j, c in enumerate(labels_b) if j not in axes_b)
    return einsum(f"{labels_a},{labels_b}->{out}", a, b)


def _as_operand(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def dot(a, b):
    """NumPy's ``dot``: a product for 0-d operands, the inner product of vectors, the matrix
    product of 1-D and 2-D operands, and beyond 2-D the sum over the last axis of ``a`` and
    the second-to-last of ``b`` (the only axis of a 1-D ``b``):
    ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])``.

    (torch's ``dot`` is the vector case only.)
    """
    a, b = _as_operand(a), _as_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    axis_b = max(b.ndim - 2, 0)
    if a.shape[-1] != b.shape[axis_b]:
        raise ShapeError(f"dot: shapes {a.shape} and {b.shape} are not aligned: "
                         f"{a.shape[-1]} (axis {a.ndim - 1}) != {b.shape[axis_b]} (axis {axis_b})")
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [axis_b]))


def inner(a, b):
    """Inner product over the last axes (``np.inner``, ``torch.inner``):
    ``inner(a, b)[i..., j...] = sum(a[i..., :] * b[j..., :])``; a product for 0-d operands."""
    a, b = _as_operand(a), _as_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last axes of shapes {a.shape} and {b.shape} differ "
                         f"({a.shape[-1]} != {b.shape[-1]})")
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(a, b):
    """Outer product ``out[i, j] = a[i] * b[j]`` of the flattened operands (``np.outer``;
    ``torch.outer`` takes 1-D operands only): shape ``(a.size, b.size)``."""
    a, b = _as_operand(a), _as_operand(b)
    return a.reshape((a.data.size, 1)) * b.reshape((1, b.data.size))


def kron(a, b):
    """Kronecker product (``np.kron``): blocks ``a[i] * b``, the operands padded with leading
    length-1 axes to the same number of axes; shape ``a.shape * b.shape`` axis by axis.
    Written as a broadcast product of interleaved axes, then one reshape."""
    a, b = _as_operand(a), _as_operand(b)
    ndim = max(a.ndim, b.ndim)
    shape_a = (1,) * (ndim - a.ndim) + a.shape
    shape_b = (1,) * (ndim - b.ndim) + b.shape
    blocks = (a.reshape(tuple(n for m in shape_a for n in (m, 1)))
              * b.reshape(tuple(n for m in shape_b for n in (1, m))))
    return blocks.reshape(tuple(m * n for m, n in zip(shape_a, shape_b)))


class AlongAxis(Function):
    """``matrix @ x`` along ``axis`` of x: out[..., o, ...] = sum_i matrix[o, i] x[..., i, ...]
    for a constant (out, size) ``matrix`` with few nonzeros per row, such as interpolation
    weights or the averaging of adaptive bins. Its gradient is the same op with matrix^T.

    For finite x it is one matmul. A product also multiplies the zero weights, and 0 * NaN or
    0 * inf is NaN: one NaN or inf of x would reach every output. So x with any of them is
    mapped row by row over each row's nonzero weights only, and stays local, as in torch.
    x must be floating point: cast to an integer dtype, fractional weights would truncate.
    """

    retain_inputs = ()
    retain_output = False

    @staticmethod
    def forward(ctx, x, axis, matrix):
        if x.dtype.kind not in "fc":
            raise TypeError(f"AlongAxis: x must be floating point, got dtype {x.dtype} (shape "
                            f"{x.shape}); the weights would be cast to it and truncated")
        ctx.axis, ctx.matrix = axis, matrix
        matrix = matrix.astype(x.dtype, copy=False)
        if np.isfinite(x).all():
            if axis == x.ndim - 2:
                return np.matmul(matrix, x)
            moved = np.moveaxis(x, axis, -1)  # (a contiguous right operand: BLAS's fast path)
            return np.moveaxis(np.matmul(moved, np.ascontiguousarray(matrix.T)), -1, axis)
        moved = np.moveaxis(x, axis, 0)
        out = np.zeros((matrix.shape[0],) + moved.shape[1:], dtype=x.dtype)
        for o, row in enumerate(matrix):
            for i in np.flatnonzero(row):
                out[o] += row[i] * moved[i]
        return np.moveaxis(out, 0, axis)

    @staticmethod
    def backward(ctx, g):
        return (AlongAxis.apply(g, ctx.axis, np.ascontiguousarray(ctx.matrix.T)), None, None)


# torch's top-level spellings of tinydl.linalg functions (imported when called: tinydl.linalg
# imports this module)
def det(A):
    """torch.det: ``tinydl.linalg.det``."""
    from tinydl import linalg
    return linalg.det(A)


def inverse(A):
    """torch.inverse: ``tinydl.linalg.inv``."""
    from tinydl import linalg
    return linalg.inv(A)


def slogdet(A):
    """torch.slogdet: ``tinydl.linalg.slogdet``."""
    from tinydl import linalg
    return linalg.slogdet(A)


def logdet(A):
    """torch.logdet: log det(A) from slogdet, NaN where the determinant is negative (torch's
    value: the log of a negative number), -inf where it is 0."""
    from tinydl import linalg
    from tinydl.ops.elementwise import where
    sign, logabs = linalg.slogdet(A)
    return where(sign.data < 0, np.nan, logabs)
