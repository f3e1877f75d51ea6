"""Edge cases of functional ops that a differential sweep against torch found."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def T(a):
    return tinydl.Tensor(np.asarray(a))


def test_an_empty_batch_leaves_instance_norm_running_stats_alone():
    # Their update took the mean over no sample: NaN in every buffer, then NaN outputs in eval.
    rm, rv = T(np.zeros(3)), T(np.ones(3))
    F.instance_norm(T(np.zeros((0, 3, 5))), rm, rv, use_input_stats=True)
    np.testing.assert_array_equal(rm.data, 0.0)
    np.testing.assert_array_equal(rv.data, 1.0)
    # images of no pixels have no statistics either (torch leaves the buffers alone)
    rm.data[...] = 0.5
    F.instance_norm(T(np.zeros((2, 3, 0))), rm, rv, use_input_stats=True)
    np.testing.assert_array_equal(rm.data, 0.5)
    np.testing.assert_array_equal(rv.data, 1.0)
    m = nn.InstanceNorm2d(3, track_running_stats=True)
    m(tinydl.Tensor(np.zeros((0, 3, 4, 4), np.float32)))
    assert np.isfinite(m.running_mean.data).all() and np.isfinite(m.running_var.data).all()


def test_normalization_argument_errors_name_the_op():
    x = T(np.random.default_rng(0).standard_normal((4, 3, 5)))
    with pytest.raises(ValueError, match="instance_norm: running_mean and running_var are needed"):
        F.instance_norm(x, use_input_stats=False)  # an AttributeError on None
    for training in (True, False):
        with pytest.raises(ValueError, match=r"batch_norm: running_mean should have shape \(3,\)"):
            F.batch_norm(x, T(np.zeros(4)), T(np.ones(4)), training=training)
        # (3, 1) had the right size: a bare NumPy broadcast error in training, read silently
        # in evaluation; torch refuses it
        for bad in ((3, 1), (1, 3, 1)):
            with pytest.raises(ValueError, match="running_mean should have shape"):
                F.batch_norm(x, T(np.zeros(bad)), T(np.ones(bad)), training=training)
            with pytest.raises(ValueError, match="instance_norm: running_mean should have"):
                F.instance_norm(x, T(np.zeros(bad)), T(np.ones(bad)), use_input_stats=training)
    with pytest.raises(ValueError, match="group_norm: num_groups must be a positive int"):
        F.group_norm(T(np.ones((2, 6, 3))), 0)  # ZeroDivisionError
    with pytest.raises(ValueError, match="layer_norm: weight of shape"):
        F.layer_norm(x, (5,), weight=T(np.ones(4)))  # an error naming reshape


def test_running_statistics_must_be_floating_point_tensors():
    # An integer buffer took the update truncated, silently (running_var [1, 1, 1] became
    # [1, 0, 0]); a NumPy array raised "unsupported operand type(s) for *: 'float' and
    # 'memoryview'" from inside the update. torch refuses both.
    x = T(np.random.default_rng(0).standard_normal((4, 3, 5)) + 2)
    for op in (F.batch_norm, F.instance_norm):
        name = op.__name__
        rm, rv = T(np.zeros(3, np.int64)), T(np.ones(3, np.int64))
        with pytest.raises(TypeError, match=f"{name}: running_mean must be floating point, "
                                            "got dtype int64"):
            op(x, rm, rv, training=True) if op is F.batch_norm else op(x, rm, rv)
        np.testing.assert_array_equal(rv.data, 1)  # refused before anything was written
        with pytest.raises(TypeError, match=f"{name}: running_var must be a Tensor or None.*"
                                            "tinydl.from_numpy"):
            op(x, T(np.zeros(3)), np.ones(3))
    # wrapped with from_numpy, the caller's arrays receive the update
    rm, rv = np.zeros(3), np.ones(3)
    F.batch_norm(x, tinydl.from_numpy(rm), tinydl.from_numpy(rv), training=True)
    np.testing.assert_allclose(rm, 0.1 * x.data.mean(axis=(0, 2)), rtol=1e-12)


def test_bilinear_takes_leading_axes_and_refuses_mixed_dtypes_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal(2)
    for shape in ((4,), (2, 4), ()):  # (*, in): it took (N, in) only
        x1, x2 = rng.standard_normal(shape + (3,)), rng.standard_normal(shape + (5,))
        ours = F.bilinear(T(x1), T(x2), T(w), T(b))
        theirs = torch.nn.functional.bilinear(*(torch.tensor(a) for a in (x1, x2, w, b)))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="bilinear: inputs, weight and bias must share one dtype"):
        F.bilinear(tinydl.Tensor(np.ones((2, 3), np.float32)),
                   tinydl.Tensor(np.ones((2, 5), np.float32)), T(w))  # was promoted to float64
    with pytest.raises(ValueError, match="bilinear: inputs"):
        F.bilinear(T(np.ones((2, 3))), T(np.ones((3, 5))), T(w))


def test_max_unpool2d_output_size_as_torch_and_an_empty_batch():
    torch = pytest.importorskip("torch")
    v = torch.tensor(np.random.default_rng(2).standard_normal((1, 1, 4, 4)))
    p, i = torch.nn.functional.max_pool2d(v, 2, return_indices=True)
    x, idx = T(p.numpy()), tinydl.Tensor(i.numpy())
    for size in ((6, 6), (2, 2)):  # torch's bounds are strict; (6, 6) was accepted
        with pytest.raises(ValueError, match="strictly between"):
            F.max_unpool2d(x, idx, 2, output_size=size)
    assert F.max_unpool2d(x, idx, 2, output_size=(1, 1, 5, 5)).shape == (1, 1, 5, 5)
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        F.max_unpool2d(T(p.numpy()[0]), tinydl.Tensor(i.numpy()[0]), 2, output_size=(1, 5, 5))
    empty = F.max_unpool2d(T(np.zeros((0, 2, 2, 2))),
                           tinydl.Tensor(np.zeros((0, 2, 2, 2), np.int64)), 2)
    assert empty.shape == (0, 2, 4, 4)  # a reshape error before


@pytest.mark.parametrize("call,op", [
    (lambda: F.conv_transpose1d(T(np.ones((1, 4, 5))), T(np.ones((4, 3, 2))), output_padding=1),
     "conv_transpose1d"),
    (lambda: F.max_pool1d(T(np.ones((1, 3, 7))), 1, padding=1), "max_pool1d"),
    (lambda: F.avg_pool1d(T(np.ones((2, 3, 1))), 2), "avg_pool1d"),
    (lambda: F.conv1d(T(np.ones((1, 3, 2))), T(np.ones((2, 3, 5)))), "conv1d")])
def test_1d_ops_name_themselves_in_errors(call, op):
    # They named the 2-D op they run as, with its 2-D pairs and no word on why.
    with pytest.raises(ValueError, match=f"^{op}: .*runs as .* on a \\(1, L\\) plane"):
        call()


@pytest.mark.parametrize("call, error, message", [
    # dim 3 of a 2-d input wrapped to dim 1 and split it
    (lambda: nn.Unflatten(3, (2, 3))(tinydl.Tensor(np.zeros((2, 6)))), IndexError,
     r"Unflatten: dim 3 is out of range for an input of shape \(2, 6\)"),
    (lambda: nn.Unflatten(0, (1,))(tinydl.Tensor(np.zeros(()))), IndexError,
     "Unflatten: dim 0 is out of range"),
    (lambda: nn.Unflatten(1, (4, 2))(tinydl.Tensor(np.zeros((2, 6)))), ValueError,
     r"Unflatten: unflattened_size \(4, 2\) does not multiply to dim 1's size 6"),
    # a fill the dtype cannot hold: uint8 -1 was 255, float32 1e40 inf (torch raises)
    (lambda: F.pad(tinydl.Tensor(np.zeros(2, np.uint8)), (1, 1), value=-1), ValueError,
     "pad: value -1 cannot be converted to uint8 without overflow"),
    (lambda: F.pad(tinydl.Tensor(np.zeros(2, np.float32)), (1, 1), value=1e40), ValueError,
     "pad: value 1e[+]40 cannot be converted to float32"),
    (lambda: F.pad(tinydl.Tensor(np.zeros(2, np.int64)), (1, 1), value=float("inf")),
     ValueError, "pad: value inf cannot be converted to int64"),
    (lambda: F.conv_transpose1d(tinydl.Tensor(np.zeros((1, 2, 5))),
                                tinydl.Tensor(np.zeros((2, 1, 2, 2)))), ValueError,
     r"conv_transpose1d: weight must be \(Cin, Cout/groups, k\), got shape \(2, 1, 2, 2\)"),
    (lambda: nn.utils.clip_grad_norm_([np.ones(2)], 1.0), TypeError,
     "clip_grad_norm_: expected Tensors"),
    (lambda: nn.utils.clip_grad_value_([None], 1.0), TypeError,
     "clip_grad_value_: expected Tensors"),
])
def test_shape_and_fill_errors_name_the_layer(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_unflatten_infers_one_size_and_pad_keeps_fills_that_fit():
    assert nn.Unflatten(-1, (-1, 2))(tinydl.Tensor(np.zeros((2, 6)))).shape == (2, 3, 2)
    out = F.pad(tinydl.Tensor(np.zeros(2, np.float32)), (1, 1), value=-np.inf)
    np.testing.assert_array_equal(out.data, [-np.inf, 0, 0, -np.inf])
    out = F.pad(tinydl.Tensor(np.zeros(2, np.uint8)), (1, 1), value=255)
    np.testing.assert_array_equal(out.data, [255, 0, 0, 255])


@pytest.mark.parametrize("pool, kw", [
    ("max_pool1d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool1d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
])
def test_pool1d_takes_an_unbatched_sequence_as_torch(pool, kw):
    x = np.random.default_rng(0).standard_normal((3, 7))
    ours = tinydl.Tensor(x, requires_grad=True)
    out = getattr(F, pool)(ours, **kw)
    batched = getattr(F, pool)(tinydl.Tensor(x[None]), **kw)
    np.testing.assert_array_equal(out.data, batched.data[0])
    out.sum().backward()
    assert ours.grad.shape == x.shape
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    want = getattr(torch.nn.functional, pool)(t, **kw)
    want.sum().backward()
    np.testing.assert_allclose(out.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, t.grad.numpy(), rtol=1e-12)
    _, idx = F.max_pool1d(tinydl.Tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.data, torch.nn.functional.max_pool1d(
        torch.tensor(x), 3, 2, 1, return_indices=True)[1].numpy())


@pytest.mark.parametrize("n, widths", [(3, (-4, 1)), (2, (-3, 2)), (0, (-1, 2)), (3, (1, -4))])
def test_pad_constant_refuses_a_crop_past_the_axis_as_torch(n, widths):
    """torch's constant pad crops first: a crop longer than the axis is an error even when the
    other end adds enough (tinydl padded first and cropped to length 0 or into the fill)."""
    x = tinydl.Tensor(np.arange(n, dtype=np.float32))
    with pytest.raises(ValueError, match=r"pad: widths .* by more than it holds"):
        F.pad(x, widths, value=7.0)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.arange(float(n)), widths, value=7.0)


@pytest.mark.parametrize("n, widths", [(3, (-3, 1)), (3, (-1, -2)), (4, (2, -3)), (2, (0, 0))])
def test_pad_constant_crops_as_torch_where_torch_does(n, widths):
    x = tinydl.Tensor(np.arange(n, dtype=np.float64))
    out = F.pad(x, widths, value=7.0)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.pad(torch.arange(float(n), dtype=torch.float64), widths, value=7.0)
    np.testing.assert_array_equal(out.data, want.numpy())


@pytest.mark.parametrize("op, call", [
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True)),
    ("layer_norm", lambda x: F.layer_norm(x, 3)),
    ("instance_norm", lambda x: F.instance_norm(x)),
    ("group_norm", lambda x: F.group_norm(x, 1)),
    ("rms_norm", lambda x: F.rms_norm(x, 3)),
])
def test_normalizations_refuse_integer_input_naming_the_op(op, call):
    """torch: "not implemented for 'Long'"; tinydl raised NumPy's UFuncTypeError ("Cannot
    cast ufunc 'multiply' output ...") from inside its arithmetic."""
    x = tinydl.Tensor(np.ones((2, 4, 3), np.int64))
    with pytest.raises(TypeError, match=rf"{op}: input of dtype int64 .* must be floating"):
        call(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["hardshrink", "softshrink"])
def test_shrink_gradient_at_nan_and_the_band_edges_as_torch(op, dtype):
    """0 at +-lambd and at a NaN, g elsewhere: torch's vectorized backward, which does a
    contiguous tensor of 64 (whole blocks of SIMD vectors). Its scalar loop (short or strided
    tensors) passes a NaN's gradient instead; tinydl follows the vectorized one."""
    lambd = 0.5
    x = np.tile(np.array([np.nan, lambd, -lambd, 0.2, 0.7, -0.9, np.inf, -np.inf]), 8)
    x = x.astype(dtype)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    xt = tinydl.Tensor(x, requires_grad=True)
    out = getattr(F, op)(xt, lambd)
    out.backward(tinydl.Tensor(g))
    inside = (x >= -lambd) & (x <= lambd)
    np.testing.assert_array_equal(xt.grad.data, np.where(inside | np.isnan(x), 0, g))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    tout = getattr(torch.nn.functional, op)(tx, lambd)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())
