"""float16 sums are added in float32 and rounded once, as torch adds them.

NumPy adds float16 in float32 only along the innermost (contiguous) axis; along any other
axis, in a float16 einsum, a float16 window sum or logaddexp.accumulate its running sums are
float16, which stop growing at 2048 for ones (and overflow at 65504). Every case below gave
2048-like or inf values before, where torch gives the exact answer.
"""
import numpy as np
import pytest

import tinydl as td
import tinydl.nn as nn
import tinydl.nn.functional as F

ONES = np.ones((5000, 2), np.float16)
ZEROS = np.zeros((5000, 2), np.float16)


@pytest.mark.parametrize("name, call, want", [
    ("sum axis 0", lambda: td.Tensor(ONES).sum(axis=0), [5000, 5000]),
    ("sum of a (2, 5000, 2) over axes (0, 1)",
     lambda: td.Tensor(np.ones((2, 5000, 2), np.float16)).sum(axis=(0, 1)), [10000, 10000]),
    ("softmax axis 0", lambda: td.softmax(td.Tensor(ZEROS), axis=0)[0], [2e-4, 2e-4]),
    ("log_softmax axis 0", lambda: td.log_softmax(td.Tensor(ZEROS), axis=0)[0],
     [-np.log(5000)] * 2),
    ("logsumexp axis 0", lambda: td.logsumexp(td.Tensor(ZEROS), axis=0), [np.log(5000)] * 2),
    ("2-norm axis 0", lambda: td.norm(td.Tensor(ONES), axis=0), [np.sqrt(5000)] * 2),
    ("1-norm axis 0", lambda: td.norm(td.Tensor(ONES), ord=1, axis=0), [5000, 5000]),
    ("einsum", lambda: td.einsum("ik,kj->ij", td.Tensor(ONES.T.copy()), td.Tensor(ONES)),
     [[5000, 5000], [5000, 5000]]),
    ("tensordot", lambda: td.tensordot(td.Tensor(ONES.T.copy()), td.Tensor(ONES), dims=1),
     [[5000, 5000], [5000, 5000]]),
    ("logcumsumexp", lambda: td.logcumsumexp(td.Tensor(ZEROS[:, 0].copy()), axis=0)[-1],
     np.log(5000)),
    ("avg_pool2d of 2000s", lambda: F.avg_pool2d(
        td.Tensor(np.full((1, 1, 7, 7), 2000.0, np.float16)), 7).reshape(-1), [2000]),
    ("avg_pool2d of 64x64 ones", lambda: F.avg_pool2d(
        td.Tensor(np.ones((1, 1, 64, 64), np.float16)), 64).reshape(-1), [1]),
    ("avg_pool1d", lambda: F.avg_pool1d(
        td.Tensor(np.full((1, 1, 100), 1000.0, np.float16)), 100).reshape(-1), [1000]),
    ("avg_pool3d", lambda: F.avg_pool3d(
        td.Tensor(np.full((1, 1, 5, 5, 5), 1000.0, np.float16)), 5).reshape(-1), [1000]),
    ("embedding_bag mean", lambda: F.embedding_bag(
        td.Tensor(np.zeros(5000, np.int64)), td.Tensor(np.full((2, 3), 3.0, np.float16)),
        td.Tensor(np.array([0])), mode="mean"), [[3, 3, 3]]),
])
def test_float16_sums_are_exact_to_float16_rounding(name, call, want):
    out = call()
    assert out.dtype == np.float16, name
    np.testing.assert_allclose(out.data.astype(np.float64), want, rtol=2e-3, err_msg=name)


def test_float16_bias_gradients_sum_the_batch_in_float32():
    """The gradient of a broadcast float16 bias (Linear, Conv2d, x + b): 2048 for 4096 rows."""
    linear = nn.Linear(4, 3).half()
    linear(td.Tensor(np.ones((4096, 4), np.float16))).sum().backward()
    conv = nn.Conv2d(1, 2, 3).half()
    conv(td.Tensor(np.ones((64, 1, 12, 12), np.float16))).sum().backward()
    b = td.Tensor(np.zeros(2, np.float16), requires_grad=True)
    (td.Tensor(ONES) + b).sum().backward()
    for grad, want in ((linear.bias.grad, 4096), (conv.bias.grad, 6400), (b.grad, 5000)):
        assert grad.dtype == np.float16
        np.testing.assert_allclose(grad.data.astype(np.float64), want, rtol=1e-3)
    x = td.Tensor(np.ones((1, 1, 8, 8), np.float16), requires_grad=True)
    F.avg_pool2d(x, 2).sum().backward()
    assert x.grad.dtype == np.float16 and np.all(x.grad.data == 0.25)


@pytest.mark.parametrize("norm", [
    lambda x, w: F.layer_norm(x, (4,), w, w),
    lambda x, w: F.group_norm(x.reshape(2, 4, 1), 2, w, w),
    lambda x, w: F.instance_norm(x.reshape(2, 4, 1).expand(2, 4, 3), weight=w, bias=w),
])
def test_float16_input_with_float32_parameters_gives_float16_as_torch(norm):
    """torch's one mixed case of its normalisations (CPU): a float16 input with float32
    weight and bias gives float16; layer_norm and group_norm gave float32."""
    x = td.Tensor(np.arange(8.0, dtype=np.float16).reshape(2, 4), requires_grad=True)
    w = td.Tensor(np.full(4, 1.5, np.float32), requires_grad=True)
    out = norm(x, w)
    assert out.dtype == np.float16
    out.sum().backward()
    assert x.grad.dtype == np.float16 and w.grad.dtype == np.float32
