"""Results at extreme inputs, found by a sweep against torch 2.13 (~14,700 calls): each case
was a silent wrong answer (zeros, a NaN, a wrong dtype, a constant where 0 is exact)."""
import numpy as np
import pytest

import tinydl as td
import tinydl.nn as nn
import tinydl.nn.functional as F


def test_float16_normalisation_is_computed_wider():
    # (x - mean)^2 in float16 overflowed past |x - mean| = 256: var inf, output and every
    # gradient 0
    a = np.array([[300.0, -300.0, 0.0, 1.0]], np.float16)
    w = np.array([[1.0, 2.0, 3.0, 4.0]], np.float16)
    x = td.Tensor(a, requires_grad=True)
    y = F.layer_norm(x, (4,))
    (y * td.Tensor(w)).sum().backward()
    assert y.dtype == np.float16 and x.grad.dtype == np.float16
    a64 = a.astype(np.float64)
    xhat = (a64 - a64.mean()) / np.sqrt(a64.var() + 1e-5)
    np.testing.assert_allclose(y.numpy().astype(np.float64), xhat, rtol=2e-3, atol=2e-3)
    assert np.abs(x.grad.numpy()).max() > 1e-3  # all 0 before
    for out in (F.group_norm(td.Tensor(a[None]), 1), F.instance_norm(td.Tensor(a[None])),
                nn.LayerNorm(4).to(td.float16)(td.Tensor(a))):
        assert np.abs(out.numpy().astype(np.float64)).max() > 1.0


@pytest.mark.parametrize("value, width", [(10000.3, 12), (1000.3, 768), (100.3, 768)])
def test_a_constant_row_normalises_to_zero(value, width):
    # a float32 mean 1 ulp off the constant normalised the row to ulp / sqrt(ulp^2 + eps):
    # 0.295 for 12 values of 10000.3 (torch: 0)
    x = td.full((2, width), value)
    np.testing.assert_array_equal(F.layer_norm(x, (width,)).numpy(), 0.0)
    np.testing.assert_array_equal(F.group_norm(x.reshape(2, 4, -1), 2).numpy(), 0.0)


def test_float16_functions_keep_their_dtype_and_stay_finite():
    h = lambda *v: td.Tensor(np.array(v, np.float16), requires_grad=True)  # noqa: E731
    assert td.erf(h(0.5)).dtype == np.float16 and h(0.5).erf().dtype == np.float16
    x = h(1e4, -1e4, 2.0)
    F.gelu(x, approximate="tanh").sum().backward()  # x^3 overflowed: 0 * inf = NaN
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), [1.0, 0.0, 1.0859],
                               rtol=2e-3)
    assert F.hardswish(h(65504.0)).item() == 65504.0  # x * 6 overflowed to inf


def test_std_of_tiny_values_is_not_zero():
    # the squares underflowed float32: std 0 and gradient 0 for data at 1e-30
    x = td.Tensor(np.array([1.0, -1.0, 0.0], np.float32) * 1e-30, requires_grad=True)
    y = td.std(x)
    y.backward()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.item(), np.sqrt(2 / 3) * 1e-30, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.408248, -0.408248, 0.0], rtol=1e-5)
    c = td.ones(4, requires_grad=True)  # a constant slice: still 0, gradient 0
    td.std(c).backward()
    np.testing.assert_array_equal(c.grad.numpy(), 0.0)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the norm is inf: expected
def test_cosine_similarity_of_an_overflowing_norm_is_not_nan():
    out = F.cosine_similarity(td.Tensor([[3e38, 3e38]]), td.Tensor([[3e38, 1.0]]))
    assert np.isfinite(out.numpy()).all()  # inf - inf in the eps clamp gave NaN (torch: 0)


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("values, expected", [
    ([1e200, 1e200], 1e200 / 2 ** 0.5), ([1e-200, 1e-200], 1e-200 / 2 ** 0.5),
    ([1e-200, 1e200], 1e-200), ([0.0, 5.0], 0.0), ([3.0, 4.0], 2.4)])
def test_a_negative_order_norm_is_rescaled_where_its_powers_leave_the_range(values, expected):
    """|x|^-2 of 1e200 underflowed: the norm was inf (torch too) and its gradient inf (torch
    NaN); of 1e-200 it overflowed: the norm was 0. The positive orders were rescaled already."""
    x = td.Tensor(np.array(values), requires_grad=True)
    y = td.linalg.vector_norm(x, -2)
    np.testing.assert_allclose(y.item(), expected, rtol=1e-14)
    y.backward()
    assert np.isfinite(x.grad.data).all()
    if values[0] == values[1]:
        np.testing.assert_allclose(x.grad.data, [2 ** -1.5, 2 ** -1.5], rtol=1e-14)
