"""Every core op through one factory: forward against NumPy/SciPy, float64 gradcheck, and
hypothesis-drawn shapes (broadcastable pairs for binary ops, non-contiguous and transposed
inputs for unary ops)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

import tinydl as td


def T(a, grad=True):
    return td.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def rng():
    return np.random.default_rng(0)


# name -> (tinydl fn, reference fn on arrays, input sampler)
_pos = lambda r, s: r.uniform(0.5, 2.0, s)  # noqa: E731  (log, sqrt, pow bases)
_any = lambda r, s: r.standard_normal(s)  # noqa: E731
# Keep samples away from kinks (0 for relu/abs, clip bounds) so central differences are valid.
_off0 = lambda r, s: r.choice([-1, 1], s) * r.uniform(0.1, 2.0, s)  # noqa: E731

UNARY = {
    "negative": (td.negative, np.negative, _any),
    "exp": (td.exp, np.exp, _any),
    "log": (td.log, np.log, _pos),
    "sqrt": (td.sqrt, np.sqrt, _pos),
    "abs": (td.abs, np.abs, _off0),
    "sin": (td.sin, np.sin, _any),
    "cos": (td.cos, np.cos, _any),
    "erf": (td.erf, special.erf, _any),
    "tanh": (td.tanh, np.tanh, _any),
    "sigmoid": (td.sigmoid, special.expit, _any),
    "relu": (td.relu, lambda x: np.maximum(x, 0), _off0),
    "leaky_relu": (lambda x: td.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), _off0),
    "elu": (lambda x: td.elu(x, 1.3), lambda x: np.where(x > 0, x, 1.3 * np.expm1(x)), _off0),
    "gelu": (td.gelu, lambda x: x * special.ndtr(x), _any),
    "softplus": (td.softplus, lambda x: np.logaddexp(0, x), _any),
    "softplus_beta": (lambda x: td.softplus(x, beta=2.0), lambda x: np.logaddexp(0, 2 * x) / 2,
                      _any),
    "clip": (lambda x: td.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
             lambda r, s: r.choice([-1.5, -0.2, 0.3, 1.5], s) + r.uniform(-0.05, 0.05, s)),
    "pow_scalar": (lambda x: x ** 2.5, lambda x: x ** 2.5, _pos),
    "rpow": (lambda x: 1.7 ** x, lambda x: 1.7 ** x, _any),
    "rsub": (lambda x: 3.0 - x, lambda x: 3.0 - x, _any),
    "rdiv": (lambda x: 3.0 / x, lambda x: 3.0 / x, _pos),
    "sum": (td.sum, np.sum, _any),
    "sum_axis": (lambda x: x.sum(axis=-1, keepdims=True), lambda x: x.sum(-1, keepdims=True),
                 _any),
    "mean_axis0": (lambda x: td.mean(x, axis=0), lambda x: np.mean(x, axis=0), _any),
    "max": (lambda x: td.max(x, axis=-1), lambda x: np.max(x, axis=-1), _any),
    "min_all": (td.min, np.min, _any),
    "var": (lambda x: td.var(x, axis=0), lambda x: np.var(x, axis=0), _any),
    "std_ddof1": (lambda x: td.std(x, ddof=1), lambda x: np.std(x, ddof=1), _any),
    "logsumexp": (lambda x: td.logsumexp(x, axis=-1), lambda x: special.logsumexp(x, axis=-1),
                  _any),
    "softmax": (lambda x: td.softmax(x, axis=-1), lambda x: special.softmax(x, axis=-1), _any),
    "log_softmax": (lambda x: td.log_softmax(x, axis=0),
                    lambda x: special.log_softmax(x, axis=0), _any),
    "reshape": (lambda x: x.reshape(-1), lambda x: x.reshape(-1), _any),
    "transpose": (lambda x: x.T, lambda x: x.T, _any),
    "flatten": (td.flatten, lambda x: x.reshape(-1), _any),
    "expand_dims": (lambda x: td.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), _any),
    "getitem_slice": (lambda x: x[..., ::2], lambda x: x[..., ::2], _any),
    "getitem_int_array": (lambda x: x[np.array([0, 0, 1, 0])],
                          lambda x: x[np.array([0, 0, 1, 0])], _any),
    "pad": (lambda x: td.pad(x, 1, constant_values=0.5),
            lambda x: np.pad(x, 1, constant_values=0.5), _any),
}

BINARY = {
    "add": (td.add, np.add, _any, _any),
    "subtract": (td.subtract, np.subtract, _any, _any),
    "multiply": (td.multiply, np.multiply, _any, _any),
    "divide": (td.divide, np.divide, _any, _pos),
    "power": (td.power, np.power, _pos, _any),
    "maximum": (td.maximum, np.maximum, _any, _any),
    "minimum": (td.minimum, np.minimum, _any, _any),
    "where": (lambda a, b: td.where(a.data > 0, a, b), lambda a, b: np.where(a > 0, a, b),
              _off0, _any),
}

SHAPE = (3, 4)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_and_gradcheck(name):
    fn, ref, sample = UNARY[name]
    x = sample(rng(), SHAPE)
    np.testing.assert_allclose(fn(T(x)).data, ref(x), rtol=1e-12, atol=1e-12,
                               err_msg=f"{name} forward")
    assert td.gradcheck(fn, [T(x)])


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_forward_and_gradcheck(name):
    fn, ref, sample_a, sample_b = BINARY[name]
    r = rng()
    a, b = sample_a(r, SHAPE), sample_b(r, (1, 4))
    np.testing.assert_allclose(fn(T(a), T(b)).data, ref(a, b), rtol=1e-12,
                               err_msg=f"{name} forward")
    assert td.gradcheck(fn, [T(a), T(b)])


def test_multiple_shape_ops_gradcheck():
    r = rng()
    x, y = r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4))
    ops = {
        "transpose_axes": lambda a, b: a.transpose((1, 0, 2)) * 2,
        "swapaxes": lambda a, b: td.swapaxes(a, 0, 2),
        "squeeze": lambda a, b: td.squeeze(a[:, :1], axis=1),
        "broadcast_to": lambda a, b: td.broadcast_to(a[:, :1], (5, 2, 3, 4)),
        "concatenate": lambda a, b: td.concatenate([a, b * 3], axis=1),
        "stack": lambda a, b: td.stack([a, b], axis=-1),
        "split": lambda a, b: td.split(a, [1, 3], axis=2)[1] * td.split(b, 2, axis=2)[0],
        "matmul_batched": lambda a, b: a @ b.swapaxes(-1, -2),
        "matmul_vec": lambda a, b: a @ b[0, 0],
        "vec_matmul": lambda a, b: b[0, 0, :3] @ a,
        "vec_vec": lambda a, b: a[0, 0] @ b[1, 1],
        "matmul_broadcast": lambda a, b: a @ b[0].T,
        "getitem_bool": lambda a, b: a[a.data > 0.1] * 3,
        "getitem_mixed": lambda a, b: a[1, [0, 2, 2], 1:3],
    }
    for name, fn in ops.items():
        assert td.gradcheck(fn, [T(x), T(y)]), name


def test_shape_ops_forward_match_numpy():
    x = rng().standard_normal((2, 3, 4))
    t = td.Tensor(x)
    np.testing.assert_array_equal(td.swapaxes(t, 0, 2).data, np.swapaxes(x, 0, 2))
    np.testing.assert_array_equal(td.concatenate([t, t], axis=-1).data,
                                  np.concatenate([x, x], axis=-1))
    np.testing.assert_array_equal(td.stack([t, t], axis=1).data, np.stack([x, x], axis=1))
    for a, b in zip(td.split(t, [1, 3], axis=2), np.split(x, [1, 3], axis=2)):
        np.testing.assert_array_equal(a.data, b)
    np.testing.assert_array_equal(td.pad(t, ((0, 0), (1, 2), (0, 1))).data,
                                  np.pad(x, ((0, 0), (1, 2), (0, 1))))
    np.testing.assert_array_equal((t @ t.swapaxes(1, 2)).data, x @ np.swapaxes(x, 1, 2))
    np.testing.assert_array_equal(td.flatten(t, 1).data, x.reshape(2, 12))
    for axis in (0, 3, -1, (0, 2), (-1, 1)):
        np.testing.assert_array_equal(td.expand_dims(t, axis).data, np.expand_dims(x, axis))
    np.testing.assert_array_equal(td.squeeze(td.Tensor(x[:, :1]), axis=1).data, x[:, 0])


def test_astype_casts_gradient_back():
    x = T(np.array([0.1, 0.2]))
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_repeated_integer_indices_accumulate():
    x = td.Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 2, 2, 2, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 3.0, 1.0])


def test_max_ties_share_gradient():
    x = td.Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    td.max(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])
    a = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = td.Tensor(np.array([1.0, 3.0]), requires_grad=True)
    td.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.5, 1.0])


GRADGRAD = {
    "tanh": td.tanh, "sigmoid": td.sigmoid, "exp": td.exp, "log": lambda x: td.log(x * x + 1),
    "mul": lambda x: x * x * x, "div": lambda x: x / (x * x + 1), "pow": lambda x: (x * x) ** 1.5,
    "matmul": lambda x: x @ x.T, "softplus": td.softplus, "log_softmax": td.log_softmax,
    "logsumexp": lambda x: td.logsumexp(x, axis=0), "softmax": td.softmax, "gelu": td.gelu,
    "elu": td.elu, "sqrt": lambda x: td.sqrt(x * x + 1), "sin": td.sin, "var": td.var,
}


@pytest.mark.parametrize("name", sorted(GRADGRAD))
def test_gradgradcheck(name):
    x = rng().standard_normal(SHAPE)
    assert td.gradgradcheck(GRADGRAD[name], [T(x)])


def test_pow_tensor_exponent_gradgradcheck():
    r = rng()
    assert td.gradgradcheck(lambda a, b: a ** b, [T(r.uniform(0.5, 2, 3)), T(r.normal(size=3))])


# ----------------------------------------------------------------------------- hypothesis
_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=30, deadline=None)
@given(shapes=_shapes, name=st.sampled_from(sorted(BINARY)))
def test_binary_ops_broadcast_like_numpy(shapes, name):
    fn, ref, sample_a, sample_b = BINARY[name]
    r = rng()
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = sample_a(r, sa), sample_b(r, sb)
    out = fn(T(a), T(b))
    assert out.shape == out_shape == np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(out.data, ref(a, b), rtol=1e-12)
    out.sum().backward()
    # Gradients come back in each input's own shape, summed over the broadcast axes.
    assert td.gradcheck(fn, [T(a), T(b)])


@settings(max_examples=30, deadline=None)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=4),
                      elements=st.floats(-3, 3)),
       name=st.sampled_from(["exp", "tanh", "sigmoid", "sin", "softplus", "gelu", "sum_axis",
                             "log_softmax", "reshape", "negative"]))
def test_unary_ops_on_non_contiguous_inputs(arr, name):
    fn, ref, _ = UNARY[name]
    view = np.swapaxes(arr, 0, -1)[::-1]  # transposed and negatively strided
    np.testing.assert_allclose(fn(td.Tensor(view)).data, ref(view), rtol=1e-12, atol=1e-300)
    assert td.gradcheck(fn, [td.Tensor(view, requires_grad=True)])


def test_binary_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        td.Tensor(np.zeros((2, 3))) + td.Tensor(np.zeros(4))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        td.matmul(td.zeros(2, 3), td.zeros(4, 5))
    with pytest.raises(ValueError, match="reshape"):
        td.zeros(2, 3).reshape(4, 2)


def test_stable_at_extreme_logits():
    x = T(np.array([[-1e4, 0.0, 1e4]]))
    for fn in (td.softplus, td.sigmoid, td.log_softmax, td.softmax,
               lambda t: td.logsumexp(t, axis=-1)):
        out = fn(x)
        out.sum().backward()
        assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
        x.grad = None
    np.testing.assert_allclose(td.log_softmax(x).data, [[-2e4, -1e4, 0.0]])


@settings(max_examples=25, deadline=None)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3))
def test_matmul_batch_broadcasting_like_numpy(batch, n, k, m):
    r = rng()
    sa, sb = batch.input_shapes
    a, b = r.standard_normal(sa + (n, k)), r.standard_normal(sb + (k, m))
    out = td.matmul(T(a), T(b))
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12)
    assert td.gradcheck(td.matmul, [T(a), T(b)])
