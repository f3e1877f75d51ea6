"""``tinydl.linalg`` (tinydl/linalg.py) through the op table: inverses, determinants, solves,
Cholesky, QR, SVD, eigh and norms, batched, against ``np.linalg`` and ``torch.linalg``; then
what a row cannot state: gradients at singular matrices, at zero vectors and at ties (torch's
values), repeated singular values and eigenvalues, and the error messages.

Decompositions defined up to signs (SVD, eigh) are checked through functions that do not depend
on the signs, as torch's own tests do: the singular values, ``U * U``, ``Vh * Vh`` and
``U diag(S) Vh``; eigh and cholesky through a symmetric input ``X + X^T``, so that finite
differences move both triangles together.
"""
import numpy as np
import pytest

import tinydl as td
import tinydl.linalg as LA
from tests import _reference as ref
from tests.ops._table import Arg, OpCase, OpTable, off_zero, torch

INF = np.inf
BATCH = (2, 3, 3)


# ----------------------------------------------------------------------------- samplers
def conditioned(rng, shape):
    """Standard normal plus 3 I: invertible and well conditioned."""
    return rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def positive_definite(rng, shape):
    """X X^T + n I for standard normal X: symmetric positive definite."""
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(x):
    """(x + x^T) / 2 on the last two axes, for NumPy, torch and tinydl alike."""
    return (x + x.swapaxes(-1, -2)) / 2


def svd_invariants(u, s, vh):
    """What the signs of the singular vectors do not change: S, U*U, Vh*Vh, U diag(S) Vh."""
    return s, u * u, vh * vh, (u * s[..., None, :]) @ vh


def eigh_invariants(w, v):
    return w, v * v


def _np_svd(x, full_matrices=False):
    return svd_invariants(*np.linalg.svd(x, full_matrices=full_matrices))


def _torch_svd(x):
    return svd_invariants(*torch.linalg.svd(x, full_matrices=False))


def decomposition(name, fn, ref, shape, sample=None, torch=None, **kw):
    """A row for an op of one matrix batch; float32 compares at 1e-4 (LAPACK in single
    precision)."""
    kw.setdefault("rtol32", 1e-4)
    kw.setdefault("atol32", 1e-5)
    return OpCase(name, fn, ref, [Arg(shape, sample) if sample else shape], torch=torch,
                  rtol=1e-10, atol=1e-12, **kw)


def vector_norm_row(name, ord, axis=None, keepdims=False, sample=None, **kw):
    return OpCase(name, lambda x: LA.vector_norm(x, ord, axis=axis, keepdims=keepdims),
                  lambda x: np.linalg.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims),
                  [Arg((3, 4), sample) if sample else (3, 4)],
                  torch=lambda x: torch.linalg.vector_norm(x, ord, dim=axis, keepdim=keepdims),
                  **kw)


def matrix_norm_row(name, ord, axis=(-2, -1), keepdims=False, shape=(2, 3, 4), **kw):
    return OpCase(name, lambda x: LA.matrix_norm(x, ord, axis=axis, keepdims=keepdims),
                  lambda x: np.linalg.norm(x, ord, axis=axis, keepdims=keepdims),
                  [Arg(shape, off_zero)],
                  torch=lambda x: torch.linalg.matrix_norm(x, ord, dim=axis, keepdim=keepdims),
                  rtol=1e-10, **kw)


CASES = [
    # inverse and solves
    decomposition("inv", LA.inv, np.linalg.inv, BATCH, conditioned,
                  torch=lambda a: torch.linalg.inv(a), empty=[(0, 3, 3)]),
    decomposition("inv_matrix", LA.inv, np.linalg.inv, (4, 4), conditioned,
                  torch=lambda a: torch.linalg.inv(a), empty=[(0, 0)]),
    OpCase("solve_matrices", LA.solve, np.linalg.solve,
           [Arg(BATCH, conditioned), Arg((2, 3, 2))], torch=lambda a, b: torch.linalg.solve(a, b),
           rtol=1e-10, rtol32=1e-4, atol32=1e-5, empty=[(0, 3, 3), (0, 3, 2)]),
    OpCase("solve_vector", LA.solve, np.linalg.solve, [Arg((3, 3), conditioned), Arg((3,))],
           torch=lambda a, b: torch.linalg.solve(a, b), rtol=1e-10, rtol32=1e-4, atol32=1e-5),
    # B of shape A.shape[:-1] is a batch of vectors (torch's rule)
    OpCase("solve_batch_of_vectors", LA.solve,
           lambda a, b: np.linalg.solve(a, b[..., None])[..., 0],
           [Arg(BATCH, conditioned), Arg((2, 3))], torch=lambda a, b: torch.linalg.solve(a, b),
           rtol=1e-10, rtol32=1e-4, atol32=1e-5),
    OpCase("solve_broadcast_batch", LA.solve, np.linalg.solve,
           [Arg((3, 3), conditioned), Arg((2, 3, 2))],
           torch=lambda a, b: torch.linalg.solve(a, b), rtol=1e-10, rtol32=1e-4, atol32=1e-5),
    # determinants
    decomposition("det", LA.det, np.linalg.det, BATCH, torch=lambda a: torch.linalg.det(a),
                  empty=[(2, 0, 0)]),
    decomposition("det_matrix", LA.det, np.linalg.det, (4, 4),
                  torch=lambda a: torch.linalg.det(a)),
    decomposition("slogdet", LA.slogdet, np.linalg.slogdet, BATCH,
                  torch=lambda a: tuple(torch.linalg.slogdet(a)), empty=[(0, 3, 3)]),
    # Cholesky of the symmetric part (gradients are symmetric, as torch's)
    decomposition("cholesky", lambda x: LA.cholesky(sym(x)),
                  lambda x: np.linalg.cholesky(sym(x)), BATCH, positive_definite,
                  torch=lambda x: torch.linalg.cholesky(sym(x)), empty=[(0, 3, 3)]),
    decomposition("cholesky_upper", lambda x: LA.cholesky(sym(x), upper=True),
                  lambda x: np.linalg.cholesky(sym(x)).T, (4, 4), positive_definite,
                  torch=lambda x: torch.linalg.cholesky(sym(x), upper=True)),
    # QR: LAPACK's signs in NumPy, torch and tinydl alike
    decomposition("qr_tall", LA.qr, np.linalg.qr, (2, 5, 3), torch=lambda a: tuple(
        torch.linalg.qr(a)), empty=[(0, 5, 3)]),
    decomposition("qr_square", LA.qr, np.linalg.qr, (4, 4),
                  torch=lambda a: tuple(torch.linalg.qr(a))),
    decomposition("qr_wide", LA.qr, np.linalg.qr, (2, 3, 5),
                  torch=lambda a: tuple(torch.linalg.qr(a))),
    # SVD and eigh through sign-free functions of their outputs
    decomposition("svd_tall", lambda x: svd_invariants(*LA.svd(x, full_matrices=False)),
                  _np_svd, (2, 5, 3), torch=_torch_svd),
    decomposition("svd_wide", lambda x: svd_invariants(*LA.svd(x, full_matrices=False)),
                  _np_svd, (3, 5), torch=_torch_svd),
    decomposition("svd_square", lambda x: svd_invariants(*LA.svd(x, full_matrices=False)),
                  _np_svd, BATCH, torch=_torch_svd, empty=[(0, 3, 3)]),
    decomposition("svd_full_matrices",
                  lambda x: svd_invariants(*[t[..., :3] for t in LA.svd(x)[:2]],
                                           LA.svd(x)[2][..., :3, :]),
                  lambda x: svd_invariants(*[t[..., :3] for t in np.linalg.svd(x)[:2]],
                                           np.linalg.svd(x)[2][..., :3, :]), (5, 3)),
    decomposition("svdvals", LA.svdvals, lambda x: np.linalg.svd(x, compute_uv=False),
                  (2, 4, 3), torch=lambda a: torch.linalg.svdvals(a), empty=[(0, 4, 3)]),
    decomposition("eigh", lambda x: eigh_invariants(*LA.eigh(x + x.swapaxes(-1, -2))),
                  lambda x: eigh_invariants(*np.linalg.eigh(x + x.swapaxes(-1, -2))), BATCH,
                  torch=lambda x: eigh_invariants(*torch.linalg.eigh(x + x.swapaxes(-1, -2))),
                  empty=[(0, 3, 3)]),
    decomposition("eigh_upper",
                  lambda x: eigh_invariants(*LA.eigh(x + x.swapaxes(-1, -2), UPLO="U")),
                  lambda x: eigh_invariants(*np.linalg.eigh(x + x.swapaxes(-1, -2), "U")),
                  (4, 4), torch=lambda x: eigh_invariants(
                      *torch.linalg.eigh(x + x.swapaxes(-1, -2), UPLO="U"))),
    decomposition("eigvalsh", lambda x: LA.eigvalsh(x + x.swapaxes(-1, -2)),
                  lambda x: np.linalg.eigvalsh(x + x.swapaxes(-1, -2)), BATCH,
                  torch=lambda x: torch.linalg.eigvalsh(x + x.swapaxes(-1, -2))),
    # vector norms (samples off 0 where the norm has a kink there)
    vector_norm_row("vector_norm_2", 2, zero_d=True, empty=[(0, 4)]),
    vector_norm_row("vector_norm_2_axis", 2, axis=1),
    vector_norm_row("vector_norm_2_keepdims", 2, axis=(0,), keepdims=True),
    vector_norm_row("vector_norm_1", 1, axis=-1, sample=off_zero),
    vector_norm_row("vector_norm_inf", INF, axis=0, sample=off_zero),
    vector_norm_row("vector_norm_minus_inf", -INF, axis=1, sample=off_zero),
    vector_norm_row("vector_norm_3", 3, axis=1, sample=off_zero),
    vector_norm_row("vector_norm_1_5", 1.5, sample=off_zero),
    vector_norm_row("vector_norm_0_5", 0.5, axis=1, sample=off_zero),
    vector_norm_row("vector_norm_minus_1", -1, axis=1, sample=off_zero),
    vector_norm_row("vector_norm_0", 0, axis=1, sample=off_zero, gradgrad=False),
    # matrix norms
    matrix_norm_row("matrix_norm_fro", "fro", empty=[(0, 3, 4)]),
    matrix_norm_row("matrix_norm_nuc", "nuc"),
    matrix_norm_row("matrix_norm_1", 1),
    matrix_norm_row("matrix_norm_minus_1", -1),
    matrix_norm_row("matrix_norm_2", 2),
    matrix_norm_row("matrix_norm_minus_2", -2),
    matrix_norm_row("matrix_norm_inf", INF),
    matrix_norm_row("matrix_norm_minus_inf", -INF),
    matrix_norm_row("matrix_norm_axes_keepdims", "nuc", axis=(2, 0), keepdims=True,
                    shape=(3, 2, 4)),
    # norm: vector or matrix by axis, all elements by default
    OpCase("norm_default", LA.norm, np.linalg.norm, [(2, 3, 4)],
           torch=lambda x: torch.linalg.norm(x), zero_d=True, empty=[(0, 3)]),
    OpCase("norm_axis", lambda x: LA.norm(x, 1, axis=1), lambda x: np.linalg.norm(x, 1, axis=1),
           [Arg((2, 3, 4), off_zero)], torch=lambda x: torch.linalg.norm(x, 1, dim=1)),
    OpCase("norm_matrix_ord", lambda x: LA.norm(x, "nuc"), lambda x: np.linalg.norm(x, "nuc"),
           [(3, 4)], torch=lambda x: torch.linalg.norm(x, "nuc"), rtol=1e-10),
    OpCase("norm_matrix_axes", lambda x: LA.norm(x, axis=(0, 2), keepdims=True),
           lambda x: np.linalg.norm(x, axis=(0, 2), keepdims=True), [(2, 3, 4)],
           torch=lambda x: torch.linalg.norm(x, dim=(0, 2), keepdim=True)),
    OpCase("norm_torch_names", lambda x: LA.vector_norm(x, 2, dim=1, keepdim=True),
           lambda x: np.linalg.norm(x, axis=1, keepdims=True), [(3, 4)]),
]


class TestLinalgModule(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- torch's values
def _both(fn, torch_fn, a):
    """Forward and gradient of sum(fn(a)) in tinydl and torch, float64."""
    x = td.Tensor(np.array(a, dtype=np.float64), requires_grad=True)
    t = torch.tensor(np.array(a, dtype=np.float64), requires_grad=True)
    y, ty = fn(x), torch_fn(t)
    (g,) = td.grad(y.sum(), [x])
    (tg,) = torch.autograd.grad(ty.sum(), [t], allow_unused=True)
    return y.data, ty.detach().numpy(), g.data, np.zeros(g.shape) if tg is None else tg.numpy()


needs_torch = pytest.mark.skipif(torch is None, reason="torch (the optional oracle) not installed")


@pytest.mark.parametrize("a", [
    [[1.0, 2, 3], [2, 4, 6], [1, 0, 1]],  # rank 2
    np.outer([1.0, 2, 3], [1, 1, 2]),  # rank 1: every cofactor is 0
    np.zeros((3, 3)),
    [[[1.0, 2], [2, 4]], [[1, 2], [3, 4]]],  # a singular and a regular matrix in one batch
], ids=["rank2", "rank1", "zeros", "batch"])
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(a):
    x = td.Tensor(np.array(a), requires_grad=True)
    (g,) = td.grad(LA.det(x).sum(), [x])
    np.testing.assert_allclose(g.data, ref.cofactors(a), atol=1e-12)
    assert td.gradcheck(LA.det, [x])


@pytest.mark.parametrize("a", [
    np.diag([1.0, 0.0, 0.0]),  # two zero singular values: rank n - 2
    np.zeros((3, 3)),
    np.diag([2.0, 3.0, 0.0, 0.0]),
    [[[1.0, 0, 0], [0, 0, 0], [0, 0, 0]], [[2, 1, 0], [1, 3, 1], [0, 1, 4]]],
    np.diag([1.0, 1.0, 0.0]),  # a repeated nonzero value beside one zero
], ids=["rank1", "zeros", "rank2of4", "batch", "repeated"])
def test_det_second_derivative_where_singular_values_repeat(a):
    """The SVD's own derivative is 0 / 0 at two equal singular values (torch gives NaN); the
    second derivative came out finite and wrong (a zero for diag(1, 0, 0)'s -0.58 term)."""
    x = td.Tensor(np.array(a), requires_grad=True)
    assert td.gradgradcheck(LA.det, [x])


def test_det_third_derivative_at_a_rank_one_matrix():
    a = np.diag([1.0, 0.0, 0.0])
    x = td.Tensor(a, requires_grad=True)
    (g,) = td.grad(LA.det(x), [x], create_graph=True)
    # cofactor (1, 2) = -(a00 a21 - a01 a20): its gradient is -a00 at (2, 1), the only
    # entry not zero at diag(1, 0, 0); that entry's own gradient is -1 at (0, 0)
    (h,) = td.grad(g[1, 2], [x], create_graph=True)
    (t,) = td.grad(h[2, 1], [x])
    want_h, want_t = np.zeros((3, 3)), np.zeros((3, 3))
    want_h[2, 1] = want_t[0, 0] = -1.0
    np.testing.assert_allclose(h.data, want_h, atol=1e-12)
    np.testing.assert_allclose(t.data, want_t, atol=1e-12)


@needs_torch
def test_det_at_a_singular_matrix_matches_torch():
    # Only the value: torch's gradient there depends on its LAPACK's pivots (the cofactors
    # on one machine, 0 on another, MKL on AMD, where the rank-2 3x3's LU pivot is exactly 0);
    # ours is the cofactor matrix, the test above.
    y, ty, g, _ = _both(LA.det, torch.linalg.det, [[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    np.testing.assert_allclose(y, ty, atol=1e-12)
    np.testing.assert_allclose(g, ref.cofactors([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]]), atol=1e-12)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
@pytest.mark.parametrize("ord", [2, 3, 1.5])
def test_vector_norm_past_the_float32_range_of_its_powers(scale, ord):
    """|x|^p over- or underflows float32 long before the norm does: vector_norm (the same
    Function as td.norm) computes those slices from x / max|x| (torch gives inf or 0)."""
    x = td.Tensor(np.array([[3.0, -4.0], [1.0, 1.0]], np.float32) * np.float32(scale),
                  requires_grad=True)
    y = LA.vector_norm(x, ord, axis=1)
    exact = np.sum(np.abs(x.data.astype(np.float64)) ** ord, axis=1) ** (1 / ord)
    np.testing.assert_allclose(y.data, exact, rtol=1e-6)
    np.testing.assert_array_equal(y.data, td.norm(x, p=ord, dim=1).data)
    y.sum().backward()
    assert np.isfinite(x.grad.data).all() and (x.grad.data != 0).all()


@needs_torch
@pytest.mark.parametrize("ord", [2, 1, 3, 1.5, 0.5, INF, -1, 0])
def test_vector_norm_gradient_at_zero_is_torchs(ord):
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0], [0.0, 3.0, -1.0]])
    y, ty, g, tg = _both(lambda x: LA.vector_norm(x, ord, axis=1),
                         lambda t: torch.linalg.vector_norm(t, ord, dim=1), a)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-15)
    assert np.isfinite(g).all()


@needs_torch
@pytest.mark.parametrize("fn, torch_fn", [
    (lambda x: LA.vector_norm(x, INF), lambda t: torch.linalg.vector_norm(t, INF)),
    (lambda x: LA.matrix_norm(x.reshape(2, 2), 1), lambda t: torch.linalg.matrix_norm(
        t.reshape(2, 2), 1)),
], ids=["inf", "matrix_1"])
def test_ties_share_the_gradient_as_torch(fn, torch_fn):
    y, ty, g, tg = _both(fn, torch_fn, [1.0, -3.0, -1.0, 3.0])
    np.testing.assert_allclose(y, ty)
    np.testing.assert_allclose(g, tg)


@needs_torch
@pytest.mark.parametrize("fn, torch_fn", [
    (LA.eigvalsh, torch.linalg.eigvalsh),
    (LA.svdvals, torch.linalg.svdvals),
    (lambda x: LA.matrix_norm(x, "nuc"), lambda t: torch.linalg.matrix_norm(t, "nuc")),
    (lambda x: LA.matrix_norm(x, "fro"), lambda t: torch.linalg.matrix_norm(t, "fro")),
], ids=["eigvalsh", "svdvals", "nuclear", "frobenius"])
def test_values_alone_are_differentiable_at_repeated_values(fn, torch_fn):
    # the identity: every eigenvalue and singular value repeated
    y, ty, g, tg = _both(fn, torch_fn, np.eye(3))
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g, tg, atol=1e-12)
    assert np.isfinite(g).all()


@needs_torch
def test_cholesky_reads_the_lower_triangle_and_has_a_symmetric_gradient():
    rng = np.random.default_rng(0)
    a = positive_definite(rng, (3, 3))
    a[0, 2] = 100.0  # an upper-triangle entry: ignored
    y, ty, g, tg = _both(LA.cholesky, torch.linalg.cholesky, a)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-10)
    np.testing.assert_allclose(g, g.T, rtol=1e-12)
    # upper=True reads the upper triangle (the lower one was read and the factor transposed)
    b = positive_definite(rng, (3, 3))
    b[2, 0] = 100.0  # a lower-triangle entry: ignored now
    y, ty, g, tg = _both(lambda m: LA.cholesky(m, upper=True),
                         lambda m: torch.linalg.cholesky(m, upper=True), b)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-10)


# ----------------------------------------------------------------------------- shapes, modes
def test_svd_full_matrices_shapes_and_orthogonality():
    a = td.Tensor(np.random.default_rng(0).standard_normal((2, 5, 3)))
    u, s, vh = LA.svd(a)  # torch's and NumPy's default: full_matrices=True
    assert (u.shape, s.shape, vh.shape) == ((2, 5, 5), (2, 3), (2, 3, 3))
    np.testing.assert_allclose(u.data.swapaxes(-1, -2) @ u.data, np.broadcast_to(np.eye(5),
                                                                             (2, 5, 5)),
                               atol=1e-12)
    u, s, vh = LA.svd(a, full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((2, 5, 3), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((u.data * s.data[..., None, :]) @ vh.data, a.data, atol=1e-12)


def test_qr_complete_mode():
    a = np.random.default_rng(0).standard_normal((4, 2))
    q, r = LA.qr(td.Tensor(a), mode="complete")
    nq, nr = np.linalg.qr(a, mode="complete")
    np.testing.assert_allclose(q.data, nq, rtol=1e-12)
    np.testing.assert_allclose(r.data, nr, rtol=1e-12)
    x = td.Tensor(a, requires_grad=True)
    with pytest.raises(NotImplementedError, match="qr: the gradient of mode='complete'"):
        LA.qr(x, mode="complete")[0].sum().backward()
    # square or wide: complete is reduced, and differentiable
    x = td.Tensor(a.T.copy(), requires_grad=True)
    assert td.gradcheck(lambda t: LA.qr(t, mode="complete"), [x])


def test_slogdet_sign_and_singular():
    sign, logabs = LA.slogdet(td.Tensor(np.array([[[0.0, 2.0], [1.0, 0.0]], [[1, 2], [2, 4.0]]])))
    np.testing.assert_array_equal(sign.data, [-1.0, 0.0])
    assert logabs.data[1] == -np.inf
    np.testing.assert_allclose(logabs.data[0], np.log(2.0))
    assert not sign.requires_grad


def test_outputs_share_one_node_and_views_of_it():
    x = td.Tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
    u, s, vh = LA.svd(x)
    # using all three outputs: one backward through one SVD node
    ((u * u).sum() + s.sum() + (vh[0] * vh[0]).sum()).backward()
    assert x.grad.shape == (3, 3) and np.isfinite(x.grad.data).all()


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, error, message", [
    (lambda: LA.inv(np.array([[1.0, 2], [2, 4]])), LA.LinAlgError,
     r"inv: the matrix is singular"),
    (lambda: LA.inv(np.array([np.eye(2), [[1.0, 2], [2, 4]]])), LA.LinAlgError,
     r"inv: the matrix \(batch element \(1,\)\) is singular"),
    (lambda: LA.solve(np.zeros((2, 2)), np.ones(2)), LA.LinAlgError,
     r"solve: the matrix A is singular"),
    (lambda: LA.cholesky(-np.eye(3)), LA.LinAlgError,
     r"cholesky: the input is not positive-definite \(the leading minor of order 1"),
    (lambda: LA.cholesky(np.array([np.eye(3), np.diag([1.0, 1, -1])])), LA.LinAlgError,
     r"cholesky: the input \(batch element \(1,\)\) is not positive-definite \(the leading "
     r"minor of order 3"),
    (lambda: LA.inv(np.ones((2, 3))), ValueError,
     r"inv: expected square matrices \(\.\.\., n, n\), got shape \(2, 3\)"),
    (lambda: LA.det(np.ones(3)), ValueError,
     r"det: expected a matrix or a batch of matrices \(\.\.\., m, n\), got shape \(3,\)"),
    (lambda: LA.eigh(np.ones((2, 3))), ValueError, r"eigh: expected square matrices"),
    (lambda: LA.inv(np.eye(2, dtype=np.int64)), TypeError,
     r"inv: expected a float32 or float64 tensor, got dtype int64"),
    (lambda: LA.solve(np.eye(3), np.ones(4)), ValueError,
     r"solve: A of shape \(3, 3\) needs B of shape \(\.\.\., 3\) or \(\.\.\., 3, k\), got \(4,\)"),
    (lambda: LA.solve(np.eye(3)[None].repeat(2, 0), np.ones((3, 3, 1))), ValueError,
     r"solve: the batch shapes of A \(2, 3, 3\) and B \(3, 3, 1\) do not broadcast"),
    (lambda: LA.qr(np.eye(2), mode="raw"), ValueError, r"qr: mode must be 'reduced' or"),
    (lambda: LA.eigh(np.eye(2), UPLO="X"), ValueError, r"eigh: UPLO must be 'L' or 'U'"),
    (lambda: LA.matrix_norm(np.eye(2), 3), ValueError, r"matrix_norm: ord must be one of"),
    (lambda: LA.matrix_norm(np.eye(2), axis=(0, 0)), ValueError, r"names one axis twice"),
    (lambda: LA.vector_norm(np.ones(2), "fro"), ValueError, r"vector_norm: ord must be a number"),
    (lambda: LA.norm(np.ones((2, 2, 2)), 2), ValueError,
     r"norm: with ord=2 and axis=None the input must be 1-D or 2-D"),
    (lambda: LA.norm(np.ones((2, 2)), "fro", axis=0), ValueError,
     r"norm: ord='fro' is a matrix norm"),
    (lambda: LA.vector_norm(np.ones((0, 2)), INF, axis=0), ValueError,
     r"vector_norm: ord=inf over a zero-length axis"),
])
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_linalg_error_is_numpys_and_a_value_error():
    assert issubclass(LA.LinAlgError, np.linalg.LinAlgError)
    assert issubclass(LA.LinAlgError, ValueError)


def test_linalg_is_a_lazy_subpackage():
    assert td.linalg is LA


@pytest.mark.parametrize("norm", [lambda x, p: LA.vector_norm(x, p), lambda x, p: td.norm(x, p)])
def test_vector_norm_gradients_at_nan_and_inf_as_torch(norm):
    """ord=0 has a zero gradient also for an inf gradient or input (x * 0.0 and g * 0.0 gave
    NaN); ord=1's sign is 0 at a NaN element (torch's sgn), not NaN."""
    x = td.Tensor(np.array([1.0, -2.0, 0.0, np.inf]), requires_grad=True)
    norm(x, 0).backward(td.Tensor(np.array(np.inf)))
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))
    x = td.Tensor(np.array([1.0, -2.0, 0.0, np.nan]), requires_grad=True)
    norm(x, 1).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0, 0.0, 0.0])


@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2, 0, 3)])
@pytest.mark.parametrize("ord", [2, 1, np.inf])
def test_matrix_norm_of_empty_matrices_is_zero_as_torch(shape, ord):
    # It raised an error naming max; torch gives 0.
    x = td.Tensor(np.zeros(shape), requires_grad=True)
    out = LA.matrix_norm(x, ord)
    np.testing.assert_array_equal(out.data, np.zeros(shape[:-2]))
    out.sum().backward()
    assert x.grad.shape == shape
    with pytest.raises(ValueError, match="matrix_norm: ord=-2 of an empty matrix"):
        LA.matrix_norm(x, -2)


@pytest.mark.parametrize("shape, ord, defined", [
    ((0, 3), -1, True), ((3, 0), -np.inf, True), ((0, 3), -np.inf, False),
    ((3, 0), -1, False)])
def test_smallest_sum_of_an_empty_matrix_is_zero_where_there_are_sums(shape, ord, defined):
    """ord=-1 of a (0, 3) matrix takes the smallest of 3 column sums of nothing, 0 (torch);
    it raised. With no sums at all it still raises, as torch."""
    x = td.Tensor(np.zeros(shape))
    if defined:
        assert LA.matrix_norm(x, ord).item() == 0.0
    else:
        with pytest.raises(ValueError, match="has no smallest value"):
            LA.matrix_norm(x, ord)


def test_vector_norm_of_a_negative_order_of_nothing_raises_as_torch():
    with pytest.raises(ValueError, match="vector_norm: ord=-1.0 over a zero-length axis"):
        LA.vector_norm(td.Tensor(np.zeros(0)), -1)  # inf before


@pytest.mark.parametrize("values", [LA.svdvals, LA.eigvalsh, lambda m: LA.matrix_norm(m, "nuc")])
def test_second_derivative_through_values_whose_gradient_is_zero_here(values):
    """f = values(A) * (sum(A) - 4) at sum(A) = 4: the values' incoming gradient is zero at
    this point but not nearby. Read as 'output unused' it was dropped, and with it the
    sum(U Vh) (V V^T) term of the second derivative. Expectations by central differences of
    the first derivative."""
    a = np.array([[2.0, 1.0], [1.0, 0.0]])  # symmetric, sum 4, distinct nonzero values

    def first(m):
        x = td.Tensor(m, requires_grad=True)
        (g,) = td.grad((values(x) * (x.sum() - 4.0)).sum(), [x], create_graph=True)
        return g

    x = td.Tensor(a, requires_grad=True)
    (g,) = td.grad((values(x) * (x.sum() - 4.0)).sum(), [x], create_graph=True)
    (hess,) = td.grad(g.sum(), [x])
    eps, want = 1e-6, np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        step = np.zeros_like(a)
        step[idx] = eps
        want[idx] = (first(a + step).data.sum() - first(a - step).data.sum()) / (2 * eps)
    np.testing.assert_allclose(hess.numpy(), want, atol=1e-5)


def test_torchs_top_level_and_method_spellings_of_linear_algebra():
    """td.det/inverse/slogdet/logdet/mv and x.mm/mv/bmm/logdet raised AttributeError."""
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])  # det -1: logdet NaN, as torch
    x, v = td.Tensor(a), td.Tensor(np.array([1.0, 2.0]))
    assert td.det(x).item() == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(td.inverse(x).data, np.linalg.inv(a), rtol=1e-15)
    sign, logabs = td.slogdet(td.Tensor(swap))
    assert (sign.item(), logabs.item()) == (-1.0, 0.0)
    assert td.logdet(x).item() == pytest.approx(np.log(5.0), rel=1e-15)
    assert np.isnan(td.logdet(td.Tensor(swap)).item()) and x.logdet().item() == td.logdet(x).item()
    np.testing.assert_array_equal(td.mv(x, v).data, a @ [1.0, 2.0])
    np.testing.assert_array_equal(x.mv(v).data, a @ [1.0, 2.0])
    np.testing.assert_array_equal(x.mm(td.Tensor(swap)).data, a @ swap)
    assert x[None].bmm(td.Tensor(swap)[None]).shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"mv: expected a matrix \(n, m\) and a vector"):
        td.mv(x, x)
    assert td.gradcheck(lambda m: td.logdet(m @ m.mT + td.Tensor(np.eye(2))),
                        (td.Tensor(a, requires_grad=True),))
    assert td.gradcheck(lambda m, w: td.mv(m, w), (td.Tensor(a, requires_grad=True),
                                                   td.Tensor(np.array([1.0, -2.0]),
                                                             requires_grad=True)))


def test_second_derivatives_through_u_vh_and_v_at_a_minimum_match_torch():
    # The first-order gradient of U (or V) is exactly 0 at a minimum of a loss through it, yet
    # depends on A: it was dropped as 'unused' and the Hessian-vector product came out 0.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A0 = rng.standard_normal((3, 3))
    S0 = A0 + A0.T
    D = rng.standard_normal((3, 3))
    for decompose, torch_decompose, data, pick, direction in (
            (lambda a: LA.svd(a)[0], lambda t: torch.linalg.svd(t)[0], A0, 0, np.ones((3, 3))),
            (lambda a: LA.svd(a, False)[2], lambda t: torch.linalg.svd(t, False)[2],
             rng.standard_normal((3, 5)), 2, np.ones((3, 5))),
            (lambda a: LA.eigh(a)[1], lambda t: torch.linalg.eigh(t)[1], S0, 1, D + D.T)):
        target = torch_decompose(torch.tensor(data)).numpy() ** 2
        a = td.tensor(data, requires_grad=True)
        g = td.grad(((decompose(a) ** 2 - td.tensor(target)) ** 2).sum(), a, create_graph=True)[0]
        h = td.grad((g * td.tensor(direction)).sum(), a)[0]
        t = torch.tensor(data, requires_grad=True)
        tg = torch.autograd.grad(((torch_decompose(t) ** 2 - torch.tensor(target)) ** 2).sum(), t,
                                 create_graph=True)[0]
        th = torch.autograd.grad((tg * torch.tensor(direction)).sum(), t)[0]
        assert np.abs(th.numpy()).max() > 1e-3  # a real curvature, not 0
        np.testing.assert_allclose(h.data, th.numpy(), atol=1e-10)


def test_einsum_takes_torchs_list_of_operands_and_float16_decompositions_are_named():
    a, b = td.tensor(np.ones((2, 3))), td.tensor(np.ones((3, 4)))
    np.testing.assert_array_equal(td.einsum("ij,jk", [a, b]).data, np.full((2, 4), 3.0))
    np.testing.assert_array_equal(td.einsum("ij,jk->ik", (a, b)).data, np.full((2, 4), 3.0))
    for op in (LA.inv, LA.det, LA.svd, LA.qr, LA.cholesky, LA.eigh):
        with pytest.raises(TypeError, match=f"{op.__name__}: expected a float32 or float64"):
            op(td.tensor(np.eye(2, dtype=np.float16)))  # NumPy's message named no op
