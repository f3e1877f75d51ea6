"""Packed sequences: the utilities of tinydl/nn/utils/rnn.py through the op table and against
torch (values, batch_sizes, sorted/unsorted indices, errors), and RNN, LSTM, GRU
(tinydl/nn/rnn.py) on PackedSequence input against torch's modules holding the same
parameters (float64): packed output, h_n/c_n and every gradient."""
import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tests import _reference as ref
from tests.nn.test_rnn import raises_like_torch
from tests.ops._table import OpCase, OpTable
from tinydl.nn.utils import rnn

torch = pytest.importorskip("torch")

LENGTHS = [3, 5, 2, 5]  # unsorted, with a tie (the stable sort keeps sequence 1 before 3)
SORTED = [5, 4, 4, 1]
DATA, SIZES, ORDER = ref.pack_padded(np.zeros((5, 4)), LENGTHS)  # the packing of LENGTHS
RTOL, ATOL = 1e-10, 1e-12


def trnn():
    """torch.nn.utils.rnn (looked up when a torch check runs)."""
    return torch.nn.utils.rnn


# ----------------------------------------------------------------------------- the op table
def _packed_ours(data):
    return rnn.PackedSequence(data, SIZES, ORDER)


def _packed_torch(data):
    return trnn().PackedSequence(data, torch.tensor(SIZES), torch.tensor(ORDER))


CASES = [
    OpCase("pack_padded_sequence_unsorted",
           lambda x: rnn.pack_padded_sequence(x, LENGTHS, enforce_sorted=False).data,
           lambda x: ref.pack_padded(x, LENGTHS)[0], ((5, 4, 2),),
           torch=lambda x: trnn().pack_padded_sequence(x, LENGTHS, enforce_sorted=False).data,
           exact=True, empty=((5, 4, 0),)),
    OpCase("pack_padded_sequence_batch_first_sorted",  # T = 6 > the longest length
           lambda x: rnn.pack_padded_sequence(x, SORTED, batch_first=True).data,
           lambda x: ref.pack_padded(x, SORTED, batch_first=True)[0], ((4, 6, 3),),
           torch=lambda x: trnn().pack_padded_sequence(x, SORTED, batch_first=True).data,
           exact=True),
    OpCase("pad_packed_sequence",
           lambda d: rnn.pad_packed_sequence(_packed_ours(d), batch_first=True,
                                             padding_value=-1.5, total_length=7)[0],
           lambda d: ref.pad_packed(d, SIZES, ORDER, 7, -1.5, batch_first=True),
           ((sum(LENGTHS), 2),),
           torch=lambda d: trnn().pad_packed_sequence(_packed_torch(d), batch_first=True,
                                                      padding_value=-1.5, total_length=7)[0],
           exact=True),
    OpCase("pad_sequence_right",
           lambda a, b, c: rnn.pad_sequence([a, b, c]),
           lambda a, b, c: ref.pad_sequences([a, b, c]), ((2, 3), (4, 3), (1, 3)),
           torch=lambda a, b, c: trnn().pad_sequence([a, b, c]),
           exact=True, empty=((2, 0), (4, 0), (0, 0))),
    OpCase("pad_sequence_left_batch_first",
           lambda a, b, c: rnn.pad_sequence([a, b, c], True, 0.5, "left"),
           lambda a, b, c: ref.pad_sequences([a, b, c], 0.5, left=True, batch_first=True),
           ((2, 3, 2), (4, 3, 2), (1, 3, 2)),
           torch=lambda a, b, c: trnn().pad_sequence([a, b, c], True, 0.5, "left"),
           exact=True),
    OpCase("unpad_sequence",
           lambda x: rnn.unpad_sequence(x, [2, 4, 0], batch_first=True),
           lambda x: [x[0, :2], x[1, :4], x[2, :0]], ((3, 4, 2),),
           # batch_first: torch's unpad_sequence transposes a time-major input in place
           torch=lambda x: trnn().unpad_sequence(x, torch.tensor([2, 4, 0]), batch_first=True),
           exact=True),
    OpCase("pack_sequence_unsorted",
           lambda a, b, c: rnn.pack_sequence([a, b, c], enforce_sorted=False).data,
           lambda a, b, c: ref.pack_padded(ref.pad_sequences([a, b, c]), [2, 4, 1])[0],
           ((2, 3), (4, 3), (1, 3)),
           torch=lambda a, b, c: trnn().pack_sequence([a, b, c], enforce_sorted=False).data,
           exact=True),
    OpCase("unpack_sequence_of_pack_sequence",
           lambda a, b, c: rnn.unpack_sequence(rnn.pack_sequence([a, b, c],
                                                                 enforce_sorted=False)),
           lambda a, b, c: [a, b, c], ((2, 3), (4, 3), (1, 3)),
           torch=lambda a, b, c: trnn().unpack_sequence(trnn().pack_sequence(
               [a, b, c], enforce_sorted=False)),
           exact=True),
]


class TestPackedSequenceOps(OpTable):
    cases = CASES


# ----------------------------------------------------------------------------- the utilities
@pytest.mark.parametrize("lengths, batch_first, enforce_sorted",
                         [(SORTED, False, True), (SORTED, True, False), (LENGTHS, False, False),
                          (LENGTHS, True, False), ([1, 2, 2, 1, 2, 1], False, False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packing_and_padding_back_match_torch(lengths, batch_first, enforce_sorted, dtype):
    shape = (len(lengths), 6, 2) if batch_first else (6, len(lengths), 2)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    packed = rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    tpacked = trnn().pack_padded_sequence(torch.from_numpy(x), lengths, batch_first,
                                          enforce_sorted)
    assert isinstance(packed, rnn.PackedSequence) and packed.data.dtype == dtype
    np.testing.assert_array_equal(packed.data.data, tpacked.data.numpy())
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(packed, field), getattr(tpacked, field)
        if theirs is None:
            assert ours is None, field
        else:
            assert ours.dtype == np.int64, field
            np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=field)
    for total_length in (None, 8):
        padded, out_lengths = rnn.pad_packed_sequence(packed, batch_first, 2.5, total_length)
        tpadded, tlengths = trnn().pad_packed_sequence(tpacked, batch_first, 2.5, total_length)
        assert padded.dtype == dtype and out_lengths.dtype == np.int64
        np.testing.assert_array_equal(padded.data, tpadded.numpy())
        np.testing.assert_array_equal(out_lengths.data, tlengths.numpy())


def test_pad_sequence_takes_a_tensor_and_padding_values_as_torch():
    x = np.random.default_rng(1).standard_normal((3, 4))
    # a Tensor is a sequence of its rows: here 3 sequences of length 4
    np.testing.assert_array_equal(rnn.pad_sequence(tinydl.Tensor(x)).data,
                                  trnn().pad_sequence(torch.from_numpy(x)).numpy())
    seqs = [np.arange(2, dtype=np.int64), np.arange(3, dtype=np.int64)]
    ours = rnn.pad_sequence(seqs, padding_value=-1)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.data, trnn().pad_sequence(
        [torch.from_numpy(s) for s in seqs], padding_value=-1).numpy())
    nan = rnn.pad_sequence([np.ones((1, 2)), np.ones((2, 2))], padding_value=np.nan)
    np.testing.assert_array_equal(np.isnan(nan.data), [[[0, 0], [0, 0]], [[1, 1], [0, 0]]])


def test_packed_sequence_is_torchs_namedtuple_with_its_helpers():
    data = np.ones((4, 2), np.float32)
    packed = rnn.PackedSequence(data, [2, 1, 1], [1, 0])
    assert isinstance(packed, tuple) and packed._fields == ("data", "batch_sizes",
                                                           "sorted_indices", "unsorted_indices")
    data_t, sizes, order, inverse = packed
    assert isinstance(data_t, tinydl.Tensor) and sizes.dtype == np.int64
    np.testing.assert_array_equal(inverse.data, [1, 0])  # the inverse of sorted_indices
    assert repr(packed).startswith("PackedSequence(data=tensor(")
    assert rnn.PackedSequence((data, [2, 1, 1])).sorted_indices is None  # torch's older form
    double = packed.double()
    assert double.data.dtype == np.float64 and double.batch_sizes is packed.batch_sizes
    assert packed.float() is packed and packed.to("cpu") is packed and packed.cpu() is packed
    assert packed.to(np.float64).data.dtype == np.float64 and not packed.is_cuda
    perm = [2, 0, 3, 1]
    np.testing.assert_array_equal(rnn.invert_permutation(perm).data,
                                  trnn().invert_permutation(torch.tensor(perm)).numpy())
    assert rnn.invert_permutation(None) is None


def test_the_names_are_reachable_as_in_torch():
    import tinydl.nn.utils.rnn as module
    assert nn.utils.rnn is module and "rnn" in nn.utils.__all__
    assert module.__all__ == trnn().__all__
    from tinydl.nn.utils.rnn import pack_padded_sequence
    assert pack_padded_sequence is rnn.pack_padded_sequence


def test_gradients_of_every_order_through_pack_and_pad_match_torch():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((5, 4, 2)), rng.standard_normal((4, 6, 2))
    X, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    results = []
    for utils, inp, weight in ((rnn, X, tinydl.Tensor(w)), (trnn(), tx, torch.tensor(w))):
        packed = utils.pack_padded_sequence(inp, LENGTHS, enforce_sorted=False)
        squared = packed._replace(data=packed.data ** 3)
        padded, _ = utils.pad_packed_sequence(squared, batch_first=True, total_length=6)
        loss = (padded * weight).sum()
        grad_fn = tinydl.grad if utils is rnn else torch.autograd.grad
        (g,) = grad_fn(loss, [inp], create_graph=True)
        (g ** 2).sum().backward()
        results.append((g, inp.grad))
    (g, gg), (tg, tgg) = results
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=RTOL, atol=ATOL)


def test_utility_errors_name_the_function_and_values_where_torch_raises():
    x, tx = np.zeros((5, 3, 2)), torch.zeros(5, 3, 2)
    a, b = np.zeros((2, 2)), np.zeros((3, 2))
    ta, tb = torch.zeros(2, 2), torch.zeros(3, 2)
    cases = [
        (lambda u, x: u.pack_padded_sequence(x, [3, 5, 2]), ValueError,
         r"pack_padded_sequence: lengths must be sorted in decreasing order when "
         r"enforce_sorted=True, got \[3, 5, 2\]; pass enforce_sorted=False"),
        (lambda u, x: u.pack_padded_sequence(x, [5, 3, 0]), ValueError,
         r"pack_padded_sequence: every length must be greater than 0, got \[5, 3, 0\]"),
        (lambda u, x: u.pack_padded_sequence(x, [3, 0, 2], enforce_sorted=False), ValueError,
         r"pack_padded_sequence: every length must be greater than 0, got \[3, 0, 2\]"),
        (lambda u, x: u.pack_padded_sequence(x, [5, 3]), ValueError,
         r"pack_padded_sequence: expected one length per sequence, got 2 lengths for a "
         r"batch of 3"),
        (lambda u, x: u.pack_padded_sequence(x, [[5, 3, 2]]), ValueError,
         r"pack_padded_sequence: lengths must be 1-D .* got shape \(1, 3\)"),
        (lambda u, x: u.pack_padded_sequence(x[:, :0], []), ValueError,
         r"pack_padded_sequence: cannot pack an empty batch"),
        (lambda u, x: u.pad_packed_sequence(u.pack_padded_sequence(x, [5, 3, 2]),
                                            total_length=4), ValueError,
         r"pad_packed_sequence: total_length=4 is shorter than the longest sequence "
         r"\(5 steps\)"),
    ]
    for call, error, match in cases:
        raises_like_torch(lambda: call(rnn, x), lambda: call(trnn(), tx), error, match)
    seq_cases = [
        (lambda u, a, b: u.pad_sequence([]), ValueError,
         "pad_sequence: received an empty list of sequences"),
        (lambda u, a, b: u.pad_sequence([a, b.reshape(2, 3)]), ValueError,
         r"pad_sequence: sequences must be \(L_i, \*\) with the same \* shape, got shapes "
         r"\[\(2, 2\), \(2, 3\)\]"),
        (lambda u, a, b: u.pad_sequence([a, b], padding_side="middle"), ValueError,
         "pad_sequence: padding_side must be 'left' or 'right', got 'middle'"),
        (lambda u, a, b: u.pack_sequence([a, b]), ValueError,
         r"pack_sequence: lengths must be sorted in decreasing order .* got \[2, 3\]"),
        (lambda u, a, b: u.pack_sequence([b, a[:0]]), ValueError,
         r"pack_sequence: every length must be greater than 0, got \[3, 0\]"),
    ]
    for call, error, match in seq_cases:
        raises_like_torch(lambda: call(rnn, a, b), lambda: call(trnn(), ta, tb), error, match)


def test_utility_errors_where_torch_gives_a_silent_wrong_answer():
    # torch packs lengths beyond the input into batch_sizes that do not match its data
    x = np.zeros((5, 3, 2))
    assert trnn().pack_padded_sequence(torch.zeros(5, 3, 2), [6, 3, 2]).batch_sizes.sum() == 11
    with pytest.raises(ValueError, match=r"pack_padded_sequence: lengths \[6, 3, 2\] exceed "
                                         r"the 5 time steps of the input of shape \(5, 3, 2\)"):
        rnn.pack_padded_sequence(x, [6, 3, 2])
    with pytest.raises(ValueError, match=r"unpad_sequence: expected 3 lengths in 0..5 for the "
                                         r"padded input of shape \(5, 3, 2\), got \[6, 1, 1\]"):
        rnn.unpad_sequence(x, [6, 1, 1])
    with pytest.raises(TypeError, match="pack_padded_sequence: lengths must be integers, got "
                                        r"\[5.5, 3.0, 2.0\]"):
        rnn.pack_padded_sequence(x, [5.5, 3, 2])  # torch truncates to 5
    with pytest.raises(TypeError, match="pad_sequence: sequences must share one dtype, got "
                                        r"float32 \(sequence 0\) and float64 \(sequence 1\)"):
        rnn.pad_sequence([np.zeros(2, np.float32), np.zeros(3)])  # torch casts to the first's
    assert trnn().pad_sequence([torch.zeros(2, 2), torch.ones(3, 1)])[2, 1].tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"pad_sequence: sequences must be \(L_i, \*\) with "
                                         r"the same \* shape, got shapes \[\(2, 2\), \(3, 1\)\]"):
        rnn.pad_sequence([np.zeros((2, 2)), np.ones((3, 1))])  # torch broadcasts (3, 1)
    bad = rnn.PackedSequence(np.zeros((5, 2)), [3, 1])
    with pytest.raises(ValueError, match=r"pad_packed_sequence: data of shape \(5, 2\) does not "
                                         r"hold sum\(batch_sizes\) = 4 rows"):
        rnn.pad_packed_sequence(bad)
    with pytest.raises(ValueError, match=r"pad_packed_sequence: batch_sizes must be a "
                                         r"non-empty, non-increasing .* got \[1, 3\]"):
        rnn.pad_packed_sequence(rnn.PackedSequence(np.zeros((4, 2)), [1, 3]))
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a tinydl PackedSequence, "
                                        "got torch.nn.utils.rnn.PackedSequence"):
        rnn.pad_packed_sequence(trnn().pack_padded_sequence(torch.zeros(5, 3, 2), [5, 3, 2]))


# ----------------------------------------------------------------------------- the layers
LAYERS = {
    "RNN_tanh": (nn.RNN, torch.nn.RNN, {}),
    "RNN_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "LSTM": (nn.LSTM, torch.nn.LSTM, {}),
    "GRU": (nn.GRU, torch.nn.GRU, {}),
}
# config -> (constructor arguments, lengths, enforce_sorted, whether h0 (and c0) are given)
CONFIGS = {
    "sorted": ({}, SORTED, True, False),
    "unsorted_h0": ({}, LENGTHS, False, True),
    "bidirectional_two_layers_h0": ({"num_layers": 2, "bidirectional": True}, LENGTHS, False,
                                    True),
    "batch_first_bidirectional": ({"batch_first": True, "bidirectional": True}, SORTED, False,
                                  False),
}
PROJ_CONFIGS = {
    "proj_bidirectional_two_layers_h0": ({"proj_size": 2, "num_layers": 2,
                                          "bidirectional": True}, LENGTHS, False, True),
}
HIDDEN, STEPS = 3, 6


def pair(kind, **kwargs):
    """A torch module (float64) and the tinydl module of the same kind with its parameters."""
    ours, theirs, extra = LAYERS[kind]
    torch_module = theirs(2, HIDDEN, **kwargs, **extra, dtype=torch.float64)
    module = ours(2, HIDDEN, **kwargs, **extra, dtype=np.float64)
    module.load_state_dict(torch_module.state_dict())
    return module, torch_module


def run_packed(module, utils, x, lengths, enforce_sorted, states):
    """Pack x (a leaf), run the module, backpropagate a fixed random projection of the packed
    output and of h_n (c_n); returns (output, finals)."""
    packed = utils.pack_padded_sequence(x, lengths, module.batch_first, enforce_sorted)
    hx = None if not states else (tuple(states) if len(states) == 2 else states[0])
    out, final = module(packed, hx)
    finals = list(final) if isinstance(final, tuple) else [final]
    weights = np.random.default_rng(1)
    loss = 0
    for value in [out.data] + finals:
        w = weights.standard_normal(tuple(value.shape))
        loss = loss + (value * (torch.tensor(w) if utils is trnn() else tinydl.Tensor(w))).sum()
    loss.backward()
    return out, finals


@pytest.mark.parametrize("kind, config", [(k, c) for k in LAYERS for c in CONFIGS]
                         + [("LSTM", c) for c in PROJ_CONFIGS])
def test_layer_on_packed_input_matches_torch(kind, config):
    kwargs, lengths, enforce_sorted, h0_given = {**CONFIGS, **PROJ_CONFIGS}[config]
    rng = np.random.default_rng(0)
    module, torch_module = pair(kind, **kwargs)
    batch = len(lengths)
    x = rng.standard_normal((batch, STEPS, 2) if module.batch_first else (STEPS, batch, 2))
    rows = module.num_layers * (2 if module.bidirectional else 1)
    sizes = [module.proj_size or HIDDEN, HIDDEN][:2 if kind == "LSTM" else 1]
    states = [rng.standard_normal((rows, batch, s)) for s in sizes] if h0_given else []
    X, S = tinydl.Tensor(x, requires_grad=True), [tinydl.Tensor(s, requires_grad=True)
                                                  for s in states]
    tx, ts = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True)
                                                   for s in states]
    out, finals = run_packed(module, rnn, X, lengths, enforce_sorted, S)
    tout, tfinals = run_packed(torch_module, trnn(), tx, lengths, enforce_sorted, ts)
    what = f"{kind} {config}"
    assert isinstance(out, rnn.PackedSequence), what
    np.testing.assert_array_equal(out.batch_sizes.data, tout.batch_sizes.numpy())
    if tout.sorted_indices is not None:
        np.testing.assert_array_equal(out.sorted_indices.data, tout.sorted_indices.numpy())
        np.testing.assert_array_equal(out.unsorted_indices.data, tout.unsorted_indices.numpy())
    pairs = [("output data", out.data, tout.data)]
    pairs += [(f"final state {i}", a, b) for i, (a, b) in enumerate(zip(finals, tfinals))]
    pairs += [("input gradient", X.grad, tx.grad)]
    pairs += [(f"state {i} gradient", a.grad, b.grad) for i, (a, b) in enumerate(zip(S, ts))]
    pairs += [(f"gradient of {n}", p.grad, tp.grad) for (n, p), tp in
              zip(module.named_parameters(), torch_module.parameters())]
    for label, a, b in pairs:
        b = b.detach().numpy()
        assert a.shape == b.shape, f"{what}: {label} shape {a.shape} vs torch {b.shape}"
        np.testing.assert_allclose(a.data, b, rtol=RTOL, atol=ATOL, err_msg=f"{what}: {label}")


def test_equal_lengths_packed_give_the_padded_result():
    module = nn.LSTM(2, HIDDEN, num_layers=2, bidirectional=True, dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((4, 3, 2))
    out, (h, c) = module(x)
    pout, (ph, pc) = module(rnn.pack_padded_sequence(x, [4, 4, 4]))
    np.testing.assert_allclose(pout.data.data, out.data.reshape(12, -1), rtol=1e-13)
    np.testing.assert_allclose(ph.data, h.data, rtol=1e-13)
    np.testing.assert_allclose(pc.data, c.data, rtol=1e-13)


def test_second_derivatives_through_a_packed_gru_match_torch():
    module, torch_module = pair("GRU", num_layers=2, bidirectional=True)
    x = np.random.default_rng(4).standard_normal((STEPS, 4, 2))
    X, tx = tinydl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for mod, utils, inp, grad in ((module, rnn, X, tinydl.grad),
                                  (torch_module, trnn(), tx, torch.autograd.grad)):
        out, h = mod(utils.pack_padded_sequence(inp, LENGTHS, enforce_sorted=False))
        (g,) = grad((out.data ** 2).sum() + (h ** 2).sum(), [inp], create_graph=True)
        (g ** 2).sum().backward()
    np.testing.assert_allclose(X.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), tp in zip(module.named_parameters(), torch_module.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_dropout_between_layers_acts_on_the_packed_data():
    # p = 1 zeroes the second layer's input in training (deterministic, as in torch)
    module, torch_module = pair("LSTM", num_layers=2, dropout=1.0)
    x = np.random.default_rng(6).standard_normal((STEPS, 4, 2))
    for train in (True, False):
        module.train(train)
        torch_module.train(train)
        out, (h, c) = module(rnn.pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
        tout, (th, tc) = torch_module(trnn().pack_padded_sequence(
            torch.from_numpy(x), LENGTHS, enforce_sorted=False))
        np.testing.assert_allclose(out.data.data, tout.data.detach().numpy(), rtol=RTOL,
                                   err_msg=f"training={train}")
        np.testing.assert_allclose(h.data, th.detach().numpy(), rtol=RTOL)


def test_packed_input_errors_name_the_layer_and_the_shapes():
    lstm, tlstm = nn.LSTM(3, 4, num_layers=2), torch.nn.LSTM(3, 4, num_layers=2)
    f = np.float32
    x = np.zeros((5, 3, 3), f)

    def both(data, lengths=(5, 3, 2), hx=None):
        ours = rnn.PackedSequence(data, *rnn.pack_padded_sequence(x, lengths)[1:])
        theirs = trnn().PackedSequence(torch.from_numpy(data), torch.tensor(ours.batch_sizes.data))
        to_torch = None if hx is None else tuple(torch.from_numpy(h) for h in hx)
        return lambda: lstm(ours, hx), lambda: tlstm(theirs, to_torch)

    data = np.zeros((10, 3), f)
    cases = [
        (both(np.zeros((10, 4), f)), ValueError, r"LSTM: expected PackedSequence data of shape "
         r"\(sum of lengths, H_in\) with H_in = input_size = 3, got \(10, 4\)"),
        (both(np.zeros((10, 3, 1), f)), ValueError, r"expected PackedSequence data of shape"),
        (both(np.zeros((10, 3))), TypeError, r"LSTM: input of dtype float64 \(shape \(10, 3\)\) "
                                             "does not match the parameters of dtype float32"),
        (both(data, hx=(np.zeros((2, 2, 4), f),) * 2), ValueError,
         r"LSTM: expected h_0 of shape \(2, 3, 4\) \(num_layers \* num_directions, batch, "
         r"hidden_size\) for batched input, got \(2, 2, 4\)"),
        (both(data, hx=(np.zeros((3, 4), f),) * 2), ValueError,
         r"LSTM: expected h_0 of shape \(2, 3, 4\)"),
    ]
    for (ours, theirs), error, match in cases:
        raises_like_torch(ours, theirs, error, match)
    bad = rnn.PackedSequence(data, [3, 3, 2, 1])
    with pytest.raises(ValueError, match=r"LSTM: data of shape \(10, 3\) does not hold "
                                         r"sum\(batch_sizes\) = 9 rows"):
        lstm(bad)
    with pytest.raises(ValueError, match=r"GRU: sorted_indices \[0, 0, 1\] are not a "
                                         "permutation of the 3 sequences"):
        nn.GRU(3, 4)(rnn.PackedSequence(data, [3, 3, 2, 1, 1], [0, 0, 1]))


def test_float32_packed_input_keeps_float32_and_matches_torch():
    torch_module = torch.nn.GRU(2, HIDDEN, bidirectional=True)
    module = nn.GRU(2, HIDDEN, bidirectional=True)
    module.load_state_dict(torch_module.state_dict())
    x = np.random.default_rng(7).standard_normal((STEPS, 4, 2)).astype(np.float32)
    out, h = module(rnn.pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    tout, th = torch_module(trnn().pack_padded_sequence(torch.from_numpy(x), LENGTHS,
                                                        enforce_sorted=False))
    assert out.data.dtype == np.float32 and h.dtype == np.float32
    np.testing.assert_allclose(out.data.data, tout.data.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.data, th.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_padding_value_the_dtype_cannot_hold_is_refused_as_torch():
    """NaN padding of int64 sequences gave -9223372036854775808, 1e300 in float32 gave inf:
    torch raises for both (the value cannot be converted without overflow)."""
    ints = [tinydl.Tensor(np.arange(2)), tinydl.Tensor(np.arange(1))]
    floats = [tinydl.Tensor(np.ones(2, np.float32)), tinydl.Tensor(np.ones(1, np.float32))]
    for seqs, value in ((ints, float("nan")), (floats, 1e300)):
        with pytest.raises(RuntimeError):
            torch.nn.utils.rnn.pad_sequence([torch.tensor(s.data) for s in seqs],
                                            padding_value=value)
        with pytest.raises(ValueError, match="pad_sequence: value .* cannot be converted"):
            rnn.pad_sequence(seqs, padding_value=value)
    packed = rnn.pack_sequence(floats)
    with pytest.raises(ValueError, match="pad_packed_sequence: value .* cannot be converted"):
        rnn.pad_packed_sequence(packed, padding_value=-1e300)
    assert np.isinf(rnn.pad_sequence(floats, padding_value=-np.inf).data[1, 1])  # inf fits
