"""Every layer: output against a reference, gradcheck in float64, torch-style defaults."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F


def T(a, grad=False):
    return tinydl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def check_module(module, x):
    """gradcheck with respect to the input and every parameter of a float64 module."""
    module.double()
    params = list(module.parameters())
    return tinydl.gradcheck(lambda inp, *ps: module(inp), (x,) + tuple(params))


LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), (2, 4)),
    "Linear_nobias_3d": (lambda: nn.Linear(4, 3, bias=False), (2, 2, 4)),
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1, stride=2), (2, 2, 6)),
    "Conv2d": (lambda: nn.Conv2d(2, 2, 3, padding=1, dilation=(1, 2)), (1, 2, 4, 5)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1), (1, 2, 3, 3)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    "LayerNorm": (lambda: nn.LayerNorm((3, 2)), (2, 3, 2)),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 3)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (1, 2, 4, 4)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, 2, 1), (1, 2, 5, 5)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 4)),
    "Flatten": (lambda: nn.Flatten(), (2, 2, 3)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), (1, 2, 2, 3)),
    "Upsample_size": (lambda: nn.Upsample(size=(3, 5)), (1, 1, 2, 3)),
    "ReLU": (lambda: nn.ReLU(), (3, 4)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (3, 4)),
    "ELU": (lambda: nn.ELU(), (3, 4)),
    "GELU": (lambda: nn.GELU(), (3, 4)),
    "GELU_tanh": (lambda: nn.GELU("tanh"), (3, 4)),
    "Softplus": (lambda: nn.Softplus(beta=2.0), (3, 4)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3, 4)),
    "Tanh": (lambda: nn.Tanh(), (3, 4)),
    "SiLU": (lambda: nn.SiLU(), (3, 4)),
    "Softmax": (lambda: nn.Softmax(axis=0), (3, 4)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), (3, 4)),
    "Bilinear": (lambda: nn.Bilinear(4, 4, 2), (3, 4)),
    "MLP": (lambda: nn.MLP([4, 5, 2], activation="tanh"), (3, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck(name):
    tinydl.manual_seed(0)
    make, shape = LAYERS[name]
    module = make()
    # Shift away from 0 so ReLU-type kinks and pooling ties are never hit by finite differences.
    x = np.random.default_rng(1).permutation(np.prod(shape)).reshape(shape) / 7.0 + 0.05
    if name == "Bilinear":
        module.double()
        other = T(np.random.default_rng(2).standard_normal(shape))
        assert tinydl.gradcheck(lambda a, *ps: module(a, other), (T(x, True),) + tuple(module.parameters()))
        return
    assert check_module(module, T(x - x.mean(), True)), name


def test_batchnorm_eval_gradcheck_and_dropout_gradcheck():
    bn = nn.BatchNorm2d(2).double()
    bn(T(np.random.default_rng(0).standard_normal((4, 2, 3, 3))))
    bn.eval()
    assert check_module(bn, T(np.random.default_rng(1).standard_normal((2, 2, 2, 2)), True))
    drop = nn.Dropout(0.3)

    def fn(x):
        tinydl.manual_seed(3)  # the same mask in every evaluation
        return drop(x)

    assert tinydl.gradcheck(fn, (T(np.ones((4, 5)), True),))


def test_embedding_gradcheck_and_padding_idx():
    tinydl.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=1).double()
    np.testing.assert_array_equal(emb.weight.data[1], 0)
    # gradcheck without the padding index (whose gradient is cut on purpose, as in torch)
    assert tinydl.gradcheck(lambda w: F.embedding(np.array([[0, 2], [4, 4]]), w) ** 2,
                            (emb.weight,))
    idx = np.array([[0, 1, 4], [1, 4, 4]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[1], 0)  # padding row: no gradient
    np.testing.assert_array_equal(emb.weight.grad.data[4], 3)  # picked three times
    with pytest.raises(ValueError, match="embedding"):
        emb(np.array([5]))


@pytest.mark.parametrize("padding_idx", [-1, 5, -6, 0])
def test_functional_embedding_padding_idx_counts_from_the_end_as_torch(padding_idx):
    """F.embedding's padding_idx -1 is the last row (it left that row's gradient on), as the
    module and torch read it; out of range is an error."""
    weight = T(np.arange(18.0).reshape(6, 3), True)
    idx = np.array([[0, 2, 2, 5], [1, 0, 0, 3]])
    F.embedding(idx, weight, padding_idx=padding_idx).sum().backward()
    counts = np.bincount(idx.ravel(), minlength=6).astype(float)
    counts[padding_idx % 6] = 0
    np.testing.assert_array_equal(weight.grad.data, np.repeat(counts[:, None], 3, axis=1))
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(idx, weight, padding_idx=6)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(idx, weight, padding_idx=-7)


def test_linear_matches_numpy_and_default_init_bounds():
    tinydl.manual_seed(0)
    layer = nn.Linear(50, 20)
    bound = 1 / np.sqrt(50)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (20, 50)
    assert np.abs(layer.weight.data).max() <= bound < np.abs(layer.weight.data).max() * 1.1
    assert np.abs(layer.bias.data).max() <= bound
    x = np.random.default_rng(0).standard_normal((3, 50)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)


@pytest.mark.parametrize("rows", [15, 16, 40, 64, 65])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward_on_both_product_routes(rows, dtype):
    """16-64 float32 rows against a weight of at least 96 x 256 take the transposed product
    (ops.linear._x_wt): the same values as x @ W^T + b, C-contiguous as torch's, and a
    gradient that a later view() accepts."""
    rng = np.random.default_rng(rows)
    x, w, b = (tinydl.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
               for shape in ((rows, 300), (100, 300), (100,)))
    y = F.linear(x, w, b)
    expected = x.data.astype(np.float64) @ w.data.T.astype(np.float64) + b.data
    assert y.dtype == dtype and y.data.flags.c_contiguous
    np.testing.assert_allclose(y.data, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)
    y.view(rows * 100).sum().backward()
    # Against the float64 sum, with an absolute tolerance: a column of x can sum to near 0, and
    # the GEMM's float32 summation order (which the BLAS thread count changes) then matters.
    np.testing.assert_allclose(w.grad.data, np.broadcast_to(x.data.sum(0, dtype=np.float64),
                                                            (100, 300)),
                               rtol=1e-4, atol=2e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(4, 8, 300), (2, 3, 5, 300), (300,), (0, 8, 300),
                                   (40, 300)])
def test_linear_runs_stacked_input_as_one_product_of_its_rows(shape):
    """(..., in) input and (..., out) gradients take one product over all their rows
    (ops._util.matmul_arrays; NumPy's matmul ran a stack as one BLAS call per matrix, 2x
    the time): the same bits as the flattened rows' result, for contiguous and strided input."""
    rng = np.random.default_rng(7)
    w = tinydl.Tensor(rng.standard_normal((100, 300)).astype(np.float32), requires_grad=True)
    b = tinydl.Tensor(rng.standard_normal(100).astype(np.float32))
    data = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(np.float32)[..., ::2]
    for array in (np.ascontiguousarray(data), data):  # the second: every other column
        x = tinydl.Tensor(array, requires_grad=True)
        y = F.linear(x, w, b)
        flat = F.linear(tinydl.Tensor(array.reshape(-1, shape[-1])), w, b).data
        assert y.shape == shape[:-1] + (100,) and y.data.flags.c_contiguous
        np.testing.assert_array_equal(y.data, flat.reshape(y.shape))
        g = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(tinydl.Tensor(g))
        np.testing.assert_array_equal(x.grad.data, (g.reshape(-1, 100) @ w.data).reshape(shape))
        w.grad = None


def test_linear_second_derivative():
    tinydl.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    x = T(np.random.default_rng(0).standard_normal((4, 3)), True)
    assert tinydl.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, layer.weight, layer.bias))


def test_linear_second_derivative_of_a_batch_of_sequences():
    """(N, L, in) input: ops.linear's gradient nodes flatten the rows and undo it."""
    rng = np.random.default_rng(1)
    x, w, b = (T(rng.standard_normal(shape), True) for shape in ((2, 3, 4), (5, 4), (5,)))
    assert tinydl.gradgradcheck(lambda x, w, b: F.linear(x, w, b) * F.linear(x, w, b), (x, w, b))


@pytest.mark.parametrize("shape", [(1, 4), (1, 1, 4), (4,)])
def test_linear_of_one_row_gradcheck_and_weight_gradient(shape):
    """One row (a batch of one, a 1-D input, (1, 1, in)): the weight gradient is the outer
    product g^T x (ops.linear's shortcut for one row); first and second order gradcheck."""
    rng = np.random.default_rng(4)
    x, w, b = (T(rng.standard_normal(s), True) for s in (shape, (3, 4), (3,)))
    g = rng.standard_normal(shape[:-1] + (3,))
    F.linear(x, w, b).backward(T(g))
    np.testing.assert_array_equal(w.grad.data, g.reshape(3, 1) * x.data.reshape(1, 4))
    assert w.grad.data.flags.c_contiguous
    assert tinydl.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    assert tinydl.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))
    x32, w32 = (tinydl.Tensor(a.data.astype(np.float32), requires_grad=True) for a in (x, w))
    F.linear(x32, w32).sum().backward()
    assert w32.grad.dtype == np.float32


def test_batchnorm_running_stats_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for momentum in (0.1, None):
        ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
        for step in range(3):
            x = rng.standard_normal((4, 3, 2, 5)).astype(np.float32) * (step + 1) + step
            out = ours(x)
            ref = theirs(torch.tensor(x))
            np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), atol=1e-6)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), atol=1e-5)
        assert int(ours.num_batches_tracked.data) == 3
        ours.eval(), theirs.eval()
        x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_then_inplace_relu_trains_as_torch(affine):
    """BatchNorm's backward reads neither its output nor a view of it (as torch's), so
    ReLU(inplace=True) on that output is allowed and changes no gradient."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 5))
    grads = []
    for lib in (tinydl, torch):
        bn = lib.nn.BatchNorm2d(3, affine=affine).double()
        xt = lib.tensor(x, requires_grad=True)
        out = lib.nn.ReLU(inplace=True)(bn(xt))
        (out * lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape))
         ).sum().backward()
        grads.append([np.asarray(xt.grad.detach().numpy() if lib is torch else xt.grad.data)]
                     + [np.asarray(p.grad.numpy() if lib is torch else p.grad.data)
                        for p in bn.parameters()])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_float16_batchnorm_sums_wide_as_torch():
    """16,384 values of about 200 per channel sum to 3e6, past float16's 65,504: the
    statistics and the gradient sums are taken in float32, as torch does."""
    torch = pytest.importorskip("torch")
    x = (np.random.default_rng(3).standard_normal((256, 4, 8, 8)) * 30 + 200).astype(np.float16)
    ours, theirs = nn.BatchNorm2d(4).to(tinydl.float16), torch.nn.BatchNorm2d(4).half()
    xt, xx = tinydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xt), theirs(xx)
    c = (np.random.default_rng(4).standard_normal(x.shape) * 0.01).astype(np.float16)
    (out * tinydl.tensor(c)).sum().backward()
    (ref * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(out.data.astype(np.float64), ref.detach().double().numpy(),
                               atol=2e-2)
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-3)
    assert np.isfinite(xt.grad.data).all() and np.isfinite(ours.weight.grad.data).all()
    np.testing.assert_allclose(ours.weight.grad.data.astype(np.float64),
                               theirs.weight.grad.double().numpy(), rtol=1e-2)


def test_batch_norm_output_dtype_follows_promotion_of_its_inputs():
    """float32 input with a float64 scale or shift gives float64 (as x * w + b would), each
    gradient in its own input's dtype; a float64 bias must not be added into float32."""
    x = tinydl.tensor(np.random.default_rng(5).standard_normal((4, 3, 2)).astype(np.float32),
                      requires_grad=True)
    for w_dtype, b_dtype, want in [(None, np.float64, np.float64), (np.float64, None, np.float64),
                                   (np.float32, np.float64, np.float64),
                                   (np.float32, np.float32, np.float32)]:
        w = None if w_dtype is None else tinydl.tensor(np.ones(3, w_dtype), requires_grad=True)
        b = None if b_dtype is None else tinydl.tensor(np.ones(3, b_dtype), requires_grad=True)
        out = F.batch_norm(x, None, None, w, b, training=True)
        assert out.dtype == want, (w_dtype, b_dtype, out.dtype)
        out.sum().backward()
        assert x.grad.dtype == np.float32
        for p, dtype in ((w, w_dtype), (b, b_dtype)):
            assert p is None or p.grad.dtype == dtype
        x.grad = None


def test_batchnorm_first_and_create_graph_gradients_agree():
    """The normalisations' op has two backwards: NumPy for a first-order pass, tinydl ops under
    create_graph. They must give the same gradients (the second is also differentiated)."""
    rng = np.random.default_rng(2)
    x = tinydl.tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)
    w = tinydl.tensor(rng.standard_normal(3), requires_grad=True)
    b = tinydl.tensor(rng.standard_normal(3), requires_grad=True)
    g = tinydl.tensor(rng.standard_normal((5, 3, 4)))
    out = F.batch_norm(x, None, None, w, b, training=True)
    first = tinydl.autograd.grad(out, (x, w, b), g, retain_graph=True)
    second = tinydl.autograd.grad(out, (x, w, b), g, create_graph=True)
    assert all(s.requires_grad for s in second[:2])
    for a, c, name in zip(first, second, "xwb"):
        np.testing.assert_allclose(a.data, c.data, rtol=1e-12, atol=1e-12, err_msg=name)


def test_batchnorm_formula_and_errors():
    x = np.random.default_rng(0).standard_normal((6, 3))
    bn = nn.BatchNorm1d(3).double()
    out = bn(T(x)).data
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), atol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(0, ddof=1))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(T(x[:1]))
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(T(x[:, :2]))
    with pytest.raises(ValueError, match="BatchNorm2d: expected input"):
        nn.BatchNorm2d(3)(T(x))


@pytest.mark.parametrize("name, shape", [("BatchNorm1d", (0, 3)), ("BatchNorm1d", (2, 3, 0)),
                                         ("BatchNorm2d", (0, 3, 2, 2)),
                                         ("BatchNorm3d", (0, 3, 2, 2, 2))])
def test_batch_norm_of_an_empty_batch_is_empty_and_leaves_the_running_statistics(name, shape):
    """torch returns an empty output for an empty batch in training (its buffers unchanged,
    the batch counted); tinydl raised its 'more than 1 value per channel' error."""
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(3), getattr(torch.nn, name)(3)
    xd, xt = tinydl.zeros(*shape, requires_grad=True), torch.zeros(shape, requires_grad=True)
    out, ref = ours(xd), theirs(xt)
    out.sum().backward()
    ref.sum().backward()
    assert out.shape == tuple(ref.shape) and xd.grad.shape == tuple(xt.grad.shape)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].data, value.numpy(), err_msg=key)
    np.testing.assert_array_equal(ours.weight.grad.data, theirs.weight.grad.numpy())


def test_batch_norm_refuses_what_torch_refuses_instead_of_a_silent_or_nan_result():
    """A running_mean without running_var was silently not updated; eps <= 0 in training
    gave NaN on a constant channel (torch raises for both)."""
    x = T(np.random.default_rng(0).standard_normal((4, 3)))
    rm = T(np.zeros(3))
    for call in (lambda: F.batch_norm(x, rm, None, training=True),
                 lambda: F.instance_norm(x.reshape(4, 3, 1).expand(4, 3, 2), None, rm)):
        with pytest.raises(ValueError, match="running_mean and running_var must either both "
                                             "be None or neither"):
            call()
    for eps in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"batch_norm: eps must be positive during "
                                             f"training, got {eps}"):
            nn.BatchNorm1d(3, eps=eps).double()(T(np.ones((3, 3))))
    bn = nn.BatchNorm1d(3, eps=0.0).double().eval()
    assert np.isfinite(bn(x).data).all()  # with running statistics eps = 0 is fine


def test_layer_instance_group_norm_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
    pairs = [(nn.LayerNorm((3, 3)), torch.nn.LayerNorm((3, 3))),
             (nn.InstanceNorm2d(4, affine=True), torch.nn.InstanceNorm2d(4, affine=True)),
             (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4))]
    for ours, theirs in pairs:
        theirs.double()
        np.testing.assert_allclose(ours.double()(T(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-10)
    for momentum in (0.1, None):  # None: torch keeps the running statistics as they are
        ours = nn.InstanceNorm2d(4, momentum=momentum, track_running_stats=True).double()
        theirs = torch.nn.InstanceNorm2d(4, momentum=momentum, track_running_stats=True).double()
        for _ in range(2):
            ours(T(x + 3)), theirs(torch.tensor(x + 3))
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[name].data, value.numpy(), atol=1e-12,
                                       err_msg=f"{name}, momentum={momentum}")
        ours.eval(), theirs.eval()
        np.testing.assert_allclose(ours(T(x)).data, theirs(torch.tensor(x)).numpy(), atol=1e-10)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 5)), ("InstanceNorm2d", (2, 3, 3))])
def test_instance_norm_takes_one_unbatched_sample_as_torch(cls, shape):
    """(C, L) and (C, H, W) raised "expected input of shape (N, C, L)"; torch takes them."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal(shape)
    ours = getattr(nn, cls)(shape[0], affine=True, track_running_stats=True).double()
    theirs = getattr(torch.nn, cls)(shape[0], affine=True, track_running_stats=True).double()
    xo, xt = T(x, grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.shape == shape
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), atol=1e-12)


def test_dropout_seeded_scaled_and_identity_in_eval():
    drop = nn.Dropout(0.25)
    x = tinydl.ones(200, 100)
    tinydl.manual_seed(7)
    a = drop(x).data
    tinydl.manual_seed(7)
    b = drop(x).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert a.dtype == np.float32
    drop.eval()
    assert drop(x) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


def test_upsample_and_interpolate_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    for kw in (dict(scale_factor=2), dict(scale_factor=(1.5, 2.5)), dict(size=(5, 7)),
               dict(size=(2, 3))):
        ours = F.interpolate(T(x), **kw)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), mode="nearest", **kw)
        np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=str(kw))
    with pytest.raises(ValueError, match="nearest"):
        nn.Upsample(scale_factor=2, mode="box")


def test_flatten_unflatten_identity_and_mlp_structure():
    x = tinydl.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(7)(x) is x
    mlp = nn.MLP([784, 256, 128, 10])
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert list(mlp.state_dict())[:2] == ["0.weight", "0.bias"]
    mlp2 = nn.MLP([4, 8, 2], activation=nn.Tanh, dropout=0.5, batch_norm=True,
                  output_activation="sigmoid")
    assert [type(m).__name__ for m in mlp2] == ["Linear", "BatchNorm1d", "Tanh", "Dropout",
                                                  "Linear", "Sigmoid"]
    with pytest.raises(ValueError, match="activation"):
        nn.MLP([2, 2, 2], activation="swoosh")


def test_activation_modules_use_core_ops():
    x = T(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, np.where(x.data > 0, x.data, 0.1 * x.data))
    np.testing.assert_allclose(nn.Softmax()(x).data.sum(), 1.0)
    np.testing.assert_allclose(nn.LogSigmoid()(x).data, -np.log1p(np.exp(-x.data)))


# ----------------------------------------------------------------------------- torch's activations
# name -> (tinydl layer, the torch layer of the same arguments, input shape)
ACTIVATION_LAYERS = {
    "ReLU6": (lambda: nn.ReLU6(), lambda tn: tn.ReLU6(), (3, 4)),
    "Hardtanh": (lambda: nn.Hardtanh(), lambda tn: tn.Hardtanh(), (3, 4)),
    "Hardtanh_bounds": (lambda: nn.Hardtanh(-2.0, 3.0), lambda tn: tn.Hardtanh(-2.0, 3.0), (3, 4)),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), lambda tn: tn.Hardsigmoid(), (3, 4)),
    "Hardswish": (lambda: nn.Hardswish(), lambda tn: tn.Hardswish(), (3, 4)),
    "SELU": (lambda: nn.SELU(), lambda tn: tn.SELU(), (3, 4)),
    "CELU": (lambda: nn.CELU(), lambda tn: tn.CELU(), (3, 4)),
    "CELU_alpha": (lambda: nn.CELU(alpha=0.5), lambda tn: tn.CELU(alpha=0.5), (3, 4)),
    "SiLU": (lambda: nn.SiLU(), lambda tn: tn.SiLU(), (3, 4)),
    "Mish": (lambda: nn.Mish(), lambda tn: tn.Mish(), (3, 4)),
    "Softsign": (lambda: nn.Softsign(), lambda tn: tn.Softsign(), (3, 4)),
    "Tanhshrink": (lambda: nn.Tanhshrink(), lambda tn: tn.Tanhshrink(), (3, 4)),
    "Softmin": (lambda: nn.Softmin(dim=1), lambda tn: tn.Softmin(dim=1), (2, 3, 4)),
    "GLU": (lambda: nn.GLU(), lambda tn: tn.GLU(), (3, 4)),
    "GLU_dim": (lambda: nn.GLU(dim=1), lambda tn: tn.GLU(dim=1), (2, 4, 3)),
    "LogSigmoid": (lambda: nn.LogSigmoid(), lambda tn: tn.LogSigmoid(), (3, 4)),
    "PReLU": (lambda: nn.PReLU(), lambda tn: tn.PReLU(), (2, 3, 4)),
    "PReLU_channels": (lambda: nn.PReLU(3, init=-0.1), lambda tn: tn.PReLU(3, init=-0.1),
                       (2, 3, 2, 2)),
}


def _off_the_kinks(shape, seed=0):
    """Values in [-7, 7], none within 0.05 of a multiple of 0.5 (every kink above is one)."""
    x = np.random.default_rng(seed).uniform(-7, 7, shape)
    near = np.abs(x - np.round(x * 2) / 2) < 0.05
    return np.where(near, x + 0.1, x)


@pytest.mark.parametrize("name", sorted(ACTIVATION_LAYERS))
def test_torch_activation_layers_match_torch_and_gradcheck(name):
    torch = pytest.importorskip("torch")
    make, make_torch, shape = ACTIVATION_LAYERS[name]
    layer, torch_layer = make().double(), make_torch(torch.nn).double()
    x = _off_the_kinks(shape)
    ours = layer(T(x, True))
    theirs = torch_layer(torch.tensor(x, requires_grad=True))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-15,
                               err_msg=name)
    params = list(layer.parameters())
    torch_params = list(torch_layer.parameters())
    weights = np.random.default_rng(1).standard_normal(ours.shape)
    inp = T(x, True)
    torch_inp = torch.tensor(x, requires_grad=True)
    ours_grads = tinydl.grad((layer(inp) * T(weights)).sum(), [inp] + params)
    theirs_grads = torch.autograd.grad((torch_layer(torch_inp) * torch.tensor(weights)).sum(),
                                       [torch_inp] + torch_params)
    for g, tg in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)
    assert check_module(layer, T(x, True)), name


def test_torch_activation_layers_defaults_and_repr_as_torch():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    pairs = [(nn.ReLU6(), tn.ReLU6()), (nn.ReLU6(inplace=True), tn.ReLU6(inplace=True)),
             (nn.Hardtanh(), tn.Hardtanh()),
             (nn.Hardtanh(-2.0, 3.0, True), tn.Hardtanh(-2.0, 3.0, True)),
             (nn.Hardsigmoid(), tn.Hardsigmoid()), (nn.Hardswish(True), tn.Hardswish(True)),
             (nn.SELU(), tn.SELU()), (nn.SELU(inplace=True), tn.SELU(inplace=True)),
             (nn.CELU(), tn.CELU()), (nn.CELU(0.5, True), tn.CELU(0.5, True)),
             (nn.SiLU(), tn.SiLU()), (nn.SiLU(True), tn.SiLU(True)), (nn.Mish(), tn.Mish()),
             (nn.Softsign(), tn.Softsign()), (nn.Tanhshrink(), tn.Tanhshrink()),
             (nn.Softmin(1), tn.Softmin(1)), (nn.GLU(), tn.GLU()), (nn.GLU(1), tn.GLU(1)),
             (nn.LogSigmoid(), tn.LogSigmoid()), (nn.PReLU(), tn.PReLU()),
             (nn.PReLU(4, 0.1), tn.PReLU(4, 0.1))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
    assert (nn.Hardtanh().min_val, nn.Hardtanh().max_val) == (-1.0, 1.0)
    assert nn.CELU().alpha == 1.0 and nn.GLU().dim == -1
    prelu = nn.PReLU()
    assert prelu.weight.shape == (1,) and prelu.weight.dtype == np.float32
    np.testing.assert_array_equal(prelu.weight.data, [0.25])
    assert list(prelu.state_dict()) == ["weight"]
    prelu.weight.data[...] = 3.0
    prelu.reset_parameters()
    np.testing.assert_array_equal(prelu.weight.data, [0.25])
    with pytest.raises(ValueError, match="num_parameters"):
        nn.PReLU(0)
    with pytest.raises(ValueError, match="min_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(TypeError, match="PReLU: input of dtype float64"):
        nn.PReLU()(T(np.ones(3)))


def test_inplace_relu_leaky_relu_elu_dropout_write_into_the_input_as_torch():
    """inplace=True was accepted and ignored by these four: the input kept its values."""
    torch = pytest.importorskip("torch")
    makers = [lambda m: m.ReLU(inplace=True), lambda m: m.LeakyReLU(0.1, True),
              lambda m: m.ELU(0.5, True)]
    x0 = np.array([-1.0, 2.0, -0.5])
    for make in makers:
        x, tx = T(x0.copy()), torch.tensor(x0.copy())
        ours, theirs = make(nn), make(torch.nn)
        assert repr(ours) == repr(theirs)
        assert ours(x) is x
        theirs(tx)
        np.testing.assert_allclose(x.data, tx.numpy(), rtol=1e-12)
        # inside a graph: recorded, and the gradient is the activation's
        a = T(x0.copy(), True)
        out = make(nn)(a * 2)
        out.sum().backward()
        ta = torch.tensor(x0.copy(), requires_grad=True)
        make(torch.nn)(ta * 2).sum().backward()
        np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-12)
    x = tinydl.ones(1000)
    tinydl.manual_seed(3)
    drop = nn.Dropout(0.5, inplace=True)
    assert drop(x) is x and set(np.unique(x.data)) == {0.0, 2.0}
    assert repr(drop) == repr(torch.nn.Dropout(0.5, inplace=True))
    drop.eval()
    y = tinydl.ones(3)
    assert drop(y) is y and (y.data == 1).all()


def test_constructor_positional_arguments_land_where_torch_puts_them():
    """MaxPool1d's 5th is return_indices (ceil_mode was taken for it); MultiheadAttention's
    5th is add_bias_kv (batch_first was)."""
    torch = pytest.importorskip("torch")
    x = np.array([[[1.0, 5.0, 2.0, 7.0, 3.0]]])
    ours = nn.MaxPool1d(2, 2, 0, 1, True)(T(x))
    theirs = torch.nn.MaxPool1d(2, 2, 0, 1, True)(torch.tensor(x))
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.data, b.numpy())
    values, idx = F.max_pool1d(T(x), 2, return_indices=True)
    np.testing.assert_array_equal(idx.data, [[[1, 3]]])
    assert nn.MultiheadAttention(4, 2, 0.0, True, False, False, None, None, True).batch_first
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(4, 2, 0.0, True, True)
    with pytest.raises(tinydl.DeviceError):
        nn.MultiheadAttention(4, 2, device="cuda")


def test_prelu_learns_its_slope_and_new_activations_build_mlps():
    tinydl.manual_seed(0)
    prelu = nn.PReLU(2)
    x = tinydl.Tensor(np.array([[-2.0, 1.0], [-1.0, -3.0]], np.float32))
    prelu(x).sum().backward()
    np.testing.assert_allclose(prelu.weight.grad.data, [-3.0, -3.0])
    for name in ("relu6", "hardswish", "selu", "celu", "mish", "prelu", "softsign"):
        mlp = nn.MLP([4, 5, 2], activation=name)
        assert mlp(tinydl.randn(3, 4)).shape == (3, 2), name


# -------------------------------------------------------- Identity, Unflatten, GroupNorm vs torch
def test_identity_unflatten_groupnorm_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 12, 5))
    for args in [(1, (3, 4)), (-1, (5, 1)), (1, (2, -1)), (-2, [6, 2])]:
        ours, theirs = nn.Unflatten(*args), torch.nn.Unflatten(*args)
        out = ours(T(x))
        ref = theirs(torch.tensor(x))
        assert out.shape == tuple(ref.shape)
        np.testing.assert_array_equal(out.data, ref.numpy())
    xt = T(x, True)
    nn.Unflatten(1, (3, 4))(xt).sum().backward()
    np.testing.assert_array_equal(xt.grad.data, np.ones_like(x))
    assert nn.Identity(3, k=4)(xt) is xt and torch.nn.Identity(3, k=4) is not None
    assert not list(nn.Identity().parameters())
    for kw in [dict(num_groups=3, num_channels=12),
               dict(num_groups=4, num_channels=12, eps=1e-3),
               dict(num_groups=2, num_channels=12, affine=False),
               dict(num_groups=12, num_channels=12)]:
        ours, theirs = nn.GroupNorm(**kw).double(), torch.nn.GroupNorm(**kw).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        if ours.affine:
            w, b = rng.standard_normal(12), rng.standard_normal(12)
            ours.load_state_dict({"weight": w, "bias": b})
            theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
        for shape in [(2, 12, 5), (2, 12, 3, 4), (3, 12)]:
            xv = rng.standard_normal(shape)
            xo, xr = T(xv, True), torch.tensor(xv, requires_grad=True)
            out, ref = ours(xo), theirs(xr)
            np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-10)
            g = rng.standard_normal(shape)
            (out * T(g)).sum().backward()
            (ref * torch.tensor(g)).sum().backward()
            np.testing.assert_allclose(xo.grad.data, xr.grad.numpy(), atol=1e-10)
        x32 = rng.standard_normal((2, 12, 3)).astype(np.float32)
        ours32, theirs32 = nn.GroupNorm(**kw), torch.nn.GroupNorm(**kw)
        np.testing.assert_allclose(ours32(x32).data, theirs32(torch.tensor(x32)).detach().numpy(),
                                   atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(5, 12)


def test_dropout_refuses_integer_input_it_would_scale_as_torch():
    """1/(1-p) cast to an integer dtype left the kept values unscaled; torch raises too. Where
    nothing is scaled (eval, p = 0, p = 1) integer input passes, as in torch."""
    x = tinydl.Tensor(np.full(8, 10))
    with pytest.raises(TypeError, match=r"dropout: input of dtype int64 .*1/\(1-p\)"):
        nn.Dropout(0.3)(x)
    with pytest.raises(TypeError, match="dropout: input of dtype bool"):
        F.dropout(tinydl.Tensor(np.ones(4, bool)), 0.5)
    assert nn.Dropout(0.3).eval()(x) is x
    assert F.dropout(x, 0.0) is x
    out = F.dropout(x, 1.0)
    assert out.dtype == np.int64 and not out.data.any()


NORMS_WITH_REFERENCE = {  # a float32 affine weight or running statistics fix the input dtype
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm1d_running_stats_only": (lambda: nn.BatchNorm1d(3, affine=False), (4, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
    "LayerNorm": (lambda: nn.LayerNorm(3), (4, 3)),
    "LayerNorm_nobias": (lambda: nn.LayerNorm(3, bias=False), (4, 3)),
    "GroupNorm": (lambda: nn.GroupNorm(1, 3), (4, 3)),
    "InstanceNorm1d_affine": (lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 5)),
}
NORMS_WITHOUT_REFERENCE = {  # nothing to compare with: any float passes, as in torch
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3, affine=False, track_running_stats=False), (4, 3)),
    "LayerNorm": (lambda: nn.LayerNorm(3, elementwise_affine=False), (4, 3)),
    "GroupNorm": (lambda: nn.GroupNorm(1, 3, affine=False), (4, 3)),
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(3), (2, 3, 5)),
    # torch casts an instance norm's running statistics to the input's dtype
    "InstanceNorm1d_running_stats": (lambda: nn.InstanceNorm1d(3, track_running_stats=True),
                                     (2, 3, 5)),
}


@pytest.mark.parametrize("name", sorted(NORMS_WITH_REFERENCE))
@pytest.mark.parametrize("training", [True, False])
def test_norm_layers_refuse_input_of_another_dtype_than_their_parameters(name, training):
    make, shape = NORMS_WITH_REFERENCE[name]
    layer = make().train(training)
    layer_name = type(layer).__name__
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.raises(TypeError, match=f"{layer_name}: input of dtype float64 .* float32"):
        layer(T(x))
    with pytest.raises(TypeError, match=f"{layer_name}: input of dtype int64 .* float32"):
        layer(tinydl.Tensor(np.ones(shape, np.int64)))
    assert layer(tinydl.Tensor(x.astype(np.float32))).dtype == np.float32
    assert layer.double()(T(x)).dtype == np.float64


@pytest.mark.parametrize("name", sorted(NORMS_WITHOUT_REFERENCE))
def test_norm_layers_without_parameters_refuse_only_non_float_input(name):
    make, shape = NORMS_WITHOUT_REFERENCE[name]
    layer = make()
    x = np.random.default_rng(0).standard_normal(shape)
    assert layer(T(x)).dtype == np.float64
    assert layer(tinydl.Tensor(x.astype(np.float32))).dtype == np.float32
    with pytest.raises(TypeError, match=f"{type(layer).__name__}: input of dtype int64 .* "
                                        "must be floating point"):
        layer(tinydl.Tensor(np.ones(shape, np.int64)))


def test_norm_layers_refuse_degenerate_input_as_torch():
    """Inputs that normalise to all zeros: torch refuses them, and so do we."""
    one_pixel = tinydl.Tensor(np.random.default_rng(0).standard_normal((2, 3, 1, 1))
                              .astype(np.float32))
    with pytest.raises(ValueError, match=r"instance_norm: expected more than 1 spatial "
                                         r"element .*\(2, 3, 1, 1\)"):
        nn.InstanceNorm2d(3)(one_pixel)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        nn.InstanceNorm2d(3).eval()(one_pixel)  # no running statistics: input statistics
    assert nn.InstanceNorm2d(3, track_running_stats=True).eval()(one_pixel).shape == (2, 3, 1, 1)
    with pytest.raises(ValueError, match=r"group_norm: expected more than 1 value per group, "
                                         r"got input of shape \(1, 4, 1, 1\) with 4 groups"):
        nn.GroupNorm(4, 4)(tinydl.ones(1, 4, 1, 1))
    # torch lets more than one sample through (the output is the bias), and so do we
    np.testing.assert_array_equal(nn.GroupNorm(4, 4)(tinydl.ones(2, 4, 1, 1)).data, 0)
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be at least 1-D"):
        nn.LayerNorm(())
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape must be at least 1-D"):
        F.layer_norm(tinydl.ones(2, 3), ())


def test_groupnorm_checks_the_channels_against_num_channels():
    with pytest.raises(ValueError, match=r"GroupNorm: expected input of shape \(N, 4, \*\) "
                                         r"\(num_channels=4\), got \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(tinydl.zeros(2, 6, 3))
    with pytest.raises(ValueError, match="GroupNorm: expected input"):
        nn.GroupNorm(2, 4)(tinydl.zeros(4))


def test_softmin_of_a_0d_tensor_is_one_as_softmax():
    x = tinydl.Tensor(np.array(2.0, np.float32))
    for dim in (0, -1):
        np.testing.assert_array_equal(nn.Softmin(dim=dim)(x).data, 1.0)
        np.testing.assert_array_equal(F.softmin(x, dim=dim).data, 1.0)
        np.testing.assert_array_equal(nn.Softmax(dim=dim)(x).data, 1.0)
    assert nn.Softmin(dim=0)(x).shape == ()
    with pytest.raises(IndexError, match="softmin: axis 1"):  # as softmax: torch IndexError
        nn.Softmin(dim=1)(x)


def test_functional_embedding_refuses_a_weight_that_is_not_2d():
    """A 1-d weight indexed to scalars, silently (torch: 'weight' must be 2-D)."""
    with pytest.raises(ValueError, match="embedding: weight must be 2-D"):
        F.embedding(tinydl.Tensor(np.array([1, 2])), tinydl.Tensor(np.arange(3.0)))


def test_upsample_first_positional_argument_is_the_scale_factor_as_the_contract():
    """API.md: Upsample(scale_factor, mode='nearest'). With torch's order Upsample(2) resized
    a 4 x 4 input to 2 x 2, silently; size= is taken by name."""
    x = tinydl.Tensor(np.ones((1, 1, 4, 4), np.float32))
    assert nn.Upsample(2)(x).shape == (1, 1, 8, 8)
    assert nn.Upsample(size=(3, 5))(x).shape == (1, 1, 3, 5)
    with pytest.raises(ValueError, match="Upsample: mode must be one of"):
        nn.Upsample(None, 2)  # torch's positional (size, scale_factor): loud, not silent


@pytest.mark.parametrize("kw", [dict(max_norm=1.0), dict(max_norm=1.5, norm_type=1.0),
                                dict(scale_grad_by_freq=True),
                                dict(scale_grad_by_freq=True, padding_idx=1, max_norm=2.0)])
def test_embedding_max_norm_and_scale_grad_by_freq_match_torch(kw):
    """torch's Embedding arguments (a positional max_norm landed in dtype: "Cannot interpret
    '1.0' as a data type"). max_norm rescales the picked rows of the weight in place."""
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((6, 3)) * 2
    idx = np.array([[1, 2, 1], [5, 1, 0]])
    ours = nn.Embedding(6, 3, dtype=np.float64, **kw)
    ours.weight.data[...] = w
    theirs = torch.nn.Embedding(6, 3, dtype=torch.float64, **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    c = np.random.default_rng(1).standard_normal((2, 3, 3))
    (ours(tinydl.tensor(idx)) * T(c)).sum().backward()
    (theirs(torch.tensor(idx)) * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), atol=1e-15)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), atol=1e-15)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_scale_grad_by_freq_second_derivative_is_torchs(padding_idx):
    # the scale was applied twice along a second-order chain (rows picked twice got a quarter
    # where torch's, and central differences for an elementwise loss, give a half); a matmul
    # after the lookup mixes the rows, where only torch's convention is left to compare with
    torch = pytest.importorskip("torch")
    idx = np.array([0, 0, 1, 2, 0, 2])
    w0 = np.random.default_rng(0).standard_normal((3, 2))
    mix = np.random.default_rng(1).standard_normal((4, 6))
    results = []
    for lib, Fn, grad in ((torch, torch.nn.functional, torch.autograd.grad),
                          (tinydl, F, tinydl.autograd.grad)):
        w = lib.tensor(w0, requires_grad=True)
        out = Fn.embedding(lib.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=True)
        g, = grad(((lib.tensor(mix) @ out) ** 3).sum(), w, create_graph=True)
        results.append([np.asarray(g.detach().numpy()),
                        np.asarray(grad((g ** 2).sum(), w)[0].detach().numpy())])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_embedding_positional_arguments_and_from_pretrained_as_torch():
    assert nn.Embedding(3, 2, None, 1.0).max_norm == 1.0
    w = T(np.arange(6.0).reshape(3, 2))
    frozen = nn.Embedding.from_pretrained(w)
    assert not frozen.weight.requires_grad and np.shares_memory(frozen.weight.data, w.data)
    np.testing.assert_array_equal(frozen(tinydl.tensor([2])).data, [[4.0, 5.0]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(3, 2, sparse=True)


DTYPE_NONE_LAYERS = {
    "Linear": lambda dtype: nn.Linear(3, 2, dtype=dtype),
    "Bilinear": lambda dtype: nn.Bilinear(3, 2, 2, dtype=dtype),
    "Conv2d": lambda dtype: nn.Conv2d(2, 2, 3, dtype=dtype),
    "ConvTranspose1d": lambda dtype: nn.ConvTranspose1d(2, 2, 3, dtype=dtype),
    "Conv3d": lambda dtype: nn.Conv3d(2, 2, 3, dtype=dtype),
    "BatchNorm2d": lambda dtype: nn.BatchNorm2d(3, dtype=dtype),
    "InstanceNorm1d": lambda dtype: nn.InstanceNorm1d(3, affine=True, track_running_stats=True,
                                                      dtype=dtype),
    "LayerNorm": lambda dtype: nn.LayerNorm(3, dtype=dtype),
    "GroupNorm": lambda dtype: nn.GroupNorm(1, 3, dtype=dtype),
    "RMSNorm": lambda dtype: nn.RMSNorm(3, dtype=dtype),
    "PReLU": lambda dtype: nn.PReLU(dtype=dtype),
    "Embedding": lambda dtype: nn.Embedding(4, 3, dtype=dtype),
    "EmbeddingBag": lambda dtype: nn.EmbeddingBag(4, 3, dtype=dtype),
    "MultiheadAttention": lambda dtype: nn.MultiheadAttention(4, 2, dtype=dtype),
    "LSTM": lambda dtype: nn.LSTM(3, 2, dtype=dtype),
}


@pytest.mark.parametrize("name", DTYPE_NONE_LAYERS)
def test_dtype_none_means_float32_as_torch(name):
    """``dtype=None`` (torch code passes it explicitly) is torch's default dtype, float32: it
    reached ``np.empty(shape, dtype=None)`` and gave float64 parameters, silently."""
    layer = DTYPE_NONE_LAYERS[name](None)
    arrays = [p.data for p in layer.parameters()] + [b.data for b in layer.buffers()]
    assert {a.dtype for a in arrays if a.dtype.kind == "f"} == {np.dtype(np.float32)}, name
    assert all(p.dtype == np.float64 for p in DTYPE_NONE_LAYERS[name](np.float64).parameters())


def test_nn_sync_batchnorm_is_the_distributed_one_as_in_torch():
    """torch has torch.nn.SyncBatchNorm; tinydl's lives in tinydl.distributed (built on nn)
    and nn.SyncBatchNorm finds it on first use; other missing names still raise."""
    import tinydl.distributed as dist
    assert nn.SyncBatchNorm is dist.SyncBatchNorm
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3))
    assert isinstance(converted, dist.SyncBatchNorm)
    with pytest.raises(AttributeError, match="'tinydl.nn' has no attribute 'SyncBatchNorn'"):
        nn.SyncBatchNorn


def test_data_parallel_on_the_cpu_wraps_its_module_as_torch():
    """torch's nn.DataParallel on a machine without GPUs calls its module (device_ids become
    []) and prefixes the state_dict keys with 'module.': tinydl's does the same."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2).double(), device_ids=[0, 1])
    ours = nn.DataParallel(nn.Linear(3, 2).double(), device_ids=[0, 1])
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight",
                                                                     "module.bias"]
    assert ours.device_ids == theirs.device_ids == []
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(ours(T(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    with pytest.raises(TypeError, match="DataParallel: module must be a tinydl.nn.Module"):
        nn.DataParallel(lambda x: x)


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False}])
def test_layer_norm_repr_is_torchs(kwargs):
    """torch 2.13 prints bias=; tinydl's read the same with bias=True and bias=False."""
    torch = pytest.importorskip("torch")
    assert repr(nn.LayerNorm(3, **kwargs)) == repr(torch.nn.LayerNorm(3, **kwargs))
