"""Recurrent layers (tinydl/nn/rnn.py): RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU against
torch with the same parameters (float64), their parameters, init, dropout and errors."""
import warnings

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12
# kind -> (tinydl class, torch class, extra constructor arguments)
LAYERS = {
    "RNN_tanh": (nn.RNN, torch.nn.RNN, {}),
    "RNN_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "LSTM": (nn.LSTM, torch.nn.LSTM, {}),
    "GRU": (nn.GRU, torch.nn.GRU, {}),
}
CELLS = {
    "RNNCell_tanh": (nn.RNNCell, torch.nn.RNNCell, {}),
    "RNNCell_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "LSTMCell": (nn.LSTMCell, torch.nn.LSTMCell, {}),
    "GRUCell": (nn.GRUCell, torch.nn.GRUCell, {}),
}
# config -> (constructor arguments, input shape, whether h0 (and c0) are given)
CONFIGS = {
    "one_layer": ({}, (5, 2, 3), False),
    "one_step_h0": ({}, (1, 2, 3), True),
    "two_layers_h0": ({"num_layers": 2}, (6, 3, 3), True),
    "bidirectional": ({"bidirectional": True}, (5, 2, 3), True),
    "two_layers_bidirectional": ({"num_layers": 2, "bidirectional": True}, (7, 2, 3), True),
    "batch_first": ({"batch_first": True, "num_layers": 2}, (2, 5, 3), True),
    "unbatched": ({"num_layers": 2, "bidirectional": True}, (5, 3), True),
    "unbatched_batch_first": ({"batch_first": True}, (4, 3), True),
    "no_bias": ({"bias": False, "num_layers": 2}, (5, 2, 3), True),
}
PROJ_CONFIGS = {
    "proj": ({"proj_size": 2}, (5, 2, 3), True),
    "proj_two_layers_bidirectional": ({"proj_size": 3, "num_layers": 2, "bidirectional": True},
                                      (6, 2, 3), True),
    "proj_unbatched_no_bias": ({"proj_size": 2, "bias": False}, (5, 3), False),
}
HIDDEN = 4


def pair(kind, table, **kwargs):
    """A torch module (float64) and the tinydl module of the same kind with its parameters."""
    ours, theirs, extra = table[kind]
    torch_module = theirs(**kwargs, **extra, dtype=torch.float64)
    module = ours(**kwargs, **extra, dtype=np.float64)
    module.load_state_dict(torch_module.state_dict())  # torch tensors load as they are
    return module, torch_module


def initial_states(kind, module, x_shape, batched, rng):
    """h0 (and c0 for an LSTM) arrays of the shapes the module expects."""
    d = 2 if module.bidirectional else 1
    if kind.startswith("LSTM"):
        sizes = (module.proj_size or module.hidden_size, module.hidden_size)
    else:
        sizes = (module.hidden_size,)
    batch = (x_shape[0] if module.batch_first else x_shape[1],) if batched else ()
    return [rng.standard_normal((module.num_layers * d,) + batch + (s,)) for s in sizes]


def as_list(states):
    return list(states) if isinstance(states, tuple) else [states]


def run_both(module, torch_module, x, states, hx_given, lstm, rng):
    """Forward both, backpropagate the same random projection of every output; returns the
    tinydl and torch (outputs, gradients), each a dict of arrays."""
    X = tinydl.Tensor(x, requires_grad=True)
    S = [tinydl.Tensor(s, requires_grad=True) for s in states]
    tx = torch.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    hx = None if not hx_given else (tuple(S) if lstm else S[0])
    thx = None if not hx_given else (tuple(ts) if lstm else ts[0])
    results = []
    for mod, inp, hx_, state_leaves, to_np in ((module, X, hx, S, lambda t: t.data),
                                               (torch_module, tx, thx, ts,
                                                lambda t: t.detach().numpy())):
        out = mod(inp, hx_)
        outputs = [out] if not isinstance(out, tuple) else [out[0]] + as_list(out[1])
        weights = np.random.default_rng(1)
        loss = 0
        for o in outputs:
            w = weights.standard_normal(tuple(o.shape))
            loss = loss + (o * (tinydl.Tensor(w) if mod is module else torch.tensor(w))).sum()
        loss.backward()
        grads = {"input": to_np(inp.grad)}
        if hx_given:
            grads.update({f"state{i}": to_np(s.grad) for i, s in enumerate(state_leaves)})
        grads.update({name: to_np(p.grad) for name, p in mod.named_parameters()})
        results.append(([to_np(o) for o in outputs], grads))
    return results


def assert_same(ours, theirs, what):
    (outs, grads), (touts, tgrads) = ours, theirs
    assert len(outs) == len(touts), what
    for k, (a, b) in enumerate(zip(outs, touts)):
        assert a.shape == b.shape, f"{what}: output {k} shape {a.shape} vs torch {b.shape}"
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{what}: output {k}")
    assert grads.keys() == tgrads.keys(), what
    for key in grads:
        np.testing.assert_allclose(grads[key], tgrads[key], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{what}: gradient of {key}")


# ----------------------------------------------------------------------------- layers
@pytest.mark.parametrize("kind, config", [(kind, config) for kind in LAYERS for config in CONFIGS]
                         + [("LSTM", config) for config in PROJ_CONFIGS])
def test_layer_matches_torch_outputs_states_and_gradients(kind, config):
    kwargs, shape, hx_given = {**CONFIGS, **PROJ_CONFIGS}[config]
    rng = np.random.default_rng(0)
    module, torch_module = pair(kind, LAYERS, input_size=3, hidden_size=HIDDEN, **kwargs)
    x = rng.standard_normal(shape)
    states = initial_states(kind, module, shape, len(shape) == 3, rng)
    ours, theirs = run_both(module, torch_module, x, states, hx_given, kind == "LSTM", rng)
    assert_same(ours, theirs, f"{kind} {config}")


def test_layers_in_float32_match_torch_and_keep_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    for kind, (ours, theirs, extra) in LAYERS.items():
        torch_module = theirs(3, HIDDEN, num_layers=2, bidirectional=True, **extra)
        module = ours(3, HIDDEN, num_layers=2, bidirectional=True, **extra)
        assert all(p.dtype == np.float32 for p in module.parameters()), kind
        module.load_state_dict(torch_module.state_dict())
        out, states = module(x)
        tout, tstates = torch_module(torch.tensor(x))
        assert out.dtype == np.float32 and as_list(states)[0].dtype == np.float32, kind
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
        for a, b in zip(as_list(states), as_list(tstates)):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layer_with_an_empty_batch_gives_torch_shapes():
    x = np.zeros((4, 0, 3), dtype=np.float32)
    for kind, (ours, theirs, extra) in LAYERS.items():
        out, states = ours(3, HIDDEN, bidirectional=True, **extra)(x)
        tout, tstates = theirs(3, HIDDEN, bidirectional=True, **extra)(torch.tensor(x))
        assert out.shape == tuple(tout.shape), kind
        assert [s.shape for s in as_list(states)] == [tuple(s.shape) for s in as_list(tstates)]


def test_a_long_sequence_matches_torch():
    # 37 steps: the halving that cuts the projection into time steps goes several levels deep
    module, torch_module = pair("LSTM", LAYERS, input_size=3, hidden_size=HIDDEN,
                                bidirectional=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 2, 3))
    states = initial_states("LSTM", module, x.shape, True, rng)
    ours, theirs = run_both(module, torch_module, x, states, True, True, rng)
    assert_same(ours, theirs, "LSTM, 37 steps")


@pytest.mark.parametrize("kind", LAYERS)
def test_parameters_state_dict_and_all_weights_match_torch(kind):
    for kwargs in ({}, {"num_layers": 3, "bidirectional": True, "bias": False},
                   {"num_layers": 2, "bidirectional": True, "proj_size": 2}):
        if "proj_size" in kwargs and kind != "LSTM":
            continue
        ours, theirs, extra = LAYERS[kind]
        module, torch_module = ours(5, HIDDEN, **kwargs, **extra), theirs(5, HIDDEN, **kwargs,
                                                                          **extra)
        ours_sd, theirs_sd = module.state_dict(), torch_module.state_dict()
        assert list(ours_sd) == list(theirs_sd), (kind, kwargs)
        assert [v.shape for v in ours_sd.values()] == [tuple(v.shape)
                                                       for v in theirs_sd.values()]
        assert [n for n, _ in module.named_parameters()] == [
            n for n, _ in torch_module.named_parameters()]
        assert [[p.shape for p in group] for group in module.all_weights] == [
            [tuple(p.shape) for p in group] for group in torch_module.all_weights]
        assert module.flatten_parameters() is None
        assert module.load_state_dict(theirs_sd) == ([], [])
        assert all(np.array_equal(ours_sd[k].data, v.numpy()) for k, v in theirs_sd.items())


@pytest.mark.parametrize("kind", list(LAYERS) + list(CELLS))
def test_init_is_uniform_in_one_over_sqrt_hidden_and_seeded(kind):
    ours = (LAYERS.get(kind) or CELLS[kind])[0]
    extra = (LAYERS.get(kind) or CELLS[kind])[2]
    hidden = 25
    tinydl.manual_seed(7)
    module = ours(30, hidden, **extra)
    values = np.concatenate([p.data.ravel() for p in module.parameters()])
    bound = 1 / np.sqrt(hidden)
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.98 * bound, kind
    # uniform: a quarter of the values in each quarter of [-bound, bound]
    counts = np.histogram(values, bins=4, range=(-bound, bound))[0] / values.size
    np.testing.assert_allclose(counts, 0.25, atol=0.03, err_msg=kind)
    tinydl.manual_seed(7)
    again = np.concatenate([p.data.ravel() for p in ours(30, hidden, **extra).parameters()])
    assert np.array_equal(values, again), f"{kind}: manual_seed does not fix the init"
    module.reset_parameters()
    assert not np.array_equal(values, np.concatenate([p.data.ravel()
                                                      for p in module.parameters()]))


def test_reprs_match_torch():
    cases = [((3, 4), {}), ((3, 4, 2), {"bias": False, "batch_first": True, "dropout": 0.25,
                                        "bidirectional": True}),
             ((3, 4), {"proj_size": 2, "num_layers": 2})]
    for ours, theirs in ((nn.LSTM, torch.nn.LSTM), (nn.GRU, torch.nn.GRU),
                         (nn.RNN, torch.nn.RNN)):
        for args, kwargs in cases:
            if "proj_size" in kwargs and ours is not nn.LSTM:
                continue
            assert repr(ours(*args, **kwargs)) == repr(theirs(*args, **kwargs))
    for ours, theirs, kwargs in ((nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
                                 (nn.LSTMCell, torch.nn.LSTMCell, {}),
                                 (nn.GRUCell, torch.nn.GRUCell, {"bias": False})):
        assert repr(ours(3, 4, **kwargs)) == repr(theirs(3, 4, **kwargs))
    # torch's RNN leaves a relu nonlinearity out of its repr; ours shows it
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity=relu)"


def test_positional_arguments_land_where_torchs_do():
    module = nn.RNN(3, 4, 2, "relu", False, True, 0.5, True)
    assert (module.num_layers, module.nonlinearity, module.bias, module.batch_first,
            module.dropout, module.bidirectional) == (2, "relu", False, True, 0.5, True)
    module = nn.LSTM(3, 4, 2, False, True, 0.5, True, 2)
    assert (module.num_layers, module.bias, module.batch_first, module.dropout,
            module.bidirectional, module.proj_size) == (2, False, True, 0.5, True, 2)
    cell = nn.RNNCell(3, 4, False, "relu")
    assert (cell.bias, cell.nonlinearity) == (False, "relu")


# ----------------------------------------------------------------------------- cells
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", ["batched", "batched_hx", "unbatched", "unbatched_hx"])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_torch_outputs_and_gradients(kind, mode, bias):
    rng = np.random.default_rng(0)
    module, torch_module = pair(kind, CELLS, input_size=3, hidden_size=HIDDEN, bias=bias)
    batched, hx_given = mode.startswith("batched"), mode.endswith("hx")
    x = rng.standard_normal((2, 3) if batched else (3,))
    n_states = 2 if kind == "LSTMCell" else 1
    states = [rng.standard_normal((2, HIDDEN) if batched else (HIDDEN,))
              for _ in range(n_states)]
    X = tinydl.Tensor(x, requires_grad=True)
    S = [tinydl.Tensor(s, requires_grad=True) for s in states]
    tx, ts = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True)
                                                   for s in states]
    hx = (tuple(S) if n_states == 2 else S[0]) if hx_given else None
    thx = (tuple(ts) if n_states == 2 else ts[0]) if hx_given else None
    out, tout = as_list(module(X, hx)), as_list(torch_module(tx, thx))
    assert len(out) == len(tout) == n_states
    weights = np.random.default_rng(1)
    loss, tloss = 0, 0
    for o, t in zip(out, tout):
        np.testing.assert_allclose(o.data, t.detach().numpy(), rtol=RTOL, atol=ATOL)
        w = weights.standard_normal(o.shape)
        loss, tloss = loss + (o * tinydl.Tensor(w)).sum(), tloss + (t * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    pairs = [(X, tx)] + (list(zip(S, ts)) if hx_given else [])
    pairs += list(zip(module.parameters(), torch_module.parameters()))
    for k, (a, b) in enumerate(pairs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{kind} {mode}: gradient {k}")


def test_cell_state_dict_matches_torch():
    for kind in CELLS:
        module, torch_module = pair(kind, CELLS, input_size=3, hidden_size=HIDDEN, bias=False)
        assert [(k, v.shape) for k, v in module.state_dict().items()] == [
            (k, tuple(v.shape)) for k, v in torch_module.state_dict().items()]


# ----------------------------------------------------------------------------- gradcheck
def test_gradcheck_lstm_and_gru_and_gradgradcheck_rnn_cell():
    rng = np.random.default_rng(3)
    x = tinydl.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    for module, n_states in ((nn.LSTM(2, 2, num_layers=2, bidirectional=True, proj_size=1,
                                      dtype=np.float64), 2),
                             (nn.GRU(2, 2, num_layers=2, bidirectional=True,
                                     dtype=np.float64), 1)):
        shapes = [(4, 2, 1), (4, 2, 2)][:n_states] if n_states == 2 else [(4, 2, 2)]
        states = [tinydl.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]

        def fn(x, *args, module=module, n=n_states):
            hx = tuple(args[:n]) if n == 2 else args[0]
            out, final = module(x, hx)
            return (out,) + tuple(as_list(final))

        assert tinydl.gradcheck(fn, (x, *states, *module.parameters()))

    cell = nn.RNNCell(2, 3, dtype=np.float64)
    h = tinydl.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert tinydl.gradgradcheck(lambda x, h, *params: cell(x, h),
                                (tinydl.Tensor(x.data[0], requires_grad=True), h,
                                 *cell.parameters()))


def test_second_derivatives_of_a_gru_layer_match_torch():
    module, torch_module = pair("GRU", LAYERS, input_size=2, hidden_size=3, num_layers=2)
    x = np.random.default_rng(4).standard_normal((4, 2, 2))
    X, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = tinydl.grad((module(X)[0] ** 2).sum(), [X], create_graph=True)
    (tg,) = torch.autograd.grad((torch_module(tx)[0] ** 2).sum(), [tx], create_graph=True)
    (g ** 2).sum().backward()
    (tg ** 2).sum().backward()
    np.testing.assert_allclose(X.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), tp in zip(module.named_parameters(), torch_module.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


# ----------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_acts_between_layers_in_training_only(kind):
    ours, _, extra = LAYERS[kind]
    x = tinydl.Tensor(np.random.default_rng(5).standard_normal((5, 2, 3)).astype(np.float32))
    module = ours(3, HIDDEN, num_layers=2, dropout=1.0, **extra)
    plain = ours(3, HIDDEN, num_layers=2, **extra)
    plain.load_state_dict(module.state_dict())
    second = ours(HIDDEN, HIDDEN, **extra)
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in module.state_dict().items()
                            if "_l1" in k})
    module.eval()
    out, states = module(x)
    pout, pstates = plain(x)
    np.testing.assert_array_equal(out.data, pout.data)  # eval: no dropout
    module.train()
    out, states = module(x)
    # p = 1 zeroes the second layer's input, not its output nor the first layer's states
    np.testing.assert_allclose(out.data, second(np.zeros((5, 2, HIDDEN), np.float32))[0].data,
                               rtol=1e-6, atol=1e-7)
    assert np.abs(out.data).max() > 0
    for s, p in zip(as_list(states), as_list(pstates)):
        np.testing.assert_array_equal(s.data[0], p.data[0])
    # p = 0.5: seeded, so reproducible, and different from eval
    module.dropout = 0.5
    tinydl.manual_seed(3)
    first = module(x)[0].data
    tinydl.manual_seed(3)
    np.testing.assert_array_equal(module(x)[0].data, first)
    assert not np.allclose(first, pout.data)


# ----------------------------------------------------------------------------- errors
def raises_like_torch(ours, theirs, error, match):
    """Both calls raise; ours with ``error`` and a message matching ``match``."""
    with pytest.raises(Exception):
        theirs()
    with pytest.raises(error, match=match):
        ours()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_constructor_errors_and_warning_as_torch(name):
    ours, theirs = getattr(nn, name), getattr(torch.nn, name)
    for kwargs, error, match in (
            ({"dropout": 1.5, "num_layers": 2}, ValueError, r"dropout should be a number in \[0"),
            ({"dropout": -0.1, "num_layers": 2}, ValueError, "dropout should be"),
            ({"dropout": True, "num_layers": 2}, ValueError, "dropout should be"),
            ({"dropout": "0.5", "num_layers": 2}, ValueError, "dropout should be"),
            ({"num_layers": 0}, ValueError, "num_layers must be positive"),
            ({"num_layers": 2.0}, TypeError, "num_layers must be an integer"),
            ({"hidden_size": 0}, ValueError, "hidden_size must be positive"),
            ({"hidden_size": 4.0}, TypeError, "hidden_size must be an integer"),
            ({"input_size": 0}, ValueError, "input_size must be positive"),
            ({"proj_size": -1}, ValueError, "proj_size must be non-negative"),
            ({"proj_size": 4}, ValueError,
             "proj_size (.4.) has to be smaller than hidden_size" if name == "LSTM" else
             "proj_size is only supported for LSTM")):
        full = {"input_size": 3, "hidden_size": 4, **kwargs}
        raises_like_torch(lambda: ours(**full), lambda: theirs(**full), error,
                          f"{name}: {match}")
    with pytest.warns(UserWarning, match=f"{name}: dropout .* num_layers=1 has no effect"):
        ours(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours(3, 4, num_layers=1, dropout=0)
        ours(3, 4, num_layers=2, dropout=1)
    if name != "LSTM":
        raises_like_torch(lambda: ours(3, 4, proj_size=2), lambda: theirs(3, 4, proj_size=2),
                          ValueError, f"{name}: proj_size is only supported for LSTM")
    with pytest.raises(TypeError, match=f"{name}: parameters must have a floating dtype"):
        ours(3, 4, dtype=np.int64)
    with pytest.raises(tinydl.DeviceError, match=name):
        ours(3, 4, device="cuda")


def test_an_unknown_nonlinearity_is_refused_at_construction():
    raises_like_torch(lambda: nn.RNN(3, 4, nonlinearity="sigmoid"),
                      lambda: torch.nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError,
                      "RNN: unknown nonlinearity 'sigmoid'")
    # torch's RNNCell takes it and raises at the first forward; ours refuses it at once
    raises_like_torch(lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"),
                      lambda: torch.nn.RNNCell(3, 4, nonlinearity="sigmoid")(torch.zeros(3)),
                      ValueError, "RNNCell: unknown nonlinearity 'sigmoid'")


def test_layer_forward_errors_name_the_layer_and_the_shapes():
    lstm, tlstm = nn.LSTM(3, 4, num_layers=2), torch.nn.LSTM(3, 4, num_layers=2)
    gru, tgru = nn.GRU(3, 4), torch.nn.GRU(3, 4)
    f, d = np.float32, np.float64
    x, tx = np.zeros((5, 2, 3), f), torch.zeros(5, 2, 3)
    h, th = np.zeros((2, 2, 4), f), torch.zeros(2, 2, 4)
    cases = [
        (lambda m: m(np.zeros((5, 2, 4), f)), r"expected input of shape \(L, N, H_in\) or "
                                              r"unbatched \(L, H_in\) with H_in = input_size "
                                              r"= 3, got \(5, 2, 4\)"),
        (lambda m: m(np.zeros((5, 2, 3, 1), f)), r"expected input of shape"),
        (lambda m: m(np.zeros(3, f)), r"expected input of shape"),
        (lambda m: m(np.zeros((0, 2, 3), f)),
         r"expected a sequence length larger than 0, got input of shape \(0, 2, 3\)"),
        (lambda m: m(np.zeros((5, 2, 3), d)), "input of dtype float64"),
        (lambda m: m(x, (np.zeros((1, 2, 4), f), h)),
         r"expected h_0 of shape \(2, 2, 4\) \(num_layers \* num_directions, batch, "
         r"hidden_size\) for batched input, got \(1, 2, 4\)"),
        (lambda m: m(x, (h, np.zeros((2, 3, 4), f))), r"expected c_0 of shape \(2, 2, 4\)"),
        (lambda m: m(x, (np.zeros((2, 4), f),) * 2), r"expected h_0 of shape \(2, 2, 4\)"),
        (lambda m: m(np.zeros((5, 3), f), (h, h)),
         r"expected h_0 of shape \(2, 4\) .* for unbatched input, got \(2, 2, 4\)"),
        (lambda m: m(x, h), r"hx must be a pair \(h_0, c_0\) of Tensors, got ndarray"),
        (lambda m: m(x, (h,)), r"hx must be a pair .* got tuple of length 1"),
        (lambda m: m(x, (h.astype(d), h)), "h_0 of dtype float64 does not match"),
    ]
    for call, match in cases:
        def theirs(call=call):
            return call(lambda inp, hx=None: tlstm(_torch(inp), _torch(hx)))
        raises_like_torch(lambda: call(lstm), theirs, (ValueError, TypeError),
                          f"LSTM: {match}")
    raises_like_torch(lambda: gru(x, (h[:1], h[:1])), lambda: tgru(tx, (th[:1], th[:1])),
                      TypeError, r"GRU: hx must be a Tensor \(h_0\), got tuple")
    raises_like_torch(lambda: gru(x, h), lambda: tgru(tx, th), ValueError,
                      r"GRU: expected h_0 of shape \(1, 2, 4\)")
    gru_bf = nn.GRU(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"GRU: expected input of shape \(N, L, H_in\)"):
        gru_bf(np.zeros((2, 5, 2), f))


def test_inputs_other_than_tensors_arrays_or_packed_sequences_are_refused():
    # (the layers' PackedSequence input is tested in test_rnn_packed.py)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(5, 2, 3), [5, 3])
    with pytest.raises(TypeError, match=r"LSTM: input must be a Tensor, an array or a "
                                        r"PackedSequence, got torch.nn.utils.rnn.PackedSequence"):
        nn.LSTM(3, 4)(packed)  # torch's own PackedSequence is not tinydl's
    ours = tinydl.nn.utils.rnn.pack_padded_sequence(np.zeros((5, 2, 3), np.float32), [5, 3])
    raises_like_torch(lambda: nn.GRUCell(3, 4)(ours), lambda: torch.nn.GRUCell(3, 4)(packed),
                      TypeError, "GRUCell: input must be a Tensor or an array, got "
                                 "tinydl.nn.utils.rnn.PackedSequence")
    with pytest.raises(TypeError, match="GRUCell: input must be a Tensor or an array, got list"):
        nn.GRUCell(3, 4)([0.0, 1.0, 2.0])


def test_cell_forward_errors_name_the_cell_and_the_shapes():
    f = np.float32
    cell, tcell = nn.LSTMCell(3, 4), torch.nn.LSTMCell(3, 4)
    good = np.zeros((2, 4), f)
    cases = [
        (lambda m: m(np.zeros((2, 2, 3), f)), r"expected input of shape \(N, 3\) or unbatched "
                                              r"\(3,\), got \(2, 2, 3\)"),
        (lambda m: m(np.zeros((2, 5), f)), r"expected input of shape .* got \(2, 5\)"),
        (lambda m: m(np.zeros((2, 3), f), (np.zeros((3, 4), f), good)),
         r"expected h_0 of shape \(2, 4\) \(batch, hidden_size\) for batched input, got "
         r"\(3, 4\)"),
        (lambda m: m(np.zeros((2, 3), f), (good, np.zeros((2, 5), f))),
         r"expected c_0 of shape \(2, 4\)"),
        (lambda m: m(np.zeros(3, f), (good, good)),
         r"expected h_0 of shape \(4,\) \(hidden_size\) for unbatched input, got \(2, 4\)"),
        (lambda m: m(np.zeros((2, 3), np.float64)), "input of dtype float64"),
    ]
    for call, match in cases:
        def theirs(call=call):
            return call(lambda inp, hx=None: tcell(_torch(inp), _torch(hx)))
        raises_like_torch(lambda: call(cell), theirs, (ValueError, TypeError),
                          f"LSTMCell: {match}")
    rnn_cell, trnn_cell = nn.RNNCell(3, 4), torch.nn.RNNCell(3, 4)
    raises_like_torch(lambda: rnn_cell(np.zeros((2, 3), f), np.zeros((2, 4, 1), f)),
                      lambda: trnn_cell(torch.zeros(2, 3), torch.zeros(2, 4, 1)), ValueError,
                      r"RNNCell: expected h_0 of shape \(2, 4\)")


def _torch(value):
    """Arrays (and tuples of arrays) as torch tensors, for the torch side of an error case."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_torch(v) for v in value)
    return torch.from_numpy(value)


def test_rnn_mode_and_attention_option_attributes_read_as_torch():
    # code that inspects a layer reads these (an exporter, a custom init)
    assert [m.mode for m in (nn.RNN(2, 3), nn.RNN(2, 3, nonlinearity="relu"), nn.LSTM(2, 3),
                             nn.GRU(2, 3))] == ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
    attention = nn.MultiheadAttention(4, 2)
    assert attention.bias_k is None and attention.bias_v is None
    assert attention.add_zero_attn is False
    assert "bias_k" not in attention.state_dict()
