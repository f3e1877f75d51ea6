"""``tinydl.linalg``: inverses, determinants, solvers, decompositions and norms, after
``torch.linalg``.

Every function takes a matrix ``(m, n)`` or a batch of them ``(..., m, n)`` and works on each
matrix of the batch; float32 in gives float32 out. Forward passes are NumPy's (LAPACK);
gradients are written in tinydl ops, so they can be differentiated again, and follow torch's
formulas and conventions:

* ``inv``, ``solve``, ``det``, ``slogdet``: the adjoint (cofactor) rules; ``det`` goes through
  the SVD where the matrix is singular, as torch does, and through the minors when the
  gradient is differentiated again at two equal singular values (where torch gives NaN).
* ``cholesky``: Murray (2016), "Differentiation of the Cholesky decomposition".
* ``qr``, ``svd``, ``eigh``: the rules of torch's ``FunctionsManual.cpp``. ``svd``'s gradient
  needs distinct, nonzero singular values where ``U`` or ``Vh`` is used, ``eigh``'s distinct
  eigenvalues where the eigenvectors are used: elsewhere the decomposition itself is not
  differentiable. Singular and eigenvectors are defined up to sign, so only functions that do
  not depend on the sign (``U * S``, ``|V|``, ``U @ diag(S) @ Vh``...) have a gradient that
  means anything.
* ``vector_norm``, ``matrix_norm``, ``norm``: torch's gradients at zero (0, not NaN) and at
  ties of ``inf``-norms (shared equally).

Errors are ``LinAlgError`` (a ``ValueError``, as NumPy's) naming the op and the batch element:
an inverse or a solve of a singular matrix, a Cholesky factor of a matrix that is not positive
definite. A decomposition with several outputs (``qr``, ``svd``, ``eigh``) is one graph node
whose array holds the outputs side by side; the functions hand back views of it.

This module is longer than 500 lines because it holds the whole ``torch.linalg``
family (8 Functions, 13 public functions) with their shared batch and error checks.
"""
import numpy as np

from tinydl.autograd import Function, is_grad_enabled
from tinydl.ops._util import normalize_axes, torch_names, unbroadcast
from tinydl.ops.elementwise import abs  # noqa: A004 (NumPy's name)
from tinydl.ops.reduce import _vector_norm
from tinydl.ops.shape import concatenate, stack
from tinydl.tensor import Tensor

__all__ = ["LinAlgError", "inv", "det", "slogdet", "solve", "cholesky", "qr", "svd", "svdvals",
           "eigh", "eigvalsh", "vector_norm", "matrix_norm", "norm"]


class LinAlgError(np.linalg.LinAlgError):
    """A matrix the op cannot handle: singular (``inv``, ``solve``), not positive definite
    (``cholesky``), or an iteration that did not converge (``svd``, ``eigh``). A subclass of
    NumPy's ``LinAlgError``, itself a ``ValueError``."""


# ----------------------------------------------------------------------------- helpers
def _matrices(a, op, square=False):
    """``a`` as a float Tensor of shape (..., m, n), checked."""
    a = a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a))
    if a.ndim < 2:
        raise ValueError(f"{op}: expected a matrix or a batch of matrices (..., m, n), got "
                         f"shape {a.shape}")
    if a.dtype.kind != "f" or a.dtype == np.float16:  # (NumPy's linalg has no float16)
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got dtype {a.dtype} "
                        "(convert with .astype(np.float32) or .double())")
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected square matrices (..., n, n), got shape {a.shape}")
    return a


def _batch_element(a, fails):
    """Where in the batch ``a`` the first matrix on which ``fails(matrix)`` is True sits, as
    words (empty for a single matrix)."""
    for index in np.ndindex(a.shape[:-2]):
        if fails(a[index]):
            return f" (batch element {index})" if index else ""
    return ""


def _is_singular(m):
    try:
        np.linalg.inv(m)
    except np.linalg.LinAlgError:
        return True
    return False


def _mT(x):
    """The transpose of each matrix of a batch (torch's ``.mT``)."""
    return x.swapaxes(-1, -2)


def _eye(n, dtype):
    return Tensor._wrap(np.eye(n, dtype=dtype))


def _diag_embed(v):
    """(..., n) -> (..., n, n) with ``v`` on the diagonal."""
    return v.expand_dims(-1) * _eye(v.shape[-1], v.dtype)


def _tril(x, k=0):
    """The lower triangle of each matrix (entries above diagonal ``k`` set to 0)."""
    return x * Tensor._wrap(np.tri(x.shape[-2], x.shape[-1], k, dtype=x.dtype))


def _pack(*arrays, batch):
    """Several results of one decomposition side by side in one array (..., total)."""
    return np.concatenate([a.reshape(batch + (int(np.prod(a.shape[len(batch):])),))
                           for a in arrays], axis=-1)


def _split(packed, shapes):
    """The Tensors packed by ``_pack`` (views, each of shape ``batch + shape``)."""
    batch, parts, start = packed.shape[:-1], [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(packed[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return parts


def _used(grad):
    """None for the gradient of an output that was not used (all zeros), as torch passes an
    undefined gradient: the rules then skip terms that would divide by zero. Under
    ``create_graph`` a gradient that requires grad is kept even where it is zero: at a
    minimum of a loss through U, Vh or V it is exactly 0 but depends on A, and dropping it
    made the second derivative 0 silently (a Hessian-vector product at convergence)."""
    return grad if grad.requires_grad or np.any(grad.data) else None


def _values_grad(grad):
    """``_used`` for the gradient of the singular values or eigenvalues, whose term divides
    by nothing: under ``create_graph`` it is kept even where it is zero, since it may be zero
    here and not nearby (svdvals(A) * (sum(A) - 4) at sum(A) = 4: dropped, the second
    derivative lost its sum(U Vh) term)."""
    return grad if grad.requires_grad or np.any(grad.data) else None


# ----------------------------------------------------------------------------- inverse
class Inv(Function):
    """X = A^-1; dA = -X^T G X^T."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, a):
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"inv: the matrix{_batch_element(a, _is_singular)} is singular "
                              "(not invertible)") from None

    @staticmethod
    def backward(ctx, g):
        x = _mT(ctx.output)
        return (-(x @ g @ x),)


def inv(A):
    """The inverse of each square matrix: ``A @ inv(A) = I``; shape (..., n, n).

    Raises ``LinAlgError`` for a singular matrix."""
    return Inv.apply(_matrices(A, "inv", square=True))


class Solve(Function):
    """X = A^-1 B for B of shape (..., n, k); dB = A^-T G, dA = -dB X^T (summed over the batch
    axes each operand was broadcast along)."""

    retain_inputs = (0,)

    @staticmethod
    def forward(ctx, a, b):
        # Equal batch axes leave no doubt that b holds matrices (NumPy 1.x took a b with one
        # axis fewer than a for a batch of vectors).
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a, b = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
        try:
            return np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"solve: the matrix A{_batch_element(a, _is_singular)} is "
                              "singular (not invertible)") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.inputs
        gb = Solve.apply(_mT(a), g)
        ga = -(gb @ _mT(ctx.output)) if a.requires_grad else None
        return (unbroadcast(ga, a.shape) if ga is not None else None,
                unbroadcast(gb, b.shape) if b.requires_grad else None)


def solve(A, B):
    """X with ``A @ X = B``, for square ``A`` (..., n, n) (torch.linalg.solve, left side).

    ``B`` is a batch of vectors (..., n) when it is 1-D or has the shape ``A.shape[:-1]``
    (torch's rule), otherwise a batch of matrices (..., n, k); batch axes broadcast. Raises
    ``LinAlgError`` for a singular ``A``.
    """
    A = _matrices(A, "solve", square=True)
    B = B if isinstance(B, Tensor) else Tensor._wrap(np.asarray(B))
    if B.dtype != A.dtype:
        raise TypeError(f"solve: A and B must have the same dtype, got {A.dtype} and {B.dtype}")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    rows = B.shape[-1] if vector else (B.shape[-2] if B.ndim >= 2 else None)
    if rows != n:
        raise ValueError(f"solve: A of shape {A.shape} needs B of shape (..., {n}) or (..., "
                         f"{n}, k), got {B.shape}")
    batch_a, batch_b = A.shape[:-2], B.shape[:-1] if vector else B.shape[:-2]
    try:
        np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ValueError(f"solve: the batch shapes of A {A.shape} and B {B.shape} do not "
                         "broadcast") from None
    if vector:
        return Solve.apply(A, B.expand_dims(-1)).squeeze(-1)
    return Solve.apply(A, B)


# ----------------------------------------------------------------------------- determinants
class Det(Function):
    """d = det A; dA = g d A^-T, the cofactor matrix (by the SVD where A is singular)."""

    retain_output = True

    @staticmethod
    def forward(ctx, a):
        return np.linalg.det(a)

    @staticmethod
    def backward(ctx, g):
        a = ctx.inputs[0]
        d = ctx.output
        if np.all(d.data != 0):
            try:
                cofactors = d.expand_dims(-1).expand_dims(-1) * _mT(inv(a))
            except LinAlgError:
                cofactors = _singular_cofactors(a)
        else:
            cofactors = _singular_cofactors(a)
        return (g.expand_dims(-1).expand_dims(-1) * cofactors,)


def _singular_cofactors(a):
    """The cofactor matrix of singular matrices: by the SVD (``_cofactors``), except under
    ``create_graph`` where two singular values are equal (two zeros: rank n - 2 or lower).
    There the SVD's own derivative divides 0 by 0 (torch gives NaN) and tinydl's dropped the
    terms, so det's second derivative came out finite and wrong (diag(1, 0, 0): a zero where
    central differences give -0.58); the minors give the cofactors as polynomials in A, whose
    derivatives are right everywhere."""
    if is_grad_enabled() and _repeated_singular_values(a.data):
        return _cofactors_by_minors(a)
    return _cofactors(a)


def _repeated_singular_values(a):
    """True when some matrix of the batch ``a`` has two singular values within rounding."""
    s = np.linalg.svd(a, compute_uv=False)
    if s.shape[-1] < 2:
        return False
    tol = max(a.shape[-2:]) * np.finfo(a.dtype).eps * s[..., :1]
    return bool(np.any(s[..., :-1] - s[..., 1:] <= tol))


def _cofactors(a):
    """The cofactor matrix det(A) A^-T, defined for singular A too, from A = U diag(s) Vh:
    det(U) det(Vh) U diag(prod_{j != i} s_j) Vh. The products of all singular values but one
    are prefix times suffix products (no division by a zero singular value)."""
    u, s, vh = svd(a, full_matrices=False)
    k = s.shape[-1]
    if k == 0:
        return a * 0.0
    ones = s[..., 0] * 0.0 + 1.0
    prefix, suffix = [ones], [ones]
    for i in range(1, k):
        prefix.append(prefix[-1] * s[..., i - 1])
        suffix.append(suffix[-1] * s[..., k - i])
    others = stack([prefix[i] * suffix[k - 1 - i] for i in range(k)], axis=-1)
    signs = np.linalg.det(u.data) * np.linalg.det(vh.data)
    return (u * others.expand_dims(-2)) @ vh * Tensor._wrap(signs[..., None, None])


def _cofactors_by_minors(a):
    """The cofactor matrix as (-1)^(i+j) det(A without row i and column j): n^2 determinants
    of order n - 1, gathered in one indexing step, so every derivative order is right."""
    n = a.shape[-1]
    keep = np.array([[k for k in range(n) if k != i] for i in range(n)], dtype=np.int64)
    keep = keep.reshape(n, n - 1)
    minors = a[..., keep[:, None, :, None], keep[None, :, None, :]]  # (..., n, n, n-1, n-1)
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    return det(minors) * Tensor._wrap(signs.astype(a.dtype))


def det(A):
    """The determinant of each square matrix; shape (...). Singular matrices are fine (0, with
    the cofactor matrix as gradient)."""
    return Det.apply(_matrices(A, "det", square=True))


class LogAbsDet(Function):
    """log |det A|; dA = g A^-T."""

    retain_output = False

    @staticmethod
    def forward(ctx, a):
        return np.linalg.slogdet(a)[1]

    @staticmethod
    def backward(ctx, g):
        a = ctx.inputs[0]
        try:
            a_inv = inv(a)
        except LinAlgError as err:
            raise LinAlgError(f"slogdet: no gradient at a singular matrix ({err})") from None
        return (g.expand_dims(-1).expand_dims(-1) * _mT(a_inv),)


def slogdet(A):
    """``(sign, logabsdet)`` with ``det A = sign * exp(logabsdet)``, each of shape (...): the
    determinant without overflow. ``sign`` (-1, 0 or 1) has no gradient; ``logabsdet`` is
    -inf for a singular matrix."""
    A = _matrices(A, "slogdet", square=True)
    sign = Tensor._wrap(np.linalg.slogdet(A.data)[0])
    return sign, LogAbsDet.apply(A)


# ----------------------------------------------------------------------------- Cholesky
class Cholesky(Function):
    """L lower triangular with A = L L^T (from A's lower triangle);
    dA = L^-T P L^-1 with P = 0.5 (Phi + Phi^T - diag Phi), Phi = tril(L^T G) (Murray 2016;
    torch's symmetric form)."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, a):
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(_not_positive_definite(a)) from None

    @staticmethod
    def backward(ctx, g):
        L = ctx.output
        phi = _tril(_mT(L) @ g)
        p = (phi + _mT(_tril(phi, -1))) * 0.5
        y = Solve.apply(_mT(L), p)  # L^-T P
        return (_mT(Solve.apply(_mT(L), _mT(y))),)  # (L^-T (L^-T P)^T)^T = L^-T P L^-1


def _not_positive_definite(a):
    """torch's message: which batch element, and the order of its first leading minor that
    is not positive definite (LAPACK's potrf tells)."""
    from scipy.linalg import lapack
    for index in np.ndindex(a.shape[:-2]):
        _, info = lapack.dpotrf(np.asarray(a[index], dtype=np.float64), lower=1)
        if info > 0:
            where_ = f" (batch element {index})" if index else ""
            return (f"cholesky: the input{where_} is not positive-definite (the leading minor "
                    f"of order {info} is not positive-definite)")
    return "cholesky: the input is not positive-definite"


def cholesky(A, upper=False):
    """The Cholesky factor of each symmetric positive-definite matrix: lower triangular ``L``
    with ``A = L @ L^T``; only the lower triangle of ``A`` is read. ``upper=True``: upper
    triangular ``U`` with ``A = U^T @ U``, read from the upper triangle, as torch and NumPy
    (the factor of A^T, transposed). The gradient is symmetric, as torch's. Raises
    ``LinAlgError`` for a matrix that is not positive definite."""
    A = _matrices(A, "cholesky", square=True)
    if upper:
        return _mT(Cholesky.apply(_mT(A)))
    return Cholesky.apply(A)


# ----------------------------------------------------------------------------- QR
class QR(Function):
    """Q, R with A = Q R, Q^T Q = I, R upper triangular. For m >= n:
    dA = (dQ + Q copyltu(M)) R^-T with M = R dR^T - dQ^T Q and copyltu(M) = tril(M) +
    tril(M, -1)^T; for m < n, A = Q [R1 R2] splits into the square case for the first m
    columns (with dQ + (Q R2) dR2^T) and Q dR2 for the rest."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, a, mode="reduced"):
        q, r = np.linalg.qr(a, mode=mode)
        ctx.shapes = (q.shape[-2:], r.shape[-2:])
        return _pack(q, r, batch=a.shape[:-2])

    @staticmethod
    def backward(ctx, g):
        gq, gr = _split(g, ctx.shapes)
        q, r = _split(ctx.output, ctx.shapes)
        m, n = q.shape[-2], r.shape[-1]
        if q.shape[-1] != min(m, n):
            raise NotImplementedError(
                f"qr: the gradient of mode='complete' is not defined for tall matrices "
                f"({m} > {n}): the extra columns of Q are any basis of their space. Use "
                "mode='reduced'")
        if m >= n:
            return (_qr_square_backward(gq, gr, q, r),)
        r1, r2 = r[..., :, :m], r[..., :, m:]
        gx = _qr_square_backward(gq + (q @ r2) @ _mT(gr[..., :, m:]), gr[..., :, :m], q, r1)
        return (concatenate([gx, q @ gr[..., :, m:]], axis=-1),)


def _qr_square_backward(gq, gr, q, r):
    """The QR gradient for m >= n (R square and invertible)."""
    m = r @ _mT(gr) - _mT(gq) @ q
    b = gq + q @ (_tril(m) + _mT(_tril(m, -1)))
    return _mT(Solve.apply(r, _mT(b)))  # b R^-T


def qr(A, mode="reduced"):
    """The QR decomposition ``A = Q @ R`` of each matrix, as ``(Q, R)``.

    ``mode='reduced'``: Q (..., m, k), R (..., k, n) with k = min(m, n); ``'complete'``:
    Q (..., m, m), R (..., m, n). The signs are LAPACK's (R's diagonal may be negative), as in
    NumPy and torch. Differentiable where R's diagonal has no zero (full column rank for
    m >= n), except ``'complete'`` with m > n.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    packed = QR.apply(_matrices(A, "qr"), mode=mode)
    m, n = A.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = _split(packed, ((m, k), (k, n)))
    return q, r


# ----------------------------------------------------------------------------- SVD
class SVD(Function):
    """U, S, Vh with A = U diag(S) Vh (torch's svd_backward): with E_ij = S_j^2 - S_i^2,
    dA = U [ (skew(U^T dU) S + S skew(V^T dV)) / E + diag(dS) ] Vh, plus
    (I - U U^T) dU S^-1 Vh when m > k and U S^-1 dVh (I - V V^T) when n > k, skew(X) = X - X^T.
    """

    retain_inputs = ()

    @staticmethod
    def forward(ctx, a, full_matrices=False):
        try:
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"svd: the SVD did not converge{_batch_element(a, _no_svd)}"
                              ) from None
        ctx.shapes = (u.shape[-2:], s.shape[-1:], vh.shape[-2:])
        return _pack(u, s, vh, batch=a.shape[:-2])

    @staticmethod
    def backward(ctx, g):
        gu, gs, gvh = _split(g, ctx.shapes)
        u, s, vh = _split(ctx.output, ctx.shapes)
        k = s.shape[-1]
        # With full_matrices, the columns beyond k are any basis of their space: only the
        # first k carry a gradient (torch's convention).
        u, gu, vh, gvh = u[..., :, :k], gu[..., :, :k], vh[..., :k, :], gvh[..., :k, :]
        return (_svd_backward(_used(gu), _values_grad(gs), _used(gvh), u, s, vh),)


def _no_svd(m):
    try:
        np.linalg.svd(m)
    except np.linalg.LinAlgError:
        return True
    return False


def _svd_backward(gu, gs, gvh, u, s, vh):
    m, k, n = u.shape[-2], s.shape[-1], vh.shape[-1]
    if gu is None and gs is None and gvh is None:
        return (u @ vh) * 0.0
    if gu is None and gvh is None:
        return (u * gs.expand_dims(-2)) @ vh
    s_row, s_col = s.expand_dims(-2), s.expand_dims(-1)
    s2 = s * s
    e = s2.expand_dims(-2) - s2.expand_dims(-1) + _eye(k, s.dtype)
    if gu is not None:
        uhgu = _mT(u) @ gu
        uhgu = uhgu - _mT(uhgu)
    if gvh is not None:
        vhgv = vh @ _mT(gvh)
        vhgv = vhgv - _mT(vhgv)
    if gu is not None and gvh is not None:
        ga = (uhgu * s_row + s_col * vhgv) / e
    elif gu is not None:
        ga = uhgu / e * s_row
    else:
        ga = s_col * (vhgv / e)
    if gs is not None:
        ga = ga + _diag_embed(gs)
    if m > k and gu is not None:
        gus = gu / s_row
        ga = (u @ ga + gus - u @ (_mT(u) @ gus)) @ vh
    elif n > k and gvh is not None:
        sgvh = gvh / s_col
        ga = u @ (ga @ vh + sgvh - (sgvh @ _mT(vh)) @ vh)
    else:
        ga = u @ ga @ vh
    return ga


def svd(A, full_matrices=True):
    """The singular value decomposition ``A = U @ diag(S) @ Vh`` of each matrix, as
    ``(U, S, Vh)``, singular values in descending order.

    ``full_matrices=True`` (torch's and NumPy's default): U (..., m, m), Vh (..., n, n);
    ``False``: U (..., m, k), Vh (..., k, n), k = min(m, n). Gradients through ``U`` or ``Vh``
    need distinct nonzero singular values and a loss that does not depend on their signs;
    with ``full_matrices=True`` the columns of U and rows of Vh beyond k get no gradient.
    """
    A = _matrices(A, "svd")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed = SVD.apply(A, full_matrices=full_matrices)
    u_cols, vh_rows = (m, n) if full_matrices else (k, k)
    u, s, vh = _split(packed, ((m, u_cols), (k,), (vh_rows, n)))
    return u, s, vh


def svdvals(A):
    """The singular values of each matrix, descending; shape (..., min(m, n)). Their gradient
    is U diag(g) Vh (defined at repeated singular values too)."""
    return svd(A, full_matrices=False)[1]


# ----------------------------------------------------------------------------- eigh
class Eigh(Function):
    """L, V with A = V diag(L) V^T for symmetric A (torch's rule):
    dA = V [ diag(dL) + sym(V^T dV) / E ] V^T, E_ij = L_j - L_i, sym(X) = (X - X^T) / 2."""

    retain_inputs = ()

    @staticmethod
    def forward(ctx, a, uplo="L"):
        try:
            w, v = np.linalg.eigh(a, UPLO=uplo)
        except np.linalg.LinAlgError:
            raise LinAlgError("eigh: the eigenvalue iteration did not converge") from None
        ctx.shapes = (w.shape[-1:], v.shape[-2:])
        return _pack(w, v, batch=a.shape[:-2])

    @staticmethod
    def backward(ctx, g):
        gw, gv = _split(g, ctx.shapes)
        gw, gv = _values_grad(gw), _used(gv)
        w, v = _split(ctx.output, ctx.shapes)
        if gv is None:
            if gw is None:
                return ((v @ _mT(v)) * 0.0,)
            return ((v * gw.expand_dims(-2)) @ _mT(v),)
        vhgv = _mT(v) @ gv
        e = w.expand_dims(-2) - w.expand_dims(-1) + _eye(w.shape[-1], w.dtype)
        ga = (vhgv - _mT(vhgv)) * 0.5 / e
        if gw is not None:
            ga = ga + _diag_embed(gw)
        return (v @ ga @ _mT(v),)


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix, as ``(L, V)`` with
    ``A = V @ diag(L) @ V^T``; shapes (..., n) and (..., n, n).

    Only the ``UPLO`` triangle of ``A`` ('L' lower, 'U' upper) is read; the gradient is the
    symmetric one torch gives. Gradients through ``V`` need distinct eigenvalues and a loss
    that does not depend on the eigenvectors' signs.
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    A = _matrices(A, "eigh", square=True)
    n = A.shape[-1]
    w, v = _split(Eigh.apply(A, uplo=UPLO), ((n,), (n, n)))
    return w, v


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of each symmetric matrix, ascending; shape (..., n). Their gradient
    V diag(g) V^T is defined at repeated eigenvalues too."""
    return eigh(A, UPLO)[0]


# ----------------------------------------------------------------------------- norms
@torch_names
def vector_norm(x, ord=2, axis=None, keepdims=False):
    """The p-norm over ``axis`` (all elements when None) of each vector (torch.linalg.
    vector_norm): ``(sum |x|^ord)^(1/ord)``; ``ord`` inf / -inf: max / min |x|; 0: the number
    of nonzero elements (no gradient). The Function of ``tinydl.norm``: where |x|^ord over-
    or underflows but the norm does not, it is computed from x / max|x| (x / min|x| for a
    negative ord; torch's is inf or 0 there)."""
    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))
    if x.dtype.kind != "f":
        raise TypeError(f"vector_norm: expected a floating point tensor, got dtype {x.dtype}")
    if isinstance(ord, str) or not np.isscalar(ord):
        raise ValueError(f"vector_norm: ord must be a number (or inf, -inf), got {ord!r}")
    axes = normalize_axes(axis, x.ndim, "vector_norm")
    return _vector_norm(x, ord, axes, keepdims, op="vector_norm")


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)


@torch_names
def matrix_norm(A, ord="fro", axis=(-2, -1), keepdims=False):
    """A matrix norm of each matrix (torch.linalg.matrix_norm): ``'fro'`` (sqrt of the sum of
    squares), ``'nuc'`` (sum of singular values), ``2`` / ``-2`` (largest / smallest singular
    value), ``1`` / ``-1`` (max / min over columns of the column's sum of |a|), ``inf`` /
    ``-inf`` (max / min over rows of the row's sum of |a|). ``axis``: the two axes holding the
    matrices."""
    A = A if isinstance(A, Tensor) else Tensor._wrap(np.asarray(A))
    if A.dtype.kind != "f":
        raise TypeError(f"matrix_norm: expected a floating point tensor, got dtype {A.dtype}")
    if not any(ord is o or (not isinstance(ord, str) and not isinstance(o, str) and ord == o)
               for o in _MATRIX_ORDS):
        raise ValueError(f"matrix_norm: ord must be one of 'fro', 'nuc', 1, -1, 2, -2, inf, "
                         f"-inf, got {ord!r}")
    if A.ndim < 2:
        raise ValueError(f"matrix_norm: expected a matrix or a batch of matrices, got shape "
                         f"{A.shape}")
    if not isinstance(axis, (tuple, list)) or len(axis) != 2:
        raise ValueError(f"matrix_norm: axis must be a pair of axes, got {axis!r}")
    rows, cols = (normalize_axes(a, A.ndim, "matrix_norm")[0] for a in axis)
    if rows == cols:
        raise ValueError(f"matrix_norm: axis {tuple(axis)} names one axis twice")
    if ord == "fro":
        return vector_norm(A, 2, axis=(rows, cols), keepdims=keepdims)
    if (A.shape[rows] == 0 or A.shape[cols] == 0) and ord != "nuc":
        # An empty matrix: a largest sum or singular value is 0, as torch gives. So is a
        # smallest column (row) sum when only the summed axis is empty (3 sums of nothing,
        # ord=-1 of a (0, 3) matrix); with no sums, or no singular values, there is no
        # smallest one (torch raises too).
        taken_over = {1: cols, -1: cols, np.inf: rows, -np.inf: rows}.get(ord)
        if ord < 0 and (taken_over is None or A.shape[taken_over] == 0):
            raise ValueError(f"matrix_norm: ord={ord!r} of an empty matrix (shape {A.shape}) "
                             "has no smallest value to take")
        return (A * 0).sum(axis=(rows, cols), keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = abs(A).sum(axis=summed, keepdims=True)
        out = sums.max(axis=over, keepdims=True) if ord > 0 else sums.min(axis=over,
                                                                          keepdims=True)
    else:
        rest = [i for i in range(A.ndim) if i not in (rows, cols)]
        s = svdvals(A.transpose(rest + [rows, cols]))
        out = s.sum(axis=-1) if ord == "nuc" else (s.max(axis=-1) if ord == 2
                                                   else s.min(axis=-1))
        out = out.reshape(tuple(1 if i in (rows, cols) else n for i, n in enumerate(A.shape)))
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(A.shape) if i not in (rows, cols)))


@torch_names
def norm(x, ord=None, axis=None, keepdims=False):
    """A vector or matrix norm, as ``torch.linalg.norm`` and ``np.linalg.norm``.

    ``axis`` an int: the vector norm ``ord`` (default 2) along it; a pair: the matrix norm
    ``ord`` (default ``'fro'``) over them. ``axis=None``: with ``ord=None`` the 2-norm of all
    elements, whatever the shape; with ``ord`` given, ``x`` must be 1-D (vector norm) or 2-D
    (matrix norm).
    """
    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    if axis is None:
        if ord is None:
            return vector_norm(x, 2, axis=None, keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None the input must be 1-D or "
                             f"2-D, got shape {x.shape}; give axis")
        axis = tuple(range(x.ndim))
    axis = tuple(axis)
    if len(axis) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm, but axis {axis} names one "
                             "axis")
        return vector_norm(x, 2 if ord is None else ord, axis=axis, keepdims=keepdims)
    if len(axis) == 2:
        return matrix_norm(x, "fro" if ord is None else ord, axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: axis must name one or two axes, got {axis}")
