"""The max-pooling Numba kernels (``tinydl.kernels.pool``) against their NumPy twins in
``tinydl.ops.pool``: values, winning offsets (ties, NaN) and the scattered gradient."""
import numpy as np
import pytest

import tinydl
import tinydl.nn.functional as F
from tinydl.kernels import pool as kpool
from tinydl.ops import pool as opool
from tinydl.ops.conv import Geometry, output_size


def test_max_pool_kernels_agree_with_numpy_twins():
    rng = np.random.default_rng(5)
    for trial in range(25):
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        p = tuple(int(rng.integers(0, (dd * (kk - 1) + 1) // 2 + 1)) for kk, dd in zip(k, d))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        ceil = bool(rng.integers(0, 2))
        x = rng.standard_normal((2, 3, int(rng.integers(4, 9)), int(rng.integers(4, 9))))
        x = np.round(x, 1).astype(np.float32)  # rounding makes ties common
        if trial % 5 == 0:
            x.flat[rng.integers(0, x.size, 3)] = np.nan
        geom = Geometry(*k, *s, *p, *d)
        out_hw = output_size(x.shape[2], x.shape[3], geom, ceil_mode=ceil)
        case = f"trial {trial}: k={k} s={s} p={p} d={d} ceil={ceil}"
        if min(out_hw) < 1:
            continue
        out_ref, idx_ref = opool.max_pool_offsets(x, geom, out_hw)
        out = np.empty_like(out_ref)
        idx = np.empty(out.shape, np.int16)
        kpool.max_pool_kernel(x.reshape(-1), x.shape, *geom, out.reshape(-1), idx.reshape(-1),
                              *out_hw)
        np.testing.assert_array_equal(out, out_ref, err_msg=case)
        np.testing.assert_array_equal(idx, idx_ref, err_msg=case)
        g = rng.standard_normal(out.shape).astype(np.float32)
        back = np.empty_like(x)
        kpool.max_unpool_kernel(g.reshape(-1), idx.reshape(-1), *geom, back.reshape(-1), x.shape,
                                *out_hw)
        with tinydl.backends.flags(numba=False):
            twin = opool.MaxUnpool2d.apply(tinydl.Tensor(g), geom, x.shape, indices=idx)
        np.testing.assert_allclose(back, twin.data, atol=1e-6, err_msg=case)


@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (1, 2, 7, 9), (3, 1, 2, 3)])
def test_max_pool_2x2_fast_path_agrees_with_numpy_twin(monkeypatch, shape):
    """Plain 2x2/stride-2 pooling takes the fast kernels; ties (rounded data), NaN and odd
    sizes (the last row or column is never read) must give the twin's values, offsets and
    gradient."""
    calls = []
    for name in ("max_pool_2x2_kernel", "max_unpool_2x2_kernel"):
        def spy(*args, _real=getattr(kpool, name), _name=name):
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(kpool, name, spy)
    rng = np.random.default_rng(9)
    x = np.round(rng.standard_normal(shape), 0).astype(np.float32)
    x.flat[rng.integers(0, x.size, 2)] = np.nan
    x[0, 0, :2, :2] = np.nan  # a window of NaNs: the last one wins, as in torch
    results = []
    for numba in (True, False):
        with tinydl.backends.flags(numba=numba):
            xt = tinydl.Tensor(x, requires_grad=True)
            out = F.max_pool2d(xt, 2)
            g = np.arange(out.data.size, dtype=np.float32).reshape(out.shape)
            out.backward(tinydl.Tensor(g))
        results.append((out.data, xt.grad.data))
    assert calls == ["max_pool_2x2_kernel", "max_unpool_2x2_kernel"]
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_general_max_pooling_splits_images_between_threads_with_the_twins_results(monkeypatch):
    """Windows other than plain 2x2 run their kernels on chunks of images that threads share
    (``tinydl.ops.pool._by_images`` through ``tinydl.ops.conv.in_parallel``): every chunk,
    whichever thread takes it, gives the NumPy twin's values and gradient (NaN, -inf, ties,
    ceil mode)."""
    from tinydl import threads

    monkeypatch.setattr(threads, "task_threads", lambda: 2)
    requests = []

    def recording(task, count, work, min_work, _real=opool.in_parallel):
        requests.append((count, work >= min_work))
        return _real(task, count, work, min_work)

    monkeypatch.setattr(opool, "in_parallel", recording)
    rng = np.random.default_rng(11)
    x = np.round(rng.standard_normal((24, 32, 30, 31)), 1).astype(np.float32)
    x.flat[rng.integers(0, x.size, 200)] = np.nan
    x.flat[rng.integers(0, x.size, 200)] = -np.inf
    for k, s, p, d, ceil in [(3, 2, 1, 1, False), (2, 1, 0, 2, True)]:
        results = []
        for numba in (True, False):
            with tinydl.backends.flags(numba=numba):
                xt = tinydl.Tensor(x, requires_grad=True)
                out = F.max_pool2d(xt, k, s, p, dilation=d, ceil_mode=ceil)
                out.backward(tinydl.Tensor(np.arange(out.data.size, dtype=np.float32)
                                           .reshape(out.shape) % 7))
            results.append((out.data, xt.grad.data))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
    # forward and gradient of both geometries, each in several chunks, big enough to share
    assert len(requests) == 4 and all(count >= 2 and shared for count, shared in requests), \
        requests
