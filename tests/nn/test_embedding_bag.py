"""nn.EmbeddingBag against torch's (the same weights copied in, float64 outputs and
gradients), its arguments, init, state_dict, repr and from_pretrained; and that Embedding,
which now shares its base, kept its behaviour."""
import numpy as np
import pytest

import tinydl
from tinydl import nn

torch = pytest.importorskip("torch")

T = tinydl.tensor


def _pair(num, dim, **kw):
    """tinydl's and torch's EmbeddingBag in float64 with the same random weight."""
    ours = nn.EmbeddingBag(num, dim, dtype=np.float64, **kw)
    theirs = torch.nn.EmbeddingBag(num, dim, dtype=torch.float64, **kw)
    w = np.random.default_rng(num * dim).standard_normal((num, dim))
    ours.weight.data[...] = w
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    return ours, theirs


CALLS = [
    (dict(mode="sum"), [1, 2, 4, 4, 3, 0, 2, 2], [0, 2, 2, 5], False),
    (dict(mode="mean", padding_idx=2), [1, 2, 4, 4, 3, 0, 2, 2], [0, 2, 2, 5], False),
    (dict(mode="max"), [[1, 2, 4], [4, 3, 0]], None, False),
    (dict(mode="sum", padding_idx=-1), [[1, 2, 4], [4, 3, 0]], None, True),
    (dict(mode="sum", include_last_offset=True), [1, 2, 4, 4, 3], [0, 2, 2, 5], True),
    (dict(mode="mean", max_norm=1.0), [1, 2, 4, 4, 3], [0, 3], False),
]


@pytest.mark.parametrize("kw, indices, offsets, weighted", CALLS)
def test_matches_torch_module(kw, indices, offsets, weighted):
    ours, theirs = _pair(5, 3, **kw)
    rng = np.random.default_rng(1)
    p = rng.standard_normal(np.shape(indices)) if weighted else None
    out = ours(T(indices), None if offsets is None else T(offsets),
               None if p is None else T(p))
    expected = theirs(torch.tensor(indices), None if offsets is None else torch.tensor(offsets),
                      None if p is None else torch.tensor(p))
    v = rng.standard_normal(out.shape)
    (out * T(v)).sum().backward()
    (expected * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)


def test_parameters_state_dict_defaults_and_init_as_torch():
    tinydl.manual_seed(0)
    bag = nn.EmbeddingBag(2000, 50, padding_idx=3)
    theirs = torch.nn.EmbeddingBag(2000, 50, padding_idx=3)
    assert [n for n, _ in bag.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(bag.state_dict()) == list(theirs.state_dict())
    assert bag.weight.dtype == np.float32 and bag.weight.requires_grad
    for name in ("mode", "max_norm", "norm_type", "scale_grad_by_freq", "sparse",
                 "include_last_offset", "padding_idx", "num_embeddings", "embedding_dim"):
        assert getattr(bag, name) == getattr(theirs, name), name
    w = np.delete(bag.weight.data, 3, axis=0)  # N(0, 1), as torch's, the padding row zero
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    np.testing.assert_array_equal(bag.weight.data[3], 0)
    assert nn.EmbeddingBag(5, 2, padding_idx=-1).padding_idx == 4


def test_repr_as_torch():
    for kw in [{}, dict(max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, mode="sum",
                        padding_idx=-2, include_last_offset=True)]:
        assert repr(nn.EmbeddingBag(10, 3, **kw)) == repr(torch.nn.EmbeddingBag(10, 3, **kw))


def test_positional_arguments_in_torchs_order():
    bag = nn.EmbeddingBag(5, 2, 1.0, 3.0, True, "max", False, None, True, 1)
    assert (bag.max_norm, bag.norm_type, bag.scale_grad_by_freq, bag.mode, bag.sparse,
            bag.include_last_offset, bag.padding_idx) == (1.0, 3.0, True, "max", False, True, 1)


def test_from_pretrained_shares_the_weight_and_freezes_it():
    w = T(np.arange(6.0).reshape(3, 2))
    frozen = nn.EmbeddingBag.from_pretrained(w, mode="sum", padding_idx=0)
    assert not frozen.weight.requires_grad and np.shares_memory(frozen.weight.data, w.data)
    assert (frozen.mode, frozen.padding_idx) == ("sum", 0)
    np.testing.assert_array_equal(frozen(T([[0, 1, 2]])).data, [[6.0, 8.0]])
    np.testing.assert_array_equal(frozen.weight.data[0], [0.0, 1.0])  # given rows kept
    assert nn.EmbeddingBag.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match="EmbeddingBag.from_pretrained: embeddings must be 2-D"):
        nn.EmbeddingBag.from_pretrained(T(np.zeros(3)))


def test_bad_arguments():
    with pytest.raises(NotImplementedError, match="EmbeddingBag: sparse=True"):
        nn.EmbeddingBag(3, 2, sparse=True)
    with pytest.raises(ValueError, match="EmbeddingBag: padding_idx 3"):
        nn.EmbeddingBag(3, 2, padding_idx=3)
    with pytest.raises(ValueError, match="EmbeddingBag: _weight of shape"):
        nn.EmbeddingBag(3, 2, _weight=T(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.EmbeddingBag(3, 2, mode="median")(T([[0, 1]]))


def test_embedding_kept_its_arguments_and_messages():
    """Embedding now shares its weight set-up with EmbeddingBag (_EmbeddingTable)."""
    tinydl.manual_seed(0)
    emb = nn.Embedding(4, 2, 1, 1.5, 3.0, True, dtype=np.float64)
    assert (emb.padding_idx, emb.max_norm, emb.norm_type, emb.scale_grad_by_freq) == (
        1, 1.5, 3.0, True)
    np.testing.assert_array_equal(emb.weight.data[1], 0)
    assert emb.weight.dtype == np.float64 and repr(emb) == "Embedding(4, 2, padding_idx=1)"
    with pytest.raises(NotImplementedError, match="Embedding: sparse=True"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(ValueError, match="Embedding.from_pretrained: embeddings must be 2-D"):
        nn.Embedding.from_pretrained(T(np.zeros(3)))
    assert not nn.Embedding(3, 2, _freeze=True).weight.requires_grad
