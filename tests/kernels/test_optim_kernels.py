"""The one-pass optimizer kernels (``tinydl.kernels.optim``) against their NumPy twins in
``tinydl.optim.sgd`` and ``tinydl.optim.adam``: bit-for-bit, through the optimizers, in both
float dtypes."""
import numpy as np
import pytest

import tinydl
from tinydl.kernels import optim as koptim
from tinydl.kernels.optim import sgd_momentum_kernel
from tinydl.optim import SGD, Adam, AdamW

STATE = {SGD: ["momentum_buffer"], Adam: ["exp_avg", "exp_avg_sq"],
         AdamW: ["exp_avg", "exp_avg_sq"]}


def _train(numba, dtype, optimizer, steps=5, **options):
    """Parameters and state arrays after ``steps`` steps on fixed gradients."""
    rng = np.random.default_rng(3)
    shapes = [(7, 5), (5,), (), (3, 1, 4), (0, 2)]
    params = [tinydl.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    arrays = [p.data for p in params]
    opt = optimizer(params, lr=0.037, **options)
    with tinydl.backends.flags(numba=numba):
        for step in range(steps):
            for p in params:
                p.grad = tinydl.Tensor(rng.standard_normal(p.shape).astype(dtype) * (step + 1))
            opt.step()
    assert all(p.data is a for p, a in zip(params, arrays))  # updated in place
    return [p.data for p in params] + [opt.state[p][k] for p in params
                                       for k in STATE[optimizer]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer, options", [
    (SGD, {"momentum": 0.9}), (SGD, {"momentum": 0.9, "weight_decay": 0.01}),
    (Adam, {}), (Adam, {"weight_decay": 0.01, "betas": (0.8, 0.99), "eps": 1e-3}),
    (AdamW, {"weight_decay": 0.1})], ids=["sgd", "sgd-wd", "adam", "adam-wd", "adamw"])
def test_optimizer_kernels_match_numpy_twins_exactly(monkeypatch, dtype, optimizer, options):
    calls = []
    for name in ("sgd_momentum_kernel", "adam_kernel"):
        kernel = getattr(koptim, name)
        monkeypatch.setattr(koptim, name, lambda *a, kernel=kernel: calls.append(kernel(*a)))
    fused = _train(True, dtype, optimizer, **options)
    assert calls  # the kernel ran: the comparison below is not twin against twin
    calls.clear()
    twin = _train(False, dtype, optimizer, **options)
    assert not calls
    for ours, theirs in zip(fused, twin):
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, theirs)


def test_sgd_momentum_kernel_is_one_update_in_place():
    rng = np.random.default_rng(0)
    param, grad, buf = (rng.standard_normal(10).astype(np.float32) for _ in range(3))
    want_buf = np.float32(0.5) * buf + grad
    want_param = param - np.float32(0.1) * want_buf
    sgd_momentum_kernel(param, grad, buf, np.float32(0.1), np.float32(0.5))
    np.testing.assert_array_equal(buf, want_buf)
    np.testing.assert_array_equal(param, want_param)


def test_sgd_falls_back_to_numpy_for_other_layouts_and_dtypes():
    # A non-contiguous parameter view and a float16 parameter take the NumPy twin and still
    # update in place.
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    p = tinydl.Tensor(base, requires_grad=True)
    p.data = base[:, ::2]
    half = tinydl.Tensor(np.ones(3, np.float16), requires_grad=True)
    opt = SGD([p, half], lr=0.5, momentum=0.9)
    for _ in range(2):
        p.grad = tinydl.Tensor(np.ones((3, 2), np.float32))
        half.grad = tinydl.Tensor(np.ones(3, np.float16))
        opt.step()
    # buffer: 1, then 1.9; parameter: -0.5, then -0.95 in all
    np.testing.assert_allclose(base[:, ::2], np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
                               - 1.45, rtol=1e-6)
    np.testing.assert_allclose(half.data, np.float16(1 - 1.45), rtol=1e-3)
