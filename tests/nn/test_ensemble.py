"""tinydl.nn.ensemble: each reduction against a NumPy reference; gradients flow to members."""
import numpy as np
import pytest

import tinydl as td
from tinydl import nn

RNG = np.random.default_rng(0)


def members(n=3):
    td.manual_seed(0)
    return [nn.Linear(4, 5) for _ in range(n)]


def np_softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_reductions_match_numpy():
    models = members()
    x = td.Tensor(RNG.standard_normal((6, 4)).astype(np.float32))
    logits = np.stack([m(x).data for m in models]).astype(np.float64)
    probs = np_softmax(logits.reshape(-1, 5)).reshape(logits.shape)
    got = nn.ensemble(models)(x)
    np.testing.assert_allclose(got.data, probs.mean(0), rtol=1e-5)
    np.testing.assert_allclose(nn.ensemble(models, "mean_log_prob")(x).data,
                               np.log(probs.mean(0)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.ensemble(models, "mean_logit")(x).data, logits.mean(0), rtol=1e-5)
    votes = nn.ensemble(models, "vote")(x).data
    expected = np.zeros((6, 5))
    for row in logits.argmax(2):
        expected[np.arange(6), row] += 1 / 3
    np.testing.assert_allclose(votes, expected, rtol=1e-6)


def test_mean_prob_is_differentiable_and_registers_members():
    models = members(2)
    ens = nn.ensemble(models)
    assert len(list(ens.parameters())) == 4
    x = td.Tensor(RNG.standard_normal((3, 4)).astype(np.float32))
    ens(x)[:, 0].sum().backward()
    assert all(m.weight.grad is not None for m in models)
    out = nn.ensemble_predict(models, x)
    assert out.shape == (3, 5) and not out.requires_grad


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="at least one"):
        nn.ensemble([])
    with pytest.raises(ValueError, match="reduction"):
        nn.ensemble(members(), "median")
    with pytest.raises(ValueError, match="different shapes"):
        nn.ensemble([nn.Linear(4, 5), nn.Linear(4, 3)])(td.Tensor(np.zeros((2, 4), np.float32)))


def test_every_reduction_keeps_the_members_dtype():
    td.manual_seed(0)
    models = [nn.Linear(4, 5, dtype=np.float64) for _ in range(3)]
    x = td.Tensor(RNG.standard_normal((6, 4)))
    for reduction in ("vote", "mean_prob", "mean_log_prob", "mean_logit"):
        assert nn.ensemble(models, reduction)(x).dtype == np.float64  # vote was float32
