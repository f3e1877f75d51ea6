"""The tiny Transformer in fast mode: the whole pipeline runs and the few steps do learn."""
import math
import re

import numpy as np

from tests.examples._load import load_example


def test_tiny_transformer_fast_mode(tmp_path, capsys):
    example = load_example("tiny_transformer")
    history = example.main(["--fast", "--out", str(tmp_path), "--sample-length", "80"])

    train, val = np.array(history["train"]), np.array(history["val"])
    assert len(train) == 12 and len(val) == 3, (len(train), len(val))
    assert np.isfinite(train).all() and np.isfinite(val).all(), (train, val)
    # The first step sits near uniform guessing, ln(96) = 4.56 nats; a few AdamW steps must
    # already pull the loss well below it.
    assert abs(train[0] - math.log(len(example.VOCAB))) < 0.5, train[0]
    assert train[-3:].mean() < train[0] - 0.5, f"training did not lower the loss: {train}"
    assert val[-1] < val[0] < math.log(len(example.VOCAB)), val
    assert 0 < history["bigram"] < math.log(len(example.VOCAB)), history["bigram"]

    assert (tmp_path / "tiny_transformer_loss.png").stat().st_size > 1000
    sample = history["sample"]
    assert len(sample) == 80 and set(sample) <= set(example.VOCAB), repr(sample)

    out = capsys.readouterr().out
    assert re.search(r"held-out cross-entropy: transformer \d+\.\d+ nats, bigram \d+\.\d+ nats",
                     out), out
    assert re.search(r"training: 12 steps in \d+\.\d+ s wall time", out), out
    assert sample in out


def test_bigram_baseline_is_a_smoothed_distribution():
    example = load_example("tiny_transformer")
    ids = example.encode("abab\nabba")
    logp = example.bigram_log_probs(ids, len(example.VOCAB))
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-12)
    a, b = example.VOCAB.index("a"), example.VOCAB.index("b")
    # 'a' starts three bigrams (the last 'a' has no successor), all 'ab': (3 + 1) / (3 + V);
    # 'aa' never occurs: (0 + 1) / (3 + V).
    assert math.isclose(math.exp(logp[a, b]), 4 / (3 + len(example.VOCAB)))
    assert math.isclose(math.exp(logp[a, a]), 1 / (3 + len(example.VOCAB)))
    assert example.decode(ids) == "abab\nabba"
