"""Attention: scaled_dot_product_attention, MultiheadAttention, TransformerEncoderLayer and the
distance functions (cosine_similarity, pairwise_distance, normalize), against torch."""
import warnings

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def rand(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def T(a, grad=False):
    return tinydl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def torch_kwargs(kw):
    return {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}


def copy_weights(torch_module, module):
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


# ----------------------------------------------------------------------------- SDPA
SDPA_CASES = {
    "plain": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {}),
    "unbatched": ((4, 5), (6, 5), (6, 3), {}),
    "broadcast_batch": ((2, 3, 4, 5), (1, 3, 6, 5), (3, 6, 5), {}),
    "causal_square": ((2, 5, 4), (2, 5, 4), (2, 5, 4), {"is_causal": True}),
    "causal_rect": ((2, 4, 3), (2, 6, 3), (2, 6, 2), {"is_causal": True}),
    "causal_long_query": ((2, 6, 3), (2, 4, 3), (2, 4, 2), {"is_causal": True}),
    "bool_mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"attn_mask": "bool(4, 6)"}),
    "bool_mask_full": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"attn_mask": "bool(2, 3, 4, 6)"}),
    "float_mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"attn_mask": "float(3, 1, 6)"}),
    "scale": ((2, 4, 5), (2, 6, 5), (2, 6, 5), {"scale": 0.37}),
    "grouped_query": ((2, 6, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), {"enable_gqa": True}),
}


def make_mask(spec, rng, dtype):
    kind, shape = spec.split("(")
    shape = tuple(int(s) for s in shape.rstrip(")").split(","))
    if kind == "bool":
        mask = rng.random(shape) > 0.3
        mask[..., 0] = True  # every query keeps a key (fully masked rows are tested apart)
        return mask
    return rand(rng, shape, dtype)


def sdpa_inputs(name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    qs, ks, vs, kw = SDPA_CASES[name]
    kw = {k: (make_mask(v, rng, dtype) if k == "attn_mask" else v) for k, v in kw.items()}
    return rand(rng, qs, dtype), rand(rng, ks, dtype), rand(rng, vs, dtype), kw


@pytest.mark.parametrize("name", sorted(SDPA_CASES))
def test_sdpa_matches_torch_float32(name):
    q, k, v, kw = sdpa_inputs(name, np.float32)
    ours = F.scaled_dot_product_attention(q, k, v, **kw)
    theirs = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), **torch_kwargs(kw))
    assert ours.dtype == np.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(SDPA_CASES))
def test_sdpa_gradients_match_torch_and_gradcheck(name):
    q, k, v, kw = sdpa_inputs(name, np.float64, seed=1)
    ins = [T(a, True) for a in (q, k, v)]
    tins = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ins, **kw)
    w = np.random.default_rng(2).standard_normal(out.shape)
    (out * T(w)).sum().backward()
    (TF.scaled_dot_product_attention(*tins, **torch_kwargs(kw)) * torch.tensor(w)).sum().backward()
    for a, b in zip(ins, tins):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=1e-10)
    assert tinydl.gradcheck(lambda *xs: F.scaled_dot_product_attention(*xs, **kw),
                            [T(a, True) for a in (q, k, v)])


def test_sdpa_gradgradcheck_and_float_mask_gradient():
    q, k, v, kw = sdpa_inputs("float_mask", np.float64)
    mask = T(kw["attn_mask"], True)
    assert tinydl.gradgradcheck(
        lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
        [T(q[:1, :1], True), T(k[:1, :1], True), T(v[:1, :1], True), T(kw["attn_mask"][:1], True)])
    assert tinydl.gradcheck(lambda m: F.scaled_dot_product_attention(T(q), T(k), T(v),
                                                                     attn_mask=m), [mask])


def test_sdpa_fully_masked_row_is_zero_as_torch():
    rng = np.random.default_rng(3)
    q, k, v = rand(rng, (2, 3, 4)), rand(rng, (2, 5, 4)), rand(rng, (2, 5, 4))
    mask = rng.random((3, 5)) > 0.5
    mask[1] = False
    fmask = np.where(mask, 0.0, -np.inf).astype(np.float32)
    for m in (mask, fmask):
        ours = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        theirs = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)),
                                                 attn_mask=torch.tensor(m))
        np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-5)
        assert np.all(ours.data[:, 1] == 0)
    qt = T(q, True)
    F.scaled_dot_product_attention(qt, T(k), T(v), attn_mask=mask).sum().backward()
    assert np.all(np.isfinite(qt.grad.data)) and np.all(qt.grad.data[:, 1] == 0)


def test_sdpa_dropout_uses_seeded_generator():
    rng = np.random.default_rng(4)
    q, k, v = rand(rng, (2, 6, 4)), rand(rng, (2, 6, 4)), rand(rng, (2, 6, 4))
    tinydl.manual_seed(7)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    tinydl.manual_seed(7)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.data, F.scaled_dot_product_attention(q, k, v).data)
    # With all-ones values each output entry is the kept weight mass scaled by 1/(1-p).
    ones = np.ones((2, 6, 1), np.float32)
    tinydl.manual_seed(8)
    out = F.scaled_dot_product_attention(q, k, ones, dropout_p=0.5).data
    assert out.min() >= 0 and out.max() <= 2 + 1e-5
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).data == 0)


def test_sdpa_errors():
    rng = np.random.default_rng(5)
    q, k, v = rand(rng, (2, 3, 4)), rand(rng, (2, 5, 4)), rand(rng, (2, 5, 4))
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match="enable_gqa.*multiple"):
        F.scaled_dot_product_attention(rand(rng, (1, 3, 2, 4)), rand(rng, (1, 2, 5, 4)),
                                       rand(rng, (1, 2, 5, 4)), enable_gqa=True)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*shapes"):
        F.scaled_dot_product_attention(q, rand(rng, (2, 5, 3)), v)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*shapes"):
        F.scaled_dot_product_attention(q, k, rand(rng, (2, 4, 4)))
    with pytest.raises(ValueError, match="attn_mask of shape"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), bool))
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), np.int64))
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    ints = tinydl.ones(2, 3, dtype=tinydl.int64)  # a float32 result before; torch refuses
    with pytest.raises(TypeError, match="scaled_dot_product_attention.*floating point.*int64"):
        F.scaled_dot_product_attention(ints, ints, ints)


# ----------------------------------------------------------------------------- MultiheadAttention
MHA_MASKS = {
    "none": {},
    "bool_attn_mask": {"attn_mask": "bool_attn"},
    "float_attn_mask_3d": {"attn_mask": "float_attn_3d", "average_attn_weights": False},
    "key_padding_mask": {"key_padding_mask": "kpm"},
    "both_masks": {"attn_mask": "bool_attn", "key_padding_mask": "kpm"},
    "float_kpm_no_weights": {"key_padding_mask": "float_kpm", "need_weights": False},
    "causal_hint": {"attn_mask": "causal", "is_causal": True},
}


def mha_mask(spec, rng, n, h, tgt, src):
    if spec == "bool_attn":
        m = rng.random((tgt, src)) > 0.7
        m[:, -1] = False  # kpm keeps the last key too: no query loses every key (torch: NaN)
        return m
    if spec == "float_attn_3d":
        return rand(rng, (n * h, tgt, src))
    if spec == "kpm":
        m = rng.random((n, src)) > 0.6
        m[:, -1] = False
        return m
    if spec == "float_kpm":
        return rand(rng, (n, src))
    if spec == "causal":
        return np.triu(np.ones((tgt, src), bool), 1)
    raise KeyError(spec)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kvdim", [None, 3])
@pytest.mark.parametrize("case", sorted(MHA_MASKS))
def test_mha_matches_torch_float32(case, kvdim, batch_first):
    rng = np.random.default_rng(0)
    e, h, n, tgt, src = 8, 2, 3, 4, 5
    kw_mod = dict(batch_first=batch_first, kdim=kvdim, vdim=kvdim)
    theirs_mod = torch.nn.MultiheadAttention(e, h, **kw_mod)
    ours_mod = nn.MultiheadAttention(e, h, **kw_mod)
    copy_weights(theirs_mod, ours_mod)
    def shape(length, d):
        return (n, length, d) if batch_first else (length, n, d)

    q = rand(rng, shape(tgt, e))
    if case == "causal_hint":  # self-attention, square mask
        k = v = q if kvdim is None else rand(rng, shape(tgt, kvdim))
        src = tgt
    else:
        k, v = rand(rng, shape(src, kvdim or e)), rand(rng, shape(src, kvdim or e))
    kw = {name: (mha_mask(val, rng, n, h, tgt, src) if isinstance(val, str) else val)
          for name, val in MHA_MASKS[case].items()}
    out, weights = ours_mod(q, k, v, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_weights = theirs_mod(*map(torch.tensor, (q, k, v)), **torch_kwargs(kw))
    assert out.dtype == np.float32 and out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), atol=1e-5, rtol=1e-5)
    if t_weights is None:
        assert weights is None
    else:
        np.testing.assert_allclose(weights.data, t_weights.detach().numpy(), atol=1e-5, rtol=1e-5)


def test_mha_unbatched_and_gradients_match_torch():
    rng = np.random.default_rng(1)
    theirs_mod = torch.nn.MultiheadAttention(6, 3, kdim=4, vdim=5).double()
    ours_mod = nn.MultiheadAttention(6, 3, kdim=4, vdim=5).double()
    copy_weights(theirs_mod, ours_mod)
    q, k, v = (rand(rng, s, np.float64) for s in ((3, 6), (4, 4), (4, 5)))
    kpm = np.array([False, True, False, False])
    amask = rand(rng, (3, 3, 4), np.float64)
    ins = [T(a, True) for a in (q, k, v)]
    tins = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, w = ours_mod(*ins, key_padding_mask=kpm, attn_mask=amask, average_attn_weights=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_w = theirs_mod(*tins, key_padding_mask=torch.tensor(kpm),
                                attn_mask=torch.tensor(amask), average_attn_weights=False)
    assert out.shape == (3, 6) and w.shape == (3, 3, 4)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w.data, t_w.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(out.shape)
    (out * T(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    for a, b in zip(ins, tins):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=1e-10)
    ours_params = dict(ours_mod.named_parameters())
    for name, p in theirs_mod.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.data, p.grad.numpy(), atol=1e-10,
                                   err_msg=name)


def test_mha_gradcheck():
    rng = np.random.default_rng(2)
    mod = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = T(rng.standard_normal((2, 3, 4)), True)
    mask = np.array([[False, False, True], [False, False, False]])
    assert tinydl.gradcheck(lambda a, *ps: mod(a, a, a, key_padding_mask=mask)[0],
                            (x,) + tuple(mod.parameters()))


def test_mha_parameters_init_and_errors_as_torch():
    theirs = torch.nn.MultiheadAttention(8, 2)
    tinydl.manual_seed(0)
    ours = nn.MultiheadAttention(8, 2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, value in theirs.state_dict().items():
        assert ours.state_dict()[name].shape == tuple(value.shape)
    assert np.all(ours.in_proj_bias.data == 0) and np.all(ours.out_proj.bias.data == 0)
    bound = np.sqrt(6.0 / (8 + 24))  # xavier-uniform over the whole (3E, E) matrix, as torch
    assert np.abs(ours.in_proj_weight.data).max() <= bound
    assert ours.in_proj_weight.data.std() > bound / 3
    assert ours.in_proj_weight.dtype == np.float32
    separate = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    t_sep = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert list(separate.state_dict()) == list(t_sep.state_dict())
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    x = np.zeros((3, 2, 8), np.float32)
    with pytest.raises(ValueError, match="attn_mask must be"):
        ours(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="key_padding_mask must be"):
        ours(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match="MultiheadAttention: expected"):
        ours(x, x[..., :4], x)
    with pytest.raises(TypeError, match="dtype"):
        ours(x.astype(np.float64), x, x)


def test_mha_fully_masked_query_gives_zero_weights():
    rng = np.random.default_rng(4)
    mod = nn.MultiheadAttention(4, 2)
    x = rand(rng, (3, 2, 4))
    kpm = np.array([[True, True, True], [False, True, False]])
    out, w = mod(x, x, x, key_padding_mask=kpm)
    assert np.all(np.isfinite(out.data)) and np.all(w.data[0] == 0)
    np.testing.assert_allclose(out.data[:, 0], np.broadcast_to(mod.out_proj.bias.data, (3, 4)))
    np.testing.assert_allclose(w.data[1].sum(-1), 1.0, rtol=1e-6)


def test_mha_is_causal_without_mask_and_dropout():
    rng = np.random.default_rng(3)
    mod = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = rand(rng, (5, 2, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)
    mod.eval()
    a, wa = mod(x, x, x, is_causal=True)
    b, wb = mod(x, x, x, attn_mask=causal)
    np.testing.assert_array_equal(a.data, b.data)
    assert np.all(wa.data[:, causal] == 0)
    mod.train()
    tinydl.manual_seed(1)
    c = mod(x, x, x)[0]
    tinydl.manual_seed(1)
    d = mod(x, x, x)[0]
    np.testing.assert_array_equal(c.data, d.data)
    mod.eval()
    assert not np.allclose(c.data, mod(x, x, x)[0].data)


# ------------------------------------------------------------------ TransformerEncoderLayer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_matches_torch_eval(norm_first, batch_first, activation):
    rng = np.random.default_rng(0)
    kw = dict(dim_feedforward=16, activation=activation, batch_first=batch_first,
              norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, **kw).eval()
    ours = nn.TransformerEncoderLayer(8, 2, **kw).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_weights(theirs, ours)
    x = rand(rng, (3, 5, 8) if batch_first else (5, 3, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)
    kpm = rng.random((3, 5)) > 0.7
    kpm[:, 0] = False
    calls = [{}, {"src_mask": causal}, {"src_mask": causal, "is_causal": True},
             {"src_key_padding_mask": kpm}]
    for call in calls:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = theirs(torch.tensor(x), **torch_kwargs(call)).numpy()
        np.testing.assert_allclose(ours(x, **call).data, ref, atol=1e-5, rtol=1e-5,
                                   err_msg=str(list(call)))


def test_transformer_encoder_layer_defaults_gradcheck_and_dropout():
    theirs = torch.nn.TransformerEncoderLayer(4, 2)
    ours = nn.TransformerEncoderLayer(4, 2)
    assert ours.linear1.weight.shape == (2048, 4) and ours.dropout.p == 0.1
    assert ours.norm1.eps == 1e-5 and not ours.norm_first and not ours.self_attn.batch_first
    assert list(ours.state_dict()) == list(theirs.state_dict())
    small = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                       activation="gelu", norm_first=True).double()
    x = T(np.random.default_rng(1).standard_normal((3, 2, 4)), True)
    assert tinydl.gradcheck(lambda a, *ps: small(a), (x,) + tuple(small.parameters()))
    drop = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.5)
    x32 = np.random.default_rng(2).standard_normal((3, 2, 4)).astype(np.float32)
    tinydl.manual_seed(3)
    a = drop(x32)
    tinydl.manual_seed(3)
    np.testing.assert_array_equal(a.data, drop(x32).data)
    drop.eval()
    assert not np.allclose(a.data, drop(x32).data)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")


# ----------------------------------------------------------------------------- distances
DISTANCE_CASES = {
    "cosine_dim1": (F.cosine_similarity, TF.cosine_similarity, [(3, 4, 5), (4, 5)], {}),
    "cosine_last": (F.cosine_similarity, TF.cosine_similarity, [(3, 5), (3, 5)], {"dim": -1}),
    "cosine_zero_row": (F.cosine_similarity, TF.cosine_similarity, ["zero(3, 5)", (3, 5)],
                        {"dim": 1}),
    "pairwise_p2": (F.pairwise_distance, TF.pairwise_distance, [(3, 4, 5), (4, 5)], {}),
    "pairwise_p1_keepdim": (F.pairwise_distance, TF.pairwise_distance, [(3, 5), (3, 5)],
                            {"p": 1.0, "keepdim": True}),
    "pairwise_p3": (F.pairwise_distance, TF.pairwise_distance, [(4, 5), (1, 5)], {"p": 3.0}),
    "pairwise_inf": (F.pairwise_distance, TF.pairwise_distance, [(5,), (5,)], {"p": np.inf}),
    # two 0-d inputs are one coordinate each (tinydl refused them)
    "pairwise_0d": (F.pairwise_distance, TF.pairwise_distance, [(), ()], {}),
    "pairwise_0d_p1_keepdim": (F.pairwise_distance, TF.pairwise_distance, [(), ()],
                               {"p": 1.0, "keepdim": True}),
    "pairwise_0d_and_1d": (F.pairwise_distance, TF.pairwise_distance, [(), (4,)], {"p": 3.0}),
    "normalize_p2": (F.normalize, TF.normalize, [(3, 4, 5)], {}),
    "normalize_p1_last": (F.normalize, TF.normalize, [(3, 4)], {"p": 1.0, "dim": -1}),
    "normalize_p3": (F.normalize, TF.normalize, [(3, 4)], {"p": 3.0, "dim": 0}),
    "normalize_zero": (F.normalize, TF.normalize, ["zero(3, 4)"], {}),
}


def distance_inputs(shapes, rng, dtype):
    out = []
    for s in shapes:
        if isinstance(s, str):
            a = rng.standard_normal((3, 5 if "5" in s else 4))
            a[1] = 0
            out.append(a.astype(dtype))
        else:
            out.append(rng.standard_normal(s).astype(dtype))
    return out


@pytest.mark.parametrize("name", sorted(DISTANCE_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_distance_functions_match_torch(name, dtype):
    ours_fn, theirs_fn, shapes, kw = DISTANCE_CASES[name]
    args = distance_inputs(shapes, np.random.default_rng(0), dtype)
    ins = [tinydl.Tensor(a, requires_grad=True) for a in args]
    tins = [torch.tensor(a, requires_grad=True) for a in args]
    out, ref = ours_fn(*ins, **kw), theirs_fn(*tins, **kw)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=tol, rtol=tol)
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * tinydl.Tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ins, tins):
        scale = max(1.0, np.abs(b.grad.numpy()).max())
        np.testing.assert_allclose(a.grad.data / scale, b.grad.numpy() / scale, atol=tol)
    if dtype == np.float64 and "zero" not in name:
        assert tinydl.gradcheck(lambda *xs: ours_fn(*xs, **kw), [T(a, True) for a in args])
        assert tinydl.gradgradcheck(lambda *xs: ours_fn(*xs, **kw), [T(a, True) for a in args])


def test_distance_errors():
    with pytest.raises(ValueError, match="cosine_similarity"):
        F.cosine_similarity(np.ones((3, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="cosine_similarity: axis 2"):
        F.cosine_similarity(np.ones((3, 4)), np.ones((3, 4)), dim=2)
    with pytest.raises(ValueError, match="pairwise_distance"):
        F.pairwise_distance(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(ValueError, match="normalize: axis"):
        F.normalize(np.ones(3), dim=1)


def test_a_float_mask_of_another_dtype_is_refused_as_torch():
    """A float64 mask (NumPy's default: np.triu(np.full(..., -inf), 1)) silently made float32
    attention float64; in MultiheadAttention the error blamed Linear."""
    q = tinydl.Tensor(np.random.default_rng(0).random((2, 4, 8)).astype(np.float32))
    m = tinydl.Tensor(np.triu(np.full((4, 4), -np.inf), 1))
    with pytest.raises(TypeError, match="attn_mask must have the query's dtype float32"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=m)
    with pytest.raises(TypeError, match="MultiheadAttention.*attn_mask must have the input's"):
        nn.MultiheadAttention(8, 2, batch_first=True)(q, q, q, attn_mask=m)
    with pytest.raises(TypeError, match="query, key and value must have the same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=m.float())
    assert out.dtype == np.float32
    # a float32 mask is taken by float64 attention, as torch's ('bool or float' masks)
    q64 = q.double()
    ours = F.scaled_dot_product_attention(q64, q64, q64, attn_mask=m.float())
    tq = torch.tensor(q64.data)
    want = torch.nn.functional.scaled_dot_product_attention(tq, tq, tq,
                                                            attn_mask=torch.tensor(m.data).float())
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.data, want.numpy(), rtol=1e-12)
    out = nn.MultiheadAttention(8, 2, batch_first=True).double()(q64, q64, q64,
                                                                   attn_mask=m.float())[0]
    assert out.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul")  # (float32 BLAS, inf)
def test_a_query_row_of_all_minus_inf_scores_without_a_mask_gives_zeros_as_torch(dtype):
    """An infinite query makes a row of scores all -inf with no mask given: torch's softmax
    gives that row zero weights; tinydl gave NaN (it zeroed such rows only under a mask)."""
    q = np.array([[np.inf, 0.0], [0.5, 1.0]], dtype)
    k = np.array([[-1.0, 0.0], [-2.0, 1.0]], dtype)
    v = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)
    ours = F.scaled_dot_product_attention(*(tinydl.Tensor(a) for a in (q, k, v)))
    want = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)))
    np.testing.assert_allclose(ours.data, want.numpy(), rtol=1e-6)
    assert not np.isnan(ours.data).any()
