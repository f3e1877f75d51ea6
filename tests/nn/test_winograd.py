"""The Winograd F(2x2, 3x3) path of conv2d / conv_transpose2d (Numba tile transforms) and the
workspace that recycles convolution buffers.

By default the path serves float32 only, so its float64 checks (scipy, gradcheck,
gradgradcheck) force it with ``force_winograd`` (``tinydl.backends.conv_route``), which
lifts the dtype and channel limits but keeps the geometric ones; a spy on the kernels proves
that the path really ran. The kernels' own checks are in tests/kernels/.
"""
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinydl
import tinydl.nn.functional as F
from tinydl.kernels import winograd as kw
from tinydl.ops.conv import scratch as workspace

from .test_conv import ref_conv2d, ref_conv_transpose2d


@pytest.fixture
def kernel_calls(monkeypatch):
    """Count the calls of each Winograd kernel (the wrappers call the real kernels)."""
    calls = {}
    for name in ("winograd_input", "winograd_output", "winograd_grad", "winograd_fold",
                 "winograd_forward", "winograd_backward"):
        real = getattr(kw, name)

        def spy(*args, _real=real, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args)

        monkeypatch.setattr(kw, name, spy)
    return calls


@pytest.fixture
def force_winograd(kernel_calls):
    """Take the Winograd path for any dtype and channel count where the geometry allows it."""
    with tinydl.backends.flags(numba=True, conv_route="winograd"):
        yield kernel_calls


@pytest.fixture
def numba_on():
    """The Winograd route needs the Numba kernels, also when the suite runs without them."""
    with tinydl.backends.flags(numba=True):
        yield


# The fixtures patch for the whole test and the call counts are compared before/after, so
# sharing them across generated inputs is intended.
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 2), c=st.integers(1, 3), f=st.integers(1, 3), h=st.integers(1, 9),
       w=st.integers(1, 9), ph=st.integers(0, 3), pw=st.integers(0, 3), bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_winograd_conv2d_and_transpose_match_scipy(force_winograd, n, c, f, h, w, ph, pw, bias,
                                                   seed):
    out_h, out_w = h + 2 * ph - 2, w + 2 * pw - 2
    if out_h < 1 or out_w < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((f, c, 3, 3))
    b = rng.standard_normal(f) if bias else None
    calls = force_winograd.get("winograd_forward", 0)
    out = F.conv2d(tinydl.Tensor(x), tinydl.Tensor(weight),
                   None if b is None else tinydl.Tensor(b), padding=(ph, pw))
    assert force_winograd["winograd_forward"] == calls + 1
    expected = ref_conv2d(x, weight, b, (1, 1), (ph, pw), (1, 1), 1)
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-10)
    # conv_transpose2d of y (n, f, out_h, out_w) with this weight maps back to (n, c, h, w).
    y = rng.standard_normal((n, f, out_h, out_w))
    bt = rng.standard_normal(c) if bias else None
    calls = force_winograd.get("winograd_backward", 0)
    z = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(weight),
                           None if bt is None else tinydl.Tensor(bt), padding=(ph, pw))
    assert force_winograd["winograd_backward"] == calls + 1
    np.testing.assert_allclose(
        z.data, ref_conv_transpose2d(y, weight, bt, (1, 1), (ph, pw), (0, 0), (1, 1), 1),
        rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape,padding", [((2, 3, 5, 6), 1), ((1, 2, 4, 4), 0),
                                           ((2, 2, 3, 5), 2)])
def test_winograd_gradcheck_and_gradgradcheck(force_winograd, shape, padding):
    rng = np.random.default_rng(0)
    x = tinydl.Tensor(rng.standard_normal(shape), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((3, shape[1], 3, 3)), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(3), requires_grad=True)

    def conv(x, w, b):
        return F.conv2d(x, w, b, padding=padding)

    assert tinydl.gradcheck(conv, (x, w, b))
    assert tinydl.gradgradcheck(conv, (x, w, b))
    y = tinydl.Tensor(rng.standard_normal(conv(x, w, b).shape), requires_grad=True)

    def transpose(y, w, b):
        return F.conv_transpose2d(y, w, b, padding=padding)  # w: (3 in, C out, 3, 3)

    wt = tinydl.Tensor(rng.standard_normal((3, shape[1], 3, 3)), requires_grad=True)
    bt = tinydl.Tensor(rng.standard_normal(shape[1]), requires_grad=True)
    assert tinydl.gradcheck(transpose, (y, wt, bt))
    assert tinydl.gradgradcheck(transpose, (y, wt, bt))
    for name in ("winograd_forward", "winograd_backward"):  # the chunk kernels
        assert force_winograd.get(name, 0) > 0, name


def _forward_backward(x, w, b, padding):
    xt, wt, bt = (tinydl.Tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, padding=padding)
    out.backward(tinydl.Tensor(np.cos(out.data)))
    return out.data, xt.grad.data, wt.grad.data, bt.grad.data


def test_winograd_float32_agrees_with_numpy_reference(numba_on, kernel_calls):
    """The default path for float32 3x3 convolutions with 16+ channels, against Numba off
    (the NumPy reference route), relative to each result's scale. (Maps of odd sizes and
    under 64 pixels too, where edge tiles are cut: the pixel floor lowered to let them in.)"""
    rng = np.random.default_rng(1)
    for n, c, f, h, w, p in [(2, 16, 16, 8, 8, 1), (3, 17, 20, 7, 9, 0), (1, 16, 24, 5, 6, 2),
                             (4, 32, 16, 12, 11, 1)]:
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        weight = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        b = rng.standard_normal(f).astype(np.float32)
        before = kernel_calls.get("winograd_backward", 0)
        with tinydl.backends.flags(winograd_min_pixels=1):
            fast = _forward_backward(x, weight, b, p)
        assert kernel_calls["winograd_backward"] == before + 1
        with tinydl.backends.flags(numba=False):
            slow = _forward_backward(x, weight, b, p)
        assert kernel_calls["winograd_backward"] == before + 1
        for a, e, name in zip(fast, slow, ("out", "grad x", "grad w", "grad b")):
            assert a.dtype == np.float32, name
            np.testing.assert_allclose(a, e, rtol=0, atol=1e-5 * np.abs(e).max(),
                                       err_msg=f"{name} {(n, c, f, h, w, p)}")


def test_winograd_serves_only_float32_3x3_stride1_with_16_channels(numba_on, kernel_calls):
    def used(x_shape, w_shape, dtype=np.float32, **kw):
        before = kernel_calls.get("winograd_forward", 0)
        F.conv2d(tinydl.Tensor(np.ones(x_shape, dtype)), tinydl.Tensor(np.ones(w_shape, dtype)),
                 **kw)
        return kernel_calls.get("winograd_forward", 0) > before

    with tinydl.backends.flags(winograd_min_pixels=1):  # (6x6 maps in this block)
        assert used((1, 16, 6, 6), (16, 16, 3, 3), padding=1)
        assert not used((1, 8, 6, 6), (16, 8, 3, 3), padding=1)  # few input channels
        assert not used((1, 16, 6, 6), (8, 16, 3, 3))  # few output channels
        assert not used((1, 16, 6, 6), (16, 16, 3, 3), np.float64)
        assert not used((1, 16, 6, 6), (16, 16, 3, 3), stride=2)
        assert not used((1, 16, 6, 6), (16, 16, 3, 3), dilation=2)
        assert not used((1, 16, 6, 6), (16, 8, 3, 3), groups=2)
        assert not used((1, 16, 6, 6), (16, 16, 5, 5))
        with tinydl.backends.flags(numba=False):
            assert not used((1, 16, 6, 6), (16, 16, 3, 3), padding=1)
        with tinydl.backends.flags(winograd=False):
            assert not used((1, 16, 6, 6), (16, 16, 3, 3), padding=1)
        with tinydl.backends.flags(winograd_min_channels=8):
            assert used((1, 8, 6, 6), (16, 8, 3, 3), padding=1)
        with tinydl.backends.flags(winograd_min_channels=17):
            assert not used((1, 16, 6, 6), (16, 16, 3, 3), padding=1)
    # small maps run channel-major: under 64 output pixels (6x6 is 36) by default
    assert tinydl.backends.winograd_min_pixels == 64
    assert not used((1, 16, 6, 6), (16, 16, 3, 3), padding=1)
    assert not used((1, 16, 7, 9), (16, 16, 3, 3), padding=1)  # 63 pixels
    assert used((1, 16, 8, 8), (16, 16, 3, 3), padding=1)
    assert not used((2, 16, 4, 4), (32, 16, 3, 3), padding=1)


def test_winograd_backward_twice_with_retain_graph(numba_on, kernel_calls, monkeypatch):
    """A second backward (retain_graph) gives the same gradients again: the forward keeps
    only U, which no backward overwrites, and each backward makes its tiles itself."""
    monkeypatch.setattr(tinydl.backends, "winograd_min_pixels", 1)  # a 6x7 map
    rng = np.random.default_rng(2)
    x = tinydl.Tensor(rng.standard_normal((2, 16, 6, 7)).astype(np.float32), requires_grad=True)
    w = tinydl.Tensor(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    g = tinydl.Tensor(rng.standard_normal(out.shape).astype(np.float32))
    out.backward(g, retain_graph=True)
    first = x.grad.data.copy(), w.grad.data.copy()
    out.backward(g)
    np.testing.assert_allclose(x.grad.data, 2 * first[0], rtol=1e-6)
    np.testing.assert_allclose(w.grad.data, 2 * first[1], rtol=1e-6)
    assert kernel_calls["winograd_backward"] == 2


def test_winograd_in_chunks_of_images_equals_one_chunk(numba_on, kernel_calls, monkeypatch):
    """Forward, both gradients, a second backward (tiles made again) and conv_transpose2d,
    with chunks of 2, 2 and 1 images, against the same in one chunk and the NumPy route."""
    from tinydl.ops import conv, conv_winograd

    rng = np.random.default_rng(4)
    n, c, f, h, w = 5, 16, 20, 7, 9
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    y = rng.standard_normal((n, f, h, w)).astype(np.float32)
    per_image = 16 * (c + f) * conv_winograd.tiles_of(1, h, w).count * 4

    def run():
        xt, wt, bt = (tinydl.Tensor(a, requires_grad=True) for a in (x, weight, b))
        out = F.conv2d(xt, wt, bt, padding=1)
        g = tinydl.Tensor(np.cos(out.data))
        out.backward(g, retain_graph=True)
        first = [t.grad.data.copy() for t in (xt, wt, bt)]
        out.backward(g)
        second = [t.grad.data - a for t, a in zip((xt, wt, bt), first)]
        z = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(weight),
                               padding=1)
        return [out.data] + first + second + [z.data]

    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * per_image + 1)
    monkeypatch.setattr(tinydl.backends, "winograd_min_pixels", 1)  # a 7x9 map
    assert [c1 - c0 for c0, c1, _ in conv_winograd.chunks(n, c, f, h, w, np.float32)] == [2, 2, 1]
    # One part, then the chunks shared by 2 and 3 threads (more parts than chunks in turn).
    results, seen = {}, {"winograd_forward": set(), "winograd_backward": set()}

    def recorder(name, spied):
        def record(*args):
            seen[name].add(threading.get_ident())
            time.sleep(0.05)  # so that every thread claims a chunk before the first is done
            return spied(*args)
        return record

    for name in seen:
        monkeypatch.setattr(kw, name, recorder(name, getattr(kw, name)))
    monkeypatch.setattr(conv, "PARALLEL_MIN_WORK", 0)  # tiny convolutions run in order
    for parts in (1, 2, 3):
        monkeypatch.setattr(conv.threads, "task_threads", lambda p=parts: p)
        before = kernel_calls.get("winograd_forward", 0)
        for threads_seen in seen.values():
            threads_seen.clear()
        results[parts] = run()
        assert kernel_calls["winograd_forward"] == before + 3
        # the chunks ran on that many threads, the backward's too (a backward's chunks go
        # in groups, which a batch of 3 chunks must not make one)
        assert len(seen["winograd_forward"]) == parts
        assert len(seen["winograd_backward"]) == parts
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1 << 30)
    whole = run()
    with tinydl.backends.flags(numba=False):
        reference = run()
    names = ("out", "dx", "dw", "db", "dx again", "dw again", "db again", "transpose")
    for parts, chunked in results.items():
        for name, a, e, r in zip(names, chunked, whole, reference):
            scale = np.abs(r).max()
            np.testing.assert_allclose(a, e, rtol=0, atol=1e-6 * scale, err_msg=f"{name} {parts}")
            np.testing.assert_allclose(a, r, rtol=0, atol=1e-5 * scale, err_msg=f"{name} {parts}")


def test_convolutions_from_several_threads_agree_and_restore_the_blas_pool(numba_on,
                                                                             monkeypatch):
    """Three user threads and the main thread convolving at once, each splitting its chunks
    among two threads: every result is right, and the BLAS pool has its size back when all
    are done (only the main thread narrows it: OpenBLAS ignores counts set elsewhere)."""
    from tinydl.ops import conv

    monkeypatch.setattr(conv, "PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(conv.threads, "task_threads", lambda: 2)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 16, 6, 6)).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)  # a chunk per image
    with tinydl.backends.flags(numba=False):
        expected = F.conv2d(tinydl.Tensor(x), tinydl.Tensor(w), padding=1).data
    before = tinydl.get_num_threads()
    conv.threads.set_pool_size(2)  # each convolution sets it to 1 while its chunks run
    results, errors = [], []

    def convolve():
        try:
            for _ in range(5):
                results.append(F.conv2d(tinydl.Tensor(x), tinydl.Tensor(w), padding=1).data)
        except Exception as err:  # reported below, not lost in the thread
            errors.append(err)

    users = [threading.Thread(target=convolve) for _ in range(3)]
    for u in users:
        u.start()
    convolve()
    for u in users:
        u.join()
    after = tinydl.get_num_threads()
    conv.threads.set_pool_size(before)
    assert not errors and len(results) == 20
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    assert after == 2


@pytest.mark.parametrize("route", ["winograd", "sample-major", "channel-major"])
def test_recycled_buffers_never_reach_a_live_graph(route, numba_on, kernel_calls):
    """Buffers go back to the workspace only when their owner is done. Two forwards whose
    graphs both stay alive, a no-grad convolution in between (which takes and gives back
    buffers of the same sizes), then both backwards: every gradient must equal what each
    input gives alone in float64, with its backward right after its forward (so nothing can
    take its buffers in between). Each route's buffers are over ``workspace.MIN_BYTES``, so
    they really are recycled."""
    x_shape, w_shape, groups = {
        "winograd": ((3, 16, 64, 64), (16, 16, 3, 3), 1),  # a chunk of one image: 1 MB tiles
        "sample-major": ((16, 3, 32, 32), (8, 3, 3, 3), 1),
        "channel-major": ((8, 8, 32, 32), (8, 4, 3, 3), 2),
    }[route]
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal(x_shape) for _ in range(3)]
    w0 = rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))
    b0 = rng.standard_normal(w_shape[0])

    def loss(x, w, b):
        return (F.conv2d(x, w, b, padding=1, groups=groups) ** 2).sum()

    workspace.clear()
    before = kernel_calls.get("winograd_backward", 0)
    w = tinydl.Tensor(w0.astype(np.float32), requires_grad=True)
    b = tinydl.Tensor(b0.astype(np.float32), requires_grad=True)
    xts = [tinydl.Tensor(x.astype(np.float32), requires_grad=True) for x in xs[:2]]
    losses = [loss(x, w, b) for x in xts]
    with tinydl.no_grad():
        F.conv2d(tinydl.Tensor(xs[2].astype(np.float32)), w, b, padding=1, groups=groups)
    for value in losses:
        value.backward()
    assert (kernel_calls.get("winograd_backward", 0) > before) == (route == "winograd")
    assert workspace.idle_bytes > 0  # buffers went through the pool

    w64 = tinydl.Tensor(w0, requires_grad=True)
    b64 = tinydl.Tensor(b0, requires_grad=True)
    expected_x = []
    for x in xs[:2]:
        x64 = tinydl.Tensor(x, requires_grad=True)
        loss(x64, w64, b64).backward()
        expected_x.append(x64.grad.data)
    for name, a, e in zip(("x1", "x2", "w", "b"), [t.grad.data for t in xts + [w, b]],
                          expected_x + [w64.grad.data, b64.grad.data]):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-4 * np.abs(e).max(),
                                   err_msg=f"grad {name}, {route}")


def test_workspace_recycles_given_buffers_only():
    workspace.clear()
    a = workspace.take((16, 50000), np.float32)
    assert a.shape == (16, 50000) and a.dtype == np.float32 and a.flags.c_contiguous
    workspace.give(a[:, :10])  # a view finds its buffer
    b = workspace.take((800000,), np.float32)  # same byte count, any shape and dtype
    assert np.shares_memory(a, b)
    c = workspace.take((16, 50000), np.float32)  # the pool is empty again
    assert not np.shares_memory(b, c)
    workspace.give(np.empty((16, 50000), np.float32))  # not from the workspace: ignored
    workspace.give(np.empty(10, np.uint8))
    assert workspace.idle_bytes == 0
    small = workspace.take((10,), np.float64)  # below MIN_BYTES: a plain array
    workspace.give(small)
    assert workspace.idle_bytes == 0
    workspace.clear()


def test_workspace_keeps_at_most_limit_bytes_dropping_the_oldest(monkeypatch):
    workspace.clear()
    monkeypatch.setattr(workspace, "limit_bytes", 3 * workspace.MIN_BYTES)
    sizes = [workspace.MIN_BYTES * k for k in (1, 1, 2)]
    buffers = [workspace.take((size,), np.uint8) for size in sizes]
    for b in buffers:
        workspace.give(b)
    # 1 + 1 + 2 MiB > 3 MiB: the first one given back was dropped
    assert workspace.idle_bytes == 3 * workspace.MIN_BYTES
    again = workspace.take((sizes[0],), np.uint8)
    assert np.shares_memory(again, buffers[1]) and not np.shares_memory(again, buffers[0])
    workspace.clear()


def test_winograd_with_an_empty_batch_gives_empty_and_zero_gradients(numba_on, kernel_calls):
    """N = 0 through the route (it raised IndexError), as the NumPy reference and torch give:
    an empty output and input gradient, zero weight and bias gradients."""
    def run():
        x = tinydl.Tensor(np.ones((0, 16, 8, 8), np.float32), requires_grad=True)
        w = tinydl.Tensor(np.ones((16, 16, 3, 3), np.float32), requires_grad=True)
        b = tinydl.Tensor(np.ones(16, np.float32), requires_grad=True)
        y = F.conv2d(x, w, b, padding=1)
        y.backward(tinydl.Tensor(np.ones(y.shape, np.float32)))
        z = F.conv_transpose2d(y, w, padding=1)  # the input-gradient path on its own
        return y.shape, x.grad.shape, w.grad.data, b.grad.data, z.shape

    assert tinydl.ops.conv.choose_route(np.ones((0, 16, 8, 8), np.float32),
                                        np.ones((16, 16, 3, 3), np.float32),
                                        tinydl.ops.conv.Geometry(3, 3, 1, 1, 1, 1, 1, 1), 1,
                                        16, 16, (8, 8)).name == "winograd"
    fast = run()
    with tinydl.backends.flags(numba=False):
        slow = run()
    assert fast[0] == slow[0] == (0, 16, 8, 8) and fast[1] == slow[1] == (0, 16, 8, 8)
    assert fast[4] == slow[4] == (0, 16, 8, 8)
    for a, e in zip(fast[2:4], slow[2:4]):
        assert a.dtype == np.float32 and a.shape == e.shape and not a.any() and not e.any()


@pytest.mark.parametrize("where", ["x", "g", "w"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_values_give_what_direct_convolution_gives(numba_on, kernel_calls, where,
                                                              value):
    """inf - inf inside a tile transform made NaN where direct convolution (torch's and the
    NumPy route's) gives +-inf, and a NaN spread to outputs whose windows do not hold it: the
    route redoes such a convolution by im2col. Single values at corners, edges and inside, odd
    and even maps, paddings 0-2; the results, gradients included, must equal the NumPy
    route's, infs and NaNs in the same places."""
    rng = np.random.default_rng(7)
    for n, c, f, h, w, p in [(2, 16, 16, 8, 8, 1), (1, 16, 17, 7, 9, 0), (1, 17, 16, 9, 7, 2)]:
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        weight = (rng.standard_normal((f, c, 3, 3)) / 12).astype(np.float32)
        b = rng.standard_normal(f).astype(np.float32)
        out_shape = (n, f, h + 2 * p - 2, w + 2 * p - 2)
        g0 = rng.standard_normal(out_shape).astype(np.float32)
        target = {"x": x, "g": g0, "w": weight}[where]
        for spot in ((0, 0, 0, 0), (0, 1, -1, -1), (-1, 2, 3, 0), (0, 0, 3, 4)):
            if where == "w":
                spot = spot[:2] + (spot[2] % 3, spot[3] % 3)
            data = target.copy()
            data[spot] = value
            args = {"x": x, "g": g0, "w": weight, where: data}

            def run():
                xt, wt, bt = (tinydl.Tensor(a, requires_grad=True)
                              for a in (args["x"], args["w"], b))
                out = F.conv2d(xt, wt, bt, padding=p)
                with np.errstate(invalid="ignore", over="ignore"):
                    out.backward(tinydl.Tensor(args["g"]))
                return out.data, xt.grad.data, wt.grad.data, bt.grad.data

            before = kernel_calls.get("winograd_forward", 0)
            with np.errstate(invalid="ignore", over="ignore"), \
                    tinydl.backends.flags(winograd_min_pixels=1):
                fast = run()
            assert kernel_calls["winograd_forward"] > before  # the Winograd route ran first
            with np.errstate(invalid="ignore", over="ignore"), tinydl.backends.flags(numba=False):
                slow = run()
            for a, e, name in zip(fast, slow, ("out", "grad x", "grad w", "grad b")):
                finite = np.isfinite(e)
                np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{name} {spot}")
                np.testing.assert_array_equal(a[~finite & ~np.isnan(e)], e[~finite & ~np.isnan(e)])
                np.testing.assert_allclose(a[finite], e[finite], rtol=0,
                                           atol=1e-5 * max(1.0, np.abs(e[finite]).max(initial=0)),
                                           err_msg=f"{name} {(n, c, f, h, w, p)} {spot}")


def test_non_finite_input_of_a_transposed_convolution_as_direct(numba_on, kernel_calls):
    """conv_transpose2d runs the input-gradient path alone (no dW to say that g holds an inf)."""
    rng = np.random.default_rng(8)
    y = rng.standard_normal((2, 16, 8, 8)).astype(np.float32)
    y[1, 3, 0, 5] = np.inf
    weight = (rng.standard_normal((16, 16, 3, 3)) / 12).astype(np.float32)
    before = kernel_calls.get("winograd_backward", 0)
    with np.errstate(invalid="ignore"), tinydl.backends.flags(winograd_min_pixels=1):
        fast = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(weight), padding=1).data
    assert kernel_calls["winograd_backward"] > before
    with np.errstate(invalid="ignore"), tinydl.backends.flags(numba=False):
        slow = F.conv_transpose2d(tinydl.Tensor(y), tinydl.Tensor(weight), padding=1).data
    assert np.isinf(slow).any()
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
    finite = np.isfinite(slow)
    np.testing.assert_allclose(fast[finite], slow[finite], rtol=0, atol=1e-5)
