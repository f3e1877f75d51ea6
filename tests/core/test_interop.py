"""NumPy functions and ufuncs on Tensors (tinydl/interop.py): one table of cases, each checked
for a Tensor result, NumPy's value on the arrays, and a float64 gradcheck through the NumPy
call; plus the clear errors, mixed ndarray/Tensor arithmetic and the plain-NumPy queries."""
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

import tinydl as td

_any = lambda r, s: r.standard_normal(s)  # noqa: E731
_pos = lambda r, s: r.uniform(0.5, 2.0, s)  # noqa: E731  (log, sqrt, reciprocal, pow bases)
_small = lambda r, s: r.uniform(-1.0, 1.0, s)  # noqa: E731  (tan away from its poles)
# Away from 0, where abs has its kink.
_off0 = lambda r, s: r.choice([-1, 1], s) * r.uniform(0.1, 2.0, s)  # noqa: E731
_above1 = lambda r, s: r.uniform(1.2, 3.0, s)  # noqa: E731  (arccosh)
# Halfway between integers: floor, ceil, trunc, sign are flat there (zero gradient).
_between = lambda r, s: r.integers(-3, 3, s) + r.uniform(0.2, 0.8, s)  # noqa: E731
# Near integers: rint is flat there.
_near_int = lambda r, s: r.integers(-3, 3, s) + r.uniform(-0.3, 0.3, s)  # noqa: E731

# id -> (fn applied to Tensors and to arrays alike, [(sampler, shape) per input])
UFUNCS = {
    "add": (np.add, [(_any, (3, 4)), (_any, (4,))]),
    "subtract": (np.subtract, [(_any, (3, 4)), (_any, (3, 1))]),
    "multiply": (np.multiply, [(_any, (3, 4)), (_any, (3, 4))]),
    "divide": (np.divide, [(_any, (3, 4)), (_pos, (4,))]),
    "true_divide": (np.true_divide, [(_pos, (2, 3)), (_pos, (2, 3))]),
    "power": (np.power, [(_pos, (3, 4)), (_any, (3, 4))]),
    "power_scalar": (lambda x: np.power(x, 3.0), [(_any, (5,))]),
    "float_power": (np.float_power, [(_pos, (3, 4)), (_any, (4,))]),
    "negative": (np.negative, [(_any, (3, 4))]),
    "positive": (np.positive, [(_any, (3, 4))]),
    "exp": (np.exp, [(_any, (3, 4))]),
    "exp2": (np.exp2, [(_any, (3, 4))]),
    "log": (np.log, [(_pos, (3, 4))]),
    "log2": (np.log2, [(_pos, (3, 4))]),
    "log10": (np.log10, [(_pos, (3, 4))]),
    "sqrt": (np.sqrt, [(_pos, (3, 4))]),
    "square": (np.square, [(_any, (3, 4))]),
    "reciprocal": (np.reciprocal, [(_pos, (3, 4))]),
    "absolute": (np.absolute, [(_off0, (3, 4))]),
    "abs": (np.abs, [(_off0, (3, 4))]),
    "fabs": (np.fabs, [(_off0, (3, 4))]),
    "sin": (np.sin, [(_any, (3, 4))]),
    "cos": (np.cos, [(_any, (3, 4))]),
    "tan": (np.tan, [(_small, (3, 4))]),
    "tanh": (np.tanh, [(_any, (3, 4))]),
    "arcsin": (np.arcsin, [(_small, (3, 4))]),
    "arccos": (np.arccos, [(_small, (3, 4))]),
    "arctan": (np.arctan, [(_any, (3, 4))]),
    "arctan2": (np.arctan2, [(_any, (3, 4)), (_any, (4,))]),
    "sinh": (np.sinh, [(_any, (3, 4))]),
    "cosh": (np.cosh, [(_any, (3, 4))]),
    "arcsinh": (np.arcsinh, [(_any, (3, 4))]),
    "arccosh": (np.arccosh, [(_above1, (3, 4))]),
    "arctanh": (np.arctanh, [(_small, (3, 4))]),
    "log1p": (np.log1p, [(_pos, (3, 4))]),
    "expm1": (np.expm1, [(_any, (3, 4))]),
    "hypot": (np.hypot, [(_any, (3, 4)), (_any, (3, 1))]),
    "copysign": (np.copysign, [(_off0, (3, 4)), (_any, (4,))]),
    "fmod": (np.fmod, [(_any, (3, 4)), (_off0, (4,))]),
    "remainder": (np.remainder, [(_any, (3, 4)), (_off0, (4,))]),
    "mod": (np.mod, [(_any, (3, 4)), (_pos, (3, 4))]),
    "floor_divide": (np.floor_divide, [(_any, (3, 4)), (_pos, (4,))]),
    "divmod": (np.divmod, [(_any, (3, 4)), (_off0, (4,))]),
    "sign": (np.sign, [(_off0, (3, 4))]),
    "floor": (np.floor, [(_between, (3, 4))]),
    "ceil": (np.ceil, [(_between, (3, 4))]),
    "trunc": (np.trunc, [(_between, (3, 4))]),
    "rint": (np.rint, [(_near_int, (3, 4))]),
    "deg2rad": (np.deg2rad, [(_any, (3, 4))]),
    "rad2deg": (np.rad2deg, [(_any, (3, 4))]),
    "maximum": (np.maximum, [(_any, (3, 4)), (_any, (4,))]),
    "minimum": (np.minimum, [(_any, (3, 4)), (_any, (3, 4))]),
    "matmul": (np.matmul, [(_any, (3, 4)), (_any, (4, 2))]),
    "matmul_batched": (np.matmul, [(_any, (2, 3, 4)), (_any, (4,))]),
    "logaddexp": (np.logaddexp, [(_any, (3, 4)), (_any, (4,))]),
    "logaddexp2": (np.logaddexp2, [(_any, (3, 4)), (_any, (3, 1))]),
    "erf": (special.erf, [(_any, (3, 4))]),
    "expit": (special.expit, [(_any, (3, 4))]),
    "add_reduce": (lambda x: np.add.reduce(x, axis=1), [(_any, (3, 4))]),
    "add_reduce_default_axis": (np.add.reduce, [(_any, (3, 4))]),
    "maximum_reduce": (lambda x: np.maximum.reduce(x, axis=None), [(_any, (3, 4))]),
    "minimum_reduce": (lambda x: np.minimum.reduce(x, keepdims=True), [(_any, (3, 4))]),
}

_bounds = np.array([-0.5, 0.0, 0.3, 0.8])
_mask = np.array([[True, False, True, False]] * 3)
_take = np.array([[0, 3], [1, 1], [2, 0]])  # a repeated index: its gradients add up
# Well-conditioned matrices for solve, inv, det.
_square = lambda r, s: r.standard_normal(s) + 3 * np.eye(s[-1])  # noqa: E731
# Symmetric positive definite (cholesky, eigh) as the symmetric part of the input, so that
# finite differences, which perturb one entry at a time, stay on symmetric matrices.
_spd = lambda r, s: r.standard_normal(s) + s[-1] * np.eye(s[-1])  # noqa: E731
_sym = lambda x: (x + np.matrix_transpose(x)) / 2  # noqa: E731

FUNCTIONS = {
    "sum": (np.sum, [(_any, (3, 4))]),
    "sum_axis": (lambda x: np.sum(x, axis=0), [(_any, (3, 4))]),
    "sum_axes_keepdims": (lambda x: np.sum(x, (0, 2), keepdims=True), [(_any, (2, 3, 4))]),
    "mean": (lambda x: np.mean(x, axis=-1), [(_any, (3, 4))]),
    "max": (lambda x: np.max(x, axis=1), [(_any, (3, 4))]),
    "amax": (lambda x: np.amax(x, 0, keepdims=True), [(_any, (3, 4))]),
    "min": (np.min, [(_any, (3, 4))]),
    "amin": (lambda x: np.amin(x, axis=1), [(_any, (3, 4))]),
    "var": (lambda x: np.var(x, axis=0), [(_any, (3, 4))]),
    "var_ddof": (lambda x: np.var(x, axis=1, ddof=1), [(_any, (3, 4))]),
    "std": (np.std, [(_any, (3, 4))]),
    "std_ddof": (lambda x: np.std(x, 0, ddof=1, keepdims=True), [(_any, (3, 4))]),
    "reshape": (lambda x: np.reshape(x, (4, -1)), [(_any, (2, 3, 2))]),
    "ravel": (np.ravel, [(_any, (3, 4))]),
    "transpose": (np.transpose, [(_any, (2, 3, 4))]),
    "transpose_axes": (lambda x: np.transpose(x, (1, 2, 0)), [(_any, (2, 3, 4))]),
    "swapaxes": (lambda x: np.swapaxes(x, 0, 2), [(_any, (2, 3, 4))]),
    "moveaxis": (lambda x: np.moveaxis(x, 0, -1), [(_any, (2, 3, 4))]),
    "expand_dims": (lambda x: np.expand_dims(x, 1), [(_any, (3, 4))]),
    "squeeze": (lambda x: np.squeeze(x, axis=0), [(_any, (1, 3, 1))]),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3, 4)), [(_any, (3, 1))]),
    "concatenate": (lambda x, y: np.concatenate([x, np.ones((1, 4)), y], axis=0),
                    [(_any, (2, 4)), (_any, (3, 4))]),
    "concatenate_none": (lambda x, y: np.concatenate((x, y), axis=None),
                         [(_any, (2, 2)), (_any, (3,))]),
    "stack": (lambda x, y: np.stack([x, y], axis=1), [(_any, (3, 4)), (_any, (3, 4))]),
    "split": (lambda x: np.split(x, 2, axis=1), [(_any, (3, 4))]),
    "split_points": (lambda x: np.split(x, [1, 3]), [(_any, (5, 2))]),
    "array_split": (lambda x: np.array_split(x, 3), [(_any, (7, 2))]),
    "where": (lambda x, y: np.where(_mask, x, y), [(_any, (3, 4)), (_any, (4,))]),
    "clip": (lambda x: np.clip(x, -0.5, 0.5), [(_any, (3, 4))]),
    "clip_array_bounds": (lambda x: np.clip(x, _bounds - 1.0, _bounds), [(_any, (3, 4))]),
    "clip_tensor_bounds": (np.clip, [(_any, (3, 4)), (_small, (4,)), (_pos, (4,))]),
    "pad": (lambda x: np.pad(x, ((1, 0), (2, 3))), [(_any, (3, 4))]),
    "pad_constant": (lambda x: np.pad(x, 1, mode="constant", constant_values=2.5),
                     [(_any, (3, 4))]),
    "dot_2d": (np.dot, [(_any, (3, 4)), (_any, (4, 2))]),
    "dot_1d": (np.dot, [(_any, (4,)), (_any, (4,))]),
    "dot_2d_1d": (np.dot, [(_any, (3, 4)), (_any, (4,))]),
    "dot_scalar": (lambda x: np.dot(x, 2.0), [(_any, (3, 4))]),
    "outer": (np.outer, [(_any, (3,)), (_any, (2, 2))]),
    "copy": (np.copy, [(_any, (3, 4))]),
    "round": (lambda x: np.round(x, 1), [(lambda r, s: _near_int(r, s) / 10, (3, 4))]),
    "around": (np.around, [(_near_int, (3, 4))]),
    "fix": (np.fix, [(_between, (3, 4))]),
    "astype": (lambda x: np.astype(x, np.float64), [(_any, (3, 4))]),
    # reductions, scans, movements, order statistics
    "prod": (np.prod, [(_any, (3, 4))]),
    "prod_axis_keepdims": (lambda x: np.prod(x, axis=1, keepdims=True), [(_any, (3, 4))]),
    "nansum": (lambda x: np.nansum(x, axis=0), [(_any, (3, 4))]),
    "nanmean": (lambda x: np.nanmean(x, 1, keepdims=True), [(_any, (3, 4))]),
    "cumsum_flattens": (np.cumsum, [(_any, (3, 4))]),
    "cumsum_axis": (lambda x: np.cumsum(x, axis=1), [(_any, (3, 4))]),
    "cumprod": (lambda x: np.cumprod(x, 0), [(_any, (3, 4))]),
    "cumprod_flattens": (np.cumprod, [(_pos, (2, 3))]),
    "cumulative_sum": (lambda x: np.cumulative_sum(x, axis=0), [(_any, (3, 4))]),
    "cumulative_prod": (np.cumulative_prod, [(_any, (5,))]),
    "flip_all_axes": (np.flip, [(_any, (2, 3, 4))]),
    "flip_axis": (lambda x: np.flip(x, 1), [(_any, (3, 4))]),
    "roll_flattened": (lambda x: np.roll(x, 5), [(_any, (3, 4))]),
    "roll_axes": (lambda x: np.roll(x, (1, -1), axis=(0, 1)), [(_any, (3, 4))]),
    "tile": (lambda x: np.tile(x, (2, 1, 3)), [(_any, (3, 4))]),
    "repeat_flattened": (lambda x: np.repeat(x, 2), [(_any, (3, 4))]),
    "repeat_axis": (lambda x: np.repeat(x, [1, 0, 2], axis=0), [(_any, (3, 4))]),
    "take_along_axis": (lambda x: np.take_along_axis(x, _take, axis=1), [(_any, (3, 4))]),
    "tril": (lambda x: np.tril(x, -1), [(_any, (3, 4))]),
    "triu_1d": (np.triu, [(_any, (3,))]),
    "diag_1d": (lambda x: np.diag(x, 1), [(_any, (3,))]),
    "diag_2d": (np.diag, [(_any, (3, 4))]),
    "diagonal": (lambda x: np.diagonal(x, 1, 2, 0), [(_any, (3, 4, 4))]),
    "trace": (np.trace, [(_any, (3, 4))]),
    "trace_axes": (lambda x: np.trace(x, -1, 1, 2), [(_any, (2, 3, 3))]),
    "matrix_transpose": (np.matrix_transpose, [(_any, (2, 3, 4))]),
    "meshgrid": (np.meshgrid, [(_any, (3,)), (_any, (4,))]),
    "meshgrid_ij_sparse": (lambda x, y: np.meshgrid(x, y, indexing="ij", sparse=True),
                           [(_any, (3,)), (_any, (4,))]),
    "sort": (np.sort, [(_any, (3, 4))]),
    "sort_axis_kind": (lambda x: np.sort(x, axis=0, kind="quicksort"), [(_any, (3, 4))]),
    "sort_flattened": (lambda x: np.sort(x, axis=None), [(_any, (3, 4))]),
    "median": (np.median, [(_any, (3, 4))]),
    "median_axis": (lambda x: np.median(x, axis=0, keepdims=True), [(_any, (3, 4))]),
    "quantile": (lambda x: np.quantile(x, [0.25, 0.9], axis=1), [(_any, (3, 4))]),
    "quantile_midpoint": (lambda x: np.quantile(x, 0.4, method="midpoint"), [(_any, (3, 4))]),
    # products
    "einsum": (lambda x, y: np.einsum("ij,jk->ik", x, y), [(_any, (3, 4)), (_any, (4, 2))]),
    "einsum_trace": (lambda x: np.einsum("ii", x, optimize=True), [(_any, (3, 3))]),
    "einsum_sublist": (lambda x: np.einsum(x, [0, 1], [1]), [(_any, (3, 4))]),
    "tensordot": (lambda x, y: np.tensordot(x, y, axes=([1, 0], [0, 1])),
                  [(_any, (3, 4)), (_any, (4, 3))]),
    "tensordot_default": (np.tensordot, [(_any, (2, 3, 4)), (_any, (3, 4, 2))]),
    "inner": (np.inner, [(_any, (2, 4)), (_any, (3, 4))]),
    "kron": (np.kron, [(_any, (2, 3)), (_any, (2, 2))]),
    # np.linalg
    "linalg_norm": (np.linalg.norm, [(_any, (3, 4))]),
    "linalg_norm_nuc": (lambda x: np.linalg.norm(x, "nuc"), [(_any, (3, 4))]),
    "linalg_norm_2": (lambda x: np.linalg.norm(x, 2), [(_any, (3, 4))]),
    "linalg_norm_axis": (lambda x: np.linalg.norm(x, 3, axis=1), [(_any, (3, 4))]),
    "linalg_norm_inf_keepdims": (lambda x: np.linalg.norm(x, np.inf, (0, 1), keepdims=True),
                                 [(_any, (3, 4))]),
    "linalg_vector_norm": (lambda x: np.linalg.vector_norm(x, ord=1, axis=0), [(_off0, (3, 4))]),
    "linalg_matrix_norm": (lambda x: np.linalg.matrix_norm(x, ord=-2), [(_any, (2, 3, 4))]),
    "linalg_det": (np.linalg.det, [(_square, (2, 3, 3))]),
    "linalg_slogdet": (lambda x: np.linalg.slogdet(x).logabsdet, [(_any, (3, 3))]),
    "linalg_inv": (np.linalg.inv, [(_square, (2, 3, 3))]),
    "linalg_solve_vector": (np.linalg.solve, [(_square, (3, 3)), (_any, (3,))]),
    # b of shape a.shape[:-1]: NumPy 2 reads it as one matrix, broadcast (torch: vectors)
    "linalg_solve_matrix": (np.linalg.solve, [(_square, (3, 3, 3)), (_any, (3, 3))]),
    "linalg_cholesky": (lambda x: np.linalg.cholesky(_sym(x)), [(_spd, (3, 3))]),
    "linalg_cholesky_upper": (lambda x: np.linalg.cholesky(_sym(x), upper=True),
                              [(_spd, (2, 3, 3))]),
    "linalg_qr": (np.linalg.qr, [(_any, (4, 3))]),
    "linalg_qr_r": (lambda x: np.linalg.qr(x, mode="r"), [(_any, (4, 3))]),
    "linalg_svd": (np.linalg.svd, [(_any, (3, 3))]),
    "linalg_svd_reduced": (lambda x: np.linalg.svd(x, full_matrices=False), [(_any, (4, 3))]),
    "linalg_svd_values": (lambda x: np.linalg.svd(x, compute_uv=False), [(_any, (4, 3))]),
    "linalg_svdvals": (np.linalg.svdvals, [(_any, (2, 3, 4))]),
    "linalg_eigh": (lambda x: np.linalg.eigh(_sym(x)), [(_spd, (3, 3))]),
    "linalg_eigvalsh": (lambda x: np.linalg.eigvalsh(_sym(x), UPLO="U"), [(_any, (3, 3))]),
    "linalg_matmul": (np.linalg.matmul, [(_any, (2, 3, 4)), (_any, (4, 2))]),
    "linalg_tensordot": (lambda x, y: np.linalg.tensordot(x, y, axes=1),
                         [(_any, (3, 4)), (_any, (4, 2))]),
    "linalg_outer": (np.linalg.outer, [(_any, (3,)), (_any, (4,))]),
    "linalg_trace": (lambda x: np.linalg.trace(x, offset=1), [(_any, (2, 3, 4))]),
    "linalg_diagonal": (np.linalg.diagonal, [(_any, (2, 3, 4))]),
}


def _inputs(spec):
    r = np.random.default_rng(0)
    arrays = [sample(r, shape) for sample, shape in spec]
    return arrays, [td.Tensor(a, requires_grad=True) for a in arrays]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _check_case(fn, spec):
    arrays, tensors = _inputs(spec)
    outs = _as_tuple(fn(*tensors))
    refs = _as_tuple(fn(*arrays))
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert isinstance(out, td.Tensor), type(out)
        assert out.requires_grad
        assert out.dtype == np.float64
        assert out.shape == np.shape(ref)
        np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-12)
    assert td.gradcheck(lambda *ts: _as_tuple(fn(*ts)), tensors)


@pytest.mark.parametrize("name", sorted(UFUNCS))
def test_ufunc_runs_tinydl_op(name):
    _check_case(*UFUNCS[name])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runs_tinydl_op(name):
    _check_case(*FUNCTIONS[name])


def test_scipy_special_is_imported_on_first_use_and_its_ufuncs_still_run_the_ops():
    """``import tinydl`` leaves scipy.special out (0.2 s); a user who imports it afterwards
    still gets tinydl's op, with its graph, from ``special.expit(t)``."""
    code = (
        "import sys, tinydl\n"
        "assert 'scipy.special' not in sys.modules, 'import tinydl imported scipy.special'\n"
        "from scipy import special\n"
        "t = tinydl.tensor([0.5, -1.0], requires_grad=True)\n"
        "y = special.expit(t)\n"
        "assert isinstance(y, tinydl.Tensor) and y.grad_fn is not None, type(y)\n"
        "assert isinstance(special.erf(t), tinydl.Tensor)\n"
        "y.sum().backward()\n"
        "s = special.expit(t.detach().numpy())\n"
        "assert abs(t.grad.numpy() - s * (1 - s)).max() < 1e-6\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_tables_cover_enough_names():
    assert len(UFUNCS) >= 20 and len(FUNCTIONS) >= 10


# ----------------------------------------------------------------------------- mixed operands
_OPERATORS = {
    "add": lambda a, t: a + t,
    "subtract": lambda a, t: a - t,
    "multiply": lambda a, t: a * t,
    "divide": lambda a, t: a / t,
    "power": lambda a, t: a ** t,
    "matmul": lambda a, t: a @ t,
}
_REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
              "divide": "__rtruediv__", "power": "__rpow__", "matmul": "__rmatmul__"}


@pytest.mark.parametrize("name", sorted(_OPERATORS))
def test_ndarray_op_tensor_is_a_differentiable_tensor(name):
    r = np.random.default_rng(1)
    a = r.uniform(0.5, 2.0, (3, 3))
    t = td.Tensor(r.uniform(0.5, 2.0, (3, 3)), requires_grad=True)
    out = _OPERATORS[name](a, t)  # ndarray.__op__ -> np.<ufunc>(a, t) -> Tensor.__array_ufunc__
    assert isinstance(out, td.Tensor) and out.requires_grad
    expected = getattr(t, _REFLECTED[name])(a)
    np.testing.assert_array_equal(out.data, expected.data)
    np.testing.assert_allclose(out.data, _OPERATORS[name](a, t.data), rtol=1e-12)
    assert td.gradcheck(lambda x: _OPERATORS[name](a, x), [t])


def test_ufunc_mixes_tensors_arrays_scalars_and_lists():
    t = td.Tensor(np.arange(3.0), requires_grad=True)
    out = np.add(np.add([1.0, 2.0, 3.0], t), 2)
    assert isinstance(out, td.Tensor)
    np.testing.assert_array_equal(out.data, [3.0, 5.0, 7.0])
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.ones(3))


def test_python_scalars_keep_float32():
    t = td.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for out in (np.multiply(t, 2.0), np.square(t), np.reciprocal(t), np.log2(t), np.exp2(t),
                np.add(2.0, t)):
        assert isinstance(out, td.Tensor) and out.dtype == np.float32


def test_integer_tensors_get_numpy_exact_results():
    t = td.Tensor(np.array([1, 2, 4]))
    for ufunc in (np.add, np.multiply, np.floor_divide):
        out = ufunc(t, 3)
        assert isinstance(out, td.Tensor) and out.dtype == ufunc(t.data, 3).dtype
        np.testing.assert_array_equal(out.data, ufunc(t.data, 3))
    np.testing.assert_array_equal(np.reciprocal(t).data, np.reciprocal(t.data))
    np.testing.assert_array_equal(np.square(t).data, [1, 4, 16])



@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int64, np.bool_])
def test_float_ufuncs_of_small_integers_compute_in_float32_as_the_methods(dtype):
    """NumPy makes float16 of int8, uint8, int16 and bool: np.exp(int8 12) was inf in
    float16 where t.exp() and torch give 162754.8 in float32."""
    t = td.Tensor(np.array([12, 1, 0], dtype=dtype))
    for ufunc, method in ((np.exp, td.exp), (np.sqrt, td.sqrt), (np.log1p, td.log1p)):
        out = ufunc(t)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.data, method(t).data)
    assert np.true_divide(t, 2).dtype == np.float32
    assert np.add(t, 1).dtype == np.add(t.data, 1).dtype  # integer results stay NumPy's

# ----------------------------------------------------------------------------- constants
@pytest.mark.parametrize("ufunc", [np.less, np.less_equal, np.greater, np.greater_equal,
                                   np.equal, np.not_equal])
def test_comparisons_give_bool_tensors_like_the_operators(ufunc):
    r = np.random.default_rng(2)
    t = td.Tensor(r.standard_normal(5), requires_grad=True)
    a = r.standard_normal(5)
    for out in (ufunc(t, a), ufunc(a, t), ufunc(t, 0.0)):
        assert isinstance(out, td.Tensor) and out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(ufunc(t, a).data, ufunc(t.data, a))
    np.testing.assert_array_equal(ufunc(a, t).data, ufunc(a, t.data))
    operator = {np.less: "__lt__", np.less_equal: "__le__", np.greater: "__gt__",
                np.greater_equal: "__ge__", np.equal: "__eq__", np.not_equal: "__ne__"}[ufunc]
    np.testing.assert_array_equal(ufunc(t, a).data, getattr(t, operator)(a).data)


def test_logical_ufuncs_give_bool_tensors_outside_the_graph():
    t = td.Tensor(np.array([-1.5, 0.0, 2.7]), requires_grad=True)
    np.testing.assert_array_equal(np.logical_not(t > 0).data, [True, True, False])
    np.testing.assert_array_equal(np.logical_and(t > 0, t < 1).data, [False, False, False])
    for ufunc in (np.logical_and, np.logical_or, np.logical_xor):
        out = ufunc(t, np.array([1.0, 0.0, 0.0]))  # a float Tensor: nonzero is True
        assert isinstance(out, td.Tensor) and out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(out.data, ufunc(t.data, [1.0, 0.0, 0.0]))
    out = np.logical_not(t)
    assert isinstance(out, td.Tensor) and not out.requires_grad
    np.testing.assert_array_equal(out.data, [False, True, False])


def test_rounding_ufuncs_have_a_zero_gradient_as_torch():
    t = td.Tensor(np.array([-1.5, 0.2, 2.7, 2.5]), requires_grad=True)
    for fn in (np.floor, np.ceil, np.sign, np.trunc, np.rint, np.fix,
               lambda x: np.round(x, 1), lambda x: np.floor_divide(x, 0.7)):
        out = fn(t)
        assert isinstance(out, td.Tensor) and out.requires_grad
        np.testing.assert_array_equal(out.data, fn(t.data))
        (grad,) = td.grad(out.sum(), [t])
        np.testing.assert_array_equal(grad.data, np.zeros(4))
    np.testing.assert_array_equal(np.rint(t).data, [-2.0, 0.0, 3.0, 2.0])  # halves to even


def test_bitwise_ufuncs_on_integer_and_bool_tensors():
    a = td.Tensor(np.array([5, -3, 12]))
    b = np.array([3, 6, 2])
    for ufunc in (np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.left_shift,
                  np.right_shift):
        for out, want in ((ufunc(a, b), ufunc(a.data, b)), (ufunc(b, a), ufunc(b, a.data)),
                          (ufunc(a, 1), ufunc(a.data, 1))):
            assert isinstance(out, td.Tensor) and out.dtype == want.dtype
            np.testing.assert_array_equal(out.data, want)
    for ufunc in (np.invert, np.bitwise_not):
        np.testing.assert_array_equal(ufunc(a).data, [-6, 2, -13])
    m = td.Tensor(np.array([True, False]))
    np.testing.assert_array_equal(np.invert(m).data, [False, True])
    np.testing.assert_array_equal((np.array([True, True]) & m).data, [True, False])


def test_bitwise_ufuncs_refuse_float_tensors():
    t = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for ufunc, name in ((np.bitwise_and, "bitwise_and"), (np.left_shift, "left_shift")):
        with pytest.raises(TypeError, match=f"{name}: needs integer or bool tensors, got "
                                            "float64"):
            ufunc(t, 1)
    with pytest.raises(TypeError, match="bitwise_not: needs integer or bool"):
        np.invert(t)


def test_ndarray_mod_and_floordiv_tensor_run_the_ops():
    r = np.random.default_rng(4)
    a = r.standard_normal((3, 3))
    t = td.Tensor(r.uniform(0.5, 2.0, (3, 3)), requires_grad=True)
    out = a % t  # ndarray.__mod__ -> np.remainder(a, t) -> Tensor.__array_ufunc__
    assert isinstance(out, td.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, a % t.data, rtol=1e-12)
    (grad,) = td.grad(out.sum(), [t])
    np.testing.assert_array_equal(grad.data, -np.floor_divide(a, t.data))
    out = a // t
    assert isinstance(out, td.Tensor)
    np.testing.assert_array_equal(out.data, a // t.data)


def test_divmod_gives_two_tensors():
    t = td.Tensor(np.array([7.5, -7.5]), requires_grad=True)
    q, m = np.divmod(t, 2.0)
    np.testing.assert_array_equal(q.data, [3.0, -4.0])
    np.testing.assert_array_equal(m.data, [1.5, 0.5])
    q, m = np.divmod(td.Tensor(np.array([7, -7])), 2)  # integers: NumPy's own result
    assert isinstance(q, td.Tensor) and isinstance(m, td.Tensor) and q.dtype == np.int64
    np.testing.assert_array_equal(q.data, [3, -4])
    np.testing.assert_array_equal(m.data, [1, 1])


# ----------------------------------------------------------------------------- queries
def test_queries_return_plain_numpy_values():
    r = np.random.default_rng(3)
    t = td.Tensor(r.standard_normal((3, 4)), requires_grad=True)
    x = t.data
    assert np.shape(t) == (3, 4) and np.ndim(t) == 2 and np.size(t) == 12
    assert np.result_type(t, np.float32) == np.float64
    assert np.allclose(t, x) is True
    assert np.array_equal(t, x) is True
    for got, want in [(np.argmax(t), np.argmax(x)), (np.argmin(t, axis=0), np.argmin(x, 0)),
                      (np.argsort(t, axis=1), np.argsort(x, 1)),
                      (np.unique(t > 0), np.unique(x > 0)), (np.isclose(t, x), np.isclose(x, x)),
                      (np.histogram(t)[0], np.histogram(x)[0]),
                      (np.bincount(td.Tensor(np.array([0, 2, 2]))), [1, 0, 2]),
                      (np.isfinite(t), np.isfinite(x)), (np.isnan(t), np.isnan(x)),
                      (np.count_nonzero(t > 0), np.count_nonzero(x > 0)),
                      (np.any(t > 0, axis=1), np.any(x > 0, axis=1)), (np.all(t > -9), True),
                      (np.zeros_like(t), np.zeros_like(x))]:
        assert not isinstance(got, td.Tensor)
        np.testing.assert_array_equal(got, want)
    for got, want in zip(np.nonzero(t > 0), np.nonzero(x > 0)):
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)
    for got, want in zip(np.where(t > 0), np.where(x > 0)):  # one argument: np.nonzero
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)
    # Tensors inside a tuple are unwrapped too.
    np.testing.assert_array_equal(np.lexsort((t[0], t[1])), np.lexsort((x[0], x[1])))
    np.testing.assert_allclose(t, x)  # np.testing goes through __array__


def test_sort_keeps_the_graph():
    """np.sort was a query: its plain array cut the graph (requires_grad False, no gradient)."""
    t = td.Tensor(np.array([[3.0, 1.0, 2.0]]), requires_grad=True)
    out = (np.sort(t, axis=1) * td.Tensor(np.array([1.0, 0, 0]))).sum()
    assert isinstance(out, td.Tensor) and out.requires_grad
    out.backward()
    np.testing.assert_array_equal(t.grad.data, [[0.0, 1.0, 0.0]])  # the minimum came from [1]


def test_new_mappings_keep_float32_and_numpy_result_names():
    t = td.Tensor(np.array([[2.0, 1.0], [1.0, 3.0]], dtype=np.float32), requires_grad=True)
    for out in (np.prod(t), np.cumsum(t), np.flip(t), np.median(t), np.linalg.det(t),
                np.linalg.norm(t), np.einsum("ij->i", t), np.sort(t, axis=None)):
        assert isinstance(out, td.Tensor) and out.dtype == np.float32 and out.requires_grad
    cast = np.astype(t, np.float64)
    assert cast.dtype == np.float64 and cast.requires_grad
    assert np.astype(t, np.float32) is not t  # copy=True: a new tensor, as NumPy's new array
    x = t.data.astype(np.float64)
    np.testing.assert_allclose(np.linalg.slogdet(t).logabsdet.data, np.log(5.0), rtol=1e-6)
    assert np.linalg.slogdet(t).sign.item() == 1.0
    values, vectors = np.linalg.eigh(t).eigenvalues, np.linalg.eigh(t).eigenvectors
    np.testing.assert_allclose(values.data, np.linalg.eigh(x).eigenvalues, rtol=1e-6)
    assert vectors.shape == (2, 2)
    assert np.linalg.qr(t).R.shape == (2, 2) and np.linalg.svd(t).Vh.shape == (2, 2)


def test_values_without_a_gradient_refuse_to_cut_a_graph():
    """np.unique has no gradient in tinydl: its plain NumPy result is fine for tensors outside
    a graph, an error inside one. (The weights of np.bincount and np.histogram have one:
    tests/ops/test_numeric.py, tests/ops/test_binning.py.)"""
    t = td.Tensor(np.array([2.0, 1.0, 2.0]), requires_grad=True)
    calls = {"unique": lambda: np.unique(t)}
    for name, call in calls.items():
        with pytest.raises(TypeError, match=f"numpy.{name} on a tinydl Tensor: .*cut the graph"):
            call()
        with td.no_grad():
            call()  # nothing recorded, nothing cut
    np.testing.assert_array_equal(np.unique(t.detach()), [1.0, 2.0])
    np.testing.assert_array_equal(np.unique(t.detach(), return_counts=True)[1], [1, 2])
    np.testing.assert_array_equal(np.bincount(np.array([0, 1, 1]), weights=t.detach()),
                                  [2.0, 3.0])
    counts, edges = np.histogram(t, bins=2)  # counts do not depend on t smoothly: a query
    np.testing.assert_array_equal(counts, [1, 2])
    assert not isinstance(edges, td.Tensor)


# ----------------------------------------------------------------------------- errors
_x = td.Tensor(np.full((2, 3), 0.5), requires_grad=True)

UNSUPPORTED = {
    "cbrt": lambda: np.cbrt(_x, dtype=np.float32),
    "spacing": lambda: np.spacing(_x),
    "modf": lambda: np.modf(_x, dtype=np.float32),
    "nancumsum": lambda: np.nancumsum(_x, out=np.empty(6)),
    "nanprod": lambda: np.nanprod(_x, initial=2.0),
    "unwrap": lambda: np.unwrap(_x),
    "partition": lambda: np.partition(_x, 1, order="f0"),
    "pinv": lambda: np.linalg.pinv(_x),
    "prod": lambda: np.prod(_x, out=np.empty(())),
    "cumsum": lambda: np.cumsum(_x, out=np.empty(6)),
    "cumulative_sum": lambda: np.cumulative_sum(_x, axis=1, include_initial=True),
    "einsum": lambda: np.einsum("ij->j", _x, dtype=np.float32),
    "sort": lambda: np.sort(_x, order="f0"),
    "quantile": lambda: np.quantile(_x, 0.5, method="inverted_cdf"),
    "trace": lambda: np.trace(_x, dtype=np.float32),
    "qr": lambda: np.linalg.qr(_x, mode="raw"),
    "svd": lambda: np.linalg.svd(_x, hermitian=True),
    "accumulate": lambda: np.add.accumulate(_x),
    "outer": lambda: np.multiply.outer(_x, _x),
    "multiply.reduce": lambda: np.multiply.reduce(_x),
    "exp": lambda: np.exp(_x, out=td.zeros(2, 3)),
    "add": lambda: np.add(_x, 1.0, where=np.ones((2, 3), dtype=bool)),
    "negative": lambda: np.negative(_x, dtype=np.float32),
    "sum": lambda: np.sum(_x, where=np.ones((2, 3), dtype=bool)),
    "mean": lambda: np.mean(_x, out=np.empty(())),
    "pad": lambda: np.pad(_x, 1, mode="edge"),
    "dot": lambda: np.dot(np.ones((2, 2, 3)), _x.T),
    "reshape": lambda: np.reshape(_x, (3, 2), order="F"),
}


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "nansum", "nanprod", "nanmean"])
def test_numpy_reductions_take_dtype_as_tinydls(name):
    # (they refused dtype=, where tinydl.sum(x, dtype=) works)
    x = td.Tensor(np.array([[1.0, 2.0], [np.nan, 4.0]], dtype=np.float32), requires_grad=True)
    got = getattr(np, name)(x, axis=1, dtype=np.float64)
    assert isinstance(got, td.Tensor) and got.dtype == np.float64
    np.testing.assert_array_equal(got.numpy(), getattr(np, name)(x.data, axis=1,
                                                                 dtype=np.float64))
    if name.startswith("nan"):
        got.sum().backward()
        assert x.grad.dtype == np.float32 and x.grad.data[1, 0] == 0


def test_integer_division_by_zero_raises_through_numpy_too():
    # np.floor_divide on integer tensors ran NumPy's own loop: 0 with a warning, where
    # tinydl.floor_divide (and torch) raise
    a, z = td.Tensor(np.array([7, -7])), td.Tensor(np.array([0, 2]))
    for ufunc in (np.floor_divide, np.remainder, np.fmod, np.divmod):
        with pytest.raises(ZeroDivisionError, match="division by zero"):
            ufunc(a, z)
    np.testing.assert_array_equal(np.floor_divide(a, 2).numpy(), [3, -4])
    assert np.floor_divide(td.Tensor(np.array([7], np.int8)), 2).dtype == np.int8


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_raises_type_error_naming_the_function(name):
    with pytest.raises(TypeError, match="tinydl") as info:
        UNSUPPORTED[name]()
    message = str(info.value)
    assert name in message
    assert "t.data" in message and "t.numpy()" in message


def test_quantile_refuses_a_q_that_requires_grad():
    q = td.tensor(0.5, requires_grad=True)
    with pytest.raises(TypeError, match="numpy.quantile .*no gradient with respect to q"):
        np.quantile(_x, q)
    np.testing.assert_allclose(np.quantile(_x, q.detach()).data, 0.5)


def test_unsupported_message_suggests_the_plain_numpy_call():
    pattern = r"numpy\.spacing .*no differentiable op.*np\.spacing\(t\.data\)"
    with pytest.raises(TypeError, match=pattern):
        np.spacing(_x)


def test_ufunc_into_a_plain_array_computes_on_the_values():
    """``p.data -= lr * p.grad`` (torch's habit; p.grad is a Tensor): NumPy on the values,
    written into the array, outside any graph."""
    p = td.tensor([1.0, 2.0], requires_grad=True)
    p.grad = td.tensor([10.0, 20.0])
    p.data -= 0.1 * p.grad
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0], atol=1e-7)
    out = np.empty(2, np.float32)
    assert np.exp(td.tensor([0.0, 1.0]), out=out) is out
    np.testing.assert_allclose(out, [1.0, np.e], rtol=1e-6)


# ---------------------------------------------- NumPy's own checks and values, from a sweep
@pytest.mark.parametrize("source, destination", [(3, 0), (-4, 0), ([0, 1], [2, 2])])
def test_np_moveaxis_checks_its_axes_as_numpy(source, destination):
    """The wrapper took the axes modulo ndim and never looked for repeats: axis 3 of a 3-d
    tensor moved axis 0, silently."""
    with pytest.raises(ValueError):  # AxisError is a ValueError (and an IndexError)
        np.moveaxis(td.tensor(np.zeros((2, 3, 4))), source, destination)
    with pytest.raises(ValueError):
        np.moveaxis(np.zeros((2, 3, 4)), source, destination)
    assert np.moveaxis(td.tensor(np.zeros((2, 3, 4))), [0, 2], [2, 0]).shape == (4, 3, 2)


def test_np_pad_refuses_negative_widths_as_numpy():
    """tinydl's pad crops at a negative width (torch's F.pad); np.pad must raise instead."""
    t = td.tensor(np.arange(6.0).reshape(2, 3))
    for width in (-1, ((0, 0), (-1, 1))):
        with pytest.raises(ValueError, match="negative"):
            np.pad(t, width)
    assert np.pad(t, ((0, 1), (2, 0))).tolist() == np.pad(t.numpy(), ((0, 1), (2, 0))).tolist()


def test_np_clip_with_tensor_bounds_follows_numpy():
    """A NaN in a Tensor bound gives NaN (it was ignored: the comparison with NaN is
    False); low > high gives high; the bounds get their gradients."""
    got = np.clip(td.tensor([1.0, 2.0]), td.tensor([np.nan, np.nan]), 5.0)
    assert np.isnan(got.numpy()).all()
    x = td.tensor([1.0, 7.0, 3.0], requires_grad=True)
    low = td.tensor([2.0, 2.0, 4.0], requires_grad=True)
    high = td.tensor([5.0, 5.0, 3.0], requires_grad=True)
    out = np.clip(x, low, high)
    assert out.tolist() == np.clip([1.0, 7.0, 3.0], [2.0, 2.0, 4.0], [5.0, 5.0, 3.0]).tolist()
    out.sum().backward()
    assert x.grad.tolist() == [0, 0, 0] and low.grad.tolist() == [1, 0, 0]
    assert high.grad.tolist() == [0, 1, 1]


@pytest.mark.parametrize("values", [[2.0, np.inf], [np.inf, np.inf], [-np.inf, np.inf],
                                    [1.0, 3.0, 2.0, 8.0], [-np.inf, -np.inf]])
def test_median_with_infinities_among_the_middle_values_is_numpys(values):
    """The mean of the two middle values (NumPy's median): quantile's lerp gave NaN for
    (2, inf), inf - inf."""
    with np.errstate(invalid="ignore"):  # -inf + inf: NaN in both
        want = np.median(np.array(values))
        for got in (np.median(td.tensor(values)), td.median(td.tensor(values))):
            np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("scan", [np.cumsum, np.cumprod])
@pytest.mark.parametrize("dtype", [None, np.int8, np.float64])
def test_np_scans_take_dtype_and_numpys_unsigned_rule(scan, dtype):
    """dtype= was refused; unsigned input gave int64 (tinydl's own, torch's rule) where
    NumPy's scan gives uint64."""
    for data in (np.array([200, 100], np.uint8), np.array([100, 100], np.int8),
                 np.array([True, True]), np.array([[1.5, 2.5], [1.0, 2.0]], np.float32)):
        got, want = scan(td.Tensor(data), dtype=dtype), scan(data, dtype=dtype)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want)


def test_numpy_float_power_and_ldexp_of_integer_tensors():
    """np.float_power computes in float64 only (torch's float_power too): the integers went
    through float32 first, 16777217 -> 16777216; np.ldexp of integers with an integer
    exponent raised NumPy's bare 'no loop' error (the exponent was cast to float32)."""
    exact = np.float_power(td.tensor([16777217]), 1)
    assert exact.dtype == np.float64 and exact.tolist() == [16777217.0]
    big = np.float_power(td.tensor(np.array([2**31 - 1], np.int32)), 2)
    assert big.tolist() == [float(2**31 - 1) ** 2]
    for exponent in (np.array([1, 2]), td.tensor([1, 2])):
        scaled = np.ldexp(td.tensor([1, 2]), exponent)
        assert scaled.dtype == np.float32 and scaled.tolist() == [2.0, 8.0]
    assert np.ldexp(td.tensor(np.array([True, False])), np.array([3, 3])).tolist() == [8.0, 0.0]


def test_python_protocols_of_tensors_as_torchs():
    """format() of a 0-d tensor, `x in t` on a 2-d tensor, a one-element 1-d integer tensor
    as an index: torch's answers (tinydl raised a TypeError, a misleading truth-value error
    and NumPy's bare 'only 0-dimensional arrays' error)."""
    assert format(td.tensor(2.5), ".3f") == "2.500" and f"{td.tensor(3):05d}" == "00003"
    assert format(td.tensor(1.5), "") == "1.5"
    with pytest.raises(TypeError, match="unsupported format string"):
        format(td.tensor([1.0, 2.0]), ".2f")
    grid = td.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert 2.0 in grid and 5 not in grid and td.tensor(4.0) in grid
    with pytest.raises(TypeError, match="Tensor or a number"):
        "a" in grid
    assert [10, 20, 30][td.tensor([1])] == 20
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        np.asarray(td.tensor([1.0]), dtype=np.float64, copy=False)
    assert np.asarray(td.tensor([1.0]), copy=False).dtype == np.float32


def test_numpy_in_place_writers_into_an_ndarray_take_tensor_values():
    """np.copyto/putmask/place/put_along_axis into an ndarray with Tensor values are NumPy's
    own (as nd[i] = t): they raised "writes into a Tensor in place, got ndarray", and with them
    np.full(n, t) and np.full_like(a, t)."""
    z = np.zeros(2)
    np.copyto(z, td.tensor([1.0, 2.0]))
    assert z.tolist() == [1.0, 2.0]
    assert np.full((2,), td.tensor(3), dtype=np.float32).tolist() == [3.0, 3.0]
    assert np.full_like(np.zeros(2), td.tensor(1.5)).tolist() == [1.5, 1.5]
    z = np.zeros(3)
    np.putmask(z, np.array([True, False, True]), td.tensor([7.0, 8.0, 9.0]))
    assert z.tolist() == [7.0, 0.0, 9.0]
    t = td.zeros(2)
    np.copyto(t, np.array([4.0, 5.0]))  # into a Tensor: tinydl's, as before
    assert t.tolist() == [4.0, 5.0]


def test_logaddexp2_of_float32_and_float64_is_float64_accurate():
    a, b = np.array([0.3], np.float32), np.array([1.7])
    want = np.logaddexp2(a.astype(np.float64), b)
    for got in (td.logaddexp2(td.tensor(a), td.tensor(b)), np.logaddexp2(td.tensor(a), b)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.data, want, rtol=1e-15)
