"""Convolution: functional conv1d/conv2d/conv_transpose2d against scipy.signal.correlate on
every route (``tinydl.ops.conv``: reference, sample-major, channel-major; Winograd in
test_winograd.py), gradients (gradcheck, gradgradcheck), im2col/col2im layout and
adjointness, the window output sizes, and the Conv layers. The Numba kernels against their
NumPy twins are in tests/kernels/."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import signal

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from tinydl.ops import conv as oconv
from tinydl.ops._util import ShapeError


def _dilate(kernel, d):
    """Insert d-1 zeros between kernel taps along the last two axes."""
    kh, kw = kernel.shape[-2:]
    out = np.zeros(kernel.shape[:-2] + (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1))
    out[..., ::d[0], ::d[1]] = kernel
    return out


def ref_conv2d(x, w, b, stride, padding, dilation, groups):
    """Per output channel: sum over its group's input channels of scipy correlate 'valid'."""
    n, c = x.shape[:2]
    f = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    wd = _dilate(w, dilation)
    cg, fg = c // groups, f // groups
    outs = []
    for i in range(n):
        maps = []
        for o in range(f):
            g = o // fg
            acc = sum(signal.correlate(xp[i, g * cg + ci], wd[o, ci], mode="valid")
                      for ci in range(cg))
            maps.append(acc[::stride[0], ::stride[1]] + (b[o] if b is not None else 0.0))
        outs.append(maps)
    return np.array(outs)


def _transposed_size(size, k, s, p, op, d):
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def ref_conv_transpose2d(y, w, b, stride, padding, output_padding, dilation, groups):
    """Upsample y by the stride, correlate ('full') with the flipped dilated kernel, crop."""
    n, cin, hy, wy = y.shape
    cout_g = w.shape[1]
    cin_g = cin // groups
    up = np.zeros((n, cin, (hy - 1) * stride[0] + 1, (wy - 1) * stride[1] + 1))
    up[:, :, ::stride[0], ::stride[1]] = y
    wd = _dilate(w, dilation)[..., ::-1, ::-1]
    out_h, out_w = (_transposed_size(i, k, s, p, op, d) for i, k, s, p, op, d in
                    zip((hy, wy), w.shape[2:], stride, padding, output_padding, dilation))
    result = np.zeros((n, cout_g * groups, out_h, out_w))
    for i in range(n):
        for o in range(cout_g * groups):
            g = o // cout_g
            full = sum(signal.correlate(up[i, g * cin_g + ci], wd[g * cin_g + ci, o % cout_g],
                                        mode="full") for ci in range(cin_g))
            full = np.pad(full, ((0, output_padding[0]), (0, output_padding[1])))
            result[i, o] = full[padding[0]:padding[0] + out_h, padding[1]:padding[1] + out_w]
            if b is not None:
                result[i, o] += b[o]
    return result


ROUTES = ["reference", "sample-major", "channel-major"]


def route(name):
    """Force one route of ``tinydl.ops.conv`` where it fits (sample-major needs groups=1;
    other convolutions take the automatic choice)."""
    return tinydl.backends.flags(conv_route=name)


@st.composite
def conv_configs(draw):
    groups = draw(st.integers(1, 3))
    cfg = dict(
        n=draw(st.integers(1, 2)), groups=groups, c=groups * draw(st.integers(1, 2)),
        f=groups * draw(st.integers(1, 2)), h=draw(st.integers(1, 7)), w=draw(st.integers(1, 7)),
        k=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        padding=(draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        bias=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)),
        route=draw(st.sampled_from(ROUTES)))
    return cfg


def _out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@settings(max_examples=25, deadline=None)
@given(conv_configs())
def test_conv2d_matches_scipy_correlate(cfg):
    assume(_out(cfg["h"], cfg["k"][0], cfg["stride"][0], cfg["padding"][0], cfg["dilation"][0]) >= 1)
    assume(_out(cfg["w"], cfg["k"][1], cfg["stride"][1], cfg["padding"][1], cfg["dilation"][1]) >= 1)
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    w = rng.standard_normal((cfg["f"], cfg["c"] // cfg["groups"]) + cfg["k"])
    b = rng.standard_normal(cfg["f"]) if cfg["bias"] else None
    with route(cfg["route"]):
        out = F.conv2d(tinydl.Tensor(x), tinydl.Tensor(w),
                       None if b is None else tinydl.Tensor(b),
                       cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    expected = ref_conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-10, err_msg=f"conv2d {cfg}")


@settings(max_examples=25, deadline=None)
@given(conv_configs())
def test_conv_transpose2d_matches_scipy_correlate(cfg):
    stride = cfg["stride"]
    output_padding = tuple(min(p, s - 1) for p, s in zip(cfg["padding"], stride))
    sizes = [_transposed_size(i, k, s, p, op, d) for i, k, s, p, op, d in
             zip((cfg["h"], cfg["w"]), cfg["k"], stride, cfg["padding"], output_padding,
                 cfg["dilation"])]
    assume(min(sizes) >= 1)
    rng = np.random.default_rng(cfg["seed"])
    y = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    w = rng.standard_normal((cfg["c"], cfg["f"] // cfg["groups"]) + cfg["k"])
    b = rng.standard_normal(cfg["f"]) if cfg["bias"] else None
    with route(cfg["route"]):
        out = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(w),
                                 None if b is None else tinydl.Tensor(b), stride, cfg["padding"],
                                 output_padding, cfg["groups"], cfg["dilation"])
    expected = ref_conv_transpose2d(y, w, b, stride, cfg["padding"], output_padding,
                                    cfg["dilation"], cfg["groups"])
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-10,
                               err_msg=f"conv_transpose2d {cfg}")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 12), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 2), st.integers(1, 3), st.integers(0, 2 ** 16))
def test_conv1d_matches_scipy_correlate(groups, length, k, stride, padding, dilation, seed):
    assume(_out(length, k, stride, padding, dilation) >= 1)
    rng = np.random.default_rng(seed)
    c, f = 2 * groups, groups
    x = rng.standard_normal((2, c, length))
    w = rng.standard_normal((f, c // groups, k))
    out = F.conv1d(tinydl.Tensor(x), tinydl.Tensor(w), None, stride, padding, dilation, groups)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    wd = np.zeros((f, c // groups, dilation * (k - 1) + 1))
    wd[..., ::dilation] = w
    cg = c // groups
    expected = np.array([[sum(signal.correlate(xp[i, (o // (f // groups)) * cg + ci], wd[o, ci],
                                               mode="valid") for ci in range(cg))[::stride]
                          for o in range(f)] for i in range(2)])
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-10)


CASES = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=2),
    dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=1),
]


@pytest.mark.parametrize("layout", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_conv2d_gradcheck_and_gradgradcheck(case, layout):
    rng = np.random.default_rng(0)
    x = tinydl.Tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((2, 2 // case["groups"], 3, 2)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.conv2d(x, w, b, **case)

    with route(layout):
        assert tinydl.gradcheck(fn, (x, w, b))
        assert tinydl.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("layout", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_conv_transpose2d_gradcheck_and_gradgradcheck(case, layout):
    rng = np.random.default_rng(1)
    x = tinydl.Tensor(rng.standard_normal((2, 2, 3, 4)), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((2, 4 // case["groups"], 2, 3)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(4), requires_grad=True)
    output_padding = 1 if case["stride"] == 2 else 0

    def fn(x, w, b):
        return F.conv_transpose2d(x, w, b, case["stride"], case["padding"], output_padding,
                                  case["groups"], case["dilation"])

    with route(layout):
        assert tinydl.gradcheck(fn, (x, w, b))
        assert tinydl.gradgradcheck(fn, (x, w, b))


def test_conv1d_and_conv_transpose1d_gradcheck():
    rng = np.random.default_rng(2)
    x = tinydl.Tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(3), requires_grad=True)
    assert tinydl.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), (x, w, b))
    wt = tinydl.Tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    assert tinydl.gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1),
                            (x, wt))


def test_padding_same_keeps_size_and_matches_explicit_padding():
    rng = np.random.default_rng(3)
    x = tinydl.Tensor(rng.standard_normal((1, 2, 6, 5)))
    w = tinydl.Tensor(rng.standard_normal((3, 2, 4, 3)))
    out = F.conv2d(x, w, padding="same")
    assert out.shape == (1, 3, 6, 5)
    # even kernel height 4: torch pads 1 on top and 2 at the bottom
    padded = np.pad(x.data, ((0, 0), (0, 0), (1, 2), (1, 1)))
    np.testing.assert_allclose(out.data, ref_conv2d(padded, w.data, None, (1, 1), (0, 0), (1, 1), 1),
                               atol=1e-10)
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 3, 3)


def _im2col_brute(x, k, s, p, d):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = _out(h, k, s, p, d), _out(w, k, s, p, d)
    cols = np.zeros((n, c * k * k, ho * wo))
    for ci in range(c):
        for i in range(k):
            for j in range(k):
                for a in range(ho):
                    for bb in range(wo):
                        cols[:, ci * k * k + i * k + j, a * wo + bb] = xp[:, ci, a * s + i * d,
                                                                          bb * s + j * d]
    return cols


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 1, 1), (2, 2, 0, 1), (3, 2, 2, 2)])
def test_im2col_layout_is_torch_unfold_and_col2im_is_its_adjoint(k, s, p, d):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 7))
    cols = F.im2col(tinydl.Tensor(x), k, s, p, d)
    np.testing.assert_array_equal(cols.data, _im2col_brute(x, k, s, p, d))
    c = rng.standard_normal(cols.shape)
    back = F.col2im(tinydl.Tensor(c), (6, 7), k, s, p, d)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols.data * c), np.sum(x * back.data), rtol=1e-12)
    xt = tinydl.Tensor(x[:1, :1, :4, :4], requires_grad=True)
    assert tinydl.gradgradcheck(lambda t: F.im2col(t, k, s, p, d), (xt,))


def test_unfold_fold_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 6))
    ours = F.unfold(tinydl.Tensor(x), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    theirs = torch.nn.functional.unfold(torch.tensor(x), (3, 2), dilation=(1, 2), padding=1,
                                        stride=(2, 1))
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-12)
    folded = F.fold(ours, (7, 6), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
    expected = torch.nn.functional.fold(theirs, (7, 6), (3, 2), dilation=(1, 2), padding=1,
                                        stride=(2, 1))
    np.testing.assert_allclose(folded.data, expected.numpy(), atol=1e-12)


def test_unbatched_unfold_and_fold_as_torch():
    """(C, H, W) unfolds to (C*kh*kw, L) and folds back, as torch's; the batched results'
    first sample, gradients included (no torch needed)."""
    rng = np.random.default_rng(6)
    x = tinydl.Tensor(rng.standard_normal((3, 5, 6)), requires_grad=True)
    kw = dict(kernel_size=2, padding=1)
    cols = F.unfold(x, **kw)
    batched = F.unfold(tinydl.Tensor(x.data[None]), **kw)
    assert cols.shape == (12, 42)
    np.testing.assert_array_equal(cols.data, batched.data[0])
    image = F.fold(cols, (5, 6), **kw)
    assert image.shape == (3, 5, 6)
    np.testing.assert_array_equal(image.data, F.fold(batched, (5, 6), **kw).data[0])
    image.sum().backward()
    assert x.grad.shape == (3, 5, 6)


def _conv_forward_backward(x, w, b, **kw):
    xt = tinydl.Tensor(x, requires_grad=True)
    wt = tinydl.Tensor(w, requires_grad=True)
    bt = tinydl.Tensor(b, requires_grad=True)
    out = F.conv2d(xt, wt, bt, **kw)
    out.backward(tinydl.Tensor(np.cos(out.data)))
    return out.data, xt.grad.data, wt.grad.data, bt.grad.data


@pytest.mark.parametrize("layout", ["sample-major", "channel-major"])
def test_numba_routes_agree_with_the_numpy_reference_in_float32(layout):
    rng = np.random.default_rng(7)
    for trial in range(6):
        groups = int(rng.integers(1, 3))
        x = rng.standard_normal((2, 2 * groups, 9, 8)).astype(np.float32)
        w = rng.standard_normal((2 * groups, 2, 3, 3)).astype(np.float32)
        b = rng.standard_normal(2 * groups).astype(np.float32)
        kw = dict(stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 3)),
                  dilation=int(rng.integers(1, 3)), groups=groups)
        with route(layout):
            fast = _conv_forward_backward(x, w, b, **kw)
        with tinydl.backends.flags(numba=False):
            slow = _conv_forward_backward(x, w, b, **kw)
        for a, e, name in zip(fast, slow, ("out", "grad x", "grad w", "grad b")):
            assert a.dtype == np.float32, name
            np.testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5,
                                       err_msg=f"{name} {layout} {kw}")


def test_float32_stays_float32_end_to_end():
    x = tinydl.randn(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    out = conv(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    assert conv.weight.grad.dtype == np.float32


@pytest.mark.parametrize("numba", [True, False])
@pytest.mark.parametrize("shape,channels", [((2, 3, 6, 6), 4), ((2, 3, 32, 32), 4),
                                            ((2, 16, 8, 8), 16)])
def test_output_dtype_is_that_of_input_and_weight_on_every_route(shape, channels, numba):
    """Channel-major, sample-major and Winograd routes, and the reference without Numba: a
    float64 bias does not promote."""
    x = tinydl.Tensor(np.ones(shape, np.float32))
    w = tinydl.Tensor(np.ones((channels, shape[1], 3, 3), np.float32))
    b = tinydl.Tensor(np.ones(channels, np.float64))
    with tinydl.backends.flags(numba=numba):
        assert F.conv2d(x, w, b, padding=1).dtype == np.float32
        assert F.conv_transpose2d(x, w.transpose(1, 0, 2, 3), b, padding=1).dtype == np.float32


def test_conv3d_bias_does_not_promote_and_integer_data_is_refused():
    # conv3d and conv_transpose3d added a float64 bias to float32 data in float64; an int64
    # input (or weight) gave a float64 result from NumPy's promotion. torch refuses both.
    x = tinydl.Tensor(np.ones((1, 2, 3, 4, 4), np.float32), requires_grad=True)
    b = tinydl.Tensor(np.ones(3), requires_grad=True)
    y = F.conv3d(x, tinydl.Tensor(np.ones((3, 2, 1, 1, 1), np.float32)), b)
    assert y.dtype == np.float32
    y.sum().backward()
    assert b.grad.dtype == np.float64 and np.all(b.grad.data == 48)
    assert F.conv_transpose3d(x, tinydl.Tensor(np.ones((2, 3, 1, 1, 1), np.float32)),
                              b).dtype == np.float32
    T = tinydl.Tensor
    ints = np.ones((1, 2, 4, 4), np.int64)
    floats = np.ones((3, 2, 3, 3), np.float32)
    for call, name in ((lambda: F.conv2d(T(ints), T(floats)), "conv2d: the input"),
                       (lambda: F.conv2d(T(floats[:1]), T(ints[:, :, :3, :3].repeat(3, 0))),
                        "conv2d: the weight"),
                       (lambda: F.conv1d(T(ints[0].astype(bool)), T(floats[..., 0])),
                        "conv1d: the input"),
                       (lambda: F.conv_transpose2d(T(ints), T(floats.transpose(1, 0, 2, 3))),
                        "conv_transpose2d: the input"),
                       (lambda: F.conv3d(T(ints[None]), T(floats[:, :, None])), "conv3d: the input"),
                       (lambda: F.conv_transpose3d(T(ints[None]),
                                                   T(floats.transpose(1, 0, 2, 3)[:, :, None])),
                        "conv_transpose3d: the input")):
        with pytest.raises(TypeError, match=f"{name} must be floating point"):
            call()


def test_conv_errors_name_the_op_and_shapes():
    x = tinydl.randn(1, 3, 5, 5)
    with pytest.raises(ValueError, match=r"conv2d.*\(1, 3, 5, 5\)"):
        F.conv2d(x, tinydl.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="conv2d: kernel"):
        F.conv2d(x, tinydl.randn(4, 3, 7, 7))
    with pytest.raises(ValueError, match="conv2d: expected input"):
        F.conv2d(tinydl.randn(3, 5), tinydl.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(x, tinydl.randn(4, 3, 3, 3), stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(x, tinydl.randn(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="col2im"):
        F.col2im(tinydl.randn(1, 10, 9), (5, 5), 3)
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_conv2d_layer_follows_changes_to_its_arguments():
    """nn.Conv2d checks and builds its window geometry once, not per call: changing stride,
    padding, dilation or the weight afterwards must still give F.conv2d's answer."""
    tinydl.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, padding="same")
    x = tinydl.randn(2, 3, 9, 9)
    for change in ({}, {"padding": (2, 0)}, {"stride": 2}, {"dilation": (2, 1)},
                   {"padding": "valid", "stride": 1},
                   {"weight": nn.Parameter(np.ones((4, 3, 2, 4), np.float32))}):
        for name, value in change.items():
            setattr(conv, name, value)
        expected = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding,
                            conv.dilation, conv.groups)
        out = conv(x)
        assert out.shape == expected.shape, change
        np.testing.assert_allclose(out.data, expected.data, rtol=1e-6, err_msg=str(change))
    conv.stride = (0, 1)
    with pytest.raises(ValueError, match="Conv2d: stride must be >= 1"):
        conv(x)


def test_conv_layers_shapes_and_torch_default_init():
    tinydl.manual_seed(0)
    conv = nn.Conv2d(4, 6, (3, 5), stride=2, padding=1, groups=2)
    assert conv.weight.shape == (6, 2, 3, 5) and conv.weight.dtype == np.float32
    bound = 1 / np.sqrt(2 * 3 * 5)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound
    assert conv(tinydl.randn(2, 4, 9, 9)).shape == (2, 6, 5, 4)
    convt = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
    assert convt.weight.shape == (4, 6, 3, 3)
    assert np.abs(convt.bias.data).max() <= 1 / np.sqrt(6 * 9)
    assert convt(tinydl.randn(2, 4, 5, 5)).shape == (2, 6, 10, 10)
    conv1 = nn.Conv1d(2, 3, 4, padding=2, bias=False)
    assert conv1.bias is None and "bias" not in conv1.state_dict()
    assert conv1(tinydl.randn(1, 2, 10)).shape == (1, 3, 11)
    assert nn.ConvTranspose1d(2, 3, 3, stride=2)(tinydl.randn(1, 2, 5)).shape == (1, 3, 11)


@pytest.mark.parametrize("layout", ROUTES)
@pytest.mark.parametrize("need", ["both", "x", "w"])
def test_conv2d_backward_reuses_columns_and_survives_retain_graph(need, layout):
    """The forward's column buffer is overwritten by the input gradient's columns during
    backward; a second backward (retain_graph=True) must rebuild them, not read stale ones."""
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((2, 3, 6, 5))
    w0 = rng.standard_normal((4, 3, 3, 3))
    g0 = rng.standard_normal((2, 4, 6, 5))
    x = tinydl.Tensor(x0, requires_grad=need in ("both", "x"))
    w = tinydl.Tensor(w0, requires_grad=need in ("both", "w"))
    with route(layout):
        out = F.conv2d(x, w, padding=1)
        out.backward(tinydl.Tensor(g0), retain_graph=True)
        first = [t.grad.data.copy() for t in (x, w) if t.requires_grad]
        out.backward(tinydl.Tensor(g0))
    second = [t.grad.data for t in (x, w) if t.requires_grad]
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12)
    xp = np.pad(x0, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = {
        "x": ref_conv_transpose2d(g0, w0, None, (1, 1), (1, 1), (0, 0), (1, 1), 1),
        "w": np.array([[sum(signal.correlate(xp[n, c], g0[n, f], mode="valid") for n in range(2))
                        for c in range(3)] for f in range(4)]),
    }
    for name, t in (("x", x), ("w", w)):
        if t.requires_grad:
            np.testing.assert_allclose(t.grad.data, 2 * expected[name], atol=1e-10,
                                       err_msg=f"grad {name}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_major_in_chunks_of_samples_on_several_threads(monkeypatch, dtype):
    """Chunks of 2, 2, 2 and 1 samples, run by 1, 2 and 3 threads (float32: the Numba kernels;
    float64: the NumPy twins): forward, both gradients, a second backward (columns built
    again) and conv_transpose2d equal the same in one chunk and the NumPy reference."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((7, 3, 9, 8)).astype(dtype)
    w = rng.standard_normal((5, 3, 3, 2)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    kw = dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1))
    out_h, out_w = 9, 5
    y = rng.standard_normal((7, 5, out_h, out_w)).astype(dtype)

    def run():
        xt, wt, bt = (tinydl.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = F.conv2d(xt, wt, bt, **kw)
        assert out.shape == (7, 5, out_h, out_w)
        g = tinydl.Tensor(np.cos(out.data))
        out.backward(g, retain_graph=True)
        first = [t.grad.data.copy() for t in (xt, wt, bt)]
        out.backward(g)
        second = [t.grad.data - a for t, a in zip((xt, wt, bt), first)]
        z = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(w), **kw)
        return [out.data] + first + second + [z.data]

    rows = 3 * 3 * 2 + 1  # C*kh*kw and the bias's row of ones
    per_sample = (rows + 5) * out_h * out_w * np.dtype(dtype).itemsize
    monkeypatch.setattr(oconv, "CHUNK_BYTES", 2 * per_sample)
    monkeypatch.setattr(oconv, "PARALLEL_MIN_WORK", 0)
    results = {}
    with route("sample-major"), tinydl.backends.flags(numba=True):
        for parts in (1, 2, 3):
            monkeypatch.setattr(oconv.threads, "task_threads", lambda p=parts: p)
            results[parts] = run()
        monkeypatch.setattr(oconv, "CHUNK_BYTES", 1 << 30)
        whole = run()
    with tinydl.backends.flags(numba=False):
        reference = run()
    names = ("out", "dx", "dw", "db", "dx again", "dw again", "db again", "transpose")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for parts, chunked in results.items():
        for name, a, e, r in zip(names, chunked, whole, reference):
            assert a.dtype == dtype
            scale = np.abs(r).max()
            np.testing.assert_allclose(a, e, rtol=0, atol=tol * scale, err_msg=f"{name} {parts}")
            np.testing.assert_allclose(a, r, rtol=0, atol=tol * scale, err_msg=f"{name} {parts}")


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("wants", [(True, True), (True, False), (False, True)])
def test_sample_major_backward_gives_the_gradients_asked_for(monkeypatch, wants, bias):
    """Sample-major's one-pass backward (both gradients from the forward's columns, chunks on
    two threads) and its fallback (one gradient wanted): the gradients of the inputs that
    require grad equal the NumPy reference's, the others stay None."""
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((5, 2, 8, 9)).astype(np.float32)
    w0 = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    g0 = rng.standard_normal((5, 3, 8, 9)).astype(np.float32)
    monkeypatch.setattr(oconv, "CHUNK_BYTES", 2 * (2 * 9 + 1 + 3) * 72 * 4)  # 2 samples
    monkeypatch.setattr(oconv, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(oconv.threads, "task_threads", lambda: 2)

    def grads(**flags):
        x = tinydl.Tensor(x0, requires_grad=wants[0])
        w = tinydl.Tensor(w0, requires_grad=wants[1])
        b = tinydl.Tensor(b0, requires_grad=True) if bias else None
        with tinydl.backends.flags(**flags):
            F.conv2d(x, w, b, padding=1).backward(tinydl.Tensor(g0))
        return [None if t is None or t.grad is None else t.grad.data for t in (x, w, b)]

    fast = grads(numba=True, conv_route="sample-major")
    reference = grads(numba=False)
    for name, a, r, wanted in zip(("dx", "dw", "db"), fast, reference, wants + (bias,)):
        assert (a is None) == (not wanted), name
        if wanted:
            np.testing.assert_allclose(a, r, rtol=0, atol=1e-5 * np.abs(r).max(), err_msg=name)


@pytest.mark.parametrize("hw", [(5, 7), (16, 16)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_major_on_views_and_padded_rows_matches_the_reference(monkeypatch, dtype, hw):
    """Sample-major's forward, its one-pass backward on the forward's columns, and each
    gradient alone without them (as the derivative of a convolution asks for it), on views
    that are not C-contiguous, in chunks on two threads: equal to the NumPy reference route's
    (the Numba kernels build and fold float32 columns, NumPy float64's). At 16x16 pixels the
    columns' rows are padded (1 KB of float32, 2 KB of float64: ``_row_stride``)."""
    rng = np.random.default_rng(7)
    h, w_ = hw
    x = rng.standard_normal((9, h, w_, 3)).astype(dtype).transpose(0, 3, 1, 2)  # (9, 3, h, w)
    w = rng.standard_normal((3, 4, 3, 3)).astype(dtype).transpose(1, 0, 3, 2)  # (4, 3, 3, 3)
    b = rng.standard_normal(4).astype(dtype)
    g = rng.standard_normal((9, 4, h, w_)).astype(dtype)[:, ::-1]
    geom = oconv.Geometry(3, 3, 1, 1, 1, 1, 1, 1)
    route, reference = oconv.conv_im2col.SampleMajor, oconv.Reference
    stride = oconv.conv_im2col._row_stride(h * w_, x.itemsize)
    assert (stride > h * w_) == (hw == (16, 16))
    monkeypatch.setattr(oconv, "CHUNK_BYTES", 2 * (3 * 9 + 1 + 4) * stride * x.itemsize)
    monkeypatch.setattr(oconv, "PARALLEL_MIN_WORK", 0)  # (2 samples a chunk, 5 chunks)
    monkeypatch.setattr(oconv.threads, "task_threads", lambda: 2)
    with tinydl.backends.flags(numba=True):
        y, saved = route.forward(x, w, b, geom, 1, keep=True)
        both = route.backward(x, g, w, geom, 1, hw, saved, True, True)
        route.release(saved)
        gw, gb = route.weight_grad(x, g, geom, 1)
        gx = route.input_grad(g, w, geom, 1, hw)
    assert gb is None
    want_w = reference.weight_grad(x, g, geom, 1)[0]
    want_x = reference.input_grad(g, w, geom, 1, hw)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in ((y, reference.forward(x, w, b, geom, 1, keep=False)[0]),
                      (gw, want_w), (gx, want_x), (both[0], want_x), (both[1], want_w),
                      (both[2], g.sum(axis=(0, 2, 3)))):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("shape,channels,route_name", [
    ((2, 3, 32, 32), 4, "sample-major"), ((2, 3, 6, 6), 4, "channel-major"),
    ((2, 16, 8, 8), 16, "winograd")])
def test_route_is_chosen_once_per_call_and_the_columns_built_once(monkeypatch, shape, channels,
                                                                  route_name):
    """A forward and a backward choose the route once (it stays on ctx), and the backward's
    weight gradient reuses the forward's columns instead of rebuilding them. (Winograd's
    backward makes its input tiles again, on purpose: see conv_winograd._Saved.)"""
    from tinydl.kernels import conv as kconv
    from tinydl.kernels import winograd as kwino

    chosen, built = [], []
    real_choose = oconv.choose_route

    def choose(*args):
        chosen.append(real_choose(*args))
        return chosen[-1]

    monkeypatch.setattr(oconv, "choose_route", choose)
    # Winograd builds a forward's tiles in its chunk kernel.
    for module, name in ((kconv, "im2col_kernel"), (kwino, "winograd_input"),
                         (kwino, "winograd_forward")):
        def spy(*args, _real=getattr(module, name), _name=name):
            built.append(_name)
            return _real(*args)

        monkeypatch.setattr(module, name, spy)
    x = tinydl.Tensor(np.ones(shape, np.float32), requires_grad=True)
    w = tinydl.Tensor(np.ones((channels, shape[1], 3, 3), np.float32), requires_grad=True)
    b = tinydl.Tensor(np.ones(channels, np.float32), requires_grad=True)
    with tinydl.backends.flags(numba=True):
        F.conv2d(x, w, b, padding=1).sum().backward()
    assert [r.name for r in chosen] == [route_name]
    # (Winograd's backward makes its input tiles again inside its chunk kernel, on purpose:
    # see conv_winograd._Saved.)
    expected = ["winograd_forward"] if route_name == "winograd" else ["im2col_kernel"]
    assert built == expected, built


def test_conv_functions_declare_what_backward_reads():
    """x and w are read (each for the other's gradient), of b only whether it is there, and
    never the output; a non-leaf bias and input (whose values the graph may drop) still get
    every gradient, to second order."""
    for fn in (oconv.Conv2d, oconv.ConvTranspose2d, oconv.Conv2dWeight):
        assert fn.retain_inputs == (0, 1) and fn.retain_output is False, fn.__name__
    for fn in (oconv.Im2col, oconv.Col2im):
        assert fn.retain_inputs == () and fn.retain_output is False, fn.__name__
    rng = np.random.default_rng(9)
    x = tinydl.Tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(3), requires_grad=True)
    for name in ROUTES:
        with route(name):
            assert tinydl.gradgradcheck(lambda x, w, b: F.conv2d(x * 1.5, w, b * 2.0), (x, w, b))
            assert tinydl.gradcheck(
                lambda x, w, b: F.conv_transpose2d(x * 1.5, w.transpose(1, 0, 2, 3), b * 2.0),
                (x, w, b))


def test_window_output_sizes_match_torch_and_invert_each_other():
    """The window geometry of ``tinydl.ops.conv``: the one home of the output-size formulas
    (convolution, pooling with ceil_mode, transposed convolution)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    for trial in range(40):
        k, s, d = (int(v) for v in rng.integers(1, 4, 3))
        p = int(rng.integers(0, k // 2 + 1))  # torch's pooling limit
        h = int(rng.integers(1, 12))
        g = oconv.Geometry(k, k, s, s, p, p, d, d)
        x = torch.zeros(1, 1, h, h)
        case = f"trial {trial}: size {h}, {g}"
        out = oconv.output_size(h, h, g)
        if min(out) < 1:
            continue
        conv = torch.nn.functional.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p,
                                          dilation=d)
        assert out == tuple(conv.shape[2:]), case
        for ceil in (False, True):
            pooled = torch.nn.functional.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
            assert oconv.output_size(h, h, g, ceil) == tuple(pooled.shape[2:]), f"{case} {ceil}"
        lost = (h + 2 * p - d * (k - 1) - 1) % s  # rows the strided windows never reach
        assert oconv.transposed_output_size(*out, g, (lost, lost)) == (h, h), case


@pytest.mark.parametrize("conv,x_shape,w_shape", [
    (F.conv3d, (1, 2, 3, 3, 3), (2, 2, 2, 0, 2)), (F.conv3d, (1, 2, 3, 3, 3), (2, 2, 0, 2, 2)),
    (F.conv3d, (1, 2, 3, 3, 3), (0, 2, 2, 2, 2)), (F.conv2d, (1, 2, 4, 4), (2, 2, 0, 2)),
    (F.conv1d, (1, 2, 4), (2, 2, 0))])
def test_a_zero_size_kernel_or_no_filter_is_refused(conv, x_shape, w_shape):
    """torch refuses them; tinydl gave all-zero outputs or bare AttributeError/reshape errors."""
    with pytest.raises(ValueError, match="needs at least one filter and a kernel size"):
        conv(tinydl.Tensor(np.ones(x_shape)), tinydl.Tensor(np.ones(w_shape)))


def test_conv_transpose_of_a_zero_length_spatial_axis_raises_as_torch():
    # it returned a bias-only output of length (0 - 1) s + k, a size from nothing
    for make, shape in ((lambda: nn.ConvTranspose1d(3, 4, 3, stride=2), (3, 0)),
                        (lambda: nn.ConvTranspose1d(3, 4, 3, stride=2), (1, 3, 0)),
                        (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2), (1, 3, 0, 4))):
        with pytest.raises(ValueError, match="zero-length spatial axis"):
            make()(tinydl.zeros(*shape))
    out = nn.ConvTranspose2d(3, 4, 3, stride=2)(tinydl.zeros(0, 3, 2, 2))  # an empty batch works
    assert out.shape == (0, 4, 5, 5)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("cls, shape, padding, kernel, dilation", [
    ("Conv1d", (2, 3, 7), 1, 3, 1), ("Conv2d", (2, 3, 6, 5), "same", 4, 1),
    ("Conv2d", (1, 3, 6, 5), (2, 1), 3, 1), ("Conv2d", (1, 3, 6, 6), "same", 3, 2),
    ("Conv3d", (1, 2, 4, 5, 4), 1, 3, 1)])
def test_padding_modes_match_torch(mode, cls, shape, padding, kernel, dilation):
    """padding_mode reflect/replicate/circular raised "only padding_mode='zeros'"."""
    torch = pytest.importorskip("torch")
    ours = getattr(nn, cls)(shape[1], 4, kernel, padding=padding, dilation=dilation,
                            padding_mode=mode).double()
    theirs = getattr(torch.nn, cls)(shape[1], 4, kernel, padding=padding, dilation=dilation,
                                    padding_mode=mode).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    x = np.random.default_rng(0).standard_normal(shape)
    xo, xt = tinydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):
        (ours(xo) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    np.testing.assert_allclose(ours(xo).numpy(), theirs(xt).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-11)
    assert f"padding_mode={mode}" in repr(ours)


@pytest.mark.parametrize("mode", ["reflect", "circular", "replicate"])
@pytest.mark.parametrize("cls, shape", [("Conv1d", (1, 1, 3)), ("Conv2d", (1, 1, 3, 3)),
                                        ("Conv3d", (1, 1, 3, 3, 3))])
def test_padding_mode_widths_past_the_axis_are_refused_as_torch(mode, cls, shape):
    # A reflect padding of 4 on 3 pixels reflected again and again, a circular one wrapped
    # twice: tinydl gave an output where torch raises.
    torch = pytest.importorskip("torch")
    for padding, kernel in ((2, 5), (3, 7), (4, 9)):
        layer = getattr(nn, cls)(1, 1, kernel, padding=padding, padding_mode=mode)
        refused = (mode == "reflect" and padding >= 3) or (mode == "circular" and padding > 3)
        theirs = getattr(torch.nn, cls)(1, 1, kernel, padding=padding, padding_mode=mode)
        if refused:
            with pytest.raises(RuntimeError):
                theirs(torch.zeros(shape))
            rule = ("reflection padding must be smaller than the padded axis" if mode == "reflect"
                    else "circular padding can wrap around at most once")
            with pytest.raises(ShapeError, match=f"{cls}: {rule}"):
                layer(tinydl.zeros(*shape))
        else:
            assert layer(tinydl.zeros(*shape)).shape == tuple(theirs(torch.zeros(shape)).shape)


@pytest.mark.parametrize("cls, shape", [("Conv1d", (2, 3, 7)), ("Conv2d", (2, 3, 6, 5)),
                                        ("Conv3d", (1, 2, 4, 5, 4))])
def test_padding_mode_and_padding_set_after_construction_are_used(cls, shape):
    """``conv.padding_mode = 'circular'`` after construction raised a bare AttributeError
    ('_mode_widths'); torch pads in the new mode, and so do we, back to zeros too. A padding
    set afterwards is used in every mode (torch keeps the constructor's widths in the modes
    other than zeros: here the reference is the input padded by the new widths, then
    convolved unpadded)."""
    torch = pytest.importorskip("torch")
    n = len(shape) - 2
    ours = getattr(nn, cls)(shape[1], 4, 3, padding=1).double()
    theirs = getattr(torch.nn, cls)(shape[1], 4, 3, padding=1).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape)
    for mode in ("circular", "reflect", "replicate", "zeros"):
        ours.padding_mode, theirs.padding_mode = mode, mode
        np.testing.assert_allclose(ours(tinydl.Tensor(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-12,
                                   err_msg=f"{cls} with padding_mode set to {mode!r}")
    conv = getattr(torch.nn.functional, cls.lower())
    ours.padding = (2,) * n
    for mode in ("zeros", "reflect", "circular"):
        ours.padding_mode = mode
        padded = torch.nn.functional.pad(torch.tensor(x), (2,) * 2 * n,
                                         mode="constant" if mode == "zeros" else mode)
        want = conv(padded, theirs.weight, theirs.bias)
        np.testing.assert_allclose(ours(tinydl.Tensor(x)).data, want.detach().numpy(),
                                   atol=1e-12, err_msg=f"{cls}, padding 2 set, {mode!r}")
    ours.padding_mode = "mirror"
    with pytest.raises(ValueError, match=f"{cls}: padding_mode must be one of"):
        ours(tinydl.Tensor(x))


def test_transposed_conv_refuses_a_padding_mode_set_after_construction_as_torch():
    """It was ignored (zero padding); torch raises at the forward."""
    torch = pytest.importorskip("torch")
    for cls, shape in [("ConvTranspose1d", (1, 2, 5)), ("ConvTranspose2d", (1, 2, 4, 4)),
                       ("ConvTranspose3d", (1, 2, 3, 3, 3))]:
        ours, theirs = getattr(nn, cls)(2, 3, 3), getattr(torch.nn, cls)(2, 3, 3)
        ours.padding_mode, theirs.padding_mode = "reflect", "reflect"
        with pytest.raises(ValueError, match="Only `zeros` padding mode"):
            theirs(torch.zeros(shape))
        with pytest.raises(ValueError, match=f"{cls}: only padding_mode='zeros' is supported"):
            ours(tinydl.zeros(*shape))


def test_conv_layer_arguments_torch_refuses_are_refused_at_construction():
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="padding must be 'valid', 'same'"):
        nn.Conv1d(3, 4, 3, padding="bogus")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only padding_mode='zeros' is supported for transposed"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


@pytest.mark.parametrize("name, args, x_shape, output_size", [
    ("ConvTranspose1d", (2, 3, 3, 2, 1), (2, 2, 5), (10,)),
    ("ConvTranspose1d", (2, 3, 3, 3), (2, 5), [17]),  # unbatched; the largest size (15 + 2)
    ("ConvTranspose2d", (2, 3, 3, 2, 1), (2, 2, 4, 5), (8, 10)),
    ("ConvTranspose2d", (2, 3, 3, 2, 1), (2, 2, 4, 5), (2, 3, 7, 9)),  # the whole shape
    ("ConvTranspose2d", (2, 4, (3, 2), (3, 2)), (1, 2, 3, 3), (9, 6)),
])
def test_transposed_conv_output_size_as_torch(name, args, x_shape, output_size):
    """torch's forward(x, output_size): the output_padding that reaches that size (output
    sizes between the smallest and that plus stride - 1)."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args).double(), getattr(torch.nn, name)(*args).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(x_shape)
    got = ours(tinydl.Tensor(x), output_size=output_size)
    want = theirs(torch.tensor(x), output_size=output_size)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12, atol=1e-12)
    too_big = [v + 5 for v in output_size]
    with pytest.raises(ValueError):
        theirs(torch.tensor(x), output_size=too_big)
    with pytest.raises(ValueError, match=f"{name}: requested an output size of"):
        ours(tinydl.Tensor(x), output_size=too_big)


@pytest.mark.parametrize("name, x_shape, w_shape", [
    ("conv_transpose1d", (1, 0, 2), (0, 3, 2)),
    ("conv_transpose2d", (1, 0, 2, 2), (0, 3, 2, 2)),
    ("conv_transpose3d", (1, 0, 2, 2, 2), (0, 3, 2, 2, 2)),
])
def test_transposed_conv_with_no_input_channels_is_refused_clearly_as_torch(name, x_shape,
                                                                           w_shape):
    """A weight with Cin = 0 raised NumPy's 'cannot reshape array of size 0' from inside the
    columns; torch refuses it ('expected weight to be at least 1 at dimension 0')."""
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, name)(torch.zeros(x_shape), torch.zeros(w_shape))
    with pytest.raises(ValueError, match=f"{name}: weight .*(no input channels|no empty axis)"):
        getattr(F, name)(tinydl.zeros(*x_shape), tinydl.zeros(*w_shape))


@pytest.mark.parametrize("route", ["sample-major", "channel-major", "reference"])
def test_an_empty_batch_convolves_on_every_route(route):
    """N = 0, as torch allows: an empty output and input gradient, zero weight and bias
    gradients (sample-major raised NumPy's 'cannot reshape array of size 0')."""
    with tinydl.backends.flags(numba=True, conv_route=route):
        x = tinydl.Tensor(np.ones((0, 3, 32, 32), np.float32), requires_grad=True)
        w = tinydl.Tensor(np.ones((4, 3, 3, 3), np.float32), requires_grad=True)
        b = tinydl.Tensor(np.ones(4, np.float32), requires_grad=True)
        y = F.conv2d(x, w, b, padding=1)
        y.backward(tinydl.Tensor(np.ones(y.shape, np.float32)))
        z = F.conv_transpose2d(y, w, padding=1)
    assert y.shape == (0, 4, 32, 32) and x.grad.shape == (0, 3, 32, 32)
    assert z.shape == (0, 3, 32, 32)
    assert w.grad.shape == (4, 3, 3, 3) and not w.grad.data.any()
    assert b.grad.shape == (4,) and not b.grad.data.any()
