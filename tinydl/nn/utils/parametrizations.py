"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): weight norm, spectral
norm and orthogonal weights, each registered with ``parametrize.register_parametrization``.

- ``weight_norm``: ``W = g * v / ||v||`` (Salimans & Kingma 2016); originals
  ``original0 = g`` and ``original1 = v``, as in ``tinydl.nn.utils.weight_norm``.
- ``spectral_norm``: ``W = W_orig / sigma``, sigma = ``u^T W_mat v`` after power iteration
  (Miyato et al. 2018). Unlike the hook form, this form iterates ``u = normalize(W v)`` then
  ``v = normalize(W^T u)`` (torch's order), and runs 15 iterations at registration.
- ``orthogonal``: ``W`` on the orthogonal matrices (or the Stiefel manifold when not square)
  through the matrix exponential, the Cayley map or Householder products (Lezcano-Casado &
  Martinez-Rubio 2019, "trivializations").
"""
import numpy as np

import tinydl
from tinydl.nn.module import Module
from tinydl.nn.utils import parametrize
from tinydl.nn.utils.weight_norm import _weight_norm_dim, norm_except_dim, weight_norm_from
from tinydl.random import get_generator
from tinydl.tensor import Tensor

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _tensor_attribute(module, name, caller):
    value = getattr(module, name, None)
    if not isinstance(value, Tensor):
        raise ValueError(f"{caller}: {type(module).__name__} has no parameter or buffer named "
                         f"{name!r}")
    return value


class _WeightNorm(Module):
    """``(g, v) -> g * v / ||v||``; right_inverse ``W -> (||W||, W)`` (norms over every axis
    except ``dim``; -1: the whole tensor)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_norm_from(weight_g, weight_v, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation as a parametrization: ``module.<name> = g * v / ||v||`` with
    ``g = parametrizations.<name>.original0`` (size of the weight along ``dim``, 1 elsewhere;
    0-d for ``dim=None``) and ``v = original1`` (the weight's shape). Returns the module."""
    weight = _tensor_attribute(module, name, "weight_norm")
    dim = _weight_norm_dim(weight, dim, "weight_norm")
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    # A checkpoint of the hook-style nn.utils.weight_norm (keys <name>_g, <name>_v) loads
    # into this one, as torch's load pre-hook arranges (Module.load_state_dict renames them).
    module.__dict__.setdefault("_legacy_state_keys", {}).update({
        f"{name}_g": f"parametrizations.{name}.original0",
        f"{name}_v": f"parametrizations.{name}.original1"})
    return module


def _normalized(vector, eps):
    return vector / max(float(np.linalg.norm(vector)), eps)


class _SpectralNorm(Module):
    """``W -> W / sigma(W)``; buffers ``_u`` (rows) and ``_v`` (columns) of the weight seen as
    a matrix with ``dim`` first; a 1-D weight is simply divided by its norm."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of shape "
                             f"{tuple(weight.shape)} (expected in [{-ndim}, {ndim - 1}])")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.dim, self.eps = dim % ndim, eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            height, width = self._matrix(weight.data).shape
            rng = get_generator()
            u = _normalized(rng.standard_normal(height), eps).astype(weight.dtype)
            v = _normalized(rng.standard_normal(width), eps).astype(weight.dtype)
            self.register_buffer("_u", Tensor(u))
            self.register_buffer("_v", Tensor(v))
            self._power_method(self._matrix(weight.data), 15)  # start from a fair estimate

    def _matrix(self, weight):
        """The weight (an array or a Tensor) as a (shape[dim], -1) matrix."""
        if self.dim != 0:
            weight = weight.transpose((self.dim,) + tuple(a for a in range(weight.ndim)
                                                          if a != self.dim))
        return weight.reshape((weight.shape[0], -1))

    def _power_method(self, matrix, iterations):
        """``u = normalize(W v); v = normalize(W^T u)``, ``iterations`` times, in place."""
        u, v = self._u.data, self._v.data
        for _ in range(iterations):
            u[...] = _normalized(matrix @ v, self.eps)
            v[...] = _normalized(matrix.T @ u, self.eps)

    def forward(self, weight):
        if weight.ndim == 1:
            return weight / tinydl.clip(tinydl.norm(weight), self.eps, None)
        if self.training:
            self._power_method(self._matrix(weight.data), self.n_power_iterations)
        # Copies: a second training forward before backward updates the buffers in place, and
        # this forward's gradient must use the u, v it used (u, v are constants for it).
        u = Tensor._wrap(self._u.data.copy())
        v = Tensor._wrap(self._v.data.copy())
        sigma = (u * (self._matrix(weight) @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation as a parametrization: ``module.<name> = W / sigma(W)``.

    sigma is estimated by ``n_power_iterations`` rounds of power iteration per training
    forward (eval reuses u, v); buffers ``parametrizations.<name>.0._u`` / ``._v`` are drawn
    N(0, 1), normalised and refined by 15 rounds at registration. ``dim`` defaults to 0, or 1
    for transposed convolutions. Returns the module.
    """
    from tinydl.nn.conv import _ConvNd

    weight = _tensor_attribute(module, name, "spectral_norm")
    if dim is None:
        dim = 1 if isinstance(module, _ConvNd) and module.transposed else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ---------------------------------------------------------------------------------- orthogonal
_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def _mT(x):
    return x.swapaxes(-1, -2)


def _constant(array):
    return Tensor._wrap(np.ascontiguousarray(array))


def _matrix_exp(A):
    """``exp(A)`` for a batch of square matrices, differentiable: scaling and squaring,
    ``exp(A) = exp(A / 2^s)^(2^s)`` with ``||A / 2^s||_1 <= 1/2`` and the Taylor series of
    degree 18 (Horner form) for the scaled exponential: error below 1e-20 relative."""
    norm = float(np.abs(A.data).sum(axis=-2).max(initial=0.0))
    squarings = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0 else 0
    B = A / float(2 ** squarings)
    eye = _constant(np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape))
    series = eye
    for j in range(18, 0, -1):
        series = eye + (B @ series) / float(j)
    for _ in range(squarings):
        series = series @ series
    return series


def _householder_product(A, tau):
    """The first k columns of ``H_1 H_2 ... H_k`` (A: (..., n, k), tau: (..., k)), with
    ``H_i = I - tau_i v_i v_i^T`` and ``v_i`` = column i of A below the diagonal, 1 on it
    (LAPACK's orgqr; torch.linalg.householder_product). Differentiable in A and tau."""
    n, k = A.shape[-2:]
    unit = np.eye(n, k, dtype=A.dtype)
    result = _constant(np.broadcast_to(unit, A.shape))
    below = A.tril(-1)
    for i in reversed(range(k)):
        v = below[..., :, i] + _constant(unit[:, i])                   # (..., n)
        vt_result = (v.expand_dims(-1) * result).sum(axis=-2, keepdims=True)  # (..., 1, k)
        result = result - tau[..., i].expand_dims(-1).expand_dims(-1) * v.expand_dims(-1) \
            * vt_result
    return result


def _make_orthogonal(matrix):
    """The Q factor of ``matrix = QR`` (tall, a batch) with diag(R) >= 0, as an array."""
    q, r = np.linalg.qr(matrix)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(matrix):
    n, k = matrix.shape[-2:]
    eps = 10.0 * n * np.finfo(matrix.dtype).eps
    return np.allclose(np.swapaxes(matrix, -1, -2) @ matrix, np.eye(k), atol=eps)


def _geqrf(matrix):
    """LAPACK's geqrf of a batch of matrices: (reflectors below the diagonal and R on and
    above it, tau), as ``torch.geqrf``; NaN for a matrix holding inf or NaN."""
    import scipy.linalg

    batch = matrix.shape[:-2]
    flat = matrix.reshape((-1,) + matrix.shape[-2:])
    packed = np.empty_like(flat)
    taus = np.empty((flat.shape[0], min(matrix.shape[-2:])), dtype=matrix.dtype)
    for b, m in enumerate(flat):
        if not np.isfinite(m).all():  # torch's LAPACK call gives NaN; SciPy's raised
            packed[b], taus[b] = np.nan, np.nan
            continue
        (packed[b], taus[b]), _ = scipy.linalg.qr(m, mode="raw")
    return packed.reshape(matrix.shape), taus.reshape(batch + taus.shape[-1:])


class _Orthogonal(Module):
    """``X -> Q`` with orthonormal columns (rows when the matrix is wide), by ``orthogonal_map``:

    - 'matrix_exp' / 'cayley': ``A = L - L^T`` (L: lower triangle of X, padded with zero
      columns to square), then ``exp(A)`` or ``(I - A/2)^-1 (I + A/2)``, first k columns;
    - 'householder': ``H_1 ... H_k`` with the reflectors in X's strict lower triangle,
      columns signed by X's diagonal (truncated to an integer, held constant).

    With ``use_trivialization`` a buffer ``base`` (set by ``right_inverse``) multiplies on the
    left: ``W = base @ Q(X)``, and the original starts at the X with ``Q(X) = I``.
    """

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2:]
        transposed = n < k
        if transposed:
            X, (n, k) = _mT(X), (k, n)
        if self.orthogonal_map == "householder":
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(axis=-2))
            signs = np.trunc(np.diagonal(X.data, axis1=-2, axis2=-1))[..., None, :]
            Q = _householder_product(A, tau) * _constant(signs)
        else:
            X = X.tril()
            if n != k:
                zeros = _constant(np.zeros(X.shape[:-1] + (n - k,), dtype=X.dtype))
                X = tinydl.concatenate([X, zeros], axis=-1)
            A = X - _mT(X)
            if self.orthogonal_map == "matrix_exp":
                Q = _matrix_exp(A)
            else:
                eye = _constant(np.broadcast_to(np.eye(n, dtype=A.dtype), A.shape))
                Q = tinydl.linalg.solve(eye - A * 0.5, eye + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        if "base" in self._buffers:
            Q = self.base @ Q
        return _mT(Q) if transposed else Q

    def right_inverse(self, Q):
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"orthogonal: expected a matrix or a batch of matrices of shape "
                             f"{self.shape}, got shape {tuple(Q.shape)}")
        q = Q.data
        n, k = q.shape[-2:]
        transposed = n < k
        if transposed:
            q, (n, k) = np.swapaxes(q, -1, -2), (k, n)
        if "base" not in self._buffers:
            if self.orthogonal_map != "householder":
                # no known inverse of these maps: registration keeps the original as it is
                raise NotImplementedError(f"orthogonal: cannot assign to the "
                                          f"{self.orthogonal_map} parametrization with "
                                          "use_trivialization=False")
            packed, tau = _geqrf(q)
            diagonal = np.sign(np.diagonal(packed, axis1=-2, axis2=-1))
            diagonal = np.where(tau == 0.0, -diagonal, diagonal)
            index = np.arange(k)
            packed[..., index, index] = diagonal
            return _constant(np.swapaxes(packed, -1, -2) if transposed else packed)
        if n == k:
            base = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
        else:
            # complete the columns to a basis: base's first k columns are q's Q factor
            extra = get_generator().standard_normal(q.shape[:-2] + (n, n - k)).astype(q.dtype)
            base = _make_orthogonal(np.concatenate([q, extra], axis=-1))
        self.base = Tensor(base)
        # The X with Q(X) = I under every map: -I (matrix_exp, cayley: A = 0;
        # householder: every reflector e_i, signs -1).
        neg_eye = np.zeros(Q.shape, dtype=Q.dtype)
        index = np.arange(min(Q.shape[-2:]))
        neg_eye[..., index, index] = -1.0
        return _constant(neg_eye)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix, or a batch) to orthonormal columns (or rows, if
    wide) as a parametrization; returns the module.

    ``orthogonal_map``: 'matrix_exp', 'cayley' or 'householder'; by default 'matrix_exp' for
    a square matrix, 'householder' otherwise (torch's choice for real matrices). With
    ``use_trivialization`` (default) the weight starts as the orthogonal Q factor of the old
    weight, stored in the buffer ``parametrizations.<name>.0.base``, and the original is
    ``-I``; gradient steps on the original move ``W = base @ Q(original)``.
    """
    weight = _tensor_attribute(module, name, "orthogonal")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or a batch of matrices, got a tensor "
                         f"of {weight.ndim} dimensions ({name!r} of shape {tuple(weight.shape)})")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError(f"orthogonal: orthogonal_map must be one of {_ORTHOGONAL_MAPS}, got "
                         f"{orthogonal_map!r}")
    parametrization = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, parametrization, unsafe=True)
    return module
