"""Convolution: functional conv1d/conv2d/conv_transpose2d against scipy.signal.correlate,
gradients (gradcheck, gradgradcheck), im2col/col2im layout and adjointness, the Numba kernels
against their NumPy twins, and the Conv layers."""
import contextlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import signal

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from tinydl.ops import conv as oconv


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


ROUTES = {"sample-major": 0, "channel-major": 10 ** 9}  # _SAMPLE_MAJOR_MIN_HW forcing each


@contextlib.contextmanager
def route(name):
    """Force the im2col layout of groups=1 convolutions (``tinydl.ops.conv``'s two im2col
    routes; grouped ones are always channel-major)."""
    saved = oconv._SAMPLE_MAJOR_MIN_HW
    oconv._SAMPLE_MAJOR_MIN_HW = ROUTES[name]
    try:
        yield
    finally:
        oconv._SAMPLE_MAJOR_MIN_HW = saved


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
        route=draw(st.sampled_from(sorted(ROUTES))))
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


@pytest.mark.parametrize("layout", sorted(ROUTES))
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


@pytest.mark.parametrize("layout", sorted(ROUTES))
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


def _random_geometry(rng):
    while True:
        g = oconv.Geometry(*(int(v) for v in rng.integers(1, 4, 2)),
                           *(int(v) for v in rng.integers(1, 3, 2)),
                           *(int(v) for v in rng.integers(0, 3, 2)),
                           *(int(v) for v in rng.integers(1, 3, 2)))
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 9)),
                 int(rng.integers(1, 9)))
        out_h, out_w = oconv.output_size(shape[2], shape[3], g)
        if out_h >= 1 and out_w >= 1:
            return g, shape, out_h, out_w


@pytest.mark.parametrize("layout", ["channel-major", "sample-major", "sample-major + spare row"])
def test_numba_im2col_and_col2im_agree_with_numpy_twins(monkeypatch, layout):
    """Columns.fill / Columns.fold through the kernels (float32) and through the NumPy twins
    (TINYDL_NUMBA=0), in both GEMM layouts."""
    rng = np.random.default_rng(6)
    sample_major, extra = layout != "channel-major", int(layout.endswith("row"))
    for trial in range(30):
        g, shape, out_h, out_w = _random_geometry(rng)
        n, c = shape[:2]
        x = rng.standard_normal(shape).astype(np.float32)
        grads = rng.standard_normal((c * g.kh * g.kw, n * out_h * out_w)).astype(np.float32)
        results = {}
        for numba_on in ("1", "0"):
            monkeypatch.setenv("TINYDL_NUMBA", numba_on)
            cols = oconv.Columns(n, c, g, out_h, out_w, np.float32, sample_major, extra)
            cols.buffer[...] = np.nan  # every row entry must be written
            cols.fill(x, g)
            built = cols.rows.copy()
            rows = cols.blocks()  # [a, b, i, j, ho, wo]; refill them with known values
            if sample_major:
                rows[...] = grads.reshape(c, g.kh, g.kw, n, out_h, out_w).transpose(3, 0, 1, 2, 4, 5)
            else:
                cols.buffer[...] = grads
            results[numba_on] = built, cols.fold(shape, g)
        name = f"trial {trial}: {g} {shape}"
        np.testing.assert_array_equal(results["1"][0], results["0"][0], err_msg=f"im2col {name}")
        np.testing.assert_allclose(results["1"][1], results["0"][1], atol=1e-5,
                                   err_msg=f"col2im {name}")
        # the NumPy im2col is torch's unfold layout, the fold its adjoint
        unfolded = oconv.im2col_array(x.astype(np.float64), g)
        torch_layout = grads.reshape(c * g.kh * g.kw, n, -1).transpose(1, 0, 2)
        np.testing.assert_allclose(np.sum(unfolded * torch_layout),
                                   np.sum(x * results["0"][1]), rtol=1e-4)


@pytest.mark.parametrize("sample_major", [True, False])
def test_im2col_kernel_stays_inside_its_buffer_when_rows_are_all_padding(sample_major):
    """A dilated kernel on a map smaller than its dilation (ASPP on a 1x1 map) has offsets
    whose first in-image output column lies beyond the last one; the kernel must still write
    exactly the rows' entries and nothing after them."""
    from tinydl.kernels.conv import im2col_kernel

    rng = np.random.default_rng(12)
    for g, shape in [(oconv.Geometry(1, 2, 1, 1, 0, 3, 1, 6), (1, 1, 1, 1)),
                     (oconv.Geometry(3, 3, 1, 1, 18, 18, 18, 18), (1, 2, 1, 1)),
                     (oconv.Geometry(2, 3, 1, 2, 4, 5, 5, 4), (2, 1, 2, 3))]:
        out_h, out_w = oconv.output_size(shape[2], shape[3], g)
        n, c = shape[:2]
        k = c * g.kh * g.kw
        size = n * k * out_h * out_w
        flat = np.full(size + 64, np.nan, np.float32)  # the tail is a sentinel
        strides = (k * out_h * out_w, out_h * out_w) if sample_major else \
            (out_h * out_w, n * out_h * out_w)
        x = rng.standard_normal(shape).astype(np.float32)
        im2col_kernel(x, *g, out_h, out_w, flat, *strides)
        assert np.isnan(flat[size:]).all(), f"wrote past the columns: {g} {shape}"
        cols = oconv.Columns(n, c, g, out_h, out_w, np.float64, sample_major).fill(x, g)
        np.testing.assert_array_equal(flat[:size].reshape(cols.buffer.shape), cols.buffer)


def _conv_forward_backward(x, w, b, **kw):
    xt = tinydl.Tensor(x, requires_grad=True)
    wt = tinydl.Tensor(w, requires_grad=True)
    bt = tinydl.Tensor(b, requires_grad=True)
    out = F.conv2d(xt, wt, bt, **kw)
    out.backward(tinydl.Tensor(np.cos(out.data)))
    return out.data, xt.grad.data, wt.grad.data, bt.grad.data


@pytest.mark.parametrize("layout", sorted(ROUTES))
def test_numba_and_numpy_paths_agree_in_float32(monkeypatch, layout):
    rng = np.random.default_rng(7)
    for trial in range(6):
        groups = int(rng.integers(1, 3))
        x = rng.standard_normal((2, 2 * groups, 9, 8)).astype(np.float32)
        w = rng.standard_normal((2 * groups, 2, 3, 3)).astype(np.float32)
        b = rng.standard_normal(2 * groups).astype(np.float32)
        kw = dict(stride=int(rng.integers(1, 3)), padding=int(rng.integers(0, 3)),
                  dilation=int(rng.integers(1, 3)), groups=groups)
        monkeypatch.setenv("TINYDL_NUMBA", "1")
        with route(layout):
            fast = _conv_forward_backward(x, w, b, **kw)
        monkeypatch.setenv("TINYDL_NUMBA", "0")
        slow = _conv_forward_backward(x, w, b, **kw)
        for a, e, name in zip(fast, slow, ("out", "grad x", "grad w", "grad b")):
            assert a.dtype == np.float32, name
            np.testing.assert_allclose(a, e, atol=1e-5, rtol=1e-5, err_msg=f"{name} {kw}")


def test_float32_stays_float32_end_to_end():
    x = tinydl.randn(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    out = conv(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    assert conv.weight.grad.dtype == np.float32


@pytest.mark.parametrize("shape,channels", [((2, 3, 6, 6), 4), ((2, 3, 32, 32), 4),
                                            ((2, 16, 8, 8), 16)])
def test_output_dtype_is_that_of_input_and_weight_on_every_route(shape, channels):
    """Channel-major, sample-major and Winograd routes: a float64 bias does not promote."""
    x = tinydl.Tensor(np.ones(shape, np.float32))
    w = tinydl.Tensor(np.ones((channels, shape[1], 3, 3), np.float32))
    b = tinydl.Tensor(np.ones(channels, np.float64))
    assert F.conv2d(x, w, b, padding=1).dtype == np.float32


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


@pytest.mark.parametrize("layout", sorted(ROUTES))
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
