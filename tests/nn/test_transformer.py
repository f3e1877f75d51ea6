"""TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and Transformer against torch:
outputs and gradients in float64 with torch's parameters copied in, state_dict keys, init rule,
the causal mask helper and errors."""
import inspect

import numpy as np
import pytest
from scipy import stats

import tinydl
import tinydl.nn as nn
import tinydl.nn.functional as F
from tests.nn.test_attention import T, copy_weights, torch_kwargs

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# torch warns that its nested-tensor fast path is off (batch_first=False) and about its own
# deprecations; neither concerns the comparison.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

D, H, FF, N, T_LEN, S_LEN = 8, 2, 16, 3, 5, 4


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The inputs are tiny: torch's thread pool only costs time here (most on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def scramble(torch_module, seed):
    """Give every parameter of a torch module its own random values (the stacks' layers start
    as copies; distinct values make a wrong layer order or a shared parameter visible)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in torch_module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5 + (p.ndim == 1))


def pair(torch_cls, ours_cls, *args, train=True, **kw):
    """(torch module, tinydl module) in float64 with the same (scrambled) parameters."""
    theirs = torch_cls(*args, **kw).double()
    scramble(theirs, 0)
    ours = ours_cls(*args, **kw).double()
    copy_weights(theirs, ours)
    theirs.train(train)
    ours.train(train)
    return theirs, ours


def seq(rng, length, batch_first, batched=True):
    shape = ((N, length, D) if batch_first else (length, N, D)) if batched else (length, D)
    return rng.standard_normal(shape)


def kpm(rng, length, kind, batched=True):
    """A key padding mask (bool: True = padded; float: 0 or -inf) that leaves key 0 free."""
    mask = rng.random((N, length) if batched else (length,)) > 0.6
    mask[..., 0] = False
    return mask if kind == "bool" else np.where(mask, -np.inf, 0.0)


def causal(length, kind):
    mask = np.triu(np.ones((length, length), bool), 1)
    return mask if kind == "bool" else np.where(mask, -np.inf, 0.0)


def check_against_torch(theirs, ours, inputs, kw, seed=0):
    """Same output, same input and parameter gradients (float64) for ``module(*inputs, **kw)``."""
    ins = [T(a, True) for a in inputs]
    tins = [torch.tensor(a, requires_grad=True) for a in inputs]
    ours.zero_grad()
    theirs.zero_grad()
    out = ours(*ins, **kw)
    ref = theirs(*tins, **torch_kwargs(kw))
    what = f"{type(ours).__name__} {sorted(kw)}"
    assert out.dtype == np.float64 and out.shape == tuple(ref.shape), what
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-10, rtol=1e-9,
                               err_msg=what)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    (out * T(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for a, b in zip(ins, tins):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=1e-9, err_msg=what)
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [name for name, _ in theirs.named_parameters()]
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad.data, p.grad.numpy(), atol=1e-9,
                                   err_msg=f"{what}: {name}")


def decoder_calls(rng, batch_first, batched=True):
    """(tgt, memory) and the mask combinations run through every decoder-like module."""
    tgt, memory = seq(rng, T_LEN, batch_first, batched), seq(rng, S_LEN, batch_first, batched)
    memory_mask = rng.standard_normal((T_LEN, S_LEN))
    calls = [
        {},
        {"tgt_mask": causal(T_LEN, "bool"), "tgt_key_padding_mask": kpm(rng, T_LEN, "bool",
                                                                          batched),
         "memory_key_padding_mask": kpm(rng, S_LEN, "bool", batched)},
        {"tgt_mask": causal(T_LEN, "float"), "tgt_is_causal": True,
         "memory_mask": memory_mask,
         "memory_key_padding_mask": kpm(rng, S_LEN, "float", batched)},
        {"tgt_key_padding_mask": kpm(rng, T_LEN, "float", batched),
         "memory_mask": memory_mask > 0.5},
    ]
    return (tgt, memory), calls


# -------------------------------------------------------------------- TransformerDecoderLayer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    rng = np.random.default_rng(0)
    inputs, calls = decoder_calls(rng, batch_first)
    for train, dropout, some_calls in ((True, 0.0, calls), (False, 0.1, calls[1:3])):
        theirs, ours = pair(torch.nn.TransformerDecoderLayer, nn.TransformerDecoderLayer, D, H,
                            FF, dropout, train=train, batch_first=batch_first,
                            norm_first=norm_first)
        for call in some_calls:
            check_against_torch(theirs, ours, inputs, call)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_unbatched_gelu_and_callable_activation(norm_first):
    rng = np.random.default_rng(1)
    inputs, calls = decoder_calls(rng, False, batched=False)
    for t_act, o_act in (("gelu", "gelu"), (TF.silu, F.silu)):
        theirs = torch.nn.TransformerDecoderLayer(D, H, FF, 0.0, t_act,
                                                  norm_first=norm_first).double()
        scramble(theirs, 1)
        ours = nn.TransformerDecoderLayer(D, H, FF, 0.0, o_act, norm_first=norm_first).double()
        copy_weights(theirs, ours)
        for call in calls[:3]:
            check_against_torch(theirs, ours, inputs, call)


def test_decoder_layer_defaults_dropout_and_gradcheck():
    theirs = torch.nn.TransformerDecoderLayer(4, 2)
    ours = nn.TransformerDecoderLayer(4, 2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.linear1.weight.shape == (2048, 4) and ours.dropout.p == 0.1
    assert ours.dropout3.p == 0.1 and ours.norm3.eps == 1e-5 and not ours.norm_first
    assert ours.activation is F.relu and not ours.multihead_attn.batch_first
    assert ours.linear1.weight.dtype == np.float32
    no_bias = nn.TransformerDecoderLayer(4, 2, 6, bias=False)
    assert list(no_bias.state_dict()) == list(
        torch.nn.TransformerDecoderLayer(4, 2, 6, bias=False).state_dict())
    small = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True).double()
    rng = np.random.default_rng(2)
    tgt, mem = T(rng.standard_normal((3, 2, 4)), True), T(rng.standard_normal((2, 2, 4)), True)
    # parameter gradients are compared with torch's above; here the inputs' by differences
    assert tinydl.gradcheck(lambda a, b: small(a, b, tgt_is_causal=True), (tgt, mem))
    drop = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.5)
    x, m = (rng.standard_normal(s).astype(np.float32) for s in ((3, 2, 4), (2, 2, 4)))
    tinydl.manual_seed(3)
    a = drop(x, m)
    tinydl.manual_seed(3)
    np.testing.assert_array_equal(a.data, drop(x, m).data)
    drop.eval()
    assert not np.allclose(a.data, drop(x, m).data)


# ------------------------------------------------------------------------------ the stacks
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_matches_torch(norm_first, batch_first):
    rng = np.random.default_rng(3)
    src = seq(rng, T_LEN, batch_first)
    calls = [{}, {"mask": causal(T_LEN, "bool"), "src_key_padding_mask": kpm(rng, T_LEN, "bool")},
             {"mask": causal(T_LEN, "float"), "is_causal": True},
             {"src_key_padding_mask": kpm(rng, T_LEN, "float")}]
    # train mode with dropout 0 and no final norm; eval mode with dropout and a final norm
    for norm, train, dropout in ((None, True, 0.0), ("layer_norm", False, 0.1)):
        def make(layer_cls, norm_cls, stack_cls):
            layer = layer_cls(D, H, FF, dropout, batch_first=batch_first, norm_first=norm_first)
            return stack_cls(layer, 2, norm_cls(D) if norm else None)
        theirs = make(torch.nn.TransformerEncoderLayer, torch.nn.LayerNorm,
                      torch.nn.TransformerEncoder).double().train(train)
        scramble(theirs, 2)
        ours = make(nn.TransformerEncoderLayer, nn.LayerNorm,
                    nn.TransformerEncoder).double().train(train)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        copy_weights(theirs, ours)
        for call in calls:
            check_against_torch(theirs, ours, [src], call)
    unbatched = seq(rng, T_LEN, batch_first, batched=False)
    check_against_torch(theirs, ours, [unbatched], {"mask": causal(T_LEN, "bool")})


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_decoder_matches_torch(norm_first, batch_first):
    rng = np.random.default_rng(4)
    inputs, calls = decoder_calls(rng, batch_first)
    for norm in (None, "layer_norm"):
        def make(layer_cls, norm_cls, stack_cls):
            layer = layer_cls(D, H, FF, 0.0, batch_first=batch_first, norm_first=norm_first)
            return stack_cls(layer, 2, norm_cls(D) if norm else None)
        theirs = make(torch.nn.TransformerDecoderLayer, torch.nn.LayerNorm,
                      torch.nn.TransformerDecoder).double()
        scramble(theirs, 3)
        ours = make(nn.TransformerDecoderLayer, nn.LayerNorm, nn.TransformerDecoder).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        copy_weights(theirs, ours)
        for call in calls:
            check_against_torch(theirs, ours, inputs, call)


def test_stacks_deep_copy_the_layer_as_torch():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False, mask_check=False)
    assert isinstance(enc.layers, nn.ModuleList) and len(enc.layers) == 3
    assert enc.num_layers == 3 and enc.norm is None and not enc.mask_check
    assert not enc.enable_nested_tensor and not enc.use_nested_tensor
    params = [dict(l.named_parameters()) for l in enc.layers]
    for name, p in layer.named_parameters():
        for copy_params in params:  # equal starting values, separate storage
            np.testing.assert_array_equal(copy_params[name].data, p.data)
            assert not np.shares_memory(copy_params[name].data, p.data)
    enc.layers[0].linear1.weight.data[...] = 0
    assert np.any(enc.layers[1].linear1.weight.data != 0)
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF), 2, nn.LayerNorm(D))
    assert list(dec.state_dict()) == list(torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D, H, FF), 2, torch.nn.LayerNorm(D)).state_dict())
    assert "TransformerDecoderLayer" in repr(dec) and "(layers)" in repr(dec)


# ------------------------------------------------------------------------------ Transformer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(norm_first, batch_first):
    rng = np.random.default_rng(5)
    src, tgt = seq(rng, S_LEN, batch_first), seq(rng, T_LEN, batch_first)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T_LEN, dtype=np.float64).data
    calls = [{}, {"src_mask": causal(S_LEN, "bool"), "tgt_mask": tgt_mask, "tgt_is_causal": True,
                  "src_key_padding_mask": kpm(rng, S_LEN, "bool"),
                  "tgt_key_padding_mask": kpm(rng, T_LEN, "bool"),
                  "memory_key_padding_mask": kpm(rng, S_LEN, "bool")},
             {"memory_mask": rng.standard_normal((T_LEN, S_LEN)),
              "src_key_padding_mask": kpm(rng, S_LEN, "float")}]
    for train, dropout, some_calls in ((True, 0.0, calls), (False, 0.1, calls[1:2])):
        theirs, ours = pair(torch.nn.Transformer, nn.Transformer, D, H, 2, 1, FF, dropout,
                            train=train, batch_first=batch_first, norm_first=norm_first)
        for call in some_calls:
            check_against_torch(theirs, ours, [src, tgt], call)
    if not batch_first:
        unbatched = [seq(rng, S_LEN, False, False), seq(rng, T_LEN, False, False)]
        check_against_torch(theirs, ours, unbatched, {"tgt_mask": tgt_mask})


def test_transformer_state_dict_defaults_and_custom_parts():
    theirs = torch.nn.Transformer(D, H, 2, 1, FF)
    ours = nn.Transformer(D, H, 2, 1, FF)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, value in theirs.state_dict().items():
        assert ours.state_dict()[name].shape == tuple(value.shape), name
    copy_weights(theirs, ours)  # a torch state_dict loads as it is (strict)
    rng = np.random.default_rng(9)
    src, tgt = (rng.standard_normal(s).astype(np.float32) for s in ((S_LEN, N, D), (T_LEN, N, D)))
    theirs.eval()
    ours.eval()
    out = ours(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T_LEN))
    ref = theirs(torch.tensor(src), torch.tensor(tgt),
                 tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T_LEN))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=1e-5, rtol=1e-5)
    assert ours.d_model == D and ours.nhead == H and not ours.batch_first
    assert ours.encoder.layers[0].activation is F.relu
    assert ours.encoder.norm.eps == 1e-5 and ours.decoder.layers[0].dropout.p == 0.1
    no_bias = nn.Transformer(D, H, 1, 1, FF, bias=False, dtype=np.float64)
    assert list(no_bias.state_dict()) == list(
        torch.nn.Transformer(D, H, 1, 1, FF, bias=False).state_dict())
    assert all(p.dtype == np.float64 for p in no_bias.parameters())
    custom = nn.Transformer(D, H, custom_encoder=nn.Linear(D, D), num_decoder_layers=1,
                            dim_feedforward=FF)
    assert list(custom.state_dict())[:2] == ["encoder.weight", "encoder.bias"]
    for ours_cls, theirs_cls in ((nn.Transformer, torch.nn.Transformer),
                                 (nn.TransformerDecoderLayer, torch.nn.TransformerDecoderLayer),
                                 (nn.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer),
                                 (nn.TransformerEncoder, torch.nn.TransformerEncoder),
                                 (nn.TransformerDecoder, torch.nn.TransformerDecoder)):
        ours_sig = inspect.signature(ours_cls).parameters
        theirs_sig = inspect.signature(theirs_cls).parameters
        assert list(ours_sig) == list(theirs_sig), ours_cls
        for name, param in theirs_sig.items():  # activation: F.relu, tinydl's or torch's
            if name != "activation":
                assert ours_sig[name].default == param.default, (ours_cls, name)


def test_transformer_init_is_xavier_uniform_on_matrices():
    """Every >1-d parameter is redrawn from U(-a, a), a = sqrt(6 / (fan_in + fan_out)), each
    layer its own draw; a Kolmogorov-Smirnov test against that law, and against the law the
    parameter had before (Linear's kaiming rule), tells them apart."""
    tinydl.manual_seed(0)
    d, ff = 16, 128
    model = nn.Transformer(d, 2, 2, 2, ff)
    for name, p in model.named_parameters():
        if p.ndim == 1:  # vectors keep their own init: LayerNorm's, attention's, Linear's
            if "norm" in name or "attn" in name:
                expected = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
                assert np.all(p.data == expected), name
            else:
                fan_in = model.get_parameter(name.replace("bias", "weight")).shape[1]
                assert 0 < np.abs(p.data).max() <= 1 / np.sqrt(fan_in), name
            continue
        fan_out, fan_in = p.shape
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(p.data).max() <= bound, name
        assert stats.kstest(p.data.ravel(), "uniform", (-bound, 2 * bound)).pvalue > 1e-4, name
    for name in ("encoder.layers.0.linear2.weight", "decoder.layers.1.self_attn.out_proj.weight",
                 "decoder.layers.0.linear1.weight"):
        p = model.get_parameter(name).data
        kaiming = 1.0 / np.sqrt(p.shape[1])  # Linear's own init, which the re-init replaces
        assert stats.kstest(p.ravel(), "uniform", (-kaiming, 2 * kaiming)).pvalue < 1e-6, name
    enc = model.encoder.layers
    assert not np.allclose(enc[0].linear1.weight.data, enc[1].linear1.weight.data)


def test_generate_square_subsequent_mask_as_torch():
    for sz in (0, 1, 4):
        ours = nn.Transformer.generate_square_subsequent_mask(sz)
        ref = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        assert ours.dtype == np.float32 and ours.shape == tuple(ref.shape)
        np.testing.assert_array_equal(ours.data, ref.numpy())
    m64 = nn.Transformer(D, H, 1, 1, FF).generate_square_subsequent_mask(3, dtype=np.float64)
    assert m64.dtype == np.float64 and m64.data[0, 1] == -np.inf and m64.data[1, 0] == 0
    # bool: torch's -inf cast to bool, True above the diagonal (a mask of what not to attend)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=np.bool_)
    np.testing.assert_array_equal(
        mask.data, torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="generate_square_subsequent_mask: dtype"):
        nn.Transformer.generate_square_subsequent_mask(3, dtype=np.int64)
    with pytest.raises(ValueError, match="generate_square_subsequent_mask"):
        nn.Transformer.generate_square_subsequent_mask(-1)


# ------------------------------------------------------------------------------ errors
def raises_like_torch(theirs_call, ours_call, error, match):
    with pytest.raises(Exception):
        theirs_call()
    with pytest.raises(error, match=match):
        ours_call()


def test_errors_where_torch_raises():
    t_model, model = torch.nn.Transformer(D, H, 1, 1, FF), nn.Transformer(D, H, 1, 1, FF)
    t_dec, dec = torch.nn.TransformerDecoderLayer(D, H, FF), nn.TransformerDecoderLayer(D, H, FF)
    z = np.zeros
    cases = [
        ((z((4, 3, D)), z((5, 2, D))), {}, ValueError,
         r"Transformer: the batch sizes.*\(4, 3, 8\) and \(5, 2, 8\)", model, t_model),
        ((z((4, 3, 6)), z((5, 3, D))), {}, ValueError,
         r"Transformer: src and tgt must have d_model=8.*\(4, 3, 6\)", model, t_model),
        ((z((4, D)), z((5, 3, D))), {}, ValueError,
         r"Transformer: expected src and tgt both 3-D.*\(4, 8\) and \(5, 3, 8\)", model, t_model),
        ((z((5, 3, D)), z((4, 3, 6))), {}, ValueError,
         r"TransformerDecoderLayer.multihead_attn.*MultiheadAttention: expected.*\(4, 3, 6\)",
         dec, t_dec),
        ((z((5, 3, D)), z((4, 3, D))), {"tgt_mask": z((3, 3), bool)}, ValueError,
         r"TransformerDecoderLayer.self_attn \(masks: tgt_mask.*attn_mask must be \(5, 5\).*"
         r"got \(3, 3\)", dec, t_dec),
        ((z((5, 3, D)), z((4, 3, D))), {"memory_key_padding_mask": z((3, 5), bool)}, ValueError,
         r"multihead_attn \(masks: memory_mask, memory_key_padding_mask\).*\(3, 4\), got \(3, 5\)",
         dec, t_dec),
        ((z((5, 3, D)), z((4, 3, D))), {"memory_mask": z((5, 4), np.int64)}, TypeError,
         r"TransformerDecoderLayer.multihead_attn.*only bool and floating", dec, t_dec),
    ]
    for args, kw, error, match, ours_mod, theirs_mod in cases:
        args = [a.astype(np.float32) for a in args]
        raises_like_torch(lambda: theirs_mod(*map(torch.tensor, args), **torch_kwargs(kw)),
                          lambda: ours_mod(*args, **kw), error, match)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF), 2)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer.self_attn \(masks: src_mask"):
        enc(z((5, 3, D), np.float32), mask=z((4, 4), bool))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: activation should be relu/gelu"):
        nn.TransformerDecoderLayer(D, H, activation="tanh")
    with pytest.raises(RuntimeError):
        torch.nn.TransformerDecoderLayer(D, H, activation="tanh")
    with pytest.raises(TypeError, match="TransformerEncoder: the layer to stack must be a Module"):
        nn.TransformerEncoder("layer", 2)
    with pytest.raises(ValueError, match="TransformerDecoder: num_layers"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF), -1)


def test_is_causal_without_a_mask_applies_the_causal_mask():
    """tinydl's MultiheadAttention convention (torch refuses the hint without a mask)."""
    rng = np.random.default_rng(6)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, 0.0), 2).double()
    src = T(seq(rng, T_LEN, False))
    np.testing.assert_array_equal(enc(src, is_causal=True).data,
                                  enc(src, mask=causal(T_LEN, "bool")).data)
    assert not np.allclose(enc(src, is_causal=True).data, enc(src).data)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, 0.0), 2).double()
    tgt, mem = T(seq(rng, T_LEN, False)), T(seq(rng, S_LEN, False))
    np.testing.assert_array_equal(dec(tgt, mem, tgt_is_causal=True).data,
                                  dec(tgt, mem, tgt_mask=causal(T_LEN, "float")).data)


# ------------------------------------------------------------ F.multi_head_attention_forward
def test_multi_head_attention_forward_is_the_module_computation():
    """The functional form with a module's parameters gives the module's output (the op table
    checks it against a NumPy reference and torch); ``training=False`` turns dropout off."""
    rng = np.random.default_rng(7)
    mha = nn.MultiheadAttention(D, H, dropout=0.5, kdim=3, vdim=5, batch_first=True).double()
    mha.eval()
    q, k, v = (rng.standard_normal(s) for s in ((N, T_LEN, D), (N, S_LEN, 3), (N, S_LEN, 5)))
    mask = kpm(rng, S_LEN, "bool")
    out, w = mha(q, k, v, key_padding_mask=mask, average_attn_weights=False)
    f_out, f_w = F.multi_head_attention_forward(
        q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1), D, H, None, mha.in_proj_bias,
        None, None, False, 0.5, mha.out_proj.weight, mha.out_proj.bias, training=False,
        key_padding_mask=mask, average_attn_weights=False, use_separate_proj_weight=True,
        q_proj_weight=mha.q_proj_weight, k_proj_weight=mha.k_proj_weight,
        v_proj_weight=mha.v_proj_weight)
    np.testing.assert_allclose(f_out.data.swapaxes(0, 1), out.data, atol=1e-12)
    np.testing.assert_allclose(f_w.data, w.data, atol=1e-12)


def test_multi_head_attention_forward_errors():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((T_LEN, N, D)).astype(np.float32)
    w_in, b_in = np.eye(3 * D, D, dtype=np.float32), np.zeros(3 * D, np.float32)
    w_out, b_out = np.eye(D, dtype=np.float32), np.zeros(D, np.float32)

    def call(module, *args, **kw):
        args = [module.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        kw = {n: module.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
        fn = (TF if module is torch else F).multi_head_attention_forward
        return fn(*args, **kw)

    cases = [  # (positional, keyword, tinydl's error, match)
        ((x, x, x, D + 2, H, w_in, b_in, None, None, False, 0.0, w_out, b_out), {}, ValueError,
         r"multi_head_attention_forward: expected query \(\.\., 10\).*\(5, 3, 8\)"),
        ((x, x, x, D, 3, w_in, b_in, None, None, False, 0.0, w_out, b_out), {}, ValueError,
         r"embed_dim \(8\) must be divisible by num_heads \(3\)"),
        ((x, x, x, D, H, w_in[:D], b_in, None, None, False, 0.0, w_out, b_out), {}, ValueError,
         r"in_proj_weight must be \(24, 8\), got \(8, 8\)"),
        ((x, x[:, :2], x, D, H, w_in, b_in, None, None, False, 0.0, w_out, b_out), {},
         ValueError, r"matching batch.*\(5, 2, 8\)"),
        ((x, x, x, D, H, w_in, b_in, None, None, False, 0.0, w_out, b_out),
         {"attn_mask": np.zeros((2, 2), bool)}, ValueError, r"attn_mask must be \(5, 5\)"),
    ]
    for args, kw, error, match in cases:
        with pytest.raises(Exception):
            call(torch, *args, **kw)
        with pytest.raises(error, match=match):
            call(tinydl, *args, **kw)
    with pytest.raises(NotImplementedError, match="bias_k"):
        F.multi_head_attention_forward(x, x, x, D, H, w_in, b_in, np.zeros((1, 1, D)),
                                       np.zeros((1, 1, D)), False, 0.0, w_out, b_out)
    with pytest.raises(ValueError, match="use_separate_proj_weight=True needs"):
        F.multi_head_attention_forward(x, x, x, D, H, None, b_in, None, None, False, 0.0,
                                       w_out, b_out, use_separate_proj_weight=True)


def test_a_float64_transformer_takes_the_default_float32_causal_mask_as_torch():
    """torch accepts a float32 float mask with float64 attention (its rule: the query's dtype
    or float32); tinydl refused it, so the usual generate_square_subsequent_mask(T) call
    failed on a float64 model."""
    rng = np.random.default_rng(0)
    theirs = torch.nn.Transformer(D, H, 1, 1, FF, 0.0, dtype=torch.float64)
    ours = nn.Transformer(D, H, 1, 1, FF, 0.0, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    src, tgt = rng.standard_normal((5, 2, D)), rng.standard_normal((3, 2, D))
    want = theirs(torch.tensor(src), torch.tensor(tgt),
                  tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(3))
    got = ours(tinydl.Tensor(src), tinydl.Tensor(tgt),
               tgt_mask=nn.Transformer.generate_square_subsequent_mask(3))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-10, atol=1e-12)
