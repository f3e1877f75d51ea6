"""The one-pass SGD momentum kernel (``tinydl.kernels.optim``) against its NumPy twin in
``tinydl.optim.sgd``: bit-for-bit, through the optimizer, in both float dtypes."""
import numpy as np
import pytest

import tinydl
from tinydl.kernels.optim import sgd_momentum_kernel
from tinydl.optim import SGD


def _train(numba, dtype, steps=5, **options):
    """Parameters and momentum buffers after ``steps`` SGD steps on fixed gradients."""
    rng = np.random.default_rng(3)
    shapes = [(7, 5), (5,), (), (3, 1, 4)]
    params = [tinydl.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    opt = SGD(params, lr=0.037, momentum=0.9, **options)
    with tinydl.backends.flags(numba=numba):
        for step in range(steps):
            for p in params:
                p.grad = tinydl.Tensor(rng.standard_normal(p.shape).astype(dtype) * (step + 1))
            opt.step()
    return ([p.data for p in params],
            [opt.state[p]["momentum_buffer"] for p in params])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.01}], ids=["plain", "weight decay"])
def test_sgd_momentum_kernel_matches_numpy_twin_exactly(dtype, options):
    fused, twin = _train(True, dtype, **options), _train(False, dtype, **options)
    for ours, theirs in zip(fused[0] + fused[1], twin[0] + twin[1]):
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
