"""nn.ConvTranspose3d against torch's module holding the same parameters (float64 forward and
gradients, output_size), its parameters, init and repr, and F.conv_transpose3d's errors.
The function's forward, gradients and gradcheck are rows of tests/ops/test_functional.py."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

torch = pytest.importorskip("torch")


def _pair(*args, **kw):
    ours = nn.ConvTranspose3d(*args, dtype=np.float64, **kw)
    theirs = torch.nn.ConvTranspose3d(*args, dtype=torch.float64, **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        if ours.bias is not None:
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    return ours, theirs


@pytest.mark.parametrize("args,kw,x_shape,output_size", [
    ((3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 3, 2, 2), None),
    ((4, 2, (2, 3, 1)), dict(groups=2, bias=False, dilation=(1, 2, 1)), (4, 2, 3, 2), None),
    ((2, 3, 2), dict(stride=(2, 3, 1)), (1, 2, 2, 3, 2), (5, 8, 3)),
    ((2, 3, 2), dict(stride=2, padding=1), (2, 2, 2, 2), (3, 3, 2, 3)),  # unbatched
])
def test_conv_transpose3d_module_matches_torch(args, kw, x_shape, output_size):
    ours, theirs = _pair(*args, **kw)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.weight.shape == tuple(theirs.weight.shape)
    x = np.random.default_rng(0).standard_normal(x_shape)
    tx, px = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(tx, output_size=output_size), theirs(px, output_size=output_size)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tinydl.Tensor(g))
    tout.backward(torch.tensor(g))
    pairs = [(tx, px)] + list(zip(ours.parameters(), theirs.parameters()))
    for a, b in pairs:
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=1e-11)


def test_conv_transpose3d_init_dtype_and_repr():
    layer = nn.ConvTranspose3d(6, 4, (1, 2, 3), groups=2)
    assert layer.weight.shape == (6, 2, 1, 2, 3) and layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(2 * 1 * 2 * 3)  # fan_in from the weight: out/groups * kernel volume
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound  # uniform over the whole range
    assert layer(tinydl.Tensor(np.ones((1, 6, 2, 2, 2), np.float32))).dtype == np.float32
    text = repr(layer)
    assert text.startswith("ConvTranspose3d(6, 4, kernel_size=(1, 2, 3)") and "groups=2" in text


def test_conv_transpose3d_errors_where_torch_raises():
    with pytest.raises(ValueError, match="ConvTranspose3d.*padding_mode"):
        nn.ConvTranspose3d(2, 2, 2, padding_mode="reflect")
    with pytest.raises(ValueError, match="ConvTranspose3d: output_padding"):
        nn.ConvTranspose3d(2, 2, 2, stride=2, output_padding=2)
    layer = nn.ConvTranspose3d(2, 3, 3, stride=2, dtype=np.float64)
    x = tinydl.Tensor(np.zeros((1, 2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"ConvTranspose3d: requested an output size of "
                                         r"\(6, 7, 7\).*\(7, 7, 7\) to \(8, 8, 8\)"):
        layer(x, output_size=(6, 7, 7))
    with pytest.raises(ValueError, match="output_size must have 3 or 5 elements"):
        layer(x, output_size=(7, 7))
    w = tinydl.Tensor(np.zeros((2, 3, 2, 2, 2)))
    with pytest.raises(ValueError, match="conv_transpose3d: input of shape"):
        F.conv_transpose3d(tinydl.Tensor(np.zeros((1, 3, 2, 2, 2))), w)
    with pytest.raises(ValueError, match="conv_transpose3d: weight must have shape"):
        F.conv_transpose3d(x, tinydl.Tensor(np.zeros((2, 3, 2, 2))))
    with pytest.raises(ValueError, match="conv_transpose3d: bias must have shape"):
        F.conv_transpose3d(x, w, tinydl.Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="conv_transpose3d: output_padding"):
        F.conv_transpose3d(x, w, stride=2, output_padding=(0, 2, 0))
    with pytest.raises(ValueError, match="conv_transpose3d: the output size"):
        F.conv_transpose3d(x, w, padding=(3, 0, 0))
    with pytest.raises(TypeError, match="conv_transpose3d: input of dtype float32"):
        F.conv_transpose3d(tinydl.Tensor(np.zeros((1, 2, 3, 3, 3), np.float32)), w)
    for bad in ((1, 3, 2, 2, 2), (1, 2, 3, 3, 3)):  # torch raises on both as well
        with pytest.raises(RuntimeError):
            torch.nn.functional.conv_transpose3d(torch.zeros(bad[:2] + (3, 3, 3)),
                                                 torch.zeros((2, 3, 2, 2, 2)),
                                                 padding=(3, 0, 0) if bad[1] == 2 else 0)
